"""The desk's strip of running labs: live while runs go, one quiet line when none do.

Fed by the app's run monitor (`RunsChanged`): the strip never reads runs itself.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.widgets import Static

from studytui.safetext import clean
from studytui.tui.messages import RunsChanged

IDLE = "Labs: none running  (l: open the labs)"


class LabsStrip(Static):
    def __init__(self, **kwargs):
        super().__init__("", **kwargs)

    def on_mount(self) -> None:
        app = self.app
        if not app.labs_available():
            self.update(Text("Labs: none yet", style="dim"))
            return
        self.update(Text(IDLE, style="dim"))
        if app.watch_runs:
            app.run_monitor.watch_index(self)

    def on_unmount(self) -> None:
        self.app.run_monitor.unwatch(self)

    @on(RunsChanged)
    def _runs_changed(self, message: RunsChanged) -> None:
        self.show_rows([r for r in message.rows if r.get("status") == "running"])

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            self.update(Text(IDLE, style="dim"))
            return
        from studytui.runs.format import fmt_value

        g = self.app.glyphs
        text = Text("Labs: ", style="bold")
        for i, row in enumerate(rows[:3]):
            if i:
                text.append(f"  {g.sep}  ")
            last = row.get("last") or {}
            text.append(f"{clean(row.get('lab', '?'))} ", style="bold cyan")
            text.append(clean(row.get("id", "")), style="dim")
            for k in ("step", "loss", "tok_per_s"):
                if last.get(k) is not None:
                    text.append(f" {k} {clean(fmt_value(last[k]))}")
        if len(rows) > 3:
            text.append(f"  (+{len(rows) - 3} more)")
        self.update(text)
