"""gilfree: preprocessing ops for tf.data pipelines that run without the GIL.

Every op has four faces with the same name and arguments:

- ``gilfree.<op>``: the TensorFlow custom op (eager, ``tf.function``, ``dataset.map``);
- ``gilfree.numpy.<op>``: the same C++ kernel on NumPy arrays, GIL released;
- ``gilfree.reference.<op>``: a plain NumPy implementation, the tests' oracle;
- ``gilfree.fallback.<op>``: the reference inside ``tf.py_function``, for comparison.

``import gilfree`` does not import TensorFlow; the TensorFlow face loads it (and
the op library) on first use. ``gilfree.load_ops()`` loads the op library
explicitly, as a SavedModel loader or a tf.data service worker needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gilfree import _optable

__version__ = "0.1.0"

# The TensorFlow face's names (gilfree._tf_ops), from the op table; the imports below give
# them to type checkers and IDEs (tests/test_op_table.py holds both lists equal).
_TF_NAMES = (*_optable.names(face="tf"), "load_ops")
_SUBMODULES = ("numpy", "reference", "fallback", "keras")

__all__ = ["__version__", *_TF_NAMES]

if TYPE_CHECKING:
    from gilfree._tf_ops import (
        decode_npy,
        decode_npz,
        decode_records,
        decode_tiff,
        fit_polynomial,
        load_ops,
        minmax_scale,
        normalize,
        percentile_stretch,
        polynomial_warp,
        projective_transform,
        remap,
        rotate,
        standardize,
        warp_affine,
        warp_perspective,
    )


def __getattr__(name: str) -> Any:
    if name in _TF_NAMES:
        from gilfree import _tf_ops

        value = getattr(_tf_ops, name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"gilfree.{name}")
    raise AttributeError(f"module 'gilfree' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_TF_NAMES, *_SUBMODULES])
