"""Gaps a mutation run found in the verdict, in stopping a run and in `lab compare`: each test
here fails under a small change to studytui/runs/verdict.py, launcher.py or compare.py that
a learner would see (a wrong word in the verdict, a run killed that had stopped, a chart of
the wrong size). Run folders are written here; the processes stopped are `sh` and `sleep`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from studytui.runs import RunState, RunWatch, refresh_runs, stop_run
from studytui.runs.compare import chart_metric, compare_chart, compare_runs, ratio, settings_diff
from studytui.runs.index import RunError
from studytui.runs.references import Reference
from studytui.runs.verdict import (
    Verdict,
    _diverging_margin,
    _judge,
    _tolerance,
    ending_line,
    ladder_rows,
    verdict,
    verdict_for_run,
)
from studytui.runs.watch import lock_held
from tests.test_runs_report import canned_events, curve_ref, write_run


def fold(*events: dict, resolved: dict | None = None) -> RunState:
    """A RunState from canned events (`t` defaults to 1.0)."""
    st = RunState(config={"resolved": resolved or {}})
    st.apply([{"t": 1.0, **e} for e in events])
    return st


def step(s: int, loss: float) -> dict:
    return {"event": "step", "step": s, "loss": loss}


def ev(s: int, val_loss: float) -> dict:
    return {"event": "eval", "step": s, "val_loss": val_loss}


def end(status: str = "done", **fields) -> dict:
    return {"event": "end", "status": status, **fields}


def end_ref(ref_step, value, metric="val_loss", statistic="final", **kw) -> Reference:
    """A published end point only (one point; step None: "at the end")."""
    return Reference(
        name="pub",
        title="pub",
        lab="fake",
        metric=metric,
        source="a paper",
        statistic=statistic,
        points=({"step": ref_step, metric: value},),
        **kw,
    )


def blank(**fields) -> dict:
    """A verdict's JSON with every field at its default, then `fields`."""
    return {**Verdict("", "").to_json(), **fields}


# -- the verdict: diverged and no reference ---------------------------------------------------


def test_a_diverged_run_says_why_and_names_the_reference():
    st = fold(step(1, 3.0), end("diverged", reason="loss is nan at step 2"))
    assert verdict(st, curve_ref([(0, 4.0), (10, 3.0)])).to_json() == blank(
        status="diverged", text="diverged: loss is nan at step 2", reference="r"
    )
    assert verdict(st, None).to_json() == blank(status="diverged", text="diverged: loss is nan at step 2")


def test_a_diverged_end_without_a_reason_blames_the_guard_or_the_non_finite_loss():
    quiet = fold(step(1, 3.0), end("diverged"))
    assert verdict(quiet, None).text == "diverged: the lab's guard stopped it"
    nan = fold(step(1, 3.0), step(2, float("nan")), end("diverged"))
    assert verdict(nan, None).text == "diverged: loss is nan at step 2"


def test_a_non_finite_val_loss_reads_diverged_while_running():
    st = fold(step(3, 2.0), ev(3, float("inf")))
    v = verdict(st, curve_ref([(0, 4.0), (10, 3.0)]))
    assert v.status == "diverged" and v.text == "diverged: val_loss is inf at step 3"
    both = fold(step(3, float("nan")), ev(3, float("inf")))
    assert verdict(both, None).text == "diverged: loss is nan at step 3"  # the training loss first
    assert verdict(fold(ev(3, 2.0)), None).status == "no reference"  # no loss at all: not diverged


def test_no_reference_is_said_plainly():
    assert verdict(fold(step(1, 3.0)), None).to_json() == blank(
        status="no reference", text="no reference run for this lab and settings"
    )


# -- the verdict on a curve -------------------------------------------------------------------


def test_a_curve_verdict_fills_every_field_and_says_what_is_not_like_for_like():
    ref = curve_ref([(0, 4.0), (600, 2.0), (1200, 1.8)], settings={"n_layer": 6, "n_head": 6, "steps": 1200})
    st = fold(ev(300, 3.5), ev(600, 2.123456), resolved={"n_layer": 4, "n_head": 4, "steps": 1200})
    assert verdict(st, ref).to_json() == blank(
        status="behind",
        text="val 2.123 at step 600, reference 2: behind (not like for like: n_layer, n_head differ)",
        metric="val_loss",
        step=600,
        value=2.123456,
        reference="r",
        reference_step=600,
        reference_value=2.0,
        delta=0.1235,
        since_step=None,
        end_point_only=False,
        differs=["n_layer", "n_head"],
        source="test",
    )


def test_the_latest_step_the_reference_covers_is_the_one_judged():
    ref = curve_ref([(0, 4.0), (1000, 2.0)])
    v = verdict(fold(ev(500, 3.0), ev(1500, 9.0)), ref)  # 1500 is past the reference's end
    assert v.status == "on track" and v.step == 500 and v.reference_value == 3.0


def test_a_loss_reference_is_judged_on_the_training_loss():
    ref = curve_ref([(0, 4.0), (10, 3.0)], metric="loss")
    v = verdict(fold(step(5, 3.51), ev(5, 9.0)), ref)
    assert v.text == "loss 3.51 at step 5, reference 3.5: on track" and v.metric == "loss"


@pytest.mark.parametrize(
    "ref_value, mine, status",
    [
        (4.0, 4.1, "on track"),  # within 3% of a large loss
        (4.0, 4.4, "behind"),  # 15% of 4 is 0.6: not diverging yet
        (0.5, 0.555, "behind"),  # the 0.05 floor on a small loss
        (0.4, 0.75, "diverging"),  # the 0.3 floor on a small loss
    ],
)
def test_tolerances_scale_with_the_reference(ref_value, mine, status):
    ref = curve_ref([(0, ref_value), (100, ref_value)])
    assert verdict(fold(ev(100, mine)), ref).status == status


def test_the_judge_at_its_boundaries():
    assert _judge(_tolerance(2.0), 2.0) == "on track"
    assert _judge(-_tolerance(2.0), 2.0) == "on track"
    assert _judge(-_tolerance(2.0) - 1e-9, 2.0) == "ahead"
    assert _judge(_diverging_margin(2.0), 2.0) == "behind"
    assert _judge(_diverging_margin(2.0) + 1e-9, 2.0) == "diverging"
    assert (_tolerance(2.0), _diverging_margin(2.0)) == (pytest.approx(0.06), pytest.approx(0.3))
    assert (_tolerance(-10.0), _diverging_margin(-10.0)) == (pytest.approx(0.3), pytest.approx(1.5))


def test_diverging_since_stops_at_a_comparison_exactly_on_the_margin():
    ref = curve_ref([(0, 2.5), (1000, 2.5)])  # margin 0.375, exact in binary
    st = fold(ev(100, 2.875), ev(200, 3.5), ev(300, 3.5))
    v = verdict(st, ref)
    assert v.status == "diverging" and v.since_step == 200 and v.delta == 1.0
    assert v.text == "diverging: 1 above the reference since step 200"
    assert v.step == 300 and v.value == 3.5 and v.reference_step == 300 and v.reference_value == 2.5


def test_the_published_figure_follows_a_finished_curve_only():
    pts = ({"step": 1000, "val_loss": 2.5}, {"step": 2000, "val_loss": 1.88})
    ref = curve_ref([(0, 4.2), (1000, 2.0), (2000, 1.9)], published_points=pts)
    done = fold(ev(2000, 1.91), end())
    assert (
        verdict(done, ref).text
        == "val 1.91 at step 2000, reference 1.9: on track; published: 1.88 at step 2000"
    )
    running = fold(ev(2000, 1.91))
    assert verdict(running, ref).text == "val 1.91 at step 2000, reference 1.9: on track"
    at_the_end = curve_ref([(0, 4.2), (2000, 1.9)], published_points=({"step": None, "val_loss": 1.88},))
    assert verdict(done, at_the_end).text.endswith("on track; published: 1.88")
    no_figure = curve_ref([(0, 4.2), (2000, 1.9)], published_points=({"step": 2000, "loss": 1.5},))
    assert verdict(done, no_figure).text == "val 1.91 at step 2000, reference 1.9: on track"
    unpublished = curve_ref([(0, 4.2), (2000, 1.9)])
    assert verdict(done, unpublished).text == "val 1.91 at step 2000, reference 1.9: on track"


def test_before_the_curve_starts_the_verdict_carries_the_caveat_and_the_reference():
    ref = curve_ref([(100, 3.0), (200, 2.5)], settings={"steps": 200})
    st = fold(ev(20, 3.1), ev(30, 3.2), ev(40, 3.05), resolved={"steps": 50})
    assert verdict(st, ref).to_json() == blank(
        status="too early",
        text="the reference's val curve starts at step 100; val 3.05 at step 40 so far"
        " (not like for like: steps differ)",
        metric="val_loss",
        reference="r",
        source="test",
        differs=["steps"],
    )
    assert verdict(fold(), ref).text == "the reference's val curve starts at step 100"


# -- the verdict on an end point ----------------------------------------------------------------


def test_an_end_point_at_the_end_waits_for_the_end_and_says_the_latest_value():
    ref = end_ref(None, 2.0)
    st = fold(step(10, 3.0), ev(10, 2.4), step(20, 2.8), ev(20, 2.6), step(30, 2.7))
    assert verdict(st, ref).to_json() == blank(
        status="too early",
        text="reference 2 at the end only; val 2.6 at step 30 so far",  # the last value, not the best
        metric="val_loss",
        reference="pub",
        reference_value=2.0,
        end_point_only=True,
        source="a paper",
    )
    assert verdict(fold(step(1, 3.0)), ref).text == "reference 2 at the end only"


def test_a_best_end_point_says_the_best_so_far():
    ref = end_ref(100, 2.0, statistic="best")
    st = fold(step(10, 3.0), ev(10, 2.4), step(20, 2.8), ev(20, 2.6))
    v = verdict(st, ref)
    assert v.text == "reference 2 at step 100 only; val 2.4 at step 10 so far" and v.reference_step == 100


def test_an_end_point_at_a_step_is_judged_once_the_run_reaches_that_step():
    ref = end_ref(30, 2.0)
    assert verdict(fold(step(29, 2.01), ev(29, 2.01)), ref).status == "too early"
    v = verdict(fold(step(30, 2.01), ev(30, 2.01)), ref)  # still running, but at the step
    assert v.status == "on track" and v.text == "val 2.01 at step 30, reference 2 at step 30: on track"
    assert (v.step, v.value, v.reference_step, v.reference_value) == (30, 2.01, 30, 2.0)
    early_end = verdict(fold(step(20, 2.2), ev(20, 2.2), end()), ref)  # ended before the step
    assert early_end.status == "behind" and early_end.step == 20


def test_a_finished_run_is_judged_on_its_summary_before_its_last_value():
    ref = end_ref(None, 2.0)
    st = fold(step(50, 2.3), ev(50, 1.9), ev(60, 2.3), end(summary={"val_loss": 2.02}))
    assert verdict(st, ref).to_json() == blank(
        status="on track",
        text="val 2.02 at step 50, reference 2: on track",
        metric="val_loss",
        step=50,
        value=2.02,
        reference="pub",
        reference_value=2.0,
        delta=0.02,
        end_point_only=True,
        source="a paper",
    )


def test_a_final_end_point_takes_the_last_value_not_the_best():
    ref = end_ref(None, 2.0)
    st = fold(step(50, 2.3), ev(40, 1.5), ev(50, 2.3), end(summary={"steps": 50}))
    v = verdict(st, ref)
    assert v.value == 2.3 and v.status == "behind" and v.delta == 0.3
    best = verdict(st, end_ref(None, 2.0, statistic="best"))
    assert (
        best.value == 1.5 and best.step == 40 and best.text.startswith("best val 1.5 at step 40, reference 2")
    )


def test_a_finished_run_without_the_figure_has_nothing_to_compare():
    ref = end_ref(100, 2.0, settings={"steps": 100})
    st = fold(step(100, 2.3), end(), resolved={"steps": 90})
    assert verdict(st, ref).to_json() == blank(
        status="no reference",
        text="this run has no val to compare with the reference's 2 (not like for like: steps differ)",
        metric="val_loss",
        reference="pub",
        reference_step=100,
        reference_value=2.0,
        end_point_only=True,
        differs=["steps"],
        source="a paper",
    )


def test_a_reference_without_a_figure_says_so():
    ref = Reference(name="empty", title="empty", lab="fake", metric="val_loss", source="x")
    assert verdict(fold(step(1, 3.0), end()), ref).to_json() == blank(
        status="no reference", text="reference empty has no val figure"
    )


@pytest.mark.parametrize(
    "metric, word", [("figure", "figure"), ("tok_per_s", "tok/s"), ("accuracy", "accuracy")]
)
def test_a_lab_without_steps_is_judged_without_a_step(metric, word):
    ref = end_ref(None, 2.455, metric=metric)
    st = fold({"event": "step", "step": 0}, end(summary={metric: 2.45}))
    v = verdict(st, ref)
    assert v.text == f"{word} 2.45, reference 2.455: on track" and v.step == 0


# -- the ladder: figures beside the seed notes, not judged ------------------------------------------


LADDER_COLUMNS = ["rung", "change", "ms/step", "tok/s", "vs previous", "vs fp32", "mfu", "status"]


def ladder_ref() -> Reference:
    rungs = (
        {"rung": "fp32", "speedup_fp32": 1.0},
        {"rung": "tf32", "speedup_fp32": 2.0},
        {"rung": "bf16", "speedup_fp32": 3.5},
    )
    return Reference(
        name="seed", title="seed", lab="gpt-ladder", metric="tok_per_s", source="notes", rungs=rungs
    )


def ladder_state(*rows) -> RunState:
    return fold(
        {"event": "table", "name": "ladder", "columns": LADDER_COLUMNS, "rows": [list(r) for r in rows]}
    )


def test_the_ladder_before_any_rung_is_timed():
    skipped = ladder_state(["fp32", "", None, None, None, None, None, "skipped"])
    for st in (RunState(), skipped):
        assert verdict(st, ladder_ref()).to_json() == blank(
            status="too early",
            text="no rung timed yet; the seed notes' ladder reaches x3.5 over fp32",
            metric="tok_per_s",
            reference="seed",
            source="notes",
            end_point_only=True,
        )


def test_the_ladder_gives_the_last_rung_and_its_ratio_to_the_seed_notes():
    st = ladder_state(
        ["fp32", "", 10.0, 1000, None, 1.0, None, "ok"],
        ["tf32", "", 5.0, 2000, 2.0, 2.0, None, "ok"],
        ["bf16", "", 3.3, 3000, 1.5, 3.0, None, "ok"],
    )
    assert verdict(st, ladder_ref()).to_json() == blank(
        status="info",
        text="x3 over fp32 at rung bf16; the seed notes: x3.5 (ratio 0.8571, on another device)",
        metric="tok_per_s",
        value=3.0,
        reference="seed",
        reference_value=3.5,
        end_point_only=True,
        source="notes",
    )


def test_a_rung_the_seed_notes_lack_is_shown_alone():
    st = ladder_state(
        ["fp32", "", 10.0, 1000, None, 1.0, None, "ok"], ["fp8", "", 2.0, 5000, 5.0, 5.0, None, "ok"]
    )
    v = verdict(st, ladder_ref())
    assert v.text == "x5 over fp32 at rung fp8" and v.value == 5.0 and v.reference_value is None


def test_ladder_rows_reads_the_table_by_column_name():
    cols = ["tok/s", "rung", "vs fp32"]  # any order
    st = fold(
        {"event": "table", "name": "ladder", "columns": cols, "rows": [[1000, 1, 1.0], ["?", "bf16", True]]}
    )
    assert ladder_rows(st) == [
        {"rung": "1", "speedup_fp32": 1.0, "tok_per_s": 1000.0},
        {"rung": "bf16", "speedup_fp32": None, "tok_per_s": None},
    ]
    assert ladder_rows(RunState()) == []


# -- verdict_for_run and the ending line ---------------------------------------------------------


def test_verdict_for_run_finds_the_reference_that_matches_the_run():
    config = {"preset": "shakespeare-char-gpu"}
    st = fold(step(600, 2.4), ev(600, 2.31), resolved=config)
    v, ref = verdict_for_run("gpt", st)
    assert ref is not None and ref.name == "nanogpt-shakespeare-char-gpu"
    assert v.reference == ref.name and v.status == "too early"
    assert v.text == "reference 1.47 at step 5000 only; val 2.31 at step 600 so far"
    assert verdict_for_run("makemore", st) == (verdict(st, None), None)


def test_a_failed_run_ends_with_its_error():
    st = fold(step(1, 3.0), {"event": "error", "message": "CUDA out of memory\ntraceback"})
    judged = Verdict("on track", "val 2 at step 1, reference 2: on track")
    assert ending_line("gpt-a", "failed", st) == "gpt-a: failed (CUDA out of memory)"
    assert ending_line("gpt-a", "failed", st, judged) == "gpt-a: failed (CUDA out of memory)"


def test_only_a_diverged_run_shows_its_reason_and_only_a_failed_one_its_error():
    judged = Verdict("on track", "val 2 at step 1, reference 2: on track")
    with_reason = fold(step(1, 2.0), end("stopped", reason="asked to stop"))
    assert (
        ending_line("gpt-b", "stopped", with_reason, judged)
        == "gpt-b: stopped; val 2 at step 1, reference 2: on track"
    )
    with_error = fold(step(1, 2.0), {"event": "error", "message": "late warning"}, end("done"))
    assert (
        ending_line("gpt-c", "done", with_error, judged)
        == "gpt-c: done; val 2 at step 1, reference 2: on track"
    )
    assert ending_line("gpt-d", "done", fold(step(1, 2.0), end())) == "gpt-d: done"


def test_an_ending_line_never_repeats_a_diverged_verdict():
    st = fold(step(1, 3.0), step(2, float("nan")))  # killed with a nan loss: no end event
    judged = verdict(st, curve_ref([(0, 4.0), (10, 3.0)]))
    assert judged.status == "diverged"
    assert ending_line("gpt-e", "interrupted", st, judged) == "gpt-e: interrupted"


# -- stopping a run: TERM, then KILL after the grace period ---------------------------------------


@pytest.fixture
def procs():
    """Processes started here; killed (their whole group when they lead one) and reaped."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            try:
                if os.getpgid(p.pid) == p.pid:
                    os.killpg(p.pid, signal.SIGKILL)
                else:
                    p.kill()
            except ProcessLookupError:
                pass
        p.wait(timeout=5)


def hand_run(
    sess, procs, script: str | list[str], *, new_session=True, pid_in_events=True
) -> tuple[str, Path]:
    """A run folder whose lock a process started here holds, like `start_run` does: the lock
    taken first and handed down. `script` is an sh script (which touches `ready` once its
    traps are set) or an argv."""
    run_id = "fake-20260101-000000-" + format(len(procs), "04x")
    d = sess.runs_dir / run_id
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"lab": "fake", "run_id": run_id, "settings": {}}))
    (d / "metrics.jsonl").write_text("")
    fd = os.open(d / "run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        argv = ["sh", "-c", script] if isinstance(script, str) else script
        p = subprocess.Popen(
            argv,
            cwd=d,
            pass_fds=(fd,),
            start_new_session=new_session,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(fd)
    procs.append(p)
    if isinstance(script, str):
        deadline = time.monotonic() + 5
        while not (d / "ready").exists():
            assert time.monotonic() < deadline, "the test process never got ready"
            time.sleep(0.01)
    if pid_in_events:
        start = {"v": 1, "event": "start", "t": 1000.0, "pid": p.pid, "device": "cpu"}
        (d / "metrics.jsonl").write_text(json.dumps(start) + "\n")
    return run_id, d


def watchdog(seconds: float, ticks: list[float] | None = None):
    """A `tick` that records the seconds left and fails the test once it has waited too long."""
    t0 = time.monotonic()

    def tick(left: float) -> None:
        if ticks is not None:
            ticks.append(left)
        assert time.monotonic() - t0 < seconds, "the run was not stopped in time"

    return tick


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


def test_stop_terms_the_whole_group_and_writes_the_marker_before(sess, procs):
    run_id, d = hand_run(sess, procs, "sleep 30 & touch ready; wait")  # sh and its sleep share the lock
    before = time.time()
    row = stop_run(sess, run_id, tick=watchdog(3.0))  # the default grace
    assert not lock_held(d)
    assert procs[0].wait(timeout=2) == -signal.SIGTERM
    marker = json.loads((d / "stop.json").read_text())
    assert marker == {"requested_at": pytest.approx(before, abs=5), "grace_s": 30.0}
    assert before <= marker["requested_at"] <= time.time()
    assert row["status"] == "interrupted" and not (row["summary"] or {}).get("note")  # it went on TERM


def test_stop_waits_while_the_run_saves_and_ticks_the_seconds_left(sess, procs):
    run_id, d = hand_run(sess, procs, 'trap "sleep 0.2; exit 0" TERM; sleep 30 & touch ready; wait')
    ticks: list[float] = []
    row = stop_run(sess, run_id, grace=5.0, tick=watchdog(3.0, ticks))
    assert procs[0].wait(timeout=2) == 0  # it exited by itself: never killed
    assert "killed" not in json.loads((d / "stop.json").read_text())
    assert len(ticks) >= 2 and all(isinstance(t, float) and 0 < t <= 5.0 for t in ticks)
    assert ticks == sorted(ticks, reverse=True)
    assert row["status"] == "interrupted"


def test_stop_kills_the_group_after_the_grace_period_and_says_so(sess, procs):
    run_id, d = hand_run(sess, procs, 'trap "" TERM; sleep 30 & touch ready; wait')  # both ignore TERM
    ticks: list[float] = []
    before = time.time()
    row = stop_run(sess, run_id, grace=0.3, tick=watchdog(3.0, ticks))
    assert not lock_held(d) and procs[0].wait(timeout=2) == -signal.SIGKILL
    assert ticks and all(isinstance(t, float) and 0 < t <= 0.3 for t in ticks)
    marker = json.loads((d / "stop.json").read_text())
    assert marker == {
        "requested_at": pytest.approx(before, abs=5),
        "grace_s": 0.3,
        "killed": True,
        "killed_at": pytest.approx(before, abs=5),
        "note": "killed: still running 0.3 s after SIGTERM",
    }
    assert before <= marker["requested_at"] <= marker["killed_at"] <= time.time()
    assert (
        row["status"] == "stopped" and row["summary"]["note"] == "killed: still running 0.3 s after SIGTERM"
    )
    assert row["ended_at"] == iso(marker["killed_at"])


def test_stop_a_hand_run_lab_signals_only_its_own_process(sess, procs):
    # Started without a session of its own: it shares the test's process group.
    run_id, d = hand_run(sess, procs, ["sleep", "30"], new_session=False)
    row = stop_run(sess, run_id, grace=5.0, tick=watchdog(2.0))
    assert procs[0].wait(timeout=2) == -signal.SIGTERM and not lock_held(d)
    assert row["status"] == "interrupted"


def test_stop_uses_the_launchers_pid_before_the_lab_wrote_its_own(sess, procs):
    run_id, d = hand_run(sess, procs, ["sleep", "30"], pid_in_events=False)
    row = next(r for r in refresh_runs(sess) if r["id"] == run_id)
    assert row["status"] == "running" and row["pid"] is None
    sess.store.upsert_run({**row, "pid": procs[0].pid})  # as start_run records it
    stop_run(sess, run_id, grace=5.0, tick=watchdog(2.0))
    assert procs[0].wait(timeout=2) == -signal.SIGTERM and not lock_held(d)


def test_stop_a_run_with_no_pid_yet_asks_to_try_again(sess, procs):
    run_id, d = hand_run(sess, procs, ["sleep", "30"], pid_in_events=False)
    with pytest.raises(RunError) as e:
        stop_run(sess, run_id, grace=5.0)
    assert str(e.value) == f"run {run_id} has no process id yet; try again in a moment"
    assert lock_held(d) and not (d / "stop.json").exists()


# -- lab compare ------------------------------------------------------------------------------------


def watches_of(lab_home, *runs: tuple[list[dict], dict | None, dict | None]) -> list[RunWatch]:
    """Run folders from (events, settings, resolved), polled."""
    out = []
    for i, (events, settings, resolved) in enumerate(runs):
        d = write_run(
            lab_home / "runs", f"fake-20260101-00000{i}-aaa{i}", events, settings=settings, resolved=resolved
        )
        w = RunWatch(d)
        w.poll()
        out.append(w)
    return out


def without_config(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "config"} for e in events]


def test_the_carried_reference_is_not_a_setting_that_differs(lab_home):
    a, b = ({"steps": 20, "reference": {"preset": p, "val_loss": 1.5}} for p in ("gpt2", "gpt2-medium"))
    ws = watches_of(
        lab_home, (without_config(canned_events()), {}, a), (without_config(canned_events()), {}, b)
    )
    assert settings_diff(ws) == {}


def test_settings_that_are_not_an_object_are_ignored(lab_home):
    ws = watches_of(
        lab_home,
        (without_config(canned_events()), ["steps=3"], {"steps": 3}),
        (without_config(canned_events()), {"delay": 0.1}, {"steps": 5}),
    )
    assert settings_diff(ws) == {"steps": [3, 5], "delay": [None, 0.1]}


def test_without_a_resolved_config_the_settings_given_are_compared(lab_home):
    ws = watches_of(
        lab_home,
        (without_config(canned_events()), {"steps": 20, "delay": 0.02}, None),
        (without_config(canned_events()), {"steps": 20, "delay": 0.0}, None),
    )
    assert ws[0].state.resolved == {}
    assert settings_diff(ws) == {"delay": [0.02, 0.0]}


def test_ratios_keep_four_decimals():
    assert ratio(1.0, 3.0) == 0.3333 and ratio(2, 3) == 0.6667


def test_compare_names_each_runs_lab_device_and_status(lab_home):
    ws = watches_of(lab_home, (canned_events(), {}, None), (canned_events() + [end()], {}, None))
    doc = compare_runs(ws)
    assert [(r["lab"], r["device"], r["status"]) for r in doc["runs"]] == [
        ("fake", "cpu", "interrupted"),
        ("fake", "cpu", "done"),
    ]


def test_the_chart_falls_back_to_the_training_loss_when_a_run_has_no_val_loss(lab_home):
    no_eval = [e for e in canned_events() if e["event"] != "eval"]
    ws = watches_of(lab_home, (canned_events(), {}, None), (no_eval, {}, None))
    assert chart_metric(ws) == "loss" and compare_runs(ws)["chart_metric"] == "loss"
    assert compare_chart(ws).startswith("loss by step\n")
    assert chart_metric(ws[:1]) == "val_loss"


def _grid(chart: str) -> tuple[int, int]:
    """(rows, columns) of a text chart's plotting area."""
    lines = chart.splitlines()
    axis = next(line for line in lines if "+-" in line)
    return sum("|" in line for line in lines), axis.count("-")


def test_the_chart_has_the_size_asked_for_and_64_by_14_by_default(lab_home):
    ws = watches_of(lab_home, (canned_events(), {}, None), (canned_events(), {}, None))
    assert _grid(compare_chart(ws, width=30, height=5)) == (5, 30)
    assert _grid(compare_chart(ws)) == (14, 64)
