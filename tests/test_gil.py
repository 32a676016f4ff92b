"""The NumPy kernels release the GIL while they compute.

Method: the main thread increments a pure-Python counter while a worker thread runs the
kernel; the counter's rate is compared with an idle rate (worker asleep) measured with the
same loop right before and after. If the kernel held the GIL, the main thread could only run
between calls, one switch interval each time (a few per cent of the idle rate: the control
test shows it with a GIL-holding C call; a short switch interval keeps that leak small).
With the GIL released it runs at nearly full speed. The threshold (30 % of the idle rate)
leaves room for a loaded 2-core machine; a noisy attempt is retried, which cannot make a
GIL-holding kernel pass.
"""

from __future__ import annotations

import io
import sys
import threading
import time

import numpy as np
import pytest
from conftest import OPS

ATTEMPTS = 3
THRESHOLD = 0.3


def count_while(work) -> float:
    """Counter increments per second in the main thread while `work` runs in a thread."""
    done = threading.Event()
    started = threading.Event()

    def worker():
        started.set()
        try:
            work()
        finally:
            done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    n = 0
    t0 = time.perf_counter()
    while not done.is_set():
        n += 1
    elapsed = time.perf_counter() - t0
    thread.join()
    return n / elapsed


def idle_rate(seconds: float) -> float:
    return count_while(lambda: time.sleep(seconds))


def repeat_for(fn, seconds: float):
    """A work function calling fn() repeatedly for about `seconds` (at least twice)."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    calls = max(2, int(np.ceil(seconds / max(once, 1e-6))))

    def work():
        for _ in range(calls):
            fn()

    return work, calls * once


@pytest.fixture(autouse=True)
def short_switch_interval():
    """A GIL-holding kernel lets the main thread run only between calls, for one switch
    interval each time; a short interval makes that leak negligible (a few per cent)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(5e-4)
    yield
    sys.setswitchinterval(old)


@pytest.fixture(scope="module")
def big_image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 65536, size=(2048, 2048, 3), dtype=np.uint16)


def gil_ratio(work, duration):
    """Best (over a few attempts) of: rate during work / mean idle rate around it."""
    ratios = []
    for _ in range(ATTEMPTS):
        before = idle_rate(duration)
        during = count_while(work)
        after = idle_rate(duration)
        ratios.append(during / ((before + after) / 2))
        if ratios[-1] >= THRESHOLD:
            break
    return max(ratios), ratios


def test_control_gil_holding_call_is_detected():
    # sum(range(n)) runs in C without ever releasing the GIL.
    work, duration = repeat_for(lambda: sum(range(3_000_000)), 0.6)
    ratios = []
    for _ in range(ATTEMPTS):
        ratios.append(count_while(work) / idle_rate(duration))
        if ratios[-1] < THRESHOLD:
            break
    assert min(ratios) < THRESHOLD, f"a GIL-holding call let the counter run at {ratios} of idle"


@pytest.mark.parametrize("op", OPS)
def test_numpy_kernel_releases_gil(op, big_image):
    """README (The ops): `gilfree.numpy.<op>` releases the GIL.
    README (NumPy kernels in other loaders): gilfree.numpy releases the GIL.
    """
    import gilfree.numpy

    fn = getattr(gilfree.numpy, op)
    args = (1000.0, 2000.0) if op == "normalize" else ()
    work, duration = repeat_for(lambda: fn(big_image, *args), 1.0)
    best, ratios = gil_ratio(work, duration)
    assert best >= THRESHOLD, (
        f"counter ran at {[f'{r:.0%}' for r in ratios]} of the idle rate during {op}: "
        "the kernel seems to hold the GIL"
    )


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _geometry_calls(image: np.ndarray) -> dict:
    """One call per geometry op of the NumPy face on `image` (2048x2048x3 uint16)."""
    import gilfree.numpy as gnp

    h, w = image.shape[:2]
    angle = np.deg2rad(17.0)
    c, s = 1.1 * np.cos(angle), 1.1 * np.sin(angle)
    matrix = np.array([[c, -s, 40.0], [s, c, -30.0]])
    homography = np.array([[c, -s, 40.0], [s, c, -30.0], [1e-5, -2e-5, 1.0]])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xx * 0.9 + 20.3, yy * 0.95 + 10.6
    batch = image.astype(np.float32)[None]  # projective_transform: float32 [N, H, W, C]
    src = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w / 2, h / 2], [w / 3, h / 4]])
    dst = src * 1.05 + np.array([[3, -2], [1, 4], [-2, 2], [5, 1], [0, 0], [2, -3]])
    return {
        "warp_affine": lambda: gnp.warp_affine(image, matrix),
        "warp_affine bicubic": lambda: gnp.warp_affine(image, matrix, interpolation="bicubic"),
        "warp_affine nearest": lambda: gnp.warp_affine(image, matrix, interpolation="nearest"),
        "warp_perspective": lambda: gnp.warp_perspective(image, homography),
        "projective_transform": lambda: gnp.projective_transform(
            batch, [[1.0, 0.1, -3.0, -0.08, 0.97, 2.0, 1e-5, -2e-5]]
        ),
        "remap": lambda: gnp.remap(image, map_x, map_y),
        "polynomial_warp": lambda: gnp.polynomial_warp(image, src, dst, order=2),
        "rotate": lambda: gnp.rotate(image, 17.0),
    }


@pytest.mark.parametrize(
    "op",
    [
        "warp_affine",
        "warp_affine bicubic",
        "warp_affine nearest",
        "warp_perspective",
        "projective_transform",
        "remap",
        "polynomial_warp",
        "rotate",
    ],
)
def test_numpy_warp_releases_gil(op, big_image):
    """README (The ops): `gilfree.numpy.<op>` releases the GIL (geometry ops)."""
    call = _geometry_calls(big_image)[op]
    work, duration = repeat_for(call, 1.0)
    best, ratios = gil_ratio(work, duration)
    assert best >= THRESHOLD, (
        f"counter ran at {[f'{r:.0%}' for r in ratios]} of the idle rate during {op}: "
        "the kernel seems to hold the GIL"
    )


@pytest.mark.parametrize("op", ["decode_npy", "decode_npz", "decode_records", "decode_tiff"])
def test_numpy_decoder_releases_gil(op):
    """README (The ops): `gilfree.numpy.<op>` releases the GIL (decoders)."""
    import gilfree.numpy as gnp

    rng = np.random.default_rng(1)
    if op == "decode_npy":
        data = _npy_bytes(rng.integers(0, 65536, size=(2048, 2048, 3), dtype=np.uint16))

        def call():
            return gnp.decode_npy(data, np.uint16)

    elif op == "decode_npz":
        # Smooth bands with noise: deflate has work to do, and the archive stays small.
        y, x = np.mgrid[0:1024, 0:1024]
        bands = ((x * 7 + y * 3) % 4096 + rng.integers(0, 64, size=(1024, 1024))).astype(np.uint16)
        data = _npz_bytes(image=bands, labels=np.arange(1000, dtype=np.int64))
        spec = {"image": np.uint16, "labels": np.int64}

        def call():
            return gnp.decode_npz(data, spec)

    elif op == "decode_tiff":
        tifffile = pytest.importorskip("tifffile")
        y, x = np.mgrid[0:1024, 0:1024]
        bands = ((x * 7 + y * 3) % 4096 + rng.integers(0, 64, size=(1024, 1024))).astype(np.uint16)
        f = io.BytesIO()
        tifffile.imwrite(
            f, np.dstack([bands] * 4), compression="zlib", predictor=2, tile=(256, 256)
        )
        data = f.getvalue()

        def call():
            return gnp.decode_tiff(data)

    else:
        schema = np.dtype([("label", "u1"), ("image", "u1", (3, 32, 32))])
        records = np.zeros(20000, schema)
        records["label"] = rng.integers(0, 10, size=20000)
        records["image"] = rng.integers(0, 256, size=(20000, 3, 32, 32))
        data = records.tobytes()

        def call():
            return gnp.decode_records(data, schema)

    work, duration = repeat_for(call, 1.0)
    best, ratios = gil_ratio(work, duration)
    assert best >= THRESHOLD, (
        f"counter ran at {[f'{r:.0%}' for r in ratios]} of the idle rate during {op}: "
        "the decoder seems to hold the GIL"
    )
