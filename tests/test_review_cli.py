"""`studytui review ...` through typer's runner, on the CLI fixture curriculum (real clock:
only shapes and relations are asserted, the fixed-clock schedules are in test_review.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studytui.cli.main import app

FIXTURE = Path(__file__).parent / "fixtures" / "cli"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STUDYTUI_CURRICULUM", raising=False)
    curriculum = tmp_path / "curriculum"
    shutil.copytree(FIXTURE, curriculum)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, ["--no-builtin", "-c", str(curriculum), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_marking_a_teaching_item_done_fills_the_due_list(cli):
    empty = json.loads(cli("review", "--json").stdout)
    assert empty["due_count"] == 0 and empty["cards"] == []
    cli("mark", "micrograd", "done")
    doc = json.loads(cli("review", "--json").stdout)
    assert set(doc) == {"now", "due_count", "due_today", "directions", "cards"}
    assert doc["due_count"] == 2 and doc["directions"] == "both"
    card = doc["cards"][0]
    assert set(card) == {
        "term",
        "name",
        "direction",
        "prompt",
        "answer",
        "state",
        "due",
        "last_review",
        "flagged",
        "intervals_s",
    }
    assert (card["term"], card["direction"], card["state"]) == ("backpropagation", "forward", "new")
    assert card["prompt"] == "Backpropagation" and card["answer"].startswith("Computing gradients")
    assert list(card["intervals_s"]) == ["again", "hard", "good", "easy"]
    assert card["intervals_s"]["again"] == 60 and card["intervals_s"]["good"] == 600
    assert "Backpropagation" in cli("review").stdout


def test_grading_by_name_or_alias_moves_the_card_on(cli):
    cli("review", "add", "self-attention")
    first = json.loads(cli("review", "attention", "good", "--json").stdout)
    assert (first["direction"], first["rating"], first["state"], first["interval_s"]) == (
        "forward",
        "good",
        "learning",
        600,
    )
    # The reverse card is still due; then nothing is, and saying so is exit 1.
    assert "definition → term" in cli("review", "Attention", "easy").stdout
    result = cli("review", "attention", "good", code=1)
    assert "is not due" in result.output and "--direction" in result.output
    early = json.loads(cli("review", "grade", "attention", "good", "-d", "forward", "--json").stdout)
    assert early["state"] == "review"
    assert "undid good on attention" in cli("review", "undo").stdout
    stats = json.loads(cli("review", "stats", "--json").stdout)
    assert stats["reviews"] == 2 and stats["by_state"]["learning"] == 1 and stats["by_state"]["review"] == 1


def test_errors_are_one_line_with_suggestions(cli):
    unknown = cli("review", "add", "atention", code=1)
    assert unknown.output.strip().splitlines() == [
        "error: no glossary term 'atention'; did you mean: Attention"
    ]
    assert "did you mean: Attention" in cli("review", "atention", "good", code=1).output
    assert "not in your review deck" in cli("review", "bigram", "good", code=1).output
    assert "unknown grade 'meh'" in cli("review", "bigram", "meh", code=2).output
    assert "unknown direction" in cli("review", "bigram", "good", "-d", "up", code=2).output
    assert "unknown directions" in cli("review", "directions", "reverse", code=2).output
    assert "no grade to undo" in cli("review", "undo", code=1).output
    assert "Traceback" not in unknown.output


def test_add_done_and_directions(cli):
    cli("mark", "basics/cs25", "done")
    cli("review", "directions", "forward")
    assert cli("review", "directions").stdout.strip() == "forward"
    assert "already in the review deck" in cli("review", "add", "attention").stdout
    cli("mark", "micrograd", "done")
    doc = json.loads(cli("review", "--json").stdout)
    assert {c["direction"] for c in doc["cards"]} == {"forward"} and doc["due_count"] == 2
    assert "1 definition → term card(s) added" in cli("review", "directions", "both").stdout
    assert json.loads(cli("review", "--json").stdout)["due_count"] == 4


def test_export_and_restore_carry_the_deck(cli, tmp_path):
    cli("review", "add", "bigram")
    cli("review", "bigram", "good")
    backup = tmp_path / "deck.json"
    cli("export", "-o", str(backup))
    doc = json.loads(backup.read_text())
    assert len(doc["review_cards"]) == 2 and len(doc["review_log"]) == 1
    cli("review", "undo")
    cli("review", "bigram", "again")
    cli("restore", str(backup))
    again = tmp_path / "again.json"
    cli("export", "-o", str(again))
    restored = json.loads(again.read_text())
    assert restored["review_cards"] == doc["review_cards"] and restored["review_log"] == doc["review_log"]


def test_status_does_not_load_fsrs(tmp_path):
    code = (
        "import sys; sys.argv = ['studytui', 'status']\n"
        "from studytui.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('fsrs' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env=dict(os.environ, STUDYTUI_HOME=str(tmp_path)),
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_damaged_card_time_is_one_line_and_exit_2(cli, tmp_path):
    cli("review", "add", "bigram")
    from studytui.store import Store

    store = Store(tmp_path / "home" / "studytui.db")
    store.conn.execute("UPDATE review_cards SET due = '0000-damaged' WHERE direction = 'forward'")
    store.close()
    result = cli("review", code=2)
    assert "holds a damaged time '0000-damaged'" in result.output and "studytui restore" in result.output
