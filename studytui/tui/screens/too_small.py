"""Shown instead of everything while the terminal is too small to draw the desk."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class TooSmallScreen(Screen):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    #too-small { width: 100%; height: auto; text-align: center; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _show(self) -> None:
        from studytui.tui.app import MIN_SIZE

        width, height = self.app.size
        self.query_one("#too-small", Static).update(
            Text(
                f"Make the window larger: studytui needs {MIN_SIZE[0]}x{MIN_SIZE[1]}, "
                f"this one is {width}x{height}. (q quits)",
                style="bold",
            )
        )
