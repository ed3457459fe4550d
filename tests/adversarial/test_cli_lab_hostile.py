"""`studytui lab runs|show|attach` on a run folder copied from somewhere else.

A real (fake-lab) run that failed, with hostile events appended to its metrics.jsonl and
escape sequences in its stderr.log: every `lab` view shows it as text.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from hostile import HOSTILE_STRINGS, assert_terminal_safe

from studytui.cli import main as cli_main
from studytui.runs import RunWatch

EVIL = " ".join(HOSTILE_STRINGS)


def _studytui(monkeypatch, capsys, *args):
    monkeypatch.setattr("sys.argv", ["studytui", *args])
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    with pytest.raises(SystemExit) as exit_:
        cli_main.run()
    out, err = capsys.readouterr()
    assert_terminal_safe(out, f"stdout of {args}")
    assert_terminal_safe(err, f"stderr of {args}")
    return exit_.value.code, out, err


@pytest.fixture
def hostile_run(lab_home, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _studytui(
        monkeypatch, capsys, "lab", "run", "fake", "--set", "fail_at=2", "--set", "delay=0", "-d", "--json"
    )
    assert code in (0, None), out
    run_id = json.loads(out)["id"]
    run_dir = lab_home / "runs" / run_id
    deadline = time.monotonic() + 20
    watch = RunWatch(run_dir)
    while watch.update() is not None and watch.status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = [
        {"v": 1, "event": "log", "message": EVIL},
        {"v": 1, "event": "sample", "step": 2, "prompt": EVIL, "text": EVIL},
        {"v": 1, "event": "merges", "merges": [{"rank": 1, "pair": [EVIL, 2], "text": EVIL, "count": EVIL}]},
        {"v": 1, "event": "table", "name": EVIL, "columns": [EVIL, "[/]"], "rows": [[EVIL, "[bold"]]},
        {"v": 1, "event": "progress", "done": 1, "total": 3, "unit": EVIL},
    ]
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    with open(run_dir / "stderr.log", "a", encoding="utf-8") as f:
        f.write(EVIL + "\n\x1b]0;pwned\x07a line after a title change\n")
    return run_id


@pytest.mark.parametrize(
    "args",
    [
        ("lab", "runs"),
        ("lab", "runs", "--json"),
        ("lab", "show", "last"),
        ("lab", "show", "last", "--json"),
        ("lab", "attach", "last"),
    ],
)
def test_lab_views_show_a_hostile_run_folder_as_text(hostile_run, monkeypatch, capsys, args):
    code, out, err = _studytui(monkeypatch, capsys, *args)
    assert code in (0, 1, None), err
    assert out.strip()
    if "--json" in args:
        json.loads(out)
