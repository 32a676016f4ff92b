"""The TF decoder faces in tf.data pipelines over files NumPy wrote: values and static specs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from decode_helpers import TF_FACES, assert_same_array, face_fn, native, random_array

H, W, C = 6, 5, 3
N_FILES = 7
AUTOTUNE = tf.data.AUTOTUNE


def _write_npy_files(directory, rng) -> None:
    for i in range(N_FILES):
        a = random_array((H, W, C), "<f4" if i % 2 else ">f4", rng)
        np.save(directory / f"tile_{i:02d}.npy", np.asfortranarray(a) if i % 3 == 0 else a)


@pytest.mark.parametrize("face", TF_FACES)
def test_npy_files(face, tmp_path):
    _write_npy_files(tmp_path, np.random.default_rng(21))
    decode = face_fn(face, "decode_npy")
    ds = (
        tf.data.Dataset.list_files(str(tmp_path / "*.npy"), shuffle=False)
        .map(tf.io.read_file)
        .map(lambda b: decode(b, tf.float32, shape=(H, W, C)), num_parallel_calls=AUTOTUNE)
    )
    assert ds.element_spec == tf.TensorSpec((H, W, C), tf.float32)
    got = list(ds.as_numpy_iterator())
    paths = sorted(tmp_path.glob("*.npy"))
    assert len(got) == len(paths) == N_FILES
    for path, y in zip(paths, got, strict=True):
        assert_same_array(y, np.load(path), path.name)

    batched = ds.batch(3)
    assert batched.element_spec == tf.TensorSpec((None, H, W, C), tf.float32)
    stacked = np.concatenate(list(batched.as_numpy_iterator()))
    assert_same_array(stacked, np.stack([np.load(p).astype(np.float32) for p in paths]))


@pytest.mark.parametrize("face", TF_FACES)
def test_npy_file_of_the_wrong_shape_fails_the_pipeline(face, tmp_path):
    _write_npy_files(tmp_path, np.random.default_rng(22))
    np.save(tmp_path / "tile_99.npy", np.zeros((H, W, C + 1), np.float32))
    decode = face_fn(face, "decode_npy")
    ds = (
        tf.data.Dataset.list_files(str(tmp_path / "*.npy"), shuffle=False)
        .map(tf.io.read_file)
        .map(lambda b: decode(b, tf.float32, shape=(H, W, C)), num_parallel_calls=AUTOTUNE)
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\bshape\b"):
        list(ds.as_numpy_iterator())


@pytest.mark.parametrize("face", TF_FACES)
@pytest.mark.parametrize("compressed", [False, True], ids=["savez", "savez_compressed"])
def test_npz_files(compressed, face, tmp_path):
    rng = np.random.default_rng(23)
    save = np.savez_compressed if compressed else np.savez
    for i in range(N_FILES):
        image = rng.integers(0, 256, (H, W, C), dtype=np.uint8)
        save(tmp_path / f"sample_{i:02d}.npz", image=image, label=np.int64(i), extra=np.ones(4))
    decode = face_fn(face, "decode_npz")
    spec = {"label": tf.int64, "image": tf.uint8}
    ds = (
        tf.data.Dataset.list_files(str(tmp_path / "*.npz"), shuffle=False)
        .map(tf.io.read_file)
        .map(lambda b: decode(b, spec), num_parallel_calls=AUTOTUNE)
    )
    assert list(ds.element_spec) == ["label", "image"]
    assert {k: s.dtype for k, s in ds.element_spec.items()} == spec
    got = list(ds.as_numpy_iterator())
    paths = sorted(tmp_path.glob("*.npz"))
    assert len(got) == len(paths) == N_FILES
    for path, out in zip(paths, got, strict=True):
        with np.load(path) as expected:
            for name in spec:
                assert_same_array(np.asarray(out[name]), expected[name], (path.name, name))


SCHEMA = np.dtype([("label", "u1"), ("image", "u1", (3, 4, 4)), ("score", ">f4"), ("id", "<u2")])
HEADER, FOOTER = 7, 3


def _records_file(path, n: int, rng) -> bytes:
    body = rng.integers(0, 256, n * SCHEMA.itemsize, dtype=np.uint8).tobytes()
    raw = b"H" * HEADER + body + b"F" * FOOTER
    path.write_bytes(raw)
    return body


def _expected(body: bytes) -> dict[str, np.ndarray]:
    records = np.frombuffer(body, SCHEMA)
    return {name: np.ascontiguousarray(records[name]) for name in SCHEMA.names}


@pytest.mark.parametrize("face", TF_FACES)
def test_fixed_length_record_dataset_batches(face, tmp_path):
    """README (Record decoding): decode_records takes batches from
    `tf.data.FixedLengthRecordDataset`.
    """
    path = tmp_path / "data.bin"
    expected = _expected(_records_file(path, 21, np.random.default_rng(24)))
    decode = face_fn(face, "decode_records")
    ds = (
        tf.data.FixedLengthRecordDataset(
            str(path), SCHEMA.itemsize, header_bytes=HEADER, footer_bytes=FOOTER
        )
        .batch(8)
        .map(lambda batch: decode(batch, SCHEMA), num_parallel_calls=AUTOTUNE)
    )
    for name in SCHEMA.names:
        fdt = SCHEMA.fields[name][0]
        spec = tf.TensorSpec([None, *fdt.shape], tf.as_dtype(native(fdt.base)))
        assert ds.element_spec[name] == spec, name
    batches = list(ds.as_numpy_iterator())
    assert [len(b["label"]) for b in batches] == [8, 8, 5]
    for name in SCHEMA.names:
        got = np.concatenate([b[name] for b in batches])
        assert_same_array(got, expected[name], name)


@pytest.mark.parametrize("face", TF_FACES)
def test_whole_records_file(face, tmp_path):
    path = tmp_path / "data.bin"
    expected = _expected(_records_file(path, 13, np.random.default_rng(25)))
    decode = face_fn(face, "decode_records")
    ds = (
        tf.data.Dataset.from_tensor_slices([str(path)])
        .map(tf.io.read_file)
        .map(lambda b: decode(b, SCHEMA, header_bytes=HEADER, footer_bytes=FOOTER))
    )
    (out,) = list(ds.as_numpy_iterator())
    for name in SCHEMA.names:
        assert_same_array(out[name], expected[name], name)
