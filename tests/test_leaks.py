"""Resident memory stays flat over 100,000 calls of each op, successful or failing.

Each op runs on tiny inputs (4x4x3 images, a few dozen bytes of file), alternating two
different inputs, first WARMUP times (allocators, caches and TensorFlow's function
runtime reach their steady state), then CALLS times between two readings of the
process's resident set size (psutil). A leak of even a few dozen bytes per call
(smaller than the tiny output itself) would add megabytes.

- NumPy face: a plain Python loop over ``gilfree.numpy.<op>``; failing calls catch the
  op's ValueError (after checking, once, that the call does fail with the expected
  message).
- TF face: the calls run inside one ``tf.function``, so each is the op kernel in
  TensorFlow's runtime, not Python: successful ones in a ``tf.while_loop`` that counts
  every output element of every call (so none can be pruned or skipped), failing ones
  over ``tf.data.Dataset.range(n)`` under ``ignore_errors()`` (which drops each element
  whose op raised; the count is 0 when all did).

Each op and path is its own test, so a failure names the op.
"""

from __future__ import annotations

import gc
import io
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psutil
import pytest

WARMUP = 2_000
CALLS = 100_000
MiB = 2**20
# Allowed RSS growth over each half of the calls. A leak grows RSS in both halves; the
# runtime's one-off growths (measured on the 2-core VM: about 1.5 MiB once in a while on
# the TF face, when a pool thread or allocator arena first touches its pages) in one. So
# the test fails when both halves grow by more than MAX_GROWTH: with 50,000 calls per
# half, a leak of 32 bytes per call (less than the tiny output itself) is caught.
# Measured otherwise: 0-0.1 MiB per op and path on both faces.
MAX_GROWTH = 3 * MiB // 2

RNG = np.random.default_rng(20260)


def _images(shape: tuple[int, ...], dtype: Any = np.uint8) -> list[np.ndarray]:
    if np.dtype(dtype).kind == "f":
        return [RNG.standard_normal(shape).astype(dtype) for _ in range(2)]
    return [RNG.integers(0, 256, shape).astype(dtype) for _ in range(2)]


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _npz(compressed: bool, a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, a=a)
    return buf.getvalue()


def _bad_crc(archive: bytes) -> bytes:
    """The archive with its member's CRC-32 (in both headers) changed: it inflates, then
    fails the check, so the failure comes after the inflate buffer is allocated."""
    out = bytearray(archive)
    for sig, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        at = out.find(sig) + offset
        crc = struct.unpack_from("<I", out, at)[0]
        struct.pack_into("<I", out, at, crc ^ 0x5A5A5A5A)
    return bytes(out)


RECORD = np.dtype([("label", "u1"), ("value", ">f4"), ("pixels", "u1", (2, 3))])
ARRAYS = _images((4, 4, 3))
F32 = _images((4, 4, 3), np.float32)
RECORDS = [RNG.integers(0, 256, 11 * 8, dtype=np.uint8).tobytes() for _ in range(2)]

# Every input as two variants of equal shape and dtype (bytes may differ in length).
INPUTS: dict[str, list[Any]] = {
    "img": ARRAYS,
    "f32": F32,
    "imgs": _images((2, 4, 4, 3)),
    "scalar": _images(()),
    "npy": [_npy(a) for a in ARRAYS],
    "npy_truncated": [_npy(a)[:-1] for a in ARRAYS],
    "npz": [_npz(False, a) for a in ARRAYS],
    "npz_deflated": [_npz(True, a) for a in ARRAYS],
    "npz_bad_crc": [_bad_crc(_npz(True, a)) for a in ARRAYS],
    "records": RECORDS,
    "records_short": [r[:-1] for r in RECORDS],
    "affine": [np.array([[1.0, 0.1, 0.5], [0.2, 0.9, -0.3]]), np.array([[0.9, 0, 1], [0, 1.1, 0]])],
    "singular2": [np.array([[1.0, 2, 0], [2, 4, 0]]), np.zeros((2, 3))],
    "perspective": [np.array([[1.0, 0.1, 0.5], [0.2, 0.9, -0.3], [0.01, 0.02, 1]]), np.eye(3)],
    "singular3": [np.zeros((3, 3)), np.ones((3, 3))],
    "projective": [
        np.array([[1.0, 0.1, 0.5, 0.2, 0.9, -0.3, 0.01, 0.0]]),
        np.array([[1.0, 0, 0, 0, 1, 0, 0, 0]]),
    ],
    "projective_nan": [np.array([[np.nan, 0, 0, 0, 1, 0, 0, 0]]), np.full((1, 8), np.nan)],
    "map": [RNG.uniform(-1, 5, (4, 4)).astype(np.float32) for _ in range(2)],
    "src": [np.array([[0.0, 0], [3, 0], [0, 3], [3, 3], [1, 2], [2, 1]]) + d for d in (0, 0.25)],
    "dst": [
        np.array([[0.1, 0], [3, 0.2], [0, 3.1], [2.9, 3], [1, 2.1], [2, 1]]) + d for d in (0, 0.5)
    ],
    "same": [np.ones((6, 2)), np.zeros((6, 2))],
}

Pick = Callable[[str], Any]


@dataclass(frozen=True)
class Op:
    name: str
    call: Callable[[Any, Pick], Any]  # (face module, pick) -> result
    fail: Callable[[Any, Pick], Any] | None  # a call that must raise
    message: str = ""  # pattern of the failing call's message
    faces: tuple[str, ...] = ("numpy", "tf")


def _grad(g: Any, p: Pick) -> Any:
    import tensorflow as tf

    x = p("f32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = g.warp_affine(x, p("affine"))
    return tape.gradient(y, x)


OPS = [
    Op(
        "normalize",
        lambda g, p: g.normalize(p("img"), [1.0, 2.0, 3.0], [40.0, 50.0, 60.0], scale=0.5),
        lambda g, p: g.normalize(p("img"), 0.0, [1.0, 0.0, 1.0]),
        r"std\[1\] is 0",
    ),
    Op(
        "standardize",
        lambda g, p: g.standardize(p("img"), per_channel=True),
        lambda g, p: g.standardize(p("img"), epsilon=-1.0),
        r"epsilon is -1",
    ),
    Op(
        "minmax_scale",
        lambda g, p: g.minmax_scale(p("img"), nodata=0.0, fill=-1.0),
        lambda g, p: g.minmax_scale(p("scalar")),
        r"x must have rank >= 1",
    ),
    Op(
        "percentile_stretch",
        lambda g, p: g.percentile_stretch(p("img"), 5.0, 95.0, nodata=3.0),
        lambda g, p: g.percentile_stretch(p("img"), 60.0, 40.0),
        r"low \(60\) must be less than high \(40\)",
    ),
    Op(
        "decode_npy",
        lambda g, p: g.decode_npy(p("npy"), "uint8", shape=(4, 4, 3)),
        lambda g, p: g.decode_npy(p("npy_truncated"), "uint8"),
        r"contents: truncated \.npy data",
    ),
    Op(
        "decode_npz-stored",
        lambda g, p: g.decode_npz(p("npz"), {"a": "uint8"}),
        lambda g, p: g.decode_npz(p("npz"), {"b": "uint8"}),
        r"spec names member 'b' but contents has no such member",
    ),
    Op(
        "decode_npz-deflated",
        lambda g, p: g.decode_npz(p("npz_deflated"), {"a": "uint8"}),
        lambda g, p: g.decode_npz(p("npz_bad_crc"), {"a": "uint8"}),
        r"CRC-32 mismatch",
    ),
    Op(
        "decode_records",
        lambda g, p: g.decode_records(p("records"), RECORD),
        lambda g, p: g.decode_records(p("records_short"), RECORD),
        r"contents: 87 bytes of records is not a whole number of 11-byte records",
    ),
    Op(
        "warp_affine",
        lambda g, p: g.warp_affine(p("img"), p("affine"), output_shape=(5, 3)),
        lambda g, p: g.warp_affine(p("img"), p("singular2")),
        r"matrix 0 is singular",
    ),
    Op(
        "warp_perspective",
        lambda g, p: g.warp_perspective(p("img"), p("perspective"), interpolation="bicubic"),
        lambda g, p: g.warp_perspective(p("img"), p("singular3")),
        r"matrix 0 is singular",
    ),
    Op(
        "projective_transform",
        lambda g, p: g.projective_transform(p("imgs"), p("projective"), fill_mode="reflect"),
        lambda g, p: g.projective_transform(p("imgs"), p("projective_nan")),
        r"transforms must be finite float32 values, got nan in row 0",
    ),
    Op(
        "remap",
        lambda g, p: g.remap(p("img"), p("map"), p("map"), fill_mode="wrap"),
        lambda g, p: g.remap(p("img"), p("map"), p("map"), fill_value=[1.0, 2.0]),
        r"fill_value must have 1 value or one per channel \(3\), got 2 values",
    ),
    Op(
        "polynomial_warp",
        lambda g, p: g.polynomial_warp(p("img"), p("src"), p("dst"), order=2, nodata=7.0),
        lambda g, p: g.polynomial_warp(p("img"), p("same"), p("same")),
        r"src_points|dst_points",
    ),
    Op(
        "fit_polynomial",
        lambda g, p: g.fit_polynomial(p("src"), p("dst"), order=1),
        lambda g, p: g.fit_polynomial(p("same"), p("same")),
        r"src_points|dst_points",
    ),
    Op(
        "rotate",
        lambda g, p: g.rotate(p("img"), 30.0, scale=0.8),
        lambda g, p: g.rotate(p("img"), 30.0, fill_value=[1.0, 2.0]),
        r"fill_value must have 1 value or one per channel \(3\), got 2 values",
    ),
    Op("warp_affine-gradient", _grad, None, faces=("tf",)),
]


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def growth(run: Callable[[int], Any], calls: int = CALLS) -> tuple[int, int]:
    """RSS growth over each half of run(calls), after run(WARMUP)."""
    run(WARMUP)
    r0 = rss()
    run(calls // 2)
    r1 = rss()
    run(calls - calls // 2)
    return r1 - r0, rss() - r1


# --- NumPy face -------------------------------------------------------------------------


def numpy_runner(call: Callable[[Any, Pick], Any], failing: bool) -> Callable[[int], None]:
    import gilfree.numpy as gn

    fns = [
        lambda: call(gn, lambda key: INPUTS[key][0]),
        lambda: call(gn, lambda key: INPUTS[key][1]),
    ]

    def run(n: int) -> None:
        if failing:
            for i in range(n):
                try:
                    fns[i & 1]()
                except ValueError:
                    pass
        else:
            for i in range(n):
                fns[i & 1]()

    return run


# --- TF face ----------------------------------------------------------------------------

# Failing calls on the TF face go through tf.data's ignore_errors (a graph cannot catch an
# error otherwise), whose per-element cost on the 2-core VM is about 45 us, against 14 us
# for a while_loop iteration: the full 100,000 take about 5 s per op.
TF_FAILING_CALLS = CALLS


def _tf_count(out: Any) -> Any:
    """How many elements the outputs hold, computed from their values: an output used
    only through its static shape would let TensorFlow prune the op away."""
    import tensorflow as tf

    total = tf.constant(0, tf.int64)
    for t in tf.nest.flatten(out):
        f = tf.cast(t, tf.float32)
        total += tf.reduce_sum(tf.cast((tf.abs(f) >= 0) | tf.math.is_nan(f), tf.int64))
    return total


# Inputs whose static shape the TF face's shape functions would already refuse.
UNKNOWN_SHAPE = ("scalar",)


def _tf_pick(k: Any) -> Pick:
    import tensorflow as tf

    def pick(key: str) -> Any:
        variants = INPUTS[key]
        if not isinstance(variants[0], bytes):
            variants = np.stack(variants)
        t = tf.gather(tf.constant(variants), k)
        if key in UNKNOWN_SHAPE:  # refused by the kernel at run time, not at tracing
            t = tf.compat.v1.placeholder_with_default(t, shape=None)
        return t

    return pick


def tf_runner(call: Callable[[Any, Pick], Any], failing: bool) -> Callable[[int], int]:
    """run(n): n calls inside one tf.function, returning how many output elements they
    produced (0 when every call failed). Successful calls run in a tf.while_loop;
    failing ones over Dataset.range(n) with ignore_errors()."""
    import tensorflow as tf

    import gilfree

    @tf.function
    def loop(n: Any) -> Any:
        # Two calls per iteration (one per input variant) halve the loop's own overhead.
        def body(i: Any, total: Any) -> tuple[Any, Any]:
            k = i % 2
            first = _tf_count(call(gilfree, _tf_pick(k)))
            second = _tf_count(call(gilfree, _tf_pick(1 - k)))
            return i + 1, total + first + second

        zero = (tf.constant(0, tf.int64), tf.constant(0, tf.int64))
        return tf.while_loop(lambda i, _: i < n // 2, body, zero)[1]

    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False

    @tf.function
    def dataset(n: Any) -> Any:
        ds = tf.data.Dataset.range(n).map(lambda i: _tf_count(call(gilfree, _tf_pick(i % 2))))
        ds = ds.with_options(options).ignore_errors()
        return ds.reduce(tf.constant(0, tf.int64), lambda total, count: total + count)

    run = dataset if failing else loop
    return lambda n: int(run(tf.constant(n, tf.int64)))


PARAMS = [
    pytest.param(face, op, failing, id=f"{face}-{op.name}{'-failing' if failing else ''}")
    for face in ("numpy", "tf")
    for op in OPS
    if face in op.faces
    for failing in (False, True)
    if not failing or op.fail is not None
]


@pytest.fixture(scope="module")
def tf_runtime() -> None:
    """TensorFlow's runtime warmed up once (thread pools, executor caches): its first
    long loop in a process grows RSS by about 1.5 MiB, whichever op it runs."""
    tf_runner(OPS[0].call, False)(10_000)


@pytest.mark.parametrize(("face", "op", "failing"), PARAMS)
def test_memory_stays_flat(face: str, op: Op, failing: bool, request: Any) -> None:
    call = op.fail if failing else op.call
    assert call is not None
    calls = CALLS
    if face == "numpy":
        import gilfree.numpy as gn

        if failing:  # the loop below swallows ValueError: check it is the expected one
            with pytest.raises(ValueError, match=op.message):
                call(gn, lambda key: INPUTS[key][0])
        grew = growth(numpy_runner(call, failing), calls)
    else:
        import tensorflow as tf

        import gilfree

        request.getfixturevalue("tf_runtime")
        run = tf_runner(call, failing)
        counts: list[int] = []
        if failing:
            calls = TF_FAILING_CALLS
            grew = growth(lambda n: counts.append(run(n)), calls)
            assert counts == [0, 0, 0], f"some of the failing calls succeeded: {counts}"
        else:
            # Every call ran: the loop counted each output element of every call.
            once = int(_tf_count(call(gilfree, lambda key: tf.constant(INPUTS[key][0]))))
            grew = growth(lambda n: counts.append(run(n)), calls)
            runs = [WARMUP, calls // 2, calls - calls // 2]
            assert counts == [n * once for n in runs] and once > 0, (counts, once)
    name = f"{face}-{op.name}{'-failing' if failing else ''}"
    print(f"{name}: {grew[0] / MiB:.3f} + {grew[1] / MiB:.3f} MiB")
    assert min(grew) < MAX_GROWTH, (
        f"{name}: RSS grew {grew[0] / MiB:.2f} MiB, then {grew[1] / MiB:.2f} MiB, "
        f"over the two halves of {calls:,} calls"
    )


def test_tf_failing_calls_are_the_expected_errors() -> None:
    """The TF face's failing calls (dropped by ignore_errors above) raise the expected
    InvalidArgumentError when run once eagerly."""
    import tensorflow as tf

    import gilfree

    for op in OPS:
        if op.fail is None or "tf" not in op.faces:
            continue
        with pytest.raises(tf.errors.InvalidArgumentError, match=op.message):
            op.fail(gilfree, lambda key: INPUTS[key][0])


def test_a_leak_is_detected() -> None:
    """The measurement is sensitive: a call that keeps 64 bytes per call grows RSS past
    MAX_GROWTH in both halves."""
    kept: list[bytes] = []
    grew = growth(lambda n: kept.extend(bytes(64) + struct.pack("<i", i) for i in range(n)))
    assert min(grew) > MAX_GROWTH, [g / MiB for g in grew]
    assert len(kept) == WARMUP + CALLS


def test_npz_helpers() -> None:
    """The corrupted archive differs from the good one only in its CRC fields, so its
    failure is the CRC check's, after inflating; zlib agrees on the good CRC."""
    good, bad = INPUTS["npz_deflated"][0], INPUTS["npz_bad_crc"][0]
    assert len(good) == len(bad) and sum(a != b for a, b in zip(good, bad, strict=True)) == 8
    at = good.find(b"PK\x03\x04") + 14
    name_len, extra_len = struct.unpack_from("<HH", good, good.find(b"PK\x03\x04") + 26)
    size = struct.unpack_from("<I", good, at + 4)[0]
    start = good.find(b"PK\x03\x04") + 30 + name_len + extra_len
    member = zlib.decompress(good[start : start + size], -15)
    assert struct.unpack_from("<I", good, at)[0] == zlib.crc32(member)
    assert re.search(rb"'shape': \(4, 4, 3\)", member)
