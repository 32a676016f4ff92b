"""The NumPy-only build (README, "Install"): gilfree.numpy without TensorFlow, and the build
backend that leaves TensorFlow out of the build requirements.

These tests need no TensorFlow: `.ci/wheel` runs this file in a virtual environment that has
only the NumPy-only wheel, NumPy and pytest. Where TensorFlow is installed, the subprocesses
below make it unimportable first.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Run first in each subprocess: `import tensorflow` then raises ImportError.
NO_TF = "import sys\nsys.modules['tensorflow'] = None\n"


def run_without_tensorflow(code: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", NO_TF + code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_numpy_faces_compute_without_tensorflow():
    """README (Install): a NumPy-only build has every gilfree.numpy op. Each is checked here
    against plain NumPy: np.save/np.savez bytes, a structured dtype read with np.frombuffer,
    the normalize formula, np.percentile, and warps that move whole pixels (slicing)."""
    out = run_without_tensorflow(
        """
import io
import numpy as np
import gilfree.numpy as g

rng = np.random.default_rng(7)
x = rng.integers(0, 4096, size=(6, 9, 3), dtype=np.uint16)

buf = io.BytesIO(); np.save(buf, x)
assert np.array_equal(g.decode_npy(buf.getvalue(), np.uint16), x)
buf = io.BytesIO(); np.savez_compressed(buf, a=x, b=x[..., 0].astype(np.float32))
got = g.decode_npz(buf.getvalue(), {"a": np.uint16, "b": np.float32})
assert np.array_equal(got["a"], x) and np.array_equal(got["b"], x[..., 0])
rec = np.dtype([("id", "<i4"), ("v", "<f4", (2,))])
arr = np.zeros(5, rec); arr["id"] = np.arange(5); arr["v"] = rng.random((5, 2))
got = g.decode_records(arr.tobytes(), rec)
assert np.array_equal(got["id"], arr["id"]) and np.array_equal(got["v"], arr["v"])

y = g.normalize(x, [1.0, 2.0, 3.0], [2.0, 4.0, 8.0])
want = (x.astype(np.float64) - [1.0, 2.0, 3.0]) / [2.0, 4.0, 8.0]
assert np.allclose(y, want, rtol=1e-6), np.abs(y - want).max()
s = g.standardize(x)
f = x.astype(np.float64)
assert np.allclose(s, (f - f.mean()) / f.std(), atol=1e-5)
m = g.minmax_scale(x, per_channel=False)
assert np.allclose(m, (f - f.min()) / (f.max() - f.min()), atol=1e-6)
p = g.percentile_stretch(x, 0.0, 100.0, per_channel=False)
lo, hi = np.percentile(f, 0), np.percentile(f, 100)
assert np.allclose(p, (f - lo) / (hi - lo), atol=1e-6)

img = rng.integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
shifted = g.warp_affine(img, [[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]], fill_value=0.0)
assert np.array_equal(shifted[3:, 2:], img[:-3, :-2])
assert not shifted[:3].any() and not shifted[:, :2].any()
yy, xx = np.mgrid[0:10, 0:12].astype(np.float32)
assert np.array_equal(g.remap(img, xx[:, ::-1].copy(), yy), img[:, ::-1])
assert np.array_equal(g.rotate(img, 180.0), img[::-1, ::-1])
print("ok", g.simd_level(), "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None)
"""
    )
    ok, _level, tf_loaded = out.split()
    assert ok == "ok"
    assert tf_loaded == "False"


def test_tf_face_without_tensorflow_raises_import_error():
    """Without TensorFlow, `gilfree.<op>` raises ImportError (naming tensorflow) on use, while
    `import gilfree` and `gilfree.numpy` work."""
    out = run_without_tensorflow(
        """
import gilfree
try:
    gilfree.normalize
except ImportError as e:
    print("ImportError", "tensorflow" in str(e))
"""
    )
    assert out.split() == ["ImportError", "True"]


def test_info_runs_without_tensorflow():
    """README (Reporting a problem): `python -m gilfree info` works without TensorFlow, and
    says that it is not importable and that the op library does not load."""
    out = run_without_tensorflow(
        "import runpy\n"
        "sys.argv = ['gilfree', 'info']\n"
        "runpy.run_module('gilfree', run_name='__main__')\n"
    )
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["tensorflow importable"].startswith("no")
    assert fields["op library loads"].startswith("no")
    import gilfree

    assert fields["gilfree"] == gilfree.__version__


# ----------------------------------------------------------------------- build backend


@pytest.fixture
def backend(monkeypatch):
    """backend/gilfree_build.py over a stand-in for scikit-build-core (only its requirement
    hooks are called), run in the source tree as pip runs it."""
    fake = types.ModuleType("scikit_build_core.build")
    fake.get_requires_for_build_wheel = lambda config_settings=None: ["ninja>=1.5"]
    fake.get_requires_for_build_editable = lambda config_settings=None: ["ninja>=1.5"]
    for hook in (
        "build_editable",
        "build_sdist",
        "build_wheel",
        "get_requires_for_build_sdist",
        "prepare_metadata_for_build_editable",
        "prepare_metadata_for_build_wheel",
    ):
        setattr(fake, hook, None)
    package = types.ModuleType("scikit_build_core")
    package.build = fake
    monkeypatch.setitem(sys.modules, "scikit_build_core", package)
    monkeypatch.setitem(sys.modules, "scikit_build_core.build", fake)
    monkeypatch.delenv("SKBUILD_CMAKE_DEFINE", raising=False)
    monkeypatch.chdir(REPO)
    spec = importlib.util.spec_from_file_location(
        "gilfree_build", REPO / "backend/gilfree_build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tf_extra() -> list[str]:
    import tomllib

    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]["tf"]


def test_full_build_requires_the_tf_extra(backend):
    """pyproject.toml's build requirements get the `tf` extra's TensorFlow by default."""
    want = ["ninja>=1.5", *tf_extra()]
    assert any(r.startswith("tensorflow-cpu==2.21") for r in want)
    assert backend.get_requires_for_build_wheel() == want
    assert backend.get_requires_for_build_wheel({"cmake.define.GILFREE_BUILD_TF_OPS": "ON"}) == want
    assert backend.get_requires_for_build_editable({}) == want


@pytest.mark.parametrize("value", ["OFF", "off", "0", "FALSE", "No"])
def test_numpy_only_build_requires_no_tensorflow(backend, value):
    """README (Install): -C cmake.define.GILFREE_BUILD_TF_OPS=OFF downloads no TensorFlow."""
    settings = {"cmake.define.GILFREE_BUILD_TF_OPS": value}
    assert backend.get_requires_for_build_wheel(settings) == ["ninja>=1.5"]
    assert backend.get_requires_for_build_editable(settings) == ["ninja>=1.5"]
    # given twice, the last one counts (as for CMake)
    twice = {"cmake.define.GILFREE_BUILD_TF_OPS": ["ON", value]}
    assert backend.get_requires_for_build_wheel(twice) == ["ninja>=1.5"]


def test_numpy_only_build_from_the_environment(backend, monkeypatch):
    """SKBUILD_CMAKE_DEFINE=GILFREE_BUILD_TF_OPS=OFF (scikit-build-core's variable) works too;
    a config setting wins over it."""
    monkeypatch.setenv("SKBUILD_CMAKE_DEFINE", "FOO=1;GILFREE_BUILD_TF_OPS=OFF")
    assert backend.get_requires_for_build_wheel() == ["ninja>=1.5"]
    on = {"cmake.define.GILFREE_BUILD_TF_OPS": "ON"}
    assert backend.get_requires_for_build_wheel(on) == ["ninja>=1.5", *tf_extra()]
