"""How fast `studytui status` starts, against `python -c pass` measured in the same run.

    .venv/bin/python bench/bench_cli_startup.py

It runs each command several times in a fresh interpreter (a temporary STUDYTUI_HOME
with a little progress in it) and prints the medians and their ratio. `status` must
import neither torch nor the TUI: the ratio is what a user feels on every call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

REPEAT = 9


def median_wall(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, STUDYTUI_HOME=home)
        cli = [sys.executable, "-m", "studytui"]
        subprocess.run(
            cli + ["mark", "llm-study/intro-to-llms", "done"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        baseline = median_wall([sys.executable, "-c", "pass"], env)
        status = median_wall(cli + ["status"], env)
        status_json = median_wall(cli + ["status", "--json"], env)
        imports = median_wall([sys.executable, "-c", "import torch"], env)
    print(f"python -c pass        {baseline * 1000:7.0f} ms   1.00x")
    print(f"studytui status       {status * 1000:7.0f} ms   {status / baseline:5.2f}x")
    print(f"studytui status --json{status_json * 1000:7.0f} ms   {status_json / baseline:5.2f}x")
    print(f"(for scale) import torch {imports * 1000:4.0f} ms   {imports / baseline:5.2f}x")


if __name__ == "__main__":
    main()
