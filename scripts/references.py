"""List the reference runs, or regenerate one with the lab itself (a maintainer's tool).

    python scripts/references.py list       # exit 1 names the files that cannot be read
    OMP_NUM_THREADS=1 python scripts/references.py regenerate makemore-bigram-nn   # ~20 s
    python scripts/references.py regenerate nanogpt-shakespeare-char-cpu          # minutes, a free CPU

`regenerate` runs `python -m labs.<lab>.run --out TMP` with the reference's `match` and
`settings` (everything else, seeds included, at the lab's defaults, so the run repeats),
then rewrites `labs/references/<name>.json` from that run's events: its loss and val-loss
curve (at most ~50 points), its device and median tok/s. The published figure's source is
kept under `published`. The lab runs as a process, as `studytui lab run` starts it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from labs.protocol import METRICS_FILE, write_json_atomic
from studytui.runs.references import (
    ReferenceError,
    load_references,
    reference_curve,
    reference_from_run,
    reference_problems,
)


def regenerate(name: str, out: Path | None = None) -> Path:
    ref = next((r for r in load_references() if r.name == name), None)
    if ref is None:
        raise ReferenceError(f"no reference named {name!r} (see `python scripts/references.py list`)")
    if ref.rungs:
        raise ReferenceError(f"{name}: a ladder's figures come from the curriculum, not from a run here")
    module = f"labs.{ref.lab.replace('-', '_')}.run"
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [f"{k}={v}" for k, v in {**ref.settings, **ref.match}.items()]
        cmd = [sys.executable, "-m", module, "--out", tmp] + [a for p in pairs for a in ("--set", p)]
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        run_dir = next(p.parent for p in Path(tmp).glob(f"*/{METRICS_FILE}"))
        doc = reference_from_run(run_dir, ref)
    target = out or ref.path
    write_json_atomic(target, doc)
    return target


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for ref in load_references():
            xs, _ = reference_curve(ref)
            kind = f"{len(xs)} points" if len(xs) > 1 else "end point"
            print(f"{ref.name:30} {ref.lab:11} {ref.metric:9} {kind:10} {ref.device}")
        problems = reference_problems()
        for problem in problems:
            print(f"skipped: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if len(argv) == 2 and argv[0] == "regenerate":
        try:
            print(f"wrote {regenerate(argv[1])}")
        except (ReferenceError, subprocess.CalledProcessError, StopIteration, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    print("usage: python scripts/references.py list | regenerate NAME", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
