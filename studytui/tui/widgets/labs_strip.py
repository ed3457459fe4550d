"""The desk's strip of running labs: live while runs go, one quiet line when none do.

Runs are read in a worker through a BackgroundSession (its own SQLite connection): the UI
thread's connection must never be used from two threads at once.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.widgets import Static

REFRESH_S = 2.0


class LabsStrip(Static):
    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self._bg = None   # a BackgroundSession, made on mount
        self._busy = False

    def on_mount(self) -> None:
        from studytui.tui.background import BackgroundSession

        app = self.app
        self._bg = BackgroundSession(app.session)
        if not getattr(app, "labs_available", lambda: False)():
            self.update(Text("Labs: none yet", style="dim"))
            return
        self.update(Text("Labs: none running  (l: open the labs)", style="dim"))
        if getattr(app, "watch_runs", True):
            self.set_interval(REFRESH_S, self.poll)
            self.poll()

    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            self._read_runs()

    @work(thread=True, exit_on_error=False, group="labs-strip")
    def _read_runs(self) -> None:
        try:
            session = self.app.session
            if not session.runs_dir.is_dir():
                rows = []
            else:
                from studytui.runs import refresh_runs

                rows = [r for r in refresh_runs(self._bg.get()) if r.get("status") == "running"]
        except Exception:
            rows = []
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict]) -> None:
        self._busy = False
        if not rows:
            self.update(Text("Labs: none running  (l: open the labs)", style="dim"))
            return
        from studytui.runs.format import fmt_value

        g = self.app.glyphs
        text = Text("Labs: ", style="bold")
        for i, row in enumerate(rows[:3]):
            if i:
                text.append(f"  {g.sep}  ")
            last = row.get("last") or {}
            text.append(f"{row.get('lab', '?')} ", style="bold cyan")
            text.append(str(row.get("id", "")), style="dim")
            for k in ("step", "loss", "tok_per_s"):
                if last.get(k) is not None:
                    text.append(f" {k} {fmt_value(last[k])}")
        if len(rows) > 3:
            text.append(f"  (+{len(rows) - 3} more)")
        self.update(text)
