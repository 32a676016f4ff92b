"""16 threads calling the ops at once give exactly (bit for bit) the results of sequential calls.

Each thread runs every task of a shared list (all normalization ops with several input
dtypes, shapes and parameters, and the decoders) in its own rotated order, a few times over,
all threads released together by a barrier. Threads share the input arrays, so the kernels'
scratch buffers, any caches and the inputs (which must not be written) are all exercised.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from conftest import OPS, make_input, op_variants, run_together, seed_of

import gilfree.numpy as gn

THREADS = 16

RECORD = np.dtype(
    {
        "names": ["id", "value", "pixels", "flag"],
        "formats": ["<u2", ">f8", ("u1", (2, 3)), "?"],
        "offsets": [2, 8, 17, 30],
        "itemsize": 40,
    }
)

Task = tuple[str, Callable[[], Any]]


def normalization_cases() -> list[tuple[str, np.ndarray, tuple, dict]]:
    """(name, x, args, kwargs) over ops, input dtypes and shapes, all different."""
    cases = []
    shapes = {"uint8": (48, 40, 3), "uint16": (2, 24, 20, 13), "float32": (33, 29, 4)}
    for op in OPS:
        for dtype, shape in shapes.items():
            x = make_input(shape, dtype, (op, dtype, "threads"))
            if dtype == "float32":
                x.flat[::97] = np.nan  # NaN is invalid data: exercised by every op
            for variant, args, kwargs in op_variants(op, x, seed_of(op, dtype)):
                for out in ("float32", "float16"):
                    cases.append(
                        (f"{op}-{dtype}-{variant}-{out}", x, args, {**kwargs, "dtype": out})
                    )
    return cases


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def decoder_arrays() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    return [
        ("u16-tile", rng.integers(0, 2**16, size=(64, 64, 13), dtype=np.uint16)),
        ("f32-fortran", np.asfortranarray(rng.standard_normal((57, 31)).astype(np.float32))),
        ("i64-big-endian", rng.integers(-(2**40), 2**40, size=(300,)).astype(">i8")),
        ("bool-3d", rng.integers(0, 2, size=(5, 6, 7)).astype(bool)),
        ("f16-empty", np.zeros((0, 4), np.float16)),
    ]


def record_contents() -> list[tuple[str, Any, dict]]:
    rng = np.random.default_rng(11)
    records = np.zeros(500, RECORD)
    records["id"] = rng.integers(0, 2**16, size=500)
    records["value"] = rng.standard_normal(500)
    records["pixels"] = rng.integers(0, 256, size=(500, 2, 3))
    records["flag"] = rng.integers(0, 2, size=500).astype(bool)
    raw = records.tobytes()
    return [
        ("records-one-string", raw, {}),
        (
            "records-header-footer",
            b"H" * 16 + raw[: 40 * 300] + b"F" * 3,
            {"header_bytes": 16, "footer_bytes": 3},
        ),
        ("records-batch", [raw[i * 40 : (i + 1) * 40] for i in range(200)], {}),
    ]


def assert_bitwise_equal(got: Any, want: Any, context: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), context
        for key in want:
            assert_bitwise_equal(got[key], want[key], f"{context}[{key}]")
        return
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (
        context,
        got.dtype,
        want.dtype,
        got.shape,
        want.shape,
    )
    if got.tobytes() != want.tobytes():
        differ = np.flatnonzero(
            got.reshape(-1).view(np.uint8 if got.dtype == bool else f"u{got.itemsize}")
            != want.reshape(-1).view(np.uint8 if want.dtype == bool else f"u{want.itemsize}")
        )
        raise AssertionError(f"{context}: {differ.size} elements differ, first at {differ[:5]}")


def run_concurrently(tasks: list[Task], expected: dict[str, Any], rounds: int) -> None:
    """THREADS threads run all `tasks` `rounds` times each, in rotated orders, and compare
    every result bitwise with `expected`; the first failure of any thread is raised."""
    calls = [0] * THREADS

    def body(index: int) -> None:
        start = (index * len(tasks)) // THREADS
        order = tasks[start:] + tasks[:start]
        if index % 2:
            order.reverse()
        for _ in range(rounds):
            for name, fn in order:
                assert_bitwise_equal(fn(), expected[name], f"thread {index}: {name}")
                calls[index] += 1

    run_together(THREADS, body)
    assert calls == [rounds * len(tasks)] * THREADS


def numpy_tasks() -> list[Task]:
    tasks: list[Task] = []
    for name, x, args, kwargs in normalization_cases():
        op = getattr(gn, name.split("-")[0])
        tasks.append((name, lambda op=op, x=x, args=args, kwargs=kwargs: op(x, *args, **kwargs)))
    for name, a in decoder_arrays():
        blob = npy_bytes(a)
        dtype = a.dtype.newbyteorder("=")
        tasks.append((f"npy-{name}", lambda b=blob, d=dtype: gn.decode_npy(b, d)))
    members = dict(decoder_arrays()[:3])
    for saver in (np.savez, np.savez_compressed):
        buf = io.BytesIO()
        saver(buf, **{k.replace("-", "_"): v for k, v in members.items()})
        spec = {k.replace("-", "_"): v.dtype.newbyteorder("=") for k, v in members.items()}
        tasks.append((f"npz-{saver.__name__}", partial(gn.decode_npz, buf.getvalue(), spec)))
    for name, contents, kwargs in record_contents():
        tasks.append((name, lambda c=contents, k=kwargs: gn.decode_records(c, RECORD, **k)))
    return tasks


def test_numpy_ops_from_16_threads_equal_sequential_calls():
    """README (NumPy kernels in other loaders): sixteen threads calling the same ops with different
    arguments give bit for bit the results of sequential calls.
    """
    tasks = numpy_tasks()
    assert len({name for name, _ in tasks}) == len(tasks)
    inputs = [(name, x.copy()) for name, x, _, _ in normalization_cases()]
    expected = {name: fn() for name, fn in tasks}
    run_concurrently(tasks, expected, rounds=10)
    # Nothing wrote to the shared inputs.
    for (name, before), (_, x, _, _) in zip(inputs, normalization_cases(), strict=True):
        assert_bitwise_equal(x, before, f"input of {name}")


def test_a_wrong_result_in_one_thread_is_reported():
    calls = iter(range(10**6))

    def flaky() -> np.ndarray:
        return np.float32([1.0 if next(calls) != 37 else 2.0])

    with pytest.raises(AssertionError, match="flaky: 1 elements differ"):
        run_concurrently([("flaky", flaky)], {"flaky": np.float32([1.0])}, rounds=5)


def test_numpy_decoders_agree_with_numpy():
    """The sequential results used above are right (so the threads are checked against
    correct values, not merely consistent ones)."""
    for _, a in decoder_arrays():
        np.testing.assert_array_equal(gn.decode_npy(npy_bytes(a), a.dtype.newbyteorder("=")), a)
    for name, contents, kwargs in record_contents():
        out = gn.decode_records(contents, RECORD, **kwargs)
        raw = b"".join(contents) if isinstance(contents, list) else contents
        raw = raw[kwargs.get("header_bytes", 0) : len(raw) - kwargs.get("footer_bytes", 0)]
        want = np.frombuffer(raw, RECORD)
        for field in RECORD.names:
            np.testing.assert_array_equal(out[field], want[field], err_msg=f"{name}.{field}")


def decode_records_tf(contents: Any, kwargs: dict) -> dict[str, np.ndarray]:
    import gilfree

    out = gilfree.decode_records(contents, RECORD, **kwargs)
    return {field: t.numpy() for field, t in out.items()}


def tf_tasks(tf: Any) -> list[Task]:
    import gilfree

    tasks: list[Task] = []
    for name, x, args, kwargs in normalization_cases():
        op = getattr(gilfree, name.split("-")[0])
        xt = tf.constant(x)
        tasks.append(
            (name, lambda op=op, x=xt, args=args, kwargs=kwargs: op(x, *args, **kwargs).numpy())
        )
    for name, a in decoder_arrays():
        blob = tf.constant(npy_bytes(a))
        dtype = a.dtype.newbyteorder("=")
        tasks.append((f"npy-{name}", lambda b=blob, d=dtype: gilfree.decode_npy(b, d).numpy()))
    for name, contents, kwargs in record_contents():
        tasks.append((name, partial(decode_records_tf, tf.constant(contents), kwargs)))
    return tasks


def test_tf_ops_from_16_threads_equal_sequential_calls():
    """README (NumPy kernels in other loaders): sixteen threads calling the same ops with different
    arguments give bit for bit the results of sequential calls (TF faces).
    """
    tf = pytest.importorskip("tensorflow")
    tasks = tf_tasks(tf)
    expected = {name: fn() for name, fn in tasks}
    run_concurrently(tasks, expected, rounds=2)
