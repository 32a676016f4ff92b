"""Property tests of the decoders (docs/decoding-spec.md) on both native faces.

decode(encode(x)) == x bit for bit (NaN payloads included) for files written by NumPy:
``np.save`` (format versions 1.0-3.0, either byte order, C and Fortran order, rank 0 to 4,
empty arrays), ``np.savez``/``np.savez_compressed``, and ``ndarray.tobytes()`` of
structured dtypes (offsets, padding, big-endian fields, subarrays) with header and footer
bytes, as one string or a batch of one-record strings. Contents are passed as bytes,
bytearray, memoryview and memoryviews at an odd offset. Truncated and corrupted bytes
either decode to what the reference decodes or raise the documented errors, on all faces
alike.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from decode_helpers import SUPPORTED
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import bits, examples

import gilfree.numpy as gnp
from gilfree import reference

NP_ERRORS = (ValueError, TypeError)
shapes = st.lists(st.sampled_from([0, 1, 2, 3, 5]), min_size=0, max_size=4).map(tuple)


def tf_errors():
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError, ValueError, TypeError)


def raw_array(shape, dtype: str, seed: int) -> np.ndarray:
    """Random bytes as an array of ``dtype``: every bit pattern (NaN payloads, -0.0,
    subnormals) can occur; bool holds 0/1."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) * dt.itemsize
    raw = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    if dt == np.bool_:
        raw = raw & 1
    return raw.view(dt).reshape(shape)


def order_variant(a: np.ndarray, byteorder: str, fortran: bool) -> np.ndarray:
    if byteorder != "=" and a.dtype.itemsize > 1:
        a = a.astype(a.dtype.newbyteorder(byteorder))
    return np.asfortranarray(a) if fortran else a


def contents_variant(data: bytes, kind: str):
    """``data`` as bytes, bytearray, memoryview, or a memoryview at an odd offset."""
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "odd_offset":
        return memoryview(b"\x00" + data)[1:]
    return data


contents_kinds = st.sampled_from(["bytes", "bytearray", "memoryview", "odd_offset"])


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    expected = np.asarray(expected)
    native = expected.dtype.newbyteorder("=")
    assert actual.dtype == native, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.flags.c_contiguous
    if native == np.bool_:
        np.testing.assert_array_equal(actual, expected.astype(np.bool_))
    else:
        np.testing.assert_array_equal(bits(actual), bits(expected))


@st.composite
def npy_cases(draw):
    dtype = draw(st.sampled_from(SUPPORTED))
    a = raw_array(draw(shapes), dtype, draw(st.integers(0, 2**32 - 1)))
    a = order_variant(a, draw(st.sampled_from("=<>")), draw(st.booleans()))
    version = draw(st.sampled_from([None, (1, 0), (2, 0), (3, 0)]))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version)
    return a, buf.getvalue()


@settings(max_examples=examples(400))
@given(case=npy_cases(), kind=contents_kinds, with_shape=st.booleans())
def test_numpy_decode_npy_of_np_save_is_the_array(case, kind, with_shape):
    a, data = case
    shape = [None if i % 2 else d for i, d in enumerate(a.shape)] if with_shape else None
    y = gnp.decode_npy(contents_variant(data, kind), a.dtype.newbyteorder("="), shape=shape)
    assert_same(y, a)


@st.composite
def shape_arguments(draw, shape):
    """A ``shape`` argument for an array of ``shape``: matching, or off in a dimension or
    in its rank."""
    dims = [draw(st.sampled_from([d, d, None, -1, d + 1])) for d in shape]
    change = draw(st.sampled_from(["none", "none", "append", "drop"]))
    if change == "append":
        dims.append(draw(st.sampled_from([1, None])))
    elif change == "drop" and dims:
        dims.pop()
    return dims


@settings(max_examples=examples(120))
@given(data=st.data())
def test_shape_argument_errors_agree_on_all_faces(data):
    import gilfree

    a, contents = data.draw(npy_cases())
    shape = data.draw(shape_arguments(a.shape))
    dtype = a.dtype.newbyteorder("=")
    expected = outcome(reference.decode_npy, contents, dtype, errors=NP_ERRORS, shape=shape)
    actual = outcome(gnp.decode_npy, contents, dtype, errors=NP_ERRORS, shape=shape)
    assert_agree(expected, actual)
    if isinstance(expected, Exception):
        assert "shape" in str(actual)
    in_tf = outcome(gilfree.decode_npy, contents, dtype.name, errors=tf_errors(), shape=shape)
    assert_agree(expected, in_tf, tf_face=True)


@settings(max_examples=examples(80))
@given(case=npy_cases())
def test_tf_decode_npy_of_np_save_is_the_array(case):
    import gilfree

    a, data = case
    y = gilfree.decode_npy(data, a.dtype.newbyteorder("=").name, shape=a.shape)
    assert tuple(y.shape) == a.shape
    assert_same(y.numpy(), a)


@st.composite
def npz_cases(draw):
    members = {}
    for i in range(draw(st.integers(1, 4))):
        dtype = draw(st.sampled_from(SUPPORTED))
        a = raw_array(draw(shapes), dtype, draw(st.integers(0, 2**32 - 1)))
        members[f"m{i}"] = order_variant(a, draw(st.sampled_from("=<>")), draw(st.booleans()))
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **members)
    return members, buf.getvalue()


@settings(max_examples=examples(200))
@given(case=npz_cases(), kind=contents_kinds)
def test_numpy_decode_npz_of_np_savez_is_the_arrays(case, kind):
    members, data = case
    spec = {name: a.dtype.newbyteorder("=") for name, a in reversed(members.items())}
    out = gnp.decode_npz(contents_variant(data, kind), spec)
    assert list(out) == list(spec)
    for name, a in members.items():
        assert_same(out[name], a)


@settings(max_examples=examples(50))
@given(case=npz_cases())
def test_tf_decode_npz_of_np_savez_is_the_arrays(case):
    import gilfree

    members, data = case
    out = gilfree.decode_npz(data, {n: a.dtype.newbyteorder("=").name for n, a in members.items()})
    for name, a in members.items():
        assert_same(out[name].numpy(), a)


# --------------------------------------------------------------------------- records


@st.composite
def schemas(draw):
    """A structured dtype: fields of every supported dtype and byte order, subarrays,
    explicit offsets with gaps and trailing padding (fields never overlap)."""
    fields = []
    offset = draw(st.integers(0, 3))
    for i in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(SUPPORTED))
        dt = np.dtype(name)
        if dt.itemsize > 1:
            dt = dt.newbyteorder(draw(st.sampled_from("<>")))
        sub = draw(st.sampled_from([(), (), (2,), (3, 1), (2, 2)]))
        fields.append((f"f{i}", dt, sub, offset))
        offset += dt.itemsize * int(np.prod(sub)) + draw(st.integers(0, 3))
    return np.dtype(
        {
            "names": [f[0] for f in fields],
            "formats": [(f[1], f[2]) if f[2] else f[1] for f in fields],
            "offsets": [f[3] for f in fields],
            "itemsize": offset + draw(st.integers(0, 4)),
        }
    )


@st.composite
def record_cases(draw):
    schema = draw(schemas())
    n = draw(st.integers(0, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    raw = np.random.default_rng(seed).integers(0, 256, n * schema.itemsize, dtype=np.uint8)
    records = np.frombuffer(raw.tobytes(), schema, count=n).copy()
    for name in schema.names:  # bool fields hold 0/1 (any nonzero byte is true)
        if schema[name].base == np.bool_:
            records[name] = records[name].view(np.uint8) & 1
    header = draw(st.integers(0, 5))
    footer = draw(st.integers(0, 5))
    return schema, records, header, footer


def split(records: np.ndarray) -> list[bytes]:
    """The bytes of each record."""
    raw, size = records.tobytes(), records.dtype.itemsize
    return [raw[i * size : (i + 1) * size] for i in range(len(records))]


def expected_fields(schema, records):
    return {name: records[name] for name in schema.names}


@settings(max_examples=examples(300))
@given(case=record_cases(), kind=contents_kinds, batch=st.booleans())
def test_numpy_decode_records_of_tobytes_is_the_records(case, kind, batch):
    schema, records, header, footer = case
    pad = (b"\xa5" * header, b"\x5a" * footer)
    if batch:  # one string per record, each with its own header and footer
        contents = [contents_variant(pad[0] + r + pad[1], kind) for r in split(records)]
    else:
        contents = contents_variant(pad[0] + records.tobytes() + pad[1], kind)
    out = gnp.decode_records(contents, schema, header_bytes=header, footer_bytes=footer)
    assert list(out) == list(schema.names)
    for name, field in expected_fields(schema, records).items():
        assert out[name].shape == (len(records), *schema[name].shape)
        assert_same(out[name], field)


@settings(max_examples=examples(60))
@given(case=record_cases(), batch=st.booleans())
def test_tf_decode_records_of_tobytes_is_the_records(case, batch):
    import gilfree

    schema, records, header, footer = case
    pad = (b"\xa5" * header, b"\x5a" * footer)
    if batch:
        contents = [pad[0] + r + pad[1] for r in split(records)]
        if not contents:
            import tensorflow as tf

            contents = tf.zeros([0], tf.string)
    else:
        contents = pad[0] + records.tobytes() + pad[1]
    out = gilfree.decode_records(contents, schema, header_bytes=header, footer_bytes=footer)
    for name, field in expected_fields(schema, records).items():
        assert_same(out[name].numpy(), field)


# --------------------------------------------------------------------------- bad bytes


def outcome(fn, *args, errors, **kwargs):
    try:
        return fn(*args, **kwargs)
    except errors as e:
        return e


def assert_agree(expected, actual, tf_face=False) -> None:
    """Both errors, or equal results (dicts of arrays or arrays)."""
    if isinstance(expected, Exception):
        assert isinstance(actual, tf_errors() if tf_face else NP_ERRORS), (expected, actual)
        return
    assert not isinstance(actual, Exception), (actual, "the reference decoded it")
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            got = actual[key].numpy() if tf_face else actual[key]
            assert_same(got, expected[key])
    else:
        assert_same(actual.numpy() if tf_face else actual, expected)


@st.composite
def damaged(draw, data: bytes):
    """``data`` truncated, extended, or with a few bytes changed."""
    kind = draw(st.sampled_from(["truncate", "extend", "flip", "flip"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "extend":
        return data + bytes(draw(st.integers(1, 9)))
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if b:
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    return bytes(b)


@settings(max_examples=examples(400))
@given(data=st.data(), which=st.sampled_from(["npy", "npz", "records"]))
def test_damaged_bytes_decode_like_the_reference_or_raise(data, which):
    if which == "npy":
        a, good = data.draw(npy_cases())
        bad = data.draw(damaged(good))
        args = (a.dtype.newbyteorder("="),)
        fn = "decode_npy"
    elif which == "npz":
        members, good = data.draw(npz_cases())
        bad = data.draw(damaged(good))
        args = ({n: a.dtype.newbyteorder("=") for n, a in members.items()},)
        fn = "decode_npz"
    else:
        schema, records, header, footer = data.draw(record_cases())
        bad = data.draw(damaged(b"h" * header + records.tobytes() + b"f" * footer))
        args = (schema,)
        fn = "decode_records"
    kwargs = {"header_bytes": header, "footer_bytes": footer} if which == "records" else {}
    expected = outcome(getattr(reference, fn), bad, *args, errors=NP_ERRORS, **kwargs)
    actual = outcome(getattr(gnp, fn), bad, *args, errors=NP_ERRORS, **kwargs)
    assert_agree(expected, actual)


@settings(max_examples=examples(80))
@given(data=st.data(), which=st.sampled_from(["npy", "npz"]))
def test_tf_damaged_bytes_decode_like_the_numpy_face_or_raise(data, which):
    import gilfree

    if which == "npy":
        a, good = data.draw(npy_cases())
        args = (a.dtype.newbyteorder("=").name,)
    else:
        members, good = data.draw(npz_cases())
        args = ({n: a.dtype.newbyteorder("=").name for n, a in members.items()},)
    bad = data.draw(damaged(good))
    fn = f"decode_{which}"
    expected = outcome(getattr(gnp, fn), bad, *args, errors=NP_ERRORS)
    actual = outcome(getattr(gilfree, fn), bad, *args, errors=tf_errors())
    assert_agree(expected, actual, tf_face=True)


def test_npz_members_are_read_by_name_not_position():
    """A regression guard for the spec's member lookup: an archive whose directory order
    differs from the spec order, written by zipfile with NumPy's .npy members."""
    buf = io.BytesIO()
    arrays = {"b": np.arange(3, dtype=">i4"), "a": np.float16([np.nan, -0.0])}
    with zipfile.ZipFile(buf, "w") as z:
        for name, a in arrays.items():
            member = io.BytesIO()
            np.save(member, a)
            z.writestr(f"{name}.npy", member.getvalue())
    out = gnp.decode_npz(buf.getvalue(), {"a": np.float16, "b": np.int32})
    assert_same(out["a"], arrays["a"])
    assert_same(out["b"], arrays["b"])


def test_multi_disk_archives_are_refused_like_the_reference():
    """The native decoder ignored the end record's disk numbers; the reference (and Python's
    zipfile) refuse an archive that says it spans several disks."""
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(4, dtype=np.int16))
    good = buf.getvalue()
    eocd = good.rindex(b"PK\x05\x06")
    for field in (4, 6, 8):  # this disk, the directory's disk, entries on this disk
        bad = bytearray(good)
        bad[eocd + field] ^= 0x01
        for fn in (reference.decode_npz, gnp.decode_npz):
            with pytest.raises(ValueError, match=r"contents.*zip"):
                fn(bytes(bad), {"a": np.int16})


def test_npy_header_comments_are_read_like_np_load():
    """np.load reads the header with ast.literal_eval, which skips Python comments; the
    native parser refused a '#' after the dict ("text after the dict")."""
    a = np.arange(6, dtype="<i2").reshape(2, 3)
    buf = io.BytesIO()
    np.save(buf, a)
    good = buf.getvalue()
    header_end = good.index(b"}") + 1
    for comment in (b"#", b"# a note '}'", b"#\n#x"):
        bad = bytearray(good)
        bad[header_end : header_end + len(comment)] = comment
        np.testing.assert_array_equal(np.load(io.BytesIO(bytes(bad))), a)
        for fn in (reference.decode_npy, gnp.decode_npy):
            assert_same(fn(bytes(bad), np.int16), a)
