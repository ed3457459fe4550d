"""Pilot tests of the labs screens on the fake lab (no torch; the token viewer uses tiktoken)."""

from __future__ import annotations

import asyncio
import functools
import io
import time

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import DataTable, Input, Static

from studytui.runs import get_manifest, parse_settings, start_run
from studytui.session import Session
from studytui.tui.glyphs import ASCII
from studytui.tui.run_monitor import RunMonitor
from studytui.tui.screens.confirm import ConfirmScreen
from studytui.tui.screens.labs import LabsScreen
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.screens.token_viewer import TokenViewerScreen, coloured_tokens, token_text

SIZE = (140, 45)


def sync(coro_fn):
    """Run an async test without a pytest async plugin (the project has none)."""

    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


class Harness(App):
    """One screen on a bare app that has what the labs screens use: a run monitor."""

    def __init__(self, screen, session: Session | None = None):
        super().__init__()
        self._first = screen
        self.session = session or screen.session
        self.run_monitor = RunMonitor(self, tick_s=0.2)

    def on_mount(self) -> None:
        self.run_monitor.start()
        self.push_screen(self._first)


def fake_run(s: Session, *pairs: str) -> str:
    m = get_manifest("fake")
    return start_run(s, m, parse_settings(m, list(pairs)))


async def until(pilot, predicate, timeout: float = 30.0) -> None:
    # an upper bound, not a pause: under `-n 2` beside a CPU hog one step of the UI took over 10 s
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting in the UI"
        await pilot.pause(0.05)


async def until_shown(pilot, screen: RunScreen, status: str) -> None:
    """Wait until the run screen's header says `status`. The screen draws what its watch read
    when the monitor's RunEvents message is handled, a moment after the read: a test that
    waited for the watch alone read panels drawn one tick before (CI caught that race)."""
    title = screen.query_one("#run-title", Static)
    await until(pilot, lambda: text_of(title).split()[1:2] == [status])


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (its content may be a rich Table or Text)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@sync
async def test_runs_table_lists_a_fake_run_and_follows_its_status(sess):
    run_id = fake_run(sess, "steps=3", "delay=0.05")
    app = Harness(LabsScreen(sess))
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert str(table.get_cell(run_id, "id")) == run_id
        await until(pilot, lambda: str(table.get_cell(run_id, "status")) == "done")
        assert str(table.get_cell(run_id, "figure")).startswith("loss ")


@sync
async def test_opening_a_run_shows_its_steps_live(sess):
    run_id = fake_run(sess, "steps=100000", "delay=0.01")
    app = Harness(LabsScreen(sess))
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        assert screen.run_id == run_id
        progress = screen.query_one("#run-progress-text", Static)

        def steps_shown() -> int:  # what the header says, e.g. "12/100,000 steps  ..."
            done, slash, _ = text_of(progress).partition("/100,000 steps")
            return int(done.replace(",", "")) if slash else 0

        # Live: the figures on screen move on (waiting for what is drawn, not for the watch).
        await until(pilot, lambda: steps_shown() > 5)
        first = steps_shown()
        await until(pilot, lambda: steps_shown() > first + 5)
        metrics = text_of(screen.query_one("#metrics", Static))
        assert "loss" in metrics and "tok_per_s" in metrics
        assert not screen.query_one("#loss-chart").has_class("-empty")
        assert screen.query_one("#merges").has_class("-empty")  # a GPT-like run: no merges
        await pilot.press("escape")
        assert isinstance(app.screen, LabsScreen)


@sync
async def test_stop_from_the_run_screen(sess):
    run_id = fake_run(sess, "steps=100000", "delay=0.01")
    app = Harness(RunScreen(sess, run_id, stop_grace=10))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.watch.state.step)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until_shown(pilot, screen, "stopped")
        assert screen.watch.status == "stopped"
        assert (sess.runs_dir / run_id / "ckpt.json").is_file()
        await pilot.press("s")  # not running any more: a warning, no dialog
        await pilot.pause(0.1)
        assert app.screen is screen


@sync
async def test_form_refuses_bad_settings_and_starts_good_ones(sess):
    app = Harness(LabsScreen(sess))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        lab_list = screen.query_one("#lab-list")
        await until(pilot, lambda: lab_list.option_count > 0)
        names = [lab_list.get_option_at_index(i).id for i in range(lab_list.option_count)]
        lab_list.highlighted = names.index("fake")
        await until(
            pilot,
            lambda: screen.lab is not None and screen.lab.name == "fake" and bool(screen.query("#set-steps")),
        )
        steps = screen.query_one("#set-steps", Input)
        steps.value = "0"
        await pilot.press("ctrl+r")
        # Waited for, not a fixed pause: on a loaded machine the form takes longer than 0.1 s.
        await until(pilot, lambda: "below the minimum" in text_of(screen.query_one("#form-error", Static)))
        assert not sess.runs_dir.exists() or not any(sess.runs_dir.iterdir())
        steps.value = "4"
        screen.query_one("#set-delay", Input).value = "0"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run_screen = app.screen
        # A fresh lab process: its Python start-up alone takes seconds on a loaded 2-core box.
        await until(pilot, lambda: run_screen.watch.status == "done", timeout=60)
        assert run_screen.watch.state.config["settings"] == {"steps": 4, "delay": 0.0}


def test_token_pieces_are_shown_visibly():
    assert token_text(b"a\nb") == "a↵b"
    assert token_text(b"\xf0\x9f") == "\\xf0\\x9f"  # half an emoji
    assert coloured_tokens([b"he", b"llo"]).plain == "hello"
    assert token_text(b"a\nb", ASCII) == "a\\nb"
    assert token_text(b"\x1b[2J") == "\u241b[2J"  # an escape byte is shown, never sent


def test_neighbouring_tokens_differ_in_16_and_256_colours():
    from rich.color import ColorSystem
    from rich.style import Style

    spans = coloured_tokens([b"a", b"b", b"c", b"d", b"e"]).spans
    for system in (ColorSystem.STANDARD, ColorSystem.EIGHT_BIT):
        backgrounds = [Style.parse(str(span.style)).bgcolor.downgrade(system) for span in spans]
        for left, right in zip(backgrounds, backgrounds[1:]):
            assert left != right


def test_ascii_mode_marks_token_boundaries():
    assert coloured_tokens([b"he", b"llo"], ASCII).plain == "he|llo"


@sync
async def test_token_viewer_cuts_text_with_gpt2_and_cl100k(sess):
    pytest.importorskip("tiktoken")
    app = Harness(TokenViewerScreen(sess))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press(*"hello world")
        await until(pilot, lambda: len(screen.query(".tv-result")) == 2, timeout=20)
        shown = [text_of(w) for w in screen.query(".tv-result")]
        assert shown[0].startswith("gpt2  2 tokens") and "31373 995" in shown[0]
        assert shown[1].startswith("cl100k_base  2 tokens")


@sync
async def test_keys_reach_the_runs_table_and_the_lab_list_from_a_settings_input(sess):
    screen = LabsScreen(sess)
    async with Harness(screen).run_test(size=SIZE) as pilot:
        await until(pilot, lambda: screen.query(Input))
        screen.query(Input).first().focus()
        await pilot.press("ctrl+o")
        assert screen.focused is screen.query_one("#runs-table", DataTable)
        await pilot.press("ctrl+l")
        assert screen.focused.id == "lab-list"


@sync
async def test_a_new_panel_is_one_class_the_run_view_finds(sess):
    """A lab's new visual: subclass RunPanel with a slot; nothing else is edited."""
    from studytui.tui.widgets import run_panel_base
    from studytui.tui.widgets.run_panel_base import RunPanel

    class StepCounter(RunPanel, Static):
        slot, order, title, panel_id = "side", 99, "steps seen", "step-counter"

        def show_state(self, watch, now):
            self.update(f"{watch.state.step} steps")

    try:
        run_id = fake_run(sess, "steps=3", "delay=0")
        screen = RunScreen(sess, run_id)
        async with Harness(screen).run_test(size=SIZE) as pilot:
            await until_shown(pilot, screen, "done")
            panel = screen.query_one("#step-counter", Static)
            assert text_of(panel).strip() == "3 steps" and panel.border_title == "steps seen"
    finally:
        run_panel_base._REGISTRY.remove(StepCounter)


@sync
async def test_a_failed_run_shows_the_end_of_its_stderr_as_text(sess):
    run_id = fake_run(sess, "steps=50", "delay=0", "fail_at=2")
    (sess.runs_dir / run_id / "stderr.log").write_text(
        "Traceback (most recent call last):\nValueError: bad [bold]value[/] \x1b]0;pwned\x07\n"
    )
    screen = RunScreen(sess, run_id)
    async with Harness(screen).run_test(size=SIZE) as pilot:
        await until_shown(pilot, screen, "failed")
        await until(pilot, lambda: not screen.query_one("#stderr").has_class("-empty"))
        shown = text_of(screen.query_one("#stderr", Static))
        assert "ValueError: bad [bold]value[/] ␛]0;pwned␇" in shown
