"""The geometry ops' constants and argument checks (docs/geometry-spec.md)."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from gilfree import _args
from gilfree.reference._common import _names

# =========================================================================== geometry
#
# The semantics of ``docs/geometry-spec.md``: warp_affine, warp_perspective,
# projective_transform, remap, polynomial_warp, rotate and the fit_polynomial helper.
#
# Every op computes, for each output pixel (x, y) (x = column, y = row, pixel centres at
# integers), a source point (sx, sy) in float64 and samples the source image there with
# one generic sampler (:func:`_sample`): per axis, the tap indices and weights of the
# interpolation; taps outside the source are mapped by the fill mode (or read as
# ``fill_value`` in "constant" mode); the 2-D taps are gathered, weighted and summed in
# float64, with the nodata rules applied per channel. ``projective_transform`` has its
# own sampler (:func:`_sample_tf`) with TensorFlow's ``ImageProjectiveTransformV3``
# rules (float32 coordinates, continuous coordinate mapping). Results are converted to
# the input dtype at the end: integers rounded half to even and saturated, floats
# rounded by ``astype``.
#
# Bad arguments raise ``ValueError`` (bad values) or ``TypeError`` (bad types/dtypes);
# the message names the argument, the value given and what was expected.

#: Image dtypes the geometry ops accept (the TF faces add bfloat16).
GEOMETRY_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(name) for name in ("uint8", "uint16", "int16", "float16", "float32")
)
#: projective_transform also takes ImageProjectiveTransformV3's int32, int64 and float64.
V3_DTYPES: tuple[np.dtype, ...] = (
    *GEOMETRY_DTYPES,
    *(np.dtype(name) for name in ("int32", "int64", "float64")),
)
#: Interpolations of every geometry op but projective_transform.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
#: Fill modes of every geometry op but projective_transform (OpenCV's border modes).
FILL_MODES = ("constant", "nearest", "reflect", "reflect_101", "wrap")
#: Interpolations and fill modes of projective_transform (those of TensorFlow).
TF_INTERPOLATIONS = ("nearest", "bilinear")
TF_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
#: Largest output height or width, and largest output in bytes.
MAX_OUTPUT_SIDE = 2**20
MAX_OUTPUT_BYTES = 2**32
#: Keys' cubic parameter (OpenCV's INTER_CUBIC).
CUBIC_A = -0.75
#: A matrix is singular when |det| <= SINGULAR_RTOL * (product of its row norms).
SINGULAR_RTOL = 1e-12
#: Polynomial terms, in order, as exponents (i, j) of x^i y^j; order k uses the first
#: 3, 6 or 10 of them.
POLYNOMIAL_EXPONENTS = (
    (0, 0),
    (1, 0),
    (0, 1),
    (2, 0),
    (1, 1),
    (0, 2),
    (3, 0),
    (2, 1),
    (1, 2),
    (0, 3),
)
POLYNOMIAL_TERMS = {1: 3, 2: 6, 3: 10}
#: Singular-value ratio below which the points do not determine a polynomial fit.
DEGENERATE_RTOL = 1e-10


# --------------------------------------------------------------------------- validation


def check_image(
    image: npt.ArrayLike,
    name: str = "image",
    ranks: Sequence[int] = (2, 3, 4),
    dtypes: Sequence[np.dtype] = GEOMETRY_DTYPES,
) -> np.ndarray:
    """Returns ``image`` as an ndarray (native byte order) after checking dtype and rank."""
    arr = np.asarray(image)
    if arr.dtype.newbyteorder("=") not in dtypes:
        raise TypeError(
            f"{name} has unsupported dtype {arr.dtype.name}; expected one of {_names(dtypes)}"
        )
    if arr.ndim not in ranks:
        layouts = {2: "[H, W]", 3: "[H, W, C]", 4: "[N, H, W, C]"}
        expected = " or ".join(f"{r} {layouts[r]}" for r in ranks)
        raise ValueError(
            f"{name} has rank {arr.ndim} (shape {arr.shape}); expected rank {expected}"
        )
    return arr.astype(arr.dtype.newbyteorder("="), copy=False)


def _check_name(name: str, value: Any, allowed: Sequence[str]) -> str:
    expected = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {expected}; got {value!r}")
    lowered = value.strip().lower()
    if lowered not in allowed:
        raise ValueError(f"{name} {value!r} is not supported; expected one of {expected}")
    return lowered


def check_interpolation(value: Any, allowed: Sequence[str] = INTERPOLATIONS) -> str:
    """Returns the lower-case interpolation name, or raises ValueError/TypeError."""
    return _check_name("interpolation", value, allowed)


def check_fill_mode(value: Any, allowed: Sequence[str] = FILL_MODES) -> str:
    """Returns the lower-case fill mode name, or raises ValueError/TypeError."""
    return _check_name("fill_mode", value, allowed)


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int; got {value!r}")
    try:
        return operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an int; got {value!r}") from exc


def check_output_size(
    name: str, height: int, width: int, batch: int, channels: int, itemsize: int
) -> None:
    """Checks the output limits: each side at most 2^20, the output at most 2^32 bytes."""
    if height > MAX_OUTPUT_SIDE or width > MAX_OUTPUT_SIDE:
        raise ValueError(
            f"{name} gives an output of {height} x {width} pixels; expected a height and "
            f"width of at most {MAX_OUTPUT_SIDE}"
        )
    nbytes = batch * height * width * channels * itemsize
    if nbytes > MAX_OUTPUT_BYTES:
        raise ValueError(
            f"{name} gives an output of {batch} x {height} x {width} x {channels} elements "
            f"of {itemsize} bytes = {nbytes} bytes; expected at most {MAX_OUTPUT_BYTES} "
            "bytes (4 GiB)"
        )


def check_output_shape(
    output_shape: Any,
    default: tuple[int, int],
    batch: int = 1,
    channels: int = 1,
    itemsize: int = 1,
) -> tuple[int, int]:
    """Validates ``output_shape`` (None means ``default``); returns ``(height, width)``."""
    if output_shape is None:
        return default
    expected = f"two positive integers (height, width), each at most {MAX_OUTPUT_SIDE}"
    if isinstance(output_shape, str | bytes):
        raise TypeError(f"output_shape must be {expected}; got {output_shape!r}")
    try:
        dims = list(output_shape)
    except TypeError as exc:
        raise TypeError(f"output_shape must be {expected}; got {output_shape!r}") from exc
    if len(dims) != 2:
        raise ValueError(
            f"output_shape {output_shape!r} has {len(dims)} elements; expected {expected}"
        )
    try:
        height, width = (_check_int("output_shape", d) for d in dims)
    except TypeError as exc:
        raise TypeError(f"output_shape must be {expected}; got {output_shape!r}") from exc
    if height <= 0 or width <= 0 or height > MAX_OUTPUT_SIDE or width > MAX_OUTPUT_SIDE:
        raise ValueError(f"output_shape {output_shape!r} is out of range; expected {expected}")
    check_output_size(f"output_shape {output_shape!r}", height, width, batch, channels, itemsize)
    return height, width


def check_nodata(nodata: Any, dtype: np.dtype) -> float | None:
    """Validates ``nodata``: None, or a number (NaN allowed for float images).

    For integer images it must be an integer that ``dtype`` holds.
    """
    if nodata is None:
        return None
    value = _args.real_arg("nodata", nodata)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not (math.isfinite(value) and value == math.floor(value)) or not (
            info.min <= value <= info.max
        ):
            raise ValueError(
                f"nodata {nodata!r} is not a value of the {dtype.name} image; expected an "
                f"integer in [{info.min}, {info.max}]"
            )
    return value


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 values as ``dtype``: integers rounded half to even and saturated."""
    dtype = np.dtype(dtype)
    values = np.asarray(values, dtype=np.float64)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    with np.errstate(over="ignore"):  # large values become inf in float16
        return values.astype(dtype)


def check_fill_value(
    fill_value: Any, nodata: float | None, channels: int, dtype: np.dtype
) -> np.ndarray:
    """Validates ``fill_value``; returns it per channel (float64 [C]), rounded to ``dtype``.

    None means 0, or ``nodata`` when it is given. Otherwise a number or a 1-D sequence of
    length 1 or C; finite for integer images.
    """
    dtype = np.dtype(dtype)
    if fill_value is None:
        values = np.array([0.0 if nodata is None else nodata])
    else:
        arr = np.asarray(fill_value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"fill_value must be a number or a sequence of numbers; got {fill_value!r}"
            )
        if arr.ndim > 1:
            raise ValueError(
                f"fill_value has shape {arr.shape}; expected a number or a 1-D sequence"
            )
        values = arr.astype(np.float64).reshape(-1)
        if values.size not in (1, channels) or values.size == 0:
            raise ValueError(
                f"fill_value has length {values.size}; expected 1 or the number of channels "
                f"({channels})"
            )
        if dtype.kind in "iu" and not np.all(np.isfinite(values)):
            raise ValueError(
                f"fill_value must be finite for a {dtype.name} image; got {values.tolist()}"
            )
    rounded = _to_dtype(values, dtype).astype(np.float64)
    return np.broadcast_to(rounded, (channels,)).copy()


def _row_norms(linear: np.ndarray) -> np.ndarray:
    """The rows' Euclidean norms, 0 for a row shorter than the smallest normal float64
    (so no answer depends on subnormal numbers)."""
    # Scaled by the largest entry, so entries near 1e300 do not overflow.
    big = np.max(np.abs(linear), axis=1)
    unit = linear / np.where(big > 0, big, 1.0)[:, None]
    norms = np.sqrt(np.sum(unit * unit, axis=1)) * big
    return np.where(norms >= np.finfo(np.float64).tiny, norms, 0.0)


def _hadamard_singular(linear: np.ndarray) -> bool:
    """Whether the square matrix is singular: |det| <= 1e-12 * product of its row norms,
    measured on the rows scaled to unit length."""
    norms = _row_norms(linear)
    if not np.all(norms > 0):
        return True
    return not abs(np.linalg.det(linear / norms[:, None])) > SINGULAR_RTOL


def check_matrix(
    name: str,
    matrix: Any,
    rows: int,
    image_rank: int,
    batch: int,
    inverse: bool,
) -> np.ndarray:
    """Validates an affine (rows=2) or perspective (rows=3) ``matrix``; returns [M, rows, 3].

    ``[rows, 3]`` and ``[1, rows, 3]`` apply to every image; ``[N, rows, 3]`` gives one
    matrix per image of a rank-4 batch of N. The entries must be finite and, unless
    ``inverse``, every matrix invertible.
    """
    arr = np.asarray(matrix)
    shape_text = f"[{rows}, 3], [1, {rows}, 3]" + (
        f" or [N, {rows}, 3] with N = {batch} images" if image_rank == 4 else ""
    )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real {shape_text} array; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    ok = arr.shape == (rows, 3) or (
        arr.ndim == 3 and arr.shape[1:] == (rows, 3) and arr.shape[0] in (1, batch)
    )
    if not ok:
        raise ValueError(f"{name} has shape {arr.shape}; expected {shape_text}")
    arr = arr.reshape(-1, rows, 3)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    if not inverse:
        for k, m in enumerate(arr):
            linear = m[:2, :2] if rows == 2 else m
            if _hadamard_singular(linear):
                which = name if arr.shape[0] == 1 else f"{name}[{k}]"
                raise ValueError(
                    f"{which} {m.tolist()} is not invertible (|det| = "
                    f"{abs(np.linalg.det(linear)):.3g}); expected an invertible matrix, or "
                    "inverse=True for a destination-to-source map"
                )
    return arr


def invert_matrix(m: np.ndarray) -> np.ndarray:
    """The inverse (float64) of an invertible affine ``[2, 3]`` map (like
    cv2.invertAffineTransform) or perspective ``[3, 3]`` matrix. Inverted with the rows
    scaled to unit length (A = D U, so A^-1 = U^-1 D^-1), which keeps the numbers near 1
    whatever the matrix's scale."""
    linear = m[:, :2] if m.shape[0] == 2 else m
    norms = _row_norms(linear)
    inv = np.linalg.inv(linear / norms[:, None]) / norms[None, :]
    if m.shape[0] == 3:
        return inv
    return np.concatenate([inv, -(inv @ m[:, 2])[:, None]], axis=1)


def check_transforms(transforms: Any, batch: int) -> np.ndarray:
    """Validates ``transforms`` of projective_transform; returns float32 [N or 1, 8]."""
    arr = np.asarray(transforms)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"transforms must be a real [N, 8] or [1, 8] array; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 8 or arr.shape[0] not in (1, batch):
        raise ValueError(
            f"transforms has shape {arr.shape}; expected [N, 8] with N = {batch} images, or [1, 8]"
        )
    if not np.all(np.isfinite(arr.astype(np.float64))):
        raise ValueError(f"transforms must be finite; got {arr.tolist()}")
    with np.errstate(over="ignore"):
        out = arr.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"transforms must be finite in float32; got {arr.tolist()}")
    return out


def check_maps(map_x: Any, map_y: Any, image_rank: int, batch: int) -> tuple[np.ndarray, ...]:
    """Validates remap's maps; returns them as float32 [M, H', W'] (M = 1 or N)."""
    maps = []
    for name, value in (("map_x", map_x), ("map_y", map_y)):
        arr = np.asarray(value)
        if arr.dtype.newbyteorder("=") not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{name} must be float32 (or float64); got dtype {arr.dtype}")
        if arr.ndim == 3 and image_rank != 4:
            raise ValueError(
                f"{name} has shape {arr.shape}; a rank-3 map [N, H', W'] needs a rank-4 image, "
                f"expected [H', W'] for a rank-{image_rank} image"
            )
        if arr.ndim == 3 and arr.shape[0] != batch:
            raise ValueError(
                f"{name} has shape {arr.shape}; expected [H', W'] or [N, H', W'] with N = "
                f"{batch} images"
            )
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"{name} has rank {arr.ndim} (shape {arr.shape}); expected [H', W'] or [N, H', W']"
            )
        with np.errstate(over="ignore"):  # beyond float32: inf, outside the source
            maps.append(arr.astype(np.float32))
    if maps[0].shape != maps[1].shape:
        raise ValueError(
            f"map_x and map_y must have equal shapes; got map_x {maps[0].shape} and map_y "
            f"{maps[1].shape}"
        )
    if maps[0].shape[-2] == 0 or maps[0].shape[-1] == 0:
        raise ValueError(f"map_x must not be empty; got shape {maps[0].shape}")
    return tuple(m.reshape(-1, *m.shape[-2:]) for m in maps)


def check_order(order: Any) -> int:
    """Validates the polynomial ``order``: 1, 2 or 3."""
    value = _check_int("order", order)
    if value not in POLYNOMIAL_TERMS:
        raise ValueError(f"order {order!r} is not supported; expected 1, 2 or 3")
    return value


def check_points(name: str, points: Any) -> np.ndarray:
    """Validates ``src_points``/``dst_points``: a finite [K, 2] array; returns float64."""
    arr = np.asarray(points)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real [K, 2] array of (x, y); got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} has shape {arr.shape}; expected [K, 2] (x, y) points")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    return arr


def check_point_pairs(
    src_points: Any, dst_points: Any, order: Any
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validates the arguments of :func:`fit_polynomial` (all but degeneracy)."""
    src = check_points("src_points", src_points)
    dst = check_points("dst_points", dst_points)
    k = check_order(order)
    if src.shape[0] != dst.shape[0]:
        raise ValueError(
            f"src_points and dst_points must have the same number of points; got "
            f"{src.shape[0]} and {dst.shape[0]}"
        )
    terms = POLYNOMIAL_TERMS[k]
    if src.shape[0] < terms:
        raise ValueError(f"src_points has {src.shape[0]} points; order {k} needs at least {terms}")
    return src, dst, k


def check_rotation(angle: Any, center: Any, scale: Any) -> tuple[float, tuple | None, float]:
    """Validates ``angle`` (degrees), ``center`` (None or (x, y)) and ``scale`` of rotate."""
    a = _args.real_arg("angle", angle)
    if not math.isfinite(a):
        raise ValueError(f"angle must be finite (degrees); got {angle!r}")
    s = _args.real_arg("scale", scale)
    if not math.isfinite(s) or s == 0:
        raise ValueError(f"scale must be finite and non-zero; got {scale!r}")
    if center is None:
        return a, None, s
    arr = np.asarray(center)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"center must be None or two numbers (x, y); got {center!r}")
    if arr.shape != (2,):
        raise ValueError(f"center has shape {arr.shape}; expected two numbers (x, y)")
    if not np.all(np.isfinite(arr.astype(np.float64))):
        raise ValueError(f"center must be finite; got {center!r}")
    return a, (float(arr[0]), float(arr[1])), s
