#!/usr/bin/env python
"""Benchmark the gilfree normalization ops against NumPy and TensorFlow baselines.

Usage::

    python benchmarks/bench_normalize.py [--repeats N] [--json PATH] [--quick]

The main process is pinned to ONE core (and TensorFlow to one intra-op and one inter-op
thread) before TensorFlow is imported. It measures, in one run:

  a. normalize uint8 -> float32, 512x512x3, against the NumPy expression, the TF composite and
     the memory-copy bandwidth bound;
  b. percentile_stretch uint16, 512x512x13, against a per-band NumPy baseline;
  c. standardize and minmax_scale, for completeness;
  d. tf.data pipelines (gilfree.normalize vs gilfree.fallback.normalize), run in subprocesses
     pinned to 1 and to 2 cores.

It prints a table, a list of targets (met or not) and writes a JSON file with the machine
description. See benchmarks/METHOD.md for the method.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The helpers shared with bench_decoding.py, bench_threads.py and `python -m gilfree.bench` live
# in the package (gilfree.bench); they are re-exported here for the other scripts.
from gilfree.bench.data import structured_uint16
from gilfree.bench.machine import (
    LoadMonitor,
    import_tensorflow,
    machine_info,
    pin_to_cpus,
    wakeup_roundtrip_us,
)
from gilfree.bench.timing import Timing, time_group

__all__ = [
    "LoadMonitor",
    "Pipeline",
    "Row",
    "Target",
    "Timing",
    "add_tfdata_args",
    "bandwidth_bound",
    "bench_parser",
    "bound_target",
    "check_faces",
    "consume_in_graph",
    "consume_in_python",
    "fixed_row",
    "import_tensorflow",
    "machine_info",
    "note_speedups",
    "parse_bench_args",
    "pin_one_core",
    "pin_to_cpus",
    "prepare_pipeline",
    "print_case",
    "print_load",
    "print_machine",
    "print_one_core_header",
    "print_problems",
    "print_worker_table",
    "report_pipelines",
    "report_run",
    "results_path",
    "run_worker",
    "structured_uint16",
    "tf_function_note",
    "tfdata_part",
    "time_group",
    "timed_rows",
    "wakeup_roundtrip_us",
    "worker_rate",
    "worker_runs",
    "write_results",
]

# Parameters of the normalize benchmark (ImageNet mean/std on a 0..255 scale).
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
SEED = 20240521
RESULTS_DIR = Path(__file__).resolve().parent / "results"
WORKER_MARKER = "TFDATA_RESULT_JSON:"


def timed_rows(
    case: str,
    fns: dict[str, Callable[[], object]],
    per_call: float,
    repeats: int,
    min_repeat_s: float,
    unit: str = "MP/s",
) -> list[Row]:
    """Times `fns` as one group; a row each, `per_call` units of work (megapixels by default)."""
    timings = time_group(fns, repeats=repeats, min_repeat_s=min_repeat_s)
    return [Row(case, name, t, unit, per_call) for name, t in timings.items()]


def fixed_row(case: str, impl: str, seconds: float, unit: str, per_call: float) -> Row:
    """A computed (not measured) row, e.g. the bandwidth bound."""
    return Row(
        case, impl, Timing(seconds, seconds, seconds, seconds, seconds, 0, 0), unit, per_call
    )


def bandwidth_bound(
    rows: list[Row], in_bytes: int, out_bytes: int, copy_bytes: int
) -> tuple[float, float]:
    """The last row copies `copy_bytes` (np.copyto, read + write): its bandwidth gives the
    bound (in_bytes + out_bytes) / bandwidth, appended as a row of the same case and unit.
    Returns (bandwidth in bytes/s, bound in s)."""
    copy_row = rows[-1]
    bandwidth = 2 * copy_bytes / copy_row.timing.median_s  # bytes/s, read + write
    bound_s = (in_bytes + out_bytes) / bandwidth
    copy_row.notes["bandwidth_GBps"] = bandwidth / 1e9
    impl = "bandwidth bound: (in + out bytes) / bandwidth"
    rows.append(fixed_row(copy_row.case, impl, bound_s, copy_row.unit, copy_row.per_call))
    return bandwidth, bound_s


def bound_target(case: str, row: Row, bound_s: float) -> Target:
    """The row's fraction of the bandwidth bound (also in its notes); goal 0.5."""
    frac = bound_s / row.timing.median_s
    row.notes["fraction_of_bandwidth_bound"] = frac
    name = f"{case}: {row.impl} fraction of bandwidth bound"
    return Target(name, frac, 0.5, frac >= 0.5, tf_function_note(row.impl))


def tf_function_note(impl: str) -> str:
    """The detail of a target whose row runs in a tf.function (secondary), else ""."""
    return "secondary: includes TF's tf.function call overhead" if "tf.function" in impl else ""


# --------------------------------------------------------------------------------------------
# Results, table and targets
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One measured implementation of one case."""

    case: str
    impl: str
    timing: Timing
    unit: str  # throughput unit: "MP/s" (megapixels per second) or "img/s"
    per_call: float  # units of work per call (megapixels, or images)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.per_call / self.timing.median_s

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["throughput"] = self.throughput
        return d


@dataclass
class Target:
    name: str
    value: float
    goal: float
    met: bool
    detail: str = ""


def fmt_row(row: Row, baseline: Row | None) -> str:
    t = row.timing
    ratio = f"{baseline.timing.median_s / t.median_s:7.2f}x" if baseline is not None else " " * 8
    return (
        f"  {row.impl:<44} {t.median_s * 1e3:9.3f} {row.throughput:10.1f} {row.unit:<5} "
        f"[{t.min_s * 1e3:8.3f} .. {t.max_s * 1e3:8.3f}] {ratio}"
    )


def print_case(title: str, rows: Sequence[Row], baseline: Row | None) -> None:
    print(f"\n{title}")
    if baseline is not None:
        print(f"  speedup = median time of [{baseline.impl}] / median time")
    print(
        f"  {'implementation':<44} {'median ms':>9} {'throughput':>16} "
        f"{'[min .. max] ms':>22} {'speedup':>8}"
    )
    for row in rows:
        print(fmt_row(row, baseline))


def max_abs_diff(a: Any, b: Any) -> float:
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.nanmax(np.abs(a - b)))


def check_agreement(name: str, got: Any, want: Any, tol: float, problems: list[str]) -> float:
    """Records a problem when `got` and `want` differ by more than `tol` (absolute)."""
    import numpy as np

    got_a, want_a = np.asarray(got), np.asarray(want)
    diff = max_abs_diff(got_a, want_a)
    if got_a.shape != want_a.shape:
        problems.append(f"{name}: shape {got_a.shape} != expected {want_a.shape}")
    elif got_a.dtype != np.float32:
        problems.append(f"{name}: dtype {got_a.dtype} != float32")
    elif not diff <= tol:
        problems.append(f"{name}: max |difference| {diff:.3g} > tolerance {tol:g}")
    return diff


def check_faces(
    op: str, outputs: dict[str, Any], want: Any, tol: float, problems: list[str]
) -> None:
    """check_agreement of every face's output ({face: output}), named "<op> <face>"."""
    for face, got in outputs.items():
        check_agreement(f"{op} {face}", got, want, tol, problems)


def note_speedups(rows: Sequence[Row], baseline: Row, key: str) -> None:
    """Stores median time of `baseline` / median time of the row in every row's notes[key]."""
    for r in rows:
        r.notes[key] = baseline.timing.median_s / r.timing.median_s


# --------------------------------------------------------------------------------------------
# a. normalize
# --------------------------------------------------------------------------------------------


def bench_normalize(
    tf: Any, repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target], dict[str, Any]]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    h, w, c = 512, 512, 3
    mp = h * w / 1e6
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
    x_tf = tf.constant(x)
    mean32, std32 = np.asarray(MEAN, np.float32), np.asarray(STD, np.float32)
    mean_tf, std_tf = tf.constant(mean32), tf.constant(std32)

    def numpy_expr() -> Any:
        return (x.astype(np.float32) - mean32) / std32

    tf_op_fn = tf.function(lambda t: gilfree.normalize(t, MEAN, STD))
    tf_composite = tf.function(lambda t: (tf.cast(t, tf.float32) - mean_tf) / std_tf)

    # Correctness first (a fast wrong answer is not a result).
    outputs = {
        "gilfree.numpy": gnp.normalize(x, MEAN, STD),
        "gilfree (TF, eager)": gilfree.normalize(x_tf, MEAN, STD).numpy(),
        "gilfree (TF, tf.function)": tf_op_fn(x_tf).numpy(),
    }
    check_faces("normalize", outputs, numpy_expr(), 1e-4, problems)

    # Memory-copy bandwidth with the output's bytes, preallocated float32 buffers.
    src = rng.standard_normal(size=(h, w, c)).astype(np.float32)
    dst = np.empty_like(src)
    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.normalize": lambda: gnp.normalize(x, MEAN, STD),
        "gilfree.normalize (TF op, eager)": lambda: gilfree.normalize(x_tf, MEAN, STD),
        "gilfree.normalize (TF op, in tf.function)": lambda: tf_op_fn(x_tf),
        "NumPy (x.astype(f32) - mean) / std": numpy_expr,
        "TF composite (cast - mean) / std, tf.function": lambda: tf_composite(x_tf),
        "np.copyto float32 (same output bytes)": lambda: np.copyto(dst, src),
    }
    rows = timed_rows("normalize", fns, mp, repeats, min_s)
    out_bytes = src.nbytes
    in_bytes = x.nbytes
    bandwidth, bound_s = bandwidth_bound(rows, in_bytes, out_bytes, src.nbytes)

    numpy_row = rows[3]
    print_case(
        f"a. normalize uint8 -> float32 {h}x{w}x{c} (copy bandwidth "
        f"{bandwidth / 1e9:.1f} GB/s, bound {bound_s * 1e3:.3f} ms)",
        rows,
        numpy_row,
    )
    targets = []
    for r in rows[:3]:
        targets.append(bound_target("normalize", r, bound_s))
        ratio = numpy_row.timing.median_s / r.timing.median_s
        r.notes["speedup_vs_numpy_expression"] = ratio
        note = tf_function_note(r.impl)
        targets.append(
            Target(
                f"normalize: {r.impl} speedup vs NumPy expression", ratio, 8.0, ratio >= 8.0, note
            )
        )
    extra = {
        "copy_bandwidth_GBps": bandwidth / 1e9,
        "bound_ms": bound_s * 1e3,
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
    }
    return rows, targets, extra


# --------------------------------------------------------------------------------------------
# b. percentile_stretch
# --------------------------------------------------------------------------------------------


def bench_percentile_stretch(
    tf: Any, repeats: int, min_s: float, problems: list[str]
) -> tuple[list[Row], list[Target]]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    h, w, c = 512, 512, 13
    mp = h * w / 1e6
    x = structured_uint16((h, w, c), SEED + 1)
    x_tf = tf.constant(x)
    out = np.empty(x.shape, np.float32)

    def numpy_baseline() -> Any:
        for b in range(c):
            band = x[..., b]
            lo, hi = np.percentile(band, [2, 98])
            out[..., b] = np.clip((band - lo) / (hi - lo), 0, 1).astype(np.float32)
        return out

    tf_fn = tf.function(lambda t: gilfree.percentile_stretch(t, 2.0, 98.0))

    want = numpy_baseline().copy()
    outputs = {
        "gilfree.numpy": gnp.percentile_stretch(x, 2.0, 98.0),
        "gilfree (TF, eager)": gilfree.percentile_stretch(x_tf, 2.0, 98.0).numpy(),
    }
    check_faces("percentile_stretch", outputs, want, 1e-5, problems)

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.percentile_stretch": lambda: gnp.percentile_stretch(x, 2.0, 98.0),
        "gilfree.percentile_stretch (TF op, eager)": lambda: gilfree.percentile_stretch(
            x_tf, 2.0, 98.0
        ),
        "gilfree.percentile_stretch (TF, tf.function)": lambda: tf_fn(x_tf),
        "NumPy per band: np.percentile + clip": numpy_baseline,
    }
    rows = timed_rows("percentile_stretch", fns, mp, repeats, min_s)
    baseline = rows[-1]
    print_case(f"b. percentile_stretch uint16 {h}x{w}x{c}, low=2 high=98", rows, baseline)
    targets = []
    for r in rows[:2]:
        ratio = baseline.timing.median_s / r.timing.median_s
        r.notes["speedup_vs_numpy_baseline"] = ratio
        targets.append(
            Target(f"percentile_stretch: {r.impl} speedup vs NumPy", ratio, 10.0, ratio >= 10.0)
        )
    return rows, targets


# --------------------------------------------------------------------------------------------
# c. standardize and minmax_scale
# --------------------------------------------------------------------------------------------


def bench_standardize(tf: Any, repeats: int, min_s: float, problems: list[str]) -> list[Row]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    h, w, c = 512, 512, 3
    mp = h * w / 1e6
    rng = np.random.default_rng(SEED + 2)
    x = (rng.standard_normal((h, w, c)) * 40.0 + 100.0).astype(np.float32)
    x_tf = tf.constant(x)
    min_std = np.float32(1.0 / math.sqrt(x.size))

    def numpy_expr() -> Any:
        return (x - x.mean()) / max(x.std(), min_std)

    tf_image = tf.function(tf.image.per_image_standardization)
    tf_fn = tf.function(lambda t: gilfree.standardize(t))

    want = tf.image.per_image_standardization(x_tf).numpy()
    outputs = {
        "gilfree.numpy": gnp.standardize(x),
        "gilfree (TF, eager)": gilfree.standardize(x_tf).numpy(),
    }
    check_faces("standardize", outputs, want, 1e-4, problems)

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.standardize": lambda: gnp.standardize(x),
        "gilfree.standardize (TF op, eager)": lambda: gilfree.standardize(x_tf),
        "gilfree.standardize (TF, tf.function)": lambda: tf_fn(x_tf),
        "tf.image.per_image_standardization (tf.fn)": lambda: tf_image(x_tf),
        "NumPy (x - x.mean()) / max(x.std(), 1/sqrt n)": numpy_expr,
    }
    rows = timed_rows("standardize", fns, mp, repeats, min_s)
    print_case(f"c1. standardize float32 {h}x{w}x{c} (per image)", rows, rows[-1])
    note_speedups(rows[:3], rows[-1], "speedup_vs_numpy_expression")
    note_speedups(rows[:3], rows[3], "speedup_vs_tf_image")
    return rows


def bench_minmax(tf: Any, repeats: int, min_s: float, problems: list[str]) -> list[Row]:
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    h, w, c = 512, 512, 13
    mp = h * w / 1e6
    x = structured_uint16((h, w, c), SEED + 3)
    x_tf = tf.constant(x)

    def numpy_expr() -> Any:
        lo = x.min(axis=(0, 1)).astype(np.float32)
        hi = x.max(axis=(0, 1)).astype(np.float32)
        return (x.astype(np.float32) - lo) / (hi - lo)

    tf_fn = tf.function(lambda t: gilfree.minmax_scale(t))

    outputs = {
        "gilfree.numpy": gnp.minmax_scale(x),
        "gilfree (TF, eager)": gilfree.minmax_scale(x_tf).numpy(),
    }
    check_faces("minmax_scale", outputs, numpy_expr(), 1e-5, problems)

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.minmax_scale": lambda: gnp.minmax_scale(x),
        "gilfree.minmax_scale (TF op, eager)": lambda: gilfree.minmax_scale(x_tf),
        "gilfree.minmax_scale (TF, tf.function)": lambda: tf_fn(x_tf),
        "NumPy per-channel min/max expression": numpy_expr,
    }
    rows = timed_rows("minmax_scale", fns, mp, repeats, min_s)
    print_case(f"c2. minmax_scale uint16 {h}x{w}x{c} (per channel)", rows, rows[-1])
    note_speedups(rows[:3], rows[-1], "speedup_vs_numpy_expression")
    return rows


# --------------------------------------------------------------------------------------------
# tf.data workers (shared with bench_decoding.py): a subprocess pinned to some cores times
# pipelines and prints its results as one JSON line after a marker
# --------------------------------------------------------------------------------------------

Pipeline = tuple[Any, Callable[[Any], int], int]  # dataset, consumer, elements per pass


def consume_in_graph(ds: Any) -> int:
    # One op (ReduceDataset) pulls every element through the pipeline, as model.fit's
    # tf.function does; no per-element Python.
    import numpy as np

    return int(ds.reduce(np.int64(0), lambda count, _: count + 1))


def consume_in_python(ds: Any) -> int:
    count = 0
    for _ in ds:  # one EagerTensor per element handed to Python
        count += 1
    return count


def prepare_pipeline(
    make: Callable[[int], Any],
    consume: Callable[[Any], int],
    min_repeat_s: float,
    per_epoch: int,
    min_elements: int,
) -> Pipeline:
    """Builds make(epochs) with >= min_elements elements and enough epochs for a pass of
    >= 2 * min_repeat_s (a pass has a fixed cost of ~15 ms: iterator and function
    instantiation); the warm-up pass reads the inputs, traces the map function and starts the
    thread pools."""
    min_pass_s = 2 * min_repeat_s
    epochs = max(1, math.ceil(min_elements / per_epoch))
    ds = make(epochs)
    t0 = time.perf_counter()
    count = consume(ds)
    warm = time.perf_counter() - t0
    assert count == epochs * per_epoch, (count, epochs * per_epoch)
    if warm < min_pass_s:
        epochs = math.ceil(epochs * min_pass_s / warm * 1.2)
        ds = make(epochs)
        consume(ds)
    return ds, consume, epochs * per_epoch


def report_pipelines(
    pipelines: dict[str, Pipeline], repeats: int, marker: str, header: dict[str, Any]
) -> int:
    """The worker's timing: rounds in which every pipeline does one full pass (a fresh
    iterator); prints `header` and a result per pipeline as one JSON line after `marker`."""
    samples: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(repeats):
        for name, (ds, consume, n) in pipelines.items():
            t0 = time.perf_counter()
            count = consume(ds)
            samples[name].append(time.perf_counter() - t0)
            assert count == n, (name, count, n)

    results: dict[str, Any] = dict(header)
    for name, (_, _, n) in pipelines.items():
        t = Timing.from_samples(samples[name], n)
        results[name] = {"images_per_s": n / t.median_s, "elements": n, "timing": asdict(t)}
    print(marker + json.dumps(results), flush=True)
    return 0


def run_worker(
    script: str, marker: str, cpus: Sequence[int], args: argparse.Namespace, *extra: str
) -> dict[str, Any]:
    """Runs `script --tfdata-worker` pinned to `cpus` and returns the JSON after `marker`."""
    cmd = [
        sys.executable,
        str(Path(script).resolve()),
        "--tfdata-worker",
        "--cpus",
        ",".join(str(c) for c in cpus),
        "--repeats",
        str(args.repeats),
        *(["--quick"] if args.quick else []),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker) :])
    raise RuntimeError(
        f"tf.data worker on cpus {list(cpus)} failed (rc {proc.returncode}):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


def worker_runs(
    allowed: Sequence[int], launch: Callable[[Sequence[int]], dict[str, Any]]
) -> dict[str, Any]:
    """{"1 core": launch(first cpu), "2 cores": launch(first two cpus) where allowed}."""
    runs: dict[str, Any] = {"1 core": launch(allowed[:1])}
    if len(allowed) >= 2:
        runs["2 cores"] = launch(allowed[:2])
    return runs


def print_worker_table(runs: dict[str, Any], width: int) -> None:
    """A row per pipeline (the keys of the 1-core run), a column per run: images/s as
    median [min .. max]; "-" where a run did not time that pipeline."""
    print(f"  {'pipeline':<{width}}" + "".join(f"{label:>30}" for label in runs))
    keys = [k for k in runs["1 core"] if isinstance(runs["1 core"][k], dict)]
    for key in keys:
        cells = []
        for res in runs.values():
            if key not in res:
                cells.append("-")
                continue
            r = res[key]
            t, n = r["timing"], r["elements"]
            cells.append(
                f"{r['images_per_s']:9.1f} [{n / t['max_s']:7.1f} .. {n / t['min_s']:7.1f}]"
            )
        print(f"  {key:<{width}}" + "".join(f"{c:>30}" for c in cells))


def worker_rate(runs: dict[str, Any], run: str, key: str) -> float:
    return float(runs[run][key]["images_per_s"])


# --------------------------------------------------------------------------------------------
# d. tf.data (runs in subprocesses pinned to 1 and 2 cores)
# --------------------------------------------------------------------------------------------

TFDATA_IMAGES = 64  # distinct 512x512x3 uint8 images held in memory
STRETCH_TILES = 8  # 256x256x13 uint16 tiles for the heavier pipeline


def tfdata_worker(args: argparse.Namespace) -> int:
    """Subprocess entry point: pin, import TF with len(cpus) threads, time the pipelines and
    print one JSON line (prefixed with WORKER_MARKER) on stdout."""
    cpus = [int(c) for c in args.cpus.split(",")]
    pin_to_cpus(cpus)
    intra_op = args.intra_op or len(cpus)
    tf = import_tensorflow(threads=len(cpus), intra_op=intra_op)
    import numpy as np

    import gilfree
    import gilfree.fallback

    rng = np.random.default_rng(SEED + 4)
    images = tf.constant(rng.integers(0, 256, size=(TFDATA_IMAGES, 512, 512, 3), dtype=np.uint8))
    # The source: slices of an in-memory tensor, cached after the first pass so that producing
    # an element later hands out a reference to an existing tensor, not a 786 KB copy.
    source = tf.data.Dataset.from_tensor_slices(images).cache()
    for _ in source:  # fill the cache once, outside of any timing
        pass

    def normalize_gilfree(t: Any) -> Any:
        return gilfree.normalize(t, MEAN, STD)

    def normalize_fallback(t: Any) -> Any:
        return gilfree.fallback.normalize(t, MEAN, STD)

    def prepare(
        make: Callable[[int], Any],
        consume: Callable[[Any], int],
        per_epoch: int = TFDATA_IMAGES,
        min_elements: int = args.elements,
    ) -> Pipeline:
        return prepare_pipeline(make, consume, args.min_repeat_s, per_epoch, min_elements)

    pipelines: dict[str, Pipeline] = {
        "input only (no map)": prepare(source.repeat, consume_in_graph)
    }
    # A heavier element (percentile_stretch of a 13-band 256x256 uint16 tile, several times the
    # work of one normalize) tells per-element hand-off costs apart from the op's own scaling.
    tiles = tf.constant(
        structured_uint16((256, 256, 13), SEED + 5)[None].repeat(STRETCH_TILES, axis=0)
    )
    tile_source = tf.data.Dataset.from_tensor_slices(tiles).cache()
    for _ in tile_source:
        pass
    stretch_fns = {
        "gilfree": lambda t: gilfree.percentile_stretch(t, 2.0, 98.0),
        "fallback": lambda t: gilfree.fallback.percentile_stretch(t, 2.0, 98.0),
    }
    fns = [("gilfree", normalize_gilfree), ("fallback", normalize_fallback)]
    for fn_name, fn in fns[:1] if args.only_gilfree else fns:
        for p_name, p in (("1", 1), ("2", 2), ("AUTOTUNE", tf.data.AUTOTUNE)):

            def make(epochs: int, fn: Any = fn, p: int = p) -> Any:
                return source.repeat(epochs).map(fn, num_parallel_calls=p)

            pipelines[f"{fn_name} p={p_name}"] = prepare(make, consume_in_graph)
            if p_name == "AUTOTUNE":
                pipelines[f"{fn_name} p={p_name}, Python loop"] = prepare(make, consume_in_python)

        def make_stretch(epochs: int, fn: Any = stretch_fns[fn_name]) -> Any:
            return tile_source.repeat(epochs).map(fn, num_parallel_calls=tf.data.AUTOTUNE)

        pipelines[f"{fn_name} stretch 256x256x13 p=AUTOTUNE"] = prepare(
            make_stretch, consume_in_graph, STRETCH_TILES, args.elements // 8
        )

    header = {"cpus": cpus, "intra_op": intra_op, "inter_op": len(cpus)}
    return report_pipelines(pipelines, args.repeats, WORKER_MARKER, header)


def bench_tfdata(
    allowed: Sequence[int], args: argparse.Namespace
) -> tuple[dict[str, Any], list[Target]]:
    """Runs the tf.data workers: 1 core, 2 cores, and (diagnostic, gilfree only) 2 cores with
    one intra-op thread, which shows what the op's own intra-op parallelism costs or gains."""

    def launch(cpus: Sequence[int], *extra: str) -> dict[str, Any]:
        elements = ("--elements", str(args.elements))
        return run_worker(__file__, WORKER_MARKER, cpus, args, *elements, *extra)

    runs = worker_runs(allowed, launch)
    if len(allowed) >= 2:
        runs["2 cores, intra-op 1"] = launch(allowed[:2], "--intra-op", "1", "--only-gilfree")

    print(
        f"\nd. tf.data: 512x512x3 uint8 -> normalize -> float32, from {TFDATA_IMAGES} cached "
        f"images; consumed in-graph (Dataset.reduce) unless marked 'Python loop'\n"
        f"  images/s: median [min .. max]; TF intra-op = inter-op threads = cores unless noted"
    )
    print_worker_table(runs, 34)
    rate = functools.partial(worker_rate, runs)

    targets = []
    for run in ("1 core", "2 cores"):
        if run not in runs:
            continue
        ratios = ", ".join(
            f"p={p}: {rate(run, f'gilfree p={p}') / rate(run, f'fallback p={p}'):.2f}x"
            for p in ("1", "2", "AUTOTUNE")
        )
        stretch = rate(run, "gilfree stretch 256x256x13 p=AUTOTUNE") / rate(
            run, "fallback stretch 256x256x13 p=AUTOTUNE"
        )
        print(f"  gilfree / fallback, {run}: {ratios}; stretch p=AUTOTUNE: {stretch:.2f}x")

    def scaling_target(key: str, note: str) -> None:
        """Prints the 2-core / 1-core speedup of `key` (and with intra-op 1); goal 1.8."""
        speedup = rate("2 cores", key) / rate("1 core", key)
        alt = rate("2 cores, intra-op 1", key) / rate("1 core", key)
        print(
            f"  {key}: 2 cores / 1 core = {speedup:.2f}x (with intra-op 1 on 2 cores: {alt:.2f}x)"
        )
        targets.append(
            Target(f"tf.data {key}: 2-core / 1-core speedup", speedup, 1.8, speedup >= 1.8, note)
        )

    if "2 cores" in runs:
        for key in ("gilfree p=AUTOTUNE", "gilfree p=2", "gilfree p=AUTOTUNE, Python loop"):
            scaling_target(
                key, "" if key == "gilfree p=AUTOTUNE" else "secondary; the target is p=AUTOTUNE"
            )
        for key in ("fallback p=AUTOTUNE", "fallback stretch 256x256x13 p=AUTOTUNE"):
            fb = rate("2 cores", key) / rate("1 core", key)
            print(f"  {key}: 2 cores / 1 core = {fb:.2f}x (for contrast)")
        scaling_target(
            "gilfree stretch 256x256x13 p=AUTOTUNE", "secondary: a heavier element, same goal"
        )
    else:
        print("  (only one CPU allowed: the 2-core scaling was not measured)")
    most = "2 cores" if "2 cores" in runs else "1 core"
    ratio = rate(most, "gilfree p=AUTOTUNE") / rate(most, "fallback p=AUTOTUNE")
    targets.append(
        Target(
            f"tf.data {most} p=AUTOTUNE: gilfree / fallback",
            ratio,
            1.0,
            ratio >= 1.0,
            "no numeric target",
        )
    )
    return runs, targets


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def results_path(benchmark: str) -> Path:
    """benchmarks/results/<benchmark>-<host>.json, the default --json of every benchmark."""
    name = socket.gethostname() or platform.machine() or "machine"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return RESULTS_DIR / f"{benchmark}-{name}.json"


# Shared by the scripts (bench_decoding.py, bench_geometry.py, bench_threads.py use these).


def bench_parser(doc: str, benchmark: str, default_repeats: int, quick_help: str) -> Any:
    """An ArgumentParser with --repeats, --json and --quick (see parse_bench_args)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"timed repeats per measurement (default {default_repeats}; 3 with --quick)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the JSON results (default benchmarks/results/"
        f"{benchmark}-<hostname>.json)",
    )
    p.add_argument("--quick", action="store_true", help=quick_help)
    return p


def add_tfdata_args(p: argparse.ArgumentParser, part: str) -> None:
    """--skip-tfdata, and the internal arguments of every tf.data worker subprocess."""
    p.add_argument("--skip-tfdata", action="store_true", help=f"skip part {part} (tf.data)")
    p.add_argument("--tfdata-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cpus", default="", help=argparse.SUPPRESS)


def parse_bench_args(
    p: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    default_repeats: int,
    **sizes: tuple[int, int],
) -> argparse.Namespace:
    """Parses; --repeats defaults to 3 with --quick, else `default_repeats`; min_repeat_s is
    0.05 s with --quick, else 0.2 s; an argument name=(quick, full) of `sizes` left unset
    defaults to `quick` with --quick, else `full`."""
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else default_repeats
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    for name, (quick, full) in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.min_repeat_s = 0.05 if args.quick else 0.2
    return args


def print_machine(machine: dict[str, Any], method: str = "", repeats: int | None = None) -> None:
    """The machine description, then the method line (if any) and, under 7 repeats, a note."""
    print("Machine")
    for key, value in machine.items():
        print(f"  {key:<20} {value}")
    if method:
        print(method)
    if repeats is not None and repeats < 7:
        print(f"NOTE: {repeats} repeats (< 7): a smoke run, not a measurement to quote.")


def pin_one_core(allowed: Sequence[int]) -> Any:
    """Pins this process to the first allowed CPU, then imports TensorFlow with one intra-op
    and one inter-op thread (before TensorFlow starts its thread pools)."""
    pin_to_cpus([allowed[0]])
    return import_tensorflow(threads=1)


def print_one_core_header(
    machine: dict[str, Any],
    args: argparse.Namespace,
    cpu: int,
    throughput: str,
    threads: str = "",
    tail: str = "",
) -> None:
    """print_machine with the method line of a run pinned to one core."""
    print_machine(
        machine,
        f"Method: pinned to cpu {cpu}, TF intra/inter-op threads 1{threads}; median of "
        f"{args.repeats} repeats (each >= {args.min_repeat_s} s) after warm-up; "
        f"throughput = {throughput}; spread = [min .. max] ms per call{tail}.",
        args.repeats,
    )


def tfdata_part(
    bench: Callable[[Sequence[int], argparse.Namespace], tuple[dict[str, Any], list[Any]]],
    allowed: Sequence[int],
    args: argparse.Namespace,
    targets: list[Any],
) -> dict[str, Any] | None:
    """The tf.data part unless --skip-tfdata: its runs (None if skipped); its targets are
    appended to `targets`."""
    if args.skip_tfdata:
        return None
    runs, new_targets = bench(allowed, args)
    targets += new_targets
    return runs


def print_load(monitor: LoadMonitor, warning: str) -> dict[str, Any]:
    """Prints the machine load of the run (and `warning` if it was not quiet); returns it."""
    load = monitor.report()
    print(
        f"\nMachine load during the run: other processes used {load['other_processes_cores']:.2f} "
        f"cores on average, hypervisor steal {load['steal_cores']:.2f} cores "
        f"(wall {load['wall_s']:.0f} s)"
    )
    if load["other_processes_cores"] > 0.1 or load["steal_cores"] > 0.1:
        print(f"WARNING: the machine was not quiet; {warning}")
    return load


def print_problems(problems: list[str], title: str) -> None:
    if problems:
        print(f"\n{title}")
        for msg in problems:
            print(f"  - {msg}")


def write_results(
    args: argparse.Namespace,
    benchmark: str,
    machine: dict[str, Any],
    load: dict[str, Any],
    config: dict[str, Any],
    sections: dict[str, Any],
) -> None:
    """Writes the JSON file (--json, default results_path(benchmark)): the benchmark, the
    time, machine, load, config (repeats, min_repeat_s, quick, then `config`), `sections`."""
    path = args.json or results_path(benchmark)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": f"bench_{benchmark}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "load": load,
        "config": {
            "repeats": args.repeats,
            "min_repeat_s": args.min_repeat_s,
            "quick": args.quick,
            **config,
        },
        **sections,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nWrote {path}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = bench_parser(
        __doc__,
        "normalize",
        7,
        "fast smoke run: few repeats, short repeats, fewer tf.data elements",
    )
    add_tfdata_args(p, "d")
    p.add_argument("--elements", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--intra-op", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--only-gilfree", action="store_true", help=argparse.SUPPRESS)
    return parse_bench_args(p, argv, 7, elements=(64, 256))


def report_run(
    monitor: LoadMonitor, targets: list[Any], problems: list[str], info_unit: str = ""
) -> dict[str, Any]:
    """Prints the machine load of the run, the targets met and missed, and any outputs that
    disagreed with their baseline; returns the load record for the JSON."""
    load = print_load(monitor, "these numbers are pessimistic and noisy.")

    print("\nTargets")
    for tg in targets:
        status = "MET    " if tg.met else "NOT MET"
        note = f"  ({tg.detail})" if tg.detail else ""
        if tg.detail == "no numeric target":
            print(f"  [info   ] {tg.name}: {tg.value:.2f}{info_unit}")
        else:
            print(f"  [{status}] {tg.name}: {tg.value:.2f} (goal >= {tg.goal:g}){note}")
    print_problems(problems, "Problems (outputs that disagree with the baseline)")
    return load


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tfdata_worker:
        return tfdata_worker(args)

    # ONE core for parts a-c: pin before TensorFlow starts its thread pools.
    allowed = sorted(os.sched_getaffinity(0))
    wakeup = {"same_cpu_us": wakeup_roundtrip_us(allowed[0], allowed[0])}
    if len(allowed) >= 2:
        wakeup["cross_cpu_us"] = wakeup_roundtrip_us(allowed[0], allowed[1])
    tf = pin_one_core(allowed)

    machine = machine_info(allowed)
    machine["thread_wakeup_roundtrip"] = {k: round(v, 1) for k, v in wakeup.items()}
    print_one_core_header(machine, args, allowed[0], "median")

    monitor = LoadMonitor()
    problems: list[str] = []
    timing = (args.repeats, args.min_repeat_s, problems)
    norm_rows, norm_targets, normalize_extra = bench_normalize(tf, *timing)
    stretch_rows, stretch_targets = bench_percentile_stretch(tf, *timing)
    rows = norm_rows + stretch_rows + bench_standardize(tf, *timing) + bench_minmax(tf, *timing)
    targets = norm_targets + stretch_targets
    tfdata = tfdata_part(bench_tfdata, allowed, args, targets)

    load = report_run(monitor, targets, problems)

    config = {"pinned_cpu": allowed[0], "tf_threads": 1, "seed": SEED}
    write_results(
        args,
        "normalize",
        machine,
        load,
        {**config, "tfdata_elements": args.elements},
        {
            "normalize_bandwidth": normalize_extra,
            "results": [row.to_json() for row in rows],
            "tfdata": tfdata,
            "targets": [asdict(tg) for tg in targets],
            "problems": problems,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
