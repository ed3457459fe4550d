"""The desk under stress: any terminal size, screen switches while a lab writes events, a
damaged database, a crash, a failing worker. Pilot tests on the fake lab (no torch)."""

from __future__ import annotations

import sqlite3

import pytest
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
from test_tui_fixtures import TODAY, make_session, screen_text, seed_history, sync, until


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


@pytest.mark.parametrize("size", [(30, 10), (MIN_SIZE[0], MIN_SIZE[1]), (60, 15), (200, 12)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
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
        for round_ in range(ROUNDS):
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
        await until(pilot, lambda: any("reading the runs folder failed" in str(n.message)
                                       for n in app._notifications))
        assert app.return_code is None
