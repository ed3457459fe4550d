"""Lab processes this process started and has not reaped yet.

Keeping the Popen objects lets a long-lived process (the TUI) collect their exit statuses
instead of leaving zombies behind. Its own module so that the launcher (which adds
children) and the runs index (which reaps them on every refresh) both depend on it and
not on each other.
"""

from __future__ import annotations

import subprocess
import threading

_children: list[subprocess.Popen] = []
_lock = threading.Lock()


def track_child(proc: subprocess.Popen) -> None:
    with _lock:
        _children.append(proc)


def reap_children() -> None:
    with _lock:
        _children[:] = [p for p in _children if p.poll() is None]
