"""`python -m gilfree.bench --quick` runs end to end and writes a complete report.

One run of the suite with the smallest sizes (and matplotlib blocked, so the plot must become
a note, not a crash) feeds the checks of the JSON's structure: the machine description, every
variant with a number (or a reason why it was not measured), the many-core projection, the
markdown report, --train. Without TensorFlow those are skipped; the projection's arithmetic,
the GIL probe and the OpenCV forms are tested on their own (hand-computed numbers, threads
that hold or release the GIL, gilfree.reference).
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
    pytest.importorskip("tensorflow")
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


def test_projection_for_every_variant_measured_at_one_core(quick_run):
    payload = quick_run["payload"]
    proj = payload["projection"]
    assert proj["method"] and proj["unavailable"] is None
    allowed = len(os.sched_getaffinity(0))
    cores = proj["cores"]
    assert cores == sorted({8, 16, 64} | ({allowed} if allowed > 1 else set()))
    one_core = {
        (r["family"], r["case"]["label"], r["variant"]): r
        for r in payload["results"]
        if r["cores"] == 1 and r["parallel_calls"] in ("AUTOTUNE", None) and "elements_per_s" in r
    }
    assert one_core
    records = {(r["family"], r["case"]["label"], r["variant"]): r for r in proj["records"]}
    assert set(records) == set(one_core)
    for key, rec in records.items():
        assert "unavailable" not in rec, rec
        rate1 = one_core[key]["elements_per_s"]
        assert rec["t1_s"] == pytest.approx(1.0 / rate1)
        assert rec["serial_gil_s"] >= 0 and rec["serial_tfdata_s"] > 0, rec
        assert 0 < rec["serial_s"] <= rec["t1_s"] * (1 + 1e-12)
        assert rec["serial_share"] == pytest.approx(rec["serial_s"] / rec["t1_s"])
        probe = rec["gil_probe"]
        assert 0.0 <= probe["held_share"] <= 1.0 and probe["samples"] > 0, probe
        projected = [rec["projected_elements_per_s"][str(n)] for n in cores]
        for n, value in zip(cores, projected, strict=True):
            assert math.isfinite(value) and value > 0, (key, n, value)
            assert value <= n * rate1 * (1 + 1e-9), (key, n, value)
            assert value >= rate1 * (1 - 1e-9), (key, n, value)
            assert rec["upper_bound_elements_per_s"][str(n)] >= value * (1 - 1e-9)
        assert projected == sorted(projected), (key, projected)
        assert rec["ceiling_elements_per_s"] >= projected[-1] * (1 - 1e-9)
        # Where this run measured more cores, the measurement sits beside the projection.
        if allowed > 1:
            measured = next(
                r["elements_per_s"]
                for r in payload["results"]
                if (r["family"], r["case"]["label"], r["variant"]) == key
                and r["cores"] == allowed
                and r["parallel_calls"] in ("AUTOTUNE", None)
            )
            assert rec["measured_elements_per_s"] == {str(allowed): measured}
            assert str(allowed) in rec["serial_s_from_scaling"]


def test_projection_in_the_terminal_table_and_markdown(quick_run):
    out = quick_run["proc"].stdout
    assert "projected (Amdahl's law), not measured" in out
    assert "~64c" in out and "serial" in out
    md = quick_run["paths"]["md"].read_text()
    assert "## Many-core projection (Amdahl's law; projected, not measured)" in md
    assert "64 cores projected" in md
    allowed = len(os.sched_getaffinity(0))
    if allowed > 1:
        # The measured column stands right before the projection for the same core count.
        assert f"| {allowed} cores *measured* | {allowed} cores projected |" in md


def test_opencv_variants_match_the_reference(quick_run):
    pytest.importorskip("cv2")
    results = quick_run["payload"]["results"]
    families = {r["family"] for r in results if r["variant"] == "opencv" and "check" in r}
    # Every family where OpenCV has the operation: 3-channel and 13-band tiles.
    assert families == {
        "normalize",
        "warp_affine_bilinear",
        "warp_affine_bicubic",
        "remap",
        "pipeline",
    }
    for rec in results:
        if rec["variant"] != "opencv":
            continue
        if rec["family"] in families:
            assert rec["check"]["ok"], rec
            assert rec["check"]["mismatch_share"] <= 0.02, rec
        else:  # no OpenCV counterpart: a reason instead of a number
            assert "OpenCV" in rec["unavailable"], rec


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


# --------------------------------------------------------------------------------------------
# The projection's arithmetic, on hand-computed numbers
# --------------------------------------------------------------------------------------------


def test_amdahl_on_hand_computed_numbers():
    from gilfree.bench.projection import amdahl, ceiling, serial_from_scaling, upper_bound

    # t1 = 10 ms, s = 2 ms: at 8 cores 2 + 8 / 8 = 3 ms per element.
    assert amdahl(0.010, 0.002, 1) == pytest.approx(100.0)
    assert amdahl(0.010, 0.002, 8) == pytest.approx(1 / 0.003)
    assert amdahl(0.010, 0.002, 64) == pytest.approx(64 / (0.002 * 64 + 0.008))
    assert ceiling(0.010, 0.002) == pytest.approx(500.0)
    assert upper_bound(0.010, 0.002, 4) == pytest.approx(400.0)  # min(4 / t1, 1 / s)
    assert upper_bound(0.010, 0.002, 8) == pytest.approx(500.0)
    # No serial part: perfect scaling, no ceiling; all serial: no scaling.
    assert amdahl(0.004, 0.0, 16) == pytest.approx(4000.0)
    assert ceiling(0.004, 0.0) is None
    assert amdahl(0.004, 0.004, 16) == pytest.approx(250.0)
    # A serial part measured above t1 (noise) is clamped to t1; below 0, to 0.
    assert amdahl(0.004, 0.009, 16) == pytest.approx(250.0)
    assert amdahl(0.004, -1e-3, 2) == pytest.approx(500.0)
    # Karp-Flatt: the s that explains a measurement, here 150 /s at 2 cores with t1 = 10 ms.
    assert serial_from_scaling(0.010, 150.0, 2) == pytest.approx(2 / 150 - 0.010)
    assert serial_from_scaling(0.010, amdahl(0.010, 0.003, 8), 8) == pytest.approx(0.003)
    assert serial_from_scaling(0.010, 100.0, 1) is None
    with pytest.raises(ValueError, match="t1"):
        amdahl(0.0, 0.0, 2)
    with pytest.raises(ValueError, match="cores"):
        amdahl(0.01, 0.0, 0)


def test_projection_records_from_results():
    from gilfree.bench.projection import build

    case = {"label": "8x8x3 uint8", "height": 8, "width": 8, "channels": 3, "dtype": "uint8"}

    def result(variant, cores, rate, calls="AUTOTUNE"):
        return {
            "family": "f",
            "case": case,
            "variant": variant,
            "cores": cores,
            "parallel_calls": calls,
            "elements_per_s": rate,
        }

    results = [
        result("gilfree", 1, 100.0),  # t1 = 10 ms
        result("gilfree", 2, 180.0),
        result("gilfree", 2, 150.0, calls=1),  # not AUTOTUNE: not the measurement beside
        result("offline_pool", 1, 50.0, calls=None),
        result("fallback", 1, 20.0),  # no serial part measured: unavailable
        {**result("opencv", 1, 0.0), "unavailable": "no cv2"},
    ]
    del results[-1]["elements_per_s"]
    serial = [
        {
            "family": "f",
            "case": case,
            "variant": "gilfree",
            "serial_gil_s": 0.0005,
            "serial_tfdata_s": 0.0015,
        },
        {
            "family": "f",
            "case": case,
            "variant": "offline_pool",
            "serial_gil_s": 0.02,
            "serial_tfdata_s": 0.01,  # s = 30 ms > t1 = 20 ms: clamped
        },
    ]
    proj = build(results, serial, [8, 64])
    assert proj["cores"] == [2, 8, 64]
    recs = {r["variant"]: r for r in proj["records"]}
    assert set(recs) == {"gilfree", "offline_pool", "fallback"}
    g = recs["gilfree"]
    assert g["t1_s"] == pytest.approx(0.010) and g["serial_s"] == pytest.approx(0.002)
    assert g["serial_share"] == pytest.approx(0.2)
    assert g["projected_elements_per_s"]["8"] == pytest.approx(1 / 0.003)
    assert g["projected_elements_per_s"]["2"] == pytest.approx(2 / 0.012)
    assert g["measured_elements_per_s"] == {"2": 180.0}
    assert g["serial_s_from_scaling"]["2"] == pytest.approx(2 / 180 - 0.010)
    assert g["ceiling_elements_per_s"] == pytest.approx(500.0)
    o = recs["offline_pool"]
    assert o["serial_clamped"] and o["serial_s"] == pytest.approx(0.020)
    assert o["projected_elements_per_s"]["64"] == pytest.approx(50.0)
    assert recs["fallback"]["unavailable"]
    assert build([result("gilfree", 2, 10.0)], [], [8])["unavailable"]


# --------------------------------------------------------------------------------------------
# The GIL probe: a thread that holds the GIL, and one that does not
# --------------------------------------------------------------------------------------------


def _probe_share(work) -> dict[str, Any]:
    import threading
    import time

    from gilfree.bench.projection import GilProbe, probe_missing

    if probe_missing():
        pytest.skip(probe_missing())
    allowed = sorted(os.sched_getaffinity(0))
    with GilProbe(cpu=allowed[-1] if len(allowed) > 1 else None) as probe:
        a = probe.now()
        time.sleep(0.1)  # control: nothing wants the GIL
        b = probe.now()
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        c = probe.now()
    return probe.measure((a, b), (b, c))


def test_gil_probe_sees_a_thread_that_holds_the_gil():
    import time

    def spin() -> None:  # pure Python: holds the GIL but for the forced switches
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass

    result = _probe_share(spin)
    assert result["samples"] > 100, result
    assert result["held_share"] > 0.6, result


def test_gil_probe_sees_a_thread_that_releases_the_gil():
    import time

    def sleeper() -> None:  # time.sleep releases the GIL
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            time.sleep(0.002)

    result = _probe_share(sleeper)
    assert result["samples"] > 100, result
    assert result["held_share"] < 0.2, result


# --------------------------------------------------------------------------------------------
# The OpenCV forms against gilfree.reference (13 bands: where OpenCV needs a workaround)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "dtype"), [(3, "uint8"), (13, "uint16")])
def test_opencv_normalize_matches_the_reference(channels, dtype):
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    import gilfree.reference as ref
    from gilfree.bench import data
    from gilfree.bench.families import _cv2_normalizer

    x = data.make_image(40, 24, channels, dtype, 5)
    mean, std = data.band_stats(channels, dtype)
    got = _cv2_normalizer(cv2, 40, 24, channels, mean, std)(x)
    want = ref.normalize(x, mean, std)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("channels", "dtype"), [(3, "uint8"), (13, "uint16")])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "remap"])
def test_opencv_warps_match_the_reference(channels, dtype, interpolation):
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    import gilfree.reference as ref
    from gilfree.bench import data
    from gilfree.bench.families import Case, _cv2_remap, _cv2_warp

    h, w = 48, 40
    x = data.make_image(h, w, channels, dtype, 6)
    case = Case(h, w, channels, dtype)
    if interpolation == "remap":
        map_x, map_y = data.remap_maps(h, w)
        fn = _cv2_remap(cv2, case, ((map_x, map_y), {}))
        want = ref.remap(x, map_x, map_y, interpolation="bilinear")
    else:
        matrix = data.affine_matrix(h, w)
        flag = "INTER_LINEAR" if interpolation == "bilinear" else "INTER_CUBIC"
        fn = _cv2_warp(flag)(cv2, case, ((matrix,), {}))
        want = ref.warp_affine(x, matrix, interpolation=interpolation)
    got = fn(x)
    assert got.dtype == want.dtype and got.shape == want.shape
    # Integer outputs: within 1 level (rounding of ties, OpenCV's fixed-point weights).
    assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1


def test_project_option():
    from gilfree.bench.cli import parse_args

    assert parse_args([]).project == [8, 16, 64]
    assert parse_args(["--project", "4,128"]).project == [4, 128]
    assert parse_args(["--project", "none"]).project == []
    bad = subprocess.run(
        [sys.executable, "-m", "gilfree.bench", "--project", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "--project" in bad.stderr
