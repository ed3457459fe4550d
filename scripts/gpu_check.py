"""`make gpu-check`: one command that proves the GPT lab on a CUDA machine (about 8 minutes).

    python scripts/gpu_check.py                 # on a CUDA machine: everything below
    python scripts/gpu_check.py --dry           # CPU, tiny configs, seconds a step (the tests run this)
    python scripts/gpu_check.py --out DIR --budget 480

Steps, each with its own time cap, cut further so the whole fits `--budget` seconds:
 1. env        GPU(s), CUDA, torch, Triton, C compiler, native bf16
 2. ladder     the speed-up ladder on GPT-2 124M (B=16, T=1024), recompiles logged (TORCH_LOGS)
 3. run        a short bf16 + compile + padded-vocab run of the gpt2 preset: eval, sample, checkpoint
 4. resume     ... resumed from its checkpoint to a later step
 5. fp16       the fp16 + GradScaler path (steps the scaler skipped are counted)
 6. batch64    peak memory (allocated, reserved) and tok/s at B=64 (B=16's are the run's, step 3)
 7. shakespeare the shakespeare-char-gpu preset towards nanoGPT's 1.4697 (time-capped: stopped
               with SIGTERM at its cap, the best val loss reached is reported)
 8. ddp        all GPUs under DDP when there are two or more: scaling efficiency against step 3
 9. gpu-tests  pytest -m gpu (tests/labs/test_gpt_training_gpu.py)
10. cpu-tests  the CPU test suite with the GPU hidden (CUDA_VISIBLE_DEVICES=""), run beside the
               GPU steps from the start (it needs no GPU), collected at the end

Writes DIR/report.md and DIR/report.json (default DIR: ./gpu-check) and prints the markdown.
Exit codes: 0 every step passed; 1 a step failed or ran out of time; 2 no CUDA GPU (one
line says so; nothing is checked; --dry needs none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE_TARGET = 1.4697  # nanoGPT README: train_shakespeare_char.py, one A100

# GPT-2 124M at T=1024, as build-nanogpt times it
GPT2 = {"preset": "gpt2", "batch_size": 16, "block_size": 1024}
# --dry: the same steps on the CPU, tiny, seconds each
DRY_MODEL = {
    "device": "cpu",
    "tokenizer": "char",
    "data": "shakespeare",
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 32,
    "block_size": 32,
    "batch_size": 4,
    "eval_iters": 2,
    "max_new_tokens": 16,
}


class Check:
    """Runs the steps in order inside one time budget and collects their rows."""

    def __init__(self, out: Path, dry: bool, budget_s: float):
        self.out, self.dry = out, dry
        self.home = out / "home"  # STUDYTUI_HOME: resume=RUN finds runs by id there
        self.runs = self.home / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)
        self.deadline = time.monotonic() + budget_s
        self.rows: list[dict] = []
        self.counter = 0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def cap(self, seconds: float) -> float:
        """A step's cap: its own, or what is left of the budget (less a margin for the end)."""
        return max(5.0, min(seconds, self.left() - 20))

    def step(self, name: str, fn, *args) -> dict:
        t0 = time.monotonic()
        if self.left() < 25:
            row = {"status": "skipped", "note": "the time budget ran out"}
        else:
            try:
                row = fn(*args)
            except Exception as e:  # a broken check is a failed row, not the end  # noqa: BLE001
                row = {"status": "failed", "note": f"{type(e).__name__}: {e}".splitlines()[0]}
        row = {"step": name, **row, "seconds": round(time.monotonic() - t0, 1)}
        self.rows.append(row)
        print(
            f"gpu-check: {name}: {row['status']} ({row['seconds']} s) {row.get('note', '')}".rstrip(),
            file=sys.stderr,
            flush=True,
        )
        return row

    # -- running a lab ----------------------------------------------------------------------
    def new_run(self, lab: str, settings: dict) -> Path:
        self.counter += 1
        run_id = f"{lab}-check-{self.counter:02d}"
        run_dir = self.runs / run_id
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"lab": lab, "run_id": run_id, "settings": settings}))
        return run_dir

    def lab(
        self, module: str, lab: str, settings: dict, cap_s: float, env: dict | None = None
    ) -> tuple[Path, dict]:
        """Run a lab as studytui does (its own session: a stop reaches all of it). At the cap it
        gets SIGTERM (it saves and ends `stopped`), 20 s later SIGKILL."""
        run_dir = self.new_run(lab, settings)
        cap_s = self.cap(cap_s)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDYTUI_HOME": str(self.home), **(env or {})}
        with open(run_dir / "stderr.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, str(run_dir)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            capped = False
            try:
                proc.wait(timeout=cap_s)
            except subprocess.TimeoutExpired:
                capped = True
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        result = read_run(run_dir)
        result.update(code=proc.returncode, capped=capped, cap_s=round(cap_s))
        return run_dir, result

    def model(self, **settings) -> dict:
        """GPT-2 124M settings on the GPU; the tiny CPU model in --dry (fp16 and compile off)."""
        if not self.dry:
            return {**GPT2, **settings}
        settings = {**settings, **DRY_MODEL}
        settings.pop("preset", None)
        settings["compile"] = False
        if settings.get("dtype") in ("fp16", "bf16"):
            settings["dtype"] = "fp32"
        settings["total_batch_size"] = None
        return {k: v for k, v in settings.items() if v is not None}


def read_run(run_dir: Path) -> dict:
    """The figures of a finished (or stopped) run, from its metrics.jsonl."""
    events = _events(run_dir)
    steps = [e for e in events if e["event"] == "step"]
    timed = [s for s in steps if not s.get("warmup")][1:] or [s for s in steps if not s.get("warmup")]
    evals = [e for e in events if e["event"] == "eval"]
    end = next((e for e in reversed(events) if e["event"] in ("end", "error")), {})
    out = {
        "status_of_run": end.get("status", "error" if end else "no end"),
        "steps": len(steps),
        "warmup_steps": sum(1 for s in steps if s.get("warmup")),
        "skipped_steps": sum(1 for s in steps if s.get("skipped")),
        "evals": len(evals),
        "samples": sum(1 for e in events if e["event"] == "sample"),
        "checkpoints": [e["step"] for e in events if e["event"] == "checkpoint"],
        "first_step": steps[0]["step"] if steps else None,
        "last_step": steps[-1]["step"] if steps else None,
    }
    if end.get("event") == "error":
        out["error"] = end.get("message")
    if end.get("reason"):
        out["reason"] = end["reason"]
    if timed:
        out["tok_per_s"] = round(statistics.median(s["tok_per_s"] for s in timed))
        mfus = [s["mfu"] for s in timed if s.get("mfu") is not None]
        if mfus:
            out["mfu"] = round(statistics.median(mfus), 3)
        for key in ("gpu_mem_mb", "gpu_mem_reserved_mb"):
            if steps[-1].get(key) is not None:
                out[key] = steps[-1][key]
    if evals:
        out["val_loss"] = evals[-1]["val_loss"]
        out["best_val_loss"] = min(e["val_loss"] for e in evals)
        out["best_val_step"] = min(evals, key=lambda e: e["val_loss"])["step"]
    if steps:
        out["loss"] = steps[-1]["loss"]
    return out


def ran_ok(result: dict) -> bool:
    return result["code"] == 0 and result["status_of_run"] == "done"


# -- the steps ----------------------------------------------------------------------------


def check_env(dry: bool) -> dict:
    import torch

    from labs.gpt import device as dev

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_build": torch.version.cuda or "none",
        "c_compiler": dev.c_compiler(),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "CUDA_DEVICE_ORDER": os.environ.get("CUDA_DEVICE_ORDER"),
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        props = torch.cuda.get_device_properties(0)
        info["capability"] = f"{props.major}.{props.minor}"
        info["memory_gb"] = round(props.total_memory / 2**30, 1)
        info["bf16_native"] = dev.bf16_supported("cuda")
        info["compile_missing"] = dev.compile_missing("cuda")
        smi = shutil.which("nvidia-smi")
        if smi:
            q = subprocess.run(
                [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            info["driver"] = q.stdout.strip().splitlines()[0] if q.stdout.strip() else None
        problems = [
            p for p in (info["compile_missing"], None if info["bf16_native"] else "no native bf16") if p
        ]
    else:
        info["gpus"] = []
        info["compile_missing"] = dev.compile_missing("cpu")
        problems = [] if dry else ["no CUDA GPU"]
    return {"status": "failed" if problems else "ok", "note": "; ".join(problems), **info}


def check_ladder(c: Check) -> dict:
    settings = (
        {"preset": "gpt2", "batch_size": 16, "block_size": 1024, "steps": 10, "warmup_steps": 2}
        if not c.dry
        else {
            "device": "cpu",
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 32,
            "block_size": 16,
            "batch_size": 2,
            "vocab_size": 512,
            "steps": 1,
            "warmup_steps": 1,
            "rungs": "fp32,flash,vocab",
        }
    )
    run_dir, result = c.lab(
        "labs.gpt.ladder", "gpt-ladder", settings, 240 if not c.dry else 60, env={"TORCH_LOGS": "recompiles"}
    )
    log = (run_dir / "stderr.log").read_text(encoding="utf-8", errors="replace")
    recompiles = [line.strip() for line in log.splitlines() if "Recompiling" in line]
    try:
        rungs = json.loads((run_dir / "ladder.json").read_text())
    except (OSError, ValueError):
        rungs = []
    good = [r for r in rungs if r["status"].startswith("ok")]
    wanted = [r for r in rungs if r["status"] != "skipped"]
    status = "ok" if ran_ok(result) and len(good) == len(wanted) and good else "failed"
    return {
        "status": status,
        "note": f"{len(good)} of {len(wanted)} rungs ran; {len(recompiles)} recompile(s)",
        "rungs": [
            {
                k: r.get(k)
                for k in ("rung", "status", "ms_per_step", "tok_per_s", "mfu", "speedup_fp32", "peak_mem_mb")
            }
            for r in rungs
        ],
        "recompiles": recompiles[:20],
        "run": str(run_dir),
        **_brief(result),
    }


def check_run(c: Check) -> dict:
    """gpt2 at B=16: bf16, compile, vocab 50304, with eval, sample and checkpoints. Its tok/s and
    memory are the B=16 figures (and DDP's one-GPU baseline)."""
    settings = c.model(
        dtype="bf16",
        compile=True,
        vocab_pad="true",
        total_batch_size=16 * 1024,
        max_iters=20,
        eval_interval=10,
        eval_iters=5,
        sample_interval=20,
        checkpoint_interval=10,
        max_new_tokens=32,
        warmup_iters=5,
    )
    if c.dry:
        settings.update(
            max_iters=4, eval_interval=2, sample_interval=4, checkpoint_interval=2, warmup_iters=1
        )
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 150)
    end = settings["max_iters"]
    ok = ran_ok(result) and result["evals"] >= 2 and result["samples"] >= 1 and end in result["checkpoints"]
    if not c.dry:
        ok = ok and result["warmup_steps"] >= 1  # the compile step is marked, not timed
    note = (
        "B=16, bf16, compile, vocab 50304: eval, sample, checkpoint" if not c.dry else "dry: fp32, no compile"
    )
    return {
        "status": "ok" if ok else "failed",
        "note": note,
        "run": str(run_dir),
        "end_step": end,
        "device": settings.get("device", "auto"),
        **_brief(result),
    }


def check_resume(c: Check, first: dict) -> dict:
    if first.get("status") != "ok":
        return {"status": "skipped", "note": "the run to resume did not finish"}
    settings = {
        "resume": Path(first["run"]).name,
        "max_iters": first["end_step"] + (10 if not c.dry else 3),
        "device": first["device"],
    }
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 120)
    ok = (
        ran_ok(result)
        and result["first_step"] == first["end_step"] + 1
        and result["last_step"] == settings["max_iters"]
    )
    return {
        "status": "ok" if ok else "failed",
        "note": f"resumed at step {result['first_step']}",
        "run": str(run_dir),
        **_brief(result),
    }


def check_fp16(c: Check) -> dict:
    settings = c.model(
        dtype="fp16",
        compile=False,
        total_batch_size=16 * 1024,
        max_iters=15,
        eval_interval=15,
        eval_iters=2,
        sample_interval=0,
        checkpoint_interval=0,
        warmup_iters=3,
    )
    if c.dry:
        settings["max_iters"] = 3
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 90)
    note = (
        (
            f"{result['skipped_steps']} step(s) skipped by the GradScaler (normal at first: the scale "
            "starts at 65536 and halves on overflow)"
        )
        if not c.dry
        else "dry: fp32 (fp16 needs CUDA)"
    )
    return {
        "status": "ok" if ran_ok(result) else "failed",
        "note": note,
        "run": str(run_dir),
        **_brief(result),
    }


def check_batch(c: Check, batch: int) -> dict:
    settings = c.model(
        dtype="bf16",
        compile=True,
        vocab_pad="true",
        batch_size=batch,
        total_batch_size=batch * 1024,
        max_iters=8,
        eval_interval=1000,
        eval_iters=1,
        sample_interval=0,
        checkpoint_interval=0,
        warmup_iters=2,
    )
    if c.dry:
        settings.update(batch_size=max(1, batch // 8), max_iters=3)
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 120)
    status = "ok" if ran_ok(result) else "failed"
    note = (
        result.get("error", "")
        if status == "failed"
        else "bf16, compile, vocab 50304"
        if not c.dry
        else "dry: fp32, no compile"
    )
    return {
        "status": status,
        "note": note,
        "batch_size": settings["batch_size"],
        "run": str(run_dir),
        **_brief(result),
    }


def check_auto_batch(c: Check) -> dict:
    """gpt2 with batch_size not given: the batch the lab fits to free memory (labs/gpt/memory.py),
    its one log line, and the peak it really reached (the estimate was never checked before)."""
    settings = {
        "preset": "gpt2",
        "dtype": "bf16",
        "compile": False,
        "max_iters": 2,
        "eval_interval": 1000,
        "eval_iters": 1,
        "sample_interval": 0,
        "checkpoint_interval": 0,
    }
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 120)
    chosen = [
        e.get("message", "")
        for e in _events(run_dir)
        if e.get("event") == "log" and str(e.get("message", "")).startswith("batch_size")
    ]
    ok = ran_ok(result) and bool(chosen)
    return {
        "status": "ok" if ok else "failed",
        "note": chosen[0] if chosen else result.get("error", "no batch_size line logged"),
        "run": str(run_dir),
        **_brief(result),
    }


def _events(run_dir: Path) -> list[dict]:
    try:
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def check_shakespeare(c: Check, cap_s: float) -> dict:
    settings = {
        "preset": "shakespeare-char-gpu",
        "compile": True,
        "checkpoint_interval": 0,
        "sample_interval": 0,
    }
    if c.dry:
        settings = {
            **DRY_MODEL,
            "max_iters": 6,
            "eval_interval": 3,
            "checkpoint_interval": 0,
            "sample_interval": 0,
        }
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, cap_s)
    best = result.get("best_val_loss")
    reached = best is not None and best <= SHAKESPEARE_TARGET * 1.02
    finished = result["status_of_run"] == "done"
    if c.dry:
        status = "ok" if finished and best is not None else "failed"
    else:
        status = "ok" if reached else ("capped" if result["capped"] else "failed")
    note = (
        f"best val {best:.4f} at step {result.get('best_val_step')} (nanoGPT: {SHAKESPEARE_TARGET}); "
        f"{'stopped at its ' + str(result['cap_s']) + ' s cap' if result['capped'] else 'finished'}"
        if best is not None
        else "no val loss reached"
    )
    return {"status": status, "note": note, "run": str(run_dir), **_brief(result)}


def check_ddp(c: Check, gpus: int, single_tok_per_s: float | None) -> dict:
    if gpus < 2:
        return {"status": "skipped", "note": f"{gpus} GPU: DDP needs two or more"}
    settings = c.model(
        dtype="bf16",
        compile=True,
        vocab_pad="true",
        nproc=gpus,
        total_batch_size=16 * 1024 * gpus,
        max_iters=10,
        eval_interval=1000,
        eval_iters=1,
        sample_interval=0,
        checkpoint_interval=0,
        warmup_iters=2,
    )
    run_dir, result = c.lab("labs.gpt.run", "gpt", settings, 150)
    row = {
        "status": "ok" if ran_ok(result) else "failed",
        "gpus": gpus,
        "run": str(run_dir),
        **_brief(result),
    }
    if single_tok_per_s and result.get("tok_per_s"):
        row["scaling_efficiency"] = round(result["tok_per_s"] / (gpus * single_tok_per_s), 3)
        row["note"] = f"{gpus} GPUs: {row['scaling_efficiency']:.0%} of {gpus}x one GPU's tok/s"
    return row


def gpu_tests(c: Check) -> dict:
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-m",
        "gpu",
        "tests/labs/test_gpt_training_gpu.py",
    ]
    return _pytest(args, c.cap(120), env={})


def start_cpu_tests(c: Check) -> tuple[subprocess.Popen, Path] | None:
    """The CPU suite with the GPU hidden, in the background from the start (it needs no GPU)."""
    log = c.out / "cpu-tests.log"
    if c.dry:  # inside the test suite: one small file, to keep the command from rotting
        args = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            "tests/labs/test_gpt_presets.py",
            "-k",
            "auto",
        ]
    else:
        workers = str(max(1, min(8, (os.cpu_count() or 2) // 2)))
        args = [sys.executable, "-m", "pytest", "-q", "-n", workers, "-m", "not gpu"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )
    return proc, log


def finish_cpu_tests(c: Check, started: tuple[subprocess.Popen, Path]) -> dict:
    proc, log = started
    try:
        proc.wait(timeout=max(5.0, c.left() - 5))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return {"status": "capped", "note": f"not finished within the budget (log: {log})", "log": str(log)}
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
    return {"status": "ok" if proc.returncode == 0 else "failed", "note": tail[0][:200], "log": str(log)}


def _pytest(args: list[str], cap_s: float, env: dict) -> dict:
    try:
        p = subprocess.run(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            capture_output=True,
            text=True,
            timeout=cap_s,
        )
    except subprocess.TimeoutExpired:
        return {"status": "capped", "note": f"pytest did not finish in {cap_s:.0f} s"}
    tail = (p.stdout.strip().splitlines() or [""])[-1]
    return {"status": "ok" if p.returncode == 0 else "failed", "note": tail[:200]}


def _brief(result: dict) -> dict:
    keys = (
        "status_of_run",
        "steps",
        "warmup_steps",
        "skipped_steps",
        "tok_per_s",
        "mfu",
        "gpu_mem_mb",
        "gpu_mem_reserved_mb",
        "best_val_loss",
        "val_loss",
        "loss",
        "error",
        "reason",
        "code",
    )
    return {k: result[k] for k in keys if result.get(k) is not None}


# -- the report ---------------------------------------------------------------------------


def report_markdown(env: dict, rows: list[dict], dry: bool, started: str) -> str:
    gpu = ", ".join(env.get("gpus") or []) or "none (CPU)"
    lines = [
        f"# gpu-check {'(dry run: CPU, tiny configs; no GPU figure here)' if dry else ''}".rstrip(),
        "",
        f"- date: {started}",
        f"- GPU: {gpu}",
        f"- torch {env.get('torch')}, CUDA build "
        f"{env.get('cuda_build')}, driver {env.get('driver')}, Triton {env.get('triton')}, "
        f"C compiler {env.get('c_compiler')}",
        "",
        "| step | status | s | tok/s | MFU | peak MB (alloc / reserved) | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        mem = (
            f"{r['gpu_mem_mb']:.0f} / {r.get('gpu_mem_reserved_mb', 0):.0f}"
            if r.get("gpu_mem_mb") is not None
            else ""
        )
        mfu = f"{r['mfu']:.1%}" if r.get("mfu") is not None else ""
        note = str(r.get("note", "")).replace("|", "/")
        lines.append(
            f"| {r['step']} | {r['status']} | {r['seconds']} | {r.get('tok_per_s', '')} | {mfu} | "
            f"{mem} | {note} |"
        )
    ladder = next((r for r in rows if r["step"] == "ladder" and r.get("rungs")), None)
    if ladder:
        lines += [
            "",
            "Ladder (MFU against the bf16 dense peak for every rung):",
            "",
            "| rung | status | ms/step | tok/s | vs fp32 | MFU | peak MB |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in ladder["rungs"]:

            def f(v, fmt):
                return "" if v is None else format(v, fmt)

            lines.append(
                f"| {r['rung']} | {r['status']} | {f(r['ms_per_step'], '.1f')} | {f(r['tok_per_s'], ',.0f')} "
                f"| {f(r['speedup_fp32'], '.2f')} | {f(r['mfu'], '.1%')} | {f(r['peak_mem_mb'], '.0f')} |"
            )
        if ladder.get("recompiles"):
            lines += ["", "Recompiles (TORCH_LOGS=recompiles):", ""] + [
                f"    {x}" for x in ladder["recompiles"]
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true", help="CPU, tiny configs: checks the check itself")
    parser.add_argument("--out", default="gpu-check", help="folder for the report and the runs")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole check")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch

    if not args.dry and not torch.cuda.is_available():
        print(
            f"gpu-check: no CUDA GPU visible to torch {torch.__version__} "
            f"(CUDA build: {torch.version.cuda or 'none'}); nothing checked (--dry checks the check on the CPU)",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out)
    c = Check(out, args.dry, args.budget)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    tests = start_cpu_tests(c)
    env = c.step("env", check_env, args.dry)
    c.step("ladder", check_ladder, c)
    first = c.step("run", check_run, c)
    c.step("resume", check_resume, c, first)
    if args.dry:  # the same lab path as `run` on the CPU (fp16 needs CUDA): seconds saved
        c.rows += [
            {"step": name, "status": "skipped", "seconds": 0.0, "note": "dry: the run step's path on the CPU"}
            for name in ("fp16", "batch64", "auto-batch")
        ]
    else:
        c.step("fp16", check_fp16, c)
        c.step("batch64", check_batch, c, 64)
        c.step("auto-batch", check_auto_batch, c)
    gpus = len(env.get("gpus") or [])
    # what is left, less the steps after it (ddp, gpu tests, the CPU suite's end)
    shakespeare_cap = max(30.0, c.left() - (200 if gpus >= 2 else 90) - 60) if not args.dry else 60
    c.step("shakespeare", check_shakespeare, c, shakespeare_cap)
    if not args.dry:
        c.step("ddp", check_ddp, c, gpus, first.get("tok_per_s"))
        c.step("gpu-tests", gpu_tests, c)
    c.step("cpu-tests", finish_cpu_tests, c, tests)
    report = {"date": started, "dry": args.dry, "env": env, "steps": c.rows}
    md = report_markdown(env, c.rows, args.dry, started)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out / "report.md").write_text(md, encoding="utf-8")
    print(md)
    print(f"(written: {out / 'report.md'}, {out / 'report.json'})")
    bad = [
        r["step"]
        for r in c.rows
        if r["status"] in ("failed", "capped")
        and not (r["step"] == "shakespeare" and r["status"] == "capped")
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
