"""gilfree.reference's geometry ops against OpenCV, TensorFlow and known answers.

The oracle of the native faces is itself checked here, never against its own code:

- ``warp_affine``/``warp_perspective``/``remap``/``rotate`` against ``cv2.warpAffine``,
  ``cv2.warpPerspective``, ``cv2.remap`` (every border mode and interpolation);
- ``projective_transform`` against ``tf.raw_ops.ImageProjectiveTransformV3``;
- ``fit_polynomial``/``polynomial_warp`` against known polynomials and OpenCV;
- properties (identity, round trips, batches, periodic fill modes, nodata) and the
  errors of the spec's "Limits and errors" section.

Known differences from OpenCV 5.0, excluded explicitly where they matter:

- OpenCV computes coordinates in float32 (the reference in float64) and rounds
  nearest-neighbour ties to even: for "nearest", pixels whose float64 source coordinate
  lies within 1e-3 of a .5 boundary are not compared.
- OpenCV 5.0 interpolates with float coordinates and weights only for 1, 3 or 4 channels
  of uint8, uint16 and float32; other channel counts and dtypes (int16, 2 channels) take
  its older 1/32-pixel fixed-point path (errors of hundreds of levels on noise). The
  comparisons use those precise cases (int16 and float16 images are compared with OpenCV
  on their float32 conversion; more channels band by band).
- OpenCV's INTER_CUBIC with BORDER_REFLECT/REFLECT_101/WRAP does not follow the periodic
  pattern for taps more than one image size outside the source (taps < -n or >= 2n);
  the spec's modes are periodic (checked by ``test_fill_modes_are_periodic_far_outside``),
  so such pixels are not compared with OpenCV.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from conftest import seed_of, tf_projective

from gilfree import reference

cv2.setNumThreads(1)

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
FILL_MODES = ("constant", "nearest", "reflect", "reflect_101", "wrap")
GEOMETRY_DTYPES = ("uint8", "uint16", "int16", "float16", "float32")
CV_INTER = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
CV_BORDER = {
    "constant": cv2.BORDER_CONSTANT,
    "nearest": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "reflect_101": cv2.BORDER_REFLECT_101,
    "wrap": cv2.BORDER_WRAP,
}
#: Input (H, W) and output (H', W') of the big parameter grids.
SIZE = (17, 23)
OUT = (19, 21)
#: Per-channel fill values (OpenCV's borderValue holds at most 4).
FILL = (7.0, 11.0, 13.0, 17.0)


# --------------------------------------------------------------------------- helpers


def make_image(shape, dtype, rng: np.random.Generator) -> np.ndarray:
    """Random image: integers over the dtype's whole range, floats around 100 +- 50."""
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dt)
    return (rng.standard_normal(shape) * 50 + 100).astype(dt)


def random_affine(rng: np.random.Generator, hw=SIZE, shift=6.0) -> np.ndarray:
    """A random, well-conditioned source-to-destination [2, 3] matrix about the centre."""
    h, w = hw
    angle = rng.uniform(-math.pi, math.pi)
    scale = rng.uniform(0.6, 1.5)
    shear = rng.uniform(-0.2, 0.2)
    c, s = math.cos(angle), math.sin(angle)
    linear = scale * np.array([[c, s + shear], [-s, c]])
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    shift_xy = rng.uniform(-shift, shift, 2)
    return np.column_stack([linear, centre - linear @ centre + shift_xy])


def random_perspective(rng: np.random.Generator, hw=SIZE) -> np.ndarray:
    """A random source-to-destination [3, 3] matrix with a mild perspective part."""
    m = np.eye(3)
    m[:2] = random_affine(rng, hw)
    m[2, :2] = rng.uniform(-0.01, 0.01, 2)
    return m


def random_maps(rng: np.random.Generator, hw=SIZE, out=OUT, margin=8.0):
    """Random float32 maps covering the source and up to ``margin`` pixels around it."""
    h, w = hw
    map_x = rng.uniform(-margin, w - 1 + margin, out).astype(np.float32)
    map_y = rng.uniform(-margin, h - 1 + margin, out).astype(np.float32)
    return map_x, map_y


def grid(out_hw) -> tuple[np.ndarray, np.ndarray]:
    """Output pixel coordinates (x, y), float64."""
    y, x = np.mgrid[0 : out_hw[0], 0 : out_hw[1]].astype(np.float64)
    return x, y


def source_coordinates(kind: str, m: np.ndarray, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """Source points of a forward (source-to-destination) matrix, inverted with OpenCV."""
    x, y = grid(out_hw)
    if kind == "affine":
        inv = cv2.invertAffineTransform(m)
        return inv[0, 0] * x + inv[0, 1] * y + inv[0, 2], inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]
    _, inv = cv2.invert(m)
    w = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):  # w == 0: no source point
        sx = (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]) / w
        sy = (inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]) / w
    return sx, sy


def near_half(s: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Coordinates within ``tol`` of a .5 boundary (nearest-neighbour near-ties)."""
    return np.abs(s - np.floor(s) - 0.5) < tol


def comparable(sx, sy, interpolation: str, fill_mode: str, hw=SIZE) -> np.ndarray:
    """Pixels whose OpenCV result follows the spec (see the module docstring)."""
    ok = np.ones(np.shape(sx), dtype=bool)
    if interpolation == "nearest":
        ok &= ~(near_half(sx) | near_half(sy))
    if interpolation == "bicubic" and fill_mode in ("reflect", "reflect_101", "wrap"):
        for s, n in ((sx, hw[1]), (sy, hw[0])):
            k0 = np.floor(s)
            ok &= (k0 - 1 >= -n) & (k0 + 2 <= 2 * n - 1)
    return ok


def assert_matches(actual, expected, dtype, *, mask=None, rtol=1e-4, context="") -> None:
    """Integers within 1 level; floats within rtol times the magnitude of ``expected``."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, context)
    if mask is not None:
        mask = np.broadcast_to(
            mask.reshape(mask.shape + (1,) * (actual.ndim - mask.ndim)), actual.shape
        )
        actual, expected = actual[mask], expected[mask]
    if np.dtype(dtype).kind in "iu":
        worst = float(np.max(np.abs(actual - expected), initial=0.0))
        assert worst <= 1.0, f"{context}: max difference {worst} levels"
        return
    finite = expected[np.isfinite(expected)]
    magnitude = max(1.0, float(np.max(np.abs(finite), initial=0.0)))
    np.testing.assert_allclose(
        actual, expected, rtol=0, atol=rtol * magnitude, equal_nan=True, err_msg=context
    )


def cv_apply(fn, image: np.ndarray, fill, **kwargs) -> np.ndarray:
    """An OpenCV warp on an [H, W, C] image, band by band when C > 4; returns [H', W', C]."""
    channels = image.shape[2]
    if channels <= 4:
        out = fn(image, borderValue=tuple(float(v) for v in fill[:channels]), **kwargs)
        return out.reshape(*out.shape[:2], channels)
    bands = [
        fn(np.ascontiguousarray(image[:, :, c]), borderValue=float(fill[c]), **kwargs)
        for c in range(channels)
    ]
    return np.stack(bands, axis=-1)


def cv_warp(kind: str, image, m, out_hw, interpolation, fill_mode, fill, inverse=False):
    flags = CV_INTER[interpolation] | (cv2.WARP_INVERSE_MAP if inverse else 0)
    fn = cv2.warpAffine if kind == "affine" else cv2.warpPerspective
    return cv_apply(
        lambda img, **kw: fn(img, m, (out_hw[1], out_hw[0]), **kw),
        image,
        fill,
        flags=flags,
        borderMode=CV_BORDER[fill_mode],
    )


def cv_remap(image, map_x, map_y, interpolation, fill_mode, fill):
    return cv_apply(
        lambda img, **kw: cv2.remap(img, map_x, map_y, **kw),
        image,
        fill,
        interpolation=CV_INTER[interpolation],
        borderMode=CV_BORDER[fill_mode],
    )


# --------------------------------------------------------------------------- OpenCV


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_warp_matches_opencv(kind, dtype, channels, interpolation, fill_mode):
    """README (Geometric correction): tested against cv2.warpAffine/warpPerspective: every
    interpolation and shared border mode; uint8, uint16, float32; 1, 3, 4 channels.
    """
    rng = np.random.default_rng(seed_of(kind, dtype, channels, interpolation, fill_mode))
    image = make_image((*SIZE, channels), dtype, rng)
    m = random_affine(rng) if kind == "affine" else random_perspective(rng)
    fill = FILL[:channels]
    op = reference.warp_affine if kind == "affine" else reference.warp_perspective
    y = op(
        image,
        m,
        output_shape=OUT,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill,
    )
    assert y.dtype == image.dtype and y.shape == (*OUT, channels)
    expected = cv_warp(kind, image, m, OUT, interpolation, fill_mode, fill)
    sx, sy = source_coordinates(kind, m, OUT)
    mask = comparable(sx, sy, interpolation, fill_mode)
    assert mask.mean() > 0.5  # most pixels are compared
    assert_matches(y, expected, dtype, mask=mask, context=f"{kind} {interpolation} {fill_mode}")


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_remap_matches_opencv(dtype, channels, interpolation, fill_mode):
    """README (Geometric correction): tested against cv2.remap: every interpolation and shared
    border mode; uint8, uint16, float32; 1, 3, 4 channels.
    """
    rng = np.random.default_rng(seed_of("remap", dtype, channels, interpolation, fill_mode))
    image = make_image((*SIZE, channels), dtype, rng)
    map_x, map_y = random_maps(rng)
    fill = FILL[:channels]
    y = reference.remap(
        image, map_x, map_y, interpolation=interpolation, fill_mode=fill_mode, fill_value=fill
    )
    expected = cv_remap(image, map_x, map_y, interpolation, fill_mode, fill)
    mask = comparable(map_x.astype(np.float64), map_y.astype(np.float64), interpolation, fill_mode)
    assert_matches(y, expected, dtype, mask=mask, context=f"remap {interpolation} {fill_mode}")


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_inverse_map_matches_opencv_warp_inverse_map(kind, interpolation):
    """README (Geometric correction): inverse=True: the matrix maps destination to source."""
    rng = np.random.default_rng(seed_of("inverse", kind, interpolation))
    image = make_image((*SIZE, 3), "float32", rng)
    m = random_affine(rng) if kind == "affine" else random_perspective(rng)
    op = reference.warp_affine if kind == "affine" else reference.warp_perspective
    for fill_mode in ("constant", "reflect_101"):
        y = op(
            image,
            m,
            output_shape=OUT,
            inverse=True,
            interpolation=interpolation,
            fill_mode=fill_mode,
        )
        expected = cv_warp(kind, image, m, OUT, interpolation, fill_mode, (0.0,) * 3, inverse=True)
        # With WARP_INVERSE_MAP the matrix maps destination to source directly.
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]) if kind == "affine" else m)
        sx, sy = source_coordinates(kind, inv[:2] if kind == "affine" else inv, OUT)
        mask = comparable(sx, sy, interpolation, fill_mode)
        assert_matches(y, expected, "float32", mask=mask, context=fill_mode)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect_101", "wrap"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("op", ["affine", "perspective", "remap"])
def test_many_channels_match_opencv_band_by_band(op, interpolation, fill_mode):
    """README (Geometric correction): tested against OpenCV band by band (over 4 channels)."""
    rng = np.random.default_rng(seed_of("bands", op, interpolation, fill_mode))
    image = make_image((*SIZE, 13), "uint16", rng)
    fill = rng.integers(0, 65536, 13).astype(np.float64)
    kwargs = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=fill)
    if op == "remap":
        map_x, map_y = random_maps(rng)
        y = reference.remap(image, map_x, map_y, **kwargs)
        expected = cv_remap(image, map_x, map_y, interpolation, fill_mode, fill)
        sx, sy = map_x.astype(np.float64), map_y.astype(np.float64)
    else:
        m = random_affine(rng) if op == "affine" else random_perspective(rng)
        fn = reference.warp_affine if op == "affine" else reference.warp_perspective
        y = fn(image, m, output_shape=OUT, **kwargs)
        expected = cv_warp(op, image, m, OUT, interpolation, fill_mode, fill)
        sx, sy = source_coordinates(op, m, OUT)
    mask = comparable(sx, sy, interpolation, fill_mode)
    assert_matches(y, expected, "uint16", mask=mask)


@pytest.mark.parametrize("dtype", ["int16", "float16"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_int16_and_float16_match_opencv(dtype, interpolation):
    """Against OpenCV on the float32 image, rounded (and saturated) to the dtype.

    README (Geometric correction): int16 and float16 images (against OpenCV on their float32
    values).
    """
    rng = np.random.default_rng(seed_of("dtypes", dtype, interpolation))
    image = make_image((*SIZE, 3), dtype, rng)
    m = random_affine(rng)
    y = reference.warp_affine(
        image, m, output_shape=OUT, interpolation=interpolation, fill_mode="reflect_101"
    )
    source = image.astype(np.float32)
    expected = cv_warp("affine", source, m, OUT, interpolation, "reflect_101", (0.0,) * 3)
    mask = comparable(*source_coordinates("affine", m, OUT), interpolation, "reflect_101")
    if dtype == "float16":  # one float16 rounding of the float32 result: half an ulp
        assert_matches(y, expected.astype(np.float16), dtype, mask=mask, rtol=1e-3)
    else:  # within 1 level of the saturated result
        assert_matches(y, np.clip(expected, -32768, 32767), dtype, mask=mask)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize(
    ("angle", "center", "scale"),
    [
        (30.0, None, 1.0),
        (-45.5, None, 0.75),
        (90.0, (3.5, 4.25), 1.0),
        (17.3, (10.0, 2.5), 1.3),
        (180.0, None, 1.0),
        (-200.0, (0.0, 0.0), 0.9),
    ],
)
def test_rotate_matches_opencv_get_rotation_matrix_2d(angle, center, scale, interpolation):
    rng = np.random.default_rng(seed_of("rotate", angle, center, scale, interpolation))
    image = make_image((*SIZE, 3), "float32", rng)
    h, w = SIZE
    cv_center = center if center is not None else ((w - 1) / 2, (h - 1) / 2)
    m = cv2.getRotationMatrix2D(cv_center, angle, scale)
    y = reference.rotate(
        image,
        angle,
        center=center,
        scale=scale,
        interpolation=interpolation,
        fill_value=[1.0, 2.0, 3.0],
    )
    expected = cv_warp("affine", image, m, SIZE, interpolation, "constant", (1.0, 2.0, 3.0))
    mask = comparable(*source_coordinates("affine", m, SIZE), interpolation, "constant")
    assert_matches(y, expected, "float32", mask=mask)
    # Rank 2 and rank 4 give the same pixels.
    y2 = reference.rotate(
        image[..., 0],
        angle,
        center=center,
        scale=scale,
        interpolation=interpolation,
        fill_value=1.0,
    )
    np.testing.assert_array_equal(y2, y[..., 0])
    y4 = reference.rotate(
        image[None],
        angle,
        center=center,
        scale=scale,
        interpolation=interpolation,
        fill_value=[1.0, 2.0, 3.0],
    )
    np.testing.assert_array_equal(y4[0], y)


def test_rotate_builds_get_rotation_matrix_2d():
    """rotation_matrix equals OpenCV's matrix (OpenCV rounds the centre to float32)."""
    for angle, center, scale in [
        (30.0, (3.5, 4.25), 1.5),
        (17.3, (10.0, 2.5), 0.8),
        (-90.0, (11.0, 8.0), 1.0),
    ]:
        np.testing.assert_allclose(
            reference.rotation_matrix(angle, center, scale),
            cv2.getRotationMatrix2D(center, angle, scale),
            rtol=0,
            atol=1e-12,
        )


# --------------------------------------------------------------------------- TensorFlow


def random_transforms(rng: np.random.Generator, n: int, hw=SIZE, shift=40.0) -> np.ndarray:
    """[n, 8] TF transforms (output to input), with shifts reaching several periods out."""
    rows = []
    for _ in range(n):
        inv = np.linalg.inv(random_perspective(rng, hw))
        inv /= inv[2, 2]
        inv[:2, 2] += rng.uniform(-shift, shift, 2)
        rows.append(inv.reshape(-1)[:8])
    return np.array(rows, dtype=np.float32)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("dtype", ["float32", "uint8", "float16"])
def test_projective_transform_matches_tensorflow(dtype, interpolation, fill_mode):
    """README (Geometric correction): tested against TF's V3 op (every fill mode)."""
    rng = np.random.default_rng(seed_of("tf", dtype, interpolation, fill_mode))
    images = make_image((3, *SIZE, 2), dtype, rng)
    transforms = random_transforms(rng, 3)
    out_hw = (19, 29)
    y = reference.projective_transform(
        images,
        transforms,
        output_shape=out_hw,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=7.0,
    )
    assert y.dtype == images.dtype and y.shape == (3, *out_hw, 2)
    expected = tf_projective(images, transforms, out_hw, interpolation, fill_mode, 7.0).numpy()
    # TensorFlow's float32 arithmetic in its order, and its truncation: bit for bit.
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("hw", [(1, 1), (1, 5), (2, 2), (3, 4)], ids=str)
def test_projective_transform_small_images_match_tensorflow(hw, interpolation, fill_mode):
    rng = np.random.default_rng(seed_of("tf-small", hw, interpolation, fill_mode))
    images = make_image((2, *hw, 3), "float32", rng)
    # One transform for both images ([1, 8]): a shift and zoom reaching far outside.
    transforms = np.array([[1.3, 0.2, -3.7, -0.1, 0.9, -2.2, 0.0, 0.0]], np.float32)
    out_hw = (9, 11)
    for t in (transforms, random_transforms(rng, 1, hw, shift=3.0)):
        y = reference.projective_transform(
            images,
            t,
            output_shape=out_hw,
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=-5.0,
        )
        expected = tf_projective(images, t, out_hw, interpolation, fill_mode, -5.0).numpy()
        np.testing.assert_array_equal(y, expected)


def test_projective_transform_k_zero_gives_fill_like_tensorflow():
    images = np.arange(2 * 5 * 6, dtype=np.float32).reshape(1, 5, 6, 2)
    # k = 1 - 0.25 x is 0 at x = 4; TensorFlow gives fill_value there.
    t = np.array([[1, 0, 0, 0, 1, 0, -0.25, 0]], np.float32)
    for interpolation in ("nearest", "bilinear"):
        y = reference.projective_transform(images, t, interpolation=interpolation, fill_value=-1.0)
        expected = tf_projective(images, t, (5, 6), interpolation, "constant", -1.0).numpy()
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(y[0, :, 4], -1.0)


def test_projective_transform_names_and_defaults():
    images = np.arange(12, dtype=np.uint8).reshape(1, 3, 4, 1)
    t = [[1, 0, 1, 0, 1, 0, 0, 0]]  # x + 1: shift left
    y = reference.projective_transform(images, t)  # nearest, constant, 0
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0]])
    y2 = reference.projective_transform(images, t, interpolation="NEAREST", fill_mode="Constant")
    np.testing.assert_array_equal(y, y2)


# --------------------------------------------------------------------------- properties


def identity_call(op: str, image: np.ndarray, **kwargs) -> np.ndarray:
    """``op`` with an identity transform."""
    h, w = image.shape[-3:-1] if image.ndim == 4 else image.shape[:2]
    if op == "warp_affine":
        return reference.warp_affine(image, np.eye(2, 3), **kwargs)
    if op == "warp_perspective":
        return reference.warp_perspective(image, np.eye(3), **kwargs)
    if op == "remap":
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        return reference.remap(image, x, y, **kwargs)
    if op == "rotate":
        return reference.rotate(image, 0.0, **kwargs)
    if op == "polynomial_warp":
        points = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w / 2, h / 3]])
        return reference.polynomial_warp(image, points, points, **kwargs)
    raise ValueError(op)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dtype", GEOMETRY_DTYPES)
@pytest.mark.parametrize(
    ("op", "nodata"),
    [
        ("warp_affine", False),
        ("warp_affine", True),
        ("warp_perspective", False),
        ("warp_perspective", True),
        ("remap", False),
        ("remap", True),
        ("rotate", False),
        ("rotate", True),
        # Not with nodata: the least-squares identity is off by ~1e-15 pixel, so a nodata
        # pixel's valid neighbour gets a tiny non-zero weight and (rightly) replaces it.
        ("polynomial_warp", False),
    ],
)
def test_identity_returns_the_input(op, dtype, interpolation, nodata):
    rng = np.random.default_rng(seed_of("identity", op, dtype, interpolation, nodata))
    image = make_image((9, 11, 3), dtype, rng)
    kwargs = {"interpolation": interpolation}
    if nodata:
        kwargs["nodata"] = image.flat[5].item()
        image[rng.random(image.shape) < 0.2] = image.flat[5]
    for fill_mode in ("constant", "reflect"):
        y = identity_call(op, image, fill_mode=fill_mode, **kwargs)
        assert y.dtype == image.dtype
        if op == "polynomial_warp":  # a least-squares fit: identity up to rounding
            assert_matches(y, image, dtype, rtol=1e-6)
        else:
            np.testing.assert_array_equal(y, image)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_projective_transform_identity_returns_the_input(interpolation):
    for dtype in GEOMETRY_DTYPES:
        images = make_image((2, 9, 11, 3), dtype, np.random.default_rng(1))
        t = [[1, 0, 0, 0, 1, 0, 0, 0]]
        for fill_mode in reference.TF_FILL_MODES:
            y = reference.projective_transform(
                images, t, interpolation=interpolation, fill_mode=fill_mode
            )
            np.testing.assert_array_equal(y, images)


@pytest.mark.parametrize("dtype", GEOMETRY_DTYPES)
def test_nearest_upscale_then_downscale_restores_the_image(dtype):
    """Scaling by 3 then by 1/3 (nearest; no ties) returns every pixel exactly."""
    rng = np.random.default_rng(seed_of("updown", dtype))
    image = make_image((7, 9, 2), dtype, rng)
    up = np.array([[3.0, 0, 2], [0, 3, 1]])  # x' = 3 x + 2: x = (x' - 2) / 3, never .5
    big = reference.warp_affine(image, up, output_shape=(25, 31), interpolation="nearest")
    back = reference.warp_affine(
        big, up, output_shape=(7, 9), inverse=True, interpolation="nearest"
    )
    np.testing.assert_array_equal(back, image)
    rotated = reference.rotate(
        image, 90.0, center=(4.0, 4.0), output_shape=(9, 9), interpolation="nearest"
    )
    restored = reference.rotate(
        rotated, -90.0, center=(4.0, 4.0), output_shape=(7, 9), interpolation="nearest"
    )
    np.testing.assert_array_equal(restored, image)


@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_bilinear_warp_then_inverse_warp_restores_the_interior(kind):
    """Bilinear is exact on a linear ramp: the round trip returns the interior pixels.

    The interior is found by warping an all-ones image the same way: a pixel is 1 exactly
    when every tap of non-zero weight came from inside (fill 0 elsewhere).
    """
    h, w = 21, 25
    y, x = np.mgrid[0:h, 0:w]
    image = np.stack([0.5 + 2.0 * x + 3.0 * y, 100.0 - x + 0.25 * y], axis=-1).astype(np.float32)
    rng = np.random.default_rng(seed_of("roundtrip", kind))
    m = np.eye(3)
    m[:2] = random_affine(rng, (h, w), shift=2.0)
    m[:2, :2] /= np.sqrt(abs(np.linalg.det(m[:2, :2])))  # area-preserving
    if kind == "perspective":
        m[2, :2] = rng.uniform(-0.004, 0.004, 2)
    op = reference.warp_affine if kind == "affine" else reference.warp_perspective
    matrix = m[:2] if kind == "affine" else m
    ones = np.ones((h, w), dtype=np.float32)
    there = op(image, matrix)
    exact_there = (op(ones, matrix) == 1).astype(np.float32)
    back = op(there, matrix, inverse=True)
    exact_back = op(exact_there, matrix, inverse=True) == 1
    assert exact_back.mean() > 0.4
    # A ramp seen through a perspective is no longer linear in the intermediate pixels:
    # the second step then errs by ~ |m20, m21| * the ramp's slope (<= 0.004 * 4 here).
    atol = 1e-3 if kind == "affine" else 2e-2
    np.testing.assert_allclose(back[exact_back], image[exact_back], rtol=0, atol=atol)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_polynomial_warp_with_affine_points_equals_warp_affine(order, interpolation):
    rng = np.random.default_rng(seed_of("poly-affine", order, interpolation))
    image = make_image((*SIZE, 3), "float32", rng)
    m = random_affine(rng)
    src = np.column_stack([rng.uniform(0, SIZE[1] - 1, 20), rng.uniform(0, SIZE[0] - 1, 20)])
    dst = src @ m[:, :2].T + m[:, 2]
    y = reference.polynomial_warp(
        image,
        src,
        dst,
        order=order,
        output_shape=OUT,
        interpolation=interpolation,
        fill_mode="reflect",
    )
    expected = reference.warp_affine(
        image, m, output_shape=OUT, interpolation=interpolation, fill_mode="reflect"
    )
    sx, sy = source_coordinates("affine", m, OUT)
    mask = ~(near_half(sx, 1e-6) | near_half(sy, 1e-6))
    assert_matches(y, expected, "float32", mask=mask, rtol=1e-6)


def polynomial(coefficients: np.ndarray, x, y) -> tuple[np.ndarray, np.ndarray]:
    """f(x, y) with the spec's term order, written out term by term."""
    terms = [np.ones_like(x), x, y, x * x, x * y, y * y, x**3, x * x * y, x * y * y, y**3]
    n = coefficients.shape[1]
    fx = sum(c * t for c, t in zip(coefficients[0], terms[:n], strict=True))
    fy = sum(c * t for c, t in zip(coefficients[1], terms[:n], strict=True))
    return fx, fy


def known_coefficients(order: int, rng: np.random.Generator) -> np.ndarray:
    """A mild polynomial map near the identity (higher terms small, as in real GCP fits)."""
    n = reference.POLYNOMIAL_TERMS[order]
    c = np.zeros((2, n))
    c[:, 0] = rng.uniform(-3, 3, 2)
    c[0, 1:3] = [1.0, 0.0]
    c[1, 1:3] = [0.0, 1.0]
    c[:, 1:3] += rng.uniform(-0.1, 0.1, (2, 2))
    if order >= 2:
        c[:, 3:6] = rng.uniform(-3e-3, 3e-3, (2, 3))
    if order >= 3:
        c[:, 6:10] = rng.uniform(-5e-5, 5e-5, (2, 4))
    return c


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_polynomial_warp_matches_opencv_remap_of_the_polynomial(order, interpolation):
    """README (Geometric correction): polynomial_warp is ground-control-point correction with a
    polynomial of order 1, 2 or 3.
    """
    rng = np.random.default_rng(seed_of("poly-remap", order, interpolation))
    image = make_image((*SIZE, 3), "float32", rng)
    c = known_coefficients(order, rng)
    dst = np.column_stack([rng.uniform(-2, OUT[1] + 1, 30), rng.uniform(-2, OUT[0] + 1, 30)])
    src = np.column_stack(polynomial(c, dst[:, 0], dst[:, 1]))
    y = reference.polynomial_warp(
        image,
        src,
        dst,
        order=order,
        output_shape=OUT,
        interpolation=interpolation,
        fill_mode="reflect_101",
    )
    sx, sy = polynomial(c, *grid(OUT))
    expected = cv_remap(
        image,
        sx.astype(np.float32),
        sy.astype(np.float32),
        interpolation,
        "reflect_101",
        (0.0,) * 3,
    )
    mask = comparable(sx, sy, interpolation, "reflect_101")
    assert_matches(y, expected, "float32", mask=mask)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_fit_polynomial_recovers_known_coefficients(order):
    rng = np.random.default_rng(seed_of("fit", order))
    c = known_coefficients(order, rng)
    # Points spread over a large image: the centring and scaling matter here.
    src = rng.uniform(0, 4000, (40, 2))
    dst = np.column_stack(polynomial(c, src[:, 0], src[:, 1]))
    coefficients, rms = reference.fit_polynomial(src, dst, order)
    assert coefficients.dtype == np.float64 and coefficients.shape == c.shape
    # Compare the mapped points (coefficients of high powers are tiny in raw units).
    fitted = np.column_stack(polynomial(coefficients, src[:, 0], src[:, 1]))
    np.testing.assert_allclose(fitted, dst, rtol=0, atol=1e-6)
    np.testing.assert_allclose(coefficients[:, :3], c[:, :3], rtol=0, atol=1e-7)
    scale = 4000.0 ** np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3])[: c.shape[1]]
    np.testing.assert_allclose(coefficients * scale, c * scale, rtol=0, atol=1e-6)
    assert rms < 1e-8


@pytest.mark.parametrize("order", [1, 2, 3])
def test_fit_polynomial_rms_of_noisy_points(order):
    """Noise orthogonal to the terms: the fit is the true polynomial, the rms is known.

    README (Geometric correction): fit_polynomial is the least-squares fit and returns its rms.
    """
    rng = np.random.default_rng(seed_of("fit-noise", order))
    c = known_coefficients(order, rng)
    k = 25
    src = rng.uniform(0, 300, (k, 2))
    x, y = src[:, 0], src[:, 1]
    design = np.column_stack(
        [np.ones(k), x, y, x * x, x * y, y * y, x**3, x * x * y, x * y * y, y**3][: c.shape[1]]
    )
    q, _ = np.linalg.qr(design)
    noise = rng.normal(0, 0.7, (k, 2))
    noise -= q @ (q.T @ noise)  # remove the part the polynomial could absorb
    dst = np.column_stack(polynomial(c, x, y)) + noise
    coefficients, rms = reference.fit_polynomial(src, dst, order)
    expected_rms = math.sqrt(np.mean(np.sum(noise**2, axis=1)))
    assert rms == pytest.approx(expected_rms, rel=1e-9)
    fitted = np.column_stack(polynomial(coefficients, x, y))
    np.testing.assert_allclose(fitted, dst - noise, rtol=0, atol=1e-7)


def test_fit_polynomial_with_exactly_enough_points():
    for order, n in reference.POLYNOMIAL_TERMS.items():
        rng = np.random.default_rng(order)
        src = rng.uniform(0, 50, (n, 2))
        dst = rng.uniform(0, 50, (n, 2))  # any targets: T points determine the T terms
        coefficients, rms = reference.fit_polynomial(src, dst, order)
        fitted = np.column_stack(polynomial(coefficients, src[:, 0], src[:, 1]))
        np.testing.assert_allclose(fitted, dst, rtol=0, atol=1e-6)
        assert rms < 1e-6


def test_fill_mode_index_patterns():
    """The spec's table, on one row [a b c d] = [1 2 3 4] sampled at integer x.

    README (Geometric correction): fill modes constant, nearest, reflect (dcba|abcd|dcba),
    reflect_101 (dcb|abcd|cba), wrap.
    """
    row = np.array([[1, 2, 3, 4]], dtype=np.float32)
    xs = np.arange(-4, 8, dtype=np.float32)[None]
    patterns = {
        "constant": [9, 9, 9, 9, 1, 2, 3, 4, 9, 9, 9, 9],
        "nearest": [1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4],
        "reflect": [4, 3, 2, 1, 1, 2, 3, 4, 4, 3, 2, 1],
        "reflect_101": [3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2],
        "wrap": [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4],
    }
    for fill_mode, expected in patterns.items():
        for interpolation in INTERPOLATIONS:
            y = reference.remap(
                row,
                xs,
                np.zeros_like(xs),
                interpolation=interpolation,
                fill_mode=fill_mode,
                fill_value=9,
            )
            np.testing.assert_array_equal(y[0], expected, err_msg=f"{fill_mode} {interpolation}")
    one = np.array([[5.0]], dtype=np.float32)
    for fill_mode in ("nearest", "reflect", "reflect_101", "wrap"):  # n = 1: always index 0
        y = reference.remap(one, xs, np.zeros_like(xs), fill_mode=fill_mode)
        np.testing.assert_array_equal(y, 5.0)


def test_fill_modes_apply_per_tap():
    """A bilinear sample at x = -0.25 with "wrap" blends the last and first columns."""
    row = np.array([[10.0, 20.0, 30.0, 40.0]], dtype=np.float32)
    at = np.array([[-0.25]], dtype=np.float32)
    zero = np.zeros_like(at)
    expected = {
        "wrap": 0.25 * 40 + 0.75 * 10,
        "reflect": 10.0,
        "reflect_101": 0.25 * 20 + 7.5,
        "nearest": 10.0,
        "constant": 0.25 * 100 + 0.75 * 10,
    }
    for fill_mode, value in expected.items():
        y = reference.remap(row, at, zero, fill_mode=fill_mode, fill_value=100)
        assert y[0, 0] == pytest.approx(value, abs=1e-5), fill_mode


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize(("fill_mode", "period"), [("reflect", 2), ("reflect_101", 2), ("wrap", 1)])
def test_fill_modes_are_periodic_far_outside(fill_mode, period, interpolation):
    """Sampling at s and at s shifted by whole periods gives the same values (mirrors too)."""
    rng = np.random.default_rng(seed_of("periodic", fill_mode, interpolation))
    h, w = 6, 7
    image = make_image((h, w, 2), "float32", rng)
    map_x, map_y = random_maps(rng, (h, w), (9, 10), margin=3.0)
    # Avoid near-ties for nearest: shifting in float32 moves them by rounding.
    map_x = np.where(near_half(map_x, 1e-3), map_x + 0.1, map_x).astype(np.float32)
    map_y = np.where(near_half(map_y, 1e-3), map_y + 0.1, map_y).astype(np.float32)
    base = reference.remap(image, map_x, map_y, interpolation=interpolation, fill_mode=fill_mode)
    px = 2 * w - 2 if fill_mode == "reflect_101" else period * w
    py = 2 * h - 2 if fill_mode == "reflect_101" else period * h
    for kx, ky in [(1, 0), (0, -1), (3, 2), (-5, 7)]:
        shifted = reference.remap(
            image,
            map_x + kx * px,
            map_y + ky * py,
            interpolation=interpolation,
            fill_mode=fill_mode,
        )
        np.testing.assert_allclose(shifted, base, rtol=0, atol=1e-3, err_msg=str((kx, ky)))
    if fill_mode != "wrap":  # mirror about the first pixel: -1 - s (reflect), -s (101)
        offset = -1.0 if fill_mode == "reflect" else 0.0
        mirrored = reference.remap(
            image, offset - map_x, offset - map_y, interpolation=interpolation, fill_mode=fill_mode
        )
        np.testing.assert_allclose(mirrored, base, rtol=0, atol=1e-3)


@pytest.mark.parametrize("kind", ["affine", "perspective", "remap", "projective"])
def test_batch_of_matrices_equals_each_image_alone(kind):
    rng = np.random.default_rng(seed_of("batch", kind))
    images = make_image((3, *SIZE, 4), "uint16", rng)
    kwargs = {"interpolation": "bilinear"}
    if kind == "affine":
        ms = np.stack([random_affine(rng) for _ in range(3)])
        op = reference.warp_affine
    elif kind == "perspective":
        ms = np.stack([random_perspective(rng) for _ in range(3)])
        op = reference.warp_perspective
    elif kind == "projective":
        ms = random_transforms(rng, 3)
        op = reference.projective_transform
    if kind == "remap":
        maps = [np.stack(m) for m in zip(*[random_maps(rng) for _ in range(3)], strict=True)]
        batched = reference.remap(images, *maps, fill_mode="wrap", **kwargs)
        for i in range(3):
            alone = reference.remap(images[i], maps[0][i], maps[1][i], fill_mode="wrap", **kwargs)
            np.testing.assert_array_equal(batched[i], alone)
        shared = reference.remap(images, maps[0][1], maps[1][1], **kwargs)
        for i in range(3):
            np.testing.assert_array_equal(
                shared[i], reference.remap(images[i], maps[0][1], maps[1][1], **kwargs)
            )
        return
    batched = op(images, ms, output_shape=OUT, **kwargs)
    assert batched.shape == (3, *OUT, 4)
    for i in range(3):
        alone = op(images[i : i + 1], ms[i : i + 1], output_shape=OUT, **kwargs)
        np.testing.assert_array_equal(batched[i], alone[0])
        if kind != "projective":  # rank 3 with a [2, 3] / [3, 3] matrix
            np.testing.assert_array_equal(
                batched[i], op(images[i], ms[i], output_shape=OUT, **kwargs)
            )
    broadcast = op(images, ms[1:2], output_shape=OUT, **kwargs)
    for i in range(3):
        np.testing.assert_array_equal(
            broadcast[i],
            batched[1] if i == 1 else op(images[i : i + 1], ms[1:2], output_shape=OUT, **kwargs)[0],
        )
    if kind != "projective":
        np.testing.assert_array_equal(op(images, ms[1], output_shape=OUT, **kwargs), broadcast)


# --------------------------------------------------------------------------- nodata


def tap_windows(s: np.ndarray, interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """First and last tap index along one axis."""
    if interpolation == "nearest":
        k = np.rint(s)
        return k, k
    k0 = np.floor(s)
    return (k0, k0 + 1) if interpolation == "bilinear" else (k0 - 1, k0 + 2)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize(
    ("dtype", "nodata"),
    [("uint16", 0), ("float32", 0.0), ("float32", float("nan")), ("int16", -32768)],
)
def test_nodata_rules_on_interior_pixels(dtype, nodata, interpolation):
    """Checked per pixel from the taps, with OpenCV where every tap is valid.

    README (Geometric correction): nodata: invalid source pixels get zero weight and the rest is
    renormalized; an output pixel with no valid source is `nodata`.
    """
    rng = np.random.default_rng(seed_of("nodata", dtype, nodata, interpolation))
    h, w = 24, 28
    image = make_image((h, w, 3), dtype, rng)
    if dtype == "uint16":
        image = np.maximum(image, 1)  # only the holes are nodata
    elif dtype == "int16":
        image = np.maximum(image, -32767)
    holes = rng.random(image.shape) < 0.25
    image[holes] = nodata
    invalid = np.isnan(image) if np.isnan(nodata) else image == nodata
    map_x, map_y = random_maps(rng, (h, w), (30, 31), margin=-2.5)  # taps inside the image
    y = reference.remap(image, map_x, map_y, interpolation=interpolation, nodata=nodata)
    clean = np.where(invalid, 0, image).astype(np.float32)
    opencv = cv_remap(clean, map_x, map_y, interpolation, "constant", (0.0,) * 3)
    if np.dtype(dtype).kind in "iu":  # saturated, like the reference
        opencv = np.clip(opencv, np.iinfo(dtype).min, np.iinfo(dtype).max)
    sx, sy = map_x.astype(np.float64), map_y.astype(np.float64)
    (x0, x1), (y0, y1) = tap_windows(sx, interpolation), tap_windows(sy, interpolation)
    assert x0.min() >= 0 and y0.min() >= 0 and x1.max() < w and y1.max() < h
    bx0, by0 = np.floor(sx), np.floor(sy)  # the inner 2x2 (bilinear) window
    is_nodata = np.isnan(y) if np.isnan(nodata) else y == nodata
    seen = {"all valid": 0, "nodata": 0, "renormalized": 0}
    for i, j, c in np.ndindex(y.shape):
        window = (slice(int(y0[i, j]), int(y1[i, j]) + 1), slice(int(x0[i, j]), int(x1[i, j]) + 1))
        valid = ~invalid[window][..., c]
        where = f"pixel {(i, j, c)} at ({sx[i, j]}, {sy[i, j]})"
        if valid.all():  # nothing to do with nodata: the plain interpolation
            assert_matches(y[i, j, c], opencv[i, j, c], dtype, context=where)
            seen["all valid"] += 1
            continue
        if interpolation == "nearest":
            assert is_nodata[i, j, c], where
            seen["nodata"] += 1
            continue
        inner = (
            slice(int(by0[i, j]), int(by0[i, j]) + 2),
            slice(int(bx0[i, j]), int(bx0[i, j]) + 2),
        )
        inner_valid = ~invalid[inner][..., c]
        if not inner_valid.any():
            assert is_nodata[i, j, c], where
            seen["nodata"] += 1
            continue
        inner_values = image[inner][..., c].astype(np.float64)[inner_valid]
        lo, hi = inner_values.min(), inner_values.max()
        value = float(y[i, j, c])
        assert lo - 1e-3 * abs(lo) - 0.5 <= value <= hi + 1e-3 * abs(hi) + 0.5, where
        seen["renormalized"] += 1
    if interpolation == "nearest":
        del seen["renormalized"]
    assert min(seen.values()) >= 3, seen  # every rule was exercised


def test_nodata_renormalized_bilinear_known_value():
    image = np.array([[10, 20, 0], [0, 40, 0], [0, 0, 0]], dtype=np.uint8)
    at_x, at_y = np.float32([[0.25]]), np.float32([[0.5]])
    # Valid taps (0, 0) = 10 (w 0.375), (0, 1) = 20 (w 0.125), (1, 1) = 40 (w 0.125).
    y = reference.remap(image, at_x, at_y, nodata=0)
    assert y[0, 0] == round((0.375 * 10 + 0.125 * 20 + 0.125 * 40) / 0.625)  # 18
    f = image.astype(np.float32)
    y = reference.remap(f, at_x, at_y, nodata=0)
    assert y[0, 0] == pytest.approx(18.0)
    # Nearest on an invalid tap, and bilinear with no valid tap of non-zero weight.
    assert (
        reference.remap(
            f, np.float32([[0.4]]), np.float32([[0.6]]), interpolation="nearest", nodata=0
        )[0, 0]
        == 0
    )
    assert reference.remap(f, np.float32([[2.0]]), np.float32([[0.5]]), nodata=0)[0, 0] == 0
    # A zero-weight invalid tap is ignored: x = 1 exactly uses only column 1.
    assert reference.remap(f, np.float32([[1.0]]), np.float32([[0.5]]), nodata=0)[0, 0] == 30.0


def test_nodata_bicubic_falls_back_to_renormalized_bilinear():
    rng = np.random.default_rng(7)
    image = rng.uniform(50, 60, (8, 8)).astype(np.float32)
    sx, sy = 3.3, 3.6  # taps x, y in 2..5; inner 2x2 at 3..4
    at_x, at_y = np.float32([[sx]]), np.float32([[sy]])
    all_valid = reference.remap(image, at_x, at_y, interpolation="bicubic", nodata=-1.0)
    plain = cv2.remap(image, at_x, at_y, cv2.INTER_CUBIC)
    assert all_valid[0, 0] == pytest.approx(plain[0, 0], rel=1e-5)
    image[2, 5] = -1.0  # an outer tap: the cubic is replaced by the inner bilinear
    fx, fy = np.float32(sx) - 3, np.float32(sy) - 3
    w = {(3, 3): (1 - fx) * (1 - fy), (3, 4): fx * (1 - fy), (4, 3): (1 - fx) * fy, (4, 4): fx * fy}
    expected = sum(wk * image[k] for k, wk in w.items())
    y = reference.remap(image, at_x, at_y, interpolation="bicubic", nodata=-1.0)
    assert y[0, 0] == pytest.approx(expected, rel=1e-6)
    image[4, 4] = -1.0  # and an inner one: renormalized over the three left
    del w[(4, 4)]
    expected = sum(wk * image[k] for k, wk in w.items()) / sum(w.values())
    y = reference.remap(image, at_x, at_y, interpolation="bicubic", nodata=-1.0)
    assert y[0, 0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_nodata_never_leaks_into_valid_pixels(fill_mode, interpolation):
    """Valid data in [1000, 1010], nodata 0: any blending with nodata would show."""
    rng = np.random.default_rng(seed_of("leak", fill_mode, interpolation))
    image = rng.uniform(1000, 1010, (*SIZE, 3)).astype(np.float32)
    image[rng.random(image.shape) < 0.3] = 0.0
    for m in (random_affine(rng), random_affine(rng, shift=15)):
        y = reference.warp_affine(
            image, m, output_shape=OUT, interpolation=interpolation, fill_mode=fill_mode, nodata=0.0
        )
        valid = y != 0
        assert valid.any() and (~valid).any()
        margin = 6.0 if interpolation == "bicubic" else 1e-3  # cubic overshoot
        assert np.all((y[valid] >= 1000 - margin) & (y[valid] <= 1010 + margin))


def test_nodata_outside_and_explicit_fill_value():
    image = np.full((4, 5), 50.0, dtype=np.float32)
    shift = np.array([[1.0, 0, 0.5], [0, 1, 0]])  # sx = x - 0.5
    # The default fill is nodata: the outside taps are invalid, column 0 renormalizes.
    y = reference.warp_affine(image, shift, nodata=-9.0)
    np.testing.assert_array_equal(y, 50.0)
    # An explicit fill value is a valid tap: column 0 blends it.
    y = reference.warp_affine(image, shift, nodata=-9.0, fill_value=10.0)
    np.testing.assert_array_equal(y[:, 0], 30.0)
    np.testing.assert_array_equal(y[:, 1:], 50.0)
    # Far outside: exactly nodata (default fill) or the fill value.
    far = np.array([[1.0, 0, 100], [0, 1, 0]])
    np.testing.assert_array_equal(reference.warp_affine(image, far, nodata=-9.0), -9.0)
    np.testing.assert_array_equal(reference.warp_affine(image, far, nodata=-9.0, fill_value=3), 3.0)
    nan = reference.warp_affine(image, far, nodata=float("nan"), interpolation="bicubic")
    assert np.isnan(nan).all()


# --------------------------------------------------------------------------- edge cases


def test_fill_value_per_channel_is_rounded_to_the_dtype():
    image = np.zeros((3, 4, 4), dtype=np.uint8)
    far = np.array([[1.0, 0, 50], [0, 1, 0]])
    y = reference.warp_affine(image, far, fill_value=[2.5, 3.5, 300, -4])
    np.testing.assert_array_equal(y, np.broadcast_to([2, 4, 255, 0], y.shape))
    f16 = reference.warp_affine(
        image.astype(np.float16), far, fill_value=0.1, interpolation="bicubic"
    )
    np.testing.assert_array_equal(f16, np.float16(0.1))
    f32 = reference.warp_affine(image.astype(np.float32), far, fill_value=[np.inf, -1, 0, 2])
    np.testing.assert_array_equal(f32[0, 0], [np.inf, -1, 0, 2])
    # Within reach of the kernel the rounded fill value is blended like a pixel.
    shift = np.array([[1.0, 0, 0.5], [0, 1, 0]])
    ones = np.full((3, 4), 10, dtype=np.uint8)
    y = reference.warp_affine(ones, shift, fill_value=3.4)  # tap value 3: (3 + 10) / 2
    np.testing.assert_array_equal(y[:, 0], 6)  # 6.5 rounds half to even


def test_integer_outputs_round_half_to_even_and_saturate():
    row = np.array([[0, 1, 2, 3, 250, 255]], dtype=np.uint8)
    xs = np.float32([[0.5, 1.5, 2.5, 4.5]])
    y = reference.remap(row, xs, np.zeros_like(xs))
    np.testing.assert_array_equal(y, [[0, 2, 2, 252]])  # 0.5, 1.5, 2.5, 252.5
    # Bicubic overshoot saturates.
    step = np.array([[0, 0, 0, 255, 255, 255]], dtype=np.uint8)
    xs = np.float32([[2.3, 2.7]])
    y = reference.remap(step, xs, np.zeros_like(xs), interpolation="bicubic", fill_mode="nearest")
    cubic = cv2.remap(
        step.astype(np.float32),
        xs,
        np.zeros_like(xs),
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    np.testing.assert_array_equal(y, np.clip(np.rint(cubic), 0, 255))


def test_zero_size_inputs_and_outputs():
    m = np.eye(2, 3)
    empty_batch = np.zeros((0, 5, 6, 3), dtype=np.uint8)
    assert reference.warp_affine(empty_batch, m).shape == (0, 5, 6, 3)
    assert reference.warp_affine(empty_batch, m, output_shape=(2, 3)).shape == (0, 2, 3, 3)
    no_channels = np.zeros((5, 6, 0), dtype=np.float32)
    assert reference.rotate(no_channels, 10.0).shape == (5, 6, 0)
    empty_source = np.zeros((0, 6, 2), dtype=np.int16)
    for interpolation in INTERPOLATIONS:
        for fill_mode in FILL_MODES:
            y = reference.warp_affine(
                empty_source,
                m,
                output_shape=(3, 4),
                interpolation=interpolation,
                fill_mode=fill_mode,
                fill_value=[5, -6],
            )
            np.testing.assert_array_equal(y, np.broadcast_to([5, -6], (3, 4, 2)))
            y = reference.warp_affine(
                empty_source,
                m,
                output_shape=(3, 4),
                nodata=7,
                interpolation=interpolation,
                fill_mode=fill_mode,
            )
            np.testing.assert_array_equal(y, 7)
    assert reference.warp_affine(empty_source, m).shape == (0, 6, 2)
    images = np.zeros((2, 0, 3, 1), dtype=np.float32)
    y = reference.projective_transform(
        images, [[1, 0, 0, 0, 1, 0, 0, 0]], output_shape=(2, 2), fill_value=4.0
    )
    np.testing.assert_array_equal(y, 4.0)


def test_perspective_w_zero_is_outside():
    image = np.arange(1, 31, dtype=np.float32).reshape(5, 6)
    # Destination to source: w = x - 3, sx = 2 / w, sy = 1 / w; column 3 has no source point.
    m = np.array([[0.0, 0, 2], [0, 0, 1], [1, 0, -3]])
    for interpolation in INTERPOLATIONS:
        for fill_mode in FILL_MODES:
            y = reference.warp_perspective(
                image,
                m,
                inverse=True,
                interpolation=interpolation,
                fill_mode=fill_mode,
                fill_value=-7,
            )
            np.testing.assert_array_equal(y[:, 3], -7.0)
            assert np.all(y[:, [0, 1, 2, 4, 5]] != -7.0) or fill_mode == "constant"


def test_remap_nan_entries_and_float64_maps():
    image = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    map_x = np.array([[0.5, np.nan], [1.25, 2.0]], dtype=np.float64)
    map_y = np.array([[1.0, 1.0], [np.nan, 0.7]], dtype=np.float64)
    for fill_mode in FILL_MODES:
        y = reference.remap(image, map_x, map_y, fill_mode=fill_mode, fill_value=-1)
        assert y[0, 1] == -1 and y[1, 0] == -1
        expected = reference.remap(
            image,
            map_x.astype(np.float32),
            map_y.astype(np.float32),
            fill_mode=fill_mode,
            fill_value=-1,
        )
        np.testing.assert_array_equal(y, expected)
        assert y[0, 0] == pytest.approx(5.5)


def test_names_are_case_insensitive():
    image = make_image((5, 6, 3), "uint8", np.random.default_rng(0))
    m = random_affine(np.random.default_rng(1), (5, 6))
    np.testing.assert_array_equal(
        reference.warp_affine(image, m, interpolation="BiCubic", fill_mode="REFLECT_101"),
        reference.warp_affine(image, m, interpolation="bicubic", fill_mode="reflect_101"),
    )


def test_singular_matrix_is_fine_with_inverse():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    flat = np.array([[0.0, 0, 1], [0, 0, 2]])  # every output pixel samples (1, 2)
    np.testing.assert_array_equal(reference.warp_affine(image, flat, inverse=True), 9.0)
    flat3 = np.array([[0.0, 0, 1], [0, 0, 2], [0, 0, 1]])
    np.testing.assert_array_equal(reference.warp_perspective(image, flat3, inverse=True), 9.0)


# --------------------------------------------------------------------------- errors

IMG = np.zeros((5, 6, 3), dtype=np.uint8)
BATCH = np.zeros((2, 5, 6, 3), dtype=np.uint8)
IMG_F32 = IMG.astype(np.float32)
AFF = np.eye(2, 3)
PTS = np.array([[0, 0], [4, 0], [0, 4], [4, 4]], dtype=np.float64)
MAP = np.zeros((3, 4), dtype=np.float32)
T8 = [[1, 0, 0, 0, 1, 0, 0, 0]]
R = reference

PTS_NAN = np.where([[True, False], [False, False], [False, False], [False, False]], np.nan, PTS)
PTS_INF = np.where(np.isnan(PTS_NAN), np.inf, PTS)
LINE = [[0, 0], [1, 1], [2, 2], [3, 3]]
CIRCLE = [[math.cos(a), math.sin(a)] for a in np.linspace(0, 6, 8)]
AFF_INF = np.where([[False, False, True], [False, False, False]], np.inf, AFF)
BIG_MAP = np.zeros((2**20 + 1, 1), np.float32)
RANDOM9 = np.random.default_rng(0).random((9, 2))


def case(name: str, error: type, words: list[str], fn, *args, **kwargs):
    """One bad call: ``fn(*args, **kwargs)`` raises ``error`` naming every word of ``words``."""
    return pytest.param(fn, args, kwargs, error, words, id=name)


# fmt: off
ERRORS = [
    case("image-float64", TypeError, ["image", "float64"], R.warp_affine, IMG.astype(float), AFF),
    case("image-int32", TypeError, ["image", "int32"], R.rotate, IMG.astype(np.int32), 1.0),
    case("image-bool", TypeError, ["image"], R.remap, IMG.astype(bool), MAP, MAP),
    case("image-list", TypeError, ["image"], R.warp_perspective, [[1, 2]], np.eye(3)),
    case("image-rank1", ValueError, ["image", "rank"], R.warp_affine, IMG[0, 0], AFF),
    case("image-rank5", ValueError, ["image", "rank"], R.warp_affine, BATCH[None], AFF),
    case("images-rank3", ValueError, ["images", "rank"], R.projective_transform, IMG, T8),
    case("images-int8", TypeError, ["images"], R.projective_transform, BATCH.astype(np.int8), T8),
    case("matrix-shape", ValueError, ["matrix", "(3, 3)"], R.warp_affine, IMG, np.eye(3)),
    case("matrix-shape-3x3", ValueError, ["matrix", "(2, 3)"], R.warp_perspective, IMG, AFF),
    case("matrix-batch-rank3", ValueError, ["matrix"], R.warp_affine, IMG, np.stack([AFF] * 2)),
    case("matrix-batch-n", ValueError, ["matrix", "2 images"], R.warp_affine, BATCH, [AFF] * 3),
    case("matrix-nan", ValueError, ["matrix", "finite"], R.warp_affine, IMG, AFF * np.nan),
    case("matrix-inf", ValueError, ["matrix", "finite"], R.warp_perspective, IMG,
         np.diag([1, np.inf, 1])),
    case("matrix-inf-inverse", ValueError, ["matrix", "finite"], R.warp_affine, IMG, AFF_INF,
         inverse=True),
    case("matrix-singular", ValueError, ["matrix", "invertible"], R.warp_affine, IMG,
         [[1, 2, 0], [2, 4, 0]]),
    case("matrix-zero", ValueError, ["matrix", "invertible"], R.warp_affine, IMG, AFF * 0),
    case("matrix-singular-3x3", ValueError, ["matrix", "invertible"], R.warp_perspective, IMG,
         [[1, 0, 0], [0, 1, 0], [1, 0, 0]]),
    case("matrix-nearly-singular", ValueError, ["matrix", "invertible"], R.warp_affine, IMG,
         [[1, 1, 0], [1, 1 + 1e-14, 0]]),
    case("matrix-one-singular", ValueError, ["matrix[1]", "invertible"], R.warp_affine, BATCH,
         [AFF, AFF * 0]),
    case("matrix-str", TypeError, ["matrix"], R.warp_affine, IMG, "eye"),
    case("inverse-str", TypeError, ["inverse"], R.warp_affine, IMG, AFF, inverse="yes"),
    case("output-zero", ValueError, ["output_shape", "(0, 5)"], R.warp_affine, IMG, AFF,
         output_shape=(0, 5)),
    case("output-negative", ValueError, ["output_shape"], R.warp_perspective, IMG, np.eye(3),
         output_shape=(4, -1)),
    case("output-length1", ValueError, ["output_shape"], R.warp_affine, IMG, AFF,
         output_shape=(5,)),
    case("output-length3", ValueError, ["output_shape"], R.rotate, IMG, 3.0,
         output_shape=(5, 5, 3)),
    case("output-side", ValueError, ["output_shape", "1048576"], R.warp_affine, IMG, AFF,
         output_shape=(2**20 + 1, 1)),
    case("output-bytes", ValueError, ["output_shape", "bytes"], R.warp_affine, IMG_F32, AFF,
         output_shape=(2**16, 2**16)),
    case("output-bytes-batch", ValueError, ["output_shape", "bytes"], R.projective_transform,
         BATCH.astype(np.uint16), T8, output_shape=(2**19, 2**11)),
    case("output-float", TypeError, ["output_shape"], R.warp_affine, IMG, AFF,
         output_shape=(2.5, 3)),
    case("output-str", TypeError, ["output_shape"], R.polynomial_warp, IMG, PTS, PTS,
         output_shape="ab"),
    case("output-int", TypeError, ["output_shape"], R.warp_affine, IMG, AFF, output_shape=7),
    case("interpolation-name", ValueError, ["interpolation", "cubic"], R.warp_affine, IMG, AFF,
         interpolation="cubic"),
    case("interpolation-none", TypeError, ["interpolation"], R.remap, IMG, MAP, MAP,
         interpolation=None),
    case("interpolation-tf-bicubic", ValueError, ["interpolation", "bicubic"],
         R.projective_transform, BATCH, T8, interpolation="bicubic"),
    case("fill-mode-name", ValueError, ["fill_mode", "mirror"], R.warp_affine, IMG, AFF,
         fill_mode="mirror"),
    case("fill-mode-int", TypeError, ["fill_mode"], R.rotate, IMG, 1.0, fill_mode=0),
    case("fill-mode-tf-101", ValueError, ["fill_mode", "reflect_101"], R.projective_transform,
         BATCH, T8, fill_mode="reflect_101"),
    case("fill-value-length", ValueError, ["fill_value", "length 2", "3"], R.warp_affine, IMG, AFF,
         fill_value=[1, 2]),
    case("fill-value-rank2", ValueError, ["fill_value"], R.warp_affine, IMG, AFF,
         fill_value=[[1, 2, 3]]),
    case("fill-value-str", TypeError, ["fill_value"], R.remap, IMG, MAP, MAP, fill_value="zero"),
    case("fill-value-nan-int", ValueError, ["fill_value", "finite"], R.warp_affine, IMG, AFF,
         fill_value=np.nan),
    case("fill-value-inf-int16", ValueError, ["fill_value", "finite"], R.rotate,
         IMG.astype(np.int16), 1.0, fill_value=np.inf),
    case("fill-value-tf-length", ValueError, ["fill_value"], R.projective_transform, BATCH, T8,
         fill_value=[1, 2]),
    case("nodata-range", ValueError, ["nodata", "256"], R.warp_affine, IMG, AFF, nodata=256),
    case("nodata-negative", ValueError, ["nodata"], R.warp_affine, IMG, AFF, nodata=-1),
    case("nodata-fraction", ValueError, ["nodata", "1.5"], R.remap, IMG.astype(np.int16), MAP, MAP,
         nodata=1.5),
    case("nodata-nan-int", ValueError, ["nodata"], R.warp_affine, IMG, AFF, nodata=np.nan),
    case("nodata-str", TypeError, ["nodata"], R.warp_affine, IMG, AFF, nodata="none"),
    case("transforms-n", ValueError, ["transforms", "(3, 8)"], R.projective_transform, BATCH,
         np.ones((3, 8))),
    case("transforms-rank1", ValueError, ["transforms"], R.projective_transform, BATCH, np.ones(8)),
    case("transforms-6", ValueError, ["transforms"], R.projective_transform, BATCH,
         np.ones((1, 6))),
    case("transforms-nan", ValueError, ["transforms", "finite"], R.projective_transform, BATCH,
         np.full((1, 8), np.nan)),
    case("transforms-float32-overflow", ValueError, ["transforms"], R.projective_transform, BATCH,
         np.full((1, 8), 1e39)),
    case("map-dtype", TypeError, ["map_x", "int32"], R.remap, IMG, MAP.astype(np.int32), MAP),
    case("map-y-dtype", TypeError, ["map_y"], R.remap, IMG, MAP, MAP.astype(np.float16)),
    case("map-shapes", ValueError, ["map_x", "map_y", "(3, 3)"], R.remap, IMG, MAP, MAP[:, :3]),
    case("map-rank1", ValueError, ["map_x"], R.remap, IMG, MAP[0], MAP[0]),
    case("map-rank4", ValueError, ["map_x"], R.remap, BATCH, MAP[None, None], MAP[None, None]),
    case("map-rank3-image3", ValueError, ["map_x", "rank-4"], R.remap, IMG, MAP[None], MAP[None]),
    case("map-rank3-n", ValueError, ["map_x", "2 images"], R.remap, BATCH, np.stack([MAP] * 3),
         np.stack([MAP] * 3)),
    case("map-size", ValueError, ["map_x"], R.remap, IMG, BIG_MAP, BIG_MAP),
    case("order-0", ValueError, ["order", "0"], R.fit_polynomial, PTS, PTS, 0),
    case("order-4", ValueError, ["order", "4"], R.polynomial_warp, IMG, PTS, PTS, order=4),
    case("order-float", TypeError, ["order"], R.fit_polynomial, PTS, PTS, 1.0),
    case("order-bool", TypeError, ["order"], R.fit_polynomial, PTS, PTS, True),
    case("points-shape", ValueError, ["src_points", "(4, 3)"], R.fit_polynomial, np.zeros((4, 3)),
         np.zeros((4, 3))),
    case("points-rank1", ValueError, ["dst_points"], R.fit_polynomial, PTS, PTS.reshape(-1)),
    case("points-k", ValueError, ["src_points", "dst_points", "4", "3"], R.fit_polynomial, PTS,
         PTS[:3]),
    case("points-nan", ValueError, ["dst_points", "finite"], R.fit_polynomial, PTS, PTS_NAN),
    case("points-inf", ValueError, ["src_points", "finite"], R.polynomial_warp, IMG, PTS_INF, PTS),
    case("points-str", TypeError, ["src_points"], R.fit_polynomial, "abc", PTS),
    case("points-too-few", ValueError, ["src_points", "2 points", "3"], R.fit_polynomial, PTS[:2],
         PTS[:2]),
    case("points-too-few-3", ValueError, ["src_points", "10"], R.fit_polynomial, RANDOM9, RANDOM9,
         3),
    case("points-collinear", ValueError, ["src_points", "degenerate"], R.fit_polynomial, LINE, PTS),
    case("points-repeated", ValueError, ["src_points", "degenerate"], R.fit_polynomial,
         [[1, 2]] * 5, np.zeros((5, 2))),
    case("points-circle-order2", ValueError, ["src_points", "degenerate"], R.fit_polynomial, CIRCLE,
         np.zeros((8, 2)), 2),
    case("points-warp-degenerate", ValueError, ["dst_points", "degenerate"], R.polynomial_warp, IMG,
         PTS, LINE),
    case("angle-nan", ValueError, ["angle"], R.rotate, IMG, np.nan),
    case("angle-str", TypeError, ["angle"], R.rotate, IMG, "ten"),
    case("angle-list", TypeError, ["angle"], R.rotate, IMG, [1.0, 2.0]),
    case("scale-zero", ValueError, ["scale"], R.rotate, IMG, 10.0, scale=0.0),
    case("scale-inf", ValueError, ["scale"], R.rotate, IMG, 10.0, scale=np.inf),
    case("center-length", ValueError, ["center"], R.rotate, IMG, 10.0, center=(1, 2, 3)),
    case("center-nan", ValueError, ["center", "finite"], R.rotate, IMG, 10.0, center=(1, np.nan)),
    case("center-str", TypeError, ["center"], R.rotate, IMG, 10.0, center="middle"),
]
# fmt: on


@pytest.mark.parametrize(("fn", "args", "kwargs", "error", "words"), ERRORS)
def test_bad_arguments_raise_naming_the_argument(fn, args, kwargs, error, words):
    with pytest.raises(error) as info:
        fn(*args, **kwargs)
    assert type(info.value) is error
    for word in words:
        assert word in str(info.value), (word, str(info.value))
