"""normalize, standardize, minmax_scale and percentile_stretch (docs/normalization-spec.md)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gilfree._args import bool_arg
from gilfree.reference._common import (
    DTypeLike,
    ParamLike,
    _as_batch,
    _bands,
    _check_x,
    channels_of,
    check_channel_param,
    check_epsilon,
    check_mask,
    check_output_dtype,
    check_percentiles,
    check_scale,
)

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
    per_channel = bool_arg("per_channel", per_channel)
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


def _spreads(span: float) -> bool:
    """Whether hi - lo spreads the values: positive, with a reciprocal float32 holds."""
    return bool(span > 0) and 1.0 / float(span) <= float(np.finfo(np.float32).max)


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
      - when hi == lo (constant band), the valid elements map to 0; so do they when
        1 / (hi - lo) exceeds float32's largest value (a range below about 2.9e-39).
      - a band with no valid element is all ``fill``.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> minmax_scale(np.array([0, 10, 20, 30], dtype=np.uint16), nodata=0, fill=-1.0)
      array([-1. ,  0. ,  0.5,  1. ], dtype=float32)
    """
    arr = _check_x(x)
    per_channel = bool_arg("per_channel", per_channel)
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
                    if not _spreads(hi - lo):
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
      - when hi == lo (or 1 / (hi - lo) exceeds float32's largest value): valid elements
        map to 0 where x <= lo and to 1 where x > lo.
      - low/high non-finite, outside [0, 100], or low >= high: ValueError.
      - zero-size x: an empty array of the same shape (parameters still validated).

    Example:
      >>> percentile_stretch(np.array([0, 1, 2, 3, 100], dtype=np.float32), 25, 75)
      array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    arr = _check_x(x)
    low_q, high_q = check_percentiles(low, high)
    per_channel = bool_arg("per_channel", per_channel)
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
                    if not _spreads(hi - lo):
                        out[valid] = np.where(values[valid] > lo, 1.0, 0.0)
                    else:
                        out[valid] = np.clip((values[valid] - lo) / (hi - lo), 0.0, 1.0)
                y[b][band] = out
        return y.reshape(arr.shape).astype(out_dtype)
