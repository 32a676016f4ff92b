"""decode_npz on the four faces against archives written by np.savez/np.savez_compressed."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from decode_helpers import (
    FACES,
    assert_same_array,
    decode_npz,
    dtype_pattern,
    face_dtype,
    face_fn,
    is_tf,
    native,
    raises,
    random_array,
)
from hostile_corpus import to_zip64

SAVERS = {"savez": np.savez, "savez_compressed": np.savez_compressed}


def npz(saver: str, *args: np.ndarray, **kwargs: np.ndarray) -> bytes:
    f = io.BytesIO()
    SAVERS[saver](f, *args, **kwargs)
    return f.getvalue()


@pytest.fixture(scope="module")
def members() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    return {
        "image": random_array((4, 5, 3), "<f4", rng),
        "label": np.array(7, dtype="<i8"),
        "mask": random_array((4, 5), "|b1", rng),
        "empty": np.zeros((0, 3), dtype=">u2"),
        "big": np.tile(np.arange(256, dtype=np.uint8), 4096),  # 1 MiB, compresses well
        "noise": rng.integers(0, 256, 256 * 1024, dtype=np.uint8),  # incompressible
        "fortran": np.asfortranarray(random_array((6, 7), ">f8", rng)),
        "half": random_array((9,), ">f2", rng),
        "wide": random_array((2, 2), "<u8", rng),
    }


@pytest.fixture(scope="module")
def archives(members) -> dict[str, bytes]:
    return {saver: npz(saver, **members) for saver in SAVERS}


def spec_of(arrays: dict[str, np.ndarray]) -> dict[str, np.dtype]:
    return {name: native(a.dtype) for name, a in arrays.items()}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
def test_archive_round_trip(saver, face, members, archives):
    """README (Record decoding): decode_npz reads `numpy.savez` and `savez_compressed` archives."""
    data = archives[saver]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        method = {i.compress_type for i in z.infolist()}
    assert method == ({zipfile.ZIP_DEFLATED} if saver == "savez_compressed" else {0})
    loaded = np.load(io.BytesIO(data))
    out = decode_npz(face, data, spec_of(members))
    for name, a in members.items():
        assert loaded[name].tobytes() == a.tobytes(order="C")  # NumPy reads what it wrote
        assert_same_array(out[name], a, name)


@pytest.mark.parametrize("saver", SAVERS)
def test_numpy_face_arrays_are_their_own(saver, members, archives):
    # Deflated members in C order and native byte order keep their inflated buffer
    # instead of a copy: the arrays must still be independent of the input and of each
    # other, writeable, aligned, and outlive everything else.
    import gilfree.numpy as gnp

    data = bytearray(archives[saver])
    first = gnp.decode_npz(data, spec_of(members))
    second = gnp.decode_npz(bytes(data), spec_of(members))
    data[:] = bytes(len(data))  # the input is overwritten: no array may see it
    for name, a in members.items():
        got = first[name]
        assert got.flags.writeable and got.flags.aligned and got.flags.c_contiguous, name
        assert not np.shares_memory(got, second[name]), name
        if got.size:
            got.reshape(-1)[0] = got.reshape(-1)[-1]  # writing one leaves the other alone
        assert_same_array(second[name], a, name)
    image = second.pop("image")
    del first, second, data
    assert_same_array(image, members["image"], "image")


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
def test_spec_subset_in_spec_order(saver, face, members, archives):
    """README (Record decoding): decode_npz returns a dict of the members named in `spec` (name ->
    dtype).
    """
    spec = {"wide": np.uint64, "label": np.int64, "image": np.float32}
    out = decode_npz(face, archives[saver], spec)  # checks the keys and their order
    for name in spec:
        assert_same_array(out[name], members[name], name)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
def test_positional_names(saver, face):
    rng = np.random.default_rng(13)
    x, y = random_array((3,), "<i4", rng), random_array((2, 2), ">f4", rng)
    out = decode_npz(face, npz(saver, x, y), {"arr_1": np.float32, "arr_0": np.int32})
    assert_same_array(out["arr_0"], x)
    assert_same_array(out["arr_1"], y)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
def test_zip64_records(saver, face):
    """README (Record decoding): decode_npz reads ZIP64 archives."""
    # The archive rewritten with ZIP64 end records and ZIP64 extra fields in the central
    # directory (sizes and offsets 0xFFFFFFFF there): zipfile and np.load read it.
    rng = np.random.default_rng(14)
    arrays = {"a": random_array((5, 4), ">i2", rng), "b": random_array((3,), "<f8", rng)}
    data = to_zip64(npz(saver, **arrays))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert [i.filename for i in z.infolist()] == ["a.npy", "b.npy"]
    loaded = np.load(io.BytesIO(data))
    out = decode_npz(face, data, spec_of(arrays))
    for name, a in arrays.items():
        assert loaded[name].tobytes() == a.tobytes()
        assert_same_array(out[name], a, name)


@pytest.mark.parametrize("face", FACES)
def test_other_members_are_ignored(face):
    rng = np.random.default_rng(15)
    a = random_array((2, 3), "<u4", rng)
    f = io.BytesIO()
    np.savez(f, a=a)
    with zipfile.ZipFile(f, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes.txt", "not an array " * 20)
        z.writestr("junk.npy.bak", b"\x00" * 10)
    out = decode_npz(face, f.getvalue(), {"a": np.uint32})
    assert_same_array(out["a"], a)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
def test_missing_member_names_it_and_the_members_present(saver, face, members, archives):
    """README (Record decoding): a missing member names the members present."""
    spec = {"image": np.float32, "labels": np.int64}
    patterns = [r"\bmember", r"\blabels\b", *(rf"\b{name}\b" for name in members)]
    with raises(face, ValueError, *patterns):
        decode_npz(face, archives[saver], spec)


@pytest.mark.parametrize("face", FACES)
def test_empty_archive(face):
    data = npz("savez")  # no members: a ZIP of just the end record
    with raises(face, ValueError, r"\bmember", r"\bx\b"):
        decode_npz(face, data, {"x": np.float32})


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("saver", SAVERS)
@pytest.mark.parametrize(
    "name,asked", [("image", "float64"), ("label", "uint64"), ("mask", "uint8")], ids=str
)
def test_member_dtype_mismatch_names_both(name, asked, saver, face, members, archives):
    stored = members[name].dtype
    with raises(face, ValueError, dtype_pattern(stored), dtype_pattern(asked)):
        decode_npz(face, archives[saver], {"label": np.int64, name: asked})


@pytest.mark.parametrize("face", FACES)
def test_unsupported_dtype_in_spec(face):
    data = npz("savez", a=np.zeros(3, "<f4"))
    fn = face_fn(face, "decode_npz")
    contents = tf.constant(data) if is_tf(face) else data
    for bad in ("complex64", "float64"):
        dtype = face_dtype(face, bad) if bad == "complex64" else np.dtype([("x", "<f8")])
        with raises(face, TypeError, r"\bspec\b"):
            fn(contents, {"a": dtype})


def test_native_module_needs_no_zlib():
    """README (Record decoding): the .npz reader carries its own inflate and CRC-32: the
    native module needs the C and C++ runtime libraries only (no libz, nothing else; the
    optional ZSTD codec of decode_tiff is linked in from libzstd's static archive where
    the build finds one, else it may need libzstd)."""
    import shutil
    import subprocess

    import gilfree._native as native_module

    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) is not installed")
    out = subprocess.run(
        [readelf, "-d", native_module.__file__], capture_output=True, text=True, check=True
    ).stdout
    needed = {line.split("[")[-1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}
    assert needed, out
    runtime = ("libstdc++.so", "libc.so", "libm.so", "libgcc_s.so", "ld-linux", "libzstd.so")
    others = {lib for lib in needed if not lib.startswith(runtime)}
    assert not others, others


@pytest.mark.parametrize("face", FACES)
def test_member_data_must_not_run_into_the_central_directory(face):
    """A deflated member whose directory entry claims one byte more than its stream holds:
    the stream still inflates, but the claimed bytes reach into the central directory.
    Every face refuses it (found by the property tests: the native faces decoded it)."""
    f = io.BytesIO()
    np.savez_compressed(f, a=np.arange(6, dtype=np.float64))
    data = bytearray(f.getvalue())
    entry = data.index(b"PK\x01\x02")
    (size,) = struct.unpack_from("<I", data, entry + 20)
    struct.pack_into("<I", data, entry + 20, size + 1)
    with raises(face, ValueError, r"central directory"):
        decode_npz(face, bytes(data), {"a": np.float64})
