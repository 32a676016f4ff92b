"""decode_npz: the ZIP container and its members (docs/decoding-spec.md)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gilfree import _schema
from gilfree.reference._common import DTypeLike
from gilfree.reference.npy import (
    DEFLATE_MAX_RATIO,
    DEFLATE_SLACK,
    _contents_bytes,
    check_decode_dtype,
    decode_npy,
)

# --------------------------------------------------------------------------- .npz (ZIP)

_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_SIG = b"PK\x03\x04"
_EOCD_SIZE = 22
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD_SIZE = 56
_CENTRAL_SIZE = 46
_LOCAL_SIZE = 30


@dataclass(frozen=True)
class ZipMember:
    """One entry of a ZIP central directory (sizes already resolved through ZIP64)."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    uncompressed_size: int
    local_header_offset: int


@dataclass(frozen=True)
class ZipDirectory:
    members: list[ZipMember]
    central_directory_offset: int


def _zip_error(message: str) -> ValueError:
    return ValueError(f"contents is not a valid zip archive: {message}")


def _find_eocd(buf: bytes) -> int:
    """Offset of the end-of-central-directory record: the last one whose comment ends buf."""
    last = len(buf) - _EOCD_SIZE
    for pos in range(last, max(-1, last - 0xFFFF - 1), -1):
        if buf[pos : pos + 4] == _EOCD_SIG:
            (comment_len,) = struct.unpack_from("<H", buf, pos + 20)
            if pos + _EOCD_SIZE + comment_len == len(buf):
                return pos
    raise _zip_error(
        f"no end of central directory record in its {len(buf)} bytes (truncated, or not a "
        ".npz file)"
    )


def read_zip_directory(buf: bytes) -> ZipDirectory:
    """Parses and checks the central directory of the ZIP archive ``buf`` (ZIP64 included).

    Checks that the directory lies inside ``buf`` before the end records, that it holds the
    number of entries the end record says, and that every entry (with its name, extra
    field and comment) lies inside the directory. Member data is not looked at here.
    """
    eocd = _find_eocd(buf)
    disk, cd_disk, entries_disk, entries, cd_size, cd_offset = struct.unpack_from(
        "<HHHHII", buf, eocd + 4
    )
    end_of_directory = eocd  # the central directory must end before the end records
    locator = eocd - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and buf[locator : locator + 4] == _ZIP64_LOCATOR_SIG:
        _, record, _ = struct.unpack_from("<IQI", buf, locator + 4)
        if record + _ZIP64_EOCD_SIZE > locator:
            raise _zip_error(
                f"the ZIP64 end record offset {record} points past the ZIP64 locator at {locator}"
            )
        if buf[record : record + 4] != _ZIP64_EOCD_SIG:
            raise _zip_error(f"no ZIP64 end of central directory record at offset {record}")
        disk, cd_disk, entries_disk, entries, cd_size, cd_offset = struct.unpack_from(
            "<IIQQQQ", buf, record + 16
        )
        end_of_directory = record
    if disk != 0 or cd_disk != 0 or entries_disk != entries:
        raise _zip_error("multi-disk archives are not supported")
    if cd_offset + cd_size > end_of_directory:
        raise _zip_error(
            f"the central directory (offset {cd_offset}, {cd_size} bytes) runs past the end "
            f"records at offset {end_of_directory}"
        )
    cd_end = cd_offset + cd_size
    members: list[ZipMember] = []
    pos = cd_offset
    for index in range(entries):
        if pos + _CENTRAL_SIZE > cd_end:
            raise _zip_error(
                f"the end record says {entries} entries, but the {cd_size}-byte central "
                f"directory ends after {index}"
            )
        if buf[pos : pos + 4] != _CENTRAL_SIG:
            raise _zip_error(f"central directory entry {index} has a bad signature")
        (flags, method, _time, _date, crc, csize, usize, name_len, extra_len, comment_len) = (
            struct.unpack_from("<HHHHIIIHHH", buf, pos + 8)
        )
        (local_offset,) = struct.unpack_from("<I", buf, pos + 42)
        name_start = pos + _CENTRAL_SIZE
        extra_start = name_start + name_len
        next_pos = extra_start + extra_len + comment_len
        if next_pos > cd_end:
            raise _zip_error(f"central directory entry {index} runs past the directory's end")
        raw_name = buf[name_start:extra_start]
        try:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError as exc:
            raise _zip_error(f"central directory entry {index} has a bad name") from exc
        # ZIP64: the fields that are 0xFFFFFFFF follow, in this order, in extra field 1.
        needed = [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, local_offset == 0xFFFFFFFF]
        if any(needed):
            values = _zip64_extra(buf[extra_start : extra_start + extra_len], sum(needed), name)
            resolved = iter(values)
            usize = next(resolved) if needed[0] else usize
            csize = next(resolved) if needed[1] else csize
            local_offset = next(resolved) if needed[2] else local_offset
        members.append(ZipMember(name, flags, method, crc, csize, usize, local_offset))
        pos = next_pos
    return ZipDirectory(members, cd_offset)


def _zip64_extra(extra: bytes, count: int, name: str) -> tuple[int, ...]:
    """The first ``count`` 64-bit values of the ZIP64 extra field (id 1) in ``extra``."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + size > len(extra):
            break
        if tag == 1:
            if size < 8 * count:
                raise _zip_error(f"member {name!r} has a short ZIP64 extra field")
            return struct.unpack_from(f"<{count}Q", extra, pos + 4)
        pos += 4 + size
    raise _zip_error(f"member {name!r} needs a ZIP64 extra field but has none")


def read_zip_member(buf: bytes, directory: ZipDirectory, member: ZipMember) -> bytes:
    """The uncompressed bytes of ``member``, after the size bound, inflate and CRC checks."""
    name = member.name
    if member.flags & 0x1:
        raise ValueError(f"contents has zip member {name!r} encrypted; not supported")
    if member.method not in (0, 8):
        raise ValueError(
            f"contents has zip member {name!r} with compression method {member.method}; "
            "expected 0 (stored) or 8 (deflate)"
        )
    csize, usize = member.compressed_size, member.uncompressed_size
    if member.method == 0 and csize != usize:
        raise ValueError(
            f"contents has stored zip member {name!r} with compressed size {csize} != "
            f"uncompressed size {usize}"
        )
    if usize > DEFLATE_MAX_RATIO * csize + DEFLATE_SLACK:
        raise ValueError(
            f"contents has zip member {name!r} claiming {usize} bytes from {csize} compressed: "
            f"more than deflate can expand ({DEFLATE_MAX_RATIO} * {csize} + {DEFLATE_SLACK})"
        )
    offset = member.local_header_offset
    if offset + _LOCAL_SIZE > directory.central_directory_offset:
        raise ValueError(
            f"contents has zip member {name!r} whose local header offset {offset} lies past "
            "the member data"
        )
    if buf[offset : offset + 4] != _LOCAL_SIG:
        raise ValueError(
            f"contents has zip member {name!r} with a bad local header signature at {offset}"
        )
    name_len, extra_len = struct.unpack_from("<HH", buf, offset + 26)
    start = offset + _LOCAL_SIZE + name_len + extra_len
    end = start + csize
    if end > directory.central_directory_offset:
        raise ValueError(
            f"contents has zip member {name!r} whose {csize} bytes of data (from offset "
            f"{start}) run into the central directory at {directory.central_directory_offset}"
        )
    raw = buf[start:end]
    if member.method == 0:
        data = raw
    else:
        inflater = zlib.decompressobj(-15)  # raw deflate, no zlib header
        try:
            # One byte more than claimed, to see whether the stream inflates to more.
            data = inflater.decompress(raw, usize + 1)
        except zlib.error as exc:
            raise ValueError(
                f"contents has zip member {name!r} with a corrupt deflate stream: {exc}"
            ) from exc
        if len(data) > usize:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream inflates to more than "
                f"the {usize} bytes its directory entry says"
            )
        if not inflater.eof:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream is truncated "
                f"(inflated {len(data)} of {usize} bytes)"
            )
        if len(data) < usize:
            raise ValueError(
                f"contents has zip member {name!r} whose deflate stream inflates to {len(data)} "
                f"bytes, fewer than the {usize} its directory entry says"
            )
        if inflater.unused_data:
            raise ValueError(
                f"contents has zip member {name!r} with {len(inflater.unused_data)} bytes after "
                "the end of its deflate stream"
            )
    crc = zlib.crc32(data)
    if crc != member.crc:
        raise ValueError(
            f"contents has zip member {name!r} with a bad CRC-32: {crc:#010x}, but the "
            f"directory says {member.crc:#010x}"
        )
    return data


def check_npz_spec(spec: Mapping[str, DTypeLike]) -> dict[str, np.dtype]:
    """Validates the ``spec`` of :func:`decode_npz`; returns {name: native NumPy dtype}."""
    return {
        name: check_decode_dtype(f"spec[{name!r}]", dtype)
        for name, dtype in _schema.npz_spec_items(spec)
    }


def _member_label(name: str) -> str:
    return name[: -len(".npy")] if name.endswith(".npy") else name


def decode_npz(
    contents: bytes | bytearray | memoryview, spec: Mapping[str, DTypeLike]
) -> dict[str, np.ndarray]:
    """Decodes the members named in ``spec`` of one ``.npz`` file.

    Args:
      contents: the bytes of one .npz file: a ZIP archive of .npy members as written by
        ``numpy.savez`` (stored) or ``numpy.savez_compressed`` (deflate), ZIP64 included.
      spec: a dict from member name (without ``.npy``) to the dtype it must hold, e.g.
        ``{"image": np.uint8, "label": np.int64}``.

    Returns:
      A dict with exactly the keys of ``spec`` (in its order); each member as
      :func:`decode_npy` decodes it (native byte order, C order).

    Boundary rules:
      - a name of ``spec`` without a member ``<name>.npy``: ValueError naming it and the
        members present (``member``).
      - compression methods 0 (stored) and 8 (deflate); anything else, or an encrypted
        member: ValueError.
      - a member may claim at most 1032 * its compressed size + 1024 bytes uncompressed,
        checked before anything is inflated.
      - the deflate stream must inflate to exactly the size its directory entry says
        (``deflate``) and the CRC-32 of every member read must match (``CRC``).
      - the archive's structure (end records, central directory, local headers, member
        data) must lie inside ``contents``; a member's .npy must be valid and hold the
        dtype of ``spec``: ValueError naming ``contents`` and the member.
      - a ``spec`` that is not a dict, or an unsupported dtype in it: TypeError.

    Example:
      >>> import io
      >>> f = io.BytesIO()
      >>> np.savez_compressed(f, x=np.arange(3.0), y=np.uint8(7))
      >>> decode_npz(f.getvalue(), {"y": np.uint8, "x": np.float64})
      {'y': array(7, dtype=uint8), 'x': array([0., 1., 2.])}
    """
    buf = _contents_bytes(contents)
    wanted = check_npz_spec(spec)
    directory = read_zip_directory(buf)
    by_name: dict[str, list[ZipMember]] = {}
    for member in directory.members:
        by_name.setdefault(member.name, []).append(member)
    out: dict[str, np.ndarray] = {}
    for key, dtype in wanted.items():
        found = by_name.get(key + ".npy", [])
        if not found:
            present = ", ".join(repr(_member_label(m.name)) for m in directory.members)
            raise ValueError(
                f"contents has no member {key!r} ({key}.npy); the members present are: "
                f"{present or '(none)'}"
            )
        if len(found) > 1:
            raise ValueError(f"contents has zip member {key + '.npy'!r} more than once")
        data = read_zip_member(buf, directory, found[0])
        try:
            out[key] = decode_npy(data, dtype)
        except ValueError as exc:
            raise ValueError(
                f"contents has member {key!r} that is not a valid .npy: {exc}"
            ) from exc
    return out
