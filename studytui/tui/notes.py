"""Notes are saved as you type: never lose text to a quit, Ctrl+C or a dropped SSH link.

The editor hands every change to the NoteSaver; it writes to the store after a short
pause in typing (debounce), and at once on `flush()`, which the app calls on blur, on
switching items, on quit, on unmount and on SIGHUP.
"""

from __future__ import annotations

from collections.abc import Callable

DEBOUNCE_S = 0.5


class NoteSaver:
    def __init__(
        self,
        store,
        schedule: Callable[[float, Callable[[], None]], object] | None = None,
        *,
        on_saved: Callable[[str], None] | None = None,
    ):
        self.store = store
        self._schedule = schedule  # (delay, callback) -> a handle with .stop()
        self._pending: dict[str, str] = {}
        self._handle = None
        self.on_saved = on_saved

    def changed(self, key: str, body: str) -> None:
        self._pending[key] = body
        if self._schedule is None:
            return
        if self._handle is not None:
            self._handle.stop()
        self._handle = self._schedule(DEBOUNCE_S, self.flush)

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.stop()
            self._handle = None
        while self._pending:
            key, body = self._pending.popitem()
            try:
                changed = self.store.set_note(key, body, source="tui")
            except Exception:
                self._pending.setdefault(key, body)  # keep it for the next try
                raise
            if changed and self.on_saved:
                self.on_saved(key)
