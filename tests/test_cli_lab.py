"""`studytui lab ...` through typer's CliRunner, on the fake lab (no torch)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studytui.cli.lab import lab_app
from studytui.runs import RunWatch

RUN_FIELDS = {
    "id",
    "lab",
    "status",
    "stalled",
    "created_at",
    "ended_at",
    "duration_s",
    "pid",
    "dir",
    "key_metric",
    "key_value",
    "settings",
    "summary",
    "last",
}
SHOW_FIELDS = RUN_FIELDS | {
    "config",
    "device",
    "error",
    "reason",
    "checkpoints",
    "tables",
    "samples",
    "verdict",
    "reference",
}


@pytest.fixture
def home(lab_home):
    return lab_home


def cli(*args: str):
    return CliRunner().invoke(lab_app, list(args), catch_exceptions=False)


def wait_status(home: Path, run_id: str, pred, timeout: float = 10.0) -> RunWatch:
    w = RunWatch(home / "runs" / run_id)
    deadline = time.monotonic() + timeout
    while True:
        w.update()
        if pred(w):
            return w
        assert time.monotonic() < deadline, w.status
        time.sleep(0.02)


def test_list_json_shape(home):
    r = cli("list", "--json")
    assert r.exit_code == 0
    labs = {lab["name"]: lab for lab in json.loads(r.stdout)}
    fake = labs["fake"]
    assert set(fake) == {"name", "title", "summary", "module", "key_metric", "manifest", "settings"}
    steps = next(s for s in fake["settings"] if s["name"] == "steps")
    assert steps == {
        "name": "steps",
        "type": "int",
        "default": 20,
        "help": "how many steps to write",
        "min": 1,
        "max": 100000,
    }


def test_list_human(home):
    r = cli("list")  # a line a lab; the settings only for one lab
    assert r.exit_code == 0 and "fake" in r.stdout and "flavour" not in r.stdout
    assert "studytui lab list NAME" in r.stdout
    r = cli("list", "fake")
    assert r.exit_code == 0 and "flavour" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "fak"], "did you mean 'fake'"),
        (["run", "fake", "--set", "steps=0"], "below the minimum"),
        (["run", "fake", "--set", "stepz=3"], "did you mean 'steps'"),
        (["run", "fake", "--set", "flavour=bpe"], "not one of gpt, tokenizer"),
    ],
)
def test_bad_run_request_is_refused_before_launch(home, args, message):
    r = cli(*args)
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())


def test_run_attached_follows_to_the_end(home):
    r = cli("run", "fake", "--set", "steps=6", "--set", "delay=0.01")
    assert r.exit_code == 0, r.output
    assert "started fake-" in r.stdout and ": done" in r.stdout
    [run_dir] = (home / "runs").iterdir()
    assert (run_dir / "metrics.jsonl").is_file()


def test_attached_run_that_fails_exits_nonzero(home):
    r = cli("run", "fake", "--set", "fail_at=1", "--set", "delay=0")
    assert r.exit_code == 1
    assert "fake failure at step 1" in r.stdout


def test_detach_runs_show_stop(home):
    r = cli("run", "fake", "--set", "steps=100000", "--set", "delay=0.01", "--detach", "--json")
    assert r.exit_code == 0
    started = json.loads(r.stdout)
    run_id = started["id"]
    assert Path(started["dir"]).is_dir()
    wait_status(home, run_id, lambda w: w.state.step)

    rows = json.loads(cli("runs", "--json").stdout)
    assert [set(row) for row in rows] == [RUN_FIELDS]
    assert rows[0]["status"] == "running" and rows[0]["key_metric"] == "loss"
    assert isinstance(rows[0]["key_value"], float)

    shown = json.loads(cli("show", run_id[:-3], "--json").stdout)
    assert set(shown) == SHOW_FIELDS
    assert shown["id"] == run_id and shown["config"]["settings"] == {"steps": 100000, "delay": 0.01}

    r = cli("stop", "last", "--grace", "10")
    assert r.exit_code == 0 and "stopped" in r.stdout
    assert json.loads(cli("show", run_id, "--json").stdout)["status"] == "stopped"
    r = cli("stop", run_id)
    # One line: no "stopping ..." announcement for a run that has already ended.
    assert r.exit_code == 1 and "is not running" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("stop", run_id, "--grace", "nan")
    assert r.exit_code == 2 and "--grace" in r.stderr


def test_attach_to_a_finished_run_prints_it_and_returns(home):
    run_id = json.loads(cli("run", "fake", "--set", "steps=3", "--set", "delay=0", "-d", "--json").stdout)[
        "id"
    ]
    wait_status(home, run_id, lambda w: w.status == "done")
    r = cli("attach", run_id)
    assert r.exit_code == 0
    assert "3/3" in r.stdout and ": done" in r.stdout


def test_runs_filter_and_human_table(home):
    run_id = json.loads(cli("run", "fake", "--set", "steps=2", "--set", "delay=0", "-d", "--json").stdout)[
        "id"
    ]
    wait_status(home, run_id, lambda w: w.status == "done")
    r = cli("runs")
    assert run_id in r.stdout and "done" in r.stdout
    assert json.loads(cli("runs", "--lab", "gpt", "--json").stdout) == []
    r = cli("show", run_id)
    assert r.exit_code == 0 and "resolved config" in r.stdout


@pytest.mark.parametrize("command", ["show", "attach", "stop"])
def test_unknown_run_is_a_one_line_error(home, command):
    r = cli(command, "nope")
    assert r.exit_code == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "error:" in r.stderr


def test_no_runs_yet(home):
    r = cli("runs")
    assert r.exit_code == 0 and "No runs yet" in r.stdout
    assert json.loads(cli("runs", "--json").stdout) == []


def test_an_attached_run_that_diverges_says_why_and_exits_1(home):
    r = cli("run", "fake", "--set", "delay=0", "--set", "diverge_at=6")
    assert r.exit_code == 1
    assert ": diverged — steps 6" in r.stdout and "why: loss is nan at step 6" in r.stdout
    run_id = r.stdout.split()[1]
    doc = json.loads(cli("show", run_id, "--json").stdout)
    assert doc["status"] == "diverged" and doc["reason"] == "loss is nan at step 6"
    assert doc["checkpoints"] == [{"step": 5, "path": "ckpt.json"}]  # the last good step
    assert doc["verdict"]["status"] == "diverged"
    assert (home / "runs" / run_id / "report.md").is_file()


def test_the_guard_setting_turns_the_guard_off(home):
    r = cli("run", "fake", "--set", "delay=0", "--set", "diverge_at=6", "--set", "guard=false")
    assert r.exit_code == 0 and ": done" in r.stdout


def test_an_attached_run_says_how_it_ended_against_the_reference(home):
    r = cli("run", "fake", "--set", "delay=0")
    assert r.exit_code == 0
    assert "against the reference: val 2.072 at step 20, reference 2.071: on track" in r.stdout
    assert "report: " in r.stdout
    run_id = r.stdout.split()[1]
    report = (home / "runs" / run_id / "report.md").read_text()
    assert f"| python | {sys.version.split()[0]} |" in report  # what the lab said it ran on
