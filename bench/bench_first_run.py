"""A learner's first run: how soon the GPT lab shows something, and how far it gets.

    .venv/bin/python bench/bench_first_run.py                    # shakespeare-char, CPU, 2000 steps
    .venv/bin/python bench/bench_first_run.py --max-iters 300    # a quick look (no final figure)
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_first_run.py  # a machine others share

Starts `python -m labs.gpt.run --set preset=shakespeare-char --set device=cpu` as
`studytui lab run gpt` would on a machine without CUDA, in a fresh STUDYTUI_HOME (so the
tokenizing of Tiny Shakespeare counts, as on a first run), and reads its metrics.jsonl.
Prints, from the moment the process started: the first step, the first val loss, the
first sample (its text too), and the end; then the final and best val loss beside the
figure nanoGPT's README gives for this configuration (about 1.88), as ratios. It asserts
nothing: a shared or slow machine shows up as time, not as failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labs.gpt.config import PRESETS  # noqa: E402  (stdlib json only: no torch here)

PRESET = "shakespeare-char"
NANOGPT_VAL = PRESETS[PRESET]["reference"]["val_loss"]  # 1.88, nanoGPT README


def run_lab(out: Path, home: Path, max_iters: int | None) -> tuple[float, float, Path]:
    args = [
        sys.executable,
        "-m",
        "labs.gpt.run",
        "--out",
        str(out),
        "--set",
        f"preset={PRESET}",
        "--set",
        "device=cpu",
    ]
    if max_iters is not None:
        args += ["--set", f"max_iters={max_iters}"]
    env = {**os.environ, "STUDYTUI_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    t1 = time.time()
    if proc.returncode != 0:
        sys.exit(f"the lab failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    (run_dir,) = [d for d in out.iterdir() if (d / "metrics.jsonl").is_file()]
    return t0, t1, run_dir


def first(events: list[dict], name: str) -> dict | None:
    return next((e for e in events if e["event"] == name), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-iters",
        type=int,
        default=None,
        help="steps (default: the preset's 2000, whose val loss nanoGPT publishes)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0, t1, run_dir = run_lab(Path(tmp, "runs"), Path(tmp, "home"), args.max_iters)
        events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    start, step, ev, sample, end = (first(events, k) for k in ("start", "step", "eval", "sample", "end"))
    cfg = start["config"]
    steps = cfg["max_iters"]
    print(
        f"{PRESET}: n_layer={cfg['n_layer']} n_head={cfg['n_head']} n_embd={cfg['n_embd']} "
        f"block_size={cfg['block_size']} batch_size={cfg['batch_size']}, {steps} steps, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"  setup (start event)       {start['t'] - t0:7.1f} s")
    print(f"  first step                {step['t'] - t0:7.1f} s")
    print(
        f"  first val loss            {ev['t'] - t0:7.1f} s   step {ev['step']:>5} "
        f"({ev['step'] / steps:.1%} of the run)   val_loss {ev['val_loss']:.4f}"
    )
    if sample:
        print(
            f"  first sample              {sample['t'] - t0:7.1f} s   step {sample['step']:>5}   "
            f"{sample['text'][:60]!r}"
        )
    print(f"  end                       {t1 - t0:7.1f} s   ({(t1 - t0) / 60:.1f} min)")
    summary = end["summary"]
    final, best = summary.get("val_loss"), summary.get("best_val_loss")
    print(f"  final val loss            {final:.4f}   best {best:.4f}")
    if args.max_iters is None or args.max_iters == PRESETS[PRESET]["max_iters"]:
        print(
            f"  nanoGPT README            {NANOGPT_VAL:.4f}   best / nanoGPT = {best / NANOGPT_VAL:.3f}, "
            f"final / nanoGPT = {final / NANOGPT_VAL:.3f}"
        )
    else:
        print(f"  (nanoGPT's {NANOGPT_VAL} is for {PRESETS[PRESET]['max_iters']} steps: no ratio)")
    last_sample = [e for e in events if e["event"] == "sample"][-1:]
    if last_sample:
        print(
            f"  last sample (step {last_sample[0]['step']}):\n"
            + "\n".join("    " + line for line in last_sample[0]["text"].splitlines())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
