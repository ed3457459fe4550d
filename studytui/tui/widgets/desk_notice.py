"""A few lines at the top of the desk, only when there is something to say: a welcome until
the first item is marked, and the runs that ended while the app was closed.

The endings come from the app's run monitor (`RunsEnded`, and `unseen_endings` for a desk
mounted after the first read): this widget never reads runs itself. Ending lines hold
run-folder text and were cleaned by the monitor; they are shown as plain text.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.widgets import Static

from studytui.tui.messages import RunsEnded
from studytui.tui.run_endings import Ending

WELCOME = (
    "Welcome! c: the curriculum (x: mark done)  l: labs (train a tokenizer, a GPT)  "
    "g: glossary  r: reading  ?: all keys. Shown until you mark an item."
)


class DeskNotice(Static):
    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.welcome = False
        self.unseen: list[Ending] = []

    def on_mount(self) -> None:
        self.unseen = list(self.app.run_monitor.unseen_endings)
        if self.app.watch_runs and self.app.labs_available():
            self.app.run_monitor.watch_index(self)
        self._draw()

    def on_unmount(self) -> None:
        self.app.run_monitor.unwatch(self)

    @on(RunsEnded)
    def _runs_ended(self, message: RunsEnded) -> None:
        message.stop()
        self.unseen = list(message.unseen)
        self._draw()

    def show_welcome(self, welcome: bool) -> None:
        """The desk calls this on each redraw: welcome while nothing has been marked."""
        if welcome != self.welcome:
            self.welcome = welcome
            self._draw()

    def _draw(self) -> None:
        parts: list[Text] = []
        if self.welcome:
            parts.append(Text(WELCOME, style="bold"))
        if self.unseen:
            parts.append(Text("Ended while you were away (l: the labs):", style="bold"))
            for ending in self.unseen:
                # One line each, cut at the edge: the full line is in the run's view.
                parts.append(
                    Text(
                        "  " + (ending.line or f"{ending.run_id}: {ending.status}"),
                        style="red" if ending.bad else "",
                        no_wrap=True,
                        overflow="ellipsis",
                    )
                )
            more = self.app.run_monitor.unseen_more
            if more:
                parts.append(Text(f"  (+{more} more: see the runs table, l)", style="dim"))
        self.display = bool(parts)
        self.update(Group(*parts))
