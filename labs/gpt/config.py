"""The GPT lab's configuration: presets, and settings resolved into nanoGPT's names.

    cfg = resolve_config({"preset": "tiny", "n_layer": 2, ...})   # SettingError if unusable

Presets, smallest first (anything can be overridden by a setting of the same name):

| preset      | n_layer | n_head | n_embd | block_size | batch_size | params (gpt2 vocab) |
| tiny        | 4       | 4      | 128    | 64         | 12         | ~7M, CPU in minutes |
| mini        | 6       | 6      | 384    | 256        | 64         | ~30M, a small GPU   |
| gpt2        | 12      | 12     | 768    | 1024       | 16         | 124M                |
| gpt2-medium | 24      | 16     | 1024   | 1024       | 8          | 350M                |
| gpt2-large  | 36      | 20     | 1280   | 1024       | 4          | 774M                |
| gpt2-xl     | 48      | 25     | 1600   | 1024       | 2          | 1558M               |

The gpt2* presets train as in build-nanogpt: 2**19 = 524288 tokens per optimizer step
(gradient accumulation fills the gap between batch_size * block_size and that), max lr
6e-4 with 715 warm-up steps and cosine decay to a tenth over 19073 steps (10B tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from labs.common.runctx import SettingError

PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12,
                 learning_rate=1e-3, max_iters=2000, warmup_iters=100, eval_interval=250,
                 eval_iters=20, sample_interval=250, checkpoint_interval=250, dtype="fp32"),
    "mini": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64,
                 learning_rate=1e-3, max_iters=5000, warmup_iters=100, eval_interval=250,
                 eval_iters=50, sample_interval=500, checkpoint_interval=500),
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, block_size=1024, batch_size=16),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024, block_size=1024, batch_size=8,
                        learning_rate=3e-4),
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280, block_size=1024, batch_size=4,
                       learning_rate=2.5e-4),
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600, block_size=1024, batch_size=2,
                    learning_rate=2e-4),
}
GPT2_TRAINING = dict(total_batch_size=2**19, learning_rate=6e-4, max_iters=19073, warmup_iters=715,
                     eval_interval=250, eval_iters=20, sample_interval=1000, checkpoint_interval=1000)
for _name in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"):
    PRESETS[_name] = {**GPT2_TRAINING, **PRESETS[_name]}


@dataclass
class TrainConfig:
    """Everything a run does, under nanoGPT's names; saved in config.json and checkpoints."""
    mode: str = "train"
    preset: str = "tiny"
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    vocab_size: int | None = None        # None: the tokenizer's (padded if vocab_pad)
    real_vocab_size: int | None = None   # the tokenizer's vocabulary
    vocab_pad: int = 1                   # pad vocab_size up to a multiple of this (1: none)
    attention: str = "sdpa"
    init_from: str | None = None         # a local Hugging Face GPT-2 folder
    # data
    tokenizer: str = "gpt2"
    data: str | None = None
    max_bytes: int = 2_000_000
    val_fraction: float = 0.1
    # optimization
    batch_size: int = 12
    total_batch_size: int | None = None  # tokens per optimizer step; None: one micro-batch
    gradient_accumulation_steps: int = 1
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float | None = None          # None: learning_rate / 10
    warmup_iters: int = 100
    lr_decay_iters: int | None = None    # None: max_iters
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    # reporting
    eval_interval: int = 250
    eval_iters: int = 20
    sample_interval: int = 250
    checkpoint_interval: int = 250
    max_new_tokens: int = 100
    temperature: float = 0.8
    top_k: int | None = 200
    top_p: float | None = None
    prompt: str = "\n"
    num_samples: int = 1
    # system
    seed: int = 1337
    device: str = "auto"
    dtype: str = "auto"
    matmul_precision: str = "high"
    compile: bool = False
    fused_adamw: bool | None = None      # None: fused where the device has it
    nproc: int = 1
    resume: str | None = None
    checkpoint: str | None = None


# settings a resumed run may change; everything else comes from the checkpoint. (`seed`
# seeds sampling in mode=sample; a resumed training run restores its RNG states instead.)
RESUME_OVERRIDES = {"mode", "max_iters", "eval_interval", "eval_iters", "sample_interval",
                    "checkpoint_interval", "max_new_tokens", "temperature", "top_k", "top_p",
                    "prompt", "num_samples", "seed", "device", "dtype", "matmul_precision",
                    "compile", "attention", "fused_adamw", "nproc", "resume", "checkpoint"}


def parse_vocab_pad(value) -> int:
    """`vocab_pad`: false/0/1 (none), true (64, as 50257 -> 50304), or a multiple such as 128."""
    if value is None or value is False:
        return 1
    if value is True:
        return 64
    text = str(value).strip().lower()
    if text in ("false", "no", "off", "none", "0", "1"):
        return 1
    if text in ("true", "yes", "on"):
        return 64
    try:
        n = int(text)
    except ValueError:
        raise SettingError(f"vocab_pad: {value!r} is not true, false or a multiple such as 64") from None
    if n < 1:
        raise SettingError(f"vocab_pad: {n} must be at least 1")
    return n


def padded(vocab_size: int, multiple: int) -> int:
    return -(-vocab_size // multiple) * multiple


def resolve_config(settings: dict) -> TrainConfig:
    """Manifest settings (None = unset) over the preset over the dataclass defaults."""
    preset = settings.get("preset") or "tiny"
    if preset not in PRESETS:
        raise SettingError(f"preset: {preset!r} is not one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset]}
    known = {f.name for f in fields(TrainConfig)}
    for key, value in settings.items():
        if key not in known:
            continue
        if value is not None:
            values[key] = value
    values["preset"] = preset
    values["vocab_pad"] = parse_vocab_pad(settings.get("vocab_pad"))
    cfg = TrainConfig(**values)
    if settings.get("warmup_iters") is None:
        # a short run keeps the preset's warm-up from eating all of it
        cfg.warmup_iters = min(cfg.warmup_iters, cfg.max_iters // 10)
    if cfg.top_k == 0:
        cfg.top_k = None
    return cfg


def finish_config(cfg: TrainConfig, real_vocab_size: int, world_size: int) -> TrainConfig:
    """Fill in what depends on the tokenizer and the process count (after check_shape)."""
    cfg.real_vocab_size = real_vocab_size
    if cfg.vocab_size is None:
        cfg.vocab_size = padded(real_vocab_size, cfg.vocab_pad)
    elif cfg.vocab_size < real_vocab_size:
        raise SettingError(f"vocab_size {cfg.vocab_size} is smaller than the tokenizer's "
                           f"{real_vocab_size} tokens")
    micro = cfg.batch_size * cfg.block_size * world_size
    if cfg.total_batch_size is None:
        cfg.total_batch_size = micro
    if cfg.total_batch_size % micro:
        raise SettingError(f"total_batch_size ({cfg.total_batch_size}) must be a multiple of "
                           f"batch_size * block_size * nproc = {micro}")
    cfg.gradient_accumulation_steps = cfg.total_batch_size // micro
    if cfg.min_lr is None:
        cfg.min_lr = cfg.learning_rate / 10
    if cfg.lr_decay_iters is None:
        cfg.lr_decay_iters = cfg.max_iters
    return cfg


def check_shape(cfg: TrainConfig) -> None:
    """The checks that need no data, so bad settings fail before anything loads."""
    if cfg.n_embd % cfg.n_head:
        raise SettingError(f"n_embd ({cfg.n_embd}) must be divisible by n_head ({cfg.n_head})")
    if cfg.resume and cfg.checkpoint:
        raise SettingError("give resume or checkpoint, not both")
    if cfg.mode == "sample" and not (cfg.resume or cfg.checkpoint or cfg.init_from):
        raise SettingError("mode=sample needs resume=RUN, checkpoint=PATH or init_from=FOLDER")
    if cfg.init_from and cfg.tokenizer != "gpt2":
        raise SettingError("init_from loads GPT-2 weights: use tokenizer=gpt2")
    if cfg.top_p is not None and not 0.0 < cfg.top_p <= 1.0:
        raise SettingError(f"top_p ({cfg.top_p}) must be in (0, 1]")
