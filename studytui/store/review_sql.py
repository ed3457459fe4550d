"""The store's SQL for the review deck: cards, the review log and the learner's settings.

A mixin of `Store` (it uses the store's `_write`, `_query` and `_rows`), kept in its own
module so the store class still owns all SQL while each file keeps one subject. Rows
go in and out as plain dicts of the columns below; the scheduling itself (fsrs) lives in
studytui.review, which never touches SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

CARD_COLUMNS = (
    "term",
    "direction",
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "added_at",
    "added_by",
    "suspended",
    "flagged",
)
# The columns fsrs schedules from: what a review changes and what undo gives back.
SCHEDULE_COLUMNS = ("state", "step", "stability", "difficulty", "due", "last_review")
LOG_COLUMNS = ("id", "term", "direction", "rating", "reviewed_at", "duration_ms", "before", "source")
SETTING_COLUMNS = ("key", "value")
REVIEW_TABLES = {"review_cards": CARD_COLUMNS, "review_log": LOG_COLUMNS, "settings": SETTING_COLUMNS}
# Export order of each table (a stable order makes two exports of one state equal).
REVIEW_ORDER = {"review_cards": "term, direction", "review_log": "id", "settings": "key"}


def utc_iso(moment: dt.datetime) -> str:
    """A UTC time as fixed-width ISO text (microseconds always written), so `due` columns
    compare correctly as text in SQL."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


class ReviewSQL:
    """Cards keyed by (term id, direction); a term's wording can change, its history stays."""

    # -- cards ------------------------------------------------------------------------------
    @staticmethod
    def _insert_cards(conn, cards: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """Add cards that are not in the deck yet (an existing card keeps its schedule)."""
        added = []
        for card in cards:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO review_cards ({', '.join(CARD_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CARD_COLUMNS))})",
                [card.get(c, 0 if c in ("suspended", "flagged") else None) for c in CARD_COLUMNS],
            )
            if cur.rowcount:
                added.append((card["term"], card["direction"]))
        return added

    def add_cards(self, cards: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """Insert new cards; returns the (term, direction) pairs that were not there before."""
        with self._write() as conn:
            return self._insert_cards(conn, list(cards))

    def cards(self, term: str | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(CARD_COLUMNS)} FROM review_cards", []
        if term is not None:
            sql += " WHERE term = ?"
            params.append(term)
        return self._query(sql + " ORDER BY term, direction", params)

    def card(self, term: str, direction: str) -> dict[str, Any] | None:
        rows = self._query(
            f"SELECT {', '.join(CARD_COLUMNS)} FROM review_cards WHERE term = ? AND direction = ?",
            (term, direction),
        )
        return rows[0] if rows else None

    def due_card_rows(self, now: dt.datetime, directions: Iterable[str]) -> list[dict[str, Any]]:
        """Cards due at `now` in the given directions, suspended ones left out, oldest due first."""
        directions = list(directions)
        marks = ", ".join("?" * len(directions))
        return self._query(
            f"SELECT {', '.join(CARD_COLUMNS)} FROM review_cards WHERE suspended = 0 AND due <= ? "
            f"AND direction IN ({marks}) ORDER BY due, term, direction",
            [utc_iso(now), *directions],
        )

    def set_card_marks(
        self, term: str, direction: str, *, suspended: bool | None = None, flagged: bool | None = None
    ) -> bool:
        """Suspend/unsuspend or flag/unflag one card; False when there is no such card."""
        sets = {k: int(v) for k, v in (("suspended", suspended), ("flagged", flagged)) if v is not None}
        if not sets:
            return self.card(term, direction) is not None
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE review_cards SET {', '.join(f'{k} = ?' for k in sets)} WHERE term = ? AND direction = ?",
                [*sets.values(), term, direction],
            )
            return cur.rowcount > 0

    # -- grading ----------------------------------------------------------------------------
    def record_review(
        self,
        term: str,
        direction: str,
        before: dict[str, Any],
        after: dict[str, Any],
        rating: int,
        reviewed_at: dt.datetime,
        *,
        duration_ms: int | None = None,
        source: str = "cli",
    ) -> int | None:
        """Save a graded card and its log row in one transaction; returns the log id.

        `before` is the schedule the grade was computed from: when another window graded
        the card meanwhile, nothing is written and None comes back (the caller re-reads).
        """
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {', '.join(SCHEDULE_COLUMNS)} FROM review_cards WHERE term = ? AND direction = ?",
                (term, direction),
            ).fetchone()
            if row is None or dict(zip(SCHEDULE_COLUMNS, row)) != {c: before[c] for c in SCHEDULE_COLUMNS}:
                return None
            conn.execute(
                f"UPDATE review_cards SET {', '.join(f'{c} = ?' for c in SCHEDULE_COLUMNS)} "
                "WHERE term = ? AND direction = ?",
                [after[c] for c in SCHEDULE_COLUMNS] + [term, direction],
            )
            cur = conn.execute(
                "INSERT INTO review_log (term, direction, rating, reviewed_at, duration_ms, before, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    term,
                    direction,
                    rating,
                    utc_iso(reviewed_at),
                    duration_ms,
                    json.dumps({c: before[c] for c in SCHEDULE_COLUMNS}),
                    source,
                ),
            )
            return cur.lastrowid

    def undo_review(self) -> dict[str, Any] | None:
        """Take back the newest grade: the card gets its schedule from before it, the log
        row goes. Returns that log row, or None when nothing was graded."""
        with self._write() as conn:
            cur = conn.execute(f"SELECT {', '.join(LOG_COLUMNS)} FROM review_log ORDER BY id DESC LIMIT 1")
            row = cur.fetchone()
            if row is None:
                return None
            entry = dict(zip(LOG_COLUMNS, row))
            before = json.loads(entry["before"])
            conn.execute(
                f"UPDATE review_cards SET {', '.join(f'{c} = ?' for c in SCHEDULE_COLUMNS)} "
                "WHERE term = ? AND direction = ?",
                [before.get(c) for c in SCHEDULE_COLUMNS] + [entry["term"], entry["direction"]],
            )
            conn.execute("DELETE FROM review_log WHERE id = ?", (entry["id"],))
        entry["before"] = before
        return entry

    def review_log(self, *, since: dt.datetime | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(LOG_COLUMNS)} FROM review_log", []
        if since is not None:
            sql += " WHERE reviewed_at >= ?"
            params.append(utc_iso(since))
        return self._query(sql + " ORDER BY id", params)

    # -- settings ---------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", (key,))
        if not rows:
            return default
        try:
            return json.loads(rows[0][0])
        except ValueError:
            return default  # a hand-edited value must not break every command

    def set_setting(self, key: str, value: Any, *, cards: Iterable[dict[str, Any]] = ()) -> None:
        """Save a setting (JSON), adding `cards` in the same transaction (a setting that
        turns a direction on brings its cards)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )
            self._insert_cards(conn, list(cards))

    # -- activity ---------------------------------------------------------------------------
    def activity_split(
        self, days: int = 84, *, today: dt.date | None = None
    ) -> dict[dt.date, dict[str, int]]:
        """Per local calendar day: {"study": changes, "review": grades}, days with either only.

        Study is the history of status, notes, time and reading; reviews are the review log.
        The heatmap and the streak count both; the desk can tell them apart with this.
        """
        today = today or dt.date.today()
        since = dt.datetime.combine(today - dt.timedelta(days=days), dt.time()).astimezone()
        since_utc = since.astimezone(dt.timezone.utc)
        counts: dict[dt.date, dict[str, int]] = {}
        queries = (
            ("study", "SELECT at FROM events WHERE at >= ?", since_utc.isoformat(timespec="seconds")),
            ("review", "SELECT reviewed_at FROM review_log WHERE reviewed_at >= ?", utc_iso(since_utc)),
        )
        for kind, sql, param in queries:
            for (at,) in self._rows(sql, (param,)):
                try:
                    day = dt.datetime.fromisoformat(at).astimezone().date()
                except (TypeError, ValueError, OverflowError):
                    continue  # one odd stored timestamp must not break the streak forever
                slot = counts.setdefault(day, {"study": 0, "review": 0})
                slot[kind] += 1
        return counts
