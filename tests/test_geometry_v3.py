"""projective_transform gives tf.raw_ops.ImageProjectiveTransformV3's numbers bit for bit.

Every face (the TF op, the NumPy kernel, the fallback and the plain-NumPy reference) is
compared with TensorFlow's own op, element for element (bit patterns for half-precision
floats, NaN equal to NaN), over every dtype V3 takes, both interpolations, every fill mode,
random projective transforms and translations that land exactly on half pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import seed_of
from conftest import tf_projective as v3

import gilfree
import gilfree.numpy
from gilfree import fallback, reference

V3_DTYPES = ["uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
MODES = ["constant", "reflect", "wrap", "nearest"]
INTERPOLATIONS = ["nearest", "bilinear"]


def bits(x) -> np.ndarray:
    """Comparable values: half-precision floats as their bit patterns."""
    t = tf.convert_to_tensor(x)
    if t.dtype in (tf.float16, tf.bfloat16):
        return tf.bitcast(t, tf.uint16).numpy()
    return t.numpy()


def assert_identical(got, want, context=""):
    a, b = bits(got), bits(want)
    assert a.dtype == b.dtype and a.shape == b.shape, context
    same = a == b
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    if not same.all():
        where = np.argwhere(~same)[:5].tolist()
        raise AssertionError(
            f"{context}: {int((~same).sum())} of {same.size} elements differ, first at "
            f"{where}: got {a[~same][:5].tolist()}, TensorFlow {b[~same][:5].tolist()}"
        )


def make_images(rng, dtype, shape):
    if dtype in ("uint8",):
        x = rng.integers(0, 256, shape)
    elif dtype == "int32":
        x = rng.integers(-(2**31), 2**31, shape, dtype=np.int64)
    elif dtype == "int64":
        x = rng.integers(-(2**62), 2**62, shape, dtype=np.int64)
    else:
        x = rng.uniform(-300, 300, shape)
    return tf.cast(tf.constant(x), dtype)


def faces(dtype):
    """(name, function(images tensor, transforms, **kwargs) -> result)."""
    out = [
        ("tf", lambda x, t, **kw: gilfree.projective_transform(x, t, **kw)),
        ("fallback", lambda x, t, **kw: fallback.projective_transform(x, t, **kw)),
    ]
    if dtype != "bfloat16":  # NumPy has no bfloat16
        out.append(
            ("numpy", lambda x, t, **kw: gilfree.numpy.projective_transform(x.numpy(), t, **kw))
        )
        out.append(
            ("reference", lambda x, t, **kw: reference.projective_transform(x.numpy(), t, **kw))
        )
    return out


def random_rows(rng, n):
    """Projective rows around the identity: rotation, zoom, shift, some perspective."""
    scale = [0.25, 0.25, 6.0, 0.25, 0.25, 6.0, 0.004, 0.004]
    return rng.normal([1, 0, 0, 0, 1, 0, 0, 0], scale, (n, 8)).astype(np.float32)


def half_pixel_rows(rng, n):
    """Translations by multiples of 1/2 (and zooms by 1/2 steps): exact half-pixel landings,
    the ties of nearest and the exact midpoints of bilinear."""
    rows = []
    for _ in range(n):
        z = rng.choice([0.5, 1.0, 1.5, 2.0])
        rows.append([z, 0, 0.5 * rng.integers(-8, 8), 0, z, 0.5 * rng.integers(-8, 8), 0, 0])
    return np.array(rows, np.float32)


@pytest.mark.parametrize("fill_mode", MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dtype", V3_DTYPES)
def test_every_face_equals_v3(dtype, interpolation, fill_mode):
    rng = np.random.default_rng(seed_of("v3-exact", dtype, interpolation, fill_mode))
    for rows in (random_rows, half_pixel_rows):
        for shape, out_hw in (((2, 13, 17, 3), (15, 12)), ((2, 1, 5, 1), (4, 7))):
            images = make_images(rng, dtype, shape)
            t = rows(rng, shape[0])
            fill = float(rng.uniform(-3, 40))
            want = v3(images, t, out_hw, interpolation, fill_mode, fill)
            kwargs = {
                "output_shape": out_hw,
                "interpolation": interpolation,
                "fill_mode": fill_mode,
                "fill_value": fill,
            }
            for name, fn in faces(dtype):
                got = fn(images, t, **kwargs)
                assert_identical(got, want, f"{name} {rows.__name__} {shape}")


@pytest.mark.parametrize("fill_mode", MODES)
def test_the_reported_case(fill_mode):
    """The case an outside check found differing in 19 of 2,400 pixels (nearest ties)."""
    rng = np.random.default_rng(seed_of("v3-report"))
    images = tf.constant(rng.uniform(0, 255, (2, 33, 37, 3)).astype(np.float32))
    t = np.array(
        [
            [1.05, 0.1, -3.0, -0.08, 0.97, 2.0, 0.0005, -0.0003],
            [0.9, -0.2, 4.0, 0.15, 1.1, -1.5, 0, 0],
        ],
        np.float32,
    )
    for interpolation in INTERPOLATIONS:
        want = v3(images, t, (30, 40), interpolation, fill_mode, 0.0)
        got = gilfree.projective_transform(
            images, t, output_shape=(30, 40), interpolation=interpolation, fill_mode=fill_mode
        )
        assert_identical(got, want, interpolation)


def test_integer_results_truncate_like_tensorflow():
    """15.5 becomes 15 (TensorFlow's T(float)), where the other warps round to 16."""
    images = tf.constant(np.array([10, 21, 31], np.uint8).reshape(1, 1, 3, 1))
    t = np.array([[1, 0, 0.5, 0, 1, 0, 0, 0]], np.float32)
    got = gilfree.projective_transform(images, t, interpolation="bilinear")
    want = v3(images, t, (1, 3), "bilinear", "constant", 0.0)
    assert_identical(got, want)
    assert got.numpy().reshape(-1).tolist() == [15, 26, 15]


@pytest.mark.parametrize("fill", [-1.0, 300.0, 2.75])
def test_fill_value_converts_like_tensorflow(fill):
    """T(float(fill)) for uint8: truncation, and x86's wrap for values outside."""
    images = tf.constant(np.full((1, 3, 3, 2), 9, np.uint8))
    t = np.array([[1, 0, 5, 0, 1, 0, 0, 0]], np.float32)  # everything outside
    for interpolation in INTERPOLATIONS:
        got = gilfree.projective_transform(images, t, interpolation=interpolation, fill_value=fill)
        assert_identical(got, v3(images, t, (3, 3), interpolation, "constant", fill))


def test_other_warps_refuse_v3_only_dtypes():
    image = np.zeros((4, 5, 1), np.int32)
    with pytest.raises(TypeError, match="image has unsupported dtype int32"):
        gilfree.numpy.warp_affine(image, np.eye(2, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported dtype int32"):
        gilfree.warp_affine(image, np.eye(2, 3))
    with pytest.raises(TypeError, match="unsupported dtype float64"):
        reference.warp_affine(image.astype(np.float64), np.eye(2, 3))
