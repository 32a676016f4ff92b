"""The many-core projection of ``python -m gilfree.bench``: Amdahl's law on numbers measured in
the same run, and the GIL probe that measures the serial part of each variant.

A variant's element costs ``t1`` seconds on one core (the 1-core ``AUTOTUNE`` measurement). A
part ``s`` of it can only run one element at a time: the time the element holds Python's GIL,
and tf.data's sequential stages (the source, the consumer). The rest, ``t1 - s``, runs on any
free core. With N cores, Amdahl's law gives the time per element ``s + (t1 - s) / N``, so
``N / (s N + t1 - s)`` elements/s (``amdahl``). It is a projection, not a measurement;
``docs/bench.md`` gives the method, its assumptions and its limits.

``s`` is measured per variant and case on the 1-core worker, after the timed passes:

- the GIL-held time per element, the held share x t1: the share from one more pass of the
  variant while a ``GilProbe`` thread, on a CPU the worker does not use, samples on a fixed
  100 us grid whether it has to wait for the GIL (less its wait for a CPU, from the kernel's
  per-thread run-queue delay, and its own wake-up latency, calibrated on a control pass of a
  pipeline that runs no Python). This is
  py_function's glue and the body's GIL-holding code for the py_function variants, the
  parent's pickling and stacking for the offline pool, next to nothing for the TensorFlow ops;
- tf.data's sequential work per element: the time per element of the family's source pulled
  by the same consumer loop, without the map (``Family.skeleton``; the offline pool:
  consuming ``from_tensor_slices`` of its outputs). The map calls, and by default the copies
  into batches, run in parallel.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

# Core counts projected by default (--project), besides every measured core count above 1.
PROJECT_CORES = (8, 16, 64)

METHOD = (
    "Amdahl projection, not a measurement: per variant and case, t1 = 1 / (elements/s at 1 "
    "core with AUTOTUNE; the offline pool: its 1-process pool) and s = its serial part per "
    "element, both measured in this run on the 1-core worker: s = the GIL-held share x t1 "
    "(the share from one more pass of the variant while a probe thread on another CPU samples, "
    "on a 100 us grid, whether it must wait for the GIL; its run-queue delay taken out, its "
    "wake-up latency and false alarms calibrated on a pass of a pipeline that runs no Python) "
    "+ tf.data's "
    "sequential time per element (the source pulled by the same consumer loop without the map; "
    "the offline pool: consuming from_tensor_slices of its outputs). Projected elements/s at N "
    "cores = N / (s N + t1 - s) (Amdahl's law; its limit 1 / s is the ceiling; "
    "upper_bound_elements_per_s = min(N / t1, 1 / s) is what a pipeline that overlapped one "
    "element's serial part with other elements' parallel parts could reach). It ignores memory "
    "bandwidth, caches, hyperthreads, tf.data's autotuning and GIL contention growing with the "
    "threads; docs/bench.md gives the derivation and the limits."
)


# --------------------------------------------------------------------------------------------
# Amdahl's law
# --------------------------------------------------------------------------------------------


def amdahl(t1: float, serial: float, cores: int) -> float:
    """Elements/s at `cores` cores of an element that takes `t1` seconds on one core, of which
    `serial` seconds run one element at a time: N / (s N + t1 - s).

    `serial` is clamped to [0, t1], so the result lies between 1 / t1 and cores / t1 and does
    not decrease with `cores`."""
    if not (t1 > 0 and math.isfinite(t1)):
        raise ValueError(f"t1 must be a positive number of seconds, got {t1!r}")
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores!r}")
    s = min(max(serial, 0.0), t1)
    return cores / (s * cores + (t1 - s))


def ceiling(t1: float, serial: float) -> float | None:
    """The limit of `amdahl` as the cores grow: 1 / s (None when s is 0: no ceiling)."""
    s = min(max(serial, 0.0), t1)
    return 1.0 / s if s > 0 else None


def upper_bound(t1: float, serial: float, cores: int) -> float:
    """The bottleneck bound min(N / t1, 1 / s): the most a pipeline that overlaps one element's
    serial part with other elements' parallel parts could reach. Amdahl's value lies below."""
    s = min(max(serial, 0.0), t1)
    bound = cores / t1
    return min(bound, 1.0 / s) if s > 0 else bound


def serial_from_scaling(t1: float, rate: float, cores: int) -> float | None:
    """The serial part per element that Amdahl's law needs to explain `rate` elements/s
    measured at `cores` cores (the Karp-Flatt metric, in seconds): (N / X - t1) / (N - 1).
    A cross-check of the measured s; noisy where the machine is (negative: superlinear)."""
    if cores <= 1 or not rate > 0:
        return None
    return (cores / rate - t1) / (cores - 1)


# --------------------------------------------------------------------------------------------
# The GIL probe
# --------------------------------------------------------------------------------------------

PROBE_PERIOD_S = 100e-6  # the sampling grid
PROBE_PARTS = 5  # slices of a probed pass; the GIL-held share is their median
_MIN_THRESHOLD_NS = 10_000  # a wait shorter than latency + this is not counted as held


def probe_missing() -> str | None:
    """Why the GIL probe cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "the GIL probe needs Linux (clock_nanosleep, per-thread affinity)"
    try:
        import ctypes

        ctypes.CDLL(None).clock_nanosleep  # noqa: B018
    except (OSError, AttributeError):
        return "the C library has no clock_nanosleep"
    return None


class GilProbe:
    """Samples, from a thread of its own, whether other threads of this process hold the GIL.

    The thread sleeps until the next instant of a fixed grid (every ``period_s``) with
    ``clock_nanosleep`` called through ctypes, which releases the GIL while it sleeps. On
    waking it needs the GIL back: if another thread holds it, it waits. After each wake-up it
    records the instant it meant to wake, the instant it holds the GIL again, and its
    run-queue delay so far (its thread's ``schedstat`` in /proc, read without releasing the GIL),
    so that waiting for a CPU is not mistaken for waiting for the GIL. ``measure`` turns the
    samples of a window into the share of it in which the GIL was held by other threads,
    calibrated on a control window in which no thread wanted the GIL.

    The thread pins itself to ``cpu`` (a CPU the measured pipeline does not use) when given.
    Use it as a context manager."""

    def __init__(self, cpu: int | None = None, period_s: float = PROBE_PERIOD_S) -> None:
        self.cpu = cpu
        self.period_ns = max(10_000, int(period_s * 1e9))
        self.deadlines: list[int] = []
        self.wakes: list[int] = []
        self.queued: list[int] = []  # cumulative run-queue delay (ns), -1 if unknown
        self.pinned: bool = False
        self.schedstat: bool = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    @staticmethod
    def now() -> int:
        return time.monotonic_ns()

    def __enter__(self) -> GilProbe:
        reason = probe_missing()
        if reason:
            raise RuntimeError(reason)
        self._thread = threading.Thread(target=self._run, name="gilfree-gil-probe", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)
        if self._error:
            raise RuntimeError(self._error)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _run(self) -> None:
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)  # calls release the GIL
            held_libc = ctypes.PyDLL(None)  # calls keep the GIL

            class Timespec(ctypes.Structure):
                _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

            sleep = libc.clock_nanosleep
            sleep.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(Timespec), ctypes.c_void_p]
            pread = held_libc.pread
            pread.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
            pread.restype = ctypes.c_ssize_t
            if self.cpu is not None:
                try:
                    os.sched_setaffinity(0, {self.cpu})  # 0: this thread
                    self.pinned = True
                except OSError:
                    self.pinned = False
            try:
                libc.prctl(29, 1, 0, 0, 0)  # PR_SET_TIMERSLACK: 1 ns, wake on time
            except AttributeError:
                pass
            fd = -1
            try:
                fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
                self.schedstat = True
            except OSError:
                self.schedstat = False
            buf = ctypes.create_string_buffer(128)
            ts = Timespec()
            ref = ctypes.byref(ts)
            mono = time.monotonic_ns
            period = self.period_ns
            deadlines, wakes, queued = self.deadlines, self.wakes, self.queued
            origin = mono()
        except Exception as exc:  # reported by __enter__
            self._error = f"GIL probe: {type(exc).__name__}: {exc}"
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                # The next grid instant after now (instants passed while this thread ran or
                # waited are skipped: they are accounted for by the wait that covered them).
                deadline = origin + ((mono() - origin) // period + 1) * period
                ts.tv_sec, ts.tv_nsec = divmod(deadline, 1_000_000_000)
                sleep(1, 1, ref, None)  # CLOCK_MONOTONIC, TIMER_ABSTIME; GIL released
                woke = mono()  # the GIL is held again
                q = -1
                if fd >= 0:
                    n = pread(fd, buf, 128, 0)
                    if n > 0:
                        q = int(buf.raw[:n].split()[1])
                deadlines.append(deadline)
                wakes.append(woke)
                queued.append(q)
        finally:
            if fd >= 0:
                os.close(fd)

    # ---- the estimate ----

    def _excess(self, a: int, b: int) -> list[int]:
        """Per wake-up with its grid instant in [a, b): the time from that instant until the
        GIL was held again, less the run-queue delay of the cycle (ns)."""
        out = []
        for j in range(1, len(self.deadlines)):
            d = self.deadlines[j]
            if d < a or d >= b:
                continue
            delay = self.wakes[j] - d
            q0, q1 = self.queued[j - 1], self.queued[j]
            if q0 >= 0 and q1 >= 0:
                delay -= min(delay, q1 - q0)
            out.append(delay)
        return out

    def samples(self, a: int, b: int) -> int:
        """The wake-ups with their grid instant in [a, b)."""
        return len(self._excess(a, b))

    def calibrate(self, a: int, b: int) -> dict[str, float]:
        """The probe's wake-up latency and its spread in a control window [a, b) in which no
        thread wants the GIL: latency = the median wait, threshold = twice the spread from
        the median to the 90th percentile (at least 10 us). A higher threshold would miss
        short GIL holds (a hold whose instants the probe waits less than the threshold for is
        not counted); the false alarms a low one lets through are subtracted (``measure``)."""
        x = sorted(self._excess(a, b))
        if len(x) < 20:
            raise RuntimeError(f"the GIL probe's control window has {len(x)} samples (< 20)")
        med = statistics.median(x)
        p90 = x[min(len(x) - 1, int(0.9 * len(x)))]
        return {
            "latency_ns": float(med),
            "threshold_ns": float(max(_MIN_THRESHOLD_NS, 2 * (p90 - med))),
            "samples": len(x),
        }

    def held_share(self, a: int, b: int, cal: dict[str, float]) -> tuple[float, int]:
        """(share of grid instants in [a, b) at which another thread held the GIL, the
        instants counted). A wait beyond latency + threshold is a held GIL; it covers the grid
        instants from the one the probe woke for to the end of the wait."""
        lat, thr = cal["latency_ns"], cal["threshold_ns"]
        held = counted = 0
        for x in self._excess(a, b):
            wait = x - lat
            if wait > thr:
                k = int(wait // self.period_ns) + 1
                held += k
                counted += k
            else:
                counted += 1
        return (held / counted if counted else 0.0), counted

    def measure(
        self, control: tuple[int, int], window: tuple[int, int], parts: int = PROBE_PARTS
    ) -> dict[str, Any]:
        """The GIL-held share of `window`, calibrated on the `control` window (a pass of a
        pipeline that runs no Python, with the machine as busy as in `window`): in each of
        `parts` equal slices of the window, the share of its instants at which the probe
        waited beyond its latency + threshold, less the control's (false alarms),
        (share - control share) / (1 - control share); the median of the slices, so that a
        burst of another process's activity in one slice does not count (the caller cuts
        the window into slices only when each holds several elements: one element's GIL use
        is not uniform over its time)."""
        cal = self.calibrate(*control)
        control_share, _ = self.held_share(*control, cal)
        a, b = window
        edges = [a + (b - a) * i // parts for i in range(parts + 1)]
        shares, raw, counted = [], [], 0
        for lo, hi in itertools.pairwise(edges):
            share, n = self.held_share(lo, hi, cal)
            if n == 0:
                continue
            counted += n
            raw.append(share)
            corrected = share
            if control_share < 1.0:
                corrected = (share - control_share) / (1.0 - control_share)
            shares.append(min(1.0, max(0.0, corrected)))
        if not shares:
            raise RuntimeError("the GIL probe has no sample in the window")
        return {
            "held_share": statistics.median(shares),
            "held_shares": shares,
            "parts": parts,
            "raw_held_share": statistics.median(raw),
            "control_held_share": control_share,
            "samples": counted,
            "control_samples": int(cal["samples"]),
            "period_us": self.period_ns / 1e3,
            "wake_latency_us": cal["latency_ns"] / 1e3,
            "threshold_us": cal["threshold_ns"] / 1e3,
            "window_s": (b - a) / 1e9,
            "runqueue_corrected": self.schedstat,
            "probe_cpu": self.cpu if self.pinned else None,
        }


# --------------------------------------------------------------------------------------------
# The projection records
# --------------------------------------------------------------------------------------------


def projection_cores(measured: Iterable[int], requested: Sequence[int]) -> list[int]:
    """The core counts to project: the requested ones and every measured one above 1 (so that
    a measurement sits beside its projection)."""
    return sorted({int(c) for c in requested} | {int(c) for c in measured if int(c) > 1})


def build(
    results: Sequence[dict[str, Any]],
    serial: Sequence[dict[str, Any]],
    requested: Sequence[int],
) -> dict[str, Any]:
    """The ``projection`` object of the JSON: one record per (family, case, variant) measured
    at 1 core with AUTOTUNE (the offline pool: its 1-process pool), from the results and the
    serial parts the 1-core worker measured."""
    auto = ("AUTOTUNE", None)
    base = {
        (r["family"], r["case"]["label"], r["variant"]): r
        for r in results
        if r["cores"] == 1 and r["parallel_calls"] in auto and "elements_per_s" in r
    }
    measured: dict[tuple[str, str, str], dict[int, float]] = {}
    for r in results:
        if r["parallel_calls"] in auto and "elements_per_s" in r:
            key = (r["family"], r["case"]["label"], r["variant"])
            measured.setdefault(key, {})[r["cores"]] = r["elements_per_s"]
    all_cores = {c for rates in measured.values() for c in rates}
    cores = projection_cores(all_cores, requested)
    parts = {(p["family"], p["case"]["label"], p["variant"]): p for p in serial}
    records = []
    for key, rec in base.items():
        family, _, variant = key
        out: dict[str, Any] = {
            "family": family,
            "case": rec["case"],
            "variant": variant,
            "t1_s": 1.0 / rec["elements_per_s"],
        }
        part = parts.get(key)
        if part is None or part.get("unavailable") or part.get("error"):
            why = (part or {}).get("unavailable") or (part or {}).get("error")
            out["unavailable"] = why or "the serial part was not measured"
            records.append(out)
            continue
        t1 = out["t1_s"]
        gil = part["serial_gil_s"]
        skeleton = part["serial_tfdata_s"]
        s = gil + skeleton
        out.update(
            {
                "serial_s": min(s, t1),
                "serial_gil_s": gil,
                "serial_tfdata_s": skeleton,
                "serial_share": min(s, t1) / t1,
                "serial_clamped": s > t1,
                "gil_probe": part.get("gil_probe"),
                "tfdata_skeleton": part.get("tfdata_skeleton"),
                "projected_elements_per_s": {str(n): amdahl(t1, s, n) for n in cores},
                "upper_bound_elements_per_s": {str(n): upper_bound(t1, s, n) for n in cores},
                "ceiling_elements_per_s": ceiling(t1, s),
                "measured_elements_per_s": {
                    str(c): v for c, v in sorted(measured.get(key, {}).items()) if c > 1
                },
                "serial_s_from_scaling": {
                    str(c): serial_from_scaling(t1, v, c)
                    for c, v in sorted(measured.get(key, {}).items())
                    if c > 1
                },
            }
        )
        records.append(out)
    reason = None
    if not base:
        reason = "no 1-core measurement in this run (the projection starts from --cores 1)"
    return {"method": METHOD, "cores": cores, "records": records, "unavailable": reason}
