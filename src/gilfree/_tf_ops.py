"""The TensorFlow face: gilfree's custom ops, and the loader of their library."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import tensorflow as tf

from gilfree import _args, _geometry, _schema

_HERE = Path(__file__).resolve().parent
_LIBRARY = _HERE / "_gilfree_ops.so"
_BUILD_INFO = _HERE / "_build_info.json"

_lock = threading.Lock()
_ops: Any = None

_INPUT_DTYPES = (tf.uint8, tf.uint16, tf.int16, tf.int32, tf.float16, tf.bfloat16, tf.float32)
_OUTPUT_DTYPES = (tf.float32, tf.float16, tf.bfloat16)
#: Image dtypes with a gradient (every op); other dtypes get None.
_GRAD_DTYPES = (tf.float16, tf.bfloat16, tf.float32)

Number = float | int
Params: TypeAlias = Number | Sequence[Number] | tf.Tensor


class OpLibraryError(ImportError):
    """The op library is missing or was built for another TensorFlow."""


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def load_ops() -> Any:
    """Loads gilfree's op library into this process and returns it.

    The ops register under the names ``Gilfree>Normalize``, ... Call this before
    loading a SavedModel that uses gilfree ops, and in tf.data service servers.
    ``gilfree.<op>`` calls it on first use.

    Raises:
        OpLibraryError: the library is missing, or it was built for a TensorFlow
            version other than the installed one (the message names both).
    """
    global _ops
    with _lock:
        if _ops is not None:
            return _ops
        if not _LIBRARY.exists() or not _BUILD_INFO.exists():
            raise OpLibraryError(
                f"gilfree's op library is missing from {_HERE}: this gilfree is a NumPy-only "
                "build (GILFREE_BUILD_TF_OPS=OFF), which has gilfree.numpy but no TensorFlow "
                "ops. Rebuild it without that option: pip install --force-reinstall "
                "--no-cache-dir gilfree"
            )
        built = json.loads(_BUILD_INFO.read_text())["tensorflow_version"]
        if _minor(built) != _minor(tf.__version__):
            raise OpLibraryError(
                f"gilfree's ops were built against TensorFlow {built}, but TensorFlow "
                f"{tf.__version__} is installed; custom ops only load in the TensorFlow minor "
                f"version they were built for. Install TensorFlow {_minor(built)} "
                f"(pip install 'tensorflow-cpu=={_minor(built)}.*'), or rebuild gilfree against "
                "the installed one: pip install --force-reinstall --no-cache-dir "
                "--no-build-isolation gilfree"
            )
        try:
            _ops = tf.load_op_library(os.fspath(_LIBRARY))
        except tf.errors.NotFoundError as e:
            raise OpLibraryError(
                f"gilfree's op library (built against TensorFlow {built}) failed to load in "
                f"TensorFlow {tf.__version__}: {e}"
            ) from e
        return _ops


def _input(x: Any) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    if x.dtype not in _INPUT_DTYPES:
        names = ", ".join(d.name for d in _INPUT_DTYPES)
        raise tf.errors.InvalidArgumentError(
            None, None, f"x has unsupported dtype {x.dtype.name}; expected one of {names}"
        )
    return x


def _output_dtype(dtype: Any) -> tf.DType:
    try:
        out = tf.as_dtype(dtype)
    except TypeError:
        out = None
    if out not in _OUTPUT_DTYPES:
        raise tf.errors.InvalidArgumentError(
            None, None, f"dtype {dtype!r} is not supported; expected float32, float16 or bfloat16"
        )
    return out


def _optional(name: str, value: Any) -> tf.Tensor:
    """An optional real number as a float64 vector of 0 or 1 values (exact, unlike a float
    attr)."""
    if value is None:
        return tf.zeros([0], tf.float64)
    return tf.reshape(_real(name, value), [1])


def _real(name: str, value: Any) -> tf.Tensor:
    """A real number (or a tensor of one) as a float64 tensor; Python numbers must not round
    through float32."""
    if isinstance(value, tf.Tensor | tf.Variable):
        return tf.cast(value, tf.float64)
    return tf.constant(np.float64(_checked(_args.real_arg, name, value)))


def _float64(name: str, value: Params) -> tf.Tensor:
    """A number or one per channel (or a tensor) as a float64 tensor."""
    if isinstance(value, tf.Tensor | tf.Variable):
        return tf.cast(value, tf.float64)
    return tf.constant(_checked(_args.params_arg, name, value))


@tf.autograph.experimental.do_not_convert
def normalize(
    x: Any,
    mean: Params,
    std: Params,
    *,
    scale: float | None = None,
    dtype: Any = tf.float32,
    name: str | None = None,
) -> tf.Tensor:
    """``y = (x * scale - mean) / std`` per channel, with the cast, in one pass.

    Args:
        x: image(s) with channels last: [W], [H, W] (single band), [H, W, C],
            [N, H, W, C]; uint8, uint16, int16, int32, float16, bfloat16 or float32.
        mean, std: a scalar or one value per channel.
        scale: multiplies x first (e.g. 1/255); None means 1.
        dtype: float32 (default), float16 or bfloat16.

    Returns:
        A tensor of x's shape (static shape kept) and ``dtype``.

    Example:
        >>> import gilfree, numpy as np
        >>> x = np.array([[[0, 128, 255]]], np.uint8)
        >>> gilfree.normalize(x, 127.5, 127.5).numpy().astype(float).round(4).tolist()
        [[[-1.0, 0.0039, 1.0]]]
    """
    with tf.name_scope(name or "normalize"):
        x = _input(x)
        return load_ops().gilfree_normalize(
            x,
            _float64("mean", mean),
            _float64("std", std),
            _real("scale", 1.0 if scale is None else scale),
            out_type=_output_dtype(dtype),
        )


@tf.autograph.experimental.do_not_convert
def standardize(
    x: Any,
    *,
    per_channel: bool = False,
    epsilon: float | None = None,
    dtype: Any = tf.float32,
    name: str | None = None,
) -> tf.Tensor:
    """``(x - mean) / max(std, floor)`` per image, or per image and channel.

    With ``per_channel=False`` and ``epsilon=None`` this gives the numbers of
    ``tf.image.per_image_standardization`` (floor ``1/sqrt(n)``); ``epsilon``
    replaces the floor. Rank-4 input is standardized image by image.

    Example:
        >>> import gilfree, numpy as np
        >>> gilfree.standardize(np.float32([[1, 2, 3, 4]])).numpy().astype(float).round(4).tolist()
        [[-1.3416, -0.4472, 0.4472, 1.3416]]
    """
    with tf.name_scope(name or "standardize"):
        return load_ops().gilfree_standardize(
            _input(x),
            _optional("epsilon", epsilon),
            out_type=_output_dtype(dtype),
            per_channel=_checked(_args.bool_arg, "per_channel", per_channel),
        )


@tf.autograph.experimental.do_not_convert
def minmax_scale(
    x: Any,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = tf.float32,
    name: str | None = None,
) -> tf.Tensor:
    """Scales each image (and channel) to [0, 1] by its min and max.

    Elements equal to ``nodata``, and NaN, are left out of the statistics and
    written as ``fill``. A constant band maps to 0.

    Example:
        >>> import gilfree, numpy as np
        >>> x = np.uint16([[0, 10, 20, 30]])
        >>> gilfree.minmax_scale(x, nodata=0, fill=-1).numpy().tolist()
        [[-1.0, 0.0, 0.5, 1.0]]
    """
    with tf.name_scope(name or "minmax_scale"):
        return load_ops().gilfree_min_max_scale(
            _input(x),
            _optional("nodata", nodata),
            _real("fill", fill),
            out_type=_output_dtype(dtype),
            per_channel=_checked(_args.bool_arg, "per_channel", per_channel),
        )


@tf.autograph.experimental.do_not_convert
def percentile_stretch(
    x: Any,
    low: float = 2.0,
    high: float = 98.0,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = tf.float32,
    name: str | None = None,
) -> tf.Tensor:
    """Clips each image (and channel) to its low/high percentiles, scaled to [0, 1].

    The percentiles are exactly ``numpy.percentile(valid, q)`` (linear method)
    of the valid elements: ``nodata`` and NaN are left out and written as ``fill``.

    Example:
        >>> import gilfree, numpy as np
        >>> x = np.float32([[0, 1, 2, 3, 100]])
        >>> gilfree.percentile_stretch(x, 25, 75).numpy().tolist()
        [[0.0, 0.0, 0.5, 1.0, 1.0]]
    """
    with tf.name_scope(name or "percentile_stretch"):
        return load_ops().gilfree_percentile_stretch(
            _input(x),
            _real("low", low),
            _real("high", high),
            _optional("nodata", nodata),
            _real("fill", fill),
            out_type=_output_dtype(dtype),
            per_channel=_checked(_args.bool_arg, "per_channel", per_channel),
        )


# Gradients with respect to x (core/normalize.h): float x only; an integer x
# is not differentiable. minmax_scale and percentile_stretch hold their
# statistics constant.


def _x_gradient(op: tf.Operation, grad: tf.Tensor) -> tf.Tensor | None:
    x = op.inputs[0]
    if x.dtype not in _GRAD_DTYPES:
        return None
    kernel = {
        "Gilfree>Normalize": "gilfree_normalize_grad",
        "Gilfree>Standardize": "gilfree_standardize_grad",
        "Gilfree>MinMaxScale": "gilfree_min_max_scale_grad",
        "Gilfree>PercentileStretch": "gilfree_percentile_stretch_grad",
    }[op.type]
    attrs = {} if op.type == "Gilfree>Normalize" else {"per_channel": op.get_attr("per_channel")}
    dx = getattr(load_ops(), kernel)(*op.inputs, tf.cast(grad, tf.float32), **attrs)
    return tf.cast(dx, x.dtype)


def _channel_sums(t: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """Sums of t (x's shape) per channel: [C], with C = 1 below rank 3."""
    if x.shape.rank is not None:
        channels = tf.shape(x)[-1] if x.shape.rank >= 3 else 1
    else:
        channels = tf.where(tf.rank(x) >= 3, tf.shape(x)[-1], 1)
    return tf.reduce_sum(tf.reshape(t, [-1, channels]), axis=0)


def _to_param(per_channel: tf.Tensor, param: tf.Tensor) -> tf.Tensor:
    """Per-channel sums reduced to a parameter of 1 or C values, in its shape."""
    grouped = tf.reshape(per_channel, [tf.size(param), -1])
    return tf.reshape(tf.reduce_sum(grouped, axis=1), tf.shape(param))


@tf.RegisterGradient("Gilfree>Normalize")
def _normalize_gradient(op: tf.Operation, grad: tf.Tensor) -> list[tf.Tensor | None]:
    # y = (x * scale - mean) / std: d mean = -g / std, d std = -g y / std,
    # d scale = g x / std, each summed over what the parameter covers.
    x, mean, std, scale = op.inputs
    g = tf.cast(grad, tf.float64)
    y = tf.cast(op.outputs[0], tf.float64)
    sum_g = _channel_sums(g, x)
    std_c = tf.broadcast_to(tf.reshape(std, [-1]), tf.shape(sum_g))
    d_mean = _to_param(-sum_g / std_c, mean)
    d_std = _to_param(-_channel_sums(g * y, x) / std_c, std)
    d_scale = tf.reduce_sum(_channel_sums(g * tf.cast(x, tf.float64), x) / std_c)
    return [_x_gradient(op, grad), d_mean, d_std, tf.reshape(d_scale, tf.shape(scale))]


@tf.RegisterGradient("Gilfree>Standardize")
@tf.RegisterGradient("Gilfree>MinMaxScale")
@tf.RegisterGradient("Gilfree>PercentileStretch")
def _statistics_gradient(op: tf.Operation, grad: tf.Tensor) -> list[tf.Tensor | None]:
    return [_x_gradient(op, grad)] + [None] * (len(op.inputs) - 1)


def _element_type(dtype: Any, arg: str) -> tf.DType:
    try:
        return tf.as_dtype(_schema.element_type(dtype, arg))
    except TypeError as e:
        raise tf.errors.InvalidArgumentError(None, None, str(e)) from e


@tf.autograph.experimental.do_not_convert
def decode_npy(
    contents: Any,
    dtype: Any,
    *,
    shape: Sequence[int | None] | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Decodes the bytes of one ``.npy`` file (a scalar string tensor) to a tensor.

    Format versions 1.0, 2.0 and 3.0; either byte order (converted to native);
    Fortran order (converted to C order). The file's dtype must be ``dtype``.
    The shape comes from the file; ``shape`` (None or -1 for any size) is
    checked against it and sets the static shape.

    Example:
        >>> import io, numpy as np, gilfree
        >>> buf = io.BytesIO(); np.save(buf, np.arange(6, dtype=np.int16).reshape(2, 3))
        >>> gilfree.decode_npy(buf.getvalue(), "int16", shape=(None, 3)).numpy().tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    with tf.name_scope(name or "decode_npy"):
        out_type = _element_type(dtype, "dtype")
        try:
            dims = _schema.shape_arg(shape)
        except (TypeError, ValueError) as e:
            raise tf.errors.InvalidArgumentError(None, None, str(e)) from e
        static = tf.TensorShape(None if dims is None else [None if d < 0 else d for d in dims])
        return load_ops().gilfree_decode_npy(
            tf.convert_to_tensor(contents, tf.string), dtype=out_type, shape=static
        )


@tf.autograph.experimental.do_not_convert
def decode_npz(
    contents: Any, spec: Mapping[str, Any], *, name: str | None = None
) -> dict[str, tf.Tensor]:
    """Decodes the members of one ``.npz`` file named in ``spec`` (name -> dtype).

    Stored (``numpy.savez``) and deflated (``numpy.savez_compressed``) members,
    ZIP64 included; each member's CRC-32 is checked.

    Example:
        >>> import io, numpy as np, gilfree
        >>> buf = io.BytesIO(); np.savez_compressed(buf, a=np.ones(3, np.float32))
        >>> gilfree.decode_npz(buf.getvalue(), {"a": "float32"})["a"].numpy().tolist()
        [1.0, 1.0, 1.0]
    """
    with tf.name_scope(name or "decode_npz"):
        members = _checked(_schema.npz_spec, spec)
        names = list(members)
        dtypes = [tf.as_dtype(members[n]) for n in names]
        arrays = load_ops().gilfree_decode_npz(
            tf.convert_to_tensor(contents, tf.string), names=names, dtypes=dtypes
        )
        return dict(zip(names, arrays, strict=True))


@tf.autograph.experimental.do_not_convert
def decode_records(
    contents: Any,
    schema: Any,
    *,
    header_bytes: int = 0,
    footer_bytes: int = 0,
    name: str | None = None,
) -> dict[str, tf.Tensor]:
    r"""Decodes fixed-size records into a dict of tensors ``[num_records, *field_shape]``.

    ``schema`` is a NumPy structured dtype (offsets, padding, byte order and
    subarray shapes respected). ``contents`` is one string of many records
    (``header_bytes``/``footer_bytes`` skipped) or a 1-D batch of one-record strings.

    Example:
        >>> import numpy as np, gilfree
        >>> schema = np.dtype([("label", "u1"), ("value", ">i2")])
        >>> out = gilfree.decode_records(b"\x07\x01\x00\x09\xff\xff", schema)
        >>> out["label"].numpy().tolist(), out["value"].numpy().tolist()
        ([7, 9], [256, -1])
    """
    with tf.name_scope(name or "decode_records"):
        try:
            s = _schema.parse_schema(schema)
        except TypeError as e:
            raise tf.errors.InvalidArgumentError(None, None, str(e)) from e
        arrays = load_ops().gilfree_decode_records(
            tf.convert_to_tensor(contents, tf.string),
            record_bytes=s.record_bytes,
            offsets=[f.offset for f in s.fields],
            dtypes=[tf.as_dtype(f.dtype) for f in s.fields],
            field_shapes=[tf.TensorShape(f.shape) for f in s.fields],
            big_endian=[f.big_endian for f in s.fields],
            header_bytes=_checked(_args.int_arg, "header_bytes", header_bytes),
            footer_bytes=_checked(_args.int_arg, "footer_bytes", footer_bytes),
        )
        return {f.name: a for f, a in zip(s.fields, arrays, strict=True)}


@tf.autograph.experimental.do_not_convert
def decode_tiff(
    contents: Any,
    dtype: Any,
    *,
    page: Any = 0,
    window: Any = None,
    shape: Sequence[int | None] | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Decodes one page of a TIFF or GeoTIFF file (a scalar string tensor), or a window of
    it, to a ``[height, width, bands]`` tensor in native byte order.

    Classic TIFF and BigTIFF in either byte order; strips or tiles; contiguous or separate
    planes (interleaved on the way out); any number of bands; 8- to 64-bit unsigned,
    signed and float samples (float16 included); no compression, LZW, Deflate, PackBits
    and ZSTD (when the build found libzstd: ``python -m gilfree info``), with predictor 2
    or 3. ``dtype`` must be the file's sample type. ``page`` picks a page of a multi-page
    file; ``window=(row, col, height, width)`` decodes only the strips or tiles it
    touches. ``shape`` (None or -1 for any size) is checked against the result and sets
    the static shape, as the window's height and width do when given as ints.
    ``gilfree.numpy.tiff_info`` reads a page's size, layout and GeoTIFF fields.

    Example:
        >>> import io, numpy as np, tifffile, gilfree
        >>> f = io.BytesIO(); tifffile.imwrite(f, np.uint16([[1, 2], [3, 4]]), compression="lzw")
        >>> gilfree.decode_tiff(f.getvalue(), "uint16", window=(0, 1, 2, 1)).numpy()[..., 0]
        array([[2],
               [4]], dtype=uint16)
    """
    with tf.name_scope(name or "decode_tiff"):
        out_type = _element_type(dtype, "dtype")
        dims = _checked(_schema.shape_arg, shape, 3)
        if isinstance(window, tf.Tensor | tf.Variable):
            bounds, static_window = tf.reshape(tf.cast(window, tf.int64), [-1]), None
        else:
            static_window = _checked(_schema.window_arg, window)
            bounds = np.array(static_window or [], np.int64)
        if isinstance(page, tf.Tensor | tf.Variable):
            page = tf.cast(page, tf.int64)
        else:
            page = np.int64(_checked(_args.int_arg, "page", page))
        return load_ops().gilfree_decode_tiff(
            tf.convert_to_tensor(contents, tf.string),
            page,
            bounds,
            dtype=out_type,
            shape=tf.TensorShape(_schema.tiff_static_shape(dims, static_window)),
        )


# --- geometry (docs/geometry-spec.md) ---------------------------------------------

_IMAGE_DTYPES = (tf.uint8, tf.uint16, tf.int16, tf.float16, tf.bfloat16, tf.float32)
#: projective_transform also takes ImageProjectiveTransformV3's other dtypes.
_V3_DTYPES = (*_IMAGE_DTYPES, tf.int32, tf.int64, tf.float64)


def _image(
    image: Any, arg: str = "image", dtypes: tuple[tf.DType, ...] = _IMAGE_DTYPES
) -> tf.Tensor:
    image = tf.convert_to_tensor(image)
    if image.dtype not in dtypes:
        names = ", ".join(d.name for d in dtypes)
        raise tf.errors.InvalidArgumentError(
            None, None, f"{arg} has unsupported dtype {image.dtype.name}; expected one of {names}"
        )
    return image


def _invalid_argument(e: Exception) -> tf.errors.InvalidArgumentError:
    return tf.errors.InvalidArgumentError(None, None, str(e))


def _checked(convert: Any, *args: Any) -> Any:
    """Runs a _geometry argument conversion, with TensorFlow's error type."""
    try:
        return convert(*args)
    except (TypeError, ValueError) as e:
        raise _invalid_argument(e) from None


# Arguments that are not tensors become NumPy arrays, not tf.constant: the op's
# eager fast path converts those far more cheaply.
_EMPTY: dict[Any, tf.Tensor] = {}


def _empty(dtype: Any) -> Any:
    """An empty 1-D argument (a default left out): one cached tensor when executing
    eagerly, where converting an array costs about 10 us per call; an array otherwise,
    which becomes a constant of the graph."""
    if not tf.executing_eagerly():
        return np.zeros(0, dtype)
    tensor = _EMPTY.get(dtype)
    if tensor is None:
        tensor = _EMPTY[dtype] = tf.constant(np.zeros(0, dtype))
    return tensor


def _output_size(output_shape: Any) -> Any:
    """output_shape as int32 [2]; empty for the image's own size."""
    if output_shape is None:
        return _empty(np.int32)
    if isinstance(output_shape, tf.Tensor | tf.Variable):
        # Saturating: a size beyond int32 must not wrap to a small valid one.
        return tf.reshape(tf.dtypes.saturate_cast(output_shape, tf.int32), [-1])
    size = _checked(_geometry.output_shape_arg, output_shape)
    for v in size:
        if not 0 < v <= 2**20:
            raise tf.errors.InvalidArgumentError(
                None,
                None,
                f"output_shape must give a positive output height and width of at most 2^20, "
                f"got {tuple(size)}",
            )
    return np.array(size, np.int32)


def _fill(fill_value: Any) -> Any:
    if fill_value is None:
        return _empty(np.float64)
    if isinstance(fill_value, tf.Tensor | tf.Variable):
        return tf.reshape(tf.cast(fill_value, tf.float64), [-1])
    return _checked(_geometry.fill_arg, fill_value)


def _nodata(nodata: Any) -> Any:
    if isinstance(nodata, tf.Tensor | tf.Variable):
        return tf.reshape(tf.cast(nodata, tf.float64), [1])
    value = _checked(_geometry.nodata_arg, nodata)
    return _empty(np.float64) if value is None else np.array([value], np.float64)


def _doubles(value: Any, name: str) -> Any:
    """A float64 argument (matrix, points) as a tensor or array."""
    if isinstance(value, tf.Tensor | tf.Variable):
        return tf.cast(value, tf.float64)
    return _checked(_geometry.doubles_arg, name, value)


def _map(value: Any, name: str) -> Any:
    tensor = isinstance(value, tf.Tensor | tf.Variable)
    if not tensor:
        value = np.asarray(value)
    # NumPy dtypes compare with NumPy's (comparing them with tf dtypes is slow).
    floats = (tf.float32, tf.float64) if tensor else (np.float32, np.float64)
    if value.dtype not in floats:
        raise tf.errors.InvalidArgumentError(
            None, None, f"{name} must be float32 (or float64), got dtype {value.dtype}"
        )
    return tf.cast(value, tf.float32) if tensor else value.astype(np.float32, copy=False)


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
) -> tf.Tensor:
    return load_ops().gilfree_warp(
        _image(image, "images", _V3_DTYPES) if kind == "projective" else _image(image),
        _doubles(matrix, "transforms" if kind == "projective" else "matrix"),
        _output_size(output_shape),
        _fill(fill_value),
        _nodata(nodata),
        kind=kind,
        inverse=_checked(_args.bool_arg, "inverse", inverse),
        interpolation=_checked(_geometry.string_arg, "interpolation", interpolation),
        fill_mode=_checked(_geometry.string_arg, "fill_mode", fill_mode),
    )


@tf.RegisterGradient("Gilfree>Warp")
@tf.RegisterGradient("Gilfree>Remap")
@tf.RegisterGradient("Gilfree>PolynomialWarp")
def _warp_gradient(op: tf.Operation, grad: tf.Tensor) -> list[tf.Tensor | None]:
    """d loss / d image (float images); the other inputs get none."""
    image = op.inputs[0]
    others = [None] * (len(op.inputs) - 1)
    if image.dtype not in _GRAD_DTYPES:
        return [None, *others]
    kernel, own_attrs = {
        "Gilfree>Warp": ("gilfree_warp_grad", ("kind", "inverse")),
        "Gilfree>Remap": ("gilfree_remap_grad", ()),
        "Gilfree>PolynomialWarp": ("gilfree_polynomial_warp_grad", ("order",)),
    }[op.type]
    attrs = {a: op.get_attr(a) for a in ("interpolation", "fill_mode", *own_attrs)}
    image_grad = getattr(load_ops(), kernel)(*op.inputs, tf.cast(grad, tf.float32), **attrs)
    return [tf.cast(image_grad, image.dtype), *others]


# Not differentiable: the least-squares fit, the decoders (bytes in) and the
# gradient ops themselves (no second derivatives).
for _op in (
    "FitPolynomial",
    "DecodeNpy",
    "DecodeNpz",
    "DecodeRecords",
    "WarpGrad",
    "RemapGrad",
    "PolynomialWarpGrad",
    "NormalizeGrad",
    "StandardizeGrad",
    "MinMaxScaleGrad",
    "PercentileStretchGrad",
):
    tf.no_gradient(f"Gilfree>{_op}")


@tf.autograph.experimental.do_not_convert
def warp_affine(
    image: Any,
    matrix: Any,
    *,
    output_shape: Any = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Affine warp, like ``cv2.warpAffine`` (docs/geometry-spec.md).

    Args:
        image: [H, W], [H, W, C] or [N, H, W, C]; uint8, uint16, int16, float16,
            bfloat16 or float32.
        matrix: [2, 3] source-to-destination (destination-to-source with
            ``inverse=True``), or [N, 2, 3] with one per image of a batch.
        output_shape: (height, width) of the output; the input's by default. OpenCV's
            ``dsize`` is (width, height): swap it when porting.
        interpolation: "nearest", "bilinear" or "bicubic" (OpenCV's INTER_CUBIC).
        fill_mode: "constant", "nearest", "reflect", "reflect_101" or "wrap".
        fill_value: a number or one per channel for "constant" (default 0, or nodata).
        nodata: value marking invalid pixels: they get zero weight and the rest is
            renormalized; pixels with no valid source are written as nodata.

    Returns:
        The warped image, of the input's dtype, static shape kept. It has a
        gradient with respect to ``image`` (float images).

    Example:
        >>> import gilfree, numpy as np
        >>> x = np.array([[10, 20, 30, 40]], np.float32)
        >>> m = [[1, 0, 0.25], [0, 1, 0]]  # destination-to-source
        >>> gilfree.warp_affine(x, m, inverse=True).numpy().tolist()
        [[12.5, 22.5, 32.5, 30.0]]
    """
    with tf.name_scope(name or "warp_affine"):
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
        )


@tf.autograph.experimental.do_not_convert
def warp_perspective(
    image: Any,
    matrix: Any,
    *,
    output_shape: Any = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Perspective warp, like ``cv2.warpPerspective``: ``matrix`` is [3, 3] or [N, 3, 3].

    The other arguments are those of :func:`warp_affine`.
    """
    with tf.name_scope(name or "warp_perspective"):
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
        )


@tf.autograph.experimental.do_not_convert
def projective_transform(
    images: Any,
    transforms: Any,
    *,
    output_shape: Any = None,
    interpolation: str = "nearest",
    fill_mode: str = "constant",
    fill_value: Any = 0.0,
    name: str | None = None,
) -> tf.Tensor:
    """A drop-in for ``tf.raw_ops.ImageProjectiveTransformV3``.

    ``images`` [N, H, W, C]; ``transforms`` [N, 8] or [1, 8] output-to-input rows;
    ``interpolation`` "nearest" or "bilinear"; ``fill_mode``
    "constant", "reflect", "wrap" or "nearest" with TensorFlow's rules; names are
    case-insensitive. With nearest or bilinear interpolation the result is
    ``ImageProjectiveTransformV3``'s bit for bit (its float32 arithmetic; integer
    results truncate), for every dtype it takes: uint8, int32, int64, float16,
    bfloat16, float32, float64 (and uint16, int16).
    """
    with tf.name_scope(name or "projective_transform"):
        images = _image(images, "images", _V3_DTYPES)
        if images.shape.rank is not None and images.shape.rank != 4:
            raise tf.errors.InvalidArgumentError(
                None, None, f"images must have rank 4 [N, H, W, C], got shape {images.shape}"
            )
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
        )


@tf.autograph.experimental.do_not_convert
def remap(
    image: Any,
    map_x: Any,
    map_y: Any,
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Samples ``image`` at ``(map_x, map_y)``, like ``cv2.remap``.

    The maps are float32 [H', W'] (one for every image) or [N, H', W']; the output is
    [..., H', W', ...]. The other arguments are those of :func:`warp_affine`.
    """
    with tf.name_scope(name or "remap"):
        return load_ops().gilfree_remap(
            _image(image),
            _map(map_x, "map_x"),
            _map(map_y, "map_y"),
            _fill(fill_value),
            _nodata(nodata),
            interpolation=_checked(_geometry.string_arg, "interpolation", interpolation),
            fill_mode=_checked(_geometry.string_arg, "fill_mode", fill_mode),
        )


def _order(order: Any) -> int:
    order = _checked(_geometry.order_arg, order)
    if order not in (1, 2, 3):
        raise tf.errors.InvalidArgumentError(None, None, f"order must be 1, 2 or 3, got {order}")
    return order


@tf.autograph.experimental.do_not_convert
def fit_polynomial(
    src_points: Any, dst_points: Any, order: int = 1, *, name: str | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Least-squares polynomial with ``f(src_points) ~= dst_points``.

    Returns ``(coefficients, rms)``: float64 [2, T] in raw pixel coordinates (terms
    1, x, y, x^2, x y, y^2, x^3, x^2 y, x y^2, y^3, as far as ``order`` goes) and the
    RMS of the residuals.
    """
    with tf.name_scope(name or "fit_polynomial"):
        coefficients, rms = load_ops().gilfree_fit_polynomial(
            _doubles(src_points, "src_points"),
            _doubles(dst_points, "dst_points"),
            order=_order(order),
        )
        return coefficients, rms


@tf.autograph.experimental.do_not_convert
def polynomial_warp(
    image: Any,
    src_points: Any,
    dst_points: Any,
    *,
    order: int = 1,
    output_shape: Any = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Ground-control-point warp, like ``gdalwarp -order 1|2|3``.

    Fits ``f(dst_points) ~= src_points`` (:func:`fit_polynomial`) and samples the
    source at ``f(x, y)`` for each output pixel. The other arguments are those of
    :func:`warp_affine`.
    """
    with tf.name_scope(name or "polynomial_warp"):
        return load_ops().gilfree_polynomial_warp(
            _image(image),
            _doubles(src_points, "src_points"),
            _doubles(dst_points, "dst_points"),
            _output_size(output_shape),
            _fill(fill_value),
            _nodata(nodata),
            order=_order(order),
            interpolation=_checked(_geometry.string_arg, "interpolation", interpolation),
            fill_mode=_checked(_geometry.string_arg, "fill_mode", fill_mode),
        )


@tf.autograph.experimental.do_not_convert
def rotate(
    image: Any,
    angle: float,
    *,
    center: Sequence[float] | None = None,
    scale: float = 1.0,
    output_shape: Any = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
    name: str | None = None,
) -> tf.Tensor:
    """Rotation by ``angle`` degrees (counter-clockwise) about ``center``.

    ``center`` defaults to the image centre ((W - 1) / 2, (H - 1) / 2); the matrix is
    ``cv2.getRotationMatrix2D(center, angle, scale)``. ``angle``, ``center`` and
    ``scale`` are Python numbers; the image needs a static height and width when
    ``center`` is None. The other arguments are those of :func:`warp_affine`.
    """
    with tf.name_scope(name or "rotate"):
        image = _image(image)
        rank = image.shape.rank
        if rank not in (2, 3, 4):
            raise tf.errors.InvalidArgumentError(
                None,
                None,
                f"image must have rank 2 [H, W], 3 [H, W, C] or 4 [N, H, W, C], "
                f"got shape {image.shape}",
            )
        height, width = image.shape[1:3] if rank == 4 else image.shape[:2]
        if center is None and (height is None or width is None):
            raise tf.errors.InvalidArgumentError(
                None, None, "rotate needs a static image height and width, or an explicit center"
            )
        if isinstance(angle, tf.Tensor | tf.Variable) or isinstance(scale, tf.Tensor | tf.Variable):
            # A per-element angle (random rotation in dataset.map): the same
            # matrix, computed by TensorFlow.
            cx, cy = _checked(_geometry.rotation_center, center, height or 0, width or 0)
            theta = tf.cast(angle, tf.float64) * (np.pi / 180.0)
            rows = _geometry.rotation_rows(
                tf.cos(theta), tf.sin(theta), tf.cast(scale, tf.float64), cx, cy
            )
            matrix = tf.stack([tf.stack(row) for row in rows])
        else:
            matrix = _checked(
                _geometry.rotation_matrix, angle, center, scale, height or 0, width or 0
            )
        return _matrix_warp(
            "affine",
            image,
            matrix,
            False,
            output_shape,
            interpolation,
            fill_mode,
            fill_value,
            nodata,
        )
