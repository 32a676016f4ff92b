"""The decoders' shared rules and decode_npy (docs/decoding-spec.md)."""

from __future__ import annotations

import ast
import math
import operator
import re
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gilfree._schema import ELEMENT_TYPES
from gilfree.reference._common import DTypeLike, _names

# =========================================================================== decoders
#
# The semantics of ``docs/decoding-spec.md``. Every length, shape and offset read from
# ``contents`` is checked before it is used, and nothing is allocated that the input
# cannot justify. Problems in the bytes raise ``ValueError`` with a message that starts
# with (or names) ``contents`` and uses one of the words ``truncated``, ``header``,
# ``shape``, ``descr``, ``trailing``, ``zip``, ``deflate``, ``CRC``, ``member``, ``record``.
# Bad dtype arguments (``dtype``, ``spec`` values, ``schema``) raise ``TypeError``; other
# bad argument values ``ValueError``.

#: Element dtypes the decoders support (outputs are always in native byte order).
DECODE_DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(name) for name in ELEMENT_TYPES)

#: The first six bytes of every .npy file.
NPY_MAGIC = b"\x93NUMPY"
#: The .npy format versions the decoders read.
NPY_VERSIONS = ((1, 0), (2, 0), (3, 0))
#: The largest rank decode_npy accepts.
NPY_MAX_RANK = 32
#: Array sizes in bytes must fit a signed 64-bit integer.
MAX_NBYTES = 2**63 - 1
#: A deflate member may claim at most ``DEFLATE_MAX_RATIO * compressed + DEFLATE_SLACK``
#: bytes uncompressed (deflate cannot expand more than about 1032:1).
DEFLATE_MAX_RATIO = 1032
DEFLATE_SLACK = 1024

# descr strings of the supported dtypes without the byte order: "b1", "i1", ..., "f8".
_DESCR_CODES = frozenset(f"{d.kind}{d.itemsize}" for d in DECODE_DTYPES)
_DESCR_RE = re.compile(r"([<>|=])([a-z])([0-9]+)")
_NPY_KEYS = ("descr", "fortran_order", "shape")


def _preview(value: Any, limit: int = 80) -> str:
    """repr(value), cut to ``limit`` characters (hostile headers can be long)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _contents_bytes(contents: Any, name: str = "contents") -> bytes:
    """``contents`` (bytes, bytearray or memoryview) as bytes."""
    if isinstance(contents, bytes):
        return contents
    if isinstance(contents, bytearray | memoryview):
        return bytes(contents)
    raise TypeError(f"{name} must be bytes, bytearray or memoryview; got {type(contents).__name__}")


def check_decode_dtype(name: str, dtype: DTypeLike) -> np.dtype:
    """Returns ``dtype`` as a native-byte-order NumPy dtype, or raises TypeError.

    Accepts a string, a NumPy dtype or scalar type, or anything with an ``as_numpy_dtype``
    attribute (a ``tf.DType``). Either byte order is accepted; the result is native.
    """
    candidate = getattr(dtype, "as_numpy_dtype", dtype)
    try:
        out = None if candidate is None else np.dtype(candidate)
    except (TypeError, ValueError):
        out = None
    if out is not None and out.names is None and out.subdtype is None:
        native = out.newbyteorder("=")
        if native in DECODE_DTYPES:
            return native
    given = _preview(dtype) if out is None else str(out)
    raise TypeError(f"{name} {given} is not supported; expected one of {_names(DECODE_DTYPES)}")


def check_shape_arg(shape: Sequence[int | None] | None) -> tuple[int | None, ...] | None:
    """Validates the ``shape`` argument of :func:`decode_npy`.

    Returns None (no constraint) or a tuple with an int >= 0 per known dimension and None
    for "any" (given as -1 or None).
    """
    if shape is None:
        return None
    expected = "None or a sequence of ints (-1 or None for any)"
    if isinstance(shape, str | bytes):
        raise TypeError(f"shape must be {expected}; got {shape!r}")
    try:
        dims = list(shape)  # a tuple, list, array or tf.TensorShape
    except TypeError as exc:
        raise TypeError(f"shape must be {expected}; got {shape!r}") from exc
    out: list[int | None] = []
    for d in dims:
        if d is None:
            out.append(None)
            continue
        if isinstance(d, bool | np.bool_):
            raise TypeError(f"shape must hold ints, -1 or None; got {dims!r}")
        try:
            value = operator.index(d)
        except TypeError as exc:
            raise TypeError(f"shape must hold ints, -1 or None; got {dims!r}") from exc
        if value < -1:
            raise ValueError(
                f"shape has dimension {value}; expected ints >= 0, or -1 or None for any: "
                f"got {dims!r}"
            )
        out.append(None if value == -1 else value)
    if len(out) > NPY_MAX_RANK:
        raise ValueError(f"shape has rank {len(out)}; expected at most {NPY_MAX_RANK}")
    return tuple(out)


def check_shape_matches(
    actual: Sequence[int], wanted: Sequence[int | None] | None, what: str = "contents has"
) -> None:
    """A decoded shape against the ``shape`` argument (None: any size): else ValueError."""
    if wanted is not None and (
        len(wanted) != len(actual)
        or any(w is not None and w != h for w, h in zip(wanted, actual, strict=True))
    ):
        raise ValueError(f"{what} shape {_shape_text(actual)}, but shape is {_shape_text(wanted)}")


def _shape_text(shape: Sequence[int | None]) -> str:
    """A shape as Python writes a tuple, with ``?`` for "any": (2, ?, 4), (6,), ()."""
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


# --------------------------------------------------------------------------- .npy


@dataclass(frozen=True)
class NpyHeader:
    """What the header of a .npy file says, after every check.

    ``dtype`` is the dtype as stored (its byte order may be non-native); ``data_offset``
    is where the array data begins.
    """

    version: tuple[int, int]
    descr: str
    dtype: np.dtype
    fortran_order: bool
    shape: tuple[int, ...]
    data_offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _npy_dtype_of_descr(descr: Any) -> np.dtype:
    """The dtype of a header's descr, or ValueError (``descr``) if it is not supported."""
    expected = f"expected one of {_names(DECODE_DTYPES)} with byte order <, >, | or ="
    if not isinstance(descr, str):
        kind = "a structured" if isinstance(descr, list | tuple) else "a non-string"
        raise ValueError(
            f"contents has {kind} descr {_preview(descr)} in its .npy header; {expected}"
        )
    match = _DESCR_RE.fullmatch(descr)
    if match is None or match[2] + match[3] not in _DESCR_CODES:
        raise ValueError(f"contents has unsupported descr {_preview(descr)}; {expected}")
    order = "=" if match[1] == "|" else match[1]  # "|": byte order not applicable
    return np.dtype(order + match[2] + match[3])


def read_npy_header(buf: bytes) -> NpyHeader:
    """Parses and checks the header of the .npy file ``buf``.

    Checks the magic, the version (1.0, 2.0 or 3.0), that the header fits in ``buf``,
    that it is a dict literal with exactly the keys descr, fortran_order and shape, the
    descr (a supported dtype), fortran_order (a bool) and the shape (a tuple of at most
    32 ints >= 0 whose size in bytes fits in int64). Does not look at the data.
    """
    n = len(buf)
    if n < len(NPY_MAGIC):
        if buf == NPY_MAGIC[:n]:
            raise ValueError(
                f"contents is truncated: {n} bytes, fewer than the 10 of the smallest .npy header"
            )
        raise ValueError(
            f"contents is not a .npy file: its header starts with {bytes(buf[:6])!r}, not the "
            f"magic {NPY_MAGIC!r}"
        )
    if buf[:6] != NPY_MAGIC:
        raise ValueError(
            f"contents is not a .npy file: its header starts with {bytes(buf[:6])!r}, not the "
            f"magic {NPY_MAGIC!r}"
        )
    if n < 8:
        raise ValueError(f"contents is truncated: {n} bytes end inside the .npy header")
    version = (buf[6], buf[7])
    if version not in NPY_VERSIONS:
        raise ValueError(
            f"contents has .npy format version {version[0]}.{version[1]} in its header; "
            "expected 1.0, 2.0 or 3.0"
        )
    length_format = "<H" if version[0] == 1 else "<I"
    start = 8 + struct.calcsize(length_format)
    if n < start:
        raise ValueError(f"contents is truncated: {n} bytes end inside the .npy header")
    (header_len,) = struct.unpack_from(length_format, buf, 8)
    end = start + header_len
    if end > n:
        raise ValueError(
            f"contents is truncated: the .npy header length is {header_len} bytes, but only "
            f"{n - start} bytes follow it"
        )
    raw = bytes(buf[start:end])
    try:
        text = raw.decode("utf-8" if version[0] == 3 else "latin-1")
    except UnicodeDecodeError as exc:
        raise ValueError(f"contents has a .npy 3.0 header that is not UTF-8: {exc}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for odd escapes
        try:
            d = ast.literal_eval(text)
        except Exception as exc:  # any rejection by the literal parser
            raise ValueError(
                f"contents has a malformed .npy header: {_preview(text)} is not a Python "
                f"literal ({type(exc).__name__})"
            ) from exc
    if not isinstance(d, dict):
        raise ValueError(
            f"contents has a malformed .npy header: {_preview(text)} is not a dict literal"
        )
    keys = sorted(map(repr, d))
    if keys != sorted(map(repr, _NPY_KEYS)):
        raise ValueError(
            f"contents has a .npy header with keys {', '.join(keys)}; expected exactly "
            "'descr', 'fortran_order' and 'shape'"
        )
    dtype = _npy_dtype_of_descr(d["descr"])
    fortran_order = d["fortran_order"]
    if not isinstance(fortran_order, bool):
        raise ValueError(
            f"contents has fortran_order {_preview(fortran_order)} in its .npy header; "
            "expected True or False"
        )
    shape = d["shape"]
    if not isinstance(shape, tuple) or not all(type(s) is int for s in shape):
        raise ValueError(
            f"contents has shape {_preview(shape)} in its .npy header; expected a tuple of ints"
        )
    if any(s < 0 for s in shape):
        raise ValueError(
            f"contents has shape {_preview(shape)} with a negative dimension in its .npy header"
        )
    if len(shape) > NPY_MAX_RANK:
        raise ValueError(
            f"contents has a shape of rank {len(shape)} in its .npy header; expected at most "
            f"{NPY_MAX_RANK}"
        )
    # As np.load, the sizes other than 0 must fit too, even where a 0 makes the array empty.
    nbytes = math.prod(s for s in shape if s) * dtype.itemsize
    if nbytes > MAX_NBYTES:
        raise ValueError(
            f"contents has shape {_preview(shape)} in its .npy header: {nbytes} bytes of "
            f"{dtype.name} do not fit in a signed 64-bit size"
        )
    return NpyHeader(version, d["descr"], dtype, fortran_order, shape, end)


def decode_npy(
    contents: bytes | bytearray | memoryview,
    dtype: DTypeLike,
    *,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Decodes the bytes of one ``.npy`` file into an array (native byte order, C order).

    Args:
      contents: the bytes of one .npy file (bytes, bytearray or memoryview).
      dtype: the dtype the file must hold: bool, int8/16/32/64, uint8/16/32/64,
        float16/32/64 (a string, NumPy dtype or type, or a ``tf.DType``; byte order aside).
      shape: None, or the shape the file must have: a sequence of ints with -1 or None for
        "any" dimension.

    Returns:
      The array of the header's shape, dtype ``dtype`` in native byte order, C order.

    Boundary rules:
      - format versions 1.0, 2.0 and 3.0; descr byte order <, >, | or =; fortran_order True
        (the data is converted to C order) or False; rank 0 to 32.
      - a header dtype other than ``dtype`` (byte order aside): ValueError naming both.
      - a header shape that does not match ``shape`` (rank, or a given dimension):
        ValueError naming both.
      - the data must be exactly product(shape) * itemsize bytes: fewer is ``truncated``,
        more is ``trailing``; nothing is allocated before this is checked.
      - bad magic, version, header length, header literal, keys, descr (structured, object
        or any unsupported dtype), fortran_order or shape (negative, rank > 32, size not
        fitting int64): ValueError naming ``contents``.
      - an unsupported ``dtype``: TypeError; a bad ``shape`` value: ValueError.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.save(f, np.array([[1, 2], [3, 4]], dtype=">i2"))
      >>> decode_npy(f.getvalue(), np.int16, shape=(-1, 2))
      array([[1, 2],
             [3, 4]], dtype=int16)
    """
    buf = _contents_bytes(contents)
    want = check_decode_dtype("dtype", dtype)
    wanted_shape = check_shape_arg(shape)
    header = read_npy_header(buf)
    have = header.dtype.newbyteorder("=")
    if have != want:
        raise ValueError(
            f"contents holds {have.name} (descr {header.descr!r}), but dtype is {want.name}"
        )
    check_shape_matches(header.shape, wanted_shape)
    available = len(buf) - header.data_offset
    if available < header.nbytes:
        raise ValueError(
            f"contents is truncated: shape {_shape_text(header.shape)} of {have.name} needs "
            f"{header.nbytes} bytes of data after the header, found {available}"
        )
    if available > header.nbytes:
        raise ValueError(
            f"contents has {available - header.nbytes} trailing bytes after the "
            f"{header.nbytes} bytes of data of shape {_shape_text(header.shape)}"
        )
    flat = np.frombuffer(
        buf, dtype=header.dtype, count=math.prod(header.shape), offset=header.data_offset
    )
    arr = flat.reshape(header.shape, order="F" if header.fortran_order else "C")
    return arr.astype(want, order="C")  # a copy: native byte order, C order, writable
