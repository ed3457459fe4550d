"""The labs screen: pick a lab, fill its settings and start a run; the runs table beside it.

The base of the app's "labs" mode: the run view and the token viewer are pushed on top of
it, and `d c g r` leave all three (`l` comes back to where you were). The runs table is fed
by the app's run monitor (`RunsChanged`), never by a poll of its own.

The app never imports a lab: runs are processes (studytui.runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, OptionList, Select, Static, Switch
from textual.widgets.option_list import Option

from studytui.runs import (
    LabManifest,
    RunError,
    SettingError,
    duration_s,
    load_manifests,
    parse_settings,
    start_run,
)
from studytui.runs.format import STATUS_STYLE, fmt_duration, fmt_started, fmt_value, key_figure
from studytui.safetext import clean, plain
from studytui.session import Session
from studytui.tui.glyphs import UNICODE, Glyphs
from studytui.tui.messages import PickLab, RunsChanged
from studytui.tui.widgets.settings_form import SettingsForm
from studytui.tui.widgets.status_bar import StatusBar
from studytui.tui.workers import ReportsWorkerFailures

CSS_FILE = str(Path(__file__).with_name("labs.tcss"))
# Status first: at 80 columns the table is about 45 wide, and status is what you look for.
RUN_COLUMNS = (
    ("status", "status"),
    ("id", "run"),
    ("figure", "key figure"),
    ("started", "started"),
    ("duration", "duration"),
    ("lab", "lab"),
)


class LabsScreen(ReportsWorkerFailures, Screen):
    """Labs on the left (pick one, fill its settings, start), runs on the right."""

    CSS_PATH = CSS_FILE
    HELP_SECTION = "Labs"
    BINDINGS = [
        Binding("ctrl+r", "start_run", "Start run"),
        # ctrl+ keys, not letters: a focused settings input would swallow a letter.
        Binding("ctrl+o", "focus_runs", "Runs"),
        Binding("ctrl+l", "focus_labs", "Labs list"),
        Binding("t", "token_viewer", "Token viewer"),
        Binding("escape", "app.switch_mode('desk')", "Desk"),
    ]

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.manifests: dict[str, LabManifest] = {}
        self.lab: LabManifest | None = None
        self._rows: list[tuple] = []

    def compose(self) -> ComposeResult:
        yield StatusBar("labs")
        with Horizontal(id="labs-body"):
            with Vertical(id="labs-left"):
                yield Static("Labs", classes="section-title")
                yield OptionList(id="lab-list")
                yield Static(id="lab-summary")
                yield SettingsForm(id="settings-form")
                yield Static(id="form-error")
                yield Button("Start run (ctrl+r)", id="start", variant="primary", compact=True)
            with Vertical(id="labs-right"):
                yield Static("Runs  (ctrl+o here, enter opens one)", classes="section-title")
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def glyphs(self) -> Glyphs:
        return getattr(self.app, "glyphs", UNICODE)

    def on_mount(self) -> None:
        self.manifests = load_manifests()
        labs = self.query_one("#lab-list", OptionList)
        for m in self.manifests.values():
            labs.add_option(Option(Text.assemble((clean(m.name), "bold"), f"  {clean(m.title)}"), id=m.name))
        table = self.query_one("#runs-table", DataTable)
        for key, label in RUN_COLUMNS:
            table.add_column(label, key=key)
        if self.manifests:
            labs.highlighted = 0
        else:
            self.query_one("#lab-summary", Static).update("No labs found (see `studytui lab list`).")
        self.app.run_monitor.watch_index(self)

    def on_unmount(self) -> None:
        self.app.run_monitor.unwatch(self)

    @on(PickLab)
    def _pick_lab(self, message: PickLab) -> None:
        options = self.query_one("#lab-list", OptionList)
        if message.lab not in self.manifests:
            self.notify(clean(f"No lab named {message.lab!r} here."), severity="warning", markup=False)
            return
        options.highlighted = options.get_option_index(message.lab)
        options.focus()

    # -- the form --------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#lab-list")
    async def _lab_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        manifest = self.manifests.get(event.option.id or "")
        if manifest is None or manifest is self.lab:
            return
        self.lab = manifest
        self.query_one("#lab-summary", Static).update(plain(manifest.summary))
        self.query_one("#form-error", Static).update("")
        await self.query_one(SettingsForm).show_lab(manifest)

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
            error.update(plain(str(e), style="bold red"))
            return
        error.update("")
        self.notify(clean(f"started {run_id}"), markup=False)
        self.app.run_monitor.refresh_index()
        self.open_run(run_id)

    def open_run(self, run_id: str) -> None:
        from studytui.tui.screens.run_view import RunScreen

        self.app.push_screen(RunScreen(self.session, run_id))

    # -- the runs table ------------------------------------------------------------------------
    @on(RunsChanged)
    def _runs_changed(self, message: RunsChanged) -> None:
        self.show_runs(message.rows)

    def show_runs(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one("#runs-table", DataTable)
        cells = [(r["id"], self._row_cells(r)) for r in rows]
        if [c[0] for c in cells] == [c[0] for c in self._rows]:
            # Same runs in the same order: update changed cells, keep cursor and scroll.
            for (run_id, new), (_, old) in zip(cells, self._rows):
                for (col, _), a, b in zip(RUN_COLUMNS, new, old):
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

    def _row_cells(self, r: dict[str, Any]) -> tuple:
        m = self.manifests.get(r["lab"])
        key = m.key_metric if m else None
        value = key_figure(r, key)
        status = "stalled?" if r.get("stalled") else str(r["status"])
        return (
            Text(status, style=STATUS_STYLE.get(status, "")),
            plain(r["id"]),
            plain(f"{key} {fmt_value(value)}" if value is not None else self.glyphs.dash),
            plain(fmt_started(r["created_at"])),
            plain(fmt_duration(duration_s(r))),
            plain(r["lab"]),
        )

    @on(DataTable.RowSelected, "#runs-table")
    def _open_selected(self, event: DataTable.RowSelected) -> None:
        self.open_run(str(event.row_key.value))

    def action_focus_runs(self) -> None:
        self.query_one("#runs-table", DataTable).focus()

    def action_focus_labs(self) -> None:
        self.query_one("#lab-list", OptionList).focus()

    def action_token_viewer(self) -> None:
        from studytui.tui.screens.token_viewer import TokenViewerScreen

        self.app.push_screen(TokenViewerScreen(self.session))
