"""Study activity of the last weeks as a calendar heatmap (weeks left to right, Mon..Sun down)."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.widgets import Static

from studytui.tui.glyphs import Glyphs

LEVEL_STYLES = ("grey42", "green4", "green3", "green1", "bold bright_green")
# A day with review grades only (no study) is drawn in blue: both count in the streak.
REVIEW_STYLES = ("grey42", "blue", "dodger_blue2", "dodger_blue1", "bold deep_sky_blue1")
DAY_LABELS = ("M", " ", "W", " ", "F", " ", "S")


def level(count: int, peak: int) -> int:
    """0 for no activity; 1..4 by share of the busiest day (a single event still shows)."""
    if count <= 0 or peak <= 0:
        return 0
    return min(4, 1 + (4 * count - 1) // peak) if peak > 1 else 4


def heatmap_text(
    counts: dict[dt.date, int],
    today: dt.date,
    weeks: int,
    g: Glyphs,
    review_only: frozenset[dt.date] | set[dt.date] = frozenset(),
) -> Text:
    # The last column is this week; days after today are blank.
    this_monday = today - dt.timedelta(days=today.weekday())
    first_monday = this_monday - dt.timedelta(weeks=weeks - 1)
    peak = max((c for d, c in counts.items() if d >= first_monday), default=0)
    text = Text()
    for weekday in range(7):
        text.append(DAY_LABELS[weekday] + " ", style="dim")
        for week in range(weeks):
            day = first_monday + dt.timedelta(weeks=week, days=weekday)
            if day > today:
                text.append("  ")
                continue
            lv = level(counts.get(day, 0), peak)
            styles = REVIEW_STYLES if day in review_only else LEVEL_STYLES
            text.append(g.heat[lv] + " ", style=styles[lv])
        if weekday < 6:
            text.append("\n")
    return text


class Heatmap(Static):
    def show(
        self,
        counts: dict[dt.date, int],
        today: dt.date,
        weeks: int,
        g: Glyphs,
        review_only: frozenset[dt.date] | set[dt.date] = frozenset(),
    ) -> None:
        self.update(heatmap_text(counts, today, weeks, g, review_only))
