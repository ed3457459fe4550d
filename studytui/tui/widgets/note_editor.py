"""The note editor: a TextArea that hands every change to the app's NoteSaver.

Loading a note (switching items, an undo, a CLI edit) must not count as typing: the
Changed event a load causes arrives later, so it is recognised by the text being the one
just loaded while nothing was typed since.
"""

from __future__ import annotations

from textual.widgets import TextArea

from studytui.safetext import clean


class NoteEditor(TextArea):
    def __init__(self, **kwargs):
        super().__init__("", soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self.key: str | None = None
        self._baseline = ""
        self._typed = False

    def load_note(self, key: str | None, body: str) -> None:
        # A stored note with control characters (written before they were refused) shows
        # them as visible pictures; saving it (only once typed in) keeps them visible.
        body = clean(body, multiline=True)
        self.key, self._baseline, self._typed = key, body, False
        self.load_text(body)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        notes = getattr(self.app, "notes", None)
        if self.key is None or notes is None:
            return
        if not self._typed and self.text == self._baseline:
            return
        self._typed = True
        notes.changed(self.key, self.text)

    def capture(self) -> None:
        """Hand the text on screen to the saver now (a queued Changed may not have run yet)."""
        notes = getattr(self.app, "notes", None)
        if notes is not None and self.key is not None and (self._typed or self.text != self._baseline):
            self._typed = True
            notes.changed(self.key, self.text)

    def on_blur(self) -> None:
        self._flush()

    def on_unmount(self) -> None:
        self._flush()

    def _flush(self) -> None:
        self.capture()
        notes = getattr(self.app, "notes", None)
        if notes is not None:
            notes.flush()
