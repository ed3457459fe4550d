"""Does watching cost the run anything? GPT lab tokens/sec headless vs with the TUI attached.

    .venv/bin/python bench/bench_watch.py                 # tiny preset, char tokens, CPU
    .venv/bin/python bench/bench_watch.py --rounds 3 --steps 100   # quicker, noisier

Each round starts the same GPT run twice through the real runner (`start_run`): once
with nothing watching, once with the study desk's run view open on it in a second
process (a headless Textual app showing RunScreen, which polls the run file 5 times a
second and redraws the loss chart, sparkline and panels). Rounds alternate the order so
drift on a shared machine falls on both sides. Prints the median tokens/sec of each and
the ratio watched / headless; the goal is at least 0.98.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studytui.runs import (  # noqa: E402
    RunWatch,
    get_manifest,
    parse_settings,
    start_run,
)
from studytui.session import Session  # noqa: E402

WARMUP_STEPS = 3
WATCHER = """
import asyncio, sys
from studytui.session import Session
from studytui.tui.app import build_app
from studytui.tui.screens.run_view import RunScreen

async def watch_the_run(pilot):   # the real app (its run monitor included), on the run view
    pilot.app.push_screen(RunScreen(pilot.app.session, sys.argv[1]))
    await asyncio.Event().wait()

build_app(Session()).run(headless=True, size=(120, 40), auto_pilot=watch_the_run)
"""


def one_run(session: Session, pairs: list[str], watched: bool) -> float:
    manifest = get_manifest("gpt")
    run_id = start_run(session, manifest, parse_settings(manifest, pairs, runs_dir=session.runs_dir))
    watcher = None
    if watched:
        watcher = subprocess.Popen(
            [sys.executable, "-c", WATCHER, run_id],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    watch = RunWatch(session.runs_dir / run_id)
    while True:
        watch.update()
        if watch.status != "running":
            break
        time.sleep(0.2)
    if watcher is not None:
        # A watcher that died early (an import error, say) would measure nothing.
        assert watcher.poll() is None, f"the watcher exited early ({watcher.returncode})"
        watcher.kill()
        watcher.wait()
    assert watch.status == "done", f"{run_id} ended {watch.status}: {watch.state.error}"
    lines = (session.runs_dir / run_id / "metrics.jsonl").read_text().splitlines()
    rates = [e["tok_per_s"] for e in map(json.loads, lines) if e["event"] == "step"]
    return statistics.median(rates[WARMUP_STEPS:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    pairs = [
        "preset=tiny",
        "tokenizer=char",
        f"max_iters={args.steps}",
        "eval_interval=1000",
        "sample_interval=1000",
        "checkpoint_interval=100000",
        "device=cpu",
        "seed=1",
    ]
    with tempfile.TemporaryDirectory() as home:
        os.environ["STUDYTUI_HOME"] = home
        session = Session(home=Path(home))
        one_run(session, pairs[:2] + ["max_iters=5"] + pairs[3:], watched=False)  # fill the token cache
        headless, watched = [], []
        for r in range(args.rounds):
            for is_watched in (False, True) if r % 2 == 0 else (True, False):
                rate = one_run(session, pairs, is_watched)
                (watched if is_watched else headless).append(rate)
                print(f"round {r + 1}  {'watched ' if is_watched else 'headless'}  {rate:8.0f} tok/s")
    h, w = statistics.median(headless), statistics.median(watched)
    print(f"headless  {h:8.0f} tok/s   1.00x")
    print(f"watched   {w:8.0f} tok/s   {w / h:.3f}x   (goal: at least 0.98x)")


if __name__ == "__main__":
    main()
