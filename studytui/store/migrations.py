"""Schema migrations, append-only: never edit one that has shipped, add a new one.

Each function is one step from the schema before it. The test suite applies them one at
a time from the first (`stop_before`) with data in between, so every step is exercised
on a database that really had the older shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATION_SET = "studytui"


def m001_progress_notes_time_events(db: Database) -> None:
    db.execute("""
        CREATE TABLE progress (
            key TEXT PRIMARY KEY,          -- course/item
            status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done', 'skipped')),
            started_at TEXT,               -- first time it left 'todo'
            completed_at TEXT,             -- when it became 'done'
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE notes (
            key TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE time_log (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            seconds INTEGER NOT NULL,
            logged_at TEXT NOT NULL,
            source TEXT NOT NULL           -- cli, timer, restore ...
        )""")
    db.execute("CREATE INDEX time_log_key ON time_log(key)")
    # The append-only history of every change; it feeds undo, streaks and the heatmap.
    db.execute("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            key TEXT,
            kind TEXT NOT NULL,            -- status, note, time, undo, reading
            old TEXT,                      -- JSON
            new TEXT,                      -- JSON
            source TEXT NOT NULL DEFAULT 'cli'
        )""")
    db.execute("CREATE INDEX events_at ON events(at)")


def m002_runs_index(db: Database) -> None:
    # An index over run folders: the folders are the truth, this makes listing fast.
    db.execute("""
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            lab TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            ended_at TEXT,
            dir TEXT NOT NULL,
            pid INTEGER,
            settings TEXT,                 -- JSON
            summary TEXT,                  -- JSON: the end event's summary
            last TEXT,                     -- JSON: the latest metric values
            updated_at TEXT NOT NULL
        )""")


def m003_reading_list(db: Database) -> None:
    db.execute("""
        CREATE TABLE reading (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'article',
            tags TEXT NOT NULL DEFAULT '[]',   -- JSON list
            status TEXT NOT NULL DEFAULT 'inbox' CHECK (status IN ('inbox', 'archive', 'course')),
            course TEXT,                       -- set when moved into a course
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")


def m004_review_deck(db: Database) -> None:
    # Glossary review (FSRS). A card is keyed by glossary term id and direction, never by
    # its wording, so editing a definition or moving a term keeps its schedule and history.
    # The FSRS card state is plain columns (no pickles): fsrs' Card.to_dict, field by field.
    db.execute("""
        CREATE TABLE review_cards (
            term TEXT NOT NULL,            -- glossary term id
            direction TEXT NOT NULL CHECK (direction IN ('forward', 'reverse')),
            state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),   -- fsrs.State: learning, review, relearning
            step INTEGER,
            stability REAL,
            difficulty REAL,
            due TEXT NOT NULL,             -- UTC, ISO 8601 with microseconds: sorts as text
            last_review TEXT,
            added_at TEXT NOT NULL,
            added_by TEXT NOT NULL,        -- the item key that taught it, or 'hand'
            suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
            flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
            PRIMARY KEY (term, direction)
        )""")
    db.execute("CREATE INDEX review_cards_due ON review_cards(due)")
    # One row per grade; `before` (the card's columns as JSON) is what undoing it restores.
    db.execute("""
        CREATE TABLE review_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            term TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('forward', 'reverse')),
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),   -- fsrs.Rating: again..easy
            reviewed_at TEXT NOT NULL,
            duration_ms INTEGER,
            before TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'cli'
        )""")
    db.execute("CREATE INDEX review_log_at ON review_log(reviewed_at)")
    # The learner's choices that belong with their data (exported, restored): JSON values.
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def m005_reading_ids_never_reused(db: Database) -> None:
    # Without AUTOINCREMENT SQLite numbers a new row max(id) + 1, so deleting the newest
    # reading entry handed its id to the next one added: a learner's scripted
    # `studytui reading rm 7` then removed a different entry. SQLite cannot add
    # AUTOINCREMENT to a table in place, so the table is rebuilt (new table, copy, drop,
    # rename: SQLite's documented way) inside this step's transaction, ids kept.
    carried = db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'reading' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL"
    ).fetchall()  # none in our schema; a hand-made one is carried over rather than lost
    db.execute("""
        CREATE TABLE reading_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'article',
            tags TEXT NOT NULL DEFAULT '[]',   -- JSON list
            status TEXT NOT NULL DEFAULT 'inbox' CHECK (status IN ('inbox', 'archive', 'course')),
            course TEXT,                       -- set when moved into a course
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    columns = "id, url, title, kind, tags, status, course, added_at, updated_at"
    db.execute(f"INSERT INTO reading_new ({columns}) SELECT {columns} FROM reading ORDER BY id")
    db.execute("DROP TABLE reading")
    db.execute("ALTER TABLE reading_new RENAME TO reading")
    for (sql,) in carried:
        db.execute(sql)
    # The copy leaves the sequence at the largest id still in the table, but an entry
    # deleted before this upgrade may have had a larger one: history names every id the
    # reading list ever gave out, so none of those is handed out again either.
    (used,) = db.execute("""
        SELECT MAX(id) FROM (
            SELECT MAX(id) AS id FROM reading
            UNION ALL SELECT json_extract(old, '$.id') FROM events
                WHERE kind = 'reading' AND json_valid(old)
            UNION ALL SELECT json_extract(new, '$.id') FROM events
                WHERE kind = 'reading' AND json_valid(new)
        ) WHERE typeof(id) = 'integer' AND id > 0""").fetchone()
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'reading'")
    if used is not None:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('reading', ?)", [used])


# In order; append new steps at the end, never edit or reorder shipped ones.
STEPS: list[Callable[["Database"], None]] = [
    m001_progress_notes_time_events,
    m002_runs_index,
    m003_reading_list,
    m004_review_deck,
    m005_reading_ids_never_reused,
]
NAMES = [step.__name__ for step in STEPS]


def build() -> "Migrations":
    """sqlite-utils' Migrations for STEPS. Imported only when there is work to do:
    sqlite_utils pulls in numpy, which `studytui status` should not pay for."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for step in STEPS:
        migrations()(step)
    return migrations
