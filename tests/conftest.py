"""Shared helpers for the gilfree tests: seeded inputs, tolerances, face runners."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("GILFREE_TEST_INSTALLED"):  # .ci/wheel: the tests must run the installed wheel
    from pathlib import Path

    import gilfree

    _where = Path(gilfree.__file__).resolve()
    if Path(__file__).resolve().parents[1] in _where.parents:
        raise RuntimeError(f"GILFREE_TEST_INSTALLED is set, but gilfree comes from {_where}")

import warnings
import zlib

import numpy as np
import pytest

from gilfree import _optable

try:  # property tests (tests/test_properties_*.py): deterministic under CI, no deadline
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "gilfree",
        deadline=None,
        derandomize=bool(os.environ.get("CI")),
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gilfree"))
except ImportError:  # hypothesis is in the test extra
    pass

INPUT_DTYPES = ("uint8", "uint16", "int16", "int32", "float16", "float32")
# The normalization ops, from the op table (gilfree._optable).
OPS = tuple(_optable.names("normalize"))

# Typical value range ("center", "spread") of the generated data, per input dtype.
DATA_RANGE = {
    "uint8": (127.5, 127.5),
    "uint16": (32767.5, 32767.5),
    "int16": (0.0, 32767.5),
    "int32": (0.0, 2.0**30),
    "float16": (5.0, 30.0),
    "float32": (50.0, 100.0),
}

# Tolerances by output dtype: (rtol, atol relative to the magnitude of the expected values).
TOLERANCES = {
    "float32": (1e-5, 1e-5),
    "float16": (2e-3, 2e-3),
    "bfloat16": (1.6e-2, 1.6e-2),
}


def seed_of(*parts: object) -> int:
    """A deterministic seed derived from the test parameters."""
    return zlib.crc32(repr(parts).encode())


def make_input(shape: tuple[int, ...], dtype: str, seed: int | object = 0) -> np.ndarray:
    """Random input of the given shape and dtype with a fixed seed.

    Integers cover the whole range of uint8/uint16/int16 and +-2**30 for int32; floats are
    normal with the center/spread of DATA_RANGE (float16 values are exactly representable).
    """
    if not isinstance(seed, int):
        seed = seed_of(seed)
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        if dt == np.int32:
            lo, hi = -(2**30), 2**30
        else:
            info = np.iinfo(dt)
            lo, hi = int(info.min), int(info.max) + 1
        return rng.integers(lo, hi, size=shape, dtype=np.int64).astype(dt)
    center, spread = DATA_RANGE[dt.name]
    return (rng.standard_normal(shape) * spread + center).astype(dt)


def channels_of(shape: tuple[int, ...]) -> int:
    return 1 if len(shape) <= 2 else shape[-1]


def as_images(x: np.ndarray) -> np.ndarray:
    """x (float64) as [B, H*W, C] per the layout rules: written independently of the reference."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim <= 2:
        return x.reshape(1, -1, 1)
    return x.reshape(-1, x.shape[-3] * x.shape[-2], x.shape[-1])


def assert_close(actual, expected, out_dtype: str = "float32", *, context: str = "") -> None:
    """Compares with a tolerance chosen by output dtype and scaled to the magnitude."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, context)
    rtol, atol = TOLERANCES[str(out_dtype)]
    finite = expected[np.isfinite(expected)]
    magnitude = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol * magnitude, equal_nan=True, err_msg=context
    )


# --------------------------------------------------------------------------- faces


def _tf():
    import tensorflow as tf

    return tf


def tf_projective(images, transforms, out_hw, interpolation, fill_mode, fill_value):
    """tf.raw_ops.ImageProjectiveTransformV3, the oracle of projective_transform (a tensor)."""
    return _tf().raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=list(out_hw),
        fill_value=float(fill_value),
        interpolation=interpolation.upper(),
        fill_mode=fill_mode.upper(),
    )


def face_fn(face: str, op: str):
    """The function `op` of one face: 'tf' (native TF op), 'numpy', 'reference', 'fallback'."""
    if face == "tf":
        import gilfree

        return getattr(gilfree, op)
    if face == "numpy":
        import gilfree.numpy

        return getattr(gilfree.numpy, op)
    if face == "reference":
        import gilfree.reference

        return getattr(gilfree.reference, op)
    if face == "fallback":
        import gilfree.fallback

        return getattr(gilfree.fallback, op)
    raise ValueError(face)


def run_face(face: str, op: str, x, *args, dtype: str = "float32", **kwargs) -> np.ndarray:
    """Calls `op` of `face` and returns a NumPy array; checks the output's dtype and shape."""
    fn = face_fn(face, op)
    if face in ("tf", "fallback"):
        tf = _tf()
        y = fn(x, *args, dtype=tf.as_dtype(dtype), **kwargs)
        assert isinstance(y, tf.Tensor)
        assert y.dtype == tf.as_dtype(dtype), (face, op, y.dtype, dtype)
        y = y.numpy()
    else:
        y = fn(x, *args, dtype=np.dtype(dtype), **kwargs)
        assert isinstance(y, np.ndarray)
        assert y.dtype == np.dtype(dtype), (face, op, y.dtype, dtype)
    assert tuple(y.shape) == tuple(np.shape(x)), (face, op, y.shape, np.shape(x))
    return y


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's node id (deterministic per test)."""
    return np.random.default_rng(seed_of(request.node.nodeid))


# --------------------------------------------------------------------------- oracles
# Vectorized float64 implementations of the spec, written independently of
# gilfree.reference (which loops over images and bands).


def oracle_normalize(x, mean, std, scale=None) -> np.ndarray:
    xf = np.asarray(x, dtype=np.float64)
    s = 1.0 if scale is None else scale
    return (xf * s - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)


def oracle_standardize(x, per_channel=False, epsilon=None) -> np.ndarray:
    xi = as_images(x)
    axis = 1 if per_channel else (1, 2)
    n = xi.shape[1] if per_channel else xi.shape[1] * xi.shape[2]
    m = xi.mean(axis=axis, keepdims=True)
    sd = xi.std(axis=axis, keepdims=True)
    floor = 1.0 / np.sqrt(n) if epsilon is None else epsilon
    return ((xi - m) / np.maximum(sd, floor)).reshape(np.shape(x))


def _invalid_mask(xi: np.ndarray, nodata) -> np.ndarray:
    invalid = np.isnan(xi)
    if nodata is not None:
        invalid |= xi == float(nodata)
    return invalid


def oracle_minmax(x, per_channel=True, nodata=None, fill=0.0) -> np.ndarray:
    xi = as_images(x)
    invalid = _invalid_mask(xi, nodata)
    xn = np.where(invalid, np.nan, xi)
    axis = 1 if per_channel else (1, 2)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
        lo = np.nanmin(xn, axis=axis, keepdims=True)
        hi = np.nanmax(xn, axis=axis, keepdims=True)
        d = hi - lo
        y = np.where(d > 0, (xi - lo) / np.where(d > 0, d, 1.0), 0.0)
    return np.where(invalid, fill, y).reshape(np.shape(x))


def oracle_percentile(x, low=2.0, high=98.0, per_channel=True, nodata=None, fill=0.0):
    xi = as_images(x)
    invalid = _invalid_mask(xi, nodata)
    xn = np.where(invalid, np.nan, xi)
    axis = 1 if per_channel else (1, 2)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
        lo = np.nanpercentile(xn, low, axis=axis, keepdims=True, method="linear")
        hi = np.nanpercentile(xn, high, axis=axis, keepdims=True, method="linear")
        d = hi - lo
        stretched = np.clip((xi - lo) / np.where(d > 0, d, 1.0), 0.0, 1.0)
        y = np.where(d > 0, stretched, np.where(xi > lo, 1.0, 0.0))
    return np.where(invalid, fill, y).reshape(np.shape(x))


ORACLES = {
    "normalize": oracle_normalize,
    "standardize": oracle_standardize,
    "minmax_scale": oracle_minmax,
    "percentile_stretch": oracle_percentile,
}


# --------------------------------------------------------------------------- shared cases

# (shape) of the parity matrix: rank 2 (single band), and ranks 3/4 with C = 1, 3, 4, 13.
SHAPES = [
    (23,),
    (17, 9),
    (17, 9, 1),
    (5, 7, 3),
    (17, 9, 4),
    (5, 7, 13),
    (3, 5, 7, 1),
    (2, 17, 9, 3),
    (3, 5, 7, 4),
    (2, 5, 7, 13),
]


def op_variants(op: str, x: np.ndarray, seed: int = 0) -> list[tuple[str, tuple, dict]]:
    """Parameter variants (name, args, kwargs) of `op` for input x."""
    rng = np.random.default_rng(seed)
    c = channels_of(x.shape)
    center, spread = DATA_RANGE[x.dtype.name]
    first = float(x.flat[0])  # a value that occurs in x: used as nodata
    if op == "normalize":
        mean = center + spread * rng.uniform(-0.2, 0.2, size=c)
        std = spread * rng.uniform(0.3, 0.6, size=c)
        return [
            ("per_channel", (mean, std), {}),
            ("python_lists", (mean.tolist(), std.tolist()), {}),
            ("scalar", (center, spread), {}),
            ("length1", ([center], [spread]), {}),
            ("scale", (mean / spread, std / spread), {"scale": 1.0 / spread}),
            ("negative_std", (center, -spread), {"scale": 1.0}),
            ("negative_scale", (-center, spread), {"scale": -1.0}),
        ]
    if op == "standardize":
        return [
            ("image", (), {}),
            ("channel", (), {"per_channel": True}),
            ("image_big_eps", (), {"epsilon": 3.0 * spread}),
            ("channel_small_eps", (), {"per_channel": True, "epsilon": 1e-3}),
        ]
    if op == "minmax_scale":
        return [
            ("channel", (), {}),
            ("image", (), {"per_channel": False}),
            ("nodata", (), {"nodata": first, "fill": -1.0}),
            ("image_nodata", (), {"per_channel": False, "nodata": first, "fill": 2.5}),
        ]
    if op == "percentile_stretch":
        return [
            ("default", (), {}),
            ("full_range_image", (0.0, 100.0), {"per_channel": False}),
            ("quartiles_nodata", (25.0, 75.0), {"nodata": first, "fill": -1.0}),
            ("fractional", (10.5, 90.25), {"per_channel": False, "nodata": first}),
        ]
    raise ValueError(op)


def run_together(threads: int, body: Callable[[int], None]) -> None:
    """Runs body(0), ..., body(threads - 1) on that many threads released at once by a
    barrier; raises the first exception any of them raised, or fails if one hangs."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            body(index)
        except BaseException as e:  # reported by the calling thread
            errors.append(e)
            barrier.abort()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
    assert not any(w.is_alive() for w in workers), "a thread did not finish"
    if errors:
        raise errors[0]
