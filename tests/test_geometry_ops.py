"""The geometry ops' native faces and fallback against gilfree.reference (and OpenCV, TF).

Faces: ``gilfree.numpy.<op>`` (C++ on NumPy arrays), ``gilfree.<op>`` (TensorFlow custom
op: eager, ``tf.function``, ``dataset.map``) and ``gilfree.fallback.<op>`` (the reference
in ``tf.py_function``). The reference is itself checked against OpenCV and TensorFlow in
``test_geometry_reference.py``; here the native NumPy face is also compared with OpenCV
directly.

Tolerances against the reference (the C++ computes coordinates and sums in float32, the
reference in float64): integers within 1 level; float32 within 1e-4 of the image's value
range (plus 1e-5 relative); float16 and bfloat16 within a rounding of their own. Nearest
results must be exact except at near-ties (a source coordinate within 1e-3 of a .5
boundary), and with ``nodata`` pixels whose coordinate lies within 1e-3 of an integer are
left out (a tap of ~0 weight decides validity there, so float32 and float64 may differ).

Functions of the faces are looked up when a test runs, so this module imports before the
native geometry code exists.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import seed_of
from test_geometry_reference import (
    ERRORS,
    FILL_MODES,
    GEOMETRY_DTYPES,
    INTERPOLATIONS,
    assert_matches,
    comparable,
    cv_remap,
    cv_warp,
    make_image,
    near_half,
    random_affine,
    random_maps,
    random_perspective,
    random_transforms,
    source_coordinates,
)

from gilfree import _optable, reference

FACES = ("numpy", "tf", "fallback")
# The geometry ops with the nodata-aware sampling arguments (from the op table).
OPS = tuple(
    op.name
    for op in _optable.OPS
    if op.family == "geometry" and any(a.name == "nodata" for a in op.args)
)
ALL_OPS = (*OPS, "projective_transform")
HW = (17, 23)
OUT = (19, 21)
#: Layouts of the parity grid: ranks 2/3/4, channels 1/3/4/13.
SHAPES = [(17, 23), (17, 23, 1), (17, 23, 3), (2, 17, 23, 4), (17, 23, 13), (3, 17, 23, 13)]
RANK4_SHAPES = [(2, 17, 23, 1), (2, 17, 23, 3), (3, 17, 23, 4), (2, 17, 23, 13)]


# --------------------------------------------------------------------------- faces


def face_function(face: str, op: str):
    """``op`` of one face: 'numpy', 'tf' (the native TF op) or 'fallback'."""
    if face == "numpy":
        import gilfree.numpy

        return getattr(gilfree.numpy, op)
    if face == "tf":
        import gilfree

        return getattr(gilfree, op)
    import gilfree.fallback

    return getattr(gilfree.fallback, op)


def as_tensor(image: np.ndarray, dtype: str):
    """The image as a tensor of ``dtype`` (bfloat16 from the float32 values)."""
    import tensorflow as tf

    if dtype == "bfloat16":
        return tf.cast(tf.constant(image.astype(np.float32)), tf.bfloat16)
    return tf.constant(image)


def run_face(face: str, op: str, image: np.ndarray, args, kwargs, dtype: str) -> np.ndarray:
    """Runs ``op`` of ``face``; checks the result's type, dtype and static shape."""
    fn = face_function(face, op)
    if face == "numpy":
        y = fn(image, *args, **kwargs)
        assert isinstance(y, np.ndarray)
        assert y.dtype == image.dtype, (face, op, y.dtype)
        return y
    import tensorflow as tf

    x = as_tensor(image, dtype)
    y = fn(x, *args, **kwargs)
    assert isinstance(y, tf.Tensor)
    assert y.dtype == x.dtype, (face, op, y.dtype, x.dtype)
    assert y.shape.is_fully_defined(), y.shape
    return y.numpy()


def reference_input(image: np.ndarray, dtype: str) -> np.ndarray:
    """What the reference sees for a face input of ``dtype``: for bfloat16 the float32
    values of the image rounded to bfloat16."""
    if dtype == "bfloat16":
        import tensorflow as tf

        return tf.cast(tf.cast(image, tf.bfloat16), tf.float32).numpy()
    return image


# --------------------------------------------------------------------------- cases


def op_arguments(op: str, shape, rng: np.random.Generator, *, out=OUT):
    """Random (args, kwargs) of ``op`` for an image of ``shape`` (per-image for rank 4)."""
    n = shape[0] if len(shape) == 4 else None
    hw = shape[-3:-1] if len(shape) == 4 else shape[:2]
    if op == "warp_affine":
        m = np.stack([random_affine(rng, hw) for _ in range(n)]) if n else random_affine(rng, hw)
        return (m,), {"output_shape": out}
    if op == "warp_perspective":
        if n:
            m = np.stack([random_perspective(rng, hw) for _ in range(n)])
        else:
            m = random_perspective(rng, hw)
        return (m,), {"output_shape": out}
    if op == "remap":
        maps = [random_maps(rng, hw, out) for _ in range(n or 1)]
        if n:
            return (np.stack([m[0] for m in maps]), np.stack([m[1] for m in maps])), {}
        return maps[0], {}
    if op == "polynomial_warp":
        dst = np.column_stack([rng.uniform(0, out[1] - 1, 12), rng.uniform(0, out[0] - 1, 12)])
        m = random_affine(rng, hw)
        src = dst @ m[:, :2].T + m[:, 2] + rng.normal(0, 0.5, dst.shape)  # not exactly affine
        return (src, dst), {"order": 2, "output_shape": out}
    if op == "rotate":
        return (float(rng.uniform(-180, 180)),), {
            "center": (float(rng.uniform(0, hw[1])), float(rng.uniform(0, hw[0]))),
            "scale": float(rng.uniform(0.7, 1.4)),
            "output_shape": out,
        }
    if op == "projective_transform":
        return (random_transforms(rng, n, hw, shift=10.0),), {"output_shape": out}
    raise ValueError(op)


def direct_coordinates(m: np.ndarray, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """Source points of a destination-to-source [2, 3] or [3, 3] matrix (w == 0: NaN)."""
    y, x = np.mgrid[0 : out_hw[0], 0 : out_hw[1]].astype(np.float64)
    w = m[2, 0] * x + m[2, 1] * y + m[2, 2] if m.shape[0] == 3 else np.ones_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        sx = np.where(w == 0, np.nan, (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / w)
        sy = np.where(w == 0, np.nan, (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / w)
    return sx, sy


def source_points(op: str, shape, args, kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates (float64 [M, H', W'], M = 1 or N) of every output pixel."""
    hw = shape[-3:-1] if len(shape) == 4 else shape[:2]
    out = kwargs.get("output_shape") or (args[0].shape[-2:] if op == "remap" else hw)
    if op in ("warp_affine", "warp_perspective", "rotate"):
        if op == "rotate":
            center = kwargs.get("center") or ((hw[1] - 1) / 2, (hw[0] - 1) / 2)
            ms = reference.rotation_matrix(args[0], center, kwargs.get("scale", 1.0))[None]
        else:
            ms = np.asarray(args[0], np.float64).reshape(-1, *np.shape(args[0])[-2:])
        kind = "perspective" if op == "warp_perspective" else "affine"
        if kwargs.get("inverse"):  # destination to source already (maybe singular)
            points = [direct_coordinates(m, out) for m in ms]
        else:
            points = [source_coordinates(kind, m, out) for m in ms]
    elif op == "remap":
        map_x = np.asarray(args[0], np.float64).reshape(-1, *out)
        map_y = np.asarray(args[1], np.float64).reshape(-1, *out)
        points = list(zip(map_x, map_y, strict=True))
    elif op == "polynomial_warp":
        src, dst = args
        coefficients, _ = reference.fit_polynomial(dst, src, kwargs.get("order", 1))
        y, x = np.mgrid[0 : out[0], 0 : out[1]].astype(np.float64)
        points = [reference.evaluate_polynomial(coefficients, x, y)]
    else:  # projective_transform: float32, like TensorFlow
        y, x = np.mgrid[0 : out[0], 0 : out[1]].astype(np.float32)
        points = []
        for a in np.asarray(args[0], np.float32):
            k = a[6] * x + a[7] * y + np.float32(1)
            with np.errstate(divide="ignore", invalid="ignore"):  # k == 0: no source point
                sx, sy = (a[0] * x + a[1] * y + a[2]) / k, (a[3] * x + a[4] * y + a[5]) / k
            points.append((sx, sy))
    sx = np.stack([p[0] for p in points]).astype(np.float64)
    sy = np.stack([p[1] for p in points]).astype(np.float64)
    return sx, sy


def compared_pixels(op, shape, args, kwargs, out_shape) -> np.ndarray:
    """Mask (broadcast to the output) of the pixels whose value is compared."""
    sx, sy = source_points(op, shape, args, kwargs)
    interpolation = kwargs.get(
        "interpolation", "nearest" if op == "projective_transform" else "bilinear"
    )
    ok = np.ones(sx.shape, dtype=bool)
    if interpolation == "nearest":
        ok &= ~(near_half(sx) | near_half(sy))
    elif kwargs.get("nodata") is not None:
        for s in (sx, sy):
            ok &= np.abs(s - np.rint(s)) > 1e-3
    if len(out_shape) == 2:
        return ok[0]
    if len(out_shape) == 3:
        return ok[0][..., None]
    return ok[..., None]


def assert_face_matches(
    actual, expected, dtype: str, image, mask, *, exact=False, renormalized=False, context=""
):
    """Compares a face's result with the reference's (see the module docstring).

    ``renormalized`` (nodata): a renormalized sum divides by the weights of the valid taps,
    which may be small, so float32 coordinate errors grow; integers then get 1e-4 of the
    value range too (a tap wrongly taken or left out errs by far more).
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, context)
    mask = np.broadcast_to(mask, actual.shape)
    assert mask.mean() > 0.5, context  # most pixels are compared
    actual, expected = actual[mask], expected[mask]
    if exact:
        np.testing.assert_array_equal(actual, expected, err_msg=context)
        return
    values = np.asarray(image, dtype=np.float64)
    values = values[np.isfinite(values)]
    value_range = float(np.ptp(values)) if values.size else 1.0
    if np.dtype(dtype if dtype != "bfloat16" else "float32").kind in "iu":
        levels = max(1.0, 1e-4 * value_range) if renormalized else 1.0
        worst = float(np.max(np.abs(actual - expected), initial=0.0))
        assert worst <= levels, f"{context}: max difference {worst} levels (> {levels})"
        return
    rtol = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 1e-2}[dtype]
    np.testing.assert_allclose(
        actual,
        expected,
        rtol=rtol,
        atol=1e-4 * value_range + 1e-6,
        equal_nan=True,
        err_msg=context,
    )


def check_parity(face, op, image, args, kwargs, dtype, context=""):
    """``op`` of ``face`` against the reference, on the compared pixels."""
    ref_image = reference_input(image, dtype)
    ref_kwargs = dict(kwargs)
    if dtype == "bfloat16" and kwargs.get("fill_value") is not None:
        # The op rounds fill_value to the image's dtype, as every pixel value is.
        fill = np.asarray(kwargs["fill_value"], np.float32)
        ref_kwargs["fill_value"] = reference_input(fill, dtype).astype(np.float64).tolist()
    expected = getattr(reference, op)(ref_image, *args, **ref_kwargs)
    if dtype == "bfloat16":  # computed in float32, rounded to bfloat16 at the end
        expected = reference_input(expected, dtype)
    actual = run_face(face, op, image, args, kwargs, dtype)
    mask = compared_pixels(op, image.shape, args, kwargs, expected.shape)
    interpolation = kwargs.get(
        "interpolation", "nearest" if op == "projective_transform" else "bilinear"
    )
    exact = interpolation == "nearest" or (face == "fallback" and dtype != "bfloat16")
    assert_face_matches(
        actual,
        expected,
        dtype,
        ref_image,
        mask,
        exact=exact,
        renormalized=kwargs.get("nodata") is not None,
        context=f"{face} {op} {dtype} {context}",
    )


def fill_for(dtype: str, channels: int, rng: np.random.Generator) -> list[float]:
    """A per-channel fill value the dtype holds."""
    if np.dtype(dtype if dtype != "bfloat16" else "float32").kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, channels).astype(float).tolist()
    return rng.uniform(-50, 50, channels).round(2).tolist()


def channels_of(shape) -> int:
    return 1 if len(shape) == 2 else shape[-1]


# --------------------------------------------------------------------------- parity


#: (face, dtype) pairs: bfloat16 exists on the TensorFlow faces only.
FACE_DTYPES = [
    *[(face, dtype) for face in FACES for dtype in GEOMETRY_DTYPES],
    ("tf", "bfloat16"),
    ("fallback", "bfloat16"),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("face", "dtype"), FACE_DTYPES)
def test_dtypes_and_layouts_match_the_reference(face, dtype, op, shape):
    """README (Geometric correction): uint8, uint16, int16, float16, float32 (and bfloat16 on the TF
    face), any channel count, [H, W], [H, W, C], [N, H, W, C] (every face equals the reference,
    itself checked against OpenCV).
    """
    rng = np.random.default_rng(seed_of("layouts", op, dtype, shape))
    image = make_image(shape, dtype if dtype != "bfloat16" else "float32", rng)
    args, kwargs = op_arguments(op, shape, rng)
    kwargs["fill_value"] = fill_for(dtype, channels_of(shape), rng)
    check_parity(face, op, image, args, kwargs, dtype)


@pytest.mark.parametrize("shape", RANK4_SHAPES, ids=str)
@pytest.mark.parametrize(("face", "dtype"), FACE_DTYPES)
def test_projective_transform_dtypes_and_layouts_match_the_reference(face, dtype, shape):
    rng = np.random.default_rng(seed_of("tf-layouts", dtype, shape))
    image = make_image(shape, dtype if dtype != "bfloat16" else "float32", rng)
    args, kwargs = op_arguments("projective_transform", shape, rng)
    for interpolation in ("nearest", "bilinear"):
        kwargs.update(interpolation=interpolation, fill_value=fill_for(dtype, shape[-1], rng))
        check_parity(face, "projective_transform", image, args, kwargs, dtype, interpolation)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("face", FACES)
def test_interpolations_and_fill_modes_match_the_reference(face, op, interpolation, fill_mode):
    rng = np.random.default_rng(seed_of("modes", op, interpolation, fill_mode))
    for dtype, shape in (("float32", (17, 23, 3)), ("uint16", (2, 17, 23, 4))):
        image = make_image(shape, dtype, rng)
        args, kwargs = op_arguments(op, shape, rng)
        kwargs.update(
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_for(dtype, shape[-1], rng),
        )
        check_parity(face, op, image, args, kwargs, dtype, f"{interpolation} {fill_mode}")


@pytest.mark.parametrize("fill_mode", reference.TF_FILL_MODES)
@pytest.mark.parametrize("interpolation", reference.TF_INTERPOLATIONS)
@pytest.mark.parametrize("face", FACES)
def test_projective_transform_modes_match_the_reference(face, interpolation, fill_mode):
    rng = np.random.default_rng(seed_of("tf-modes", interpolation, fill_mode))
    for dtype in ("float32", "uint8"):
        image = make_image((3, 17, 23, 2), dtype, rng)
        (transforms,), kwargs = op_arguments("projective_transform", image.shape, rng)
        kwargs.update(interpolation=interpolation, fill_mode=fill_mode, fill_value=3.0)
        check_parity(face, "projective_transform", image, (transforms,), kwargs, dtype)
        broadcast = transforms[:1]  # [1, 8] for every image
        check_parity(face, "projective_transform", image, (broadcast,), kwargs, dtype, "[1, 8]")


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dtype", GEOMETRY_DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("face", FACES)
def test_nodata_matches_the_reference(face, op, dtype, interpolation):
    rng = np.random.default_rng(seed_of("nodata", op, dtype, interpolation))
    shape = (2, 17, 23, 3)
    image = make_image(shape, dtype, rng)
    nodata = image.flat[0].item()
    image[rng.random(shape) < 0.2] = nodata
    args, kwargs = op_arguments(op, shape, rng)
    kwargs.update(interpolation=interpolation, fill_mode="reflect")
    variants = [
        {"nodata": nodata},  # outside is nodata too
        {"nodata": nodata, "fill_value": fill_for(dtype, 3, rng), "fill_mode": "constant"},
    ]
    if np.dtype(dtype).kind == "f":  # NaN holes with nodata NaN
        nan_image = np.where(image == nodata, np.nan, image).astype(dtype)
        check_parity(face, op, nan_image, args, {**kwargs, "nodata": float("nan")}, dtype, "nan")
    for variant in variants:
        check_parity(face, op, image, args, {**kwargs, **variant}, dtype, str(variant))


@pytest.mark.parametrize("face", FACES)
def test_inverse_matrices_and_broadcast_match_the_reference(face):
    rng = np.random.default_rng(seed_of("inverse", face))
    image = make_image((3, 17, 23, 3), "float32", rng)
    for op, make in (("warp_affine", random_affine), ("warp_perspective", random_perspective)):
        m = make(rng)
        for matrix in (m, m[None], np.stack([m, make(rng), make(rng)])):
            for inverse in (False, True):
                kwargs = {"output_shape": OUT, "inverse": inverse}
                check_parity(face, op, image, (matrix,), kwargs, "float32", str(matrix.shape))
    # A singular destination-to-source matrix is fine with inverse=True.
    flat = np.array([[0.0, 0, 1], [0, 0, 2]])
    check_parity(face, "warp_affine", image, (flat,), {"inverse": True}, "float32", "flat")


@pytest.mark.parametrize("face", FACES)
def test_edge_cases_match_the_reference(face):
    rng = np.random.default_rng(seed_of("edges", face))
    cases = [
        # (op, image, args, kwargs)
        (
            "warp_affine",
            make_image((1, 1, 2), "uint8", rng),
            (random_affine(rng, (1, 1)),),
            {"output_shape": (4, 5), "fill_mode": "reflect_101", "interpolation": "bicubic"},
        ),
        (
            "warp_affine",
            make_image((1, 7), "float32", rng),
            (random_affine(rng, (1, 7)),),
            {"fill_mode": "wrap", "interpolation": "bicubic"},
        ),
        (
            "warp_affine",
            make_image((2, 3), "int16", rng),
            (np.array([[1.0, 0, 500], [0, 1, 0]]),),
            {"fill_value": -7},
        ),
        (
            "warp_perspective",
            make_image((5, 6), "float32", rng),
            (np.array([[0.0, 0, 2], [0, 0, 1], [1, 0, -3]]),),
            {"inverse": True},
        ),
        (
            "remap",
            make_image((5, 6, 2), "float32", rng),
            (
                np.float32([[0.5, np.nan, 1e9], [-1e9, 2.25, 3.0]]),
                np.float32([[1.0, 1.0, 1.0], [np.nan, 4.75, -0.5]]),
            ),
            {"fill_value": [1, 2]},
        ),
        (
            "rotate",
            make_image((6, 9, 1), "uint16", rng),
            (90.0,),
            {"interpolation": "nearest", "output_shape": (9, 6), "center": (4.0, 4.0)},
        ),
        (
            "rotate",
            make_image((0, 5, 3), "float32", rng),
            (10.0,),
            {"output_shape": (2, 2), "fill_value": [1, 2, 3]},
        ),
    ]
    for op, image, args, kwargs in cases:
        check_parity(face, op, image, args, kwargs, image.dtype.name, f"{image.shape} {kwargs}")


@pytest.mark.parametrize("face", FACES)
def test_zero_size_batches(face):
    for shape in ((0, 5, 6, 3), (2, 5, 6, 0)):
        image = np.zeros(shape, np.float32)
        y = run_face(
            face, "warp_affine", image, (np.eye(2, 3),), {"output_shape": (3, 4)}, "float32"
        )
        assert y.shape == (shape[0], 3, 4, shape[3])


# --------------------------------------------------------------------------- fit_polynomial


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("face", FACES)
def test_fit_polynomial_matches_the_reference(face, order):
    """README (Geometric correction): fit_polynomial returns (coefficients [2, T], rms) of the
    least-squares fit on every face.
    """
    rng = np.random.default_rng(seed_of("fit", face, order))
    src = rng.uniform(0, 3000, (30, 2))
    dst = src * [1.01, 0.98] + [5, -3] + 1e-6 * src[:, ::-1] ** 2 + rng.normal(0, 0.3, src.shape)
    expected, expected_rms = reference.fit_polynomial(src, dst, order)
    coefficients, rms = face_function(face, "fit_polynomial")(src, dst, order)
    if face != "numpy":
        import tensorflow as tf

        assert coefficients.dtype == tf.float64 and rms.dtype == tf.float64
        assert coefficients.shape == (2, reference.POLYNOMIAL_TERMS[order]) and rms.shape == ()
        coefficients, rms = coefficients.numpy(), float(rms.numpy())
    assert np.asarray(coefficients).dtype == np.float64
    assert coefficients.shape == expected.shape
    x, y = src[:, 0], src[:, 1]
    fitted = reference.evaluate_polynomial(coefficients, x, y)
    wanted = reference.evaluate_polynomial(expected, x, y)
    np.testing.assert_allclose(fitted, wanted, rtol=0, atol=1e-7)
    assert rms == pytest.approx(expected_rms, rel=1e-9, abs=1e-9)


# --------------------------------------------------------------------------- OpenCV


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("kind", ["affine", "perspective", "remap"])
def test_numpy_face_matches_opencv(kind, dtype, channels, interpolation, fill_mode):
    """README (Geometric correction): warp_affine, warp_perspective and remap are like
    cv2.warpAffine (matrix [2, 3] source to destination), cv2.warpPerspective ([3, 3]) and
    cv2.remap (float32 maps [H', W']), for every interpolation (bicubic: INTER_CUBIC) and fill
    mode (constant with one value per channel, nearest, reflect, reflect_101, wrap).
    """
    import gilfree.numpy

    rng = np.random.default_rng(seed_of("cv", kind, dtype, channels, interpolation, fill_mode))
    image = make_image((*HW, channels), dtype, rng)
    fill = (7.0, 11.0, 13.0)[:channels]
    kwargs = {"interpolation": interpolation, "fill_mode": fill_mode, "fill_value": fill}
    if kind == "remap":
        map_x, map_y = random_maps(rng, HW, OUT)
        y = gilfree.numpy.remap(image, map_x, map_y, **kwargs)
        expected = cv_remap(image, map_x, map_y, interpolation, fill_mode, fill)
        sx, sy = map_x.astype(np.float64), map_y.astype(np.float64)
    else:
        m = random_affine(rng) if kind == "affine" else random_perspective(rng)
        op = gilfree.numpy.warp_affine if kind == "affine" else gilfree.numpy.warp_perspective
        y = op(image, m, output_shape=OUT, **kwargs)
        expected = cv_warp(kind, image, m, OUT, interpolation, fill_mode, fill)
        sx, sy = source_coordinates(kind, m, OUT)
    assert y.dtype == image.dtype
    mask = comparable(sx, sy, interpolation, fill_mode, HW)
    assert_matches(
        y.reshape(expected.shape),
        expected,
        dtype,
        mask=mask,
        context=f"{kind} {interpolation} {fill_mode}",
    )


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_numpy_face_rotate_matches_opencv(interpolation):
    """README (Geometric correction): rotate is warp_affine with getRotationMatrix2D's matrix."""
    import cv2

    import gilfree.numpy

    rng = np.random.default_rng(seed_of("cv-rotate", interpolation))
    image = make_image((*HW, 3), "uint16", rng)
    for angle, center, scale in ((33.0, None, 1.0), (-120.5, (4.0, 9.5), 0.8)):
        cv_center = center or ((HW[1] - 1) / 2, (HW[0] - 1) / 2)
        m = cv2.getRotationMatrix2D(cv_center, angle, scale)
        y = gilfree.numpy.rotate(
            image, angle, center=center, scale=scale, interpolation=interpolation
        )
        expected = cv_warp("affine", image, m, HW, interpolation, "constant", (0.0,) * 3)
        mask = comparable(*source_coordinates("affine", m, HW), interpolation, "constant", HW)
        assert_matches(y, expected, "uint16", mask=mask)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("face", ["numpy", "tf"])
def test_projective_transform_matches_tensorflow(face, interpolation):
    """README (Geometric correction): projective_transform gives ImageProjectiveTransformV3's
    numbers bit for bit for nearest and bilinear, every fill mode.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed_of("v3", face, interpolation))
    images = make_image((2, *HW, 3), "float32", rng)
    for fill_mode in reference.TF_FILL_MODES:
        transforms = random_transforms(rng, 2, HW, shift=30.0)
        expected = tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=list(OUT),
            fill_value=2.0,
            interpolation=interpolation.upper(),
            fill_mode=fill_mode.upper(),
        ).numpy()
        kwargs = {
            "output_shape": OUT,
            "interpolation": interpolation,
            "fill_mode": fill_mode,
            "fill_value": 2.0,
        }
        y = run_face(face, "projective_transform", images, (transforms,), kwargs, "float32")
        mask = compared_pixels(
            "projective_transform", images.shape, (transforms,), kwargs, expected.shape
        )
        assert_face_matches(
            y,
            expected,
            "float32",
            images,
            mask,
            exact=True,  # V3's arithmetic, bit for bit
            context=fill_mode,
        )


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize(
    ("op", "interpolation"),
    [
        *[(op, i) for op in OPS for i in INTERPOLATIONS],
        ("projective_transform", "nearest"),
        ("projective_transform", "bilinear"),
    ],
)
def test_numpy_threads_give_identical_results(op, interpolation):
    """README (Geometric correction): `gilfree.numpy.<op>` takes `threads=`; results are identical
    for any count.
    """
    rng = np.random.default_rng(seed_of("threads", op, interpolation))
    shape = (2, 64, 80, 3)
    image = make_image(shape, "float32", rng)
    args, kwargs = op_arguments(op, shape, rng, out=(70, 90))
    kwargs.update(interpolation=interpolation)
    if op != "projective_transform":
        kwargs.update(nodata=float(image.flat[0]), fill_mode="reflect")
    fn = face_function("numpy", op)
    one = fn(image, *args, threads=1, **kwargs)
    np.testing.assert_array_equal(fn(image, *args, threads=3, **kwargs), one)
    np.testing.assert_array_equal(fn(image, *args, threads=None, **kwargs), one)
    np.testing.assert_array_equal(fn(image, *args, threads=16, **kwargs), one)


# --------------------------------------------------------------------------- TF graphs


@pytest.mark.parametrize("face", ["tf", "fallback"])
def test_dataset_map_keeps_a_static_element_spec(face):
    """README (The ops): the TF geometry ops run in `dataset.map` and keep the static shape."""
    import tensorflow as tf

    rng = np.random.default_rng(seed_of("dataset", face))
    images = make_image((4, *HW, 3), "uint8", rng)
    warp = face_function(face, "warp_affine")
    rotate = face_function(face, "rotate")
    m = random_affine(rng)
    ds = tf.data.Dataset.from_tensor_slices(images)
    warped = ds.map(lambda x: warp(x, m, output_shape=OUT, interpolation="nearest"))
    rotated = ds.map(lambda x: rotate(x, 33.0, output_shape=OUT, fill_mode="reflect"))
    for mapped in (warped, rotated):
        assert mapped.element_spec.shape == (*OUT, 3)
        assert mapped.element_spec.dtype == tf.uint8
    got = np.stack(list(warped.batch(2).unbatch().as_numpy_iterator()))
    expected = reference.warp_affine(images, m, output_shape=OUT, interpolation="nearest")
    kwargs = {"output_shape": OUT, "interpolation": "nearest"}
    mask = compared_pixels("warp_affine", images.shape, (m,), kwargs, expected.shape)
    assert_face_matches(got, expected, "uint8", images, mask, exact=True)
    got = np.stack(list(rotated.as_numpy_iterator()))
    expected = reference.rotate(images, 33.0, output_shape=OUT, fill_mode="reflect")
    assert_matches(got, expected, "uint8")


@pytest.mark.parametrize("face", ["tf", "fallback"])
def test_dataset_map_with_an_angle_per_element(face):
    """Random augmentation: ``angle`` is a tensor of the dataset, not a Python number.

    README (Geometric correction): rotate with a tensor angle works in `dataset.map`.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed_of("dataset-angles", face))
    images = make_image((4, *HW, 3), "uint8", rng)
    angles = np.float32([12.5, -40.0, 90.0, 181.25])
    rotate = face_function(face, "rotate")
    ds = tf.data.Dataset.from_tensor_slices((images, angles))
    rotated = ds.map(lambda x, a: rotate(x, a, output_shape=OUT))
    assert rotated.element_spec.shape == (*OUT, 3)
    got = np.stack(list(rotated.as_numpy_iterator()))
    for i in range(4):
        expected = reference.rotate(images[i], float(angles[i]), output_shape=OUT)
        assert_matches(got[i], expected, "uint8")


@pytest.mark.parametrize("face", ["tf", "fallback"])
def test_tf_function_with_unknown_batch_and_graph_matrices(face):
    import tensorflow as tf

    rng = np.random.default_rng(seed_of("function", face))
    images = make_image((3, *HW, 4), "float32", rng)
    warp = face_function(face, "warp_perspective")
    matrices = np.stack([random_perspective(rng) for _ in range(3)])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, *HW, 4], tf.float32),
            tf.TensorSpec([None, 3, 3], tf.float64),
        ]
    )
    def f(x, m):
        y = warp(x, m * 1.0, output_shape=OUT, fill_mode="reflect_101")
        assert y.shape.as_list() == [None, *OUT, 4]
        return y

    y = f(images, matrices).numpy()
    expected = reference.warp_perspective(
        images, matrices, output_shape=OUT, fill_mode="reflect_101"
    )
    mask = compared_pixels(
        "warp_perspective", images.shape, (matrices,), {"output_shape": OUT}, expected.shape
    )
    assert_face_matches(y, expected, "float32", images, mask, exact=face == "fallback")
    # A rank-3 image inside a tf.function keeps its static shape too.
    remap = face_function(face, "remap")
    map_x, map_y = random_maps(rng, HW, OUT)

    @tf.function
    def g(x):
        y = remap(x, map_x, map_y, interpolation="bicubic")
        assert y.shape.as_list() == [*OUT, 4]
        return y

    expected = reference.remap(images[0], map_x, map_y, interpolation="bicubic")
    mask = compared_pixels("remap", images[0].shape, (map_x, map_y), {}, expected.shape)
    assert_face_matches(
        g(images[0]).numpy(), expected, "float32", images, mask, exact=face == "fallback"
    )


# --------------------------------------------------------------------------- errors


def _error_cases():
    """The reference's error table: (op name, args, kwargs, the argument's name)."""
    for param in ERRORS:
        fn, args, kwargs, _, words = param.values
        yield pytest.param(fn.__name__, args, kwargs, words[0].split("[")[0], id=param.id)


@pytest.mark.parametrize(("op", "args", "kwargs", "name"), list(_error_cases()))
@pytest.mark.parametrize("face", FACES)
def test_bad_arguments_raise_naming_the_argument(face, op, args, kwargs, name):
    """Every bad call of the reference's error table, on each face."""
    fn = face_function(face, op)
    if face == "numpy":
        # ValueError or TypeError (the reference's own choice is checked in
        # test_geometry_reference.py; which of the two a native face picks is not tested).
        with pytest.raises((ValueError, TypeError)) as info:
            fn(*args, **kwargs)
    else:
        import tensorflow as tf

        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            result = fn(*args, **kwargs)
            for tensor in result if isinstance(result, tuple) else (result,):
                tensor.numpy()  # errors found only when the op runs
    message = info.value.message if hasattr(info.value, "message") else str(info.value)
    assert name in message, (name, message)


@pytest.mark.parametrize("face", ["numpy"])
def test_numpy_threads_argument_is_checked(face):
    fn = face_function(face, "warp_affine")
    image = np.zeros((4, 5), np.uint8)
    for bad, error in ((0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="threads"):
            fn(image, np.eye(2, 3), threads=bad)


# --------------------------------------------------------------------------- gradients


def _gradient_case(op: str, interpolation: str):
    """A function of the image for tf.test.compute_gradient, on a 5x6x2 image."""
    import gilfree

    fn = getattr(gilfree, op)
    if op == "warp_affine":
        m = np.array([[0.9, 0.2, 0.3], [-0.15, 1.05, -0.4]])
        return lambda x: fn(
            x,
            m,
            output_shape=(4, 7),
            interpolation=interpolation,
            fill_mode="reflect",
            fill_value=None,
        )
    if op == "warp_perspective":
        m = np.array([[0.95, 0.1, 0.2], [-0.1, 1.1, 0.3], [0.01, -0.02, 1.0]])
        return lambda x: fn(x, m, output_shape=(6, 5), interpolation=interpolation)
    if op == "rotate":
        return lambda x: fn(x, 23.0, scale=0.9, interpolation=interpolation, fill_mode="nearest")
    if op == "remap":
        rng = np.random.default_rng(seed_of("grad-maps"))
        map_x = rng.uniform(-1.0, 6.5, (4, 7)).astype(np.float32)
        map_y = rng.uniform(-1.0, 5.5, (4, 7)).astype(np.float32)
        return lambda x: fn(x, map_x, map_y, interpolation=interpolation, fill_mode="reflect_101")
    if op == "polynomial_warp":
        dst = np.array([[0, 0], [5, 0], [0, 4], [5, 4], [2.5, 2], [1, 3]], np.float64)
        shift = [[0.3, -0.2], [0.1, 0.2], [-0.2, 0.1], [0.2, 0.3], [0, 0], [0.1, 0]]
        src = dst * [0.9, 1.1] + shift
        return lambda x: fn(x, src, dst, order=2, output_shape=(5, 6), interpolation=interpolation)
    t = np.array([[0.9, 0.15, 0.4, -0.1, 1.1, -0.3, 0.01, 0.0]], np.float32)
    return lambda x: fn(
        x[None], t, output_shape=(5, 5), interpolation=interpolation, fill_mode="wrap"
    )[0]


@pytest.mark.parametrize(
    ("op", "interpolation"),
    [
        *[
            (op, i)
            for op in ("warp_affine", "warp_perspective", "rotate", "remap", "polynomial_warp")
            for i in INTERPOLATIONS
        ],
        ("projective_transform", "nearest"),  # TensorFlow's two interpolations
        ("projective_transform", "bilinear"),
    ],
)
def test_gradient_matches_the_numerical_jacobian(op, interpolation):
    """README (Geometric correction): every TF geometry op (remap and polynomial_warp included) has
    a gradient with respect to the image for every interpolation, checked against numerical
    Jacobians.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed_of("grad", op, interpolation))
    x = tf.constant(rng.uniform(0.0, 1.0, (5, 6, 2)).astype(np.float32))
    f = _gradient_case(op, interpolation)
    theoretical, numerical = tf.test.compute_gradient(f, [x], delta=1e-2)
    # The ops are linear in the image: the finite differences are exact up to rounding.
    assert np.abs(theoretical[0]).max() > 0.1  # not trivially zero
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=0, atol=2e-3)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_gradient_with_nodata_holds_validity_constant(interpolation):
    import tensorflow as tf

    import gilfree

    rng = np.random.default_rng(seed_of("grad-nodata", interpolation))
    image = rng.uniform(1.0, 2.0, (6, 7, 2)).astype(np.float32)
    holes = rng.random(image.shape) < 0.2
    image[holes] = -100.0
    m = np.array([[0.9, 0.2, 0.3], [-0.15, 1.05, -0.4]])

    def f(x):
        return gilfree.warp_affine(x, m, interpolation=interpolation, nodata=-100.0)

    theoretical, numerical = tf.test.compute_gradient(f, [tf.constant(image)], delta=1e-2)
    # Perturbing a nodata pixel makes it valid, so only the columns of valid pixels compare.
    valid_columns = ~holes.reshape(-1)
    np.testing.assert_allclose(
        theoretical[0][:, valid_columns], numerical[0][:, valid_columns], rtol=0, atol=2e-3
    )
    np.testing.assert_array_equal(theoretical[0][:, ~valid_columns], 0.0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gradient_of_half_precision_images(dtype):
    import tensorflow as tf

    import gilfree

    rng = np.random.default_rng(seed_of("grad-half", dtype))
    image = rng.uniform(0.0, 1.0, (2, 6, 7, 3)).astype(np.float32)
    upstream = rng.uniform(-1.0, 1.0, (2, 5, 8, 3)).astype(np.float32)
    m = np.array([[0.9, 0.2, 0.3], [-0.15, 1.05, -0.4]])
    grads = {}
    for name in ("float32", dtype):
        x = tf.cast(tf.constant(image), name)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = gilfree.warp_affine(x, m, output_shape=(5, 8), interpolation="bicubic")
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
        g = tape.gradient(loss, x)
        assert g.dtype == x.dtype
        grads[name] = tf.cast(g, tf.float32).numpy()
    assert np.abs(grads["float32"]).max() > 0.1  # not trivially zero
    np.testing.assert_allclose(grads[dtype], grads["float32"], rtol=0.02, atol=0.02)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_projective_transform_gradient_matches_tensorflow(interpolation):
    """For translations TensorFlow's registered gradient (the inverse transform applied to
    the upstream gradient, fill 0) is the exact adjoint, so the two must agree.

    README (Geometric correction): the image gradients are checked against TensorFlow's own.
    """
    import tensorflow as tf

    import gilfree

    rng = np.random.default_rng(seed_of("grad-v3", interpolation))
    images = tf.constant(rng.uniform(0, 1, (2, 9, 11, 3)).astype(np.float32))
    upstream = tf.constant(rng.uniform(-1, 1, (2, 9, 11, 3)).astype(np.float32))
    for dx, dy in ((2.0, -1.0), (1.3, 0.6), (-2.7, 3.2)):
        t = tf.constant([[1, 0, dx, 0, 1, dy, 0, 0]], tf.float32)
        grads = []
        for fn in (
            lambda x, t=t: gilfree.projective_transform(x, t, interpolation=interpolation),
            lambda x, t=t: tf.raw_ops.ImageProjectiveTransformV3(
                images=x,
                transforms=t,
                output_shape=[9, 11],
                fill_value=0.0,
                interpolation=interpolation.upper(),
                fill_mode="CONSTANT",
            ),
        ):
            with tf.GradientTape() as tape:
                tape.watch(images)
                loss = tf.reduce_sum(fn(images) * upstream)
            grads.append(tape.gradient(loss, images).numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=1e-5, err_msg=str((dx, dy)))


def test_no_gradient_with_respect_to_the_matrix():
    """README (Geometric correction): the matrix gets `None`."""
    import tensorflow as tf

    import gilfree

    image = tf.constant(np.ones((4, 5, 1), np.float32))
    m = tf.Variable([[1.0, 0.1, 0.2], [0.0, 1.0, 0.1]], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(gilfree.warp_affine(image, m))
    assert tape.gradient(loss, m) is None


def test_rotate_angle_is_in_degrees_counter_clockwise():
    """A point right of the centre goes to the top for +90 degrees, as with OpenCV.

    README (Geometric correction): rotate's angle is in degrees, counter-clockwise.
    """
    import cv2

    import gilfree.numpy

    image = np.zeros((9, 9), np.float32)
    image[4, 8] = 1.0  # a point right of the centre
    y = gilfree.numpy.rotate(image, 90.0, interpolation="nearest")
    m = cv2.getRotationMatrix2D((4.0, 4.0), 90.0, 1.0)
    x_new, y_new = m @ [8.0, 4.0, 1.0]
    assert y[round(y_new), round(x_new)] == 1.0
    assert math.isclose(x_new, 4.0, abs_tol=1e-9) and math.isclose(y_new, 0.0, abs_tol=1e-9)


# --------------------------------------------------------------------------- README claims


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_numpy_face_batches_and_inverse_match_opencv(interpolation):
    """README (Geometric correction): warp_affine takes [N, 2, 3] (warp_perspective [N, 3, 3],
    remap [N, H', W'] maps), one per image of a batch; with inverse=True the matrix maps
    destination to source, as OpenCV's WARP_INVERSE_MAP."""
    import gilfree.numpy

    rng = np.random.default_rng(seed_of("cv-batch", interpolation))
    images = make_image((3, *HW, 3), "float32", rng)
    fill = (0.0, 0.0, 0.0)
    for kind in ("affine", "perspective"):
        make = random_affine if kind == "affine" else random_perspective
        op = gilfree.numpy.warp_affine if kind == "affine" else gilfree.numpy.warp_perspective
        ms = np.stack([make(rng) for _ in range(3)])
        for inverse in (False, True):
            y = op(images, ms, output_shape=OUT, inverse=inverse, interpolation=interpolation)
            assert y.shape == (3, *OUT, 3)
            for i in range(3):
                expected = cv_warp(
                    kind, images[i], ms[i], OUT, interpolation, "constant", fill, inverse=inverse
                )
                m = ms[i]
                if inverse:  # the source points of the inverted matrix, as OpenCV maps them
                    m = np.linalg.inv(np.vstack([m, [0, 0, 1]]) if kind == "affine" else m)
                    m = m[:2] if kind == "affine" else m
                mask = comparable(*source_coordinates(kind, m, OUT), interpolation, "constant")
                assert_matches(y[i], expected, "float32", mask=mask, context=f"{kind} {i}")
    maps = [random_maps(rng, HW, OUT) for _ in range(3)]
    map_x, map_y = np.stack([m[0] for m in maps]), np.stack([m[1] for m in maps])
    y = gilfree.numpy.remap(images, map_x, map_y, interpolation=interpolation)
    for i in range(3):
        expected = cv_remap(images[i], map_x[i], map_y[i], interpolation, "constant", fill)
        mask = comparable(
            map_x[i].astype(np.float64), map_y[i].astype(np.float64), interpolation, "constant"
        )
        assert_matches(y[i], expected, "float32", mask=mask, context=f"remap {i}")


@pytest.mark.parametrize("face", FACES)
def test_integer_outputs_round_to_nearest_and_saturate(face):
    """README (Geometric correction): integer results round to nearest (ties to even, as
    docs/geometry-spec.md says) and saturate.

    Bilinear samples halfway and a quarter of the way between pixels; bicubic overshoot
    (OpenCV's INTER_CUBIC on the float32 image gives -23.9 and 278.9) saturates.
    """
    import cv2

    fn = face_function(face, "remap")
    row = np.array([[0, 1, 2, 3, 250, 255, 7, 8]], np.uint8)
    xs = np.float32([[0.5, 1.5, 2.5, 4.5, 6.25, 6.75]])
    y = np.asarray(fn(row, xs, np.zeros_like(xs)))
    np.testing.assert_array_equal(y, [[0, 2, 2, 252, 7, 8]])  # 0.5 1.5 2.5 252.5 7.25 7.75
    for dtype in ("uint8", "int16", "uint16"):
        info = np.iinfo(dtype)
        step = np.array([[info.min] * 3 + [info.max] * 3], dtype)
        xs = np.float32([[1.5, 3.5, 2.3]])
        y = np.asarray(
            fn(step, xs, np.zeros_like(xs), interpolation="bicubic", fill_mode="nearest")
        )
        cubic = cv2.remap(
            step.astype(np.float32),
            xs,
            np.zeros_like(xs),
            cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_REPLICATE,
        )
        assert cubic[0, 0] < info.min and cubic[0, 1] > info.max  # overshoot both ways
        expected = np.clip(np.rint(cubic.astype(np.float64)), info.min, info.max)
        np.testing.assert_array_equal(y, expected, err_msg=dtype)


@pytest.mark.parametrize("face", FACES)
def test_nodata_gives_invalid_taps_zero_weight_and_renormalizes(face):
    """README (Geometric correction): with nodata, invalid source pixels get zero weight and
    the rest is renormalized; an output pixel with no valid source is nodata.

    Hand-computed values: a bilinear sample at (0.25, 0.5) has taps 10 (weight 0.375),
    20 (0.125), nodata (0.375) and 40 (0.125): (3.75 + 2.5 + 5) / 0.625 = 18.
    """
    fn = face_function(face, "remap")
    image = np.array([[10, 20, 0], [0, 40, 0], [0, 0, 0]], np.float32)
    at_x = np.float32([[0.25, 2.0, 1.0, 0.4]])
    at_y = np.float32([[0.5, 0.5, 0.5, 0.6]])
    y = np.asarray(fn(image, at_x[:, :3], at_y[:, :3], nodata=0))
    # (0.25, 0.5): renormalized 18; (2, 0.5): only nodata taps; (1, 0.5): column 1 alone.
    np.testing.assert_allclose(y, [[18.0, 0.0, 30.0]], rtol=1e-6)
    y = np.asarray(fn(image, at_x[:, 3:], at_y[:, 3:], nodata=0, interpolation="nearest"))
    np.testing.assert_array_equal(y, [[0.0]])  # nearest pixel (0, 1) is nodata
    y = np.asarray(fn(image.astype(np.uint8), at_x[:, :1], at_y[:, :1], nodata=0))
    np.testing.assert_array_equal(y, [[18]])
    nan_image = np.where(image == 0, np.nan, image).astype(np.float32)
    y = np.asarray(fn(nan_image, at_x[:, :3], at_y[:, :3], nodata=float("nan")))
    np.testing.assert_allclose(y[0, [0, 2]], [18.0, 30.0], rtol=1e-6)
    assert np.isnan(y[0, 1])


def test_no_gradient_with_respect_to_maps_matrices_and_transforms():
    """README (Geometric correction): the matrix, maps and points get `None` (the image gets
    a gradient)."""
    import tensorflow as tf

    import gilfree

    image = tf.constant(np.ones((5, 6, 1), np.float32))
    map_x = tf.Variable(np.tile(np.arange(6, dtype=np.float32) * 0.9, (4, 1)))
    map_y = tf.Variable(np.tile(np.arange(4, dtype=np.float32)[:, None] * 0.9, (1, 6)))
    perspective = tf.Variable(np.eye(3))
    transforms = tf.Variable([[1, 0, 0.5, 0, 1, 0, 0, 0]], dtype=tf.float32)
    angle = tf.Variable(10.0)
    src = tf.Variable([[0.0, 0.0], [5.0, 0.0], [0.0, 4.0], [5.0, 4.0]], dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(image)
        outputs = [
            gilfree.remap(image, map_x, map_y),
            gilfree.warp_perspective(image, perspective),
            gilfree.projective_transform(image[None], transforms),
            gilfree.rotate(image, angle),
            gilfree.polynomial_warp(image, src + 0.5, src),
        ]
        loss = tf.add_n([tf.reduce_sum(y) for y in outputs])
    for variable in (map_x, map_y, perspective, transforms, angle, src):
        assert tape.gradient(loss, variable) is None, variable.name
    assert tape.gradient(loss, image) is not None


def test_output_shape_is_height_width_where_opencv_dsize_is_width_height():
    """README (Geometric correction, porting from OpenCV): ``cv2.warpAffine(img, m, (w, h))``
    becomes ``warp_affine(img, m, output_shape=(h, w))``; swapped values give the transposed
    size without an error."""
    import cv2

    import gilfree.numpy

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    m = np.array([[0.9, 0.1, 2.0], [-0.1, 0.9, 1.0]])
    h, w = 14, 25
    want = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    got = gilfree.numpy.warp_affine(img, m, output_shape=(h, w))
    assert got.shape == (h, w, 3) == want.shape
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert gilfree.numpy.warp_affine(img, m, output_shape=(w, h)).shape == (w, h, 3)
