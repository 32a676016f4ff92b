"""Reports of ``python -m gilfree.bench``: derived metrics, the terminal table, markdown, and
the plot of the scaling curves (matplotlib, optional)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from gilfree.bench.runner import AUTOTUNE

METHOD = (
    "One fresh worker process per core count k, pinned with os.sched_setaffinity to k CPUs "
    "before TensorFlow is imported (TF intra-op = inter-op threads = k). Per case, every "
    "variant's output for element 0 is checked against gilfree.reference; each measurement "
    "then gets a warm-up pass and a calibration pass (elements per pass chosen so that a pass "
    "lasts about settings.pass_s, at least max(min_elements, 2k)), then `repeats` timed passes "
    "interleaved round by round with the case's other measurements. A pass creates a fresh "
    "iterator, pulls a few items untimed (start-up), then n elements timed in one "
    "tf.function loop; the offline pool's pass is pool.map + from_tensor_slices + its "
    "consumption, all timed. "
    "elements/s = n / median pass time (min and max from the slowest and fastest pass); "
    "MP/s = elements/s x H x W / 1e6; speedup = elements/s / the fallback's at the same cores "
    "and num_parallel_calls (the offline pool against the fallback's AUTOTUNE); scaling "
    "efficiency = elements/s at k cores / (k x elements/s of the same variant at 1 core with "
    "AUTOTUNE); CPU utilisation = CPU time of the worker and its live children over the "
    "passes / (wall time x k). Inputs come from fixed seeds."
)


def _key(rec: dict[str, Any]) -> tuple[Any, ...]:
    case = rec["case"]["label"]
    return (rec["family"], case, rec["variant"], rec["cores"], rec["parallel_calls"])


def enrich(results: list[dict[str, Any]]) -> None:
    """Adds elements/s (median, min, max, quartiles), MP/s, the speedup over the fallback and
    the scaling efficiency to every measured record."""
    for rec in results:
        t = rec.get("timing")
        if not t:
            continue
        n = rec["elements_per_pass"]
        rate = n / t["median_s"]
        rec["elements_per_s"] = rate
        rec["elements_per_s_min"] = n / t["max_s"]
        rec["elements_per_s_max"] = n / t["min_s"]
        rec["elements_per_s_q1"] = n / t["q3_s"]
        rec["elements_per_s_q3"] = n / t["q1_s"]
        c = rec["case"]
        rec["megapixels_per_s"] = rate * c["height"] * c["width"] / 1e6
    index = {_key(r): r for r in results if "elements_per_s" in r}
    for rec in results:
        if "elements_per_s" not in rec:
            continue
        fam, case, _, cores, p = _key(rec)
        fb = index.get((fam, case, "fallback", cores, AUTOTUNE if p is None else p))
        rec["speedup_vs_fallback"] = rec["elements_per_s"] / fb["elements_per_s"] if fb else None
        base = index.get((fam, case, rec["variant"], 1, None if p is None else AUTOTUNE))
        rec["scaling_efficiency"] = (
            rec["elements_per_s"] / (cores * base["elements_per_s"]) if base else None
        )


def check_failures(results: Iterable[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(problems, notes): errors, and outputs that differ from gilfree.reference. A gilfree
    variant that differs is a problem (a bug); another library that differs (tf_native,
    opencv: their own rounding and borders) is a note, shown with the numbers."""
    from gilfree.bench.families import PEER_VARIANTS

    problems: list[str] = []
    notes: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for rec in results:
        where = _where(rec)
        if "error" in rec:
            problems.append(f"{where}: {rec['error']}")
        check = rec.get("check")
        key = (rec["family"], rec["case"]["label"], rec["variant"])
        if check and not check["ok"] and key not in seen:
            seen.add(key)
            detail = check.get("reason") or (
                f"max |difference| {check['max_abs_diff']:.3g}, "
                f"{check['mismatch_share']:.2%} of elements beyond {check['tolerance']:.3g}"
            )
            text = f"{' '.join(key)}: output differs from gilfree.reference ({detail})"
            (notes if rec["variant"] in PEER_VARIANTS else problems).append(text)
    return problems, notes


def _where(rec: dict[str, Any]) -> str:
    p = rec["parallel_calls"]
    calls = "pool" if p is None else f"p={p}"
    case = rec["case"]["label"]
    return f"{rec['family']} {case} {rec['variant']} ({rec['cores']} cores, {calls})"


def _num(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _spread(rec: dict[str, Any]) -> str:
    rate = rec["elements_per_s"]
    half = (rec["elements_per_s_max"] - rec["elements_per_s_min"]) / 2
    return f"±{half / rate:.0%}" if rate > 0 else ""


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def _cases(payload: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(family, case label, records) in run order."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in payload["results"]:
        out.setdefault((rec["family"], rec["case"]["label"]), []).append(rec)
    return [(f, c, recs) for (f, c), recs in out.items()]


def _configs(recs: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """The (cores, parallel_calls) columns of a case: the scaling first, then the sweep."""
    seen = {(r["cores"], r["parallel_calls"]) for r in recs if r["parallel_calls"] is not None}
    autotune = sorted(c for c in seen if c[1] == AUTOTUNE)
    others = sorted((c for c in seen if c[1] != AUTOTUNE), key=lambda c: (c[0], int(c[1])))
    return autotune + others


def _variants(recs: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["variant"] for r in recs))


def _at(recs: list[dict[str, Any]], variant: str, cores: int, p: Any) -> dict[str, Any] | None:
    """The record of `variant` at (cores, p); the offline pool stands in the AUTOTUNE column."""
    for r in recs:
        if r["variant"] != variant or r["cores"] != cores:
            continue
        if r["parallel_calls"] == p or (r["parallel_calls"] is None and p == AUTOTUNE):
            return r
    return None


def _most_cores(recs: list[dict[str, Any]]) -> int:
    return max(r["cores"] for r in recs)


def _col(cores: int, p: Any) -> str:
    return f"{cores}c {'AUTO' if p == AUTOTUNE else f'p={p}'}"


# --------------------------------------------------------------------------------------------
# The many-core projection (projected, never measured: labelled as such wherever it is shown)
# --------------------------------------------------------------------------------------------


def _projections(payload: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    proj = payload.get("projection") or {}
    return {(r["family"], r["case"]["label"], r["variant"]): r for r in proj.get("records") or []}


def _projection_cores(payload: dict[str, Any]) -> list[int]:
    return [int(c) for c in (payload.get("projection") or {}).get("cores") or []]


def _terminal_projection_cores(payload: dict[str, Any]) -> list[int]:
    """The projected core counts the terminal shows: the --project ones and the most cores
    measured (beside its measurement); the JSON and the markdown have every measured one."""
    requested = {int(c) for c in (payload.get("config") or {}).get("project") or []}
    most = max((r["cores"] for r in payload["results"]), default=1)
    return [n for n in _projection_cores(payload) if n in requested or n == most]


PROJECTION_LEGEND = (
    "right of the bar, projected (Amdahl's law), not measured: serial = s / t1, the share of "
    "the 1-core time per element t1 that runs one element at a time (GIL held + tf.data "
    "skeleton), both measured in this run; ~Nc = N / (s N + t1 - s) elements/s; a measured "
    "'Nc AUTO' column, where there is one, is its measurement"
)


def _projection_cells(rec: dict[str, Any] | None, cores: list[int]) -> str:
    if not cores:
        return ""
    if rec is None or "projected_elements_per_s" not in rec:
        return " |" + f"{'-':>7}" + "".join(f"{'-':>8}" for _ in cores)
    cells = [f"{_pct(rec['serial_share']):>7}"]
    cells += [f"{_num(rec['projected_elements_per_s'][str(n)]):>8}" for n in cores]
    return " |" + "".join(cells)


def _projection_head(cores: list[int]) -> str:
    if not cores:
        return ""
    return " |" + f"{'serial':>7}" + "".join(f"{f'~{n}c':>8}" for n in cores)


def projection_markdown(payload: dict[str, Any]) -> list[str]:
    """The markdown section of the projection: per variant t1, s (GIL + skeleton), s / t1,
    and per core count the projection, beside the measurement where this run has one."""
    proj = payload.get("projection") or {}
    records = proj.get("records") or []
    out = ["## Many-core projection (Amdahl's law; projected, not measured)", ""]
    if not records:
        out += [f"Not computed: {proj.get('unavailable') or 'no 1-core measurement'}.", ""]
        return out
    cores = _projection_cores(payload)
    measured_cores = sorted(
        {int(c) for r in records for c in (r.get("measured_elements_per_s") or {})}
    )
    out += [
        "Projected elements/s at N cores = N / (s N + t1 - s), from t1 (1-core time per "
        "element, `AUTOTUNE`) and s (its serial part: GIL-held time per element from the GIL "
        "probe + the tf.data skeleton's time per element), all measured in this run on one "
        "core; the ceiling is 1 / s. A projection ignores memory bandwidth, caches, "
        'hyperthreads and contention that grows with the cores (`docs/bench.md`, "The '
        'many-core projection"). Where this run also measured N cores, the measurement '
        "stands beside the projection (*measured*).",
        "",
    ]
    head = ["family", "case", "variant", "t1 ms", "s ms (GIL + tf.data)", "s / t1"]
    for n in cores:
        if n in measured_cores:
            head.append(f"{n} cores *measured*")
        head.append(f"{n} cores projected")
    head.append("ceiling 1 / s")
    out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    notes = []
    for r in records:
        row = [r["family"], r["case"]["label"], r["variant"], f"{r['t1_s'] * 1e3:.3g}"]
        if "projected_elements_per_s" not in r:
            notes.append(f"- {r['family']} {r['case']['label']} {r['variant']}: {r['unavailable']}")
            row += ["n/a", "n/a"]
            for n in cores:
                row += ["-"] * (2 if n in measured_cores else 1)
            row.append("-")
        else:
            row.append(
                f"{r['serial_s'] * 1e3:.3g} ({r['serial_gil_s'] * 1e3:.2g} + "
                f"{r['serial_tfdata_s'] * 1e3:.2g})"
            )
            row.append(_pct(r["serial_share"]))
            measured = r.get("measured_elements_per_s") or {}
            for n in cores:
                if n in measured_cores:
                    v = measured.get(str(n))
                    row.append(f"*{_num(v)}*" if v is not None else "-")
                row.append(_num(r["projected_elements_per_s"][str(n)]))
            row.append(
                _num(r.get("ceiling_elements_per_s")) if r.get("ceiling_elements_per_s") else "none"
            )
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    if notes:
        out += ["Not projected:", "", *notes, ""]
    return out


def print_report(payload: dict[str, Any]) -> None:
    m = payload["machine"]
    print()
    print(
        f"Machine: {m['cpu_model']}; {m['logical_cpus']} logical CPUs, {len(m['allowed_cpus'])} "
        f"allowed; {m['memory_gib']} GiB; Python {m['python']}, NumPy {m['numpy']}, "
        f"TensorFlow {m['tensorflow']}, OpenCV {m.get('opencv') or '-'}, gilfree "
        f"{m['gilfree']} (SIMD {m['gilfree_simd_level']}); GPUs: "
        f"{', '.join(g['name'] for g in m.get('gpus') or []) or 'none'}"
    )
    load = payload["load"]
    print(
        f"Load: other processes {load['other_processes_cores']:.2f} cores, steal "
        f"{load['steal_cores']:.2f} cores over {load['wall_s']:.0f} s"
        + ("  WARNING: not a quiet machine" if load["other_processes_cores"] > 0.1 else "")
    )
    print(
        "elements/s, median ±half the spread of the passes; 'Nc AUTO' = N cores, "
        "num_parallel_calls=AUTOTUNE; x fallback, scaling efficiency and CPU at the most "
        "cores with AUTOTUNE (offline_pool: its pool of N processes)"
    )
    proj_cores = _terminal_projection_cores(payload)
    projections = _projections(payload)
    if proj_cores:
        print(PROJECTION_LEGEND)
    elif (payload.get("projection") or {}).get("unavailable"):
        print(f"Projection: not computed: {payload['projection']['unavailable']}")
    for name, info in payload["families"].items():
        if not info["available"]:
            print(f"\n{name}: not measured: {info['reason']}")
    for family, case, recs in _cases(payload):
        info = payload["families"].get(family, {})
        print(f"\n{family} {case}: {info.get('description', '')}")
        if info.get("note"):
            print(f"  note: {info['note']}")
        configs = _configs(recs)
        most = _most_cores(recs)
        head = f"  {'variant':<19}" + "".join(f"{_col(*c):>14}" for c in configs)
        head += f"{'MP/s':>9}{'x fallback':>11}{'efficiency':>11}{'CPU':>6}"
        print(head + _projection_head(proj_cores))
        missing = []
        for variant in _variants(recs):
            rows = [r for r in recs if r["variant"] == variant]
            if all("unavailable" in r for r in rows):
                missing.append(f"{variant} ({rows[0]['unavailable']})")
                continue
            cells = []
            for c in configs:
                r = _at(recs, variant, *c)
                if r is None or "elements_per_s" not in r:
                    cells.append("error" if r is not None and "error" in r else "")
                else:
                    cells.append(f"{_num(r['elements_per_s'])} {_spread(r)}")
            top = _at(recs, variant, most, AUTOTUNE)
            flag = "!" if any(r.get("check") and not r["check"]["ok"] for r in rows) else " "
            line = f"  {variant + flag:<19}" + "".join(f"{c:>14}" for c in cells)
            if top and "elements_per_s" in top:
                line += (
                    f"{_num(top['megapixels_per_s']):>9}{_ratio(top['speedup_vs_fallback']):>11}"
                    f"{_pct(top['scaling_efficiency']):>11}{_pct(top['cpu_utilization']):>6}"
                )
            else:
                line += " " * 37
            line += _projection_cells(projections.get((family, case, variant)), proj_cores)
            print(line.rstrip())
        if missing:
            print("  not measured: " + "; ".join(missing))
    train = payload.get("train")
    if train:
        print()
        print(train_text(train))
    if payload["problems"]:
        print("\nProblems (! in a table: output differs from the reference)")
        for p in payload["problems"]:
            print(f"  - {p}")
    for note in payload["notes"]:
        print(f"Note: {note}")


def train_text(train: dict[str, Any]) -> str:
    if train.get("error"):
        return f"--train: {train['error']}"
    c = train["case"]
    lines = [
        f"--train: model.fit on {train['device']}"
        + (f" ({', '.join(n for n in train['gpus'] if n)})" if train.get("gpus") else "")
        + f", {train['cores']} cores, batch {train['batch']} of {c['label']}, "
        f"{train['steps']} timed steps x {train['rounds']} rounds",
        f"  {'input':<12}{'steps/s':>10}{'images/s':>10}{'step ms':>9}{'input wait':>12}",
    ]
    for name, r in train["results"].items():
        lines.append(
            f"  {name:<12}{_num(r['steps_per_s']):>10}{_num(r['images_per_s']):>10}"
            f"{r['step_s_median'] * 1e3:9.1f}{_pct(r['input_wait_share']):>12}"
        )
    for name, reason in train.get("unavailable", {}).items():
        lines.append(f"  {name}: not measured: {reason}")
    if train.get("note"):
        lines.append(f"  note: {train['note']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def machine_text(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    gpus = ", ".join(g["name"] for g in m.get("gpus") or []) or "no GPU"
    load = payload["load"]
    return (
        f"{m['cpu_model']}, {m['logical_cpus']} logical CPUs ({len(m['allowed_cpus'])} "
        f"allowed), {m['memory_gib']} GiB, {gpus}; Python {m['python']}, NumPy {m['numpy']}, "
        f"TensorFlow {m['tensorflow']}, OpenCV {m.get('opencv') or 'not installed'}, gilfree "
        f"{m['gilfree']} (kernels dispatched to `{m['gilfree_simd_level']}`). Other processes "
        f"used {load['other_processes_cores']:.2f} cores on average during the run."
    )


def headline_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per case: fallback, gilfree and the best other variant at the most cores."""
    rows = []
    for family, case, recs in _cases(payload):
        most = _most_cores(recs)
        fb = _at(recs, "fallback", most, AUTOTUNE)
        gf = _at(recs, "gilfree", most, AUTOTUNE)
        others = [
            r
            for v in _variants(recs)
            if v not in ("fallback", "gilfree")
            for r in [_at(recs, v, most, AUTOTUNE)]
            if r is not None and "elements_per_s" in r
        ]
        best = max(others, key=lambda r: r["elements_per_s"], default=None)
        rows.append(
            {
                "family": family,
                "case": case,
                "cores": most,
                "fallback": fb,
                "gilfree": gf,
                "best_other": best,
            }
        )
    return rows


def _rate_md(rec: dict[str, Any] | None) -> str:
    if rec is None:
        return "-"
    if "elements_per_s" not in rec:
        return "n/a" if "unavailable" in rec else "error"
    low, high = _num(rec["elements_per_s_min"]), _num(rec["elements_per_s_max"])
    return f"{_num(rec['elements_per_s'])} [{low}..{high}]"


def markdown(payload: dict[str, Any]) -> str:
    out = [
        "# gilfree.bench results",
        "",
        f"Measured {payload['created']} with `{' '.join(payload['command'])}` on: "
        + machine_text(payload),
        "",
        "Elements (images or records) per second through `tf.data`, median of the passes with "
        "[slowest..fastest]; `AUTOTUNE` unless noted. The method: `benchmarks/METHOD.md`.",
        "",
    ]
    if payload["config"]["quick"]:
        out += ["*A `--quick` run: short passes and few repeats; indicative only.*", ""]
    rows = headline_rows(payload)
    if rows:
        out += [
            "## Fallback against gilfree, at the most cores",
            "",
            "| family | case | cores | fallback | gilfree | gilfree / fallback | gilfree "
            "scaling eff. | fastest other variant |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            gf, best = row["gilfree"], row["best_other"]
            best_text = (
                f"{best['variant']} {_num(best['elements_per_s'])} "
                f"({_ratio(best.get('speedup_vs_fallback'))})"
                if best
                else "-"
            )
            out.append(
                f"| {row['family']} | {row['case']} | {row['cores']} | {_rate_md(row['fallback'])} "
                f"| {_rate_md(gf)} | "
                f"{_ratio(gf.get('speedup_vs_fallback')) if gf else '-'} | "
                f"{_pct(gf.get('scaling_efficiency')) if gf else '-'} | {best_text} |"
            )
        out.append("")
    out += [
        "## Every variant",
        "",
        "| family | case | variant | 1 core | most cores | best p at most cores | MP/s | "
        "x fallback | scaling eff. | CPU util. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    unavailable: dict[tuple[str, str], str] = {}
    for family, case, recs in _cases(payload):
        most = _most_cores(recs)
        for variant in _variants(recs):
            rows_v = [r for r in recs if r["variant"] == variant]
            if all("unavailable" in r for r in rows_v):
                unavailable[(family, variant)] = rows_v[0]["unavailable"]
                continue
            one = _at(recs, variant, 1, AUTOTUNE)
            top = _at(recs, variant, most, AUTOTUNE)
            at_most = [r for r in rows_v if r["cores"] == most and "elements_per_s" in r]
            best = max(at_most, key=lambda r: r["elements_per_s"], default=None)
            best_p = "-"
            if best is not None:
                p = best["parallel_calls"]
                best_p = "pool" if p is None else str(p)
                best_p += f" ({_num(best['elements_per_s'])})"
            differs = any(r.get("check") and not r["check"]["ok"] for r in rows_v)
            flag = " (differs)" if differs else ""
            mp = _num(top["megapixels_per_s"]) if top and "megapixels_per_s" in top else "-"
            out.append(
                f"| {family} | {case} | {variant}{flag} | {_rate_md(one) if most > 1 else '-'} | "
                f"{_rate_md(top)} | {best_p} | {mp} | "
                f"{_ratio(top.get('speedup_vs_fallback')) if top else '-'} | "
                f"{_pct(top.get('scaling_efficiency')) if top else '-'} | "
                f"{_pct(top.get('cpu_utilization')) if top else '-'} |"
            )
    out.append("")
    out += projection_markdown(payload)
    missing_families = [
        (n, i["reason"]) for n, i in payload["families"].items() if not i["available"]
    ]
    if unavailable or missing_families:
        out += ["## Not measured", ""]
        out += [f"- {name}: {reason}" for name, reason in missing_families]
        out += [f"- {fam} / {variant}: {reason}" for (fam, variant), reason in unavailable.items()]
        out.append("")
    notes = [f"- {n}: {i['note']}" for n, i in payload["families"].items() if i.get("note")]
    notes += [f"- {n}" for n in payload.get("notes", [])]
    if notes:
        out += ["## Notes", "", *notes, ""]
    if payload.get("train"):
        out += ["## Feeding the accelerator (`--train`)", ""]
        out += ["```", train_text(payload["train"]), "```", ""]
    if payload["problems"]:
        out += ["## Problems", ""] + [f"- {p}" for p in payload["problems"]] + [""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------------


def write_plot(payload: dict[str, Any], path: Any) -> str | None:
    """Writes the scaling curves (elements/s against cores, AUTOTUNE) as a PNG. Returns None,
    or a note saying why no plot was written (matplotlib is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            "plot: matplotlib is not installed, so no PNG was written "
            "(pip install matplotlib, or pip install 'gilfree[bench]')"
        )
    cases = [
        (f, c, recs) for f, c, recs in _cases(payload) if any("elements_per_s" in r for r in recs)
    ]
    if not cases:
        return "plot: no measurement to plot"
    ncols = min(4, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows + 1.2), squeeze=False, layout="constrained"
    )
    variants = list(payload["variants"])
    colors = plt.get_cmap("tab10")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    handles: dict[str, Any] = {}
    for i, ax in enumerate(axes.flat):
        if i >= len(cases):
            ax.axis("off")
            continue
        fam, case, recs = cases[i]
        for variant in _variants(recs):
            pts = sorted(
                (r["cores"], r["elements_per_s"])
                for r in recs
                if r["variant"] == variant
                and r["parallel_calls"] in (AUTOTUNE, None)
                and "elements_per_s" in r
            )
            if not pts:
                continue
            j = variants.index(variant) if variant in variants else 9
            (line,) = ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                marker="o",
                markersize=4,
                color=colors(j % 10),
                linestyle="--" if variant in ("fallback", "offline_pool") else "-",
                label=variant,
            )
            handles[variant] = line
        core_counts = sorted({r["cores"] for r in recs})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(core_counts, [str(c) for c in core_counts])
        ax.set_xlim(core_counts[0] / 1.3, core_counts[-1] * 1.3)
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{fam}, {case}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("elements/s", fontsize=8)
        if i >= len(cases) - ncols:
            ax.set_xlabel("cores", fontsize=8)
    ordered = [handles[v] for v in variants if v in handles]
    fig.legend(
        ordered,
        [h.get_label() for h in ordered],
        loc="outside lower center",
        ncol=min(5, len(ordered)),
        fontsize=8,
    )
    m = payload["machine"]
    fig.suptitle(
        "tf.data elements/s against cores (num_parallel_calls=AUTOTUNE; offline_pool: a pool "
        f"of as many processes)\n{m['cpu_model']}, {len(m['allowed_cpus'])} CPUs, "
        f"TensorFlow {m['tensorflow']}, gilfree {m['gilfree']}",
        fontsize=9,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
