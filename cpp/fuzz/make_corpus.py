"""Writes the seed corpus of the fuzz targets to cpp/fuzz/corpus/<target>/.

``python cpp/fuzz/make_corpus.py [DIR]`` (default: the ``corpus`` folder next to this
file) replaces every seed with the output of this script. The seeds are files written
by NumPy (``np.save`` / ``np.lib.format.write_array`` in format versions 1.0, 2.0 and
3.0, ``np.savez``, ``np.savez_compressed``), ZIP64 archives written by :mod:`zipfile`
with ``force_zip64``, raw deflate streams written by :mod:`zlib` (``wbits=-15``, several
levels and strategies), record files built from NumPy structured arrays, and the
hostile cases of ``tests/hostile_corpus.py``. Arrays come from generators with fixed
seeds and ZIP timestamps are fixed, so a run gives the same bytes for the same NumPy
and zlib versions. The fuzz-specific input layouts (fuzz_inflate's size prefix,
fuzz_records' schema prefix, fuzz_warp_params' argument bytes) are described at the
top of each target's source.
"""

from __future__ import annotations

import ast
import hashlib
import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus  # noqa: E402

FIXED_DATE = (1980, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------- arrays

DTYPES = ("|b1", "|u1", "|i1", "<u2", ">u2", "<i2", ">i2", "<u4", ">i4", "<i8", ">u8")
DTYPES += ("<f2", ">f2", "<f4", ">f4", "<f8", ">f8")
SHAPES = ((), (0,), (1,), (5,), (2, 3), (3, 0, 2), (2, 3, 4), (1, 1, 1, 2))


def sample_array(rng: np.random.Generator, descr: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype = np.dtype(descr)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    if dtype.kind == "f":
        values = rng.normal(0, 100, shape)
        flat = values.reshape(-1)
        specials = (np.nan, np.inf, -np.inf, -0.0)
        flat[: min(flat.size, 4)] = specials[: min(flat.size, 4)]
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype.newbyteorder("="))


def npy_bytes(arr: np.ndarray, version: tuple[int, int] | None) -> bytes:
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def npy_seeds() -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(20240601)
    for descr in DTYPES:
        for shape in SHAPES:
            arr = sample_array(rng, descr, shape)
            order = "be" if descr[0] == ">" else ""
            tag = f"{descr[1:]}{order}-{'x'.join(map(str, shape)) or 'scalar'}"
            yield f"c-{tag}.npy", npy_bytes(arr, None)
            if len(shape) >= 2:
                yield f"f-{tag}.npy", npy_bytes(np.asfortranarray(arr), None)
    for version in ((1, 0), (2, 0), (3, 0)):
        arr = sample_array(rng, "<f4", (2, 3))
        yield f"v{version[0]}-f4-2x3.npy", npy_bytes(arr, version)
        yield (
            f"v{version[0]}-fortran-i2-3x2.npy",
            npy_bytes(np.asfortranarray(sample_array(rng, ">i2", (3, 2))), version),
        )


# --------------------------------------------------------------------------- archives


def fix_zip_dates(buf: bytes) -> bytes:
    """Sets every local and central header's DOS time and date to 1980-01-01 00:00."""
    out = bytearray(buf)
    dos_date = (0 << 9) | (1 << 5) | 1
    with zipfile.ZipFile(io.BytesIO(buf)) as zf:
        for info in zf.infolist():
            struct.pack_into("<HH", out, info.header_offset + 10, 0, dos_date)
        pos = zf.start_dir
        for _ in zf.infolist():
            assert out[pos : pos + 4] == b"PK\x01\x02"
            struct.pack_into("<HH", out, pos + 12, 0, dos_date)
            n, m, k = struct.unpack_from("<HHH", out, pos + 28)
            pos += 46 + n + m + k
    return bytes(out)


def savez_bytes(compressed: bool, *args: np.ndarray, **arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, *args, **arrays)
    return fix_zip_dates(buf.getvalue())


def zipfile_bytes(members: dict[str, bytes], method: int, force_zip64: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = method
            with zf.open(info, "w", force_zip64=force_zip64) as f:
                f.write(content)
    return buf.getvalue()


def npz_seeds() -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(20240602)
    arrays = {
        "image": sample_array(rng, "|u1", (4, 4, 3)),
        "label": sample_array(rng, "<i8", (1,)),
        "weights": sample_array(rng, "<f4", (3, 2)),
        "mask": sample_array(rng, "|b1", (2, 5)),
        "empty": sample_array(rng, "<f8", (0, 3)),
    }
    for compressed in (False, True):
        kind = "compressed" if compressed else "stored"
        yield f"savez-{kind}-all.npz", savez_bytes(compressed, **arrays)
        yield f"savez-{kind}-one.npz", savez_bytes(compressed, x=arrays["weights"])
        yield (
            f"savez-{kind}-fortran.npz",
            savez_bytes(compressed, f=np.asfortranarray(sample_array(rng, ">f8", (3, 4)))),
        )
        yield (
            f"savez-{kind}-positional.npz",
            savez_bytes(compressed, arrays["label"], arrays["mask"]),
        )
    yield "savez-empty-archive.npz", savez_bytes(False)
    members = {f"{k}.npy": npy_bytes(v, None) for k, v in arrays.items()}
    for method, kind in ((zipfile.ZIP_STORED, "stored"), (zipfile.ZIP_DEFLATED, "deflated")):
        yield f"zipfile-{kind}.npz", zipfile_bytes(members, method, False)
        yield f"zipfile-zip64-{kind}.npz", zipfile_bytes(members, method, True)
    yield (
        "zipfile-no-suffix.npz",
        zipfile_bytes({"raw": members["label.npy"]}, zipfile.ZIP_STORED, False),
    )
    yield (
        "zipfile-directory-zip64.npz",
        hostile_corpus.to_zip64(savez_bytes(False, a=arrays["weights"], b=arrays["label"])),
    )


# --------------------------------------------------------------------------- deflate


def deflate_seeds() -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(20240603)
    payloads = {
        "empty": b"",
        "text": b"the quick brown fox jumps over the lazy dog; " * 12,
        "runs": bytes(300) + b"\xff" * 700 + bytes(range(256)) * 2,
        "random": rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        "npy": npy_bytes(sample_array(rng, "<f4", (8, 8)), None),
        "image": (np.arange(64 * 48, dtype=np.uint32) * 7 % 251).astype(np.uint8).tobytes(),
        "long-matches": (b"abcdefgh" * 40 + b"12345") * 30,
    }
    strategies = {
        "default": zlib.Z_DEFAULT_STRATEGY,
        "filtered": zlib.Z_FILTERED,
        "huffman": zlib.Z_HUFFMAN_ONLY,
        "rle": zlib.Z_RLE,
        "fixed": zlib.Z_FIXED,
    }
    for pname, payload in payloads.items():
        for sname, strategy in strategies.items():
            for level in (0, 1, 6, 9):
                if level == 0 and sname != "default":
                    continue  # level 0 stores whatever the strategy
                c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
                stream = c.compress(payload) + c.flush()
                prefix = struct.pack("<I", len(payload))[:3]
                yield f"{pname}-{sname}-{level}.bin", prefix + stream
    # A stream made of several blocks (full flushes between the parts), and one
    # whose compressed block is followed by a final stored block written here.
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    parts = [payloads["text"], payloads["random"][:300], payloads["runs"][:500]]
    stream = b"".join(c.compress(p) + c.flush(zlib.Z_FULL_FLUSH) for p in parts) + c.flush()
    yield "multi-block.bin", struct.pack("<I", sum(map(len, parts)))[:3] + stream
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = c.compress(payloads["text"]) + c.flush(zlib.Z_SYNC_FLUSH)  # ends byte-aligned
    stored = payloads["random"][:200]
    stream += b"\x01" + struct.pack("<HH", len(stored), len(stored) ^ 0xFFFF) + stored
    assert zlib.decompress(stream, -15) == payloads["text"] + stored
    yield "mixed-stored.bin", struct.pack("<I", len(payloads["text"]) + 200)[:3] + stream
    # The example of cpp/core/inflate.h.
    yield "abc.bin", b"\x03\x00\x00" + bytes([0x4B, 0x4C, 0x4A, 0x06, 0x00])


# --------------------------------------------------------------------------- records


def records_prefix(
    dtype: np.dtype,
    *,
    header: int = 0,
    footer: int = 0,
    batch: bool = False,
    parallel: bool = False,
) -> bytes:
    """fuzz_records' schema prefix (see fuzz_records.cc) for a structured dtype."""
    codes = {
        "u1": 0,
        "u2": 1,
        "i2": 2,
        "i4": 3,
        "f2": 4,
        "f4": 6,
        "b1": 7,
        "i1": 8,
        "i8": 9,
        "u4": 10,
        "u8": 11,
        "f8": 12,
    }
    fields = []
    for name in dtype.names:
        ftype, offset = dtype.fields[name][:2]
        base = ftype.base
        code = codes[base.kind + str(base.itemsize)]
        big = base.byteorder == ">" and base.itemsize > 1
        fields.append(
            struct.pack("<hBh", offset, code | (0x80 if big else 0), int(np.prod(ftype.shape)))
        )
    assert 1 <= len(fields) <= 8
    flags = (len(fields) - 1) | (8 if batch else 0) | (16 if parallel else 0)
    return struct.pack("<Bhbb", flags, dtype.itemsize, header, footer) + b"".join(fields)


def records_seeds() -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(20240604)

    def records(dtype: np.dtype, n: int) -> bytes:
        return rng.integers(0, 256, n * dtype.itemsize, dtype=np.uint8).tobytes()

    cifar = np.dtype([("label", "u1"), ("image", "u1", (3, 8, 8))])
    yield "cifar-like.bin", records_prefix(cifar) + records(cifar, 3)
    mixed = np.dtype(
        [
            ("a", "<i4"),
            ("b", ">f8"),
            ("c", "?", (3,)),
            ("d", ">u2", (2, 2)),
            ("e", "<f2"),
            ("f", "i1"),
        ]
    )
    yield "mixed.bin", records_prefix(mixed) + records(mixed, 4)
    yield (
        "mixed-header-footer.bin",
        records_prefix(mixed, header=5, footer=3) + (b"H" * 5 + records(mixed, 3) + b"F" * 3),
    )
    one = records(mixed, 1)
    yield (
        "mixed-batch.bin",
        records_prefix(mixed, header=2, footer=1, batch=True)
        + b"".join(b"hh" + one + b"f" for _ in range(3)),
    )
    aligned = np.dtype(
        {"names": ["x", "y"], "formats": [">i8", "<u4"], "offsets": [8, 0], "itemsize": 24}
    )
    yield "gaps-and-order.bin", records_prefix(aligned) + records(aligned, 2)
    many = np.dtype([("v", ">f4")])
    yield "many-parallel.bin", records_prefix(many, parallel=True) + records(many, 600)
    for case in hostile_corpus.records_cases():
        schema = np.dtype(ast.literal_eval(case.args["schema"]))
        batch = isinstance(case.contents, list)
        contents = b"".join(case.contents) if batch else case.contents
        prefix = records_prefix(
            schema,
            header=case.args.get("header_bytes", 0),
            footer=case.args.get("footer_bytes", 0),
            batch=batch,
        )
        yield f"{case.name}.bin", prefix + contents


# --------------------------------------------------------------------------- warp arguments


def warp_value(x: float) -> int:
    """fuzz_warp_params' one-byte encoding of a multiple of 1/16 in [-5, 5)."""
    v = round(x * 16) + 80
    assert 0 <= v < 160 and (v - 80) / 16 == x, x
    return v


def warp_seed(
    kind: int,
    *,
    dtype: int = 6,
    rank: int = 3,
    out: tuple[int, int] = (0, 0),
    hw: tuple[int, int] = (4, 5),
    n: int = 1,
    c: int = 2,
    interpolation: int = 1,
    fill_mode: int = 0,
    selector: int = 0,
    fill: tuple[float, ...] = (),
    order: int = 1,
    points: int = 0,
    args: tuple[float, ...] = (),
    flags: int = 0,
) -> bytes:
    """A fuzz_warp_params input (layout: fuzz_warp_params.cc): a tiny image whose
    pixels are small multiples of 1/16 (float32) or bytes, then the arguments."""
    head = bytes(
        [
            kind,
            interpolation | (fill_mode << 2) | flags,
            dtype,
            (rank - 2) | (out[0] << 2) | (out[1] << 5),
            hw[0],
            hw[1],
            (n - 1) | (c << 2),
            selector,
            len(fill),
            order | (points << 3),
        ]
    )
    elements = n * hw[0] * hw[1] * (c if rank > 2 else 1)
    itemsize = {0: 1, 1: 2, 2: 2, 3: 4, 4: 2, 5: 2, 6: 4}[dtype]
    pixels = (
        bytes(warp_value(((i * 5) % 31 - 15) / 4) for i in range(elements))
        if dtype == 6
        else bytes((i * 37) % 160 for i in range(elements * itemsize))
    )
    return head + pixels + bytes(map(warp_value, fill)) + bytes(map(warp_value, args))


def warp_seeds() -> Iterator[tuple[str, bytes]]:
    affine = (1, 0, 0.25, 0, 1, 0)
    rotation = (0, -1, 3, 1, 0, 0)
    perspective = (1, 0.125, 0, 0, 1, 0.5, 0.0625, 0, 1)
    projective = (1, 0, 0.5, 0, 1, -0.25, 0, 0)
    for mode in range(5):
        for interp in range(3):
            yield (
                f"affine-f4-{interp}-{mode}.bin",
                warp_seed(0, interpolation=interp, fill_mode=mode, args=affine),
            )
    yield "affine-u1-nodata.bin", warp_seed(0, dtype=0, flags=0x40, fill=(3,), args=(*rotation, 2))
    yield "affine-u2-inverse.bin", warp_seed(0, dtype=1, flags=0x80, args=rotation)
    yield "affine-i16-rank2.bin", warp_seed(0, dtype=2, rank=2, out=(3, 6), args=affine)
    yield "affine-batch.bin", warp_seed(0, rank=4, n=2, selector=3, args=affine + rotation)
    yield "affine-singular.bin", warp_seed(0, args=(1, 2, 0, 2, 4, 0))
    yield "perspective-f16.bin", warp_seed(1, dtype=4, interpolation=2, args=perspective)
    yield "perspective-i32-fill.bin", warp_seed(1, dtype=3, fill=(1, 2), args=perspective)
    yield "projective.bin", warp_seed(2, rank=4, n=2, selector=1, args=projective * 2)
    yield (
        "projective-tf-nearest.bin",
        warp_seed(2, rank=4, interpolation=0, fill_mode=2, flags=0x20, args=projective),
    )
    maps = tuple(((i * 7) % 40 - 8) / 8 for i in range(2 * 3 * 4))
    yield "maps.bin", warp_seed(3, out=(3, 4), args=maps)
    yield "maps-batch.bin", warp_seed(3, rank=4, n=2, out=(3, 4), selector=3, args=maps * 2)
    src = (0, 0, 4, 0, 0, 3, 4, 3, 2, 1, 1, 2, 3, 2, 2.5, 0.5, 0.5, 2.5, 1, 1)
    dst = tuple(v + 0.25 for v in src)
    for order, points in ((1, 3), (2, 6), (3, 10)):
        k = 2 * points
        yield (
            f"polynomial-{order}.bin",
            warp_seed(4, order=order, points=points, args=src[:k] + dst[:k]),
        )


# --------------------------------------------------------------------------- hostile cases


def hostile_seeds(op: str) -> Iterator[tuple[str, bytes]]:
    for case in hostile_corpus.sample(hostile_corpus.build_corpus()):
        if case.op == op and isinstance(case.contents, bytes):
            yield f"hostile-{case.name}{hostile_corpus.EXTENSIONS[op]}", case.contents


# --------------------------------------------------------------------------- output


# --------------------------------------------------------------------------- TIFF


def tiff_seeds() -> Iterator[tuple[str, bytes]]:
    """Small TIFF and BigTIFF files written by tifffile (a dev dependency, with
    imagecodecs for the codecs): strips and tiles, contig and separate planes,
    both byte orders, every codec and predictor core/tiff.h reads, two pages,
    and GeoTIFF tags."""
    import tifffile  # noqa: PLC0415 (only this target needs it)

    rng = np.random.default_rng(20240602)

    def tiff(arr: np.ndarray, **kwargs: object) -> bytes:
        buf = io.BytesIO()
        tifffile.imwrite(buf, arr, photometric="minisblack", **kwargs)
        return buf.getvalue()

    def smooth(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        # Compressible (gradients plus a little noise), so codec paths get long strings.
        y, x = np.mgrid[: shape[0], : shape[1]]
        base = (3 * y + 2 * x + rng.integers(0, 3, (shape[0], shape[1]))).astype(np.float64)
        if len(shape) == 3:
            base = base[:, :, None] + np.arange(shape[2]) * 5
        return base.astype(dtype)

    for comp in (None, "lzw", "zlib", "packbits", "zstd"):
        name = comp or "none"
        for dtype, pred in (("u1", "horizontal"), ("<u2", "horizontal"), ("<f4", "floatingpoint")):
            arr = smooth(dtype, (11, 13, 3))
            kw: dict[str, object] = {"compression": comp}
            if comp is not None:
                kw["predictor"] = pred
            tag = f"{name}-{np.dtype(dtype).name}"
            yield f"{tag}-strips.tif", tiff(arr, planarconfig="contig", rowsperstrip=4, **kw)
        arr = smooth("u1", (20, 19))
        yield f"{name}-u8-tiled.tif", tiff(arr, tile=(16, 16), compression=comp)
        yield f"{name}-u8-big-be.tif", tiff(arr, bigtiff=True, byteorder=">", compression=comp, rowsperstrip=7)
    planes = smooth(">i2", (3, 18, 17))
    yield "lzw-i16-separate-tiled-be.tif", tiff(
        planes, planarconfig="separate", tile=(16, 16), compression="lzw", byteorder=">", predictor=True
    )
    yield "none-f8-separate-big.tif", tiff(smooth("<f8", (2, 5, 6)), planarconfig="separate", bigtiff=True)
    yield "zlib-f2-pred3.tif", tiff(smooth("<f2", (6, 9)), compression="zlib", predictor=3)
    yield "none-u64-bands13.tif", tiff(smooth("<u8", (3, 4, 13)), planarconfig="contig")
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as w:
        w.write(smooth("u1", (5, 6)), photometric="minisblack")
        w.write(smooth("<i4", (4, 3)), photometric="minisblack", compression="zlib")
    yield "two-pages.tif", buf.getvalue()
    geo = [
        (33550, 12, 3, (10.0, 20.0, 0.0)),
        (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0)),
        (34735, 3, 12, (1, 1, 0, 2, 1025, 0, 1, 2, 3072, 0, 1, 32633)),
        (42113, 2, 0, "-9999"),
    ]
    yield "geotiff-f4.tif", tiff(smooth("<f4", (6, 7)), extratags=geo)


def write(directory: Path, target: str, seeds: Iterator[tuple[str, bytes]]) -> tuple[int, int]:
    folder = directory / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    count = total = 0
    seen = set()
    for name, content in seeds:
        digest = hashlib.sha1(content).hexdigest()
        if digest in seen:
            continue  # libFuzzer would run it once anyway
        seen.add(digest)
        (folder / name).write_bytes(content)
        count += 1
        total += len(content)
    return count, total


def main(argv: list[str]) -> int:
    directory = Path(argv[1]) if len(argv) > 1 else HERE / "corpus"
    plan = {
        "fuzz_npy": lambda: [*npy_seeds(), *hostile_seeds("decode_npy")],
        "fuzz_npz": lambda: [*npz_seeds(), *hostile_seeds("decode_npz")],
        "fuzz_inflate": deflate_seeds,
        "fuzz_records": records_seeds,
        "fuzz_warp_params": warp_seeds,
        "fuzz_tiff": tiff_seeds,
    }
    grand = 0
    for target, seeds in plan.items():
        count, total = write(directory, target, iter(seeds()))
        grand += total
        print(f"{target}: {count} files, {total} bytes")
    print(f"total {grand} bytes in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
