"""The op table (gilfree._optable) against the faces: every face's real signature, its
``__all__``, the Keras layers' arguments, and one wrong type per argument on every face.

The table is the single declaration; these tests fail when a face drifts from it.
"""

from __future__ import annotations

import ast
import inspect
import io
from pathlib import Path

import numpy as np
import pytest
from conftest import face_fn

import gilfree
import gilfree.fallback
import gilfree.numpy as gnp
import gilfree.reference
from gilfree import _optable
from gilfree._optable import OPS, REQUIRED

FACES = _optable.FACES
TF_FACES = ("tf", "fallback")
NP_FACES = ("numpy", "reference")


def _expected(op: _optable.Op, face: str) -> list[_optable.Arg]:
    extra = []
    for kind, arg, _why in _optable.FACE_ARGS:
        if kind == face and (arg.name != "threads" or op.threads):
            extra.append(arg)
    return [*op.args, *extra]


def _default_name(value: object) -> object:
    """A dtype default (tf.float32, np.float32, "float32") as its name; other values as is."""
    if value is inspect.Parameter.empty:
        return REQUIRED
    name = getattr(value, "name", None)
    if isinstance(name, str):  # tf.DType
        return name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    return value


@pytest.mark.parametrize(
    ("op", "face"),
    [pytest.param(op, face, id=f"{op.name}-{face}") for op in OPS for face in op.faces],
)
def test_every_face_has_the_signature_of_the_table(op, face):
    """README (The ops): the arguments are declared once in the op table; every face's
    signature is held to it, with name= on gilfree.<op> and threads= on the NumPy geometry
    ops only."""
    params = list(inspect.signature(face_fn(face, op.name)).parameters.values())
    want = _expected(op, face)
    assert [p.name for p in params] == [a.name for a in want]
    for p, a in zip(params, want, strict=True):
        assert (p.kind == p.KEYWORD_ONLY) == a.keyword_only, (p.name, p.kind)
        assert p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD), (p.name, p.kind)
        assert _default_name(p.default) == a.default_on(face), (p.name, p.default, a.default)


def test_faces_export_the_table():
    on = {face: _optable.names(face=face) for face in FACES}
    assert sorted(gilfree.__all__) == sorted(["__version__", "load_ops", *on["tf"]])
    assert sorted(gnp.__all__) == sorted([*on["numpy"], "simd_level"])
    assert gilfree.reference.__all__ == on["reference"]
    assert gilfree.fallback.__all__ == on["fallback"]
    for op in OPS:
        for face in FACES:
            assert callable(getattr(face_fn_module(face), op.name, None)) == (face in op.faces)


def test_type_checkers_see_every_tensorflow_name():
    """gilfree/__init__.py imports the TensorFlow face's names for type checkers and IDEs
    under TYPE_CHECKING; that list is written out, so it is held to the table here."""
    tree = ast.parse(Path(gilfree.__file__).read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "gilfree._tf_ops"
        for alias in node.names
    ]
    assert sorted(imported) == sorted(gilfree._TF_NAMES)


def test_table_is_consistent():
    names = [op.name for op in OPS]
    assert len(set(names)) == len(names)
    for op in OPS:
        seen_keyword = False
        for a in op.args:
            seen_keyword |= a.keyword_only
            assert a.keyword_only or not seen_keyword, (op.name, a.name)  # positional first
        required = [a.required for a in op.args if not a.keyword_only]
        assert required == sorted(required, reverse=True), op.name  # no required after default


@pytest.mark.parametrize("layer", ["Normalize", "Standardize", "MinMaxScale", "PercentileStretch"])
def test_keras_layers_take_the_arguments_of_their_op(layer):
    keras_layers = pytest.importorskip("gilfree.keras")
    cls = getattr(keras_layers, layer)
    (op,) = [op for op in OPS if op.keras_layer == layer]
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # self
    want = [a for a in op.args if a.kind != "image"]
    assert [p.name for p in params] == [a.name for a in want] + ["kwargs"]
    for p, a in zip(params, want, strict=False):
        assert _default_name(p.default) == a.default, (layer, p.name)


# --------------------------------------------------------------------------- wrong types

# One valid call per op (positional and keyword arguments by name) on small inputs.
_IMAGE = np.arange(6 * 7 * 3, dtype=np.float32).reshape(6, 7, 3)
_NPY = io.BytesIO()
np.save(_NPY, np.arange(6, dtype=np.float32))
_NPZ = io.BytesIO()
np.savez(_NPZ, a=np.arange(4, dtype=np.uint8))
# A 2x3 uint16 TIFF, one strip, written byte by byte (TIFF 6.0): header, 12 bytes of data,
# then an IFD of 8 entries (width, height, bits, compression, photometric, strip offsets,
# samples per pixel, strip byte counts).
_TIFF = (
    b"II*\x00"
    + (20).to_bytes(4, "little")
    + np.arange(6, dtype="<u2").tobytes()
    + (8).to_bytes(2, "little")
    + b"".join(
        tag.to_bytes(2, "little")
        + typ.to_bytes(2, "little")
        + (1).to_bytes(4, "little")
        + value.to_bytes(4, "little")
        for tag, typ, value in [
            (256, 3, 3),
            (257, 3, 2),
            (258, 3, 16),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, 8),
            (277, 3, 1),
            (279, 4, 12),
        ]
    )
    + bytes(4)
)
_POINTS = np.float64([[0, 0], [6, 0], [0, 5], [6, 5]])
VALID: dict[str, dict[str, object]] = {
    "normalize": {"x": _IMAGE, "mean": 1.0, "std": 2.0},
    "standardize": {"x": _IMAGE},
    "minmax_scale": {"x": _IMAGE},
    "percentile_stretch": {"x": _IMAGE},
    "decode_npy": {"contents": _NPY.getvalue(), "dtype": "float32"},
    "decode_npz": {"contents": _NPZ.getvalue(), "spec": {"a": "uint8"}},
    "decode_records": {"contents": bytes(8), "schema": np.dtype([("a", "<u2")])},
    "warp_affine": {"image": _IMAGE, "matrix": np.float64([[1, 0, 0.5], [0, 1, 0]])},
    "warp_perspective": {"image": _IMAGE, "matrix": np.eye(3)},
    "projective_transform": {
        "images": _IMAGE[None],
        "transforms": np.float32([[1, 0, 0, 0, 1, 0, 0, 0]]),
    },
    "remap": {
        "image": _IMAGE,
        "map_x": np.zeros((4, 5), np.float32),
        "map_y": np.zeros((4, 5), np.float32),
    },
    "fit_polynomial": {"src_points": _POINTS, "dst_points": _POINTS},
    "polynomial_warp": {"image": _IMAGE, "src_points": _POINTS, "dst_points": _POINTS},
    "rotate": {"image": _IMAGE, "angle": 10.0},
    "decode_tiff": {"contents": _TIFF, "dtype": "uint16", "window": (0, 1, 2, 2)},
    "tiff_info": {"contents": _TIFF},
}

# A value of the wrong type for each kind of argument (kinds that take anything, such as
# "bytes" given a batch, have none).
WRONG: dict[str, object] = {
    "channel_params": "one",
    "real": "one",
    "optional_real": "one",
    "percentile": "one",
    "bool": "false",
    "output_dtype": 3.5,
    "element_dtype": 3.5,
    "shape": "ab",
    "npz_spec": ["a"],
    "int": "one",
    "matrix": "abc",
    "points": "abc",
    "maps": "abc",
    "output_shape": "ab",
    "interpolation": 3,
    "fill_mode": 3,
    "fill_value": "one",
    "order": "one",
    "center": "ab",
    "window": "abcd",
}

CASES = [
    pytest.param(op, arg, id=f"{op.name}-{arg.name}")
    for op in OPS
    for arg in op.args
    if arg.kind in WRONG
]


def face_fn_module(face: str) -> object:
    return {"tf": gilfree, "numpy": gnp, "reference": gilfree.reference}.get(face, gilfree.fallback)


def _call(face: str, op: _optable.Op, kwargs: dict[str, object]) -> None:
    fn = face_fn(face, op.name)
    positional = [kwargs.pop(a.name) for a in op.args if not a.keyword_only and a.name in kwargs]
    out = fn(*positional, **kwargs)
    if face in TF_FACES:  # run what the op returns (the fallback checks some values when run)
        import tensorflow as tf

        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)


@pytest.mark.parametrize(("op", "arg"), CASES)
def test_a_wrong_type_raises_the_same_error_on_every_face(op, arg):
    """README (The ops): a wrong type raises InvalidArgumentError on the TensorFlow faces and
    the same TypeError or ValueError on the NumPy ones."""
    import tensorflow as tf

    for face in op.faces:  # the valid call works on every face
        _call(face, op, dict(VALID[op.name]))
    raised = {}
    for face in op.faces:
        kwargs = {**VALID[op.name], arg.name: WRONG[arg.kind]}
        with pytest.raises(Exception) as info:
            _call(face, op, kwargs)
        raised[face] = type(info.value)
    for face in TF_FACES:
        if face in op.faces:
            assert issubclass(raised[face], tf.errors.InvalidArgumentError), (face, raised)
    assert raised["numpy"] is raised["reference"], raised
    assert raised["numpy"] in (TypeError, ValueError), raised
