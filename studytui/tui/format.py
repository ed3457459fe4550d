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
        filled = 1  # any progress shows
    if done < total and filled == width:
        filled = width - 1  # ...and so does any left
    return g.bar_full * filled + g.bar_empty * (width - filled)


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ellipsis))] + ellipsis


MIN_SHARED_CHARS = 10  # "Let's " is too short a prefix to hide; "Building makemore " is not


def distinct_titles(titles: list[str], ellipsis: str = "…") -> list[str]:
    """Sibling titles as a narrow tree shows them: the words a title shares with a sibling
    are folded into `ellipsis`, keeping the last shared word, so at 80 columns the part
    that tells them apart stays visible:

    >>> distinct_titles(["Building makemore Part 2: MLP", "Building makemore Part 3: BatchNorm", "Intro"])
    ['…Part 2: MLP', '…Part 3: BatchNorm', 'Intro']
    """
    words = [t.split(" ") for t in titles]
    out = []
    for i, mine in enumerate(words):
        shared = 0
        for j, other in enumerate(words):
            if j != i:
                n = 0
                while n < min(len(mine), len(other)) - 1 and mine[n] == other[n]:
                    n += 1
                shared = max(shared, n)
        hidden = " ".join(mine[: shared - 1]) if shared > 1 else ""
        if len(hidden) + 1 >= MIN_SHARED_CHARS and shared < len(mine):
            out.append(ellipsis + " ".join(mine[shared - 1 :]))
        else:
            out.append(titles[i])
    return out
