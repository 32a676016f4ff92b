"""Writes cpp/tests/fixtures.inc: byte strings made by NumPy and zlib.

The C++ unit tests of the core decode these and compare the result with the
values written here, so the expected values come from NumPy (np.save,
np.savez, np.savez_compressed, np.lib.format.write_array) and zlib, never
from gilfree. Run from the repository root:

    python cpp/tests/make_fixtures.py

and commit the regenerated fixtures.inc.
"""

import io
import pathlib
import zlib

import numpy as np

OUT = pathlib.Path(__file__).with_name("fixtures.inc")


def npy(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def npz(compressed, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def raw_deflate(data, level, strategy=zlib.Z_DEFAULT_STRATEGY):
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    return c.compress(data) + c.flush()


SQUARES = b"".join(b"%d," % (i * i) for i in range(600))


def mixed_bytes(n, seed):
    """n bytes of random letters a..p, runs and repeats from every kind of distance (1, 2..7, 8..15,
    16..63, anywhere back), from a linear congruential generator. inflate_test.cc's
    MixedBytes computes the same bytes."""
    x = seed
    out = bytearray()

    def rnd():
        nonlocal x
        x = (x * 1103515245 + 12345) % 2**31
        return x >> 8

    while len(out) < n:
        mode = rnd() % 6
        if mode == 0 or len(out) < 64:
            for _ in range(rnd() % 24 + 1):
                out.append(0x61 + rnd() % 16)
        elif mode == 1:
            out += bytes([rnd() & 0xFF]) * (rnd() % 40 + 3)
        else:
            r = rnd()
            dist = [r % 6 + 2, r % 8 + 8, r % 48 + 16, r % len(out) + 1][mode - 2]
            for _ in range(rnd() % 120 + 3):
                out.append(out[-dist])
    return bytes(out[:n])


MIXED = mixed_bytes(12000, 7)

FIXTURES = [
    # name, NumPy/zlib call (for the comment), bytes
    ("kNpyU2Arange", "np.save(f, np.arange(3, dtype='<u2'))", npy(np.arange(3, dtype="<u2"))),
    ("kNpyBool", "np.save(f, np.array([True, False, True]))", npy(np.array([True, False, True]))),
    (
        "kNpyI1",
        "np.save(f, np.array([-128, -1, 0, 127], dtype='i1'))",
        npy(np.array([-128, -1, 0, 127], dtype="i1")),
    ),
    (
        "kNpyU1",
        "np.save(f, np.array([0, 7, 255], dtype='u1'))",
        npy(np.array([0, 7, 255], dtype="u1")),
    ),
    (
        "kNpyI2Le",
        "np.save(f, np.array([-2, 300], dtype='<i2'))",
        npy(np.array([-2, 300], dtype="<i2")),
    ),
    (
        "kNpyI2Be",
        "np.save(f, np.array([-2, 300], dtype='>i2'))",
        npy(np.array([-2, 300], dtype=">i2")),
    ),
    (
        "kNpyI4Be",
        "np.save(f, np.array([-70000, 16909060], dtype='>i4'))",
        npy(np.array([-70000, 16909060], dtype=">i4")),
    ),
    (
        "kNpyI8Le",
        "np.save(f, np.array([-(2**40), 2**62], dtype='<i8'))",
        npy(np.array([-(2**40), 2**62], dtype="<i8")),
    ),
    (
        "kNpyI8Be",
        "np.save(f, np.array([-(2**40), 2**62], dtype='>i8'))",
        npy(np.array([-(2**40), 2**62], dtype=">i8")),
    ),
    (
        "kNpyU2Be",
        "np.save(f, np.array([1, 65535], dtype='>u2'))",
        npy(np.array([1, 65535], dtype=">u2")),
    ),
    (
        "kNpyU4Le",
        "np.save(f, np.array([4000000000], dtype='<u4'))",
        npy(np.array([4000000000], dtype="<u4")),
    ),
    (
        "kNpyU8Be",
        "np.save(f, np.array([2**63 + 5], dtype='>u8'))",
        npy(np.array([2**63 + 5], dtype=">u8")),
    ),
    (
        "kNpyF2Le",
        "np.save(f, np.array([1.0, -2.0, 0.5], dtype='<f2'))",
        npy(np.array([1.0, -2.0, 0.5], dtype="<f2")),
    ),
    (
        "kNpyF2Be",
        "np.save(f, np.array([1.0, -2.0, 0.5], dtype='>f2'))",
        npy(np.array([1.0, -2.0, 0.5], dtype=">f2")),
    ),
    (
        "kNpyF4Le",
        "np.save(f, np.array([[1.5, -0.25], [3.0, 1e30]], dtype='<f4'))",
        npy(np.array([[1.5, -0.25], [3.0, 1e30]], dtype="<f4")),
    ),
    (
        "kNpyF4Be",
        "np.save(f, np.array([[1.5, -0.25], [3.0, 1e30]], dtype='>f4'))",
        npy(np.array([[1.5, -0.25], [3.0, 1e30]], dtype=">f4")),
    ),
    (
        "kNpyF8Be",
        "np.save(f, np.array([0.1, -1e300], dtype='>f8'))",
        npy(np.array([0.1, -1e300], dtype=">f8")),
    ),
    (
        "kNpyFortranI4",
        "np.save(f, np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3)))",
        npy(np.asfortranarray(np.arange(6, dtype="<i4").reshape(2, 3))),
    ),
    (
        "kNpyFortranU2Be3d",
        "np.save(f, np.asfortranarray(np.arange(24, dtype='>u2').reshape(2, 3, 4)))",
        npy(np.asfortranarray(np.arange(24, dtype=">u2").reshape(2, 3, 4))),
    ),
    ("kNpyScalar", "np.save(f, np.float64(2.5))", npy(np.float64(2.5))),
    ("kNpyEmpty", "np.save(f, np.zeros((0, 3), dtype='<f4'))", npy(np.zeros((0, 3), dtype="<f4"))),
    (
        "kNpyV2",
        "np.lib.format.write_array(f, np.arange(4, dtype='<i2'), version=(2, 0))",
        npy(np.arange(4, dtype="<i2"), version=(2, 0)),
    ),
    (
        "kNpyV3",
        "np.lib.format.write_array(f, np.arange(4, dtype='<i2'), version=(3, 0))",
        npy(np.arange(4, dtype="<i2"), version=(3, 0)),
    ),
    (
        "kNpzStored",
        "np.savez(f, a=np.arange(3, dtype='<u2'), b=np.array([[1.5], [-2.0]], dtype='<f4'))",
        npz(False, a=np.arange(3, dtype="<u2"), b=np.array([[1.5], [-2.0]], dtype="<f4")),
    ),
    (
        "kNpzDeflate",
        "np.savez_compressed(f, a=np.arange(3, dtype='<u2'), b=np.zeros(1000, dtype='<i4'))",
        npz(True, a=np.arange(3, dtype="<u2"), b=np.zeros(1000, dtype="<i4")),
    ),
    (
        "kDeflateFixedAbc",
        "zlib raw deflate (wbits=-15), level 6, of b'abc'",
        raw_deflate(b"abc", 6),
    ),
    (
        "kDeflateStored",
        "zlib raw deflate (wbits=-15), level 0, of b'hello, world'",
        raw_deflate(b"hello, world", 0),
    ),
    (
        "kDeflateFixedRepeat",
        "zlib raw deflate (wbits=-15), Z_FIXED, of b'abcabcabcabcabcabcx' * 3",
        raw_deflate(b"abcabcabcabcabcabcx" * 3, 9, zlib.Z_FIXED),
    ),
    (
        "kDeflateDynamic",
        "zlib raw deflate (wbits=-15), level 9, of SQUARES (see kDeflateDynamicText)",
        raw_deflate(SQUARES, 9),
    ),
    ("kDeflateDynamicText", "SQUARES = b''.join(b'%d,' % (i * i) for i in range(600))", SQUARES),
    (
        "kDeflateMixed",
        "zlib raw deflate (wbits=-15), level 6, of mixed_bytes(12000, 7)",
        raw_deflate(MIXED, 6),
    ),
    (
        "kDeflateMixedFixed",
        "zlib raw deflate (wbits=-15), level 1, Z_FIXED, of mixed_bytes(12000, 7)",
        raw_deflate(MIXED, 1, zlib.Z_FIXED),
    ),
]


def main():
    lines = [
        "// Generated by cpp/tests/make_fixtures.py from NumPy and zlib; do not edit.",
        "// Each array holds the bytes the call in its comment wrote.",
        "",
    ]
    for name, call, data in FIXTURES:
        lines.append(f"// {call}")
        lines.append(f"static const unsigned char {name}[{len(data)}] = {{")
        for i in range(0, len(data), 16):
            lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i : i + 16]) + ",")
        lines.append("};")
        lines.append("")
    OUT.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
