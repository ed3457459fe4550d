"""The base of every study screen: drawn from the app's shared StudyState, redrawn when it
moves on (a mark, an undo, a CLI change picked up by the poll), and not before.

The app bumps `state_version` on every change and posts `StateChanged` to the screen on
top; screens underneath catch up when they are shown again (`on_screen_resume`). A screen
draws nothing until its own `on_mount` has set up its widgets and called `ready()`: a
mode switch creates the screen at once, but composes it later.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.screen import Screen

from studytui.tui.crash import DATABASE_ERRORS
from studytui.tui.messages import StateChanged
from studytui.tui.state import StudyState


class SyncedScreen(Screen):
    _seen_version = -1
    _ready = False

    def ready(self) -> None:
        """Called at the end of the subclass's on_mount: its widgets exist, draw now."""
        self._ready = True
        self.sync_state(force=True)

    def on_screen_resume(self) -> None:
        self.sync_state()

    @on(StateChanged)
    def _state_changed(self) -> None:
        self.sync_state()

    def sync_state(self, force: bool = False) -> None:
        app = self.app
        if not self._ready or (not force and self._seen_version == app.state_version):
            return
        self._seen_version = app.state_version
        if app.state is None:
            self.show_waiting(waiting_text(app.load_error))
            return
        try:
            self.redraw(app.state)
        except DATABASE_ERRORS as e:  # screens read the store too (streak, reading list)
            app.show_damaged_database(e)

    def show_waiting(self, message: Text) -> None:
        """Where the screen says it is still loading, or why loading failed."""

    def redraw(self, state: StudyState) -> None:
        raise NotImplementedError


def waiting_text(load_error: str | None) -> Text:
    from studytui.safetext import plain

    if load_error:
        return plain(f"Could not load: {load_error}", style="bold red")
    return Text("Loading the curriculum...", style="dim")
