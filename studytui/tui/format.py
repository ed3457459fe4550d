"""Small text helpers the screens share: the timer clock, bars, shortening."""

from __future__ import annotations

from studytui.tui.glyphs import Glyphs


def fmt_clock(seconds: float) -> str:
    """A running timer: `04:07`, `1:02:03`."""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def bar(g: Glyphs, done: int, total: int, width: int) -> str:
    filled = round(width * done / total) if total else 0
    if done and not filled:
        filled = 1          # any progress shows
    if done < total and filled == width:
        filled = width - 1  # ...and so does any left
    return g.bar_full * filled + g.bar_empty * (width - filled)


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ellipsis))] + ellipsis
