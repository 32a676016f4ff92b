"""Property tests of the geometry ops (docs/geometry-spec.md) on both native faces.

- Identity transforms (identity matrix, identity map, rotation by 0, the identity of
  TensorFlow's 8 parameters, a polynomial fitted to equal points) return the input
  exactly, for every dtype, layout (ranks 2-4, channels 1/3/4/13, empty and 1-pixel
  images), interpolation, fill mode, fill value and nodata.
- The NumPy face gives the same bits for any memory layout of the same values, and
  equals ``gilfree.reference.<op>`` (the tolerances and compared pixels of
  test_geometry_ops.py).
- Parameters with NaN, Inf, huge and negative values, zero sizes and empty lists either
  give the reference's result or raise the documented errors, and the reference, the NumPy
  face and the TF face agree on which ones are errors.
- ``fit_polynomial`` equals the reference's fit (its values at the points and its rms).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from strategies import (
    assert_same_values,
    bits,
    examples,
    floats_with_specials,
    image_shapes,
    layouts,
    random_values,
    with_layout,
)
from test_geometry_ops import check_parity, op_arguments

import gilfree.numpy as gnp
from gilfree import reference

GEOMETRY_DTYPES = ("uint8", "uint16", "int16", "float16", "float32")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
FILL_MODES = ("constant", "nearest", "reflect", "reflect_101", "wrap")
TF_INTERPOLATIONS = ("nearest", "bilinear")
TF_FILL_MODES = ("constant", "reflect", "wrap", "nearest")
IDENTITY_OPS = (
    "warp_affine",
    "warp_perspective",
    "remap",
    "rotate",
    "projective_transform",
    "polynomial_warp",
)
NP_ERRORS = (ValueError, TypeError)
#: Points of a well-determined polynomial fit of any order (10 points, not on a conic).
GCP = np.array(
    [[0, 0], [7, 1], [2, 9], [9, 8], [4, 3], [1, 5], [8, 4], [5, 7], [3, 1], [6, 6]],
    np.float64,
)


def tf_errors():
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError, ValueError, TypeError)


def hw_of(shape) -> tuple[int, int]:
    return tuple(shape[-3:-1]) if len(shape) == 4 else tuple(shape[:2])


def identity_args(op: str, shape) -> tuple:
    h, w = hw_of(shape)
    if op == "warp_affine":
        return (np.eye(2, 3),)
    if op == "warp_perspective":
        return (np.eye(3),)
    if op == "remap":
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        return (x, y)
    if op == "rotate":
        return (0.0,)
    if op == "projective_transform":
        return ([[1.0, 0, 0, 0, 1, 0, 0, 0]],)
    return (GCP, GCP)


@st.composite
def identity_cases(draw):
    op = draw(st.sampled_from(IDENTITY_OPS))
    dtype = draw(st.sampled_from(GEOMETRY_DTYPES))
    shape = draw(image_shapes((4,) if op == "projective_transform" else (2, 3, 4)))
    x = random_values(shape, dtype, draw(st.integers(0, 2**32 - 1)))
    kwargs = {}
    tf_modes = op == "projective_transform"
    kwargs["interpolation"] = draw(
        st.sampled_from(TF_INTERPOLATIONS if tf_modes else INTERPOLATIONS)
    )
    kwargs["fill_mode"] = draw(st.sampled_from(TF_FILL_MODES if tf_modes else FILL_MODES))
    if draw(st.booleans()):
        kwargs["fill_value"] = float(random_values((), dtype, draw(st.integers(0, 99))))
    if op == "polynomial_warp":
        kwargs["order"] = draw(st.sampled_from([1, 2, 3]))
    elif not tf_modes and draw(st.booleans()):
        # nodata: a value of the image (scattered over it), or NaN holes in float images
        nodata = float(random_values((), dtype, draw(st.integers(0, 99))))
        if x.dtype.kind == "f" and draw(st.booleans()):
            nodata = float("nan")
        mask = np.random.default_rng(draw(st.integers(0, 99))).random(shape) < 0.2
        x[mask] = nodata
        kwargs["nodata"] = nodata
    return op, x, identity_args(op, shape), kwargs


def assert_identity(op, y, x):
    assert y.shape == x.shape and y.dtype == x.dtype, (y.shape, x.shape, y.dtype)
    if op == "polynomial_warp" and x.dtype.kind == "f":
        # A least-squares identity: off by ~1e-15 pixel, so a blend may move a float value
        # by a rounding (integers round back).
        magnitude = float(np.max(np.abs(x.astype(np.float64)), initial=1.0))
        np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-6 * magnitude)
    else:
        np.testing.assert_array_equal(bits(y), bits(x))


@settings(max_examples=examples(400))
@given(case=identity_cases(), layout=st.one_of(st.just("contiguous"), layouts))
@example(
    case=("remap", np.zeros((0, 3), np.uint16), identity_args("remap", (0, 3)), {}),
    layout="unaligned",
)
def test_numpy_identity_returns_the_input(case, layout):
    op, x, args, kwargs = case
    if op == "remap" and 0 in hw_of(x.shape):  # empty maps are refused by every face
        for fn in (reference.remap, gnp.remap):
            with pytest.raises(ValueError, match="map_x must not be empty"):
                fn(with_layout(x, layout), *args, **kwargs)
        return
    y = getattr(gnp, op)(with_layout(x, layout), *args, **kwargs)
    assert_identity(op, y, x)


@settings(max_examples=examples(80))
@given(case=identity_cases())
def test_tf_identity_returns_the_input(case):
    import tensorflow as tf

    import gilfree

    op, x, args, kwargs = case
    if op == "remap" and 0 in hw_of(x.shape):
        with pytest.raises(tf.errors.InvalidArgumentError, match="map_x must not be empty"):
            gilfree.remap(tf.constant(x), *args, **kwargs)
        return
    y = getattr(gilfree, op)(tf.constant(x), *args, **kwargs)
    assert_identity(op, y.numpy(), x)


# --------------------------------------------------------------------------- parity

PARITY_OPS = IDENTITY_OPS


@st.composite
def parity_cases(draw):
    op = draw(st.sampled_from(PARITY_OPS))
    dtype = draw(st.sampled_from(GEOMETRY_DTYPES))
    shape = draw(
        image_shapes((4,) if op == "projective_transform" else (2, 3, 4), allow_empty=False)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = random_values(shape, dtype, seed)
    least = 4 if op == "polynomial_warp" else 1  # its points spread over the output
    out = (draw(st.integers(least, 9)), draw(st.integers(least, 9)))
    args, kwargs = op_arguments(op, shape, rng, out=out)
    tf_modes = op == "projective_transform"
    kwargs["interpolation"] = draw(
        st.sampled_from(TF_INTERPOLATIONS if tf_modes else INTERPOLATIONS)
    )
    kwargs["fill_mode"] = draw(st.sampled_from(TF_FILL_MODES if tf_modes else FILL_MODES))
    kwargs["fill_value"] = float(random_values((), dtype, seed + 1))
    return op, x, args, kwargs


@settings(max_examples=examples(240))
@given(case=parity_cases(), layout=layouts)
def test_numpy_face_equals_the_reference_for_any_layout(case, layout):
    op, x, args, kwargs = case
    y = getattr(gnp, op)(x, *args, **kwargs)
    y2 = getattr(gnp, op)(with_layout(x, layout), *args, **kwargs)
    np.testing.assert_array_equal(bits(y2), bits(y), err_msg=f"{layout} {op}")
    # The compared pixels leave out near-ties; a 1-pixel output may have none left.
    from test_geometry_ops import compared_pixels

    mask = compared_pixels(op, x.shape, args, kwargs, y.shape)
    assume(np.broadcast_to(mask, y.shape).mean() > 0.5)
    check_parity("numpy", op, x, args, kwargs, x.dtype.name, layout)


# --------------------------------------------------------------------------- odd parameters

names = st.sampled_from(["nearest", "BILINEAR", "bicubic", "Wrap", "reflect_101", "area", ""])
output_shapes = st.one_of(
    st.none(),
    st.tuples(st.sampled_from([0, 1, 3, -1, 2**20 + 1, 2**63 - 1]), st.sampled_from([1, 4])),
    st.just([]),
    st.just([2, 3, 4]),
)
fill_values = st.one_of(
    st.none(),
    floats_with_specials(-300.0, 300.0),
    st.lists(floats_with_specials(-300.0, 300.0), max_size=14),
)


@st.composite
def odd_cases(draw):
    """(op, image, args, kwargs) with parameters that may be out of the spec's domain."""
    op = draw(st.sampled_from(PARITY_OPS))
    dtype = draw(st.sampled_from(GEOMETRY_DTYPES))
    shape = draw(image_shapes((4,) if op == "projective_transform" else (2, 3, 4)))
    x = random_values(shape, dtype, draw(st.integers(0, 2**32 - 1)))
    entry = floats_with_specials(-3.0, 3.0)
    kwargs = {
        "interpolation": draw(names),
        "fill_mode": draw(names),
        "fill_value": draw(fill_values),
    }
    if op != "remap":
        kwargs["output_shape"] = draw(output_shapes)
    if op != "projective_transform" and draw(st.booleans()):
        kwargs["nodata"] = draw(floats_with_specials(-3.0, 3.0))
    if op in ("warp_affine", "warp_perspective"):
        n = 3 if op == "warp_perspective" else 2
        m = np.array(draw(st.lists(entry, min_size=n * 3, max_size=n * 3))).reshape(n, 3)
        kwargs["inverse"] = draw(st.booleans())
        args = (m,)
    elif op == "projective_transform":
        rows = draw(st.sampled_from([1, max(shape[0], 1), shape[0] + 1]))
        args = (
            np.array(draw(st.lists(entry, min_size=8 * rows, max_size=8 * rows))).reshape(rows, 8),
        )
    elif op == "remap":
        h, w = draw(st.sampled_from([0, 1, 3])), draw(st.sampled_from([1, 4]))
        coords = st.lists(floats_with_specials(-5.0, 9.0), min_size=h * w, max_size=h * w)
        with np.errstate(over="ignore"):  # 1e300 becomes Inf in float32
            args = (
                np.array(draw(coords), np.float32).reshape(h, w),
                np.array(draw(coords), np.float32).reshape(h, w),
            )
    elif op == "rotate":
        args = (draw(floats_with_specials(-720.0, 720.0)),)
        kwargs["scale"] = draw(floats_with_specials(-3.0, 3.0))
        if draw(st.booleans()):
            kwargs["center"] = (draw(entry), draw(entry))
    else:  # polynomial_warp
        k = draw(st.integers(0, 10))
        src = np.array(draw(st.lists(entry, min_size=2 * k, max_size=2 * k))).reshape(k, 2)
        args = (src * 3, GCP[:k])
        kwargs["order"] = draw(st.sampled_from([0, 1, 2, 3, 4]))
    return op, x, args, kwargs


def outcome(fn, *args, errors, **kwargs):
    try:
        return fn(*args, **kwargs)
    except errors as e:
        return e


@settings(max_examples=examples(500))
@given(case=odd_cases())
@example(
    case=(
        "warp_affine",
        np.zeros((1, 1), np.uint8),
        (np.array([[np.nan, 0, 0], [0, 1, 0]]),),
        {"interpolation": "nearest", "fill_mode": "wrap", "fill_value": []},
    )
)
def test_numpy_face_agrees_with_the_reference_on_errors(case):
    op, x, args, kwargs = case
    with np.errstate(all="ignore"):
        expected = outcome(getattr(reference, op), x, *args, errors=NP_ERRORS, **kwargs)
    actual = outcome(getattr(gnp, op), x, *args, errors=NP_ERRORS, **kwargs)
    if isinstance(expected, Exception):
        assert isinstance(actual, type(expected)), (expected, actual)
        return
    assert not isinstance(actual, Exception), (actual, "reference gave a result")
    assert actual.shape == expected.shape and actual.dtype == expected.dtype


@settings(max_examples=examples(100))
@given(case=odd_cases())
# The determinant, scale**2 = 2e-318, is subnormal: TensorFlow's threads flush it to
# zero, so the TF face called the matrix singular where the NumPy face warped.
@example(
    case=(
        "rotate",
        np.zeros((4, 3), np.uint8),
        (0.0,),
        {"interpolation": "nearest", "fill_mode": "nearest", "scale": 1.492164282282425e-159},
    )
)
def test_tf_face_agrees_with_the_numpy_face_on_errors_and_results(case):
    import tensorflow as tf

    import gilfree

    op, x, args, kwargs = case
    expected = outcome(getattr(gnp, op), x, *args, errors=NP_ERRORS, **kwargs)
    actual = outcome(getattr(gilfree, op), tf.constant(x), *args, errors=tf_errors(), **kwargs)
    if isinstance(expected, Exception):
        assert isinstance(actual, tf_errors()), (expected, actual)
        return
    assert not isinstance(actual, Exception), (actual, "the NumPy face gave a result")
    assert_same_values(actual.numpy(), expected)


# --------------------------------------------------------------------------- fit_polynomial


@settings(max_examples=examples(200))
@given(
    order=st.sampled_from([1, 2, 3]),
    extra=st.integers(0, 8),
    seed=st.integers(0, 2**32 - 1),
    span=st.sampled_from([1.0, 100.0, 1e4]),
)
def test_fit_polynomial_equals_the_reference(order, extra, seed, span):
    terms = {1: 3, 2: 6, 3: 10}[order]
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, span, (terms + extra, 2))
    dst = src[:, ::-1] * 0.5 + rng.normal(0, span / 50, src.shape)
    coefficients, rms = gnp.fit_polynomial(src, dst, order)
    ref_coefficients, ref_rms = reference.fit_polynomial(src, dst, order)
    assert coefficients.shape == (2, terms) and coefficients.dtype == np.float64
    fitted = reference.evaluate_polynomial(coefficients, src[:, 0], src[:, 1])
    expected = reference.evaluate_polynomial(ref_coefficients, src[:, 0], src[:, 1])
    np.testing.assert_allclose(fitted, expected, rtol=0, atol=1e-6 * span)
    assert abs(rms - ref_rms) <= 1e-6 * span


@settings(max_examples=examples(120))
@given(
    order=st.sampled_from([0, 1, 2, 3, 4]),
    k=st.integers(0, 12),
    special=st.sampled_from([None, np.nan, np.inf, 1e300]),
    collinear=st.booleans(),
)
def test_fit_polynomial_errors_agree(order, k, special, collinear):
    rng = np.random.default_rng(k)
    src = rng.uniform(0, 10, (k, 2))
    if collinear:
        src[:, 1] = 2 * src[:, 0] + 1
    dst = src + 1
    if special is not None and k:
        src[k // 2, 0] = special
    expected = outcome(reference.fit_polynomial, src, dst, order, errors=NP_ERRORS)
    actual = outcome(gnp.fit_polynomial, src, dst, order, errors=NP_ERRORS)
    if isinstance(expected, Exception):
        assert isinstance(actual, type(expected)), (expected, actual)
    else:
        assert not isinstance(actual, Exception), actual


# --------------------------------------------------------------------------- regressions
# Inputs the properties above found: each failed before the fix named in its docstring.


@pytest.mark.parametrize("face", ["numpy", "tf"])
@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0, 2), (2, 0, 3, 1), (0, 2, 3, 1)])
def test_zero_size_images_keep_their_size_by_default(shape, face):
    """The native faces refused the default output size (H, W) of a zero-size image as an
    output_shape without positive sides; the spec and the reference give an empty output."""
    x = np.zeros(shape, np.uint8)
    cases = [
        ("warp_affine", (np.eye(2, 3),)),
        ("warp_perspective", (np.eye(3),)),
        ("rotate", (30.0,)),
        ("polynomial_warp", (GCP, GCP)),
    ]
    if len(shape) == 4:
        cases.append(("projective_transform", ([[1.0, 0, 0, 0, 1, 0, 0, 0]],)))
    for op, args in cases:
        expected = getattr(reference, op)(x, *args)
        if face == "numpy":
            y = getattr(gnp, op)(x, *args)
        else:
            import tensorflow as tf

            import gilfree

            y = getattr(gilfree, op)(tf.constant(x), *args).numpy()
        assert y.shape == expected.shape == shape, (op, y.shape)
        # An explicit output_shape with a zero side stays an error.
        with pytest.raises(tf_errors() if face == "tf" else ValueError, match="output_shape"):
            if face == "numpy":
                getattr(gnp, op)(x, *args, output_shape=(0, 2))
            else:
                getattr(gilfree, op)(tf.constant(x), *args, output_shape=(0, 2))


@pytest.mark.parametrize("face", ["numpy", "tf"])
def test_translations_and_scaled_homographies_are_invertible(face):
    """The singularity test compared |det| with the largest entry, translation included, so a
    shift of 1e6 pixels or a homography multiplied by 1e-7 was refused as singular."""
    image = random_values((5, 6, 3), "float32", 7)
    shifted = np.array([[1.0, 0, 1e6], [0, 1, 0]])
    cases = [
        ("warp_affine", shifted),
        ("warp_perspective", np.vstack([shifted, [0, 0, 1]])),
        ("warp_perspective", np.eye(3) * 1e-7),
        ("warp_affine", np.array([[2.0, 0.5, -3e7], [0.25, 1.5, 4e6]])),
        # The reference's row norms overflowed to Inf here (now scaled).
        ("warp_affine", np.array([[1.0, 0, 0], [0, 1e300, 0]])),
    ]
    for op, m in cases:
        expected = getattr(reference, op)(image, m)
        if face == "numpy":
            y = getattr(gnp, op)(image, m)
        else:
            import tensorflow as tf

            import gilfree

            y = getattr(gilfree, op)(tf.constant(image), m).numpy()
        np.testing.assert_array_equal(y, expected)


def test_reference_refuses_empty_maps_like_the_native_faces():
    """The reference failed on empty maps inside NumPy's reshape (an unclear message)."""
    empty = np.zeros((0, 3), np.float32)
    for fn in (reference.remap, gnp.remap):
        with pytest.raises(ValueError, match="map_x must not be empty"):
            fn(np.zeros((2, 2), np.uint8), empty, empty)


@pytest.mark.parametrize("face", ["numpy", "tf"])
def test_an_empty_fill_value_is_an_error(face):
    """The native faces read fill_value=[] as None (their encoding of "not given") instead
    of refusing it like the reference."""
    image = np.ones((2, 2, 1), np.uint8)
    with pytest.raises(ValueError, match="fill_value"):
        reference.warp_affine(image, np.eye(2, 3), fill_value=[])
    if face == "numpy":
        fn = gnp.warp_affine
    else:
        import tensorflow as tf

        import gilfree

        fn, image = gilfree.warp_affine, tf.constant(image)
    with pytest.raises(tf_errors() if face == "tf" else ValueError, match="fill_value"):
        fn(image, np.eye(2, 3), fill_value=[])


@settings(max_examples=examples(40))
@given(order=st.sampled_from([1, 2, 3]), extra=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_tf_fit_polynomial_equals_the_numpy_face(order, extra, seed):
    import gilfree

    terms = {1: 3, 2: 6, 3: 10}[order]
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 500, (terms + extra, 2))
    dst = src * [1.1, 0.9] + rng.normal(0, 2, src.shape)
    coefficients, rms = gilfree.fit_polynomial(src, dst, order)
    expected, expected_rms = gnp.fit_polynomial(src, dst, order)
    np.testing.assert_allclose(coefficients.numpy(), expected, rtol=1e-9, atol=1e-9)
    assert abs(float(rms) - expected_rms) <= 1e-9 * max(1.0, expected_rms)
