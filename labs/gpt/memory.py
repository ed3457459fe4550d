"""How big a micro-batch fits: the gpt2 presets' batch_size from the GPU's free memory.

    batch, why = pick_batch_size(free_bytes, cfg, vocab_size)   # a power of two <= cfg.batch_size
    note = fit_batch_to_memory(cfg, given, free_bytes, vocab_size, world_size)  # on CUDA, in setup

The tokens per optimizer step stay `total_batch_size` (2**19 for gpt2): a smaller
micro-batch means more gradient-accumulation steps, the same training, a little slower.

The estimate of a training step's peak, in bytes (unmeasured on a GPU so far):
- parameters, their gradients and AdamW's two moments, all fp32: 16 bytes a parameter;
  autocast's bf16 copies of the weights add 2, DDP's gradient buckets 4 more.
- activations kept for the backward pass, per layer and sequence: 34 * T * n_embd bytes
  at 16 bits (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
  Transformer Models", s*b*h*(34 + 5*a*s/h) with flash attention dropping the 5*a*s/h
  term of the stored attention matrix; `attention=manual` keeps it). fp32 doubles them.
- the logits, B * T * vocab: bf16 out of lm_head, fp32 in the loss (kept for its backward),
  then an fp32 gradient and its bf16 cast: ~12 bytes each, 0.6 GB a gpt2 sequence.
Only MEMORY_SHARE of the free memory is planned for: the rest is for what the estimate
leaves out (cuBLAS workspaces, the caching allocator's fragmentation, compile's buffers).
"""

from __future__ import annotations

from labs.common.runctx import SettingError
from labs.gpt.config import GPT2_PRESETS, TrainConfig

MEMORY_SHARE = 0.85
GB = 1e9
BYTES_PER_PARAM = 16 + 2  # fp32 weight, gradient, AdamW m and v; autocast's bf16 weight copy
DDP_BYTES_PER_PARAM = 4  # DDP's gradient buckets
BYTES_PER_LOGIT = 2 + 4 + 4 + 2  # bf16 logits, fp32 log-softmax, fp32 gradient, its bf16 cast
KORTHIKANTI = 34  # activation bytes per layer per token per n_embd, 16-bit, flash attention


def n_params(cfg: TrainConfig, vocab_size: int) -> int:
    """Parameters of the shape (GPT-2's: token embedding tied to lm_head, biases included)."""
    d = cfg.n_embd
    per_layer = 12 * d * d + 13 * d  # attention 4d^2 + MLP 8d^2, their biases, two LayerNorms
    return vocab_size * d + cfg.block_size * d + cfg.n_layer * per_layer + 2 * d


def peak_bytes(cfg: TrainConfig, batch_size: int, vocab_size: int, world_size: int = 1) -> int:
    """Estimated peak memory of one training step at `batch_size` sequences a micro-batch."""
    T, d = cfg.block_size, cfg.n_embd
    per_param = BYTES_PER_PARAM + (DDP_BYTES_PER_PARAM if world_size > 1 else 0)
    act_bytes = 4 if cfg.dtype == "fp32" else 2  # the 34 counts 16-bit activations
    per_layer = KORTHIKANTI * T * d * act_bytes // 2
    if cfg.attention != "sdpa":
        per_layer += 5 * cfg.n_head * T * T * act_bytes // 2  # scores, softmax, dropout mask
    per_sequence = cfg.n_layer * per_layer + T * vocab_size * BYTES_PER_LOGIT
    return n_params(cfg, vocab_size) * per_param + batch_size * per_sequence


def pick_batch_size(
    free_bytes: int, cfg: TrainConfig, vocab_size: int, world_size: int = 1
) -> tuple[int, str]:
    """The largest power of two <= cfg.batch_size whose estimated peak fits MEMORY_SHARE of
    `free_bytes`, and a one-line reason; SettingError when not even one sequence fits."""
    budget = MEMORY_SHARE * free_bytes
    batch = 1 << (cfg.batch_size.bit_length() - 1)  # the largest power of two <= batch_size
    while batch >= 1 and peak_bytes(cfg, batch, vocab_size, world_size) > budget:
        batch //= 2
    free = f"{MEMORY_SHARE:.0%} of {free_bytes / GB:.1f} GB free"
    if batch < 1:
        need = peak_bytes(cfg, 1, vocab_size, world_size) / GB
        raise SettingError(
            f"{cfg.preset} needs about {need:.1f} GB at batch_size=1, more than {free}: "
            "choose a smaller preset, or give batch_size to try anyway"
        )
    fits = f"~{peak_bytes(cfg, batch, vocab_size, world_size) / GB:.1f} GB fits {free}"
    if batch == cfg.batch_size:
        return batch, f"batch_size {batch}: {fits}"
    over = peak_bytes(cfg, batch * 2, vocab_size, world_size) / GB
    return (
        batch,
        f"batch_size {batch}, not the preset's {cfg.batch_size}: {fits} ({batch * 2} needs ~{over:.1f} GB)",
    )


def fit_batch_to_memory(
    cfg: TrainConfig, given: dict, free_bytes: int | None, vocab_size: int, world_size: int = 1
) -> str | None:
    """The gpt2 presets on a GPU, batch_size not given: lower cfg.batch_size to what fits
    (total_batch_size is kept, so gradient accumulation grows). The reason, or None when
    nothing was decided (another preset, a given batch_size, no free-memory figure)."""
    if cfg.preset not in GPT2_PRESETS or given.get("batch_size") is not None or free_bytes is None:
        return None
    cfg.batch_size, reason = pick_batch_size(free_bytes, cfg, vocab_size, world_size)
    return reason
