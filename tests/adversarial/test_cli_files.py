"""Files and databases a user (or an attacker) can hand the CLI.

Writes to user paths are atomic into regular files: a symlink's target is replaced and the
link kept; a FIFO, a device or a folder is refused with one line and left as it was. A
damaged database is exit 2 with one line in every command; another application's SQLite
file is refused without a byte changed.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat

import pytest
from hostile import assert_terminal_safe

from studytui.atomic import write_atomic
from studytui.cli import main as cli_main
from studytui.store import DamagedDatabase, ForeignDatabase, Store


@pytest.fixture
def run(tmp_path, monkeypatch, capsys, hostile_curriculum):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "400")

    def invoke(*args: str, code: int | None = 0):
        monkeypatch.setattr("sys.argv", ["studytui", "--no-builtin", "-c", str(hostile_curriculum), *args])
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
        with pytest.raises(SystemExit) as exit_:
            cli_main.run()
        out, err = capsys.readouterr()
        assert_terminal_safe(out)
        assert_terminal_safe(err)
        if code is not None:
            assert exit_.value.code == code, f"{args}: {exit_.value.code}\n{out}\n{err}"
        invoke.last_code = exit_.value.code
        return out, err

    invoke.home = tmp_path / "home"
    return invoke


# -- writes to user paths ---------------------------------------------------------------------


def test_export_follows_a_symlink_and_replaces_its_target(run, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    run("export", "-o", str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8").startswith("{")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # permissions kept
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_export_refuses_a_fifo_a_device_or_a_folder(run, tmp_path, kind):
    path = tmp_path / f"the-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if os.geteuid() == 0:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
        else:  # only root can make a device node: a link to one is refused the same way
            path.symlink_to("/dev/null")
    else:
        path.mkdir()
    before = path.lstat()
    _, err = run("export", "-o", str(path), code=2)
    assert len(err.strip().splitlines()) == 1 and "nothing written" in err
    after = path.lstat()
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    # ... and so is a symlink that points at one.
    link = tmp_path / f"link-to-{kind}"
    link.symlink_to(path)
    run("export", "-o", str(link), code=2)
    assert link.is_symlink() and path.lstat().st_ino == before.st_ino
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_write_atomic_never_writes_through_a_planted_temporary_file(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "out.txt"
    for pid in range(os.getpid() - 2, os.getpid() + 3):  # the old guessable name, planted
        (tmp_path / f".out.txt.{pid}.tmp").symlink_to(victim)
    write_atomic(out, "new")
    assert out.read_text(encoding="utf-8") == "new" and victim.read_text(encoding="utf-8") == "keep"


def test_restore_backup_goes_through_the_same_rules(run, tmp_path, markup_backup):
    run("mark", "markup", "done")
    backups = run.home / "backups"
    backups.mkdir()
    (backups / "unused").mkdir()
    run("restore", str(markup_backup))
    written = [p for p in backups.iterdir() if p.suffix == ".json"]
    assert len(written) == 1 and '"evil/markup"' in written[0].read_text(encoding="utf-8")


# -- damaged and foreign databases ------------------------------------------------------------

EVERY_COMMAND = [
    ("status",),
    ("next",),
    ("show", "markup"),
    ("search", "evil"),
    ("glossary",),
    ("reading",),
    ("export",),
    ("export", "--format", "md"),
    ("mark", "markup", "done"),
    ("note", "markup", "x"),
    ("log", "markup", "5"),
    ("add", "https://ok.example/"),
    ("archive", "1"),
    ("reading", "rm", "1"),
    ("undo",),
]


def _seeded(home):
    store = Store(home / "studytui.db")
    store.set_status("evil/markup", "doing")
    store.add_reading("https://ok.example/", "x")
    store.close()
    return home / "studytui.db"


@pytest.mark.parametrize(
    "damage",
    [
        "drop table progress",
        "drop table reading",
        "alter table notes drop column updated_at",
        "alter table reading drop column course",
        "bad pages",
    ],
)
def test_a_damaged_database_is_exit_2_and_one_line_in_every_command(run, damage, tmp_path):
    db = _seeded(run.home)
    if damage == "bad pages":
        data = bytearray(db.read_bytes())
        # Page 2 onwards overwritten: the header still says SQLite, the tables are garbage.
        data[4096:] = b"\xa5" * (len(data) - 4096)
        db.write_bytes(bytes(data))
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
    else:
        conn = sqlite3.connect(db)
        conn.execute(damage)
        conn.commit()
        conn.close()
    backup = run.home / "backups" / "before-restore-x.json"
    backup.parent.mkdir()
    backup.write_text("{}", encoding="utf-8")
    refused = 0
    for args in EVERY_COMMAND:
        _, err = run(*args, code=None)
        # Either the command did not need the damaged part, or it says so in one line.
        assert run.last_code in (0, 1, 2), f"{args}: exit {run.last_code}: {err}"
        assert "bug" not in err and len([ln for ln in err.splitlines() if ln.startswith("error")]) <= 1
        if run.last_code == 2:
            assert "damaged database" in err and str(backup) in err, err
            refused += 1
        elif run.last_code == 1:
            assert "damaged" not in err
    assert refused >= 2
    run("export", code=2)  # a backup needs every table whole


def test_damage_is_a_clear_exception_for_the_app(tmp_path):
    db = _seeded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("drop table progress")
    conn.commit()
    conn.close()
    store = Store(db)
    with pytest.raises(DamagedDatabase) as caught:
        store.check()
    assert caught.value.path == db and "no such table: progress" in caught.value.detail
    with pytest.raises(DamagedDatabase):
        store.progress()
    with pytest.raises(DamagedDatabase):
        store.set_status("a/b", "done")


def test_another_applications_database_is_refused_untouched(run, tmp_path):
    other = tmp_path / "places.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.execute("PRAGMA user_version = 70")
    conn.commit()
    conn.close()
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    for args in (("status",), ("mark", "markup", "done"), ("restore", "/nonexistent")):
        _, err = run("--db", str(other), *args, code=2)
        assert "another application's SQLite database" in err or "no such file" in err
    assert hashlib.sha256(other.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("places")) == ["places.sqlite"]
    with pytest.raises(ForeignDatabase):
        Store(other)


def test_an_older_studytui_database_without_the_header_stamp_still_opens(tmp_path):
    db = _seeded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    assert Store(db).status_of("evil/markup") == "doing"


def test_an_empty_database_stamped_by_another_application_is_refused(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    with pytest.raises(ForeignDatabase, match="application_id 1234"):
        Store(other)
    assert hashlib.sha256(other.read_bytes()).hexdigest() == digest


def test_a_new_database_is_stamped_as_ours(tmp_path):
    Store(tmp_path / "new.db").close()
    conn = sqlite3.connect(tmp_path / "new.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x53545549
