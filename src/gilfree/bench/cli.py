"""The command line of ``python -m gilfree.bench``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gilfree.bench import data
from gilfree.bench.runner import AUTOTUNE, Settings

SCHEMA = "gilfree.bench/1"
DESCRIPTION = (
    "Measure tf.data parallel-map scaling of the gilfree ops across cores, against the ways "
    "pipelines run the same preprocessing today."
)


def _powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    if out[-1] != limit:
        out.append(limit)
    return out


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: expected integers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{what}: expected positive integers")
    return values


def _sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", part)
        if not m:
            raise argparse.ArgumentTypeError(f"--sizes: {part!r} is not N or HxW")
        h = int(m.group(1))
        w = int(m.group(2) or h)
        if h < 8 or w < 8:
            raise argparse.ArgumentTypeError("--sizes: at least 8x8")
        out.append((h, w))
    return out


def _calls(text: str) -> list[int | str]:
    out: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        if part.upper() in ("AUTOTUNE", "A", "-1"):
            out.append(AUTOTUNE)
        else:
            try:
                value = int(part)
            except ValueError:
                raise argparse.ArgumentTypeError(f"--calls: {part!r}") from None
            if value < 1:
                raise argparse.ArgumentTypeError("--calls: positive integers or AUTOTUNE")
            out.append(value)
    return out


def _project(text: str) -> list[int]:
    if text.strip().lower() == "none":
        return []
    return _int_list(text, "--project")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from gilfree.bench.families import FAMILIES, VARIANTS

    p = argparse.ArgumentParser(
        prog="python -m gilfree.bench",
        description=DESCRIPTION,
        epilog="The method: benchmarks/METHOD.md (section 'python -m gilfree.bench'); "
        "how to use: docs/bench.md.",
    )
    p.add_argument(
        "--ops",
        default=None,
        help=f"families to run, comma-separated (default all: {', '.join(FAMILIES)})",
    )
    p.add_argument(
        "--variants",
        default=None,
        help=f"variants to run, comma-separated, or all (default all: {', '.join(VARIANTS)}; "
        "with --quick the last four for normalize, offline_pool and batched for pipeline)",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="image sizes, N (NxN) or HxW, comma-separated (default 256,1024; 256 with --quick)",
    )
    p.add_argument(
        "--channels",
        type=lambda t: _int_list(t, "--channels"),
        default=None,
        help="channel counts: 3 (uint8) and/or 13 (uint16) (default both; with --quick one "
        "per family)",
    )
    p.add_argument(
        "--cores",
        type=lambda t: _int_list(t, "--cores"),
        default=None,
        help="core counts to pin to, comma-separated (default 1, 2, 4, ... up to all the CPUs "
        "this process may use; with --quick 1 and all)",
    )
    p.add_argument(
        "--calls",
        type=_calls,
        default=None,
        help="num_parallel_calls values, e.g. 1,2,4,AUTOTUNE (default 1, 2, 4, ... up to the "
        "cores, and AUTOTUNE; with --quick AUTOTUNE only)",
    )
    p.add_argument(
        "--grid",
        choices=("sweep", "full"),
        default="sweep",
        help="sweep (default): every core count with AUTOTUNE, and every --calls value at the "
        "most cores; full: every --calls value at every core count",
    )
    p.add_argument(
        "--repeats", type=int, default=None, help="timed passes per measurement (default 5; 3)"
    )
    p.add_argument(
        "--pass-seconds",
        type=float,
        default=None,
        help="target duration of one timed pass (default 0.25 s; 0.05 s with --quick)",
    )
    p.add_argument(
        "--batch", type=int, default=None, help="batch size B (default 8; 4 with --quick)"
    )
    p.add_argument(
        "--project",
        type=_project,
        default=None,
        help="core counts to project with Amdahl's law from this run's 1-core time and serial "
        "part, comma-separated, or none (default 8,16,64; every measured core count above 1 "
        "is projected too, beside its measurement)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short run (under 2 minutes on 2 cores): one size, fewer settings; not for quoting",
    )
    p.add_argument(
        "--train",
        action="store_true",
        help="also train a small Keras model on the combined pipeline (GPU if visible) and "
        "report steps/s and the share of each step spent waiting for input",
    )
    p.add_argument(
        "--train-steps", type=int, default=None, help="timed steps per fit (default 40; 10)"
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the JSON results (default ./gilfree-bench-<hostname>.json)",
    )
    p.add_argument("--markdown", type=Path, default=None, help="also write a markdown report")
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="also write a PNG of the scaling curves (needs matplotlib: pip install "
        "'gilfree[bench]')",
    )
    p.add_argument("--list", action="store_true", help="list the families and variants, then exit")
    p.add_argument("--seed", type=int, default=data.SEED, help=argparse.SUPPRESS)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--train-worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.ops:
        args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
        bad = [o for o in args.ops if o not in FAMILIES]
        if bad:
            p.error(f"--ops: unknown {bad}; known: {', '.join(FAMILIES)}")
    else:
        args.ops = list(FAMILIES)
    args.variants_given = bool(args.variants)
    if args.variants:
        args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        if "all" in args.variants:
            args.variants = list(VARIANTS)
        bad = [v for v in args.variants if v not in VARIANTS]
        if bad:
            p.error(f"--variants: unknown {bad}; known: {', '.join(VARIANTS)}")
    else:
        args.variants = list(VARIANTS)
    if args.channels and any(c not in (3, 13) for c in args.channels):
        p.error("--channels: 3 (uint8) and 13 (uint16) are the channel counts with data")
    q = args.quick
    args.sizes = args.sizes or ([(256, 256)] if q else [(256, 256), (1024, 1024)])
    if args.repeats is None:
        args.repeats = 3 if q else 5
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    args.pass_seconds = args.pass_seconds or (0.05 if q else 0.25)
    args.batch = args.batch or (4 if q else 8)
    args.train_steps = args.train_steps or (10 if q else 40)
    if args.project is None:
        from gilfree.bench.projection import PROJECT_CORES

        args.project = list(PROJECT_CORES)
    return args


def default_cores(allowed: int, quick: bool) -> list[int]:
    return sorted({1, allowed}) if quick else _powers_of_two(allowed)


def calls_for(k: int, most: int, args: argparse.Namespace) -> list[int | str]:
    sweep = args.calls or ([AUTOTUNE] if args.quick else [*_powers_of_two(k), AUTOTUNE])
    if args.grid == "full" or k == most:
        return list(dict.fromkeys(sweep))
    return [AUTOTUNE]


def _hostname() -> str:
    name = socket.gethostname() or platform.machine() or "machine"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def list_families() -> int:
    from gilfree.bench.families import FAMILIES, VARIANTS

    print("Families")
    for name, family in FAMILIES.items():
        missing = family.family_missing()
        state = f"unavailable: {missing}" if missing else "available"
        print(f"  {name:<22} {family.description} [{state}]")
        for variant in VARIANTS:
            reason = None if missing else family.variant_missing(variant)
            if reason:
                print(f"      {variant}: unavailable: {reason}")
    print("\nVariants")
    for name, text in VARIANTS.items():
        print(f"  {name:<18} {text}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        from gilfree.bench.runner import worker_main

        return worker_main(args.worker)
    if args.train_worker:
        from gilfree.bench.train import train_worker

        return train_worker(args.train_worker)
    if args.list:
        return list_families()
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from gilfree.bench import projection, report
    from gilfree.bench.families import FAMILIES, DataStore, opencv_missing
    from gilfree.bench.machine import LoadMonitor, gpu_info, machine_info, optional_versions
    from gilfree.bench.runner import Progress, plan_measurements, run_worker

    t_start = time.perf_counter()
    allowed = sorted(os.sched_getaffinity(0))
    most = len(allowed)
    cores = sorted(set(args.cores or default_cores(most, args.quick)))
    if cores[-1] > most:
        print(
            f"error: --cores asks for {cores[-1]} cores; this process may use {most} "
            f"(CPUs {allowed})",
            file=sys.stderr,
        )
        return 2
    settings = Settings(
        repeats=args.repeats,
        pass_s=args.pass_seconds,
        max_pass_s=max(1.0, 8 * args.pass_seconds),
        min_elements=2 if args.quick else 4,
        batch=args.batch,
    )

    machine = machine_info(allowed)
    machine.update(optional_versions())
    machine["gpus"] = gpu_info()
    families_info: dict[str, Any] = {}
    cases_of: dict[str, list[Any]] = {}
    for name in args.ops:
        family = FAMILIES[name]
        channels = args.channels or (family.quick_channels if args.quick else family.channels)
        cases = family.cases(args.sizes, channels)
        missing = family.family_missing()
        families_info[name] = {
            "description": family.description,
            "available": missing is None and bool(cases),
            "reason": missing or (None if cases else f"no case: channels {channels}"),
            "cases": [c.label for c in cases],
        }
        if missing is None and cases:
            cases_of[name] = cases

    problems: list[str] = []
    notes: list[str] = []
    if opencv_missing():
        notes.append(f"OpenCV variants not measured: {opencv_missing()}")
    plans: dict[int, list[dict[str, Any]]] = {}
    total = 0
    for k in cores:
        calls = calls_for(k, most, args)
        items = []
        for name, cases in cases_of.items():
            variants = args.variants
            quick_set = FAMILIES[name].quick_variants
            if args.quick and not args.variants_given and quick_set is not None:
                variants = [v for v in variants if v in quick_set]
            for case in cases:
                measurements = plan_measurements(variants, calls)
                items.append({"family": name, "case": case.to_json(), "measurements": measurements})
                total += len(measurements) * settings.ticks()
        plans[k] = items
    train_rounds = 1 if args.quick else 3
    if args.train:
        total += 3 * train_rounds

    print(_header(machine, cores, args, settings))
    results: list[dict[str, Any]] = []
    serial: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    train: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="gilfree-bench-") as tmp:
        folder = Path(tmp)
        store = DataStore(folder / "data", args.seed)
        store.folder.mkdir()
        for name, cases in cases_of.items():
            for case in cases:
                store.ensure(case, FAMILIES[name].files)
        train_case = None
        if args.train:
            h, w = min(args.sizes, key=lambda s: s[0] * s[1])
            train_case = FAMILIES["pipeline"].cases([(h, w)], [13])[0]
            store.ensure(train_case, FAMILIES["pipeline"].files)
        monitor = LoadMonitor()
        progress = Progress(total)
        for k in cores:
            if not plans[k]:
                continue
            config = {
                "cpus": allowed[:k],
                "plan": plans[k],
                "settings": asdict(settings),
                "offline": "offline_pool" in args.variants,
                "data_dir": str(store.folder),
                "seed": args.seed,
            }
            if k == 1 and args.project:
                # The serial part is measured on the 1-core worker; the GIL probe's thread runs
                # on a CPU the worker does not use, if there is one (the last: on Linux's usual
                # numbering not the first CPU's hyperthread sibling, unless there are 2).
                config["serial"] = {"probe_cpu": allowed[-1] if most > 1 else None}
            lines = run_worker("worker", config, folder, progress, problems)
            for line in lines:
                if "worker" in line:
                    workers.append(line["worker"])
                elif "serial" in line:
                    serial.append(line["serial"])
                else:
                    results.append(line)
        if args.train and train_case is not None:
            config = {
                "cpus": allowed,
                "case": train_case.to_json(),
                "batch": args.batch,
                "warmup": 3 if args.quick else 5,
                "steps": args.train_steps,
                "rounds": train_rounds,
                "cached_batches": 4 if args.quick else 8,
                "data_dir": str(store.folder),
                "seed": args.seed,
            }
            lines = run_worker("train-worker", config, folder, progress, problems)
            train = next((line["train"] for line in lines if "train" in line), None)
            if train is None:
                problems.append("--train produced no result")
        progress.close()
        load = monitor.report()

    if workers:
        machine["tensorflow"] = workers[0]["tensorflow"]
    if train and not train.get("error"):
        machine["tf_gpus"] = train["gpus"]
        if "opencv_threads" in workers[-1]:
            machine["opencv_threads_at_most_cores"] = workers[-1]["opencv_threads"]
    report.enrich(results)
    if args.project:
        projected = projection.build(results, serial, args.project)
    else:
        projected = {
            "method": projection.METHOD,
            "cores": [],
            "records": [],
            "unavailable": "not asked for (--project none)",
        }
    not_projected = [r for r in projected["records"] if "unavailable" in r]
    if not_projected:
        shown = "; ".join(
            f"{r['family']} {r['case']['label']} {r['variant']}: {r['unavailable']}"
            for r in not_projected[:4]
        )
        more = f" (and {len(not_projected) - 4} more)" if len(not_projected) > 4 else ""
        notes.append(f"projection: not projected: {shown}{more}")
    failed, differ = report.check_failures(results)
    problems += failed
    notes += differ
    if train and train.get("error"):
        problems.append(f"--train: {train['error']}")
    for name, info in families_info.items():
        mine = [r for r in results if r["family"] == name]
        steps = next((r["steps"] for r in mine if "steps" in r), None)
        if steps:
            info["steps"] = steps
        note = next((r["note"] for r in mine if r.get("note")), None)
        if note:
            info["note"] = note
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": ["python", "-m", "gilfree.bench", *args.argv],
        "machine": machine,
        "load": load,
        "config": {
            "quick": args.quick,
            "ops": args.ops,
            "variants": args.variants,
            "sizes": [f"{h}x{w}" for h, w in args.sizes],
            "channels": args.channels,
            "cores": cores,
            "calls": {str(k): calls_for(k, most, args) for k in cores},
            "grid": args.grid,
            "seed": args.seed,
            "settings": asdict(settings),
            "train": args.train,
            "project": args.project,
        },
        "method": report.METHOD,
        "families": families_info,
        "variants": _variant_descriptions(),
        "workers": workers,
        "results": results,
        "projection": projected,
        "train": train,
        "problems": problems,
        "notes": notes,
        "wall_s": None,
    }

    json_path = args.json or Path(f"gilfree-bench-{_hostname()}.json")
    if args.plot is not None:
        note = report.write_plot(payload, args.plot)
        if note:
            notes.append(note)
    md_text = report.markdown(payload)
    payload["wall_s"] = time.perf_counter() - t_start
    report.print_report(payload)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"\nWrote {json_path}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(md_text)
        print(f"Wrote {args.markdown}")
    if args.plot is not None and not any(n.startswith("plot:") for n in notes):
        print(f"Wrote {args.plot}")
    print(f"Total time {payload['wall_s']:.0f} s")
    return 1 if problems else 0


def _variant_descriptions() -> dict[str, str]:
    from gilfree.bench.families import VARIANTS

    return dict(VARIANTS)


def _header(
    machine: dict[str, Any], cores: list[int], args: argparse.Namespace, s: Settings
) -> str:
    lines = [
        f"gilfree.bench on {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs "
        f"({len(machine['allowed_cpus'])} allowed), {machine['memory_gib']} GiB; "
        f"gilfree {machine['gilfree']} (SIMD {machine['gilfree_simd_level']}), "
        f"TensorFlow {machine['tensorflow']}, NumPy {machine['numpy']}, "
        f"OpenCV {machine.get('opencv') or 'not installed'}",
        f"cores {cores}; grid {args.grid}; {s.repeats} timed passes per measurement of about "
        f"{s.pass_s} s after a warm-up and a calibration pass; batch {s.batch}",
    ]
    if args.quick:
        lines.append("--quick: a short run, not for quoting")
    return "\n".join(lines)
