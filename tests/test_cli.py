"""The CLI through typer's runner, on a small fixture curriculum in a temporary home."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studytui.cli.main import app

FIXTURE = Path(__file__).parent / "fixtures" / "cli"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STUDYTUI_CURRICULUM", raising=False)
    curriculum = tmp_path / "curriculum"
    shutil.copytree(FIXTURE, curriculum)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(app, ["--no-builtin", "-c", str(curriculum), *args], input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.curriculum = curriculum
    return invoke


def as_json(result):
    return json.loads(result.stdout)


def test_status_counts_leaves_and_hours(cli):
    course = as_json(cli("status", "--json"))["courses"][0]
    assert course["id"] == "basics"
    # micrograd, makemore and the playlist's two videos: the playlist itself is not a unit.
    assert (course["done"], course["total"]) == (0, 4)
    assert course["hours_total"] == pytest.approx((145 + 117 + 71 + 60) / 60, abs=0.01)
    cli("mark", "micrograd", "done")
    course = as_json(cli("status", "--json"))["courses"][0]
    assert course["done"] == 1 and course["percent"] == 25.0
    assert course["hours_done"] == pytest.approx(145 / 60, abs=0.01)


def test_marking_a_playlist_done_counts_its_videos(cli):
    cli("mark", "basics/cs25", "done")
    course = as_json(cli("status", "--json"))["courses"][0]
    assert course["done"] == 2
    shown = as_json(cli("show", "cs25-two", "--json"))
    assert shown["status"] == "done" and shown["key"] == "basics/cs25-two"


def test_next_respects_prerequisites(cli):
    keys = [i["key"] for i in as_json(cli("next", "--json"))["items"]]
    assert keys[0] == "basics/micrograd"
    assert "basics/makemore" not in keys  # needs micrograd first
    cli("mark", "micrograd", "done")
    keys = [i["key"] for i in as_json(cli("next", "--json"))["items"]]
    assert keys[0] == "basics/makemore"
    cli("mark", "cs25-intro", "doing")
    assert as_json(cli("next", "--json"))["items"][0]["key"] == "basics/cs25-intro"


def test_item_references(cli):
    assert as_json(cli("show", "basics/micrograd", "--json"))["id"] == "micrograd"
    assert as_json(cli("show", "microg", "--json"))["id"] == "micrograd"
    ambiguous = cli("show", "cs25-", ok=False)
    assert ambiguous.exit_code == 1
    assert "basics/cs25-intro" in ambiguous.output and "basics/cs25-two" in ambiguous.output
    unknown = cli("show", "micrgrad", ok=False)
    assert unknown.exit_code == 1 and "basics/micrograd" in unknown.output
    assert "Traceback" not in unknown.output


def test_mark_rejects_unknown_status(cli):
    result = cli("mark", "micrograd", "finished", ok=False)
    assert result.exit_code == 2 and "unknown status" in result.output


def test_note_log_and_undo(cli):
    cli("note", "micrograd", "## my note\nchain rule")
    cli("log", "micrograd", "25")
    cli("log", "micrograd", "1h30m")
    shown = as_json(cli("show", "micrograd", "--json"))
    assert shown["note"].startswith("## my note")
    assert shown["seconds_logged"] == 25 * 60 + 90 * 60
    assert [h["kind"] for h in shown["history"]] == ["time", "time", "note"]
    cli("undo")
    assert as_json(cli("show", "micrograd", "--json"))["seconds_logged"] == 25 * 60
    assert cli("log", "micrograd", "abc", ok=False).exit_code == 2
    assert cli("log", "micrograd", "0", ok=False).exit_code == 2


def test_note_from_stdin(cli):
    cli("note", "makemore", "-", input="from stdin\n")
    assert as_json(cli("show", "makemore", "--json"))["note"] == "from stdin\n"


def test_search_ranks_titles_first_and_finds_terms(cli):
    hits = as_json(cli("search", "makemore", "--json"))["hits"]
    assert hits[0]["key"] == "basics/makemore"
    hits = as_json(cli("search", "backprop", "--json"))["hits"]
    assert {h["kind"] for h in hits} == {"item", "term"}
    assert cli("search", "zzzz", ok=False).exit_code == 1


def test_glossary(cli):
    terms = as_json(cli("glossary", "--json"))["terms"]
    assert len(terms) == 3
    one = as_json(cli("glossary", "backprop", "--json"))  # an alias
    assert one["id"] == "backpropagation" and one["taught_by"] == ["basics/micrograd"]
    typo = cli("glossary", "atention", ok=False)
    assert typo.exit_code == 1 and "Attention" in typo.output


def test_reading_list(cli):
    added = as_json(cli("add", "https://example.org/post", "--title", "A post", "--tag", "rl", "--json"))
    assert added["status"] == "inbox"
    cli("archive", str(added["id"]))
    entries = as_json(cli("reading", "--json"))["entries"]
    assert entries[0]["status"] == "archive" and entries[0]["tags"] == ["rl"]
    assert cli("add", "ftp://x", ok=False).exit_code == 2


def test_export_md_checklist(cli):
    cli("mark", "micrograd", "done")
    cli("note", "micrograd", "great")
    md = cli("export", "--format", "md").stdout
    assert "# Basics" in md
    assert "- ✅ [Building micrograd](https://www.youtube.com/watch?v=VMj-3S1tku0) (2h 25m)" in md
    assert "> great" in md
    assert "- ⬜ [Building makemore]" in md


def test_export_restore_round_trip(cli, tmp_path, monkeypatch):
    cli("mark", "micrograd", "done")
    cli("note", "makemore", "n")
    cli("log", "makemore", "10")
    out = tmp_path / "backup.json"
    cli("export", "-o", str(out))
    before = as_json(cli("show", "makemore", "--json"))
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "other-home"))
    cli("restore", str(out))
    cli("restore", str(out))  # twice: no change
    after = as_json(cli("show", "makemore", "--json"))
    assert after == before
    assert cli("restore", str(tmp_path / "missing.json"), ok=False).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("restore", str(bad), ok=False)
    assert result.exit_code == 2 and "bad.json:1:2" in result.output


def test_progress_survives_renames_moves_and_deletions(cli):
    cli("mark", "makemore", "done")
    cli("note", "cs25-two", "keep me")
    path = cli.curriculum / "basics.yaml"
    text = path.read_text()
    # Rename a title and move the item into the other section; delete another item.
    text = text.replace("title: Building makemore", "title: makemore, renamed")
    text = text.replace(
        "          - id: cs25-two\n            title: Second talk\n"
        "            kind: video\n            duration: 1h\n",
        "",
    )
    path.write_text(text)
    assert as_json(cli("show", "makemore", "--json"))["status"] == "done"
    status = as_json(cli("status", "--json"))
    assert [o["key"] for o in status["orphans"]] == ["basics/cs25-two"]
    assert status["orphans"][0]["has_note"] is True
    # Putting it back brings its note back.
    path.write_text(text + "")
    (cli.curriculum / "basics.yaml").write_text((FIXTURE / "basics.yaml").read_text())
    assert as_json(cli("show", "cs25-two", "--json"))["note"] == "keep me\n"


def test_validate_reports_problems_with_positions(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\ntitle: Bad\nsections:\n  - id: s\n    title: S\n    items:\n"
        "      - id: x\n        title: X\n        durration: 1h\n"
    )
    result = cli("validate", str(bad), ok=False)
    assert result.exit_code == 1
    assert f"{bad}:9:9:" in result.stdout and "duration" in result.stdout
    assert cli("validate", str(cli.curriculum)).exit_code == 0


def test_bad_global_options_are_one_line_errors(cli, tmp_path):
    result = CliRunner().invoke(app, ["-c", str(tmp_path / "nope"), "status"])
    assert result.exit_code == 2 and "not a folder" in result.output


def test_a_whole_word_of_one_id_finds_it(cli, tmp_path):
    # `micrograd` is not a prefix of `zth-micrograd`, but it is a whole word of only that id.
    path = cli.curriculum / "basics.yaml"
    path.write_text(
        path.read_text()
        .replace("- id: micrograd", "- id: zth-micrograd")
        .replace("prerequisites: [micrograd]", "prerequisites: [zth-micrograd]")
        .replace("- id: makemore", "- id: part-two-makemore")
    )
    assert as_json(cli("show", "micrograd", "--json"))["key"] == "basics/zth-micrograd"
    # A word shared by several ids stays ambiguous (it lists them), and an empty one is refused.
    shared = cli("show", "two", ok=False)
    assert shared.exit_code == 1
    assert "basics/cs25-two" in shared.output and "basics/part-two-makemore" in shared.output
    empty = cli("show", "  ", ok=False)
    assert empty.exit_code == 1 and "empty item reference" in empty.output


def test_note_with_a_failing_editor_is_one_line_and_keeps_the_note(cli, monkeypatch):
    import click

    cli("note", "micrograd", "kept")

    def broken_editor(*args, **kwargs):
        raise click.ClickException("false: Editing failed")

    monkeypatch.setattr(click, "edit", broken_editor)
    monkeypatch.setattr("studytui.cli.main._stdin_is_terminal", lambda: True)
    result = cli("note", "micrograd", ok=False)
    assert result.exit_code == 1 and "Editing failed" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert as_json(cli("show", "micrograd", "--json"))["note"] == "kept\n"


def test_restoring_an_md_checklist_says_what_restore_takes(cli, tmp_path):
    md = tmp_path / "progress.md"
    cli("export", "-f", "md", "-o", str(md))
    result = cli("restore", str(md), ok=False)
    assert result.exit_code == 2 and "md checklist cannot be restored" in result.output


def test_archive_of_an_impossible_entry_number(cli):
    result = cli("archive", str(10**30), ok=False)
    assert result.exit_code == 1 and "no reading-list entry" in result.output


# -- the console-script entry point: one line for every error ---------------------------------


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    from studytui.cli import main as cli_main

    monkeypatch.setattr("sys.argv", ["studytui", *args])
    with pytest.raises(SystemExit) as exit_:
        cli_main.run()
    return exit_.value.code, capsys.readouterr().err


def test_usage_errors_are_one_line(cli, monkeypatch, capsys):
    code, err = run_main(monkeypatch, capsys, "next", "-n", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "-n" in err and "studytui next --help" in err
    code, err = run_main(monkeypatch, capsys, "no-such-command")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_a_damaged_database_is_one_line(cli, monkeypatch, capsys, tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "studytui.db").write_bytes(b"garbage, not sqlite" * 300)
    code, err = run_main(monkeypatch, capsys, "--no-builtin", "-c", str(cli.curriculum), "status")
    assert code == 2 and "not a studytui database" in err
    assert len(err.strip().splitlines()) == 1
    assert (home / "studytui.db").read_bytes().startswith(b"garbage")  # left as it was


def test_an_unexpected_error_is_one_line_unless_debugging(cli, monkeypatch, capsys):
    from studytui.cli import main as cli_main

    def boom(*args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(cli_main, "course_summaries", boom)
    args = ("--no-builtin", "-c", str(cli.curriculum), "status")
    code, err = run_main(monkeypatch, capsys, *args)
    assert code == 70 and "RuntimeError: kaput" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # The traceback is kept in a log file under the home, which the one line names.
    log = Path(re.search(r"the traceback is in (\S+\.log)", err).group(1))
    assert log.parent == Path(os.environ["STUDYTUI_HOME"]) / "logs"
    assert "Traceback" in log.read_text(encoding="utf-8") and "kaput" in log.read_text(encoding="utf-8")
    monkeypatch.setenv("STUDYTUI_DEBUG", "1")
    monkeypatch.setattr("sys.argv", ["studytui", *args])
    with pytest.raises(RuntimeError, match="kaput"):
        cli_main.run()


def test_restore_announces_only_the_backup_it_wrote(cli, tmp_path):
    cli("mark", "micrograd", "done")
    cli("note", "micrograd", "before the restore")
    before = as_json(cli("export"))
    empty = {k: ([] if isinstance(v, list) else v) for k, v in before.items()}
    doc = tmp_path / "empty.json"
    doc.write_text(json.dumps(empty), encoding="utf-8")
    out = cli("restore", str(doc)).stdout
    saved = Path(re.search(r"previous state saved to (\S+\.json)", out).group(1))
    backup = json.loads(saved.read_text(encoding="utf-8"))
    for table in ("progress", "notes", "time_log", "events", "reading"):
        assert backup[table] == before[table]
    assert as_json(cli("show", "micrograd", "--json"))["status"] == "todo"
    # Restoring into an empty state keeps nothing worth a backup, and says none.
    again = cli("restore", str(doc)).stdout
    assert "saved" not in again and len(list(saved.parent.iterdir())) == 1


def test_a_refused_restore_writes_no_backup(cli, tmp_path):
    cli("mark", "micrograd", "done")
    doc = as_json(cli("export"))
    doc["progress"][0]["status"] = "finished"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("restore", str(bad), ok=False)
    assert result.exit_code == 2 and "progress[0].status must be one of" in result.output
    assert "saved" not in result.output
    home = Path(os.environ["STUDYTUI_HOME"])
    assert not (home / "backups").exists()
    assert as_json(cli("show", "micrograd", "--json"))["status"] == "done"


PLAYLISTS = """\
id: pl
title: Playlists
sections:
  - id: s
    title: S
    items:
      - id: basics
        title: Basics
        kind: video
        duration: 10m
      - id: series
        title: A series that needs the basics
        kind: playlist
        prerequisites: [basics]
        items:
          - id: ep1
            title: Episode 1
            kind: video
          - id: ep2
            title: Episode 2
            kind: video
      - id: after-series
        title: Needs the whole series
        kind: video
        prerequisites: [series]
"""


def test_next_with_playlists(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    folder = tmp_path / "pl"
    folder.mkdir()
    (folder / "pl.yaml").write_text(PLAYLISTS, encoding="utf-8")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["--no-builtin", "-c", str(folder), *args])
        assert result.exit_code == 0, result.output
        return result

    def next_keys():
        return [i["key"] for i in json.loads(run("next", "-n", "10", "--json").stdout)["items"]]

    # The playlist's prerequisite gates its videos, and what needs the playlist waits too.
    assert next_keys() == ["pl/basics"]
    run("mark", "basics", "done")
    assert next_keys() == ["pl/ep1", "pl/ep2"]
    # One video done is not the playlist done.
    run("mark", "ep1", "done")
    assert next_keys() == ["pl/ep2"]
    # Every video finished (one skipped) finishes the playlist: what depends on it is ready.
    run("mark", "ep2", "skipped")
    assert next_keys() == ["pl/after-series"]
    # Marking the playlist itself done does the same.
    run("mark", "ep1", "todo")
    run("mark", "ep2", "todo")
    assert "pl/after-series" not in next_keys()
    run("mark", "series", "done")
    assert next_keys() == ["pl/after-series"]


def test_reading_rm(cli):
    cli("add", "https://example.org/a", "--title", "A")
    cli("add", "https://example.org/b", "--title", "B")
    result = cli("reading", "rm", "1")
    assert "deleted #1 (A)" in result.stdout
    assert [e["title"] for e in as_json(cli("reading", "--json"))["entries"]] == ["B"]
    assert cli("reading", "rm", "1", ok=False).exit_code == 1
    assert cli("reading", "rm", ok=False).exit_code == 2


def test_the_last_resort_handler_survives_a_hostile_error(cli, monkeypatch, capsys, tmp_path):
    from studytui.cli import main as cli_main

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("str() fails too")

    def boom(*args, **kwargs):
        raise Unprintable()

    monkeypatch.setattr(cli_main, "course_summaries", boom)
    # The home cannot take a log: the handler falls back to the temporary folder.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the home should be", encoding="utf-8")
    monkeypatch.setenv("STUDYTUI_HOME", str(blocked))
    code, err = run_main(
        monkeypatch,
        capsys,
        "--db",
        str(tmp_path / "x.db"),
        "--no-builtin",
        "-c",
        str(cli.curriculum),
        "status",
    )
    assert code == 70 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Unprintable" in err
    log = Path(re.search(r"the traceback is in (\S+\.log)", err).group(1))
    assert not log.is_relative_to(blocked) and "Unprintable" in log.read_text(encoding="utf-8")
    log.unlink()


def test_a_note_with_windows_line_ends_is_kept_with_unix_ones(cli):
    cli("note", "micrograd", "-", input="line one\r\nline two\r\n")
    assert as_json(cli("show", "micrograd", "--json"))["note"] == "line one\nline two\n"
    refused = cli("note", "micrograd", "a bell \x07 rings", ok=False)
    assert refused.exit_code == 1 and "U+0007" in refused.output
    assert as_json(cli("show", "micrograd", "--json"))["note"] == "line one\nline two\n"
