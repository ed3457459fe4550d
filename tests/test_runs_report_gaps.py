"""The run's report card, the watch that follows a run folder, the children reaper and the
manifest face, pinned where a mutation run found them unpinned: `run_report` read whole (every
section, row and fence), `run_figures`, `write_report`'s guards, `RunWatch.poll`'s changes and
status, its index record, and the helpers behind them.

Run folders are built by writing config.json and metrics.jsonl lines directly (no lab).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pytest

from labs.protocol import LOCK_FILE, REPORT_FILE, STOP_FILE, event_line
from studytui.protocol import LabManifest
from studytui.runs import children
from studytui.runs import manifest as manifest_mod
from studytui.runs import report as report_mod
from studytui.runs import watch as watch_mod
from studytui.runs.events import RunState
from studytui.runs.references import Reference
from studytui.runs.report import (
    median,
    run_figures,
    run_report,
    wall_time_s,
    write_report,
    write_report_for,
)
from studytui.runs.watch import RunWatch, derive_status, lock_held

T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def make_run(
    root: Path, events: list[tuple[str, float, dict]], config: dict | None = None, name: str | None = None
) -> Path:
    d = root / (name or "fake-20260101-000000-a1b2")
    d.mkdir(parents=True)
    cfg = {"lab": "fake", "run_id": d.name} if config is None else config
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "metrics.jsonl").write_text("".join(event_line(kind, e, t=t) for kind, t, e in events))
    return d


def watched(d: Path) -> RunWatch:
    w = RunWatch(d)
    w.poll()
    return w


@pytest.fixture
def fixed_version(monkeypatch):
    monkeypatch.setattr(report_mod, "code_version", lambda: "git v1-test")


# -- the full report card ------------------------------------------------------------------------


def rich_run(root: Path) -> Path:
    """Every section of the card: settings against preset and lab defaults, start info, a
    ladder, an end reason, a reference with published points, and four samples (three shown)."""
    events = [
        (
            "start",
            T0,
            {
                "pid": 7,
                "device": "cuda:0",
                "config": {"preset": "small", "steps": 4},
                "total": 4,
                "torch": "2.5.1",
                "dtype": "bf16",
            },
        )
    ]
    losses, speeds = [3.0, 2.0, 2.5, 2.25], [100.0, 400.0, 200.0, 300.0]
    texts = ["first", "a ``` b", "line1\n\tline2\x1b[31m", ""]
    for i in range(1, 5):
        t = T0 + 10 * i
        events.append(
            (
                "step",
                t,
                {"step": i, "loss": losses[i - 1], "tok_per_s": speeds[i - 1], "mfu": 0.1 * i, "figure": 9.0},
            )
        )
        if i % 2 == 0:
            events.append(("eval", t, {"step": i, "val_loss": {2: 2.1, 4: 2.3}[i]}))
        events.append(("sample", t, {"step": i, "text": texts[i - 1]}))
    events.append(
        (
            "table",
            T0 + 41,
            {
                "name": "ladder",
                "columns": ["rung", "tok/s", "vs fp32"],
                "rows": [["fp32", 100, 1.0], ["tf32", 300, 3.0], ["bf16", 50, None]],
            },
        )
    )
    events.append(
        (
            "end",
            T0 + 45.25,
            {"status": "done", "summary": {"figure": 1.5, "mfu": 0.3}, "reason": "early stop\nmore"},
        )
    )
    settings = {"steps": 4, "lr": 0.5, "note": "x|y", "reference": "mine"}
    return make_run(root, events, {"lab": "fake", "settings": settings})


MANIFEST = LabManifest(
    name="fake",
    title="Fake lab",
    summary="",
    module="m",
    key_metric="figure",
    settings=[
        {"name": "steps", "default": 10},
        {"name": "lr", "default": 0.1},
        {"name": "note"},
        {"name": "reference", "default": "none"},
    ],
    path=Path("fake.lab.json"),
    import_root=Path("."),
    raw={"presets": {"small": {"steps": 8, "reference": "theirs"}}},
)

REFERENCE = Reference(
    name="r",
    title="Ref run",
    lab="fake",
    metric="val_loss",
    source="nanoGPT README",
    device="A100",
    points=({"step": 2, "val_loss": 2.2}, {"step": 4, "val_loss": 2.0}),
    published_points=({"step": 4, "val_loss": 1.9}, {"step": 8, "val_loss": 1.75}),
    rungs=({"rung": "fp32", "speedup_fp32": 1.0}, {"rung": "tf32", "speedup_fp32": 2.0}),
)

RICH_CARD = """\
# Run fake-20260101-000000-a1b2

Lab **fake** (Fake lab), status **done (early stop)**.

## What ran

|  |  |
| --- | --- |
| started | 2026-01-01T00:00:00+00:00 |
| ended | 2026-01-01T00:00:45+00:00 |
| wall time | 45s |
| device | cuda:0 |
| code version | git v1-test (when this report was written) |
| torch | 2.5.1 |
| dtype | bf16 |

Settings given (all others: the preset's or the lab's defaults):

| setting | this run | preset/default |
| --- | --- | --- |
| steps | 4 | 8 |
| lr | 0.5 | 0.1 |
| note | x\\|y | – |
| reference | mine | none |

## Figures

| figure | value |
| --- | --- |
| steps | 4 |
| final loss | 2.25 |
| best loss | 2 |
| final val loss | 2.3 |
| best val loss | 2.1 (step 2) |
| tok/s (median) | 250 |
| MFU | 0.3 |
| figure | 1.5 |

Speed-ups over fp32, beside the seed notes' (ratio = this run / theirs):

| rung | tok/s | vs fp32 | seed notes | ratio |
| --- | --- | --- | --- | --- |
| fp32 | 100 | 1 | 1 | 1 |
| tf32 | 300 | 3 | 2 | 1.5 |
| bf16 | 50 | – | – | – |

## Against the reference

**info**: x3 over fp32 at rung tf32; the seed notes: x2 (ratio 1.5, on another device)

Reference: Ref run (A100); source: nanoGPT README.

Published: val_loss 1.9 at step 4; val_loss 1.75 at step 8.

## Loss

```
  3 |*
    |
    |
    |
    |
    |
    |
2.5 |                                          *
    |
    |                                                               o
    |                     +                                         *
    |
    |                     o
  2 |                     *                                         +
    +----------------------------------------------------------------
     1                                                              4  step
     * loss   o val_loss   + reference val_loss
```

## Samples

Step 2:

````
a ``` b
````

Step 3:

```
line1
\tline2␛[31m
```

Step 4:

```

```
"""


def test_the_full_card_reads_exactly_so(tmp_path, fixed_version):
    w = watched(rich_run(tmp_path))
    assert run_report(w, MANIFEST, REFERENCE) == RICH_CARD


def test_figures_of_the_rich_run(tmp_path):
    w = watched(rich_run(tmp_path))
    assert run_figures(w.state) == {
        "steps": 4,
        "final_loss": 2.25,
        "best_loss": 2.0,
        "final_val_loss": 2.3,
        "best_val_loss": 2.1,
        "best_val_step": 2,
        "tok_per_s_median": 250.0,
        "mfu": 0.3,  # the end summary's, over the last step's 0.4
        "wall_time_s": 45.2,
    }


BARE_CARD = """\
# Run fake-20260101-000000-b0b0

Lab **fake**, status **failed**.

## What ran

|  |  |
| --- | --- |
| started | 2026-01-01T00:00:00+00:00 |
| ended | 2026-01-01T00:00:07+00:00 |
| wall time | 7s |
| device | not recorded |
| code version | git v1-test (when this report was written) |
| error | CUDA out of memory |

No settings given: the preset's or the lab's defaults throughout.

## Figures

| figure | value |
| --- | --- |
| steps | 3 |
| final loss | 0.5 |
| best loss | 0.5 |
| MFU | 0.25 |

## Against the reference

**no reference**: no reference run for this lab and settings

## Loss

```
  1 |
    |
    |
    |
    |
    |
    |
0.5 |*
    |
    |
    |
    |
    |
  0 |
    +----------------------------------------------------------------
     3                                                              4  step
     * loss
```
"""


def bare_run(root: Path, config: dict | None = None) -> Path:
    """A run with no device, no settings (a list where a dict belongs), no eval and no
    speeds, that failed: no settings table, no best val, no tok/s, no samples."""
    events = [
        ("start", T0, {"pid": 3}),
        ("step", T0 + 1, {"step": 3, "loss": 0.5, "mfu": 0.25}),
        ("error", T0 + 7.04, {"message": "CUDA out of memory\ntraceback..."}),
    ]
    cfg = {"lab": "fake", "settings": ["not", "a", "dict"]} if config is None else config
    return make_run(root, events, cfg, name="fake-20260101-000000-b0b0")


def test_a_bare_failed_run_reads_exactly_so(tmp_path, fixed_version):
    w = watched(bare_run(tmp_path))
    assert w.status == "failed"
    assert run_report(w, None, None) == BARE_CARD


# -- smaller pieces of the card --------------------------------------------------------------------


def card_of(tmp_path, events, config=None, manifest=None, reference=None, name=None) -> str:
    return run_report(watched(make_run(tmp_path, events, config, name=name)), manifest, reference)


def section(text: str, title: str) -> list[str]:
    """The lines of one `## title` section, up to the next one."""
    body = text.split(f"## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0].strip("\n").splitlines()


def test_a_status_with_no_reason_has_no_brackets(tmp_path):
    text = card_of(tmp_path, [("start", T0, {}), ("end", T0 + 1, {"status": "stopped", "summary": {}})])
    assert "Lab **fake**, status **stopped**.\n" in text


@pytest.mark.parametrize("key", ["loss", "val_loss", "mfu", None])
def test_a_key_metric_already_shown_gets_no_row_of_its_own(tmp_path, key):
    man = LabManifest(
        name="fake",
        title="T",
        summary="",
        module="m",
        key_metric=key,
        settings=[],
        path=Path("x"),
        import_root=Path("."),
    )
    events = [("step", T0, {"step": 1, "loss": 2.0, "mfu": 0.5}), ("eval", T0, {"step": 1, "val_loss": 2.5})]
    rows = section(card_of(tmp_path, events, manifest=man), "Figures")
    assert rows == [
        "| figure | value |",
        "| --- | --- |",
        "| steps | 1 |",
        "| final loss | 2 |",
        "| best loss | 2 |",
        "| final val loss | 2.5 |",
        "| best val loss | 2.5 (step 1) |",
        "| MFU | 0.5 |",
    ]


def test_a_key_metric_of_the_lab_gets_its_row_from_the_latest_value(tmp_path):
    man = LabManifest(
        name="fake",
        title="T",
        summary="",
        module="m",
        key_metric="acc",
        settings=[],
        path=Path("x"),
        import_root=Path("."),
    )
    events = [("step", T0, {"step": 1, "acc": 0.5}), ("step", T0 + 1, {"step": 2, "acc": 0.75})]
    assert section(card_of(tmp_path, events, manifest=man), "Figures")[-1] == "| acc | 0.75 |"


def test_a_best_val_with_no_step_is_shown_bare(tmp_path):
    rows = section(card_of(tmp_path, [("eval", T0, {"val_loss": 2.5})]), "Figures")
    assert "| best val loss | 2.5 |" in rows and "| final val loss | 2.5 |" in rows


def test_list_and_dict_settings_are_shown_as_written(tmp_path):
    config = {"lab": "fake", "settings": {"layers": [1, 2], "opt": {"b": 1}}}
    text = card_of(tmp_path, [("start", T0, {})], config=config)
    assert "| layers | [1, 2] | – |\n| opt | {'b': 1} | – |\n" in text


def test_the_reference_lines_without_device_or_published_points(tmp_path):
    ref = Reference(
        name="r", title="Plain", lab="fake", metric="loss", source="here", points=({"step": 1, "loss": 2.0},)
    )
    text = card_of(tmp_path, [("step", T0, {"step": 1, "loss": 2.0})], reference=ref)
    assert "\nReference: Plain (device not stated); source: here.\n" in text
    assert "Published" not in text


def test_a_reference_curve_alone_draws_no_chart(tmp_path):
    text = card_of(tmp_path, [("start", T0, {})], reference=REFERENCE)
    assert "## Loss" not in text and "```" not in text


def test_the_chart_names_the_reference_curve_it_draws(tmp_path):
    ref = Reference(
        name="r",
        title="t",
        lab="fake",
        metric="figure",
        source="s",
        points=({"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.0}),
    )
    text = card_of(tmp_path, [("step", T0, {"step": 1, "loss": 2.5})], reference=ref)
    assert section(text, "Loss")[-2] == "     * loss   o reference loss"


def test_a_sample_without_text_is_an_empty_fence(tmp_path):
    text = card_of(tmp_path, [("sample", T0, {"step": 5})])
    assert text.endswith("## Samples\n\nStep 5:\n\n```\n\n```\n")


# -- run_figures, median, wall_time_s ----------------------------------------------------------------


def test_figures_of_an_empty_state_are_all_none():
    assert run_figures(RunState()) == dict.fromkeys(
        [
            "steps",
            "final_loss",
            "best_loss",
            "final_val_loss",
            "best_val_loss",
            "best_val_step",
            "tok_per_s_median",
            "mfu",
            "wall_time_s",
        ]
    )


def test_figures_fall_back_to_the_summary_speed_and_the_last_mfu():
    st = RunState()
    st.apply(
        [
            {"event": "start", "t": 100.0},
            {"event": "step", "t": 101.0, "step": 1, "loss": 2.0, "mfu": 0.42},
            {"event": "end", "t": 112.345, "status": "done", "summary": {"tok_per_s": 555}},
        ]
    )
    f = run_figures(st)
    assert f["tok_per_s_median"] == 555 and f["mfu"] == 0.42
    assert f["wall_time_s"] == 12.3


def test_figures_round_the_median_speed_to_one_decimal():
    st = RunState()
    st.apply(
        [
            {"event": "step", "t": 1.0, "step": s, "tok_per_s": v}
            for s, v in [(1, 123.44), (2, 123.47), (3, 900.0)]
        ]
    )
    assert run_figures(st)["tok_per_s_median"] == 123.5


def test_median():
    assert median([]) is None
    assert median([7.0]) == 7.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([5.0, 1.0, 4.0, 2.0, 3.0]) == 3.0
    assert median([10.0, 1.0, 30.0, 20.0, 50.0, 40.0]) == 25.0


def state_at(*events) -> RunState:
    st = RunState()
    st.apply(list(events))
    return st


def test_wall_time():
    assert wall_time_s(RunState()) is None
    assert wall_time_s(state_at({"event": "start", "t": None})) is None  # started at no known time
    started = state_at({"event": "start", "t": 10.0})
    assert wall_time_s(started) == 0.0  # its start is its latest event
    running = state_at({"event": "start", "t": 10.0}, {"event": "step", "t": 12.5, "step": 1})
    assert wall_time_s(running) == 2.5
    # ended: the end's time, not a later stray event's
    ended = state_at(
        {"event": "start", "t": 10.0},
        {"event": "end", "t": 13.0, "status": "done"},
        {"event": "log", "t": 99.0},
    )
    assert wall_time_s(ended) == 3.0
    # a clock that went back reads 0, never negative
    assert wall_time_s(state_at({"event": "start", "t": 10.0}, {"event": "step", "t": 4.0, "step": 1})) == 0.0


def test_a_start_without_time_has_no_wall_time():
    st = RunState()
    st.apply([{"event": "step", "t": 5.0, "step": 1}])
    assert st.started_t is None and wall_time_s(st) is None


# -- write_report and write_report_for ------------------------------------------------------------


def ended_run(root: Path, name="fake-20260101-000000-c0c0", status="done") -> RunWatch:
    events = [
        ("start", T0, {"device": "cpu", "config": {"flavour": "gpt", "steps": 20}}),
        ("step", T0 + 1, {"step": 1, "loss": 4.0}),
    ]
    if status:
        events.append(("end", T0 + 2, {"status": status, "summary": {}}))
    return watched(make_run(root, events, name=name))


@pytest.mark.parametrize("status", ["done", "stopped", "diverged"])
def test_a_finished_run_gets_its_card_written(tmp_path, fixed_version, status):
    w = ended_run(tmp_path, status=status)
    path = write_report(w, None, REFERENCE)
    assert path == w.run_dir / REPORT_FILE
    assert path.read_text() == run_report(w, None, REFERENCE)
    assert "Reference: Ref run" in path.read_text()


def test_a_failed_run_gets_its_card_written_with_the_manifest_title(tmp_path, fixed_version):
    w = watched(bare_run(tmp_path))
    path = write_report(w, MANIFEST, None)
    assert path.read_text() == run_report(w, MANIFEST, None)
    assert "Lab **fake** (Fake lab), status **failed**." in path.read_text()


def test_a_live_run_gets_no_card(tmp_path):
    w = ended_run(tmp_path, status=None)
    with held_lock(w.run_dir):
        w.poll()
        assert w.status == "running"
        assert write_report(w, None, None) is None
    assert not (w.run_dir / REPORT_FILE).exists()


def test_an_interrupted_run_gets_a_card_only_once_it_wrote_an_event(tmp_path):
    w = ended_run(tmp_path, status=None)
    assert w.status == "interrupted"
    assert write_report(w, None, None) == w.run_dir / REPORT_FILE
    empty = make_run(tmp_path, [], name="fake-20260101-000000-e0e0")
    w2 = watched(empty)
    assert w2.status == "interrupted" and w2.state.events_seen == 0
    assert write_report(w2, None, None) is None
    assert not (empty / REPORT_FILE).exists()


def test_a_card_already_there_is_kept_unless_replace(tmp_path, fixed_version):
    w = ended_run(tmp_path)
    path = w.run_dir / REPORT_FILE
    path.write_text("my notes")
    assert write_report(w, None, None) is None
    assert path.read_text() == "my notes"
    assert write_report(w, None, None, replace=True) == path
    assert path.read_text() == run_report(w, None, None)


def test_the_automatic_card_uses_the_lab_manifest_and_its_reference(lab_home, fixed_version):
    w = ended_run(lab_home / "runs")
    assert report_mod.report_parts(w)[0].title == "Fake lab (tests)"
    assert report_mod.report_parts(w)[1].name == "fake-20-steps"
    path = write_report_for(w)
    text = path.read_text()
    assert path == w.run_dir / REPORT_FILE
    assert "Lab **fake** (Fake lab (tests)), status **done**." in text
    assert "Reference: The fake lab, 20 steps (cpu)" in text


def test_the_automatic_card_of_a_read_only_folder_is_none(lab_home, monkeypatch):
    def read_only(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(report_mod, "write_atomic", read_only)  # (root can write anywhere)
    assert write_report_for(ended_run(lab_home / "runs")) is None


# -- RunWatch: status, polls, record -------------------------------------------------------------


class held_lock:
    """The run's flock, held as a live lab holds it."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def test_lock_held(tmp_path):
    assert lock_held(tmp_path) is False  # no lock file
    (tmp_path / LOCK_FILE).touch()
    assert lock_held(tmp_path) is False  # a lock file nobody holds
    with held_lock(tmp_path):
        assert lock_held(str(tmp_path)) is True
    assert lock_held(tmp_path) is False
    # asking let go of the lock again: a lab can take it right after
    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_derive_status():
    done = state_at({"event": "end", "status": "diverged"})
    assert derive_status(done, True, {"killed": True}) == "diverged"
    failed = state_at({"event": "error", "message": "boom"})
    assert derive_status(failed, True, {}) == "failed"
    assert derive_status(RunState(), True, {"killed": True}) == "running"
    assert derive_status(RunState(), False, {}) == "interrupted"
    assert derive_status(RunState(), False, {"killed": False}) == "interrupted"
    assert derive_status(RunState(), False, {"killed": True}) == "stopped"


def test_a_poll_reports_what_changed_once(tmp_path):
    d = make_run(tmp_path, [("start", T0, {}), ("step", T0 + 1, {"step": 1, "loss": 3.0})])
    w = RunWatch(d)
    assert (w.run_dir, w.run_id, w.status, w.stop_marker) == (d, d.name, "running", {})
    with held_lock(d):
        changes = w.poll()
        assert len(changes) == 1
        c = changes[0]
        assert c.run_id == d.name and c.status == "running" and c.previous_status == "running"
        assert [e["event"] for e in c.events] == ["start", "step"] and isinstance(c.events, tuple)
        assert c.reset is False and not c.status_changed
        assert w.poll() == [] and w.update() is False
        with open(d / "metrics.jsonl", "a") as f:
            f.write(event_line("step", {"step": 2, "loss": 2.0}, t=T0 + 2))
        assert w.update() is True and w.state.step == 2
    changes = w.poll()  # the lock let go: nothing new but the status
    assert [(c.events, c.status, c.previous_status, c.status_changed) for c in changes] == [
        ((), "interrupted", "running", True)
    ]
    assert w.poll() == []


def test_an_ended_run_is_final_without_asking_the_lock(tmp_path):
    d = make_run(tmp_path, [("start", T0, {}), ("end", T0 + 1, {"status": "done", "summary": {}})])
    w = RunWatch(d)
    with held_lock(d):  # a lock still held after the end event (the process exiting)
        [c] = w.poll()
    assert c.status == "done" and c.previous_status == "running" and w.status == "done"


def test_lines_written_just_before_the_process_exited_are_read(tmp_path, monkeypatch):
    d = make_run(tmp_path, [("start", T0, {}), ("step", T0 + 1, {"step": 1, "loss": 3.0})])

    def exits_after_writing(run_dir):
        with open(Path(run_dir) / "metrics.jsonl", "a") as f:
            f.write(event_line("end", {"status": "done", "summary": {"loss": 1.0}}, t=T0 + 2))
        return False

    monkeypatch.setattr(watch_mod, "lock_held", exits_after_writing)
    w = RunWatch(d)
    [c] = w.poll()
    assert [e["event"] for e in c.events] == ["start", "step", "end"]
    assert c.status == w.status == "done" and c.reset is False


def test_a_metrics_file_replaced_as_the_process_exited_rebuilds_the_state(tmp_path, monkeypatch):
    d = make_run(tmp_path, [("start", T0, {}), ("step", T0 + 1, {"step": 1, "loss": 3.0})])
    w = RunWatch(d)
    with held_lock(d):
        w.poll()
    assert w.state.step == 1

    def replaced(run_dir):
        new = Path(run_dir) / "new.jsonl"
        new.write_text(event_line("step", {"step": 9, "loss": 1.0}, t=T0 + 9))
        os.replace(new, Path(run_dir) / "metrics.jsonl")
        return False

    monkeypatch.setattr(watch_mod, "lock_held", replaced)
    [c] = w.poll()
    assert c.reset is True and w.state.step == 9 and w.state.started_t is None
    assert [e["step"] for e in c.events] == [9]
    assert w.state.config["lab"] == "fake"  # the rebuilt state still has config.json


def test_a_metrics_file_replaced_between_polls_rebuilds_the_state(tmp_path):
    d = make_run(
        tmp_path, [("step", T0, {"step": 1, "loss": 3.0}), ("step", T0 + 1, {"step": 2, "loss": 2.0})]
    )
    w = RunWatch(d)
    with held_lock(d):
        w.poll()
        new = d / "new.jsonl"
        new.write_text(event_line("step", {"step": 1, "loss": 3.0}, t=T0))
        os.replace(new, d / "metrics.jsonl")
        [c] = w.poll()
    assert c.reset is True and w.state.step == 1 and w.state.config["lab"] == "fake"
    assert len(w.state.loss) == 1


def test_a_reset_with_nothing_new_is_still_a_change(tmp_path):
    d = make_run(tmp_path, [("step", T0, {"step": 1, "loss": 3.0})])
    w = RunWatch(d)
    with held_lock(d):
        w.poll()
        new = d / "new.jsonl"
        new.write_text("")
        os.replace(new, d / "metrics.jsonl")
        [c] = w.poll()
    assert c.reset is True and c.events == () and w.state.step is None


def test_the_config_the_lab_rewrote_at_start_is_read_with_the_first_lines(tmp_path):
    d = make_run(tmp_path, [], {"lab": "fake", "settings": {"steps": 3}})
    w = RunWatch(d)
    assert w.state.config == {"lab": "fake", "settings": {"steps": 3}}
    (d / "config.json").write_text(
        json.dumps({"lab": "fake", "settings": {"steps": 3}, "resolved": {"preset": "from-config"}})
    )
    with held_lock(d):
        assert w.poll() == []  # no line yet: the config is not read again
        assert "resolved" not in w.state.config
        with open(d / "metrics.jsonl", "a") as f:
            f.write(event_line("start", {"config": {"preset": "from-event"}}, t=T0))
        w.poll()
    assert w.state.resolved == {"preset": "from-config"}
    # once resolved is known, a later rewrite of config.json is not read
    (d / "config.json").write_text(json.dumps({"lab": "other", "resolved": {"preset": "later"}}))
    with open(d / "metrics.jsonl", "a") as f:
        f.write(event_line("step", {"step": 1}, t=T0 + 1))
    w.poll()
    assert w.state.resolved == {"preset": "from-config"} and w.lab == "fake"


def test_the_watch_reads_its_folder_given_as_a_string_with_small_chunks(tmp_path):
    d = make_run(tmp_path, [("step", T0 + s, {"step": s, "loss": 1.0}) for s in range(1, 6)])
    w = RunWatch(str(d), chunk_bytes=16)
    assert w.run_dir == d and w.tail.chunk_bytes == 16
    w.poll()
    assert w.state.step == 5 and w.state.config["lab"] == "fake"


def test_a_killed_run_is_stopped_with_its_note_and_kill_time(tmp_path):
    d = make_run(tmp_path, [("start", T0, {}), ("step", T0 + 1, {"step": 1, "loss": 3.0})])
    (d / STOP_FILE).write_text(json.dumps({"killed": True, "killed_at": T0 + 30}))
    w = watched(d)
    assert w.status == "stopped" and w.stop_marker["killed"] is True
    rec = w.record()
    assert rec["summary"] == {"note": "killed after the stop grace period"}
    assert rec["ended_at"] == "2026-01-01T00:00:30+00:00"
    (d / STOP_FILE).write_text(json.dumps({"killed": True, "note": "hung in I/O"}))
    w = watched(d)
    assert w.record()["summary"] == {"note": "hung in I/O"}
    assert w.ended_at() == "2026-01-01T00:00:01+00:00"  # no kill time: its last event's


def test_a_stop_marker_without_a_kill_leaves_it_interrupted(tmp_path):
    d = make_run(tmp_path, [("step", T0, {"step": 1})])
    (d / STOP_FILE).write_text(json.dumps({"asked_at": T0}))
    w = watched(d)
    assert w.status == "interrupted" and w.record()["summary"] is None


def test_a_stopped_run_that_said_so_gets_no_kill_note(tmp_path):
    d = make_run(tmp_path, [("end", T0, {"status": "stopped", "summary": {"steps": 1}})])
    (d / STOP_FILE).write_text(json.dumps({"killed": True, "note": "x"}))
    assert watched(d).record()["summary"] == {"steps": 1}


def test_the_record_of_a_finished_run(tmp_path):
    d = make_run(
        tmp_path,
        [
            ("start", T0, {"pid": 4242}),
            ("step", T0 + 1, {"step": 1, "loss": 3.0}),
            ("end", T0 + 2, {"status": "diverged", "summary": {"steps": 1}, "reason": "loss is nan"}),
        ],
        {"lab": "fake", "created": "2026-01-01T02:00:00+02:00", "settings": {"steps": 1}},
    )
    assert watched(d).record() == {
        "id": d.name,
        "lab": "fake",
        "status": "diverged",
        "created_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T00:00:02+00:00",
        "dir": str(d),
        "pid": 4242,
        "settings": {"steps": 1},
        "summary": {"steps": 1, "reason": "loss is nan"},
        "last": {"step": 1, "loss": 3.0},
    }


def test_the_record_of_a_failed_run_without_settings(tmp_path):
    d = make_run(tmp_path, [("error", T0, {"message": "boom"})], {"lab": "fake"})
    rec = watched(d).record()
    assert rec["status"] == "failed" and rec["summary"] == {"error": "boom"}
    assert rec["settings"] == {} and rec["last"] is None and rec["pid"] is None
    assert rec["ended_at"] == "2026-01-01T00:00:00+00:00"


def test_created_at_falls_back_to_the_config_file_time_then_now(tmp_path):
    d = make_run(tmp_path, [], {"lab": "fake", "created": "not a date"})
    os.utime(d / "config.json", (T0 + 5, T0 + 5))
    w = RunWatch(d)
    assert w.created_at() == "2026-01-01T00:00:05+00:00"
    (d / "config.json").unlink()
    before = time.time()
    got = RunWatch(d).created_at()
    import datetime as dt

    t = dt.datetime.fromisoformat(got)
    assert t.utcoffset() == dt.timedelta(0) and before - 1 <= t.timestamp() <= time.time() + 1


def test_created_at_from_the_config_in_utc(tmp_path):
    d = make_run(tmp_path, [], {"lab": "fake", "created": "2026-03-01T12:30:45.678+01:00"})
    assert RunWatch(d).created_at() == "2026-03-01T11:30:45+00:00"


def test_ended_at(tmp_path):
    d = make_run(tmp_path, [("start", T0, {})])
    w = RunWatch(d)
    w.state.ended_t = T0 + 9
    assert w.ended_at() is None  # running
    w.status = "interrupted"
    assert w.ended_at() == "2026-01-01T00:00:09+00:00"
    w.state.ended_t = None
    w.stop_marker = {"killed_at": T0 + 8}
    assert w.ended_at() == "2026-01-01T00:00:08+00:00"
    w.stop_marker = {}
    assert w.ended_at() is None  # no event read yet
    w.poll()
    assert w.ended_at() == "2026-01-01T00:00:00+00:00"


def test_the_lab_is_the_config_s_else_the_run_id_s(tmp_path):
    assert RunWatch(make_run(tmp_path, [], {}, name="gpt-20260101-000000-aaaa")).lab == "gpt"
    assert RunWatch(make_run(tmp_path, [], {}, name="odd")).lab == "odd"


def test_stalled(tmp_path):
    d = make_run(tmp_path, [("step", T0, {"step": 1})])
    w = RunWatch(d)
    os.utime(d / "metrics.jsonl", (1_000_000_000, 1_000_000_000))
    assert w.status == "running"
    assert w.stalled(now=1_000_000_000 + 300) is False  # exactly the limit: not yet
    assert w.stalled(now=1_000_000_000 + 301) is True
    (d / "metrics.jsonl").unlink()
    os.utime(d / "config.json", (1_000_000_000, 1_000_000_000))
    assert w.stalled(now=1_000_000_000 + 301) is True  # judged by config.json's time
    assert w.stalled(now=1_000_000_000 + 100) is False
    (d / "config.json").unlink()
    assert w.stalled(now=2_000_000_000) is False  # nothing to judge by
    w.status = "interrupted"
    assert w.stalled(now=2_000_000_000) is False


def test_stalled_for_a_live_run_judged_now(tmp_path):
    d = make_run(tmp_path, [("step", T0, {"step": 1})])
    w = RunWatch(d)
    assert w.stalled() is False
    old = time.time() - 3600
    os.utime(d / "metrics.jsonl", (old, old))
    assert w.stalled() is True
    w.status = "done"
    assert w.stalled() is False


# -- children and manifests ----------------------------------------------------------------------


class FakeProc:
    def __init__(self, code):
        self.code = code

    def poll(self):
        return self.code


def test_reap_children_keeps_only_the_live_ones(monkeypatch):
    monkeypatch.setattr(children, "_children", [])
    live, dead = FakeProc(None), FakeProc(0)
    children.track_child(live)
    children.track_child(dead)
    assert children._children == [live, dead]
    children.reap_children()
    assert children._children == [live]
    live.code = -9
    children.reap_children()
    assert children._children == []


def test_the_manifest_face(lab_home, tmp_path):
    manifests = manifest_mod.load_manifests()
    assert manifests["fake"].title == "Fake lab (tests)"
    assert "fake" in manifest_mod.lab_names() and all(isinstance(n, str) for n in manifest_mod.lab_names())
    assert manifest_mod.get_manifest("fake").name == "fake"
    assert manifest_mod.get_manifest("mine", {"mine": MANIFEST}) is MANIFEST
    with pytest.raises(manifest_mod.SettingError, match="no lab named 'fake'"):
        manifest_mod.get_manifest("fake", {"mine": MANIFEST})
    fake = manifests["fake"]
    assert manifest_mod.parse_settings(fake, ["steps=3", "note=hi"]) == {"steps": 3, "note": "hi"}
    runs = tmp_path / "elsewhere"
    make_run(runs, [], name="fake-20260101-000000-abcd")
    assert manifest_mod.parse_settings(fake, ["resume=fake-20260101"], runs_dir=runs) == {
        "resume": "fake-20260101-000000-abcd"
    }
    with pytest.raises(manifest_mod.SettingError):
        manifest_mod.parse_settings(fake, ["resume=fake-20260101"])  # not in the home's runs


def test_a_run_with_no_start_or_end_shows_dashes_for_their_times(tmp_path):
    text = card_of(tmp_path, [("step", T0, {"step": 1, "loss": 2.0})])
    assert "| started | – |\n| ended | – |\n| wall time | – |\n" in text


@pytest.mark.parametrize("presets", [None, ["small"], "small"])
def test_presets_that_are_not_a_table_give_the_lab_defaults(presets):
    man = LabManifest(
        name="fake",
        title="T",
        summary="",
        module="m",
        key_metric=None,
        settings=[{"name": "steps", "default": 10}],
        path=Path("x"),
        import_root=Path("."),
        raw={"presets": presets},
    )
    assert report_mod.settings_rows({"steps": 4}, man, {"preset": "small"}) == [["steps", 4, 10]]


@pytest.mark.parametrize("preset", [["small"], {"name": "small"}, None, 3])
def test_a_preset_that_is_not_a_name_gives_the_lab_defaults(preset):
    assert report_mod.settings_rows({"steps": 4}, MANIFEST, {"preset": preset}) == [["steps", 4, 10]]
    assert report_mod.settings_rows({"steps": 4}, MANIFEST, {"preset": "small"}) == [["steps", 4, 8]]
    assert report_mod.settings_rows({"steps": 4}, None, {"preset": "small"}) == [["steps", 4, None]]


LADDER = (
    "table",
    T0,
    {
        "name": "ladder",
        "columns": ["rung", "tok/s", "vs fp32"],
        "rows": [["fp32", 100, 1.0], ["fp8", 500, 5.0]],
    },
)


def test_a_ladder_without_a_reference_has_no_seed_notes_column_values(tmp_path):
    text = card_of(tmp_path, [LADDER])
    assert "| fp32 | 100 | 1 | – | – |\n| fp8 | 500 | 5 | – | – |\n" in text


def test_a_rung_the_seed_notes_lack_has_no_ratio(tmp_path):
    text = card_of(tmp_path, [LADDER], reference=REFERENCE)
    assert "| fp32 | 100 | 1 | 1 | 1 |\n| fp8 | 500 | 5 | – | – |\n" in text


@pytest.fixture
def tokyo_clock(local_zone):
    """Local time nine hours ahead of UTC, so a time left in local time shows."""
    local_zone("JST-9")


def test_times_are_in_utc_whatever_the_local_zone(tmp_path, tokyo_clock):
    d = make_run(
        tmp_path,
        [("start", T0, {}), ("end", T0 + 2, {"status": "done"})],
        {"lab": "fake", "created": "2026-01-01T09:00:00+09:00"},
    )
    w = watched(d)
    assert w.created_at() == "2026-01-01T00:00:00+00:00"
    assert w.ended_at() == "2026-01-01T00:00:02+00:00"
    assert "| started | 2026-01-01T00:00:00+00:00 |" in run_report(w, None, None)


def test_a_kill_note_is_dropped_once_the_run_s_own_end_is_read(tmp_path):
    d = make_run(tmp_path, [("step", T0, {"step": 1})])
    (d / STOP_FILE).write_text(json.dumps({"killed": True}))
    w = watched(d)
    assert w.status == "stopped" and w.record()["summary"] == {"note": "killed after the stop grace period"}
    with open(d / "metrics.jsonl", "a") as f:  # its last line, flushed late
        f.write(event_line("end", {"status": "done", "summary": {"steps": 1}}, t=T0 + 1))
    w.poll()
    assert w.status == "done" and w.record()["summary"] == {"steps": 1}
