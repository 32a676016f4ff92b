"""The NumPy face: gilfree's C++ kernels on NumPy arrays, GIL released.

Importing this module does not import TensorFlow. The functions take the same
arguments as the TensorFlow ops (``gilfree.normalize``, ...) and run on the
calling thread without the GIL, so a thread pool scales over cores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from gilfree import _args, _geometry, _native, _optable, _schema

__all__ = [*_optable.names(face="numpy"), "simd_level"]

Params = float | Sequence[float] | npt.ArrayLike


def simd_level() -> str:
    """The SIMD target the kernels dispatched to ("avx512", "avx2", "neon", "baseline";
    "scalar" when forced with GILFREE_SIMD=scalar)."""
    return _native.simd_level()


def _input(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if not x.flags.aligned:
        x = x.copy()
    if x.ndim >= 5 and not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)  # leading batch axes must flatten without a copy
    return x


def _dtype_name(dtype: Any) -> str:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def normalize(
    x: npt.ArrayLike,
    mean: Params,
    std: Params,
    *,
    scale: float | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """``y = (x * scale - mean) / std`` per channel. See ``gilfree.normalize``."""
    return _native.normalize(
        _input(x),
        _args.params_arg("mean", mean),
        _args.params_arg("std", std),
        1.0 if scale is None else _args.real_arg("scale", scale),
        _dtype_name(dtype),
    )


def standardize(
    x: npt.ArrayLike,
    *,
    per_channel: bool = False,
    epsilon: float | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Per-image standardization. See ``gilfree.standardize``."""
    return _native.standardize(
        _input(x),
        _args.bool_arg("per_channel", per_channel),
        _args.optional_real_arg("epsilon", epsilon),
        _dtype_name(dtype),
    )


def minmax_scale(
    x: npt.ArrayLike,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Min-max scaling to [0, 1], nodata-aware. See ``gilfree.minmax_scale``."""
    return _native.minmax_scale(
        _input(x),
        _args.bool_arg("per_channel", per_channel),
        _args.optional_real_arg("nodata", nodata),
        _args.real_arg("fill", fill),
        _dtype_name(dtype),
    )


def percentile_stretch(
    x: npt.ArrayLike,
    low: float = 2.0,
    high: float = 98.0,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Percentile clip and scale to [0, 1], nodata-aware. See ``gilfree.percentile_stretch``."""
    return _native.percentile_stretch(
        _input(x),
        _args.real_arg("low", low),
        _args.real_arg("high", high),
        _args.bool_arg("per_channel", per_channel),
        _args.optional_real_arg("nodata", nodata),
        _args.real_arg("fill", fill),
        _dtype_name(dtype),
    )


Bytes = bytes | bytearray | memoryview


def decode_npy(
    contents: Bytes, dtype: Any, *, shape: Sequence[int | None] | None = None
) -> np.ndarray:
    """Decodes the bytes of one ``.npy`` file. See ``gilfree.decode_npy``."""
    dims = _schema.shape_arg(shape)
    return _native.decode_npy(contents, _schema.element_type(dtype, "dtype").name, dims)


def decode_npz(contents: Bytes, spec: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Decodes the members of one ``.npz`` file named by ``spec``. See ``gilfree.decode_npz``."""
    members = _schema.npz_spec(spec)
    names = list(members)
    dtypes = [members[n].name for n in names]
    return dict(zip(names, _native.decode_npz(contents, names, dtypes), strict=True))


def decode_records(
    contents: Bytes | Sequence[Bytes], schema: Any, *, header_bytes: int = 0, footer_bytes: int = 0
) -> dict[str, np.ndarray]:
    """Decodes fixed-size records into one array per field. See ``gilfree.decode_records``."""
    s = _schema.parse_schema(schema)
    arrays = _native.decode_records(
        list(contents) if isinstance(contents, list | tuple) else cast(Bytes, contents),
        s.record_bytes,
        [f.offset for f in s.fields],
        [f.dtype.name for f in s.fields],
        [list(f.shape) for f in s.fields],
        [f.big_endian for f in s.fields],
        _args.int_arg("header_bytes", header_bytes),
        _args.int_arg("footer_bytes", footer_bytes),
    )
    return {f.name: a for f, a in zip(s.fields, arrays, strict=True)}


def decode_tiff(
    contents: Bytes,
    dtype: Any = None,
    *,
    page: int = 0,
    window: Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Decodes one page of a TIFF file, or a window of it, to [height, width, bands]. See
    ``gilfree.decode_tiff``; ``dtype=None`` takes the file's sample type.

    Example:
        >>> import io, numpy as np, tifffile, gilfree.numpy
        >>> f = io.BytesIO(); tifffile.imwrite(f, np.uint16([[1, 2], [3, 4]]), compression="zlib")
        >>> gilfree.numpy.decode_tiff(f.getvalue(), window=(1, 0, 1, 2))[..., 0].tolist()
        [[3, 4]]
    """
    return _native.decode_tiff(
        contents,
        None if dtype is None else _schema.element_type(dtype, "dtype").name,
        _args.int_arg("page", page),
        _schema.window_arg(window),
        _schema.shape_arg(shape, rank=3),
    )


def tiff_info(contents: Bytes, page: int = 0) -> dict[str, Any]:
    """What page ``page`` of a TIFF file holds, without decoding it: ``height``, ``width``,
    ``bands``, ``dtype``, ``pages``, ``compression``, ``predictor``, ``tiled`` and
    ``tile_shape`` or ``rows_per_strip``, ``planar``, and the GeoTIFF fields ``nodata``,
    ``geotransform`` (GDAL order), ``epsg`` and ``raster_type`` (docs/decoding-spec.md).

    Example:
        >>> import io, numpy as np, tifffile, gilfree.numpy
        >>> tile = np.zeros((4, 6, 13), np.uint16)
        >>> f = io.BytesIO()
        >>> layout = {"photometric": "minisblack", "planarconfig": "contig"}
        >>> tifffile.imwrite(f, tile, tile=(16, 16), **layout)
        >>> info = gilfree.numpy.tiff_info(f.getvalue())
        >>> info["height"], info["width"], info["bands"], info["dtype"], info["tile_shape"]
        (4, 6, 13, dtype('uint16'), (16, 16))
    """
    return _native.tiff_info(contents, _args.int_arg("page", page))


# --- geometry (docs/geometry-spec.md) ---------------------------------------------

Points = npt.ArrayLike


def _image(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))
    if not image.flags.aligned or not _pixel_contiguous(image):
        # The kernels' fast paths read whole pixels; a copy makes the result the same bits
        # as for a C-contiguous array (rows may still be strided: a crop is not copied).
        image = image.copy(order="C")
    return image


def _pixel_contiguous(image: np.ndarray) -> bool:
    """Whether the channels of a pixel, and the pixels of a row, are adjacent."""
    if image.ndim < 2:
        return True
    item = image.itemsize
    if image.ndim == 2:
        return image.strides[1] == item
    return image.strides[-1] == item and image.strides[-2] == image.shape[-1] * item


def _matrix_warp(
    kind: str,
    image: Any,
    matrix: Any,
    inverse: bool,
    output_shape: Any,
    interpolation: str,
    fill_mode: str,
    fill_value: Any,
    nodata: Any,
    threads: int | None,
) -> np.ndarray:
    return _native.warp(
        _image(image),
        kind,
        _geometry.doubles_arg("transforms" if kind == "projective" else "matrix", matrix),
        _args.bool_arg("inverse", inverse),
        _geometry.output_shape_arg(output_shape),
        _geometry.string_arg("interpolation", interpolation),
        _geometry.string_arg("fill_mode", fill_mode),
        _geometry.fill_arg(fill_value),
        _geometry.nodata_arg(nodata),
        _geometry.threads_arg(threads),
    )


def warp_affine(
    image: npt.ArrayLike,
    matrix: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Params | None = None,
    nodata: float | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Affine warp, like ``cv2.warpAffine``. See ``gilfree.warp_affine``."""
    return _matrix_warp(
        "affine",
        image,
        matrix,
        inverse,
        output_shape,
        interpolation,
        fill_mode,
        fill_value,
        nodata,
        threads,
    )


def warp_perspective(
    image: npt.ArrayLike,
    matrix: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Params | None = None,
    nodata: float | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Perspective warp, like ``cv2.warpPerspective``. See ``gilfree.warp_perspective``."""
    return _matrix_warp(
        "perspective",
        image,
        matrix,
        inverse,
        output_shape,
        interpolation,
        fill_mode,
        fill_value,
        nodata,
        threads,
    )


def projective_transform(
    images: npt.ArrayLike,
    transforms: npt.ArrayLike,
    *,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "nearest",
    fill_mode: str = "constant",
    fill_value: Params = 0.0,
    threads: int | None = None,
) -> np.ndarray:
    """``ImageProjectiveTransformV3``'s semantics. See ``gilfree.projective_transform``."""
    return _matrix_warp(
        "projective",
        images,
        transforms,
        True,
        output_shape,
        interpolation,
        fill_mode,
        fill_value,
        None,
        threads,
    )


def remap(
    image: npt.ArrayLike,
    map_x: npt.ArrayLike,
    map_y: npt.ArrayLike,
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Params | None = None,
    nodata: float | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Samples the image at dense coordinate maps, like ``cv2.remap``. See ``gilfree.remap``."""
    return _native.remap(
        _image(image),
        _geometry.map_arg("map_x", map_x),
        _geometry.map_arg("map_y", map_y),
        _geometry.string_arg("interpolation", interpolation),
        _geometry.string_arg("fill_mode", fill_mode),
        _geometry.fill_arg(fill_value),
        _geometry.nodata_arg(nodata),
        _geometry.threads_arg(threads),
    )


def fit_polynomial(
    src_points: Points, dst_points: Points, order: int = 1
) -> tuple[np.ndarray, float]:
    """Least-squares polynomial with f(src) ~= dst. See ``gilfree.fit_polynomial``."""
    coefficients, rms = _native.fit_polynomial(
        _geometry.doubles_arg("src_points", src_points),
        _geometry.doubles_arg("dst_points", dst_points),
        _geometry.order_arg(order),
    )
    return coefficients, float(rms)


def polynomial_warp(
    image: npt.ArrayLike,
    src_points: Points,
    dst_points: Points,
    *,
    order: int = 1,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Params | None = None,
    nodata: float | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Ground-control-point warp (``gdalwarp -order``). See ``gilfree.polynomial_warp``."""
    return _native.polynomial_warp(
        _image(image),
        _geometry.doubles_arg("src_points", src_points),
        _geometry.doubles_arg("dst_points", dst_points),
        _geometry.order_arg(order),
        _geometry.output_shape_arg(output_shape),
        _geometry.string_arg("interpolation", interpolation),
        _geometry.string_arg("fill_mode", fill_mode),
        _geometry.fill_arg(fill_value),
        _geometry.nodata_arg(nodata),
        _geometry.threads_arg(threads),
    )


def rotate(
    image: npt.ArrayLike,
    angle: float,
    *,
    center: Sequence[float] | None = None,
    scale: float = 1.0,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Params | None = None,
    nodata: float | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Rotation about ``center`` (degrees, counter-clockwise). See ``gilfree.rotate``."""
    image = _image(image)
    if image.ndim not in (2, 3, 4):
        raise ValueError(
            f"image must have rank 2 [H, W], 3 [H, W, C] or 4 [N, H, W, C], got shape {image.shape}"
        )
    height, width = image.shape[1:3] if image.ndim == 4 else image.shape[:2]
    matrix = _geometry.rotation_matrix(angle, center, scale, height, width)
    return warp_affine(
        image,
        matrix,
        output_shape=output_shape,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill_value,
        nodata=nodata,
        threads=threads,
    )
