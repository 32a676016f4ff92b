"""Type stubs of the compiled NumPy adapter (cpp/numpy/module.cc)."""

import numpy as np
import numpy.typing as npt

def simd_level() -> str: ...
def simd_targets() -> list[tuple[str, bool]]: ...
def compiler() -> str: ...
def normalize(
    x: np.ndarray, mean: npt.ArrayLike, std: npt.ArrayLike, scale: float, dtype: str
) -> np.ndarray: ...
def standardize(
    x: np.ndarray, per_channel: bool, epsilon: float | None, dtype: str
) -> np.ndarray: ...
def minmax_scale(
    x: np.ndarray, per_channel: bool, nodata: float | None, fill: float, dtype: str
) -> np.ndarray: ...
def percentile_stretch(
    x: np.ndarray,
    low: float,
    high: float,
    per_channel: bool,
    nodata: float | None,
    fill: float,
    dtype: str,
) -> np.ndarray: ...
