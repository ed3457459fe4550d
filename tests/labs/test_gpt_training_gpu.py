"""The GPT lab on a CUDA GPU, with tolerances (CUDA kernels sum in their own order).

Marked `gpu`: skipped where torch sees no CUDA device (CI, this project's CPU machines);
`make gpu-check` or `pytest -m gpu` runs them on a GPU box. Every other GPT test pins
device=cpu, because only the CPU promises bit-equal losses.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from tests.labs.test_gpt_run import events, losses, run_inline, tiny_settings

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


def test_a_cuda_run_learns_and_reports_gpu_memory(home, text_file):
    run_dir = run_inline(
        home, tiny_settings(text_file, device="cuda", dtype="bf16", max_iters=30, eval_interval=30)
    )
    steps = events(run_dir, "step")
    assert [s["step"] for s in steps] == list(range(1, 31))
    assert all(math.isfinite(s["loss"]) for s in steps)
    assert steps[-1]["loss"] < steps[0]["loss"] - 0.5
    assert all(s["gpu_mem_mb"] > 0 for s in steps)
    resolved = json.loads((run_dir / "config.json").read_text())["resolved"]
    assert resolved["device"] == "cuda" and resolved["dtype"] == "bf16"


def test_cuda_fp32_agrees_with_the_cpu(home, text_file):
    """The same init (made on the CPU from the seed), the same batches: the first losses agree
    to float rounding; after a few updates they still agree closely."""
    settings = tiny_settings(text_file, max_iters=5, dtype="fp32", matmul_precision="highest")
    cpu = losses(run_inline(home, {**settings, "device": "cpu"}))
    cuda = losses(run_inline(home, {**settings, "device": "cuda"}))
    assert cuda.keys() == cpu.keys()
    assert cuda[1] == pytest.approx(cpu[1], rel=1e-4)
    assert all(cuda[s] == pytest.approx(cpu[s], rel=1e-2) for s in cpu)


def test_a_resumed_cuda_run_follows_the_unbroken_one(home, text_file):
    settings = tiny_settings(
        text_file, device="cuda", dtype="bf16", max_iters=10, lr_decay_iters=10, warmup_iters=2, dropout=0.1
    )
    unbroken = losses(run_inline(home, settings))
    first = run_inline(home, {**settings, "max_iters": 5})
    resumed = run_inline(home, {"resume": first.name, "max_iters": 10, "device": "cuda"})
    after = losses(resumed)
    assert sorted(after) == list(range(6, 11))
    assert all(after[s] == pytest.approx(unbroken[s], rel=2e-2) for s in after)


def test_fp16_with_the_loss_scaler_learns(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, device="cuda", dtype="fp16", max_iters=30))
    steps = events(run_dir, "step")
    assert events(run_dir, "end")[-1]["status"] == "done"
    assert all(math.isfinite(s["loss"]) for s in steps)
    assert steps[-1]["loss"] < steps[0]["loss"] - 0.5
    assert sum(1 for s in steps if s.get("skipped")) < 10  # a few at first, while the scale settles


def test_a_named_gpu_is_the_one_used(home, text_file):
    last = torch.cuda.device_count() - 1
    run_dir = run_inline(home, tiny_settings(text_file, device=f"cuda:{last}", max_iters=3))
    assert events(run_dir, "start")[0]["device"].startswith(f"cuda:{last} ")
    step = events(run_dir, "step")[-1]
    assert step["gpu_mem_mb"] > 0 and step["gpu_mem_reserved_mb"] >= step["gpu_mem_mb"]


def test_the_ladder_on_cuda_reports_peak_memory_per_rung_and_mfu_against_bf16(home):
    from labs.gpt.ladder import ladder_peak
    from tests.labs.test_gpt_ladder import ladder_run

    run_dir = ladder_run(home, device="cuda", rungs="fp32,tf32,bf16,flash,vocab,fused")
    rows = {r["rung"]: r for r in json.loads((run_dir / "ladder.json").read_text())}
    ran = [rows[n] for n in ("fp32", "tf32", "bf16", "flash", "vocab", "fused")]
    assert all(r["status"] == "ok" for r in ran), [r["status"] for r in ran]
    assert all(r["peak_mem_mb"] > 0 for r in ran)
    if ladder_peak(torch.cuda.get_device_name(0)) is not None:
        assert all(0 < r["mfu"] < 1 for r in ran)


@pytest.mark.slow
def test_compile_on_cuda_marks_its_first_step_warmup(home, text_file):
    steps = events(
        run_inline(home, tiny_settings(text_file, device="cuda", compile=True, max_iters=4)), "step"
    )
    assert steps[0].get("warmup") is True and "mfu" not in steps[0]
    assert not any(s.get("warmup") for s in steps[1:])
