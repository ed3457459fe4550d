"""The desk under stress: any terminal size, screen switches while a lab writes events, a
damaged database, a crash, a failing worker. Pilot tests on the fake lab (no torch)."""

from __future__ import annotations

import sqlite3

import pytest
from test_tui_fixtures import TODAY, make_session, screen_text, seed_history, sync, until
from textual.widgets import DataTable

from studytui.runs import get_manifest, parse_settings, start_run
from studytui.tui.app import MIN_SIZE, build_app
from studytui.tui.screens.damaged import DamagedDatabaseScreen
from studytui.tui.screens.desk import DeskScreen
from studytui.tui.screens.help import HelpScreen
from studytui.tui.screens.labs import LabsScreen
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.screens.too_small import TooSmallScreen
from studytui.tui.widgets.status_bar import StatusBar

ROUNDS = 2


def desk(session, **kw):
    kw.setdefault("today", lambda: TODAY)
    kw.setdefault("poll_s", None)
    kw.setdefault("watch_runs", False)
    return build_app(session, **kw)


@pytest.fixture
def lab_session(lab_home):
    s = make_session(lab_home)
    seed_history(s)
    return s


def fake_run(s, *pairs: str) -> str:
    m = get_manifest("fake")
    return start_run(s, m, parse_settings(m, list(pairs)))


@pytest.mark.parametrize(
    "size", [(30, 10), (MIN_SIZE[0], MIN_SIZE[1]), (60, 15), (200, 12)], ids=lambda s: f"{s[0]}x{s[1]}"
)
@sync
async def test_any_terminal_size_works(lab_session, size):
    app = desk(lab_session)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.loaded)
        for key in "cgrld":
            await pilot.press(key)
            await pilot.pause()
        small = size[0] < MIN_SIZE[0] or size[1] < MIN_SIZE[1]
        assert isinstance(app.screen, TooSmallScreen) == small
        if small:
            assert "Make the window larger" in screen_text(app)
            await pilot.resize_terminal(100, 30)
            await until(pilot, lambda: isinstance(app.screen, DeskScreen))
        await pilot.press("q")
    assert app.return_code == 0


@sync
async def test_d_reaches_the_desk_from_every_labs_screen_and_l_comes_back(lab_session):
    run_id = fake_run(lab_session, "steps=3", "delay=0")
    app = desk(lab_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LabsScreen))
        assert app.screen.query(StatusBar), "the tab bar is on the labs screen"
        await pilot.press("d")
        assert isinstance(app.screen, DeskScreen)
        await pilot.press("l")
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 1 and str(table.get_cell(run_id, "status")) == "done")
        await pilot.pause()
        assert " done " in screen_text(app), "the status column shows at 80 columns"
        await pilot.press("ctrl+o", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.run_id == run_id and app.screen.query(StatusBar)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Run view (this screen)" in screen_text(app)
        await pilot.press("escape", "d")
        assert isinstance(app.screen, DeskScreen)
        await pilot.press("l")
        assert isinstance(app.screen, RunScreen), "l comes back to the run left open"
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Labs (this screen)" in screen_text(app)


@pytest.mark.slow
@sync
async def test_switching_screens_while_a_lab_writes_events_never_crashes(lab_session):
    steps = 120
    run_id = fake_run(lab_session, f"steps={steps}", "delay=0.01")
    app = desk(lab_session, poll_s=0.1, watch_runs=True)
    app.run_monitor.tick_s = 0.1
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("ctrl+o", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        view = app.screen
        for _ in range(ROUNDS):
            # As typed: each key handled before the next (the reported crash: l, enter, g).
            for key in ("g", "r", "c", "d", "l", "g", "l", "question_mark", "escape", "r", "l"):
                await pilot.press(key)
            # Faster than anyone types: a burst of switches before any new screen is composed.
            for mode in ("glossary", "reading", "curriculum", "desk", "glossary", "reading"):
                app.action_switch_mode(mode)
            app.action_labs()
            await pilot.pause()
        await until(pilot, lambda: view.watch.status == "done", timeout=20)
        await pilot.press("l")
        await until(pilot, lambda: app.screen is view)
        # Every event applied once: one loss point per step, the final step the last one.
        xs, _ = view.watch.state.loss.xy()
        assert xs == list(range(1, steps + 1))
        assert app._exception is None
    assert app.return_code in (None, 0)
    assert lab_session.store.runs()[0]["id"] == run_id


@sync
async def test_a_damaged_database_is_a_clear_screen_and_exit_2(lab_session):
    lab_session.store.conn.execute("DROP TABLE progress")
    app = desk(lab_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DamagedDatabaseScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "cannot be used" in text and "progress" in text and "studytui restore" in text
        await pilot.press("d", "c", "l")
        assert isinstance(app.screen, DamagedDatabaseScreen)
        await pilot.press("q")
    assert app.return_code == 2


@sync
async def test_a_crash_exits_non_zero_with_its_traceback_in_a_log(lab_session):
    app = desk(lab_session)

    def boom():
        raise RuntimeError("a bug we did not foresee")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.loaded)
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == 1
    logs = list((lab_session.home / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and "a bug we did not foresee" in logs[0].read_text()
    assert app.crash_log == logs[0]


@sync
async def test_a_failing_worker_says_so(lab_session):
    app = desk(lab_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)

        def fails():
            raise sqlite3.OperationalError("disk I/O error")

        app.run_worker(fails, thread=True, exit_on_error=False, name="reading the runs folder")
        await until(
            pilot, lambda: any("reading the runs folder failed" in str(n.message) for n in app._notifications)
        )
        assert app.return_code is None


def write_finished_run(home, run_id: str, lab: str, tables: dict) -> None:
    """A canned finished run whose only news is its result tables."""
    import json

    run = home / "runs" / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"lab": lab, "run_id": run_id, "settings": {}}))
    t = 1741944600.0
    events = [
        {"event": "start", "t": t, "pid": 1, "device": "cpu", "total": 1},
        {"event": "step", "t": t + 1, "step": 1, "loss": 3.0},
    ]
    events += [
        {"event": "table", "t": t + 2, "name": name, "columns": cols, "rows": rows}
        for name, (cols, rows) in tables.items()
    ]
    events.append({"event": "end", "t": t + 3, "status": "done"})
    (run / "metrics.jsonl").write_text("".join(json.dumps({"v": 1, **e}) + "\n" for e in events))


LADDER = (
    ["rung", "tok/s", "ms/step", "vs fp32", "loss"],
    [
        [rung, 1000.0 * (i + 1), 500.0 / (i + 1), float(i + 1), 10.9]
        for i, rung in enumerate(("fp32", "tf32", "bf16", "compile", "flash", "vocab 50304", "fused adamw"))
    ],
)
COMPARISON = (
    ["tokenizer", "tokens", "bytes/token", "vocab", "seconds"],
    [
        [name, 1000 + i, 3.5 + i / 10, 50257, 0.1]
        for i, name in enumerate(
            ("gpt2", "cl100k_base", "trained 512", "trained 1024", "trained 4096", "bytes")
        )
    ],
)


@pytest.mark.parametrize(
    "lab,tables",
    [("gpt-ladder", {"ladder": LADDER}), ("tokenizer", {"comparison": COMPARISON})],
    ids=["ladder", "tokenizer"],
)
@sync
async def test_result_tables_are_readable_in_full_at_80x24(lab_session, lab, tables):
    run_id = f"{lab}-20250314-093000-abcd"
    write_finished_run(lab_session.home, run_id, lab, tables)
    app = desk(lab_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        app.push_screen(RunScreen(lab_session, run_id))
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.has_class("-results"))
        await pilot.pause()
        text = screen_text(app)
        ((columns, rows),) = tables.values()
        for row in rows:
            assert str(row[0]) in text, f"row {row[0]!r} not on screen:\n{text}"
        for column in columns:
            assert column in text
        await pilot.press("v")  # back to the chart, and again to the tables
        await pilot.pause()
        assert not app.screen.has_class("-results")
        await pilot.press("v")
        assert app.screen.focused is app.screen.query_one("#results")


@sync
async def test_ascii_mode_covers_the_run_view(lab_session):
    write_finished_run(lab_session.home, "gpt-ladder-1", "gpt-ladder", {"ladder": LADDER})
    app = desk(lab_session, ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        app.push_screen(RunScreen(lab_session, "gpt-ladder-1"))
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.has_class("-results"))
        await pilot.pause()
        panels = screen_text(app).splitlines()[:-1]  # the footer is Textual's own
        assert all(line.isascii() for line in panels), "\n".join(panels)
        assert "[####################] 100%" in "\n".join(panels)


@sync
async def test_delete_key_removes_a_reading_entry_after_asking(lab_session):
    from studytui.tui.screens.confirm import ConfirmScreen

    store = lab_session.store
    keep = store.add_reading("https://example.org/keep", "Keep me", kind="post")
    bad = store.add_reading("https://example.org/bad", "[/] stored long ago", kind="post")
    app = desk(lab_session)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("r")
        table = app.screen.query_one("#reading-table", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=table.get_row_index(str(bad)))
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert len(store.reading()) == 2
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 1)
        assert [r["id"] for r in store.reading()] == [keep]


@sync
async def test_an_items_lab_opens_the_labs_screen_on_that_lab_even_over_a_run_view(lab_session):
    write_finished_run(lab_session.home, "gpt-ladder-1", "gpt-ladder", {"ladder": LADDER})
    app = desk(lab_session)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        app.push_screen(RunScreen(lab_session, "gpt-ladder-1"))  # a run view left open in labs
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        app.show_item("llm/tokenizer")
        await until(pilot, lambda: getattr(app.screen, "current", None) == "llm/tokenizer")
        await pilot.press("L")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, LabsScreen)
                and app.screen.lab is not None
                and app.screen.lab.name == "tokenizer"
            ),
        )


@pytest.mark.parametrize("size", [(MIN_SIZE[0], MIN_SIZE[1]), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
@sync
async def test_the_labs_screens_draw_at_the_smallest_usable_size(lab_session, size):
    from studytui.tui.screens.token_viewer import TokenViewerScreen

    write_finished_run(lab_session.home, "gpt-ladder-1", "gpt-ladder", {"ladder": LADDER})
    app = desk(lab_session)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("l")
        app.push_screen(RunScreen(lab_session, "gpt-ladder-1"))
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.watch.state.ended_t)
        await pilot.press("v", "v", "t")
        await until(pilot, lambda: isinstance(app.screen, TokenViewerScreen))
        await pilot.press("escape", "escape", "d")
        assert isinstance(app.screen, DeskScreen)


@sync
async def test_a_database_damaged_while_the_desk_runs_shows_the_screen(lab_session):
    app = desk(lab_session)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.loaded)
        app.show_item("llm/tokenizer")
        await until(pilot, lambda: getattr(app.screen, "current", None) == "llm/tokenizer")
        lab_session.store.conn.execute("DROP TABLE progress")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, DamagedDatabaseScreen))
        await pilot.press("q")
    assert app.return_code == 2
