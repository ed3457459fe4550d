"""The GPT model: its size, its agreement with Hugging Face's GPT-2, learning, sampling."""

from __future__ import annotations

import pytest
import torch

from labs.gpt import GPT, GPTConfig
from labs.gpt.model import sample_next

TINY = dict(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=61, dropout=0.0)


def tiny(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**TINY, **kw}))


def test_gpt2_124m_parameter_count():
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = GPT(GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50257))
    wpe = 1024 * 768
    # the published GPT-2 small count: every tensor once, the tied wte/lm_head matrix once
    assert model.get_num_params(non_embedding=False) == 124_439_808
    # nanoGPT prints "number of parameters: 123.65M": its default leaves out position embeddings
    assert model.get_num_params() == 124_439_808 - wpe
    assert model.lm_head.weight is model.transformer.wte.weight


def test_residual_projections_get_the_scaled_init():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=8, n_head=4, n_embd=256, block_size=16, vocab_size=64))
    plain = model.transformer.h[0].mlp.c_fc.weight.std().item()
    scaled = model.transformer.h[0].mlp.c_proj.weight.std().item()
    assert plain == pytest.approx(0.02, rel=0.05)
    assert scaled == pytest.approx(0.02 / (2 * 8) ** 0.5, rel=0.05)


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_from_pretrained_matches_transformers(tmp_path, fmt):
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.GPT2Config(
        n_layer=2,
        n_head=2,
        n_embd=32,
        n_positions=24,
        vocab_size=75,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():  # random init leaves biases at zero: make them count
        for name, p in hf.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    hf.save_pretrained(tmp_path)
    if fmt == "bin":  # the older format: a pickled state dict (recent transformers no longer write it)
        torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
        (tmp_path / "model.safetensors").unlink()
    model = GPT.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 75, (3, 24))
    with torch.no_grad():
        expected = hf(idx).logits
        logits, _ = model(idx, targets=idx)  # with targets: logits at every position
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_from_pretrained_refuses_a_folder_without_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        GPT.from_pretrained(tmp_path)


@pytest.mark.slow
def test_tiny_model_overfits_one_batch():
    model = tiny()
    opt = model.configure_optimizers(0.0, 1e-2, (0.9, 0.95), "cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 61, (2, 16), generator=g)
    y = torch.randint(0, 61, (2, 16), generator=g)
    for _ in range(150):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


def test_weight_decay_groups_split_matrices_from_vectors():
    model = tiny()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu", fused=False)
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


def test_sdpa_and_manual_attention_give_the_same_loss():
    sdpa, manual = tiny(attention="sdpa"), tiny(attention="manual")
    manual.load_state_dict(sdpa.state_dict())
    x = torch.randint(0, 61, (2, 16))
    _, a = sdpa(x, x)
    _, b = manual(x, x)
    assert a.item() == pytest.approx(b.item(), abs=1e-5)
    a.backward()
    b.backward()
    torch.testing.assert_close(sdpa.lm_head.weight.grad, manual.lm_head.weight.grad, atol=1e-6, rtol=1e-4)


def test_padded_vocab_gives_the_same_loss_on_real_tokens():
    """50257 -> 50304 in miniature: the padded rows start near zero weight, targets never
    point at them, so the loss barely moves; and sampling never emits them."""
    plain = tiny(vocab_size=61)
    padded = tiny(vocab_size=64, real_vocab_size=61)
    with torch.no_grad():  # the same weights for the real rows; the padded rows as initialized
        sd = padded.state_dict()
        for k, v in plain.state_dict().items():
            if k in ("transformer.wte.weight", "lm_head.weight"):
                sd[k][:61] = v
            else:
                sd[k].copy_(v)
    x = torch.randint(0, 61, (4, 16))
    _, a = plain(x, x)
    _, b = padded(x, x)
    # three extra logits near 0 among 61 near 0: log(64/61) is the bound at initialization
    assert abs(a.item() - b.item()) < 0.05
    logits = torch.zeros(1, 64)
    logits[0, 61:] = 100.0  # even if the padding were the likeliest ids ...
    ids = [sample_next(logits, 1.0, None, None, 61).item() for _ in range(50)]
    assert max(ids) < 61  # ... they never come out


def test_sampling_with_a_seed_repeats_and_top_k_restricts():
    model = tiny()
    x = torch.zeros(1, 1, dtype=torch.long)
    a = model.generate(x, 20, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(7))
    b = model.generate(x, 20, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(7))
    c = model.generate(x, 20, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    logits = torch.randn(2, 61)
    top = set(torch.topk(logits[0], 3).indices.tolist())
    got = {
        sample_next(logits, 1.0, top_k=3, generator=torch.Generator().manual_seed(i))[0].item()
        for i in range(40)
    }
    assert got <= top


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    got = {
        sample_next(logits, 1.0, top_p=0.7, generator=torch.Generator().manual_seed(i)).item()
        for i in range(60)
    }
    assert got == {0, 1}  # 0.5 < 0.7 <= 0.5 + 0.3


def test_greedy_at_temperature_zero():
    logits = torch.tensor([[0.1, 2.0, 0.3]])
    assert sample_next(logits, 0.0).item() == 1


def test_bad_shapes_are_refused_with_one_line():
    with pytest.raises(ValueError, match=r"n_embd \(33\) must be divisible by n_head \(2\)"):
        GPT(GPTConfig(n_layer=1, n_head=2, n_embd=33, block_size=8, vocab_size=10))
    with pytest.raises(ValueError, match="longer than block_size"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))
