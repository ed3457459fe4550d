"""The messages the app sends its screens and widgets (never direct calls or `hasattr` checks).

A message is handled by its target's own message loop, after the target has been composed
and mounted: a screen that was just created by a mode switch cannot be asked to redraw
widgets it does not have yet.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StateChanged(Message):
    """The shared StudyState (or the glyph set) moved on: redraw from `app.state`."""


class ShowItem(Message):
    """Go to an item or a `course:ID`/`section:C/S` branch in the curriculum tree."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class ShowTerm(Message):
    """Show one glossary term."""

    def __init__(self, term_id: str) -> None:
        super().__init__()
        self.term_id = term_id


class PickLab(Message):
    """Highlight one lab in the labs screen's list."""

    def __init__(self, lab: str) -> None:
        super().__init__()
        self.lab = lab


class NoteChanged(Message):
    """The store's copy of the note changed under the editor (an undo): load it again."""


class RunsChanged(Message):
    """The runs index, newest first, as the app's run monitor last read it."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows


class RunEvents(Message):
    """One watched run was read again; `changed` when events or its status moved on.

    `watch` is the monitor's RunWatch for the run: it is only ever updated on the UI
    thread, so a handler may read it freely.
    """

    def __init__(self, run_id: str, watch: Any, changed: bool) -> None:
        super().__init__()
        self.run_id = run_id
        self.watch = watch
        self.changed = changed


class RunsEnded(Message):
    """Runs ended: `just` while the app was open (already notified), `unseen` before it
    opened (the desk lists those). Items are studytui.tui.run_endings.Ending."""

    def __init__(self, just: list[Any], unseen: list[Any]) -> None:
        super().__init__()
        self.just = just
        self.unseen = unseen
