"""The top line of every screen: where you are, and the study timer while it runs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from studytui.safetext import clean
from studytui.tui.format import fmt_clock, shorten

PLACES = (
    ("desk", "d", "Desk"),
    ("curriculum", "c", "Curriculum"),
    ("glossary", "g", "Glossary"),
    ("reading", "r", "Reading"),
    ("labs", "l", "Labs"),
)


class StatusBar(Horizontal):
    def __init__(self, here: str, **kwargs):
        super().__init__(**kwargs)
        self.here = here

    def compose(self) -> ComposeResult:
        yield Static(self._places(), id="status-places")
        yield Static("", id="status-timer")

    def _places(self) -> Text:
        text = Text(" studytui ", style="bold")
        for mode, _key, label in PLACES:
            style = "reverse bold" if mode == self.here else ""
            text.append(" ")
            text.append(label[0], style="underline " + style)
            text.append(label[1:], style=style)
        return text

    def on_mount(self) -> None:
        self.refresh_text()

    def refresh_text(self) -> None:
        app = self.app
        timer = getattr(app, "timer", None)
        label = self.query_one("#status-timer", Static)
        if timer is None or not timer.running:
            label.update("")
            return
        g = app.glyphs
        label.update(
            Text(
                f"{g.timer} {fmt_clock(timer.elapsed())} {shorten(clean(timer.key or ''), 24, g.ellipsis)} ",
                style="bold",
            )
        )
