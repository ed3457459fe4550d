"""The lab side of the protocol: a run started by hand or by studytui, and what a user can get wrong."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from labs.common.runctx import RunContext


def refused(capsys, argv: list[str]) -> str:
    """Starting the tokenizer lab's context with argv: exit 2 and the one line it printed."""
    with pytest.raises(SystemExit) as exit_info:
        RunContext.from_argv("tokenizer", argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_a_run_by_hand_gets_a_folder_and_config(tmp_path):
    ctx = RunContext.from_argv("tokenizer", ["--out", str(tmp_path), "--set", "vocab_size=300"])
    config = json.loads((ctx.run_dir / "config.json").read_text())
    assert ctx.run_dir.parent == tmp_path and config["run_id"] == ctx.run_dir.name
    assert config["settings"] == {"vocab_size": "300"} and ctx.given == {"vocab_size": "300"}
    assert ctx.settings["vocab_size"] == 300 and ctx.settings["pattern"] == "gpt4"   # defaults filled in


@pytest.mark.parametrize("config_text, message", [
    (None, "no config.json"),
    ("{not json", "cannot read it"),
    ('{"settings": [1, 2]}', "'settings' must be an object"),
    ("[]", "'settings' must be an object"),
])
def test_a_broken_run_folder_is_one_line(tmp_path, capsys, config_text, message):
    if config_text is not None:
        (tmp_path / "config.json").write_text(config_text)
    assert message in refused(capsys, [str(tmp_path)])


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert "cannot make a run folder" in refused(capsys, ["--out", str(tmp_path / "file")])


def test_a_bad_setting_in_a_run_folder_is_an_error_event(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"settings": {"vocab_size": "lots"}}))
    assert "vocab_size: 'lots' is not a valid int" in refused(capsys, [str(tmp_path)])
    (event,) = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert event["event"] == "error" and "vocab_size" in event["message"]   # studytui shows it failed


def test_a_run_that_is_already_running_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STUDYTUI_LOCK_FD", raising=False)
    (tmp_path / "config.json").write_text(json.dumps({"settings": {}}))
    with open(tmp_path / "run.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)   # another process runs it
        ctx = RunContext.from_argv("tokenizer", [str(tmp_path)])
        with pytest.raises(SystemExit) as exit_info:
            with ctx:
                pass
    assert exit_info.value.code == 2
    assert "running in another process" in capsys.readouterr().err
    assert not Path(tmp_path / "metrics.jsonl").exists()   # the running one's events are its own
