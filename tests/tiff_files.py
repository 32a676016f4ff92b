"""TIFF test files for every face of decode_tiff / tiff_info (no tests in here).

Valid files are written by :mod:`tifffile` (:func:`write`), or, for what tifffile will not
write (predictor 2 on 64-bit integers, FillOrder 2, crafted codec streams), by the small
raw writer :func:`raw_tiff`. :data:`CASES` holds the named valid files with the arrays
they were written from; :func:`hostile` derives named corrupt files from valid ones, by
patching tag values (:func:`tags`, :func:`patch`) or writing raw ones.

tifffile and imagecodecs are the independent oracle of the tests: nothing here imports
``gilfree``.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tifffile

DTYPES = ("u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8")
COMPRESSIONS: dict[str, Any] = {
    "none": None,
    "lzw": "lzw",
    "zlib": "zlib",  # Adobe deflate, 8
    "deflate": "deflate",  # 32946
    "packbits": "packbits",
    "zstd": "zstd",
}


def sample(dtype: Any, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Seeded values over the whole range of ``dtype`` (floats with nan, inf and -0.0)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    if dt.kind == "f":
        out = (rng.standard_normal(shape) * 100).astype(dt)
        flat = out.reshape(-1)
        specials = np.array([np.nan, np.inf, -np.inf, -0.0], dt)
        flat[: min(4, flat.size)] = specials[: min(4, flat.size)]
        return out
    info = np.iinfo(dt)
    native = rng.integers(info.min, info.max, size=shape, dtype=dt.newbyteorder("="), endpoint=True)
    return native.astype(dt)


def write(array: np.ndarray, **kwargs: Any) -> bytes:
    """``tifffile.imwrite(array, **kwargs)`` into memory."""
    f = io.BytesIO()
    tifffile.imwrite(f, array, **kwargs)
    return f.getvalue()


def write_pages(arrays: list[np.ndarray], **kwargs: Any) -> bytes:
    """One page per array, each with ``kwargs``."""
    f = io.BytesIO()
    with tifffile.TiffWriter(f, bigtiff=kwargs.pop("bigtiff", False)) as tw:
        for a in arrays:
            tw.write(a, **kwargs)
    return f.getvalue()


# --------------------------------------------------------------------------- raw files


def raw_tiff(
    shape: tuple[int, int, int],
    dtype: Any,
    chunks: list[bytes],
    *,
    big: bool = False,
    order: str = "<",
    chunk_height: int | None = None,
    tile: tuple[int, int] | None = None,
    extra: dict[int, tuple[int, list[int]]] | None = None,
) -> bytes:
    """A one-page TIFF with the given chunk bytes, as they are, and these tags.

    ``shape`` is (height, width, bands) and ``dtype`` the sample type; chunks are strips of
    ``chunk_height`` rows (default: the height) or tiles of ``tile``. ``extra`` adds or
    replaces tags: {tag: (field type, values)} (3 SHORT, 4 LONG, 16 LONG8).
    """
    height, width, bands = shape
    dt = np.dtype(dtype)
    fmt = {"u": 1, "i": 2, "f": 3}[dt.kind]
    offsets_tag, counts_tag = (324, 325) if tile else (273, 279)
    long_type = 16 if big else 4
    tag_values: dict[int, tuple[int, list[int]]] = {
        256: (long_type, [width]),
        257: (long_type, [height]),
        258: (3, [dt.itemsize * 8] * bands),
        259: (3, [1]),
        262: (3, [2 if bands == 3 else 1]),
        277: (3, [bands]),
        284: (3, [1]),
        339: (3, [fmt] * bands),
    }
    if tile:
        tag_values[323], tag_values[322] = (long_type, [tile[0]]), (long_type, [tile[1]])
    else:
        tag_values[278] = (long_type, [chunk_height or height])
    tag_values.update(extra or {})
    header_size = 16 if big else 8
    data_at = [header_size + sum(len(c) for c in chunks[:k]) for k in range(len(chunks))]
    tag_values[offsets_tag] = (long_type, data_at)
    tag_values[counts_tag] = (long_type, [len(c) for c in chunks])
    body = b"".join(chunks)
    ifd_at = header_size + len(body)
    ifd_at += ifd_at % 2
    codes = {3: "H", 4: "I", 16: "Q"}
    count_fmt, entry_fmt, inline = ("Q", "HHQ", 8) if big else ("H", "HHI", 4)
    entry_size = struct.calcsize(order + entry_fmt) + inline
    values_at = ifd_at + struct.calcsize(order + count_fmt) + entry_size * len(tag_values) + inline
    entries, values = b"", b""
    for tag in sorted(tag_values):
        typ, vals = tag_values[tag]
        packed = struct.pack(f"{order}{len(vals)}{codes[typ]}", *vals)
        entries += struct.pack(order + entry_fmt, tag, typ, len(vals))
        if len(packed) <= inline:
            entries += packed.ljust(inline, b"\0")
        else:
            entries += struct.pack(order + ("Q" if big else "I"), values_at + len(values))
            values += packed
    ifd = struct.pack(order + count_fmt, len(tag_values)) + entries + bytes(inline) + values
    mark = b"II" if order == "<" else b"MM"
    head = mark + (
        struct.pack(order + "HHHQ", 43, 8, 0, ifd_at)
        if big
        else struct.pack(order + "HI", 42, ifd_at)
    )
    return head + body + bytes(ifd_at - header_size - len(body)) + ifd


def lzw_codes(codes: list[int]) -> bytes:
    """MSB-first LZW codes with the TIFF code widths (9 bits, early change at 511, 1023, 2047)."""
    bits, nbits, size, out = 0, 0, 258, bytearray()
    width = 9
    for code in codes:
        bits, nbits = (bits << width) | code, nbits + width
        while nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
        if code == 256:
            size, width = 258, 9
            continue
        size += 1
        if size >= (1 << width) - 1 and width < 12:
            width += 1
    if nbits:
        out.append((bits << (8 - nbits)) & 0xFF)
    return bytes(out)


def packbits_literal(data: bytes) -> bytes:
    """PackBits of ``data`` as literal runs only."""
    return b"".join(
        bytes([len(p) - 1]) + p for p in (data[i : i + 128] for i in range(0, len(data), 128))
    )


def predictor2(array: np.ndarray) -> np.ndarray:
    """Horizontal differencing of an [H, W, C] integer array (wrapping)."""
    u = array.astype(array.dtype.newbyteorder("=")).view(f"u{array.dtype.itemsize}")
    out = u.copy()
    out[:, 1:] = u[:, 1:] - u[:, :-1]
    return out.view(array.dtype.newbyteorder("=")).astype(array.dtype)


# --------------------------------------------------------------------------- tag patching


@dataclass(frozen=True)
class Tag:
    """Where one IFD entry and its values lie in a file."""

    tag: int
    type: int
    count: int
    entry_at: int  # offset of the entry
    value_at: int  # offset of the values (inline or not)
    fmt: str  # struct code of one value, with the byte order


def _layout(data: bytes) -> tuple[str, bool, int]:
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    first = struct.unpack_from(order + ("Q" if big else "I"), data, 8 if big else 4)[0]
    return order, big, first


def ifd_offsets(data: bytes) -> list[tuple[int, int]]:
    """(offset of the IFD, offset of its next-IFD field) for the main chain of a valid file."""
    order, big, offset = _layout(data)
    out = []
    while offset:
        n = struct.unpack_from(order + ("Q" if big else "H"), data, offset)[0]
        next_at = offset + (8 + 20 * n if big else 2 + 12 * n)
        out.append((offset, next_at))
        offset = struct.unpack_from(order + ("Q" if big else "I"), data, next_at)[0]
    return out


def tags(data: bytes, page: int = 0) -> dict[int, Tag]:
    """The entries of page ``page`` of a valid file."""
    order, big, _ = _layout(data)
    offset = ifd_offsets(data)[page][0]
    n = struct.unpack_from(order + ("Q" if big else "H"), data, offset)[0]
    sizes = {1: "B", 2: "B", 3: "H", 4: "I", 7: "B", 11: "f", 12: "d", 16: "Q", 5: "I"}
    sizes |= {6: "b", 8: "h", 9: "i", 17: "q", 13: "I", 18: "Q", 10: "i"}
    out = {}
    for k in range(n):
        at = offset + (8 + 20 * k if big else 2 + 12 * k)
        tag, typ, count = struct.unpack_from(order + ("HHQ" if big else "HHI"), data, at)
        value_at = at + (12 if big else 8)
        nbytes = count * struct.calcsize(sizes[typ]) * (2 if typ in (5, 10) else 1)
        if nbytes > (8 if big else 4):
            value_at = struct.unpack_from(order + ("Q" if big else "I"), data, value_at)[0]
        out[tag] = Tag(tag, typ, count, at, value_at, order + sizes[typ])
    return out


def patch(data: bytes, tag: int, value: int, index: int = 0, page: int = 0) -> bytes:
    """``data`` with value ``index`` of ``tag`` (of page ``page``) set to ``value``."""
    t = tags(data, page)[tag]
    out = bytearray(data)
    struct.pack_into(t.fmt, out, t.value_at + index * struct.calcsize(t.fmt), value)
    return bytes(out)


def patch_at(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


# --------------------------------------------------------------------------- valid cases

_NODATA_TAG = 42113


@dataclass(frozen=True)
class Case:
    """A valid file: ``arrays[p]`` is page p as [H, W, C]; ``info`` the expected extras."""

    name: str
    data: bytes
    arrays: list[np.ndarray]
    kwargs: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def _hwc(a: np.ndarray) -> np.ndarray:
    return a if a.ndim == 3 else a[:, :, None]


def _case(name: str, array: np.ndarray, **kwargs: Any) -> Case:
    kwargs.setdefault(
        "photometric", "rgb" if array.ndim == 3 and array.shape[2] == 3 else "minisblack"
    )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
        kwargs.pop("planarconfig", None)
    if kwargs.get("planarconfig") == "separate":
        stored = np.ascontiguousarray(np.moveaxis(_hwc(array), 2, 0))
    else:
        stored = array
        kwargs.setdefault("planarconfig", "contig" if array.ndim == 3 else None)
    return Case(name, write(stored, **kwargs), [_hwc(array)], kwargs)


def geo_tags(kind: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """tifffile extratags of GeoTIFF metadata, and the tiff_info values they mean."""
    if kind == "tiepoint":
        keys = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633]
        extratags = [
            (33550, "d", 3, (30.0, 20.0, 0.0), False),
            (33922, "d", 6, (2.0, 3.0, 0.0, 500000.0, 4000000.0, 0.0), False),
            (34735, "H", len(keys), keys, False),
            (_NODATA_TAG, "s", 0, "-9999", False),
        ]
        info = {
            "geotransform": (500000.0 - 60.0, 30.0, 0.0, 4000000.0 + 60.0, 0.0, -20.0),
            "epsg": 32633,
            "raster_type": "point",
            "nodata": -9999.0,
        }
    elif kind == "transformation":
        m = [0.5, 0.1, 0.0, 10.0, 0.2, -0.25, 0.0, 50.0, 0, 0, 0, 0, 0, 0, 0, 1]
        keys = [1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326]
        extratags = [
            (34264, "d", 16, m, False),
            (34735, "H", len(keys), keys, False),
            (_NODATA_TAG, "s", 0, "nan", False),
        ]
        info = {
            "geotransform": (10.0, 0.5, 0.1, 50.0, 0.2, -0.25),
            "epsg": 4326,
            "raster_type": "area",
            "nodata": float("nan"),
        }
    else:  # user-defined CRS
        keys = [1, 1, 0, 1, 3072, 0, 1, 32767]
        extratags = [(34735, "H", len(keys), keys, False)]
        info = {"geotransform": None, "epsg": None, "raster_type": "area", "nodata": None}
    return extratags, info


def _cases() -> Iterator[Case]:
    shape = (19, 21)
    for k, dt in enumerate(DTYPES):
        for order in "<>":
            a = sample(np.dtype(dt).newbyteorder(order), (*shape, 3), seed=k)
            yield _case(f"{dt}{order}-rgb-strips", a, rowsperstrip=4)
        for comp, value in COMPRESSIONS.items():
            a = sample(dt, (*shape, 2), seed=k)
            yield _case(f"{dt}-{comp}", a, compression=value, rowsperstrip=6)
            if value is not None and (np.dtype(dt).itemsize < 8 or np.dtype(dt).kind == "f"):
                yield _case(f"{dt}-{comp}-predictor", a, compression=value, predictor=True)
        a = sample(dt, (35, 37, 3), seed=k)
        yield _case(f"{dt}-tiles", a, tile=(16, 16), compression="zlib")
        yield _case(f"{dt}-tiles-separate", a, tile=(16, 16), planarconfig="separate")
    for bands in (1, 3, 4, 13):
        a = sample("u2", (23, 17, bands), seed=bands)
        for planar in ("contig", "separate"):
            yield _case(f"bands{bands}-{planar}", a, planarconfig=planar, rowsperstrip=5)
            yield _case(f"bands{bands}-{planar}-tiles", a, planarconfig=planar, tile=(16, 16))
    for dt, comp in (("u2", "zlib"), ("i4", "lzw"), ("f4", "zstd"), ("f8", "zlib"), ("f2", "lzw")):
        a = sample(dt, (21, 35, 3), seed=5)
        kwargs = {"compression": comp, "predictor": True, "planarconfig": "separate"}
        yield _case(f"{dt}-separate-{comp}-predictor", a, rowsperstrip=8, **kwargs)
        yield _case(f"{dt}-separate-{comp}-predictor-tiles", a, tile=(16, 16), **kwargs)
    yield _case("bands200", sample("u1", (5, 6, 200), seed=200), planarconfig="contig")
    yield _case("bands200-separate", sample("f4", (5, 6, 200), 2), planarconfig="separate")
    yield _case("rank2", sample("i2", (9, 11), seed=3))
    for rows in (1, 3, 7, 19, 100):
        yield _case(f"rowsperstrip{rows}", sample("u1", (19, 21, 3), rows), rowsperstrip=rows)
    for comp, value in COMPRESSIONS.items():
        a = sample("u2", (40, 45, 3), seed=7)
        yield _case(f"tiles-{comp}", a, tile=(16, 16), compression=value)
        yield _case(
            f"tiles32-{comp}-big>", a.astype(">u2"), tile=(32, 16), compression=value, bigtiff=True
        )
        yield _case(f"bigtiff-{comp}", a, compression=value, bigtiff=True, rowsperstrip=7)
        f = sample("f4", (40, 45, 2), seed=8)
        yield _case(
            f"f4-tiles-{comp}", f, tile=(16, 32), compression=value, predictor=value is not None
        )
    # Large enough that the LZW table fills and resets (several Clear codes per strip).
    yield _case("lzw-big-strip", sample("u1", (64, 300, 3), 9), compression="lzw", rowsperstrip=64)
    zeros = np.zeros((64, 64, 1), "u1")
    yield _case("lzw-runs", zeros, compression="lzw")
    yield _case("packbits-runs", zeros, compression="packbits")
    for order in "<>":
        pages = [sample("u1", (10, 12, 3), 1), sample(f"{order}f4", (7, 5), 2)]
        pages.append(sample(f"{order}u2", (33, 20, 2), 3))
        data = write_pages(pages, photometric="minisblack", planarconfig="contig")
        yield Case(f"pages3{order}", data, [_hwc(p) for p in pages])
    pages = [sample("u1", (10, 12, 3), 4), sample("i4", (17, 18), 5)]
    data = write_pages(
        pages, photometric="minisblack", planarconfig="contig", bigtiff=True, tile=(16, 16)
    )
    yield Case("pages2-bigtiff-tiles", data, [_hwc(p) for p in pages])
    for kind in ("tiepoint", "transformation", "userdefined"):
        extratags, info = geo_tags(kind)
        a = sample("f4", (12, 14, 1), 11)
        case = _case(f"geotiff-{kind}", a, extratags=extratags)
        yield Case(case.name, case.data, case.arrays, case.kwargs, info)
    # What tifffile does not write: predictor 2 on 64-bit integers (deflate).
    for dt in ("u8", "i8"):
        for order in "<>":
            a = sample(f"{order}{dt}", (6, 9, 2), 12)
            chunk = zlib.compress(predictor2(a).tobytes())
            extra = {259: (3, [8]), 317: (3, [2])}
            data = raw_tiff(a.shape, a.dtype, [chunk], order=order, extra=extra)
            yield Case(f"{dt}{order}-predictor2-raw", data, [a], {})


CASES: list[Case] = list(_cases())


# --------------------------------------------------------------------------- hostile


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    page: int = 0
    window: tuple[int, int, int, int] | None = None


def _strip_file(
    chunks: list[bytes], compression: int, shape: tuple[int, int, int] = (4, 5, 1), **kw: Any
) -> bytes:
    extra = {259: (3, [compression])} | kw.pop("extra", {})
    return raw_tiff(shape, kw.pop("dtype", "u1"), chunks, extra=extra, **kw)


def hostile() -> list[Hostile]:
    """Named corrupt files (and windows of them); each must raise ValueError naming contents."""
    base = write(sample("u2", (10, 7), 1), rowsperstrip=4, photometric="minisblack")
    out: list[Hostile] = []
    add: Callable[..., None] = lambda name, data, **kw: out.append(Hostile(name, data, **kw))  # noqa: E731
    for cut in sorted({0, 1, 3, 4, 7, 8, 9, 12, 30, len(base) // 2, len(base) - 1}):
        add(f"truncated-{cut}", base[:cut])
    big = write(
        sample("f4", (10, 7, 2), 1),
        rowsperstrip=4,
        bigtiff=True,
        compression="zlib",
        photometric="minisblack",
        planarconfig="contig",
    )
    for cut in (8, 15, 16, 40, len(big) - 1):
        add(f"bigtiff-truncated-{cut}", big[:cut])
    order, _, first = _layout(base)
    add("bad-byte-order", b"IM" + base[2:])
    add("bad-magic", patch_at(base, 2, order + "H", 44))
    add("bigtiff-bad-offset-size", patch_at(big, 4, "<H", 4))
    add("first-ifd-past-end", patch_at(base, 4, order + "I", len(base) + 100))
    add("first-ifd-zero", patch_at(base, 4, order + "I", 0))
    add("ifd-count-past-end", patch_at(base, first, order + "H", 5000))
    _, next_at = ifd_offsets(base)[0]
    add("ifd-loop-self", patch_at(base, next_at, order + "I", first))
    two = write_pages([sample("u1", (4, 4), 1)] * 2, photometric="minisblack")
    (a_at, _), (_, b_next) = ifd_offsets(two)
    add("ifd-loop-a-b-a", patch_at(two, b_next, "<I", a_at))
    add("ifd-loop-a-b-a-page1", patch_at(two, b_next, "<I", a_at), page=1)
    add("next-ifd-past-end", patch_at(base, next_at, order + "I", len(base) + 8))
    t = tags(base)
    add("strip-offset-past-end", patch(base, 273, len(base), index=1))
    add("strip-bytes-past-end", patch(base, 279, 65000, index=2))
    add(
        "strip-offsets-value-past-end",
        patch_at(base, t[273].entry_at + 8, order + "I", len(base) - 4),
    )
    add("strip-bytes-zero", patch(base, 279, 0, index=1))
    add("strip-count-short", patch_at(base, t[279].entry_at + 4, order + "I", 2))
    add("strip-bytes-short", patch(base, 279, 3, index=0))
    add("width-zero", patch(base, 256, 0))
    add("no-width", patch_at(base, t[256].entry_at, order + "H", 65000))
    for comp in (2, 6, 7, 34712, 34887, 34925, 50001, 65000):
        add(f"compression-{comp}", patch(base, 259, comp))
    add("palette", patch(base, 262, 3))
    add("ycbcr", patch(write(sample("u1", (8, 8, 3), 2), photometric="rgb"), 262, 6))
    add("cielab", patch(base, 262, 8))
    add("bits-12", patch(base, 258, 12))
    add("bits-1", patch(base, 258, 1))
    u1 = write(sample("u1", (8, 8), 2), photometric="minisblack")
    add(
        "float-8-bit",
        patch(u1, 339, 3)
        if 339 in tags(u1)
        else _strip_file([bytes(20)], 1, extra={339: (3, [3])}),
    )
    add("sample-format-4", _strip_file([bytes(20)], 1, extra={339: (3, [4])}))
    add("mixed-bits", raw_tiff((2, 2, 2), "u1", [bytes(8)], extra={258: (3, [8, 16])}))
    add("fill-order-2", _strip_file([bytes(20)], 1, extra={266: (3, [2])}))
    add("planar-3", _strip_file([bytes(20)], 1, extra={284: (3, [3])}))
    floats = write(
        sample("f4", (8, 8), 3), compression="zlib", predictor=True, photometric="minisblack"
    )
    add("predictor-2-on-floats", patch(floats, 317, 2))
    ints = write(
        sample("u2", (8, 8), 3), compression="zlib", predictor=True, photometric="minisblack"
    )
    add("predictor-3-on-ints", patch(ints, 317, 3))
    add("predictor-4", patch(ints, 317, 4))
    # Sizes the chunks cannot justify.
    huge = 100_000
    add(
        "huge-page-tiny-strip",
        raw_tiff((huge, huge, 1), "u1", [zlib.compress(bytes(64))], extra={259: (3, [8])}),
    )
    add("huge-page-tiny-strip-none", raw_tiff((huge, huge, 1), "u1", [bytes(16)]))
    add("huge-rows-many-strips", raw_tiff((2**31, 4, 1), "u1", [bytes(4)], chunk_height=1))
    add(
        "huge-tile",
        raw_tiff((20, 20, 1), "u1", [bytes(10)], tile=(2**20, 2**20), extra={259: (3, [32773])}),
    )
    add("huge-bands", raw_tiff((2, 2, 65535), "u1", [bytes(10)], extra={259: (3, [8])}))
    add("tile-count-wrong", raw_tiff((40, 40, 1), "u1", [bytes(256)] * 3, tile=(16, 16)))
    # Codec streams.
    n = 20  # a 4 x 5 u1 strip
    add("lzw-invalid-code", _strip_file([lzw_codes([256, 65, 300, 257])], 5))
    add("lzw-first-code-not-literal", _strip_file([lzw_codes([256, 258, 257])], 5))
    add("lzw-old-style", _strip_file([b"\x00\x01" + bytes(20)], 5))
    add("lzw-too-few", _strip_file([lzw_codes([256, 65, 66, 257])], 5))
    add("lzw-too-many", _strip_file([lzw_codes([256] + [65] * 30 + [257])], 5))
    add("packbits-overrun", _strip_file([b"\x7f\x01\x02"], 32773))
    add("packbits-repeat-at-end", _strip_file([packbits_literal(bytes(19)) + b"\xff"], 32773))
    add("packbits-too-many", _strip_file([b"\x81\x07" * 3], 32773))
    add("packbits-too-few", _strip_file([packbits_literal(bytes(n - 1))], 32773))
    add("deflate-too-few", _strip_file([zlib.compress(bytes(n - 1))], 8))
    add("deflate-too-many", _strip_file([zlib.compress(bytes(n + 1))], 32946))
    add("deflate-truncated", _strip_file([zlib.compress(bytes(range(n)))[:-6]], 8))
    add("deflate-garbage", _strip_file([b"\x78\x9c\xff\xff\xff\xff"], 8))
    add("deflate-raw-no-zlib-header", _strip_file([zlib.compress(bytes(n))[2:]], 8))
    add("deflate-preset-dictionary", _strip_file([b"\x78\xbb" + bytes(8)], 8))
    add("deflate-empty", _strip_file([b""], 8))
    add("zstd-garbage", _strip_file([b"\x28\xb5\x2f\xfd" + bytes(8)], 50000))
    tiled = write(
        sample("u1", (40, 40), 4), tile=(16, 16), compression="zlib", photometric="minisblack"
    )
    tt = tags(tiled)
    last = tt[325].count - 1
    add("tile-offset-past-end", patch(tiled, 324, len(tiled) - 2, index=last))
    add(
        "tile-offset-past-end-window",
        patch(tiled, 324, len(tiled) - 2, index=last),
        window=(32, 32, 8, 8),
    )
    bad_tile = patch(tiled, 325, 3, index=last)
    add("tile-bytes-short-window", bad_tile, window=(33, 33, 2, 2))
    return out


# --------------------------------------------------------------------------- checks


def oracle(data: bytes, page: int) -> np.ndarray:
    """tifffile's decode of page ``page`` as [H, W, C] in native byte order."""
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        p = tif.pages[page]
        arr = tifffile.imread(io.BytesIO(data), key=page)
        if p.planarconfig == 2 and p.samplesperpixel > 1 and arr.shape[0] == p.samplesperpixel:
            arr = np.moveaxis(arr, 0, -1)
        arr = arr.reshape(p.imagelength, p.imagewidth, p.samplesperpixel)
    return arr.astype(arr.dtype.newbyteorder("="))


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same shape, dtype and bits (nan payloads and -0.0 included)."""
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    assert actual.dtype.byteorder in "=|"
    bits = f"u{actual.dtype.itemsize}"
    np.testing.assert_array_equal(actual.view(bits), expected.view(bits))


def windows(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Windows over a page: corners, single pixels, rows and columns, chunk-crossing ones."""
    out = {
        (0, 0, height, width),
        (0, 0, 1, 1),
        (height - 1, width - 1, 1, 1),
        (0, width - 1, height, 1),
        (height - 1, 0, 1, width),
        (height // 3, width // 4, max(1, height // 2), max(1, width // 2)),
        (height // 2, 0, height - height // 2, width),
    }
    for tile in (16, 32):  # straddling tile edges, and edge tiles
        if height > tile and width > tile:
            out.add((tile - 1, tile - 1, 2, 2))
            out.add((tile, tile, height - tile, width - tile))
    return sorted(out)
