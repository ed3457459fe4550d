"""The store: migrations from the first schema, concurrent writers, undo, export/restore."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import re
import sqlite3

import pytest

from studytui.store import Store, StoreError, migrations


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "studytui.db")
    yield s
    s.close()


def test_migrations_apply_one_by_one_from_the_first_schema(tmp_path):
    names = migrations.NAMES
    assert names[0] == "m001_progress_notes_time_events"
    path = tmp_path / "old.db"
    # A home created by the first release: only the first migration, with data in it.
    old = Store(path, migrate=False)
    old.migrate(stop_before=names[1])
    assert old.applied_migrations() == names[:1]
    old.set_status("c/a", "done")
    old.set_note("c/a", "kept")
    old.log_time("c/a", 600)
    old.close()
    # Every later migration, one step at a time, keeps the data.
    for i in range(2, len(names) + 1):
        s = Store(path, migrate=False)
        s.migrate(stop_before=names[i] if i < len(names) else None)
        assert s.applied_migrations() == names[:i]
        assert s.status_of("c/a") == "done"
        assert s.note("c/a") == "kept"
        assert s.time_by_key() == {"c/a": 600}
        s.close()
    assert Store(path).applied_migrations() == names


def test_wal_mode(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_status_timestamps_and_noop(store):
    assert store.set_status("c/a", "doing") == "todo"
    p = store.progress()["c/a"]
    assert p.started_at and p.completed_at is None
    store.set_status("c/a", "done")
    assert store.progress()["c/a"].completed_at
    events_before = len(store.events())
    assert store.set_status("c/a", "done") == "done"  # no change, no event
    assert len(store.events()) == events_before
    with pytest.raises(StoreError, match="unknown status"):
        store.set_status("c/a", "finished")


def test_undo_reverts_in_reverse_order_and_is_recorded(store):
    store.set_status("c/a", "doing")
    store.set_status("c/a", "done")
    store.set_note("c/a", "first")
    store.log_time("c/a", 120)
    assert store.undo()["kind"] == "time"
    assert store.time_by_key() == {}
    assert store.undo()["kind"] == "note"
    assert store.note("c/a") == ""
    assert store.undo()["new"] == "done"
    assert store.status_of("c/a") == "doing"
    assert store.undo()["new"] == "doing"
    assert store.status_of("c/a") == "todo"
    assert store.undo() is None
    kinds = [e["kind"] for e in store.events()]
    assert kinds.count("undo") == 4  # history is append-only: undos are events too


def test_log_time_bounds(store):
    with pytest.raises(StoreError):
        store.log_time("c/a", 0)
    with pytest.raises(StoreError):
        store.log_time("c/a", 25 * 3600)


def test_streak_and_activity(store):
    today = dt.date.today()
    assert store.streak(today=today) == 0
    store.set_status("c/a", "done")
    assert store.streak(today=today) == 1
    assert store.activity_by_day(days=7, today=today) == {today: 1}
    # Yesterday's activity continues the streak even before anything happened today.
    assert store.streak(today=today + dt.timedelta(days=1)) == 1
    assert store.streak(today=today + dt.timedelta(days=2)) == 0


def test_reading_list(store):
    rid = store.add_reading("https://example.org/a", "A post", kind="post", tags=["rl"])
    assert [r["title"] for r in store.reading("inbox")] == ["A post"]
    store.move_reading(rid, "archive")
    assert store.reading("inbox") == []
    assert store.reading("archive")[0]["tags"] == ["rl"]
    with pytest.raises(StoreError):
        store.move_reading(999, "archive")


def _state(store):
    doc = store.export_state()
    doc.pop("exported_at")
    return doc


def test_export_restore_into_a_fresh_home_is_identical_and_idempotent(store, tmp_path):
    store.set_status("c/a", "done")
    store.set_status("c/b", "skipped")
    store.set_note("c/a", "## notes\nwith ✅ and 中文")
    store.log_time("c/a", 1500)
    store.add_reading("https://example.org", "x")
    store.undo()
    exported = json.loads(json.dumps(store.export_state()))
    fresh = Store(tmp_path / "fresh" / "studytui.db")
    fresh.restore_state(exported)
    assert _state(fresh) == _state(store)
    fresh.restore_state(exported)
    assert _state(fresh) == _state(store)
    # Undo after restore continues from the restored history.
    assert fresh.undo()["kind"] == store.undo()["kind"]


def test_restore_rejects_foreign_documents(store):
    with pytest.raises(StoreError, match="not a studytui"):
        store.restore_state({"hello": 1})
    with pytest.raises(StoreError, match="version"):
        store.restore_state({"format": "studytui-export", "version": 99})
    with pytest.raises(StoreError, match="list of objects"):
        store.restore_state({"format": "studytui-export", "version": 1, "progress": "x"})


def _writer(path: str, worker: int, n: int) -> None:
    s = Store(path)
    for i in range(n):
        key = f"c/w{worker}-{i}"
        s.set_status(key, "doing")
        s.log_time(key, 60)
        s.set_note(key, f"note {i}")
    s.close()


def test_concurrent_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.db")  # a brand-new home: the writers also race to migrate it
    ctx = multiprocessing.get_context("spawn")
    n, workers = 60, 4
    procs = [ctx.Process(target=_writer, args=(path, w, n)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * workers
    s = Store(path)
    assert len(s.progress()) == n * workers
    assert len(s.time_by_key()) == n * workers
    assert len(s.events()) == 3 * n * workers
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- files a user can break -----------------------------------------------------------------


def test_a_damaged_file_is_a_store_error_and_is_left_alone(tmp_path):
    path = tmp_path / "studytui.db"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreError, match="not a studytui database"):
        Store(path)
    assert path.read_bytes() == b"\x00garbage" * 1000


def test_a_folder_where_the_database_or_home_should_be(tmp_path):
    (tmp_path / "studytui.db").mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path / "studytui.db")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "file" / "studytui.db")


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "studytui.db"
    s = Store(path)
    s.set_status("c/a", "done")
    s.conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES (?, 'm999_from_the_future', '2030-01-01')",
        (migrations.MIGRATION_SET,),
    )
    s.close()
    with pytest.raises(StoreError, match="newer studytui.*m999_from_the_future"):
        Store(path)
    again = Store(path, migrate=False)
    assert again.status_of("c/a") == "done" and again.applied_migrations()[-1] == "m999_from_the_future"
    again.close()


def test_writing_a_read_only_database_is_a_store_error(store):
    store.set_status("c/a", "done")
    store.conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(StoreError, match="cannot write"):
        store.set_status("c/a", "todo")
    assert store.status_of("c/a") == "done"
    assert not store.conn.in_transaction


def test_restore_refuses_an_export_missing_a_table(store):
    store.set_note("c/a", "keep")
    doc = store.export_state()
    del doc["notes"]
    with pytest.raises(StoreError, match="no 'notes' list"):
        store.restore_state(doc)
    assert store.note("c/a") == "keep"


def test_reading_entry_ids_beyond_sqlite_integers(store):
    with pytest.raises(StoreError, match="no reading-list entry"):
        store.move_reading(10**30, "archive")


# -- the migration lock ---------------------------------------------------------------------


def test_a_new_database_is_not_migrated_while_another_process_holds_the_lock(tmp_path, monkeypatch):
    """Deterministic, unlike a race between processes: with the lock held by someone else
    the migration must wait, and run as soon as it is released."""
    import fcntl
    import threading

    from studytui.store import store as store_module

    path = tmp_path / "studytui.db"
    started = threading.Event()
    real_build = store_module.migrations.build

    def build_and_note():
        started.set()
        return real_build()

    monkeypatch.setattr(store_module.migrations, "build", build_and_note)
    opened: list = []
    with open(path.with_name(path.name + ".migrate.lock"), "a") as other_process:
        fcntl.flock(other_process, fcntl.LOCK_EX)  # a separate open file: flock treats it as another owner
        worker = threading.Thread(target=lambda: opened.append(Store(path)), daemon=True)
        worker.start()
        assert not started.wait(1.0), "migrated while another process held the migration lock"
        assert worker.is_alive()
    worker.join(30)
    assert started.is_set() and opened and opened[0].applied_migrations() == migrations.NAMES
    opened[0].close()


# -- export and restore against the database itself ------------------------------------------


def _full(store):
    """Every table the export carries, read straight from SQLite: every column the table
    has (not just those the export names), every row in rowid order."""
    out = {}
    for table in ("progress", "notes", "time_log", "events", "reading"):
        cols = [r[1] for r in store.conn.execute(f"PRAGMA table_info({table})")]
        out[table] = (cols, store.conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall())
    return out


def _populated(store):
    """Every column of every exported table holds a non-NULL value in some row."""
    store.set_status("c/a", "done")
    store.set_status("c/b", "doing")
    store.set_note("c/a", "## notes\nwith ✅ and 中文")
    store.log_time("c/a", 1500, source="timer")
    store.log_time("c/b", 600)  # the undo below takes this one back
    rid = store.add_reading("https://example.org/p", "A paper", kind="paper", tags=["rl", "ppo"])
    store.move_reading(rid, "course", course="c")
    store.add_reading("https://example.org/q", "Another")
    store.undo()
    for table, (cols, rows) in _full(store).items():
        for i, col in enumerate(cols):
            assert any(row[i] is not None for row in rows), f"{table}.{col} is NULL in every row"


def test_export_restore_reproduces_every_column_of_every_table(store, tmp_path):
    _populated(store)
    exported = json.loads(json.dumps(store.export_state()))
    fresh = Store(tmp_path / "fresh" / "studytui.db")
    fresh.set_status("x/stale", "done")  # replaced, not merged
    fresh.restore_state(exported)
    assert _full(fresh) == _full(store)
    fresh.restore_state(exported)
    assert _full(fresh) == _full(store)
    fresh.close()


def test_restore_names_the_bad_row_and_changes_nothing(store):
    _populated(store)
    before = _full(store)
    good = json.loads(json.dumps(store.export_state()))
    cases = [
        ("progress", 0, "status", "finished", "progress[0].status must be one of"),
        ("progress", 1, "updated_at", "yesterday", "progress[1].updated_at is not an ISO 8601 time"),
        ("notes", 0, "body", 42, "notes[0].body must be text"),
        ("notes", 0, "key", "c/\x1b]0;x\x07", "notes[0].key contains a control character U+001B"),
        ("time_log", 0, "seconds", 10**20, "time_log[0].seconds must be between"),
        ("time_log", 0, "seconds", True, "time_log[0].seconds must be a whole number"),
        ("events", 0, "old", "{not json", "events[0].old is not JSON text"),
        ("events", 1, "id", 1, "events[1].id 1 appears twice"),
        ("reading", 0, "url", "javascript:alert(1)", "reading[0].url must be an http(s) URL"),
        ("reading", 1, "tags", "[/]", "reading[1].tags is not a JSON list"),
        ("reading", 1, "title", "x\u202eexe", "reading[1].title contains a control character U+202E"),
        ("reading", 0, "status", "trash", "reading[0].status must be one of"),
    ]
    for table, row, column, value, message in cases:
        doc = json.loads(json.dumps(good))
        doc[table][row][column] = value
        with pytest.raises(StoreError, match=re.escape(message)):
            store.restore_state(doc)
        assert _full(store) == before, (table, column)


def test_delete_reading_removes_the_entry_and_records_it(store):
    keep = store.add_reading("https://example.org/keep", "keep")
    gone = store.add_reading("https://example.org/gone", "gone", tags=["x"])
    removed = store.delete_reading(gone)
    assert removed["title"] == "gone" and removed["tags"] == ["x"]
    assert [r["id"] for r in store.reading()] == [keep]
    assert store.events(limit=1)[0]["new"] == {"id": gone, "status": "deleted"}
    with pytest.raises(StoreError, match="no reading-list entry"):
        store.delete_reading(gone)


def test_a_stored_odd_value_is_shown_not_fatal(store):
    store.conn.execute(
        "INSERT INTO reading (url, title, tags, added_at, updated_at) "
        "VALUES ('https://e.org', 't', '[/]', 'x', 'x')"
    )
    store.conn.execute(
        "INSERT INTO events (at, key, kind, old, new) VALUES ('not a time', 'k', 'status', '{bad', 'todo')"
    )
    assert store.reading()[0]["tags"] == ["[/]"]
    assert store.events(limit=1)[0]["old"] == "{bad"
    assert store.streak() == 0
    store.set_status("c/a", "done")
    store.conn.execute(
        "INSERT INTO events (at, key, kind, old, new) VALUES ('2026-01-01', 'c/x', 'status', "
        "'\"finished\"', '\"todo\"')"
    )
    # The damaged newest entry is skipped once (nothing else changes), then undo goes on.
    skipped = store.undo()
    assert skipped["skipped"] and skipped["key"] == "c/x" and store.status_of("c/a") == "done"
    assert store.undo()["key"] == "c/a" and store.status_of("c/a") == "todo"


def test_a_backup_with_windows_line_ends_in_a_note_restores(store, tmp_path):
    store.conn.execute(
        "INSERT INTO notes (key, body, updated_at) VALUES ('c/a', 'one\r\ntwo\r\n', "
        "'2026-01-01T00:00:00+00:00')"
    )
    exported = json.loads(json.dumps(store.export_state()))
    fresh = Store(tmp_path / "fresh.db")
    fresh.restore_state(exported)
    assert fresh.note("c/a") == "one\r\ntwo\r\n"
    exported["notes"][0]["body"] = "a lone \r is not a line end"
    with pytest.raises(StoreError, match="U\\+000D"):
        fresh.restore_state(exported)
