"""Parity of the four faces: gilfree.<op> (TF op), gilfree.numpy.<op>, reference, fallback.

The reference is itself checked against independent expressions in test_reference.py;
several tests here also compare the native faces directly with NumPy/TF expressions.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import (
    INPUT_DTYPES,
    OPS,
    ORACLES,
    SHAPES,
    assert_close,
    make_input,
    op_variants,
    run_face,
    seed_of,
)

from gilfree import reference

FACES = ("tf", "numpy", "fallback")
TF_FACES = ("tf", "fallback")


def check_faces(op, x, args, kwargs, *, faces=FACES, out="float32", expected=None, context=""):
    """Every face equals `expected` (default: the reference in the same output dtype)."""
    if expected is None:
        expected = getattr(reference, op)(x, *args, dtype=out, **kwargs)
    for face in faces:
        y = run_face(face, op, x, *args, dtype=out, **kwargs)
        assert_close(y, expected, out, context=f"{face} {op} {context}")


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", INPUT_DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_faces_agree(op, dtype, shape):
    """README (Normalization): input dtypes uint8, uint16, int16, int32, float16, float32 in the
    layouts [W], [H, W], [H, W, C], [N, H, W, C] (every face equals the reference, itself checked
    in test_reference.py).
    """
    x = make_input(shape, dtype, (op, dtype, shape, "parity"))
    for name, args, kwargs in op_variants(op, x, seed_of(op, dtype, shape)):
        check_faces(op, x, args, kwargs, context=name)


@pytest.mark.parametrize("shape", [(64, 48, 3), (2, 17, 9, 4)], ids=str)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_faces_agree_float16_output(op, dtype, shape):
    """README (Normalization): `dtype=` float16 output."""
    x = make_input(shape, dtype, (op, dtype, shape, "f16"))
    for name, args, kwargs in op_variants(op, x):
        check_faces(op, x, args, kwargs, out="float16", context=name)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_bfloat16_output_tf_faces(op, dtype):
    """README (Normalization): `dtype=` bfloat16 output on the TensorFlow face."""
    x = make_input((2, 17, 9, 3), dtype, (op, dtype, "bf16"))
    for name, args, kwargs in op_variants(op, x):
        expected = getattr(reference, op)(x, *args, **kwargs)  # float32
        check_faces(
            op, x, args, kwargs, faces=TF_FACES, out="bfloat16", expected=expected, context=name
        )


@pytest.mark.parametrize("out", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("op", OPS)
def test_bfloat16_input_tf_faces(op, out):
    """README (Normalization): bfloat16 input on the TensorFlow face."""
    x32 = make_input((3, 5, 7, 4), "float32", (op, "bf16in"))
    x = tf.cast(tf.constant(x32), tf.bfloat16)
    x_as_f32 = tf.cast(x, tf.float32).numpy()
    for name, args, kwargs in op_variants(op, x_as_f32):
        ref_out = "float32" if out == "bfloat16" else out
        expected = getattr(reference, op)(x_as_f32, *args, dtype=ref_out, **kwargs)
        for face in TF_FACES:
            y = run_face(face, op, x, *args, dtype=out, **kwargs)
            assert_close(y, expected, out, context=f"{face} {name}")


@pytest.mark.parametrize("face", ["tf", "numpy", "fallback", "reference"])
@pytest.mark.parametrize("shape", [(5, 7, 3), (64, 48, 1), (3, 17, 9, 4), (2, 2, 5, 7, 3)], ids=str)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("kind", ["random", "constant", "one_hot"])
def test_standardize_equals_tf_per_image_standardization(kind, dtype, shape, face):
    """README (Normalization): `standardize` is (x - mean) / max(std, 1/sqrt(n)), the numbers of
    `tf.image.per_image_standardization`, with statistics per image of a batch [N, H, W, C] or
    [..., H, W, C].
    """
    x = make_input(shape, dtype, (kind, dtype, shape))
    if kind == "constant":  # std = 0 < 1/sqrt(n); integer value keeps TF's float32 mean exact
        x = np.full(shape, np.round(x.flat[0]), dtype=dtype)
    elif kind == "one_hot":  # 0 < std < 1/sqrt(n): the floor decides the scale
        x = np.zeros(shape, dtype=dtype)
        x[..., 0, 1, 0] = 1
    expected = tf.image.per_image_standardization(tf.constant(x)).numpy()
    assert_close(run_face(face, "standardize", x), expected)


@pytest.mark.parametrize("face", ["tf", "numpy", "fallback"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32", "float16", "float32"])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("low,high", [(2.0, 98.0), (0.0, 100.0), (12.5, 50.0)])
def test_percentile_stretch_equals_np_percentile_expression(low, high, per_channel, dtype, face):
    """README (Normalization): `percentile_stretch` is clip((x - lo) / (hi - lo), 0, 1) with lo, hi
    = numpy.percentile(valid, [low, high]) (linear method), per channel or per image.
    """
    x = make_input((2, 17, 9, 3), dtype, (low, high, dtype))
    xf = x.astype(np.float64)
    expected = np.empty_like(xf)
    for b in range(x.shape[0]):
        for c in range(3) if per_channel else [slice(None)]:
            v = xf[b, ..., c]
            lo, hi = np.percentile(v, [low, high], method="linear")
            expected[b, ..., c] = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    y = run_face(face, "percentile_stretch", x, low, high, per_channel=per_channel)
    assert_close(y, expected)


def _masked_uint16(seed):
    x = make_input((2, 17, 9, 3), "uint16", seed)
    x[x < 3000] = 0  # ~5% nodata scattered
    x[0, ..., 1] = 0  # a band fully nodata
    x[0, ..., 2] = 777  # a constant band (with some nodata)
    x[0, 3:5, :, 2] = 0
    return x


def _masked_float32(seed):
    x = make_input((2, 5, 7, 4), "float32", seed)
    x[x < 20] = np.nan
    x[1, ..., 3] = np.nan  # a band fully NaN
    x[0, ..., 2] = 1.5  # a constant band
    x[0, 0, :, 2] = np.nan
    return x


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("fill", [0.0, -1.0, np.nan])
@pytest.mark.parametrize("op", ["minmax_scale", "percentile_stretch"])
def test_nodata_and_nan(op, fill, per_channel, face):
    """README (Normalization): an element equal to `nodata` or NaN is left out of minmax_scale's and
    percentile_stretch's statistics and written as `fill`; a band with no valid element is all
    `fill`; a constant band maps to 0.
    """
    oracle = ORACLES[op]
    x = _masked_uint16((op, "u16"))
    kwargs = {"per_channel": per_channel, "nodata": 0, "fill": fill}
    y = run_face(face, op, x, **kwargs)
    assert_close(y, oracle(x, **kwargs), context="uint16 nodata=0")
    np.testing.assert_array_equal(y[x == 0], np.float32(fill))
    if per_channel:
        np.testing.assert_array_equal(y[0, ..., 1], np.float32(fill))
        assert np.all(y[0, ..., 2][x[0, ..., 2] != 0] == 0.0)

    x = _masked_float32((op, "f32"))
    kwargs = {"per_channel": per_channel, "fill": fill}
    y = run_face(face, op, x, **kwargs)
    assert_close(y, oracle(x, **kwargs), context="float32 NaN")
    np.testing.assert_array_equal(y[np.isnan(x)], np.float32(fill))
    assert not np.any(np.isnan(y[~np.isnan(x)]))

    # NaN data plus a numeric nodata
    x[1, 1, :, 0] = 3.25
    kwargs = {"per_channel": per_channel, "nodata": 3.25, "fill": fill}
    y = run_face(face, op, x, **kwargs)
    assert_close(y, oracle(x, **kwargs), context="float32 NaN + nodata=3.25")


@pytest.mark.parametrize("face", FACES)
def test_percentile_stretch_hi_equals_lo(face):
    """README (Normalization): if hi == lo, `percentile_stretch` gives 0 where x <= lo, else 1."""
    v = np.array([1] + [5] * 98 + [9], dtype=np.uint8).reshape(10, 10, 1)
    y = run_face(face, "percentile_stretch", v)
    expected = np.zeros(100)
    expected[-1] = 1.0  # x > lo: 1; x <= lo: 0
    np.testing.assert_array_equal(y.reshape(-1), expected)


@pytest.mark.parametrize("face", FACES)
def test_minmax_equals_tf_reductions(face):
    """README (Normalization): `minmax_scale` is (x - min) / (max - min) per image and channel."""
    x = make_input((3, 17, 9, 4), "uint16", "tfmin")
    xt = tf.constant(x, tf.float64)
    lo = tf.math.reduce_min(xt, axis=[1, 2], keepdims=True)
    hi = tf.math.reduce_max(xt, axis=[1, 2], keepdims=True)
    assert_close(run_face(face, "minmax_scale", x), ((xt - lo) / (hi - lo)).numpy())


@pytest.mark.parametrize("face", FACES)
def test_normalize_equals_expression_and_nan_propagates(face):
    """README (Normalization): `normalize` is (x * scale - mean) / std per channel; it masks
    nothing: NaN propagates.
    """
    x = make_input((2, 17, 9, 3), "float32", "norm")
    x[0, 0, 0, 1] = np.nan
    mean = np.array([10.0, -20.0, 30.0])
    std = np.array([50.0, 60.0, 0.5])
    y = run_face(face, "normalize", x, mean, std, scale=0.5)
    assert_close(y, (x.astype(np.float64) * 0.5 - mean) / std)
    assert np.isnan(y[0, 0, 0, 1]) and np.isnan(y).sum() == 1


@pytest.mark.parametrize("face", FACES)
def test_normalize_mean_std_as_tensors(face):
    """README (Normalization): `normalize`'s mean/std are one value per channel (here tensors)."""
    x = make_input((5, 7, 3), "uint8", "tensors")
    mean = tf.constant([0.4, 0.5, 0.6], tf.float32)
    std = tf.constant([0.2, 0.25, 0.3], tf.float32)
    if face == "numpy":
        mean, std = mean.numpy(), std.numpy()
    y = run_face(face, "normalize", x, mean, std, scale=1 / 255)
    expected = (x / 255.0 - np.float32([0.4, 0.5, 0.6])) / np.float32([0.2, 0.25, 0.3])
    assert_close(y, expected)


@pytest.mark.parametrize("face", ["tf", "numpy", "fallback", "reference"])
@pytest.mark.parametrize("out", ["float32", "float16"])
@pytest.mark.parametrize("shape", [(0, 4, 3), (2, 0, 5, 3), (0,), (4, 0), (3, 4, 0)], ids=str)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_zero_size(op, dtype, shape, out, face):
    """README (Normalization): zero-size input gives an empty output of the same shape."""
    x = np.zeros(shape, dtype)
    args = (0.5, 2.0) if op == "normalize" else ()
    y = run_face(face, op, x, *args, dtype=out)  # checks shape and dtype
    assert y.size == 0


@pytest.mark.parametrize("op", OPS)
def test_zero_size_bfloat16_tf_faces(op):
    x = tf.zeros((2, 0, 5, 3), tf.bfloat16)
    args = (0.5, 2.0) if op == "normalize" else ()
    for face in TF_FACES:
        assert run_face(face, op, x, *args, dtype="bfloat16").shape == (2, 0, 5, 3)


def _unaligned(a):
    """A copy of `a` whose data starts one byte after an aligned address."""
    buf = np.empty(a.nbytes + 1, np.uint8)
    u = buf[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    return u


NON_CONTIGUOUS = {
    "step_slices": lambda a: a[::2, ::3],
    "reversed_channels": lambda a: a[..., ::-1],
    "transposed_hw": lambda a: a.transpose(1, 0, 2),
    "fortran_order": np.asfortranarray,
    "channel_subset": lambda a: a[1:-1, :, 1:3],
    "unaligned": _unaligned,
}


@pytest.mark.parametrize("view", list(NON_CONTIGUOUS))
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32", "float16", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_numpy_non_contiguous_inputs(op, dtype, view):
    base = make_input((34, 27, 3), dtype, (op, dtype, view))
    x = NON_CONTIGUOUS[view](base)
    xc = np.ascontiguousarray(x)
    for name, args, kwargs in op_variants(op, xc):
        y = run_face("numpy", op, x, *args, **kwargs)
        np.testing.assert_array_equal(y, run_face("numpy", op, xc, *args, **kwargs), err_msg=name)
        assert_close(y, getattr(reference, op)(xc, *args, **kwargs), context=name)


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_hyperspectral_c200(op, dtype):
    """README (Normalization): any channel count."""
    x = make_input((9, 7, 200), dtype, (op, dtype, 200))
    for name, args, kwargs in op_variants(op, x, 200):
        check_faces(op, x, args, kwargs, context=name)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32"])
@pytest.mark.parametrize("op", OPS)
def test_rank5_batch(op, dtype):
    """README (Normalization): [..., H, W, C] is a batch: statistics are per image."""
    x = make_input((2, 3, 17, 9, 4), dtype, (op, dtype, 5))
    x[1, 2] = x[1, 2] // 3 if x.dtype.kind in "iu" else x[1, 2] / 3  # a different image
    for name, args, kwargs in op_variants(op, x, 5):
        check_faces(op, x, args, kwargs, context=name)
        # every image has its own statistics: the same as running it alone
        y = run_face("numpy", op, x, *args, **kwargs)
        alone = run_face("numpy", op, np.ascontiguousarray(x[1, 2]), *args, **kwargs)
        assert_close(y[1, 2], alone, context=name)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("op", ["minmax_scale", "percentile_stretch"])
def test_nodata_compared_as_float64(op, face):
    """README (Normalization): an element equal to `nodata` (exact comparison) is invalid."""
    # 2**24 + 1 is an int32 value that float32 cannot hold (it rounds to 2**24).
    args = (0.0, 100.0) if op == "percentile_stretch" else ()  # full range: same as min/max
    x = np.array([2**24 + 1, 0, 100, 2**24, 50], np.int32)
    y = run_face(face, op, x, *args, nodata=2**24 + 1, fill=-1.0)
    assert_close(y, [-1.0, 0.0, 100 / 2**24, 1.0, 50 / 2**24])
    # 0.1 (float64) equals no float32 element, not even np.float32(0.1)
    x = np.float32([0.1, 0.2, 0.3, 0.4])
    kwargs = {"nodata": 0.1, "fill": -1.0}
    assert_close(run_face(face, op, x, *args, **kwargs), (x - np.float64(x[0])) / (x[3] - x[0]))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("op", ["minmax_scale", "percentile_stretch"])
@pytest.mark.parametrize("nodata", [256, -1, 0.5, float("nan")])
def test_nodata_the_dtype_cannot_hold_matches_nothing(nodata, op, face):
    x = make_input((5, 7, 3), "uint8", (op, "hold"))
    y = run_face(face, op, x, nodata=nodata, fill=-7.0)
    assert_close(y, ORACLES[op](x))  # the same as without nodata
    assert not np.any(y == -7.0)


# Data that stresses percentile selection/histograms: ties, narrow ranges, extremes. The
# small size takes the kernel's radix select, the large one (16384 or more elements per
# group) its histogram.
TRICKY_SHAPES = {"small": (96, 64, 2), "large": (160, 128, 2)}


def _tricky(kind: str, rng: np.random.Generator, size: str = "small") -> np.ndarray:
    shape = TRICKY_SHAPES[size]
    if kind == "uint16_narrow":
        return rng.integers(1000, 1010, shape).astype(np.uint16)
    if kind == "uint16_extremes":
        return rng.choice(np.array([0, 1, 65534, 65535], np.uint16), shape)
    if kind == "uint8_two_values":
        return rng.choice(np.array([3, 200], np.uint8), shape, p=[0.97, 0.03])
    if kind == "int16_negative":
        x = rng.integers(-32768, -32700, shape)
        x[0, 0] = 32767
        return x.astype(np.int16)
    if kind == "int32_full_range":
        return rng.integers(-(2**31), 2**31, shape).astype(np.int32)
    if kind == "int32_ties":
        return (rng.integers(0, 5, shape) * 1_000_003 - 7).astype(np.int32)
    if kind == "float16_mixed":
        v = rng.standard_normal(shape) * rng.choice([1e-6, 1e-3, 1.0, 1e3, 6e4], shape)
        v[0, :5, 0] = [0.0, -0.0, 6e-8, -6e-8, 65504.0]
        return np.clip(v, -65504, 65504).astype(np.float16)
    if kind == "float32_ties":
        return rng.choice(np.float32([-1.5, 0.0, 2.25, 1e-30, 3e30]), shape)
    if kind == "float32_wide":
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-20, 20, shape)).astype(
            np.float32
        )
    raise ValueError(kind)


TRICKY = [
    "uint16_narrow",
    "uint16_extremes",
    "uint8_two_values",
    "int16_negative",
    "int32_full_range",
    "int32_ties",
    "float16_mixed",
    "float32_ties",
    "float32_wide",
]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("size", TRICKY_SHAPES)
@pytest.mark.parametrize("kind", TRICKY)
def test_percentile_stretch_tricky_distributions(kind, size, face):
    """README (Normalization): `percentile_stretch` is exact on both of its paths (histogram for
    16384 or more elements per channel, radix select below).
    """
    x = _tricky(kind, np.random.default_rng(seed_of(kind)), size)
    for low, high in [(2.0, 98.0), (0.0, 100.0), (0.5, 99.5), (49.0, 51.0), (1e-3, 99.999)]:
        for per_channel in (True, False):
            y = run_face(face, "percentile_stretch", x, low, high, per_channel=per_channel)
            expected = ORACLES["percentile_stretch"](x, low, high, per_channel=per_channel)
            assert_close(y, expected, context=f"{kind} {low}-{high} per_channel={per_channel}")


# The fallback face's NumPy code casts the signalling NaNs below to float64, which warns.
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("per_channel", [True, False])
def test_percentile_stretch_large_images_with_nodata_and_nan(per_channel, face):
    # Large enough for the kernel's histogram: 13-band uint16 with nodata, float32 with NaN
    # (and signalling NaNs whose payload is in the low 16 bits only, which share their top
    # bits with +inf), float16 with NaN and nodata 0.
    rng = np.random.default_rng(seed_of("large", per_channel))
    u16 = np.clip(rng.normal(3000.0, 800.0, (150, 140, 13)), 0, 10000).astype(np.uint16)
    u16[rng.random(u16.shape) < 0.05] = 0
    f32 = rng.normal(0.3, 0.1, (130, 130, 3)).astype(np.float32)
    f32[rng.random(f32.shape) < 0.03] = np.nan
    f32.view(np.uint32)[rng.random(f32.shape) < 0.01] = 0x7F800005
    f16 = rng.normal(0.0, 2.0, (2, 130, 130, 1)).astype(np.float16)
    f16[rng.random(f16.shape) < 0.03] = np.nan
    f16[rng.random(f16.shape) < 0.03] = 0.0
    for name, x, nodata in [("uint16", u16, 0), ("float32", f32, None), ("float16", f16, 0.0)]:
        for low, high in [(2.0, 98.0), (0.5, 99.5), (30.0, 31.0)]:
            kwargs = {"per_channel": per_channel, "nodata": nodata, "fill": -1.0}
            y = run_face(face, "percentile_stretch", x, low, high, **kwargs)
            with np.errstate(invalid="ignore"):  # the signalling NaNs, cast to float64
                expected = ORACLES["percentile_stretch"](x, low, high, **kwargs)
            assert_close(y, expected, context=f"{name} {low}-{high} per_channel={per_channel}")


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("kind", TRICKY)
def test_minmax_and_standardize_tricky_distributions(kind, face):
    x = _tricky(kind, np.random.default_rng(seed_of(kind)))
    for op in ("minmax_scale", "standardize"):
        for per_channel in (True, False):
            y = run_face(face, op, x, per_channel=per_channel)
            expected = ORACLES[op](x, per_channel=per_channel)
            assert_close(y, expected, context=f"{op} {kind} per_channel={per_channel}")


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(
    "dtype,offset,spread",
    [
        ("uint16", 60000, 8),
        ("int32", 2**30, 1000),
        ("float32", 1e6, 1.0),
    ],
)
@pytest.mark.parametrize("op", OPS)
def test_large_offset_small_spread(op, dtype, offset, spread, face):
    """README (Normalization): `percentile_stretch`'s lo and hi are exactly numpy.percentile's (a lo
    or hi rounded to float32 fails here).
    """
    # Values far from 0 with a small spread: the outputs are O(1) numbers that float32
    # holds to ~1e-7; computing x - mean (or x - lo) with a float32-rounded mean loses them.
    rng = np.random.default_rng(seed_of(op, dtype))
    x = (offset + spread * rng.random((33, 17, 2))).astype(dtype)
    args = (offset + spread / 2, spread / 3) if op == "normalize" else ()
    y = run_face(face, op, x, *args)
    assert_close(y, ORACLES[op](x, *args))


@pytest.mark.parametrize("face", FACES)
def test_standardize_nan_makes_the_image_or_band_nan(face):
    """README (Normalization): `standardize` masks nothing: NaN propagates."""
    x = make_input((2, 5, 7, 3), "float32", "nan")
    x[0, 1, 1, 1] = np.nan
    y = run_face(face, "standardize", x)
    assert np.all(np.isnan(y[0])) and not np.any(np.isnan(y[1]))
    assert_close(y[1], ORACLES["standardize"](x[1]))
    y = run_face(face, "standardize", x, per_channel=True)
    assert np.all(np.isnan(y[0, ..., 1]))
    assert not np.any(np.isnan(y[0, ..., 0])) and not np.any(np.isnan(y[1]))
    assert_close(y[0, ..., 2], ORACLES["standardize"](x[0, ..., 2:3])[..., 0])


@pytest.mark.parametrize("face", FACES)
def test_float16_output_overflows_to_inf_like_a_cast(face):
    """README (Normalization): the result is cast to `dtype` as a cast would (float16 overflows to
    inf).
    """
    x = np.array([[-70000, -1000, 0, 1000, 70000]], np.int32)
    y = run_face(face, "normalize", x, 0.0, 1.0, dtype="float16")
    expected = tf.cast(tf.constant(x, tf.float32), tf.float16).numpy()
    np.testing.assert_array_equal(y, expected)
    assert np.isinf(y[0, 0]) and np.isinf(y[0, -1])


@pytest.mark.parametrize("face", ["numpy", "reference"])
def test_numpy_faces_accept_both_byte_orders(face):
    x = make_input((17, 9, 3), "uint16", "endian")
    swapped = x.astype(x.dtype.newbyteorder(">" if x.dtype.byteorder != ">" else "<"))
    for op in OPS:
        args = (1000.0, 500.0) if op == "normalize" else ()
        assert_close(run_face(face, op, swapped, *args), ORACLES[op](x, *args), context=op)


@pytest.mark.parametrize(
    "face,spelling",
    [
        (face, spelling)
        for face in ("tf", "numpy", "fallback", "reference")
        for spelling in ("float16", "str", "numpy_type", "tf_dtype")
        if not (face == "numpy" and spelling == "tf_dtype")  # the NumPy face never imports TF
    ],
)
def test_output_dtype_spellings(face, spelling):
    x = make_input((5, 7, 3), "uint8", "spelling")
    dtype = {
        "float16": np.dtype("float16"),
        "str": "float16",
        "numpy_type": np.float16,
        "tf_dtype": tf.float16,
    }[spelling]
    y = face_call(face, "minmax_scale", x, dtype=dtype)
    y = y.numpy() if isinstance(y, tf.Tensor) else y
    assert y.dtype == np.float16
    assert_close(y, ORACLES["minmax_scale"](x), "float16")


def face_call(face, op, *args, **kwargs):
    from conftest import face_fn

    return face_fn(face, op)(*args, **kwargs)


def test_tf_and_numpy_faces_are_bitwise_equal_for_float64_parameters():
    """README (The ops): `gilfree.numpy.<op>` runs the same C++ kernel as the TF op (bit for bit the
    same numbers).
    """
    # Parameters travel to the TF op as float64 tensors, so nothing is rounded to
    # float32 on the way: percentiles like 33.3 and scales like 1/255 give exactly
    # the NumPy face's numbers (both run the same kernel).
    import gilfree
    import gilfree.numpy as gn

    rng = np.random.default_rng(5)
    x = rng.integers(0, 5000, (1001, 3)).astype(np.uint16)
    cases = [
        ("percentile_stretch", (33.3, 66.7), {"fill": 0.1234567891, "nodata": 7}),
        ("normalize", (0.1, 0.3), {"scale": 1 / 255}),
        ("standardize", (), {"epsilon": 1e-3, "per_channel": True}),
        ("minmax_scale", (), {"nodata": 4999.0, "fill": -0.1234567891}),
    ]
    for op, args, kwargs in cases:
        want = getattr(gn, op)(x, *args, **kwargs)
        got = getattr(gilfree, op)(x, *args, **kwargs).numpy()
        np.testing.assert_array_equal(got, want, err_msg=op)


@pytest.mark.parametrize("face", FACES)
def test_rank_1_and_2_are_single_band_images(face):
    """README (Normalization): `[W]` and `[H, W]` are one single-band image.

    standardize equals tf.image.per_image_standardization of the same values as one
    [1, n, 1] image, and minmax_scale uses the minimum and maximum of all the values (a
    per-column or per-row statistic would give other numbers).
    """
    for shape in [(23,), (17, 9)]:
        x = make_input(shape, "uint16", ("single-band", shape))
        as_image = tf.constant(x.reshape(1, -1, 1))
        expected = tf.image.per_image_standardization(as_image).numpy().reshape(shape)
        assert_close(run_face(face, "standardize", x), expected, context=str(shape))
        xf = x.astype(np.float64)
        expected = (xf - xf.min()) / (xf.max() - xf.min())
        assert_close(run_face(face, "minmax_scale", x), expected, context=str(shape))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("op", OPS)
def test_default_output_dtype_is_float32(op, face):
    """README (Normalization): the output is float32 by default."""
    x = make_input((5, 7, 3), "uint16", ("default-dtype", op))
    args = (1000.0, 500.0) if op == "normalize" else ()
    y = face_call(face, op, x, *args)
    y = y.numpy() if isinstance(y, tf.Tensor) else y
    assert y.dtype == np.float32, (face, op, y.dtype)
    assert_close(y, ORACLES[op](x, *args), context=f"{face} {op}")


@pytest.mark.parametrize("face", FACES)
def test_standardize_per_channel_and_epsilon_equal_numpy(face):
    """README (Normalization): `standardize(per_channel=True)` standardizes each band on its
    own; `epsilon` replaces the 1/sqrt(n) floor of the standard deviation.

    The expected values are NumPy's mean and (population) std over each image and band.
    """
    x = make_input((2, 6, 5, 3), "float32", "standardize-numpy")
    x[1, ..., 2] = 7.0  # a constant band: std 0, so the floor decides
    xf = x.astype(np.float64)
    mean = xf.mean(axis=(1, 2), keepdims=True)
    std = xf.std(axis=(1, 2), keepdims=True)
    n = x.shape[1] * x.shape[2]
    for epsilon, floor in [(None, 1.0 / np.sqrt(n)), (1e-3, 1e-3), (500.0, 500.0)]:
        expected = (xf - mean) / np.maximum(std, floor)
        y = run_face(face, "standardize", x, per_channel=True, epsilon=epsilon)
        assert_close(y, expected, context=f"per_channel epsilon={epsilon}")
    # per image (all bands together) with an epsilon larger than every std
    mean = xf.mean(axis=(1, 2, 3), keepdims=True)
    y = run_face(face, "standardize", x, epsilon=1e4)
    assert_close(y, (xf - mean) / 1e4, context="per image epsilon=1e4")


@pytest.mark.parametrize("op", ["minmax_scale", "percentile_stretch"])
def test_stretch_gradients_are_zero_at_masked_clipped_and_constant_bands(op):
    """README (Normalization): the gradient of `minmax_scale` and `percentile_stretch` holds
    the statistics constant: grad / (hi - lo) for each valid element that was not clipped,
    0 for masked (nodata, NaN) and clipped elements and constant bands.

    lo and hi come from NumPy (nanmin/nanmax, nanpercentile) over the valid elements.
    """
    import gilfree

    rng = np.random.default_rng(seed_of("stretch-grad", op))
    x = rng.uniform(1.0, 5.0, (2, 6, 7, 3)).astype(np.float32)
    x[0, 1, 2, :] = -9.0  # nodata
    x[1, 0, 0, 1] = np.nan
    x[1, ..., 2] = 2.5  # a constant band
    x[1, 4, 4, 2] = -9.0  # with a nodata element
    upstream = rng.uniform(-1.0, 1.0, x.shape).astype(np.float32)
    args = (10.0, 90.0) if op == "percentile_stretch" else ()
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = getattr(gilfree, op)(xt, *args, nodata=-9.0)
        loss = tf.reduce_sum(y * upstream)
    got = tape.gradient(loss, xt).numpy()

    valid = np.where((x == -9.0) | np.isnan(x), np.nan, x.astype(np.float64))
    if op == "percentile_stretch":
        lo = np.nanpercentile(valid, 10.0, axis=(1, 2), keepdims=True)
        hi = np.nanpercentile(valid, 90.0, axis=(1, 2), keepdims=True)
    else:
        lo = np.nanmin(valid, axis=(1, 2), keepdims=True)
        hi = np.nanmax(valid, axis=(1, 2), keepdims=True)
    lo, hi = np.broadcast_to(lo, x.shape), np.broadcast_to(hi, x.shape)
    masked = np.isnan(valid)
    constant = hi == lo
    with np.errstate(invalid="ignore"):
        clipped = (valid < lo) | (valid > hi)
    inside = ~masked & ~constant & ~clipped
    assert masked.any() and constant.any() and inside.any()
    if op == "percentile_stretch":
        assert clipped.any()
    np.testing.assert_array_equal(got[masked | constant | clipped], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = upstream / (hi - lo)
    np.testing.assert_allclose(got[inside], expected[inside], rtol=1e-5, atol=1e-6)


def test_ranges_whose_scale_float32_cannot_hold_count_as_no_range():
    """docs/normalization-spec.md: a range with 1 / (hi - lo) above float32's largest value
    counts as no range (minmax_scale: 0; percentile_stretch: a step at lo). The native
    kernels scale in float32 and gave NaN there (0 x inf) before the rule; found by the
    property tests with high=7.3e-181."""
    subnormal = np.array([[[0.0], [1e-45], [3e-45]]], np.float32)  # range 3e-45
    for face in ("reference", *FACES):
        y = run_face(face, "minmax_scale", subnormal, dtype="float32")
        np.testing.assert_array_equal(np.asarray(y).ravel(), [0.0, 0.0, 0.0], err_msg=face)
    x = np.array([[[217], [0], [128]]], np.uint8)
    for face in ("reference", *FACES):
        y = run_face(face, "percentile_stretch", x, 0.0, 7.3e-181, per_channel=False)
        np.testing.assert_array_equal(np.asarray(y).ravel(), [1.0, 0.0, 1.0], err_msg=face)
    # A range float32 can scale is still a range: one float32 step at 1.0.
    close = np.array([[[1.0], [1.0 + 2**-23]]], np.float32)
    y = run_face("numpy", "minmax_scale", close, dtype="float32")
    np.testing.assert_array_equal(np.asarray(y).ravel(), [0.0, 1.0])


@pytest.mark.parametrize("per_channel", [True, False])
def test_standardize_gives_the_same_bits_for_a_strided_view(per_channel):
    """A strided view gives the bits of the contiguous array (found by the property
    tests: the moments were summed over whole spans when contiguous and row by row when
    gathered, in another order of additions)."""
    import gilfree.numpy as gnp

    rng = np.random.default_rng(20261207)
    for _ in range(20):
        x = (rng.standard_normal((2, 5, 13)) * 100.0).astype(np.float32)
        # One band holding +-2^124 (which cancel): its sums round differently by order.
        x[0, 3, 6], x[1, 2, 6] = -(2.0**124), 2.0**124
        strided = np.zeros((2, 10, 13), np.float32)[:, ::2]
        strided[...] = x
        want = gnp.standardize(x, per_channel=per_channel)
        got = gnp.standardize(strided, per_channel=per_channel)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
