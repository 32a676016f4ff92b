"""decode_records: fixed-size binary records (docs/decoding-spec.md)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gilfree.reference._common import DTypeLike, _names
from gilfree.reference.npy import DECODE_DTYPES, _contents_bytes, _preview

# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordField:
    """One field of a records schema: where it is and what it decodes to."""

    name: str
    offset: int
    stored: np.dtype  # the element dtype as stored (byte order of the schema)
    dtype: np.dtype  # the output element dtype (native byte order)
    shape: tuple[int, ...]  # the subarray shape, () for a scalar field


def check_schema(schema: DTypeLike) -> tuple[np.dtype, list[RecordField]]:
    """Validates the ``schema`` of :func:`decode_records`; returns it and its fields.

    The schema must be a structured dtype with at least one field and itemsize > 0 whose
    fields are scalars or subarrays of the supported dtypes (either byte order); nested
    structures are a TypeError.
    """
    try:
        dt = np.dtype(schema)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"schema must be a NumPy structured dtype; got {_preview(schema)}") from exc
    if dt.names is None or len(dt.names) == 0:
        raise TypeError(f"schema must be a structured dtype with fields; got {dt}")
    if dt.itemsize == 0:
        raise TypeError(f"schema {dt} has itemsize 0; a record must have at least one byte")
    fields = []
    assert dt.fields is not None  # a dtype with names has fields
    for name in dt.names:
        field_dtype, offset = dt.fields[name][:2]
        base, shape = (field_dtype.base, field_dtype.shape)
        if base.names is not None:
            raise TypeError(
                f"schema field {name!r} is a nested structure ({field_dtype}); expected one of "
                f"{_names(DECODE_DTYPES)} or a subarray of one"
            )
        native = base.newbyteorder("=")
        if native not in DECODE_DTYPES:
            raise TypeError(
                f"schema field {name!r} has unsupported dtype {base}; expected one of "
                f"{_names(DECODE_DTYPES)}"
            )
        fields.append(RecordField(name, offset, base, native, tuple(shape)))
    return dt, fields


def check_skip(name: str, value: int) -> int:
    """Validates ``header_bytes``/``footer_bytes``: an int >= 0."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int >= 0; got {value!r}")
    try:
        n = operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an int >= 0; got {value!r}") from exc
    if n < 0:
        raise ValueError(f"{name} must be >= 0; got {n}")
    return n


def _records_body(buf: bytes, header: int, footer: int, itemsize: int, where: str) -> bytes:
    """The bytes of the records in one string (header and footer skipped), checked."""
    n = len(buf) - header - footer
    if n < 0:
        raise ValueError(
            f"{where} has {len(buf)} bytes, fewer than header_bytes + footer_bytes = "
            f"{header + footer}: no room for a record"
        )
    extra = n % itemsize
    if extra:
        count = n // itemsize
        raise ValueError(
            f"{where} holds {n} bytes of records (after {header} header and {footer} footer "
            f"bytes), not a whole number of {itemsize}-byte records: {extra} bytes too many "
            f"for {count} records, {itemsize - extra} bytes short of {count + 1}"
        )
    return buf[header : len(buf) - footer]


def decode_records(
    contents: Any,
    schema: DTypeLike,
    *,
    header_bytes: int = 0,
    footer_bytes: int = 0,
) -> dict[str, np.ndarray]:
    """Decodes fixed-length binary records into one array per field.

    Args:
      contents: either one bytes-like string of many records, or a list/tuple of bytes-like
        strings each holding exactly one record.
      schema: a NumPy structured dtype: field names, offsets, padding (itemsize larger than
        the fields), per-field byte order and subarray shapes are respected.
      header_bytes: bytes skipped at the start (of the string, or of each string of a
        batch).
      footer_bytes: bytes skipped at the end (likewise).

    Returns:
      A dict field name -> array of shape ``[num_records, *field_shape]`` in the field's
      dtype in native byte order (C order), in the schema's field order.

    Boundary rules:
      - one string: what is left after header and footer must be a whole number of records
        (zero records is fine), else a ValueError saying by how many bytes it is off
        (``record``).
      - a batch: each string must be exactly header + itemsize + footer bytes long, else a
        ValueError naming its index and by how many bytes it is off; an empty batch gives
        zero records.
      - fields must be scalars or subarrays of bool, int8/16/32/64, uint8/16/32/64 or
        float16/32/64 in either byte order; nested structures and other dtypes: TypeError.
      - negative ``header_bytes``/``footer_bytes``: ValueError.

    Example:
      >>> schema = np.dtype([("label", "u1"), ("value", ">u2", (2,))])
      >>> out = decode_records(b"\\x07\\x00\\x01\\x01\\x00" * 2, schema)
      >>> out["label"], out["value"]
      (array([7, 7], dtype=uint8), array([[  1, 256],
             [  1, 256]], dtype=uint16))
    """
    dt, fields = check_schema(schema)
    header = check_skip("header_bytes", header_bytes)
    footer = check_skip("footer_bytes", footer_bytes)
    if isinstance(contents, list | tuple):
        bodies = []
        for i, item in enumerate(contents):
            record = _contents_bytes(item, f"contents[{i}]")
            expected = header + dt.itemsize + footer
            if len(record) != expected:
                diff = len(record) - expected
                raise ValueError(
                    f"contents[{i}] has {len(record)} bytes; one record with its header and "
                    f"footer is {header} + {dt.itemsize} + {footer} = {expected} bytes: "
                    f"{abs(diff)} bytes {'too many' if diff > 0 else 'short'}"
                )
            bodies.append(record[header : header + dt.itemsize])
        body = b"".join(bodies)
    else:
        body = _records_body(_contents_bytes(contents), header, footer, dt.itemsize, "contents")
    records = np.frombuffer(body, dtype=dt, count=len(body) // dt.itemsize)
    out: dict[str, np.ndarray] = {}
    for field in fields:
        column = np.ascontiguousarray(records[field.name])  # [num_records, *field.shape]
        out[field.name] = column.astype(field.dtype, order="C")
    return out
