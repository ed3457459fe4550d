"""Panels of the run view that every lab shares: header, metrics, samples, events, config, tables.

Each panel has `show_state(watch, now)`; the run screen calls it when the run's file has
something new (and once a second for the clock), so panels never read files themselves.
A panel with nothing to show hides itself (class `-empty`), so one screen suits every lab.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Sparkline, Static

from studytui.runs.format import STATUS_STYLE, fmt_duration, fmt_value
from studytui.runs.reference import LadderReference
from studytui.runs import RunWatch

SHOWN_METRICS = ("step", "loss", "val_loss", "lr", "grad_norm", "dt_ms", "tok_per_s", "mfu")


class RunPanel:
    """Mixin: show/hide by whether there is anything to show."""

    def set_empty(self, empty: bool) -> None:
        self.set_class(empty, "-empty")


def show(widget: Static, content: Any, key: Any, lines: int) -> None:
    """Update a Static only when `key` (what it shows) changed, and lay the screen out
    again only when its height (`lines`; None: unknown) changed. A layout pass costs tens of ms: once a
    second on a 2-core machine, that is CPU taken from the training run being watched
    (bench/bench_watch.py measures it)."""
    last_key, last_lines = getattr(widget, "_shown_as", (None, None))
    if last_key is not None and key == last_key:
        return
    widget.update(content, layout=last_key is None or lines is None or lines != last_lines)
    widget._shown_as = (key, lines)


def show_text(widget: Static, text: Text) -> None:
    show(widget, text, text.plain, text.plain.count("\n"))


class RunHeader(Vertical):
    """Run id, status, device, elapsed; a progress bar with counts, rate and ETA."""

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="run-progress")
        yield Static(id="run-progress-text")

    def show_state(self, watch: RunWatch, now: float) -> None:
        st = watch.state
        status = watch.status
        elapsed = ((st.ended_t or now) - st.started_t) if st.started_t else None
        title = Text.assemble((watch.run_id, "bold"), "  ", (status, STATUS_STYLE.get(status, "")),
                              f"  ·  {st.device}" if st.device else "",
                              f"  ·  elapsed {fmt_duration(elapsed)}" if elapsed is not None else "")
        if st.error:
            title.append(f"\nerror: {st.error}", style="bold red")
        note = (watch.record().get("summary") or {}).get("note") if status == "stopped" else None
        if note:
            title.append(f"\n{note}", style="yellow")
        show_text(self.query_one("#run-title", Static), title)
        done, total = st.done_and_total()
        bar = self.query_one("#run-progress", ProgressBar)
        if total:
            bar.update(total=total, progress=min(done or 0, total))
        unit = st.progress.get("unit") or "steps"
        parts = [f"{fmt_value(done or 0)}/{fmt_value(total)} {unit}" if total else f"step {fmt_value(st.step)}"]
        rate = st.progress.get("rate")
        if isinstance(rate, (int, float)):
            parts.append(f"{fmt_value(float(rate))} {unit}/s")
        eta = st.eta_s(now) if status == "running" else None
        if eta is not None:
            parts.append(f"ETA {fmt_duration(eta)}")
        show_text(self.query_one("#run-progress-text", Static), Text("  ·  ".join(parts)))


class MetricsPanel(RunPanel, Static):
    """The latest value of each training metric."""

    def show_state(self, watch: RunWatch, now: float) -> None:
        last = watch.state.last
        shown = [(k, last[k]) for k in SHOWN_METRICS if k in last]
        self.set_empty(not shown)
        rows = [(k, fmt_value(v)) for k, v in shown]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        for row in rows:
            grid.add_row(*row)
        show(self, grid, rows, len(rows))


class ThroughputPanel(RunPanel, Vertical):
    """tokens/s: a sparkline of the recent steps, the current value and the median."""

    def compose(self) -> ComposeResult:
        yield Static(id="tps-text")
        yield Sparkline([], summary_function=max, id="tps-spark")

    def show_state(self, watch: RunWatch, now: float) -> None:
        recent = list(watch.state.recent_tok_per_s)
        self.set_empty(not recent)
        if not recent:
            return
        median = statistics.median(recent)
        show_text(self.query_one("#tps-text", Static),
                  Text.assemble(("tok/s ", "dim"), (fmt_value(recent[-1]), "bold"),
                                ("   median ", "dim"), fmt_value(median)))
        self.query_one("#tps-spark", Sparkline).data = recent


def _bar(fraction: float, width: int = 20) -> str:
    fraction = max(0.0, min(1.0, fraction))
    full = round(fraction * width)
    return "█" * full + "░" * (width - full)


class GpuPanel(RunPanel, Static):
    """GPU utilization and memory, when the lab reports them."""

    def show_state(self, watch: RunWatch, now: float) -> None:
        last = watch.state.last
        util, mem = last.get("gpu_util"), last.get("gpu_mem_mb")
        self.set_empty(util is None and mem is None)
        lines = Text()
        if util is not None:
            lines.append(f"GPU util {_bar(util / 100)} {util:.0f}%\n")
        if mem is not None:
            # Labs report memory in use, not the card's size: the bar is against the peak.
            self._peak = max(getattr(self, "_peak", 0.0), mem)
            lines.append(f"GPU mem  {_bar(mem / self._peak if self._peak else 0)} {fmt_value(mem)} MB"
                         f"  (peak {fmt_value(self._peak)})")
        show_text(self, lines)


class SamplesPanel(RunPanel, Static):
    """The latest text samples the model wrote."""

    def show_state(self, watch: RunWatch, now: float) -> None:
        samples = list(watch.state.samples)[-3:]
        self.set_empty(not samples)
        out = Text()
        for s in reversed(samples):
            out.append(f"step {s['step']}: ", style="bold cyan")
            if s["prompt"]:
                out.append(s["prompt"], style="bold")
                text = s["text"][len(s["prompt"]):] if s["text"].startswith(s["prompt"]) else s["text"]
            else:
                text = s["text"]
            out.append(text[:600] + "\n")
        show_text(self, out)


class EventLog(Static):
    """The run's notable events (start, evals, checkpoints, logs, end), newest last."""

    def show_state(self, watch: RunWatch, now: float) -> None:
        lines = Text()
        for t, text in list(watch.state.log)[-60:]:
            stamp = time.strftime("%H:%M:%S", time.localtime(t)) if t else "--:--:--"
            lines.append(f"{stamp} ", style="dim")
            lines.append(text + "\n", style="red" if text.startswith("error") else "")
        show_text(self, lines)


class ConfigPanel(DataTable):
    """Settings given at start, then the lab's full resolved config."""

    def on_mount(self) -> None:
        self.add_columns("setting", "value")
        self.cursor_type = "none"
        self._shown: Any = None

    def show_state(self, watch: RunWatch, now: float) -> None:
        config = watch.state.config
        key = (repr(config.get("settings")), repr(config.get("resolved")))
        if key == self._shown:
            return   # rebuilding a table every frame would flicker and lose the scroll
        self._shown = key
        self.clear()
        values = dict(config.get("resolved") or {})
        for k, v in (config.get("settings") or {}).items():
            values.setdefault(k, v)
        for k, v in values.items():
            self.add_row(k, fmt_value(v) if not isinstance(v, (dict, list)) else str(v))


class ResultTables(RunPanel, Static):
    """Result tables a lab writes (`table` events): compression, speed, the GPT-2 ladder."""

    def show_state(self, watch: RunWatch, now: float) -> None:
        tables = watch.state.tables
        self.set_empty(not tables)
        parts = []
        for name, t in tables.items():
            table = Table(title=name, title_justify="left", expand=False)
            for c in t["columns"]:
                table.add_column(str(c), justify="right")
            for row in t["rows"]:
                table.add_row(*[fmt_value(v) for v in (row if isinstance(row, list) else [row])])
            parts.append(table)
        show(self, Group(*parts), repr(tables), None)


class LadderComparison(RunPanel, Static):
    """A ladder run beside the reference figures kept in the curriculum (the seed notes).

    Absolute tokens/sec depend on the GPU, so the comparison that means something across
    machines is each rung's speed-up over fp32: yours next to theirs.
    """

    def __init__(self, reference: LadderReference | None = None, **kwargs):
        super().__init__(**kwargs)
        self.reference = reference

    def show_state(self, watch: RunWatch, now: float) -> None:
        ref = self.reference
        if ref is None or watch.lab != "gpt-ladder":
            self.set_empty(True)
            return
        self.set_empty(False)
        mine = _ladder_rows(watch.state.tables.get("ladder"))
        table = Table(expand=False, caption=f"ref: {ref.source}. Compare the speed-ups: "
                      "tokens/sec depend on the GPU.", caption_justify="left")
        for col in ("rung", "your tok/s", "your ×fp32", "ref tok/s", "ref ×fp32"):
            table.add_column(col, justify="right")
        for rung in dict.fromkeys([*mine, *ref.rungs]):
            row = mine.get(rung, {})
            table.add_row(rung, fmt_value(row.get("tok/s")), _times(row.get("vs fp32")),
                          fmt_value(ref.rungs.get(rung, {}).get("tok_per_s")), _times(ref.speedup_fp32(rung)))
        show(self, table, repr(mine), None)


def _ladder_rows(table: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The lab's `ladder` table event as {rung: {column: value}}."""
    if not table:
        return {}
    columns = list(table.get("columns", []))
    return {row[0]: dict(zip(columns, row)) for row in table.get("rows", [])
            if isinstance(row, list) and row}


def _times(value: float | None) -> str:
    return f"{value:.2f}×" if isinstance(value, (int, float)) else "–"
