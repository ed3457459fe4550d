"""What `start_run` hands a lab, read from the running process itself (/proc): its folder, its
stdin, its environment and the lock it holds; and the config.json the protocol promises."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

from studytui.protocol import LOCK_FD_ENV, LOCK_FILE
from studytui.runs import RunError, stop_run
from studytui.runs import launcher as launcher_mod
from tests.conftest import FAKE_LABS
from tests.test_runs import start_fake, wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.fixture
def hanging(sess, monkeypatch):
    """A long fake run, started with a PYTHONPATH of the caller's own."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/caller/one", "/caller/two"]))
    # our stdin a pipe, as a terminal would be: the lab must not inherit it
    saved, (read_end, write_end) = os.dup(0), os.pipe()
    os.dup2(read_end, 0)
    try:
        run_id, watch = start_fake(sess, "steps=100000", "delay=0.05")
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    watch = wait_for(watch, lambda w: w.state.started_t and w.state.pid)
    yield sess, run_id, watch
    stop_run(sess, run_id)


def test_the_lab_runs_in_its_folder_with_no_terminal_on_stdin(hanging):
    _, _, watch = hanging
    pid = watch.state.pid
    assert os.readlink(f"/proc/{pid}/cwd") == str(watch.run_dir.resolve())
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"


def test_the_lab_gets_its_lock_unbuffered_output_and_its_import_root_first(hanging):
    _, _, watch = hanging
    pid = watch.state.pid
    env = environ(pid)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONPATH"] == os.pathsep.join([str(FAKE_LABS), "/caller/one", "/caller/two"])
    fd = env[LOCK_FD_ENV]
    assert os.readlink(f"/proc/{pid}/fd/{fd}") == str(watch.run_dir.resolve() / LOCK_FILE)


def test_without_a_pythonpath_of_its_own_the_lab_gets_just_its_root(sess, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    run_id, watch = start_fake(sess, "steps=100000", "delay=0.05")
    try:
        watch = wait_for(watch, lambda w: w.state.started_t and w.state.pid)
        assert environ(watch.state.pid)["PYTHONPATH"] == str(FAKE_LABS)
    finally:
        stop_run(sess, run_id)


def test_config_json_says_which_lab_which_run_and_when(sess):
    before = dt.datetime.now().astimezone().replace(microsecond=0)
    run_id, watch = start_fake(sess, "steps=1", "delay=0")
    wait_for(watch, lambda w: w.status == "done")
    config = json.loads((watch.run_dir / "config.json").read_text(encoding="utf-8"))
    assert (config["lab"], config["run_id"]) == ("fake", run_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", config["created"])
    assert before <= dt.datetime.fromisoformat(config["created"]) <= dt.datetime.now().astimezone()
    umask = os.umask(0)
    os.umask(umask)
    assert (watch.run_dir / LOCK_FILE).stat().st_mode & 0o777 == 0o644 & ~umask


def test_a_run_id_drawn_twice_draws_again_then_gives_up(tmp_path, monkeypatch):
    drawn = iter(["fake-1", "fake-1", "fake-2"])
    monkeypatch.setattr(launcher_mod, "new_run_id", lambda lab: next(drawn))
    assert launcher_mod._make_run_dir(tmp_path, "fake") == ("fake-1", tmp_path / "fake-1")
    assert launcher_mod._make_run_dir(tmp_path, "fake") == ("fake-2", tmp_path / "fake-2")
    calls = []
    monkeypatch.setattr(launcher_mod, "new_run_id", lambda lab: calls.append(lab) or "fake-1")
    with pytest.raises(RunError, match=f"^could not make a fresh run folder in {re.escape(str(tmp_path))}$"):
        launcher_mod._make_run_dir(tmp_path, "fake")
    assert len(calls) == 100
