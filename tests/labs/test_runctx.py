"""The lab side of the protocol: settings checks, a clean exit, a folder that disappears."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import signal
from pathlib import Path

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


# -- settings declared twice (manifest and config dataclass) must agree ---------------------------

# How a lab turns its settings into its config, where that is not `Config(**settings)`.
RESOLVERS = {"gpt": "labs.gpt.config:resolve_config"}
# Labs with no config dataclass, and why (nothing of theirs is declared twice).
NO_CONFIG = {"gpt-ladder": "reads its settings as given: sizes and steps are chosen per device"}


def _load(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _builtin_manifests() -> list:
    return [
        m
        for m in protocol.discover()[0].values()
        if m.path.resolve().is_relative_to(Path(protocol.__file__).resolve().parent)
    ]


def test_every_builtin_lab_names_its_config_class():
    missing = {m.name for m in _builtin_manifests() if not m.raw.get("config") and m.name not in NO_CONFIG}
    assert missing == set(), 'add "config": "module:Class" to these manifests (docs/protocol.md)'


@pytest.mark.parametrize(
    "manifest", [m for m in _builtin_manifests() if m.raw.get("config")], ids=lambda m: m.name
)
def test_manifest_defaults_equal_the_config_class_defaults(manifest):
    """A run with no settings gets what the config class says by default: every setting the
    manifest gives a default (null means "the preset's" or "derived") is the same there."""
    config_class = _load(manifest.raw["config"])
    assert dataclasses.is_dataclass(config_class)
    defaults = protocol.resolve_settings(manifest, {})
    resolve = _load(RESOLVERS[manifest.name]) if manifest.name in RESOLVERS else lambda s: config_class(**s)
    resolved, plain = resolve(defaults), config_class()
    fields = {f.name for f in dataclasses.fields(config_class)}
    declared_twice = [
        s["name"] for s in manifest.settings if s.get("default") is not None and s["name"] in fields
    ]
    assert declared_twice, "nothing compared"
    differ = {
        n: (getattr(resolved, n), getattr(plain, n))
        for n in declared_twice
        if getattr(resolved, n) != getattr(plain, n)
    }
    assert differ == {}, "setting: (manifest default, config class default)"
