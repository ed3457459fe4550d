"""Snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic by construction: a fixed curriculum and history, "today" injected, store
polling and the labs strip's watcher off, no timer running, no notifications.
Regenerate after an intended change with:
    .venv/bin/python -m pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from studytui.tui.app import build_app
from studytui.tui.screens.curriculum import CurriculumScreen
from test_tui_fixtures import TODAY, home, make_session, seed_history, until  # noqa: F401

SIZES = [(80, 24), (120, 40)]


def app_for(home):
    session = make_session(home)
    seed_history(session)
    session.store.add_reading("https://jalammar.github.io/illustrated-transformer/",
                              "The Illustrated Transformer", kind="post", tags=["transformer"])
    session.store.add_reading("https://arxiv.org/abs/2005.14165", "Language Models are Few-Shot Learners",
                              kind="paper", tags=["gpt-3"])
    return build_app(session, today=lambda: TODAY, poll_s=None, watch_runs=False)


async def _loaded(pilot):
    await until(pilot, lambda: pilot.app.loaded)
    await pilot.pause()


def _go(mode: str, after=None):
    async def run_before(pilot):
        await _loaded(pilot)
        pilot.app.switch_mode(mode)
        await pilot.pause()
        if after:
            await after(pilot)
        await pilot.pause()
    return run_before


async def _at_tokenizer(pilot):
    pilot.app.show_item("llm/tokenizer")
    await until(pilot, lambda: isinstance(pilot.app.screen, CurriculumScreen)
                and pilot.app.screen.current == "llm/tokenizer")
    await pilot.pause(0.1)


async def _at_bpe(pilot):
    pilot.app.screen.show_term("bpe")
    await pilot.pause(0.1)


async def _help(pilot):
    await pilot.press("question_mark")


SCREENS = {
    "desk": _go("desk"),
    "curriculum": _go("curriculum", _at_tokenizer),
    "glossary": _go("glossary", _at_bpe),
    "reading": _go("reading"),
    "help": _go("desk", _help),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(snap_compare, home, screen, size):
    assert snap_compare(app_for(home), terminal_size=size, run_before=SCREENS[screen])
