"""A run's report card: one markdown page saying what ran, how it went, and against what.

    text = run_report(watch, manifest, reference)      # markdown, control characters shown
    write_report(watch, manifest, reference)           # RUN/report.md, once the run ended

The run folder may come from anywhere (copied from a GPU box, a download): every piece of
its text goes through `safetext.clean` before it is placed in the page, table cells lose
their `|`, and samples sit in a code fence longer than any run of backticks inside them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from studytui.protocol import REPORT_FILE, LabManifest, write_atomic
from studytui.runs.chart import text_chart
from studytui.runs.events import RunState
from studytui.runs.format import fmt_duration, fmt_value
from studytui.runs.references import Reference, reference_curve, reference_curve_metric
from studytui.runs.verdict import ladder_rows, verdict
from studytui.runs.watch import FINAL, RunWatch
from studytui.safetext import clean

SAMPLES_SHOWN = 3


def median(values: list[float]) -> float | None:
    vals = sorted(values)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def wall_time_s(state: RunState) -> float | None:
    if state.started_t is None:
        return None
    end = state.ended_t or state.last_t
    return max(0.0, end - state.started_t) if end is not None else None


def run_figures(state: RunState) -> dict[str, Any]:
    """The figures a report and a comparison show, from the folded events."""
    summary = state.summary
    tok = median(state.tok_per_s.xy()[1])
    best_val = state.best.get("val_loss")
    best_loss = state.best.get("loss")
    mfu = summary.get("mfu", state.last.get("mfu"))
    return {
        "steps": state.step,
        "final_loss": state.last.get("loss"),
        "best_loss": best_loss[1] if best_loss else None,
        "final_val_loss": state.last.get("val_loss"),
        "best_val_loss": best_val[1] if best_val else None,
        "best_val_step": best_val[0] if best_val else None,
        "tok_per_s_median": round(tok, 1) if tok is not None else summary.get("tok_per_s"),
        "mfu": mfu,
        "wall_time_s": round(w, 1) if (w := wall_time_s(state)) is not None else None,
    }


@lru_cache(maxsize=1)
def code_version() -> str:
    """`git describe` of the checkout studytui runs from, else the installed version."""
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0 and out.stdout.strip():
                return f"git {out.stdout.strip()}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        from importlib.metadata import PackageNotFoundError, version

        return f"studytui {version('studytui')}"
    except PackageNotFoundError:  # not installed as a distribution (run from a source tree)
        return "unknown"


def _cell(v: Any) -> str:
    text = fmt_value(v) if not isinstance(v, (dict, list)) else str(v)
    return clean(text).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _fence(text: str) -> tuple[str, str]:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return fence, fence


def defaults_for(manifest: LabManifest | None, resolved: dict[str, Any]) -> dict[str, Any]:
    """Each setting's value when not given: the preset's (GPT lab), else the manifest's."""
    if manifest is None:
        return {}
    values = {s["name"]: s.get("default") for s in manifest.settings}
    presets = manifest.raw.get("presets") if isinstance(manifest.raw.get("presets"), dict) else {}
    preset = presets.get(resolved.get("preset")) if isinstance(resolved.get("preset"), str) else None
    if isinstance(preset, dict):
        values.update({k: v for k, v in preset.items() if k != "reference"})
    return values


def settings_rows(
    settings: dict[str, Any], manifest: LabManifest | None, resolved: dict[str, Any]
) -> list[list[Any]]:
    defaults = defaults_for(manifest, resolved)
    return [[k, v, defaults.get(k)] for k, v in settings.items()]


def _iso(t: float | None) -> str:
    if t is None:
        return "–"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


def run_report(watch: RunWatch, manifest: LabManifest | None, reference: Reference | None) -> str:
    st = watch.state
    figures = run_figures(st)
    v = verdict(st, reference)
    settings = st.config.get("settings") if isinstance(st.config.get("settings"), dict) else {}
    status = watch.status + (f" ({st.end_reason})" if st.end_reason else "")
    lines = [
        f"# Run {clean(watch.run_id)}",
        "",
        f"Lab **{clean(watch.lab)}**"
        + (f" ({clean(manifest.title)})" if manifest else "")
        + f", status **{clean(status)}**.",
        "",
        "## What ran",
        "",
    ]
    what = [
        ["started", _iso(st.started_t)],
        ["ended", _iso(st.ended_t)],
        ["wall time", fmt_duration(figures["wall_time_s"])],
        ["device", st.device or "not recorded"],
        ["code version", code_version() + " (when this report was written)"],
    ]
    what += [[k, v] for k, v in st.start_info.items() if k != "device"]
    if st.error:
        what.append(["error", st.error])
    lines += _table(["", ""], what) + [""]
    if settings:
        lines += ["Settings given (all others: the preset's or the lab's defaults):", ""]
        lines += _table(
            ["setting", "this run", "preset/default"], settings_rows(settings, manifest, st.resolved)
        )
    else:
        lines.append("No settings given: the preset's or the lab's defaults throughout.")
    lines += ["", "## Figures", ""]
    rows = [
        ["steps", figures["steps"]],
        ["final loss", figures["final_loss"]],
        ["best loss", figures["best_loss"]],
        ["final val loss", figures["final_val_loss"]],
        [
            "best val loss",
            figures["best_val_loss"]
            if figures["best_val_step"] is None
            else f"{fmt_value(figures['best_val_loss'])} (step {figures['best_val_step']})",
        ],
        ["tok/s (median)", figures["tok_per_s_median"]],
        ["MFU", figures["mfu"]],
    ]
    key = manifest.key_metric if manifest else None
    if key and key not in ("loss", "val_loss", "mfu"):
        rows.append([key, st.figure(key)])
    lines += _table(["figure", "value"], [r for r in rows if r[1] is not None])
    ladder = ladder_rows(st)
    if ladder:
        lines += ["", "Speed-ups over fp32, beside the seed notes' (ratio = this run / theirs):", ""]
        lad = []
        for r in ladder:
            theirs = reference.rung_speedup(r["rung"]) if reference else None
            ratio = r["speedup_fp32"] / theirs if r["speedup_fp32"] and theirs else None
            lad.append([r["rung"], r["tok_per_s"], r["speedup_fp32"], theirs, ratio])
        lines += _table(["rung", "tok/s", "vs fp32", "seed notes", "ratio"], lad)
    lines += ["", "## Against the reference", "", f"**{clean(v.status)}**: {clean(v.text)}"]
    if reference is not None:
        lines += [
            "",
            f"Reference: {clean(reference.title)} ({clean(reference.device) or 'device not stated'});"
            f" source: {clean(reference.source)}.",
        ]
        if reference.published_points:
            lines += [
                "",
                "Published: "
                + "; ".join(
                    f"{clean(reference.metric)} {_cell(p.get(reference.metric))} at step {_cell(p.get('step'))}"
                    for p in reference.published_points
                )
                + ".",
            ]
    chart = _loss_chart(st, reference)
    if chart:
        fence, _ = _fence(chart)
        lines += ["", "## Loss", "", fence, chart, fence]
    samples = list(st.samples)[-SAMPLES_SHOWN:]
    if samples:
        lines += ["", "## Samples", ""]
        for s in samples:
            text = clean(s.get("text", ""), multiline=True)
            fence, _ = _fence(text)
            lines += [f"Step {clean(s.get('step'))}:", "", fence, text, fence, ""]
    return "\n".join(lines).rstrip() + "\n"


def _loss_chart(st: RunState, reference: Reference | None) -> str:
    series = []
    for name, s in (("loss", st.loss), ("val_loss", st.val_loss)):
        xs, ys = s.xy()
        if xs:
            series.append((name, xs, ys))
    ref_xs, ref_ys = reference_curve(reference)
    if ref_xs and series:
        series.append((f"reference {clean(reference_curve_metric(reference))}", ref_xs, ref_ys))
    if not series:
        return ""
    return text_chart(series)


def report_parts(watch: RunWatch) -> tuple[LabManifest | None, Reference | None]:
    """The lab's manifest and the reference that matches the run, for its report."""
    from studytui.runs.manifest import load_manifests  # reads the manifests only when reporting
    from studytui.runs.references import reference_for_run

    return load_manifests().get(watch.lab), reference_for_run(watch.lab, watch.state.resolved)


def write_report_for(watch: RunWatch) -> Path | None:
    """The automatic report of a finished run; None when not due, or not writable (a
    read-only copy of a run folder still shows in `lab runs`)."""
    try:
        return write_report(watch, *report_parts(watch))
    except OSError:
        return None


def write_report(
    watch: RunWatch, manifest: LabManifest | None, reference: Reference | None, *, replace: bool = False
) -> Path | None:
    """RUN/report.md for a finished run; never through a link or over a file already there
    unless `replace` (a copied run folder may hold a planted `report.md` symlink)."""
    if watch.status not in FINAL and not (watch.status == "interrupted" and watch.state.events_seen):
        return None  # a folder with no event yet may be a run by hand still taking its lock
    path = watch.run_dir / REPORT_FILE
    if os.path.lexists(path) and (not replace or path.is_symlink()):
        return None
    write_atomic(path, run_report(watch, manifest, reference))
    return path
