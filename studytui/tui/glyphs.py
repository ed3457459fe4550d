"""Every symbol the desk draws, in one place, with a plain-ASCII twin.

Over a bare SSH session (a Linux console, an old PuTTY, a font without box drawing) some
Unicode symbols turn into empty boxes. `STUDYTUI_ASCII=1` (or the palette's "Toggle ASCII
glyphs") switches to characters every terminal has.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ASCII_ENV = "STUDYTUI_ASCII"


@dataclass(frozen=True)
class Glyphs:
    status: dict[str, str]  # todo / doing / done / skipped marks, all one cell wide
    bar_full: str
    bar_empty: str
    heat: tuple[str, ...]  # heatmap cells, quiet day first
    node_closed: str  # tree branch toggles (two cells, like Textual's own)
    node_open: str
    timer: str
    streak: str
    bullet: str
    link: str
    sep: str
    ellipsis: str
    dash: str  # a missing value in a table
    times: str  # "2.5x faster"
    newline: str  # a token's invisible characters, shown
    tab: str
    carriage_return: str
    token_sep: str  # between tokens, where colours alone cannot show the cut


UNICODE = Glyphs(
    status={"todo": "·", "doing": "▶", "done": "✔", "skipped": "–"},
    bar_full="█",
    bar_empty="░",
    heat=("·", "░", "▒", "▓", "█"),
    node_closed="▶ ",
    node_open="▼ ",
    timer="◷",
    streak="★",  # no emoji: they are two cells wide and often missing
    bullet="•",
    link="↗",
    sep="·",
    ellipsis="…",
    dash="–",
    times="×",
    newline="↵",
    tab="→",
    carriage_return="␍",
    token_sep="",
)

ASCII = Glyphs(
    status={"todo": " ", "doing": ">", "done": "x", "skipped": "-"},
    bar_full="#",
    bar_empty="-",
    heat=(".", ":", "+", "*", "#"),
    node_closed="+ ",
    node_open="- ",
    timer="T",
    streak="*",
    bullet="*",
    link="->",
    sep="|",
    ellipsis="...",
    dash="-",
    times="x",
    newline="\\n",
    tab="\\t",
    carriage_return="\\r",
    token_sep="|",
)


def ascii_from_env(environ=os.environ) -> bool:
    return environ.get(ASCII_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def glyphs_for(ascii_only: bool) -> Glyphs:
    return ASCII if ascii_only else UNICODE


def is_ascii(g: Glyphs) -> bool:
    return g is ASCII


def table_box(g: Glyphs):
    """The Rich box for tables the desk draws: box-drawing lines, or ASCII ones."""
    from rich import box

    return box.ASCII if is_ascii(g) else box.HEAVY_HEAD


def status_mark(g: Glyphs, status: str) -> str:
    """A status as a bracketed cell: `[✔]`, `[ ]`, `[>]` (three cells in both sets)."""
    return f"[{g.status.get(status, '?')}]"
