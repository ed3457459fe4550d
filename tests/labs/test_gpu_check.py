"""`make gpu-check` (scripts/gpu_check.py): its dry mode runs every step on the CPU, so the
check cannot rot between the GPU sessions that run it for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402

STEPS = ["env", "ladder", "run", "resume", "fp16", "batch64", "auto-batch", "shakespeare", "cpu-tests"]


@pytest.mark.slow
def test_the_dry_check_runs_every_step_and_writes_one_report(tmp_path):
    out = tmp_path / "check"
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--dry", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
    )
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["dry"] is True
    assert [r["step"] for r in report["steps"]] == STEPS
    assert {r["step"]: r["status"] for r in report["steps"]} == {
        **dict.fromkeys(STEPS, "ok"),
        "fp16": "skipped",
        "batch64": "skipped",
        "auto-batch": "skipped",
    }
    rows = {r["step"]: r for r in report["steps"]}
    assert rows["resume"]["note"] == "resumed at step 5"
    assert [r["rung"] for r in rows["ladder"]["rungs"]][:2] == ["fp32", "tf32"]
    md = (out / "report.md").read_text()
    assert md in p.stdout and "dry run" in md and "bf16 dense peak" in md


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine checks for real")
def test_without_cuda_it_says_so_in_one_line_and_exits_2(tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path / "check")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gpu-check: no CUDA GPU visible to torch")
    assert not (tmp_path / "check").exists()


class FakeCheck(gpu_check.Check):
    """A GPU check whose labs do not run: what each step would start, and a finished run."""

    def __init__(self, tmp_path):
        super().__init__(tmp_path / "out", dry=False, budget_s=480)
        self.started: list[tuple[str, dict]] = []

    def lab(self, module, lab, settings, cap_s, env=None):
        self.started.append((module, settings))
        result = {
            "code": 0,
            "capped": False,
            "cap_s": cap_s,
            "status_of_run": "done",
            "steps": 10,
            "warmup_steps": 1,
            "skipped_steps": 0,
            "evals": 2,
            "samples": 1,
            "checkpoints": [10, 20],
            "first_step": 21,
            "last_step": 30,
            "tok_per_s": 100000,
            "best_val_loss": 1.47,
        }
        run_dir = self.runs / f"{lab}-x"
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "stderr.log").write_text("[rank0]: Recompiling function forward in model.py\n")
        log = {"event": "log", "message": "batch_size 16: ~17.3 GB fits 85% of 80.0 GB free"}
        (run_dir / "metrics.jsonl").write_text(json.dumps(log) + "\n")
        return run_dir, result


def test_every_gpu_step_asks_for_settings_the_lab_accepts(tmp_path):
    """The GPU steps cannot run here; their settings go through the lab's own checks (as on a
    CUDA machine: has_cuda), so a renamed or refused setting fails here, not on a rented GPU."""
    from labs.common.runctx import load_manifest, resolve_settings
    from labs.gpt.config import resolve_config

    c = FakeCheck(tmp_path)
    first = gpu_check.check_run(c)
    assert first["status"] == "ok"
    assert gpu_check.check_resume(c, first)["status"] == "ok"  # run to 20, resumed at 21, ended at 30
    assert c.started[-1][1] == {"resume": "gpt-x", "max_iters": 30, "device": "auto"}
    gpu_check.check_fp16(c)
    gpu_check.check_batch(c, 64)
    auto = gpu_check.check_auto_batch(c)
    assert (auto["status"], auto["note"]) == ("ok", "batch_size 16: ~17.3 GB fits 85% of 80.0 GB free")
    assert gpu_check.check_shakespeare(c, 120)["status"] == "ok"
    assert gpu_check.check_ddp(c, 2, 50000)["scaling_efficiency"] == 1.0
    assert gpu_check.check_ddp(c, 1, 50000)["status"] == "skipped"
    manifest = load_manifest("gpt")
    gpt_runs = [s for m, s in c.started if m == "labs.gpt.run"]
    assert len(gpt_runs) == 7
    for settings in gpt_runs:
        if "resume" in settings:
            continue
        cfg = resolve_config(resolve_settings(manifest, settings), has_cuda=lambda: True)
        assert cfg.device == "auto" and cfg.guard
    run, fp16, batch64, auto_batch, shakespeare, ddp = (
        resolve_config(resolve_settings(manifest, s), has_cuda=lambda: True)
        for s in gpt_runs
        if "resume" not in s
    )
    assert (run.dtype, run.compile, run.vocab_pad, run.batch_size, run.block_size) == (
        "bf16",
        True,
        64,
        16,
        1024,
    )
    assert run.total_batch_size == 16 * 1024 and run.n_layer == 12
    assert fp16.dtype == "fp16" and not fp16.compile
    assert batch64.batch_size == 64 and batch64.total_batch_size == 64 * 1024
    assert auto_batch.preset == "gpt2" and "batch_size" not in gpt_runs[4]  # the lab fits it
    assert shakespeare.preset == "shakespeare-char-gpu" and shakespeare.max_iters == 5000
    assert ddp.nproc == 2 and ddp.total_batch_size == 2 * 16 * 1024
    ladder = gpu_check.check_ladder(c)
    assert (
        ladder["status"] == "failed" and ladder["note"] == "0 of 0 rungs ran; 1 recompile(s)"
    )  # no ladder.json
    module, ladder_settings = c.started[-1]
    assert module == "labs.gpt.ladder"
    resolved = resolve_settings(load_manifest("gpt-ladder"), ladder_settings)
    assert (resolved["preset"], resolved["batch_size"], resolved["block_size"], resolved["rungs"]) == (
        "gpt2",
        16,
        1024,
        "auto",
    )


def write_events(run_dir: Path, events: list[dict]) -> None:
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_a_runs_figures_leave_out_warmup_steps(tmp_path):
    steps = [
        {"event": "step", "step": 1, "loss": 5.0, "tok_per_s": 10.0, "warmup": True, "gpu_mem_mb": 9.0},
        *(
            {
                "event": "step",
                "step": i,
                "loss": 4.0,
                "tok_per_s": 1000.0 + i,
                "mfu": 0.4,
                "gpu_mem_mb": 100.0,
                "gpu_mem_reserved_mb": 120.0,
            }
            for i in range(2, 7)
        ),
        {"event": "step", "step": 7, "loss": 4.0, "tok_per_s": 1.0, "skipped": True, "mfu": 0.4},
    ]
    evals = [{"event": "eval", "step": 3, "val_loss": 4.5}, {"event": "eval", "step": 6, "val_loss": 4.7}]
    write_events(
        tmp_path / "r",
        [*steps, *evals, {"event": "checkpoint", "step": 6}, {"event": "end", "status": "done"}],
    )
    figures = gpu_check.read_run(tmp_path / "r")
    assert figures["warmup_steps"] == 1 and figures["skipped_steps"] == 1
    assert figures["tok_per_s"] == 1004  # median of steps 3..7: the compile step and step 2 left out
    assert figures["best_val_loss"] == 4.5 and figures["best_val_step"] == 3
    assert figures["checkpoints"] == [6] and figures["status_of_run"] == "done"
    assert (figures["first_step"], figures["last_step"]) == (1, 7)


def test_the_report_table_names_each_step_and_the_ladder_peak():
    rows = [
        {"step": "env", "status": "ok", "seconds": 1.0},
        {
            "step": "ladder",
            "status": "ok",
            "seconds": 90.0,
            "tok_per_s": 1500000,
            "note": "7 of 7 rungs ran",
            "rungs": [
                {
                    "rung": "fp32",
                    "status": "ok",
                    "ms_per_step": 300.0,
                    "tok_per_s": 54000.0,
                    "speedup_fp32": 1.0,
                    "mfu": 0.05,
                    "peak_mem_mb": 30000.0,
                }
            ],
            "recompiles": ["Recompiling function forward"],
        },
        {
            "step": "batch64",
            "status": "failed",
            "seconds": 5.0,
            "note": "out of memory | lower batch_size",
            "gpu_mem_mb": 70000.0,
            "gpu_mem_reserved_mb": 79000.0,
        },
    ]
    md = gpu_check.report_markdown(
        {"gpus": ["NVIDIA H100 80GB HBM3"], "torch": "2.5.1"}, rows, False, "2026-01-01"
    )
    assert "| batch64 | failed | 5.0 |  |  | 70000 / 79000 | out of memory / lower batch_size |" in md
    assert "| fp32 | ok | 300.0 | 54,000 | 1.00 | 5.0% | 30000 |" in md
    assert "MFU against the bf16 dense peak" in md and "Recompiling function forward" in md
    assert "GPU: NVIDIA H100 80GB HBM3" in md and "dry run" not in md
