"""A SavedModel whose serving function uses gilfree ops, loaded in fresh processes.

The custom ops are saved in the graph by name (``Gilfree>PercentileStretch``, ...); the
process that loads the SavedModel must have them registered first, which
``gilfree.load_ops()`` does. See docs/distributed.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import gilfree  # noqa: E402

MEAN = [0.5, 0.45, 0.4, 0.35]
STD = [0.25, 0.2, 0.22, 0.3]
SUBPROCESS_TIMEOUT_S = 120


class Preprocess(tf.Module):
    """percentile_stretch (nodata 0), then normalize, of a uint16 [H, W, 4] image."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.uint16, name="image")])
    def serve(self, image: Any) -> dict[str, Any]:
        stretched = gilfree.percentile_stretch(image, 2, 98, nodata=0)
        return {
            "stretched": stretched,
            "normalized": gilfree.normalize(stretched, MEAN, STD),
            "scaled": gilfree.normalize(image, 0.5, 0.25, scale=1 / 65535),
        }


OUTPUTS = ("stretched", "normalized", "scaled")

# Loads the SavedModel in a fresh interpreter and calls it both ways (the restored
# tf.function and the serving signature); writes the outputs as .npy, or the error as JSON.
LOADER = r"""
import json, sys
from pathlib import Path
import numpy as np

model_dir, work, how = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if how == "load_ops":
    import gilfree
    gilfree.load_ops()
elif how == "import_gilfree":
    import gilfree  # the TensorFlow face loads the ops only on first use
import tensorflow as tf

try:
    loaded = tf.saved_model.load(str(model_dir))
except Exception as e:
    (work / "error.json").write_text(json.dumps({"type": type(e).__name__, "message": str(e)}))
    sys.exit(3)
x = np.load(work / "image.npy")
outputs = {"fn": loaded.serve(tf.constant(x)),
           "sig": loaded.signatures["serving_default"](image=tf.constant(x))}
for route, out in outputs.items():
    for name, value in out.items():
        np.save(work / f"{route}-{name}.npy", value.numpy())
print("ok", flush=True)
"""


def make_image(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 65536, size=(40, 56, 4), dtype=np.int64).astype(np.uint16)
    x[rng.random(x.shape[:2]) < 0.1] = 0  # nodata pixels
    return x


def run_loader(model_dir: Path, work: Path, how: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-c", LOADER, os.fspath(model_dir), os.fspath(work), how],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, dict]:
    """The SavedModel's directory, the input image and the in-process outputs."""
    root = tmp_path_factory.mktemp("saved-model")
    module = Preprocess()
    image = make_image()
    expected = {k: v.numpy() for k, v in module.serve(tf.constant(image)).items()}
    model_dir = root / "model"
    tf.saved_model.save(module, os.fspath(model_dir), signatures={"serving_default": module.serve})
    return model_dir, image, expected


def test_in_process_outputs_follow_the_ops(saved: tuple[Path, np.ndarray, dict]) -> None:
    _, image, expected = saved
    stretched = gilfree.percentile_stretch(image, 2, 98, nodata=0).numpy()
    np.testing.assert_array_equal(expected["stretched"], stretched)
    np.testing.assert_array_equal(
        expected["normalized"], gilfree.normalize(stretched, MEAN, STD).numpy()
    )
    assert expected["stretched"].dtype == np.float32
    assert expected["stretched"].shape == image.shape


def test_fresh_process_with_load_ops_gives_the_same_outputs(
    saved: tuple[Path, np.ndarray, dict], tmp_path: Path
) -> None:
    """README (tf.data service and SavedModel): a SavedModel that uses gilfree ops loads after
    `gilfree.load_ops()` (README (The ops): call it before loading such a SavedModel).
    """
    model_dir, image, expected = saved
    np.save(tmp_path / "image.npy", image)
    result = run_loader(model_dir, tmp_path, "load_ops")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
    for route in ("fn", "sig"):
        for name in OUTPUTS:
            got = np.load(tmp_path / f"{route}-{name}.npy")
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, expected[name], err_msg=f"{route} {name}")


@pytest.mark.parametrize("how", ["tensorflow_only", "import_gilfree"])
def test_fresh_process_without_load_ops_fails_to_load(
    how: str, saved: tuple[Path, np.ndarray, dict], tmp_path: Path
) -> None:
    """Without gilfree.load_ops() (``import gilfree`` alone is not enough) the load fails.

    README (tf.data service and SavedModel): without `gilfree.load_ops()` before
    `tf.saved_model.load`, the load fails with "Op type not registered".
    """
    model_dir, image, _ = saved
    np.save(tmp_path / "image.npy", image)
    result = run_loader(model_dir, tmp_path, how)
    assert result.returncode == 3, (result.stdout, result.stderr[-3000:])
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["type"] == "RuntimeError"
    message = error["message"]
    assert "Op type not registered 'Gilfree>" in message
    assert "Make sure the Op and Kernel are registered in the binary running in this process" in (
        message
    )
