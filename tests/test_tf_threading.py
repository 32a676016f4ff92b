"""The TF ops respect tf.data's intra-op limit: how many threads one call runs on.

tf.data runs the elements of a map in parallel and caps each element's intra-op
parallelism at ``options.threading.max_intra_op_parallelism`` (1 by default), so an op
that split every element over the whole intra-op pool would oversubscribe the cores.
Here one element's work (a chain of large warps, or of standardizations) inside
``dataset.map`` must run on one thread with the default options, while the same chain
called eagerly must spread over several threads, and ``max_intra_op_parallelism = 2``
must allow more than one. Threads are counted from their CPU times in
``/proc/self/task/*/stat`` (utime + stime) before and after: a thread is busy if it
gained a significant share of the CPU time. The results are the same bits in every
case (the kernels split on shape-only boundaries).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import gilfree

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread CPU times come from /proc (Linux)"
)

SIZE = 3072  # 3072x3072x3: ~0.3-0.5 s of CPU per chain on a 2-core Zen 3 VM
CHAIN = 4  # ops per element, each on the previous one's output (so one after another)
MIN_TICKS = 3  # a busy thread gained at least this many clock ticks ...
MIN_SHARE = 0.15  # ... and this share of all the CPU time the threads gained
MATRIX = np.array([[0.9, 0.1, 5.0], [-0.1, 0.9, 7.0]], np.float32)


def warp_chain(x):
    for _ in range(CHAIN):
        x = gilfree.warp_affine(x, MATRIX, interpolation="bilinear")
    return x


def standardize_chain(x):
    for _ in range(CHAIN):
        x = gilfree.standardize(x)
    return x


CHAINS = {"warp_affine": warp_chain, "standardize": standardize_chain}


def thread_ticks() -> dict[int, int]:
    """utime + stime (clock ticks) of every thread of this process, by thread id."""
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        # The fields after the command name (which may hold spaces and parentheses)
        # start at field 3; utime and stime are fields 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[int(tid)] = int(fields[11]) + int(fields[12])
    return ticks


def busy_threads(run) -> tuple[list[int], list[int], object]:
    """Runs `run()`; returns the busy threads' tick gains, all gains, and run's result."""
    before = thread_ticks()
    result = run()
    after = thread_ticks()
    gains = sorted((t - before.get(tid, 0) for tid, t in after.items()), reverse=True)
    gains = [g for g in gains if g > 0]
    total = sum(gains)
    assert total >= 4 * MIN_TICKS, f"too little CPU time measured to count threads: {gains}"
    busy = [g for g in gains if g >= MIN_TICKS and g >= MIN_SHARE * total]
    return busy, gains, result


def intra_op_threads() -> int:
    """Size of TensorFlow's intra-op pool (0 in the config means one per usable core)."""
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or len(os.sched_getaffinity(0))


def require_several_threads() -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip(f"one CPU (os.cpu_count() = {os.cpu_count()}): no intra-op parallelism")
    if intra_op_threads() < 2:
        pytest.skip(f"TensorFlow's intra-op pool has {intra_op_threads()} thread")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(20240611)
    return rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def eager(image) -> dict[str, np.ndarray]:
    """Each chain called eagerly once (also loads the ops before anything is measured)."""
    return {name: chain(image).numpy() for name, chain in CHAINS.items()}


def one_element(image: np.ndarray, chain, max_intra_op_parallelism: int | None):
    """An iterator over a one-element dataset mapping `chain`, built before measuring."""
    ds = tf.data.Dataset.from_tensors(image).map(chain)
    if max_intra_op_parallelism is not None:
        options = tf.data.Options()
        options.threading.max_intra_op_parallelism = max_intra_op_parallelism
        ds = ds.with_options(options)
    return iter(ds)


def check_threads(op: str, run, eager, *, at_least: int, exactly: bool, what: str) -> None:
    """Runs `run` while counting busy threads; the count must be `at_least` (or exactly
    that), and the result must equal the eager one bit for bit."""
    busy, gains, y = busy_threads(run)
    ok = len(busy) == at_least if exactly else len(busy) >= at_least
    assert ok, (
        f"{op} {what} ran on {len(busy)} busy thread(s) (tick gains per thread: {gains}); "
        f"expected {'' if exactly else '>= '}{at_least}"
    )
    np.testing.assert_array_equal(y.numpy(), eager[op])


@pytest.mark.parametrize("op", CHAINS)
def test_map_element_runs_on_one_thread_by_default(image, eager, op):
    """README (Geometric correction): inside `dataset.map` an op stays within
    `max_intra_op_parallelism`, 1 by default: one thread per element.
    """
    it = one_element(image, CHAINS[op], None)
    check_threads(
        op,
        lambda: next(it),
        eager,
        at_least=1,
        exactly=True,
        what="in dataset.map with default options (max_intra_op_parallelism = 1)",
    )


@pytest.mark.parametrize("op", CHAINS)
def test_eager_call_uses_several_threads(image, eager, op):
    """README (Geometric correction): an eager call splits large images over the intra-op pool (this
    test checks several threads, not all of them).
    """
    require_several_threads()
    check_threads(
        op,
        lambda: CHAINS[op](image),
        eager,
        at_least=2,
        exactly=False,
        what=f"called eagerly with an intra-op pool of {intra_op_threads()} threads",
    )


@pytest.mark.parametrize("op", CHAINS)
def test_map_element_uses_max_intra_op_parallelism(image, eager, op):
    """README (Geometric correction): inside `dataset.map` a larger `max_intra_op_parallelism` lets
    large images split over more threads.
    """
    require_several_threads()
    it = one_element(image, CHAINS[op], 2)
    check_threads(
        op,
        lambda: next(it),
        eager,
        at_least=2,
        exactly=False,
        what="in dataset.map with max_intra_op_parallelism = 2",
    )
