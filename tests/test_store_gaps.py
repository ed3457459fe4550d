"""The store as a user sees it through `status`, `history`, `undo`, `read` and the heatmap,
pinned to exact values: the reading list's moves and deletions and what history keeps of
them, undo of each kind of change, time-entry limits, when an item was started, the
newest backup, streaks. Written to catch the bugs a mutation run (`make mutants`) showed
the rest of the suite would let through."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest

from studytui.store import DuplicateReading, Store, StoreError, migrations
from studytui.store.store import DamagedDatabase, latest_backup, now_iso


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "studytui.db")
    yield s
    s.close()


def _newest_event(store: Store) -> dict:
    return store.events(limit=1)[0]


# ---- reading list -------------------------------------------------------------------


def test_add_reading_keeps_what_was_given_and_starts_in_the_inbox(store):
    first = store.add_reading("https://example.org/a", "A", kind="paper", tags=["llm", "rope"], source="tui")
    second = store.add_reading("https://example.org/b", "B")
    assert second == first + 1
    (a,) = [r for r in store.reading() if r["id"] == first]
    assert (a["url"], a["title"], a["kind"], a["tags"], a["status"], a["course"]) == (
        "https://example.org/a",
        "A",
        "paper",
        ["llm", "rope"],
        "inbox",
        None,
    )
    (b,) = [r for r in store.reading() if r["id"] == second]
    assert (b["kind"], b["tags"]) == ("article", [])
    assert a["added_at"] == a["updated_at"] and a["added_at"]
    event = store.events()[1]
    assert (event["kind"], event["key"], event["old"], event["source"]) == ("reading", None, None, "tui")
    assert event["new"] == {"id": first, "status": "inbox", "url": "https://example.org/a"}
    assert _newest_event(store)["source"] == "cli"


def test_adding_the_same_resource_twice_names_the_entry_already_there(store):
    store.add_reading("https://example.org/x", "Other")
    first = store.add_reading("https://www.youtube.com/watch?v=kCc8FmEb1nY", "GPT")
    store.move_reading(first, "archive")
    with pytest.raises(DuplicateReading) as e:
        store.add_reading("https://youtu.be/kCc8FmEb1nY", "GPT again")
    assert e.value.existing == {
        "id": first,
        "url": "https://www.youtube.com/watch?v=kCc8FmEb1nY",
        "title": "GPT",
        "status": "archive",
    }
    assert str(e.value) == (
        f"the reading list already holds https://youtu.be/kCc8FmEb1nY as #{first} (archive): GPT"
    )
    assert len(store.reading()) == 2


def test_moving_a_reading_entry_files_it_and_history_says_from_where(store):
    rid = store.add_reading("https://example.org/a", "A")
    other = store.add_reading("https://example.org/b", "B")
    store.move_reading(rid, "course", course="nlp", source="tui")
    (entry,) = store.reading("course")
    assert (entry["id"], entry["status"], entry["course"]) == (rid, "course", "nlp")
    assert [r["id"] for r in store.reading("inbox")] == [other]
    event = _newest_event(store)
    assert (event["kind"], event["key"], event["source"]) == ("reading", None, "tui")
    assert event["old"] == {"id": rid, "status": "inbox", "course": None}
    assert event["new"] == {"id": rid, "status": "course", "course": "nlp"}
    store.move_reading(rid, "archive")
    (entry,) = store.reading("archive")
    assert entry["course"] is None  # leaving a course forgets it
    event = _newest_event(store)
    assert event["old"] == {"id": rid, "status": "course", "course": "nlp"}
    assert event["new"] == {"id": rid, "status": "archive", "course": None}
    assert event["source"] == "cli"
    store.move_reading(rid, "inbox")
    assert {r["id"] for r in store.reading("inbox")} == {rid, other}


@pytest.mark.parametrize("place", ["done", "Inbox", "", "deleted"])
def test_moving_to_an_unknown_place_is_refused_and_changes_nothing(store, place):
    rid = store.add_reading("https://example.org/a", "A")
    with pytest.raises(StoreError, match=f"unknown reading-list place '{place}'"):
        store.move_reading(rid, place)
    assert store.reading()[0]["status"] == "inbox"


@pytest.mark.parametrize("rid", [0, -1, 2**63, 999])
def test_moving_or_deleting_an_entry_that_is_not_there_says_so(store, rid):
    store.add_reading("https://example.org/a", "A")
    events = len(store.events())
    with pytest.raises(StoreError, match=f"^no reading-list entry {rid}$"):
        store.move_reading(rid, "archive")
    with pytest.raises(StoreError, match=f"^no reading-list entry {rid}$"):
        store.delete_reading(rid)
    assert len(store.reading()) == 1 and len(store.events()) == events


def test_the_largest_possible_id_is_looked_up_not_refused_as_out_of_range(store):
    with pytest.raises(StoreError, match=f"^no reading-list entry {2**63 - 1}$"):
        store.move_reading(2**63 - 1, "archive")
    with pytest.raises(StoreError, match="^no reading-list entry 1$"):
        store.delete_reading(1)


def test_an_entry_with_a_large_id_can_be_moved_and_deleted(store):
    # ids come from sqlite (a restored export keeps its own): any positive 64-bit id is valid
    store.add_reading("https://example.org/a", "A")
    with sqlite3.connect(store.path) as side:
        side.execute("UPDATE reading SET id = ?", (2**40,))
    store.move_reading(2**40, "archive")
    assert store.reading("archive")[0]["id"] == 2**40
    assert store.delete_reading(2**40)["title"] == "A"
    assert store.reading() == []


def test_deleting_a_reading_entry_returns_it_and_history_keeps_what_it_was(store):
    keep = store.add_reading("https://example.org/keep", "Keep")
    rid = store.add_reading("https://example.org/a", "A title", kind="video", tags=["x"])
    store.move_reading(rid, "archive")
    entry = store.delete_reading(rid, source="tui")
    assert (entry["id"], entry["url"], entry["title"], entry["kind"], entry["tags"], entry["status"]) == (
        rid,
        "https://example.org/a",
        "A title",
        "video",
        ["x"],
        "archive",
    )
    assert [r["id"] for r in store.reading()] == [keep]
    event = _newest_event(store)
    assert (event["kind"], event["key"], event["source"]) == ("reading", None, "tui")
    assert event["old"] == {
        "id": rid,
        "status": "archive",
        "url": "https://example.org/a",
        "title": "A title",
    }
    assert event["new"] == {"id": rid, "status": "deleted"}
    assert store.delete_reading(keep)["title"] == "Keep"
    assert _newest_event(store)["source"] == "cli"
    assert store.reading() == []
    # the same URL can be added again once deleted
    again = store.add_reading("https://example.org/a", "again")
    assert [(r["id"], r["title"]) for r in store.reading()] == [(again, "again")]


# ---- reading-list ids are never given out twice -------------------------------------

BEFORE_AUTOINCREMENT = "m005_reading_ids_never_reused"


def _reading_table(store: Store) -> list[tuple]:
    return store.conn.execute("SELECT * FROM reading ORDER BY id").fetchall()


def _old_home(path) -> Store:
    """A home at the schema before reading ids became AUTOINCREMENT."""
    old = Store(path, migrate=False)
    old.migrate(stop_before=BEFORE_AUTOINCREMENT)
    assert old.applied_migrations()[-1] != BEFORE_AUTOINCREMENT
    return old


def test_deleting_the_newest_entry_does_not_free_its_id(store):
    store.add_reading("https://example.org/a", "A")
    newest = store.add_reading("https://example.org/b", "B")
    store.delete_reading(newest)
    added = store.add_reading("https://example.org/c", "C")
    assert added == newest + 1
    # a scripted `reading rm <newest>` now finds nothing instead of deleting C
    with pytest.raises(StoreError, match=f"^no reading-list entry {newest}$"):
        store.delete_reading(newest)


def test_the_old_schema_did_reuse_the_id_which_is_why_the_migration_exists(tmp_path):
    old = _old_home(tmp_path / "old.db")
    newest = old.add_reading("https://example.org/a", "A")
    old.delete_reading(newest)
    assert old.add_reading("https://example.org/b", "B") == newest
    old.close()


def test_upgrading_keeps_every_row_id_and_column_and_no_used_id_comes_back(tmp_path):
    path = tmp_path / "old.db"
    old = _old_home(path)
    a = old.add_reading("https://example.org/a", "A paper", kind="paper", tags=["rl", "ppo"])
    old.move_reading(a, "course", course="c")
    b = old.add_reading("https://example.org/b", "B")
    old.conn.execute("UPDATE reading SET id = 4 WHERE id = ?", (b,))  # a gap in the ids
    gone = old.add_reading("https://example.org/gone", "Deleted before the upgrade")
    old.delete_reading(gone)
    old.conn.execute(  # a row typed by hand, into the gap, keeps its odd values
        "INSERT INTO reading (id, url, title, kind, tags, status, course, added_at, updated_at) "
        "VALUES (2, 'https://example.org/c', 'C', 'video', '[]', 'archive', NULL, 'x', 'y')"
    )
    rows, events = _reading_table(old), old.events()
    assert [r[0] for r in rows] == [1, 2, 4]
    old.close()

    upgraded = Store(path)
    assert upgraded.applied_migrations() == migrations.NAMES
    assert _reading_table(upgraded) == rows
    assert upgraded.events() == events
    table_sql = upgraded.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'reading'").fetchone()[0]
    assert "AUTOINCREMENT" in table_sql and "CHECK (status IN" in table_sql
    # `gone` (5) is past every id still in the table; history remembers it was given out
    assert gone == 5
    assert upgraded.add_reading("https://example.org/new", "New") == gone + 1
    upgraded.close()


def test_upgrading_a_home_whose_newest_entry_is_still_there(tmp_path):
    old = _old_home(tmp_path / "old.db")
    old.add_reading("https://example.org/a", "A")
    newest = old.add_reading("https://example.org/b", "B")
    old.close()
    upgraded = Store(tmp_path / "old.db")
    upgraded.delete_reading(newest)
    assert upgraded.add_reading("https://example.org/c", "C") == newest + 1
    upgraded.close()


def test_upgrading_an_empty_reading_list_starts_at_one(tmp_path):
    _old_home(tmp_path / "old.db").close()
    upgraded = Store(tmp_path / "old.db")
    assert upgraded.add_reading("https://example.org/a", "A") == 1
    upgraded.close()


def test_upgrading_ignores_history_too_damaged_to_name_an_id(tmp_path):
    path = tmp_path / "old.db"
    old = _old_home(path)
    rid = old.add_reading("https://example.org/a", "A")
    for damaged in ("{not json", '{"id": "nine"}', '{"id": 1e30}', '{"id": -4}', "[40]", None):
        old.conn.execute(
            "INSERT INTO events (at, key, kind, old, new) VALUES ('2026-01-01', NULL, 'reading', NULL, ?)",
            (damaged,),
        )
    # another kind's id (a time entry's) is not a reading id
    old.conn.execute(
        "INSERT INTO events (at, key, kind, old, new) VALUES ('2026-01-01', 'c/a', 'time', NULL, ?)",
        ('{"id": 50, "seconds": 60}',),
    )
    old.close()
    upgraded = Store(path)
    assert upgraded.add_reading("https://example.org/b", "B") == rid + 1
    upgraded.close()


def test_an_index_added_by_hand_survives_the_upgrade(tmp_path):
    path = tmp_path / "old.db"
    old = _old_home(path)
    old.conn.execute("CREATE INDEX my_reading_url ON reading(url)")
    old.close()
    upgraded = Store(path)
    found = upgraded.conn.execute(
        "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = 'my_reading_url'"
    ).fetchall()
    assert found == [("reading",)]
    upgraded.close()


def test_a_restore_into_a_fresh_home_does_not_give_out_an_id_its_history_used(store, tmp_path):
    store.add_reading("https://example.org/a", "A")
    newest = store.add_reading("https://example.org/b", "B")
    store.delete_reading(newest)
    exported = store.export_state()
    fresh = Store(tmp_path / "fresh" / "studytui.db")
    fresh.restore_state(exported)
    assert fresh.add_reading("https://example.org/c", "C") == newest + 1
    fresh.restore_state(exported)  # the sequence only grows: C's id is not given out again
    assert fresh.add_reading("https://example.org/c", "C") == newest + 2
    fresh.close()


def test_a_restored_entry_with_the_largest_id_leaves_no_id_to_give_out(store, tmp_path):
    store.add_reading("https://example.org/a", "A")
    exported = store.export_state()
    exported["reading"][0]["id"] = 2**63 - 1
    store.restore_state(exported)
    with pytest.raises(StoreError) as e:
        store.add_reading("https://example.org/b", "B")
    assert str(e.value) == (
        "the reading list has given out its last id (#9223372036854775807, from a restored backup); "
        "restore a backup with smaller ids to add entries"
    )
    assert len(store.reading()) == 1


# ---- notes and the runs index --------------------------------------------------------


def test_saving_a_note_says_whether_anything_changed(store):
    assert store.set_note("c/a", "first") is True
    assert store.set_note("c/a", "first") is False
    assert store.set_note("c/b", "") is False  # no note to delete
    (event,) = store.events()
    assert (event["key"], event["kind"], event["old"], event["new"], event["source"]) == (
        "c/a",
        "note",
        "",
        "first",
        "cli",
    )
    assert store.set_note("c/a", "", source="tui") is True
    assert store.notes() == {} and _newest_event(store)["source"] == "tui"


def test_a_run_not_in_the_index_is_none(store):
    assert store.run("r-missing") is None
    store.upsert_run({"id": "r1", "lab": "gpt", "status": "done", "created_at": now_iso(), "dir": "/r/1"})
    assert store.run("r-missing") is None
    assert (store.run("r1")["lab"], store.run("r1")["dir"]) == ("gpt", "/r/1")


def test_the_runs_index_stamps_each_write_itself_in_utc(store):
    old = "2000-01-01T00:00:00+00:00"
    run = {"id": "r1", "lab": "gpt", "status": "running", "created_at": old, "dir": "/r/1"}
    store.upsert_run({**run, "updated_at": old})
    first = store.run("r1")["updated_at"]
    assert first != old and dt.datetime.fromisoformat(first).utcoffset() == dt.timedelta(0)
    store.upsert_run({**store.run("r1"), "status": "done", "summary": {"loss": 1.5}, "updated_at": old})
    row = store.run("r1")
    assert (row["status"], row["summary"], row["created_at"]) == ("done", {"loss": 1.5}, old)
    assert row["updated_at"] != old


def test_an_empty_json_column_in_the_runs_index_reads_as_none(store):
    store.upsert_run({"id": "r1", "lab": "gpt", "status": "done", "created_at": now_iso(), "dir": "/r/1"})
    with sqlite3.connect(store.path) as side:  # written by hand, or by a crash mid-write
        side.execute("UPDATE runs SET settings = '', summary = '', last = '{\"step\": 3}'")
    (row,) = store.runs()
    assert (row["settings"], row["summary"], row["last"]) == (None, None, {"step": 3})


# ---- study time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, message",
    [
        (0, "study time must be more than zero"),
        (-5, "study time must be more than zero"),
        (24 * 3600 + 1, "study time must be at most 24 hours per entry"),
    ],
)
def test_a_time_entry_outside_one_second_to_one_day_is_refused(store, seconds, message):
    with pytest.raises(StoreError) as e:
        store.log_time("c/a", seconds)
    assert str(e.value) == message
    assert store.time_by_key() == {} and store.events() == []


def test_time_entries_of_one_second_and_a_whole_day_are_kept(store):
    first = store.log_time("c/a", 1)
    second = store.log_time("c/a", 24 * 3600, source="tui")
    assert second == first + 1
    assert store.time_by_key() == {"c/a": 24 * 3600 + 1}
    assert store.total_time() == 24 * 3600 + 1
    event = _newest_event(store)
    assert (event["key"], event["kind"], event["old"], event["source"]) == ("c/a", "time", None, "tui")
    assert event["new"] == {"id": second, "seconds": 24 * 3600}
    assert store.events()[1]["source"] == "cli"


# ---- when an item was started and finished -------------------------------------------


def test_started_at_is_kept_when_an_item_is_marked_again(store):
    store.set_status("c/a", "doing")
    started = store.progress()["c/a"].started_at
    assert started and store.progress()["c/a"].completed_at is None
    with sqlite3.connect(store.path) as side:  # make "started" visibly older than now
        side.execute("UPDATE progress SET started_at = '2020-01-01T00:00:00+00:00'")
    store.set_status("c/a", "done")
    p = store.progress()["c/a"]
    assert p.started_at == "2020-01-01T00:00:00+00:00"
    assert p.completed_at and p.completed_at == p.updated_at
    store.set_status("c/a", "doing")
    p = store.progress()["c/a"]
    assert p.started_at == "2020-01-01T00:00:00+00:00" and p.completed_at is None


def test_an_item_marked_done_at_once_was_started_then_too(store):
    store.set_status("c/a", "done")
    p = store.progress()["c/a"]
    assert p.started_at and p.started_at == p.completed_at == p.updated_at
    store.set_status("c/b", "skipped")
    p = store.progress()["c/b"]
    assert p.started_at and p.completed_at is None


def test_undoing_done_keeps_when_the_item_was_started(store):
    store.set_status("c/a", "doing")
    with sqlite3.connect(store.path) as side:
        side.execute("UPDATE progress SET started_at = '2020-01-01T00:00:00+00:00'")
    store.set_status("c/a", "done")
    store.undo()
    p = store.progress()["c/a"]
    assert (p.status, p.started_at, p.completed_at) == ("doing", "2020-01-01T00:00:00+00:00", None)


def test_a_todo_item_has_no_start(store):
    store.set_status("c/a", "todo")  # the same status: nothing happens
    assert store.progress() == {} and store.events() == []
    store.set_status("c/b", "skipped")
    store.undo()
    assert store.progress()["c/b"].status == "todo"


def test_a_restored_item_without_a_start_gets_one_when_worked_on_not_when_set_back(store):
    doc = store.export_state()
    doc["progress"] = [
        {"key": k, "status": "skipped", "started_at": None, "completed_at": None, "updated_at": "2026-01-01"}
        for k in ("c/a", "c/b")
    ]
    store.restore_state(doc)
    store.set_status("c/a", "todo")
    store.set_status("c/b", "doing")
    p = store.progress()
    assert (p["c/a"].status, p["c/a"].started_at) == ("todo", None)
    assert p["c/b"].started_at and p["c/b"].started_at == p["c/b"].updated_at


def test_marking_an_item_records_the_cli_unless_told_and_refuses_an_unknown_status(store):
    assert store.set_status("c/a", "doing") == "todo"
    assert store.set_status("c/a", "done", source="tui") == "doing"
    assert [e["source"] for e in store.events()] == ["tui", "cli"]
    with pytest.raises(StoreError) as e:
        store.set_status("c/a", "finished")
    assert str(e.value) == "unknown status 'finished' (use one of: todo, doing, done, skipped)"
    assert store.status_of("c/a") == "done"


def test_history_and_its_export_keep_text_as_written_not_escaped(store):
    store.set_note("c/a", "naïve attention → softmax")
    store.set_note("c/a", "über")
    exported = store.export_state()["events"][-1]
    assert (exported["old"], exported["new"]) == ('"naïve attention → softmax"', '"über"')


# ---- undo ---------------------------------------------------------------------------


def test_undo_reverts_each_kind_of_change_newest_first(store):
    store.set_status("c/a", "doing")
    store.set_status("c/a", "done")
    store.set_note("c/a", "first")
    store.set_note("c/a", "second")
    entry = store.log_time("c/a", 600)
    store.add_reading("https://example.org/a", "A")  # not undoable: skipped over

    undone = store.undo(source="tui")
    assert (undone["id"], undone["key"], undone["kind"], undone["new"]) == (
        store.events(key="c/a")[1]["id"],
        "c/a",
        "time",
        {"id": entry, "seconds": 600},
    )
    assert "skipped" not in undone
    assert store.time_by_key() == {}
    marker = _newest_event(store)
    assert (marker["kind"], marker["key"], marker["old"], marker["source"]) == ("undo", "c/a", None, "tui")
    assert marker["new"] == {"event": undone["id"], "kind": "time"}

    undone = store.undo()
    assert (undone["kind"], undone["old"], undone["new"]) == ("note", "first", "second")
    assert store.note("c/a") == "first"
    assert _newest_event(store)["source"] == "cli"
    assert store.undo()["kind"] == "note" and store.note("c/a") == "" and store.notes() == {}

    undone = store.undo()
    assert (undone["kind"], undone["old"], undone["new"]) == ("status", "doing", "done")
    p = store.progress()["c/a"]
    assert p.status == "doing" and p.completed_at is None and p.started_at
    undone = store.undo()
    assert (undone["kind"], undone["old"], undone["new"]) == ("status", "todo", "doing")
    assert store.status_of("c/a") == "todo"
    assert store.undo() is None
    assert store.undo() is None


def test_undo_skips_a_damaged_history_entry_once_and_goes_on(store):
    store.set_status("c/a", "doing")
    store.log_time("c/a", 60)
    store.set_note("c/a", "n")
    with sqlite3.connect(store.path) as side:
        side.execute("UPDATE events SET old = '\"nonsense\"' WHERE kind = 'status'")
        side.execute("UPDATE events SET new = '{\"seconds\": 60}' WHERE kind = 'time'")
        side.execute("UPDATE events SET old = '5' WHERE kind = 'note'")
    damaged = {"note": (5, "n"), "time": (None, {"seconds": 60}), "status": ("nonsense", "doing")}
    for kind in ("note", "time", "status"):
        undone = store.undo()
        assert undone["kind"] == kind and undone["skipped"] is True
        assert (undone["key"], undone["old"], undone["new"]) == ("c/a", *damaged[kind])
        marker = _newest_event(store)
        assert (marker["kind"], marker["key"]) == ("undo", "c/a")
        assert marker["new"] == {"event": undone["id"], "kind": kind, "skipped": "damaged"}
    # nothing was changed by the skipped entries
    assert (
        store.status_of("c/a") == "doing" and store.time_by_key() == {"c/a": 60} and store.note("c/a") == "n"
    )
    assert store.undo() is None


def test_an_undo_marker_that_is_not_json_does_not_stop_undo(store):
    store.set_status("c/a", "doing")
    _hand_made_event(store, "2024-01-01T00:00:00+00:00", None, "undo", "null", "garbage")
    assert store.undo()["kind"] == "status"
    assert store.status_of("c/a") == "todo"


# ---- backups ------------------------------------------------------------------------


def test_latest_backup_is_the_newest_file_by_time_not_by_name(tmp_path):
    db = tmp_path / "studytui.db"
    assert latest_backup(db) is None
    backups = tmp_path / "backups"
    backups.mkdir()
    assert latest_backup(db) is None
    (backups / "notes.txt").write_text("not a backup")
    assert latest_backup(db) is None
    for name, age in (("b.json", 300), ("a.json", 100), ("c.json", 200)):
        path = backups / name
        path.write_text("{}")
        os.utime(path, (1_700_000_000 - age, 1_700_000_000 - age))
    assert latest_backup(db) == backups / "a.json"
    assert latest_backup(str(db)) == backups / "a.json"


# ---- activity and streak ------------------------------------------------------------


def _hand_made_event(store: Store, at: str, key: str | None, kind: str, old: str, new: str) -> None:
    """A history row written from another connection, as a restore or a hand edit leaves it."""
    with sqlite3.connect(store.path) as side:
        side.execute(
            "INSERT INTO events (at, key, kind, old, new, source) VALUES (?, ?, ?, ?, ?, 'cli')",
            (at, key, kind, old, new),
        )


def _active_on(store: Store, *days: dt.date) -> None:
    """A history entry at local noon on each day (as if the user had studied then)."""
    for day in days:
        at = dt.datetime.combine(day, dt.time(12)).astimezone().astimezone(dt.timezone.utc)
        _hand_made_event(store, at.isoformat(timespec="seconds"), "c/a", "note", '""', '"x"')


TODAY = dt.date(2026, 3, 18)


def _days_ago(*ns: int) -> list[dt.date]:
    return [TODAY - dt.timedelta(days=n) for n in ns]


def test_activity_by_day_counts_changes_per_day_over_84_days_by_default(store):
    _active_on(store, *_days_ago(0, 0, 0, 2, 84, 85))
    assert store.activity_by_day(today=TODAY) == {TODAY: 3, _days_ago(2)[0]: 1, _days_ago(84)[0]: 1}
    assert store.activity_by_day(days=2, today=TODAY) == {TODAY: 3, _days_ago(2)[0]: 1}


def test_activity_by_day_defaults_to_today(store):
    store.set_status("c/a", "doing")
    store.set_note("c/a", "x")
    assert store.activity_by_day() == {dt.date.today(): 2}


@pytest.mark.parametrize(
    "days_active, streak",
    [
        ((), 0),
        ((0,), 1),
        ((0, 1, 2), 3),
        ((1, 2), 2),  # not yet today: the streak up to yesterday still stands
        ((0, 1, 3, 4), 2),  # a gap ends it
        ((2, 3), 0),  # nothing today or yesterday
        ((0, 2, 3), 1),
        (tuple(range(100)), 100),  # longer than the heatmap's 84 days
    ],
)
def test_streak_counts_consecutive_days_up_to_today_or_yesterday(store, days_active, streak):
    _active_on(store, *_days_ago(*days_active))
    assert store.streak(today=TODAY) == streak


def test_streak_counts_from_the_day_given_not_from_the_clock(store):
    long_ago = dt.date(1990, 6, 1)  # far outside ten years before any real today
    _active_on(store, long_ago, long_ago - dt.timedelta(days=1))
    assert store.streak(today=long_ago) == 2


def test_streak_looks_back_ten_years_at_most(store):
    # today and the 3660 days before it; an older day of the same streak is not counted
    _active_on(store, *_days_ago(*range(3663)))
    assert store.streak(today=TODAY) == 3661


def test_streak_defaults_to_today(store):
    assert store.streak() == 0
    store.log_time("c/a", 60)
    assert store.streak() == 1


# ---- what the desk reads: status, recent items, data_version, check ----------------


def test_an_item_never_marked_is_todo(store):
    assert store.status_of("c/never") == "todo"
    store.set_status("c/a", "doing")
    assert (store.status_of("c/a"), store.status_of("c/b")) == ("doing", "todo")


def test_recent_keys_are_the_items_changed_last_newest_first_each_once(store):
    assert store.recent_keys() == []
    store.set_status("c/a", "doing")
    store.set_note("c/b", "n")
    store.log_time("c/c", 60)
    store.set_status("c/a", "done")  # c/a again: it moves to the front, listed once
    store.add_reading("https://example.org/a", "A")  # the reading list is not an item
    assert store.recent_keys() == ["c/a", "c/c", "c/b"]
    assert store.recent_keys(2) == ["c/a", "c/c"]


def test_recent_keys_lists_ten_items_unless_asked_for_more(store):
    for i in range(12):
        store.set_status(f"c/{i:02}", "doing")
    assert store.recent_keys() == [f"c/{i:02}" for i in range(11, 1, -1)]
    assert len(store.recent_keys(12)) == 12


def test_a_reading_list_event_that_names_an_item_is_not_studying_it(store):
    # store-written reading events have no key; a restored or hand-made one may
    store.set_status("c/a", "doing")
    _hand_made_event(store, "2026-01-01T00:00:00+00:00", "c/z", "reading", "null", '{"id": 1}')
    assert store.recent_keys() == ["c/a"]


def test_data_version_moves_when_another_connection_commits_not_on_our_own_writes(store):
    before = store.data_version()
    assert isinstance(before, int)
    store.set_status("c/a", "doing")  # the desk's own write: it refreshes itself
    assert store.data_version() == before
    cli = Store(store.path)  # the CLI, in another process, marks an item
    cli.set_note("c/a", "from the CLI")
    cli.close()
    after = store.data_version()
    assert after != before
    assert store.data_version() == after  # nothing new since: it stays


def test_check_passes_on_a_healthy_home_with_a_row_in_every_table(store):
    store.check()
    store.set_status("c/a", "doing")
    store.set_note("c/a", "n")
    store.log_time("c/a", 60)
    store.add_reading("https://example.org/a", "A")
    store.upsert_run({"id": "r1", "lab": "gpt", "status": "done", "created_at": now_iso(), "dir": "/r/1"})
    assert store.check() is None


# ---- tags and restores a hand-edited home can hold ----------------------------------


@pytest.mark.parametrize(
    "stored, tags",
    [
        ('["rl", 3, null, ["x"]]', ["rl", "3", "null", '["x"]']),
        ("", []),
        ("null", []),
        ('""', []),
        ("rope", ["rope"]),
        ("7", ["7"]),
    ],
)
def test_tags_typed_by_hand_come_back_as_a_list_of_text(store, stored, tags):
    rid = store.add_reading("https://example.org/a", "A")
    with sqlite3.connect(store.path) as side:
        side.execute("UPDATE reading SET tags = ?", (stored,))
    assert store.reading()[0]["tags"] == tags
    assert store.delete_reading(rid)["tags"] == tags


def test_a_restore_refused_by_an_index_made_by_hand_names_the_table_and_changes_nothing(store):
    store.add_reading("https://example.org/a", "A")
    store.add_reading("https://example.org/b", "B")
    exported = store.export_state()
    exported["reading"][1]["url"] = "https://example.org/a"  # fine by the export's own rules
    store.conn.execute("CREATE UNIQUE INDEX my_unique_url ON reading(url)")
    store.set_note("c/a", "kept")
    with pytest.raises(StoreError) as e:
        store.restore_state(exported)
    assert str(e.value) == "export table 'reading' has a bad row: UNIQUE constraint failed: reading.url"
    assert store.note("c/a") == "kept" and len(store.reading()) == 2


def test_an_export_that_claims_an_older_schema_still_has_each_list_it_holds_checked(store):
    # made before the review deck (no m004 step, no card list), yet it holds settings
    doc = store.export_state()
    del doc["review_cards"], doc["review_log"]
    doc["migrations"] = [m for m in doc["migrations"] if m != "m004_review_deck"]
    doc["settings"] = [{"key": "review.new_per_day", "value": "{not json"}]
    with pytest.raises(StoreError, match=r"^settings\[0\]\.value is not JSON text$"):
        store.restore_state(doc)
    assert store.conn.execute("SELECT COUNT(*) FROM settings").fetchone() == (0,)


# ---- opening a home that cannot be set up -------------------------------------------


def test_a_home_written_by_a_newer_studytui_is_refused_whole(tmp_path):
    path = tmp_path / "studytui.db"
    Store(path).close()
    with sqlite3.connect(path) as side:
        side.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, 'm999_next', 'x')",
            (migrations.MIGRATION_SET,),
        )
    with pytest.raises(StoreError) as e:
        Store(path)
    assert str(e.value) == (
        f"{path} was written by a newer studytui (schema step m999_next); "
        "upgrade studytui, or use another --db / STUDYTUI_HOME"
    )


def test_a_migration_lock_that_cannot_be_opened_is_one_line(tmp_path):
    path = tmp_path / "studytui.db"
    (tmp_path / "studytui.db.migrate.lock").mkdir()  # a folder where the lock file goes
    with pytest.raises(StoreError) as e:
        Store(path)
    assert str(e.value) == f"cannot set up {path}: Is a directory"


def test_a_schema_step_that_fails_names_the_file_and_what_sqlite_said(tmp_path):
    path = tmp_path / "studytui.db"
    half = Store(path, migrate=False)
    half.migrate(stop_before="m002_runs_index")
    half.conn.execute("CREATE TABLE runs (x)")  # made by hand where the next step puts its own
    half.close()
    with pytest.raises(DamagedDatabase) as e:
        Store(path)
    assert (e.value.path, e.value.detail) == (path, "table runs already exists")
    assert str(e.value).startswith(f"damaged database {path} (table runs already exists); ")


def test_reading_a_table_gone_from_the_file_says_the_database_is_damaged(store):
    store.conn.execute("DROP TABLE reading")
    with pytest.raises(DamagedDatabase) as e:
        store.reading()
    assert (e.value.path, e.value.detail) == (store.path, "no such table: reading")


def test_a_damaged_record_of_schema_steps_says_the_database_is_damaged(tmp_path):
    path = tmp_path / "studytui.db"
    Store(path).close()
    with sqlite3.connect(path) as side:
        side.execute("DROP TABLE _sqlite_migrations")
        side.execute("CREATE TABLE _sqlite_migrations (name TEXT)")
    with pytest.raises(DamagedDatabase) as e:
        Store(path)
    assert (e.value.path, e.value.detail) == (path, "no such column: migration_set")


def test_a_folder_for_the_database_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    path = tmp_path / "a-file" / "home" / "studytui.db"
    with pytest.raises(StoreError) as e:
        Store(path)
    assert str(e.value) == f"cannot create {path.parent}: Not a directory"


def test_a_database_path_sqlite_cannot_open_is_one_line(tmp_path):
    path = tmp_path / "studytui.db"
    path.symlink_to(tmp_path / "gone" / "studytui.db")  # a link to a folder that is not there
    with pytest.raises(StoreError) as e:
        Store(path)
    assert str(e.value) == f"cannot open {path}: unable to open database file"


def test_a_writer_waits_a_minute_for_another_writers_lock(store):
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 60_000
