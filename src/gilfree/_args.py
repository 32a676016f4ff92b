"""Argument conversions shared by every face (TensorFlow, NumPy, reference, fallback, Keras).

Pure Python and NumPy. A rule about what an argument may be is written here once; the faces
call it, and the TensorFlow face turns its TypeError or ValueError into
InvalidArgumentError.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


def bool_arg(name: str, value: Any) -> bool:
    """``value`` as a bool; only True, False and NumPy bools are taken (``"false"`` or ``1``
    is a TypeError rather than a truth value)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _numeric(value: Any) -> np.ndarray | None:
    """``value`` as an array of bools, integers or floats, or None if it is not one."""
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    return arr if arr.dtype.kind in "biuf" else None


def real_arg(name: str, value: Any) -> float:
    """``value`` as a Python float; only a real number (a Python or NumPy bool, int or float, or a
    0-d array of one) is taken, else TypeError."""
    arr = _numeric(value)
    if arr is None or arr.ndim != 0:
        raise TypeError(f"{name} must be a real number; got {value!r}")
    return float(arr)


def optional_real_arg(name: str, value: Any) -> float | None:
    """None, or ``value`` as by :func:`real_arg`."""
    return None if value is None else real_arg(name, value)


def int_arg(name: str, value: Any) -> int:
    """``value`` as a Python int; only integers (Python or NumPy, not bools) are taken, else
    TypeError. Ranges are the core's to check."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {value!r}") from None


def params_arg(name: str, value: Any) -> np.ndarray:
    """A number or a sequence of numbers (``mean``, ``std``) as a float64 array of its shape;
    anything else is a TypeError. Lengths and ranks are the core's to check."""
    arr = _numeric(value)
    if arr is None:
        raise TypeError(f"{name} must be a number or a sequence of numbers; got {value!r}")
    return arr.astype(np.float64)
