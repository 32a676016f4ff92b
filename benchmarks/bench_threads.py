#!/usr/bin/env python
"""Thread scaling of gilfree.numpy (GIL released) against gilfree.reference (GIL-bound).

Usage::

    python benchmarks/bench_threads.py [--repeats N] [--json PATH] [--quick] [--size S]

A ``concurrent.futures.ThreadPoolExecutor`` with 1, 2, ... n threads (n = the CPUs this
process may use, ``os.sched_getaffinity``) maps ``percentile_stretch`` and ``normalize`` over
13-band uint16 tiles (satellite-like, ``bench_normalize.structured_uint16``). One timed call
pushes ``4 * n`` tiles through the pool and waits for all of them, so every thread count
does the same work per call. Throughput is images per second from the median call time
(timing as in ``bench_normalize.py``: warm-up, calibration to >= 0.2 s per repeat, the
thread counts of one case interleaved round by round, median of the repeats). A plain loop
over the same tiles on the main thread ("loop") is timed with them.

Scaling efficiency = images/s with k threads / (k * images/s with 1 thread): 1.0 is
perfect; a GIL-bound function stays near 1/k. "vs loop" compares with the plain loop (what
a thread pool gains over no pool, its own overhead included). The same measurement with
``gilfree.reference`` (plain NumPy with Python loops per band) shows the contrast.

Writes JSON (default ``benchmarks/results/threads-<hostname>.json``) with the machine
description and the load of the machine during the run. About 40 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The benchmarks dir is not a package: results_path and SEED come from bench_normalize.py
# next to this file (the path above); the shared helpers from the package.
import bench_normalize as _bn
from bench_normalize import SEED

from gilfree.bench.data import structured_uint16
from gilfree.bench.machine import LoadMonitor, machine_info
from gilfree.bench.timing import Timing, time_group

BANDS = 13
# Per-band mean/std of the uint16 tiles (normalize: float32 output).
MEAN = tuple(2000.0 + 400.0 * b for b in range(BANDS))
STD = tuple(1100.0 for _ in range(BANDS))


def make_ops(gn: Any, ref: Any) -> dict[str, dict[str, Callable[[Any], Any]]]:
    """op -> implementation -> f(tile)."""
    return {
        "percentile_stretch": {
            "gilfree.numpy": lambda t: gn.percentile_stretch(t, 2.0, 98.0, nodata=0),
            "gilfree.reference": lambda t: ref.percentile_stretch(t, 2.0, 98.0, nodata=0),
        },
        "normalize": {
            "gilfree.numpy": lambda t: gn.normalize(t, MEAN, STD),
            "gilfree.reference": lambda t: ref.normalize(t, MEAN, STD),
        },
    }


def check(ops: dict[str, dict[str, Callable[[Any], Any]]], tiles: Sequence[Any]) -> list[str]:
    """gilfree.numpy agrees with gilfree.reference, and threaded calls equal sequential ones
    bit for bit (a fast wrong answer is not a result)."""
    import numpy as np

    problems = []
    for op, impls in ops.items():
        fast, slow = impls["gilfree.numpy"], impls["gilfree.reference"]
        for i, tile in enumerate(tiles[:2]):
            got, want = fast(tile), slow(tile)
            if not np.allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max())):
                problems.append(f"{op}: gilfree.numpy differs from gilfree.reference (tile {i})")
        with ThreadPoolExecutor(4) as pool:
            threaded = list(pool.map(fast, tiles))
        if any(a.tobytes() != fast(t).tobytes() for a, t in zip(threaded, tiles, strict=True)):
            problems.append(f"{op}: threaded results differ from sequential ones")
    return problems


def bench_case(
    fn: Callable[[Any], Any],
    tiles: Sequence[Any],
    thread_counts: Sequence[int],
    per_call: int,
    repeats: int,
    min_repeat_s: float,
) -> dict[str, Timing]:
    """Times `per_call` tiles through a pool of k threads for every k in thread_counts (keys
    "1", "2", ...), and the same tiles in a plain loop on the main thread (key "loop").

    Each task drops its output in the worker thread: keeping a call's outputs alive until it
    ends made glibc return their pages to the kernel and fault them in again on every call
    (one fault per 4 KiB of output), which measured the allocator, not the op."""
    work = [tiles[i % len(tiles)] for i in range(per_call)]

    def task(tile: Any) -> None:
        fn(tile)

    pools = {k: ThreadPoolExecutor(k) for k in thread_counts}
    try:
        for pool in pools.values():  # start the threads before timing
            list(pool.map(task, work))

        def call(pool: ThreadPoolExecutor) -> Callable[[], object]:
            return lambda: list(pool.map(task, work))

        fns: dict[str, Callable[[], object]] = {"loop": lambda: [task(t) for t in work]}
        fns.update({str(k): call(pool) for k, pool in pools.items()})
        return time_group(fns, repeats=repeats, min_repeat_s=min_repeat_s)
    finally:
        for pool in pools.values():
            pool.shutdown()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5; 3 quick)")
    p.add_argument("--size", type=int, default=256, help="tile height and width (default 256)")
    p.add_argument("--max-threads", type=int, default=None, help="default: the allowed CPUs")
    p.add_argument("--json", type=Path, default=None, help="default results/threads-<host>.json")
    p.add_argument("--quick", action="store_true", help="smoke run: short, few repeats")
    return _bn.parse_bench_args(p, argv, 5)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    allowed = sorted(os.sched_getaffinity(0))
    max_threads = args.max_threads or len(allowed)
    thread_counts = list(range(1, max_threads + 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # NumPy's own threads would blur the scaling
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import gilfree.numpy as gn
    import gilfree.reference as ref

    machine = machine_info(allowed)
    _bn.print_machine(machine)

    tiles = [structured_uint16((args.size, args.size, BANDS), SEED + i) for i in range(8)]
    per_call = 4 * max_threads
    ops = make_ops(gn, ref)
    problems = check(ops, tiles)
    print(
        f"\nMethod: {per_call} tiles {args.size}x{args.size}x{BANDS} uint16 per call through a "
        f"ThreadPoolExecutor of k threads, k = {thread_counts}; median of {args.repeats} "
        f"repeats (each >= {args.min_repeat_s} s) after warm-up; thread counts interleaved."
    )

    monitor = LoadMonitor()
    results: list[dict[str, Any]] = []
    header = (
        f"  {'threads':>7} {'images/s':>10} {'[min .. max]':>21} {'speedup':>8} "
        f"{'efficiency':>10} {'vs loop':>8}"
    )
    for op, impls in ops.items():
        for impl, fn in impls.items():
            timings = bench_case(
                fn, tiles, thread_counts, per_call, args.repeats, args.min_repeat_s
            )
            one = per_call / timings["1"].median_s
            loop = per_call / timings["loop"].median_s
            print(f"\n{op} with {impl}")
            print(header)
            for key, t in timings.items():
                k = 0 if key == "loop" else int(key)
                rate = per_call / t.median_s
                speedup = rate / one
                efficiency = speedup / k if k else None
                spread = f"[{per_call / t.max_s:8.1f} .. {per_call / t.min_s:8.1f}]"
                scaling = f" {speedup:7.2f}x {efficiency:10.2f}" if k else " " * 19
                print(f"  {key:>7} {rate:10.1f} {spread}{scaling} {rate / loop:7.2f}x")
                results.append(
                    {
                        "op": op,
                        "impl": impl,
                        "threads": k if k else "loop (main thread, no pool)",
                        "images_per_call": per_call,
                        "images_per_s": rate,
                        "speedup_vs_1_thread": speedup,
                        "scaling_efficiency": efficiency,
                        "speedup_vs_loop": rate / loop,
                        "timing": asdict(t),
                    }
                )

    load = _bn.print_load(monitor, "the scaling numbers are pessimistic.")

    print(f"\nScaling efficiency at {max_threads} threads (1.0 = perfect):")
    summary = {}
    for op in ops:
        for impl in ops[op]:
            row = next(
                r
                for r in results
                if r["op"] == op and r["impl"] == impl and r["threads"] == max_threads
            )
            summary[f"{op} {impl}"] = row["scaling_efficiency"]
            print(f"  {op:<20} {impl:<18} {row['scaling_efficiency']:.2f}")
    _bn.print_problems(problems, "Problems")

    config = {
        "tile_shape": [args.size, args.size, BANDS],
        "images_per_call": per_call,
        "thread_counts": thread_counts,
        "seed": SEED,
    }
    sections = {
        "results": results,
        "scaling_efficiency_at_max_threads": summary,
        "problems": problems,
    }
    _bn.write_results(args, "threads", machine, load, config, sections)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
