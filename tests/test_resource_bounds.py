"""Inputs that ask for a huge output are refused quickly, before anything large is allocated.

Every op whose output size comes from its arguments (the geometry ops' ``output_shape``,
remap's maps) or from the bytes it decodes (.npy shapes, .npz member sizes, record
counts) is given an input asking for gigabytes or more: each must raise its clear
error (naming the argument, what was given and the limit) within a second or two, and the
peak resident memory of the process (VmHWM) must not grow by more than
``MAX_PEAK_GROWTH``. The limits themselves are listed in docs/geometry-spec.md and
docs/decoding-spec.md ("Resource limits").

The cases run in a fresh interpreter per face (``python tests/test_resource_bounds.py
numpy|tf`` prints one JSON line per case), away from other tests' threads and caches.
Each case is measured alone: the peak is reset before it (/proc/self/clear_refs) and
read after it (VmHWM).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest

MiB = 2**20
# A refused case may allocate its small bookkeeping, the TF face its conversions of the
# inputs to tensors, and a deflated .npz member its first buffer (2x its compressed size
# + 64 KiB: 8 MiB for the 4 MiB members below), but nothing near the gigabytes it asks
# for. Measured: 0-8 MiB on the NumPy face, 0-16 MiB on the TF face (before the .npz fix
# the 4 GiB claim raised the peak by 4 GiB).
MAX_PEAK_GROWTH = 48 * MiB
# Seconds a refusal may take on a loaded 2-core machine (measured: under 0.05 s each;
# before the .npz fix the 4 GiB claim took 6.7 s and 4.1 GiB).
MAX_SECONDS = 2.0


# --- hostile inputs -------------------------------------------------------------------


def npy_with_header(header: str, data: bytes = b"") -> bytes:
    """A version 1.0 .npy file with the given header dict text."""
    text = header.encode("latin-1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def zip_one_member(
    name: str, payload: bytes, *, claimed: int, method: int, crc: int = 0, entries: int = 1
) -> bytes:
    """A ZIP archive of one member whose directory claims `claimed` bytes uncompressed
    (as a ZIP64 extra field when it does not fit in 32 bits) and `entries` entries."""
    raw = name.encode()
    zip64 = claimed >= 0xFFFFFFFF
    extra = struct.pack("<HHQ", 1, 8, claimed) if zip64 else b""
    size32 = 0xFFFFFFFF if zip64 else claimed
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, crc, len(payload), size32, len(raw), 0
    )
    body = local + raw + payload
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        45,
        45,
        0,
        method,
        0,
        0,
        crc,
        len(payload),
        size32,
        len(raw),
        len(extra),
        0,
        0,
        0,
        0,
        0,
    )
    central += raw + extra
    eocd = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        min(entries, 0xFFFF),
        min(entries, 0xFFFF),
        len(central),
        len(body),
        0,
    )
    return body + central + eocd


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# The largest claim deflate's expansion bound allows for a 4 MiB member: 4 GiB + 3 MiB.
BOMB_COMPRESSED = 4 * MiB
BOMB_CLAIM = 1032 * BOMB_COMPRESSED + 1024


def bomb_payload() -> bytes:
    """A real deflate stream (a small .npy of zeros) padded to 4 MiB of compressed bytes:
    it claims 4 GiB but inflates to a few hundred bytes."""
    stream = deflated(
        npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (100,), }", bytes(100))
    )
    return stream + bytes(BOMB_COMPRESSED - len(stream))


# --- the cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[..., Any]  # (face module, *inputs) -> the op's result
    pattern: str  # the error message must match this (re.search)
    inputs: Callable[[], tuple[Any, ...]] = tuple  # built before measuring (may be MiBs)
    faces: tuple[str, ...] = ("numpy", "tf")


IMG = np.zeros((4, 4, 3), np.uint8)
IMGS = np.zeros((2, 4, 4, 3), np.uint8)
EYE = np.eye(2, 3)
POINTS = [[0, 0], [3, 0], [0, 3], [3, 3]]
SHIFT = np.float32([[1, 0, 0, 0, 1, 0, 0, 0]])
HUGE = (2**20, 2**20)
SCHEMA_GIB = np.dtype([("a", "u1", (2**30,))])
NPY_2_40 = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
NPY_2_64 = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"


def over_4gib(arg: str, shape: str, nbytes: int) -> str:
    return rf"{arg} \({shape}\) gives an output of {nbytes} bytes, above the limit of 2\^32 bytes"


def side_limit(arg: str, given: str) -> str:
    return rf"{arg} must give a positive output height and width of at most 2\^20, got \({given}\)"


OVER_4GIB = over_4gib("output_shape", "1048576, 1048576", 2**40 * 3)
ZIP = r"contents: invalid zip archive: "
NPY_TRUNCATED = (
    r"contents: truncated \.npy data: the header's shape needs 8796093022208 bytes but 0 follow"
)


def npz_of(npy: bytes) -> bytes:
    return zip_one_member("a.npy", deflated(npy), claimed=len(npy), method=8, crc=zlib.crc32(npy))


def tf_tensor(value: Any, dtype: str) -> Any:
    import tensorflow as tf

    return tf.constant(value, getattr(tf, dtype))


def tf_decode_records_raw(g: Any, **attrs: Any) -> Any:
    import tensorflow as tf

    return g._tf_ops.load_ops().gilfree_decode_records(
        tf.constant(bytes(8)), dtypes=[tf.uint8], offsets=[0], big_endian=[False], **attrs
    )


def tiff_claiming_2_tib() -> bytes:
    """A TIFF page of 2^20 x 2^20 uint16 samples in one deflated strip of 12 bytes."""
    import tiff_files

    strip = zlib.compress(bytes(40))
    one = tiff_files.raw_tiff((4, 5, 1), "<u2", [strip], extra={259: (3, [8]), 278: (4, [2**31])})
    return tiff_files.patch(tiff_files.patch(one, 256, 2**20), 257, 2**20)


CASES = [
    Case(
        "decode_tiff-strip-claims-2TiB",
        lambda g, t: g.decode_tiff(t, "uint16"),
        r"contents: strip 0 holds 12 bytes of deflate data, which cannot decode to the "
        r"2199023255552 bytes its shape needs \(at most 1032x\)",
        inputs=lambda: (tiff_claiming_2_tib(),),
    ),
    Case("warp_affine-huge", lambda g: g.warp_affine(IMG, EYE, output_shape=HUGE), OVER_4GIB),
    Case(
        "warp_affine-side",
        lambda g: g.warp_affine(IMG, EYE, output_shape=(2**20 + 1, 1)),
        side_limit("output_shape", "1048577, 1"),
    ),
    Case(
        "warp_affine-beyond-int64",
        lambda g: g.warp_affine(IMG, EYE, output_shape=(2**70, 4)),
        side_limit("output_shape", f"{2**70}, 4"),
    ),
    Case(
        # Saturated, not wrapped to (4, 4) by the cast to the op's int32.
        "warp_affine-int64-tensor-beyond-int32",
        lambda g, size: g.warp_affine(IMG, EYE, output_shape=size),
        side_limit("output_shape", "2147483647, 4"),
        inputs=lambda: (tf_tensor([2**32 + 4, 4], "int64"),),
        faces=("tf",),
    ),
    Case(
        "warp_perspective-huge",
        lambda g: g.warp_perspective(IMG, np.eye(3), output_shape=HUGE),
        OVER_4GIB,
    ),
    Case(
        "projective_transform-huge",
        lambda g: g.projective_transform(IMGS, SHIFT, output_shape=HUGE),
        over_4gib("output_shape", "1048576, 1048576", 2**40 * 6),
    ),
    Case(
        "polynomial_warp-huge",
        lambda g: g.polynomial_warp(IMG, POINTS, POINTS, output_shape=HUGE),
        OVER_4GIB,
    ),
    Case("rotate-huge", lambda g: g.rotate(IMG, 30.0, output_shape=HUGE), OVER_4GIB),
    Case(
        # 256 images of 256 channels sampled on a 256 x 1024 map: 16 GiB of uint8 output
        # from 64 KiB of image and 2 MiB of maps.
        "remap-maps-times-batch",
        lambda g, img, m: g.remap(img, m, m),
        over_4gib("map_x", "256, 1024", 2**34),
        inputs=lambda: (np.zeros((256, 1, 1, 256), np.uint8), np.zeros((256, 1024), np.float32)),
    ),
    Case(
        "remap-side",
        lambda g, m: g.remap(IMG, m, m),
        side_limit("map_x", "1, 1048577"),
        inputs=lambda: (np.zeros((1, 2**20 + 1), np.float32),),
    ),
    Case(
        "decode_npy-shape-2^40-on-a-tiny-file",
        lambda g, npy: g.decode_npy(npy, "float64"),
        NPY_TRUNCATED,
        inputs=lambda: (npy_with_header(NPY_2_40),),
    ),
    Case(
        "decode_npy-shape-overflows-int64",
        lambda g, npy: g.decode_npy(npy, "float64"),
        r"contents: invalid \.npy shape: the array size overflows 64 bits",
        inputs=lambda: (npy_with_header(NPY_2_64),),
    ),
    Case(
        "decode_npz-deflated-member-claims-4GiB",
        lambda g, z: g.decode_npz(z, {"a": "uint8"}),
        r"contents: invalid deflate stream: it inflates to 228 bytes, "
        rf"but the directory says {BOMB_CLAIM} \(member 'a\.npy'\)",
        inputs=lambda: (zip_one_member("a.npy", bomb_payload(), claimed=BOMB_CLAIM, method=8),),
    ),
    Case(
        "decode_npz-deflated-member-claims-2^62-zip64",
        lambda g, z: g.decode_npz(z, {"a": "uint8"}),
        ZIP + rf"member 'a\.npy': deflate: it claims {2**62} bytes from {BOMB_COMPRESSED} "
        "compressed bytes, more than deflate can produce",
        inputs=lambda: (zip_one_member("a.npy", bomb_payload(), claimed=2**62, method=8),),
    ),
    Case(
        "decode_npz-stored-member-claims-4GiB",
        lambda g, z: g.decode_npz(z, {"a": "uint8"}),
        ZIP + r"member 'a\.npy': a stored member's sizes differ",
        inputs=lambda: (zip_one_member("a.npy", bytes(1000), claimed=2**32, method=0),),
    ),
    Case(
        "decode_npz-directory-claims-65534-entries",
        lambda g, z: g.decode_npz(z, {"a": "uint8"}),
        ZIP + r"the directory claims 65534 entries in 51 bytes",
        inputs=lambda: (zip_one_member("a.npy", bytes(10), claimed=10, method=0, entries=0xFFFE),),
    ),
    Case(
        "decode_npz-member-npy-claims-2^40",
        lambda g, z: g.decode_npz(z, {"a": "float64"}),
        NPY_TRUNCATED + r".*member 'a\.npy'",
        inputs=lambda: (npz_of(npy_with_header(NPY_2_40)),),
    ),
    Case(
        "decode_records-1GiB-record-from-10-bytes",
        lambda g: g.decode_records(bytes(10), SCHEMA_GIB),
        r"contents: 10 bytes of records is not a whole number of 1073741824-byte records",
    ),
    Case(
        "decode_records-header-bytes-2^62",
        lambda g: g.decode_records(bytes(10), SCHEMA_GIB, header_bytes=2**62),
        rf"contents: truncated: 10 bytes cannot hold header_bytes={2**62} and footer_bytes=0",
    ),
    Case(
        # Field counts that overflow 64 bits (2^33 * 2^31 wraps to 0) are refused by the
        # record-layout check, not taken as empty fields (the private entry point: a
        # NumPy dtype cannot hold such a subarray).
        "decode_records-field-count-overflows-int64",
        lambda g: g._native.decode_records(
            bytes(8), 8, [0], ["uint8"], [[2**33, 2**31]], [False], 0, 0
        ),
        r"schema: field 0 \(offset 0, -1 x uint8\) does not fit in a record of 8 bytes",
        faces=("numpy",),
    ),
    Case(
        "decode_records-field-count-overflows-int64",
        lambda g: tf_decode_records_raw(g, record_bytes=8, field_shapes=[[2**33, 2**31]]),
        r"Shape \[8589934592,2147483648\] is too large",
        faces=("tf",),
    ),
]


def _face(face: str) -> Any:
    if face == "numpy":
        import gilfree.numpy

        return gilfree.numpy
    import gilfree

    return gilfree


def _warm_up(g: Any) -> None:
    """One valid call of each op, so that first-call costs (kernel construction, thread
    pools, TensorFlow's caches) are not counted against the first case."""
    g.warp_affine(IMG, EYE, output_shape=(5, 5))
    g.warp_perspective(IMG, np.eye(3), output_shape=(5, 5))
    g.projective_transform(IMGS, np.float32([[1, 0, 0, 0, 1, 0, 0, 0]]), output_shape=(5, 5))
    g.polynomial_warp(IMG, [[0, 0], [3, 0], [0, 3]], [[0, 0], [3, 0], [0, 3]], output_shape=(5, 5))
    g.rotate(IMG, 30.0)
    g.remap(IMG, np.zeros((5, 5), np.float32), np.zeros((5, 5), np.float32))
    npy = npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", b"abc")
    g.decode_npy(npy, "uint8")
    g.decode_npz(
        zip_one_member("a.npy", deflated(npy), claimed=len(npy), method=8, crc=zlib.crc32(npy)),
        {"a": "uint8"},
    )
    g.decode_records(bytes(4), np.dtype([("a", "<u2")]))


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"/proc/self/status has no {key}")


def peak_growth(fn: Callable[[], Any]) -> tuple[Any, int]:
    """fn()'s result (or the exception it raised) and by how many bytes the peak resident
    memory rose above the resident memory before the call. The peak (VmHWM) is first
    reset to the current RSS (Linux's /proc/self/clear_refs), so earlier peaks, this
    process's or the parent's, cannot hide an allocation."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kib("VmRSS")
    try:
        result: Any = fn()
    except Exception as e:  # returned to the caller, which checks type and text
        result = e
    return result, (_status_kib("VmHWM") - before) * 1024


def measure(face: str) -> list[dict[str, Any]]:
    """Runs every case of `face` in this process, each measured alone."""
    g = _face(face)
    _warm_up(g)
    rows = []
    for case in CASES:
        if face not in case.faces:
            continue
        inputs = case.inputs()
        start = time.perf_counter()
        result, growth = peak_growth(lambda c=case, i=inputs: c.call(g, *i))
        seconds = time.perf_counter() - start
        error = isinstance(result, Exception)
        rows.append(
            {
                "name": case.name,
                "error": type(result).__name__ if error else None,
                "message": str(result) if error else "",
                "seconds": seconds,
                "peak_growth": growth,
            }
        )
        del inputs, result
    return rows


@cache
def results(face: str) -> dict[str, dict[str, Any]]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, __file__, face], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {r["name"]: r for r in map(json.loads, proc.stdout.splitlines())}


ERRORS = {"numpy": ("ValueError",), "tf": ("InvalidArgumentError",)}


@pytest.mark.parametrize(
    ("face", "case"),
    [pytest.param(f, c, id=f"{f}-{c.name}") for c in CASES for f in c.faces],
)
def test_huge_output_is_refused_quickly_without_allocating(face: str, case: Case) -> None:
    """README (Record decoding): nothing is allocated that the input's size cannot justify."""
    r = results(face)[case.name]
    assert r["error"] in ERRORS[face], r
    assert re.search(case.pattern, r["message"], re.DOTALL), r["message"]
    assert r["seconds"] < MAX_SECONDS, r
    assert r["peak_growth"] < MAX_PEAK_GROWTH, r


def test_the_measurement_sees_a_large_allocation() -> None:
    """peak_growth registers an allocation of the size refused above (a real 256 MiB
    array, freed at once), even after a larger earlier peak: the bound is not vacuous."""
    _, earlier = peak_growth(lambda: np.ones(512 * MiB, np.uint8).sum())
    _, growth = peak_growth(lambda: np.ones(256 * MiB, np.uint8).sum())
    assert earlier > 500 * MiB and 250 * MiB < growth < 300 * MiB, (earlier, growth)
    _, nothing = peak_growth(lambda: np.ones(16, np.uint8).sum())
    assert nothing < MAX_PEAK_GROWTH


def test_a_valid_claim_near_the_bound_still_decodes() -> None:
    """The .npz buffer that starts small grows to what a member really holds: a member
    inflating over 100x beyond its compressed size decodes to NumPy's own array."""
    import io

    import gilfree.numpy as gn

    a = np.zeros((1024, 1024, 8), np.uint8)
    a.reshape(-1)[::4099] = np.arange(a.size // 4099 + 1) % 251 + 1
    buf = io.BytesIO()
    np.savez_compressed(buf, a=a)
    assert len(buf.getvalue()) * 100 < a.nbytes
    np.testing.assert_array_equal(gn.decode_npz(buf.getvalue(), {"a": "uint8"})["a"], a)


if __name__ == "__main__":
    for row in measure(sys.argv[1]):
        print(json.dumps(row))
