"""How fast the curriculum loader reads a generated 10,000-item course, against PyYAML's own
`yaml.load(text, Loader=CSafeLoader)` of the same files measured in the same run.

    .venv/bin/python bench/bench_loader.py [N_ITEMS]

The loader does more than the baseline (positions, validation, references, cycles, frozen
model objects), so a ratio below 1 means the checks cost less than PyYAML's own
construction of plain dicts, which the loader skips. The last line is a second start with
`cache_dir` set (the TUI's case). Best of REPEAT runs each.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path

import yaml

from studytui.curriculum.generate import generate_curriculum
from studytui.curriculum.loader import load_curriculum

REPEAT = 5


def best_of(fn) -> float:
    times = []
    for _ in range(REPEAT):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    n_items = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = generate_curriculum(folder, n_items, n_courses=1)
        size = sum(f.stat().st_size for f in files)

        def baseline() -> None:
            for f in files:
                yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

        def loader() -> None:
            result = load_curriculum([folder], known_labs=None)
            assert not result.problems, result.problems[:3]
            assert len(result.curriculum.items_by_key) == n_items

        def cached() -> None:
            result = load_curriculum([folder], known_labs=None, cache_dir=folder / "cache")
            assert len(result.curriculum.items_by_key) == n_items

        base = best_of(baseline)
        ours = best_of(loader)
        cached()  # fill the cache
        warm = best_of(cached)
    print(f"curriculum: {n_items} items in {len(files) - 1} course file + glossary, {size / 1e6:.1f} MB")
    print(f"yaml.load (CSafeLoader), baseline: {base * 1000:7.1f} ms")
    print(f"load_curriculum:                   {ours * 1000:7.1f} ms   ratio {ours / base:.2f}x")
    print(f"load_curriculum, cache warm:       {warm * 1000:7.1f} ms   ratio {warm / base:.2f}x")


if __name__ == "__main__":
    main()
