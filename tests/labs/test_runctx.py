"""The lab side of the protocol: settings checks and a clean exit from RunContext."""

from __future__ import annotations

import signal

import pytest

from labs.common.runctx import RunContext, SettingError, coerce_setting, load_manifest


def test_str_settings_with_a_pattern_refuse_other_values():
    spec = next(s for s in load_manifest("gpt")["settings"] if s["name"] == "device")
    assert coerce_setting(spec, "cuda:1") == "cuda:1"
    with pytest.raises(SettingError, match="device: 'tpu'"):
        coerce_setting(spec, "tpu")


def test_run_context_puts_the_signal_handlers_back(tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with RunContext(tmp_path, "gpt", {}) as ctx:
        assert signal.getsignal(signal.SIGINT) == ctx._on_term
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
