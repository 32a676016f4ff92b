"""Argument handling shared by the decoders' NumPy and TensorFlow faces.

Pure Python and NumPy (no TensorFlow): turns a record schema (a NumPy
structured dtype) into the flat field description the kernels take, and names
element dtypes the way the kernels do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# The element types the decoders support, by NumPy name.
ELEMENT_TYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
)


def element_type(dtype: Any, arg: str) -> np.dtype:
    """The native-byte-order NumPy dtype of `dtype`, which must be an element type."""
    if hasattr(dtype, "as_numpy_dtype"):  # a tf.DType
        dtype = dtype.as_numpy_dtype
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{arg} {dtype!r} is not a dtype") from e
    if dt.name not in ELEMENT_TYPES:
        raise TypeError(f"{arg} {dt} is not supported; expected one of {', '.join(ELEMENT_TYPES)}")
    return dt.newbyteorder("=")


def npz_spec_items(spec: Any) -> list[tuple[str, Any]]:
    """decode_npz's ``spec``, a mapping of member name (str) to dtype, as (name, dtype) pairs
    (the dtypes unchecked); TypeError for anything else."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a dict from member name to dtype; got {type(spec).__name__}")
    for name in spec:
        if not isinstance(name, str):
            raise TypeError(f"spec keys must be member names (str); got {name!r}")
    return list(spec.items())


def npz_spec(spec: Any) -> dict[str, np.dtype]:
    """decode_npz's ``spec`` as {name: element type}."""
    return {name: element_type(dt, f"spec[{name!r}]") for name, dt in npz_spec_items(spec)}


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    dtype: np.dtype  # native byte order
    shape: tuple[int, ...]
    big_endian: bool


@dataclass(frozen=True)
class Schema:
    record_bytes: int
    fields: tuple[Field, ...]


def parse_schema(schema: Any) -> Schema:
    """The fields of a structured dtype: names, byte offsets, dtypes, subarray shapes."""
    try:
        dt = np.dtype(schema)
    except TypeError as e:
        raise TypeError(f"schema {schema!r} is not a NumPy dtype") from e
    if dt.names is None:
        raise TypeError(f"schema must be a structured dtype with named fields, got {dt}")
    fields = []
    for name in dt.names:
        field_dtype, offset = dt.fields[name][:2]
        base, shape = field_dtype.subdtype or (field_dtype, ())
        if base.names is not None or base.subdtype is not None:
            raise TypeError(f"schema: field {name!r} is a nested structure; fields must be plain")
        element_type(base, f"schema: field {name!r} has dtype")
        fields.append(
            Field(
                name=name,
                offset=int(offset),
                dtype=base.newbyteorder("="),
                shape=tuple(int(d) for d in shape),
                big_endian=base.byteorder == ">",
            )
        )
    return Schema(record_bytes=int(dt.itemsize), fields=tuple(fields))


def shape_arg(shape: Any, rank: int | None = None) -> list[int] | None:
    """The ``shape`` argument of a decoder as ints, -1 meaning any size; with ``rank``, it
    must have that many dims (decode_tiff: 3)."""
    if shape is None:
        return None
    if isinstance(shape, str) or not hasattr(shape, "__iter__"):
        raise TypeError(f"shape is {shape!r}; expected a sequence of ints (None for any size)")
    if rank is not None and len(shape) != rank:
        raise ValueError(f"shape is {list(shape)!r}; expected {rank} dims (height, width, bands)")
    dims = []
    for i, d in enumerate(shape):
        if d is None:
            dims.append(-1)
            continue
        if isinstance(d, bool) or not isinstance(d, int | np.integer):
            raise TypeError(f"shape[{i}] is {d!r}; expected an int, or None for any size")
        if d < -1:
            raise ValueError(f"shape[{i}] is {d}; expected a size >= 0, or -1 or None for any size")
        dims.append(int(d))
    return dims


def window_arg(window: Any) -> list[int] | None:
    """decode_tiff's ``window``, None or (row, col, height, width), as 4 ints; the core
    checks the values against the page."""
    if window is None:
        return None
    if isinstance(window, str) or not hasattr(window, "__len__"):
        raise TypeError(f"window is {window!r}; expected None or (row, col, height, width)")
    if len(window) != 4:
        raise ValueError(f"window is {tuple(window)!r}; expected (row, col, height, width)")
    out = []
    for i, v in enumerate(window):
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
            raise TypeError(f"window[{i}] is {v!r}; expected an int")
        out.append(int(v))
    return out


def tiff_static_shape(shape: list[int] | None, window: list[int] | None) -> list[int | None]:
    """decode_tiff's static [height, width, bands] on the TensorFlow faces: ``shape`` where
    it gives a size, else the window's height and width."""
    dims: list[int | None] = [None, None, None]
    if window is not None:
        dims[0], dims[1] = window[2], window[3]
    if shape is not None:
        dims = [d if s < 0 else s for d, s in zip(dims, shape, strict=True)]
    return dims
