"""What the store says for each way SQLite can fail on a database file: the environment's
fault (locks, permissions, the disk) or a damaged file, with the backup to restore from."""

from __future__ import annotations

import os
import sqlite3

import pytest

from studytui.store import Store
from studytui.store.store import DamagedDatabase, ForeignDatabase, StoreError, _open_problem


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "studytui.db"
    (tmp_path / "backups").mkdir()
    for name, age in (("old.json", 200), ("new.json", 100)):
        backup = tmp_path / "backups" / name
        backup.write_text("{}")
        os.utime(backup, (1_700_000_000 - age, 1_700_000_000 - age))
    return path


@pytest.mark.parametrize(
    "error, message",
    [
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            "cannot write {p} (or its folder): attempt to write a readonly database; check its permissions",
        ),
        (
            sqlite3.OperationalError("unable to open database file"),
            "cannot write {p} (or its folder): unable to open database file; check its permissions",
        ),
        (
            sqlite3.OperationalError("database is locked"),
            "database {p} is busy (database is locked); try again",
        ),
        (
            sqlite3.OperationalError("database table is busy"),
            "database {p} is busy (database table is busy); try again",
        ),
        (sqlite3.OperationalError("disk I/O error"), "cannot read or write {p}: disk I/O error"),
    ],
)
def test_the_environments_fault_is_not_damage(db, error, message):
    problem = _open_problem(db, error)
    assert type(problem) is StoreError
    assert str(problem) == message.format(p=db)


def test_a_file_that_is_not_a_database_points_at_the_newest_backup(db):
    problem = _open_problem(db, sqlite3.DatabaseError("file is not a database"))
    assert isinstance(problem, DamagedDatabase)
    assert (problem.path, problem.backup) == (db, db.parent / "backups" / "new.json")
    assert problem.detail == "not a studytui database: damaged, or another kind of file"
    assert str(problem).endswith(f"; restore from the latest backup: studytui restore {problem.backup}")


def test_anything_else_is_damage_named_as_sqlite_said(db):
    problem = _open_problem(db, sqlite3.DatabaseError("database disk image is malformed"))
    assert isinstance(problem, DamagedDatabase)
    assert (problem.path, problem.detail, problem.backup.name) == (
        db,
        "database disk image is malformed",
        "new.json",
    )
    # a disk I/O message that is not an OperationalError is not the disk's fault
    assert isinstance(_open_problem(db, sqlite3.DatabaseError("disk I/O error")), DamagedDatabase)


def test_without_a_backup_it_says_how_to_start_afresh(tmp_path):
    problem = _open_problem(tmp_path / "studytui.db", sqlite3.DatabaseError("no such table: progress"))
    assert problem.backup is None
    assert str(problem) == (
        f"damaged database {tmp_path / 'studytui.db'} (no such table: progress); move it aside "
        "(a fresh one is made) and restore from an export if you have one"
    )


def sqlite_file(path, *tables, app_id=0, user_version=0):
    conn = sqlite3.connect(path)
    for t in tables:
        conn.execute(f"CREATE TABLE {t} (x)")
    conn.execute(f"PRAGMA application_id = {app_id}")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    return path


def open_store(path):
    store = Store(path)
    try:
        store.notes()
    finally:
        store.close()


def test_another_applications_database_is_named_and_left_untouched(tmp_path):
    path = sqlite_file(tmp_path / "places.sqlite", "moz_places", "moz_bookmarks")
    before = path.read_bytes()
    with pytest.raises(ForeignDatabase) as refused:
        open_store(path)
    assert str(refused.value) == (
        f"{path} is another application's SQLite database (tables: moz_bookmarks, moz_places); "
        "left untouched. Point --db / STUDYTUI_HOME at a studytui database or a new file"
    )
    assert path.read_bytes() == before


def test_more_than_four_tables_are_cut_short(tmp_path):
    path = sqlite_file(tmp_path / "x.db", "e", "d", "c", "b", "a")
    with pytest.raises(ForeignDatabase, match=r"\(tables: a, b, c, d, \.\.\.\); left untouched"):
        open_store(path)
    path = sqlite_file(tmp_path / "y.db", "d", "c", "b", "a")
    with pytest.raises(ForeignDatabase, match=r"\(tables: a, b, c, d\); left untouched"):
        open_store(path)


def test_a_header_of_another_application_without_tables_is_refused(tmp_path):
    path = sqlite_file(tmp_path / "x.db", app_id=0x1234, user_version=7)
    with pytest.raises(ForeignDatabase) as refused:
        open_store(path)
    assert str(refused.value) == (
        f"{path} belongs to another application (its header says application_id {0x1234}, "
        "user_version 7); left untouched"
    )
    with pytest.raises(ForeignDatabase, match="user_version 3"):
        open_store(sqlite_file(tmp_path / "v.db", user_version=3))


def test_a_studytui_database_from_before_the_header_stamp_is_ours(tmp_path):
    path = tmp_path / "studytui.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")  # as databases made before we stamped it
    conn.commit()
    conn.close()
    open_store(path)  # no refusal
    # another tool's sqlite-utils migrations are not ours
    other = sqlite_file(tmp_path / "other.db", "things")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    conn.execute("INSERT INTO _sqlite_migrations VALUES ('another-tool', 'm001', '2025-01-01')")
    conn.commit()
    conn.close()
    with pytest.raises(ForeignDatabase, match="_sqlite_migrations, things"):
        open_store(other)
