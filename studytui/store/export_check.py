"""Checking a JSON export row by row before `restore` writes any of it.

A backup is a file from outside: it may be cut, hand-edited or hostile. Every row's
fields are checked for type and range here, before the transaction starts, so a bad
file changes nothing and the error names the row (`reading[3].url: ...`). The rules are
the ones `add`, `note` and the loader apply (studytui.safetext), so a restored value can
never break `reading`, `show` or `status` later.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from studytui.curriculum.model import STATUSES
from studytui.safetext import text_problem, url_problem

MAX_SECONDS = 24 * 3600  # one time-log entry, as `studytui log` allows
MAX_ID = 2**63 - 1  # SQLite's INTEGER
MAX_TEXT = 1_000_000  # characters in one field: far beyond any note, short of a memory bomb
READING_PLACES = ("inbox", "archive", "course")


class ExportProblem(ValueError):
    """A row of an export that cannot be restored; the message names it."""


def _one_line(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    return text_problem(value)


def _key(value: Any) -> str | None:
    return _one_line(value) or (None if value.strip() else "must not be empty")


def _multiline(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    # Older versions stored notes as typed, Windows line ends included: still a fine backup.
    # The CR becomes a space, not nothing, so an offset in the error is the file's own.
    return text_problem(value.replace("\r\n", " \n"), multiline=True)


def _optional(value: Any, check: Callable[[Any], str | None]) -> str | None:
    return None if value is None else check(value)


def _timestamp(value: Any) -> str | None:
    bad = _one_line(value)
    if bad:
        return bad
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return f"is not an ISO 8601 time, got {value[:40]!r}"
    return None


def _id(value: Any) -> str | None:
    if type(value) is not int:  # bool is an int to Python, never to us
        return f"must be a whole number, got {type(value).__name__}"
    return None if 0 < value <= MAX_ID else f"must be between 1 and {MAX_ID}"


def _seconds(value: Any) -> str | None:
    if type(value) is not int:
        return f"must be a whole number of seconds, got {type(value).__name__}"
    return None if 0 < value <= MAX_SECONDS else f"must be between 1 and {MAX_SECONDS}"


def _one_of(value: Any, choices: tuple[str, ...]) -> str | None:
    return None if value in choices else f"must be one of {', '.join(choices)}, got {value!r:.40}"


def _decode_json_text(value: Any) -> tuple[str | None, Any]:
    """(problem or None, the decoded value) for JSON text whose strings must be safe too."""
    if bad := _multiline(value):
        return bad, None
    try:
        decoded = json.loads(value)
    except ValueError:
        return "is not JSON text", None
    # JSON may spell a control character as an escape (\u001b) that the raw text hides;
    # undo writes these values back into notes and progress, so they obey the same rule.
    bad = next((f"holds text that {bad}" for text in _strings(decoded) if (bad := _multiline(text))), None)
    return bad, decoded


def _json_text(value: Any) -> str | None:
    """A history column: JSON text (what the store writes), or nothing."""
    return None if value is None else _decode_json_text(value)[0]


def _strings(decoded: Any) -> Iterator[str]:
    """Every string in decoded JSON, object keys included."""
    if isinstance(decoded, str):
        yield decoded
    elif isinstance(decoded, dict):
        for key, item in decoded.items():
            yield key
            yield from _strings(item)
    elif isinstance(decoded, list):
        for item in decoded:
            yield from _strings(item)


def _tags(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a JSON list as text, got {type(value).__name__}"
    try:
        tags = json.loads(value)
    except ValueError:
        return "is not a JSON list"
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "must be a JSON list of strings"
    return next((f"entry {bad}" for t in tags if (bad := _one_line(t))), None)


def _url(value: Any) -> str | None:
    return _one_line(value) or url_problem(value)


def _utc_timestamp(value: Any) -> str | None:
    """A review time: fsrs schedules only with timezone-aware UTC times."""
    bad = _timestamp(value)
    if bad:
        return bad
    return None if dt.datetime.fromisoformat(value).utcoffset() == dt.timedelta(0) else "must be a UTC time"


def _whole(value: Any, low: int, high: int) -> str | None:
    if type(value) is not int:
        return f"must be a whole number, got {type(value).__name__}"
    return None if low <= value <= high else f"must be between {low} and {high}"


def _real(value: Any, low: float, high: float) -> str | None:
    if type(value) not in (int, float) or not math.isfinite(value):
        return f"must be a number, got {type(value).__name__}"
    return None if low <= value <= high else f"must be between {low} and {high}"


def _schedule(value: Any) -> str | None:
    """A review-log row's `before`: the card's schedule as JSON (undo writes it back)."""
    if value is None:
        return "must be JSON text"
    bad, before = _decode_json_text(value)
    if bad:
        return bad
    if not isinstance(before, dict):
        return "must be a JSON object"
    for column, rule in SCHEDULE_RULES.items():
        if bad := rule(before.get(column)):
            return f"{column} {bad}"
    return None


DIRECTIONS = ("forward", "reverse")
# A rule with parameters is a plain function of (value, parameters...) bound with `partial`,
# not a closure built here: its logic then runs when a row is checked, where a mutation
# test's mutant of it is the code that runs (a closure would keep the import-time original).
SCHEDULE_RULES: dict[str, Callable[[Any], str | None]] = {
    "state": partial(_whole, low=1, high=3),
    "step": partial(_optional, check=partial(_whole, low=0, high=1000)),
    "stability": partial(_optional, check=partial(_real, low=0, high=1e9)),
    "difficulty": partial(_optional, check=partial(_real, low=1, high=10)),
    "due": _utc_timestamp,
    "last_review": partial(_optional, check=_utc_timestamp),
}
RULES: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "progress": {
        "key": _key,
        "status": partial(_one_of, choices=STATUSES),
        "started_at": partial(_optional, check=_timestamp),
        "completed_at": partial(_optional, check=_timestamp),
        "updated_at": _timestamp,
    },
    "notes": {"key": _key, "body": _multiline, "updated_at": _timestamp},
    "time_log": {"id": _id, "key": _key, "seconds": _seconds, "logged_at": _timestamp, "source": _one_line},
    "events": {
        "id": _id,
        "at": _timestamp,
        "key": partial(_optional, check=_key),
        "kind": _key,
        "old": _json_text,
        "new": _json_text,
        "source": _one_line,
    },
    "reading": {
        "id": _id,
        "url": _url,
        "title": _key,
        "kind": _key,
        "tags": _tags,
        "status": partial(_one_of, choices=READING_PLACES),
        "course": partial(_optional, check=_one_line),
        "added_at": _timestamp,
        "updated_at": _timestamp,
    },
    "review_cards": {
        "term": _key,
        "direction": partial(_one_of, choices=DIRECTIONS),
        **SCHEDULE_RULES,
        "added_at": _timestamp,
        "added_by": _key,
        "suspended": partial(_whole, low=0, high=1),
        "flagged": partial(_whole, low=0, high=1),
    },
    "review_log": {
        "id": _id,
        "term": _key,
        "direction": partial(_one_of, choices=DIRECTIONS),
        "rating": partial(_whole, low=1, high=4),
        "reviewed_at": _utc_timestamp,
        "duration_ms": partial(_optional, check=partial(_whole, low=0, high=MAX_ID)),
        "before": _schedule,
        "source": _one_line,
    },
    "settings": {"key": _key, "value": lambda v: _json_text(v) if v is not None else "must be JSON text"},
}
# The column that must be unique in each table (its primary key).
UNIQUE = {
    "progress": "key",
    "notes": "key",
    "time_log": "id",
    "events": "id",
    "reading": "id",
    "review_cards": ("term", "direction"),
    "review_log": "id",
    "settings": "key",
}


def check_rows(table: str, rows: Any) -> None:
    """Raise ExportProblem for the first bad row of `table` in an export, naming it."""
    if not isinstance(rows, list):
        raise ExportProblem(f"export field {table!r} must be a list of objects")
    rules = RULES[table]
    seen: set = set()
    for i, row in enumerate(rows):
        where = f"{table}[{i}]"
        if not isinstance(row, dict):
            raise ExportProblem(f"{where} must be an object, got {type(row).__name__}")
        for column, rule in rules.items():
            bad = rule(row.get(column))
            if bad:
                raise ExportProblem(f"{where}.{column} {bad}")
        columns = UNIQUE[table]
        unique = tuple(row[c] for c in columns) if isinstance(columns, tuple) else row[columns]
        if unique in seen:
            raise ExportProblem(
                f"{where}.{'+'.join(columns) if isinstance(columns, tuple) else columns} "
                f"{unique!r:.60} appears twice"
            )
        seen.add(unique)
