"""The gpt-ladder run view sets a learner's speed-ups beside the seed notes' figures."""

from __future__ import annotations

import json

from studytui.runs.reference import ladder_reference
from studytui.session import Session
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.widgets.run_panels import LadderComparison
from tests.test_tui_labs import SIZE, Harness, sync, text_of


def test_builtin_curriculum_carries_the_ladder_reference(tmp_path):
    ref = ladder_reference(Session(home=tmp_path).curriculum)
    assert ref is not None and ref.item_key == "tokenization-gpt2/speedup-ladder"
    assert list(ref.rungs)[:2] == ["fp32", "tf32"]
    # The seed's own numbers: 42906.98 / 15740.04 tok/s is the 2.72x it reports for TF32.
    assert round(ref.speedup_fp32("tf32"), 2) == 2.73
    assert ref.speedup_fp32("nope") is None


def _ladder_run(home, run_id: str) -> None:
    run = home / "runs" / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"lab": "gpt-ladder", "run_id": run_id, "settings": {}}))
    columns = ["rung", "change", "ms/step", "tok/s", "vs previous", "vs fp32", "mfu", "status"]
    rows = [
        ["fp32", "", 100.0, 1000, None, 1.0, None, "ok"],
        ["tf32", "", 50.0, 2000, 2.0, 2.0, None, "ok"],
        ["bf16", "", None, None, None, None, None, "skipped"],
    ]
    events = [
        {"v": 1, "event": "start", "t": 1.0, "pid": 1, "device": "cpu", "config": {}},
        {"v": 1, "event": "table", "t": 2.0, "name": "ladder", "columns": columns, "rows": rows},
        {"v": 1, "event": "end", "t": 3.0, "status": "done", "summary": {}},
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


@sync
async def test_run_view_shows_speedups_beside_the_reference(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("STUDYTUI_HOME", str(home))
    _ladder_run(home, "gpt-ladder-20260101-000000-abcd")
    screen = RunScreen(Session(home=home), "gpt-ladder-20260101-000000-abcd")
    async with Harness(screen).run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        panel = screen.query_one(LadderComparison)
        assert not panel.has_class("-empty")
        cells = [line.replace("│", " ").split() for line in text_of(panel).splitlines()]
        lines = {c[0]: c for c in cells if c and c[0] in ("fp32", "tf32", "bf16", "vocab")}
        assert lines["tf32"][1:] == ["2,000", "2.00×", "42,907", "2.73×"]
        assert lines["bf16"][1:3] == ["–", "–"]  # skipped here, but the reference has it
        assert lines["vocab"][-1] == "9.66×"  # 152078 / 15740 tok/s in the notes
