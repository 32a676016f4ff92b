"""Argument conversions shared by every face (TensorFlow, NumPy, reference, fallback, Keras).

Pure Python and NumPy. A rule about what an argument may be is written here once; the faces
call it, and the TensorFlow face turns its TypeError or ValueError into
InvalidArgumentError.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def bool_arg(name: str, value: Any) -> bool:
    """``value`` as a bool; only True, False and NumPy bools are taken (``"false"`` or ``1``
    is a TypeError rather than a truth value)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def real_arg(name: str, value: Any) -> float:
    """``value`` as a Python float; only a real number (a Python or NumPy bool, int or float, or a
    0-d array of one) is taken, else TypeError."""
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number; got {value!r}")
    return float(arr)
