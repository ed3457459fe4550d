"""Shown instead of everything when the database cannot be read: what is wrong, what to do."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from studytui.safetext import clean


class DamagedDatabaseScreen(Screen):
    DEFAULT_CSS = """
    DamagedDatabaseScreen { align: center middle; }
    #damaged-box { width: 90%; max-width: 100; height: auto; border: thick $error; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="damaged-box"):
            yield Static(id="damaged-text")

    def on_mount(self) -> None:
        from studytui.tui.crash import what_to_do

        problem = self.app.database_problem or "unknown problem"
        text = Text("The study database cannot be used\n\n", style="bold red")
        text.append(clean(problem))
        text.append("\n\n" + what_to_do(problem))
        text.append("\n\nq: quit", style="dim")
        self.query_one("#damaged-text", Static).update(text)
