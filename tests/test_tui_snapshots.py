"""Snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic by construction: a fixed curriculum and history, "today" injected, store
polling and the labs strip's watcher off, no timer running, no notifications.
Regenerate after an intended change with:
    .venv/bin/python -m pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import json
import math

import pytest
from test_tui_fixtures import TODAY, home, make_session, seed_history, until  # noqa: F401

from studytui.tui.app import build_app
from studytui.tui.screens.curriculum import CurriculumScreen

SIZES = [(80, 24), (120, 40)]


def app_for(home):
    session = make_session(home)
    seed_history(session)
    session.store.add_reading(
        "https://jalammar.github.io/illustrated-transformer/",
        "The Illustrated Transformer",
        kind="post",
        tags=["transformer"],
    )
    session.store.add_reading(
        "https://arxiv.org/abs/2005.14165",
        "Language Models are Few-Shot Learners",
        kind="paper",
        tags=["gpt-3"],
    )
    return build_app(session, today=lambda: TODAY, poll_s=None, watch_runs=False)


async def _loaded(pilot):
    await until(pilot, lambda: pilot.app.loaded)
    await _settle(pilot)


async def _settle(pilot):
    """Wait until nothing is left to do: workers done, animations over, messages handled.
    (A fixed pause let the curriculum snapshot catch the tree mid-scroll once in 18 runs.)"""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()


def _go(mode: str, after=None):
    async def run_before(pilot):
        await _loaded(pilot)
        pilot.app.switch_mode(mode)
        await _settle(pilot)
        if after:
            await after(pilot)
        await _settle(pilot)

    return run_before


async def _at_tokenizer(pilot):
    pilot.app.show_item("llm/tokenizer")
    await until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, CurriculumScreen)
            and pilot.app.screen.current == "llm/tokenizer"
            and pilot.app.screen.tree.cursor_node is not None
            and pilot.app.screen.tree.cursor_node.data == "llm/tokenizer"
        ),
    )


async def _at_bpe(pilot):
    pilot.app.show_term("bpe")
    await until(pilot, lambda: pilot.app.screen.term_id == "bpe")


async def _help(pilot):
    await pilot.press("question_mark")


RUN_ID = "gpt-20250314-093000-abcd"


def write_finished_gpt_run(home) -> None:
    """A canned, finished GPT run with fixed times: the run view has nothing to vary."""
    run = home / "runs" / RUN_ID
    run.mkdir(parents=True)
    resolved = {
        "preset": "tiny",
        "n_layer": 4,
        "n_head": 4,
        "n_embd": 128,
        "block_size": 64,
        "batch_size": 12,
        "vocab_size": 50257,
        "max_iters": 40,
    }
    (run / "config.json").write_text(
        json.dumps({"lab": "gpt", "run_id": RUN_ID, "settings": {"max_iters": 40}, "resolved": resolved})
    )
    t0 = 1741944600.0
    events = [{"event": "start", "t": t0, "pid": 1, "device": "cpu", "config": resolved, "total": 40}]
    for step in range(1, 41):  # `step` counts finished steps, as the GPT lab writes it
        events.append(
            {
                "event": "step",
                "t": t0 + 1 + step,
                "step": step,
                "loss": 10.8 * math.exp(-step / 15) + 2.0,
                "lr": 1e-3,
                "grad_norm": 1.5,
                "dt_ms": 500.0,
                "tok_per_s": 1500.0 + 10 * (step % 5),
            }
        )
        if step % 10 == 0:
            events.append(
                {
                    "event": "eval",
                    "t": t0 + 1 + step,
                    "step": step,
                    "val_loss": 10.8 * math.exp(-step / 15) + 2.3,
                }
            )
    events.append(
        {"event": "sample", "t": t0 + 41, "step": 40, "prompt": "def ", "text": "def main(self):\n    return"}
    )
    events.append({"event": "end", "t": t0 + 42, "status": "done", "summary": {"steps": 40}})
    (run / "metrics.jsonl").write_text("".join(json.dumps({"v": 1, **e}) + "\n" for e in events))


async def _labs(pilot):
    await pilot.press("l")
    await until(pilot, lambda: pilot.app.run_monitor.rows is not None)


async def _run_view(pilot):
    from studytui.tui.screens.run_view import RunScreen

    write_finished_gpt_run(pilot.app.session.home)
    await pilot.press("l")
    pilot.app.push_screen(RunScreen(pilot.app.session, RUN_ID))
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.watch.state.ended_t is not None,
    )


SCREENS = {
    "desk": _go("desk"),
    "curriculum": _go("curriculum", _at_tokenizer),
    "glossary": _go("glossary", _at_bpe),
    "reading": _go("reading"),
    "help": _go("desk", _help),
    "labs": _go("desk", _labs),
    "run": _go("desk", _run_view),
}


# The labs screen lists these only: a lab added to the project does not move every snapshot.
SNAPSHOT_LABS = ("micrograd", "tokenizer", "gpt", "gpt-ladder")


@pytest.fixture(autouse=True)
def fixed_labs(monkeypatch):
    from studytui.tui.screens import labs as labs_screen

    every = labs_screen.load_manifests
    monkeypatch.setattr(
        labs_screen,
        "load_manifests",
        lambda: {name: m for name, m in every().items() if name in SNAPSHOT_LABS},
    )


@pytest.fixture(autouse=True)
def utc(local_zone):
    """The run view shows clock times: pin the zone so the snapshot is the same anywhere."""
    local_zone("UTC")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(snap_compare, home, screen, size):
    assert snap_compare(app_for(home), terminal_size=size, run_before=SCREENS[screen])
