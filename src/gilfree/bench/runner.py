"""Running the measurements: one fresh worker process per core count, and the timing in it.

The parent (``python -m gilfree.bench``) never imports TensorFlow. For each core count k it
starts a worker (``python -m gilfree.bench --worker CONFIG``) that pins itself to k CPUs with
``os.sched_setaffinity`` *before* TensorFlow is imported, so TensorFlow's thread pools and
tf.data's runner pool size themselves to k cores, as they would on a k-core machine. The
offline variant's ``multiprocessing.Pool`` (k processes) is forked before TensorFlow starts
any thread. The worker prints progress ticks on stdout and appends one JSON line per
measurement to a results file that the parent reads.

Timing of one case (``run_case``): every variant's pipeline is built and its output checked
against the reference; then each measurement gets a warm-up pass and calibration passes that
set the number of elements per pass; then ``repeats`` rounds, in each of which every
measurement makes one pass with a fresh iterator (interleaved, so all of them meet the same
quiet and noisy periods). A pass pulls a few items untimed (the iterator's start-up), then n
elements timed, in a ``tf.function`` loop over ``iterator.get_next()``, as ``model.fit``'s
step function pulls its batches.

The serial part (``serial``, on the 1-core worker): the case's tf.data skeletons
(``Family.skeleton``: the source without the map; the offline pool's consumption) are timed in
the rounds like variants; after the rounds, a ``projection.GilProbe`` thread, on a CPU the
worker does not use, samples how much of one more pass of each variant measured with
``AUTOTUNE`` (and of the offline pool) another thread held the GIL, calibrated on a pass of the
source skeleton, which runs no Python. ``projection.build`` turns them, with the 1-core rates,
into the many-core projection.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from gilfree.bench.timing import Timing

AUTOTUNE = "AUTOTUNE"
TICK = "@@gilfree-bench-tick "


@dataclass
class Settings:
    """How long and how often to measure (the parent's options, passed to the workers)."""

    repeats: int = 5
    pass_s: float = 0.25  # target duration of one pass
    max_pass_s: float = 2.0  # slower measurements: shorter passes, at most 3 repeats
    min_elements: int = 4  # elements per pass at least (and at least 2 x cores)
    batch: int = 8
    max_offline_bytes: int = 2 << 30  # offline outputs held at once
    probe_s: float = 0.1  # the GIL probe's pass lasts about this long (at least a pass)

    def ticks(self) -> int:
        """Progress ticks of one measurement: warm-up, calibration, the repeats."""
        return 2 + self.repeats


def plan_measurements(
    variants: Sequence[str], calls: Sequence[int | str]
) -> list[tuple[str, int | str | None]]:
    """(variant, num_parallel_calls) pairs of one case; the offline variant has no calls."""
    out: list[tuple[str, int | str | None]] = []
    for variant in variants:
        if variant == "offline_pool":
            out.append((variant, None))
        else:
            out.extend((variant, p) for p in calls)
    return out


# --------------------------------------------------------------------------------------------
# The worker
# --------------------------------------------------------------------------------------------


def _cpu_clock() -> Callable[[], float]:
    """CPU seconds of this process and its live children (the offline pool's processes)."""
    try:
        import psutil
    except ImportError:
        import resource

        def rusage() -> float:
            r = resource.getrusage(resource.RUSAGE_SELF)
            return r.ru_utime + r.ru_stime

        return rusage
    me = psutil.Process()

    def clock() -> float:
        t = me.cpu_times()
        total = t.user + t.system
        for child in me.children(recursive=True):
            try:
                c = child.cpu_times()
            except psutil.Error:
                continue
            total += c.user + c.system
        return total

    return clock


class Measurement:
    """One (variant, num_parallel_calls) of one case at one core count."""

    def __init__(
        self,
        run_pass: Callable[..., tuple[float, float]],
        per_item: int,
        cores: int,
        settings: Settings,
        cap: int | None = None,
    ) -> None:
        self.run_pass = run_pass
        self.per_item = per_item
        self.cores = cores
        self.settings = settings
        self.cap = cap
        self.elements = 0
        self.repeats = settings.repeats
        self.seconds: list[float] = []
        self.cpu: list[float] = []

    def _round(self, n: int) -> int:
        return max(self.per_item, math.ceil(n / self.per_item) * self.per_item)

    def calibrate(self, tick: Callable[[int], None]) -> None:
        """A warm-up pass (traces the functions, starts the pools, faults the buffers in), then
        calibration passes of growing size that set the elements per pass so that a pass lasts
        about `pass_s`, with at least max(min_elements, 2 x cores) elements. A measurement so
        slow that such a pass would exceed `max_pass_s` gets fewer elements (at least one per
        core) and at most 3 repeats."""
        s = self.settings
        warm = self._round(self.cores)
        n = warm
        dt, _ = self.run_pass(n)
        tick(1)
        # A warm-up pass longer than a whole pass calibrates a slow measurement by itself (its
        # one-time costs can only shorten the passes); otherwise calibrate afresh.
        if dt < s.pass_s:
            dt, _ = self.run_pass(n)
            while dt < s.pass_s / 2 and n < (1 << 24):
                n = self._round(math.ceil(n * min(8.0, 1.2 * s.pass_s / max(dt, 1e-6))))
                dt, _ = self.run_pass(n)
        tick(1)
        per_element = dt / n
        target = self._round(math.ceil(s.pass_s / per_element))
        floor = self._round(max(s.min_elements, 2 * self.cores))
        n = max(target, floor)
        if n * per_element > s.max_pass_s:
            n = max(warm, min(n, self._round(math.floor(s.max_pass_s / per_element))))
            self.repeats = min(s.repeats, 3)
        if self.cap is not None:
            n = max(warm, min(n, self._round(self.cap)))
        self.elements = n

    def sample(self) -> None:
        dt, cpu = self.run_pass(self.elements)
        self.seconds.append(dt)
        self.cpu.append(cpu)

    def seconds_per_element(self) -> float:
        import statistics

        return statistics.median(self.seconds) / self.elements

    def probe_pass(self, window: list[int]) -> int:
        """One more pass, long enough for the GIL probe (about `probe_s`, at least a timed
        pass, within `max_pass_s` and the offline cap): passes of growing size until one lasts
        at least half of `probe_s` (at most 4). Puts the monotonic_ns instants that bound the
        last pass's timed part in `window`; returns its elements."""
        s = self.settings
        n = self.elements
        if self.seconds:  # the timed passes' rate says how many elements fill probe_s
            per = self.seconds_per_element()
            n = max(n, self._round(math.ceil(min(s.probe_s, s.max_pass_s / 1.5) / per)))
        for _ in range(4):
            if self.cap is not None:
                n = max(self.per_item, min(n, self._round(self.cap)))
            del window[:]
            dt, _ = self.run_pass(n, window)
            if dt >= s.probe_s / 2 or dt * 1.5 > s.max_pass_s:
                break
            grow = min(8.0, 1.2 * s.probe_s / max(dt, 1e-6), s.max_pass_s / max(dt, 1e-6))
            bigger = self._round(math.ceil(n * grow))
            if bigger <= n or (self.cap is not None and n >= self.cap):
                break
            n = bigger
        return n

    def summary(self) -> dict[str, Any]:
        t = Timing.from_samples(self.seconds, self.elements)
        wall = sum(self.seconds)
        return {
            "elements_per_pass": self.elements,
            "passes": len(self.seconds),
            "timing": asdict(t),
            "pass_seconds": self.seconds,
            "cpu_utilization": sum(self.cpu) / (wall * self.cores) if wall > 0 else None,
        }


def compare(
    got: Any, want: Any, tolerance: float, peer: bool, range_share: float = 0.01
) -> dict[str, Any]:
    """Checks a variant's output against the reference. gilfree's own variants must agree to
    `tolerance` everywhere; other libraries (peer) on all but PEER_MISMATCH_SHARE of the
    elements, to max(`tolerance`, `range_share` x the output's range) (they round and treat
    borders their own way)."""
    import numpy as np

    from gilfree.bench.families import PEER_MISMATCH_SHARE

    got_a, want_a = np.asarray(got), np.asarray(want)
    if got_a.shape != want_a.shape:
        return {"ok": False, "reason": f"shape {got_a.shape} != expected {want_a.shape}"}
    g, w = got_a.astype(np.float64), want_a.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    diff = np.where(both_nan, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)
    max_diff = float(diff.max()) if diff.size else 0.0
    tol = tolerance
    if peer and w.size and range_share > 0:
        tol = max(tolerance, range_share * float(np.nanmax(w) - np.nanmin(w)))
    share = float((diff > tol).mean()) if diff.size else 0.0
    ok = share <= PEER_MISMATCH_SHARE if peer else max_diff <= tolerance
    out = {
        "ok": bool(ok),
        "max_abs_diff": max_diff,
        "tolerance": tol,
        "mismatch_share": share,
        "rule": f"<= {PEER_MISMATCH_SHARE:.0%} of elements off by more than the tolerance"
        if peer
        else "every element within the tolerance",
    }
    if got_a.dtype != want_a.dtype:
        out["dtype"] = f"{got_a.dtype} (reference {want_a.dtype})"
    return out


class Emitter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.label = ""

    def __call__(self, n: int) -> None:
        self.stream.write(f"{TICK}{n} {self.label}\n")
        self.stream.flush()


def run_case(
    tf: Any,
    family: Any,
    case: Any,
    store: Any,
    measurements: Sequence[tuple[str, int | str | None]],
    cores: int,
    settings: Settings,
    pool: Any,
    emit: Emitter,
    serial: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Builds, checks and times every measurement of one case; returns their records and,
    when `serial` is given (the 1-core worker: {"probe_cpu": a CPU it does not use, or
    None}), the serial part of every variant measured with AUTOTUNE (or its pool)."""
    from gilfree.bench.families import (
        BATCHING_VARIANTS,
        PEER_RANGE_TOLERANCE,
        PEER_VARIANTS,
        Unavailable,
    )

    ticks = settings.ticks()
    records: list[dict[str, Any]] = []
    emit.label = f"{family.name} {case.label} | {cores} cores | building"
    base = {"family": family.name, "case": case.to_json(), "cores": cores}
    try:
        ctx = family.context(tf, case, store, settings.batch)
        expected = family.expected(ctx)
    except Exception as exc:  # the whole case failed: record every measurement as an error
        msg = f"{type(exc).__name__}: {exc}"
        for variant, p in measurements:
            records.append({**base, "variant": variant, "parallel_calls": p, "error": msg})
            emit(ticks)
        return records, []
    notes = {"steps": ctx.values["steps"]} if "steps" in ctx.values else {}
    if ctx.values.get("note"):
        notes["note"] = ctx.values["note"]

    clock = _cpu_clock()
    active: list[tuple[dict[str, Any], Measurement]] = []
    checked: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    firsts: dict[str, Any] = {}  # the offline pool's first output (its skeleton's element)
    for variant, p in measurements:
        rec: dict[str, Any] = {**base, "variant": variant, "parallel_calls": p, **notes}
        records.append(rec)
        reason = missing.get(variant) or family.variant_missing(variant)
        if reason:
            missing[variant] = reason
            rec["unavailable"] = reason
            emit(ticks)
            continue
        t_setup = time.perf_counter()
        try:
            if variant == "offline_pool":
                m, first = _offline_measurement(tf, family, ctx, pool, cores, settings, clock)
                firsts[variant] = first
                per_item = 1
            else:
                calls = tf.data.AUTOTUNE if p == AUTOTUNE else int(p)  # type: ignore[arg-type]
                ds, per_item = family.dataset(ctx, variant, calls)
                run_pass = _dataset_pass(tf, ds, per_item, cores, clock)
                m = Measurement(run_pass, per_item, cores, settings)
                first = None
            if variant not in checked:
                if first is None:
                    item = next(iter(ds.take(1)))
                    first = tf.nest.map_structure(lambda t: t.numpy(), item)
                batched = per_item > 1 and variant != "offline_pool"
                got = family.image_of(first, batched)
                checked[variant] = compare(
                    got,
                    expected,
                    family.check_tolerance(ctx),
                    peer=variant in PEER_VARIANTS,
                    range_share=PEER_RANGE_TOLERANCE.get(variant, 0.0),
                )
            rec["check"] = checked[variant]
            rec["setup_s"] = time.perf_counter() - t_setup
            rec["elements_per_item"] = per_item
            rec["batch"] = per_item if variant in BATCHING_VARIANTS or family.batch_all else None
            active.append((rec, m))
        except Unavailable as exc:
            missing[variant] = str(exc)
            rec["unavailable"] = str(exc)
            emit(ticks)
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__}: {exc}"
            rec["traceback"] = traceback.format_exc(limit=4)
            emit(ticks)

    # The serial part's skeletons: each kind the probed variants need, once, timed in the
    # rounds like the variants (their records stay out of the results).
    probed = [
        (r, m) for r, m in active if serial is not None and r["parallel_calls"] in (AUTOTUNE, None)
    ]
    skeletons: dict[str, dict[str, Any]] = {}
    wanted = ["source"] if probed else []  # "source" is also the GIL probe's control
    wanted += [family.skeleton_kind(r["variant"]) for r, _ in probed]
    for kind in dict.fromkeys(wanted):
        sk: dict[str, Any] = {
            "kind": kind,
            "variant": f"skeleton {kind}",
            "parallel_calls": AUTOTUNE,
        }
        skeletons[kind] = sk
        try:
            if kind == "offline_pool":
                sk["measurement"] = _offline_skeleton(
                    tf, family, ctx, firsts["offline_pool"], cores, settings, clock
                )
            else:
                run_pass = _dataset_pass(tf, family.skeleton(ctx), 1, cores, clock)
                # At least 0.05 s passes: a skeleton's element takes microseconds, and a
                # pass's fixed costs (the first element's wait) must not count much.
                sk_settings = replace(settings, pass_s=max(settings.pass_s, 0.05))
                sk["measurement"] = Measurement(run_pass, 1, cores, sk_settings)
        except Exception as exc:
            sk["error"] = f"{type(exc).__name__}: {exc}"
    extra = [(sk, sk["measurement"]) for sk in skeletons.values() if "measurement" in sk]

    ready: list[tuple[dict[str, Any], Measurement]] = []
    for rec, m in [*active, *extra]:
        emit.label = _label(family, case, cores, rec)
        is_skeleton = "kind" in rec
        try:
            t0 = time.perf_counter()
            m.calibrate(emit if not is_skeleton else _no_ticks(emit))
            rec["calibration_s"] = time.perf_counter() - t0
            ready.append((rec, m))
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__}: {exc}"
            rec["traceback"] = traceback.format_exc(limit=4)
            if not is_skeleton:
                emit(ticks)  # (over-counts the ticks already given; the bar clamps at 100 %)

    for r in range(settings.repeats):
        for rec, m in ready:
            is_skeleton = "kind" in rec
            if "error" in rec:
                continue
            if r >= m.repeats:
                if not is_skeleton:
                    emit(1)
                continue
            emit.label = _label(family, case, cores, rec) + f" | pass {r + 1}/{m.repeats}"
            try:
                t0 = time.perf_counter()
                m.sample()
                rec["rounds_s"] = rec.get("rounds_s", 0.0) + time.perf_counter() - t0
            except Exception as exc:
                rec["error"] = f"{type(exc).__name__}: {exc}"
                rec["traceback"] = traceback.format_exc(limit=4)
            if not is_skeleton:
                emit(1)
    for rec, m in ready:
        if "error" not in rec and m.seconds and "kind" not in rec:
            rec.update(m.summary())

    serial_records = []
    if serial is not None:
        todo = [(r, m) for r, m in probed if "error" not in r and m.seconds]
        serial_records = _serial_parts(
            family, case, cores, todo, skeletons, serial.get("probe_cpu"), emit
        )
    return records, serial_records


def _no_ticks(emit: Emitter) -> Callable[[int], None]:
    """Progress without ticks (the serial part's work is not in the planned total)."""

    def tick(n: int) -> None:
        emit(0)

    return tick


def _serial_parts(
    family: Any,
    case: Any,
    cores: int,
    probed: list[tuple[dict[str, Any], Measurement]],
    skeletons: dict[str, dict[str, Any]],
    probe_cpu: int | None,
    emit: Emitter,
) -> list[dict[str, Any]]:
    """The serial part per element of each probed variant: the GIL-held time from one more
    pass of it under the GIL probe, and its skeleton's time per element.

    One probe thread runs through all of the case's probe passes. The first pass is the
    "source" skeleton's, which runs no Python (the consumer is a tf.function, the source a
    tf.data op): the probe's wake-up latency and false alarms in it, with the machine as busy
    as in the other passes, calibrate the probe (``GilProbe.measure``)."""
    from gilfree.bench.projection import PROBE_PARTS, GilProbe, probe_missing

    outs: list[dict[str, Any]] = []
    for rec, _ in probed:
        outs.append(
            {
                "family": family.name,
                "case": case.to_json(),
                "variant": rec["variant"],
                "parallel_calls": rec["parallel_calls"],
            }
        )
    if not probed:
        return outs
    reason = probe_missing()
    control = skeletons.get("source", {}).get("measurement")
    if reason is None and (control is None or not control.seconds):
        reason = f"GIL probe: no control pass ({skeletons.get('source', {}).get('error')})"
    windows: list[tuple[list[int], int]] = []
    if reason is None:
        try:
            with GilProbe(cpu=probe_cpu) as probe:
                emit.label = f"{family.name} {case.label} | {cores} cores | GIL probe control"
                emit(0)
                # The control pass, again while it gave the probe too few wake-ups (the probe
                # thread waited for a CPU on a busy machine).
                assert control is not None  # checked with reason above
                for _ in range(4):
                    control_window: list[int] = []
                    control.probe_pass(control_window)
                    if probe.samples(control_window[0], control_window[1]) >= 100:
                        break
                for rec, m in probed:
                    emit.label = _label(family, case, cores, rec) + " | GIL probe"
                    emit(0)
                    window: list[int] = []
                    windows.append((window, m.probe_pass(window)))
        except Exception as exc:
            reason = f"GIL probe: {type(exc).__name__}: {exc}"
    for i, ((rec, m), out) in enumerate(zip(probed, outs, strict=True)):
        if reason is not None:
            out["error"] = reason
            continue
        kind = family.skeleton_kind(rec["variant"])
        try:
            t_kind = _skeleton_seconds(skeletons, kind)
        except RuntimeError as exc:
            out["error"] = str(exc)
            continue
        window, n = windows[i]
        try:
            # Slices of the pass are comparable only if each holds a few elements.
            parts = max(1, min(PROBE_PARTS, n // 4))
            result = probe.measure(
                (control_window[0], control_window[1]), (window[0], window[1]), parts=parts
            )
        except RuntimeError as exc:
            out["error"] = f"GIL probe: {exc}"
            continue
        result["elements"] = n
        # The held share applies to the element's time from the timed passes (t1 on this
        # worker), not to the single probed pass's, which carries one pass's noise.
        t1 = m.seconds_per_element()
        result["pass_s_per_element"] = (window[1] - window[0]) / 1e9 / n
        out["serial_gil_s"] = result["held_share"] * t1
        out["gil_probe"] = result
        out["serial_tfdata_s"] = t_kind
        sk_m = skeletons[kind]["measurement"]
        out["tfdata_skeleton"] = {
            "kind": kind,
            "seconds_per_element": t_kind,
            "elements_per_pass": sk_m.elements,
            "passes": len(sk_m.seconds),
        }
    return outs


def _skeleton_seconds(skeletons: dict[str, dict[str, Any]], kind: str) -> float:
    """The median seconds per element of a measured skeleton (RuntimeError if it failed)."""
    sk = skeletons.get(kind, {})
    m = sk.get("measurement")
    if "error" in sk or m is None or not m.seconds:
        raise RuntimeError(f"tf.data skeleton {kind}: {sk.get('error', 'not measured')}")
    return m.seconds_per_element()


def _label(family: Any, case: Any, cores: int, rec: dict[str, Any]) -> str:
    p = rec["parallel_calls"]
    calls = "pool" if p is None else f"p={p}"
    return f"{family.name} {case.label} | {cores} cores | {rec['variant']} {calls}"


def _dataset_pass(
    tf: Any, ds: Any, per_item: int, cores: int, clock: Callable[[], float]
) -> Callable[..., tuple[float, float]]:
    """A pass: a fresh iterator, one item pulled untimed (the iterator's start-up; once the
    first item is asked for, every parallel call is running), then n elements pulled and
    timed, inside one tf.function (no per-element Python); the iterator is then dropped, so
    nothing runs between passes."""
    warm = 1

    @tf.function
    def pull(iterator: Any, n: Any) -> Any:
        got = tf.constant(0, tf.int64)
        for _ in tf.range(n):
            item = iterator.get_next()
            # The item's size (metadata, no data read) makes the result depend on every item.
            got += tf.minimum(tf.size(tf.nest.flatten(item)[0], out_type=tf.int64), 1)
        return got

    def run(n: int, window: list[int] | None = None) -> tuple[float, float]:
        items = n // per_item
        iterator = iter(ds)
        pull(iterator, tf.constant(warm, tf.int64))
        count = tf.constant(items, tf.int64)
        if window is not None:
            window.append(time.monotonic_ns())
        c0 = clock()
        t0 = time.perf_counter()
        got = int(pull(iterator, count))
        dt = time.perf_counter() - t0
        cpu = clock() - c0
        if window is not None:
            window.append(time.monotonic_ns())
        del iterator
        if got != items:
            raise RuntimeError(f"the pipeline delivered {got} items, expected {items}")
        return dt, cpu

    return run


def _offline_measurement(
    tf: Any,
    family: Any,
    ctx: Any,
    pool: Any,
    cores: int,
    settings: Settings,
    clock: Callable[[], float],
) -> tuple[Measurement, Any]:
    """multiprocessing.Pool(cores).map of the reference over n inputs, then
    Dataset.from_tensor_slices of the results, consumed like the other pipelines."""

    if pool is None:
        raise RuntimeError("no process pool (the offline variant was not planned)")
    fn, inputs = family.offline(ctx)
    first = fn(inputs(1)[0])

    @tf.function
    def count(d: Any) -> Any:
        return d.reduce(tf.constant(0, tf.int64), lambda c, *_: c + 1)

    def run(n: int, window: list[int] | None = None) -> tuple[float, float]:
        work = inputs(n)
        if window is not None:
            window.append(time.monotonic_ns())
        c0 = clock()
        t0 = time.perf_counter()
        outputs = pool.map(fn, work, chunksize=max(1, n // (4 * cores)))
        ds, per_item = family.offline_dataset(ctx, outputs)
        got = int(count(ds))
        dt = time.perf_counter() - t0
        cpu = clock() - c0
        if window is not None:
            window.append(time.monotonic_ns())
        if got * per_item != n:
            raise RuntimeError(f"the pipeline delivered {got * per_item} elements, expected {n}")
        return dt, cpu

    cap, per_item = _offline_cap(family, ctx, first, settings)
    return Measurement(run, per_item, cores, settings, cap=cap), first


def _offline_cap(family: Any, ctx: Any, first: Any, settings: Settings) -> tuple[int, int]:
    """How many offline outputs like `first` fit in settings.max_offline_bytes, and the
    elements per item of the family's offline dataset."""
    import numpy as np

    parts = first if isinstance(first, tuple) else (first,)
    out_bytes = sum(np.asarray(a).nbytes for a in parts)
    per_item = ctx.batch if family.batch_all else 1
    return max(1, settings.max_offline_bytes // max(out_bytes, 1)), per_item


def _offline_skeleton(
    tf: Any, family: Any, ctx: Any, first: Any, cores: int, settings: Settings, clock: Any
) -> Measurement:
    """The offline pool's skeleton: consuming Dataset.from_tensor_slices of n outputs (built
    untimed from copies of the first output), the part of its pass that tf.data runs
    sequentially; the pool's map is parallel and its GIL-held part is the probe's."""

    @tf.function
    def count(d: Any) -> Any:
        return d.reduce(tf.constant(0, tf.int64), lambda c, *_: c + 1)

    def run(n: int, window: list[int] | None = None) -> tuple[float, float]:
        ds, per_item = family.offline_dataset(ctx, [first] * n)
        c0 = clock()
        t0 = time.perf_counter()
        got = int(count(ds))
        dt = time.perf_counter() - t0
        cpu = clock() - c0
        if got * per_item != n:
            raise RuntimeError(f"the skeleton delivered {got * per_item} elements, expected {n}")
        return dt, cpu

    cap, per_item = _offline_cap(family, ctx, first, settings)
    return Measurement(run, per_item, cores, settings, cap=cap)


def worker_main(config_path: str) -> int:
    """The worker process: pin, fork the pool, import TensorFlow, measure, write results."""
    cfg = json.loads(Path(config_path).read_text())
    cpus = [int(c) for c in cfg["cpus"]]
    cores = len(cpus)
    from gilfree.bench.machine import import_tensorflow, pin_to_cpus

    pin_to_cpus(cpus)
    from gilfree.bench import families as fam

    settings = Settings(**cfg["settings"])
    pool = None
    if cfg.get("offline"):
        import multiprocessing

        # Forked now, before TensorFlow starts threads: the children hold NumPy and gilfree.
        pool = multiprocessing.get_context("fork").Pool(cores)
    tf = import_tensorflow(threads=cores)
    try:
        import gilfree.fallback  # noqa: F401  (so that face_missing can see its ops)
    except Exception:  # a broken fallback shows up as errors of its variants
        pass
    emit = Emitter(sys.stdout)
    store = fam.DataStore(Path(cfg["data_dir"]), cfg["seed"])
    out = Path(cfg["result_path"])
    info = {
        "tensorflow": tf.__version__,
        "tf_gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpus": cpus,
    }
    try:
        import cv2

        info["opencv_threads"] = cv2.getNumThreads()
    except ImportError:
        pass
    with out.open("a") as f:
        f.write(json.dumps({"worker": info}) + "\n")
    try:
        for item in cfg["plan"]:
            family = fam.FAMILIES[item["family"]]
            case = fam.Case.from_json(item["case"])
            measurements = [(v, p) for v, p in item["measurements"]]
            records, serial = run_case(
                tf,
                family,
                case,
                store,
                measurements,
                cores,
                settings,
                pool,
                emit,
                serial=cfg.get("serial"),
            )
            with out.open("a") as f:
                for rec in records:
                    f.write(json.dumps(rec) + "\n")
                for part in serial:
                    f.write(json.dumps({"serial": part}) + "\n")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return 0


# --------------------------------------------------------------------------------------------
# The parent: progress bar and workers
# --------------------------------------------------------------------------------------------


class Progress:
    """A live progress bar on a terminal; on a pipe or a file, a line per new stage."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()
        self._last_stage = ""
        self._last_draw = 0.0

    def advance(self, n: int, label: str) -> None:
        self.done = min(self.total, self.done + n)
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw < 0.1 and self.done < self.total:
                return
            self._last_draw = now
            width = shutil.get_terminal_size((100, 20)).columns
            frac = self.done / self.total
            bar = "#" * int(24 * frac) + "." * (24 - int(24 * frac))
            elapsed = now - self.t0
            eta = elapsed / frac - elapsed if frac > 0 else 0.0
            text = f"[{bar}] {frac:4.0%} {_clock(elapsed)} eta {_clock(eta)} {label}"
            self.stream.write("\r" + text[: width - 1].ljust(width - 1))
            self.stream.flush()
            return
        stage = label.split(" | pass")[0].rsplit(" | ", 1)[0]
        if stage != self._last_stage:
            self._last_stage = stage
            self.stream.write(f"[{self.done / self.total:4.0%} {_clock(now - self.t0)}] {stage}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self.stream.write(f"measured in {_clock(time.perf_counter() - self.t0)}\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 60}:{s % 60:02d}"


def run_worker(
    mode: str,
    config: dict[str, Any],
    folder: Path,
    progress: Progress | None,
    problems: list[str],
) -> list[dict[str, Any]]:
    """Runs one worker (``--worker`` or ``--train-worker``) and returns its JSON lines."""
    name = f"{mode}-{len(config['cpus'])}cores"
    config = {**config, "result_path": str(folder / f"{name}.jsonl")}
    cfg_path = folder / f"{name}.json"
    cfg_path.write_text(json.dumps(config))
    log_path = folder / f"{name}.log"
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if mode == "worker":
        # tf.data runs on the CPU: the scaling workers need no GPU, and initialising one (in
        # every worker) would take seconds and the GPU's memory. --train's worker sees them.
        env["CUDA_VISIBLE_DEVICES"] = "-1"
    if progress is not None:
        progress.advance(0, f"{name}: starting (pinning, importing TensorFlow)")
    cmd = [sys.executable, "-m", "gilfree.bench", f"--{mode}", str(cfg_path)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(TICK):
                n, _, label = line[len(TICK) :].rstrip("\n").partition(" ")
                if progress is not None:
                    progress.advance(int(n), label)
        rc = proc.wait()
    if rc != 0:
        tail = log_path.read_text()[-3000:]
        problems.append(f"the {name} worker exited with status {rc}; its stderr ends:\n{tail}")
    out = Path(config["result_path"])
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
