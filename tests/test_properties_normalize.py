"""Property tests of the normalization ops (docs/normalization-spec.md) on both native faces.

For random dtypes, shapes (empty and 1-pixel included), channel counts, memory layouts and
parameters (NaN, Inf, huge, negative, zero, empty lists):

- ``gilfree.numpy.<op>`` and ``gilfree.<op>`` equal ``gilfree.reference.<op>`` (the
  tolerances of test_normalize_ops.py), or all three raise the documented errors;
- the NumPy face gives the same bits for any memory layout of the same values;
- the ops invert: ``normalize`` by ``y * std + mean``, ``minmax_scale`` by the band's
  min/max, ``standardize`` by its statistics; ``percentile_stretch(0, 100)`` is
  ``minmax_scale``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import INPUT_DTYPES, OPS, assert_close
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import (
    LAYOUTS,
    assert_same_values,
    examples,
    floats_with_specials,
    image_shapes,
    layouts,
    random_values,
    with_layout,
)

import gilfree.numpy as gnp
from gilfree import reference

NP_ERRORS = (ValueError, TypeError)


def tf_errors():
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError, ValueError, TypeError)


# --------------------------------------------------------------------------- strategies


def channel_param(lo: float, hi: float):
    """mean/std as a scalar, a list of length 1 or C (C drawn later), or a bad length."""
    value = floats_with_specials(lo, hi)
    return st.one_of(
        value,
        st.lists(value, min_size=1, max_size=1),
        st.tuples(st.sampled_from(["per_channel", "wrong_length"]), value, value),
        st.just([]),
    )


def resolve_param(p, channels: int):
    if isinstance(p, tuple):  # ("per_channel" | "wrong_length", a, b)
        kind, a, b = p
        n = channels if kind == "per_channel" else channels + 1
        return [a if i % 2 == 0 else b for i in range(n)]
    return p


@st.composite
def op_parameters(draw, op: str, x: np.ndarray):
    """(args, kwargs) of ``op`` for input ``x``, sometimes out of the spec's domain."""
    channels = 1 if x.ndim <= 2 else x.shape[-1]
    if op == "normalize":
        mean = resolve_param(draw(channel_param(-300.0, 300.0)), channels)
        std = resolve_param(draw(channel_param(-300.0, 300.0)), channels)
        scale = draw(st.one_of(st.none(), floats_with_specials(-2.0, 2.0)))
        return (mean, std), {"scale": scale}
    if op == "standardize":
        epsilon = draw(st.one_of(st.none(), floats_with_specials(1e-6, 100.0)))
        return (), {"per_channel": draw(st.booleans()), "epsilon": epsilon}
    kwargs = {"per_channel": draw(st.booleans()), "fill": draw(floats_with_specials(-5.0, 5.0))}
    nodata_kind = draw(st.sampled_from(["none", "present", "number"]))
    if nodata_kind == "present" and x.size:
        kwargs["nodata"] = x.flat[draw(st.integers(0, x.size - 1))].item()
    elif nodata_kind == "number":
        kwargs["nodata"] = draw(floats_with_specials(-10.0, 10.0))
    if op == "minmax_scale":
        return (), kwargs
    low = draw(st.one_of(floats_with_specials(0.0, 100.0), st.sampled_from([0.0, 100.0])))
    high = draw(st.one_of(floats_with_specials(0.0, 100.0), st.sampled_from([0.0, 100.0])))
    return (low, high), kwargs


@st.composite
def cases(draw, dtypes=INPUT_DTYPES, ranks=(1, 2, 3, 4, 5)):
    """(op, x, args, kwargs, out): one call of a normalization op."""
    op = draw(st.sampled_from(OPS))
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(image_shapes(ranks))
    x = random_values(shape, dtype, draw(st.integers(0, 2**32 - 1)), specials=draw(st.booleans()))
    args, kwargs = draw(op_parameters(op, x))
    out = draw(st.sampled_from(["float32", "float32", "float16"]))
    return op, x, args, kwargs, out


def call_reference(op, x, args, kwargs, out):
    """The reference's result, or the exception it raises."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return getattr(reference, op)(x, *args, dtype=out, **kwargs)
        except NP_ERRORS as e:
            return e


def ordinary_parameters(op, args, kwargs) -> bool:
    """Whether normalize's mean, std and scale are within 1e-30..1e30 in magnitude (mean may
    be 0). Beyond, float32 and float64 forms of ``(x * scale - mean) / std`` overflow in
    different places: ``scale=1e-300, mean=1`` gives NaN on the native faces (their float32
    form ``(x - mean / scale) * (scale / std)`` becomes ``(x - Inf) * 0``), and ``scale=1e300,
    std=1e300`` gives Inf in the reference (``x * scale`` overflows float64) where the native
    faces give x. Likewise standardize with an epsilon below 1e-30 (``1 / epsilon`` is Inf in
    float32). There only the errors and the agreement of the faces are checked."""
    if op == "standardize":  # an epsilon below float32's range: 0 * Inf = NaN likewise
        return kwargs.get("epsilon") is None or not 0 < kwargs["epsilon"] < 1e-30
    if op != "normalize":
        return True
    values = [*np.ravel(args[0]), *np.ravel(args[1])]
    if kwargs.get("scale") is not None:
        values.append(kwargs["scale"])
    magnitudes = np.abs(np.asarray(values, np.float64))
    mean = np.abs(np.asarray(args[0], np.float64).ravel())
    ok = (magnitudes >= 1e-30) & (magnitudes <= 1e30)
    return bool(np.all(ok[: mean.size] | (mean == 0)) and np.all(ok[mean.size :]))


def infinite_constant_band(x: np.ndarray, kwargs) -> bool:
    """Whether a band's valid elements are all the same infinity (lo == hi == +-Inf)."""
    xb = band_view(x, kwargs.get("per_channel", True))
    invalid = np.isnan(xb)
    if kwargs.get("nodata") is not None:
        invalid |= xb == float(kwargs["nodata"])
    lo = np.where(invalid, np.inf, xb).min(axis=1)
    hi = np.where(invalid, -np.inf, xb).max(axis=1)
    return bool(np.any((lo == hi) & np.isinf(lo)))


def unresolved_percentiles(x: np.ndarray, args, kwargs) -> bool:
    """Whether a band's percentiles are distinct but closer than 1e-12 of their size."""
    low, high = args if args else (2.0, 98.0)
    if not (0 <= low < high <= 100):
        return False
    xb = band_view(x, kwargs.get("per_channel", True))
    if kwargs.get("nodata") is not None:
        xb = np.where(xb == float(kwargs["nodata"]), np.nan, xb)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(xb, [low, high], axis=1)
    gap = hi - lo
    return bool(np.any((gap > 0) & (gap <= 1e-12 * np.maximum(np.abs(lo), np.abs(hi)))))


def comparable_with_reference(op: str, x: np.ndarray, args, kwargs) -> bool:
    """Two corners of +-Inf data where only the agreement of the faces is checked:

    - percentile_stretch: numpy.percentile's linear interpolation gives NaN between an
      infinite and a finite value even at weight 0 (``a + (b - a) * 0``), where the kernels
      give the finite neighbour;
    - minmax_scale of a band whose valid elements are all +Inf (or all -Inf): the spec maps
      a constant band to 0, the kernels' ``(x - lo) * 0`` gives NaN (a known limitation of
      the float32 affine kernel: no affine map sends Inf to 0).

    And one of percentile_stretch with any data: percentiles interpolated between two
    values a float64 ulp or so apart (q within 1e-14 of 100, say) differ from x by less
    than the kernels' offset (a float32 pair, ~48 bits) resolves, so ``x - lo`` is 0.
    """
    if op == "percentile_stretch" and x.size and unresolved_percentiles(x, args, kwargs):
        return False
    if x.dtype.kind != "f" or not np.isinf(x).any() or x.size == 0:
        return True
    if op == "percentile_stretch":
        return False
    return not (op == "minmax_scale" and infinite_constant_band(x, kwargs))


def check_numpy(op, x, args, kwargs, out, layout="contiguous"):
    expected = call_reference(op, x, args, kwargs, out)
    fn = getattr(gnp, op)
    if isinstance(expected, Exception):
        for arr in (x, with_layout(x, layout)):
            with pytest.raises(type(expected)):
                fn(arr, *args, dtype=out, **kwargs)
        return
    y = fn(x, *args, dtype=out, **kwargs)
    assert isinstance(y, np.ndarray) and y.dtype == np.dtype(out) and y.shape == x.shape
    if comparable_with_reference(op, x, args, kwargs) and ordinary_parameters(op, args, kwargs):
        assert_close(y, expected, out, context=f"numpy {op} {args} {kwargs}")
    if layout != "contiguous":
        view = with_layout(x, layout)
        y2 = fn(view, *args, dtype=out, **kwargs)
        assert_same_values(y2, y, err_msg=f"{layout} {op}")


# --------------------------------------------------------------------------- NumPy face


@settings(max_examples=examples(500))
@given(case=cases(), layout=st.one_of(st.just("contiguous"), layouts))
@example(
    case=("normalize", np.zeros((2, 3), np.uint8), ([], [1.0]), {"scale": None}, "float32"),
    layout="contiguous",
)
@example(
    case=("percentile_stretch", np.zeros((0, 3, 4), np.float32), (50.0, 50.0), {}, "float32"),
    layout="strided",
)
def test_numpy_face_equals_the_reference_for_any_layout(case, layout):
    op, x, args, kwargs, out = case
    check_numpy(op, x, args, kwargs, out, layout)


@settings(max_examples=examples(80))
@given(
    op=st.sampled_from(OPS),
    dtype=st.sampled_from(INPUT_DTYPES),
    shape=image_shapes(),
    layout=st.sampled_from(("contiguous", *LAYOUTS)),
)
def test_numpy_face_rank0_and_bad_dtypes_are_errors(op, dtype, shape, layout):
    """Rank 0, unsupported input dtypes (in any layout) and output dtypes raise on both
    NumPy faces, with the same exception type."""
    x = random_values(shape, dtype, 0)
    args = (1.0, 2.0) if op == "normalize" else ()
    scalar = np.asarray(np.float64(3.0).astype(dtype))
    for bad in (scalar, with_layout(x.astype(np.float64), layout), x.astype(np.int64)):
        ref = call_reference(op, bad, args, {}, "float32")
        assert isinstance(ref, NP_ERRORS)
        with pytest.raises(type(ref)):
            getattr(gnp, op)(bad, *args)
    for out in ("float64", "int32", "bfloat16"):
        with pytest.raises(TypeError):
            getattr(gnp, op)(x, *args, dtype=out)


# --------------------------------------------------------------------------- TF face


@settings(max_examples=examples(120))
@given(case=cases(), bfloat16=st.booleans())
def test_tf_face_equals_the_reference_and_agrees_on_errors(case, bfloat16):
    """Also with bfloat16 input (TF face only): the reference sees its float32 values."""
    import tensorflow as tf

    op, x, args, kwargs, out = case
    tensor = tf.constant(x)
    if bfloat16 and x.dtype == np.float32:
        tensor = tf.cast(tensor, tf.bfloat16)
        x = tf.cast(tensor, tf.float32).numpy()
    expected = call_reference(op, x, args, kwargs, out)
    fn = getattr(__import__("gilfree"), op)
    if isinstance(expected, Exception):
        with pytest.raises(tf_errors()):
            fn(tensor, *args, dtype=tf.as_dtype(out), **kwargs)
        return
    y = fn(tensor, *args, dtype=tf.as_dtype(out), **kwargs)
    assert y.dtype == tf.as_dtype(out) and tuple(y.shape) == x.shape
    if comparable_with_reference(op, x, args, kwargs) and ordinary_parameters(op, args, kwargs):
        assert_close(y.numpy(), expected, out, context=f"tf {op} {args} {kwargs}")
    else:
        assert_same_values(y.numpy(), getattr(gnp, op)(x, *args, dtype=out, **kwargs))


# --------------------------------------------------------------------------- inverses

finite_inputs = st.sampled_from(["uint8", "uint16", "int16", "int32", "float32"])


@settings(max_examples=examples(160))
@given(
    dtype=finite_inputs,
    shape=image_shapes(allow_empty=False),
    seed=st.integers(0, 2**32 - 1),
    mean=st.floats(-1e4, 1e4),
    std=st.floats(0.01, 1e4).flatmap(lambda s: st.sampled_from([s, -s])),
    scale=st.one_of(st.none(), st.floats(1e-3, 10.0)),
)
def test_normalize_then_its_inverse_returns_the_input(dtype, shape, seed, mean, std, scale):
    x = random_values(shape, dtype, seed)
    y = gnp.normalize(x, mean, std, scale=scale).astype(np.float64)
    xs = x.astype(np.float64) * (1.0 if scale is None else scale)
    back = y * std + mean
    # float32 result: one rounding of |y| relative (and float32's smallest step near 0),
    # carried back by |std|.
    tol = 2e-7 * (np.abs(xs) + abs(mean)) * 4 + abs(std) * 1e-44
    assert np.all(np.abs(back - xs) <= tol), np.max(np.abs(back - xs) - tol)


def band_view(x: np.ndarray, per_channel: bool) -> np.ndarray:
    """x as float64 [B, elements, bands] with the statistics' grouping."""
    xf = x.astype(np.float64)
    if x.ndim <= 2:
        xf = xf.reshape(1, -1, 1)
    else:
        xf = xf.reshape(-1, x.shape[-3] * x.shape[-2], x.shape[-1])
    if not per_channel:
        xf = xf.reshape(xf.shape[0], -1, 1)
    return xf


@settings(max_examples=examples(160))
@given(
    dtype=finite_inputs,
    shape=image_shapes(allow_empty=False),
    seed=st.integers(0, 2**32 - 1),
    per_channel=st.booleans(),
)
def test_minmax_scale_inverts_with_the_bands_min_and_max(dtype, shape, seed, per_channel):
    x = random_values(shape, dtype, seed)
    y = gnp.minmax_scale(x, per_channel=per_channel)
    assert np.all((y >= 0) & (y <= 1))
    xb = band_view(x, per_channel)
    yb = band_view(y, per_channel)
    lo, hi = xb.min(axis=1, keepdims=True), xb.max(axis=1, keepdims=True)
    back = lo + yb * (hi - lo)
    np.testing.assert_allclose(back, xb, rtol=0, atol=1e-6 * np.max(np.abs(xb)) + 1e-12)
    # percentile_stretch with 0 and 100 is the same min-max scaling.
    z = gnp.percentile_stretch(x, 0.0, 100.0, per_channel=per_channel)
    np.testing.assert_allclose(z, y, rtol=0, atol=1e-6)


@settings(max_examples=examples(160))
@given(
    dtype=finite_inputs,
    shape=image_shapes(allow_empty=False),
    seed=st.integers(0, 2**32 - 1),
    per_channel=st.booleans(),
    epsilon=st.one_of(st.none(), st.floats(1e-3, 1e3)),
)
def test_standardize_inverts_with_the_statistics(dtype, shape, seed, per_channel, epsilon):
    x = random_values(shape, dtype, seed)
    y = gnp.standardize(x, per_channel=per_channel, epsilon=epsilon)
    xb = band_view(x, per_channel)
    yb = band_view(y, per_channel)
    n = xb.shape[1]
    mean = xb.mean(axis=1, keepdims=True)
    adjusted = np.maximum(xb.std(axis=1, keepdims=True), epsilon or 1.0 / math.sqrt(n))
    back = mean + yb * adjusted
    magnitude = np.max(np.abs(xb))
    np.testing.assert_allclose(back, xb, rtol=0, atol=1e-5 * magnitude + 1e-12)


# --------------------------------------------------------------------------- regressions
# Inputs the properties above found: each failed before the fix named in its docstring.


def test_empty_unaligned_input_is_accepted():
    """The NumPy adapter refused a zero-size array whose (unused) data pointer is odd."""
    buf = bytearray(9)
    x = np.frombuffer(buf, np.uint16, count=0, offset=1).reshape(0, 3)
    for op in OPS:
        args = (1.0, 2.0) if op == "normalize" else ()
        y = getattr(gnp, op)(x, *args)
        assert y.shape == (0, 3) and y.dtype == np.float32


def test_standardize_of_infinite_data_has_nan_statistics():
    """Inf - Inf made the variance NaN, which was clipped to 0: the finite element became
    -Inf instead of NaN (the reference's NaN statistics)."""
    x = np.array([np.inf, 6.104e-05], np.float16)
    for per_channel in (False, True):
        expected = reference.standardize(x, per_channel=per_channel)
        assert np.all(np.isnan(expected))
        y = gnp.standardize(x, per_channel=per_channel)
        np.testing.assert_array_equal(y, expected)


def test_minmax_scale_maps_the_maximum_to_exactly_one():
    """float32 rounding of (x - lo) * (1 / (hi - lo)) gave 1.0000001 for the maximum."""
    x = random_values((2, 8), "float32", 913)
    for per_channel in (False, True):
        y = gnp.minmax_scale(x, per_channel=per_channel)
        assert y.min() == 0.0 and y.max() == 1.0
        assert_close(y, reference.minmax_scale(x, per_channel=per_channel))
