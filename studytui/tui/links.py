"""Opening a link where the learner is: a local browser, or the terminal over SSH.

On a laptop `webbrowser` opens a tab. Over SSH that would start a browser on the remote
box (or a text browser inside our terminal), so there the desk shows the URL as a terminal
hyperlink (OSC 8) and copies it to the local clipboard through the terminal (OSC 52).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def over_ssh(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY") or environ.get("SSH_CLIENT"))


def can_open_browser(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """True where `webbrowser` would open a window the learner can see."""
    if over_ssh(environ):
        return False
    if platform.startswith("linux") or "bsd" in platform:
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True  # macOS, Windows: a desktop is there


def open_in_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except Exception:  # a broken BROWSER setting must not take the desk down  # noqa: BLE001
        return False
