"""The base of every study screen: drawn from the app's shared StudyState, redrawn when it
moves on (a mark, an undo, a CLI change picked up by the poll), and not before.

The app bumps `state_version` on every change and calls `sync_state()` on the screen on
top; screens underneath catch up when they are shown again (`on_screen_resume`).
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen

from studytui.tui.state import StudyState


class SyncedScreen(Screen):
    _seen_version = -1

    def on_screen_resume(self) -> None:
        self.sync_state()

    def sync_state(self, force: bool = False) -> None:
        app = self.app
        if not force and self._seen_version == app.state_version:
            return
        self._seen_version = app.state_version
        if app.state is None:
            self.show_waiting(waiting_text(app.load_error))
            return
        self.redraw(app.state)

    def show_waiting(self, message: Text) -> None:
        """Where the screen says it is still loading, or why loading failed."""

    def redraw(self, state: StudyState) -> None:
        raise NotImplementedError


def waiting_text(load_error: str | None) -> Text:
    if load_error:
        return Text(f"Could not load: {load_error}", style="bold red")
    return Text("Loading the curriculum...", style="dim")
