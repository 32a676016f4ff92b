"""The loader examples run (small sizes) and their outputs match gilfree.reference.

Each example's main() checks every tile against gilfree.reference before it times anything,
so a run that returns is a pass. An example whose library is not installed is skipped.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL = ["--tiles", "6", "--size", "32", "--batch", "4", "--threads", "2", "--repeats", "1"]


def load_example(name: str) -> ModuleType:
    """Imports examples/<name>.py as a module (examples/ is not a package)."""
    module_name = f"gilfree_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def check_results(results: dict[str, float], expected_keys: int) -> None:
    assert len(results) == expected_keys, results
    for name, value in results.items():
        assert np.isfinite(value) and value > 0, (name, value)


def test_threadpool_loader(capsys):
    """README (NumPy kernels in other loaders): examples/threadpool_loader.py runs, checks every
    tile against gilfree.reference and returns tiles/s rates.
    """
    example = load_example("threadpool_loader")
    results = example.main([*SMALL, "--reference-tiles", "4"])
    check_results(results, 4)
    out = capsys.readouterr().out
    assert "outputs agree with gilfree.reference: 6 tiles" in out


def test_threadpool_loader_check_detects_a_wrong_output():
    """README (NumPy kernels in other loaders): the examples' check against gilfree.reference
    catches a wrong tile.
    """
    example = load_example("threadpool_loader")
    tiles = example.make_tiles(2, 16)
    wrong = example.ThreadPoolLoader(tiles, 2, 2, lambda t: example.preprocess(t) + 1e-3)
    with pytest.raises(AssertionError):
        example.check_against_reference(tiles, wrong)


def test_threadpool_loader_keeps_order():
    example = load_example("threadpool_loader")
    tiles = example.make_tiles(7, 16, seed=3)
    batches = list(example.ThreadPoolLoader(tiles, 3, 4))
    assert [len(b) for b in batches] == [3, 3, 1]
    got = np.concatenate(batches)
    want = np.stack([example.preprocess(t) for t in tiles])
    np.testing.assert_array_equal(got, want)


def test_torch_dataloader(capsys):
    """README (NumPy kernels in other loaders): examples/torch_dataloader.py runs and checks every
    tile against gilfree.reference.
    """
    pytest.importorskip(
        "torch", reason="torch is not installed (pip install torch; the CPU build is enough)"
    )
    example = load_example("torch_dataloader")
    results = example.main(SMALL)
    check_results(results, 2)
    out = capsys.readouterr().out
    assert "TileDataset: outputs agree with gilfree.reference (6 tiles" in out
    assert "ThreadedTileDataset: outputs agree with gilfree.reference (6 tiles" in out


def test_grain_loader(capsys):
    """README (NumPy kernels in other loaders): examples/grain_loader.py runs and checks every tile
    against gilfree.reference.
    """
    pytest.importorskip("grain", reason="grain is not installed (pip install grain)")
    example = load_example("grain_loader")
    results = example.main(SMALL)
    check_results(results, 2)
    assert "outputs agree with gilfree.reference (6 tiles" in capsys.readouterr().out


def numpy_stretch_then_normalize(tile: np.ndarray, mean, std) -> np.ndarray:
    """2-98 % stretch of each band over its valid (non-zero) pixels, 0 at nodata, then
    (x - mean) / std per band: written with NumPy only."""
    out = np.empty(tile.shape, np.float64)
    for c in range(tile.shape[-1]):
        v = tile[..., c].astype(np.float64)
        valid = v != 0
        lo, hi = np.percentile(v[valid], [2.0, 98.0])
        stretched = np.where(valid, np.clip((v - lo) / (hi - lo), 0.0, 1.0), 0.0)
        out[..., c] = (stretched - mean[c]) / std[c]
    return out


@pytest.mark.parametrize("name", ["threadpool_loader", "torch_dataloader", "grain_loader"])
def test_examples_stretch_and_normalize_13_band_uint16_tiles(name):
    """README (NumPy kernels in other loaders): each example stretches and normalizes 13-band
    uint16 tiles (checked here against NumPy's percentile and the examples' mean and std)."""
    library = {"torch_dataloader": "torch", "grain_loader": "grain"}.get(name)
    if library is not None:
        pytest.importorskip(library, reason=f"{library} is not installed")
    example = load_example(name)
    tiles = example.make_tiles(3, 16, seed=5)
    assert tiles.dtype == np.uint16 and tiles.shape == (3, 16, 16, 13)
    if name == "grain_loader":
        got = np.concatenate(list(example.make_dataset(tiles, 3, 1)))
    else:
        got = np.stack([example.preprocess(t) for t in tiles])
    want = np.stack([numpy_stretch_then_normalize(t, example.MEAN, example.STD) for t in tiles])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_geotiff_pipeline(capsys):
    """README (Record decoding): the GeoTIFF example decodes tiles and chips of a scene in
    tf.data (its main() checks them against tifffile first) and reads the GeoTIFF fields."""
    pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    example = load_example("geotiff_pipeline")
    args = ["--tiles", "3", "--size", "48", "--scene-size", "768", "--repeats", "1"]
    results = example.main(args)
    check_results(results, 3)
    out = capsys.readouterr().out
    assert "nodata 0.0, EPSG 32633" in out and "9 chips through tf.data" in out
