"""Argument handling shared by the NumPy and TensorFlow faces of the geometry ops.

The checks of values (finite, invertible, in range) live in the C++ core; this
module only turns Python arguments into the plain forms both adapters take.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np


def output_shape_arg(output_shape: Any) -> tuple[int, int] | None:
    """``(height, width)`` as two Python ints, or None for the input's."""
    if output_shape is None:
        return None
    expected = "two positive integers (height, width)"
    try:
        if isinstance(output_shape, str | bytes):
            raise TypeError
        values = [operator.index(v) for v in np.asarray(output_shape).reshape(-1).tolist()]
    except TypeError:
        raise TypeError(f"output_shape must be {expected}, got {output_shape!r}") from None
    if len(values) != 2 or np.ndim(output_shape) != 1:
        raise ValueError(f"output_shape must be {expected}, got {output_shape!r}")
    if any(not -(2**63) <= v < 2**63 for v in values):  # the core checks the limits of the rest
        raise ValueError(
            "output_shape must give a positive output height and width of at most 2^20, "
            f"got {tuple(values)}"
        )
    return values[0], values[1]


def fill_arg(fill_value: Any) -> np.ndarray:
    """fill_value as a 1-D float64 array (empty for None)."""
    if fill_value is None:
        return np.zeros(0, np.float64)
    try:
        arr = np.asarray(fill_value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"fill_value must be a number or one number per channel, got {fill_value!r}"
        ) from None
    if arr.ndim > 1:
        raise ValueError(
            f"fill_value must be a number or one number per channel, got shape {arr.shape}"
        )
    if arr.size == 0:  # the kernels read an empty fill_value as None
        raise ValueError(
            f"fill_value must be a number or one number per channel, got {fill_value!r}"
        )
    return arr.reshape(-1)


def nodata_arg(nodata: Any) -> float | None:
    if nodata is None:
        return None
    try:
        return float(nodata)
    except (TypeError, ValueError):
        raise TypeError(f"nodata must be a number or None, got {nodata!r}") from None


def threads_arg(threads: int | None) -> int:
    if threads is None:
        return 1
    try:
        value = operator.index(threads)
    except TypeError:
        raise TypeError(f"threads must be a positive integer, got {threads!r}") from None
    if value < 1:
        raise ValueError(f"threads must be a positive integer, got {value}")
    return value


def order_arg(order: Any) -> int:
    if isinstance(order, bool | np.bool_):
        raise TypeError(f"order must be 1, 2 or 3, got {order!r}")
    try:
        return operator.index(order)
    except TypeError:
        raise TypeError(f"order must be 1, 2 or 3, got {order!r}") from None


def string_arg(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value


def doubles_arg(name: str, value: Any) -> np.ndarray:
    """A matrix or point argument as a float64 array."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {value!r}") from None


def map_arg(name: str, value: Any) -> np.ndarray:
    """A coordinate map as float32 (float64 is converted; other dtypes are refused)."""
    arr = np.asarray(value)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 (or float64), got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None


def rotation_center(center: Sequence[float] | None, height: int, width: int) -> tuple[float, float]:
    """``center`` as (x, y); the image centre by default."""
    if center is None:
        return (width - 1) / 2.0, (height - 1) / 2.0
    try:
        c = np.asarray(center, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"center must be two finite numbers (x, y), got {center!r}") from None
    if c.shape != (2,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center must be two finite numbers (x, y), got {center!r}")
    return float(c[0]), float(c[1])


def rotation_rows(cos: Any, sin: Any, scale: Any, cx: float, cy: float) -> list[list[Any]]:
    """The forward matrix of ``rotate`` (cv2.getRotationMatrix2D's) from cos and sin of
    the angle, as nested rows: works on Python floats and on tensors alike."""
    a, b = scale * cos, scale * sin
    return [[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy]]


def rotation_matrix(
    angle: float, center: Sequence[float] | None, scale: float, height: int, width: int
) -> np.ndarray:
    """The forward [2, 3] matrix of ``rotate`` for a Python ``angle`` in degrees."""
    angle = _number("angle", angle)
    scale = _number("scale", scale)
    if not math.isfinite(angle):
        raise ValueError(f"angle must be a finite number of degrees, got {angle}")
    if not math.isfinite(scale) or scale == 0:
        raise ValueError(f"scale must be finite and non-zero, got {scale}")
    cx, cy = rotation_center(center, height, width)
    theta = math.radians(angle)
    return np.array(rotation_rows(math.cos(theta), math.sin(theta), scale, cx, cy), np.float64)
