"""decode_tiff and tiff_info on the native faces (gilfree.numpy, gilfree, gilfree.fallback)
against tifffile, the independent oracle, on the files of tests/tiff_files.py.

The reference's own tests against tifffile are in tests/test_tiff_reference.py; here each
native face must give tifffile's samples bit for bit, the reference's tiff_info, and refuse
every hostile file the reference refuses, with its framework's error naming `contents`.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

import tiff_files  # noqa: E402
from tiff_files import assert_same, oracle, windows  # noqa: E402

import gilfree.numpy as gnp  # noqa: E402
from gilfree import _native, reference  # noqa: E402

CASES = {c.name: c for c in tiff_files.CASES}
HOSTILE = {h.name: h for h in tiff_files.hostile()}
HAS_ZSTD = _native.tiff_has_zstd()


def zstd_pages(data: bytes) -> bool:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        return any(int(p.compression) == 50000 for p in tif.pages)


def skip_without_zstd(data: bytes) -> None:
    if not HAS_ZSTD and zstd_pages(data):
        pytest.skip("this build has no ZSTD codec (libzstd was not found when it was built)")


def same_info(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if key == "nodata" and value is not None and np.isnan(value):
            assert np.isnan(got[key])
        else:
            assert got[key] == value, key
            assert type(got[key]) is type(value), key


# --------------------------------------------------------------------------- valid files


@pytest.mark.parametrize("name", CASES)
def test_numpy_face_matches_tifffile(name: str) -> None:
    """README (Record decoding): gilfree.numpy.decode_tiff gives tifffile's samples, every
    page and window, and tiff_info what the reference reads."""
    case = CASES[name]
    skip_without_zstd(case.data)
    for page in range(len(case.arrays)):
        expected = oracle(case.data, page)
        assert_same(gnp.decode_tiff(case.data, page=page), expected)
        assert_same(gnp.decode_tiff(bytearray(case.data), expected.dtype, page=page), expected)
        h, w = expected.shape[:2]
        for r, c, wh, ww in windows(h, w):
            got = gnp.decode_tiff(case.data, page=page, window=(r, c, wh, ww))
            assert_same(got, expected[r : r + wh, c : c + ww])
        same_info(gnp.tiff_info(case.data, page), reference.tiff_info(case.data, page))


@pytest.mark.parametrize("name", CASES)
def test_tf_face_matches_tifffile(name: str) -> None:
    """README (Record decoding): gilfree.decode_tiff (the TF op) gives tifffile's samples."""
    import gilfree

    case = CASES[name]
    skip_without_zstd(case.data)
    page = len(case.arrays) - 1
    expected = oracle(case.data, page)
    assert_same(gilfree.decode_tiff(case.data, expected.dtype, page=page).numpy(), expected)
    h, w = expected.shape[:2]
    r, c, wh, ww = h // 3, w // 4, max(1, h // 2), max(1, w // 2)
    got = gilfree.decode_tiff(case.data, expected.dtype, page=page, window=[r, c, wh, ww])
    assert got.shape == (wh, ww, expected.shape[2])
    assert_same(got.numpy(), expected[r : r + wh, c : c + ww])


FALLBACK_CASES = ("u2<-rgb-strips", "f4-tiles-separate", "u1-lzw-predictor", "pages3>")


@pytest.mark.parametrize("name", [n for n in FALLBACK_CASES if n in CASES])
def test_fallback_face_matches_tifffile(name: str) -> None:
    import tensorflow as tf

    import gilfree.fallback

    case = CASES[name]
    page = len(case.arrays) - 1
    expected = oracle(case.data, page)
    got = gilfree.fallback.decode_tiff(tf.constant(case.data), expected.dtype, page=page)
    assert_same(got.numpy(), expected)


def test_tf_op_in_a_dataset_with_static_shape_and_tensor_arguments() -> None:
    """The op runs in tf.data; shape= and a window of ints set the static shape, and page
    and window may be tensors."""
    import tensorflow as tf

    import gilfree

    pages = [tiff_files.sample("u2", (9, 11, 4), seed=p) for p in range(3)]
    data = tiff_files.write_pages(
        pages, compression="zlib", photometric="minisblack", planarconfig="contig"
    )
    dtype = pages[0].dtype
    ds = tf.data.Dataset.from_tensor_slices(([data] * 3, [0, 1, 2])).map(
        lambda b, p: gilfree.decode_tiff(b, dtype, page=p, shape=(None, None, pages[0].shape[2])),
        num_parallel_calls=2,
    )
    assert ds.element_spec.shape.as_list() == [None, None, pages[0].shape[2]]
    for got, want in zip(ds, pages, strict=True):
        assert_same(got.numpy(), want)
    spec = tf.TensorSpec([], tf.string)
    fn = tf.function(lambda b: gilfree.decode_tiff(b, dtype, window=(1, 2, 3, 4)), [spec])
    assert fn.get_concrete_function().structured_outputs.shape.as_list() == [3, 4, None]
    window = tf.constant([1, 2, 3, 4])
    assert_same(gilfree.decode_tiff(data, dtype, window=window).numpy(), pages[0][1:4, 2:6])


# --------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_like_the_reference(name: str) -> None:
    """README (Record decoding): decoders treat every byte as hostile; each corrupt file is
    refused with ValueError (NumPy) or InvalidArgumentError (TF) naming `contents`, as the
    reference refuses it."""
    import tensorflow as tf

    import gilfree

    h = HOSTILE[name]
    with pytest.raises(ValueError, match="contents"):
        reference.decode_tiff(h.data, page=h.page, window=h.window)
    with pytest.raises(ValueError, match="contents"):
        gnp.decode_tiff(h.data, page=h.page, window=h.window)
    with pytest.raises(tf.errors.InvalidArgumentError, match="contents"):
        gilfree.decode_tiff(h.data, "uint8", page=h.page, window=h.window)
    try:
        want = reference.tiff_info(h.data, h.page)
    except ValueError:
        with pytest.raises(ValueError, match="contents"):
            gnp.tiff_info(h.data, h.page)
    else:
        same_info(gnp.tiff_info(h.data, h.page), want)


SMALL = ("u2<-rgb-strips", "u2-lzw", "f4-tiles-zlib", "u1-packbits", "pages3>")


@pytest.mark.parametrize("name", [n for n in SMALL if n in CASES])
def test_every_truncation_and_random_bytes(name: str) -> None:
    """Every prefix, and 300 files with random bytes changed: the NumPy face decodes what
    the reference decodes (the same samples) and refuses what it refuses."""
    data = CASES[name].data
    rng = np.random.default_rng(len(data))
    variants = [data[:cut] for cut in range(len(data))]
    for _ in range(300):
        buf = bytearray(data)
        for at in rng.integers(0, len(buf), size=rng.integers(1, 4)):
            buf[at] = int(rng.integers(0, 256))
        variants.append(bytes(buf))
    for v in variants:
        try:
            want = reference.decode_tiff(v)
        except ValueError:
            with pytest.raises(ValueError, match="contents"):
                gnp.decode_tiff(v)
        else:
            assert_same(gnp.decode_tiff(v), want)


# --------------------------------------------------------------------------- arguments

DATA = CASES["u2<-rgb-strips"].data  # 19 x 21 x 3 uint16


def test_dtype_mismatch_names_both_types() -> None:
    import tensorflow as tf

    import gilfree

    with pytest.raises(ValueError, match=r"uint8.*uint16|uint16.*uint8"):
        gnp.decode_tiff(DATA, "uint8")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"uint8.*uint16|uint16.*uint8"):
        gilfree.decode_tiff(DATA, tf.uint8)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"page": 1}, r"page"),
        ({"page": -1}, r"page"),
        ({"window": (0, 0, 20, 1)}, r"window"),
        ({"window": (0, 21, 1, 1)}, r"window"),
        ({"window": (0, 0, 0, 1)}, r"window"),
        ({"window": (-1, 0, 1, 1)}, r"window"),
        ({"window": (0, 0, 1)}, r"window"),
        ({"shape": (19, 21)}, r"shape"),
        ({"shape": (19, 20, 3)}, r"shape"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, pattern: str) -> None:
    import tensorflow as tf

    import gilfree

    with pytest.raises(ValueError, match=pattern):
        gnp.decode_tiff(DATA, **kwargs)
    with pytest.raises(ValueError, match=pattern):
        reference.decode_tiff(DATA, **kwargs)
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        gilfree.decode_tiff(DATA, "uint16", **kwargs)


def test_zstd_without_libzstd_names_the_codec() -> None:
    """A build without libzstd reads everything else and names the missing codec."""
    data = CASES["bigtiff-zstd"].data
    assert gnp.tiff_info(data)["compression"] == "zstd"
    if HAS_ZSTD:
        assert_same(gnp.decode_tiff(data), oracle(data, 0))
    else:
        with pytest.raises(ValueError, match=r"ZSTD.*libzstd"):
            gnp.decode_tiff(data)


def test_info_reports_the_codecs() -> None:
    from gilfree.__main__ import collect

    assert ("zstd" in collect()["tiff codecs"].split(", ")) == HAS_ZSTD


def test_list_files_read_file_decode_tiff_pipeline(tmp_path) -> None:
    """README (Record decoding): list_files -> read_file -> decode_tiff in tf.data, with a
    static shape, gives tifffile's arrays."""
    import tensorflow as tf

    import gilfree

    tiles = {}
    for i in range(6):
        tile = tiff_files.sample("u2", (32, 32, 13), seed=i)
        path = tmp_path / f"tile{i}.tif"
        path.write_bytes(
            tiff_files.write(
                tile,
                photometric="minisblack",
                planarconfig="contig",
                compression="zlib",
                predictor=2,
                tile=(16, 16),
            )
        )
        tiles[str(path).encode()] = tile
    ds = (
        tf.data.Dataset.list_files(str(tmp_path / "*.tif"), shuffle=False)
        .map(lambda p: (p, tf.io.read_file(p)))
        .map(
            lambda p, b: (p, gilfree.decode_tiff(b, tf.uint16, shape=(32, 32, 13))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    )
    assert ds.element_spec[1].shape.as_list() == [32, 32, 13]
    seen = 0
    for path, image in ds:
        assert_same(image.numpy(), tiles[path.numpy()])
        seen += 1
    assert seen == len(tiles)
