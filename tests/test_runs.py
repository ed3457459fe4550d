"""The run manager, headless: manifests and settings, launching, status, tailing, stopping.

Runs use the fake lab in tests/fixtures/labs (standard library only, no torch).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studytui.runs import (
    RunError,
    RunState,
    RunTail,
    RunWatch,
    Series,
    SettingError,
    get_manifest,
    lab_names,
    load_manifests,
    parse_settings,
    refresh_runs,
    resolve_run,
    start_run,
    stop_run,
)
from studytui.runs import manifest as manifest_mod
from studytui.runs import watch as watch_mod
from studytui.session import Session
from tests.conftest import FAKE_LABS


def wait_for(watch: RunWatch, predicate, timeout: float = 10.0) -> RunWatch:
    deadline = time.monotonic() + timeout
    while True:
        watch.update()
        if predicate(watch):
            return watch
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; status {watch.status}, step {watch.state.step}")
        time.sleep(0.02)


def start_fake(s: Session, *pairs: str) -> tuple[str, RunWatch]:
    m = get_manifest("fake")
    run_id = start_run(s, m, parse_settings(m, list(pairs), runs_dir=s.runs_dir))
    return run_id, RunWatch(s.runs_dir / run_id)


# -- manifests and settings --------------------------------------------------------------------


def test_labs_path_adds_the_fake_lab(sess):
    assert "fake" in lab_names()
    m = load_manifests()["fake"]
    assert m.module == "fakelab.run"
    assert m.import_root == FAKE_LABS


def test_no_labs_package_means_no_builtin_labs(monkeypatch):
    monkeypatch.delenv("STUDYTUI_LABS_PATH", raising=False)
    monkeypatch.setattr(manifest_mod.protocol.importlib.util, "find_spec", lambda name: None)
    assert lab_names() == set()


def test_broken_manifest_is_a_problem_not_a_crash(tmp_path, monkeypatch):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "broken.lab.json").write_text("{not json")
    monkeypatch.setenv("STUDYTUI_LABS_PATH", os.pathsep.join([str(tmp_path), str(FAKE_LABS)]))
    manifests, problems = manifest_mod.discover()
    assert "fake" in manifests
    assert len(problems) == 1 and "broken.lab.json" in problems[0]


def test_settings_are_typed(sess, tmp_path):
    m = get_manifest("fake")
    data = tmp_path / "corpus.txt"
    data.write_text("hello")
    got = parse_settings(
        m,
        [
            "steps=1_000",
            "delay=0.5",
            "hang=yes",
            "flavour=tokenizer",
            "note= two words ",
            f"data={data}",
            "fail_at=",
        ],
    )
    assert got == {
        "steps": 1000,
        "delay": 0.5,
        "hang": True,
        "flavour": "tokenizer",
        "note": " two words ",
        "data": str(data.resolve()),
        "fail_at": None,
    }


def test_relative_path_setting_becomes_absolute(sess, tmp_path, monkeypatch):
    (tmp_path / "d.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert parse_settings(get_manifest("fake"), ["data=d.txt"]) == {"data": str(tmp_path / "d.txt")}


@pytest.mark.parametrize(
    "pair, message",
    [
        ("steps=0", "steps: 0 is below the minimum 1"),
        ("steps=2.5", "steps: '2.5' is not a valid int"),
        ("delay=fast", "delay: 'fast' is not a valid float"),
        ("delay=nan", "delay: 'nan' is not a valid float"),
        ("delay=1e999", "delay: '1e999' is not a valid float"),
        ("hang=maybe", "hang: 'maybe' is not a valid bool"),
        ("flavour=tokeniser", "did you mean 'tokenizer'"),
        ("data=/no/such/file", "data: /no/such/file does not exist"),
        ("stepz=3", "unknown setting 'stepz' for lab fake; did you mean 'steps'?"),
        ("steps", "expected NAME=VALUE"),
        ("resume=fake-1999", "no fake run matches 'fake-1999'"),
    ],
)
def test_bad_settings_are_one_line_errors(sess, pair, message):
    with pytest.raises(SettingError) as e:
        parse_settings(get_manifest("fake"), [pair], runs_dir=sess.runs_dir)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_run_setting_takes_a_unique_prefix_of_that_labs_runs(sess):
    for run_id, lab in [("fake-20250101-000000-aaaa", "fake"), ("other-20250101-000000-bbbb", "other")]:
        d = sess.runs_dir / run_id
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"lab": lab, "run_id": run_id, "settings": {}}))
    m = get_manifest("fake")
    assert parse_settings(m, ["resume=fake-2025"], runs_dir=sess.runs_dir) == {
        "resume": "fake-20250101-000000-aaaa"
    }
    with pytest.raises(SettingError, match="no fake run"):
        parse_settings(m, ["resume=other-20250101-000000-bbbb"], runs_dir=sess.runs_dir)


def test_run_setting_last_is_the_newest_run_of_that_lab(sess):
    m = get_manifest("fake")
    with pytest.raises(SettingError, match="there is no fake run yet"):
        parse_settings(m, ["resume=last"], runs_dir=sess.runs_dir)
    for run_id, lab in [
        ("fake-20250101-000000-aaaa", "fake"),
        ("fake-20250102-000000-0000", "fake"),
        ("other-20250103-000000-bbbb", "other"),
    ]:
        d = sess.runs_dir / run_id
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"lab": lab, "run_id": run_id, "settings": {}}))
    assert parse_settings(m, ["resume=last"], runs_dir=sess.runs_dir) == {
        "resume": "fake-20250102-000000-0000"
    }


def test_unknown_lab_suggests_a_name(sess):
    with pytest.raises(SettingError, match="did you mean 'fake'"):
        get_manifest("fak")


# -- tailing ----------------------------------------------------------------------------------


def _line(event: str, **fields) -> bytes:
    return (json.dumps({"v": 1, "event": event, "t": 1.0, **fields}) + "\n").encode()


def test_partial_last_line_waits_and_bad_lines_are_skipped(tmp_path):
    path = tmp_path / "metrics.jsonl"
    full = _line("step", step=2, loss=3.0)
    path.write_bytes(_line("step", step=1, loss=4.0) + b"{oops\n" + b"[1, 2]\n" + full[:10])
    tail = RunTail(tmp_path)
    events = tail.poll()
    assert [e["step"] for e in events] == [1]
    assert tail.skipped == 2
    assert tail.poll() == []
    with open(path, "ab") as f:
        f.write(full[10:])
    assert [e["step"] for e in tail.poll()] == [2]


def test_truncated_file_is_read_again_from_the_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(_line("step", step=1) + _line("step", step=2))
    tail = RunTail(tmp_path)
    assert len(tail.poll()) == 2
    path.write_bytes(_line("step", step=9))
    assert [e["step"] for e in tail.poll()] == [9]
    assert tail.reset


def test_missing_file_polls_empty(tmp_path):
    assert RunTail(tmp_path).poll() == []


def test_small_chunks_read_everything_in_order(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"".join(_line("step", step=i, text="x" * 50) for i in range(30)))
    tail = RunTail(tmp_path, chunk_bytes=64)  # smaller than one line
    seen = []
    for _ in range(100):
        seen += [e["step"] for e in tail.poll()]
    assert seen == list(range(30))


def test_series_memory_is_bounded_and_spans_the_run():
    s = Series(max_points=100)
    for i in range(100_000):
        s.add(i, float(i))
    xs, ys = s.xy()
    assert len(s) <= 100
    assert xs[0] == 0 and xs[-1] == 99_999 and ys[-1] == 99_999.0
    assert xs == sorted(xs)


def test_state_folds_every_kind_of_event():
    st = RunState()
    st.apply(
        [
            {"v": 1, "event": "start", "t": 10.0, "pid": 42, "device": "cpu", "config": {"n": 1}, "total": 4},
            {"v": 1, "event": "step", "t": 11.0, "step": 1, "loss": 3.0, "tok_per_s": 100.0},
            {"v": 1, "event": "step", "t": 12.0, "step": 2, "loss": 2.0, "tok_per_s": 120.0, "mystery": 1},
            {"v": 1, "event": "eval", "t": 12.0, "step": 2, "val_loss": 2.5},
            {"v": 1, "event": "sample", "t": 12.0, "step": 2, "prompt": "a", "text": "ab"},
            {"v": 1, "event": "merges", "t": 12.0, "merges": [{"rank": 256, "pair": [1, 2], "token": 256}]},
            {"v": 1, "event": "table", "t": 12.0, "name": "ladder", "columns": ["rung"], "rows": [["fp32"]]},
            {"v": 1, "event": "checkpoint", "t": 12.0, "step": 2, "path": "ckpt.pt"},
            {"v": 1, "event": "unknown-kind", "t": 12.0},
            {"v": 1, "event": "step", "t": 13.0, "step": "bad", "loss": "bad"},
            {"v": 1, "event": "end", "t": 14.0, "status": "done", "summary": {"loss": 2.0}},
        ]
    )
    assert (st.pid, st.device, st.total, st.step) == (42, "cpu", 4, 2)
    assert st.loss.xy() == ([1, 2], [3.0, 2.0])
    assert st.val_loss.xy() == ([2], [2.5])
    assert st.last["val_loss"] == 2.5 and st.last["tok_per_s"] == 120.0
    assert st.samples[-1]["text"] == "ab"
    assert st.merges[-1]["token"] == 256 and st.merges_total == 1
    assert st.tables["ladder"]["rows"] == [["fp32"]]
    assert st.checkpoints == [{"step": 2, "path": "ckpt.pt"}]
    assert st.end_status == "done" and st.summary == {"loss": 2.0} and st.ended
    assert st.figure("loss") == 2.0 and st.resolved == {"n": 1}


# -- runs -----------------------------------------------------------------------------------


def test_run_to_done_and_reattach_sees_the_same_events(sess):
    run_id, watch = start_fake(sess, "steps=40", "delay=0.03")
    assert sess.store.run(run_id)["status"] == "running"
    first = RunTail(watch.run_dir)
    seen = first.poll()
    # Seen mid-run: some steps in, still running (40 steps take over a second).
    wait_for(watch, lambda w: w.state.step and w.status == "running")
    seen += first.poll()
    wait_for(watch, lambda w: w.status != "running")
    seen += first.poll()
    later = RunTail(watch.run_dir)  # "re-attach" after the fact
    assert later.poll() == seen
    assert watch.status == "done" and watch.state.step == 40
    assert watch.state.resolved["n_layer"] == 2  # the lab's rewrite of config.json
    row = {r["id"]: r for r in refresh_runs(sess)}[run_id]
    assert row["status"] == "done" and row["ended_at"]
    assert row["summary"]["steps"] == 40 and row["last"]["step"] == 40


def test_several_runs_at_once(sess):
    started = [start_fake(sess, "steps=20", "delay=0.05") for _ in range(3)]
    assert len({run_id for run_id, _ in started}) == 3
    for _, w in started:
        w.update()
    assert [w.status for _, w in started] == ["running"] * 3  # all three alive at once
    for _, w in started:
        wait_for(w, lambda w: w.status == "done")
    assert [r["status"] for r in refresh_runs(sess)] == ["done"] * 3


def test_kill_9_reads_as_interrupted(sess):
    run_id, watch = start_fake(sess, "steps=100000", "delay=0.01")
    wait_for(watch, lambda w: w.state.step)
    os.killpg(watch.state.pid, signal.SIGKILL)
    wait_for(watch, lambda w: w.status == "interrupted")
    row = {r["id"]: r for r in refresh_runs(sess)}[run_id]
    assert row["status"] == "interrupted" and row["ended_at"]


def test_stop_saves_state_and_reads_as_stopped(sess):
    run_id, watch = start_fake(sess, "steps=100000", "delay=0.01")
    wait_for(watch, lambda w: w.state.step)
    row = stop_run(sess, run_id[:-2], grace=10)
    assert row["status"] == "stopped"
    assert "note" not in (row["summary"] or {})
    assert (watch.run_dir / "ckpt.json").is_file()
    watch.update()
    assert watch.state.checkpoints and watch.state.end_status == "stopped"


def test_stop_kills_a_run_that_ignores_sigterm(sess):
    run_id, watch = start_fake(sess, "hang=true")
    wait_for(watch, lambda w: w.state.started_t)
    row = stop_run(sess, run_id, grace=0.3)
    assert row["status"] == "stopped"
    assert "killed" in row["summary"]["note"]
    watch.update()
    assert watch.status == "stopped"


def test_stop_a_finished_run_is_refused(sess):
    run_id, watch = start_fake(sess, "steps=1", "delay=0")
    wait_for(watch, lambda w: w.status == "done")
    with pytest.raises(RunError, match="is not running"):
        stop_run(sess, run_id)


def test_error_event_reads_as_failed(sess):
    run_id, watch = start_fake(sess, "fail_at=2", "delay=0")
    wait_for(watch, lambda w: w.status != "running")
    assert watch.status == "failed"
    row = {r["id"]: r for r in refresh_runs(sess)}[run_id]
    assert row["summary"]["error"] == "fake failure at step 2"


def test_a_lab_that_crashes_on_start_is_interrupted_with_its_stderr(sess, tmp_path, monkeypatch):
    pkg = tmp_path / "crashlab"
    pkg.mkdir()
    (pkg / "crash.lab.json").write_text(
        json.dumps({"name": "crash", "module": "crashlab.run", "settings": []})
    )
    (pkg / "run.py").write_text("raise SystemExit('boom on start')\n")
    monkeypatch.setenv("STUDYTUI_LABS_PATH", str(tmp_path))
    run_id = start_run(sess, "crash", {})
    watch = wait_for(RunWatch(sess.runs_dir / run_id), lambda w: w.status != "running")
    assert watch.status == "interrupted"
    assert "boom on start" in (watch.run_dir / "stderr.log").read_text()


# -- the index and resolving run references ---------------------------------------------------


def _fake_folder(s: Session, run_id: str, created: str) -> Path:
    d = s.runs_dir / run_id
    d.mkdir(parents=True)
    (d / "config.json").write_text(
        json.dumps({"lab": "fake", "run_id": run_id, "created": created, "settings": {}})
    )
    return d


def test_index_follows_the_folders(sess):
    a = _fake_folder(sess, "fake-20250101-000000-aaaa", "2025-01-01T00:00:00+00:00")
    _fake_folder(sess, "fake-20250102-000000-bbbb", "2025-01-02T00:00:00+00:00")
    rows = refresh_runs(sess)
    assert [r["id"] for r in rows] == ["fake-20250102-000000-bbbb", "fake-20250101-000000-aaaa"]
    assert {r["status"] for r in rows} == {"interrupted"}  # no lock, no end event
    (a / "config.json").unlink()
    a.rmdir()
    assert [r["id"] for r in refresh_runs(sess)] == ["fake-20250102-000000-bbbb"]


def test_resolve_by_id_prefix_or_last(sess):
    for run_id, day in [
        ("fake-20250101-000000-aaaa", "01"),
        ("fake-20250101-000000-aabb", "02"),
        ("fake-20250103-000000-cccc", "03"),
    ]:
        _fake_folder(sess, run_id, f"2025-01-{day}T00:00:00+00:00")
    assert resolve_run(sess, "fake-20250103")["id"] == "fake-20250103-000000-cccc"
    assert resolve_run(sess, "fake-20250101-000000-aaaa")["id"] == "fake-20250101-000000-aaaa"
    assert resolve_run(sess, "last")["id"] == "fake-20250103-000000-cccc"
    with pytest.raises(RunError, match="matches 2 runs"):
        resolve_run(sess, "fake-20250101-000000-aa")
    with pytest.raises(RunError, match="no run matches"):
        resolve_run(sess, "gpt-")


def test_resolve_with_no_runs(sess):
    with pytest.raises(RunError, match="no runs yet"):
        resolve_run(sess, "last")


def test_a_str_setting_with_a_pattern_is_checked_before_launch():
    spec = {
        "name": "device",
        "type": "str",
        "pattern": r"auto|cpu|mps|cuda(:\d+)?",
        "help": "auto, cpu, cuda, cuda:N or mps",
    }
    assert manifest_mod.protocol.coerce_setting(spec, "cuda:1") == "cuda:1"
    with pytest.raises(SettingError, match="device: 'tpu' is not allowed .auto, cpu"):
        manifest_mod.protocol.coerce_setting(spec, "tpu")
    with pytest.raises(SettingError):
        manifest_mod.protocol.coerce_setting(spec, "cuda:1 ")  # the whole value must match


def test_a_manifest_with_a_broken_pattern_is_reported(tmp_path):
    path = tmp_path / "x.lab.json"
    path.write_text(
        json.dumps(
            {
                "name": "x",
                "module": "x.run",
                "settings": [{"name": "s", "type": "str", "pattern": "(unclosed"}],
            }
        )
    )
    with pytest.raises(SettingError, match="bad 'pattern'"):
        manifest_mod.protocol.parse_manifest(path, tmp_path)


# -- the run folder as truth (issue 17): each test fails under the bug it names ----------------


def _run_folder(tmp_path: Path, *lines: bytes) -> Path:
    d = tmp_path / "fake-20250101-000000-abcd"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"lab": "fake", "settings": {}}))
    (d / "metrics.jsonl").write_bytes(b"".join(lines))
    return d


def _hold_lock(run_dir: Path):
    f = open(run_dir / "run.lock", "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def test_end_written_just_before_the_process_exits_reads_done(tmp_path, monkeypatch):
    run_dir = _run_folder(tmp_path, _line("start", pid=1), _line("step", step=1, loss=3.0))
    lock = _hold_lock(run_dir)
    watch = RunWatch(run_dir)
    assert watch.poll()[0].status == "running"
    with open(run_dir / "metrics.jsonl", "ab") as f:
        f.write(_line("step", step=2, loss=2.5))

    def lab_ends_between_read_and_lock_check(d):
        # The worst moment: our read is done, then the lab writes `end` and exits.
        with open(run_dir / "metrics.jsonl", "ab") as f:
            f.write(_line("end", status="done", summary={"loss": 2.5}))
        lock.close()
        return False

    monkeypatch.setattr(watch_mod, "lock_held", lab_ends_between_read_and_lock_check)
    (change,) = watch.poll()
    assert (change.previous_status, change.status) == ("running", "done")
    assert watch.state.summary == {"loss": 2.5} and watch.state.step == 2


@pytest.mark.parametrize("how", ["replace", "delete-then-write"])
def test_metrics_replaced_by_a_larger_file_is_read_from_its_start(tmp_path, how):
    path = (
        run_dir := _run_folder(tmp_path, _line("step", step=1, loss=9.0), _line("step", step=2, loss=8.0))
    ) / "metrics.jsonl"
    watch = RunWatch(run_dir)
    watch.poll()
    assert watch.state.loss.xy()[1] == [9.0, 8.0]
    new = b"".join(_line("step", step=i, loss=float(i)) for i in range(1, 6))  # larger
    assert len(new) > path.stat().st_size
    if how == "replace":
        tmp = path.with_name("new.jsonl")
        tmp.write_bytes(new)
        os.replace(tmp, path)
    else:  # the freed inode number may come back for the new file: only its bytes differ
        path.unlink()
        path.write_bytes(new)
    (change,) = watch.poll()
    assert change.reset
    assert watch.state.loss.xy()[1] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert watch.state.events_seen == 5


def test_a_boolean_is_not_a_metric_value(tmp_path):
    st = RunState()
    st.apply([{"event": "step", "step": 1, "loss": True, "lr": False, "tok_per_s": 5}])
    st.apply([{"event": "eval", "step": 1, "val_loss": True}])
    assert "loss" not in st.last and "lr" not in st.last and "val_loss" not in st.last
    assert st.last["tok_per_s"] == 5.0
    assert len(st.loss) == 0 and len(st.val_loss) == 0


def test_warmup_steps_keep_their_loss_but_not_their_speed():
    """A step that compiled (torch.compile) is marked warmup: its tok/s is meaningless."""
    st = RunState()
    st.apply(
        [
            {"event": "step", "step": 1, "loss": 4.0, "tok_per_s": 3.0, "warmup": True},
            {"event": "step", "step": 2, "loss": 3.9, "tok_per_s": 9000.0},
        ]
    )
    assert st.loss.xy() == ([1, 2], [4.0, 3.9])
    assert st.tok_per_s.xy() == ([2], [9000.0]) and list(st.recent_tok_per_s) == [9000.0]


def test_the_same_lines_applied_twice_count_once(tmp_path):
    run_dir = _run_folder(tmp_path, *[_line("step", step=i, loss=1.0) for i in range(1, 4)])
    lines = RunTail(run_dir).read()
    st = RunState()
    assert len(st.apply_lines(lines)) == 3
    assert st.apply_lines(lines) == [] and st.apply_lines(lines[1:]) == []
    assert st.events_seen == 3 and len(st.loss) == 3


def test_concurrent_polls_apply_each_event_once(tmp_path):
    """Two workers polling one watch while the lab appends: every event folded exactly once."""
    run_dir = _run_folder(tmp_path)
    lock = _hold_lock(run_dir)
    watch = RunWatch(run_dir)
    steps = 400
    done = threading.Event()
    seen: list[int] = []

    def writer():
        with open(run_dir / "metrics.jsonl", "ab", buffering=0) as f:
            for i in range(1, steps + 1):
                f.write(_line("step", step=i, loss=float(i)))
                if i % 50 == 0:
                    time.sleep(0.001)
        done.set()

    def poller():
        while not done.is_set():
            for change in watch.poll():
                seen.extend(e["step"] for e in change.events)
        for change in watch.poll():
            seen.extend(e["step"] for e in change.events)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=poller) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    watch.poll()
    lock.close()
    assert sorted(seen) == list(range(1, steps + 1))  # each event handed out once
    assert watch.state.events_seen == steps
    assert len(watch.state.loss) == steps and watch.state.step == steps


def test_two_overlapping_polls_fold_each_line_once(tmp_path):
    """Forces the race: two polls that both start reading at the same offset. The watch's
    lock keeps the second out until the first is done (the barrier then gives up), and even
    lines read twice would be folded once."""
    run_dir = _run_folder(tmp_path, *[_line("step", step=i, loss=1.0) for i in range(1, 51)])
    lock = _hold_lock(run_dir)
    watch = RunWatch(run_dir)
    barrier = threading.Barrier(2, timeout=0.3)
    read = watch.tail.read

    def read_from_where_this_poll_began():
        start = watch.tail.offset
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other poll never came in while this one ran
        watch.tail.offset = start
        return read()

    watch.tail.read = read_from_where_this_poll_began
    threads = [threading.Thread(target=watch.poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    lock.close()
    assert watch.state.events_seen == 50 and len(watch.state.loss) == 50


def test_refresh_runs_from_two_threads_at_once_counts_each_event_once(sess):
    run_dir = sess.runs_dir / "fake-20250101-000000-abcd"
    sess.runs_dir.mkdir(parents=True)
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"lab": "fake", "settings": {}}))
    (run_dir / "metrics.jsonl").write_bytes(b"".join(_line("step", step=i, loss=1.0) for i in range(1, 201)))
    lock = _hold_lock(run_dir)
    threads = [threading.Thread(target=refresh_runs, args=(Session(home=sess.home),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    lock.close()
    from studytui.runs import watch_for

    assert watch_for(run_dir).state.events_seen == 200


# -- a run whose folder is deleted stops (issue 10) ------------------------------------------------


def test_a_run_whose_folder_is_deleted_stops_within_seconds(tmp_path):
    """By hand (its stderr is ours to read): delete the folder, the lab exits 2 in one line."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(FAKE_LABS), str(Path(__file__).parents[1])]),
        STUDYTUI_HOME=str(tmp_path / "home"),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakelab.run",
            "--out",
            str(tmp_path / "runs"),
            "--set",
            "steps=100000",
            "--set",
            "delay=0.01",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not list((tmp_path / "runs").glob("*/metrics.jsonl")):
            assert time.monotonic() < deadline and proc.poll() is None, "the fake lab never started"
            time.sleep(0.02)
        run_dir = next((tmp_path / "runs").iterdir())
        time.sleep(0.2)
        deleted = time.monotonic()
        shutil.rmtree(run_dir)
        code = proc.wait(timeout=10)
        took = time.monotonic() - deleted
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().strip()
    assert code == 2 and took < 5
    assert len(err.splitlines()) == 1 and "was deleted" in err and str(run_dir) in err


def test_a_launched_run_whose_folder_is_deleted_ends(sess):
    run_id, watch = start_fake(sess, "steps=100000", "delay=0.01")
    wait_for(watch, lambda w: w.state.step)
    pid = watch.state.pid
    shutil.rmtree(watch.run_dir)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < deadline, "the run went on without its folder"
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 2
    assert run_id not in {r["id"] for r in refresh_runs(sess)}


# -- the home: one definition, stdlib only, the same folder platformdirs names ---------------------


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-data", "  "])
def test_the_home_is_where_platformdirs_puts_user_data(monkeypatch, xdg):
    from platformdirs import user_data_dir

    from labs import protocol

    monkeypatch.delenv("STUDYTUI_HOME", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert protocol.home_dir() == Path(user_data_dir("studytui", appauthor=False))


def test_the_home_on_macos_and_windows(monkeypatch):
    from platformdirs.macos import MacOS

    from labs import protocol

    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(protocol.sys, "platform", "darwin")
    assert protocol.platform_data_dir() == Path(MacOS("studytui", appauthor=False).user_data_dir)
    # platformdirs asks Windows for the Local AppData known folder, which LOCALAPPDATA names.
    monkeypatch.setattr(protocol.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "/c/Users/me/AppData/Local")
    assert protocol.platform_data_dir() == Path("/c/Users/me/AppData/Local/studytui")


def test_studytui_home_wins_and_app_and_labs_agree(monkeypatch, tmp_path):
    from labs import protocol
    from studytui import paths

    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "h"))
    assert protocol.home_dir() == paths.home_dir() == tmp_path / "h"
    assert protocol.runs_dir() == paths.runs_dir() == tmp_path / "h" / "runs"


# -- docs/protocol.md, "Add a lab in 6 steps", proven by the fake lab --------------------------------


def test_the_fake_lab_follows_the_add_a_lab_checklist(tmp_path, monkeypatch):
    import ast
    import importlib

    from labs import protocol

    monkeypatch.setenv("STUDYTUI_LABS_PATH", str(FAKE_LABS))
    monkeypatch.syspath_prepend(str(FAKE_LABS))
    package = FAKE_LABS / "fakelab"
    # 1. a package that imports neither studytui nor textual
    assert (package / "__init__.py").is_file()
    imported = {
        n.split(".")[0]
        for f in package.glob("*.py")
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for n in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    }
    assert not imported & {"studytui", "textual", "torch"}
    # 2. a manifest the app finds, naming its module, config and key metric
    manifest = protocol.find_manifest("fake")
    assert manifest.path == package / "fake.lab.json" and manifest.import_root == FAKE_LABS
    assert manifest.module == "fakelab.run" and manifest.key_metric and manifest.raw["config"]
    # 3. a config dataclass with the manifest's defaults
    module, _, name = manifest.raw["config"].partition(":")
    config_class = getattr(importlib.import_module(module), name)
    assert config_class(**protocol.resolve_settings(manifest, {})) == config_class()
    # 4. run.py on RunContext: by hand, to the end, with the key metric in the summary
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(FAKE_LABS), str(Path(__file__).parents[1])]),
        STUDYTUI_HOME=str(tmp_path / "home"),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            manifest.module,
            "--out",
            str(tmp_path / "runs"),
            "--set",
            "steps=6",
            "--set",
            "delay=0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    # 5. only events the app knows, so the run view shows it with no change
    assert {e["event"] for e in events} <= set(protocol.EVENTS)
    assert events[0]["event"] == "start" and events[-1]["event"] == "end"
    assert manifest.key_metric in events[-1]["summary"]
    watch = RunWatch(run_dir)
    watch.poll()
    assert watch.status == "done" and watch.state.step == 6


def test_run_ids_name_their_lab_and_sort_by_start():
    import datetime as dt

    from labs import protocol

    run_id = protocol.new_run_id("gpt-ladder", dt.datetime(2026, 11, 29, 21, 0, 5))
    assert run_id.startswith("gpt-ladder-20261129-210005-") and len(run_id) == len(
        "gpt-ladder-20261129-210005-abcd"
    )
    assert protocol.run_id_lab(run_id) == "gpt-ladder" and protocol.run_id_lab("my-run") is None
    ids = ["zeta-20250101-000000-ffff", "alpha-20250102-000000-0000", "hand-made"]
    assert protocol.resolve_run_ref("last", ids) == "alpha-20250102-000000-0000"


def test_a_table_event_is_read_as_a_square_table():
    st = RunState()
    st.apply(
        [
            {"event": "table", "name": "ok", "columns": ["a", "b"], "rows": [[1, 2, 3], [4], "x"]},
            {"event": "table", "name": "odd", "columns": "not a list", "rows": {"x": 1}},
        ]
    )
    assert st.tables["ok"] == {"columns": ["a", "b"], "rows": [[1, 2], [4, None], ["x", None]]}
    assert st.tables["odd"] == {"columns": [], "rows": []}
    assert st.figure("loss") is None


def test_visual_events_keep_the_latest_of_each_name_and_are_bounded():
    from labs import protocol
    from studytui.runs import events

    st = RunState()
    st.apply(
        [
            {
                "event": "visual",
                "v": 1,
                "t": 1.0,
                "kind": "series",
                "name": "ratios",
                "step": 1,
                "values": [1],
            },
            {"event": "visual", "kind": "series", "name": "ratios", "step": 2, "values": [2]},
            {"event": "visual", "kind": 3, "name": "bad"},
        ]
    )
    assert st.visuals == {"ratios": {"kind": "series", "name": "ratios", "step": 2, "values": [2]}}
    st.apply([{"event": "visual", "kind": "grid", "name": f"v{i}"} for i in range(500)])
    assert len(st.visuals) == events.MAX_VISUALS
    assert "visual" in protocol.EVENTS


def test_every_event_a_lab_emits_is_one_the_protocol_names():
    import ast

    from labs import protocol

    emitted = {}
    for path in (Path(__file__).parents[1] / "labs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "emit"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                emitted.setdefault(node.args[0].value, str(path.relative_to(Path(__file__).parents[1])))
    assert "step" in emitted
    assert {e: f for e, f in emitted.items() if e not in protocol.EVENTS} == {}, (
        "add the event to labs/protocol.py EVENTS, RunState and docs/protocol.md"
    )


def test_a_labs_own_step_numbers_are_kept_so_its_key_figure_shows_while_running():
    st = RunState()
    st.apply(
        [
            {
                "event": "step",
                "v": 1,
                "t": 5.0,
                "step": 3,
                "loss": 0.5,
                "accuracy": 0.75,
                "ok": True,
                "note": "text",
            }
        ]
    )
    assert st.last == {"step": 3, "loss": 0.5, "accuracy": 0.75}
    assert st.figure("accuracy") == 0.75
    st.apply([{"event": "step", "step": 4, **{f"m{i}": 1.0 for i in range(100)}}])
    assert len(st.last) == 32 and st.last["step"] == 4


def test_settings_that_cannot_work_together_are_refused_before_launch():
    """gpt's manifest says n_embd must divide by n_head: checked on the values the run would
    get (given over preset over defaults), for every preset `auto` may pick."""
    from labs import protocol

    gpt = protocol.parse_manifest(Path(__file__).parents[1] / "labs" / "gpt" / "gpt.lab.json")
    with pytest.raises(SettingError, match=r"n_embd \(128\) must be divisible by n_head \(5\)"):
        protocol.check_settings(gpt, {"n_head": "5"})
    with pytest.raises(SettingError, match=r"n_embd \(102\)"):
        protocol.check_settings(gpt, {"n_embd": "102", "preset": "shakespeare-char"})
    assert protocol.check_settings(gpt, {"n_head": "5", "n_embd": "130"})["n_head"] == 5
    assert protocol.check_settings(gpt, {"n_head": "6", "preset": "shakespeare-char-gpu"})
    # auto picks by device at run time: refused only when no preset it may pick works
    assert protocol.check_settings(gpt, {"n_embd": "64"})  # fine on the CPU preset
    with pytest.raises(SettingError, match=r"n_head \(6\)"):
        protocol.check_settings(gpt, {"n_embd": "64", "device": "cuda"})


def test_a_live_runs_figures_reach_the_index_at_most_as_often_as_asked(sess):
    """The desk refreshes every second; each index write makes it recompute its state, so
    a live run whose only change is its figures is written at most every `figures_every_s`."""
    sess.runs_dir.mkdir(parents=True, exist_ok=True)
    run_dir = _run_folder(sess.runs_dir, _line("start", pid=1), _line("step", step=1, loss=3.0))
    lock = _hold_lock(run_dir)
    try:
        [row] = refresh_runs(sess, figures_every_s=60)
        assert row["status"] == "running" and row["last"]["loss"] == 3.0
        with open(run_dir / "metrics.jsonl", "ab") as f:
            f.write(_line("step", step=2, loss=2.0))
        assert refresh_runs(sess, figures_every_s=60)[0]["last"]["loss"] == 3.0  # written 0 s ago
        assert refresh_runs(sess)[0]["last"]["loss"] == 2.0  # the CLI: always
    finally:
        lock.close()
