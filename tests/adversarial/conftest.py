"""Hostile inputs shared by the adversarial tests (CLI side and TUI side).

- `hostile_curriculum`: a copy of fixtures/curriculum, a shared folder written to break the
  terminal it is shown in (markup everywhere; control characters the loader must refuse).
- `hostile_home`: STUDYTUI_HOME whose database already holds hostile notes, reading-list
  entries, orphan progress and history rows, written straight into SQLite the way an
  older studytui, a hand edit or a bug could have left them (no validation on the way in).
- `hostile_backup`: an export whose rows carry control characters (restore must refuse it,
  naming the row); `markup_backup`: a valid export full of markup (restore must take it).
- `assert_terminal_safe(text)`: no byte a terminal acts on (C0 but newline/tab, ESC, DEL,
  C1, bidi controls), and no traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hostile import HOSTILE_KEYS, HOSTILE_NOTE, HOSTILE_READING, assert_terminal_safe

from studytui.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def terminal_safe():
    """The checker as a fixture, for tests that prefer a fixture to an import."""
    return assert_terminal_safe


@pytest.fixture
def hostile_curriculum(tmp_path) -> Path:
    folder = tmp_path / "hostile-curriculum"
    shutil.copytree(FIXTURES / "curriculum", folder)
    return folder


@pytest.fixture
def hostile_home(tmp_path, monkeypatch) -> Path:
    """A home whose database holds hostile rows; returns the home folder."""
    home = tmp_path / "hostile-home"
    monkeypatch.setenv("STUDYTUI_HOME", str(home))
    monkeypatch.delenv("STUDYTUI_CURRICULUM", raising=False)
    store = Store(home / "studytui.db")
    store.set_status("evil/markup", "doing")
    store.set_note("evil/markup", "a fine note")
    conn = store.conn
    now = "2026-11-29T12:00:00+00:00"
    with conn:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT OR REPLACE INTO notes (key, body, updated_at) VALUES (?, ?, ?)",
            ("evil/markup", HOSTILE_NOTE, now),
        )
        for key in HOSTILE_KEYS:
            conn.execute(
                "INSERT INTO progress (key, status, started_at, completed_at, updated_at) "
                "VALUES (?, 'done', ?, ?, ?)",
                (key, now, now, now),
            )
            conn.execute(
                "INSERT INTO notes (key, body, updated_at) VALUES (?, ?, ?)", (key, HOSTILE_NOTE, now)
            )
            conn.execute(
                "INSERT INTO time_log (key, seconds, logged_at, source) VALUES (?, 60, ?, '\x1b[0m')",
                (key, now),
            )
        for url, title, kind, tags, status, course in HOSTILE_READING:
            conn.execute(
                "INSERT INTO reading (url, title, kind, tags, status, course, added_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (url, title, kind, tags, status, course, now, now),
            )
        # History rows a bug could leave: not JSON, and a timestamp that is not one.
        conn.execute(
            "INSERT INTO events (at, key, kind, old, new, source) VALUES (?, ?, 'status', ?, ?, 'x')",
            ("not a time \x1b[2J", "[/]", "{not json", "\x1b]0;x\x07"),
        )
    store.close()
    return home


def _export(rows: dict) -> dict:
    doc = {
        "format": "studytui-export",
        "version": 1,
        "exported_at": "2026-11-29T12:00:00+00:00",
        "migrations": [],
        "progress": [],
        "notes": [],
        "time_log": [],
        "events": [],
        "reading": [],
    }
    doc.update(rows)
    return doc


@pytest.fixture
def hostile_backup(tmp_path) -> Path:
    """An export with a control character in row 1 of the reading list (row 0 is fine)."""
    now = "2026-11-29T12:00:00+00:00"
    doc = _export(
        {
            "progress": [
                {
                    "key": "evil/markup",
                    "status": "done",
                    "started_at": now,
                    "completed_at": now,
                    "updated_at": now,
                }
            ],
            "reading": [
                {
                    "id": 1,
                    "url": "https://ok.example/",
                    "title": "fine",
                    "kind": "article",
                    "tags": "[]",
                    "status": "inbox",
                    "course": None,
                    "added_at": now,
                    "updated_at": now,
                },
                {
                    "id": 2,
                    "url": "https://ok.example/2",
                    "title": "\x1b]0;pwned\x07",
                    "kind": "article",
                    "tags": "[]",
                    "status": "inbox",
                    "course": None,
                    "added_at": now,
                    "updated_at": now,
                },
            ],
        }
    )
    path = tmp_path / "hostile-backup.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def markup_backup(tmp_path) -> Path:
    """A valid export whose every text field is Rich markup: restore takes it as text."""
    now = "2026-11-29T12:00:00+00:00"
    doc = _export(
        {
            "progress": [
                {"key": "[/]", "status": "done", "started_at": now, "completed_at": now, "updated_at": now}
            ],
            "notes": [
                {
                    "key": "evil/markup",
                    "body": "[/] [link=file:///etc/passwd]x[/link]\n[bold",
                    "updated_at": now,
                }
            ],
            "time_log": [{"id": 1, "key": "[/]", "seconds": 60, "logged_at": now, "source": "[/]"}],
            "events": [
                {
                    "id": 1,
                    "at": now,
                    "key": "[/]",
                    "kind": "status",
                    "old": '"todo"',
                    "new": '"done"',
                    "source": "[/]",
                }
            ],
            "reading": [
                {
                    "id": 7,
                    "url": "https://ok.example/[x]",
                    "title": "[link=file:///etc/passwd]x[/link]",
                    "kind": "[/]",
                    "tags": json.dumps(["[/]", "[bold"]),
                    "status": "inbox",
                    "course": None,
                    "added_at": now,
                    "updated_at": now,
                }
            ],
        }
    )
    path = tmp_path / "markup-backup.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
