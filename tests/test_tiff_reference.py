"""gilfree.reference.tiff against tifffile, the independent oracle (tests/tiff_files.py)."""

from __future__ import annotations

import io
import math
import sys
import zlib

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

import tiff_files  # noqa: E402
from tiff_files import assert_same, oracle, windows  # noqa: E402

from gilfree.reference.tiff import decode_tiff, tiff_info  # noqa: E402

CASES = {c.name: c for c in tiff_files.CASES}
HOSTILE = {h.name: h for h in tiff_files.hostile()}
COMPRESSION_NAMES = {1: "none", 5: "lzw", 8: "deflate", 32946: "deflate", 32773: "packbits"}
COMPRESSION_NAMES[50000] = "zstd"
INFO_KEYS = {"height", "width", "bands", "dtype", "pages", "compression", "predictor", "tiled"}
INFO_KEYS |= {"planar", "nodata", "geotransform", "epsg", "raster_type"}


# --------------------------------------------------------------------------- valid files


@pytest.mark.parametrize("name", CASES)
def test_decode_matches_tifffile(name: str) -> None:
    case = CASES[name]
    for page, written in enumerate(case.arrays):
        expected = oracle(case.data, page)
        assert_same(expected, written.astype(written.dtype.newbyteorder("=")))
        actual = decode_tiff(case.data, page=page)
        assert_same(actual, expected)
        assert_same(decode_tiff(bytearray(case.data), expected.dtype, page=page), expected)
        swapped = expected.dtype.newbyteorder(">" if sys.byteorder == "little" else "<")
        assert_same(decode_tiff(memoryview(case.data), swapped.str, page=page), expected)


@pytest.mark.parametrize("name", CASES)
def test_windows_are_slices(name: str) -> None:
    case = CASES[name]
    for page in range(len(case.arrays)):
        full = decode_tiff(case.data, page=page)
        height, width, _ = full.shape
        for row, col, h, w in windows(height, width):
            window = (row, col, h, w)
            actual = decode_tiff(case.data, page=page, window=window)
            assert_same(actual, full[row : row + h, col : col + w])


@pytest.mark.parametrize("name", CASES)
def test_info_matches_tifffile(name: str) -> None:
    case = CASES[name]
    with tifffile.TiffFile(io.BytesIO(case.data)) as tif:
        for page in range(len(case.arrays)):
            p = tif.pages[page]
            info = tiff_info(case.data, page)
            assert set(info) == INFO_KEYS | {"tile_shape" if p.is_tiled else "rows_per_strip"}
            assert info["height"] == p.imagelength
            assert info["width"] == p.imagewidth
            assert info["bands"] == p.samplesperpixel
            assert info["dtype"] == p.dtype.newbyteorder("=")
            assert info["pages"] == len(tif.pages)
            assert info["compression"] == COMPRESSION_NAMES[int(p.compression)]
            assert info["predictor"] == int(p.predictor)
            assert info["tiled"] == p.is_tiled
            if p.is_tiled:
                assert info["tile_shape"] == (p.tilelength, p.tilewidth)
            else:
                assert info["rows_per_strip"] == min(p.rowsperstrip, p.imagelength)
            separate = p.planarconfig == 2 and p.samplesperpixel > 1
            assert info["planar"] == ("separate" if separate else "contig")
            assert (info["height"], info["width"]) == case.arrays[page].shape[:2]
            if not case.info:
                assert info["nodata"] is None
                assert info["geotransform"] is None
                assert info["epsg"] is None
                assert info["raster_type"] == "area"


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("geotiff-")])
def test_geotiff_info(name: str) -> None:
    case = CASES[name]
    info = tiff_info(case.data)
    want = case.info
    if want["nodata"] is None:
        assert info["nodata"] is None
    else:
        assert info["nodata"] == pytest.approx(want["nodata"], nan_ok=True)
    if want["geotransform"] is None:
        assert info["geotransform"] is None
    else:
        assert info["geotransform"] == pytest.approx(want["geotransform"])
    assert info["epsg"] == want["epsg"]
    assert info["raster_type"] == want["raster_type"]
    # tifffile reads the same tags the same way.
    with tifffile.TiffFile(io.BytesIO(case.data)) as tif:
        geo = tif.geotiff_metadata or {}
        nodata = tif.pages[0].tags.get(42113)
        code = geo.get("ProjectedCSTypeGeoKey", geo.get("GeographicTypeGeoKey"))
    assert (None if code in (None, 32767) else int(code)) == info["epsg"]
    assert geo.get("GTRasterTypeGeoKey", 1) == (2 if info["raster_type"] == "point" else 1)
    if nodata is None:
        assert info["nodata"] is None
    else:
        assert float(nodata.value) == pytest.approx(info["nodata"], nan_ok=True)
    if "ModelTiepoint" in geo:
        i, j, _, x, y, _ = geo["ModelTiepoint"][:6]
        sx, sy = geo["ModelPixelScale"][:2]
        assert info["geotransform"] == pytest.approx((x - i * sx, sx, 0, y + j * sy, 0, -sy))


def test_case_coverage() -> None:
    """The generator covers what the brief lists (a guard against a shrinking corpus)."""
    seen = {"dtypes": set(), "comp": set(), "pred": set(), "bands": set(), "orders": set()}
    flags = set()
    for case in CASES.values():
        with tifffile.TiffFile(io.BytesIO(case.data)) as tif:
            flags.add("bigtiff" if tif.is_bigtiff else "classic")
            seen["orders"].add(tif.byteorder)
            flags.add("multipage" if len(tif.pages) > 1 else "single")
            for p in tif.pages:
                seen["dtypes"].add(p.dtype.newbyteorder("=").str[1:])
                seen["comp"].add(int(p.compression))
                seen["pred"].add((int(p.predictor), p.dtype.kind))
                seen["bands"].add(p.samplesperpixel)
                flags.add("tiled" if p.is_tiled else "strips")
                flags.add(f"planar{int(p.planarconfig)}")
                if p.is_tiled and (p.imagelength % p.tilelength or p.imagewidth % p.tilewidth):
                    flags.add("edge-tiles")
                if not p.is_tiled and p.imagelength % p.rowsperstrip:
                    flags.add("short-last-strip")
    assert seen["dtypes"] >= set(tiff_files.DTYPES)
    assert seen["comp"] >= {1, 5, 8, 32946, 32773, 50000}
    assert seen["pred"] >= {(1, "u"), (2, "u"), (2, "i"), (3, "f")}
    assert seen["bands"] >= {1, 3, 4, 13, 200}
    assert seen["orders"] == {"<", ">"}
    assert flags >= {"bigtiff", "classic", "multipage", "tiled", "strips", "planar1", "planar2"}
    assert flags >= {"edge-tiles", "short-last-strip"}


# --------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_raises_value_error(name: str) -> None:
    h = HOSTILE[name]
    with pytest.raises(ValueError, match="contents"):
        decode_tiff(h.data, page=h.page, window=h.window)
    try:  # tiff_info reads no samples: it may succeed, else it fails the same way
        info = tiff_info(h.data, h.page)
    except ValueError as exc:
        assert "contents" in str(exc)
    else:
        assert info["height"] >= 1


SMALL = ("u2<-rgb-strips", "u2-lzw", "f4-tiles-zlib", "bigtiff-zstd", "pages3>", "u1-packbits")


@pytest.mark.parametrize("name", [n for n in SMALL if n in CASES])
def test_every_truncation(name: str) -> None:
    """Every prefix of a valid file decodes to the same array or raises ValueError."""
    case = CASES[name]
    page = len(case.arrays) - 1
    full = decode_tiff(case.data, page=page)
    for cut in range(len(case.data)):
        try:
            out = decode_tiff(case.data[:cut], page=page)
        except ValueError as exc:
            assert "contents" in str(exc)
        else:
            assert_same(out, full)


@pytest.mark.parametrize("name", [n for n in SMALL if n in CASES])
def test_random_byte_changes(name: str) -> None:
    """Changed bytes give a result of the declared shape or a ValueError, nothing else."""
    data = CASES[name].data
    rng = np.random.default_rng(len(data))
    for _ in range(300):
        buf = bytearray(data)
        for at in rng.integers(0, len(buf), size=rng.integers(1, 4)):
            buf[at] = int(rng.integers(0, 256))
        try:
            info = tiff_info(bytes(buf))
            out = decode_tiff(bytes(buf))
        except ValueError as exc:
            assert "contents" in str(exc)
        else:
            assert out.shape == (info["height"], info["width"], info["bands"])


def test_what_is_tolerated() -> None:
    """Extra bytes in an uncompressed chunk, extra chunk table entries and broken GeoTIFF
    tags are ignored (as libtiff and the C++ core do)."""
    a = tiff_files.sample("u2", (4, 5, 1), 1)
    padded = tiff_files.raw_tiff(a.shape, a.dtype, [a.tobytes() + bytes(7)])
    assert_same(decode_tiff(padded), a)
    assert_same(oracle(padded, 0), a)
    extra = tiff_files.raw_tiff(a.shape, a.dtype, [a.tobytes(), bytes(3)])
    assert_same(decode_tiff(extra), a)
    bad_adler = tiff_files.raw_tiff(a.shape, a.dtype, [zlib.compress(a.tobytes())[:-4] + bytes(4)])
    bad_adler = tiff_files.patch(bad_adler, 259, 8)
    assert_same(decode_tiff(bad_adler), a)  # the Adler-32 trailer is not checked
    geo = CASES["geotiff-tiepoint"].data
    t = tiff_files.tags(geo)
    for tag in (33550, 34735):
        broken = tiff_files.patch_at(geo, t[tag].entry_at + 8, "<I", len(geo) - 2)
        info = tiff_info(broken)
        assert (info["geotransform"] is None) == (tag == 33550)
        assert info["epsg"] == (None if tag == 34735 else 32633)
        assert_same(decode_tiff(broken), CASES["geotiff-tiepoint"].arrays[0])


def test_missing_zstandard_names_the_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)
    data = CASES["bigtiff-zstd"].data
    assert tiff_info(data)["compression"] == "zstd"
    with pytest.raises(ValueError, match=r"ZSTD compression \(50000\).*'zstandard'"):
        decode_tiff(data)


# --------------------------------------------------------------------------- arguments

DATA = CASES["u2<-rgb-strips"].data  # 19 x 21 x 3 uint16, one page


def test_contents_type() -> None:
    with pytest.raises(TypeError, match="contents"):
        decode_tiff("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contents"):
        tiff_info(np.zeros(8, np.uint8))  # type: ignore[arg-type]


def test_dtype_mismatch_names_both() -> None:
    with pytest.raises(ValueError, match=r"dtype uint8 .*\(uint16\)"):
        decode_tiff(DATA, np.uint8)
    with pytest.raises(ValueError, match=r"float32.*uint16"):
        decode_tiff(DATA, "float32")


@pytest.mark.parametrize("dtype", ["complex64", "U3", object, "not a dtype", [("a", "u1")]])
def test_dtype_unsupported(dtype: object) -> None:
    with pytest.raises(TypeError, match="dtype"):
        decode_tiff(DATA, dtype)


@pytest.mark.parametrize("page", [True, "0", 0.0, None])
def test_page_type(page: object) -> None:
    with pytest.raises(TypeError, match="page"):
        decode_tiff(DATA, page=page)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="page"):
        tiff_info(DATA, page)  # type: ignore[arg-type]


def test_page_range() -> None:
    with pytest.raises(ValueError, match=r"page 1 .*1 pages"):
        decode_tiff(DATA, page=1)
    with pytest.raises(ValueError, match="page"):
        decode_tiff(DATA, page=-1)
    with pytest.raises(ValueError, match=r"page 3 .*3 pages"):
        tiff_info(CASES["pages3<"].data, 3)
    assert decode_tiff(DATA, page=np.int64(0)).shape == (19, 21, 3)


@pytest.mark.parametrize("window", [5, (0, 0, 1.5, 1), (True, 0, 1, 1)])
def test_window_type(window: object) -> None:
    with pytest.raises(TypeError, match="window"):
        decode_tiff(DATA, window=window)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [(1, 2, 3), (0, 0, 1, 1, 1)])
def test_window_length(window: object) -> None:
    with pytest.raises(ValueError, match="window"):
        decode_tiff(DATA, window=window)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "window",
    [
        (0, 0, 0, 1),
        (0, 0, 1, 0),
        (-1, 0, 1, 1),
        (0, -1, 1, 1),
        (0, 0, 20, 1),
        (18, 20, 2, 1),
        (0, 21, 1, 1),
    ],
)
def test_window_range(window: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="window") as excinfo:
        decode_tiff(DATA, window=window)
    text = str(excinfo.value)
    assert all(str(v) in text for v in window)
    if min(window) >= 0 and min(window[2:]) >= 1:
        assert "19" in text and "21" in text  # the page's size


def test_window_accepts_lists_and_numpy_ints() -> None:
    full = decode_tiff(DATA)
    out = decode_tiff(DATA, window=[np.int32(2), 3, np.int64(4), 5])
    assert_same(out, full[2:6, 3:8])
    assert math.prod(decode_tiff(DATA, window=np.array([0, 0, 1, 1])).shape) == 3
