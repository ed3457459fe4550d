"""The end of a run's stderr.log, shown once the run failed or was interrupted: the lab's
own last words (often a Python traceback) are where the reason is.

The file comes from the run folder, so it is untrusted: shown cleaned, as plain text.
"""

from __future__ import annotations

import os
from typing import Any

from textual.widgets import Static

from studytui.protocol import STDERR_FILE
from studytui.safetext import plain
from studytui.tui.widgets.run_panel_base import RunPanel, show_text

SHOWN_LINES = 12
READ_BYTES = 16 * 1024  # the tail is enough; a runaway log must not stall a frame
ENDED_BADLY = ("failed", "interrupted", "diverged")


def stderr_tail(path: os.PathLike, lines: int = SHOWN_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - READ_BYTES))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class StderrPanel(RunPanel, Static):
    slot, order, title, panel_id = "main", 35, "stderr.log (the end)", "stderr"

    def show_state(self, watch: Any, now: float) -> None:
        if watch.status not in ENDED_BADLY:
            self.set_empty(True)
            return
        path = watch.run_dir / STDERR_FILE
        try:
            stamp = (path.stat().st_size, path.stat().st_mtime_ns)
        except OSError:
            stamp = None
        if stamp != getattr(self, "_stamp", ()):
            self._stamp = stamp
            self._tail = stderr_tail(path) if stamp else ""
        self.set_empty(not self._tail)
        show_text(self, plain(self._tail, multiline=True))
