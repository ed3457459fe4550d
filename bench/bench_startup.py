"""How fast the study desk paints, against a bare Textual app measured in the same run.

    .venv/bin/python bench/bench_startup.py [--repeat N]

Each case runs in a fresh interpreter (headless, 120x40, a temporary STUDYTUI_HOME) and
reports two moments, both counted from the parent starting the process:
  paint   the first screen is on (Textual's ready callback)
  filled  the curriculum is loaded and the desk shows its figures (the loader runs in a
          worker, so it never holds up the first paint)
Cases: a bare `App` with one Static (the floor for any Textual app), the desk on the
built-in curriculum, the desk on a generated curriculum of 10,000 items (the loader's
cache warm, as on every start but the first), and the same on a first start (fresh home:
no database, no cache). The child also checks that torch was never imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(kind: str, home: str, curriculum: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    from textual.app import App
    from textual.widgets import Static

    if kind == "bare":

        class Bare(App):
            def compose(self):
                yield Static("hello")

        app, loaded = Bare(), (lambda: True)
    else:
        from studytui.session import Session
        from studytui.tui.app import build_app

        session = (
            Session(home=Path(home))
            if curriculum is None
            else Session(home=Path(home), extra_curriculum=[Path(curriculum)], builtin=False)
        )
        app = build_app(session, watch_runs=False)
        loaded = lambda: app.loaded or app.load_error is not None

    async def report(pilot) -> None:
        print(f"paint {time.time():.6f}", flush=True)
        while not loaded():
            await pilot.pause(0.005)
        await pilot.pause()  # the desk's figures are drawn
        print(f"filled {time.time():.6f}", flush=True)
        print(f"torch {'torch' in sys.modules}", flush=True)
        if getattr(app, "load_error", None):
            print(f"error {app.load_error}", flush=True)
        app.exit()

    app.run(headless=True, size=(120, 40), auto_pilot=report)


def measure(
    kind: str, home: str, curriculum: str | None, repeat: int, *, fresh: bool = False
) -> tuple[float, float]:
    paints, fills = [], []
    for _ in range(repeat):
        if fresh:  # a first start: no database, no curriculum cache yet
            home = tempfile.mkdtemp(dir=Path(home).parent)
        argv = [sys.executable, __file__, "--child", kind, home] + ([curriculum] if curriculum else [])
        t0 = time.time()
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
            env=dict(os.environ, STUDYTUI_HOME=home),
        ).stdout
        marks = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        if marks.get("torch") == "True":
            sys.exit(f"{kind}: torch was imported")
        if "error" in marks:
            sys.exit(f"{kind}: {marks['error']}")
        paints.append(float(marks["paint"]) - t0)
        fills.append(float(marks["filled"]) - t0)
    return statistics.median(paints), statistics.median(fills)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from studytui.curriculum.generate import generate_curriculum

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        generate_curriculum(big, args.items)
        cases = [
            ("bare Textual app", "bare", None, False),
            ("desk, built-in curriculum", "desk", None, False),
            (f"desk, {args.items:,} items", "desk", str(big), False),
            (f"desk, {args.items:,}, first start", "desk", str(big), True),
        ]
        results = []
        for label, kind, cur, fresh in cases:
            home = tempfile.mkdtemp(dir=tmp)
            measure(kind, home, cur, 1)  # warm-up: bytecode, database, curriculum cache
            results.append((label, *measure(kind, home, cur, args.repeat, fresh=fresh)))
    base = results[0][1]
    print(f"{'case':28} {'first paint':>12} {'ratio':>6} {'filled':>9} {'ratio':>6}")
    for label, paint, filled in results:
        print(
            f"{label:28} {paint * 1000:9.0f} ms {paint / base:5.2f}x {filled * 1000:6.0f} ms "
            f"{filled / base:5.2f}x"
        )
    print(f"(median of {args.repeat} runs each, headless 120x40; ratios against the bare app's first paint)")


if __name__ == "__main__":
    main()
