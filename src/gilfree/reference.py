"""Plain NumPy reference implementations of the gilfree ops.

This module is the test oracle for the native faces (``gilfree.<op>`` and
``gilfree.numpy.<op>``). It is written for clarity, not speed: every value is
computed in float64, images and bands are visited by explicit Python loops, and
the result is cast to the requested output dtype at the very end.

The semantics are those of ``docs/normalization-spec.md``:

Layout (channels on the last axis):

- rank 1 ``[W]`` and rank 2 ``[H, W]``: one single-band image (C = 1);
- rank 3 ``[H, W, C]``: one image;
- rank >= 4 ``[..., H, W, C]``: a batch; every image (the last three axes) gets
  its own statistics;
- rank 0: ``ValueError``.

Input dtypes: uint8, uint16, int16, int32, float16, float32 (anything else is a
``TypeError``; note that Python lists become int64/float64 arrays and are
therefore rejected: pass a NumPy array of a supported dtype).
Output dtypes (``dtype=``): float32 (default) and float16. bfloat16 is only
available on the TensorFlow faces (``TypeError`` here).
Zero-size input: an empty array of the same shape is returned, after the
parameters have been validated.

The record decoders (``decode_npy``, ``decode_npz``, ``decode_records``) follow
``docs/decoding-spec.md``; they are described in the second half of this module.

The geometry ops (``warp_affine``, ``warp_perspective``, ``projective_transform``,
``remap``, ``polynomial_warp``, ``rotate`` and the ``fit_polynomial`` helper) follow
``docs/geometry-spec.md``; they are described in the last section of this module. They
take uint8, uint16, int16, float16 or float32 images and return the input's dtype.

This module does not import TensorFlow.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import struct
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "decode_npy",
    "decode_npz",
    "decode_records",
    "fit_polynomial",
    "minmax_scale",
    "normalize",
    "percentile_stretch",
    "polynomial_warp",
    "projective_transform",
    "remap",
    "rotate",
    "standardize",
    "warp_affine",
    "warp_perspective",
]

#: Input dtypes accepted by the NumPy faces.
INPUT_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(name) for name in ("uint8", "uint16", "int16", "int32", "float16", "float32")
)
#: Output dtypes accepted by the NumPy faces.
OUTPUT_DTYPES: tuple[np.dtype, ...] = (np.dtype("float32"), np.dtype("float16"))

DTypeLike = str | type | np.dtype | Any
ParamLike = float | Sequence[float] | npt.ArrayLike


# --------------------------------------------------------------------------- validation


def _names(dtypes: Sequence[np.dtype]) -> str:
    return ", ".join(d.name for d in dtypes)


def _check_x(x: npt.ArrayLike) -> np.ndarray:
    """Returns ``x`` as an ndarray after checking its dtype and rank."""
    arr = np.asarray(x)
    if arr.dtype.newbyteorder("=") not in INPUT_DTYPES:  # either byte order is fine
        raise TypeError(
            f"x has unsupported dtype {arr.dtype.name}; expected one of {_names(INPUT_DTYPES)}"
        )
    if arr.ndim == 0:
        raise ValueError(
            f"x has rank 0 (shape {arr.shape}); expected rank >= 1 "
            "([W], [H, W], [H, W, C] or [..., H, W, C])"
        )
    return arr


def check_output_dtype(dtype: DTypeLike) -> np.dtype:
    """Returns ``dtype`` as a NumPy dtype, or raises TypeError if it is not float32/float16.

    Accepts a string (``"float16"``), a NumPy dtype or scalar type, or any object with an
    ``as_numpy_dtype`` attribute (such as a ``tf.DType``).
    """
    if isinstance(dtype, str) and dtype.strip().lower() == "bfloat16":
        raise TypeError(
            "dtype bfloat16 is only supported by the TensorFlow faces; "
            f"expected one of {_names(OUTPUT_DTYPES)}"
        )
    candidate = getattr(dtype, "as_numpy_dtype", dtype)  # tf.DType -> NumPy type
    try:
        out = None if candidate is None else np.dtype(candidate)
    except TypeError:
        out = None
    if out is None or out not in OUTPUT_DTYPES:
        given = repr(dtype) if out is None else out.name
        raise TypeError(f"dtype {given} is not supported; expected one of {_names(OUTPUT_DTYPES)}")
    return out


def _check_real(name: str, value: Any) -> float:
    """Returns ``value`` as a Python float, or raises TypeError if it is not a real number."""
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number; got {value!r}")
    return float(arr)


def check_bool(name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be a bool; got {value!r}")


def check_channel_param(name: str, value: ParamLike, channels: int) -> np.ndarray:
    """Validates ``mean``/``std`` of :func:`normalize`; returns a float64 array of length C.

    ``value`` must be a scalar or a 1-D sequence of length 1 (broadcast) or ``channels``,
    with finite values; for ``std`` the values must also be non-zero.
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a number or a sequence of numbers; got {value!r}")
    arr = arr.astype(np.float64)
    if arr.ndim > 1:
        raise ValueError(
            f"{name} has rank {arr.ndim} (shape {arr.shape}); expected a scalar or a 1-D sequence"
        )
    arr = arr.reshape(-1)
    if arr.size not in (1, channels):
        raise ValueError(
            f"{name} has length {arr.size}; expected 1 or the number of channels ({channels})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    if name == "std" and np.any(arr == 0):
        raise ValueError(f"std must be non-zero; got {arr.tolist()}")
    return np.broadcast_to(arr, (channels,))


def check_scale(scale: float | None) -> float:
    """Validates ``scale`` of :func:`normalize` (None means 1; else finite and non-zero)."""
    if scale is None:
        return 1.0
    value = _check_real("scale", scale)
    if not math.isfinite(value) or value == 0:
        raise ValueError(f"scale must be finite and non-zero; got {value!r}")
    return value


def check_epsilon(epsilon: float | None) -> float | None:
    """Validates ``epsilon`` of :func:`standardize` (None, or finite and > 0)."""
    if epsilon is None:
        return None
    value = _check_real("epsilon", epsilon)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"epsilon must be finite and > 0; got {value!r}")
    return value


def check_percentiles(low: float, high: float) -> tuple[float, float]:
    """Validates ``low``/``high`` of :func:`percentile_stretch`: finite, in [0, 100], low < high."""
    lo = _check_real("low", low)
    hi = _check_real("high", high)
    for name, value in (("low", lo), ("high", hi)):
        if not math.isfinite(value) or not 0.0 <= value <= 100.0:
            raise ValueError(f"{name} must be a finite percentile in [0, 100]; got {value!r}")
    if not lo < hi:
        raise ValueError(f"low must be < high; got low={lo!r}, high={hi!r}")
    return lo, hi


def check_mask(nodata: float | None, fill: float) -> tuple[float | None, float]:
    """Validates ``nodata`` (None or a real number) and ``fill`` (a real number, NaN allowed)."""
    nodata_value = None if nodata is None else _check_real("nodata", nodata)
    return nodata_value, _check_real("fill", fill)


# --------------------------------------------------------------------------- layout


def channels_of(shape: Sequence[int]) -> int:
    """Number of channels C of an input of this shape (1 for ranks 1 and 2)."""
    return 1 if len(shape) <= 2 else int(shape[-1])


def _as_batch(arr: np.ndarray) -> np.ndarray:
    """Returns ``arr`` as a float64 array of shape [B, H*W, C] (see the layout rules)."""
    shape = arr.shape
    if arr.ndim == 1:
        batch, pixels, channels = 1, shape[0], 1
    elif arr.ndim == 2:
        batch, pixels, channels = 1, shape[0] * shape[1], 1
    else:
        batch = math.prod(shape[:-3])  # 1 for rank 3
        pixels = shape[-3] * shape[-2]
        channels = shape[-1]
    return arr.astype(np.float64).reshape(batch, pixels, channels)


def _bands(channels: int, per_channel: bool) -> Iterator[Any]:
    """Index expressions (into one [H*W, C] image) of the groups that share statistics."""
    if per_channel:
        for c in range(channels):
            yield np.s_[:, c]
    else:
        yield np.s_[:, :]


# --------------------------------------------------------------------------- ops


def normalize(
    x: npt.ArrayLike,
    mean: ParamLike,
    std: ParamLike,
    *,
    scale: float | None = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Per-channel affine normalization: ``y = (x * scale - mean) / std``.

    Args:
      x: image(s), channels last; dtype uint8, uint16, int16, int32, float16 or float32.
      mean: a scalar or a 1-D sequence of length 1 (broadcast to every channel) or C.
      std: like ``mean``; every value must be finite and non-zero.
      scale: multiplies x before the mean is subtracted; ``None`` means 1. Must be finite
        and non-zero.
      dtype: output dtype, float32 (default) or float16 (string or NumPy dtype).

    Returns:
      An array of the shape of ``x`` and dtype ``dtype``.

    Boundary rules:
      - mean/std of rank > 1, or of a length other than 1 and C: ValueError.
      - any std == 0 or non-finite, any mean non-finite, scale 0 or non-finite: ValueError.
      - NaN in x propagates to the output.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> x = np.array([[[0, 128, 255]]], dtype=np.uint8)
      >>> normalize(x, 127.5, 127.5)
      array([[[-1.        ,  0.00392157,  1.        ]]], dtype=float32)
    """
    arr = _check_x(x)
    channels = channels_of(arr.shape)
    mean_c = check_channel_param("mean", mean, channels)
    std_c = check_channel_param("std", std, channels)
    s = check_scale(scale)
    out_dtype = check_output_dtype(dtype)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=out_dtype)

    v = _as_batch(arr)
    y = np.empty_like(v)
    with np.errstate(all="ignore"):
        for b in range(v.shape[0]):
            for c in range(channels):
                y[b, :, c] = (v[b, :, c] * s - mean_c[c]) / std_c[c]
        return y.reshape(arr.shape).astype(out_dtype)


def standardize(
    x: npt.ArrayLike,
    *,
    per_channel: bool = False,
    epsilon: float | None = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Per-image standardization: ``y = (x - mean) / adjusted_std``.

    Args:
      x: image(s), channels last; dtype uint8, uint16, int16, int32, float16 or float32.
      per_channel: False (default): statistics over all channels of an image together;
        True: statistics per image and channel.
      epsilon: ``None`` (default): ``adjusted_std = max(std, 1 / sqrt(n))``, where n is the
        number of elements the statistics cover (H*W*C, or H*W per channel), exactly as
        ``tf.image.per_image_standardization``; a number (finite and > 0):
        ``adjusted_std = max(std, epsilon)``.
      dtype: output dtype, float32 (default) or float16.

    Returns:
      An array of the shape of ``x`` and dtype ``dtype``.

    Boundary rules:
      - std is the population standard deviation (divides by n).
      - a constant image (or band) has std 0, so it maps to 0 everywhere.
      - NaN in x makes the statistics NaN (no masking), so the whole image (band) is NaN.
      - epsilon <= 0 or non-finite: ValueError.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> standardize(np.array([1, 2, 3, 4], dtype=np.float32))
      array([-1.3416408, -0.4472136,  0.4472136,  1.3416408], dtype=float32)
    """
    arr = _check_x(x)
    per_channel = check_bool("per_channel", per_channel)
    eps = check_epsilon(epsilon)
    out_dtype = check_output_dtype(dtype)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=out_dtype)

    v = _as_batch(arr)
    y = np.empty_like(v)
    with np.errstate(all="ignore"):
        for b in range(v.shape[0]):
            image = v[b]
            for band in _bands(image.shape[1], per_channel):
                values = image[band]
                n = values.size
                mean = np.mean(values)
                std = np.sqrt(np.mean((values - mean) ** 2))
                floor = 1.0 / np.sqrt(n) if eps is None else eps
                adjusted_std = np.maximum(std, floor)  # np.maximum propagates NaN
                y[b][band] = (values - mean) / adjusted_std
        return y.reshape(arr.shape).astype(out_dtype)


def _valid_mask(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """Valid elements: not NaN and (when nodata is given) not equal to nodata as float64."""
    valid = ~np.isnan(values)
    if nodata is not None:
        valid &= values != np.float64(nodata)
    return valid


def minmax_scale(
    x: npt.ArrayLike,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Min-max scaling to [0, 1]: ``y = (x - lo) / (hi - lo)`` with lo/hi = min/max of valid x.

    Args:
      x: image(s), channels last; dtype uint8, uint16, int16, int32, float16 or float32.
      per_channel: True (default): statistics per image and channel; False: per image.
      nodata: ``None`` or a value marking invalid elements (compared as float64).
      fill: the value written to invalid elements (NaN allowed).
      dtype: output dtype, float32 (default) or float16.

    Returns:
      An array of the shape of ``x`` and dtype ``dtype``.

    Boundary rules:
      - an element is invalid when it is NaN or equals ``nodata``; invalid elements are
        written as ``fill`` and do not enter the statistics.
      - when hi == lo (constant band), the valid elements map to 0.
      - a band with no valid element is all ``fill``.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> minmax_scale(np.array([0, 10, 20, 30], dtype=np.uint16), nodata=0, fill=-1.0)
      array([-1. ,  0. ,  0.5,  1. ], dtype=float32)
    """
    arr = _check_x(x)
    per_channel = check_bool("per_channel", per_channel)
    nodata_value, fill_value = check_mask(nodata, fill)
    out_dtype = check_output_dtype(dtype)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=out_dtype)

    v = _as_batch(arr)
    y = np.empty_like(v)
    with np.errstate(all="ignore"):
        for b in range(v.shape[0]):
            image = v[b]
            for band in _bands(image.shape[1], per_channel):
                values = image[band]
                valid = _valid_mask(values, nodata_value)
                out = np.full(values.shape, fill_value)
                if np.any(valid):
                    lo = np.min(values[valid])
                    hi = np.max(values[valid])
                    if hi == lo:
                        out[valid] = 0.0
                    else:
                        out[valid] = (values[valid] - lo) / (hi - lo)
                y[b][band] = out
        return y.reshape(arr.shape).astype(out_dtype)


def percentile_stretch(
    x: npt.ArrayLike,
    low: float = 2.0,
    high: float = 98.0,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Percentile stretch: ``y = clip((x - lo) / (hi - lo), 0, 1)``.

    ``lo``/``hi`` are the ``low``/``high`` percentiles of the valid elements, exactly as
    ``numpy.percentile(valid, q, method="linear")``.

    Args:
      x: image(s), channels last; dtype uint8, uint16, int16, int32, float16 or float32.
      low: lower percentile, in [0, 100].
      high: upper percentile, in [0, 100], > low.
      per_channel: True (default): statistics per image and channel; False: per image.
      nodata: ``None`` or a value marking invalid elements (compared as float64).
      fill: the value written to invalid elements (NaN allowed).
      dtype: output dtype, float32 (default) or float16.

    Returns:
      An array of the shape of ``x`` and dtype ``dtype``.

    Boundary rules:
      - validity and fill as in :func:`minmax_scale` (NaN or ``nodata`` is invalid, written
        as ``fill``, left out of the statistics; a band with no valid element is all fill).
      - when hi == lo: valid elements map to 0 where x <= lo and to 1 where x > lo.
      - low/high non-finite, outside [0, 100], or low >= high: ValueError.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> percentile_stretch(np.array([0, 1, 2, 3, 100], dtype=np.float32), 25, 75)
      array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    arr = _check_x(x)
    low_q, high_q = check_percentiles(low, high)
    per_channel = check_bool("per_channel", per_channel)
    nodata_value, fill_value = check_mask(nodata, fill)
    out_dtype = check_output_dtype(dtype)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=out_dtype)

    v = _as_batch(arr)
    y = np.empty_like(v)
    with np.errstate(all="ignore"):
        for b in range(v.shape[0]):
            image = v[b]
            for band in _bands(image.shape[1], per_channel):
                values = image[band]
                valid = _valid_mask(values, nodata_value)
                out = np.full(values.shape, fill_value)
                if np.any(valid):
                    lo = np.percentile(values[valid], low_q, method="linear")
                    hi = np.percentile(values[valid], high_q, method="linear")
                    if hi == lo:
                        out[valid] = np.where(values[valid] > lo, 1.0, 0.0)
                    else:
                        out[valid] = np.clip((values[valid] - lo) / (hi - lo), 0.0, 1.0)
                y[b][band] = out
        return y.reshape(arr.shape).astype(out_dtype)


# =========================================================================== decoders
#
# The semantics of ``docs/decoding-spec.md``. Every length, shape and offset read from
# ``contents`` is checked before it is used, and nothing is allocated that the input
# cannot justify. Problems in the bytes raise ``ValueError`` with a message that starts
# with (or names) ``contents`` and uses one of the words ``truncated``, ``header``,
# ``shape``, ``descr``, ``trailing``, ``zip``, ``deflate``, ``CRC``, ``member``, ``record``.
# Bad dtype arguments (``dtype``, ``spec`` values, ``schema``) raise ``TypeError``; other
# bad argument values ``ValueError``.

#: Element dtypes the decoders support (outputs are always in native byte order).
DECODE_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
)

#: The first six bytes of every .npy file.
NPY_MAGIC = b"\x93NUMPY"
#: The .npy format versions the decoders read.
NPY_VERSIONS = ((1, 0), (2, 0), (3, 0))
#: The largest rank decode_npy accepts.
NPY_MAX_RANK = 32
#: Array sizes in bytes must fit a signed 64-bit integer.
MAX_NBYTES = 2**63 - 1
#: A deflate member may claim at most ``DEFLATE_MAX_RATIO * compressed + DEFLATE_SLACK``
#: bytes uncompressed (deflate cannot expand more than about 1032:1).
DEFLATE_MAX_RATIO = 1032
DEFLATE_SLACK = 1024

# descr strings of the supported dtypes without the byte order: "b1", "i1", ..., "f8".
_DESCR_CODES = frozenset(f"{d.kind}{d.itemsize}" for d in DECODE_DTYPES)
_DESCR_RE = re.compile(r"([<>|=])([a-z])([0-9]+)")
_NPY_KEYS = ("descr", "fortran_order", "shape")


def _preview(value: Any, limit: int = 80) -> str:
    """repr(value), cut to ``limit`` characters (hostile headers can be long)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _contents_bytes(contents: Any, name: str = "contents") -> bytes:
    """``contents`` (bytes, bytearray or memoryview) as bytes."""
    if isinstance(contents, bytes):
        return contents
    if isinstance(contents, bytearray | memoryview):
        return bytes(contents)
    raise TypeError(f"{name} must be bytes, bytearray or memoryview; got {type(contents).__name__}")


def check_decode_dtype(name: str, dtype: DTypeLike) -> np.dtype:
    """Returns ``dtype`` as a native-byte-order NumPy dtype, or raises TypeError.

    Accepts a string, a NumPy dtype or scalar type, or anything with an ``as_numpy_dtype``
    attribute (a ``tf.DType``). Either byte order is accepted; the result is native.
    """
    candidate = getattr(dtype, "as_numpy_dtype", dtype)
    try:
        out = None if candidate is None else np.dtype(candidate)
    except (TypeError, ValueError):
        out = None
    if out is not None and out.names is None and out.subdtype is None:
        native = out.newbyteorder("=")
        if native in DECODE_DTYPES:
            return native
    given = _preview(dtype) if out is None else str(out)
    raise TypeError(f"{name} {given} is not supported; expected one of {_names(DECODE_DTYPES)}")


def check_shape_arg(shape: Sequence[int | None] | None) -> tuple[int | None, ...] | None:
    """Validates the ``shape`` argument of :func:`decode_npy`.

    Returns None (no constraint) or a tuple with an int >= 0 per known dimension and None
    for "any" (given as -1 or None).
    """
    if shape is None:
        return None
    expected = "None or a sequence of ints (-1 or None for any)"
    if isinstance(shape, str | bytes):
        raise TypeError(f"shape must be {expected}; got {shape!r}")
    try:
        dims = list(shape)  # a tuple, list, array or tf.TensorShape
    except TypeError as exc:
        raise TypeError(f"shape must be {expected}; got {shape!r}") from exc
    out: list[int | None] = []
    for d in dims:
        if d is None:
            out.append(None)
            continue
        if isinstance(d, bool | np.bool_):
            raise TypeError(f"shape must hold ints, -1 or None; got {dims!r}")
        try:
            value = operator.index(d)
        except TypeError as exc:
            raise TypeError(f"shape must hold ints, -1 or None; got {dims!r}") from exc
        if value < -1:
            raise ValueError(
                f"shape has dimension {value}; expected ints >= 0, or -1 or None for any: "
                f"got {dims!r}"
            )
        out.append(None if value == -1 else value)
    if len(out) > NPY_MAX_RANK:
        raise ValueError(f"shape has rank {len(out)}; expected at most {NPY_MAX_RANK}")
    return tuple(out)


def _shape_text(shape: Sequence[int | None]) -> str:
    """A shape as Python writes a tuple, with ``?`` for "any": (2, ?, 4), (6,), ()."""
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


# --------------------------------------------------------------------------- .npy


@dataclass(frozen=True)
class NpyHeader:
    """What the header of a .npy file says, after every check.

    ``dtype`` is the dtype as stored (its byte order may be non-native); ``data_offset``
    is where the array data begins.
    """

    version: tuple[int, int]
    descr: str
    dtype: np.dtype
    fortran_order: bool
    shape: tuple[int, ...]
    data_offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _npy_dtype_of_descr(descr: Any) -> np.dtype:
    """The dtype of a header's descr, or ValueError (``descr``) if it is not supported."""
    expected = f"expected one of {_names(DECODE_DTYPES)} with byte order <, >, | or ="
    if not isinstance(descr, str):
        kind = "a structured" if isinstance(descr, list | tuple) else "a non-string"
        raise ValueError(
            f"contents has {kind} descr {_preview(descr)} in its .npy header; {expected}"
        )
    match = _DESCR_RE.fullmatch(descr)
    if match is None or match[2] + match[3] not in _DESCR_CODES:
        raise ValueError(f"contents has unsupported descr {_preview(descr)}; {expected}")
    order = "=" if match[1] == "|" else match[1]  # "|": byte order not applicable
    return np.dtype(order + match[2] + match[3])


def read_npy_header(buf: bytes) -> NpyHeader:
    """Parses and checks the header of the .npy file ``buf``.

    Checks the magic, the version (1.0, 2.0 or 3.0), that the header fits in ``buf``,
    that it is a dict literal with exactly the keys descr, fortran_order and shape, the
    descr (a supported dtype), fortran_order (a bool) and the shape (a tuple of at most
    32 ints >= 0 whose size in bytes fits in int64). Does not look at the data.
    """
    n = len(buf)
    if n < len(NPY_MAGIC):
        if buf == NPY_MAGIC[:n]:
            raise ValueError(
                f"contents is truncated: {n} bytes, fewer than the 10 of the smallest .npy header"
            )
        raise ValueError(
            f"contents is not a .npy file: its header starts with {bytes(buf[:6])!r}, not the "
            f"magic {NPY_MAGIC!r}"
        )
    if buf[:6] != NPY_MAGIC:
        raise ValueError(
            f"contents is not a .npy file: its header starts with {bytes(buf[:6])!r}, not the "
            f"magic {NPY_MAGIC!r}"
        )
    if n < 8:
        raise ValueError(f"contents is truncated: {n} bytes end inside the .npy header")
    version = (buf[6], buf[7])
    if version not in NPY_VERSIONS:
        raise ValueError(
            f"contents has .npy format version {version[0]}.{version[1]} in its header; "
            "expected 1.0, 2.0 or 3.0"
        )
    length_format = "<H" if version[0] == 1 else "<I"
    start = 8 + struct.calcsize(length_format)
    if n < start:
        raise ValueError(f"contents is truncated: {n} bytes end inside the .npy header")
    (header_len,) = struct.unpack_from(length_format, buf, 8)
    end = start + header_len
    if end > n:
        raise ValueError(
            f"contents is truncated: the .npy header length is {header_len} bytes, but only "
            f"{n - start} bytes follow it"
        )
    raw = bytes(buf[start:end])
    try:
        text = raw.decode("utf-8" if version[0] == 3 else "latin-1")
    except UnicodeDecodeError as exc:
        raise ValueError(f"contents has a .npy 3.0 header that is not UTF-8: {exc}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for odd escapes
        try:
            d = ast.literal_eval(text)
        except Exception as exc:  # any rejection by the literal parser
            raise ValueError(
                f"contents has a malformed .npy header: {_preview(text)} is not a Python "
                f"literal ({type(exc).__name__})"
            ) from exc
    if not isinstance(d, dict):
        raise ValueError(
            f"contents has a malformed .npy header: {_preview(text)} is not a dict literal"
        )
    keys = sorted(map(repr, d))
    if keys != sorted(map(repr, _NPY_KEYS)):
        raise ValueError(
            f"contents has a .npy header with keys {', '.join(keys)}; expected exactly "
            "'descr', 'fortran_order' and 'shape'"
        )
    dtype = _npy_dtype_of_descr(d["descr"])
    fortran_order = d["fortran_order"]
    if not isinstance(fortran_order, bool):
        raise ValueError(
            f"contents has fortran_order {_preview(fortran_order)} in its .npy header; "
            "expected True or False"
        )
    shape = d["shape"]
    if not isinstance(shape, tuple) or not all(type(s) is int for s in shape):
        raise ValueError(
            f"contents has shape {_preview(shape)} in its .npy header; expected a tuple of ints"
        )
    if any(s < 0 for s in shape):
        raise ValueError(
            f"contents has shape {_preview(shape)} with a negative dimension in its .npy header"
        )
    if len(shape) > NPY_MAX_RANK:
        raise ValueError(
            f"contents has a shape of rank {len(shape)} in its .npy header; expected at most "
            f"{NPY_MAX_RANK}"
        )
    # As np.load, the sizes other than 0 must fit too, even where a 0 makes the array empty.
    nbytes = math.prod(s for s in shape if s) * dtype.itemsize
    if nbytes > MAX_NBYTES:
        raise ValueError(
            f"contents has shape {_preview(shape)} in its .npy header: {nbytes} bytes of "
            f"{dtype.name} do not fit in a signed 64-bit size"
        )
    return NpyHeader(version, d["descr"], dtype, fortran_order, shape, end)


def decode_npy(
    contents: bytes | bytearray | memoryview,
    dtype: DTypeLike,
    *,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Decodes the bytes of one ``.npy`` file into an array (native byte order, C order).

    Args:
      contents: the bytes of one .npy file (bytes, bytearray or memoryview).
      dtype: the dtype the file must hold: bool, int8/16/32/64, uint8/16/32/64,
        float16/32/64 (a string, NumPy dtype or type, or a ``tf.DType``; byte order aside).
      shape: None, or the shape the file must have: a sequence of ints with -1 or None for
        "any" dimension.

    Returns:
      The array of the header's shape, dtype ``dtype`` in native byte order, C order.

    Boundary rules:
      - format versions 1.0, 2.0 and 3.0; descr byte order <, >, | or =; fortran_order True
        (the data is converted to C order) or False; rank 0 to 32.
      - a header dtype other than ``dtype`` (byte order aside): ValueError naming both.
      - a header shape that does not match ``shape`` (rank, or a given dimension):
        ValueError naming both.
      - the data must be exactly product(shape) * itemsize bytes: fewer is ``truncated``,
        more is ``trailing``; nothing is allocated before this is checked.
      - bad magic, version, header length, header literal, keys, descr (structured, object
        or any unsupported dtype), fortran_order or shape (negative, rank > 32, size not
        fitting int64): ValueError naming ``contents``.
      - an unsupported ``dtype``: TypeError; a bad ``shape`` value: ValueError.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.save(f, np.array([[1, 2], [3, 4]], dtype=">i2"))
      >>> decode_npy(f.getvalue(), np.int16, shape=(-1, 2))
      array([[1, 2],
             [3, 4]], dtype=int16)
    """
    buf = _contents_bytes(contents)
    want = check_decode_dtype("dtype", dtype)
    wanted_shape = check_shape_arg(shape)
    header = read_npy_header(buf)
    have = header.dtype.newbyteorder("=")
    if have != want:
        raise ValueError(
            f"contents holds {have.name} (descr {header.descr!r}), but dtype is {want.name}"
        )
    if wanted_shape is not None and (
        len(wanted_shape) != len(header.shape)
        or any(w is not None and w != h for w, h in zip(wanted_shape, header.shape, strict=True))
    ):
        raise ValueError(
            f"contents has shape {_shape_text(header.shape)}, but shape is "
            f"{_shape_text(wanted_shape)}"
        )
    available = len(buf) - header.data_offset
    if available < header.nbytes:
        raise ValueError(
            f"contents is truncated: shape {_shape_text(header.shape)} of {have.name} needs "
            f"{header.nbytes} bytes of data after the header, found {available}"
        )
    if available > header.nbytes:
        raise ValueError(
            f"contents has {available - header.nbytes} trailing bytes after the "
            f"{header.nbytes} bytes of data of shape {_shape_text(header.shape)}"
        )
    flat = np.frombuffer(
        buf, dtype=header.dtype, count=math.prod(header.shape), offset=header.data_offset
    )
    arr = flat.reshape(header.shape, order="F" if header.fortran_order else "C")
    return arr.astype(want, order="C")  # a copy: native byte order, C order, writable


# --------------------------------------------------------------------------- .npz (ZIP)

_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_SIG = b"PK\x03\x04"
_EOCD_SIZE = 22
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD_SIZE = 56
_CENTRAL_SIZE = 46
_LOCAL_SIZE = 30


@dataclass(frozen=True)
class ZipMember:
    """One entry of a ZIP central directory (sizes already resolved through ZIP64)."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    uncompressed_size: int
    local_header_offset: int


@dataclass(frozen=True)
class ZipDirectory:
    members: list[ZipMember]
    central_directory_offset: int


def _zip_error(message: str) -> ValueError:
    return ValueError(f"contents is not a valid zip archive: {message}")


def _find_eocd(buf: bytes) -> int:
    """Offset of the end-of-central-directory record: the last one whose comment ends buf."""
    last = len(buf) - _EOCD_SIZE
    for pos in range(last, max(-1, last - 0xFFFF - 1), -1):
        if buf[pos : pos + 4] == _EOCD_SIG:
            (comment_len,) = struct.unpack_from("<H", buf, pos + 20)
            if pos + _EOCD_SIZE + comment_len == len(buf):
                return pos
    raise _zip_error(
        f"no end of central directory record in its {len(buf)} bytes (truncated, or not a "
        ".npz file)"
    )


def read_zip_directory(buf: bytes) -> ZipDirectory:
    """Parses and checks the central directory of the ZIP archive ``buf`` (ZIP64 included).

    Checks that the directory lies inside ``buf`` before the end records, that it holds the
    number of entries the end record says, and that every entry (with its name, extra
    field and comment) lies inside the directory. Member data is not looked at here.
    """
    eocd = _find_eocd(buf)
    disk, cd_disk, entries_disk, entries, cd_size, cd_offset = struct.unpack_from(
        "<HHHHII", buf, eocd + 4
    )
    end_of_directory = eocd  # the central directory must end before the end records
    locator = eocd - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and buf[locator : locator + 4] == _ZIP64_LOCATOR_SIG:
        _, record, _ = struct.unpack_from("<IQI", buf, locator + 4)
        if record + _ZIP64_EOCD_SIZE > locator:
            raise _zip_error(
                f"the ZIP64 end record offset {record} points past the ZIP64 locator at {locator}"
            )
        if buf[record : record + 4] != _ZIP64_EOCD_SIG:
            raise _zip_error(f"no ZIP64 end of central directory record at offset {record}")
        disk, cd_disk, entries_disk, entries, cd_size, cd_offset = struct.unpack_from(
            "<IIQQQQ", buf, record + 16
        )
        end_of_directory = record
    if disk != 0 or cd_disk != 0 or entries_disk != entries:
        raise _zip_error("multi-disk archives are not supported")
    if cd_offset + cd_size > end_of_directory:
        raise _zip_error(
            f"the central directory (offset {cd_offset}, {cd_size} bytes) runs past the end "
            f"records at offset {end_of_directory}"
        )
    cd_end = cd_offset + cd_size
    members: list[ZipMember] = []
    pos = cd_offset
    for index in range(entries):
        if pos + _CENTRAL_SIZE > cd_end:
            raise _zip_error(
                f"the end record says {entries} entries, but the {cd_size}-byte central "
                f"directory ends after {index}"
            )
        if buf[pos : pos + 4] != _CENTRAL_SIG:
            raise _zip_error(f"central directory entry {index} has a bad signature")
        (flags, method, _time, _date, crc, csize, usize, name_len, extra_len, comment_len) = (
            struct.unpack_from("<HHHHIIIHHH", buf, pos + 8)
        )
        (local_offset,) = struct.unpack_from("<I", buf, pos + 42)
        name_start = pos + _CENTRAL_SIZE
        extra_start = name_start + name_len
        next_pos = extra_start + extra_len + comment_len
        if next_pos > cd_end:
            raise _zip_error(f"central directory entry {index} runs past the directory's end")
        raw_name = buf[name_start:extra_start]
        try:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError as exc:
            raise _zip_error(f"central directory entry {index} has a bad name") from exc
        # ZIP64: the fields that are 0xFFFFFFFF follow, in this order, in extra field 1.
        needed = [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, local_offset == 0xFFFFFFFF]
        if any(needed):
            values = _zip64_extra(buf[extra_start : extra_start + extra_len], sum(needed), name)
            resolved = iter(values)
            usize = next(resolved) if needed[0] else usize
            csize = next(resolved) if needed[1] else csize
            local_offset = next(resolved) if needed[2] else local_offset
        members.append(ZipMember(name, flags, method, crc, csize, usize, local_offset))
        pos = next_pos
    return ZipDirectory(members, cd_offset)


def _zip64_extra(extra: bytes, count: int, name: str) -> tuple[int, ...]:
    """The first ``count`` 64-bit values of the ZIP64 extra field (id 1) in ``extra``."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + size > len(extra):
            break
        if tag == 1:
            if size < 8 * count:
                raise _zip_error(f"member {name!r} has a short ZIP64 extra field")
            return struct.unpack_from(f"<{count}Q", extra, pos + 4)
        pos += 4 + size
    raise _zip_error(f"member {name!r} needs a ZIP64 extra field but has none")


def read_zip_member(buf: bytes, directory: ZipDirectory, member: ZipMember) -> bytes:
    """The uncompressed bytes of ``member``, after the size bound, inflate and CRC checks."""
    name = member.name
    if member.flags & 0x1:
        raise ValueError(f"contents has zip member {name!r} encrypted; not supported")
    if member.method not in (0, 8):
        raise ValueError(
            f"contents has zip member {name!r} with compression method {member.method}; "
            "expected 0 (stored) or 8 (deflate)"
        )
    csize, usize = member.compressed_size, member.uncompressed_size
    if member.method == 0 and csize != usize:
        raise ValueError(
            f"contents has stored zip member {name!r} with compressed size {csize} != "
            f"uncompressed size {usize}"
        )
    if usize > DEFLATE_MAX_RATIO * csize + DEFLATE_SLACK:
        raise ValueError(
            f"contents has zip member {name!r} claiming {usize} bytes from {csize} compressed: "
            f"more than deflate can expand ({DEFLATE_MAX_RATIO} * {csize} + {DEFLATE_SLACK})"
        )
    offset = member.local_header_offset
    if offset + _LOCAL_SIZE > directory.central_directory_offset:
        raise ValueError(
            f"contents has zip member {name!r} whose local header offset {offset} lies past "
            "the member data"
        )
    if buf[offset : offset + 4] != _LOCAL_SIG:
        raise ValueError(
            f"contents has zip member {name!r} with a bad local header signature at {offset}"
        )
    name_len, extra_len = struct.unpack_from("<HH", buf, offset + 26)
    start = offset + _LOCAL_SIZE + name_len + extra_len
    end = start + csize
    if end > directory.central_directory_offset:
        raise ValueError(
            f"contents has zip member {name!r} whose {csize} bytes of data (from offset "
            f"{start}) run into the central directory at {directory.central_directory_offset}"
        )
    raw = buf[start:end]
    if member.method == 0:
        data = raw
    else:
        inflater = zlib.decompressobj(-15)  # raw deflate, no zlib header
        try:
            # One byte more than claimed, to see whether the stream inflates to more.
            data = inflater.decompress(raw, usize + 1)
        except zlib.error as exc:
            raise ValueError(
                f"contents has zip member {name!r} with a corrupt deflate stream: {exc}"
            ) from exc
        if len(data) > usize:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream inflates to more than "
                f"the {usize} bytes its directory entry says"
            )
        if not inflater.eof:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream is truncated "
                f"(inflated {len(data)} of {usize} bytes)"
            )
        if len(data) < usize:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream inflates to {len(data)} "
                f"bytes, fewer than the {usize} its directory entry says"
            )
        if inflater.unused_data:
            raise ValueError(
                f"contents has zip member {name!r} with {len(inflater.unused_data)} bytes after "
                "the end of its deflate stream"
            )
    crc = zlib.crc32(data)
    if crc != member.crc:
        raise ValueError(
            f"contents has zip member {name!r} with a bad CRC-32: {crc:#010x}, but the "
            f"directory says {member.crc:#010x}"
        )
    return data


def check_npz_spec(spec: Mapping[str, DTypeLike]) -> dict[str, np.dtype]:
    """Validates the ``spec`` of :func:`decode_npz`; returns {name: native NumPy dtype}."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a dict from member name to dtype; got {type(spec).__name__}")
    out: dict[str, np.dtype] = {}
    for name, dtype in spec.items():
        if not isinstance(name, str):
            raise TypeError(f"spec keys must be member names (str); got {name!r}")
        out[name] = check_decode_dtype(f"spec[{name!r}]", dtype)
    return out


def _member_label(name: str) -> str:
    return name[: -len(".npy")] if name.endswith(".npy") else name


def decode_npz(
    contents: bytes | bytearray | memoryview, spec: Mapping[str, DTypeLike]
) -> dict[str, np.ndarray]:
    """Decodes the members named in ``spec`` of one ``.npz`` file.

    Args:
      contents: the bytes of one .npz file: a ZIP archive of .npy members as written by
        ``numpy.savez`` (stored) or ``numpy.savez_compressed`` (deflate), ZIP64 included.
      spec: a dict from member name (without ``.npy``) to the dtype it must hold, e.g.
        ``{"image": np.uint8, "label": np.int64}``.

    Returns:
      A dict with exactly the keys of ``spec`` (in its order); each member as
      :func:`decode_npy` decodes it (native byte order, C order).

    Boundary rules:
      - a name of ``spec`` without a member ``<name>.npy``: ValueError naming it and the
        members present (``member``).
      - compression methods 0 (stored) and 8 (deflate); anything else, or an encrypted
        member: ValueError.
      - a member may claim at most 1032 * its compressed size + 1024 bytes uncompressed,
        checked before anything is inflated.
      - the deflate stream must inflate to exactly the size its directory entry says
        (``deflate``) and the CRC-32 of every member read must match (``CRC``).
      - the archive's structure (end records, central directory, local headers, member
        data) must lie inside ``contents``; a member's .npy must be valid and hold the
        dtype of ``spec``: ValueError naming ``contents`` and the member.
      - a ``spec`` that is not a dict, or an unsupported dtype in it: TypeError.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.savez_compressed(f, x=np.arange(3.0), y=np.uint8(7))
      >>> decode_npz(f.getvalue(), {"y": np.uint8, "x": np.float64})
      {'y': array(7, dtype=uint8), 'x': array([0., 1., 2.])}
    """
    buf = _contents_bytes(contents)
    wanted = check_npz_spec(spec)
    directory = read_zip_directory(buf)
    by_name: dict[str, list[ZipMember]] = {}
    for member in directory.members:
        by_name.setdefault(member.name, []).append(member)
    out: dict[str, np.ndarray] = {}
    for key, dtype in wanted.items():
        found = by_name.get(key + ".npy", [])
        if not found:
            present = ", ".join(repr(_member_label(m.name)) for m in directory.members)
            raise ValueError(
                f"contents has no member {key!r} ({key}.npy); the members present are: "
                f"{present or '(none)'}"
            )
        if len(found) > 1:
            raise ValueError(f"contents has zip member {key + '.npy'!r} more than once")
        data = read_zip_member(buf, directory, found[0])
        try:
            out[key] = decode_npy(data, dtype)
        except ValueError as exc:
            raise ValueError(
                f"contents has member {key!r} that is not a valid .npy: {exc}"
            ) from exc
    return out


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordField:
    """One field of a records schema: where it is and what it decodes to."""

    name: str
    offset: int
    stored: np.dtype  # the element dtype as stored (byte order of the schema)
    dtype: np.dtype  # the output element dtype (native byte order)
    shape: tuple[int, ...]  # the subarray shape, () for a scalar field


def check_schema(schema: DTypeLike) -> tuple[np.dtype, list[RecordField]]:
    """Validates the ``schema`` of :func:`decode_records`; returns it and its fields.

    The schema must be a structured dtype with at least one field and itemsize > 0 whose
    fields are scalars or subarrays of the supported dtypes (either byte order); nested
    structures are a TypeError.
    """
    try:
        dt = np.dtype(schema)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"schema must be a NumPy structured dtype; got {_preview(schema)}") from exc
    if dt.names is None or len(dt.names) == 0:
        raise TypeError(f"schema must be a structured dtype with fields; got {dt}")
    if dt.itemsize == 0:
        raise TypeError(f"schema {dt} has itemsize 0; a record must have at least one byte")
    fields = []
    for name in dt.names:
        field_dtype, offset = dt.fields[name][:2]
        base, shape = (field_dtype.base, field_dtype.shape)
        if base.names is not None:
            raise TypeError(
                f"schema field {name!r} is a nested structure ({field_dtype}); expected one of "
                f"{_names(DECODE_DTYPES)} or a subarray of one"
            )
        native = base.newbyteorder("=")
        if native not in DECODE_DTYPES:
            raise TypeError(
                f"schema field {name!r} has unsupported dtype {base}; expected one of "
                f"{_names(DECODE_DTYPES)}"
            )
        fields.append(RecordField(name, offset, base, native, tuple(shape)))
    return dt, fields


def check_skip(name: str, value: int) -> int:
    """Validates ``header_bytes``/``footer_bytes``: an int >= 0."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int >= 0; got {value!r}")
    try:
        n = operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an int >= 0; got {value!r}") from exc
    if n < 0:
        raise ValueError(f"{name} must be >= 0; got {n}")
    return n


def _records_body(buf: bytes, header: int, footer: int, itemsize: int, where: str) -> bytes:
    """The bytes of the records in one string (header and footer skipped), checked."""
    n = len(buf) - header - footer
    if n < 0:
        raise ValueError(
            f"{where} has {len(buf)} bytes, fewer than header_bytes + footer_bytes = "
            f"{header + footer}: no room for a record"
        )
    extra = n % itemsize
    if extra:
        count = n // itemsize
        raise ValueError(
            f"{where} holds {n} bytes of records (after {header} header and {footer} footer "
            f"bytes), not a whole number of {itemsize}-byte records: {extra} bytes too many "
            f"for {count} records, {itemsize - extra} bytes short of {count + 1}"
        )
    return buf[header : len(buf) - footer]


def decode_records(
    contents: Any,
    schema: DTypeLike,
    *,
    header_bytes: int = 0,
    footer_bytes: int = 0,
) -> dict[str, np.ndarray]:
    """Decodes fixed-length binary records into one array per field.

    Args:
      contents: either one bytes-like string of many records, or a list/tuple of bytes-like
        strings each holding exactly one record.
      schema: a NumPy structured dtype: field names, offsets, padding (itemsize larger than
        the fields), per-field byte order and subarray shapes are respected.
      header_bytes: bytes skipped at the start (of the string, or of each string of a
        batch).
      footer_bytes: bytes skipped at the end (likewise).

    Returns:
      A dict field name -> array of shape ``[num_records, *field_shape]`` in the field's
      dtype in native byte order (C order), in the schema's field order.

    Boundary rules:
      - one string: what is left after header and footer must be a whole number of records
        (zero records is fine), else a ValueError saying by how many bytes it is off
        (``record``).
      - a batch: each string must be exactly header + itemsize + footer bytes long, else a
        ValueError naming its index and by how many bytes it is off; an empty batch gives
        zero records.
      - fields must be scalars or subarrays of bool, int8/16/32/64, uint8/16/32/64 or
        float16/32/64 in either byte order; nested structures and other dtypes: TypeError.
      - negative ``header_bytes``/``footer_bytes``: ValueError.

    Example:
      >>> schema = np.dtype([("label", "u1"), ("value", ">u2", (2,))])
      >>> out = decode_records(b"\\x07\\x00\\x01\\x01\\x00" * 2, schema)
      >>> out["label"], out["value"]
      (array([7, 7], dtype=uint8), array([[  1, 256],
             [  1, 256]], dtype=uint16))
    """
    dt, fields = check_schema(schema)
    header = check_skip("header_bytes", header_bytes)
    footer = check_skip("footer_bytes", footer_bytes)
    if isinstance(contents, list | tuple):
        bodies = []
        for i, item in enumerate(contents):
            record = _contents_bytes(item, f"contents[{i}]")
            expected = header + dt.itemsize + footer
            if len(record) != expected:
                diff = len(record) - expected
                raise ValueError(
                    f"contents[{i}] has {len(record)} bytes; one record with its header and "
                    f"footer is {header} + {dt.itemsize} + {footer} = {expected} bytes: "
                    f"{abs(diff)} bytes {'too many' if diff > 0 else 'short'}"
                )
            bodies.append(record[header : header + dt.itemsize])
        body = b"".join(bodies)
    else:
        body = _records_body(_contents_bytes(contents), header, footer, dt.itemsize, "contents")
    records = np.frombuffer(body, dtype=dt, count=len(body) // dt.itemsize)
    out: dict[str, np.ndarray] = {}
    for field in fields:
        column = np.ascontiguousarray(records[field.name])  # [num_records, *field.shape]
        out[field.name] = column.astype(field.dtype, order="C")
    return out


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
    value = _check_real("nodata", nodata)
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
    a = _check_real("angle", angle)
    if not math.isfinite(a):
        raise ValueError(f"angle must be finite (degrees); got {angle!r}")
    s = _check_real("scale", scale)
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
    num = 0.0
    den = 0.0
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
    inverse = check_bool("inverse", inverse)
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
    inverse = check_bool("inverse", inverse)
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
    raw_fill = check_fill_value(fill_value, None, channels, np.float64).astype(np.float32)
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
    out_hw = maps_x.shape[1:]
    check_output_size(f"map_x/map_y of shape {out_hw}", *out_hw, count, channels, arr.itemsize)
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
