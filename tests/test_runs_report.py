"""Reference runs, the on-track verdict, the divergence guard, the text chart and the report
card: pure parts on canned events, then `lab report` / `lab show` on folders written here
(no lab process, no torch)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labs.common.guard import DivergenceGuard
from labs.protocol import END_STATUSES, REPORT_FILE, event_line
from studytui.cli.lab import lab_app
from studytui.runs import RunState, RunWatch, refresh_runs
from studytui.runs.chart import text_chart
from studytui.runs.references import (
    Reference,
    load_references,
    parse_reference,
    reference_curve,
    reference_for_run,
    reference_from_run,
)
from studytui.runs.report import run_report, write_report
from studytui.runs.verdict import ending_line, verdict
from studytui.runs.watch import FINAL
from studytui.session import Session

ROOT = Path(__file__).resolve().parents[1]


def curve_ref(points, metric="val_loss", **kw) -> Reference:
    return Reference(
        name="r",
        title="r",
        lab="fake",
        metric=metric,
        source="test",
        points=tuple({"step": s, metric: v} for s, v in points),
        **kw,
    )


def state_with(evals=(), steps=(), end=None, config=None) -> RunState:
    st = RunState(config={"resolved": config or {}})
    events = [{"event": "start", "t": 1.0, "device": "cpu", "config": config or {}}]
    for s, loss in steps:
        events.append({"event": "step", "t": 1.0 + s, "step": s, "loss": loss, "tok_per_s": 100.0 + s})
    for s, v in evals:
        events.append({"event": "eval", "t": 1.0 + s, "step": s, "val_loss": v})
    events.sort(key=lambda e: e["t"])
    if end:
        events.append({"event": "end", "t": 999.0, **end})
    st.apply(events)
    return st


# -- the guard (lab side) --------------------------------------------------------------------


def test_guard_stops_at_the_first_nan_or_inf():
    g = DivergenceGuard(window=5, factor=2.0)
    assert g.check(1, 3.0) is None and g.check(2, 2.5) is None
    assert g.check(3, float("nan")) == "loss is nan at step 3"
    assert g.last_good_step == 2
    assert DivergenceGuard().check(7, 1.0, float("inf")) == "val_loss is inf at step 7"


def test_guard_needs_a_whole_window_far_above_the_best():
    g = DivergenceGuard(window=3, factor=2.0)
    for step, loss in enumerate([4.0, 2.0, 1.0], start=1):
        assert g.check(step, loss) is None
    assert g.check(4, 2.5) is None and g.check(5, 2.6) is None  # two spikes: noise
    assert g.check(6, 1.1) is None  # back near its best: reset
    assert not g.suspect
    assert g.check(7, 3.0) is None and g.check(8, 3.0) is None
    assert g.suspect  # no checkpoint now
    reason = g.check(9, 3.0)
    assert reason and "above 2x its best (1)" in reason and "since step 7" in reason
    assert g.last_good_step == 8


def test_guard_ignores_warm_up_and_refuses_nonsense():
    g = DivergenceGuard(window=1, factor=1.5, min_steps=10)
    g.check(1, 1.0)
    assert g.check(2, 5.0) is None  # before min_steps a spike is not judged
    assert g.check(10, 5.0) is not None
    with pytest.raises(ValueError):
        DivergenceGuard(window=0)
    with pytest.raises(ValueError):
        DivergenceGuard(factor=1.0)


def test_diverged_is_a_final_status_with_its_reason():
    assert "diverged" in END_STATUSES and "diverged" in FINAL
    st = state_with(
        steps=[(1, 3.0)],
        end={"status": "diverged", "summary": {"steps": 1}, "reason": "loss is nan at step 2\nsecond line"},
    )
    assert st.end_status == "diverged" and st.end_reason == "loss is nan at step 2"
    v = verdict(st, None)
    assert v.status == "diverged" and v.text == "diverged: loss is nan at step 2"


# -- reference runs as data ----------------------------------------------------------------------


def test_shipped_references_parse_and_match_their_presets():
    names = {r.name for r in load_references()}
    assert {
        "nanogpt-shakespeare-char-cpu",
        "nanogpt-shakespeare-char-gpu",
        "makemore-bigram-counts",
        "makemore-mlp",
        "gpt-ladder-seed003",
    } <= names
    cpu = reference_for_run("gpt", {"preset": "shakespeare-char"})  # a curve made with the lab
    assert cpu.end_point[0] == 2000 and abs(cpu.end_point[1] - 1.88) < 0.1 and cpu.statistic == "best"
    assert cpu.published_points == ({"step": 2000, "tokens": 1536000, "val_loss": 1.88},)
    assert reference_for_run("gpt", {"preset": "shakespeare-char-gpu"}).end_point == (5000, 1.4697)
    assert reference_for_run("makemore", {"model": "bigram-counts"}).end_point == (None, 2.4546)
    assert reference_for_run("makemore", {"model": "mlp"}).end_point == (None, 2.17)
    assert reference_for_run("gpt", {"preset": "gpt2"}) is None


def test_every_reference_file_is_valid():
    for path in sorted((ROOT / "labs" / "references").glob("*.json")):
        ref = parse_reference(path)
        assert ref.source and ref.lab, path
        assert ref.end_point is not None or ref.rungs, path


def test_the_ladder_reference_agrees_with_the_curriculum():
    doc = yaml.safe_load((ROOT / "curriculum" / "tokenization-gpt2.yaml").read_text(encoding="utf-8"))
    ref = reference_for_run("gpt-ladder", {})
    rows = _ladder_rows(doc)
    assert [r["rung"] for r in ref.rungs] == [r["rung"] for r in rows]
    for mine, theirs in zip(ref.rungs, rows):
        assert mine["tok_per_s"] == theirs["tok_per_s"]
        assert mine["speedup_fp32"] == pytest.approx(theirs["tok_per_s"] / rows[0]["tok_per_s"], abs=1e-3)


def _ladder_rows(node):
    if isinstance(node, dict):
        if isinstance(node.get("ladder"), list):
            return node["ladder"]
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            found = _ladder_rows(child)
            if found:
                return found
    return None


def test_a_run_carrying_its_published_figure_gets_it_as_reference():
    resolved = {
        "preset": "mine",
        "reference": {"val_loss": 1.5, "source": "somewhere", "differs": ["n_layer"]},
    }
    ref = reference_for_run("gpt", resolved, references=[])
    assert ref.end_point == (None, 1.5) and ref.source == "somewhere"
    st = state_with(evals=[(100, 1.52)], end={"status": "done"}, config=resolved)
    v = verdict(st, ref)
    assert v.status == "on track" and v.differs == ["n_layer"]
    assert v.text.startswith("best val 1.52 at step 100, reference 1.5: on track")
    assert "not like for like: n_layer differ" in v.text


def test_reference_curve_interpolates_between_points():
    ref = curve_ref([(0, 4.0), (100, 3.0), (300, 2.0)])
    assert ref.value_at(50) == pytest.approx(3.5)
    assert ref.value_at(300) == 2.0 and ref.value_at(400) is None
    assert reference_curve(ref) == ([0.0, 100.0, 300.0], [4.0, 3.0, 2.0])
    assert reference_curve(None) == ([], [])


# -- the verdict ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mine, status", [(2.45, "behind"), (2.31, "on track"), (2.1, "ahead"), (2.9, "diverging")]
)
def test_verdict_at_the_same_step(mine, status):
    ref = curve_ref([(0, 4.0), (600, 2.28), (1200, 2.0)])
    v = verdict(state_with(evals=[(600, mine)]), ref)
    assert v.status == status and v.step == 600 and v.reference_value == 2.28
    if status == "on track":  # the issue's own example
        assert v.text == "val 2.31 at step 600, reference 2.28: on track"


def test_diverging_says_since_when():
    ref = curve_ref([(s, 2.0) for s in range(0, 1001, 100)])
    st = state_with(evals=[(100, 2.0), (200, 2.1), (300, 2.6), (400, 2.6), (500, 2.6)])
    v = verdict(st, ref)
    assert v.status == "diverging" and v.since_step == 300
    assert v.text == "diverging: 0.6 above the reference since step 300"


def test_an_end_point_is_judged_only_once_reached():
    ref = reference_for_run("gpt", {"preset": "shakespeare-char-gpu"})
    config = {"preset": "shakespeare-char-gpu"}
    v = verdict(state_with(evals=[(600, 2.31)], config=config), ref)
    assert v.status == "too early"
    assert v.text == "reference 1.47 at step 5000 only; val 2.31 at step 600 so far"
    done = state_with(evals=[(4750, 1.46), (5000, 1.5)], end={"status": "done"}, config=config)
    v = verdict(done, ref)
    assert v.status == "on track" and v.value == 1.46  # nanoGPT's figure is the best val loss
    assert v.text == "best val 1.46 at step 4750, reference 1.47 at step 5000: on track"


def test_a_nan_loss_reads_diverged_while_running():
    v = verdict(state_with(steps=[(1, 3.0), (2, float("nan"))]), curve_ref([(0, 4.0), (10, 3.0)]))
    assert v.status == "diverged" and "loss is nan at step 2" in v.text


def test_no_reference():
    assert verdict(state_with(), None).status == "no reference"


def test_ladder_verdict_gives_ratios_to_the_seed_notes():
    ref = reference_for_run("gpt-ladder", {})
    st = RunState()
    st.apply(
        [
            {
                "event": "table",
                "name": "ladder",
                "t": 1.0,
                "columns": ["rung", "change", "ms/step", "tok/s", "vs previous", "vs fp32", "mfu", "status"],
                "rows": [
                    ["fp32", "", 10.0, 1000, None, 1.0, None, "ok"],
                    ["tf32", "", 5.0, 2000, 2.0, 2.0, None, "ok"],
                ],
            }
        ]
    )
    v = verdict(st, ref)
    assert v.status == "info" and "x2 over fp32 at rung tf32" in v.text
    assert v.reference_value == pytest.approx(42906.98 / 15740.04, abs=1e-3)


# -- the text chart -----------------------------------------------------------------------------------


def test_text_chart_is_ascii_and_skips_non_finite_points():
    chart = text_chart(
        [("loss", [0, 1, 2, 3], [4.0, 3.0, float("nan"), 1.0]), ("ref", [0, 3], [4.0, 2.0])],
        width=30,
        height=6,
    )
    assert chart.isascii()
    body = chart.splitlines()[:6]
    assert sum(line.count("*") for line in body) == 2 and sum(line.count("o") for line in body) == 1
    assert "#" in body[0]  # both series start at (0, 4.0)
    assert body[0].lstrip().startswith("4 |") and body[-1].lstrip().startswith("1 |")
    assert "* loss   o ref   # several" in chart
    assert text_chart([("x", [], [])]) == "(no points to draw yet)"


# -- the report card -------------------------------------------------------------------------------------


def write_run(runs: Path, run_id: str, events: list[dict], settings=None, resolved=None) -> Path:
    d = runs / run_id
    d.mkdir(parents=True)
    config = {
        "lab": "fake",
        "run_id": run_id,
        "created": "2026-01-01T00:00:00+00:00",
        "settings": settings or {},
    }
    if resolved is not None:
        config["resolved"] = resolved
    (d / "config.json").write_text(json.dumps(config))
    (d / "metrics.jsonl").write_text(
        "".join(event_line(e.pop("event"), e, t=e.pop("t", 1.0)) for e in events)
    )
    return d


def canned_events(n=20, nan_at=None, sample="Once upon a time"):
    resolved = {"steps": n, "flavour": "gpt"}
    events = [
        {"event": "start", "t": 100.0, "pid": 1, "device": "cpu", "config": resolved, "torch": "2.13.0"}
    ]
    for s in range(1, n + 1):
        loss = 4 * math.exp(-s / 20) + 0.5 if nan_at is None or s < nan_at else float("nan")
        events.append({"event": "step", "t": 100.0 + s, "step": s, "loss": loss, "tok_per_s": 1000.0 + s})
        if s % 5 == 0:
            events.append({"event": "eval", "t": 100.0 + s, "step": s, "val_loss": loss + 0.1})
            events.append(
                {"event": "sample", "t": 100.0 + s, "step": s, "prompt": "", "text": f"{sample} {s}"}
            )
    return events


@pytest.fixture
def runs(lab_home) -> Path:
    return lab_home / "runs"


def test_report_says_what_ran_and_how_it_went(runs):
    d = write_run(
        runs,
        "fake-20260101-000000-aaaa",
        canned_events() + [{"event": "end", "t": 130.0, "status": "done", "summary": {"loss": 1.97}}],
        settings={"delay": 0.0, "steps": 20},
    )
    w = RunWatch(d)
    w.poll()
    ref = reference_for_run("fake", w.state.resolved)
    text = run_report(w, None, ref)
    assert text.startswith("# Run fake-20260101-000000-aaaa\n")
    assert "| wall time | 30s |" in text and "| device | cpu |" in text and "| torch | 2.13.0 |" in text
    assert "| delay | 0 |" in text
    assert "| best val loss | 2.072 (step 20) |" in text and "| tok/s (median) | 1,010 |" in text
    assert "**on track**: val 2.072 at step 20, reference 2.071: on track" in text
    assert "+ reference val_loss" in text and "```\nOnce upon a time 20\n```" in text


def test_report_shows_hostile_run_text_harmlessly(runs):
    hostile = "\x1b]8;;http://evil\x07click\x1b[2J ```` | tail"
    d = write_run(
        runs,
        "fake-20260101-000000-bbbb",
        canned_events(n=5, sample=hostile) + [{"event": "end", "t": 130.0, "status": "done", "summary": {}}],
        settings={"note": "a|b\x1b[31m"},
    )
    w = RunWatch(d)
    w.poll()
    text = run_report(w, None, None)
    assert "\x1b" not in text and "\x07" not in text
    assert "a\\|b" in text  # a pipe cannot split a table cell
    assert "\n`````\n" in text  # the fence outgrows the sample's backticks


def test_the_report_is_written_into_the_folder_once_the_run_ended(lab_home, runs):
    sess = Session(home=lab_home)
    d = write_run(runs, "fake-20260101-000000-cccc", canned_events(n=5))
    (d / "run.lock").touch()
    import fcntl

    fd = os.open(d / "run.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # alive: no report yet
    try:
        assert refresh_runs(sess)[0]["status"] == "running"
        assert not (d / REPORT_FILE).exists()
        with open(d / "metrics.jsonl", "a") as f:
            f.write(
                event_line("end", {"status": "diverged", "summary": {}, "reason": "loss is nan at step 6"})
            )
    finally:
        os.close(fd)
    row = refresh_runs(sess)[0]
    assert row["status"] == "diverged" and row["summary"]["reason"] == "loss is nan at step 6"
    report = (d / REPORT_FILE).read_text()
    assert "status **diverged (loss is nan at step 6)**" in report
    assert "**diverged**: diverged: loss is nan at step 6" in report


def test_the_automatic_report_never_writes_through_a_planted_link(lab_home, runs, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    d = write_run(
        runs,
        "fake-20260101-000000-dddd",
        canned_events(n=5) + [{"event": "end", "t": 130.0, "status": "done", "summary": {}}],
    )
    (d / REPORT_FILE).symlink_to(victim)
    refresh_runs(Session(home=lab_home))
    w = RunWatch(d)
    w.poll()
    assert write_report(w, None, None, replace=True) is None
    assert victim.read_text() == "keep me"


def cli(*args):
    return CliRunner().invoke(lab_app, list(args), catch_exceptions=False)


def test_lab_report_to_stdout_and_to_a_file(runs, tmp_path):
    write_run(
        runs,
        "fake-20260101-000000-eeee",
        canned_events() + [{"event": "end", "t": 130.0, "status": "done", "summary": {}}],
    )
    r = cli("report", "last")
    assert r.exit_code == 0 and r.stdout.startswith("# Run fake-20260101-000000-eeee")
    out = tmp_path / "card.md"
    r = cli("report", "last", "-o", str(out))
    assert r.exit_code == 0 and out.read_text().startswith("# Run fake-20260101-000000-eeee")


@pytest.mark.parametrize("target", ["dir", "fifo"])
def test_lab_report_refuses_a_folder_or_a_fifo(runs, tmp_path, target):
    write_run(runs, "fake-20260101-000000-ffff", canned_events(n=5))
    path = tmp_path / "out"
    if target == "dir":
        path.mkdir()
    else:
        os.mkfifo(path)
    r = cli("report", "last", "-o", str(path))
    assert r.exit_code == 2
    assert "nothing written" in r.output and len(r.output.strip().splitlines()) == 1


def test_lab_show_carries_the_verdict(runs):
    write_run(
        runs,
        "fake-20260101-000000-abab",
        canned_events() + [{"event": "end", "t": 130.0, "status": "done", "summary": {}}],
    )
    doc = json.loads(cli("show", "last", "--json").stdout)
    assert doc["verdict"]["status"] == "on track" and doc["verdict"]["reference"] == "fake-20-steps"
    assert doc["verdict"]["text"] == "val 2.072 at step 20, reference 2.071: on track"
    assert doc["reference"]["name"] == "fake-20-steps" and doc["reference"]["end_point_only"] is False
    human = cli("show", "last").stdout
    assert "verdict" in human and "on track" in human


def test_stalled_shows_while_the_process_lives(runs):
    import fcntl

    d = write_run(runs, "fake-20260101-000000-acac", canned_events(n=5))
    fd = os.open(d / "run.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        doc = json.loads(cli("runs", "--json").stdout)[0]
        assert doc["status"] == "running" and doc["stalled"] is False
        old = (d / "metrics.jsonl").stat().st_mtime - 3600
        os.utime(d / "metrics.jsonl", (old, old))
        doc = json.loads(cli("runs", "--json").stdout)[0]
        assert doc["status"] == "running" and doc["stalled"] is True
        assert "stalled?" in cli("runs").stdout and "stalled?" in cli("show", "last").stdout
    finally:
        os.close(fd)
    doc = json.loads(cli("runs", "--json").stdout)[0]
    assert doc["status"] == "interrupted" and doc["stalled"] is False  # a dead run is not "stalled"


def test_a_reference_is_made_from_a_run_folder(runs, tmp_path):
    d = write_run(
        runs,
        "fake-20260101-000000-adad",
        canned_events(n=120) + [{"event": "end", "t": 300.0, "status": "done", "summary": {"figure": 1.23}}],
    )
    template = curve_ref(
        [(None, 2.0)], metric="figure", published=None, tokens_per_step=10, match={"flavour": "gpt"}
    )
    doc = reference_from_run(d, template)
    steps = [p["step"] for p in doc["points"]]
    assert steps[0] == 1 and steps[-1] == 120 and len(steps) <= 2 * 50 + 1 and steps == sorted(steps)
    assert doc["points"][-1]["figure"] == 1.23 and doc["points"][-1]["tokens"] == 1200
    assert doc["device"] == "cpu" and doc["match"] == {"flavour": "gpt"} and doc["published"] == "test"
    ref = parse_reference(write_json(tmp_path / "ref.json", doc))
    assert ref.end_point == (120, 1.23)
    xs, ys = reference_curve(ref)  # judged by its figure, drawn as its val_loss curve
    assert xs == [float(s) for s in range(5, 121, 5)] and ys[-1] == pytest.approx(
        4 * math.exp(-6) + 0.6, abs=1e-4
    )


def write_json(path, doc):
    path.write_text(json.dumps(doc))
    return path


def test_a_curve_made_with_the_lab_names_the_published_figure_at_the_end():
    ref = curve_ref(
        [(0, 4.2), (1000, 2.0), (2000, 1.9)], published_points=({"step": 2000, "val_loss": 1.88},)
    )
    running = state_with(evals=[(1000, 2.02)])
    assert verdict(running, ref).text == "val 2.02 at step 1000, reference 2: on track"
    done = state_with(evals=[(1000, 2.02), (2000, 1.91)], end={"status": "done"})
    assert (
        verdict(done, ref).text
        == "val 1.91 at step 2000, reference 1.9: on track; published: 1.88 at step 2000"
    )


def test_ending_line_says_how_a_run_ended():
    st = state_with(steps=[(1, 3.0)], end={"status": "diverged", "reason": "loss is nan at step 2"})
    assert ending_line("gpt-x", "diverged", st) == "gpt-x: diverged (loss is nan at step 2)"
    done = state_with(evals=[(600, 2.31)], end={"status": "done"})
    judged = verdict(done, curve_ref([(0, 4.0), (600, 2.28)]))
    assert (
        ending_line("gpt-y", "done", done, judged)
        == "gpt-y: done; val 2.31 at step 600, reference 2.28: on track"
    )
    assert ending_line("gpt-z", "interrupted", RunState(), verdict(RunState(), None)) == "gpt-z: interrupted"


def test_before_the_reference_curve_starts_the_verdict_waits():
    ref = curve_ref([(63, 2.77), (2000, 1.89)])
    v = verdict(state_with(evals=[(20, 3.1)]), ref)
    assert (
        v.status == "too early"
        and v.text == "the reference's val curve starts at step 63; val 3.1 at step 20 so far"
    )
    assert verdict(state_with(), ref).text == "the reference's val curve starts at step 63"


def test_the_shipped_cpu_curve_judges_a_baby_gpt_run():
    ref = reference_for_run("gpt", {"preset": "shakespeare-char"})
    assert not ref.end_point_only and ref.published_points[-1]["val_loss"] == 1.88
    mid = ref.value_at(600)
    v = verdict(state_with(evals=[(600, mid + 0.02)], config={"preset": "shakespeare-char"}), ref)
    assert v.status == "on track" and v.reference_value == pytest.approx(mid)


def test_stalled_waits_ten_usual_gaps_when_those_are_long(runs):
    import fcntl

    events = [{"event": "step", "t": 1000.0 + 120 * s, "step": s, "loss": 3.0} for s in range(1, 12)]
    d = write_run(runs, "fake-20260101-000000-aeae", events)  # a step every 2 minutes
    fd = os.open(d / "run.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        w = RunWatch(d)
        w.poll()
        assert w.state.typical_gap_s() == 120.0
        mtime = (d / "metrics.jsonl").stat().st_mtime
        assert not w.stalled(now=mtime + 600)  # 10 minutes: five steps' worth, not stuck
        assert w.stalled(now=mtime + 1300)  # past ten usual gaps
        assert not w.stalled(now=mtime + 200)
    finally:
        os.close(fd)


def test_the_item_that_pairs_with_a_lab_links_its_runs_report_cards(runs, tmp_path):
    """`show` and the markdown export list the lab's runs under the item, with the report
    card the index wrote when it first saw the run's end."""
    from typer.testing import CliRunner

    from studytui.cli.main import app

    curriculum = tmp_path / "curriculum"
    curriculum.mkdir()
    (curriculum / "c.yaml").write_text(
        "id: c\ntitle: C\nsections:\n  - id: s\n    title: S\n    items:\n"
        "      - id: fake-item\n        title: Fake lecture\n        kind: video\n"
        "        url: https://example.org/v\n        lab: fake\n"
    )
    write_run(
        runs,
        "fake-20260101-000000-aaaa",
        canned_events() + [{"event": "end", "t": 130.0, "status": "done", "summary": {"loss": 1.97}}],
    )
    runner = CliRunner()
    args = ["--no-builtin", "-c", str(curriculum)]
    shown = runner.invoke(app, [*args, "show", "fake-item", "--json"])
    assert shown.exit_code == 0, shown.output
    report = runs / "fake-20260101-000000-aaaa" / "report.md"
    assert report.is_file()
    assert json.loads(shown.stdout)["runs"] == [
        {"id": "fake-20260101-000000-aaaa", "status": "done", "report": str(report)}
    ]
    assert f"report: {report}" in runner.invoke(app, [*args, "show", "fake-item"]).stdout
    exported = runner.invoke(app, [*args, "export", "-f", "md"]).stdout
    assert f"- run fake-20260101-000000-aaaa (done): report card {report}" in exported
