"""One run, live: the panels follow its metrics.jsonl whether it runs, ended or died.

The screen composes every registered run panel (studytui.tui.widgets.run_panel_base) into
its slot, hands its RunWatch to the app's run monitor, and redraws on each `RunEvents`
the monitor posts (once a second, so the clock and ETA move even without news).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from studytui.runs import RunWatch
from studytui.safetext import clean
from studytui.session import Session
from studytui.tui.messages import RunEvents
from studytui.tui.screens.confirm import ConfirmScreen
from studytui.tui.widgets.run_charts import LossChart
from studytui.tui.widgets.run_panel_base import RunPanel, panels_for
from studytui.tui.widgets.status_bar import StatusBar
from studytui.tui.workers import ReportsWorkerFailures

CSS_FILE = str(Path(__file__).with_name("labs.tcss"))
TRAINED_MODEL = "tokenizer.model"
# The run folder is read in capped chunks: a huge metrics file never stalls a frame.
CHUNK_BYTES = 1 << 20


def make_panel(panel_class: type[RunPanel]) -> RunPanel:
    panel = panel_class(id=panel_class.panel_id or None)
    if panel_class.title:
        panel.border_title = panel_class.title
    return panel


class RunScreen(ReportsWorkerFailures, Screen):
    """One run's panels: header, chart and tables on the left, figures on the right, events below."""

    CSS_PATH = CSS_FILE
    HELP_SECTION = "Run view"
    BINDINGS = [
        Binding("s", "stop", "Stop run"),
        Binding("l", "toggle_log", "Log scale"),
        Binding("m", "toggle_smooth", "Smoothing"),
        Binding("v", "toggle_results", "Results view"),
        Binding("t", "token_viewer", "Token viewer", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session, run_id: str, *, stop_grace: float = 30.0, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.run_id = run_id
        self.stop_grace = stop_grace
        self.watch = RunWatch(session.runs_dir / run_id, chunk_bytes=CHUNK_BYTES)
        self._stopping = False
        self._results_chosen = False  # the learner toggled the view: no automatic switch after
        self.panels: list[RunPanel] = []

    def _panel(self, panel_class: type[RunPanel]) -> RunPanel:
        panel = make_panel(panel_class)
        self.panels.append(panel)
        return panel

    def compose(self) -> ComposeResult:
        yield StatusBar("labs")
        for panel in panels_for("header"):
            yield self._panel(panel)
        with Horizontal(id="run-body"):
            with Vertical(id="run-left"):
                for panel in panels_for("main"):
                    yield self._panel(panel)
            with VerticalScroll(id="run-right"):
                for panel in panels_for("side"):
                    yield self._panel(panel)
        with Horizontal(id="run-bottom"):
            for panel in panels_for("bottom"):
                yield self._panel(panel)
        yield Footer()

    def on_mount(self) -> None:
        if not self.watch.run_dir.is_dir():
            self.notify(clean(f"no run folder for {self.run_id}"), severity="error", markup=False)
        self.app.run_monitor.watch_run(self, self.watch)

    def on_unmount(self) -> None:
        self.app.run_monitor.unwatch(self)

    @on(RunEvents)
    def _run_events(self, message: RunEvents) -> None:
        if message.watch is not self.watch:
            return
        now = time.time()
        for panel in self.panels:
            panel.show_state(self.watch, now)
        if (
            not self._results_chosen
            and self.watch.status != "running"
            and self.watch.state.tables
            and not self.has_class("-results")
        ):
            # A finished run with result tables: its tables are what the learner came for.
            self.add_class("-results")
        self._lay_out()

    def _lay_out(self) -> None:
        # The results view gives the tables the whole width and height: at 80x24 a
        # seven-row ladder fits only so.
        right = self.query_one("#run-right")
        right.display = not self.has_class("-results") and any(
            not w.has_class("-empty") for w in right.children
        )

    def action_toggle_log(self) -> None:
        self.query_one(LossChart).toggle_log_scale()

    def action_toggle_smooth(self) -> None:
        self.query_one(LossChart).toggle_smooth()

    def action_toggle_results(self) -> None:
        self._results_chosen = True
        self.toggle_class("-results")
        self._lay_out()
        if self.has_class("-results"):
            results = [p for p in self.panels if p.focusable_results and p.can_focus and p.display]
            if results:
                results[0].focus()

    def action_stop(self) -> None:
        if self.watch.status != "running":
            self.notify(
                clean(f"{self.run_id} is not running (it is {self.watch.status})"),
                severity="warning",
                markup=False,
            )
            return
        if self._stopping:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._stopping = True
                self.notify(clean(f"stopping {self.run_id} ..."), markup=False)
                self.app.run_monitor.stop(self.run_id, grace=self.stop_grace, done=self._stopped)

        self.app.push_screen(ConfirmScreen(f"Stop {self.run_id}? It saves a checkpoint first."), answered)

    def _stopped(self, message: str, severity: str) -> None:
        self._stopping = False
        self.notify(clean(message), severity=severity, markup=False)

    def action_token_viewer(self) -> None:
        from studytui.tui.screens.token_viewer import TokenViewerScreen

        model = self.watch.run_dir / TRAINED_MODEL
        self.app.push_screen(TokenViewerScreen(self.session, model if model.is_file() else None))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
