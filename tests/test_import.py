"""Import hygiene: the NumPy faces never import TensorFlow; load_ops() gives the library."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import gilfree


def run_python(code: str) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("module", ["gilfree", "gilfree.numpy", "gilfree.reference"])
def test_import_does_not_load_tensorflow(module):
    """README (The ops): `import gilfree.numpy` does not import TensorFlow (nor does
    gilfree.reference, plain NumPy).
    """
    out = run_python(
        f"import sys, {module}\n"
        "print(sorted(m for m in sys.modules if m == 'tensorflow' or m.startswith('tensorflow.')))"
    )
    assert out.strip() == "[]"


def test_numpy_faces_run_without_tensorflow():
    out = run_python(
        "import sys\n"
        "import numpy as np\n"
        "import gilfree.numpy, gilfree.reference\n"
        "x = np.arange(5 * 7 * 3, dtype=np.uint16).reshape(5, 7, 3)\n"
        "for mod in (gilfree.numpy, gilfree.reference):\n"
        "    y = mod.normalize(x, 1.0, 2.0)\n"
        "    assert np.allclose(y, (x - 1.0) / 2.0)\n"
        "    mod.standardize(x); mod.minmax_scale(x); mod.percentile_stretch(x)\n"
        "print('tensorflow' in sys.modules)"
    )
    assert out.strip() == "False"


def test_tf_ops_are_loaded_lazily():
    """README (The ops): `gilfree.<op>` loads the op library on first use."""
    out = run_python(
        "import sys, gilfree\n"
        "before = 'tensorflow' in sys.modules\n"
        "op = gilfree.normalize\n"
        "print(before, 'tensorflow' in sys.modules, callable(op))"
    )
    assert out.split() == ["False", "True", "True"]


def test_load_ops_returns_the_op_library():
    """README (The ops): `gilfree.load_ops()` loads the op library explicitly and returns it."""
    out = run_python(
        "import gilfree\n"
        "lib = gilfree.load_ops()\n"
        "names = ['gilfree_normalize', 'gilfree_standardize', 'gilfree_min_max_scale',\n"
        "         'gilfree_percentile_stretch']\n"
        "print([n for n in names if not callable(getattr(lib, n, None))])\n"
        "print(gilfree.load_ops() is lib)"
    )
    missing, same = out.splitlines()
    assert missing == "[]"
    assert same == "True"


def test_load_ops_under_another_tensorflow_names_both_versions(tmp_path):
    # The op library records the TensorFlow it was built for; a different one
    # installed must give one clear error naming both and how to rebuild.
    info = tmp_path / "_build_info.json"
    info.write_text('{"tensorflow_version": "2.99.0", "cxx11_abi": 1, "compiler": "test"}')
    out = run_python(
        "import pathlib, tensorflow as tf\n"
        "from gilfree import _tf_ops\n"
        f"_tf_ops._BUILD_INFO = pathlib.Path({str(info)!r})\n"
        "try:\n"
        "    _tf_ops.load_ops()\n"
        "except _tf_ops.OpLibraryError as e:\n"
        "    print(isinstance(e, ImportError)); print(tf.__version__); print(e)\n"
    )
    is_import_error, installed, message = out.split("\n", 2)
    assert is_import_error == "True"
    assert "2.99.0" in message
    assert installed in message
    assert "pip install" in message and "--no-build-isolation" in message


#: Every op gilfree exports (the README's "The ops" lists the same ones).
README_OPS = tuple(n for n in gilfree.__all__ if n not in ("__version__", "load_ops"))


@pytest.mark.parametrize("op", README_OPS)
def test_every_op_has_four_faces_with_the_same_arguments(op):
    """README (The ops): every op has four faces (gilfree.<op>, gilfree.numpy.<op>,
    gilfree.reference.<op>, gilfree.fallback.<op>) with the same name and arguments.

    The arguments' names, kinds and order must agree; the TensorFlow face may add its
    op-name argument ``name`` and the NumPy face its ``threads`` (README: "takes
    threads="); ``dtype`` defaults are compared as NumPy dtypes, except where the op
    table declares a face's own default (decode_tiff's ``dtype``: required where
    TensorFlow builds a graph, the file's own type on the NumPy faces).
    """
    import inspect

    import numpy as np

    import gilfree
    import gilfree.fallback
    import gilfree.numpy
    import gilfree.reference
    from gilfree import _optable

    extra = {"tf": {"name"}, "numpy": {"threads"}, "reference": set(), "fallback": set()}
    own_defaults = {a.name for a in _optable.OP[op].args if a.face_defaults}
    faces = {
        "tf": gilfree,
        "numpy": gilfree.numpy,
        "reference": gilfree.reference,
        "fallback": gilfree.fallback,
    }
    seen = {}
    for face, module in faces.items():
        fn = getattr(module, op)
        assert callable(fn), (face, op)
        params = [p for p in inspect.signature(fn).parameters.values() if p.name not in extra[face]]
        seen[face] = [
            (
                p.name,
                p.kind,
                "a face's own"
                if p.name in own_defaults
                else np.dtype(getattr(p.default, "as_numpy_dtype", p.default))
                if p.name == "dtype" and p.default is not p.empty
                else p.default,
            )
            for p in params
        ]
    assert seen["numpy"] == seen["tf"] == seen["reference"] == seen["fallback"], seen


def test_gilfree_info_reports_versions_library_and_simd_targets():
    """README (Reporting a problem): `python -m gilfree info` prints the gilfree, NumPy and
    TensorFlow versions, the op library and whether it loads, the SIMD target in use and
    those built in (checked against /proc/cpuinfo), and the compiler."""
    import platform

    import numpy as np
    import tensorflow as tf

    import gilfree
    import gilfree.numpy

    out = subprocess.run(
        [sys.executable, "-m", "gilfree", "info"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["gilfree"] == gilfree.__version__
    assert fields["numpy"] == np.__version__
    assert fields["tensorflow importable"] == tf.__version__
    assert fields["tensorflow built for"] == tf.__version__
    assert fields["op library loads"] == "yes"
    assert fields["op library"].endswith("_gilfree_ops.so")
    assert fields["simd target in use"].split()[0] == gilfree.numpy.simd_level()
    assert fields["compiler (NumPy module)"].split()[0] in ("GCC", "Clang")
    built = dict(
        (part.split(" (")[0], "runs here" in part)
        for part in fields["simd targets built"].split(", ")
    )
    assert built["scalar"] and built["baseline"]  # every CPU runs these
    if platform.machine() == "x86_64":
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith("flags")]
        flags = set(lines[0].split(":", 1)[1].split()) if lines else set()
        avx2 = {"avx2", "fma", "f16c"} <= flags
        assert built["avx2"] == avx2
        assert built["avx512"] == (
            avx2 and {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags
        )


def test_native_stubs_declare_every_bound_function():
    """_native.pyi (shipped with py.typed) declares every function the compiled module binds,
    with the same argument names in the same order (read from pybind11's signatures)."""
    import ast
    import re
    from pathlib import Path

    from gilfree import _native

    stub = ast.parse((Path(gilfree.__file__).parent / "_native.pyi").read_text())
    declared = {
        f.name: [a.arg for a in f.args.args] for f in stub.body if isinstance(f, ast.FunctionDef)
    }
    bound = {}
    for name in dir(_native):
        fn = getattr(_native, name)
        if (
            name.startswith("_")
            or not callable(fn)
            or type(fn).__name__ != "builtin_function_or_method"
        ):
            continue
        signature = fn.__doc__.strip().splitlines()[0]  # "name(a: T, b: U) -> R"
        inside = signature[signature.index("(") + 1 : signature.rindex(") ->")]
        bound[name] = re.findall(r"(?:^|, )(\w+):", inside)
    assert len(bound) >= 14, sorted(bound)
    assert declared == bound


def test_installed_version_is_gilfree_version():
    """The version is written once (gilfree.__version__); the package metadata takes it."""
    from importlib import metadata

    try:
        installed = metadata.version("gilfree")
    except metadata.PackageNotFoundError:
        pytest.skip("gilfree is imported from the source tree, not installed")
    assert installed == gilfree.__version__
