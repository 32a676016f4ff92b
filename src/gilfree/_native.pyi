"""Type stubs of the compiled NumPy adapter (cpp/numpy/module.cc)."""

import numpy as np
import numpy.typing as npt

def simd_level() -> str: ...
def simd_targets() -> list[tuple[str, bool]]: ...
def compiler() -> str: ...
def validate_normalize(
    mean: npt.ArrayLike, std: npt.ArrayLike, scale: float, channels: int
) -> None: ...
def validate_standardize(epsilon: float | None) -> None: ...
def validate_percentile(low: float, high: float) -> None: ...
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

# Decoders (cpp/numpy/decode.cc). Buffers are anything with the buffer protocol.
def decode_npy(
    contents: bytes | bytearray | memoryview, dtype: str, shape: list[int] | None
) -> np.ndarray: ...
def decode_npz(
    contents: bytes | bytearray | memoryview, names: list[str], dtypes: list[str]
) -> list[np.ndarray]: ...
def decode_records(
    contents: bytes | bytearray | memoryview | list[bytes | bytearray | memoryview],
    record_bytes: int,
    offsets: list[int],
    dtypes: list[str],
    shapes: list[list[int]],
    swap: list[bool],
    header_bytes: int,
    footer_bytes: int,
) -> list[np.ndarray]: ...
def decode_tiff(
    contents: bytes | bytearray | memoryview,
    dtype: str | None,
    page: int,
    window: list[int] | None,
    shape: list[int] | None,
) -> np.ndarray: ...
def tiff_info(contents: bytes | bytearray | memoryview, page: int) -> dict[str, object]: ...
def tiff_has_zstd() -> bool: ...

# Geometry (cpp/numpy/warp.cc). kind: "affine", "perspective" or "projective".
def warp(
    image: np.ndarray,
    kind: str,
    matrix: npt.ArrayLike,
    inverse: bool,
    output_shape: tuple[int, int] | None,
    interpolation: str,
    fill_mode: str,
    fill_value: npt.ArrayLike,
    nodata: float | None,
    threads: int,
) -> np.ndarray: ...
def remap(
    image: np.ndarray,
    map_x: npt.ArrayLike,
    map_y: npt.ArrayLike,
    interpolation: str,
    fill_mode: str,
    fill_value: npt.ArrayLike,
    nodata: float | None,
    threads: int,
) -> np.ndarray: ...
def fit_polynomial(
    src_points: npt.ArrayLike, dst_points: npt.ArrayLike, order: int
) -> tuple[np.ndarray, float]: ...
def polynomial_warp(
    image: np.ndarray,
    src_points: npt.ArrayLike,
    dst_points: npt.ArrayLike,
    order: int,
    output_shape: tuple[int, int] | None,
    interpolation: str,
    fill_mode: str,
    fill_value: npt.ArrayLike,
    nodata: float | None,
    threads: int,
) -> np.ndarray: ...
