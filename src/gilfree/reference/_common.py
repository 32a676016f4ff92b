"""Shared by the families: input and output dtypes, argument checks and the image layout."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from gilfree import _args

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


def check_channel_param(name: str, value: ParamLike, channels: int) -> np.ndarray:
    """Validates ``mean``/``std`` of :func:`normalize`; returns a float64 array of length C.

    ``value`` must be a scalar or a 1-D sequence of length 1 (broadcast) or ``channels``,
    with finite values; for ``std`` the values must also be non-zero.
    """
    arr = _args.params_arg(name, value)
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
    value = _args.real_arg("scale", scale)
    if not math.isfinite(value) or value == 0:
        raise ValueError(f"scale must be finite and non-zero; got {value!r}")
    return value


def check_epsilon(epsilon: float | None) -> float | None:
    """Validates ``epsilon`` of :func:`standardize` (None, or finite and > 0)."""
    if epsilon is None:
        return None
    value = _args.real_arg("epsilon", epsilon)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"epsilon must be finite and > 0; got {value!r}")
    return value


def check_percentiles(low: float, high: float) -> tuple[float, float]:
    """Validates ``low``/``high`` of :func:`percentile_stretch`: finite, in [0, 100], low < high."""
    lo = _args.real_arg("low", low)
    hi = _args.real_arg("high", high)
    for name, value in (("low", lo), ("high", hi)):
        if not math.isfinite(value) or not 0.0 <= value <= 100.0:
            raise ValueError(f"{name} must be a finite percentile in [0, 100]; got {value!r}")
    if not lo < hi:
        raise ValueError(f"low must be < high; got low={lo!r}, high={hi!r}")
    return lo, hi


def check_mask(nodata: float | None, fill: float) -> tuple[float | None, float]:
    """Validates ``nodata`` (None or a real number) and ``fill`` (a real number, NaN allowed)."""
    return _args.optional_real_arg("nodata", nodata), _args.real_arg("fill", fill)


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
