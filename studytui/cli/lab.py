"""`studytui lab ...`: list labs, start runs, list/show/follow/stop them (JSON in docs/protocol.md).

A run always starts detached (its own process session); `lab run` without --detach just
attaches to it afterwards, so Ctrl+C leaves the run going. Imports neither textual nor torch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from studytui.cli.common import console, err_console, fail, print_json, session, write_output
from studytui.runs import (
    LabManifest,
    RunError,
    RunState,
    RunWatch,
    SettingError,
    duration_s,
    get_manifest,
    load_manifests,
    parse_settings,
    refresh_runs,
    resolve_run,
    start_run,
    stop_run,
    watch_for,
)
from studytui.runs.compare import RATIO_FIGURES, compare_chart, compare_runs
from studytui.runs.format import STATUS_STYLE, fmt_duration, fmt_started, fmt_value, key_figure
from studytui.runs.references import reference_for_run
from studytui.runs.report import report_parts, run_report
from studytui.runs.verdict import Verdict, verdict
from studytui.safetext import clean, plain

lab_app = typer.Typer(
    help="Run the labs (`studytui lab list` names them) and follow their runs.\n\n"
    "Runs keep going when you close the terminal; `attach` follows one again.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = typer.Option(False, "--json", help="Machine-readable output (fields in docs/protocol.md).")
RunArg = typer.Argument(..., metavar="RUN", help="A run id, a unique prefix of one, or `last`.")
SHOWN_METRICS = (
    "step",
    "loss",
    "val_loss",
    "lr",
    "dt_ms",
    "tok_per_s",
    "mfu",
    "grad_norm",
    "gpu_mem_mb",
    "gpu_util",
    "done",
    "rate",
)


# -- JSON shapes (documented in docs/protocol.md, "CLI JSON") -------------------------------


def manifest_json(m: LabManifest) -> dict[str, Any]:
    return {
        "name": m.name,
        "title": m.title,
        "summary": m.summary,
        "module": m.module,
        "key_metric": m.key_metric,
        "manifest": str(m.path),
        "settings": [setting_json(s) for s in m.settings],
    }


def setting_json(s: dict[str, Any]) -> dict[str, Any]:
    doc = {"name": s["name"], "type": s["type"], "default": s.get("default"), "help": s.get("help", "")}
    doc.update({k: s[k] for k in ("min", "max", "choices", "pattern", "lab") if k in s})
    return doc


def run_json(
    row: dict[str, Any], manifests: dict[str, LabManifest], watch: RunWatch | None = None
) -> dict[str, Any]:
    m = manifests.get(row["lab"])
    key = m.key_metric if m else None
    d = duration_s(row)
    if watch is None and row["status"] == "running":
        watch = watch_for(Path(row["dir"]))  # refresh_runs has just polled it
    stalled = bool(watch and row["status"] == "running" and watch.stalled())
    return {
        "id": row["id"],
        "lab": row["lab"],
        "status": row["status"],
        "stalled": stalled,
        "created_at": row["created_at"],
        "ended_at": row["ended_at"],
        "duration_s": round(d, 1) if d is not None else None,
        "pid": row["pid"],
        "dir": row["dir"],
        "key_metric": key,
        "key_value": key_figure(row, key),
        "settings": row["settings"] or {},
        "summary": row["summary"] or {},
        "last": row["last"] or {},
    }


# -- commands --------------------------------------------------------------------------------


@lab_app.command("list")
def list_labs(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Only this lab (all of them if left out)."),
    as_json: bool = JsonOpt,
) -> None:
    """The labs you can run, a line each; NAME: one lab with its settings and defaults."""
    manifests = load_manifests()
    if name is not None:
        try:
            manifests = {name: get_manifest(name, manifests)}
        except SettingError as e:
            fail(str(e), 1)
    if as_json:
        print_json([manifest_json(m) for m in manifests.values()])
        return
    if not manifests:
        console.print("No labs found. (Labs are found beside the `labs` package and in STUDYTUI_LABS_PATH.)")
        return
    if name is None:  # every lab in full is hundreds of lines: one line each, settings on demand
        table = Table(expand=False, box=box.SIMPLE_HEAD)
        table.add_column("lab", style="bold", no_wrap=True)
        table.add_column("what it is", overflow="fold")
        table.add_column("settings", justify="right")
        for m in manifests.values():
            table.add_row(plain(m.name), plain(m.title), str(len(m.settings)))
        console.print(table)
        console.print("  one lab and its settings: studytui lab list NAME", highlight=False, markup=False)
        return
    for m in manifests.values():
        table = Table(
            title=Text.assemble((clean(m.name), "bold"), " — ", clean(m.title)),
            title_justify="left",
            caption=plain(m.summary) if m.summary else None,
            caption_justify="left",
            expand=False,
        )
        table.add_column("setting", style="cyan")
        table.add_column("type")
        table.add_column("default")
        table.add_column("help", overflow="fold")
        for s in m.settings:
            kind = s["type"]
            if kind == "choice":
                kind = "|".join(map(str, s.get("choices", [])))
            elif kind in ("int", "float") and ("min" in s or "max" in s):
                kind += f" [{s.get('min', '')}..{s.get('max', '')}]"
            table.add_row(
                plain(s["name"]), plain(kind), plain(fmt_value(s.get("default"))), plain(s.get("help", ""))
            )
        console.print(table)
        console.print(f"  run it: [bold]studytui lab run {m.name} --set NAME=VALUE[/]\n", highlight=False)


@lab_app.command("run")
def run_lab(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The lab (see `studytui lab list`)."),
    sets: list[str] = typer.Option([], "--set", "-s", metavar="NAME=VALUE", help="A setting (repeatable)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Start it and return at once."),
    as_json: bool = typer.Option(False, "--json", help="With --detach: print {id, dir} as JSON."),
) -> None:
    """Start a run of a lab (checked first), then follow it; Ctrl+C leaves it running."""
    sess = session(ctx)
    try:
        manifest = get_manifest(name)
        settings = parse_settings(manifest, sets, runs_dir=sess.runs_dir)
    except SettingError as e:
        fail(str(e), 2)
    try:
        run_id = start_run(sess, manifest, settings)
    except (RunError, OSError) as e:
        fail(f"could not start {name}: {e}")
    run_dir = sess.runs_dir / run_id
    if detach:
        if as_json:
            print_json({"id": run_id, "dir": str(run_dir.resolve())})
        else:
            console.print(f"started [bold]{run_id}[/]  ({run_dir})", highlight=False)
            console.print(
                f"follow it: studytui lab attach {run_id}    stop it: studytui lab stop {run_id}",
                highlight=False,
            )
        return
    console.print(f"started [bold]{run_id}[/]  ({run_dir})", highlight=False)
    _attach(sess, run_id, run_dir, manifest)


@lab_app.command("runs")
def list_runs(
    ctx: typer.Context,
    lab: str | None = typer.Option(None, "--lab", help="Only this lab's runs."),
    as_json: bool = JsonOpt,
) -> None:
    """Runs, newest first: status, start, duration and the lab's key figure."""
    sess = session(ctx)
    rows = refresh_runs(sess)
    if lab:
        rows = [r for r in rows if r["lab"] == lab]
    manifests = load_manifests()
    if as_json:
        print_json([run_json(r, manifests) for r in rows])
        return
    if not rows:
        console.print("No runs yet." + ("" if lab else " Start one with `studytui lab run NAME`."))
        return
    table = Table(expand=False, box=box.SIMPLE_HEAD)
    table.add_column("run", no_wrap=True)  # the id is what you type next: never cut it
    # The id starts with the lab's name: on a narrow terminal the key figure matters more.
    show_lab = console.width >= 100
    if show_lab:
        table.add_column("lab", no_wrap=True)
    for col in ("status", "started", "duration"):
        table.add_column(col, no_wrap=True, justify="right" if col == "duration" else "left")
    table.add_column("key figure", justify="right", min_width=12)
    for r in rows:
        j = run_json(r, manifests)
        figure = f"{j['key_metric']} {fmt_value(j['key_value'])}" if j["key_value"] is not None else "–"
        cells = [plain(r["id"])] + ([plain(r["lab"])] if show_lab else [])
        status = "stalled?" if j["stalled"] else r["status"]
        table.add_row(
            *cells,
            plain(status, STATUS_STYLE.get(status, "")),
            fmt_started(r["created_at"]),
            fmt_duration(j["duration_s"]),
            plain(figure),
        )
    console.print(table)


@lab_app.command("show")
def show_run(ctx: typer.Context, run: str = RunArg, as_json: bool = JsonOpt) -> None:
    """One run: status, settings, resolved config, last metrics, summary, folder."""
    sess = session(ctx)
    row = _resolve(sess, run)
    watch = RunWatch(Path(row["dir"]))
    watch.update()
    manifests = load_manifests()
    doc = run_json(row, manifests, watch)
    st = watch.state
    reference = reference_for_run(watch.lab, st.resolved)
    judged = verdict(st, reference)
    doc.update(
        {
            "config": st.config,
            "device": st.device,
            "error": st.error,
            "reason": st.end_reason,
            "checkpoints": st.checkpoints,
            "tables": st.tables,
            "samples": list(st.samples)[-3:],
            "verdict": judged.to_json(),
            "reference": reference.to_json() if reference else None,
        }
    )
    if as_json:
        print_json(doc)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("run", doc["id"])
    grid.add_row("lab", doc["lab"])
    status = "stalled?" if doc["stalled"] else doc["status"]
    grid.add_row("status", Text(status, style=STATUS_STYLE.get(status, "")))
    if doc["stalled"]:
        grid.add_row(
            "",
            plain(
                f"no new event for {fmt_duration(_silent_s(watch))}; its process lives "
                f"(stop it: studytui lab stop {doc['id']})"
            ),
        )
    if st.end_reason:
        grid.add_row("reason", plain(st.end_reason, "red"))
    grid.add_row("started", fmt_started(doc["created_at"]))
    grid.add_row("duration", fmt_duration(doc["duration_s"]))
    if st.device:
        grid.add_row("device", plain(st.device))
    grid.add_row("folder", plain(doc["dir"]))
    if st.error:
        grid.add_row("error", plain(st.error, "red", multiline=True))
    grid.add_row("verdict", _verdict_text(judged))
    if doc["summary"].get("note"):
        grid.add_row("note", plain(doc["summary"]["note"]))
    console.print(grid)
    console.print(_kv_table("settings", doc["settings"]))
    if st.resolved:
        console.print(_kv_table("resolved config", st.resolved))
    if doc["last"]:
        console.print(_kv_table("last metrics", doc["last"]))
    if doc["summary"]:
        console.print(_kv_table("summary", doc["summary"]))
    for name, t in st.tables.items():
        console.print(_result_table(name, t))
    if st.checkpoints:
        console.print(
            f"checkpoints: {', '.join(str(c['path']) for c in st.checkpoints[-3:])}", highlight=False
        )
    if doc["status"] in ("failed", "interrupted", "diverged"):
        tail = _stderr_tail(Path(doc["dir"]))
        if tail:
            console.print(
                Panel(plain(tail, multiline=True), title="stderr.log (last lines)", title_align="left")
            )


@lab_app.command("attach")
def attach_run(ctx: typer.Context, run: str = RunArg) -> None:
    """Follow a run live in this terminal; Ctrl+C detaches and leaves it running."""
    sess = session(ctx)
    row = _resolve(sess, run)
    manifest = load_manifests().get(row["lab"])
    _attach(sess, row["id"], Path(row["dir"]), manifest)


@lab_app.command("stop")
def stop(
    ctx: typer.Context,
    run: str = RunArg,
    grace: float = typer.Option(
        30.0, "--grace", min=0, help="Seconds to wait for a clean stop before SIGKILL."
    ),
) -> None:
    """Ask a run to stop (it saves a checkpoint first); kill it after the grace period."""
    if not math.isfinite(grace):
        fail(f"--grace must be a number of seconds, not {grace:g}", 2)
    sess = session(ctx)
    row = _resolve(sess, run)
    if row["status"] != "running":  # refreshed from its folder: one line, no "stopping ..."
        fail(f"run {row['id']} is not running (it is {row['status']})")
    err_console.print(
        f"stopping {row['id']} (SIGTERM; up to {grace:g} s before SIGKILL) ...", highlight=False
    )
    try:
        after = stop_run(sess, row["id"], grace=grace)
    except RunError as e:
        fail(str(e))
    note = (after.get("summary") or {}).get("note")
    console.print(
        f"{after['id']}: [{STATUS_STYLE.get(after['status'], '')}]{after['status']}[/]"
        + (f" ({note})" if note else ""),
        highlight=False,
    )


@lab_app.command("report")
def report(
    ctx: typer.Context,
    run: str = RunArg,
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: stdout)."),
) -> None:
    """A run's report card as markdown: what ran, its figures, the verdict, samples, a loss chart."""
    sess = session(ctx)
    row = _resolve(sess, run)
    watch = RunWatch(Path(row["dir"]))
    watch.update()
    text = run_report(watch, *report_parts(watch))
    write_output(output, text)


@lab_app.command("compare")
def compare(
    ctx: typer.Context,
    runs: list[str] = typer.Argument(
        ..., metavar="RUN...", help="Two or more runs (ids, unique prefixes, `last`)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Runs side by side: the settings that differ, figures with ratios to the first, loss curves."""
    if len(runs) < 2:
        fail("compare needs two runs or more (e.g. studytui lab compare RUN_A RUN_B)")
    sess = session(ctx)
    rows = [_resolve(sess, r) for r in runs]
    ids = [r["id"] for r in rows]
    if len(set(ids)) < len(ids):
        fail(f"the same run is named twice: {', '.join(ids)}")
    watches = [RunWatch(Path(r["dir"])) for r in rows]
    for w in watches:
        w.update()
    doc = compare_runs(watches)
    if as_json:
        print_json(doc)
        return
    if doc["settings_diff"]:
        diff = Table(title="settings that differ", title_justify="left", expand=False)
        diff.add_column("setting", style="cyan")
        for rid in ids:
            diff.add_column(plain(rid), overflow="fold")
        for k, values in doc["settings_diff"].items():
            diff.add_row(
                plain(k),
                *[plain(fmt_value(v) if not isinstance(v, (dict, list)) else json.dumps(v)) for v in values],
            )
        console.print(diff)
    else:
        console.print("settings: the same in every run", highlight=False)
    figs = Table(title=f"figures (ratio to {ids[0]})", title_justify="left", expand=False)
    figs.add_column("figure", style="cyan")
    for rid in ids:
        figs.add_column(plain(rid), justify="right", overflow="fold")
    names = {
        "status": "status",
        "steps": "steps",
        "tok_per_s_median": "tok/s (median)",
        "final_loss": "final loss",
        "best_val_loss": "best val loss",
        "mfu": "MFU",
        "wall_time_s": "wall time",
    }
    for key, label in names.items():
        cells = []
        for r in doc["runs"]:
            v = r["status"] if key == "status" else r["figures"].get(key)
            text = fmt_duration(v) if key == "wall_time_s" and v is not None else fmt_value(v)
            q = r["ratios"].get(key) if key in RATIO_FIGURES else None
            cells.append(plain(text + (f"  x{q:.3g}" if q is not None and r is not doc["runs"][0] else "")))
        figs.add_row(label, *cells)
    console.print(figs)
    console.print(plain(compare_chart(watches, width=min(64, max(20, console.width - 14))), multiline=True))


# -- helpers ---------------------------------------------------------------------------------

VERDICT_STYLE = {
    "on track": "green",
    "ahead": "bold green",
    "behind": "yellow",
    "diverging": "bold red",
    "diverged": "bold red",
}


def _verdict_text(v: Verdict) -> Text:
    return plain(v.text, VERDICT_STYLE.get(v.status, "dim"))


def _silent_s(watch: RunWatch) -> float | None:
    try:
        return time.time() - (Path(watch.run_dir) / "metrics.jsonl").stat().st_mtime
    except OSError:
        return None


def _resolve(sess, ref: str) -> dict[str, Any]:
    try:
        return resolve_run(sess, ref)
    except RunError as e:
        fail(str(e))


def _kv_table(title: str, d: dict[str, Any]) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, expand=False)
    t.add_column(style="cyan")
    t.add_column(overflow="fold")
    for k, v in d.items():
        t.add_row(plain(k), plain(fmt_value(v) if not isinstance(v, (dict, list)) else json.dumps(v)))
    return t


def _result_table(name: str, t: dict[str, Any]) -> Table:
    table = Table(title=plain(name), title_justify="left", expand=False)
    for c in t["columns"]:
        table.add_column(plain(c))
    for row in t["rows"]:
        table.add_row(*[plain(fmt_value(v)) for v in (row if isinstance(row, list) else [row])])
    return table


def _stderr_tail(run_dir: Path, lines: int = 12) -> str:
    try:
        with open(run_dir / "stderr.log", "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def attach_view(
    run_id: str,
    status: str,
    st: RunState,
    manifest: LabManifest | None,
    now: float,
    judged: Verdict | None = None,
) -> Group:
    """What `lab attach` shows: header, progress, last metrics, the verdict, the latest events."""
    head = Text.assemble(
        (clean(run_id), "bold"),
        "  ",
        (clean(status), STATUS_STYLE.get(status, "")),
        f"  on {clean(st.device)}" if st.device else "",
    )
    elapsed = ((st.ended_t or now) - st.started_t) if st.started_t else None
    done, total = st.done_and_total()
    parts: list[Any] = [head]
    if total:
        bar = ProgressBar(total=total, completed=min(done or 0, total), width=40)
        eta = st.eta_s(now) if status == "running" else None
        line = Table.grid(padding=(0, 1))
        line.add_row(
            bar,
            plain(f"{fmt_value(done or 0)}/{fmt_value(total)} {st.progress.get('unit') or 'steps'}"),
            f"elapsed {fmt_duration(elapsed)}",
            f"ETA {fmt_duration(eta)}" if eta else "",
        )
        parts.append(line)
    else:
        parts.append(Text(f"step {fmt_value(st.step)}   elapsed {fmt_duration(elapsed)}"))
    metrics = Table.grid(padding=(0, 2))
    shown = [(k, st.last[k]) for k in SHOWN_METRICS if k in st.last]
    if shown:
        for _ in shown:
            metrics.add_column(justify="right")
        metrics.add_row(*[plain(k, "dim") for k, _ in shown])
        metrics.add_row(*[plain(fmt_value(v)) for _, v in shown])
        parts.append(metrics)
    if judged is not None and judged.status != "no reference":
        parts.append(Text.assemble(("against the reference: ", "dim"), _verdict_text(judged)))
    if st.merges:
        merges = Table("rank", "pair", "token", "count", title="latest merges", title_justify="left")
        for m in list(st.merges)[-5:]:
            merges.add_row(
                plain(fmt_value(m.get("rank"))),
                plain(m.get("pair")),
                plain(repr(m.get("text", m.get("token")))),
                plain(fmt_value(m.get("count"))),
            )
        parts.append(merges)
    if st.samples:
        s = st.samples[-1]
        parts.append(
            Panel(
                plain(s["text"][-400:], multiline=True),
                title=plain(f"sample, step {s['step']}"),
                title_align="left",
            )
        )
    for name, t in list(st.tables.items())[-2:]:
        parts.append(_result_table(name, t))
    # The error event is in the log too: show it once, in red, below.
    log = [text for _, text in st.log if not (st.error and text == f"error: {st.error}")]
    if log:
        parts.append(plain("\n".join(log[-5:]), "dim", multiline=True))
    if st.error:
        parts.append(plain(f"error: {st.error}", "bold red", multiline=True))
    return Group(*parts)


def _attach(sess, run_id: str, run_dir: Path, manifest: LabManifest | None) -> None:
    watch = RunWatch(run_dir)
    watch.update()
    try:
        if not console.is_terminal:
            # Piped or captured: no redraws, just the final picture once the run ends.
            while watch.status == "running":
                time.sleep(0.25)
                watch.update()
            console.print(_attach_picture(run_id, watch, manifest))
        else:
            _follow_live(run_id, watch, manifest)
    except KeyboardInterrupt:
        console.print(
            f"\ndetached; {run_id} keeps running.\n"
            f"  follow it again: studytui lab attach {run_id}\n"
            f"  stop it:         studytui lab stop {run_id}",
            highlight=False,
        )
        return
    refresh_runs(sess)
    console.print(ended_line(run_id, watch), highlight=False)
    status = watch.status
    if watch.state.end_reason:
        console.print(plain(f"  why: {watch.state.end_reason}", "red"))
    if (watch.run_dir / "report.md").is_file():
        console.print(plain(f"  report: {watch.run_dir / 'report.md'}"))
    if status in ("failed", "interrupted", "diverged"):
        err_console.print(f"see {run_dir / 'stderr.log'}", highlight=False)
        raise typer.Exit(1)


def ended_line(run_id: str, watch: RunWatch) -> Text:
    """How a run ended, in one line: `RUN: diverged — loss 3.2, steps 312`."""
    status = watch.status
    summary = ", ".join(
        f"{k} {fmt_value(v)}" for k, v in watch.state.summary.items() if not isinstance(v, (dict, list))
    )
    return Text.assemble(
        (clean(run_id), "bold"),
        ": ",
        (clean(status), STATUS_STYLE.get(status, "")),
        f" — {clean(summary)}" if summary else "",
    )


def _attach_picture(run_id: str, watch: RunWatch, manifest: LabManifest | None) -> Group:
    status = "stalled?" if watch.stalled() else watch.status
    judged = verdict(watch.state, reference_for_run(watch.lab, watch.state.resolved))
    return attach_view(run_id, status, watch.state, manifest, time.time(), judged)


def _follow_live(run_id: str, watch: RunWatch, manifest: LabManifest | None) -> None:
    with Live(
        _attach_picture(run_id, watch, manifest), console=console, refresh_per_second=4, transient=False
    ) as live:
        while watch.status == "running":
            time.sleep(0.25)
            watch.update()
            live.update(_attach_picture(run_id, watch, manifest))
