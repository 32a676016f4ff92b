"""Every SIMD target the CPU supports gives the reference's numbers.

The kernels are compiled once per target (scalar, baseline, AVX2, AVX-512; on aarch64
scalar, baseline and NEON) and one is chosen at run time; GILFREE_SIMD forces a target,
so each one is held to the NumPy reference in its own process (the choice is made once
per process).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = r"""
import json, sys
import numpy as np
import gilfree.numpy as gn
import gilfree.reference as ref

rng = np.random.default_rng(7)
worst = {}
for dtype in ["uint8", "uint16", "int16", "int32", "float16", "float32"]:
    for shape in [(37, 29, 3), (2, 17, 31, 13), (5, 67), (3, 9, 11, 200)]:
        x = (rng.random(shape) * 900 - (0 if dtype.startswith("u") else 300)).astype(dtype)
        if dtype.startswith("float"):
            x.flat[::97] = np.nan
        c = shape[-1] if len(shape) >= 3 else 1
        mean, std = rng.random(c) * 100, rng.random(c) * 50 + 1
        for out in ["float32", "float16"]:
            cases = {
                "normalize": (gn.normalize(x, mean, std, dtype=out),
                              ref.normalize(x, mean, std, dtype=out)),
                "standardize": (gn.standardize(np.nan_to_num(x), per_channel=True, dtype=out),
                                ref.standardize(np.nan_to_num(x), per_channel=True, dtype=out)),
                "minmax_scale": (gn.minmax_scale(x, nodata=0, dtype=out),
                                 ref.minmax_scale(x, nodata=0, dtype=out)),
                "percentile_stretch": (gn.percentile_stretch(x, 5, 95, dtype=out),
                                       ref.percentile_stretch(x, 5, 95, dtype=out)),
            }
            for name, (got, want) in cases.items():
                got, want = got.astype(np.float64), want.astype(np.float64)
                assert np.array_equal(np.isnan(got), np.isnan(want)), (name, dtype, shape)
                scale = np.maximum(1.0, np.abs(np.nan_to_num(want)))
                err = float(np.nanmax(np.abs(got - want) / scale)) if got.size else 0.0
                key = f"{name}/{out}"
                worst[key] = max(worst.get(key, 0.0), err)
print(json.dumps({"level": gn.simd_level(), "worst": worst}))
"""


def _available_targets() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    targets = ["scalar", "baseline"]
    if platform.machine().lower() in ("aarch64", "arm64"):
        targets.append("neon")  # Advanced SIMD is part of the aarch64 base instruction set
    if all(f in flags for f in (" avx2", " fma", " f16c")):
        targets.append("avx2")
    if all(f in flags for f in (" avx512f", " avx512bw", " avx512dq", " avx512vl")):
        targets.append("avx512")
    return targets


def run_on_target(script: str, target: str) -> dict:
    """Runs a check script in a fresh process with the kernels forced to `target`, and
    returns the JSON it printed last (after checking the target was really used)."""
    env = {**os.environ, "GILFREE_SIMD": target}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["level"] == target
    return result


# The targets this CPU can run (a CPU without AVX-512 cannot test that target).
@pytest.mark.parametrize("target", _available_targets())
def test_target_matches_reference(target: str) -> None:
    result = run_on_target(CHECK, target)
    for key, err in result["worst"].items():
        limit = 2e-3 if key.endswith("float16") else 2e-5
        assert err <= limit, (target, key, err)


GEOMETRY_CHECK = r"""
import json
import numpy as np
import cv2
import gilfree.numpy as gn
import gilfree.reference as ref

rng = np.random.default_rng(11)
m = cv2.getRotationMatrix2D((20.0, 15.0), 17, 1.1)
worst = {}
for dtype in ["uint8", "uint16", "int16", "float16", "float32"]:
    for shape in [(31, 43), (31, 43, 3), (2, 31, 43, 4), (31, 43, 13)]:
        x = (rng.random(shape) * 200).astype(dtype)
        for interpolation in ["nearest", "bilinear", "bicubic"]:
            for fill_mode in ["constant", "reflect"]:
                kw = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=7)
                got = gn.warp_affine(x, m, **kw).astype(np.float64)
                want = ref.warp_affine(x, m, **kw).astype(np.float64)
                err = np.abs(got - want)
                key = f"{interpolation}/{dtype}"
                # nearest: a tie decided differently in float32 moves a pixel; count those
                # (one level; one float16 ulp at 128..256; float32 coordinates)
                limit = {"float16": 0.125, "float32": 0.01}.get(dtype, 1.0)
                bad = float(np.mean(err > limit))
                worst[key] = max(worst.get(key, 0.0), bad)
print(json.dumps({"level": gn.simd_level(), "worst": worst}))
"""


# The warp loops have per-target code (AVX-512 gathers and channel vectors).
@pytest.mark.parametrize("target", _available_targets())
def test_geometry_target_matches_reference(target: str) -> None:
    result = run_on_target(GEOMETRY_CHECK, target)
    for key, bad in result["worst"].items():
        # share of pixels off by more than the limit above
        assert bad <= (1e-3 if key.startswith("nearest") else 0.0), (target, key, bad)


V3_CHECK = r"""
import json
import numpy as np
import gilfree.numpy as gn
import gilfree.reference as ref

rng = np.random.default_rng(13)
differing = {}
for dtype in ["uint8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64"]:
    shapes = [(2, 23, 37, 3), (1, 9, 70, 1), (1, 31, 43, 4), (1, 17, 29, 2), (1, 12, 19, 5)]
    for shape, strided in [(s, False) for s in shapes] + [((1, 14, 22, 3), True)]:
        scale = -30000 if dtype == "int16" else 60000 if dtype == "uint16" else 250
        x = (rng.random(shape) * scale).astype(dtype)
        if strided:  # channels not adjacent in memory
            x = np.ascontiguousarray(np.moveaxis(x, -1, 1)).transpose(0, 2, 3, 1)
        t = rng.normal([1, 0, 0, 0, 1, 0, 0, 0], [0.2, 0.2, 4, 0.2, 0.2, 4, 0.003, 0.003], (1, 8))
        t = t.astype(np.float32)
        for interpolation in ["nearest", "bilinear"]:
            for fill_mode in ["constant", "reflect", "wrap", "nearest"]:
                kw = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=3.5,
                          output_shape=(29, 41))
                got = gn.projective_transform(x, t, **kw)
                want = ref.projective_transform(x, t, **kw)
                key = f"{interpolation}/{dtype}"
                same = (got == want) | (np.isnan(got) & np.isnan(want)) if dtype.startswith("f") \
                    else got == want
                differing[key] = differing.get(key, 0) + int((~same).sum())
print(json.dumps({"level": gn.simd_level(), "worst": differing}))
"""


# projective_transform has per-target row loops too (core/warp_v3_impl.inc): every target
# gives ImageProjectiveTransformV3's numbers, which the reference reproduces bit for bit.
@pytest.mark.parametrize("target", _available_targets())
def test_projective_transform_is_exact_on_every_target(target: str) -> None:
    result = run_on_target(V3_CHECK, target)
    assert all(count == 0 for count in result["worst"].values()), (target, result["worst"])
