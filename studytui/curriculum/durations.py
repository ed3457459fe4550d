"""Study durations as people write them ('1h', '42m', '1h30m', '90 min', '1:05:00') <-> seconds.

A number without a unit is refused: in the seed notes '42' meant minutes in one place and
hours in another, so the curriculum must say which.
"""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
# One "<number><unit>" part; parts may be separated by spaces, a comma or "and".
_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*(?:,|and\b)?")
_CLOCK = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]\d))?")  # h:mm:ss or m:ss
_BARE_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MAX_SECONDS = 10_000 * 3600  # far beyond any real course; stops '1e9h' style nonsense


def parse_duration(value: object) -> int:
    """Seconds in `value`; ValueError with a one-line reason when it is not a duration."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"a duration is text such as '42m' or '1h30m', not {type(value).__name__}")
    if isinstance(value, (int, float)):
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        raise ValueError(f"duration {shown} has no unit: write {shown}m (or {shown}h)")
    text = value.strip().lower()
    if not text:
        raise ValueError("duration is empty: write e.g. 42m or 1h30m")
    if _BARE_NUMBER.fullmatch(text):
        raise ValueError(f"duration {text!r} has no unit: write {text}m (or {text}h)")

    clock = _CLOCK.fullmatch(text)
    if clock:
        a, b, c = clock.groups()
        seconds = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
        return _checked(seconds, value)

    total = 0.0
    pos = 0
    while pos < len(text):
        part = _PART.match(text, pos)
        if not part or part.end() == pos:
            raise _unreadable(value)
        number, unit = part.groups()
        if unit not in _UNIT_SECONDS:
            raise _unreadable(value)
        total += float(number) * _UNIT_SECONDS[unit]
        pos = part.end()
    return _checked(round(total), value)


def _checked(seconds: int, original: str) -> int:
    if seconds > _MAX_SECONDS:
        raise ValueError(f"duration {original!r} is implausibly long")
    return seconds


def _unreadable(original: str) -> ValueError:
    return ValueError(f"unreadable duration {original!r}: write e.g. 42m, 1h30m, 90 min, 1:05:00")


def format_duration(seconds: int | float | None, *, with_seconds: bool = False) -> str:
    """'1h 05m', '42m', '0m'; under a minute shows seconds ('30s') so small logs do not vanish.
    `with_seconds` (a run's wall time, where seconds matter): '4m 05s', and 0 is '0s'."""
    if seconds is None or not math.isfinite(seconds) or (not seconds and not with_seconds):
        return "0m"
    sign = "-" if seconds < 0 else ""
    seconds = round(abs(seconds)) if with_seconds else abs(seconds)
    if seconds < 60:
        return f"{sign}{round(seconds)}s"
    if with_seconds and seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{sign}{minutes}m {secs:02d}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{sign}{hours}h {minutes:02d}m" if hours else f"{sign}{minutes}m"
