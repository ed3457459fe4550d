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
    run_dir = run_inline(home, tiny_settings(text_file, device="cuda", dtype="bf16", max_iters=30,
                                             eval_interval=30))
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
    settings = tiny_settings(text_file, device="cuda", dtype="bf16", max_iters=10, lr_decay_iters=10,
                             warmup_iters=2, dropout=0.1)
    unbroken = losses(run_inline(home, settings))
    first = run_inline(home, {**settings, "max_iters": 5})
    resumed = run_inline(home, {"resume": first.name, "max_iters": 10, "device": "cuda"})
    after = losses(resumed)
    assert sorted(after) == list(range(6, 11))
    assert all(after[s] == pytest.approx(unbroken[s], rel=2e-2) for s in after)
