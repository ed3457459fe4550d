"""The speed-up ladder: MFU arithmetic, rung settings, the ladder run on CPU, ladder settings in the GPT lab."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from labs.common.runctx import SettingError
from labs.gpt.ladder import RUNGS, choose_rungs
from labs.gpt.ladder import main as ladder_main
from labs.gpt.mfu import flops_per_token, mfu, peak_flops
from tests.labs.test_gpt_run import events, new_run, run_inline, tiny_settings


def test_flops_per_token_by_hand():
    # GPT-2 124M as nanoGPT counts it: 124,439,808 minus 1024 x 768 position embeddings
    n = 124_439_808 - 1024 * 768
    six_n = 6 * 123_653_376  # 741,920,256
    attention = 12 * 12 * 12 * 64 * 1024  # 12 L H Q T = 113,246,208
    assert flops_per_token(n, 12, 12, 64, 1024) == six_n + attention == 855_166_464


def test_mfu_by_hand():
    # 100k tokens/s of the 124M model on an A100 in bf16: 8.55e13 of 3.12e14 FLOP/s
    per_token = 855_166_464
    peak = peak_flops("NVIDIA A100-SXM4-80GB", "bf16")
    assert peak == 312e12
    assert mfu(100_000, per_token, peak) == pytest.approx(100_000 * 855_166_464 / 312e12)
    assert mfu(100_000, per_token, peak) == pytest.approx(0.2741, abs=1e-4)
    assert mfu(100_000, per_token, None) is None


def test_peak_table_picks_the_right_row_and_precision():
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16") == pytest.approx(989.4e12)
    assert peak_flops("NVIDIA H100 80GB HBM3", "fp32", "high") == pytest.approx(494.7e12)  # TF32
    assert peak_flops("NVIDIA H100 80GB HBM3", "fp32", "highest") == pytest.approx(66.9e12)
    assert peak_flops("NVIDIA H100 PCIe", "bf16") == pytest.approx(756e12)
    assert peak_flops("NVIDIA H200", "bf16") == pytest.approx(989.4e12)
    # the NVL cards run lower clocks than SXM; "GH200" must not be read as another part's name
    assert peak_flops("NVIDIA H200 NVL", "bf16") == pytest.approx(835.5e12)
    assert peak_flops("NVIDIA GH200 480GB", "fp32", "high") == pytest.approx(494.7e12)
    assert peak_flops("Tesla V100-SXM2-16GB", "bf16") is None  # no bf16 tensor cores ...
    assert peak_flops("Tesla V100-SXM2-16GB", "fp16") == pytest.approx(125e12)  # ... but fp16 ones
    assert peak_flops("Tesla V100-PCIE-32GB", "fp16") == pytest.approx(112e12)
    assert peak_flops("cpu", "fp32") is None and peak_flops(None) is None


def test_rungs_accumulate_their_changes(home, monkeypatch):
    import labs.gpt.ladder as ladder

    seen = {}

    def time_rung(shape, s, device, steps, warmup, seed, on_step):
        seen[len(seen)] = dict(s)
        return {
            "status": "ok",
            "ms_per_step": 1.0,
            "tok_per_s": 1.0,
            "mfu": None,
            "loss": 1.0,
            "peak_mem_mb": None,
        }

    monkeypatch.setattr(ladder, "time_rung", time_rung)
    monkeypatch.setattr(ladder, "missing_prerequisites", lambda device: {})
    ladder_run(home, rungs=",".join(r.name for r in RUNGS))
    assert seen[0] == {
        "matmul_precision": "highest",
        "dtype": "fp32",
        "compile": False,
        "attention": "manual",
        "vocab_pad": 1,
        "fused_adamw": False,
    }
    assert seen[6] == {
        "matmul_precision": "high",
        "dtype": "bf16",
        "compile": True,
        "attention": "sdpa",
        "vocab_pad": 64,
        "fused_adamw": True,
    }
    seen.clear()
    ladder_run(home, rungs="fp32,flash")
    assert seen[1]["attention"] == "sdpa" and seen[1]["dtype"] == "fp32"
    assert choose_rungs("auto", "cpu") == ["fp32", "tf32", "flash", "vocab", "fused"]
    with pytest.raises(SettingError, match="no rung named"):
        choose_rungs(" , ", "cpu")
    assert choose_rungs("auto", "cuda") == [r.name for r in RUNGS]


LADDER_TINY = {
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 32,
    "block_size": 16,
    "batch_size": 2,
    "vocab_size": 1000,
    "steps": 2,
    "warmup_steps": 1,
    "device": "cpu",
}


def ladder_run(home: Path, **settings) -> Path:
    run_dir = new_run(home, {**LADDER_TINY, **settings})
    assert ladder_main([str(run_dir)]) == 0
    return run_dir


@pytest.mark.slow
def test_ladder_on_cpu_gives_a_complete_table(home):
    run_dir = ladder_run(home)
    ladder = json.loads((run_dir / "ladder.json").read_text())
    assert [r["rung"] for r in ladder] == [r.name for r in RUNGS]
    status = {r["rung"]: r["status"] for r in ladder}
    assert status == {
        "fp32": "ok",
        "tf32": "ok",
        "bf16": "skipped",
        "compile": "skipped",
        "flash": "ok",
        "vocab": "ok",
        "fused": "ok",
    }
    for r in ladder:
        if r["status"] == "ok":
            assert r["ms_per_step"] > 0 and r["tok_per_s"] > 0 and r["mfu"] is None  # CPU: no peak
            assert r["tok_per_s"] == pytest.approx(2 * 16 / (r["ms_per_step"] / 1000))
    assert ladder[0]["speedup_fp32"] == 1.0
    assert ladder[4]["speedup_prev"] == pytest.approx(ladder[4]["tok_per_s"] / ladder[1]["tok_per_s"])
    (table,) = events(run_dir, "table")
    assert table["name"] == "ladder" and len(table["rows"]) == len(RUNGS)
    assert table["rows"][2][-1] == "skipped"
    assert events(run_dir)[-1]["event"] == "end"
    # the same model, data and seed: TF32 (a no-op on CPU) and sdpa change no result beyond
    # rounding; padding 1000 -> 1024 adds rows (another init), bounded by log(1024/1000)
    loss = {r["rung"]: r["loss"] for r in ladder}
    assert loss["tf32"] == pytest.approx(loss["fp32"], abs=1e-4)
    assert loss["flash"] == pytest.approx(loss["fp32"], abs=1e-4)
    assert abs(loss["vocab"] - loss["fp32"]) < math.log(1024 / 1000) + 0.1


def test_ladder_runs_exactly_the_named_rungs(home):
    run_dir = ladder_run(home, rungs="fp32,flash")
    ladder = json.loads(run_dir.joinpath("ladder.json").read_text())
    assert [r["rung"] for r in ladder if r["status"] == "ok"] == ["fp32", "flash"]
    # each step event names the rung it timed; warm-up steps say so; numbering runs across rungs
    steps = events(run_dir, "step")
    assert [(e["rung"], e["warmup"]) for e in steps] == [
        ("fp32", True),
        ("fp32", False),
        ("fp32", False),
        ("flash", True),
        ("flash", False),
        ("flash", False),
    ]
    assert [e["step"] for e in steps] == list(range(1, 7))


def test_ladder_refuses_an_unknown_rung(home):
    run_dir = new_run(home, {**LADDER_TINY, "rungs": "fp32,warp"})
    with pytest.raises(SystemExit) as exit_info:
        ladder_main([str(run_dir)])
    assert exit_info.value.code == 2
    assert "'warp' is not one of" in events(run_dir, "error")[0]["message"]


def test_gpt_lab_pads_the_vocabulary_and_keeps_the_loss(home, text_file):
    plain = run_inline(home, tiny_settings(text_file, max_iters=2, sample_interval=2, max_new_tokens=20))
    pad = run_inline(
        home, tiny_settings(text_file, max_iters=2, sample_interval=2, max_new_tokens=20, vocab_pad="16")
    )
    resolved = json.loads((pad / "config.json").read_text())["resolved"]
    n_chars = len(set(text_file.read_text()))
    assert resolved["real_vocab_size"] == n_chars and resolved["vocab_size"] == -(-n_chars // 16) * 16
    # padded rows are never targets; at init their logits take at most log(padded/real) of loss
    # (50257 -> 50304: 0.001). Training pushes them down, as nanoGPT relies on.
    first = [events(run, "step")[0]["loss"] for run in (plain, pad)]
    assert abs(first[0] - first[1]) < math.log(resolved["vocab_size"] / n_chars) + 0.05
    assert len(events(pad, "sample")[0]["text"]) == 20  # every sampled id decodes to a character


@pytest.mark.parametrize(
    "attention, precision, fused", [("manual", "highest", False), ("sdpa", "high", True)]
)
def test_gpt_lab_takes_the_ladder_settings(home, text_file, monkeypatch, attention, precision, fused):
    """The ladder's settings change what a training step does, not only what config.json says:
    which attention kernel runs, the fp32 matmul precision in force, the optimizer's kernel."""
    import torch
    import torch.nn.functional as F

    from labs.gpt.model import fused_adamw_available
    from tests.labs.test_gpt_training_step import trainer_for

    if fused and not fused_adamw_available("cpu"):
        pytest.skip("this torch has no fused AdamW for the CPU")
    sdpa_calls = []
    real_sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(
        F, "scaled_dot_product_attention", lambda *a, **kw: sdpa_calls.append(1) or real_sdpa(*a, **kw)
    )
    settings = tiny_settings(
        text_file,
        max_iters=2,
        matmul_precision=precision,
        attention=attention,
        fused_adamw=fused,
        dtype="fp32",
    )
    precision_in_step = []
    with trainer_for(home, settings) as trainer:
        trainer.optimizer.register_step_pre_hook(
            lambda *_: precision_in_step.append(torch.get_float32_matmul_precision())
        )
        loss, _, _ = trainer.train_step()
        optimizer_fused = bool(trainer.optimizer.param_groups[0].get("fused"))
    torch.set_float32_matmul_precision("highest")  # this process's default again
    assert bool(sdpa_calls) == (attention == "sdpa")
    assert precision_in_step == [precision]
    assert optimizer_fused == fused
    assert math.isfinite(loss)


@pytest.mark.parametrize("native_bf16, expected", [(True, "bf16"), (False, "fp16")])
def test_auto_dtype_follows_native_bf16(monkeypatch, native_bf16, expected):
    """A V100 or T4 only emulates bf16 (torch's default check says yes anyway): auto is fp16 there."""
    import torch

    from labs.gpt import device as dev

    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: native_bf16 or including_emulation
    )
    assert dev.resolve_dtype("cuda", "auto") == expected
    assert dev.resolve_dtype("cpu", "auto") == "fp32"
