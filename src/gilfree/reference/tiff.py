"""decode_tiff and tiff_info: one page of a TIFF, BigTIFF or GeoTIFF file.

Written from the TIFF 6.0, BigTIFF and GeoTIFF 1.1 specifications for clarity, not
speed; the contract is that of ``cpp/core/tiff.h``.

What is read (anything else is a ``ValueError`` naming ``contents`` and what was found):

- classic TIFF (magic 42) and BigTIFF (magic 43), little (``II``) and big (``MM``) endian;
- strips or tiles (edge tiles are cropped); PlanarConfiguration 1 (contig) and 2
  (separate, interleaved on output); any SamplesPerPixel;
- 8-, 16-, 32- and 64-bit samples, all of one size, of SampleFormat 1 (unsigned),
  2 (signed) or 3 (IEEE float of 16, 32 or 64 bits);
- Compression 1 (none), 5 (LZW: MSB-first 9- to 12-bit codes with early change, Clear
  256, EOI 257; old-style LSB-first streams are refused), 8 and 32946 (zlib-wrapped
  deflate), 32773 (PackBits) and 50000 (ZSTD, through the optional ``zstandard`` package);
- Predictor 1 (none), 2 (horizontal differencing of integer samples) and 3 (the
  floating-point predictor: byte planes, most significant first, then byte-wise
  differencing with a stride of the samples per pixel in the chunk);
- any photometric interpretation but palette (3), YCbCr (6) and the CIELab/LogLuv
  families: the stored samples are returned as they are. FillOrder must be 1.

Every byte is untrusted: every offset and byte count is checked against the file's size,
an IFD chain that loops is refused, each chunk must decompress to exactly the bytes its
shape needs (a chunk is a strip, or a full tile, of one band when planar separate), and a
window whose output the chunks it needs could not expand to (:data:`TIFF_MAX_EXPANSION`)
is refused before anything is allocated.

The output is ``[height, width, bands]`` in native byte order, C order.

GeoTIFF (:func:`tiff_info`): ``nodata`` from GDAL_NODATA (42113), the ``geotransform`` in
GDAL order ``(x0, dx, rx, y0, ry, dy)`` from ModelTiepoint (33922) and ModelPixelScale
(33550), else from ModelTransformation (34264); ``epsg`` from the GeoKeyDirectory (34735):
ProjectedCSTypeGeoKey (3072), else GeographicTypeGeoKey (2048), user-defined (32767)
being None; ``raster_type`` "area" or "point" from GTRasterTypeGeoKey (1025). GeoTIFF
values that are malformed (a nodata that is not a number, too few tiepoint values, a key
stored in another tag) are reported as None rather than refused.
"""

from __future__ import annotations

import math
import operator
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from gilfree.reference._common import DTypeLike
from gilfree.reference.npy import (
    _contents_bytes,
    _preview,
    check_decode_dtype,
    check_shape_arg,
    check_shape_matches,
)
from gilfree.reference.records import check_skip

# --------------------------------------------------------------------------- constants

#: The compressions read, by tag value.
TIFF_COMPRESSIONS = {1: "none", 5: "lzw", 8: "deflate", 32946: "deflate", 32773: "packbits"}
TIFF_COMPRESSIONS[50000] = "zstd"
#: Names of other compressions, for messages.
_OTHER_COMPRESSIONS = {
    2: "ccitt_rle",
    3: "ccitt_t4",
    4: "ccitt_t6",
    6: "ojpeg",
    7: "jpeg",
    34712: "jpeg2000",
    34887: "lerc",
    34925: "lzma",
    50001: "webp",
    50002: "jpegxl",
}
#: The largest ratio of decompressed to compressed bytes of each codec (as the C++ core).
# none: the chunk holds its bytes; PackBits: a 2-byte run writes 128; deflate: a 258-byte
# match per 2 bits; LZW: strings < 4096 bytes from codes of >= 9 bits (4096 * 8 / 9, rounded
# up); ZSTD: a 128 KiB RLE block from a 3-byte header and 1 byte.
TIFF_MAX_EXPANSION = {1: 1, 32773: 64, 8: 1032, 32946: 1032, 5: 3641, 50000: 32768}
#: Photometric interpretations refused: palette, YCbCr, CIELab, ICCLab, ITULab, LogL, LogLuv.
_REFUSED_PHOTOMETRIC = {
    3: "palette",
    6: "YCbCr",
    8: "CIELab",
    9: "ICCLab",
    10: "ITULab",
    32844: "LogL",
    32845: "LogLuv",
}

# Field types: (struct code, size in bytes). 2 is ASCII, 5/10 rationals, 7 undefined.
_TYPES = {
    1: ("B", 1),
    2: ("s", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("II", 8),
    6: ("b", 1),
    7: ("B", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: ("ii", 8),
    11: ("f", 4),
    12: ("d", 8),
    13: ("I", 4),
    16: ("Q", 8),
    17: ("q", 8),
    18: ("Q", 8),
}
_INTEGER_TYPES = {1, 3, 4, 6, 8, 9, 13, 16, 17, 18}

# Tags.
_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC, _FILL_ORDER = 256, 257, 258, 259, 262, 266
_STRIP_OFFSETS, _SAMPLES, _ROWS_PER_STRIP, _STRIP_BYTES, _PLANAR = 273, 277, 278, 279, 284
_PREDICTOR, _TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTES = 317, 322, 323, 324, 325
_SAMPLE_FORMAT = 339
_PIXEL_SCALE, _TIEPOINT, _TRANSFORMATION, _GEOKEYS, _NODATA = 33550, 33922, 34264, 34735, 42113


# --------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class _Entry:
    tag: int
    type: int
    count: int
    value_at: int  # where the value (inline or not) lies in the file


@dataclass
class TiffPage:
    """What one page declares, after every check (:func:`read_tiff_page`)."""

    big_tiff: bool
    byte_order: Literal["<", ">"]
    pages: int
    height: int
    width: int
    bands: int
    dtype: np.dtype  # native byte order
    compression: int
    predictor: int
    photometric: int | None
    tiled: bool
    chunk_height: int  # rows per strip (clamped to the height) or tile length
    chunk_width: int  # the width, or the tile width
    separate: bool
    offsets: list[int]
    byte_counts: list[int]
    entries: dict[int, _Entry] = field(repr=False)

    @property
    def chunks_down(self) -> int:
        return -(-self.height // self.chunk_height)

    @property
    def chunks_across(self) -> int:
        return -(-self.width // self.chunk_width)

    @property
    def chunk_bands(self) -> int:
        return 1 if self.separate else self.bands

    def chunk_index(self, band: int, down: int, across: int) -> int:
        return (band * self.chunks_down + down) * self.chunks_across + across

    def chunk_rows(self, down: int) -> int:
        """The rows a chunk holds: a full tile, or the rows of a strip (the last is short)."""
        if self.tiled:
            return self.chunk_height
        return min(self.chunk_height, self.height - down * self.chunk_height)


class _Reader:
    """Bounds-checked reads of the file's integers in its byte order."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.order: Literal["<", ">"] = "<"

    def unpack(self, fmt: str, at: int, what: str) -> tuple[Any, ...]:
        size = struct.calcsize(self.order + fmt)
        if at < 0 or at + size > len(self.buf):
            raise ValueError(
                f"contents is truncated: {what} at offset {at} needs {size} bytes, but the file "
                f"has {len(self.buf)}"
            )
        return struct.unpack_from(self.order + fmt, self.buf, at)


def _read_header(r: _Reader) -> tuple[bool, int]:
    """(big_tiff, first IFD offset) from the header."""
    buf = r.buf
    if len(buf) < 8:
        raise ValueError(
            f"contents is truncated: {len(buf)} bytes, fewer than the 8 of a TIFF header"
        )
    if buf[:2] not in (b"II", b"MM"):
        raise ValueError(
            f"contents is not a TIFF file: its header starts with {buf[:4]!r}, not b'II' or "
            "b'MM' and the magic 42 or 43"
        )
    r.order = "<" if buf[:2] == b"II" else ">"
    (magic,) = r.unpack("H", 2, "the magic")
    if magic == 42:
        return False, r.unpack("I", 4, "the first IFD offset")[0]
    if magic == 43:
        (offset_size, zero) = r.unpack("HH", 4, "the BigTIFF header")
        if offset_size != 8 or zero != 0:
            raise ValueError(
                f"contents has a BigTIFF header with offset size {offset_size} and reserved "
                f"{zero}; expected 8 and 0"
            )
        return True, r.unpack("Q", 8, "the first IFD offset")[0]
    raise ValueError(f"contents has TIFF magic {magic} in its header; expected 42 or 43 (BigTIFF)")


def _ifd_chain(r: _Reader, big: bool, first: int) -> list[tuple[int, int]]:
    """(offset, entry count) of every IFD of the main chain; refuses loops."""
    count_fmt, entry_size, next_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    ifds: list[tuple[int, int]] = []
    seen: set[int] = set()
    offset = first
    if offset == 0:
        raise ValueError("contents has no pages: the first IFD offset in its header is 0")
    while offset != 0:
        if offset in seen:
            raise ValueError(
                f"contents has an IFD chain that loops: IFD {len(ifds)} is at offset {offset}, "
                "where an earlier IFD is"
            )
        seen.add(offset)
        if offset >= len(r.buf):
            raise ValueError(
                f"contents is truncated: IFD {len(ifds)} is at offset {offset}, past the end of "
                f"the file ({len(r.buf)} bytes)"
            )
        (n,) = r.unpack(count_fmt, offset, f"the entry count of IFD {len(ifds)}")
        start = offset + struct.calcsize(count_fmt)
        end = start + n * entry_size
        if end + struct.calcsize(next_fmt) > len(r.buf):
            raise ValueError(
                f"contents is truncated: IFD {len(ifds)} at offset {offset} has {n} entries, "
                f"which with the next IFD offset need {end + struct.calcsize(next_fmt)} bytes, "
                f"but the file has {len(r.buf)}"
            )
        ifds.append((offset, n))
        (offset,) = r.unpack(next_fmt, end, f"the next IFD offset of IFD {len(ifds) - 1}")
    return ifds


def _entries(r: _Reader, big: bool, offset: int, n: int) -> dict[int, _Entry]:
    """The entries of one IFD (the first of a repeated tag wins)."""
    head, fmt, size, inline = (8, "HHQ", 20, 8) if big else (2, "HHI", 12, 4)
    out: dict[int, _Entry] = {}
    for k in range(n):
        at = offset + head + k * size
        tag, typ, count = r.unpack(fmt, at, "an IFD entry")
        value_at = at + (12 if big else 8)
        if typ in _TYPES and count * _TYPES[typ][1] > inline:
            fmt_off = "Q" if big else "I"
            (value_at,) = r.unpack(fmt_off, value_at, "an IFD entry")
        out.setdefault(tag, _Entry(tag, typ, count, value_at))
    return out


def _values(r: _Reader, e: _Entry, name: str) -> list[Any]:
    """The values of an entry: numbers (rationals as floats), or [bytes] for ASCII."""
    if e.type not in _TYPES:
        raise ValueError(f"contents has tag {e.tag} ({name}) of unknown field type {e.type}")
    code, size = _TYPES[e.type]
    nbytes = e.count * size
    if e.value_at + nbytes > len(r.buf):
        raise ValueError(
            f"contents is truncated: tag {e.tag} ({name}) has {e.count} values at offset "
            f"{e.value_at}, past the end of the file ({len(r.buf)} bytes)"
        )
    if e.type == 2:
        return [r.buf[e.value_at : e.value_at + nbytes]]
    flat = np.frombuffer(
        r.buf, np.dtype(r.order + code[0]), e.count * len(code), e.value_at
    ).tolist()
    if len(code) == 2:  # rationals
        return [a / b if b else math.nan for a, b in zip(flat[::2], flat[1::2], strict=True)]
    return list(flat)


def _ints(r: _Reader, entries: dict[int, _Entry], tag: int, name: str) -> list[int] | None:
    e = entries.get(tag)
    if e is None:
        return None
    if e.type not in _INTEGER_TYPES:
        raise ValueError(
            f"contents has tag {tag} ({name}) of field type {e.type}; expected an integer type"
        )
    return [int(v) for v in _values(r, e, name)]


def _one(r: _Reader, entries: dict[int, _Entry], tag: int, name: str, default: int | None) -> int:
    values = _ints(r, entries, tag, name)
    if values is None:
        if default is None:
            raise ValueError(f"contents has no {name} tag ({tag}) in the page")
        return default
    if len(values) < 1:
        raise ValueError(f"contents has an empty {name} tag ({tag})")
    return values[0]


def _per_sample(
    r: _Reader, entries: dict[int, _Entry], tag: int, name: str, default: int, samples: int
) -> int:
    """A tag of one value per sample: the values of the page's samples (values past
    SamplesPerPixel are not read) must all be equal."""
    values = (_ints(r, entries, tag, name) or [default])[: max(1, samples)]
    if len(set(values)) != 1:
        raise ValueError(
            f"contents has {name} {values[:8]} that differ between samples; expected one value"
        )
    return values[0]


def _sample_dtype(bits: int, fmt: int) -> np.dtype:
    if bits not in (8, 16, 32, 64):
        raise ValueError(f"contents has {bits}-bit samples; expected 8, 16, 32 or 64 bits")
    if fmt == 3 and bits == 8:
        raise ValueError("contents has 8-bit float samples; expected floats of 16, 32 or 64 bits")
    kinds = {1: "u", 2: "i", 3: "f"}
    if fmt not in kinds:
        raise ValueError(
            f"contents has SampleFormat {fmt}; expected 1 (unsigned), 2 (signed) or 3 (float)"
        )
    return np.dtype(f"{kinds[fmt]}{bits // 8}")


def _compression_name(compression: int) -> str:
    return TIFF_COMPRESSIONS.get(compression) or _OTHER_COMPRESSIONS.get(compression, "unknown")


def read_tiff_page(contents: bytes, page: int = 0) -> TiffPage:
    """Parses the header, walks the IFD chain and reads and checks page ``page``."""
    r = _Reader(contents)
    big, first = _read_header(r)
    ifds = _ifd_chain(r, big, first)
    if page >= len(ifds):
        raise ValueError(f"page {page} is out of range: contents has {len(ifds)} pages")
    entries = _entries(r, big, *ifds[page])
    width = _one(r, entries, _WIDTH, "ImageWidth", None)
    height = _one(r, entries, _LENGTH, "ImageLength", None)
    bands = _one(r, entries, _SAMPLES, "SamplesPerPixel", 1)
    if not (1 <= width <= 2**40 and 1 <= height <= 2**40 and 1 <= bands <= 65535):
        raise ValueError(
            f"contents has a page of width {width}, height {height} and {bands} samples per "
            "pixel; expected 1 to 2**40 rows and columns and 1 to 65535 samples"
        )
    compression = _one(r, entries, _COMPRESSION, "Compression", 1)
    if compression not in TIFF_COMPRESSIONS:
        raise ValueError(
            f"contents uses compression {compression} ({_compression_name(compression)}); "
            "expected 1 (none), 5 (lzw), 8 or 32946 (deflate), 32773 (packbits) or 50000 (zstd)"
        )
    photometric = _one(r, entries, _PHOTOMETRIC, "PhotometricInterpretation", -1)
    if photometric in _REFUSED_PHOTOMETRIC:
        raise ValueError(
            f"contents has photometric interpretation {photometric} "
            f"({_REFUSED_PHOTOMETRIC[photometric]}); its samples are not read"
        )
    fill_order = _one(r, entries, _FILL_ORDER, "FillOrder", 1)
    if fill_order != 1:
        raise ValueError(f"contents has FillOrder {fill_order}; expected 1")
    bits = _per_sample(r, entries, _BITS, "BitsPerSample", 1, bands)
    sample_format = _per_sample(r, entries, _SAMPLE_FORMAT, "SampleFormat", 1, bands)
    dtype = _sample_dtype(bits, sample_format)
    predictor = _one(r, entries, _PREDICTOR, "Predictor", 1)
    if predictor not in (1, 2, 3):
        raise ValueError(f"contents has predictor {predictor}; expected 1, 2 or 3")
    if predictor == 2 and dtype.kind == "f":
        raise ValueError(
            f"contents has predictor 2 (horizontal) on {dtype.name} samples; expected integers"
        )
    if predictor == 3 and dtype.kind != "f":
        raise ValueError(
            f"contents has predictor 3 (floating point) on {dtype.name} samples; expected floats"
        )
    planar = _one(r, entries, _PLANAR, "PlanarConfiguration", 1)
    if planar not in (1, 2):
        raise ValueError(f"contents has PlanarConfiguration {planar}; expected 1 or 2")
    separate = planar == 2 and bands > 1
    tiled = _TILE_WIDTH in entries or _TILE_OFFSETS in entries
    if tiled:
        chunk_width = _one(r, entries, _TILE_WIDTH, "TileWidth", None)
        chunk_height = _one(r, entries, _TILE_LENGTH, "TileLength", None)
        if chunk_width < 1 or chunk_height < 1:
            raise ValueError(
                f"contents has tiles of {chunk_height} x {chunk_width}; expected each >= 1"
            )
        offsets = _ints(r, entries, _TILE_OFFSETS, "TileOffsets")
        counts = _ints(r, entries, _TILE_BYTES, "TileByteCounts")
        names = "TileOffsets and TileByteCounts"
    else:
        chunk_width = width
        rows = _one(r, entries, _ROWS_PER_STRIP, "RowsPerStrip", 2**32 - 1)
        if rows < 1:
            raise ValueError(f"contents has RowsPerStrip {rows}; expected >= 1")
        chunk_height = min(rows, height)
        offsets = _ints(r, entries, _STRIP_OFFSETS, "StripOffsets")
        counts = _ints(r, entries, _STRIP_BYTES, "StripByteCounts")
        names = "StripOffsets and StripByteCounts"
    if offsets is None or counts is None:
        raise ValueError(f"contents has a page without {names}")
    info = TiffPage(
        big, r.order, len(ifds), height, width, bands, dtype, compression, predictor,
        None if photometric < 0 else photometric, tiled, chunk_height, chunk_width, separate,
        offsets, counts, entries,
    )  # fmt: skip
    expected = info.chunks_down * info.chunks_across * (bands if separate else 1)
    if len(offsets) < expected or len(counts) < expected:  # values past these are ignored
        raise ValueError(
            f"contents has {len(offsets)} and {len(counts)} values in {names}; a page of "
            f"{height} x {width} in chunks of {chunk_height} x {chunk_width}"
            f"{f' with {bands} separate bands' if separate else ''} needs {expected}"
        )
    info.offsets, info.byte_counts = offsets[:expected], counts[:expected]
    for k, (start, n) in enumerate(zip(info.offsets, info.byte_counts, strict=True)):
        if start + n > len(contents):
            raise ValueError(
                f"contents is truncated: chunk {k} ({n} bytes at offset {start}) runs past the "
                f"end of the file ({len(contents)} bytes)"
            )
    return info


# --------------------------------------------------------------------------- codecs


def _lzw_decode(data: bytes, expected: int, chunk: int) -> bytes:
    """Decodes a TIFF LZW stream (MSB-first codes, early change); at most expected + 1 bytes."""
    if len(data) >= 2 and data[0] == 0 and data[1] & 1:
        raise ValueError(
            f"contents has chunk {chunk} in old-style (LSB-first) LZW; only the TIFF 6.0 "
            "MSB-first LZW is read"
        )
    out = bytearray()
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width, previous = 9, b""
    bit_buffer, bits, pos = 0, 0, 0
    while len(out) <= expected:
        while bits < width and pos < len(data):
            bit_buffer = (bit_buffer << 8) | data[pos]
            bits += 8
            pos += 1
        if bits < width:
            break  # the data ends without an EOI code: accepted, as libtiff does
        bits -= width
        code = (bit_buffer >> bits) & ((1 << width) - 1)
        bit_buffer &= (1 << bits) - 1
        if code == 257:  # EOI
            break
        if code == 256:  # Clear
            del table[258:]
            width, previous = 9, b""
            continue
        if code < len(table) and code not in (256, 257):
            entry = table[code]
            if previous and len(table) < 4096:
                table.append(previous + entry[:1])
        elif code == len(table) and previous:
            entry = previous + previous[:1]
            table.append(entry)
        else:
            raise ValueError(
                f"contents has an invalid LZW code {code} in chunk {chunk} (the table holds "
                f"{len(table)} codes)"
            )
        out += entry
        previous = entry
        if len(table) >= (1 << width) - 1 and width < 12:
            width += 1
    return bytes(out)


def _packbits_decode(data: bytes, expected: int, chunk: int) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(data) and len(out) <= expected:
        n = data[pos] - 256 if data[pos] > 127 else data[pos]
        pos += 1
        if n >= 0:
            if pos + n + 1 > len(data):
                raise ValueError(
                    f"contents has a PackBits run in chunk {chunk} that copies {n + 1} bytes, "
                    f"but only {len(data) - pos} remain"
                )
            out += data[pos : pos + n + 1]
            pos += n + 1
        elif n != -128:
            if pos >= len(data):
                raise ValueError(f"contents has chunk {chunk} ending inside a PackBits run")
            out += data[pos : pos + 1] * (1 - n)
            pos += 1
    return bytes(out)


def _deflate_decode(data: bytes, expected: int, chunk: int) -> bytes:
    """A zlib stream: its header is checked, its Adler-32 trailer is not (as the C++ core)."""
    if len(data) < 2 or data[0] & 0x0F != 8 or data[0] >> 4 > 7 or (data[0] << 8 | data[1]) % 31:
        raise ValueError(f"contents has chunk {chunk} whose deflate data lacks a zlib header")
    if data[1] & 0x20:
        raise ValueError(f"contents has chunk {chunk} whose deflate data uses a preset dictionary")
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data[2:], expected + 1)
    except zlib.error as exc:
        raise ValueError(f"contents has a corrupt deflate stream in chunk {chunk}: {exc}") from exc
    if len(out) <= expected and not inflater.eof:
        raise ValueError(
            f"contents has a truncated deflate stream in chunk {chunk} (inflated {len(out)} of "
            f"{expected} bytes)"
        )
    return out


def _zstd_decode(data: bytes, expected: int, chunk: int) -> bytes:
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise ValueError(
            "contents uses ZSTD compression (50000), but the reference needs the 'zstandard' "
            "package to decode it"
        ) from exc
    out = bytearray()
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        while len(out) <= expected:
            piece = reader.read(expected + 1 - len(out))
            if not piece:
                break
            out += piece
    except zstandard.ZstdError as exc:
        raise ValueError(f"contents has a corrupt ZSTD stream in chunk {chunk}: {exc}") from exc
    return bytes(out)


_DECODERS = {5: _lzw_decode, 8: _deflate_decode, 32946: _deflate_decode}
_DECODERS.update({32773: _packbits_decode, 50000: _zstd_decode})


def _decode_chunk(buf: bytes, info: TiffPage, index: int, down: int) -> np.ndarray:
    """Chunk ``index`` (in row ``down`` of chunks) as [rows, cols, bands in chunk], native."""
    rows, cols, spp = info.chunk_rows(down), info.chunk_width, info.chunk_bands
    itemsize = info.dtype.itemsize
    expected = rows * cols * spp * itemsize
    start, n = info.offsets[index], info.byte_counts[index]
    if expected > n * TIFF_MAX_EXPANSION[info.compression]:
        raise ValueError(
            f"contents has chunk {index} of {n} bytes, which {_compression_name(info.compression)}"
            f" cannot expand to the {expected} bytes its shape ({rows}, {cols}, {spp}) of "
            f"{info.dtype.name} needs"
        )
    raw = buf[start : start + n]
    if info.compression == 1:
        data = raw[:expected]  # an uncompressed chunk may hold more bytes than its shape needs
    else:
        data = _DECODERS[info.compression](raw, expected, index)
    if len(data) != expected:
        relation = "more than" if len(data) > expected else f"{len(data)} bytes, not"
        raise ValueError(
            f"contents has chunk {index} that decompresses to {relation} the {expected} bytes "
            f"its shape ({rows}, {cols}, {spp}) of {info.dtype.name} needs"
        )
    if info.predictor == 3:
        planes = np.frombuffer(data, np.uint8).reshape(rows, -1, spp)
        planes = np.cumsum(planes, axis=1, dtype=np.uint8)  # undo the byte-wise differencing
        # Byte plane p holds byte p (most significant first) of every sample of the row.
        samples = planes.reshape(rows, itemsize, cols * spp).transpose(0, 2, 1)
        big = np.ascontiguousarray(samples).view(info.dtype.newbyteorder(">"))
        return big.reshape(rows, cols, spp).astype(info.dtype)
    arr = np.frombuffer(data, info.dtype.newbyteorder(info.byte_order)).reshape(rows, cols, spp)
    arr = arr.astype(info.dtype)  # native byte order, a copy
    if info.predictor == 2:
        unsigned = arr.view(f"u{itemsize}")
        arr = np.cumsum(unsigned, axis=1, dtype=unsigned.dtype).view(info.dtype)
    return arr


# --------------------------------------------------------------------------- arguments


def _check_window(window: Any) -> tuple[int, int, int, int] | None:
    if window is None:
        return None
    expected = "None or (row, col, height, width) of ints"
    if isinstance(window, str | bytes) or not isinstance(window, Sequence | np.ndarray):
        raise TypeError(f"window must be {expected}; got {_preview(window)}")
    values = list(window)
    if len(values) != 4:
        raise ValueError(f"window must be {expected}; got {len(values)} values: {_preview(window)}")
    out: list[int] = []
    for v in values:
        if isinstance(v, bool | np.bool_):
            raise TypeError(f"window must be {expected}; got {_preview(window)}")
        try:
            out.append(operator.index(v))
        except TypeError as exc:
            raise TypeError(f"window must be {expected}; got {_preview(window)}") from exc
    row, col, height, width = out
    if row < 0 or col < 0 or height < 1 or width < 1:
        raise ValueError(
            f"window (row {row}, col {col}, height {height}, width {width}) must have row and "
            "col >= 0 and height and width >= 1"
        )
    return row, col, height, width


def _resolve_window(
    info: TiffPage, window: tuple[int, int, int, int] | None
) -> tuple[int, int, int, int]:
    if window is None:
        window = (0, 0, info.height, info.width)
    row, col, height, width = window
    if row + height > info.height or col + width > info.width:
        raise ValueError(
            f"window (row {row}, col {col}, height {height}, width {width}) does not lie inside "
            f"the page of height {info.height} and width {info.width}"
        )
    needed = sum(
        info.byte_counts[k] * TIFF_MAX_EXPANSION[info.compression] for k, _ in _chunks(info, window)
    )
    nbytes = height * width * info.bands * info.dtype.itemsize
    if nbytes > needed:
        raise ValueError(
            f"contents declares {height} x {width} x {info.bands} {info.dtype.name} samples "
            f"({nbytes} bytes) for the window, more than the {needed} bytes its chunks "
            f"could expand to with {_compression_name(info.compression)}"
        )
    return window


def _chunks(info: TiffPage, window: tuple[int, int, int, int]) -> list[tuple[int, tuple[int, ...]]]:
    """(index, (band, down, across)) of every chunk the window touches."""
    row, col, height, width = window
    downs = range(row // info.chunk_height, (row + height - 1) // info.chunk_height + 1)
    acrosses = range(col // info.chunk_width, (col + width - 1) // info.chunk_width + 1)
    bands = range(info.bands if info.separate else 1)
    return [(info.chunk_index(b, d, a), (b, d, a)) for b in bands for d in downs for a in acrosses]


# --------------------------------------------------------------------------- the ops


def decode_tiff(
    contents: bytes | bytearray | memoryview,
    dtype: DTypeLike = None,
    *,
    page: int = 0,
    window: Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Decodes one page of a TIFF or BigTIFF file into a [height, width, bands] array.

    Args:
      contents: the bytes of the file (bytes, bytearray or memoryview).
      dtype: None for the file's sample type; else the type the samples must have (a
        string, NumPy dtype or type, or a ``tf.DType``): a mismatch is a ValueError.
      page: the page (IFD of the main chain) to decode, from 0.
      window: None for the whole page, or (row, col, height, width): only the chunks the
        window touches are decoded.
      shape: None, or 3 dims (None or -1 for any size) the result must have.

    Returns:
      The samples as [height, width, bands] (the window's size when one is given), in the
      file's sample type in native byte order, C order.

    Example:
      >>> import io, tifffile
      >>> f = io.BytesIO()
      >>> tifffile.imwrite(f, np.arange(6, dtype=">u2").reshape(2, 3))
      >>> decode_tiff(f.getvalue())[..., 0]
      array([[0, 1, 2],
             [3, 4, 5]], dtype=uint16)
    """
    buf = _contents_bytes(contents)
    want = None if dtype is None else check_decode_dtype("dtype", dtype)
    index = check_skip("page", page)
    wanted_window = _check_window(window)
    wanted_shape = check_shape_arg(shape)
    if wanted_shape is not None and len(wanted_shape) != 3:
        raise ValueError(f"shape is {shape!r}; expected 3 dims (height, width, bands)")
    info = read_tiff_page(buf, index)
    if want is not None and want != info.dtype:
        raise ValueError(f"dtype {want.name} does not match the file's samples ({info.dtype.name})")
    row, col, height, width = _resolve_window(info, wanted_window)
    check_shape_matches((height, width, info.bands), wanted_shape, "contents holds a window of")
    out = np.empty((height, width, info.bands), info.dtype)
    for k, (band, down, across) in _chunks(info, (row, col, height, width)):
        chunk = _decode_chunk(buf, info, k, down)
        top, left = down * info.chunk_height, across * info.chunk_width
        r0, r1 = max(row, top), min(row + height, top + chunk.shape[0])
        c0, c1 = max(col, left), min(col + width, left + chunk.shape[1])
        bands = slice(band, band + 1) if info.separate else slice(None)
        out[r0 - row : r1 - row, c0 - col : c1 - col, bands] = chunk[
            r0 - top : r1 - top, c0 - left : c1 - left
        ]
    return out


def _geo(r: _Reader, info: TiffPage) -> dict[str, Any]:
    """The GeoTIFF keys of :func:`tiff_info`."""
    entries = info.entries

    def values(tag: int, name: str, types: set[int]) -> list[Any] | None:
        e = entries.get(tag)
        if e is None or e.type not in types:
            return None
        try:  # a broken GeoTIFF tag (its values outside the file) is ignored
            return _values(r, e, name)
        except ValueError:
            return None

    nodata = None
    text = values(_NODATA, "GDAL_NODATA", {2})
    if text is not None:
        try:
            nodata = float(text[0].split(b"\0")[0].decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            nodata = None
    geotransform = None
    reals = {5, 10, 11, 12} | _INTEGER_TYPES
    scale = values(_PIXEL_SCALE, "ModelPixelScale", reals)
    tie = values(_TIEPOINT, "ModelTiepoint", reals)
    matrix = values(_TRANSFORMATION, "ModelTransformation", reals)
    if scale is not None and tie is not None and len(scale) >= 2 and len(tie) >= 6:
        i, j, _, x, y, _ = (float(v) for v in tie[:6])
        sx, sy = float(scale[0]), float(scale[1])
        geotransform = (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy)
    elif matrix is not None and len(matrix) == 16:
        m = [float(v) for v in matrix]
        geotransform = (m[3], m[0], m[1], m[7], m[4], m[5])
    keys: dict[int, int] = {}
    directory = values(_GEOKEYS, "GeoKeyDirectory", {3})
    if directory is not None and len(directory) >= 4:
        n = min(int(directory[3]), (len(directory) - 4) // 4)
        for k in range(n):
            key, location, count, value = (int(v) for v in directory[4 + 4 * k : 8 + 4 * k])
            if location == 0 and count == 1:
                keys.setdefault(key, value)
    epsg = keys.get(3072, keys.get(2048))
    return {
        "nodata": nodata,
        "geotransform": geotransform,
        "epsg": None if epsg in (None, 0, 32767) else epsg,
        "raster_type": "point" if keys.get(1025) == 2 else "area",
    }


def tiff_info(contents: bytes | bytearray | memoryview, page: int = 0) -> dict[str, Any]:
    """What page ``page`` of a TIFF file holds, without decoding its samples.

    Returns a dict with ``height``, ``width``, ``bands``, ``dtype`` (a native NumPy dtype),
    ``pages`` (the pages of the file), ``compression`` (``"none"``, ``"lzw"``,
    ``"deflate"``, ``"packbits"`` or ``"zstd"``), ``predictor`` (1, 2 or 3), ``tiled``,
    ``tile_shape`` ((height, width), when tiled) or ``rows_per_strip`` (when not),
    ``planar`` (``"contig"`` or ``"separate"``) and the GeoTIFF values ``nodata`` (a float
    or None), ``geotransform`` (GDAL's 6 numbers or None), ``epsg`` (an int or None) and
    ``raster_type`` (``"area"`` or ``"point"``). Errors as :func:`decode_tiff`.
    """
    buf = _contents_bytes(contents)
    info = read_tiff_page(buf, check_skip("page", page))
    out: dict[str, Any] = {
        "height": info.height,
        "width": info.width,
        "bands": info.bands,
        "dtype": info.dtype,
        "pages": info.pages,
        "compression": TIFF_COMPRESSIONS[info.compression],
        "predictor": info.predictor,
        "tiled": info.tiled,
    }
    if info.tiled:
        out["tile_shape"] = (info.chunk_height, info.chunk_width)
    else:
        out["rows_per_strip"] = info.chunk_height
    out["planar"] = "separate" if info.separate else "contig"
    reader = _Reader(buf)
    reader.order = info.byte_order
    out.update(_geo(reader, info))
    return out
