"""Numbers and durations as the CLI and the TUI both show them (plain strings, no markup)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from studytui.curriculum.durations import format_duration
from studytui.protocol import headline_figure

STATUS_STYLE = {
    "running": "bold cyan",
    "done": "green",
    "stopped": "yellow",
    "failed": "bold red",
    "interrupted": "magenta",
    "diverged": "bold red",
    "stalled?": "bold yellow",
}


def fmt_value(v: Any) -> str:
    """A metric for a human: 3.2841, 12,345, 1.2e-04; everything else as str."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}"
        if a == 0 or a >= 0.01:
            return f"{v:.4g}"
        return f"{v:.2e}"
    return str(v)


def fmt_duration(seconds: float | None) -> str:
    """A run's wall time: '4m 05s', '1h 02m'; '–' while unknown."""
    return "–" if seconds is None else format_duration(seconds, with_seconds=True)


def fmt_started(iso: str | None) -> str:
    """An index timestamp (UTC) as local time; today's without the date."""
    if not iso:
        return "–"
    try:
        t = dt.datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    if t.date() == dt.date.today():
        return t.strftime("%H:%M:%S")
    return t.strftime("%Y-%m-%d %H:%M")


def key_figure(row: dict[str, Any], key: str | None) -> Any:
    """The manifest's key metric for a run row: the end summary's value, else the latest one."""
    return headline_figure(row.get("summary"), row.get("last"), key)
