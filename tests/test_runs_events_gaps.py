"""The run-folder reader every view relies on, pinned where a mutation run found it unpinned:
`RunTail` (reading metrics.jsonl as it grows), `Series`, `RunState`'s fold of each event
kind and its derived figures, the runs index helpers and the CLI/TUI's formatting.

Run folders are built by writing config.json and metrics.jsonl lines directly (no lab).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from studytui.runs import RunError, RunState, RunTail, Series, duration_s, lab_runs, refresh_runs, resolve_run
from studytui.runs import index as index_mod
from studytui.runs.events import MAX_SERIES_POINTS, MAX_VISUALS, Line, read_config
from studytui.runs.format import fmt_duration, fmt_started, fmt_value, key_figure


def ev(event: str, t: float | None = 1.0, **fields) -> dict:
    e = {"v": 1, "event": event, **fields}
    if t is not None:
        e["t"] = t
    return e


def raw(event: str, t: float = 1.0, **fields) -> bytes:
    return (json.dumps({"v": 1, "event": event, "t": t, **fields}) + "\n").encode()


def fold(*events: dict) -> RunState:
    st = RunState()
    st.apply(list(events))
    return st


def notes(st: RunState) -> list[str]:
    return [text for _, text in st.log]


# -- RunTail ------------------------------------------------------------------------------------


def test_read_gives_each_line_the_offset_just_past_it(tmp_path):
    a, b = raw("step", step=1), raw("step", step=2)
    (tmp_path / "metrics.jsonl").write_bytes(a + b"\n  \n" + b)
    tail = RunTail(tmp_path)
    lines = tail.read()
    assert [line.end for line in lines] == [len(a), len(a) + 4 + len(b)]
    assert [line.event["step"] for line in lines] == [1, 2]
    assert tail.offset == len(a) + 4 + len(b)
    assert tail.skipped == 0  # blank lines are not malformed ones
    assert tail.reset is False


def test_read_skips_and_counts_every_kind_of_malformed_line(tmp_path):
    good = raw("log", message="ok")
    bad = [b"{oops", b"\xff\xfe", b"[1]", b'{"event": 3}', b'{"no": "event"}', b"42"]
    (tmp_path / "metrics.jsonl").write_bytes(b"\n".join(bad) + b"\n" + good)
    tail = RunTail(tmp_path)
    assert tail.poll() == [json.loads(good)]
    assert tail.skipped == len(bad)


def test_a_line_without_its_newline_waits_and_offset_stays(tmp_path):
    path = tmp_path / "metrics.jsonl"
    first = raw("step", step=1)
    path.write_bytes(first + b'{"event": "st')
    tail = RunTail(tmp_path)
    assert len(tail.read()) == 1
    assert tail.offset == len(first)
    assert tail.read() == [] and tail.offset == len(first)
    with open(path, "ab") as f:
        f.write(b'ep", "step": 2}\n')
    lines = tail.read()
    assert [line.event["step"] for line in lines] == [2]
    assert lines[0].end == path.stat().st_size == tail.offset


def test_nothing_new_reads_nothing_and_clears_reset(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(raw("step", step=1) + raw("step", step=2))
    tail = RunTail(tmp_path)
    tail.read()
    path.write_bytes(raw("step", step=7))  # shorter: a new file
    assert [e["step"] for e in tail.poll()] == [7] and tail.reset is True
    assert tail.poll() == [] and tail.reset is False
    with open(path, "ab") as f:
        f.write(raw("step", step=8))
    assert [e["step"] for e in tail.poll()] == [8] and tail.reset is False


def test_a_file_replaced_by_another_of_more_bytes_is_read_from_its_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(raw("step", step=1))
    tail = RunTail(tmp_path)
    tail.read()
    other = tmp_path / "other.jsonl"
    other.write_bytes(raw("step", step=5) + raw("step", step=6) + raw("step", step=7))
    os.replace(other, path)  # another inode
    assert [e["step"] for e in tail.poll()] == [5, 6, 7]
    assert tail.reset is True


def test_a_file_rewritten_in_place_with_other_first_bytes_is_read_from_its_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(raw("step", step=1))
    tail = RunTail(tmp_path)
    tail.read()
    ino = path.stat().st_ino
    with open(path, "r+b") as f:  # same inode, longer, other head
        f.write(raw("step", step=3) + raw("step", step=4))
    assert path.stat().st_ino == ino
    assert [e["step"] for e in tail.poll()] == [3, 4]
    assert tail.reset is True


def test_a_file_grown_with_the_same_head_is_not_a_new_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(raw("step", step=1, pad="x" * 100))  # a head longer than HEAD_BYTES
    tail = RunTail(tmp_path)
    tail.read()
    with open(path, "ab") as f:
        f.write(raw("step", step=2))
    assert [e["step"] for e in tail.poll()] == [2]
    assert tail.reset is False


def test_short_first_lines_then_growth_is_not_a_new_file(tmp_path):
    """The head is taken from the first reads even when they hold under 64 bytes."""
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"event":"a"}\n')
    tail = RunTail(tmp_path)
    assert [e["event"] for e in tail.poll()] == ["a"]
    for name in ("b", "c", "d", "e", "f", "g"):
        with open(path, "ab") as f:
            f.write(b'{"event":"%s"}\n' % name.encode())
        assert [e["event"] for e in tail.poll()] == [name]
        assert tail.reset is False


def test_a_new_file_that_starts_like_the_old_one_is_still_read_from_its_start(tmp_path):
    """A run restarted by hand writes the same first line again, into another file."""
    path = tmp_path / "metrics.jsonl"
    first = raw("start", pid=1)
    path.write_bytes(first)
    tail = RunTail(tmp_path)
    tail.read()
    other = tmp_path / "other.jsonl"
    other.write_bytes(first + raw("step", step=1) + raw("step", step=2))
    os.replace(other, path)
    assert [e["event"] for e in tail.poll()] == ["start", "step", "step"]
    assert tail.reset is True


def test_a_new_file_of_exactly_the_old_size_is_read_from_its_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(raw("step", step=1))
    tail = RunTail(tmp_path)
    tail.read()
    other = tmp_path / "other.jsonl"
    other.write_bytes(raw("step", step=2))  # same length, another inode
    assert other.stat().st_size == path.stat().st_size
    os.replace(other, path)
    assert [e["step"] for e in tail.poll()] == [2]
    assert tail.reset is True


def test_a_file_cut_short_in_place_keeping_its_head_is_read_again(tmp_path):
    path = tmp_path / "metrics.jsonl"
    first = raw("log", message="x" * 100)  # longer than the head the tail keeps
    path.write_bytes(first + raw("step", step=1))
    tail = RunTail(tmp_path)
    assert len(tail.read()) == 2
    with open(path, "r+b") as f:
        f.truncate(len(first))
    assert [e["event"] for e in tail.poll()] == ["log"]
    assert tail.reset is True


def test_an_empty_file_that_grows_is_not_a_new_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"")
    tail = RunTail(tmp_path)
    assert tail.read() == []
    path.write_bytes(raw("step", step=1))
    assert [e["step"] for e in tail.poll()] == [1]
    assert tail.reset is False


def test_chunks_cap_a_poll_and_a_line_longer_than_a_chunk_is_taken_whole(tmp_path):
    path = tmp_path / "metrics.jsonl"
    long, short = raw("log", message="x" * 200), raw("step", step=1)
    path.write_bytes(short + short + long + short)
    tail = RunTail(tmp_path, chunk_bytes=len(short) + 5)
    assert [line.end for line in tail.read()] == [len(short)]
    assert [line.end for line in tail.read()] == [2 * len(short)]
    # a chunk with no newline in it: the rest of the file is read, the long line whole
    last = tail.read()
    assert [line.event["event"] for line in last] == ["log", "step"]
    assert last[-1].end == path.stat().st_size == tail.offset
    assert tail.read() == []


def test_a_chunk_that_ends_mid_line_keeps_the_rest_for_the_next_poll(tmp_path):
    path = tmp_path / "metrics.jsonl"
    a = raw("step", step=1)
    path.write_bytes(a + a + a)
    tail = RunTail(tmp_path, chunk_bytes=len(a) + 3)
    assert len(tail.read()) == 1 and tail.offset == len(a)
    assert len(tail.read()) == 1 and tail.offset == 2 * len(a)


def test_a_missing_file_or_a_run_dir_that_is_a_file_reads_nothing(tmp_path):
    assert RunTail(tmp_path / "gone").read() == []
    f = tmp_path / "plain"
    f.write_text("x")
    tail = RunTail(f)
    assert tail.read() == [] and tail.offset == 0 and tail.reset is False
    assert tail.path == f / "metrics.jsonl"


def test_a_fresh_tail_starts_at_zero_with_nothing_skipped(tmp_path):
    tail = RunTail(tmp_path)
    assert (tail.offset, tail.skipped, tail.reset, tail.chunk_bytes) == (0, 0, False, None)
    assert RunTail(tmp_path, chunk_bytes=10).chunk_bytes == 10


# -- Series -------------------------------------------------------------------------------------


def test_series_halves_then_keeps_every_second_point():
    s = Series(max_points=4)
    for i in range(5):
        s.add(i, float(i * 10))
    assert s.points == [(0, 0.0), (2, 20.0), (4, 40.0)] and s.stride == 2 and len(s) == 3
    s.add(5, 50.0)  # skipped by the stride, but `last`
    assert s.points[-1] == (4, 40.0) and s.last == (5, 50.0)
    assert s.xy() == ([0, 2, 4, 5], [0.0, 20.0, 40.0, 50.0])
    s.add(6, 60.0)
    assert s.xy() == ([0, 2, 4, 6], [0.0, 20.0, 40.0, 60.0])  # the last point not repeated
    assert s.seen == 7
    for i in range(7, 11):
        s.add(i, float(i * 10))
    assert [x for x, _ in s.points] == [0, 4, 8] and s.stride == 4  # halved again: every 4th


def test_a_fresh_series_is_empty_and_bounded_by_default():
    s = Series()
    assert s.xy() == ([], []) and len(s) == 0 and s.last is None and s.stride == 1 and s.seen == 0
    assert s.max_points == MAX_SERIES_POINTS == 2000
    for i in range(MAX_SERIES_POINTS + 1):
        s.add(i, 1.0)
    assert len(s) == MAX_SERIES_POINTS // 2 + 1


# -- RunState: folding lines once ----------------------------------------------------------------


def test_apply_lines_folds_each_offset_once_and_returns_the_new_events():
    st = RunState()
    lines = [Line(10, ev("step", step=1)), Line(20, ev("step", step=2))]
    assert st.apply_lines(lines) == [lines[0].event, lines[1].event]
    assert st.read_to == 20 and st.events_seen == 2
    more = [*lines, Line(30, ev("step", step=3))]
    assert st.apply_lines(more) == [more[2].event]
    assert st.read_to == 30 and st.events_seen == 3 and st.step == 3
    assert st.apply_lines([Line(30, ev("step", step=9))]) == []
    assert st.step == 3


def test_every_event_counts_and_a_numeric_t_is_the_latest_time():
    st = fold(ev("log", t=5.0, message="a"), ev("mystery", t=6), ev("log", t="soon"), ev("log", t=True))
    assert st.events_seen == 4
    assert st.last_t == 6.0
    assert list(st.event_times) == [5.0, 6.0]


def test_a_malformed_event_of_a_known_kind_is_skipped_and_the_fold_goes_on():
    st = fold(
        ev("merges", merges=5),  # not iterable: TypeError
        ev("sample", names=["a"], step=1, prompt=None, text=None),
        ev("step", t=2.0, step=2, loss=1.0),
    )
    assert st.events_seen == 3 and st.step == 2 and st.merges_total == 0
    assert st.samples[-1] == {"step": 1, "prompt": "", "text": "", "names": ["a"]}


def test_a_handler_error_other_than_the_malformed_kinds_propagates(monkeypatch):
    st = RunState()

    def boom(e, t):
        raise RuntimeError("bug")

    monkeypatch.setattr(st, "_on_log", boom)
    with pytest.raises(RuntimeError):
        st.apply([ev("log")])


@pytest.mark.parametrize("exc", [TypeError, ValueError, KeyError, AttributeError])
def test_each_malformed_kind_of_error_is_swallowed(monkeypatch, exc):
    st = RunState()

    def boom(e, t):
        raise exc("x")

    monkeypatch.setattr(st, "_on_log", boom)
    st.apply([ev("log", t=3.0)])
    assert st.events_seen == 1 and st.last_t == 3.0


def test_a_handler_gets_the_event_and_its_time(monkeypatch):
    st = RunState()
    got = []
    monkeypatch.setattr(st, "_on_log", lambda e, t: got.append((e, t)))
    e = ev("log", t=4, message="m")
    st.apply([e])
    assert got == [(e, 4.0)]
    st.apply([ev("log", t="x")])
    assert got[-1][1] is None


# -- RunState: start ----------------------------------------------------------------------------


def test_start_sets_pid_device_total_info_config_and_notes_it():
    st = RunState(config={"lab": "gpt"})
    st.apply(
        [
            ev(
                "start",
                t=10.0,
                pid=42,
                device="cuda",
                total=100,
                config={"n": 1},
                preset="tiny",
                ratio=0.5,
                flag=False,
                nested={"a": 1},
                items=[1],
            )
        ]
    )
    assert (st.started_t, st.pid, st.device, st.total) == (10.0, 42, "cuda", 100)
    assert st.start_info == {"device": "cuda", "preset": "tiny", "ratio": 0.5, "flag": False}
    assert st.config == {"lab": "gpt", "resolved": {"n": 1}} and st.resolved == {"n": 1}
    assert notes(st) == ["start on cuda, 100 planned"]
    assert st.log[0][0] == 10.0


def test_a_start_without_fields_keeps_what_came_before():
    st = RunState(config={"resolved": {"from": "config.json"}})
    st.pid, st.device, st.total = 7, "cpu", 9
    st.apply([ev("start", t=1.0, pid="x", config={"n": 2}, total="many")])
    assert (st.pid, st.device, st.total) == (7, "cpu", 9)
    assert st.resolved == {"from": "config.json"}
    assert notes(st) == ["start on cpu, 9 planned"]
    assert st.start_info == {}


def test_a_bare_start_notes_an_unknown_device_and_no_plan():
    st = fold(ev("start", t=2.0, config="not a dict"))
    assert notes(st) == ["start on ?"]
    assert st.pid is None and st.device is None and st.total is None and st.config == {}
    assert st.started_t == 2.0


# -- RunState: step -----------------------------------------------------------------------------


def test_step_keeps_metrics_series_best_and_speed():
    st = fold(
        ev("step", t=1.0, step=1, loss=3.0, lr=0.1, tok_per_s=100, grad_norm=2, acc=0.5),
        ev("step", t=2.0, step=2, loss=2.0, lr=0.05, tok_per_s=120.0, acc=0.75),
        ev("step", t=3.0, step=3, loss=2.5),
    )
    assert st.step == 3
    assert st.last == {"step": 3, "loss": 2.5, "lr": 0.05, "tok_per_s": 120.0, "grad_norm": 2.0, "acc": 0.75}
    assert st.loss.xy() == ([1, 2, 3], [3.0, 2.0, 2.5])
    assert st.lr.xy() == ([1, 2], [0.1, 0.05])
    assert st.tok_per_s.xy() == ([1, 2], [100.0, 120.0])
    assert list(st.recent_tok_per_s) == [100.0, 120.0]
    assert set(st.lab_series) == {"acc"}
    assert st.lab_series["acc"].xy() == ([1, 2], [0.5, 0.75])
    assert st.best == {"loss": (2, 2.0)}


def test_a_step_without_a_step_number_is_placed_at_its_event_count():
    st = fold(ev("log"), ev("step", loss=1.0, acc=0.1, step="bad"))
    assert st.step is None and "step" not in st.last
    assert st.loss.xy() == ([2], [1.0])
    assert st.lab_series["acc"].xy() == ([2], [0.1])
    assert st.best == {"loss": (None, 1.0)}


def test_a_warmup_steps_speed_stays_out_of_every_speed_figure():
    st = fold(
        ev("step", step=1, loss=3.0, tok_per_s=5.0, warmup=True),
        ev("step", step=2, loss=2.0, tok_per_s=900.0, warmup=False),
    )
    assert st.tok_per_s.xy() == ([2], [900.0])
    assert list(st.recent_tok_per_s) == [900.0]
    assert st.loss.xy() == ([1, 2], [3.0, 2.0])


def test_step_ignores_non_numbers_and_bookkeeping_keys():
    st = fold(ev("step", t=4.0, step=1, loss="nan?", flag=True, name="x", v=1))
    assert st.last == {"step": 1}
    assert st.lab_series == {} and st.best == {} and len(st.loss) == 0
    assert len(st.recent_tok_per_s) == 0


def test_a_lab_may_name_only_a_few_dozen_figures_but_keeps_updating_them():
    st = RunState()
    st.apply([ev("step", step=0, **{f"k{i}": float(i) for i in range(40)})])
    assert len(st.last) == 32  # "step" and 31 of the lab's numbers
    assert "k30" in st.last and "k31" not in st.last
    st.apply([ev("step", step=1, k0=100.0, k35=1.0, loss=9.0)])
    assert st.last["k0"] == 100.0 and "k35" not in st.last
    assert st.last["loss"] == 9.0  # the protocol's metrics are always kept
    assert "k35" not in st.lab_series and st.lab_series["k0"].xy() == ([0, 1], [0.0, 100.0])


def test_best_loss_is_the_lowest_finite_value_and_its_step():
    st = fold(
        ev("step", step=1, loss=float("nan")),
        ev("step", step=2, loss=3.0),
        ev("step", step=3, loss=float("inf")),
        ev("step", step=4, loss=3.0),
        ev("step", step=5, loss=-float("inf")),
        ev("step", step=6, loss=2.0),
        ev("step", step=7, loss=2.5),
    )
    assert st.best["loss"] == (6, 2.0)


# -- RunState: eval -----------------------------------------------------------------------------


def test_eval_keeps_val_loss_its_best_and_notes_it():
    st = fold(
        ev("step", step=5, loss=2.0),
        ev("eval", t=3.0, val_loss=2.25),  # no step: the latest step's
        ev("eval", t=4.0, step=9, val_loss=2.5),
        ev("eval", t=5.0, step=10, val_loss="x"),
    )
    assert st.val_loss.xy() == ([5, 9], [2.25, 2.5])
    assert st.last["val_loss"] == 2.5
    assert st.best["val_loss"] == (5, 2.25)
    assert notes(st) == ["eval step 5: val_loss 2.2500", "eval step 9: val_loss 2.5000"]
    assert st.log[0][0] == 3.0


def test_an_eval_before_any_step_is_placed_at_zero():
    st = fold(ev("eval", step="?", val_loss=4))
    assert st.val_loss.xy() == ([0], [4.0])
    assert st.best["val_loss"] == (None, 4.0)
    assert notes(st) == ["eval step None: val_loss 4.0000"]


# -- RunState: sample, progress, merges, table ----------------------------------------------------


def test_sample_keeps_step_prompt_text_and_at_most_a_hundred_names():
    st = fold(
        ev("sample", step=3, prompt="Once", text=12, names=[f"n{i}" for i in range(150)]),
        ev("sample", names="ab"),
    )
    first, second = st.samples
    assert (first["step"], first["prompt"], first["text"]) == (3, "Once", "12")
    assert first["names"] == [f"n{i}" for i in range(100)]
    assert second == {"step": None, "prompt": "", "text": "", "names": None}


def test_progress_keeps_its_fields_and_the_done_total_and_rate():
    st = fold(ev("progress", done=3, total=10, rate=2.5, unit="merges", eta_s=3.5, extra=1))
    assert st.progress == {"done": 3, "total": 10, "rate": 2.5, "unit": "merges", "eta_s": 3.5}
    assert st.total == 10
    assert st.last == {"done": 3, "rate": 2.5}
    assert st.done_and_total() == (3, 10)
    assert st.eta_s(now=0.0) == 3.5


def test_progress_with_odd_fields_keeps_what_it_can():
    st = RunState()
    st.total = 50
    st.apply([ev("progress", done="3", total=1.5, rate=True, unit=None)])
    assert st.progress == {"done": "3", "total": 1.5, "rate": True, "unit": None, "eta_s": None}
    assert st.total == 50 and st.last == {}
    st.apply([ev("progress", done=4, rate=7)])
    assert st.last == {"done": 4, "rate": 7}
    assert st.progress["total"] is None
    assert st.done_and_total() == (4, 50)  # the progress event's total missing: the run's


def test_merges_keeps_only_merge_objects_and_counts_them():
    st = fold(
        ev("merges", merges=[{"rank": 1}, "junk", {"rank": 2}]),
        ev("merges"),
        ev("merges", merges=None),
    )
    assert list(st.merges) == [{"rank": 1}, {"rank": 2}] and st.merges_total == 2


def test_merges_keep_the_latest_two_hundred_but_count_all():
    st = fold(ev("merges", merges=[{"rank": i} for i in range(250)]))
    assert st.merges_total == 250 and len(st.merges) == 200 and st.merges[0] == {"rank": 50}


def test_table_is_kept_by_name_and_noted_with_its_row_count():
    st = fold(
        ev("table", t=7.0, name="ladder", columns=["a", "b"], rows=[[1, 2], [3]]),
        ev("table", t=8.0, rows=[[1]]),
    )
    assert st.tables["ladder"] == {"columns": ["a", "b"], "rows": [[1, 2], [3, None]]}
    assert st.tables["table"] == {"columns": [], "rows": [[1]]}
    assert notes(st) == ["table ladder (2 rows)", "table table (1 rows)"]
    assert [t for t, _ in st.log] == [7.0, 8.0]


# -- RunState: visual ---------------------------------------------------------------------------


def test_visual_keeps_the_latest_event_by_name_without_bookkeeping_fields():
    st = fold(
        ev("visual", t=1.0, kind="heatmap", name="attn", data=[[1]]),
        ev("visual", t=2.0, kind="heatmap", name="attn", data=[[2]], step=4),
    )
    assert st.visuals == {"attn": {"kind": "heatmap", "name": "attn", "data": [[2]], "step": 4}}
    assert st.visual_history == {}  # not a series


def test_visual_without_a_string_kind_or_name_is_ignored():
    st = fold(
        ev("visual", kind=1, name="a"),
        ev("visual", kind="bars", name=None),
        ev("visual", name="b"),
        ev("visual", kind="bars"),
    )
    assert st.visuals == {} and st.visual_history == {}


def test_series_visuals_with_a_step_keep_their_history_oldest_first():
    st = fold(
        ev("visual", kind="series", name="ratio", step=1, y=[1]),
        ev("visual", kind="series", name="ratio", y=[9]),  # no step: latest only
        ev("visual", kind="series", name="ratio", step="3", y=[8]),
        ev("visual", kind="series", name="ratio", step=2, y=[2]),
    )
    assert [v["y"] for v in st.visual_history["ratio"]] == [[1], [2]]
    assert st.visuals["ratio"] == {"kind": "series", "name": "ratio", "step": 2, "y": [2]}
    assert st.visual_history["ratio"][-1] == st.visuals["ratio"]


def test_series_visual_history_is_bounded():
    st = fold(*(ev("visual", kind="series", name="r", step=i) for i in range(510)))
    hist = st.visual_history["r"]
    assert len(hist) == 500 and hist[0]["step"] == 10 and hist[-1]["step"] == 509


def test_at_most_sixty_four_visual_names_but_known_ones_still_update():
    st = fold(*(ev("visual", kind="series", name=f"v{i}", step=0) for i in range(MAX_VISUALS + 3)))
    assert len(st.visuals) == MAX_VISUALS == 64
    assert "v63" in st.visuals and "v64" not in st.visuals
    assert "v64" not in st.visual_history
    st.apply([ev("visual", kind="series", name="v0", step=1, y=5)])
    assert st.visuals["v0"]["y"] == 5 and len(st.visual_history["v0"]) == 2


# -- RunState: checkpoint, log, end, error ---------------------------------------------------------


def test_checkpoints_are_listed_and_noted():
    st = fold(ev("checkpoint", t=3.0, step=2, path="ckpt.pt", size=9), ev("checkpoint", t=4.0))
    assert st.checkpoints == [{"step": 2, "path": "ckpt.pt"}, {"step": None, "path": None}]
    assert notes(st) == ["checkpoint at step 2: ckpt.pt", "checkpoint at step None: None"]
    assert [t for t, _ in st.log] == [3.0, 4.0]


def test_log_notes_its_message_as_text():
    st = fold(ev("log", t=2.0, message="hello"), ev("log", t=3.0, message=5), ev("log", t=None))
    assert list(st.log) == [(2.0, "hello"), (3.0, "5"), (None, "")]


def test_end_sets_status_time_summary_reason_and_notes_it():
    st = fold(
        ev(
            "end",
            t=9.0,
            status="diverged",
            summary={"loss": 1.5},
            reason="loss went nan\nat step 4",
        )
    )
    assert (st.end_status, st.ended_t, st.summary, st.end_reason) == (
        "diverged",
        9.0,
        {"loss": 1.5},
        "loss went nan",
    )
    assert st.ended and st.error is None
    assert notes(st) == ["end: diverged (loss went nan)"]
    assert st.log[-1][0] == 9.0


@pytest.mark.parametrize("status", ["done", "stopped", "diverged"])
def test_end_keeps_a_protocol_status(status):
    assert fold(ev("end", status=status)).end_status == status


def test_an_end_with_odd_fields_reads_as_done_without_reason():
    for reason in ("   ", 5, None):
        st = fold(ev("end", t=2.0, status="exploded", summary=["x"], reason=reason))
        assert (st.end_status, st.summary, st.end_reason) == ("done", {}, None)
        assert notes(st) == ["end: done"]
        assert st.ended


def test_error_keeps_the_first_line_of_its_message_and_ends_the_run():
    st = fold(ev("error", t=6.0, message="CUDA out of memory\nTraceback ..."))
    assert st.error == "CUDA out of memory" and st.ended_t == 6.0 and st.ended
    assert st.end_status is None
    assert list(st.log) == [(6.0, "error: CUDA out of memory")]


def test_an_error_without_a_message_still_ends_the_run():
    for message in (None, "", 0):
        st = fold(ev("error", t=1.0, message=message))
        assert st.error == "error" and st.ended and notes(st) == ["error: error"]
    st = fold(ev("error", message=42))
    assert st.error == "42"


def test_a_fresh_state_has_not_ended():
    st = RunState()
    assert not st.ended and st.resolved == {} and st.figure("loss") is None


# -- RunState: derived figures --------------------------------------------------------------------


def test_done_and_total_from_the_step_without_progress():
    st = fold(ev("start", total=10), ev("step", step=4))
    assert st.done_and_total() == (4, 10)


def test_eta_from_elapsed_time_per_step():
    st = fold(ev("start", t=100.0, total=10), ev("step", t=104.0, step=2))
    assert st.eta_s(now=1e9) == pytest.approx(16.0)  # 4 s for 2 steps, 8 to go


def test_eta_uses_now_while_no_event_has_a_time():
    st = RunState()
    st.started_t, st.step, st.total = 100.0, 5, 10
    assert st.eta_s(now=110.0) == pytest.approx(10.0)


def test_no_eta_without_enough_to_go_on():
    st = RunState()
    assert st.eta_s(now=5.0) is None
    st.started_t, st.total, st.step = 1.0, 10, 0
    assert st.eta_s(now=5.0) is None  # nothing done
    st.step, st.total = 10, 10
    assert st.eta_s(now=5.0) is None  # all done
    st.step, st.total = 12, 10
    assert st.eta_s(now=5.0) is None
    st.step, st.total = 2, None
    assert st.eta_s(now=5.0) is None
    st.total, st.started_t = 10, None
    assert st.eta_s(now=5.0) is None
    st.started_t, st.last_t = 5.0, 5.0
    assert st.eta_s(now=50.0) is None  # no time elapsed


def test_eta_from_the_progress_event_wins_when_a_number():
    st = fold(ev("start", t=0.0, total=10), ev("step", t=1.0, step=1))
    st.apply([ev("progress", t=1.0, done=1, total=10, eta_s=7)])
    assert st.eta_s(now=0.0) == 7.0 and isinstance(st.eta_s(now=0.0), float)
    st.apply([ev("progress", t=2.0, done=2, total=10, eta_s="soon")])
    assert st.eta_s(now=0.0) == pytest.approx(8.0)  # 2 s for 2 done, 8 to go


def test_typical_gap_is_the_median_of_the_latest_gaps_ignoring_backward_clocks():
    st = fold(*(ev("log", t=t) for t in (0.0, 1.0, 3.0, 2.0, 6.0, 16.0)))
    # gaps 1, 2, (back), 4, 10 -> sorted 1 2 4 10 -> the upper middle
    assert st.typical_gap_s() == 4.0
    st = fold(ev("log", t=0.0), ev("log", t=1.0), ev("log", t=4.0))
    assert st.typical_gap_s() == 3.0  # gaps 1, 3
    st = fold(ev("log", t=0.0), ev("log", t=0.0))
    assert st.typical_gap_s() == 0.0


def test_no_typical_gap_with_one_time_or_none():
    assert RunState().typical_gap_s() is None
    assert fold(ev("log", t=1.0)).typical_gap_s() is None
    assert fold(ev("log", t=2.0), ev("log", t=1.0)).typical_gap_s() is None


def test_figure_prefers_the_end_summary_then_the_latest_value():
    st = fold(ev("step", step=1, loss=2.0, acc=0.5), ev("end", summary={"loss": 1.0}))
    assert st.figure("loss") == 1.0 and st.figure("acc") == 0.5
    assert st.figure(None) is None and st.figure("missing") is None


def test_read_config_reads_config_json_or_nothing(tmp_path):
    assert read_config(tmp_path) == {}
    (tmp_path / "config.json").write_text(json.dumps({"lab": "gpt", "settings": {"n": 1}}))
    assert read_config(tmp_path) == {"lab": "gpt", "settings": {"n": 1}}
    assert read_config(str(tmp_path)) == {"lab": "gpt", "settings": {"n": 1}}


# -- the runs index --------------------------------------------------------------------------------


def make_run(runs_dir: Path, run_id: str, *events: dict, config: dict | None = None) -> Path:
    d = runs_dir / run_id
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(config or {"lab": "fake", "settings": {"steps": 2}}))
    (d / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


def finished(t0: float = 1_700_000_000.0) -> list[dict]:
    return [
        ev("start", t=t0, pid=4242, device="cpu", total=2),
        ev("step", t=t0 + 1, step=1, loss=3.0),
        ev("step", t=t0 + 2, step=2, loss=2.0),
        ev("end", t=t0 + 3, status="done", summary={"loss": 2.0}),
    ]


def test_refresh_indexes_new_folders_and_drops_gone_ones(sess):
    make_run(
        sess.runs_dir, "fake-a", *finished(), config={"lab": "fake", "created": "2024-01-02T03:04:05+00:00"}
    )
    (sess.runs_dir / "not-a-run").mkdir()
    rows = refresh_runs(sess)
    assert [r["id"] for r in rows] == ["fake-a"]
    row = rows[0]
    assert (row["status"], row["lab"], row["pid"]) == ("done", "fake", 4242)
    assert row["created_at"] == "2024-01-02T03:04:05+00:00"
    assert row["summary"] == {"loss": 2.0} and row["last"]["loss"] == 2.0
    assert row["dir"] == str((sess.runs_dir / "fake-a").resolve())
    assert (sess.runs_dir / "fake-a" / "report.md").is_file()
    assert index_mod.run_dirs(sess.runs_dir) == {"fake-a": sess.runs_dir / "fake-a"}
    (sess.runs_dir / "fake-a" / "config.json").unlink()
    assert refresh_runs(sess) == [] and sess.store.runs() == []


def test_refresh_keeps_the_launchers_pid_and_leaves_a_final_row_alone(sess):
    d = make_run(sess.runs_dir, "fake-b", *finished())
    sess.store.upsert_run(
        {"id": "fake-b", "lab": "fake", "status": "running", "pid": 999, "dir": "", "created_at": "x"}
    )
    row = refresh_runs(sess)[0]
    assert row["pid"] == 999 and row["status"] == "done"
    with open(d / "metrics.jsonl", "a") as f:
        f.write(json.dumps(ev("step", step=3, loss=1.0)) + "\n")
    assert refresh_runs(sess)[0]["last"]["loss"] == 2.0  # final: not read again


def test_a_final_run_skipped_does_not_stop_the_others_from_being_indexed(sess, monkeypatch):
    done_dir = make_run(sess.runs_dir, "fake-done", *finished())
    refresh_runs(sess)
    new_dir = make_run(sess.runs_dir, "fake-new", *finished())
    monkeypatch.setattr(index_mod, "run_dirs", lambda runs_dir: {"fake-done": done_dir, "fake-new": new_dir})
    assert sorted(r["id"] for r in refresh_runs(sess)) == ["fake-done", "fake-new"]


def test_refresh_reads_a_final_row_again_when_its_folder_moved(sess):
    make_run(sess.runs_dir, "fake-c", *finished())
    sess.store.upsert_run(
        {"id": "fake-c", "lab": "fake", "status": "done", "dir": "/elsewhere", "created_at": "x"}
    )
    row = refresh_runs(sess)[0]
    assert row["dir"] == str((sess.runs_dir / "fake-c").resolve()) and row["pid"] == 4242


def test_refresh_returns_the_index_newest_first(sess):
    make_run(
        sess.runs_dir, "fake-old", *finished(), config={"lab": "fake", "created": "2024-01-01T00:00:00+00:00"}
    )
    make_run(
        sess.runs_dir, "fake-new", *finished(), config={"lab": "fake", "created": "2024-02-01T00:00:00+00:00"}
    )
    assert [r["id"] for r in refresh_runs(sess)] == ["fake-new", "fake-old"]


def test_a_live_runs_figures_are_written_at_most_every_so_often(sess):
    import fcntl

    d = make_run(sess.runs_dir, "fake-live", ev("start", t=1.0, pid=1), ev("step", t=2.0, step=1, loss=3.0))
    fd = os.open(d / "run.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert refresh_runs(sess, figures_every_s=3600)[0]["last"]["step"] == 1
        with open(d / "metrics.jsonl", "a") as f:
            f.write(json.dumps(ev("step", t=3.0, step=2, loss=2.0)) + "\n")
        row = refresh_runs(sess, figures_every_s=3600)[0]
        assert row["status"] == "running" and row["last"]["step"] == 1  # only figures changed
        assert refresh_runs(sess)[0]["last"]["step"] == 2  # by default every change is written
        assert not (d / "report.md").exists()  # not while running
    finally:
        os.close(fd)


def test_watch_for_gives_one_watch_per_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r1").mkdir()
    w = index_mod.watch_for(Path("r1"))
    assert index_mod.watch_for(tmp_path / "r1") is w
    assert w.run_dir == (tmp_path / "r1").resolve()
    assert index_mod.watch_for(tmp_path / "r2") is not w


def test_resolve_run_by_id_prefix_or_last(sess):
    with pytest.raises(RunError, match=r"^no runs yet \(start one with `studytui lab run NAME`\)$"):
        resolve_run(sess, "last")
    make_run(
        sess.runs_dir, "fake-x1", *finished(), config={"lab": "fake", "created": "2024-01-01T00:00:00+00:00"}
    )
    make_run(
        sess.runs_dir, "fake-x2", *finished(), config={"lab": "fake", "created": "2024-02-01T00:00:00+00:00"}
    )
    assert resolve_run(sess, "last")["id"] == "fake-x2"
    assert resolve_run(sess, "fake-x1")["id"] == "fake-x1"
    with pytest.raises(RunError, match=r"\(see `studytui lab runs`\)$"):
        resolve_run(sess, "nope")
    with pytest.raises(RunError) as err:
        resolve_run(sess, "fake-x")
    assert "see `studytui lab runs`" not in str(err.value)
    assert "fake-x" in str(err.value)


def test_resolve_run_without_refresh_reads_only_the_index(sess):
    make_run(sess.runs_dir, "fake-y", *finished())
    with pytest.raises(RunError, match="no runs yet"):
        resolve_run(sess, "last", refresh=False)
    refresh_runs(sess)
    assert resolve_run(sess, "fake-y", refresh=False)["status"] == "done"


def test_lab_runs_lists_the_newest_with_their_report_once_written(sess, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.md").write_text("not a run's")  # a row without a folder has no report
    store = sess.store
    for n in range(7):
        d = tmp_path / f"r{n}"
        d.mkdir()
        store.upsert_run(
            {
                "id": f"gpt-{n}",
                "lab": "gpt",
                "status": "done",
                "dir": str(d),
                "created_at": f"2024-01-0{n + 1}",
            }
        )
    (tmp_path / "r6" / "report.md").write_text("# report")
    (tmp_path / "r5" / "report.md").mkdir()  # not a file
    store.upsert_run(
        {"id": "other-1", "lab": "other", "status": "running", "dir": "", "created_at": "2024-02-01"}
    )
    runs = lab_runs(store, "gpt")
    assert [r["id"] for r in runs] == ["gpt-6", "gpt-5", "gpt-4", "gpt-3", "gpt-2"]
    assert runs[0] == {"id": "gpt-6", "status": "done", "report": str(tmp_path / "r6" / "report.md")}
    assert runs[1]["report"] is None
    assert len(lab_runs(store, "gpt", limit=2)) == 2
    assert lab_runs(store, "other") == [{"id": "other-1", "status": "running", "report": None}]


def test_duration_from_creation_to_end():
    row = {
        "created_at": "2024-01-01T00:00:00+00:00",
        "ended_at": "2024-01-01T00:02:05+00:00",
        "status": "done",
    }
    assert duration_s(row) == 125.0
    backwards = {**row, "ended_at": "2023-12-31T23:59:00+00:00"}
    assert duration_s(backwards) == 0.0


def test_duration_of_a_running_run_is_up_to_now():
    row = {"created_at": "1970-01-01T00:00:10+00:00", "status": "running"}
    assert duration_s(row, now=70.0) == 60.0
    assert duration_s({"created_at": "1970-01-01T00:00:00+00:00", "status": "running"}, now=0.0) == 0.0
    recent = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    d = duration_s({"created_at": recent.isoformat(), "status": "running", "ended_at": None})
    assert 29 < d < 60


def test_no_duration_when_unknown():
    assert duration_s({}) is None
    assert duration_s({"created_at": None, "status": "running"}, now=1.0) is None
    assert duration_s({"created_at": "yesterday", "status": "running"}, now=1.0) is None
    assert duration_s({"created_at": "2024-01-01T00:00:00+00:00", "status": "interrupted"}, now=1e10) is None
    row = {"created_at": "2024-01-01T00:00:00+00:00", "ended_at": "later", "status": "running"}
    assert duration_s(row, now=1e10) is None


def iso_ago(seconds: float, *, aware: bool = True) -> str:
    t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
    return (t if aware else t.replace(tzinfo=None)).isoformat()


def test_written_within_compares_the_rows_write_time_to_now():
    ww = index_mod._written_within
    assert ww({"updated_at": iso_ago(5)}, 60) is True
    assert ww({"updated_at": iso_ago(120)}, 60) is False
    assert ww({"updated_at": iso_ago(5, aware=False)}, 60) is True  # the index writes UTC
    assert ww({"updated_at": iso_ago(120, aware=False)}, 60) is False
    # a naive time is UTC, not local: 90 minutes ago in UTC is not "just now" anywhere
    assert ww({"updated_at": iso_ago(5400, aware=False)}, 3600) is False


def test_written_within_is_false_when_not_asked_or_unknown():
    ww = index_mod._written_within
    ahead = {"updated_at": iso_ago(-100)}  # a clock that ran ahead
    assert ww(ahead, 0) is False and ww(ahead, -5) is False
    assert ww(ahead, 1) is True
    assert ww(None, 60) is False
    assert ww({}, 60) is False
    assert ww({"updated_at": None}, 60) is False
    assert ww({"updated_at": "soon"}, 60) is False


# -- formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (True, "yes"),
        (False, "no"),
        (12345, "12,345"),
        (-7, "-7"),
        (3.28414, "3.284"),
        (0.0, "0"),
        (0.01, "0.01"),
        (-0.5, "-0.5"),
        (999.9, "999.9"),
        (1000.0, "1,000"),
        (-123456.7, "-123,457"),
        (0.00012, "1.20e-04"),
        (-0.001, "-1.00e-03"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ("fp32", "fp32"),
        ([1], "[1]"),
    ],
)
def test_fmt_value(value, text):
    assert fmt_value(value) == text


def test_fmt_duration():
    assert fmt_duration(None) == "–"
    assert fmt_duration(245) == "4m 05s"
    assert fmt_duration(3720) == "1h 02m"
    assert fmt_duration(0) != "–"


def test_fmt_started_shows_today_as_a_time_and_other_days_with_the_date():
    now = dt.datetime.now().astimezone().replace(microsecond=0)
    assert fmt_started(now.isoformat()) == now.strftime("%H:%M:%S")
    assert fmt_started(now.astimezone(dt.timezone.utc).isoformat()) == now.strftime("%H:%M:%S")
    old = dt.datetime(2020, 5, 17, 13, 45, 30, tzinfo=dt.timezone.utc)
    assert fmt_started(old.isoformat()) == old.astimezone().strftime("%Y-%m-%d %H:%M")
    assert len(fmt_started(old.isoformat())) == 16


def test_fmt_started_when_unknown_or_unreadable():
    assert fmt_started(None) == "–"
    assert fmt_started("") == "–"
    assert fmt_started("whenever") == "whenever"


def test_key_figure_prefers_the_summary_then_the_latest_value():
    row = {"summary": {"loss": 1.0}, "last": {"loss": 2.0, "acc": 0.5}}
    assert key_figure(row, "loss") == 1.0
    assert key_figure(row, "acc") == 0.5
    assert key_figure(row, "missing") is None
    assert key_figure(row, None) is None
    assert key_figure({"summary": None, "last": None}, "loss") is None
    assert key_figure({"last": {"loss": 3.0}}, "loss") == 3.0
    assert key_figure({"summary": {"loss": 4.0}}, "loss") == 4.0
