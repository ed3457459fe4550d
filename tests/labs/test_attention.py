"""The attention lab: manual attention equals SDPA, memory grows as T^2 only for manual,
maps come from a GPT lab checkpoint, and the run writes its tables."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from labs.attention.check import compare
from labs.attention.manual import attention_weights, manual_attention, sdpa_attention
from labs.attention.maps import attention_map, load_gpt
from labs.attention.run import main
from labs.attention.sweep import crossover, measure
from labs.common.runctx import SettingError


def test_manual_equals_sdpa_in_float64_outputs_and_gradients():
    rows = compare("cpu", torch.float64)
    assert all(r["outputs_match"] and r["grads_match"] for r in rows)
    assert max(r["max_out_diff"] for r in rows) < 1e-12


def test_weights_are_causal_and_rows_sum_to_one():
    q, k = torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 4)
    w = attention_weights(q, k)
    assert torch.allclose(w.sum(-1), torch.ones(1, 2, 6))
    assert torch.all(w.triu(1) == 0)
    v = torch.randn(1, 2, 6, 4)
    assert torch.allclose(manual_attention(q, k, v), sdpa_attention(q, k, v), atol=1e-5)


def test_manual_memory_grows_with_t_squared_and_sdpa_does_not():
    """At T=1024 and 4 heads, manual holds two 16 MB (B, nh, T, T) matrices; SDPA a few MB."""
    manual = measure("manual", "cpu", batch=1, n_head=4, T=1024, head_dim=32, repeats=1)
    fused = measure("sdpa", "cpu", batch=1, n_head=4, T=1024, head_dim=32, repeats=1)
    assert manual["peak_mb"] > 30
    assert fused["peak_mb"] < 10
    assert manual["ms"] > 0 and fused["ms"] > 0


def test_crossover():
    rows = [
        {"T": t, "impl": impl, "ms": ms}
        for t, impl, ms in [
            (64, "manual", 1.0),
            (64, "sdpa", 2.0),
            (128, "manual", 3.0),
            (128, "sdpa", 2.0),
            (256, "manual", 9.0),
            (256, "sdpa", 4.0),
        ]
    ]
    assert crossover(rows) == 128
    assert crossover([r for r in rows if r["T"] == 64]) is None


@pytest.fixture
def gpt_checkpoint(tmp_path) -> Path:
    """A tiny GPT lab checkpoint (the format labs/gpt/train.py writes) with a char tokenizer."""
    from labs.gpt.model import GPT, GPTConfig

    torch.manual_seed(0)
    chars = "".join(sorted(set("First Citizen:\nBefore we proceed")))
    cfg = GPTConfig(block_size=32, vocab_size=len(chars), n_layer=2, n_head=2, n_embd=16, attention="manual")
    model = GPT(cfg)
    path = tmp_path / "ckpt.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "model_config": asdict(cfg),
            "config": {},
            "tokenizer": {"kind": "char", "chars": chars},
            "step": 0,
        },
        path,
    )
    return path


def test_a_map_is_what_the_model_computed(gpt_checkpoint):
    model, codec = load_gpt(str(gpt_checkpoint))
    weights, tokens = attention_map(model, codec, "First Citizen", layer=1, head=1)
    assert tokens == list("First Citizen") and weights.shape == (13, 13)
    # The manual model kept its own matrix in attn_dropout's input: compare with a hook.
    seen = {}
    hook = model.transformer.h[1].attn.attn_dropout.register_forward_hook(
        lambda m, i, o: seen.setdefault("att", o)
    )
    with torch.no_grad():
        model(torch.tensor([codec.encode("First Citizen")]))
    hook.remove()
    assert torch.allclose(weights, seen["att"][0, 1], atol=1e-6)
    with pytest.raises(SettingError, match="layer: 2 is out of range"):
        attention_map(model, codec, "First", layer=2, head=0)


def test_a_checkpoint_that_is_not_ours_is_one_line(tmp_path):
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(2)}, bogus)
    with pytest.raises(SettingError, match="not a checkpoint of the GPT lab"):
        load_gpt(str(bogus))


def test_a_small_run(tmp_path, gpt_checkpoint):
    main(
        [
            "--out",
            str(tmp_path / "runs"),
            "--set",
            "seq_lens=32,64",
            "--set",
            "repeats=1",
            "--set",
            f"checkpoint={gpt_checkpoint}",
            "--set",
            "prompt=Before we",
        ]
    )
    (run_dir,) = list((tmp_path / "runs").iterdir())
    evs = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    tables = {e["name"]: e for e in evs if e["event"] == "table"}
    assert all(row[-1] is True for row in tables["equality"]["rows"])
    assert [row[1:3] for row in tables["sweep"]["rows"]] == [
        [32, "manual"],
        [32, "sdpa"],
        [64, "manual"],
        [64, "sdpa"],
    ]
    (series,) = [e for e in evs if e["event"] == "visual" and e["kind"] == "series"]
    assert series["x"] == [32, 64] and set(series["lines"]) == {
        "manual ms",
        "manual peak_mb",
        "sdpa ms",
        "sdpa peak_mb",
    }
    (heatmap,) = [e for e in evs if e["event"] == "visual" and e["kind"] == "heatmap"]
    assert heatmap["row_labels"] == list("Before we") and len(heatmap["values"]) == 9
    end = evs[-1]
    assert end["status"] == "done" and end["summary"]["equal"] is True and end["summary"]["longest_T"] == 64
