"""Mutation testing: put small bugs into the modules where a silent bug costs most, one at a
time, run the tests after each, and print the kill rate per module.

    make mutants                                   # all of [tool.mutmut] only_mutate
    make mutants ONLY='studytui.study.*'           # mutants whose names match these globs
    .venv/bin/python scripts/mutants.py --report   # the last run's figures, without running

Which modules, and which tests run, are set in pyproject.toml's [tool.mutmut]; mutmut keeps
its copy of the tree and its results in mutants/ (re-runs only test what changed). A
survivor is a bug no test notices: `.venv/bin/mutmut show NAME` prints its diff.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = [sys.executable, "-m", "mutmut"]
KILLED = {"killed", "timeout", "caught by type check"}
RESULT_LINE = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")


# Labs and the fake lab run as child processes in their run folders, where mutmut finds no
# pyproject.toml and its trampolines fail: load its configuration from the project root first.
# It lies in mutants/, the folder every such child has on PYTHONPATH (the tests put it there).
SITECUSTOMIZE = """# Written by scripts/mutants.py: see there.
import os
if os.environ.get("MUTANT_UNDER_TEST"):
    _cwd = os.getcwd()
    os.chdir({root!r})
    try:
        from mutmut.configuration import config
        config()
    finally:
        os.chdir(_cwd)
"""


def module_of(mutant: str) -> str:
    """`studytui.store.store.xǁStoreǁset_status__mutmut_3` -> `studytui.store.store`."""
    parts = mutant.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:i])
    return mutant.rsplit(".", 1)[0]


def results() -> dict[str, Counter]:
    listed = subprocess.run(
        [*MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    by_module: dict[str, Counter] = defaultdict(Counter)
    for line in listed.splitlines():
        if m := RESULT_LINE.match(line):
            by_module[module_of(m["name"])][m["status"].strip()] += 1
    return by_module


def report(by_module: dict[str, Counter]) -> str:
    rows = [f"{'module':<34} {'mutants':>7} {'killed':>6} {'survived':>8} {'other':>5} {'kill rate':>9}"]
    total: Counter = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        total.update(counts)
        rows.append(_row(module, counts))
    rows.append(_row("all", total))
    return "\n".join(rows)


def _row(name: str, counts: Counter) -> str:
    mutants = sum(counts.values())
    killed = sum(n for status, n in counts.items() if status in KILLED)
    survived = counts["survived"]
    other = mutants - killed - survived  # no tests, not checked, suspicious, segfault
    tested = killed + survived
    rate = f"{100 * killed / tested:.0f}%" if tested else "-"
    return f"{name:<34} {mutants:>7} {killed:>6} {survived:>8} {other:>5} {rate:>9}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutant name globs, e.g. 'studytui.study.*'")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="mutants tested at once (default 1: mutmut 3.8 lost track of a worker with 2 here)",
    )
    parser.add_argument("--report", action="store_true", help="print the last run's figures only")
    args = parser.parse_args(argv)
    if not args.report:
        (ROOT / "mutants").mkdir(exist_ok=True)
        (ROOT / "mutants" / "sitecustomize.py").write_text(SITECUSTOMIZE.format(root=str(ROOT)))
        # child processes import the mutated copy too (and its sitecustomize)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "mutants"))
        done = subprocess.run(
            [*MUTMUT, "run", "--max-children", str(args.jobs), *args.names], cwd=ROOT, env=env
        )
        if done.returncode != 0:
            print(f"mutmut run failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
    print(report(results()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
