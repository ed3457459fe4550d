"""The labs screens: pick a lab and start a run, watch runs live, cut text into tokens.

    LabsScreen(session)           labs with a settings form; the runs table (refreshed each second)
    RunScreen(session, run_id)    one run, live from its metrics.jsonl (same code for a finished run)
    TokenViewerScreen(session)    text cut by gpt2, cl100k_base and a tokenizer you trained

The app never imports a lab: runs are processes (studytui.runs), and the token viewer asks
a helper process (`python -m labs.tokenizer.viewer`) to do the encoding.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (Button, DataTable, Footer, Input, Label, OptionList, Select,
                             Static, Switch)
from textual.widgets.option_list import Option

from studytui.runs import (RunError, RunWatch, SettingError, duration_s, load_manifests,
                           parse_settings, refresh_runs, start_run, stop_run)
from studytui.runs.format import (STATUS_STYLE, fmt_duration, fmt_started, fmt_value,
                                  key_figure)
from studytui.runs.manifest import LabManifest
from studytui.runs.reference import LadderReference, ladder_reference
from studytui.runs.token_client import TokenizerClient, TokenizerServerError
from studytui.session import Session
from studytui.tui.background import BackgroundSession as _BackgroundSession
from studytui.tui.widgets.run_charts import LossChart
from studytui.tui.widgets.run_panels import (ConfigPanel, EventLog, GpuPanel, LadderComparison,
                                             MetricsPanel, ResultTables, RunHeader, SamplesPanel,
                                             ThroughputPanel)
from studytui.tui.widgets.run_tokenizer import MergesPanel

CSS_FILE = str(Path(__file__).with_name("labs.tcss"))
# The run view reads the run file and redraws once a second: a live chart needs no more,
# and on a small machine every redraw is CPU taken from the training it shows
# (bench/bench_watch.py measures that cost).
RUN_REFRESH_S = 1.0
RUNS_REFRESH_S = 1.0
TRAINED_MODEL = "tokenizer.model"


def _back(screen: Screen) -> None:
    if len(screen.app.screen_stack) > 1:
        screen.app.pop_screen()


# -- confirm -----------------------------------------------------------------------------------

class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]
    CSS_PATH = CSS_FILE

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self.question)
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


# -- the labs screen ----------------------------------------------------------------------------

class LabsScreen(Screen):
    """Labs on the left (pick one, fill its settings, start), runs on the right."""

    CSS_PATH = CSS_FILE
    BINDINGS = [
        Binding("ctrl+r", "start_run", "Start run"),
        # ctrl+ keys, not letters: a focused settings input would swallow a letter.
        Binding("ctrl+o", "focus_runs", "Runs"),
        Binding("ctrl+l", "focus_labs", "Labs list"),
        Binding("t", "token_viewer", "Token viewer"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self._bg = _BackgroundSession(session)
        self.manifests: dict[str, LabManifest] = {}
        self.lab: LabManifest | None = None
        self._rows: list[tuple] = []
        self._refreshing = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="labs-body"):
            with Vertical(id="labs-left"):
                yield Static("Labs", classes="section-title")
                yield OptionList(id="lab-list")
                yield Static(id="lab-summary")
                yield VerticalScroll(id="settings-form")
                yield Static(id="form-error")
                yield Button("Start run (ctrl+r)", id="start", variant="primary")
            with Vertical(id="labs-right"):
                yield Static("Runs  (ctrl+o here, enter opens one)", classes="section-title")
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.manifests = load_manifests()
        labs = self.query_one("#lab-list", OptionList)
        for m in self.manifests.values():
            labs.add_option(Option(Text.assemble((m.name, "bold"), f"  {m.title}"), id=m.name))
        table = self.query_one("#runs-table", DataTable)
        for key, label in (("id", "run"), ("lab", "lab"), ("status", "status"), ("started", "started"),
                           ("duration", "duration"), ("figure", "key figure")):
            table.add_column(label, key=key)
        if self.manifests:
            labs.highlighted = 0
        else:
            self.query_one("#lab-summary", Static).update("No labs found (see `studytui lab list`).")
        self.refresh_runs_table()
        self.set_interval(RUNS_REFRESH_S, self.refresh_runs_table)

    # -- the form --------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#lab-list")
    async def _lab_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        manifest = self.manifests.get(event.option.id or "")
        if manifest is None or manifest is self.lab:
            return
        self.lab = manifest
        self.query_one("#lab-summary", Static).update(manifest.summary)
        self.query_one("#form-error", Static).update("")
        form = self.query_one("#settings-form", VerticalScroll)
        await form.remove_children()
        await form.mount_all([w for spec in manifest.settings for w in self._setting_widgets(spec)])

    def _setting_widgets(self, spec: dict[str, Any]) -> list:
        name, kind, default = spec["name"], spec["type"], spec.get("default")
        wid = f"set-{name}"
        label = Label(Text.assemble((name, "bold cyan"), f"  {kind}"), classes="setting-name")
        if kind == "choice":
            field: Any = Select([(str(c), c) for c in spec["choices"]], value=default,
                                allow_blank=default is None, id=wid)
        elif kind == "bool":
            field = Switch(value=bool(default), id=wid)
        else:
            placeholder = "unset" if default is None else str(default)
            if kind in ("int", "float") and ("min" in spec or "max" in spec):
                placeholder += f"   ({spec.get('min', '')}..{spec.get('max', '')})"
            field = Input(placeholder=placeholder, id=wid)
        return [label, field, Static(spec.get("help", ""), classes="setting-help")]

    def form_pairs(self) -> list[str]:
        """The form as `--set` pairs: only what differs from the manifest's defaults."""
        assert self.lab is not None
        pairs = []
        for spec in self.lab.settings:
            widget = self.query_one(f"#set-{spec['name']}")
            default = spec.get("default")
            if isinstance(widget, Input):
                if widget.value.strip():
                    pairs.append(f"{spec['name']}={widget.value.strip()}")
            elif isinstance(widget, Switch):
                if widget.value != bool(default):
                    pairs.append(f"{spec['name']}={str(widget.value).lower()}")
            elif isinstance(widget, Select):
                value = widget.value
                if value is not Select.BLANK and value != default:
                    pairs.append(f"{spec['name']}={value}")
        return pairs

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start_run()

    def action_start_run(self) -> None:
        if self.lab is None:
            return
        error = self.query_one("#form-error", Static)
        try:
            settings = parse_settings(self.lab, self.form_pairs(), runs_dir=self.session.runs_dir)
            run_id = start_run(self.session, self.lab, settings)
        except (SettingError, RunError, OSError) as e:
            error.update(Text(str(e), style="bold red"))
            return
        error.update("")
        self.notify(f"started {run_id}")
        self.refresh_runs_table()
        self.app.push_screen(RunScreen(self.session, run_id))

    # -- the runs table ------------------------------------------------------------------------
    def refresh_runs_table(self) -> None:
        if not self._refreshing:
            self._refreshing = True
            self._refresh_worker()

    @work(thread=True, exit_on_error=False, group="runs")
    def _refresh_worker(self) -> None:
        try:
            rows = refresh_runs(self._bg.get())
        finally:
            self._refreshing = False
        try:
            self.app.call_from_thread(self._show_runs, rows)
        except RuntimeError:
            pass   # the app is shutting down

    def _show_runs(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one("#runs-table", DataTable)
        cells = []
        for r in rows:
            m = self.manifests.get(r["lab"])
            key = m.key_metric if m else None
            value = key_figure(r, key)
            cells.append((r["id"], (r["id"], r["lab"], Text(r["status"], style=STATUS_STYLE.get(r["status"], "")),
                                    fmt_started(r["created_at"]), fmt_duration(duration_s(r)),
                                    f"{key} {fmt_value(value)}" if value is not None else "–")))
        if [c[0] for c in cells] == [c[0] for c in self._rows]:
            # Same runs in the same order: update changed cells, keep cursor and scroll.
            for (run_id, new), (_, old) in zip(cells, self._rows):
                for col, a, b in zip(("id", "lab", "status", "started", "duration", "figure"), new, old):
                    if str(a) != str(b):
                        table.update_cell(run_id, col, a)
        else:
            cursor_key = None
            if table.row_count and 0 <= table.cursor_row < table.row_count:
                cursor_key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            table.clear()
            for run_id, row in cells:
                table.add_row(*row, key=run_id)
            if cursor_key is not None and cursor_key in {c[0] for c in cells}:
                table.move_cursor(row=table.get_row_index(cursor_key))
        self._rows = cells

    @on(DataTable.RowSelected, "#runs-table")
    def _open_run(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(RunScreen(self.session, str(event.row_key.value)))

    def action_focus_runs(self) -> None:
        self.query_one("#runs-table", DataTable).focus()

    def action_focus_labs(self) -> None:
        self.query_one("#lab-list", OptionList).focus()

    def action_token_viewer(self) -> None:
        self.app.push_screen(TokenViewerScreen(self.session))

    def action_back(self) -> None:
        _back(self)


# -- one run -----------------------------------------------------------------------------------

class RunScreen(Screen):
    """One run, live: the panels follow its metrics.jsonl whether it runs, ended or died."""

    CSS_PATH = CSS_FILE
    BINDINGS = [
        Binding("s", "stop", "Stop run"),
        Binding("l", "toggle_log", "Log scale"),
        Binding("m", "toggle_smooth", "Smoothing"),
        Binding("t", "token_viewer", "Token viewer", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session, run_id: str, *, stop_grace: float = 30.0, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.run_id = run_id
        self.stop_grace = stop_grace
        self._bg = _BackgroundSession(session)
        self.watch = RunWatch(session.runs_dir / run_id, chunk_bytes=1 << 20)
        self._stopping = False

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        with Horizontal(id="run-body"):
            with Vertical(id="run-left"):
                yield LossChart(id="loss-chart")
                yield MergesPanel(id="merges")
                yield ResultTables(id="results")
                yield LadderComparison(self._ladder_reference(), id="ladder-ref")
            with VerticalScroll(id="run-right"):
                yield MetricsPanel(id="metrics")
                yield ThroughputPanel(id="throughput")
                yield GpuPanel(id="gpu")
                yield SamplesPanel(id="samples")
        with Horizontal(id="run-bottom"):
            with VerticalScroll(id="events-box"):
                yield EventLog(id="events")
            yield ConfigPanel(id="config")
        yield Footer()

    def on_mount(self) -> None:
        for wid, title in (("#loss-chart", "loss"), ("#merges", "merges"), ("#results", "results"),
                           ("#ladder-ref", "seed notes"),
                           ("#metrics", "metrics"), ("#throughput", "throughput"), ("#gpu", "GPU"),
                           ("#samples", "samples"), ("#events-box", "events"), ("#config", "config")):
            self.query_one(wid).border_title = title
        if not self.watch.run_dir.is_dir():
            self.notify(f"no run folder for {self.run_id}", severity="error")
        self.poll_run(force=True)
        self.set_interval(RUN_REFRESH_S, self.poll_run)

    def _ladder_reference(self) -> LadderReference | None:
        """The curriculum's ladder figures, for a gpt-ladder run only (no YAML otherwise)."""
        if self.watch.lab != "gpt-ladder":
            return None
        try:
            return ladder_reference(self.session.curriculum)
        except Exception:   # a broken curriculum must not keep the run view from opening
            return None

    def poll_run(self, force: bool = False) -> None:
        """Read what's new and redraw (the clock and ETA move even without news)."""
        changed = self.watch.update()
        now = time.time()
        for panel in (RunHeader, LossChart, MergesPanel, ResultTables, LadderComparison, MetricsPanel,
                      ThroughputPanel, GpuPanel, SamplesPanel, EventLog, ConfigPanel):
            for widget in self.query(panel):
                widget.show_state(self.watch, now)
        right = self.query_one("#run-right")
        right.display = any(not w.has_class("-empty") for w in right.children)
        if changed:
            self.query_one("#events-box", VerticalScroll).scroll_end(animate=False)

    def action_toggle_log(self) -> None:
        self.query_one(LossChart).toggle_log_scale()

    def action_toggle_smooth(self) -> None:
        self.query_one(LossChart).toggle_smooth()

    def action_stop(self) -> None:
        if self.watch.status != "running":
            self.notify(f"{self.run_id} is not running (it is {self.watch.status})", severity="warning")
            return
        if self._stopping:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._stopping = True
                self.notify(f"stopping {self.run_id} ...")
                self._stop_worker()

        self.app.push_screen(ConfirmScreen(f"Stop {self.run_id}? It saves a checkpoint first."), answered)

    @work(thread=True, exit_on_error=False, group="stop")
    def _stop_worker(self) -> None:
        try:
            row = stop_run(self._bg.get(), self.run_id, grace=self.stop_grace)
            message, severity = f"{self.run_id}: {row['status']}", "information"
        except RunError as e:
            message, severity = str(e), "error"
        finally:
            self._stopping = False
        try:
            self.app.call_from_thread(self.notify, message, severity=severity)
        except RuntimeError:
            pass

    def action_token_viewer(self) -> None:
        model = self.watch.run_dir / TRAINED_MODEL
        self.app.push_screen(TokenViewerScreen(self.session, model if model.is_file() else None))

    def action_back(self) -> None:
        _back(self)


# -- the token viewer -----------------------------------------------------------------------------

TOKEN_COLOURS = ("#3b4252", "#4c566a", "#5e4b8b", "#2e6f57", "#8a5a00", "#7a2f4f", "#1f5f8b")
BUILTIN_ENCODINGS = ("gpt2", "cl100k_base")


def trained_tokenizers(runs_dir: Path) -> list[tuple[str, Path]]:
    """(run id, model file) for every tokenizer run that saved a model, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [(d.name, d / TRAINED_MODEL) for d in runs_dir.iterdir() if (d / TRAINED_MODEL).is_file()]
    return sorted(found, key=lambda x: x[1].stat().st_mtime, reverse=True)


def token_text(piece: bytes) -> str:
    """A token's bytes as visible text: control characters shown, split UTF-8 as \\xNN."""
    text = piece.decode("utf-8", errors="backslashreplace")
    return text.replace("\n", "↵").replace("\t", "→").replace("\r", "␍")


def coloured_tokens(pieces: list[bytes]) -> Text:
    out = Text()
    for i, piece in enumerate(pieces):
        out.append(token_text(piece), style=f"on {TOKEN_COLOURS[i % len(TOKEN_COLOURS)]}")
    return out


class TokenViewerScreen(Screen):
    """Type text; see it cut into tokens (with ids) by GPT-2, GPT-4 and your own tokenizer."""

    CSS_PATH = CSS_FILE
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, session: Session, model: Path | None = None, *,
                 client: TokenizerClient | None = None, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.model = model
        self.client = client or TokenizerClient()

    def compose(self) -> ComposeResult:
        yield Static("Token viewer: type, and see how each tokenizer cuts the text.", classes="section-title")
        yield Input(placeholder="type some text …", id="tv-input")
        yield Select([], prompt="trained tokenizer (a tokenizer run)", id="tv-model")
        yield VerticalScroll(id="tv-results")
        yield Footer()

    def on_mount(self) -> None:
        models = trained_tokenizers(self.session.runs_dir)
        select = self.query_one("#tv-model", Select)
        select.set_options([(run_id, str(path)) for run_id, path in models])
        chosen = self.model or (models[0][1] if models else None)
        if chosen is not None and any(str(p) == str(chosen) for _, p in models):
            select.value = str(chosen)
        self.query_one("#tv-input", Input).focus()

    def tokenizer_names(self) -> list[str]:
        value = self.query_one("#tv-model", Select).value
        extra = [str(value)] if isinstance(value, str) else []
        return list(BUILTIN_ENCODINGS) + extra

    @on(Input.Changed, "#tv-input")
    @on(Select.Changed, "#tv-model")
    def _text_changed(self) -> None:
        text = self.query_one("#tv-input", Input).value
        self._encode(text, self.tokenizer_names())

    @work(thread=True, exit_on_error=False, group="encode")
    def _encode(self, text: str, names: list[str]) -> None:
        try:
            results: Any = self.client.encode(text, names)
        except TokenizerServerError as e:
            results = str(e)
        try:
            self.app.call_from_thread(self._show, text, results)
        except RuntimeError:
            pass

    async def _show(self, text: str, results: Any) -> None:
        if text != self.query_one("#tv-input", Input).value:
            return   # an answer for text the user has since changed
        box = self.query_one("#tv-results", VerticalScroll)
        await box.remove_children()
        if isinstance(results, str):
            await box.mount(Static(Text(results, style="bold red")))
            return
        widgets = []
        for r in results:
            title = r.name if r.name in BUILTIN_ENCODINGS else f"trained: {Path(r.name).parent.name}"
            if r.error:
                widgets.append(Static(Text.assemble((title, "bold"), "  ", (r.error, "red")),
                                      classes="tv-result"))
                continue
            ratio = f"  ·  {len(text.encode()) / len(r.ids):.2f} bytes/token" if r.ids else ""
            body = Text.assemble((title, "bold"), f"  {len(r.ids)} tokens{ratio}\n")
            body.append_text(coloured_tokens(r.tokens))
            body.append("\n" + " ".join(map(str, r.ids)), style="dim")
            widgets.append(Static(body, classes="tv-result"))
        await box.mount_all(widgets)

    def on_unmount(self) -> None:
        self.client.close()

    def action_back(self) -> None:
        _back(self)
