#!/usr/bin/env python
"""GeoTIFF tiles in a tf.data pipeline, decoded in the graph: no py_function.

What it shows:

* A folder of 13-band uint16 GeoTIFF tiles (written here with tifffile, Deflate with
  predictor 2, 256x256 tiles, GDAL_NODATA 0 and a geotransform) read by
  ``list_files -> read_file -> gilfree.decode_tiff -> percentile_stretch -> warp_affine ->
  batch``, with static shapes all the way. ``gilfree.numpy.tiff_info`` reads the nodata
  value and the geotransform once, before the pipeline is built.
* A large tiled scene (``--scene-size``; a Sentinel-2 tile is 10980x10980x13) cut into
  256x256 chips by ``decode_tiff(..., window=(row, col, 256, 256))`` inside ``Dataset.map``:
  each chip reads only the tiles it touches. The script times one chip against the whole
  scene.
* Every decoded tile and chip is checked against tifffile's reading first.

Needs tifffile and imagecodecs (``pip install '.[test]'`` brings them).
Run:  python examples/geotiff_pipeline.py [--tiles 16] [--size 256] [--scene-size 4096]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

import numpy as np
import tensorflow as tf
import tifffile

import gilfree
import gilfree.numpy

BANDS = 13
NODATA = 0
CHIP = 256
#: GDAL_NODATA, ModelPixelScale, ModelTiepoint, GeoKeyDirectory (UTM zone 33N, EPSG 32633).
GEO_KEYS = (1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32633)


def geotiff_tags(x0: float, y0: float, pixel: float) -> list[tuple]:
    """tifffile extratags of a north-up GeoTIFF with ``pixel``-metre pixels at (x0, y0)."""
    return [
        (42113, "s", 0, str(NODATA), False),
        (33550, "d", 3, (pixel, pixel, 0.0), False),
        (33922, "d", 6, (0.0, 0.0, 0.0, x0, y0, 0.0), False),
        (34735, "H", len(GEO_KEYS), GEO_KEYS, False),
    ]


def synthetic_bands(rows: int, cols: int, top: int, left: int, seed: int) -> np.ndarray:
    """Reflectance-like uint16 bands (smooth fields, speckle, a nodata corner) for the
    rows [top, top + rows) and columns [left, left + cols) of a scene."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[top : top + rows, left : left + cols].astype(np.float32)
    out = np.empty((rows, cols, BANDS), np.uint16)
    for b in range(BANDS):
        field = 1200.0 * np.sin(xx / (40 + 3 * b)) * np.cos(yy / (55 + 2 * b))
        noise = rng.normal(0.0, 200.0, size=(rows, cols))
        out[..., b] = np.clip(1500 + 300 * b + field + noise, 1, 10000).astype(np.uint16)
    out[(xx + yy) < 40] = NODATA  # the swath's edge
    return out


def write_tiles(folder: Path, count: int, size: int) -> dict[str, np.ndarray]:
    """``count`` GeoTIFF tiles of size x size x 13 into ``folder``; returns path -> array."""
    tiles = {}
    for i in range(count):
        array = synthetic_bands(size, size, 0, 0, seed=i)
        path = folder / f"tile{i:03d}.tif"
        tifffile.imwrite(
            path,
            array,
            photometric="minisblack",
            planarconfig="contig",
            compression="zlib",
            predictor=2,
            tile=(min(256, size), min(256, size)),
            extratags=geotiff_tags(500000.0 + 10.0 * size * i, 4000000.0, 10.0),
        )
        tiles[str(path)] = array
    return tiles


def write_scene(path: Path, size: int) -> None:
    """A size x size x 13 scene in 256x256 Deflate tiles, written tile by tile (a 10980
    scene is 3 GB decoded: it is never held whole)."""

    def tiles() -> Iterator[np.ndarray]:
        for top in range(0, size, 256):
            for left in range(0, size, 256):
                tile = synthetic_bands(256, 256, top, left, seed=top * 131 + left)
                yield tile

    tifffile.imwrite(
        path,
        tiles(),
        shape=(size, size, BANDS),
        dtype=np.uint16,
        photometric="minisblack",
        planarconfig="contig",
        compression="zlib",
        predictor=2,
        tile=(256, 256),
        extratags=geotiff_tags(300000.0, 5000000.0, 10.0),
    )


def tile_pipeline(folder: Path, size: int, batch: int, nodata: float | None) -> tf.data.Dataset:
    """list_files -> read_file -> decode_tiff -> percentile_stretch -> warp_affine -> batch."""
    # A 5-degree rotation about the tile's centre (forward matrix, as cv2.getRotationMatrix2D).
    angle = math.radians(5.0)
    c, s = math.cos(angle), math.sin(angle)
    centre = (size - 1) / 2
    matrix = [[c, s, (1 - c) * centre - s * centre], [-s, c, s * centre + (1 - c) * centre]]

    def preprocess(contents: tf.Tensor) -> tf.Tensor:
        image = gilfree.decode_tiff(contents, tf.uint16, shape=(size, size, BANDS))
        stretched = gilfree.percentile_stretch(image, 2.0, 98.0, nodata=nodata)
        return gilfree.warp_affine(stretched, matrix, interpolation="bilinear")

    return (
        tf.data.Dataset.list_files(str(folder / "*.tif"), shuffle=False)
        .map(tf.io.read_file, num_parallel_calls=tf.data.AUTOTUNE)
        .map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch)
        .prefetch(tf.data.AUTOTUNE)
    )


def chip_pipeline(scene: bytes, size: int) -> tf.data.Dataset:
    """The scene cut into CHIP x CHIP chips: one window per element."""
    corners = [
        (r, c) for r in range(0, size - CHIP + 1, CHIP) for c in range(0, size - CHIP + 1, CHIP)
    ]
    contents = tf.constant(scene)

    def chip(corner: tf.Tensor) -> tf.Tensor:
        window = tf.concat([corner, [CHIP, CHIP]], axis=0)
        return gilfree.decode_tiff(contents, tf.uint16, window=window, shape=(CHIP, CHIP, BANDS))

    return tf.data.Dataset.from_tensor_slices(np.int64(corners)).map(
        chip, num_parallel_calls=tf.data.AUTOTUNE
    )


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tiles", type=int, default=16, help="GeoTIFF tiles in the folder")
    p.add_argument("--size", type=int, default=256, help="tile side in pixels")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--scene-size", type=int, default=4096, help="scene side (10980 for S2)")
    p.add_argument("--repeats", type=int, default=5)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tiles"
        folder.mkdir()
        tiles = write_tiles(folder, args.tiles, args.size)
        first = Path(sorted(tiles)[0]).read_bytes()
        info = gilfree.numpy.tiff_info(first)
        print(
            f"{args.tiles} tiles of {info['height']}x{info['width']}x{info['bands']} "
            f"{info['dtype']}, {info['compression']} + predictor {info['predictor']}, "
            f"nodata {info['nodata']}, EPSG {info['epsg']}, geotransform {info['geotransform']}"
        )
        for path, array in tiles.items():  # the decoder against tifffile's reading
            np.testing.assert_array_equal(
                gilfree.decode_tiff(Path(path).read_bytes(), "uint16"), array
            )
            np.testing.assert_array_equal(tifffile.imread(path), array)

        ds = tile_pipeline(folder, args.size, args.batch, info["nodata"])
        print("element_spec:", ds.element_spec)
        start = time.perf_counter()
        count = sum(int(b.shape[0]) for b in ds)
        elapsed = time.perf_counter() - start
        results["tiles_per_s"] = count / elapsed
        print(f"pipeline: {count} tiles in {elapsed:.2f} s ({results['tiles_per_s']:.0f} tiles/s)")

        scene_path = Path(tmp) / "scene.tif"
        write_scene(scene_path, args.scene_size)
        scene = scene_path.read_bytes()
        chips = chip_pipeline(scene, args.scene_size)
        with tifffile.TiffFile(io.BytesIO(scene)) as tif:  # one chip against tifffile's page
            want = tif.pages[0].asarray()[CHIP : 2 * CHIP, CHIP : 2 * CHIP]
        got = gilfree.numpy.decode_tiff(scene, window=(CHIP, CHIP, CHIP, CHIP))
        np.testing.assert_array_equal(got, want)
        n_chips = sum(1 for _ in chips.take(64))
        whole = median_ms(lambda: gilfree.numpy.decode_tiff(scene), max(1, args.repeats // 2))
        window = median_ms(
            lambda: gilfree.numpy.decode_tiff(scene, window=(CHIP, CHIP, CHIP, CHIP)),
            args.repeats,
        )
        results["scene_ms"], results["chip_ms"] = whole, window
        print(
            f"scene {args.scene_size}x{args.scene_size}x{BANDS} ({len(scene) / 2**20:.0f} MiB "
            f"file): whole {whole:.1f} ms, one {CHIP}x{CHIP} chip {window:.2f} ms "
            f"({whole / window:.0f}x); {n_chips} chips through tf.data"
        )
    return results


if __name__ == "__main__":
    main()
