#!/usr/bin/env python
"""Benchmark the gilfree decoders (decode_npy, decode_npz, decode_records, decode_tiff) against
NumPy and tifffile.

Usage::

    python benchmarks/bench_decoding.py [--repeats N] [--json PATH] [--quick] [--skip-tfdata]

The main process is pinned to ONE core (and TensorFlow to one intra-op and one inter-op
thread) before TensorFlow is imported. It measures, in one run:

  1. decode_npy of a 16 MiB float32 array against np.load and the memory-copy bandwidth bound;
  2. decode_npz of a compressed (np.savez_compressed) and a stored (np.savez) archive holding a
     13-band uint16 512x512 tile and a uint8 label map, against dict(np.load(...));
  3. decode_records of one CIFAR-10 batch file layout (10000 records) against np.frombuffer
     with a structured dtype and a contiguous copy per field;
  4. tf.data pipelines reading a folder of .npy files (list_files -> read_file -> decode),
     gilfree.decode_npy against the py_function fallback, in subprocesses pinned to 1 and to
     2 cores;
  5. decode_tiff of a 13-band uint16 1024x1024 image in 256x256 tiles (uncompressed, or
     Deflate, LZW or ZSTD with predictor 2), and of a 256x256 window of it, against
     tifffile (with imagecodecs, one worker thread) and rasterio (GDAL, from a MemoryFile)
     when it is installed; then one 256x256 window of a 4096x4096x13 scene against the
     whole scene.

It prints a table per part, a list of targets (met or not) and writes a JSON file with the
machine description. The helpers (pinning, timing, machine description, load monitor) are those
of bench_normalize.py and gilfree.bench. See benchmarks/METHOD.md for the method.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import math
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

# Pinning, timing, the machine description and the test data come from the package
# (gilfree.bench, shared with `python -m gilfree.bench`); the report helpers from
# bench_normalize.py next to this file (benchmarks/ is not a package).
from gilfree.bench.data import structured_uint16
from gilfree.bench.machine import LoadMonitor, import_tensorflow, machine_info, pin_to_cpus

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
_bn = importlib.import_module("bench_normalize")

report_run = _bn.report_run
Row = _bn.Row
Target = _bn.Target
print_case = _bn.print_case
fixed_row = _bn.fixed_row
Pipeline = _bn.Pipeline
consume_in_graph = _bn.consume_in_graph
consume_in_python = _bn.consume_in_python

SEED = 20240607
RESULTS_DIR = BENCH_DIR / "results"
WORKER_MARKER = "DECODING_TFDATA_RESULT_JSON:"
MiB = 2**20

# Part 4: the files of the tf.data folder.
TFDATA_SHAPE = (256, 256, 13)
TFDATA_DTYPE = "uint16"
TFDATA_FILES = 256

CIFAR_SCHEMA_SPEC = [("label", "u1"), ("image", "u1", (3, 32, 32))]


def same_arrays(name: str, got: Any, want: Any, problems: list[str]) -> None:
    """Records a problem unless `got` equals `want` exactly (values, dtype and shape)."""
    import numpy as np

    got = np.asarray(got)
    if got.shape != want.shape:
        problems.append(f"{name}: shape {got.shape} != expected {want.shape}")
    elif got.dtype != want.dtype:
        problems.append(f"{name}: dtype {got.dtype} != expected {want.dtype}")
    elif not np.array_equal(got, want):
        problems.append(f"{name}: values differ from the baseline")


def timed_rows(
    case: str,
    fns: dict[str, Callable[[], object]],
    unit: str,
    per_call: float,
    repeats: int,
    min_s: float,
) -> list[Row]:
    return _bn.timed_rows(case, fns, per_call, repeats, min_s, unit)


def speedup_targets(
    case: str, rows: Sequence[Row], baseline: Row, goal: float, note_key: str
) -> list[Target]:
    """Speedup vs `baseline` for every gilfree row; the tf.function row is secondary."""
    targets = []
    for r in rows:
        if not r.impl.startswith("gilfree"):
            continue
        ratio = baseline.timing.median_s / r.timing.median_s
        r.notes[note_key] = ratio
        note = _bn.tf_function_note(r.impl)
        targets.append(
            Target(f"{case}: {r.impl} speedup vs {baseline.impl}", ratio, goal, ratio >= goal, note)
        )
    return targets


# --------------------------------------------------------------------------------------------
# 1. decode_npy, 16 MiB float32
# --------------------------------------------------------------------------------------------


def bench_npy(
    tf: Any, repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target], dict[str, Any]]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    n = 16 * MiB // 4
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(n, dtype=np.float32).reshape(1024, 4096)
    buf = io.BytesIO()
    np.save(buf, x)
    raw = buf.getvalue()
    raw_tf = tf.constant(raw)
    tf_fn = tf.function(lambda t: gilfree.decode_npy(t, tf.float32, shape=x.shape))

    same_arrays("decode_npy gilfree.numpy", gnp.decode_npy(raw, np.float32), x, problems)
    same_arrays(
        "decode_npy gilfree (TF, eager)",
        gilfree.decode_npy(raw_tf, tf.float32).numpy(),
        x,
        problems,
    )
    same_arrays("decode_npy gilfree (TF, tf.function)", tf_fn(raw_tf).numpy(), x, problems)
    same_arrays("decode_npy np.load", np.load(io.BytesIO(raw)), x, problems)

    src = rng.standard_normal(n, dtype=np.float32)
    dst = np.empty_like(src)
    gb = x.nbytes / 1e9
    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.decode_npy": lambda: gnp.decode_npy(raw, np.float32),
        "gilfree.decode_npy (TF op, eager)": lambda: gilfree.decode_npy(raw_tf, tf.float32),
        "gilfree.decode_npy (TF op, in tf.function)": lambda: tf_fn(raw_tf),
        "np.load(io.BytesIO(raw))": lambda: np.load(io.BytesIO(raw)),
        "np.copyto float32 16 MiB (preallocated)": lambda: np.copyto(dst, src),
    }
    rows = timed_rows("decode_npy", fns, "GB/s", gb, repeats, min_s)
    in_bytes = x.nbytes  # the data part of the file (the 128-byte header is negligible)
    out_bytes = x.nbytes
    bandwidth, bound_s = _bn.bandwidth_bound(rows, in_bytes, out_bytes, src.nbytes)
    baseline = rows[3]
    print_case(
        f"1. decode_npy float32 {x.shape[0]}x{x.shape[1]} (16 MiB; copy bandwidth "
        f"{bandwidth / 1e9:.1f} GB/s read+write, bound {bound_s * 1e3:.3f} ms); "
        f"throughput = decoded GB/s",
        rows,
        baseline,
    )
    targets = [_bn.bound_target("decode_npy", r, bound_s) for r in rows[:3]]
    _bn.note_speedups(rows[:3], baseline, "speedup_vs_np_load")
    fractions = ", ".join(
        f"{r.impl}: {r.notes['fraction_of_bandwidth_bound']:.2f}" for r in rows[:3]
    )
    print(f"  fraction of the bound: {fractions}")
    extra = {
        "copy_bandwidth_GBps": bandwidth / 1e9,
        "bound_ms": bound_s * 1e3,
        "file_bytes": len(raw),
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
    }
    return rows, targets, extra


# --------------------------------------------------------------------------------------------
# 2. decode_npz, compressed and stored
# --------------------------------------------------------------------------------------------


def npz_arrays() -> dict[str, Any]:
    """A 13-band uint16 512x512 tile (smooth fields plus noise) and a uint8 label map of
    smooth regions (8 classes), as in a segmentation data set."""
    import numpy as np

    image = structured_uint16((512, 512, 13), SEED + 1)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    field_ = np.sin(xx / 37.0) + np.cos(yy / 53.0) + 0.5 * np.sin((xx + yy) / 71.0)
    label = np.digitize(field_, np.linspace(-2.0, 2.0, 7)).astype(np.uint8)
    return {"image": image, "label": label}


def deflate_streams(raw: bytes) -> list[bytes]:
    """The raw deflate streams of the members of a ZIP archive (for the zlib-only row)."""
    streams = []
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            off = info.header_offset
            name_len = int.from_bytes(raw[off + 26 : off + 28], "little")
            extra_len = int.from_bytes(raw[off + 28 : off + 30], "little")
            start = off + 30 + name_len + extra_len
            streams.append(raw[start : start + info.compress_size])
    return streams


def bench_npz(
    tf: Any, repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target], dict[str, Any]]:
    import zlib

    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    arrays = npz_arrays()
    spec = {name: a.dtype for name, a in arrays.items()}
    out_bytes = sum(a.nbytes for a in arrays.values())
    mb = out_bytes / 1e6
    rows: list[Row] = []
    targets: list[Target] = []
    extra: dict[str, Any] = {"decoded_bytes": out_bytes}
    for kind, save in (("compressed", np.savez_compressed), ("stored", np.savez)):
        buf = io.BytesIO()
        save(buf, **arrays)
        raw = buf.getvalue()
        raw_tf = tf.constant(raw)
        extra[f"{kind}_file_bytes"] = len(raw)
        tf_fn = tf.function(lambda t: gilfree.decode_npz(t, spec))

        def np_load(raw: bytes = raw) -> dict[str, Any]:
            with np.load(io.BytesIO(raw)) as f:
                return dict(f)

        for face, got in (
            ("gilfree.numpy", gnp.decode_npz(raw, spec)),
            ("gilfree (TF, eager)", gilfree.decode_npz(raw_tf, spec)),
            ("gilfree (TF, tf.function)", tf_fn(raw_tf)),
            ("np.load", np_load()),
        ):
            if sorted(got) != sorted(arrays):
                problems.append(f"decode_npz {kind} {face}: keys {sorted(got)}")
                continue
            for name, want in arrays.items():
                same_arrays(
                    f"decode_npz {kind} {face} [{name}]", np.asarray(got[name]), want, problems
                )

        case = f"decode_npz {kind}"
        fns: dict[str, Callable[[], object]] = {
            "gilfree.numpy.decode_npz": lambda raw=raw: gnp.decode_npz(raw, spec),
            "gilfree.decode_npz (TF op, eager)": lambda raw_tf=raw_tf: gilfree.decode_npz(
                raw_tf, spec
            ),
            "gilfree.decode_npz (TF op, in tf.function)": lambda f=tf_fn, t=raw_tf: f(t),
            "dict(np.load(io.BytesIO(raw)))": np_load,
        }
        if kind == "compressed":
            streams = deflate_streams(raw)

            def inflate_only(streams: list[bytes] = streams) -> list[bytes]:
                return [zlib.decompress(s, -15) for s in streams]

            # Diagnostic: zlib's inflate alone (no CRC, no copy into arrays), what np.load pays
            # for the decompression itself.
            fns["zlib.decompress of the members (inflate only)"] = inflate_only
        group = timed_rows(case, fns, "MB/s", mb, repeats, min_s)
        baseline = group[3]
        print_case(
            f"2. {case}: image uint16 512x512x13 + label uint8 512x512 "
            f"({out_bytes / MiB:.2f} MiB decoded, file {len(raw) / MiB:.2f} MiB); "
            f"throughput = decoded MB/s",
            group,
            baseline,
        )
        if kind == "compressed":
            targets += speedup_targets(case, group, baseline, 1.0, "speedup_vs_np_load")
        else:
            _bn.note_speedups(group[:3], baseline, "speedup_vs_np_load")
        rows += group
    return rows, targets, extra


# --------------------------------------------------------------------------------------------
# 5. decode_tiff against tifffile
# --------------------------------------------------------------------------------------------

#: (label, tifffile.imwrite arguments): how satellite scenes are commonly stored.
TIFF_LAYOUTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("uncompressed", {}),
    ("deflate+pred2", {"compression": "zlib", "predictor": 2}),
    ("lzw+pred2", {"compression": "lzw", "predictor": 2}),
    ("zstd+pred2", {"compression": "zstd", "predictor": 2}),
)
TIFF_SIDE = 1024
TIFF_SCENE_SIDE = 4096


def write_tiff(image: Any, **kwargs: Any) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(
        buf, image, photometric="minisblack", planarconfig="contig", tile=(256, 256), **kwargs
    )
    return buf.getvalue()


def tiff_peers(raw: bytes) -> dict[str, Callable[[Any], Any]]:
    """The other readers of a file, as functions of a window (None: the whole page):
    tifffile (it has no window read: it decodes the page and slices it) and rasterio."""
    import tifffile

    def with_tifffile(window: Any) -> Any:
        with tifffile.TiffFile(io.BytesIO(raw)) as f:
            page = f.asarray(maxworkers=1)
        if window is None:
            return page
        r, c, h, w = window
        return page[r : r + h, c : c + w]

    peers: dict[str, Callable[[Any], Any]] = {
        "tifffile.TiffFile(...).asarray(maxworkers=1)": with_tifffile
    }
    try:
        import numpy as np
        import rasterio
        from rasterio.io import MemoryFile
        from rasterio.windows import Window
    except ImportError:
        return peers

    def with_rasterio(window: Any) -> Any:
        with rasterio.Env(GDAL_NUM_THREADS=1), MemoryFile(raw) as mem, mem.open() as ds:
            box = None if window is None else Window(window[1], window[0], window[3], window[2])
            return np.moveaxis(ds.read(window=box), 0, -1)

    peers["rasterio (MemoryFile, ds.read)"] = with_rasterio
    return peers


def bench_tiff(
    tf: Any, repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target]]:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        print("5. decode_tiff: skipped (tifffile is not installed: pip install '.[bench]')")
        return [], []
    import gilfree
    import gilfree.numpy as gnp
    from gilfree import _native

    image = structured_uint16((TIFF_SIDE, TIFF_SIDE, 13), SEED + 5)
    rows: list[Row] = []
    targets: list[Target] = []
    for label, kwargs in TIFF_LAYOUTS:
        if kwargs.get("compression") == "zstd" and not _native.tiff_has_zstd():
            print(f"5. decode_tiff {label}: skipped (this build has no ZSTD codec)")
            continue
        raw = write_tiff(image, **kwargs)
        raw_tf = tf.constant(raw)
        peers = tiff_peers(raw)
        for window in (None, (384, 384, 256, 256)):
            want = image if window is None else image[384:640, 384:640]
            case = f"decode_tiff {label}" + ("" if window is None else " window 256x256")
            tf_fn = tf.function(lambda t, w=window: gilfree.decode_tiff(t, "uint16", window=w))
            got = {
                "gilfree.numpy": gnp.decode_tiff(raw, window=window),
                "gilfree (TF, tf.function)": tf_fn(raw_tf),
            }
            got.update({name: peer(window) for name, peer in peers.items()})
            for face, out in got.items():
                same_arrays(f"{case} {face}", out, want, problems)
            fns: dict[str, Callable[[], object]] = {
                "gilfree.numpy.decode_tiff": lambda raw=raw, w=window: gnp.decode_tiff(
                    raw, window=w
                ),
                "gilfree.decode_tiff (TF op, in tf.function)": lambda f=tf_fn, t=raw_tf: f(t),
            }
            fns.update({name: functools.partial(peer, window) for name, peer in peers.items()})
            group = timed_rows(case, fns, "MB/s", want.nbytes / 1e6, repeats, min_s)
            print_case(
                f"5. {case}: uint16 {TIFF_SIDE}x{TIFF_SIDE}x13 in 256x256 tiles "
                f"(file {len(raw) / MiB:.2f} MiB); throughput = decoded MB/s",
                group,
                group[2],
            )
            for peer in group[2:]:
                targets += speedup_targets(case, group[:1], peer, 1.0, f"speedup_vs_{peer.impl}")
            _bn.note_speedups(group[1:2], group[2], "speedup_vs_tifffile")
            rows += group
    rows_, targets_ = bench_tiff_scene(repeats, min_s, problems)
    return rows + rows_, targets + targets_


def bench_tiff_scene(
    repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target]]:
    """One 256x256 window of a large tiled scene against the whole scene (NumPy face)."""
    import numpy as np

    import gilfree.numpy as gnp

    side = TIFF_SCENE_SIDE
    scene = np.tile(structured_uint16((1024, 1024, 13), SEED + 6), (side // 1024, side // 1024, 1))
    raw = write_tiff(scene, compression="zlib", predictor=2)
    window = (side // 2, side // 2, 256, 256)
    same_arrays(
        "decode_tiff scene window",
        gnp.decode_tiff(raw, window=window),
        scene[side // 2 : side // 2 + 256, side // 2 : side // 2 + 256],
        problems,
    )
    case = f"decode_tiff {side}x{side}x13 scene, deflate+pred2"
    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.decode_tiff, one 256x256 window": lambda: gnp.decode_tiff(
            raw, window=window
        ),
        "gilfree.numpy.decode_tiff, the whole scene": lambda: gnp.decode_tiff(raw),
    }
    group = timed_rows(case, fns, "MB/s", 256 * 256 * 13 * 2 / 1e6, repeats, min_s)
    print_case(
        f"5. {case} (file {len(raw) / MiB:.0f} MiB): a window against the whole scene; "
        "throughput = the window's MB/s",
        group,
        group[1],
    )
    return group, speedup_targets(case, group[:1], group[1], 50.0, "speedup_vs_whole_scene")


# --------------------------------------------------------------------------------------------
# 3. decode_records, CIFAR-10 layout
# --------------------------------------------------------------------------------------------


def bench_records(
    tf: Any, repeats: int, min_s: float, problems: list[str], bandwidth_GBps: float
) -> tuple[list[Row], list[Target]]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    schema = np.dtype(CIFAR_SCHEMA_SPEC)
    num = 10000
    rng = np.random.default_rng(SEED + 2)
    raw = rng.integers(0, 256, size=num * schema.itemsize, dtype=np.uint8).tobytes()
    raw_tf = tf.constant(raw)
    tf_fn = tf.function(lambda t: gilfree.decode_records(t, schema))

    def numpy_baseline() -> dict[str, Any]:
        r = np.frombuffer(raw, schema)
        return {name: np.ascontiguousarray(r[name]) for name in schema.names}

    want = numpy_baseline()
    for face, got in (
        ("gilfree.numpy", gnp.decode_records(raw, schema)),
        ("gilfree (TF, eager)", gilfree.decode_records(raw_tf, schema)),
        ("gilfree (TF, tf.function)", tf_fn(raw_tf)),
    ):
        for name in schema.names:
            same_arrays(
                f"decode_records {face} [{name}]", np.asarray(got[name]), want[name], problems
            )

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.decode_records": lambda: gnp.decode_records(raw, schema),
        "gilfree.decode_records (TF op, eager)": lambda: gilfree.decode_records(raw_tf, schema),
        "gilfree.decode_records (TF op, in tf.function)": lambda: tf_fn(raw_tf),
        "np.frombuffer + ascontiguousarray per field": numpy_baseline,
    }
    mb = len(raw) / 1e6
    rows = timed_rows("decode_records", fns, "MB/s", mb, repeats, min_s)
    baseline = rows[-1]
    # Not a target: the same copy bound as in part 1 (the records are read once and every byte
    # but the padding is written once).
    bound_s = 2 * len(raw) / (bandwidth_GBps * 1e9)
    rows.append(
        fixed_row("decode_records", "bandwidth bound (part 1's bandwidth)", bound_s, "MB/s", mb)
    )
    print_case(
        f"3. decode_records: CIFAR-10 layout (label u1, image u1 3x32x32), {num} records "
        f"({len(raw) / MiB:.1f} MiB); throughput = input MB/s",
        rows,
        baseline,
    )
    targets = speedup_targets("decode_records", rows[:3], baseline, 1.0, "speedup_vs_numpy")
    for r in rows[:4]:
        r.notes["fraction_of_bandwidth_bound"] = bound_s / r.timing.median_s
    return rows, targets


# --------------------------------------------------------------------------------------------
# 4. tf.data over a folder of .npy files (subprocesses pinned to 1 and 2 cores)
# --------------------------------------------------------------------------------------------


def write_npy_folder(folder: Path, count: int) -> None:
    import numpy as np

    rng = np.random.default_rng(SEED + 3)
    for i in range(count):
        x = rng.integers(0, 10000, size=TFDATA_SHAPE, dtype=np.uint16)
        np.save(folder / f"tile-{i:05d}.npy", x)


def tfdata_worker(args: argparse.Namespace) -> int:
    """Subprocess entry point: pin, import TF with len(cpus) threads, time the pipelines and
    print one JSON line (prefixed with WORKER_MARKER) on stdout."""
    cpus = [int(c) for c in args.cpus.split(",")]
    pin_to_cpus(cpus)
    tf = import_tensorflow(threads=len(cpus))
    import numpy as np

    import gilfree
    import gilfree.fallback

    pattern = str(Path(args.data_dir) / "*.npy")
    files = tf.data.Dataset.list_files(pattern, shuffle=False)  # sorted names, fixed order
    num_files = args.files

    def decode_gilfree(contents: Any) -> Any:
        return gilfree.decode_npy(contents, TFDATA_DTYPE, shape=TFDATA_SHAPE)

    library_fallback = getattr(gilfree.fallback, "decode_npy", None)
    if library_fallback is not None:
        fallback_name = "gilfree.fallback.decode_npy"

        def decode_fallback(contents: Any) -> Any:
            return library_fallback(contents, TFDATA_DTYPE, shape=TFDATA_SHAPE)

    else:
        # gilfree.fallback has no decode_npy (yet): the same thing written out, i.e. what
        # today's pipelines do, np.load in a py_function.
        fallback_name = "tf.py_function(np.load(io.BytesIO(contents.numpy())))"

        def load(contents: Any) -> Any:
            return np.load(io.BytesIO(contents.numpy()))

        def decode_fallback(contents: Any) -> Any:
            y = tf.py_function(load, [contents], Tout=tf.as_dtype(TFDATA_DTYPE))
            y.set_shape(TFDATA_SHAPE)
            return y

    def prepare(make: Callable[[int], Any], consume: Callable[[Any], int]) -> Pipeline:
        """make(epochs), one epoch = every file once; the warm-up pass also reads every file
        into the page cache."""
        return _bn.prepare_pipeline(make, consume, args.min_repeat_s, num_files, num_files)

    def reader(epochs: int, read_p: int | None = None) -> Any:
        return files.repeat(epochs).map(tf.io.read_file, num_parallel_calls=read_p)

    def parallel_reader(epochs: int) -> Any:
        return reader(epochs, tf.data.AUTOTUNE)

    pipelines: dict[str, Pipeline] = {
        "read_file only (no decode)": prepare(reader, consume_in_graph)
    }
    for fn_name, fn in (("gilfree", decode_gilfree), ("fallback", decode_fallback)):
        for p_name, p in (("1", 1), ("AUTOTUNE", tf.data.AUTOTUNE)):

            def make(epochs: int, fn: Any = fn, p: int = p) -> Any:
                return reader(epochs).map(fn, num_parallel_calls=p)

            pipelines[f"{fn_name} p={p_name}"] = prepare(make, consume_in_graph)
            if p_name == "AUTOTUNE":
                pipelines[f"{fn_name} p={p_name}, Python loop"] = prepare(make, consume_in_python)
    # Secondary: read_file itself parallel too (the sequential read_file above is a ceiling
    # that does not grow with cores).
    pipelines["read_file p=AUTOTUNE only (no decode)"] = prepare(parallel_reader, consume_in_graph)
    for fn_name, fn in (("gilfree", decode_gilfree), ("fallback", decode_fallback)):

        def make_parallel(epochs: int, fn: Any = fn) -> Any:
            return parallel_reader(epochs).map(fn, num_parallel_calls=tf.data.AUTOTUNE)

        pipelines[f"{fn_name} p=AUTOTUNE, read_file p=AUTOTUNE"] = prepare(
            make_parallel, consume_in_graph
        )

    header = {"cpus": cpus, "threads": len(cpus), "fallback": fallback_name}
    return _bn.report_pipelines(pipelines, args.repeats, WORKER_MARKER, header)


def bench_tfdata(
    allowed: Sequence[int], args: argparse.Namespace
) -> tuple[dict[str, Any], list[Target]]:
    with tempfile.TemporaryDirectory(prefix="gilfree-bench-npy-") as tmp:
        folder = Path(tmp)
        write_npy_folder(folder, args.files)
        files = ("--data-dir", str(folder), "--files", str(args.files))
        runs = _bn.worker_runs(
            allowed, lambda cpus: _bn.run_worker(__file__, WORKER_MARKER, cpus, args, *files)
        )

    file_mib = math.prod(TFDATA_SHAPE) * 2 / MiB
    print(
        f"\n4. tf.data: list_files(shuffle=False) -> read_file -> decode, {args.files} .npy files "
        f"of {'x'.join(map(str, TFDATA_SHAPE))} {TFDATA_DTYPE} ({file_mib:.2f} MiB each, page "
        f"cache); consumed in-graph (Dataset.reduce) unless marked 'Python loop'\n"
        f"  fallback = {runs['1 core']['fallback']}\n"
        f"  images/s: median [min .. max]; TF intra-op = inter-op threads = cores"
    )
    _bn.print_worker_table(runs, 42)
    rate = functools.partial(_bn.worker_rate, runs)

    targets = []
    for run in runs:
        ratios = ", ".join(
            f"{p}: {rate(run, f'gilfree {p}') / rate(run, f'fallback {p}'):.2f}x"
            for p in (
                "p=1",
                "p=AUTOTUNE",
                "p=AUTOTUNE, Python loop",
                "p=AUTOTUNE, read_file p=AUTOTUNE",
            )
        )
        print(f"  gilfree / fallback, {run}: {ratios}")
        ceiling = rate(run, "gilfree p=AUTOTUNE") / rate(run, "read_file only (no decode)")
        print(
            f"  gilfree p=AUTOTUNE / read_file only, {run}: {ceiling:.2f} (1.0 = decoding is free)"
        )
        runs[run]["gilfree_over_fallback_autotune"] = rate(run, "gilfree p=AUTOTUNE") / rate(
            run, "fallback p=AUTOTUNE"
        )
        runs[run]["gilfree_over_read_only_autotune"] = ceiling
        ratio = rate(run, "gilfree p=AUTOTUNE") / rate(run, "fallback p=AUTOTUNE")
        targets.append(
            Target(
                f"tf.data {run} p=AUTOTUNE: gilfree / fallback images/s",
                ratio,
                1.0,
                ratio >= 1.0,
                "no numeric target",
            )
        )
    if "2 cores" in runs:
        scaling = {}
        for key in (
            "read_file only (no decode)",
            "gilfree p=AUTOTUNE",
            "gilfree p=AUTOTUNE, Python loop",
            "fallback p=AUTOTUNE",
            "fallback p=AUTOTUNE, Python loop",
            "read_file p=AUTOTUNE only (no decode)",
            "gilfree p=AUTOTUNE, read_file p=AUTOTUNE",
            "fallback p=AUTOTUNE, read_file p=AUTOTUNE",
        ):
            scaling[key] = rate("2 cores", key) / rate("1 core", key)
            print(f"  {key}: 2 cores / 1 core = {scaling[key]:.2f}x")
        runs["scaling_2_over_1_core"] = scaling
    else:
        print("  (only one CPU allowed: the 2-core run was not measured)")
    return runs, targets


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = _bn.bench_parser(
        __doc__, "decoding", 11, "fast smoke run: few and short repeats, fewer tf.data files"
    )
    _bn.add_tfdata_args(p, "4")
    # Internal: the tf.data subprocess.
    p.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    p.add_argument("--files", type=int, default=None, help=argparse.SUPPRESS)
    return _bn.parse_bench_args(p, argv, 11, files=(64, TFDATA_FILES))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tfdata_worker:
        return tfdata_worker(args)

    # ONE core for parts 1-3: pin before TensorFlow starts its thread pools.
    allowed = sorted(os.sched_getaffinity(0))
    tf = _bn.pin_one_core(allowed)

    machine = machine_info(allowed)
    _bn.print_one_core_header(machine, args, allowed[0], "work / median")

    monitor = LoadMonitor()
    problems: list[str] = []
    timing = (args.repeats, args.min_repeat_s, problems)
    npy_rows, npy_targets, npy_extra = bench_npy(tf, *timing)
    npz_rows, npz_targets, npz_extra = bench_npz(tf, *timing)
    rec_rows, rec_targets = bench_records(tf, *timing, npy_extra["copy_bandwidth_GBps"])
    tiff_rows, tiff_targets = bench_tiff(tf, *timing)
    rows = npy_rows + npz_rows + rec_rows + tiff_rows
    targets = npy_targets + npz_targets + rec_targets + tiff_targets
    tfdata = _bn.tfdata_part(bench_tfdata, allowed, args, targets)

    load = report_run(monitor, targets, problems, info_unit="x")

    config = {
        "pinned_cpu": allowed[0],
        "tf_threads": 1,
        "seed": SEED,
        "tfdata_files": args.files,
        "tfdata_shape": list(TFDATA_SHAPE),
        "tfdata_dtype": TFDATA_DTYPE,
    }
    sections = {
        "decode_npy_bandwidth": npy_extra,
        "decode_npz": npz_extra,
        "results": [row.to_json() for row in rows],
        "tfdata": tfdata,
        "targets": [asdict(tg) for tg in targets],
        "problems": problems,
    }
    _bn.write_results(args, "decoding", machine, load, config, sections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
