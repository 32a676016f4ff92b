"""The geometry ops: sampling, polynomials and the ops (docs/geometry-spec.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gilfree._args import bool_arg
from gilfree.reference._common import ParamLike, channels_of
from gilfree.reference.geometry_checks import (
    CUBIC_A,
    DEGENERATE_RTOL,
    POLYNOMIAL_EXPONENTS,
    POLYNOMIAL_TERMS,
    TF_FILL_MODES,
    TF_INTERPOLATIONS,
    V3_DTYPES,
    _to_dtype,
    check_fill_mode,
    check_fill_value,
    check_image,
    check_interpolation,
    check_maps,
    check_matrix,
    check_nodata,
    check_output_shape,
    check_output_size,
    check_point_pairs,
    check_rotation,
    check_transforms,
    invert_matrix,
)

# --------------------------------------------------------------------------- layout


def _as_images(arr: np.ndarray) -> np.ndarray:
    """The image(s) as [N, H, W, C] (a view)."""
    if arr.ndim == 2:
        return arr[np.newaxis, :, :, np.newaxis]
    if arr.ndim == 3:
        return arr[np.newaxis]
    return arr


def _from_images(out: np.ndarray, rank: int) -> np.ndarray:
    """[N, H', W', C] back to the layout of a rank-``rank`` input."""
    if rank == 2:
        return out[0, :, :, 0]
    if rank == 3:
        return out[0]
    return out


def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Output pixel coordinates (x, y) as float64 [H', W'] arrays."""
    y, x = np.meshgrid(
        np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij"
    )
    return x, y


# --------------------------------------------------------------------------- sampling


def keys_cubic(t: np.ndarray, a: float = CUBIC_A) -> np.ndarray:
    """Keys' cubic convolution kernel w(t)."""
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def map_index(k: np.ndarray, n: int, fill_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Maps tap indices ``k`` (integer-valued float64) of an axis of length n >= 1.

    Returns ``(index, inside)``: int64 indices in [0, n) and, for "constant", whether the
    tap is inside the source (an outside tap reads ``fill_value``). The arithmetic is done
    on floats (exact for integer values), so huge indices do not overflow.
    """
    inside = np.ones(k.shape, dtype=bool)
    if fill_mode == "constant":
        inside = (k >= 0) & (k < n)
        index = np.clip(k, 0, n - 1)
    elif fill_mode == "nearest":  # aa|abcd|dd
        index = np.clip(k, 0, n - 1)
    elif fill_mode == "reflect":  # dcba|abcd|dcba, period 2n
        m = np.mod(k, 2 * n)
        index = np.where(m >= n, 2 * n - 1 - m, m)
    elif fill_mode == "reflect_101":  # dcb|abcd|cba, period 2n - 2
        if n == 1:
            index = np.zeros_like(k)
        else:
            m = np.mod(k, 2 * n - 2)
            index = np.where(m >= n, 2 * n - 2 - m, m)
    elif fill_mode == "wrap":  # abcd|abcd|abcd
        index = np.mod(k, n)
    else:  # pragma: no cover - validated before
        raise AssertionError(fill_mode)
    return index.astype(np.int64), inside


def _axis_taps(
    s: np.ndarray, n: int, interpolation: str, fill_mode: str
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Taps along one axis at coordinates ``s``: a list of (index, inside, weight)."""
    if interpolation == "nearest":
        positions = [np.rint(s)]  # ties to even, like OpenCV
        weights = [np.ones_like(s)]
    else:
        k0 = np.floor(s)
        f = s - k0
        if interpolation == "bilinear":
            positions = [k0, k0 + 1]
            weights = [1 - f, f]
        else:  # bicubic: floor(s) - 1 .. floor(s) + 2
            positions = [k0 - 1, k0, k0 + 1, k0 + 2]
            weights = [keys_cubic(1 + f), keys_cubic(f), keys_cubic(1 - f), keys_cubic(2 - f)]
    return [(*map_index(k, n, fill_mode), w) for k, w in zip(positions, weights, strict=True)]


def _taps(
    src: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    interpolation: str,
    fill_mode: str,
    fill: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 2-D taps at (sx, sy) of one image ``src`` [H, W, C] (H, W >= 1).

    Returns a list of (weight [H', W', 1], value [H', W', C]); taps outside the source in
    "constant" mode have the value ``fill``.
    """
    height, width, _ = src.shape
    taps = []
    for iy, in_y, wy in _axis_taps(sy, height, interpolation, fill_mode):
        for ix, in_x, wx in _axis_taps(sx, width, interpolation, fill_mode):
            value = np.where((in_y & in_x)[..., None], src[iy, ix], fill)
            taps.append(((wy * wx)[..., None], value))
    return taps


def _is_valid(values: np.ndarray, nodata: float) -> np.ndarray:
    """Valid tap values: not NaN and not equal to nodata."""
    return ~np.isnan(values) & (values != nodata)


def _renormalized(taps: list[tuple[np.ndarray, np.ndarray]], nodata: float) -> np.ndarray:
    """sum(w v) / sum(w) over the valid taps with w != 0; nodata where there is none."""
    num: Any = 0.0
    den: Any = 0.0
    for weight, value in taps:
        use = _is_valid(value, nodata) & (weight != 0)
        num = num + np.where(use, weight * np.where(use, value, 0.0), 0.0)
        den = den + np.where(use, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), nodata)


def _sample(
    src: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    interpolation: str,
    fill_mode: str,
    fill: np.ndarray,
    nodata: float | None,
) -> np.ndarray:
    """Samples one image ``src`` (float64 [H, W, C]) at (sx, sy) (float64 [H', W']).

    Returns float64 [H', W', C]. Non-finite coordinates (NaN maps, w == 0) and an empty
    source give ``fill`` (or nodata, when fill is invalid).
    """
    height, width, channels = src.shape
    out_shape = (*sx.shape, channels)
    # A pixel without a source point, or an empty source: every tap would be fill.
    no_source = ~(np.isfinite(sx) & np.isfinite(sy))
    if height == 0 or width == 0:
        no_source[...] = True
    all_fill = np.broadcast_to(fill, out_shape)
    if nodata is not None:
        all_fill = np.where(_is_valid(all_fill, nodata), all_fill, nodata)
    if np.all(no_source):
        return all_fill.copy()
    sx = np.where(no_source, 0.0, sx)
    sy = np.where(no_source, 0.0, sy)

    taps = _taps(src, sx, sy, interpolation, fill_mode, fill)
    # Every tap enters the sum, like OpenCV: inf or NaN values (even of weight 0) give NaN.
    with np.errstate(invalid="ignore", over="ignore"):
        if nodata is None:
            result = sum(weight * value for weight, value in taps)
        elif interpolation == "nearest":
            ((_, value),) = taps
            result = np.where(_is_valid(value, nodata), value, nodata)
        elif interpolation == "bilinear":
            result = _renormalized(taps, nodata)
        else:  # bicubic: the cubic if all 16 taps are valid, else the renormalized bilinear
            all_valid = np.logical_and.reduce([_is_valid(value, nodata) for _, value in taps])
            cubic = sum(weight * value for weight, value in taps)
            bilinear = _renormalized(_taps(src, sx, sy, "bilinear", fill_mode, fill), nodata)
            result = np.where(all_valid, cubic, bilinear)
    # Pixels outside by more than the kernel's reach get exactly fill_value (or nodata).
    if fill_mode == "constant":
        no_source = no_source | _all_taps_outside(sx, sy, width, height, interpolation)
    return np.where(no_source[..., None], all_fill, result)


def _all_taps_outside(
    sx: np.ndarray, sy: np.ndarray, width: int, height: int, interpolation: str
) -> np.ndarray:
    """Whether every tap of the kernel at (sx, sy) lies outside the source ("constant")."""

    def outside(s: np.ndarray, n: int) -> np.ndarray:
        if interpolation == "nearest":
            k = np.rint(s)
            return (k < 0) | (k > n - 1)
        k0 = np.floor(s)
        first, last = (k0, k0 + 1) if interpolation == "bilinear" else (k0 - 1, k0 + 2)
        return (last < 0) | (first > n - 1)

    return outside(sx, width) | outside(sy, height)


def tf_map_coordinate(coord: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Maps continuous source coordinates into [0, n - 1] like TensorFlow's MapCoordinate.

    Reimplements the rules of ``ImageProjectiveTransformV3`` (which follow scipy.ndimage),
    in float32 arithmetic: "reflect" mirrors with period 2n, "wrap" shifts by multiples of
    n computed from the distance in units of n - 1, "nearest" clamps; every mode but
    "constant" then clamps to [0, n - 1]. "constant" leaves the coordinate as it is.
    """
    c = np.asarray(coord, dtype=np.float32)
    if fill_mode == "constant":
        return c
    last = np.float32(n - 1)
    below, above = c < 0, c > last
    if fill_mode == "nearest" or n <= 1:
        mapped = np.where(below | above, np.float32(0), c) if n <= 1 else c
    elif fill_mode == "reflect":
        period = 2 * n
        low = np.float32(period) * np.trunc(-c / np.float32(period)) + c  # in (-2n, 0]
        low = np.where(low < -n, low + np.float32(period), -low - np.float32(1))
        high = c - np.float32(period) * np.trunc(c / np.float32(period))  # in [0, 2n)
        high = np.where(high >= n, np.float32(period) - high - np.float32(1), high)
        mapped = np.where(below, low, np.where(above, high, c))
    elif fill_mode == "wrap":
        span = np.float32(n - 1)
        low = c + np.float32(n) * (np.trunc(-c / span) + np.float32(1))
        high = c - np.float32(n) * np.trunc(c / span)
        mapped = np.where(below, low, np.where(above, high, c))
    else:  # pragma: no cover - validated before
        raise AssertionError(fill_mode)
    return np.clip(mapped, np.float32(0), last).astype(np.float32)


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """std::round in float32: halves away from zero, exactly (no float64 detour)."""
    t = np.trunc(v)
    return np.where(np.abs(v - t) >= np.float32(0.5), t + np.copysign(np.float32(1), v), t)


def _v3_cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 values as ``dtype`` the way TensorFlow's ``T(float)`` does on x86-64.

    Integers truncate toward zero; a value outside int32 (int64 for int64), or NaN, gives
    that type's minimum (cvttss2si), and narrower integers keep the low bits of the int32.
    Floats round to nearest even (float16) or widen (float64).
    """
    if dtype.kind not in "iu":
        with np.errstate(over="ignore"):
            return values.astype(dtype)
    wide = np.int64 if dtype == np.int64 else np.int32
    limit = np.float32(2.0 ** (63 if wide is np.int64 else 31))
    ok = (values >= -limit) & (values < limit)
    with np.errstate(invalid="ignore"):
        ints = np.where(ok, values, np.float32(0)).astype(wide)
    ints = np.where(ok, ints, np.iinfo(wide).min)
    return ints.astype(dtype)  # wraps to the low bits


def _sample_tf(
    src: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    interpolation: str,
    fill_mode: str,
    fill: np.ndarray,
) -> np.ndarray:
    """Samples ``src`` ([H, W, C]) at float32 (sx, sy) as ImageProjectiveTransformV3 does.

    The coordinates are mapped by :func:`tf_map_coordinate`. Nearest reads the element at
    the coordinates rounded half away from zero; bilinear reads the 2x2 taps at floor and
    floor + 1 as float32 and blends them in float32 in TensorFlow's order:
    ``(y1 - y) * ((x1 - x) * v00 + (x - x0) * v01) + (y - y0) * (...)``, then converts
    with :func:`_v3_cast`. A tap outside the source (NaN or infinite coordinates
    included) reads ``fill`` (of ``src``'s dtype [C]).
    """
    height, width, _ = src.shape
    with np.errstate(invalid="ignore", over="ignore"):
        x = tf_map_coordinate(sx, width, fill_mode)
        y = tf_map_coordinate(sy, height, fill_mode)

    def read(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        """The taps at integral float (iy, ix); outside the source (or NaN): fill."""
        ok = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
        iy = np.where(ok, iy, 0).astype(np.int64)
        ix = np.where(ok, ix, 0).astype(np.int64)
        taps = src[iy, ix] if height and width else np.zeros((*ok.shape, len(fill)), src.dtype)
        return np.where(ok[..., None], taps, fill)

    with np.errstate(invalid="ignore", over="ignore"):
        if interpolation == "nearest":
            return read(_round_half_away(y), _round_half_away(x))
        x0, y0 = np.floor(x), np.floor(y)
        x1, y1 = x0 + np.float32(1), y0 + np.float32(1)
        wx0, wx1 = (x1 - x)[..., None], (x - x0)[..., None]
        wy0, wy1 = (y1 - y)[..., None], (y - y0)[..., None]

        def tap(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
            return read(iy, ix).astype(np.float32)

        top = wx0 * tap(y0, x0) + wx1 * tap(y0, x1)
        bottom = wx0 * tap(y1, x0) + wx1 * tap(y1, x1)
        return _v3_cast(wy0 * top + wy1 * bottom, src.dtype)


# --------------------------------------------------------------------------- polynomials


def _design(x: np.ndarray, y: np.ndarray, order: int) -> np.ndarray:
    """The polynomial terms 1, x, y, x^2, x y, ... of ``order`` at the points: [..., T]."""
    exponents = POLYNOMIAL_EXPONENTS[: POLYNOMIAL_TERMS[order]]
    return np.stack([x**i * y**j for i, j in exponents], axis=-1)


def _expand(normalized: np.ndarray, center: np.ndarray, scale: float, order: int) -> np.ndarray:
    """Raw coefficients [2, T] of the polynomial given in u = (x - cx) / s, v = (y - cy) / s.

    Each term u^a v^b = sum over i <= a, j <= b of C(a, i) C(b, j) x^i y^j (-cx)^(a - i)
    (-cy)^(b - j) / s^(a + b).
    """
    exponents = POLYNOMIAL_EXPONENTS[: POLYNOMIAL_TERMS[order]]
    raw = np.zeros_like(normalized)
    cx, cy = center
    for t, (a, b) in enumerate(exponents):
        for i in range(a + 1):
            for j in range(b + 1):
                factor = math.comb(a, i) * math.comb(b, j) * (-cx) ** (a - i) * (-cy) ** (b - j)
                raw[:, exponents.index((i, j))] += normalized[:, t] * factor / scale ** (a + b)
    return raw


def _fit(
    name: str, points: np.ndarray, targets: np.ndarray, order: int
) -> tuple[np.ndarray, float]:
    """Least-squares polynomial ``f(points) ~= targets`` in centred and scaled coordinates.

    Returns the raw coefficients [2, T] and the rms of the Euclidean residuals. ``name``
    names ``points`` in the error raised when they do not determine the fit.
    """
    center = points.mean(axis=0)
    spread = float(np.max(np.abs(points - center)))
    scale = spread if spread > 0 else 1.0
    u = (points - center) / scale
    design = _design(u[:, 0], u[:, 1], order)
    normalized, _, rank, _ = np.linalg.lstsq(design, targets, rcond=DEGENERATE_RTOL)
    terms = design.shape[1]
    if rank < terms:
        raise ValueError(
            f"{name} are degenerate for an order-{order} polynomial: its {terms} terms are "
            f"determined only up to rank {rank} by these {points.shape[0]} points (collinear, "
            "repeated or on a common curve); expected points that determine the fit"
        )
    residuals = design @ normalized - targets
    rms = math.sqrt(float(np.mean(np.sum(residuals**2, axis=1))))
    return _expand(normalized.T, center, scale, order), rms


def evaluate_polynomial(coefficients: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple:
    """``(f_x(x, y), f_y(x, y))`` for raw coefficients [2, T] (T = 3, 6 or 10)."""
    order = {v: k for k, v in POLYNOMIAL_TERMS.items()}[coefficients.shape[1]]
    terms = _design(np.asarray(x, np.float64), np.asarray(y, np.float64), order)
    return terms @ coefficients[0], terms @ coefficients[1]


def fit_polynomial(
    src_points: npt.ArrayLike, dst_points: npt.ArrayLike, order: int = 1
) -> tuple[np.ndarray, float]:
    """Fits polynomials ``f_x, f_y`` of total degree ``order`` with ``f(src) ~= dst``.

    Args:
      src_points: [K, 2] (x, y) points.
      dst_points: [K, 2] (x, y) points, the same K.
      order: 1, 2 or 3.

    Returns:
      ``(coefficients, rms)``: float64 [2, T] coefficients of the terms
      ``1, x, y, x^2, x y, y^2, x^3, x^2 y, x y^2, y^3`` (the first T = 3, 6 or 10; row 0
      gives x', row 1 gives y'), in raw pixel coordinates; and the root mean square of the
      Euclidean residuals ``|f(src_k) - dst_k|``.

    Boundary rules:
      - the fit is done in centred and scaled coordinates (least squares), then expanded.
      - shapes other than [K, 2], different K, non-finite values, K < T, or points that do
        not determine the fit ("src_points ... degenerate"): ValueError; order other
        than 1, 2, 3: ValueError (TypeError if not an int).

    Example:
      >>> src = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
      >>> coefficients, rms = fit_polynomial(src, src * 2 + [3, 4])
      >>> np.round(coefficients, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
      array([[3., 2., 0.],
             [4., 0., 2.]])
      >>> rms < 1e-12
      True
    """
    src, dst, k = check_point_pairs(src_points, dst_points, order)
    return _fit("src_points", src, dst, k)


def rotation_matrix(angle: float, center: tuple[float, float], scale: float) -> np.ndarray:
    """The forward [2, 3] matrix of ``cv2.getRotationMatrix2D(center, angle, scale)``."""
    theta = angle * (math.pi / 180)
    a = math.cos(theta) * scale
    b = math.sin(theta) * scale
    cx, cy = center
    return np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy]])


# --------------------------------------------------------------------------- ops


@dataclass(frozen=True)
class _Sampling:
    """The validated sampling arguments shared by the OpenCV-like ops."""

    interpolation: str
    fill_mode: str
    fill: np.ndarray  # per channel, float64, rounded to the dtype
    nodata: float | None


def _check_sampling(
    arr: np.ndarray, interpolation: Any, fill_mode: Any, fill_value: Any, nodata: Any
) -> _Sampling:
    method = check_interpolation(interpolation)
    mode = check_fill_mode(fill_mode)
    nodata_value = check_nodata(nodata, arr.dtype)
    fill = check_fill_value(fill_value, nodata_value, channels_of(arr.shape), arr.dtype)
    return _Sampling(method, mode, fill, nodata_value)


def _resample(
    arr: np.ndarray,
    out_hw: tuple[int, int],
    coordinates: Any,
    sampling: _Sampling,
) -> np.ndarray:
    """Samples every image of ``arr`` at ``coordinates(b) -> (sx, sy)``; output in arr's dtype."""
    images = _as_images(arr)
    count, _, _, channels = images.shape
    out = np.empty((count, *out_hw, channels), dtype=np.float64)
    for b in range(count):
        with np.errstate(over="ignore", invalid="ignore"):  # huge matrices: inf, outside
            sx, sy = coordinates(b)
        out[b] = _sample(
            images[b].astype(np.float64),
            sx,
            sy,
            sampling.interpolation,
            sampling.fill_mode,
            sampling.fill,
            sampling.nodata,
        )
    return _from_images(_to_dtype(out, arr.dtype), arr.ndim)


def _output_hw(arr: np.ndarray, output_shape: Any) -> tuple[int, int]:
    n, h, w, c = _as_images(arr).shape
    return check_output_shape(output_shape, (h, w), n, c, arr.dtype.itemsize)


def warp_affine(
    image: npt.ArrayLike,
    matrix: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: ParamLike | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Affine warp, like ``cv2.warpAffine``.

    Args:
      image: [H, W], [H, W, C] or [N, H, W, C]; uint8, uint16, int16, float16 or float32.
      matrix: [2, 3], or [N, 2, 3] (one per image of a rank-4 batch; [1, 2, 3]
        broadcasts). Maps source to destination (it is inverted in float64) unless
        ``inverse=True`` (destination to source, ``cv2.WARP_INVERSE_MAP``).
      output_shape: (height, width) of the output; default the input's.
      inverse: see ``matrix``.
      interpolation: "nearest" (ties to even), "bilinear" or "bicubic" (Keys, a = -0.75).
      fill_mode: "constant", "nearest", "reflect", "reflect_101" or "wrap" (per tap).
      fill_value: None (0, or nodata when given), a number or one per channel.
      nodata: None, or the value marking invalid pixels (see the spec's nodata rules).

    Returns:
      An array of the input's rank and dtype, ``output_shape`` replacing H, W.

    Example:
      >>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
      >>> warp_affine(image, [[1, 0, 1], [0, 1, 0]])  # one pixel to the right
      array([[ 0.,  0.,  1.,  2.],
             [ 0.,  4.,  5.,  6.],
             [ 0.,  8.,  9., 10.]], dtype=float32)
    """
    arr = check_image(image)
    batch = _as_images(arr).shape[0]
    inverse = bool_arg("inverse", inverse)
    matrices = check_matrix("matrix", matrix, 2, arr.ndim, batch, inverse)
    out_hw = _output_hw(arr, output_shape)
    sampling = _check_sampling(arr, interpolation, fill_mode, fill_value, nodata)
    maps = matrices if inverse else np.stack([invert_matrix(m) for m in matrices])
    x, y = _pixel_grid(*out_hw)

    def coordinates(b: int) -> tuple[np.ndarray, np.ndarray]:
        m = maps[b if len(maps) > 1 else 0]
        return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]

    return _resample(arr, out_hw, coordinates, sampling)


def warp_perspective(
    image: npt.ArrayLike,
    matrix: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: ParamLike | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Perspective warp, like ``cv2.warpPerspective``.

    ``matrix`` is [3, 3] or [N, 3, 3] (``[1, 3, 3]`` broadcasts), source to destination
    (inverted in float64) unless ``inverse=True``. With the destination-to-source matrix
    m: ``w = m20 x + m21 y + m22``, ``sx = (m00 x + m01 y + m02) / w``,
    ``sy = (m10 x + m11 y + m12) / w``; where ``w == 0`` the pixel is outside the source.
    The other arguments are those of :func:`warp_affine`.

    Example:
      >>> image = np.arange(6, dtype=np.uint8).reshape(2, 3)
      >>> warp_perspective(image, np.eye(3), interpolation="nearest")
      array([[0, 1, 2],
             [3, 4, 5]], dtype=uint8)
    """
    arr = check_image(image)
    batch = _as_images(arr).shape[0]
    inverse = bool_arg("inverse", inverse)
    matrices = check_matrix("matrix", matrix, 3, arr.ndim, batch, inverse)
    out_hw = _output_hw(arr, output_shape)
    sampling = _check_sampling(arr, interpolation, fill_mode, fill_value, nodata)
    maps = matrices if inverse else np.stack([invert_matrix(m) for m in matrices])
    x, y = _pixel_grid(*out_hw)

    def coordinates(b: int) -> tuple[np.ndarray, np.ndarray]:
        m = maps[b if len(maps) > 1 else 0]
        w = m[2, 0] * x + m[2, 1] * y + m[2, 2]
        safe_w = np.where(w == 0, 1.0, w)
        sx = (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / safe_w
        sy = (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / safe_w
        return np.where(w == 0, np.nan, sx), np.where(w == 0, np.nan, sy)

    return _resample(arr, out_hw, coordinates, sampling)


def projective_transform(
    images: npt.ArrayLike,
    transforms: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "nearest",
    fill_mode: str = "constant",
    fill_value: ParamLike = 0.0,
) -> np.ndarray:
    """``tf.raw_ops.ImageProjectiveTransformV3``: 8-parameter projective transforms.

    Args:
      images: [N, H, W, C]; uint8, uint16, int16, int32, int64, float16, float32 or float64.
      transforms: [N, 8] or [1, 8] rows ``a0..a7`` mapping output to input:
        ``k = a6 x + a7 y + 1``, ``sx = (a0 x + a1 y + a2) / k``,
        ``sy = (a3 x + a4 y + a5) / k`` (float32, like TensorFlow); ``k == 0`` gives
        ``fill_value``.
      output_shape: (height, width); default the input's.
      interpolation: "nearest" (ties away from zero) or "bilinear".
      fill_mode: "constant", "nearest", "reflect" or "wrap": TensorFlow's mapping of the
        continuous coordinate into [0, n - 1] (:func:`tf_map_coordinate`; "constant" leaves
        it); taps still outside read ``fill_value``.
      fill_value: a number or one per channel (None means 0).

    Returns:
      [N, H', W', C] of the input's dtype: ImageProjectiveTransformV3's numbers bit for bit
      (float32 arithmetic in its order; integer results truncate, see :func:`_v3_cast`).

    Example:
      >>> images = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
      >>> projective_transform(images, [[1, 0, 1, 0, 1, 0, 0, 0]])[0, :, :, 0]  # x + 1
      array([[1., 2., 0.],
             [4., 5., 0.]], dtype=float32)
    """
    arr = check_image(images, "images", ranks=(4,), dtypes=V3_DTYPES)
    count, height, width, channels = arr.shape
    coefficients = check_transforms(transforms, count)
    out_hw = check_output_shape(output_shape, (height, width), count, channels, arr.itemsize)
    method = check_interpolation(interpolation, TF_INTERPOLATIONS)
    mode = check_fill_mode(fill_mode, TF_FILL_MODES)
    check_fill_value(fill_value, None, channels, arr.dtype)  # validates
    # TensorFlow's fill value is float32, converted to the image's dtype by T(float).
    raw_fill = check_fill_value(fill_value, None, channels, np.dtype(np.float64)).astype(np.float32)
    fill = _v3_cast(raw_fill, arr.dtype)
    y, x = np.meshgrid(
        np.arange(out_hw[0], dtype=np.float32),
        np.arange(out_hw[1], dtype=np.float32),
        indexing="ij",
    )
    out = np.empty((count, *out_hw, channels), dtype=arr.dtype)
    for b in range(count):
        a = coefficients[b if len(coefficients) > 1 else 0]
        with np.errstate(all="ignore"):  # float32 arithmetic, in TensorFlow's order
            k = a[6] * x + a[7] * y + np.float32(1)
            safe_k = np.where(k == 0, np.float32(1), k)
            sx = (a[0] * x + a[1] * y + a[2]) / safe_k
            sy = (a[3] * x + a[4] * y + a[5]) / safe_k
        sampled = _sample_tf(arr[b], sx, sy, method, mode, fill)
        out[b] = np.where((k == 0)[..., None], fill, sampled)
    return out


def remap(
    image: npt.ArrayLike,
    map_x: npt.ArrayLike,
    map_y: npt.ArrayLike,
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: ParamLike | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Generic remap, like ``cv2.remap``: output pixel (i, j) samples (map_x, map_y)[i, j].

    ``map_x``/``map_y`` are float32 (float64 is converted to float32) [H', W'] (for every
    image) or [N, H', W'] (rank-4 image of N); the output has the maps' H', W'. A NaN
    entry is outside the source. The other arguments are those of :func:`warp_affine`.

    Example:
      >>> image = np.array([[0, 10], [20, 30]], dtype=np.float32)
      >>> remap(image, np.float32([[0.5]]), np.float32([[0.5]]))
      array([[15.]], dtype=float32)
    """
    arr = check_image(image)
    count, _, _, channels = _as_images(arr).shape
    maps_x, maps_y = check_maps(map_x, map_y, arr.ndim, count)
    out_h, out_w = out_hw = maps_x.shape[1:3]
    check_output_size(f"map_x/map_y of shape {out_hw}", out_h, out_w, count, channels, arr.itemsize)
    sampling = _check_sampling(arr, interpolation, fill_mode, fill_value, nodata)

    def coordinates(b: int) -> tuple[np.ndarray, np.ndarray]:
        k = b if len(maps_x) > 1 else 0
        return maps_x[k].astype(np.float64), maps_y[k].astype(np.float64)

    return _resample(arr, out_hw, coordinates, sampling)


def polynomial_warp(
    image: npt.ArrayLike,
    src_points: npt.ArrayLike,
    dst_points: npt.ArrayLike,
    *,
    order: int = 1,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: ParamLike | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Polynomial warp from ground control points, like ``gdalwarp -order``.

    Fits ``f`` of total degree ``order`` with ``f(dst_points) ~= src_points`` (see
    :func:`fit_polynomial`) and samples the source at ``f(x, y)`` for every output pixel.
    The same points serve every image of a batch; ``output_shape`` defaults to the input's
    (H, W). Points that do not determine the fit: ValueError naming ``dst_points`` (the
    points the polynomial is evaluated on). The other arguments are those of
    :func:`warp_affine`.

    Example:
      >>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
      >>> src = np.array([[0, 0], [3, 0], [0, 2]])
      >>> polynomial_warp(image, src, src + [1, 0], interpolation="nearest")  # shift right
      array([[ 0.,  0.,  1.,  2.],
             [ 0.,  4.,  5.,  6.],
             [ 0.,  8.,  9., 10.]], dtype=float32)
    """
    arr = check_image(image)
    src, dst, k = check_point_pairs(src_points, dst_points, order)
    out_hw = _output_hw(arr, output_shape)
    sampling = _check_sampling(arr, interpolation, fill_mode, fill_value, nodata)
    coefficients, _ = _fit("dst_points", dst, src, k)
    x, y = _pixel_grid(*out_hw)
    sx, sy = evaluate_polynomial(coefficients, x, y)
    return _resample(arr, out_hw, lambda b: (sx, sy), sampling)


def rotate(
    image: npt.ArrayLike,
    angle: float,
    *,
    center: Sequence[float] | None = None,
    scale: float = 1.0,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: ParamLike | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Rotation about ``center``: :func:`warp_affine` with ``cv2.getRotationMatrix2D``.

    ``angle`` in degrees (positive is counter-clockwise on screen), ``center`` (x, y)
    defaults to ``((W - 1) / 2, (H - 1) / 2)``, ``scale`` (finite, non-zero) scales about
    the centre. The matrix ``[[a, b, (1 - a) cx - b cy], [-b, a, b cx + (1 - a) cy]]``
    with ``a = scale cos(angle)``, ``b = scale sin(angle)`` maps source to destination.

    Example:
      >>> image = np.arange(6, dtype=np.uint8).reshape(2, 3)
      >>> rotate(image, 180, interpolation="nearest")
      array([[5, 4, 3],
             [2, 1, 0]], dtype=uint8)
    """
    arr = check_image(image)
    a, c, s = check_rotation(angle, center, scale)
    _, height, width, _ = _as_images(arr).shape
    if c is None:
        c = ((width - 1) / 2, (height - 1) / 2)
    return warp_affine(
        arr,
        rotation_matrix(a, c, s),
        output_shape=output_shape,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill_value,
        nodata=nodata,
    )
