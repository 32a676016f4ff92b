"""`python -m gilfree.bench --quick` runs end to end and writes a complete report.

One run of the suite with the smallest sizes (and matplotlib blocked, so the plot must become
a note, not a crash) feeds the checks of the JSON's structure: the machine description, every
variant with a number (or a reason why it was not measured), the markdown report, --train.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tensorflow")

# The suite's parent process imports neither TensorFlow nor matplotlib; blocking matplotlib in
# it (sys.modules[name] = None makes `import name` raise ImportError) is enough.
BLOCK_MATPLOTLIB = (
    "import sys; sys.modules['matplotlib'] = None; from gilfree.bench import main; sys.exit(main())"
)
TINY = [
    "--quick",
    "--sizes",
    "32",
    "--repeats",
    "1",
    "--pass-seconds",
    "0.01",
    "--calls",
    "AUTOTUNE",
    "--batch",
    "2",
    "--train",
    "--train-steps",
    "2",
]
MACHINE_KEYS = {
    "cpu_model",
    "cpu_flags",
    "logical_cpus",
    "allowed_cpus",
    "memory_gib",
    "python",
    "numpy",
    "tensorflow",
    "opencv",
    "gilfree",
    "gilfree_simd_level",
    "gpus",
}
MEASURED_KEYS = {
    "elements_per_s",
    "elements_per_s_min",
    "elements_per_s_max",
    "megapixels_per_s",
    "cpu_utilization",
    "speedup_vs_fallback",
    "scaling_efficiency",
    "timing",
    "elements_per_pass",
    "check",
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    paths = {k: out / f"bench.{k}" for k in ("json", "md", "png")}
    cmd = [
        sys.executable,
        "-c",
        BLOCK_MATPLOTLIB,
        *TINY,
        "--json",
        str(paths["json"]),
        "--markdown",
        str(paths["md"]),
        "--plot",
        str(paths["png"]),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, cwd=out, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return {
        "proc": proc,
        "paths": paths,
        "payload": json.loads(paths["json"].read_text()),
    }


def test_json_structure(quick_run):
    payload = quick_run["payload"]
    assert payload["schema"] == "gilfree.bench/1"
    assert MACHINE_KEYS <= set(payload["machine"])
    assert payload["machine"]["tensorflow"]
    levels = ("scalar", "baseline", "avx2", "avx512", "neon")
    assert payload["machine"]["gilfree_simd_level"] in levels
    assert {"other_processes_cores", "steal_cores", "wall_s"} <= set(payload["load"])
    allowed = len(os.sched_getaffinity(0))
    assert payload["config"]["cores"] == sorted({1, allowed})
    assert payload["problems"] == []
    assert payload["method"]
    from gilfree.bench.families import FAMILIES, VARIANTS

    assert list(payload["families"]) == list(FAMILIES)
    assert list(payload["variants"]) == list(VARIANTS)


def test_every_variant_produced_a_number(quick_run):
    from gilfree.bench.families import VARIANTS, opencv_missing

    results = quick_run["payload"]["results"]
    assert results
    measured: set[str] = set()
    for rec in results:
        assert "error" not in rec, rec
        if "unavailable" in rec:
            assert isinstance(rec["unavailable"], str) and rec["unavailable"], rec
            continue
        assert MEASURED_KEYS <= set(rec), rec
        assert math.isfinite(rec["elements_per_s"]) and rec["elements_per_s"] > 0, rec
        assert rec["elements_per_s_min"] <= rec["elements_per_s"] <= rec["elements_per_s_max"]
        assert rec["check"]["ok"] or rec["variant"] in ("tf_native", "opencv"), rec
        measured.add(rec["variant"])
    expected = set(VARIANTS) - ({"opencv"} if opencv_missing() else set())
    assert measured == expected
    # The fallback is the speedup's baseline, one core the scaling's.
    for rec in results:
        if rec["variant"] == "fallback" and "elements_per_s" in rec:
            assert rec["speedup_vs_fallback"] == pytest.approx(1.0)
        if rec["cores"] == 1 and rec["parallel_calls"] in ("AUTOTUNE", None):
            if "elements_per_s" in rec:
                assert rec["scaling_efficiency"] == pytest.approx(1.0)


def test_every_family_ran_or_says_why(quick_run):
    payload = quick_run["payload"]
    families = {r["family"] for r in payload["results"] if "elements_per_s" in r}
    for name, info in payload["families"].items():
        if info["available"]:
            assert name in families
        else:
            assert info["reason"]
    assert payload["families"]["pipeline"]["steps"][:2] == ["read_file", "decode_npy"]


def test_markdown_and_terminal_table(quick_run):
    md = quick_run["paths"]["md"].read_text()
    assert "| family | case | variant |" in md
    assert "## Fallback against gilfree" in md
    out = quick_run["proc"].stdout
    assert "normalize 32x32x3 uint8" in out
    assert "Wrote" in out


def test_plot_without_matplotlib_is_a_note(quick_run):
    assert not quick_run["paths"]["png"].exists()
    notes = quick_run["payload"]["notes"]
    assert any("matplotlib is not installed" in n for n in notes), notes
    assert "matplotlib is not installed" in quick_run["proc"].stdout
    assert "matplotlib is not installed" in quick_run["paths"]["md"].read_text()


def test_plot_with_matplotlib(quick_run, tmp_path):
    pytest.importorskip("matplotlib")
    from gilfree.bench import report

    path = tmp_path / "scaling.png"
    assert report.write_plot(quick_run["payload"], path) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train(quick_run):
    train = quick_run["payload"]["train"]
    assert train is not None and "error" not in train, train
    assert train["device"] in ("CPU", "GPU")
    assert set(train["results"]) == {"in_memory", "fallback", "gilfree"}
    for name, res in train["results"].items():
        assert res["steps_per_s"] > 0, name
        assert 0.0 <= res["input_wait_share"] <= 1.0, name
    assert train["results"]["in_memory"]["input_wait_share"] == 0.0


def test_import_does_not_load_tensorflow_matplotlib_or_opencv():
    code = (
        "import sys, gilfree.bench, gilfree.bench.cli, gilfree.bench.families, "
        "gilfree.bench.report, gilfree.bench.runner, gilfree.bench.train; "
        "print(sorted(m for m in ('tensorflow', 'matplotlib', 'cv2', 'keras') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_list_and_bad_arguments():
    run = [sys.executable, "-m", "gilfree.bench"]
    out = subprocess.run([*run, "--list"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "pipeline" in out.stdout and "offline_pool" in out.stdout
    bad = subprocess.run(
        [*run, "--ops", "nonsense"], capture_output=True, text=True, timeout=60, check=False
    )
    assert bad.returncode == 2 and "unknown" in bad.stderr


def test_cores_beyond_the_allowed_cpus_is_an_error(tmp_path: Path):
    too_many = str(len(os.sched_getaffinity(0)) + 1)
    out = subprocess.run(
        [sys.executable, "-m", "gilfree.bench", "--cores", too_many, "--ops", "normalize"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 2 and "--cores" in out.stderr
