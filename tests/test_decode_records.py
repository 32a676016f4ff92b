"""decode_records on the four faces: records built field by field, checked by np.frombuffer.

The test bytes are assembled by hand from per-field arrays (every field's bytes written
at its offset in its byte order, padding filled with junk); ``np.frombuffer(raw, schema)``
must read those arrays back (a check of the builder) and so must every face.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from conftest import seed_of
from decode_helpers import (
    FACES,
    SUPPORTED,
    TF_FACES,
    assert_same_array,
    decode_records,
    face_fn,
    native,
    native_bytes,
    raises,
    random_array,
    records_contents,
)

CIFAR10 = np.dtype([("label", "u1"), ("image", "u1", (3, 32, 32))])
PADDED = np.dtype(
    {
        "names": ["id", "value", "pixels", "flag"],
        "formats": ["<u2", ">f8", ("u1", (2, 3)), "?"],
        "offsets": [2, 8, 17, 30],
        "itemsize": 40,
    }
)
UNALIGNED = np.dtype(
    [("flag", "u1"), ("x", "<f8"), ("y", ">f8"), ("z", ">u2", (2, 3)), ("w", "<i4")]
)
BIG_ENDIAN = np.dtype([("a", ">i4"), ("b", ">f8"), ("c", ">u2", (2, 3)), ("d", ">f2", (4,))])
BOOL = np.dtype([("ok", "?"), ("votes", "?", (5,)), ("n", "<i2")])
# One field per supported dtype and byte order, scalars and subarrays, packed.
EVERY_DTYPE = np.dtype(
    [
        (f"{name}_{order}", order + np.dtype(name).str[1:], shape)
        for i, name in enumerate(SUPPORTED)
        for order in (("|",) if np.dtype(name).itemsize == 1 else ("<", ">"))
        for shape in [() if i % 2 else (2,)]
    ]
)
# Two fields over the same bytes (a union), one inside the other.
OVERLAPPING = np.dtype(
    {"names": ["whole", "low", "high"], "formats": ["<u4", "<u2", ">u2"], "offsets": [0, 0, 2]}
)
SCHEMAS = {
    "cifar10": CIFAR10,
    "padded": PADDED,
    "unaligned": UNALIGNED,
    "big_endian": BIG_ENDIAN,
    "bool": BOOL,
    "every_dtype": EVERY_DTYPE,
}


def field_values(schema: np.dtype, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random values [n, *shape] per field, in the field's stored dtype."""
    out = {}
    for name in schema.names:
        fdt = schema.fields[name][0]
        out[name] = random_array((n, *fdt.shape), fdt.base, rng)
    return out


def build_records(
    schema: np.dtype, values: dict[str, np.ndarray], rng: np.random.Generator
) -> bytes:
    """The records holding ``values``: each field's bytes (in its byte order) at its offset;
    the bytes no field covers are random junk."""
    n = len(next(iter(values.values())))
    size = schema.itemsize
    buf = bytearray(rng.integers(0, 256, n * size, dtype=np.uint8).tobytes())
    for name in schema.names:
        fdt, offset = schema.fields[name][:2]
        per_record = fdt.itemsize
        stored = values[name].tobytes(order="C")  # already in the field's byte order
        for i in range(n):
            start = i * size + offset
            buf[start : start + per_record] = stored[i * per_record : (i + 1) * per_record]
    raw = bytes(buf)
    numpy_reads = np.frombuffer(raw, schema)  # NumPy agrees with the builder
    for name in schema.names:
        assert numpy_reads[name].tobytes() == values[name].tobytes(), name
    return raw


def check(out: dict[str, np.ndarray], values: dict[str, np.ndarray], context: object = "") -> None:
    assert list(out) == list(values), context
    for name, expected in values.items():
        assert_same_array(out[name], expected, (context, name))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("label", SCHEMAS)
def test_records_round_trip(label, face):
    """README (Record decoding): decode_records gives a dict of [num_records, *field_shape] arrays;
    `schema` is a NumPy structured dtype (offsets, padding, per-field byte order, subarrays).
    """
    schema = SCHEMAS[label]
    rng = np.random.default_rng(seed_of("records", label))
    values = field_values(schema, 10, rng)
    raw = build_records(schema, values, rng)
    check(decode_records(face, raw, schema), values, label)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("n", [200, 1500], ids=["200", "1500"])
def test_cifar10_binary_version(face, n):
    # data_batch_N.bin: 10000 records of 3073 bytes; a few hundred are enough here. With
    # 1500 the images (4.4 MiB) are written past the caches.
    rng = np.random.default_rng(16)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    raw = b"".join(bytes([labels[i]]) + images[i].tobytes() for i in range(n))
    assert len(raw) == n * 3073 and CIFAR10.itemsize == 3073
    out = decode_records(face, raw, CIFAR10)
    assert_same_array(out["label"], labels)
    assert_same_array(out["image"], images)
    # as an HWC image, the usual next step
    assert np.array_equal(out["image"].transpose(0, 2, 3, 1)[5], images[5].transpose(1, 2, 0))


@pytest.mark.parametrize("face", FACES)
def test_overlapping_fields(face):
    rng = np.random.default_rng(17)
    whole = rng.integers(0, 2**32, 6, dtype=np.uint64).astype("<u4")
    raw = whole.tobytes()
    expected = np.frombuffer(raw, OVERLAPPING)
    out = decode_records(face, raw, OVERLAPPING)
    for name in OVERLAPPING.names:
        assert_same_array(out[name], np.ascontiguousarray(expected[name]), name)
    assert np.array_equal(out["low"], whole & 0xFFFF)
    assert np.array_equal(out["high"], ((whole >> 16) & 0xFF) << 8 | (whole >> 24))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("header,footer", [(11, 0), (0, 5), (11, 5), (3073, 1)], ids=str)
def test_header_and_footer(header, footer, face):
    rng = np.random.default_rng(seed_of("hf", header, footer))
    values = field_values(UNALIGNED, 7, rng)
    raw = build_records(UNALIGNED, values, rng)
    head = rng.integers(0, 256, header, dtype=np.uint8).tobytes()
    foot = rng.integers(0, 256, footer, dtype=np.uint8).tobytes()
    out = decode_records(
        face, head + raw + foot, UNALIGNED, header_bytes=header, footer_bytes=footer
    )
    check(out, values)


def _empty(schema: np.dtype) -> dict[str, np.ndarray]:
    return {
        name: np.zeros((0, *schema.fields[name][0].shape), schema.fields[name][0].base)
        for name in schema.names
    }


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("label", ["cifar10", "padded", "every_dtype"])
def test_zero_records(label, face):
    schema = SCHEMAS[label]
    check(decode_records(face, b"", schema), _empty(schema), "no bytes")
    out = decode_records(face, b"H" * 4 + b"F" * 2, schema, header_bytes=4, footer_bytes=2)
    check(out, _empty(schema), "header and footer only")


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("header,footer", [(0, 0), (2, 3)], ids=str)
def test_batch_of_single_records(header, footer, face):
    """README (Record decoding): `contents` is one string of many records or a batch of one-record
    strings.
    """
    rng = np.random.default_rng(seed_of("batch", header, footer))
    values = field_values(PADDED, 8, rng)
    raw = build_records(PADDED, values, rng)
    size = PADDED.itemsize
    batch = [b"h" * header + raw[i * size : (i + 1) * size] + b"f" * footer for i in range(8)]
    out = decode_records(face, batch, PADDED, header_bytes=header, footer_bytes=footer)
    check(out, values)
    check(
        decode_records(face, batch[:1], PADDED, header_bytes=header, footer_bytes=footer),
        {k: v[:1] for k, v in values.items()},
    )


@pytest.mark.parametrize("face", FACES)
def test_empty_batch(face):
    check(decode_records(face, [], BIG_ENDIAN), _empty(BIG_ENDIAN))


@pytest.mark.parametrize("face", ["numpy", "reference"])
def test_bytes_like_contents(face):
    rng = np.random.default_rng(18)
    values = field_values(BIG_ENDIAN, 3, rng)
    raw = build_records(BIG_ENDIAN, values, rng)
    fn = face_fn(face, "decode_records")
    for contents in (bytearray(raw), memoryview(raw)):
        check(fn(contents, BIG_ENDIAN), values, type(contents).__name__)
    size = BIG_ENDIAN.itemsize
    batch = (bytearray(raw[:size]), memoryview(raw[size : 2 * size]), raw[2 * size :])
    check(fn(batch, BIG_ENDIAN), values, "tuple")


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("extra", [1, 5, -1, -3, 3072], ids=str)
def test_not_a_whole_number_of_records_says_by_how_much(extra, face):
    size = CIFAR10.itemsize
    n = 4 * size + extra
    raw = bytes(i % 256 for i in range(n))
    over = n % size  # the bytes past the last whole record
    pattern = rf"\b({over}|{size - over})\b"
    with raises(face, ValueError, r"\bcontents\b", r"\brecord", pattern):
        decode_records(face, raw, CIFAR10)
    with raises(face, ValueError, r"\bcontents\b", r"\brecord", pattern):
        decode_records(face, b"\0" * 9 + raw + b"\0" * 2, CIFAR10, header_bytes=9, footer_bytes=2)


@pytest.mark.parametrize("face", FACES)
def test_batch_element_of_the_wrong_length(face):
    size = BOOL.itemsize
    good = bytes(size)
    with raises(face, ValueError, r"\bcontents\b", r"\brecord"):
        decode_records(face, [good, good + b"\0", good], BOOL)
    with raises(face, ValueError, r"\bcontents\b", r"\brecord"):
        decode_records(face, [good, good[:-1]], BOOL)
    with raises(face, ValueError, r"\bcontents\b", r"\brecord"):
        decode_records(face, [b"h" + good, good], BOOL, header_bytes=1)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("argument", ["header_bytes", "footer_bytes"])
def test_negative_header_or_footer(argument, face):
    with raises(face, ValueError, rf"\b{argument}\b"):
        decode_records(face, bytes(CIFAR10.itemsize), CIFAR10, **{argument: -1})


BAD_SCHEMAS = {
    "nested": np.dtype([("label", "u1"), ("box", [("x", "<f4"), ("y", "<f4")])]),
    "nested_subarray": np.dtype([("pts", [("x", "<f4"), ("y", "<f4")], (3,))]),
    "complex": np.dtype([("label", "u1"), ("z", "<c8")]),
    "string": np.dtype([("label", "u1"), ("name", "S8")]),
    "object": np.dtype([("label", "u1"), ("o", "O")]),
    "not_structured": np.dtype("<f4"),
}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("label", BAD_SCHEMAS)
def test_unsupported_schema(label, face):
    schema = BAD_SCHEMAS[label]
    size = max(schema.itemsize, 1)
    contents = records_contents(face, bytes(2 * size))
    with raises(face, TypeError, r"\bschema\b"):
        face_fn(face, "decode_records")(contents, schema)


@pytest.mark.parametrize("face", TF_FACES)
def test_static_shapes_in_tf_function(face):
    fn = face_fn(face, "decode_records")
    schema = EVERY_DTYPE
    rng = np.random.default_rng(19)
    values = field_values(schema, 5, rng)
    raw = build_records(schema, values, rng)
    size = schema.itemsize
    static = {}

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string)])
    def run(contents):
        out = fn(contents, schema)
        static.update({name: (t.shape.as_list(), t.dtype) for name, t in out.items()})
        return out

    for contents in (
        tf.constant(raw),
        tf.constant([raw[i * size : (i + 1) * size] for i in range(5)]),
    ):
        out = run(contents)
        check({k: v.numpy() for k, v in out.items()}, values)
    for name in schema.names:
        fdt = schema.fields[name][0]
        assert static[name] == ([None, *fdt.shape], tf.as_dtype(native(fdt.base))), name


@pytest.mark.parametrize("face", TF_FACES)
def test_contents_of_rank_2_is_an_error(face):
    size = BOOL.itemsize
    contents = tf.constant([[bytes(size)], [bytes(size)]])
    with raises(face, ValueError, r"\bcontents\b"):
        face_fn(face, "decode_records")(contents, BOOL)


def test_builder_writes_native_bytes_the_same_way():
    # build_records writes each field's stored bytes; native_bytes is their native form
    rng = np.random.default_rng(20)
    values = field_values(BIG_ENDIAN, 2, rng)
    for name, v in values.items():
        assert native_bytes(v) == v.astype(native(v.dtype)).tobytes(), name
        assert math.prod(v.shape[1:]) * v.dtype.itemsize == BIG_ENDIAN.fields[name][0].itemsize
