"""The lab side of the protocol: settings checks, a clean exit, a folder that disappears."""

from __future__ import annotations

import shutil
import signal

import pytest

from labs import protocol
from labs.common import runctx
from labs.common.runctx import RunContext, SettingError, coerce_setting, load_manifest
from studytui.runs import SettingError as AppSettingError
from studytui.runs import get_manifest as app_manifest


def test_str_settings_with_a_pattern_refuse_other_values():
    spec = next(s for s in load_manifest("gpt").settings if s["name"] == "device")
    assert coerce_setting(spec, "cuda:1") == "cuda:1"
    with pytest.raises(SettingError, match="device: 'tpu'"):
        coerce_setting(spec, "tpu")


@pytest.mark.parametrize("raw", ["nan", "inf", " ", "1e999"])
def test_lab_and_app_check_a_setting_the_same_way(raw):
    """One checker: what the app refuses before launch, the lab refuses too, same words."""
    spec = {"name": "x", "type": "float", "min": 0.0}
    lab_side = app_side = None
    try:
        lab_side = coerce_setting(spec, raw)
    except SettingError as e:
        lab_side = str(e)
    try:
        app_side = protocol.check_settings(app_manifest("gpt"), {"learning_rate": raw})["learning_rate"]
    except AppSettingError as e:
        app_side = str(e).replace("learning_rate", "x")
    assert lab_side == app_side
    assert AppSettingError is SettingError


def test_run_context_puts_the_signal_handlers_back(tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with RunContext(tmp_path, "gpt", {}) as ctx:
        assert signal.getsignal(signal.SIGINT) == ctx._on_term
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_deleted_run_folder_ends_the_run_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runctx, "FOLDER_CHECK_S", 0.0)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(SystemExit) as e:
        with RunContext(run_dir, "fake", {}) as ctx:
            ctx.emit("step", step=1, loss=1.0)
            shutil.rmtree(run_dir)
            for step in range(2, 100):
                ctx.emit("step", step=step, loss=1.0)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was deleted" in err


def test_a_run_whose_folder_stays_runs_on(tmp_path, monkeypatch):
    monkeypatch.setattr(runctx, "FOLDER_CHECK_S", 0.0)
    with RunContext(tmp_path, "fake", {}) as ctx:
        for step in range(1, 20):
            ctx.emit("step", step=step, loss=1.0)
            assert not ctx.stop_requested
        ctx.end("done")
    assert (tmp_path / "metrics.jsonl").read_text().count('"event": "step"') == 19
