"""The store: the one class that owns all SQL (as in simonw/llm).

SQLite in WAL mode so the TUI, the CLI and a running lab can share one home. Every write
is a `BEGIN IMMEDIATE` transaction: a writer waits for the lock up front (busy timeout)
instead of failing with "database is locked" when it upgrades from a read.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studytui.curriculum.model import STATUSES
from studytui.curriculum.urls import resource_key
from studytui.store import migrations
from studytui.store.review_sql import REVIEW_ORDER, REVIEW_TABLES, ReviewSQL

EXPORT_FORMAT = "studytui-export"
EXPORT_VERSION = 1
BUSY_TIMEOUT_S = 60
# Tables an export carries, with their columns in order (ids kept: a restore is identical).
STATE_TABLES = {
    "progress": ("key", "status", "started_at", "completed_at", "updated_at"),
    "notes": ("key", "body", "updated_at"),
    "time_log": ("id", "key", "seconds", "logged_at", "source"),
    "events": ("id", "at", "key", "kind", "old", "new", "source"),
    "reading": ("id", "url", "title", "kind", "tags", "status", "course", "added_at", "updated_at"),
    **REVIEW_TABLES,  # review cards, their log, settings (studytui/store/review_sql.py)
}
# The largest reading-list id ever given out: still in the table, named by history (an
# entry since deleted) or in SQLite's AUTOINCREMENT sequence.
READING_IDS_USED = """
    SELECT MAX(id) FROM (
        SELECT MAX(id) AS id FROM reading
        UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'reading'
        UNION ALL SELECT json_extract(old, '$.id') FROM events WHERE kind = 'reading' AND json_valid(old)
        UNION ALL SELECT json_extract(new, '$.id') FROM events WHERE kind = 'reading' AND json_valid(new)
    ) WHERE typeof(id) = 'integer' AND id > 0"""
MAX_ID = 2**63 - 1  # SQLite's INTEGER
RUN_COLUMNS = (
    "id",
    "lab",
    "status",
    "created_at",
    "ended_at",
    "dir",
    "pid",
    "settings",
    "summary",
    "last",
    "updated_at",
)


def _json_or_text(value: Any) -> Any:
    """A stored JSON column decoded; text that is not JSON comes back as it is, so one odd
    value (written by hand, or by a bug) shows up instead of breaking the command forever."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _tags(value: Any) -> list[str]:
    decoded = _json_or_text(value)
    if isinstance(decoded, list):
        return [t if isinstance(t, str) else json.dumps(t) for t in decoded]
    return [] if decoded in (None, "") else [str(value)]


def _before_review_deck(doc: dict[str, Any]) -> bool:
    """An export written by a studytui whose schema had no review deck yet."""
    applied = doc.get("migrations")
    return isinstance(applied, list) and "m004_review_deck" not in applied


# Stamped into the header of every database we create (`PRAGMA application_id`), so a
# file is ours at a glance; "STUI" in ASCII.
APPLICATION_ID = 0x53545549


class StoreError(Exception):
    """A problem with the user's data or request; the message is one line."""


class DamagedDatabase(StoreError):
    """The database file is damaged (bad pages, a dropped table or column) or is not ours.

    The CLI exits 2 with the message; the TUI shows a screen with it. `backup` is the
    newest backup file beside the database (None when there is none) to restore from.
    """

    def __init__(self, path: Path, detail: str, backup: Path | None = None):
        self.path, self.detail, self.backup = Path(path), detail, backup
        what = (
            f"restore from the latest backup: studytui restore {backup}"
            if backup
            else "move it aside (a fresh one is made) and restore from an export if you have one"
        )
        super().__init__(f"damaged database {path} ({detail}); {what}")


class ForeignDatabase(StoreError):
    """`--db` names an SQLite file that belongs to another application; it is left untouched."""


class DuplicateReading(StoreError):
    """The reading list already holds this URL (compared as `resource_key` spells it)."""

    def __init__(self, url: str, existing: dict[str, Any]):
        self.existing = existing
        super().__init__(
            f"the reading list already holds {url} as #{existing['id']} "
            f"({existing['status']}): {existing['title']}"
        )


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def latest_backup(db_path: Path) -> Path | None:
    """The newest `studytui restore` backup beside the database, if any."""
    try:
        found = sorted((Path(db_path).parent / "backups").glob("*.json"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return None
    return found[-1] if found else None


def _open_problem(path: Path, error: sqlite3.DatabaseError) -> StoreError:
    """The one-line error for what went wrong with the database file, and what to do.

    Locks and permissions are the environment's fault (the file is fine); anything else
    SQLite says (a malformed image, a missing table or column) means the file is damaged.
    """
    text = str(error)
    if "not a database" in text:
        return DamagedDatabase(
            path, "not a studytui database: damaged, or another kind of file", latest_backup(path)
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(f"cannot write {path} (or its folder): {text}; check its permissions")
    if "locked" in text or "busy" in text:
        return StoreError(f"database {path} is busy ({text}); try again")
    if isinstance(error, sqlite3.OperationalError) and "disk I/O" in text:
        return StoreError(f"cannot read or write {path}: {text}")
    return DamagedDatabase(path, text, latest_backup(path))


@dataclass(frozen=True)
class Progress:
    key: str
    status: str
    started_at: str | None
    completed_at: str | None
    updated_at: str


class Store(ReviewSQL):
    def __init__(self, path: Path, *, migrate: bool = True):
        self.path = Path(path)
        if self.path.parent.exists() and not self.path.parent.is_dir():
            raise StoreError(f"{self.path.parent} is a file, not a folder for the database")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create {self.path.parent}: {e.strerror or e}") from None
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a database file")
        try:
            # `timeout` is SQLite's busy timeout: a writer waits this long for another's lock.
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.path}: {e}") from None
        try:
            self._refuse_foreign(conn)  # before WAL mode: that alone would change the file
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            conn.close()
            raise _open_problem(self.path, e) from None
        except StoreError:
            conn.close()
            raise
        self.conn = conn
        if migrate:
            self.migrate()

    def close(self) -> None:
        self.conn.close()

    def _refuse_foreign(self, conn: sqlite3.Connection) -> None:
        """Stop, touching nothing, when the file is another application's SQLite database:
        someone's `--db ~/.mozilla/.../places.sqlite` must not gain our tables."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app_id == 0 and user_version == 0 and not tables:
            return  # a new, empty database
        ours = False
        if app_id == 0 and "_sqlite_migrations" in tables:  # made before we stamped the header
            ours = (
                conn.execute(
                    "SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1",
                    (migrations.MIGRATION_SET,),
                ).fetchone()
                is not None
            )
        if not ours:
            if not tables:
                raise ForeignDatabase(
                    f"{self.path} belongs to another application (its header says "
                    f"application_id {app_id}, user_version {user_version}); left untouched"
                )
            raise ForeignDatabase(
                f"{self.path} is another application's SQLite database (tables: "
                f"{', '.join(sorted(tables)[:4])}{', ...' if len(tables) > 4 else ''}); left untouched. "
                "Point --db / STUDYTUI_HOME at a studytui database or a new file"
            )

    # -- schema ---------------------------------------------------------------------------
    def migrate(self, stop_before: str | None = None) -> None:
        applied = self.applied_migrations()
        if applied == migrations.NAMES:
            return
        unknown = [name for name in applied if name not in migrations.NAMES]
        if unknown:
            # A newer studytui changed the schema: writing with our older idea of it could
            # lose the user's data, so stop before touching anything.
            raise StoreError(
                f"{self.path} was written by a newer studytui (schema step {unknown[0]}); "
                "upgrade studytui, or use another --db / STUDYTUI_HOME"
            )
        from sqlite_utils import Database

        # Two processes opening a new home at once: one migrates, the other waits and
        # finds nothing left to do.
        try:
            with open(self.path.with_name(self.path.name + ".migrate.lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                migrations.build().apply(Database(self.conn), stop_before=stop_before)
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        except OSError as e:
            raise StoreError(f"cannot set up {self.path}: {e.strerror or e}") from None
        except sqlite3.DatabaseError as e:
            raise _open_problem(self.path, e) from None

    def applied_migrations(self) -> list[str]:
        """Names of the applied migrations, read with plain SQL (no sqlite_utils import)."""
        try:
            exists = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
            ).fetchone()
            if not exists:
                return []
            return [
                r[0]
                for r in self.conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
                    (migrations.MIGRATION_SET,),
                )
            ]
        except sqlite3.DatabaseError as e:
            raise _open_problem(self.path, e) from None

    def data_version(self) -> int:
        """Changes when another connection commits: how the TUI notices CLI edits."""
        return self._rows("PRAGMA data_version")[0][0]

    def check(self) -> None:
        """Raise DamagedDatabase unless every table and column we use reads back.

        Cheap (one row of each table): run where a damaged file must be caught up front,
        such as before the desk opens."""
        for table, cols in {**STATE_TABLES, "runs": RUN_COLUMNS}.items():
            self._rows(f"SELECT {', '.join(cols)} FROM {table} LIMIT 1")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as e:
            raise _open_problem(self.path, e) from None
        try:
            yield conn
        except BaseException as e:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass  # the original error says more
            if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, sqlite3.IntegrityError):
                raise _open_problem(self.path, e) from None
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _open_problem(self.path, e) from None

    def _rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Every read goes through here or `_query`: a damaged file is a DamagedDatabase."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise _open_problem(self.path, e) from None

    def _query(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        try:
            cur = self.conn.execute(sql, params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()]
        except sqlite3.DatabaseError as e:
            raise _open_problem(self.path, e) from None

    @staticmethod
    def _event(conn, key: str | None, kind: str, old: Any, new: Any, source: str) -> int:
        cur = conn.execute(
            "INSERT INTO events (at, key, kind, old, new, source) VALUES (?, ?, ?, ?, ?, ?)",
            (
                now_iso(),
                key,
                kind,
                json.dumps(old, ensure_ascii=False),
                json.dumps(new, ensure_ascii=False),
                source,
            ),
        )
        return cur.lastrowid

    # -- progress -------------------------------------------------------------------------
    def progress(self) -> dict[str, Progress]:
        # Columns named, never `*`: a table missing one is a DamagedDatabase, not a KeyError.
        cols = ", ".join(STATE_TABLES["progress"])
        return {r["key"]: Progress(**r) for r in self._query(f"SELECT {cols} FROM progress")}

    def status_of(self, key: str) -> str:
        row = self._query("SELECT status FROM progress WHERE key = ?", (key,))
        return row[0]["status"] if row else "todo"

    def set_status(
        self, key: str, status: str, *, source: str = "cli", cards: list[dict[str, Any]] = ()
    ) -> str:
        """Set an item's status; returns the old one. Setting the same status is a no-op.

        `cards`: review cards for the terms the item teaches, added (when new) in the same
        transaction when it becomes done; studytui.review.set_status builds them."""
        if status not in STATUSES:
            raise StoreError(f"unknown status {status!r} (use one of: {', '.join(STATUSES)})")
        with self._write() as conn:
            row = conn.execute(
                "SELECT status, started_at, completed_at FROM progress WHERE key = ?", (key,)
            ).fetchone()
            old = row[0] if row else "todo"
            if old == status:
                return old
            self._apply_status(conn, key, status, row)
            self._event(conn, key, "status", old, status, source)
            if status == "done":
                self._insert_cards(conn, cards)
        return old

    @staticmethod
    def _apply_status(conn, key: str, status: str, row) -> None:
        at = now_iso()
        started = row[1] if row else None
        if status != "todo" and not started:
            started = at
        completed = at if status == "done" else None
        conn.execute(
            "INSERT INTO progress (key, status, started_at, completed_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET status = excluded.status, "
            "started_at = excluded.started_at, completed_at = excluded.completed_at, "
            "updated_at = excluded.updated_at",
            (key, status, started, completed, at),
        )

    # -- notes ----------------------------------------------------------------------------
    def note(self, key: str) -> str:
        row = self._query("SELECT body FROM notes WHERE key = ?", (key,))
        return row[0]["body"] if row else ""

    def notes(self) -> dict[str, str]:
        return {r["key"]: r["body"] for r in self._query("SELECT key, body FROM notes")}

    def set_note(self, key: str, body: str, *, source: str = "cli") -> bool:
        """Save a note (empty text deletes it). Returns False when nothing changed."""
        with self._write() as conn:
            row = conn.execute("SELECT body FROM notes WHERE key = ?", (key,)).fetchone()
            old = row[0] if row else ""
            if old == body:
                return False
            self._apply_note(conn, key, body)
            self._event(conn, key, "note", old, body, source)
        return True

    @staticmethod
    def _apply_note(conn, key: str, body: str) -> None:
        if body:
            conn.execute(
                "INSERT INTO notes (key, body, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                (key, body, now_iso()),
            )
        else:
            conn.execute("DELETE FROM notes WHERE key = ?", (key,))

    # -- study time -----------------------------------------------------------------------
    def log_time(self, key: str, seconds: int, *, source: str = "cli") -> int:
        if seconds <= 0:
            raise StoreError("study time must be more than zero")
        if seconds > 24 * 3600:
            raise StoreError("study time must be at most 24 hours per entry")
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO time_log (key, seconds, logged_at, source) VALUES (?, ?, ?, ?)",
                (key, int(seconds), now_iso(), source),
            )
            self._event(conn, key, "time", None, {"id": cur.lastrowid, "seconds": int(seconds)}, source)
            return cur.lastrowid

    def time_by_key(self) -> dict[str, int]:
        return {
            r["key"]: r["s"] for r in self._query("SELECT key, SUM(seconds) AS s FROM time_log GROUP BY key")
        }

    def total_time(self) -> int:
        return self._query("SELECT COALESCE(SUM(seconds), 0) AS s FROM time_log")[0]["s"]

    # -- history, undo, activity -----------------------------------------------------------
    def events(self, *, key: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(STATE_TABLES['events'])} FROM events", []
        if key is not None:
            sql += " WHERE key = ?"
            params.append(key)
        sql += " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self._query(sql, params)
        for r in rows:
            r["old"], r["new"] = _json_or_text(r["old"]), _json_or_text(r["new"])
        return rows

    def undo(self, *, source: str = "cli") -> dict[str, Any] | None:
        """Revert the newest change not yet undone; the undo is itself an event.

        Returns the event that was undone, or None when there is nothing left to undo. A
        history entry too damaged to revert (hand-edited, or written by a bug) is marked
        as skipped and returned with `"skipped": True`, changing nothing else: the next
        undo goes on to the change before it instead of failing on that entry forever.
        """
        with self._write() as conn:
            undone = set()
            for (marker,) in conn.execute("SELECT new FROM events WHERE kind = 'undo'"):
                decoded = _json_or_text(marker)
                if isinstance(decoded, dict):
                    undone.add(decoded.get("event"))
            rows = conn.execute(
                "SELECT id, key, kind, old, new FROM events WHERE kind IN ('status', 'note', 'time') "
                "ORDER BY id DESC"
            ).fetchall()
            target = next((r for r in rows if r[0] not in undone), None)
            if target is None:
                return None
            event_id, key, kind = target[0], target[1], target[2]
            old, new = _json_or_text(target[3]), _json_or_text(target[4])
            if (
                (kind == "time" and not (isinstance(new, dict) and "id" in new))
                or (kind == "status" and old not in STATUSES)
                or (kind == "note" and not isinstance(old, str))
            ):
                self._event(
                    conn, key, "undo", None, {"event": event_id, "kind": kind, "skipped": "damaged"}, source
                )
                return {"id": event_id, "key": key, "kind": kind, "old": old, "new": new, "skipped": True}
            if kind == "status":
                row = conn.execute(
                    "SELECT status, started_at, completed_at FROM progress WHERE key = ?", (key,)
                ).fetchone()
                self._apply_status(conn, key, old, row)
            elif kind == "note":
                self._apply_note(conn, key, old)
            else:
                conn.execute("DELETE FROM time_log WHERE id = ?", (new["id"],))
            self._event(conn, key, "undo", None, {"event": event_id, "kind": kind}, source)
        return {"id": event_id, "key": key, "kind": kind, "old": old, "new": new}

    def activity_by_day(self, days: int = 84, *, today: dt.date | None = None) -> dict[dt.date, int]:
        """Changes and review grades per local calendar day over the last `days` days (the
        heatmap); `activity_split` tells study and reviews apart."""
        return {day: sum(kinds.values()) for day, kinds in self.activity_split(days, today=today).items()}

    def streak(self, *, today: dt.date | None = None) -> int:
        """Consecutive days with study activity, ending today (or yesterday, if not yet today)."""
        today = today or dt.date.today()
        active = set(self.activity_by_day(days=3660, today=today))
        day = today if today in active else today - dt.timedelta(days=1)
        count = 0
        while day in active:
            count += 1
            day -= dt.timedelta(days=1)
        return count

    def recent_keys(self, limit: int = 10) -> list[str]:
        rows = self._query(
            "SELECT key, MAX(id) AS last FROM events WHERE key IS NOT NULL AND kind != 'reading' "
            "GROUP BY key ORDER BY last DESC LIMIT ?",
            (limit,),
        )
        return [r["key"] for r in rows]

    # -- reading list -----------------------------------------------------------------------
    def reading_with_url(self, url: str) -> dict[str, Any] | None:
        """The entry that holds the same resource as `url` (another spelling of it too), or None."""
        wanted = resource_key(url)
        return next((r for r in self.reading() if resource_key(r["url"]) == wanted), None)

    def add_reading(
        self, url: str, title: str, *, kind: str = "article", tags: list[str] = (), source: str = "cli"
    ) -> int:
        """Add an inbox entry; DuplicateReading if the list already holds the same URL."""
        at = now_iso()
        wanted = resource_key(url)
        with self._write() as conn:
            cur = conn.execute("SELECT id, url, title, status FROM reading ORDER BY id")
            for row in cur.fetchall():
                if resource_key(row[1]) == wanted:  # checked inside the write lock: no race
                    raise DuplicateReading(url, dict(zip(("id", "url", "title", "status"), row)))
            last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'reading'").fetchone()
            if last and last[0] >= MAX_ID:  # SQLite would say "database or disk is full"
                raise StoreError(
                    f"the reading list has given out its last id (#{MAX_ID}, from a restored backup); "
                    "restore a backup with smaller ids to add entries"
                )
            cur = conn.execute(
                "INSERT INTO reading (url, title, kind, tags, status, added_at, updated_at) "
                "VALUES (?, ?, ?, ?, 'inbox', ?, ?)",
                (url, title, kind, json.dumps(list(tags)), at, at),
            )
            self._event(
                conn, None, "reading", None, {"id": cur.lastrowid, "status": "inbox", "url": url}, source
            )
            return cur.lastrowid

    def reading(self, status: str | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(STATE_TABLES['reading'])} FROM reading", []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        rows = self._query(sql + " ORDER BY id DESC", params)
        for r in rows:
            r["tags"] = _tags(r["tags"])
        return rows

    def delete_reading(self, reading_id: int, *, source: str = "cli") -> dict[str, Any]:
        """Remove a reading-list entry for good; returns it (its event keeps it too)."""
        if not 0 < reading_id < 2**63:
            raise StoreError(f"no reading-list entry {reading_id}")
        with self._write() as conn:
            cur = conn.execute(
                f"SELECT {', '.join(STATE_TABLES['reading'])} FROM reading WHERE id = ?", (reading_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no reading-list entry {reading_id}")
            entry = dict(zip([c[0] for c in cur.description], row))
            conn.execute("DELETE FROM reading WHERE id = ?", (reading_id,))
            self._event(
                conn,
                None,
                "reading",
                {"id": reading_id, "status": entry["status"], "url": entry["url"], "title": entry["title"]},
                {"id": reading_id, "status": "deleted"},
                source,
            )
        entry["tags"] = _tags(entry["tags"])
        return entry

    def move_reading(
        self, reading_id: int, status: str, *, course: str | None = None, source: str = "cli"
    ) -> None:
        if status not in ("inbox", "archive", "course"):
            raise StoreError(f"unknown reading-list place {status!r}")
        if not 0 < reading_id < 2**63:  # sqlite's INTEGER range; no entry has an id outside it
            raise StoreError(f"no reading-list entry {reading_id}")
        with self._write() as conn:
            row = conn.execute("SELECT status, course FROM reading WHERE id = ?", (reading_id,)).fetchone()
            if row is None:
                raise StoreError(f"no reading-list entry {reading_id}")
            conn.execute(
                "UPDATE reading SET status = ?, course = ?, updated_at = ? WHERE id = ?",
                (status, course, now_iso(), reading_id),
            )
            self._event(
                conn,
                None,
                "reading",
                {"id": reading_id, "status": row[0], "course": row[1]},
                {"id": reading_id, "status": status, "course": course},
                source,
            )

    # -- runs index -------------------------------------------------------------------------
    def upsert_run(self, run: dict[str, Any]) -> None:
        row = {
            k: (json.dumps(v) if k in ("settings", "summary", "last") and v is not None else v)
            for k, v in run.items()
        }
        row["updated_at"] = now_iso()
        cols = list(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                f"ON CONFLICT(id) DO UPDATE SET {updates}",
                [row[c] for c in cols],
            )

    def runs(self, lab: str | None = None) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs", []
        if lab:
            sql += " WHERE lab = ?"
            params.append(lab)
        return [self._decode_run(r) for r in self._query(sql + " ORDER BY created_at DESC, id DESC", params)]

    def run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE id = ?", (run_id,))
        return self._decode_run(rows[0]) if rows else None

    def delete_run(self, run_id: str) -> None:
        """Drop a run from the index (its folder is gone; the folder is the truth)."""
        with self._write() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    @staticmethod
    def _decode_run(row: dict[str, Any]) -> dict[str, Any]:
        for k in ("settings", "summary", "last"):
            row[k] = _json_or_text(row[k]) if row[k] else None
        return row

    # -- export / restore ---------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": now_iso(),
            "migrations": self.applied_migrations(),
        }
        for table, cols in STATE_TABLES.items():
            order = REVIEW_ORDER.get(table) or ("id" if "id" in cols else "key")
            doc[table] = self._query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}")
        return doc

    def restore_state(self, doc: dict[str, Any]) -> dict[str, int]:
        """Replace all progress, notes, time, history and reading list with an export's.

        Every row is checked before anything is written (a bad file changes nothing, and
        the error names the row). Restoring the same export twice gives the same state.
        """
        self.check_export(doc)
        counts = {}
        with self._write() as conn:
            for table, cols in STATE_TABLES.items():
                rows = doc.get(table, [])  # check_export let it be absent only from an older export
                conn.execute(f"DELETE FROM {table}")
                try:
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [tuple(r.get(c) for c in cols) for r in rows],
                    )
                except sqlite3.IntegrityError as e:
                    raise StoreError(f"export table {table!r} has a bad row: {e}") from None
                counts[table] = len(rows)
            self._reserve_reading_ids(conn)
        return counts

    @staticmethod
    def _reserve_reading_ids(conn) -> None:
        """Keep every reading-list id the restored history names from being given out again.

        An export carries rows and history, not SQLite's id sequence: without this, the
        entry deleted last before the export would lend its id to the next one added after
        a restore into a fresh home. The sequence only ever grows."""
        (used,) = conn.execute(READING_IDS_USED).fetchone()
        if used is not None:
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'reading'")
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('reading', ?)", (used,))

    @staticmethod
    def check_export(doc: Any) -> None:
        """Raise StoreError (naming the row) unless `doc` is an export restore can take whole."""
        from studytui.store.export_check import ExportProblem, check_rows

        if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
            raise StoreError('not a studytui JSON export (missing "format": "studytui-export")')
        if doc.get("version") != EXPORT_VERSION:
            raise StoreError(
                f"unsupported export version {doc.get('version')!r:.40} "
                f"(this studytui reads {EXPORT_VERSION})"
            )
        for table in STATE_TABLES:
            if table not in doc and table in REVIEW_TABLES and _before_review_deck(doc):
                continue  # exported before the review deck existed: it had none to restore
            if table not in doc:  # a cut or hand-made file must not wipe a table by omission
                raise StoreError(f"export has no {table!r} list (is the file complete?)")
            try:
                check_rows(table, doc[table])
            except ExportProblem as e:
                raise StoreError(str(e)) from None
