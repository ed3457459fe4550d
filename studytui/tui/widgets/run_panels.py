"""Panels of the run view that every lab shares: header, metrics, samples, events, config, tables.

Everything a run folder holds (config.json, events, samples, logs, tables) is untrusted:
it reaches the screen as Text built from `safetext.clean`, never as markup.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.widgets import DataTable, ProgressBar, Sparkline, Static

from studytui.runs.format import STATUS_STYLE, fmt_duration, fmt_value
from studytui.runs.reference import LadderReference, ladder_reference
from studytui.safetext import clean, plain
from studytui.tui.glyphs import Glyphs, is_ascii, table_box
from studytui.tui.widgets.run_panel_base import RunPanel, show, show_text

SHOWN_METRICS = ("step", "loss", "val_loss", "lr", "grad_norm", "dt_ms", "tok_per_s", "mfu")
SAMPLE_CHARS = 600


def text_bar(g: Glyphs, fraction: float, width: int = 20) -> str:
    fraction = max(0.0, min(1.0, fraction))
    full = round(fraction * width)
    return g.bar_full * full + g.bar_empty * (width - full)


class RunHeader(RunPanel, Vertical):
    """Run id, status, device, elapsed; a progress bar with counts, rate and ETA."""

    slot, order, panel_id = "header", 0, "run-header"

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="run-progress")
        yield Static(id="run-progress-text")

    def show_state(self, watch: Any, now: float) -> None:
        st, g = watch.state, self.glyphs
        status = watch.status
        sep = f"  {g.sep}  "
        elapsed = ((st.ended_t or now) - st.started_t) if st.started_t else None
        title = Text.assemble(
            (clean(watch.run_id), "bold"),
            "  ",
            (status, STATUS_STYLE.get(status, "")),
            f"{sep}{clean(st.device)}" if st.device else "",
            f"{sep}elapsed {fmt_duration(elapsed)}" if elapsed is not None else "",
        )
        if st.error:
            title.append(f"\nerror: {clean(st.error)}", style="bold red")
        note = (watch.record().get("summary") or {}).get("note") if status == "stopped" else None
        if note:
            title.append(f"\n{clean(note)}", style="yellow")
        show_text(self.query_one("#run-title", Static), title)
        done, total = st.done_and_total()
        bar = self.query_one("#run-progress", ProgressBar)
        # Textual's bar is drawn with box characters: ASCII mode draws its own with the glyphs.
        bar.display = not is_ascii(g)
        if total:
            bar.update(total=total, progress=min(done or 0, total))
        unit = clean(st.progress.get("unit") or "steps")
        parts = [
            f"{fmt_value(done or 0)}/{fmt_value(total)} {unit}" if total else f"step {fmt_value(st.step)}"
        ]
        if total and not bar.display:
            fraction = min(done or 0, total) / total
            parts.insert(0, f"[{text_bar(g, fraction)}] {fraction:4.0%}")
        rate = st.progress.get("rate")
        if isinstance(rate, (int, float)):
            parts.append(f"{fmt_value(float(rate))} {unit}/s")
        eta = st.eta_s(now) if status == "running" else None
        if eta is not None:
            parts.append(f"ETA {fmt_duration(eta)}")
        show_text(self.query_one("#run-progress-text", Static), Text(sep.join(parts)))


class MetricsPanel(RunPanel, Static):
    """The latest value of each training metric."""

    slot, order, title, panel_id = "side", 10, "metrics", "metrics"

    def show_state(self, watch: Any, now: float) -> None:
        last = watch.state.last
        shown = [(k, last[k]) for k in SHOWN_METRICS if k in last]
        self.set_empty(not shown)
        rows = [(k, fmt_value(v)) for k, v in shown]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        for k, v in rows:
            grid.add_row(Text(k), plain(v))
        show(self, grid, rows, len(rows))


class ThroughputPanel(RunPanel, Vertical):
    """tokens/s: a sparkline of the recent steps, the current value and the median."""

    slot, order, title, panel_id = "side", 20, "throughput", "throughput"

    def compose(self) -> ComposeResult:
        yield Static(id="tps-text")
        yield Sparkline([], summary_function=max, id="tps-spark")

    def show_state(self, watch: Any, now: float) -> None:
        recent = list(watch.state.recent_tok_per_s)
        self.set_empty(not recent)
        if not recent:
            return
        median = statistics.median(recent)
        show_text(
            self.query_one("#tps-text", Static),
            Text.assemble(
                ("tok/s ", "dim"), (fmt_value(recent[-1]), "bold"), ("   median ", "dim"), fmt_value(median)
            ),
        )
        spark = self.query_one("#tps-spark", Sparkline)
        spark.display = not is_ascii(self.glyphs)  # block characters: not in ASCII mode
        spark.data = recent


class GpuPanel(RunPanel, Static):
    """GPU utilization and memory, when the lab reports them."""

    slot, order, title, panel_id = "side", 30, "GPU", "gpu"

    def show_state(self, watch: Any, now: float) -> None:
        last, g = watch.state.last, self.glyphs
        util, mem = last.get("gpu_util"), last.get("gpu_mem_mb")
        self.set_empty(util is None and mem is None)
        lines = Text()
        if util is not None:
            lines.append(f"GPU util {text_bar(g, util / 100)} {util:.0f}%\n")
        if mem is not None:
            # Labs report memory in use, not the card's size: the bar is against the peak.
            self._peak = max(getattr(self, "_peak", 0.0), mem)
            lines.append(
                f"GPU mem  {text_bar(g, mem / self._peak if self._peak else 0)} {fmt_value(mem)} MB"
                f"  (peak {fmt_value(self._peak)})"
            )
        show_text(self, lines)


def visible_breaks(text: str) -> str:
    return text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


class SamplesPanel(RunPanel, Static):
    """The latest text samples the model wrote (the prompt in bold, as typed in mode=sample)."""

    slot, order, title, panel_id = "side", 40, "samples", "samples"

    def show_state(self, watch: Any, now: float) -> None:
        samples = list(watch.state.samples)[-3:]
        resolved = watch.state.resolved if isinstance(watch.state.resolved, dict) else {}
        prompt_given = resolved.get("prompt") if resolved.get("mode") == "sample" else None
        self.set_empty(not samples and prompt_given is None)
        out = Text()
        if prompt_given is not None:
            # Sampling from a checkpoint: the prompt is the learner's question, shown whole
            # with its line breaks visible (the default prompt is a bare newline).
            out.append("prompt: ", style="bold cyan")
            out.append(clean(visible_breaks(str(prompt_given))) + "\n", style="bold")
        for s in reversed(samples):
            out.append(f"step {clean(s.get('step'))}: ", style="bold cyan")
            prompt, text = str(s.get("prompt") or ""), str(s.get("text") or "")
            if prompt:
                out.append(clean(prompt, multiline=True), style="bold")
                text = text[len(prompt) :] if text.startswith(prompt) else text
            out.append(clean(text[:SAMPLE_CHARS], multiline=True) + "\n")
        show_text(self, out)


class EventLog(RunPanel, VerticalScroll):
    """The run's notable events (start, evals, checkpoints, logs, end), newest last."""

    slot, order, title, panel_id = "bottom", 10, "events", "events-box"

    def compose(self) -> ComposeResult:
        yield Static(id="events")

    def show_state(self, watch: Any, now: float) -> None:
        lines = Text()
        for t, text in list(watch.state.log)[-60:]:
            stamp = (
                time.strftime("%H:%M:%S", time.localtime(t)) if isinstance(t, (int, float)) else "--:--:--"
            )
            lines.append(f"{stamp} ", style="dim")
            text = clean(text)
            lines.append(text + "\n", style="red" if text.startswith("error") else "")
        before = getattr(self.query_one("#events", Static), "_shown_as", (None, None))[0]
        show_text(self.query_one("#events", Static), lines)
        if before != lines.plain:
            self.scroll_end(animate=False)


class ConfigPanel(RunPanel, DataTable):
    """Settings given at start, then the lab's full resolved config."""

    slot, order, title, panel_id = "bottom", 20, "config", "config"

    def on_mount(self) -> None:
        self.add_columns("setting", "value")
        self.cursor_type = "none"
        self._shown: Any = None

    def show_state(self, watch: Any, now: float) -> None:
        config = watch.state.config
        key = (repr(config.get("settings")), repr(config.get("resolved")))
        if key == self._shown:
            return  # rebuilding a table every frame would flicker and lose the scroll
        self._shown = key
        self.clear()
        values: dict[Any, Any] = {}
        for source in (config.get("resolved"), config.get("settings")):
            if isinstance(source, dict):
                for k, v in source.items():
                    values.setdefault(k, v)
        for k, v in values.items():
            shown = fmt_value(v) if not isinstance(v, (dict, list)) else str(v)
            self.add_row(plain(k), plain(shown))


def result_table(name: Any, t: dict[str, Any], g: Glyphs) -> Table:
    """One `table` event as a Rich table, every cell plain text."""
    columns = t.get("columns") if isinstance(t.get("columns"), list) else []
    table = Table(title=plain(name), title_justify="left", expand=False, box=table_box(g))
    for c in columns:
        table.add_column(plain(c), justify="right")
    for row in t.get("rows") if isinstance(t.get("rows"), list) else []:
        cells = row if isinstance(row, list) else [row]
        while len(table.columns) < len(cells):
            table.add_column("", justify="right")  # a row wider than its header still shows
        table.add_row(*[plain(fmt_value(v)) if v is not None else Text(g.dash) for v in cells])
    return table


class ResultTables(RunPanel, ScrollableContainer):
    """Result tables a lab writes (`table` events): compression, speed, the GPT-2 ladder.

    Focusable and scrollable: a long table is read in full at 80x24 (`v` gives it the
    whole left side)."""

    slot, order, title, panel_id = "main", 30, "results (v: full view)", "results"
    focusable_results = True
    can_focus = True

    def compose(self) -> ComposeResult:
        yield Static(id="results-text")

    def show_state(self, watch: Any, now: float) -> None:
        tables = watch.state.tables
        self.set_empty(not tables)
        parts = [result_table(name, t, self.glyphs) for name, t in tables.items() if isinstance(t, dict)]
        show(self.query_one("#results-text", Static), Group(*parts), repr(tables), None)


class LadderComparison(RunPanel, Static):
    """A ladder run beside the reference figures kept in the curriculum (the seed notes).

    Absolute tokens/sec depend on the GPU, so the comparison that means something across
    machines is each rung's speed-up over fp32: yours next to theirs.
    """

    slot, order, title, panel_id = "main", 40, "seed notes", "ladder-ref"
    focusable_results = True
    _reference: LadderReference | None | bool = False  # False: not looked up yet

    def reference(self) -> LadderReference | None:
        if self._reference is False:
            try:
                self._reference = ladder_reference(self.screen.session.curriculum)
            except Exception:  # noqa: BLE001 - a broken curriculum must not keep the run view from opening
                self._reference = None
        return self._reference or None

    def show_state(self, watch: Any, now: float) -> None:
        if watch.lab != "gpt-ladder" or (ref := self.reference()) is None:
            self.set_empty(True)
            return
        self.set_empty(False)
        g = self.glyphs
        mine = _ladder_rows(watch.state.tables.get("ladder"))
        table = Table(
            expand=False,
            caption=plain(f"ref: {ref.source}. Compare the speed-ups: tokens/sec depend on the GPU."),
            caption_justify="left",
            box=table_box(g),
        )
        for col in ("rung", "your tok/s", f"your {g.times}fp32", "ref tok/s", f"ref {g.times}fp32"):
            table.add_column(col, justify="right")
        for rung in dict.fromkeys([*mine, *ref.rungs]):
            row = mine.get(rung, {})
            table.add_row(
                plain(rung),
                plain(fmt_value(row.get("tok/s"))),
                _times(row.get("vs fp32"), g),
                plain(fmt_value(ref.rungs.get(rung, {}).get("tok_per_s"))),
                _times(ref.speedup_fp32(rung), g),
            )
        show(self, table, repr(mine), None)


def _ladder_rows(table: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The lab's `ladder` table event as {rung: {column: value}}."""
    if not isinstance(table, dict):
        return {}
    columns = list(table.get("columns") or [])
    return {
        str(row[0]): dict(zip(columns, row))
        for row in table.get("rows") or []
        if isinstance(row, list) and row
    }


def _times(value: float | None, g: Glyphs) -> Text:
    return Text(f"{value:.2f}{g.times}" if isinstance(value, (int, float)) else g.dash)
