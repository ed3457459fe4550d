"""The GPT lab's configuration: presets, and settings resolved into nanoGPT's names.

    cfg = resolve_config({"preset": "auto", "n_layer": 2, ...})   # SettingError if unusable

The presets live in gpt.lab.json (`presets`), so studytui can show their values without
importing the lab. Anything can be overridden by a setting of the same name.

| preset               | n_layer | n_head | n_embd | block | batch | tokens       | for                      |
| shakespeare-char     | 4       | 4      | 128    | 64    | 12    | chars (65)   | nanoGPT's CPU baby GPT   |
| shakespeare-char-gpu | 6       | 6      | 384    | 256   | 64    | chars (65)   | nanoGPT's, one GPU       |
| tiny                 | 4       | 4      | 128    | 64    | 12    | gpt2 (50257) | ~7M, stdlib text         |
| mini                 | 6       | 6      | 384    | 256   | 64    | gpt2         | ~30M, a small GPU        |
| gpt2 ... gpt2-xl     | 12..48  | 12..25 | 768..  | 1024  | 16..2 | gpt2         | 124M ... 1558M           |

`preset=auto` (the default) is shakespeare-char without CUDA and shakespeare-char-gpu with
it: a learner's first run reproduces a figure from nanoGPT's README (about 1.88 val loss
on a laptop CPU; 1.4697 on an A100), and the run says so (`config.reference`).

The gpt2* presets train as in build-nanogpt: 2**19 = 524288 tokens per optimizer step
(gradient accumulation fills the gap between batch_size * block_size and that), max lr
6e-4 with 715 warm-up steps and cosine decay to a tenth over 19073 steps (10B tokens).

Reporting follows the run's length when its interval is not given: evals and samples at
most a tenth of the run apart (the preset's interval if smaller), so a short run still
shows a val loss and a sample early; train.py adds one early report by the clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from labs.common.runctx import SettingError

MANIFEST = Path(__file__).resolve().parent / "gpt.lab.json"
_manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
PRESETS: dict[str, dict] = _manifest["presets"]
AUTO_PRESET: dict[str, str] = _manifest["preset_auto"]  # {"cpu": ..., "cuda": ...}

# Settings that change what a run computes, so its val loss is no longer the preset's
# published figure. (Reporting, sampling and system settings do not.)
FIGURE_KEYS = (
    "n_layer",
    "n_head",
    "n_embd",
    "block_size",
    "dropout",
    "bias",
    "vocab_size",
    "init_from",
    "tokenizer",
    "data",
    "max_bytes",
    "val_fraction",
    "batch_size",
    "total_batch_size",
    "max_iters",
    "learning_rate",
    "min_lr",
    "warmup_iters",
    "lr_decay_iters",
    "weight_decay",
    "beta1",
    "beta2",
    "grad_clip",
)
# What nanoGPT derives when it is not given; a preset's value follows what it derives from.
DERIVED = {"lr_decay_iters": "max_iters", "min_lr": "learning_rate"}
REPORT_FRACTION = 10  # evals and samples at most max_iters // 10 apart unless given


@dataclass
class TrainConfig:
    """Everything a run does, under nanoGPT's names; saved in config.json and checkpoints."""

    mode: str = "train"
    preset: str = "shakespeare-char"  # the preset used (auto resolved to one of two)
    reference: dict | None = None  # the published figure the preset reproduces, see resolve_config
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    vocab_size: int | None = None  # None: the tokenizer's (padded if vocab_pad)
    real_vocab_size: int | None = None  # the tokenizer's vocabulary
    vocab_pad: int = 1  # pad vocab_size up to a multiple of this (1: none)
    attention: str = "sdpa"
    init_from: str | None = None  # a local Hugging Face GPT-2 folder
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
    min_lr: float | None = None  # None: learning_rate / 10
    warmup_iters: int = 100
    lr_decay_iters: int | None = None  # None: max_iters
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
    compile: bool = False  # resolve_config: True for gpt2* presets on CUDA unless given
    fused_adamw: bool | None = None  # None: fused where the device has it
    nproc: int = 1
    resume: str | None = None
    checkpoint: str | None = None
    guard: bool = True  # stop as `diverged` on NaN/inf or a loss far above its best


# settings a resumed run may change; everything else comes from the checkpoint. (`seed`
# seeds sampling in mode=sample; a resumed training run restores its RNG states instead.)
RESUME_OVERRIDES = {
    "mode",
    "max_iters",
    "eval_interval",
    "eval_iters",
    "sample_interval",
    "checkpoint_interval",
    "max_new_tokens",
    "temperature",
    "top_k",
    "top_p",
    "prompt",
    "num_samples",
    "seed",
    "device",
    "dtype",
    "matmul_precision",
    "compile",
    "attention",
    "fused_adamw",
    "nproc",
    "resume",
    "checkpoint",
    "guard",
}
# The GPT-2 shapes: on CUDA they default to what nanoGPT/build-nanogpt run (a vocabulary
# padded to 50304 and torch.compile), 1.3-2x faster than 50257 without compile.
GPT2_PRESETS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
CUDA_GPT2_DEFAULTS = {"compile": True, "vocab_pad": 64}


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


def cuda_available() -> bool:
    import torch  # only for preset=auto with device=auto: the other settings need no torch

    return torch.cuda.is_available()


def choose_preset(
    preset: str | None, device: str | None, has_cuda: Callable[[], bool] = cuda_available
) -> str:
    """A preset's name; `auto` becomes the CPU or the GPU Shakespeare preset."""
    preset = preset or "auto"
    if preset == "auto":
        return AUTO_PRESET["cuda" if runs_on_cuda(device, has_cuda) else "cpu"]
    if preset not in PRESETS:
        raise SettingError(f"preset: {preset!r} is not one of auto, {', '.join(PRESETS)}")
    return preset


def runs_on_cuda(device: str | None, has_cuda: Callable[[], bool]) -> bool:
    kind = (device or "auto").split(":")[0]
    return kind == "cuda" or (kind == "auto" and has_cuda())


def reference_for(preset: str, preset_values: dict, given: dict) -> dict | None:
    """The preset's published figure, and the settings given (if any) that make this run
    compute something else, so a learner is told when the comparison is not like for like."""
    reference = PRESETS[preset].get("reference")
    if reference is None:
        return None
    baseline = TrainConfig(**preset_values)
    differs = [k for k in FIGURE_KEYS if k in given and given[k] != getattr(baseline, k)]
    return {**reference, "preset": preset, "differs": differs}


def resolve_config(settings: dict, has_cuda: Callable[[], bool] = cuda_available) -> TrainConfig:
    """Manifest settings (None = unset) over the preset over the dataclass defaults."""
    preset = choose_preset(settings.get("preset"), settings.get("device"), has_cuda)
    preset_values = {k: v for k, v in PRESETS[preset].items() if k != "reference"}
    for key, source in DERIVED.items():
        if settings.get(key) is None and settings.get(source) is not None:
            preset_values.pop(key, None)  # e.g. max_iters=500 alone: lr_decay_iters follows it
    known = {f.name for f in fields(TrainConfig)} - {"reference", "preset"}
    given = {k: v for k, v in settings.items() if k in known and v is not None}
    values = {**preset_values, **given}
    if given.get("init_from") and "tokenizer" not in given:
        values["tokenizer"] = "gpt2"  # GPT-2's weights read GPT-2's tokens, whatever the preset's
    values["preset"] = preset
    if (
        preset in GPT2_PRESETS
        and any(settings.get(k) is None for k in CUDA_GPT2_DEFAULTS)
        and runs_on_cuda(settings.get("device"), has_cuda)
    ):
        for key, value in CUDA_GPT2_DEFAULTS.items():
            if settings.get(key) is None:
                values[key] = value
    values["vocab_pad"] = parse_vocab_pad(values.get("vocab_pad", settings.get("vocab_pad")))
    values["reference"] = reference_for(preset, preset_values, given)
    cfg = TrainConfig(**values)
    if settings.get("warmup_iters") is None:
        # a short run keeps the preset's warm-up from eating all of it
        cfg.warmup_iters = min(cfg.warmup_iters, cfg.max_iters // 10)
    adapt_report_intervals(cfg, settings)
    if cfg.top_k == 0:
        cfg.top_k = None
    return cfg


def adapt_report_intervals(cfg: TrainConfig, settings: dict) -> None:
    """Intervals not given: the preset's, but at most a tenth of the run, so that a learner
    sees a val loss and a sample in the first tenth of any run, however short."""
    most = max(1, cfg.max_iters // REPORT_FRACTION)
    if settings.get("eval_interval") is None:
        cfg.eval_interval = min(cfg.eval_interval, most)
    if settings.get("sample_interval") is None and cfg.sample_interval > 0:
        cfg.sample_interval = min(cfg.sample_interval, most)


def finish_config(cfg: TrainConfig, real_vocab_size: int, world_size: int) -> TrainConfig:
    """Fill in what depends on the tokenizer and the process count (after check_shape)."""
    cfg.real_vocab_size = real_vocab_size
    if cfg.vocab_size is None:
        cfg.vocab_size = padded(real_vocab_size, cfg.vocab_pad)
    elif cfg.vocab_size < real_vocab_size:
        raise SettingError(
            f"vocab_size {cfg.vocab_size} is smaller than the tokenizer's {real_vocab_size} tokens"
        )
    micro = cfg.batch_size * cfg.block_size * world_size
    if cfg.total_batch_size is None:
        cfg.total_batch_size = micro
    if cfg.total_batch_size % micro:
        raise SettingError(
            f"total_batch_size ({cfg.total_batch_size}) must be a multiple of "
            f"batch_size * block_size * nproc = {micro}"
        )
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
