"""The learner's first hour in the app, at 80x24 (issue 12 parts 3-4, issue 15's TUI side):
the settings form, no dead ends on the desk and in the curriculum, runs that teach (the
published figure, the verdict, the reference curve), runs that say when they end.

Pilot tests on the fake lab or on run folders written by hand: no torch, no fixed sleeps.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from test_tui_fixtures import TODAY, home, make_session, sample_curriculum, screen_text, sync, until  # noqa: F401
from test_tui_labs import Harness, fake_run
from textual.widgets import Button, Collapsible, Input, Select

from labs.protocol import event_line
from studytui.curriculum.model import Curriculum
from studytui.runs import get_manifest
from studytui.session import Session
from studytui.tui.app import build_app
from studytui.tui.format import distinct_titles
from studytui.tui.run_endings import RunEndings
from studytui.tui.screens.labs import LabsScreen
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.ui_settings import UiSettings
from studytui.tui.widgets.desk_notice import DeskNotice
from studytui.tui.widgets.run_charts import LossChart, whole_step_ticks
from studytui.tui.widgets.settings_form import placeholder_for, preset_values, primary_names

SIZE = (80, 24)
REFERENCE = {
    "val_loss": 1.88,
    "source": "nanoGPT README: the baby GPT on a laptop CPU",
    "preset": "shakespeare-char",
    "differs": [],
}


def desk_app(session, **kw):
    return build_app(session, today=lambda: TODAY, poll_s=None, **kw)


async def labs_screen(pilot, app) -> LabsScreen:
    await pilot.press("l")
    await until(pilot, lambda: isinstance(app.screen, LabsScreen) and app.screen.manifests)
    return app.screen


async def run_view(pilot, app, run_id: str) -> RunScreen:
    (await labs_screen(pilot, app)).open_run(run_id)
    await until(pilot, lambda: isinstance(app.screen, RunScreen))
    return app.screen


def write_run(
    runs_dir: Path,
    run_id: str,
    *,
    lab: str = "gpt",
    resolved: dict | None = None,
    evals: tuple = (),
    end: str | None = "done",
    mode: str = "train",
) -> Path:
    """A finished run folder as a lab leaves it (no lock held: nobody is running it)."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"lab": lab, "run_id": run_id, "settings": {}}))
    config = {
        "mode": mode,
        "preset": "shakespeare-char",
        "prompt": "ROMEO:\n",
        "reference": REFERENCE,
        **(resolved or {}),
    }
    t = time.time() - 100
    lines = [event_line("start", {"config": config, "device": "cpu", "total": 2000}, t=t)]
    for step, loss, val in evals:
        lines.append(event_line("step", {"step": step, "loss": loss}, t=t + step / 100))
        lines.append(event_line("eval", {"step": step, "val_loss": val}, t=t + step / 100))
    if mode == "sample":
        lines.append(
            event_line("sample", {"step": 0, "prompt": "ROMEO:\n", "text": "ROMEO:\nwherefore"}, t=t + 1)
        )
    if end:
        best = min((v for _, _, v in evals), default=None)
        lines.append(event_line("end", {"status": end, "summary": {"best_val_loss": best}}, t=t + 30))
    (run_dir / "metrics.jsonl").write_text("".join(lines))
    return run_dir


# -- the settings form (12.3) -------------------------------------------------------------------


def test_primary_settings_come_from_the_manifest_or_a_rule(lab_home):
    gpt = get_manifest("gpt")
    assert primary_names(gpt) == ["mode", "preset", "data", "max_iters", "device"]
    listed = dataclasses.replace(gpt, raw={**gpt.raw, "primary": ["max_iters", "seed"]})
    assert primary_names(listed) == ["max_iters", "seed"]  # the manifest's order
    fake = get_manifest("fake")  # only steps and data match the rule: topped up to four
    assert primary_names(fake) == ["steps", "delay", "fail_at", "data"]


def test_placeholders_are_the_chosen_presets_values():
    gpt = get_manifest("gpt")
    spec = {s["name"]: s for s in gpt.settings}
    name, values = preset_values(gpt, "auto")  # auto: the CPU preset
    assert name == "shakespeare-char"
    assert placeholder_for(spec["max_iters"], name, values) == "2000 (shakespeare-char)"
    name, values = preset_values(gpt, "tiny")
    assert placeholder_for(spec["tokenizer"], name, values) == "gpt2 (tiny)"
    assert placeholder_for(spec["top_p"], name, values).startswith("none")
    assert placeholder_for(spec["seed"], name, values) == "1337"


@sync
async def test_settings_form_fits_80x24_with_advanced_folded_and_a_filter(lab_home):
    app = desk_app(make_session(lab_home))
    async with app.run_test(size=SIZE) as pilot:
        screen = await labs_screen(pilot, app)
        screen._pick_lab(type("Pick", (), {"lab": "gpt"})())
        await until(pilot, lambda: screen.query("#set-max_iters"))
        await pilot.pause()
        text = screen_text(app)
        for name in ("mode", "preset", "data", "max_iters", "device", "advanced ("):
            assert name in text, name
        assert "learning_rate" not in text  # folded away
        assert screen.query_one("#set-max_iters", Input).placeholder == "2000 (shakespeare-char)"
        # Another preset: the placeholders follow it.
        screen.query_one("#set-preset", Select).value = "tiny"
        await until(pilot, lambda: screen.query_one("#set-tokenizer", Input).placeholder == "gpt2 (tiny)")
        # Typing a name finds a setting under "advanced" and hides the others.
        screen.query_one("#settings-filter", Input).focus()
        await pilot.press(*"learning")
        await until(pilot, lambda: not screen.query_one("#row-mode").display)
        assert screen.query_one("#settings-advanced", Collapsible).collapsed is False
        await pilot.pause()
        assert "learning_rate" in screen_text(app)
        screen.query_one("#set-learning_rate", Input).focus()
        await pilot.press(*"3e-4")
        assert screen.form_pairs() == ["preset=tiny", "learning_rate=3e-4"]
        assert "learning_rate (float): peak" in screen_text(app)  # the focused setting's help


@sync
async def test_runs_table_says_stalled(sess):
    app = Harness(LabsScreen(sess))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.manifests)
        row = {
            "id": "fake-1",
            "lab": "fake",
            "status": "running",
            "stalled": True,
            "created_at": None,
            "last": {},
            "summary": {},
        }
        cells = screen._row_cells(row)
        assert str(cells[0]) == "stalled?"
        assert str(screen._row_cells(dict(row, stalled=False))[0]) == "running"


# -- runs that teach (15) ----------------------------------------------------------------------------


@sync
async def test_run_view_names_the_published_figure_and_shows_the_verdict_and_the_reference(lab_home):
    run_id = "gpt-20261129-120000-aaaa"
    session = make_session(lab_home)
    write_run(session.runs_dir, run_id, evals=((250, 2.6, 2.52), (1000, 2.1, 2.07), (2000, 1.85, 1.89)))
    app = desk_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await run_view(pilot, app, run_id)
        await until(pilot, lambda: "beside the published" in screen_text(app))
        text = screen_text(app)
        assert "reproduces" in text and "nanoGPT README" in text
        assert "your best val 1.89 beside the published 1.88" in text
        chart = app.screen.query_one(LossChart)
        legend, xs, ys = chart._reference
        assert legend == "reference val" and xs and max(xs) <= 2000
        assert "on track" in text and "published: 1.88" in text


@sync
async def test_verdict_line_is_live_while_running(lab_home):
    run_id = "gpt-20261129-120000-bbbb"
    session = make_session(lab_home)
    write_run(session.runs_dir, run_id, evals=((600, 2.3, 2.25),), end=None)
    app = desk_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await run_view(pilot, app, run_id)
        await until(pilot, lambda: "verdict" in screen_text(app))
        verdict_line = next(line for line in screen_text(app).splitlines() if "verdict" in line)
        assert "step 600" in verdict_line and "on track" in verdict_line
        assert "beside the published" not in screen_text(app)  # only at the end


@sync
async def test_sample_mode_shows_its_prompt(sess):
    run_id = "gpt-20261129-120000-cccc"
    write_run(sess.runs_dir, run_id, mode="sample")
    app = Harness(RunScreen(sess, run_id))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "prompt: ROMEO:\\n" in screen_text(app))


def test_chart_ticks_are_whole_steps():
    assert whole_step_ticks(0, 7) == [0, 2, 4, 6]
    assert whole_step_ticks(0, 2000) == [0, 500, 1000, 1500, 2000]
    assert whole_step_ticks(0, 1.5) == [0, 1, 2]
    assert all(isinstance(t, int) for t in whole_step_ticks(3, 97))


# -- runs that say when they end (15.4) -----------------------------------------------------------


def test_endings_first_read_lists_unseen_then_follows_changes():
    endings = RunEndings(seen={"a"})
    just, unseen = endings.read(
        [
            {"id": "a", "status": "done"},
            {"id": "b", "status": "failed"},
            {"id": "c", "status": "running"},
            {"id": "d", "status": "stopped"},
        ]
    )
    assert just == [] and [e.run_id for e in unseen] == ["b"]
    just, unseen = endings.read([{"id": "c", "status": "diverged"}, {"id": "e", "status": "running"}])
    assert [(e.run_id, e.status, e.bad) for e in just] == [("c", "diverged", True)] and unseen == []
    first = RunEndings(seen=None)  # no record yet: the past is not news
    assert first.read([{"id": "a", "status": "done"}]) == ([], [])


@sync
async def test_a_run_that_ends_notifies_with_the_bell_and_is_then_seen(lab_home):
    session = Session(home=lab_home)
    UiSettings(lab_home).mark_seen([])  # a home the app has opened before
    app = desk_app(session)
    bells, messages = [], []
    app.bell = lambda: bells.append(1)
    real_notify = app.notify
    app.notify = lambda message, **kw: (messages.append(message), real_notify(message, **kw))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.run_monitor.rows is not None, timeout=10)
        run_id = fake_run(session, "steps=3", "delay=0.05")
        await until(pilot, lambda: bells, timeout=15)
        assert any(run_id in m and "done" in m for m in messages), messages
    assert run_id in UiSettings(lab_home).seen_runs()


@sync
async def test_runs_ended_while_away_are_listed_on_the_desk_once(lab_home):
    session = Session(home=lab_home)
    UiSettings(lab_home).mark_seen([])
    for n in range(7):
        write_run(session.runs_dir, f"gpt-20261129-12000{n}-dddd", evals=((2000, 1.85, 1.89),))
    app = desk_app(session)
    async with app.run_test(size=SIZE) as pilot:
        # The heading may paint a frame before the lines under it: wait for the whole list.
        def listed() -> bool:
            text = screen_text(app)
            return (
                "Ended while you were away" in text and text.count("-dddd: done") == 3 and "+4 more" in text
            )

        await until(pilot, listed, timeout=10)
        assert screen_text(app).count("-dddd: done") == 3
    app = desk_app(Session(home=lab_home))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.run_monitor.rows is not None, timeout=10)
        await pilot.pause()
        assert "Ended while you were away" not in screen_text(app)


# -- the desk and the curriculum: no dead ends (12.4) -----------------------------------------------


@sync
async def test_welcome_until_the_first_mark_and_hours_left_unknown(home):
    cur = sample_curriculum()
    # A course whose items have no length: its hours left are unknown, never "0m".
    gpu = cur.courses[1]
    items = tuple(dataclasses.replace(i, duration_s=None) for i in gpu.sections[0].items)
    gpu = dataclasses.replace(gpu, sections=(dataclasses.replace(gpu.sections[0], items=items),))
    session = make_session(home, Curriculum.build([cur.courses[0], gpu], list(cur.terms)))
    app = desk_app(session, watch_runs=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Welcome" in screen_text(app))
        text = screen_text(app)
        ladder = next(line for line in text.splitlines() if "speed-up ladder" in line)
        assert ladder.rstrip().endswith("unknown")
        assert "all courses" in text
        session.store.set_status("llm/intro", "done", source="test")
        app.refresh_state()
        await until(pilot, lambda: not app.screen.query_one(DeskNotice).display)
        assert "Welcome" not in screen_text(app)


@sync
async def test_theme_persists_across_launches(home):
    app = desk_app(make_session(home), watch_runs=False)
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "nord"
        await until(pilot, lambda: UiSettings(home).get("theme") == "nord")
    app = desk_app(make_session(home), watch_runs=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "nord"


def test_sibling_titles_keep_their_distinguishing_tail():
    assert distinct_titles(
        ["Building makemore Part 2: MLP", "Building makemore Part 5: Building a WaveNet", "Let's build GPT"]
    ) == ["…Part 2: MLP", "…Part 5: Building a WaveNet", "Let's build GPT"]
    assert distinct_titles(["Let's build GPT", "Let's build the GPT Tokenizer"], "...") == [
        "Let's build GPT",
        "Let's build the GPT Tokenizer",
    ]  # a short shared prefix stays


@sync
async def test_item_with_an_inherited_lab_shows_run_the_lab_and_L_opens_it(home, monkeypatch):
    cur = sample_curriculum()
    videos = cur.courses[0].sections[0]
    playlist = videos.items[1]
    kids = tuple(
        dataclasses.replace(
            k, title=f"Building makemore Part {n}: a long title", lab="fake", lab_inherited=True
        )
        for n, k in enumerate(playlist.children, 2)
    )
    playlist = dataclasses.replace(playlist, lab="fake", children=kids)
    videos = dataclasses.replace(videos, items=(videos.items[0], playlist, videos.items[2]))
    course = dataclasses.replace(cur.courses[0], sections=(videos, cur.courses[0].sections[1]))
    session = make_session(home, Curriculum.build([course, cur.courses[1]], list(cur.terms)))
    app = desk_app(session, watch_runs=False)
    opened = []
    monkeypatch.setattr(type(app), "action_labs", lambda self, lab=None: opened.append(lab))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: app.state is not None and app.screen.query("#run-lab"))
        app.screen.focus_key("llm/zth-2")
        button = app.screen.query_one("#run-lab", Button)
        await until(pilot, lambda: button.display and "fake" in str(button.label))
        await pilot.pause()
        text = screen_text(app)
        assert "Run the lab: fake" in text and "L Run the lab" in text
        assert "…Part 2: a long title" in text and "…Part 3: a long title" in text  # told apart at 80 columns
        await pilot.press("L")
        await until(pilot, lambda: opened == ["fake"])


def test_lab_list_name_shows_one_lab(lab_home):
    from typer.testing import CliRunner

    from studytui.cli.lab import lab_app

    one = CliRunner().invoke(lab_app, ["list", "fake", "--json"])
    assert one.exit_code == 0 and [m["name"] for m in json.loads(one.output)] == ["fake"]
    shown = CliRunner().invoke(lab_app, ["list", "fake"], env={"COLUMNS": "120"})
    assert "steps" in shown.output and "GPT training" not in shown.output
    missing = CliRunner().invoke(lab_app, ["list", "nope"])
    assert missing.exit_code == 1 and "no lab named 'nope'" in missing.output


@sync
async def test_a_hostile_resolved_config_does_not_break_the_run_view(lab_home):
    session = make_session(lab_home)
    write_run(
        session.runs_dir,
        "gpt-20261129-120000-eeee",
        evals=((10, 2.5, 2.4),),
        resolved={"reference": {"val_loss": 1.0, "source": "\x1b[31mred\x1b]8;;x\x07", "differs": 5}},
    )
    listed = write_run(session.runs_dir, "gpt-20261129-120000-ffff", evals=((10, 2.5, 2.4),))
    (listed / "config.json").write_text(json.dumps({"lab": "gpt", "resolved": ["not", "a dict"]}))
    app = desk_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await run_view(pilot, app, "gpt-20261129-120000-eeee")
        await until(pilot, lambda: "reproduces" in screen_text(app))
        assert "\x1b" not in screen_text(app) and "red" in screen_text(app)
        app.pop_screen()
        await run_view(pilot, app, "gpt-20261129-120000-ffff")
        await until(pilot, lambda: "gpt-20261129-120000-ffff" in screen_text(app))
        await pilot.pause()
        assert "reproduces" not in screen_text(app)
