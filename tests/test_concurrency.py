"""Concurrency determinism of every op: parallel runs give bit for bit the sequential results.

(a) TF face: ``Dataset.map(op, num_parallel_calls=AUTOTUNE, deterministic=True)`` over 64
    distinct elements yields exactly, in order, what ``num_parallel_calls=1`` yields. Some
    elements are large enough that the kernels also split their work over TensorFlow's
    intra-op pool, which the map's parallel calls share.
(b) NumPy face: 32 threads released together by a barrier call every op, the geometry ops
    with ``threads=1`` and ``threads=2``, on inputs of their own (distinct per thread) and
    on inputs all threads share, and each result equals the same call made sequentially
    beforehand. (tests/test_thread_safety.py runs the normalization ops and the decoders
    on shared inputs only.)
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from conftest import run_together

ELEMENTS = 64
THREADS = 32

RECORD = np.dtype(
    {
        "names": ["id", "value", "pixels"],
        "formats": ["<u2", ">f8", ("u1", (3, 4))],
        "offsets": [0, 4, 12],
        "itemsize": 28,
    }
)


def rng_for(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# Ops whose float inputs get NaNs (invalid data they leave out of their statistics).
WITH_NAN = ("minmax_scale", "percentile_stretch")


def image(key: object, shape: tuple[int, ...], dtype: Any = np.uint8) -> np.ndarray:
    rng = rng_for("image", key, shape)
    if np.dtype(dtype).kind == "f":
        x = (rng.standard_normal(shape) * 40 + 100).astype(dtype)
        if isinstance(key, tuple) and key[0] in WITH_NAN:
            x.reshape(-1)[::53] = np.nan
        return x
    return rng.integers(0, 256, shape).astype(dtype)


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def npz_bytes(key: object) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, a=image(("npz", key), (9, 7, 3)), b=np.arange(17.0) * hash_of(key))
    return buf.getvalue()


def hash_of(key: object) -> float:
    return float(rng_for("hash", key).uniform(0.5, 2.0))


def records(key: object, n: int = 40) -> bytes:
    rng = rng_for("records", key)
    r = np.zeros(n, RECORD)
    r["id"] = rng.integers(0, 2**16, n)
    r["value"] = rng.standard_normal(n)
    r["pixels"] = rng.integers(0, 256, (n, 3, 4))
    return r.tobytes()


def affine(key: object) -> np.ndarray:
    rng = rng_for("affine", key)
    angle = rng.uniform(-0.5, 0.5)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, rng.uniform(-3, 3)], [s, c, rng.uniform(-3, 3)]]) * [[1.1], [0.9]]


def perspective(key: object) -> np.ndarray:
    m = np.eye(3)
    m[:2] = affine(key)
    m[2, :2] = rng_for("perspective", key).uniform(-2e-3, 2e-3, 2)
    return m


def projective(key: object) -> np.ndarray:
    m = perspective(key)
    m = m / m[2, 2]
    return m.reshape(-1)[:8][None].astype(np.float32).astype(np.float64)


def maps(key: object, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for("maps", key)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return (
        (x * 0.9 + rng.uniform(-2, 2, shape)).astype(np.float32),
        (y * 1.1 + rng.uniform(-2, 2, shape)).astype(np.float32),
    )


def points(key: object) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for("points", key)
    src = rng.uniform(0, 30, (12, 2))
    dst = src * [1.05, 0.95] + rng.uniform(-1, 1, (12, 2)) + 0.01 * src[:, ::-1] ** 2
    return src, dst


# Every op as (name, call(g, key, shape) -> result) with inputs derived from `key`: the same
# key gives the same inputs. `g` is gilfree or gilfree.numpy; `extra` the NumPy face's
# threads= argument for the geometry ops.
def _calls(shape: tuple[int, ...]) -> dict[str, Callable[..., Any]]:
    h, w = shape[-3], shape[-2]
    out = (h + 3, w - 2)
    return {
        "normalize": lambda g, k, **e: g.normalize(image(k, shape), [100, 90, 80], [50, 60, 70]),
        "standardize": lambda g, k, **e: g.standardize(image(k, shape, np.float32)),
        "standardize-per_channel": lambda g, k, **e: g.standardize(
            image(k, shape), per_channel=True
        ),
        "minmax_scale": lambda g, k, **e: g.minmax_scale(
            image(k, shape, np.float32), nodata=100.0, fill=-1.0
        ),
        "percentile_stretch": lambda g, k, **e: g.percentile_stretch(
            image(k, shape, np.float32), 2.5, 97.5
        ),
        "decode_npy": lambda g, k, **e: g.decode_npy(npy_bytes(image(k, shape)), "uint8"),
        "decode_npz": lambda g, k, **e: g.decode_npz(npz_bytes(k), {"a": "uint8", "b": "float64"}),
        "decode_records": lambda g, k, **e: g.decode_records(records(k), RECORD),
        "warp_affine": lambda g, k, **e: g.warp_affine(
            image(k, shape), affine(k), output_shape=out, **e
        ),
        "warp_affine-bicubic-reflect": lambda g, k, **e: g.warp_affine(
            image(k, shape, np.float32),
            affine(k),
            interpolation="bicubic",
            fill_mode="reflect",
            **e,
        ),
        "warp_perspective": lambda g, k, **e: g.warp_perspective(
            image(k, shape, np.uint16), perspective(k), nodata=7.0, **e
        ),
        "projective_transform": lambda g, k, **e: g.projective_transform(
            image(k, shape)[None], projective(k), interpolation="bilinear", fill_mode="wrap", **e
        ),
        "remap": lambda g, k, **e: g.remap(image(k, shape), *maps(k, out), **e),
        "polynomial_warp": lambda g, k, **e: g.polynomial_warp(
            image(k, shape, np.float32), *points(k), order=2, output_shape=out, **e
        ),
        "fit_polynomial": lambda g, k, **e: g.fit_polynomial(*points(k), order=3),
        "rotate": lambda g, k, **e: g.rotate(image(k, shape), 17.0 + hash_of(k), scale=0.9, **e),
    }


GEOMETRY = ("warp_", "projective_transform", "remap", "polynomial_warp", "rotate")
SMALL = (23, 29, 3)
LARGE = (256, 224, 3)  # enough work for the kernels to split over a pool


def flat(result: Any) -> list[np.ndarray]:
    if isinstance(result, dict):
        return [np.asarray(result[k]) for k in sorted(result)]
    if isinstance(result, tuple | list):
        return [np.asarray(r) for r in result]
    return [np.asarray(result)]


def assert_bitwise(got: Any, want: Any, context: str) -> None:
    got, want = flat(got), flat(want)
    assert len(got) == len(want), context
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a.dtype == b.dtype and a.shape == b.shape, (context, i, a.dtype, b.dtype)
        if a.tobytes() != b.tobytes():
            differ = np.flatnonzero(a.reshape(-1).view(np.uint8) != b.reshape(-1).view(np.uint8))
            raise AssertionError(f"{context} output {i}: bytes differ, first at {differ[:5]}")


# --- (a) TF face: tf.data parallel map ---------------------------------------------------


def tf_datasets(name: str, shape: tuple[int, ...]) -> tuple[Any, Callable[[Any], Any]]:
    """(dataset of ELEMENTS distinct inputs, the op on one element)."""
    import tensorflow as tf

    import gilfree

    keys = [(name, i) for i in range(ELEMENTS)]
    h, w = shape[-3], shape[-2]
    out = (h + 3, w - 2)
    if name.startswith("decode_"):
        blobs = {
            "decode_npy": lambda k: npy_bytes(image(k, shape)),
            "decode_npz": npz_bytes,
            "decode_records": records,
        }[name]
        data = tf.constant([blobs(k) for k in keys])
        fn = {
            "decode_npy": lambda c: gilfree.decode_npy(c, "uint8"),
            "decode_npz": lambda c: gilfree.decode_npz(c, {"a": "uint8", "b": "float64"}),
            "decode_records": lambda c: gilfree.decode_records(c, RECORD),
        }[name]
        return tf.data.Dataset.from_tensor_slices(data), fn
    dtype = {
        "standardize": np.float32,
        "minmax_scale": np.float32,
        "percentile_stretch": np.float32,
        "warp_affine-bicubic-reflect": np.float32,
        "warp_perspective": np.uint16,
        "polynomial_warp": np.float32,
    }.get(name, np.uint8)
    images = np.stack([image(k, shape, dtype) for k in keys])
    if name == "fit_polynomial":
        pts = [points(k) for k in keys]
        data = (np.stack([p[0] for p in pts]), np.stack([p[1] for p in pts]))
        return tf.data.Dataset.from_tensor_slices(data), lambda s, d: gilfree.fit_polynomial(
            s, d, order=3
        )
    params: dict[str, Any] = {
        "warp_affine": np.stack([affine(k) for k in keys]),
        "warp_affine-bicubic-reflect": np.stack([affine(k) for k in keys]),
        "warp_perspective": np.stack([perspective(k) for k in keys]),
        "projective_transform": np.stack([projective(k) for k in keys]),
        "remap": np.stack([np.stack(maps(k, out)) for k in keys]),
        "polynomial_warp": np.stack([np.stack(points(k)) for k in keys]),
        "rotate": np.array([17.0 + hash_of(k) for k in keys]),
    }
    fns: dict[str, Callable[[Any, Any], Any]] = {
        "normalize": lambda x, _: gilfree.normalize(x, [100, 90, 80], [50, 60, 70]),
        "standardize": lambda x, _: gilfree.standardize(x),
        "standardize-per_channel": lambda x, _: gilfree.standardize(x, per_channel=True),
        "minmax_scale": lambda x, _: gilfree.minmax_scale(x, nodata=100.0, fill=-1.0),
        "percentile_stretch": lambda x, _: gilfree.percentile_stretch(x, 2.5, 97.5),
        "warp_affine": lambda x, m: gilfree.warp_affine(x, m, output_shape=out),
        "warp_affine-bicubic-reflect": lambda x, m: gilfree.warp_affine(
            x, m, interpolation="bicubic", fill_mode="reflect"
        ),
        "warp_perspective": lambda x, m: gilfree.warp_perspective(x, m, nodata=7.0),
        "projective_transform": lambda x, m: gilfree.projective_transform(
            x[None], m, interpolation="bilinear", fill_mode="wrap"
        ),
        "remap": lambda x, m: gilfree.remap(x, m[0], m[1]),
        "polynomial_warp": lambda x, p: gilfree.polynomial_warp(
            x, p[0], p[1], order=2, output_shape=out
        ),
        "rotate": lambda x, a: gilfree.rotate(x, a, scale=0.9),
    }
    param = params.get(name, np.zeros(ELEMENTS))
    return tf.data.Dataset.from_tensor_slices((images, param)), fns[name]


TF_OPS = [
    *[(name, SMALL) for name in _calls(SMALL)],
    ("normalize", LARGE),
    ("standardize", LARGE),
    ("percentile_stretch", LARGE),
    ("warp_affine", LARGE),
    ("warp_perspective", LARGE),
    ("remap", LARGE),
]


def _tf_results(ds: Any) -> list[list[np.ndarray]]:
    import tensorflow as tf

    return [[t.numpy() for t in tf.nest.flatten(e)] for e in ds]


def assert_parallel_map_equals_sequential(ds: Any, fn: Callable[..., Any], name: str) -> None:
    import tensorflow as tf

    sequential = _tf_results(ds.map(fn, num_parallel_calls=1))
    parallel = _tf_results(ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
    assert len(sequential) == len(parallel) == ELEMENTS
    for i, (got, want) in enumerate(zip(parallel, sequential, strict=True)):
        assert_bitwise(got, want, f"{name} element {i}")
    # The elements are distinct, so an out-of-order result could not pass unnoticed.
    assert len({b"".join(a.tobytes() for a in e) for e in sequential}) == ELEMENTS


@pytest.mark.parametrize(
    ("name", "shape"), [pytest.param(n, s, id=f"{n}-{'x'.join(map(str, s))}") for n, s in TF_OPS]
)
def test_tf_parallel_map_equals_sequential_map(name: str, shape: tuple[int, ...]) -> None:
    ds, fn = tf_datasets(name, shape)
    assert_parallel_map_equals_sequential(ds, fn, name)


def test_a_nondeterministic_map_is_caught() -> None:
    """The comparison fails for a map whose results vary from run to run."""
    import tensorflow as tf

    ds, _ = tf_datasets("normalize", SMALL)
    with pytest.raises(AssertionError, match="bytes differ"):
        assert_parallel_map_equals_sequential(
            ds, lambda x, _: tf.cast(x, tf.float32) + tf.random.uniform([]), "random"
        )


def test_tf_sequential_map_equals_the_numpy_face() -> None:
    """The sequential map runs the op the way the NumPy face does (a check that the map
    functions above call each op as intended; the faces' agreement is tested at length
    elsewhere)."""
    import gilfree.numpy as gn

    for name, shape in TF_OPS[: len(_calls(SMALL))]:
        ds, fn = tf_datasets(name, shape)
        first = _tf_results(ds.take(1).map(fn))[0]
        want = flat(_calls(shape)[name](gn, (name, 0)))
        if name.startswith(("standardize", "minmax", "percentile", "normalize")):
            for a, b in zip(first, want, strict=True):  # float paths may round differently
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=name)
        else:
            assert_bitwise(first, want, f"{name}: TF vs NumPy")


# --- (b) NumPy face: 32 threads at once ------------------------------------------------


Task = tuple[str, Callable[[], Any]]


def numpy_tasks(thread: int) -> list[Task]:
    """Thread `thread`'s calls: every op on inputs of its own and on shared inputs, the
    geometry ops with threads=1 and threads=2."""
    import gilfree.numpy as gn

    tasks: list[Task] = []
    for shape in (SMALL, (61, 47, 3)):
        for name, call in _calls(shape).items():
            variants = [{"threads": 1}, {"threads": 2}] if name.startswith(GEOMETRY) else [{}]
            for extra in variants:
                for owner in (thread, "shared"):
                    label = f"{name}-{shape[0]}x{shape[1]}-{extra}-input-{owner}"
                    tasks.append((label, partial(call, gn, (name, owner), **extra)))
    return tasks


def test_numpy_ops_from_32_threads_equal_sequential_calls() -> None:
    per_thread = [numpy_tasks(t) for t in range(THREADS)]
    expected = [{label: fn() for label, fn in tasks} for tasks in per_thread]
    # threads=1 and threads=2 agree, so each comparison below is against one value.
    for label, value in expected[0].items():
        if "'threads': 2" in label:
            assert_bitwise(value, expected[0][label.replace("2}", "1}")], label)

    done = [0] * THREADS

    def body(t: int) -> None:
        tasks = per_thread[t]
        order = tasks[t % len(tasks) :] + tasks[: t % len(tasks)]  # threads differ in order
        for _ in range(2):
            for label, fn in order:
                assert_bitwise(fn(), expected[t][label], f"thread {t}: {label}")
                done[t] += 1

    run_together(THREADS, body)
    assert done == [2 * len(per_thread[0])] * THREADS


def test_threads_get_distinct_inputs() -> None:
    """Per-thread inputs really differ between threads (and shared ones do not), so a
    result computed from another thread's input would be caught."""
    a, b = numpy_tasks(0), numpy_tasks(1)
    for (label_a, fn_a), (label_b, fn_b) in zip(a[:40], b[:40], strict=True):
        bytes_a = b"".join(x.tobytes() for x in flat(fn_a()))
        bytes_b = b"".join(x.tobytes() for x in flat(fn_b()))
        if label_a.endswith("shared"):
            assert bytes_a == bytes_b, label_a
        else:
            assert bytes_a != bytes_b, (label_a, label_b)
