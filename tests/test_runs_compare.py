"""`studytui lab compare A B ...`: settings diff, figures with ratios to the first run,
overlaid loss curves; on run folders written here (no lab process)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from studytui.cli.lab import lab_app
from studytui.runs import RunWatch
from studytui.runs.compare import compare_chart, compare_runs, ratio, settings_diff
from tests.test_runs_report import canned_events, write_run


def cli(*args):
    return CliRunner().invoke(lab_app, list(args), catch_exceptions=False)


@pytest.fixture
def two_runs(lab_home):
    runs = lab_home / "runs"
    fast = canned_events()
    for e in fast:
        if e["event"] == "step":
            e["tok_per_s"] *= 2
    a = write_run(
        runs,
        "fake-20260101-000000-aaaa",
        canned_events() + [{"event": "end", "t": 140.0, "status": "done", "summary": {}}],
        settings={"steps": 20, "delay": 0.02},
    )
    b = write_run(
        runs,
        "fake-20260101-000001-bbbb",
        fast[:-9] + [{"event": "end", "t": 115.0, "status": "done", "summary": {}}],
        settings={"steps": 20, "delay": 0.0},
    )
    watches = [RunWatch(a), RunWatch(b)]
    for w in watches:
        w.poll()
    return watches


def test_compare_gives_ratios_to_the_first_run(two_runs):
    doc = compare_runs(two_runs)
    assert doc["ratios_to"] == "fake-20260101-000000-aaaa"
    first, second = doc["runs"]
    assert first["ratios"]["tok_per_s_median"] == 1.0
    assert second["ratios"]["tok_per_s_median"] == pytest.approx(2.0, rel=0.01)
    assert second["ratios"]["wall_time_s"] == pytest.approx(15 / 40)
    assert second["figures"]["steps"] == 15 and second["ratios"]["final_loss"] > 1
    assert doc["settings_diff"] == {"delay": [0.02, 0.0]}  # steps is the same: not listed


def test_settings_diff_prefers_the_resolved_config(two_runs):
    two_runs[1].state.config["resolved"] = {"steps": 20, "flavour": "tokenizer"}
    assert settings_diff(two_runs)["flavour"] == ["gpt", "tokenizer"]


def test_ratio_refuses_what_is_not_a_finite_number():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(float("nan"), 1.0) is None and ratio(1.0, 0) is None
    assert ratio(True, 1.0) is None and ratio(None, 1.0) is None


def test_compare_chart_overlays_one_marker_per_run(two_runs):
    chart = compare_chart(two_runs, width=40, height=8)
    assert chart.startswith("val_loss by step\n") and chart.isascii()
    assert "* fake-20260101-000000-aaaa   o fake-20260101-000001-bbbb" in chart


def test_lab_compare_json_and_human(two_runs):
    r = cli("compare", "fake-20260101-000000-aaaa", "fake-20260101-000001", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert [x["id"] for x in doc["runs"]] == ["fake-20260101-000000-aaaa", "fake-20260101-000001-bbbb"]
    assert set(doc) == {"runs", "settings_diff", "ratios_to", "chart_metric"}
    human = cli("compare", "fake-20260101-000000-aaaa", "last").stdout
    assert "settings that differ" in human and "delay" in human and "x2" in human
    assert "val_loss by step" in human


@pytest.mark.parametrize(
    "args, message",
    [
        (["fake-20260101-000000-aaaa"], "needs two runs or more"),
        (["last", "fake-20260101-000001-bbbb"], "the same run is named twice"),
        (["last", "nope"], "no run matches 'nope'"),
    ],
)
def test_lab_compare_refusals_are_one_line(two_runs, args, message):
    r = cli("compare", *args)
    assert r.exit_code == 1 and message in r.output and len(r.output.strip().splitlines()) == 1
