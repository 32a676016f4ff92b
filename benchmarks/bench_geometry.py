#!/usr/bin/env python
"""Benchmark the gilfree geometry ops against OpenCV and TensorFlow on one core.

Usage::

    python benchmarks/bench_geometry.py [--repeats N] [--json PATH] [--quick]

The process is pinned to ONE core before TensorFlow is imported; TensorFlow runs with one
intra-op and one inter-op thread and OpenCV with cv2.setNumThreads(1). Every image is
512x512 and every warp uses the same realistic transform, the forward (source-to-destination)
matrix cv2.getRotationMatrix2D((256, 256), 17, 1.1): rotation, zoom and some output area
with no source. It measures, in one run:

  1. warp_affine bilinear, uint8 3ch and float32 4ch: gilfree (NumPy face, TF op eager and
     in a tf.function) against cv2.warpAffine (INTER_LINEAR, BORDER_CONSTANT) and
     tf.raw_ops.ImageProjectiveTransformV3 (BILINEAR, CONSTANT) with the equivalent
     output-to-input row;
  2. warp_affine bicubic, uint8 3ch and float32 4ch, against cv2.warpAffine INTER_CUBIC;
  3. warp_affine nearest, uint8 3ch and float32 4ch, against INTER_NEAREST and V3 NEAREST;
  4. warp_affine bilinear of a 13-band uint16 tile against V3 on float32 and OpenCV band by
     band;
  5. remap bilinear float32, 1 and 4 channels, against cv2.remap with float32 maps;
  6. warp_perspective bilinear uint8 3ch against cv2.warpPerspective;
  7. projective_transform bilinear float32 3ch against ImageProjectiveTransformV3.

Throughput is output megapixels per second from the median of the repeats; ratios are ratios
of medians. Every gilfree output is compared with OpenCV's (and the TensorFlow baselines with
OpenCV too, so that a ratio never compares different work) before anything is timed. It prints
a table per case, the targets (met or not) and any disagreement, and writes a JSON file. The
helpers are those of bench_normalize.py and gilfree.bench; see benchmarks/METHOD.md.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Pinning, timing, the machine description and the test data come from the package
# (gilfree.bench, shared with `python -m gilfree.bench`); the report helpers from
# bench_normalize.py next to this file (benchmarks/ is not a package).
from gilfree.bench.data import structured_uint16
from gilfree.bench.machine import LoadMonitor, machine_info

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
_bn = importlib.import_module("bench_normalize")

report_run = _bn.report_run
timed_rows = _bn.timed_rows  # rows in output megapixels per second ("MP/s")
print_case = _bn.print_case
Row = _bn.Row
Target = _bn.Target

SEED = 20240611
SIZE = (512, 512)  # (height, width) of every input and output
CENTER, ANGLE, SCALE = (256.0, 256.0), 17.0, 1.1  # cv2.getRotationMatrix2D arguments
# warp_perspective / projective_transform: the corners of the source go to these points
# (a keystone that leaves parts of the output without source and sends parts of the source
# outside the output).
PERSPECTIVE_DST = ((-20.0, 30.0), (530.0, -10.0), (480.0, 520.0), (40.0, 470.0))
# remap: barrel distortion about the centre, zoomed out so that the corners sample outside.
REMAP_K, REMAP_ZOOM, REMAP_SHIFT = 0.08, 1.05, (0.3, -0.2)
INT_TOL = 1.0  # levels
FLOAT_RTOL = 1e-3  # times max(1, max |OpenCV result|)
NEAR_TIE = 1e-3  # pixels: nearest-neighbour source points this close to a .5 are not compared


# --------------------------------------------------------------------------------------------
# Inputs and transforms
# --------------------------------------------------------------------------------------------


def make_inputs() -> dict[str, Any]:
    """The images (fixed seeds): `structured_uint16` fields (smooth per-band fields plus noise,
    like satellite bands), stretched to 0..255 for uint8 and divided by 10000 for float32."""
    import numpy as np

    h, w = SIZE

    def to_uint8(x: Any) -> Any:
        x = x.astype(np.float32)
        lo, hi = float(x.min()), float(x.max())
        return np.round((x - lo) * (255.0 / (hi - lo))).astype(np.uint8)

    return {
        "uint8_3": to_uint8(structured_uint16((h, w, 3), SEED)),
        "float32_4": structured_uint16((h, w, 4), SEED + 1).astype(np.float32) / 10000.0,
        "uint16_13": structured_uint16((h, w, 13), SEED + 2),
        "float32_1": structured_uint16((h, w, 1), SEED + 3)[..., 0].astype(np.float32) / 10000.0,
        "float32_3": structured_uint16((h, w, 3), SEED + 4).astype(np.float32) / 10000.0,
    }


def affine_forward() -> Any:
    import cv2

    return cv2.getRotationMatrix2D(CENTER, ANGLE, SCALE)  # float64 [2, 3]


def v3_row_affine(forward: Any) -> Any:
    """ImageProjectiveTransformV3's output-to-input row of a forward 2x3 matrix."""
    import cv2
    import numpy as np

    inv = cv2.invertAffineTransform(forward)
    return np.array([*inv[0], *inv[1], 0.0, 0.0], np.float32)


def perspective_forward() -> Any:
    import cv2
    import numpy as np

    h, w = SIZE
    src = np.array([(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)], np.float32)
    return cv2.getPerspectiveTransform(src, np.array(PERSPECTIVE_DST, np.float32))


def v3_row_perspective(forward: Any) -> Any:
    import numpy as np

    inv = np.linalg.inv(forward)
    inv = inv / inv[2, 2]
    return inv.reshape(-1)[:8].astype(np.float32)


def source_points(kind: str, matrix: Any) -> tuple[Any, Any]:
    """float64 source point (sx, sy) of every output pixel of a forward matrix."""
    import cv2
    import numpy as np

    y, x = np.mgrid[0 : SIZE[0], 0 : SIZE[1]].astype(np.float64)
    if kind == "affine":
        inv = cv2.invertAffineTransform(matrix)
        return inv[0, 0] * x + inv[0, 1] * y + inv[0, 2], inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]
    inv = np.linalg.inv(matrix)
    wz = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
    return (
        (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]) / wz,
        (inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]) / wz,
    )


def remap_maps() -> tuple[Any, Any]:
    """float32 maps: barrel distortion about the centre plus a sub-pixel shift."""
    import numpy as np

    h, w = SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    dx, dy = (x - cx) / cx, (y - cy) / cy
    f = REMAP_ZOOM * (1.0 + REMAP_K * (dx * dx + dy * dy))
    map_x = cx + (x - cx) * f + REMAP_SHIFT[0]
    map_y = cy + (y - cy) * f + REMAP_SHIFT[1]
    return map_x.astype(np.float32), map_y.astype(np.float32)


def outside_fraction(sx: Any, sy: Any) -> float:
    """Fraction of output pixels whose source point lies outside the source image."""
    import numpy as np

    h, w = SIZE
    inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    return float(1.0 - np.mean(inside))


# --------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------


@dataclass
class Checker:
    """Compares outputs before timing; disagreements go to `problems`."""

    problems: list[str]
    records: list[dict[str, Any]] = field(default_factory=list)

    def check(
        self,
        case: str,
        impl: str,
        got: Any,
        want: Any,
        reference: str,
        mask: Any = None,
        *,
        baseline: bool = False,
    ) -> None:
        """Integer references: within INT_TOL levels; float references: within FLOAT_RTOL
        times max(1, max |reference|). `mask` [H, W] selects the compared pixels."""
        import numpy as np

        got = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
        want = np.asarray(want)
        if got.ndim == want.ndim + 1 and got.shape[0] == 1:  # V3's batch of one
            got = got[0]
        if got.ndim == 3 and got.shape[2] == 1 and want.ndim == 2:
            got = got[..., 0]
        integer = want.dtype.kind in "iu"
        rec: dict[str, Any] = {
            "case": case,
            "impl": impl,
            "reference": reference,
            "kind": "baseline sanity check" if baseline else "gilfree vs reference",
        }
        label = f"{case}: {'baseline ' if baseline else ''}{impl} vs {reference}"
        if got.shape != want.shape:
            rec.update(ok=False, detail=f"shape {got.shape} != {want.shape}")
            self.problems.append(f"{label}: shape {got.shape} != {want.shape}")
            self.records.append(rec)
            return
        if not baseline and got.dtype != want.dtype:
            rec.update(ok=False, detail=f"dtype {got.dtype} != {want.dtype}")
            self.problems.append(f"{label}: dtype {got.dtype} != {want.dtype}")
            self.records.append(rec)
            return
        a, b = got.astype(np.float64), want.astype(np.float64)
        if mask is None:
            mask = np.ones(want.shape[:2], bool)
        sel = np.broadcast_to(mask.reshape(mask.shape + (1,) * (a.ndim - 2)), a.shape)
        diff = np.abs(a - b)[sel]
        if integer:
            tol = INT_TOL
        else:
            finite = b[np.isfinite(b)]
            tol = FLOAT_RTOL * max(1.0, float(np.max(np.abs(finite), initial=0.0)))
        worst = float(np.max(diff, initial=0.0))
        ok = bool(worst <= tol) and not np.isnan(diff).any()
        rec.update(
            ok=ok,
            max_abs_diff=worst,
            mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
            tolerance=tol,
            tolerance_rule="levels" if integer else f"{FLOAT_RTOL:g} x max(1, max |reference|)",
            pixels_compared=int(mask.sum()),
            pixels_total=int(mask.size),
            values_over_tolerance=int(np.count_nonzero(diff > tol)),
        )
        self.records.append(rec)
        if not ok:
            self.problems.append(
                f"{label}: max |difference| {worst:.4g} > tolerance {tol:.4g} "
                f"({rec['values_over_tolerance']} values over, {rec['pixels_compared']} pixels "
                f"compared)"
            )


def not_near_tie(sx: Any, sy: Any) -> Any:
    """Pixels whose nearest-neighbour tap is well defined (source point not within NEAR_TIE
    of a .5 boundary, where float32 coordinates or TF's rounding may pick the other pixel)."""
    import numpy as np

    def near(s: Any) -> Any:
        return np.abs(s - np.floor(s) - 0.5) < NEAR_TIE

    return ~(near(sx) | near(sy))


# --------------------------------------------------------------------------------------------
# Cases: time a group of implementations, print it, derive targets
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str  # short name, used in targets and the JSON
    title: str
    fns: dict[str, Callable[[], object]]
    baseline: str  # the row the table's speedup column divides by
    opencv: list[str]  # OpenCV rows; goals apply against the first
    tf: list[str]  # TensorFlow rows; goals apply against the fastest
    cv_goal: float | None
    tf_goal: float | None
    targeted: list[str]  # gilfree rows the goals apply to
    secondary: list[str] = field(default_factory=list)  # gilfree rows, goals marked secondary


def ratio(num: Row, den: Row) -> float:
    """Throughput of `num` over throughput of `den` (same output pixels: median times)."""
    return den.timing.median_s / num.timing.median_s


def run_case(case: Case, repeats: int, min_s: float) -> tuple[list[Row], list[Target]]:
    mp = SIZE[0] * SIZE[1] / 1e6
    rows = timed_rows(case.key, case.fns, mp, repeats, min_s)
    by = {r.impl: r for r in rows}
    print_case(case.title, rows, by[case.baseline])

    targets: list[Target] = []
    tf_best = min((by[n] for n in case.tf), key=lambda r: r.timing.median_s, default=None)
    lines = []
    for r in rows:
        if not r.impl.startswith("gilfree"):
            continue
        parts = []
        for name in case.opencv:
            x = ratio(r, by[name])
            r.notes[f"vs {name}"] = x
            parts.append(f"{x:.2f}x {name}")
        for name in case.tf:
            x = ratio(r, by[name])
            r.notes[f"vs {name}"] = x
            parts.append(f"{x:.2f}x {name}")
        lines.append(f"  {r.impl}: " + ", ".join(parts))
        if r.impl in case.targeted:
            detail = ""
        elif r.impl in case.secondary:
            detail = "secondary: includes TF's tf.function call overhead"
        else:
            detail = "no numeric target"
        for base, goal in (
            (by[case.opencv[0]] if case.opencv else None, case.cv_goal),
            (tf_best, case.tf_goal),
        ):
            if base is None:
                continue
            x = ratio(r, base)
            name = f"{case.key}: {r.impl} / {base.impl} MP/s"
            if goal is None or detail == "no numeric target":
                targets.append(Target(name, x, 0.0, True, "no numeric target"))
            else:
                targets.append(Target(name, x, goal, x >= goal, detail))
    if tf_best is not None and len(case.tf) > 1:
        print(f"  TF goal ratios use the faster TF row: {tf_best.impl}")
    print("  throughput ratios (gilfree / baseline):")
    for line in lines:
        print("  " + line)
    return rows, targets


# --------------------------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------------------------


def cv_border() -> dict[str, Any]:
    import cv2

    return {"borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}


def v3_fn(tf: Any, row: Any, interpolation: str) -> Callable[[Any], Any]:
    """ImageProjectiveTransformV3 inside a tf.function, the row a constant."""
    transforms = tf.constant(row[None], tf.float32)
    shape = tf.constant(SIZE, tf.int32)
    fill = tf.constant(0.0, tf.float32)

    @tf.function
    def fn(images: Any) -> Any:
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=shape,
            fill_value=fill,
            interpolation=interpolation,
            fill_mode="CONSTANT",
        )

    return fn


def warp_affine_cases(
    tf: Any, images: dict[str, Any], checker: Checker, interpolation: str, number: int
) -> list[Case]:
    """Parts 1-3: warp_affine uint8 3ch and float32 4ch with one interpolation."""
    import cv2
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    forward = affine_forward()
    m_tf = tf.constant(forward, tf.float64)
    row = v3_row_affine(forward)
    sx, sy = source_points("affine", forward)
    mask = not_near_tie(sx, sy) if interpolation == "nearest" else None
    cv_flag = {
        "bilinear": cv2.INTER_LINEAR,
        "bicubic": cv2.INTER_CUBIC,
        "nearest": cv2.INTER_NEAREST,
    }[interpolation]
    cv_name = {"bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC", "nearest": "INTER_NEAREST"}[
        interpolation
    ]
    with_tf = interpolation in ("bilinear", "nearest")  # V3 has no bicubic
    v3 = v3_fn(tf, row, interpolation.upper()) if with_tf else None
    # Bilinear is the headline case: every face, with the tf.function one. Elsewhere the
    # NumPy face and the eager TF op (the tf.function adds only its call overhead).
    with_tf_function = interpolation == "bilinear"

    cases = []
    for part, key_img in zip("ab", ("uint8_3", "float32_4"), strict=True):
        x = images[key_img]
        dtype, channels = x.dtype.name, x.shape[2]
        key = f"warp_affine {interpolation} {dtype} {channels}ch"
        x_tf = tf.constant(x)
        border = cv_border()

        def run_cv(x: Any = x, border: dict[str, Any] = border) -> Any:
            return cv2.warpAffine(x, forward, (SIZE[1], SIZE[0]), flags=cv_flag, **border)

        def run_np(x: Any = x) -> Any:
            return gnp.warp_affine(x, forward, interpolation=interpolation)

        def run_eager(x_tf: Any = x_tf) -> Any:
            return gilfree.warp_affine(x_tf, m_tf, interpolation=interpolation)

        fns: dict[str, Callable[[], object]] = {
            "gilfree.numpy.warp_affine": run_np,
            "gilfree.warp_affine (TF op, eager)": run_eager,
        }
        if with_tf_function:
            tf_fn = tf.function(lambda t: gilfree.warp_affine(t, m_tf, interpolation=interpolation))
            fns["gilfree.warp_affine (TF op, in tf.function)"] = lambda t=x_tf, f=tf_fn: f(t)
        fns[f"cv2.warpAffine {cv_name}"] = run_cv
        tf_rows = []
        v3_inputs: dict[str, Any] = {}
        if v3 is not None:
            if dtype == "uint8":
                v3_inputs["ImageProjectiveTransformV3 on uint8"] = tf.constant(x[None])
                v3_inputs["ImageProjectiveTransformV3 on float32"] = tf.constant(
                    x[None].astype(np.float32)
                )
            else:
                v3_inputs["ImageProjectiveTransformV3 on float32"] = tf.constant(x[None])
            for name, t in v3_inputs.items():
                fns[name] = lambda t=t: v3(t)
                tf_rows.append(name)

        want = run_cv()
        for name, fn in fns.items():
            if name.startswith("gilfree"):
                checker.check(key, name, fn(), want, f"cv2.warpAffine {cv_name}", mask)
            elif name in tf_rows:
                checker.check(
                    key, name, fn(), want, f"cv2.warpAffine {cv_name}", mask, baseline=True
                )

        if interpolation == "bilinear":
            tf_title = "; TF rows: ImageProjectiveTransformV3 BILINEAR CONSTANT in a tf.function"
            targeted = ["gilfree.numpy.warp_affine", "gilfree.warp_affine (TF op, eager)"]
            secondary = ["gilfree.warp_affine (TF op, in tf.function)"]
            cv_goal, tf_goal = 1.0, 4.0
        elif interpolation == "bicubic":
            tf_title = " (TensorFlow has no bicubic V3)"
            targeted = ["gilfree.numpy.warp_affine", "gilfree.warp_affine (TF op, eager)"]
            secondary = []
            cv_goal, tf_goal = 1.0, None
        else:
            tf_title = "; TF rows: ImageProjectiveTransformV3 NEAREST CONSTANT (info)"
            targeted, secondary = [], []
            cv_goal, tf_goal = None, None
        cases.append(
            Case(
                key=key,
                title=(
                    f"{number}{part}. warp_affine {interpolation}, {dtype} {SIZE[0]}x{SIZE[1]}x"
                    f"{channels}, forward = getRotationMatrix2D({CENTER}, {ANGLE}, {SCALE})"
                    f"{tf_title}; throughput = output MP/s"
                ),
                fns=fns,
                baseline=f"cv2.warpAffine {cv_name}",
                opencv=[f"cv2.warpAffine {cv_name}"],
                tf=tf_rows,
                cv_goal=cv_goal,
                tf_goal=tf_goal,
                targeted=targeted,
                secondary=secondary,
            )
        )
    return cases


def multiband_case(tf: Any, images: dict[str, Any], checker: Checker, number: int) -> Case:
    """Part 4: 13-band uint16, bilinear."""
    import cv2
    import numpy as np

    import gilfree
    import gilfree.numpy as gnp

    x = images["uint16_13"]
    key = "warp_affine bilinear uint16 13ch"
    forward = affine_forward()
    m_tf = tf.constant(forward, tf.float64)
    x_tf = tf.constant(x)
    v3 = v3_fn(tf, v3_row_affine(forward), "BILINEAR")
    x_v3 = tf.constant(x[None].astype(np.float32))  # the cast is outside the timing
    bands = [np.ascontiguousarray(x[:, :, b]) for b in range(x.shape[2])]
    dsize = (SIZE[1], SIZE[0])
    tf_fn = tf.function(lambda t: gilfree.warp_affine(t, m_tf))
    border = cv_border()

    def cv_bands() -> list[Any]:
        return [cv2.warpAffine(b, forward, dsize, flags=cv2.INTER_LINEAR, **border) for b in bands]

    def cv_split_stack() -> Any:
        out = [
            cv2.warpAffine(
                np.ascontiguousarray(x[:, :, b]),
                forward,
                dsize,
                flags=cv2.INTER_LINEAR,
                **border,
            )
            for b in range(x.shape[2])
        ]
        return np.stack(out, axis=-1)

    def cv_all() -> Any:
        return cv2.warpAffine(x, forward, dsize, flags=cv2.INTER_LINEAR, **border)

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.warp_affine": lambda: gnp.warp_affine(x, forward),
        "gilfree.warp_affine (TF op, eager)": lambda: gilfree.warp_affine(x_tf, m_tf),
        "gilfree.warp_affine (TF op, in tf.function)": lambda: tf_fn(x_tf),
        "cv2.warpAffine per band (split outside)": cv_bands,
        "cv2.warpAffine per band + split + stack": cv_split_stack,
        "cv2.warpAffine 13 channels in one call": cv_all,
        "ImageProjectiveTransformV3 on float32": lambda: v3(x_v3),
    }
    want = np.stack(cv_bands(), axis=-1)
    ref = "cv2.warpAffine per band"
    for name in (
        "gilfree.numpy.warp_affine",
        "gilfree.warp_affine (TF op, eager)",
        "gilfree.warp_affine (TF op, in tf.function)",
    ):
        checker.check(key, name, fns[name](), want, ref)
    checker.check(
        key, "cv2.warpAffine per band + split + stack", cv_split_stack(), want, ref, baseline=True
    )
    checker.check(key, "ImageProjectiveTransformV3 on float32", v3(x_v3), want, ref, baseline=True)
    # OpenCV's 13-channel call takes its 1/32-pixel fixed-point path: not a problem of the
    # benchmark, but its error is recorded (info) next to the row.
    all_diff = np.abs(cv_all().astype(np.int64) - want.astype(np.int64))
    checker.records.append(
        {
            "case": key,
            "impl": "cv2.warpAffine 13 channels in one call",
            "reference": ref,
            "kind": "info (OpenCV's own paths)",
            "max_abs_diff": float(all_diff.max()),
            "mean_abs_diff": float(all_diff.mean()),
        }
    )
    return Case(
        key=key,
        title=(
            f"{number}. warp_affine bilinear, uint16 {SIZE[0]}x{SIZE[1]}x13 (satellite-like "
            f"bands); OpenCV band by band; TF: ImageProjectiveTransformV3 on a float32 copy "
            f"(cast outside the timing); throughput = output MP/s"
        ),
        fns=fns,
        baseline="cv2.warpAffine per band (split outside)",
        opencv=[
            "cv2.warpAffine per band (split outside)",
            "cv2.warpAffine per band + split + stack",
            "cv2.warpAffine 13 channels in one call",
        ],
        tf=["ImageProjectiveTransformV3 on float32"],
        cv_goal=1.0,
        tf_goal=4.0,
        targeted=["gilfree.numpy.warp_affine", "gilfree.warp_affine (TF op, eager)"],
        secondary=["gilfree.warp_affine (TF op, in tf.function)"],
    )


def remap_cases(tf: Any, images: dict[str, Any], checker: Checker, number: int) -> list[Case]:
    """Part 5: remap bilinear float32, 1 and 4 channels."""
    import cv2

    import gilfree
    import gilfree.numpy as gnp

    map_x, map_y = remap_maps()
    mx_tf, my_tf = tf.constant(map_x), tf.constant(map_y)
    border = cv_border()
    cases = []
    for part, key_img in zip("ab", ("float32_1", "float32_4"), strict=True):
        x = images[key_img]
        channels = 1 if x.ndim == 2 else x.shape[2]
        key = f"remap bilinear float32 {channels}ch"
        x_tf = tf.constant(x)

        def run_cv(x: Any = x) -> Any:
            return cv2.remap(x, map_x, map_y, cv2.INTER_LINEAR, **border)

        fns: dict[str, Callable[[], object]] = {
            "gilfree.numpy.remap": lambda x=x: gnp.remap(x, map_x, map_y),
            "gilfree.remap (TF op, eager)": lambda t=x_tf: gilfree.remap(t, mx_tf, my_tf),
            "cv2.remap INTER_LINEAR (float32 maps)": run_cv,
        }
        want = run_cv()
        for name in ("gilfree.numpy.remap", "gilfree.remap (TF op, eager)"):
            checker.check(key, name, fns[name](), want, "cv2.remap INTER_LINEAR")
        cases.append(
            Case(
                key=key,
                title=(
                    f"{number}{part}. remap bilinear, float32 {SIZE[0]}x{SIZE[1]}x{channels}, "
                    f"float32 maps (barrel distortion k={REMAP_K}, zoom {REMAP_ZOOM}, shift "
                    f"{REMAP_SHIFT}); throughput = output MP/s"
                ),
                fns=fns,
                baseline="cv2.remap INTER_LINEAR (float32 maps)",
                opencv=["cv2.remap INTER_LINEAR (float32 maps)"],
                tf=[],
                cv_goal=1.0,
                tf_goal=None,
                targeted=["gilfree.numpy.remap"],
            )
        )
    return cases


def perspective_case(tf: Any, images: dict[str, Any], checker: Checker, number: int) -> Case:
    """Part 6: warp_perspective bilinear uint8 3ch (info)."""
    import cv2

    import gilfree
    import gilfree.numpy as gnp

    x = images["uint8_3"]
    key = "warp_perspective bilinear uint8 3ch"
    forward = perspective_forward()
    h_tf = tf.constant(forward, tf.float64)
    x_tf = tf.constant(x)
    dsize = (SIZE[1], SIZE[0])
    border = cv_border()

    def run_cv() -> Any:
        return cv2.warpPerspective(x, forward, dsize, flags=cv2.INTER_LINEAR, **border)

    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.warp_perspective": lambda: gnp.warp_perspective(x, forward),
        "gilfree.warp_perspective (TF op, eager)": lambda: gilfree.warp_perspective(x_tf, h_tf),
        "cv2.warpPerspective INTER_LINEAR": run_cv,
    }
    want = run_cv()
    for name in ("gilfree.numpy.warp_perspective", "gilfree.warp_perspective (TF op, eager)"):
        checker.check(key, name, fns[name](), want, "cv2.warpPerspective INTER_LINEAR")
    return Case(
        key=key,
        title=(
            f"{number}. warp_perspective bilinear, uint8 {SIZE[0]}x{SIZE[1]}x3, corners to "
            f"{PERSPECTIVE_DST} (info); throughput = output MP/s"
        ),
        fns=fns,
        baseline="cv2.warpPerspective INTER_LINEAR",
        opencv=["cv2.warpPerspective INTER_LINEAR"],
        tf=[],
        cv_goal=None,
        tf_goal=None,
        targeted=[],
    )


def projective_case(tf: Any, images: dict[str, Any], checker: Checker, number: int) -> Case:
    """Part 7: projective_transform bilinear float32 3ch against V3."""
    import cv2

    import gilfree
    import gilfree.numpy as gnp

    x = images["float32_3"]
    key = "projective_transform bilinear float32 3ch"
    forward = perspective_forward()
    row = v3_row_perspective(forward)
    x4 = x[None]
    x_tf = tf.constant(x4)
    rows_tf = tf.constant(row[None])
    v3 = v3_fn(tf, row, "BILINEAR")
    tf_fn = tf.function(
        lambda t: gilfree.projective_transform(t, rows_tf, interpolation="bilinear")
    )
    fns: dict[str, Callable[[], object]] = {
        "gilfree.numpy.projective_transform": lambda: gnp.projective_transform(
            x4, row[None], interpolation="bilinear"
        ),
        "gilfree.projective_transform (TF op, eager)": lambda: gilfree.projective_transform(
            x_tf, rows_tf, interpolation="bilinear"
        ),
        "gilfree.projective_transform (in tf.function)": lambda: tf_fn(x_tf),
        "ImageProjectiveTransformV3 on float32": lambda: v3(x_tf),
    }
    want_v3 = v3(x_tf).numpy()[0]
    want_cv = cv2.warpPerspective(
        x, forward, (SIZE[1], SIZE[0]), flags=cv2.INTER_LINEAR, **cv_border()
    )
    for name, fn in fns.items():
        if name.startswith("gilfree"):
            out = fn()
            checker.check(key, name, out, want_v3, "ImageProjectiveTransformV3")
            checker.check(key, name, out, want_cv, "cv2.warpPerspective INTER_LINEAR")
    checker.check(
        key,
        "ImageProjectiveTransformV3 on float32",
        want_v3,
        want_cv,
        "cv2.warpPerspective INTER_LINEAR",
        baseline=True,
    )
    return Case(
        key=key,
        title=(
            f"{number}. projective_transform bilinear, float32 1x{SIZE[0]}x{SIZE[1]}x3, the "
            f"output-to-input row of part {number - 1}'s homography; V3 BILINEAR CONSTANT in a "
            f"tf.function; throughput = output MP/s"
        ),
        fns=fns,
        baseline="ImageProjectiveTransformV3 on float32",
        opencv=[],
        tf=["ImageProjectiveTransformV3 on float32"],
        cv_goal=None,
        tf_goal=4.0,
        targeted=[
            "gilfree.numpy.projective_transform",
            "gilfree.projective_transform (TF op, eager)",
        ],
        secondary=["gilfree.projective_transform (in tf.function)"],
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = _bn.bench_parser(__doc__, "geometry", 7, "fast smoke run: few and short repeats")
    return _bn.parse_bench_args(p, argv, 7)


class _NoRetracingWarning(logging.Filter):
    """TensorFlow warns when one Python function is traced often; the V3 and gilfree
    tf.functions here are traced once per input signature during set-up and warm-up (never
    while timed), so that warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    # ONE core: pin before TensorFlow and OpenCV start their thread pools.
    allowed = sorted(os.sched_getaffinity(0))
    tf = _bn.pin_one_core(allowed)
    tf.get_logger().addFilter(_NoRetracingWarning())
    import cv2

    cv2.setNumThreads(1)

    machine = machine_info(allowed)
    machine["opencv"] = cv2.__version__
    machine["opencv_threads"] = cv2.getNumThreads()
    _bn.print_one_core_header(
        machine,
        args,
        allowed[0],
        "output megapixels / median",
        threads=", cv2.setNumThreads(1)",
        tail="; ratios are ratios of medians",
    )

    monitor = LoadMonitor()
    problems: list[str] = []
    checker = Checker(problems)
    images = make_inputs()
    forward = affine_forward()
    sx, sy = source_points("affine", forward)
    psx, psy = source_points("perspective", perspective_forward())
    map_x, map_y = remap_maps()

    cases: list[Case] = []
    cases += warp_affine_cases(tf, images, checker, "bilinear", 1)
    cases += warp_affine_cases(tf, images, checker, "bicubic", 2)
    cases += warp_affine_cases(tf, images, checker, "nearest", 3)
    cases.append(multiband_case(tf, images, checker, 4))
    cases += remap_cases(tf, images, checker, 5)
    cases.append(perspective_case(tf, images, checker, 6))
    cases.append(projective_case(tf, images, checker, 7))

    rows: list[Row] = []
    targets: list[Target] = []
    for case in cases:
        r, t = run_case(case, args.repeats, args.min_repeat_s)
        rows += r
        targets += t

    print("\nAgreement (before timing): worst |difference| per gilfree output and reference")
    for rec in checker.records:
        if "tolerance" not in rec:
            print(
                f"  [info] {rec['case']}: {rec['impl']} vs {rec['reference']}: max "
                f"{rec['max_abs_diff']:.4g}, mean {rec['mean_abs_diff']:.3g}"
            )
            continue
        status = "ok  " if rec["ok"] else "FAIL"
        extra = " (baseline)" if rec["kind"] != "gilfree vs reference" else ""
        print(
            f"  [{status}] {rec['case']}: {rec['impl']}{extra} vs {rec['reference']}: max "
            f"{rec['max_abs_diff']:.4g} (tolerance {rec['tolerance']:.3g}) on "
            f"{rec['pixels_compared']}/{rec['pixels_total']} pixels"
        )

    load = report_run(monitor, targets, problems, info_unit="x")

    _bn.write_results(
        args,
        "geometry",
        machine,
        load,
        {
            "pinned_cpu": allowed[0],
            "tf_threads": 1,
            "opencv_threads": cv2.getNumThreads(),
            "seed": SEED,
            "size": list(SIZE),
            "affine_forward": {
                "getRotationMatrix2D": {"center": CENTER, "angle": ANGLE, "scale": SCALE},
                "matrix": forward.tolist(),
                "v3_row": v3_row_affine(forward).tolist(),
                "output_fraction_without_source": outside_fraction(sx, sy),
            },
            "perspective_forward": {
                "corners_to": PERSPECTIVE_DST,
                "matrix": perspective_forward().tolist(),
                "v3_row": v3_row_perspective(perspective_forward()).tolist(),
                "output_fraction_without_source": outside_fraction(psx, psy),
            },
            "remap": {
                "k": REMAP_K,
                "zoom": REMAP_ZOOM,
                "shift": REMAP_SHIFT,
                "output_fraction_without_source": outside_fraction(map_x, map_y),
            },
            "agreement_rule": {
                "integer_levels": INT_TOL,
                "float": f"{FLOAT_RTOL:g} x max(1, max |reference|)",
                "nearest_excludes_source_points_within_px_of_a_half": NEAR_TIE,
            },
        },
        {
            "results": [row.to_json() for row in rows],
            "agreement": checker.records,
            "targets": [asdict(tg) for tg in targets],
            "problems": problems,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
