"""TensorFlow fallback of the gilfree ops, built on ``tf.py_function``.

The four functions here have the signatures and semantics of the native TensorFlow
ops (``gilfree.<op>``), see ``docs/normalization-spec.md``, but run the plain NumPy
reference (:mod:`gilfree.reference`) inside ``tf.py_function``. They need no
compiled code, so they work wherever TensorFlow does, but they hold the GIL while
they compute and cannot be serialized into a SavedModel graph.

Unlike a bare ``tf.py_function``, the result keeps the static shape of ``x``
(``set_shape(x.shape)``), so ``tf.data`` element specs and ``tf.function`` shape
inference stay fully defined.

Differences from the NumPy reference:

- ``x`` may be a ``tf.Tensor`` or anything ``tf.convert_to_tensor`` accepts;
  bfloat16 input is cast to float32 first (with ``tf.cast``).
- ``dtype`` is anything ``tf.as_dtype`` accepts: float32 (default), float16 or
  bfloat16. For bfloat16 the reference computes float32 and the result is cast
  inside TensorFlow.
- ``mean``/``std`` of :func:`normalize` may be tensors (they become inputs of the
  ``py_function``).
- Errors are ``tf.errors.InvalidArgumentError``, like the native TF face. Bad
  parameters known when the op is built are reported at once; values only known
  at run time (for example a ``mean`` tensor computed in a graph) are checked when
  the op runs.

The decoders (``decode_npy``, ``decode_npz``, ``decode_records``; see
``docs/decoding-spec.md``) run :mod:`gilfree.reference`'s decoders the same way.
``contents`` is a string tensor; the arguments (``dtype``, ``shape``, ``spec``,
``schema``, ``header_bytes``, ``footer_bytes``) are checked when the op is built and
give the outputs their dtypes and what is known of their static shapes.

The geometry ops (``warp_affine``, ``warp_perspective``, ``projective_transform``,
``remap``, ``polynomial_warp``, ``rotate``, ``fit_polynomial``; see
``docs/geometry-spec.md``) run :mod:`gilfree.reference`'s geometry the same way; their
output keeps the input's dtype and has a static shape (see the geometry section below).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import numpy as np
import tensorflow as tf

from gilfree import _args, _optable, _schema, reference

__all__ = _optable.names(face="fallback")

_INPUT_DTYPES = (tf.uint8, tf.uint16, tf.int16, tf.int32, tf.float16, tf.float32, tf.bfloat16)
_OUTPUT_DTYPES = (tf.float32, tf.float16, tf.bfloat16)


def _invalid(message: str) -> tf.errors.InvalidArgumentError:
    return tf.errors.InvalidArgumentError(None, None, message)


@contextlib.contextmanager
def _as_invalid_argument() -> Iterator[None]:
    """Re-raises the reference's ValueError/TypeError as InvalidArgumentError."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise _invalid(str(exc)) from exc


def _names(dtypes: tuple[tf.DType, ...]) -> str:
    return ", ".join(d.name for d in dtypes)


def _output_dtype(dtype: Any) -> tf.DType:
    try:
        out = tf.as_dtype(dtype)
    except TypeError as exc:
        raise _invalid(
            f"dtype {dtype!r} is not supported; expected one of {_names(_OUTPUT_DTYPES)}"
        ) from exc
    if out not in _OUTPUT_DTYPES:
        raise _invalid(
            f"dtype {out.name} is not supported; expected one of {_names(_OUTPUT_DTYPES)}"
        )
    return out


def _input(x: Any) -> tf.Tensor:
    """Converts x to a tensor and checks its dtype and (static) rank."""
    try:
        x = tf.convert_to_tensor(x)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"x could not be converted to a tensor: {exc}") from exc
    if x.dtype not in _INPUT_DTYPES:
        raise _invalid(
            f"x has unsupported dtype {x.dtype.name}; expected one of {_names(_INPUT_DTYPES)}"
        )
    if x.shape.rank == 0:
        raise _invalid(
            "x has rank 0 (shape []); expected rank >= 1 ([W], [H, W], [H, W, C] or [..., H, W, C])"
        )
    return x


def _static_channels(x: tf.Tensor) -> int | None:
    """Number of channels of x when known statically (1 for ranks 1 and 2), else None."""
    rank = x.shape.rank
    if rank is None:
        return None
    if rank <= 2:
        return 1
    return x.shape[-1]


def _run(
    compute: Callable[..., np.ndarray],
    x: tf.Tensor,
    extra_inputs: list[tf.Tensor],
    out: tf.DType,
) -> tf.Tensor:
    """Runs ``compute(x_np, *extra_np, dtype=np_dtype)`` in a py_function, fixes shape/dtype."""
    static_shape = x.shape
    if x.dtype == tf.bfloat16:
        x = tf.cast(x, tf.float32)
    compute_dtype = tf.float32 if out == tf.bfloat16 else out

    def fn(*tensors: tf.Tensor) -> np.ndarray:
        arrays = [t.numpy() for t in tensors]
        return compute(*arrays, dtype=compute_dtype.as_numpy_dtype)

    y = tf.py_function(fn, [x, *extra_inputs], Tout=compute_dtype)
    y.set_shape(static_shape)
    if out != compute_dtype:
        y = tf.cast(y, out)
    return y


def _param_tensor(value: Any) -> tf.Tensor:
    if tf.is_tensor(value):
        return tf.cast(value, tf.float64)
    return tf.constant(np.asarray(value, dtype=np.float64))


def normalize(
    x: Any,
    mean: Any,
    std: Any,
    *,
    scale: float | None = None,
    dtype: Any = tf.float32,
) -> tf.Tensor:
    """Per-channel affine normalization ``y = (x * scale - mean) / std`` (py_function).

    See :func:`gilfree.reference.normalize` for the arguments and boundary rules.
    ``mean``/``std`` may be tensors; ``dtype`` may be float32, float16 or bfloat16.

    Example:
      >>> normalize(tf.constant([[[0, 255]]], tf.uint8), 127.5, 127.5)
      <tf.Tensor: shape=(1, 1, 2), dtype=float32, numpy=array([[[-1.,  1.]]], dtype=float32)>
    """
    x = _input(x)
    channels = _static_channels(x)
    with _as_invalid_argument():
        for name, value in (("mean", mean), ("std", std)):
            static = tf.get_static_value(value) if tf.is_tensor(value) else value
            if static is not None:
                # With C unknown statically, only the length is left to the run-time check.
                n = channels if channels is not None else np.size(static)
                reference.check_channel_param(name, static, n)
        reference.check_scale(scale)
    out = _output_dtype(dtype)
    mean_t = _param_tensor(mean)
    std_t = _param_tensor(std)

    def compute(xv: np.ndarray, m: np.ndarray, s: np.ndarray, *, dtype: Any) -> np.ndarray:
        return reference.normalize(xv, m, s, scale=scale, dtype=dtype)

    return _run(compute, x, [mean_t, std_t], out)


def standardize(
    x: Any,
    *,
    per_channel: bool = False,
    epsilon: float | None = None,
    dtype: Any = tf.float32,
) -> tf.Tensor:
    """Per-image standardization ``y = (x - mean) / adjusted_std`` (py_function).

    See :func:`gilfree.reference.standardize` for the arguments and boundary rules.
    With ``epsilon=None`` the result equals ``tf.image.per_image_standardization``.

    Example:
      >>> standardize(tf.constant([7, 7, 7, 7], tf.uint8))
      <tf.Tensor: shape=(4,), dtype=float32, numpy=array([0., 0., 0., 0.], dtype=float32)>
    """
    x = _input(x)
    with _as_invalid_argument():
        _args.bool_arg("per_channel", per_channel)
        reference.check_epsilon(epsilon)
    out = _output_dtype(dtype)

    def compute(xv: np.ndarray, *, dtype: Any) -> np.ndarray:
        return reference.standardize(xv, per_channel=per_channel, epsilon=epsilon, dtype=dtype)

    return _run(compute, x, [], out)


def minmax_scale(
    x: Any,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = tf.float32,
) -> tf.Tensor:
    """Min-max scaling ``y = (x - lo) / (hi - lo)`` over the valid elements (py_function).

    See :func:`gilfree.reference.minmax_scale` for the arguments and boundary rules.

    Example:
      >>> minmax_scale(tf.constant([0, 10, 20, 30], tf.uint16), nodata=0, fill=-1.0)
      <tf.Tensor: shape=(4,), dtype=float32, numpy=array([-1. ,  0. ,  0.5,  1. ], dtype=float32)>
    """
    x = _input(x)
    with _as_invalid_argument():
        _args.bool_arg("per_channel", per_channel)
        reference.check_mask(nodata, fill)
    out = _output_dtype(dtype)

    def compute(xv: np.ndarray, *, dtype: Any) -> np.ndarray:
        return reference.minmax_scale(
            xv, per_channel=per_channel, nodata=nodata, fill=fill, dtype=dtype
        )

    return _run(compute, x, [], out)


def percentile_stretch(
    x: Any,
    low: float = 2.0,
    high: float = 98.0,
    *,
    per_channel: bool = True,
    nodata: float | None = None,
    fill: float = 0.0,
    dtype: Any = tf.float32,
) -> tf.Tensor:
    """Percentile stretch ``y = clip((x - lo) / (hi - lo), 0, 1)`` (py_function).

    See :func:`gilfree.reference.percentile_stretch` for the arguments and boundary rules.

    Example:
      >>> percentile_stretch(tf.constant([0.0, 1, 2, 3, 100]), 25, 75)
      <tf.Tensor: shape=(5,), dtype=float32, numpy=array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)>
    """
    x = _input(x)
    with _as_invalid_argument():
        reference.check_percentiles(low, high)
        _args.bool_arg("per_channel", per_channel)
        reference.check_mask(nodata, fill)
    out = _output_dtype(dtype)

    def compute(xv: np.ndarray, *, dtype: Any) -> np.ndarray:
        return reference.percentile_stretch(
            xv, low, high, per_channel=per_channel, nodata=nodata, fill=fill, dtype=dtype
        )

    return _run(compute, x, [], out)


# --------------------------------------------------------------------------- decoders


def _string_input(contents: Any, ranks: tuple[int, ...], expected: str) -> tf.Tensor:
    """Converts ``contents`` to a string tensor and checks its (static) rank."""
    try:
        contents = tf.convert_to_tensor(contents)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"contents could not be converted to a string tensor: {exc}") from exc
    if contents.dtype != tf.string:
        raise _invalid(f"contents must be {expected} tensor; got dtype {contents.dtype.name}")
    if contents.shape.rank is not None and contents.shape.rank not in ranks:
        raise _invalid(f"contents must be {expected} tensor; got shape {contents.shape}")
    return contents


def _call_reference(compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``compute(*args, **kwargs)`` inside a py_function.

    ``tf.py_function`` turns a ValueError or TypeError into InvalidArgumentError; the error
    is raised afresh, outside the ``except`` block, so the message carries no chained
    traceback of the reference.
    """
    error: type[Exception] | None = None
    try:
        return compute(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        error, message = type(exc), str(exc)
    raise error(message)


def decode_npy(
    contents: Any, dtype: Any, *, shape: Sequence[int | None] | None = None
) -> tf.Tensor:
    """Decodes one ``.npy`` file (a scalar string tensor) into a tensor (py_function).

    See :func:`gilfree.reference.decode_npy` for the arguments and boundary rules.
    ``dtype`` is anything ``tf.as_dtype`` or ``np.dtype`` accepts. The static shape is
    ``shape`` (-1 and None give unknown dimensions) when given, else unknown.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.save(f, np.float32([1.5, 2.5]))
      >>> decode_npy(tf.constant(f.getvalue()), tf.float32, shape=[None])
      <tf.Tensor: shape=(2,), dtype=float32, numpy=array([1.5, 2.5], dtype=float32)>
    """
    contents = _string_input(contents, (0,), "a scalar string")
    with _as_invalid_argument():
        np_dtype = reference.check_decode_dtype("dtype", dtype)
        wanted = reference.check_shape_arg(shape)

    def run(c: tf.Tensor) -> np.ndarray:
        return _call_reference(reference.decode_npy, c.numpy(), np_dtype, shape=wanted)

    y = tf.py_function(run, [contents], Tout=tf.as_dtype(np_dtype))
    if wanted is not None:
        y.set_shape(wanted)
    return y


def decode_tiff(
    contents: Any,
    dtype: Any,
    *,
    page: Any = 0,
    window: Any = None,
    shape: Sequence[int | None] | None = None,
) -> tf.Tensor:
    """Decodes one page of a TIFF file, or a window of it, to ``[height, width, bands]``
    (py_function).

    See :func:`gilfree.reference.decode_tiff` for the arguments and boundary rules; ``page``
    and ``window`` may be tensors. The static shape is ``shape`` where it gives sizes, and
    the window's height and width when it is given as ints.

    Example:
      >>> import io, tifffile
      >>> f = io.BytesIO()
      >>> tifffile.imwrite(f, np.float32([[1.5, 2.5]]))
      >>> decode_tiff(tf.constant(f.getvalue()), tf.float32)[..., 0]
      <tf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[1.5, 2.5]], dtype=float32)>
    """
    contents = _string_input(contents, (0,), "a scalar string")
    static_window = None
    with _as_invalid_argument():
        np_dtype = reference.check_decode_dtype("dtype", dtype)
        wanted = _schema.shape_arg(shape, 3)
        if not isinstance(window, tf.Tensor | tf.Variable):
            static_window = _schema.window_arg(window)
        if not isinstance(page, tf.Tensor | tf.Variable):
            page = _args.int_arg("page", page)
    bounds = tf.zeros([0], tf.int64) if static_window is None else static_window
    if isinstance(window, tf.Tensor | tf.Variable):
        bounds = tf.reshape(tf.cast(window, tf.int64), [-1])

    def run(c: tf.Tensor, p: tf.Tensor, w: tf.Tensor) -> np.ndarray:
        box = w.numpy().tolist()
        return _call_reference(
            reference.decode_tiff,
            c.numpy(),
            np_dtype,
            page=int(p.numpy()),
            window=box or None,
            shape=wanted,
        )

    y = tf.py_function(run, [contents, tf.cast(page, tf.int64), bounds], Tout=tf.as_dtype(np_dtype))
    y.set_shape(_schema.tiff_static_shape(wanted, static_window))
    return y


def decode_npz(contents: Any, spec: Mapping[str, Any]) -> dict[str, tf.Tensor]:
    """Decodes the members named in ``spec`` of one ``.npz`` file (py_function).

    See :func:`gilfree.reference.decode_npz` for the arguments and boundary rules.
    ``spec`` maps member names to dtypes (``tf.DType`` or NumPy); the result is a dict of
    tensors in ``spec`` order, of unknown static shape.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.savez(f, label=np.int64(3))
      >>> decode_npz(tf.constant(f.getvalue()), {"label": tf.int64})
      {'label': <tf.Tensor: shape=(), dtype=int64, numpy=3>}
    """
    contents = _string_input(contents, (0,), "a scalar string")
    with _as_invalid_argument():
        wanted = reference.check_npz_spec(spec)
    names = list(wanted)

    def run(c: tf.Tensor) -> list[np.ndarray]:
        out = _call_reference(reference.decode_npz, c.numpy(), wanted)
        return [out[name] for name in names]

    outs = tf.py_function(run, [contents], Tout=[tf.as_dtype(d) for d in wanted.values()])
    return dict(zip(names, outs, strict=True))


def decode_records(
    contents: Any,
    schema: Any,
    *,
    header_bytes: int = 0,
    footer_bytes: int = 0,
) -> dict[str, tf.Tensor]:
    """Decodes fixed-length binary records into one tensor per field (py_function).

    See :func:`gilfree.reference.decode_records` for the arguments and boundary rules.
    ``contents`` is a scalar string tensor (many records) or a 1-D string tensor (a batch
    of strings of one record each, e.g. batched ``tf.data.FixedLengthRecordDataset``
    elements). Field ``f`` gives a tensor of static shape ``[None, *f.shape]``.

    Example:
      >>> schema = np.dtype([("label", "u1"), ("value", ">i2")])
      >>> out = decode_records(tf.constant([b"\\x01\\x00\\x02", b"\\x03\\xff\\xfe"]), schema)
      >>> out["value"]
      <tf.Tensor: shape=(2,), dtype=int16, numpy=array([ 2, -2], dtype=int16)>
    """
    contents = _string_input(contents, (0, 1), "a scalar or 1-D string")
    with _as_invalid_argument():
        dt, fields = reference.check_schema(schema)
        header = reference.check_skip("header_bytes", header_bytes)
        footer = reference.check_skip("footer_bytes", footer_bytes)

    def run(c: tf.Tensor) -> list[np.ndarray]:
        value = c.numpy()
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = list(value)  # a batch: one record per string
        out = _call_reference(
            reference.decode_records, value, dt, header_bytes=header, footer_bytes=footer
        )
        return [out[field.name] for field in fields]

    outs = tf.py_function(run, [contents], Tout=[tf.as_dtype(field.dtype) for field in fields])
    for out, field in zip(outs, fields, strict=True):
        out.set_shape((None, *field.shape))
    return {field.name: out for field, out in zip(fields, outs, strict=True)}


# --------------------------------------------------------------------------- geometry
#
# The geometry ops of ``docs/geometry-spec.md`` run :mod:`gilfree.reference` the same way.
# Images are uint8, uint16, int16, float16, float32 or bfloat16 (computed in float32 and
# cast back); the output has the input's dtype and a static shape (the input's rank, with
# ``output_shape`` or the maps' shape replacing H, W). Matrices, transforms, maps, points,
# ``angle``, ``center`` and ``scale`` may be tensors (computed in the graph, e.g. random
# augmentation); they are checked when the op is built as far as their static value or
# shape is known, and completely when it runs. ``output_shape``, ``interpolation``,
# ``fill_mode``, ``fill_value``, ``nodata``, ``inverse`` and ``order`` are Python values,
# checked at once.

_GEOMETRY_DTYPES = (tf.uint8, tf.uint16, tf.int16, tf.float16, tf.float32, tf.bfloat16)
#: projective_transform also takes ImageProjectiveTransformV3's int32, int64 and float64.
_V3_DTYPES = (*_GEOMETRY_DTYPES, tf.int32, tf.int64, tf.float64)


def _geometry_image(
    image: Any,
    name: str = "image",
    ranks: tuple[int, ...] = (2, 3, 4),
    dtypes: tuple[tf.DType, ...] = _GEOMETRY_DTYPES,
):
    """Converts ``image`` to a tensor and checks its dtype and (static) rank."""
    try:
        image = tf.convert_to_tensor(image)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"{name} could not be converted to a tensor: {exc}") from exc
    if image.dtype not in dtypes:
        raise _invalid(
            f"{name} has unsupported dtype {image.dtype.name}; expected one of {_names(dtypes)}"
        )
    rank = image.shape.rank
    if rank is not None and rank not in ranks:
        with _as_invalid_argument():
            reference.check_image(np.zeros([0] * rank, np.float32), name, ranks)
    if rank is None:
        raise _invalid(f"{name} must have a known rank ({', '.join(map(str, ranks))})")
    return image


def _compute_dtype(image: tf.Tensor) -> np.dtype:
    """The NumPy dtype the reference computes ``image`` in (bfloat16 -> float32)."""
    return np.dtype(np.float32) if image.dtype == tf.bfloat16 else image.dtype.as_numpy_dtype


def _image_dims(image: tf.Tensor) -> tuple[int | None, int | None, int | None, int | None]:
    """Static (N, H, W, C) of an image of rank 2, 3 or 4 (None where unknown)."""
    dims = image.shape.as_list()
    if len(dims) == 2:
        return 1, dims[0], dims[1], 1
    if len(dims) == 3:
        return 1, dims[0], dims[1], dims[2]
    return dims[0], dims[1], dims[2], dims[3]


def _output_static_shape(image: tf.Tensor, height: int | None, width: int | None) -> list:
    """The static output shape: the image's rank with (height, width) replacing H, W."""
    batch, _, _, channels = _image_dims(image)
    if image.shape.rank == 2:
        return [height, width]
    if image.shape.rank == 3:
        return [height, width, channels]
    return [batch, height, width, channels]


def _static_value(value: Any) -> Any:
    """The value of ``value`` if known when the op is built (tensor or not), else None."""
    return tf.get_static_value(value) if tf.is_tensor(value) else value


def _float_input(name: str, value: Any, dtype: tf.DType = tf.float64) -> tf.Tensor:
    """``value`` as a tensor of ``dtype`` (a py_function input).

    Python numbers and NumPy arrays go through NumPy (float64), so that Python floats
    keep their precision (``tf.convert_to_tensor`` would make them float32).
    """
    if not tf.is_tensor(value):
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise _invalid(f"{name} could not be converted to an array: {exc}") from exc
        if array.dtype.kind not in "biuf":
            raise _invalid(f"{name} must be real numbers; got {_preview(value)}")
        with np.errstate(over="ignore"):  # too large for float32: inf, rejected later
            value = array.astype(dtype.as_numpy_dtype)
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"{name} could not be converted to a tensor: {exc}") from exc
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise _invalid(f"{name} must be real numbers; got dtype {tensor.dtype.name}")
    return tf.cast(tensor, dtype)


def _preview(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_static_output_shape(image: tf.Tensor, output_shape: Any) -> tuple:
    """Validates ``output_shape`` now; returns the static (height, width) of the output."""
    batch, height, width, channels = _image_dims(image)
    if output_shape is None:
        return height, width
    static = _static_value(output_shape)
    if static is None:
        raise _invalid("output_shape must be known when the op is built (a pair of ints)")
    if isinstance(static, np.ndarray):
        static = static.tolist()
    itemsize = image.dtype.size
    with _as_invalid_argument():
        # (height, width) is only the default for output_shape=None, returned above
        source = cast(tuple[int, int], (height, width))
        return reference.check_output_shape(static, source, batch or 1, channels or 1, itemsize)


def _dtype_fill(image: tf.Tensor, fill_value: Any) -> Any:
    """fill_value as the op sees it: rounded to the image's dtype. The reference
    rounds it to its compute dtype, which for bfloat16 images is float32."""
    if image.dtype != tf.bfloat16 or fill_value is None:
        return fill_value
    rounded = tf.cast(tf.cast(np.asarray(fill_value, np.float32), tf.bfloat16), tf.float32)
    return rounded.numpy().astype(np.float64).tolist()


def _check_static_sampling(
    image: tf.Tensor, interpolation: Any, fill_mode: Any, fill_value: Any, nodata: Any
) -> Any:
    """Validates interpolation, fill_mode, nodata and fill_value when the op is built;
    returns fill_value for the reference (see _dtype_fill)."""
    channels = _image_dims(image)[3]
    dtype = _compute_dtype(image)
    with _as_invalid_argument():
        reference.check_interpolation(interpolation)
        reference.check_fill_mode(fill_mode)
        nodata_value = reference.check_nodata(nodata, dtype)
        if channels is None:  # the length is checked when the op runs
            channels = max(1, int(np.size(fill_value))) if fill_value is not None else 1
        reference.check_fill_value(fill_value, nodata_value, channels, dtype)
    return _dtype_fill(image, fill_value)


def _check_static_matrix(image: tf.Tensor, matrix: Any, rows: int, inverse: bool) -> None:
    """Validates ``matrix`` as far as its value (or else its shape) is known now."""
    batch = _image_dims(image)[0]
    static = _static_value(matrix)
    if static is None:
        shape = matrix.shape
        if not shape.is_fully_defined():
            return
        # Only the shape is known: check it with invertible matrices of that shape.
        static, inverse = np.broadcast_to(np.eye(rows, 3), shape.as_list()), True
    static = np.asarray(static)
    if batch is None:  # N unknown: accept any leading dimension, the run checks it
        batch = static.shape[0] if static.ndim == 3 else 1
    with _as_invalid_argument():
        reference.check_matrix("matrix", static, rows, image.shape.rank, batch, inverse)


def _run_geometry(
    compute: Callable[..., np.ndarray],
    image: tf.Tensor,
    inputs: list[tf.Tensor],
    static_shape: list,
) -> tf.Tensor:
    """Runs ``compute(image_np, *inputs_np)`` in a py_function; fixes the shape and dtype.

    bfloat16 images are computed in float32 and cast back.
    """
    original = image.dtype
    if original == tf.bfloat16:
        image = tf.cast(image, tf.float32)

    def fn(*tensors: tf.Tensor) -> np.ndarray:
        return _call_reference(compute, *[t.numpy() for t in tensors])

    y = tf.py_function(fn, [image, *inputs], Tout=image.dtype)
    y.set_shape(static_shape)
    if original == tf.bfloat16:
        y = tf.cast(y, tf.bfloat16)
    return y


def _warp(
    op: Callable[..., np.ndarray],
    rows: int,
    image: Any,
    matrix: Any,
    output_shape: Any,
    inverse: Any,
    interpolation: Any,
    fill_mode: Any,
    fill_value: Any,
    nodata: Any,
) -> tf.Tensor:
    """warp_affine (rows = 2) and warp_perspective (rows = 3)."""
    image = _geometry_image(image)
    with _as_invalid_argument():
        inverse = _args.bool_arg("inverse", inverse)
    matrix_t = _float_input("matrix", matrix)
    _check_static_matrix(image, matrix_t, rows, inverse)
    height, width = _check_static_output_shape(image, output_shape)
    fill_value = _check_static_sampling(image, interpolation, fill_mode, fill_value, nodata)

    def compute(x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return op(
            x,
            m,
            output_shape=None if output_shape is None else (height, width),
            inverse=inverse,
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
            nodata=nodata,
        )

    return _run_geometry(compute, image, [matrix_t], _output_static_shape(image, height, width))


def warp_affine(
    image: Any,
    matrix: Any,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
) -> tf.Tensor:
    """Affine warp, like ``cv2.warpAffine`` (py_function).

    See :func:`gilfree.reference.warp_affine` for the arguments and boundary rules.
    ``matrix`` may be a tensor ([2, 3] or [N, 2, 3]).

    Example:
      >>> image = tf.reshape(tf.range(6, dtype=tf.float32), [2, 3])
      >>> warp_affine(image, [[1.0, 0, 1], [0, 1, 0]])
      <tf.Tensor: shape=(2, 3), dtype=float32, numpy=
      array([[0., 0., 1.],
             [0., 3., 4.]], dtype=float32)>
    """
    return _warp(
        reference.warp_affine,
        2,
        image,
        matrix,
        output_shape,
        inverse,
        interpolation,
        fill_mode,
        fill_value,
        nodata,
    )


def warp_perspective(
    image: Any,
    matrix: Any,
    *,
    output_shape: Sequence[int] | None = None,
    inverse: bool = False,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
) -> tf.Tensor:
    """Perspective warp, like ``cv2.warpPerspective`` (py_function).

    See :func:`gilfree.reference.warp_perspective` for the arguments and boundary rules.
    ``matrix`` may be a tensor ([3, 3] or [N, 3, 3]).
    """
    return _warp(
        reference.warp_perspective,
        3,
        image,
        matrix,
        output_shape,
        inverse,
        interpolation,
        fill_mode,
        fill_value,
        nodata,
    )


def projective_transform(
    images: Any,
    transforms: Any,
    *,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "nearest",
    fill_mode: str = "constant",
    fill_value: Any = 0.0,
) -> tf.Tensor:
    """``tf.raw_ops.ImageProjectiveTransformV3`` semantics (py_function).

    See :func:`gilfree.reference.projective_transform` for the arguments and boundary
    rules. ``images`` is [N, H, W, C]; ``transforms`` ([N, 8] or [1, 8]) may be a tensor.
    """
    images = _geometry_image(images, "images", (4,), _V3_DTYPES)
    transforms_t = _float_input("transforms", transforms, tf.float32)
    batch, _, _, channels = _image_dims(images)
    static = _static_value(transforms_t)
    if static is None and transforms_t.shape.is_fully_defined():
        static = np.zeros(transforms_t.shape.as_list())  # only the shape is known
    with _as_invalid_argument():
        if static is not None:
            leading = np.shape(static)[0] if np.ndim(static) else 1
            reference.check_transforms(static, batch if batch is not None else leading)
        reference.check_interpolation(interpolation, reference.TF_INTERPOLATIONS)
        reference.check_fill_mode(fill_mode, reference.TF_FILL_MODES)
        if channels is not None:
            reference.check_fill_value(fill_value, None, channels, _compute_dtype(images))
    fill_value = _dtype_fill(images, fill_value)
    out_h, out_w = _check_static_output_shape(images, output_shape)

    def compute(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return reference.projective_transform(
            x,
            t,
            output_shape=None if output_shape is None else (out_h, out_w),
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
        )

    return _run_geometry(compute, images, [transforms_t], [batch, out_h, out_w, channels])


def remap(
    image: Any,
    map_x: Any,
    map_y: Any,
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
) -> tf.Tensor:
    """Generic remap, like ``cv2.remap`` (py_function).

    See :func:`gilfree.reference.remap` for the arguments and boundary rules. The maps
    are float32 tensors (or anything ``tf.convert_to_tensor`` makes float32) of equal
    shape [H', W'] or [N, H', W']; the output's static H', W' are theirs.
    """
    image = _geometry_image(image)
    maps = []
    for name, value in (("map_x", map_x), ("map_y", map_y)):
        if isinstance(value, np.ndarray | np.generic) and value.dtype != np.float32:
            raise _invalid(f"{name} must be float32; got dtype {value.dtype}")
        try:
            tensor = tf.convert_to_tensor(value, dtype_hint=tf.float32)
        except (TypeError, ValueError) as exc:
            raise _invalid(f"{name} could not be converted to a tensor: {exc}") from exc
        if tensor.dtype != tf.float32:
            raise _invalid(f"{name} must be float32; got dtype {tensor.dtype.name}")
        if tensor.shape.rank is not None and tensor.shape.rank not in (2, 3):
            raise _invalid(f"{name} has shape {tensor.shape}; expected [H', W'] or [N, H', W']")
        maps.append(tensor)
    map_shape = maps[0].shape
    if map_shape.rank is not None and maps[1].shape.rank is not None:
        if not map_shape.is_compatible_with(maps[1].shape):
            raise _invalid(
                f"map_x and map_y must have equal shapes; got map_x {map_shape} and map_y "
                f"{maps[1].shape}"
            )
        if map_shape.rank == 3 and image.shape.rank != 4:
            raise _invalid(
                f"map_x has shape {map_shape}; a rank-3 map [N, H', W'] needs a rank-4 image, "
                f"expected [H', W'] for a rank-{image.shape.rank} image"
            )
        batch = _image_dims(image)[0]
        if map_shape.rank == 3 and None not in (batch, map_shape[0]) and map_shape[0] != batch:
            raise _invalid(
                f"map_x has shape {map_shape}; expected [H', W'] or [N, H', W'] with N = "
                f"{batch} images"
            )
    fill_value = _check_static_sampling(image, interpolation, fill_mode, fill_value, nodata)
    merged = map_shape.merge_with(maps[1].shape) if map_shape.rank is not None else map_shape
    height, width = (merged[-2], merged[-1]) if merged.rank is not None else (None, None)

    def compute(x: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        return reference.remap(
            x,
            mx,
            my,
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
            nodata=nodata,
        )

    return _run_geometry(compute, image, maps, _output_static_shape(image, height, width))


def _point_inputs(src_points: Any, dst_points: Any, order: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """The points as float64 tensors, checked as far as known when the op is built."""
    src = _float_input("src_points", src_points)
    dst = _float_input("dst_points", dst_points)
    with _as_invalid_argument():
        reference.check_order(order)
        for name, tensor in (("src_points", src), ("dst_points", dst)):
            if tensor.shape.rank is not None and (
                tensor.shape.rank != 2 or tensor.shape[1] not in (2, None)
            ):
                reference.check_points(name, np.zeros(tensor.shape.as_list()))
        src_value, dst_value = _static_value(src), _static_value(dst)
        if src_value is not None and dst_value is not None:
            reference.check_point_pairs(src_value, dst_value, order)
    return src, dst


def polynomial_warp(
    image: Any,
    src_points: Any,
    dst_points: Any,
    *,
    order: int = 1,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
) -> tf.Tensor:
    """Polynomial warp from ground control points (py_function).

    See :func:`gilfree.reference.polynomial_warp` for the arguments and boundary rules.
    The points ([K, 2]) may be tensors; ``order`` is a Python int.
    """
    image = _geometry_image(image)
    src, dst = _point_inputs(src_points, dst_points, order)
    height, width = _check_static_output_shape(image, output_shape)
    fill_value = _check_static_sampling(image, interpolation, fill_mode, fill_value, nodata)

    def compute(x: np.ndarray, s: np.ndarray, d: np.ndarray) -> np.ndarray:
        return reference.polynomial_warp(
            x,
            s,
            d,
            order=order,
            output_shape=None if output_shape is None else (height, width),
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
            nodata=nodata,
        )

    return _run_geometry(compute, image, [src, dst], _output_static_shape(image, height, width))


def fit_polynomial(src_points: Any, dst_points: Any, order: int = 1) -> tuple[tf.Tensor, tf.Tensor]:
    """Least-squares polynomial ``f(src) ~= dst`` (py_function).

    See :func:`gilfree.reference.fit_polynomial`. Returns ``(coefficients, rms)``: a
    float64 [2, T] tensor (T = 3, 6 or 10) and a float64 scalar tensor.

    Example:
      >>> src = [[0.0, 0], [1, 0], [0, 1]]
      >>> coefficients, rms = fit_polynomial(src, [[3.0, 4], [5, 4], [3, 6]])
      >>> np.round(coefficients.numpy(), 9) + 0.0  # + 0.0 turns -0.0 into 0.0
      array([[3., 2., 0.],
             [4., 0., 2.]])
      >>> bool(rms < 1e-12)
      True
    """
    src, dst = _point_inputs(src_points, dst_points, order)

    def run(s: tf.Tensor, d: tf.Tensor) -> list[np.ndarray]:
        coefficients, rms = _call_reference(reference.fit_polynomial, s.numpy(), d.numpy(), order)
        return [coefficients, np.float64(rms)]

    coefficients, rms = tf.py_function(run, [src, dst], Tout=[tf.float64, tf.float64])
    coefficients.set_shape([2, reference.POLYNOMIAL_TERMS[order]])
    rms.set_shape([])
    return coefficients, rms


def rotate(
    image: Any,
    angle: Any,
    *,
    center: Any = None,
    scale: Any = 1.0,
    output_shape: Sequence[int] | None = None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: Any = None,
    nodata: float | None = None,
) -> tf.Tensor:
    """Rotation about ``center`` with ``cv2.getRotationMatrix2D``'s matrix (py_function).

    See :func:`gilfree.reference.rotate` for the arguments and boundary rules. ``angle``
    (degrees), ``center`` ((x, y) or None) and ``scale`` may be tensors.
    """
    image = _geometry_image(image)
    angle_t = _float_input("angle", angle)
    scale_t = _float_input("scale", scale)
    center_t = None if center is None else _float_input("center", center)
    for name, tensor, shape in (
        ("angle", angle_t, []),
        ("scale", scale_t, []),
        ("center", center_t, [2]),
    ):
        if tensor is not None and not tensor.shape.is_compatible_with(shape):
            expected = "a real number" if name != "center" else "None or two numbers (x, y)"
            raise _invalid(f"{name} has shape {tensor.shape}; expected {expected}")
    angle_v, scale_v = _static_value(angle_t), _static_value(scale_t)
    center_v = None if center_t is None else _static_value(center_t)
    if angle_v is not None and scale_v is not None and (center_t is None or center_v is not None):
        with _as_invalid_argument():
            reference.check_rotation(angle_v, center_v, scale_v)
    height, width = _check_static_output_shape(image, output_shape)
    fill_value = _check_static_sampling(image, interpolation, fill_mode, fill_value, nodata)
    inputs = [angle_t, scale_t] + ([] if center_t is None else [center_t])

    def compute(x: np.ndarray, a: np.ndarray, s: np.ndarray, *c: np.ndarray) -> np.ndarray:
        return reference.rotate(
            x,
            float(a),
            center=c[0].tolist() if c else None,
            scale=float(s),
            output_shape=None if output_shape is None else (height, width),
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
            nodata=nodata,
        )

    return _run_geometry(compute, image, inputs, _output_static_shape(image, height, width))
