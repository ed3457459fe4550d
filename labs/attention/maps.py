"""Where a trained GPT looks: one head's attention weights over a prompt, from a GPT lab run.

    weights, tokens = attention_map(load_gpt("gpt-20261129-..."), "ROMEO:", layer=0, head=0)

The weights are recomputed from the block's own c_attn on the input its attention sees
(after ln_1), so they are exactly what the model used, whichever attention it ran with.
"""

from __future__ import annotations

import torch

from labs.attention.manual import attention_weights
from labs.common.runctx import SettingError


def load_gpt(ref: str):
    """(model, codec) from a GPT lab run id, run folder or checkpoint file."""
    from labs.gpt.data import codec_from_state
    from labs.gpt.model import GPT, GPTConfig
    from labs.gpt.train import find_checkpoint, load_checkpoint

    ckpt = load_checkpoint(find_checkpoint(ref))
    try:
        model = GPT(GPTConfig(**ckpt["model_config"]))
        model.load_state_dict(ckpt["model"])
    except (TypeError, RuntimeError, ValueError) as e:
        raise SettingError(
            f"checkpoint {ref}: does not fit the GPT lab's model ({str(e).splitlines()[0]})"
        ) from None
    return model.eval(), codec_from_state(ckpt["tokenizer"])


@torch.no_grad()
def attention_map(model, codec, prompt: str, layer: int, head: int) -> tuple[torch.Tensor, list[str]]:
    """(T, T) weights of `head` in block `layer` over the prompt's tokens, and the tokens' text."""
    cfg = model.config
    if not 0 <= layer < cfg.n_layer:
        raise SettingError(
            f"layer: {layer} is out of range (the model has {cfg.n_layer} blocks: 0..{cfg.n_layer - 1})"
        )
    if not 0 <= head < cfg.n_head:
        raise SettingError(
            f"head: {head} is out of range (the model has {cfg.n_head} heads: 0..{cfg.n_head - 1})"
        )
    ids = codec.encode(prompt)[-cfg.block_size :]
    if not ids:
        raise SettingError("prompt: it encodes to no tokens")
    seen = {}
    block = model.transformer.h[layer]
    hook = block.ln_1.register_forward_hook(lambda mod, inp, out: seen.setdefault("x", out))
    try:
        model(torch.tensor([ids], dtype=torch.long))
    finally:
        hook.remove()
    x = seen["x"]  # (1, T, C): what attention reads
    B, T, C = x.shape
    q, k, _ = block.attn.c_attn(x).split(cfg.n_embd, dim=2)
    q = q.view(B, T, cfg.n_head, C // cfg.n_head).transpose(1, 2)  # (1, nh, T, hs)
    k = k.view(B, T, cfg.n_head, C // cfg.n_head).transpose(1, 2)
    weights = attention_weights(q, k)[0, head]  # (T, T)
    return weights, [codec.decode([i]) for i in ids]
