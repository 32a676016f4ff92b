"""decode_npy on the four faces against files NumPy writes: bit for bit round trips.

Every file is written by NumPy (``np.lib.format.write_array`` or its header writers)
and read back by ``np.load`` first, so the expected values come from NumPy, never from
the code under test.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from conftest import seed_of
from decode_helpers import (
    FACES,
    SUPPORTED,
    TF_FACES,
    assert_same_array,
    decode_npy,
    dtype_pattern,
    face_dtype,
    face_fn,
    is_tf,
    native,
    npy_file,
    raises,
    random_array,
)

VERSIONS = [(1, 0), (2, 0), (3, 0)]
# Every supported dtype in every byte order NumPy writes for it.
DTYPES = [
    order + np.dtype(name).str[1:]
    for name in SUPPORTED
    for order in (("|",) if np.dtype(name).itemsize == 1 else ("<", ">"))
]
# Ranks 0 to 5, with zero-size and size-1 dimensions.
SHAPES = [
    (),
    (0,),
    (1,),
    (7,),
    (3, 0),
    (1, 5),
    (4, 3),
    (2, 0, 3),
    (2, 3, 4),
    (1, 1, 1, 1),
    (2, 3, 1, 2),
    (3, 0, 2, 1),
    (2, 1, 3, 2, 2),
    (1, 2, 0, 1, 3),
]


def _header(d: dict, version: tuple[int, int]) -> bytes:
    """A header written by NumPy's header writers (3.0: the 2.0 header, version byte 3;
    the header text is ASCII, so it is valid UTF-8)."""
    f = io.BytesIO()
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(f, d)
    else:
        np.lib.format.write_array_header_2_0(f, d)
    raw = bytearray(f.getvalue())
    raw[6] = version[0]
    return bytes(raw)


def write_npy(a: np.ndarray, version: tuple[int, int], order: str) -> bytes:
    """``a`` as a .npy file of this version with fortran_order = (order == "F").

    NumPy writes fortran_order True only for arrays that are F- but not C-contiguous; for
    the others (rank < 2, size-0 or size-1 dimensions) the header is written with NumPy's
    header writer and the data in Fortran order.
    """
    if order == "C":
        return npy_file(a, version)
    fa = np.asfortranarray(a)
    if fa.flags.f_contiguous and not fa.flags.c_contiguous:
        return npy_file(fa, version)
    d = {"descr": np.lib.format.dtype_to_descr(a.dtype), "fortran_order": True, "shape": a.shape}
    return _header(d, version) + a.tobytes(order="F")


def _files(dtype: str, version: tuple[int, int]):
    """(context, array, file) for every shape and order, the same for every face."""
    rng = np.random.default_rng(seed_of("npy", dtype, version))
    for shape in SHAPES:
        a = random_array(shape, dtype, rng)
        for order in ("C", "F"):
            yield (dtype, version, shape, order), a, write_npy(a, version, order)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v[0]}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_test_files_are_what_numpy_reads(dtype, version):
    for context, a, data in _files(dtype, version):
        loaded = np.load(io.BytesIO(data))
        assert loaded.dtype == a.dtype and loaded.shape == a.shape, context
        assert loaded.tobytes(order="C") == a.tobytes(order="C"), context
        major, fortran = data[6], b"'fortran_order': True" in data[:256]
        assert major == version[0] and fortran == (context[3] == "F"), context


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v[0]}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_bit_for_bit(dtype, version, face):
    """README (Record decoding): decode_npy reads .npy format 1.0, 2.0, 3.0, either byte order,
    Fortran order converted to C order; element dtypes bool, int8..int64, uint8..uint64,
    float16/32/64; outputs are native byte order and C order.
    """
    for context, a, data in _files(dtype, version):
        assert_same_array(decode_npy(face, data, native(dtype)), a, context)


@pytest.mark.parametrize("face", FACES)
def test_descr_byte_order_equals_and_explicit_one_byte(face):
    # descr with "=" (native), and "<"/">" on one-byte types: written by NumPy's header
    # writer, read by np.load.
    rng = np.random.default_rng(3)
    for descr in ("=f8", "=i2", "=u4", "=f2", "<u1", ">i1", "<b1", "=b1", "=i1"):
        dt = np.dtype(descr)
        a = random_array((3, 4), dt, rng)
        d = {"descr": descr, "fortran_order": False, "shape": a.shape}
        data = _header(d, (1, 0)) + a.tobytes()
        loaded = np.load(io.BytesIO(data))
        assert loaded.tobytes() == a.tobytes() and loaded.dtype == dt, descr
        assert_same_array(decode_npy(face, data, native(dt)), a, descr)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("dtype", ["<f8", ">f8", ">i4", "<f2", "|u1"])
def test_unaligned_data_offset(dtype, face):
    # One more space of header padding: the data starts at an odd offset.
    a = random_array((5, 3), dtype, np.random.default_rng(4))
    data = bytearray(npy_file(a, (1, 0)))
    (length,) = np.frombuffer(bytes(data[8:10]), "<u2")
    end = 10 + int(length)
    data[end - 1 : end - 1] = b" "
    data[8:10] = np.array([length + 1], "<u2").tobytes()
    data = bytes(data)
    assert np.load(io.BytesIO(data)).tobytes() == a.tobytes()
    assert (10 + length + 1) % 2 == 1
    assert_same_array(decode_npy(face, data, native(dtype)), a)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_rank_32(order, face):
    shape = (1,) * 29 + (2, 1, 3)
    a = random_array(shape, ">i2", np.random.default_rng(5))
    data = write_npy(a, (1, 0), order)
    assert np.load(io.BytesIO(data)).tobytes() == a.tobytes()
    assert_same_array(decode_npy(face, data, np.int16), a)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("dtype", [">f8", "<f4", ">u2", "|b1"])
def test_larger_fortran_array(dtype, face):
    a = random_array((300, 211), dtype, np.random.default_rng(6))
    data = npy_file(np.asfortranarray(a))
    assert b"'fortran_order': True" in data[:128]
    assert_same_array(decode_npy(face, data, native(dtype)), a)


@pytest.mark.parametrize("face", ["numpy", "reference"])
def test_bytes_like_contents(face):
    a = random_array((4, 5), "<f4", np.random.default_rng(7))
    data = npy_file(a)
    fn = face_fn(face, "decode_npy")
    for contents in (data, bytearray(data), memoryview(data)):
        assert_same_array(fn(contents, np.float32), a, type(contents).__name__)


# (dtype in the file, dtype asked for): same item sizes included
MISMATCHES = [
    ("<f8", "float32"),
    ("<f4", "int32"),
    ("<i2", "uint16"),
    ("|u1", "bool"),
    ("|b1", "int8"),
    ("<f2", "int16"),
    (">u8", "int64"),
    (">f4", "float64"),
]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("stored,asked", MISMATCHES, ids=str)
def test_dtype_mismatch_names_both(stored, asked, face):
    """README (Record decoding): decode_npy's `dtype` must match the file."""
    data = npy_file(random_array((2, 3), stored, np.random.default_rng(8)))
    with raises(face, ValueError, dtype_pattern(stored), dtype_pattern(asked)):
        decode_npy(face, data, asked)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("bad", ["complex64", "complex128", "bfloat16", "string", "structured"])
def test_unsupported_dtype_argument(bad, face):
    data = npy_file(np.zeros(3, "<f4"))
    fn = face_fn(face, "decode_npy")
    contents = tf.constant(data) if is_tf(face) else data
    if bad == "structured":
        dtype = np.dtype([("a", "<f4")])
    elif bad == "string":
        dtype = tf.string if is_tf(face) else np.dtype("U4")
    elif bad == "bfloat16":
        dtype = tf.bfloat16 if is_tf(face) else tf.bfloat16.as_numpy_dtype
    else:
        dtype = face_dtype(face, bad)
    with raises(face, TypeError, r"\bdtype\b"):
        fn(contents, dtype)


SHAPE_OK = [(2, 3, 4), (None, 3, -1), (-1, -1, -1), (None, None, None), (2, None, 4)]
SHAPE_MISMATCH = [(2, 3), (2, 3, 4, 1), (2, 3, 5), (None, 4, None), (3, -1, -1), ()]


@pytest.mark.parametrize("face", FACES)
def test_shape_argument(face):
    """README (Record decoding): decode_npy's `shape` (None or -1 for any size) is checked."""
    a = random_array((2, 3, 4), ">f4", np.random.default_rng(9))
    data = npy_file(a)
    for shape in SHAPE_OK:
        assert_same_array(decode_npy(face, data, np.float32, shape=shape), a, shape)
        assert_same_array(decode_npy(face, data, np.float32, shape=list(shape)), a, shape)
    for shape in SHAPE_MISMATCH:
        with raises(face, ValueError, r"\bshape\b", r"\bcontents\b"):
            decode_npy(face, data, np.float32, shape=shape)


@pytest.mark.parametrize("face", FACES)
def test_shape_argument_rank_0_and_zero_size(face):
    scalar = npy_file(np.array(2.5, "<f8"))
    assert decode_npy(face, scalar, np.float64, shape=()).tolist() == 2.5
    with raises(face, ValueError, r"\bshape\b"):
        decode_npy(face, scalar, np.float64, shape=(1,))
    empty = npy_file(np.zeros((0, 3), "<u2"))
    assert decode_npy(face, empty, np.uint16, shape=(0, 3)).shape == (0, 3)
    assert decode_npy(face, empty, np.uint16, shape=(None, 3)).shape == (0, 3)
    with raises(face, ValueError, r"\bshape\b"):
        decode_npy(face, empty, np.uint16, shape=(1, 3))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("bad", [(2, -2, 4), (-3,)], ids=str)
def test_shape_argument_bad_value(bad, face):
    data = npy_file(np.zeros((2, 2, 4), "<f4"))
    with raises(face, ValueError, r"\bshape\b"):
        decode_npy(face, data, np.float32, shape=bad)


@pytest.mark.parametrize("face", TF_FACES)
def test_static_shape_in_tf_function(face):
    """README (Record decoding): decode_npy's `shape` sets the static shape."""
    fn = face_fn(face, "decode_npy")
    a = random_array((2, 3, 4), "<i4", np.random.default_rng(10))
    data = tf.constant(npy_file(a))
    static = {}

    cases = {
        "full": ((2, 3, 4), [2, 3, 4]),
        "none": ((2, None, 4), [2, None, 4]),
        "minus_one": ((-1, 3, -1), [None, 3, None]),
        "list": ([2, 3, 4], [2, 3, 4]),
    }
    for label, (shape, expected) in cases.items():

        @tf.function(input_signature=[tf.TensorSpec(None, tf.string)])
        def run(contents, shape=shape, label=label):
            y = fn(contents, tf.int32, shape=shape)
            static[label] = y.shape.as_list()
            return y

        out = run(data)
        assert static[label] == expected, (label, static[label])
        assert out.dtype == tf.int32
        assert_same_array(out.numpy(), a, label)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string)])
    def scalar(contents):
        y = fn(contents, tf.float16, shape=())
        static["scalar"] = y.shape.rank
        return y

    value = np.array(1.5, "<f2")
    assert scalar(tf.constant(npy_file(value))).numpy().tobytes() == value.tobytes()
    assert static["scalar"] == 0

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string)])
    def wrong(contents):
        return fn(contents, tf.int32, shape=(2, 3, 5))

    with raises(face, ValueError, r"\bshape\b"):
        wrong(data)


@pytest.mark.parametrize("face", TF_FACES)
def test_contents_must_be_a_scalar_string(face):
    data = npy_file(np.zeros(3, "<f4"))
    fn = face_fn(face, "decode_npy")
    with raises(face, ValueError, r"\bcontents\b"):
        fn(tf.constant([data, data]), tf.float32)


def test_random_floats_hold_special_values():
    # The round trips above cover NaNs (quiet and signaling, with payloads), -0.0 and
    # infinities: every float array of 6 or more elements starts with them.
    rng = np.random.default_rng(11)
    for dtype in DTYPES:
        a = random_array((3, 2), dtype, rng)
        assert a.dtype == np.dtype(dtype)
        if a.dtype.kind == "f":
            values = a.astype(native(dtype)).ravel()
            assert np.isnan(values[:2]).all() and values[2] == 0 and np.signbit(values[2])
            assert np.isposinf(values[3]) and np.isneginf(values[4])
            signaling = values[1:2].view(f"u{a.dtype.itemsize}")[0]
            assert signaling == {2: 0x7C01, 4: 0x7F800001, 8: 0x7FF0000000000001}[a.itemsize]
