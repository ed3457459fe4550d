"""The GPT lab: GPT-2 in nanoGPT's shape, trained from a CPU toy up to 124M and beyond.

    from labs.gpt import GPT, GPTConfig
    python -m labs.gpt.run --out runs                            # the lab: nanoGPT's baby GPT on Tiny Shakespeare
    python -m labs.gpt.ladder --out runs                         # the speed-up ladder

Files, one idea each:
    model.py    GPTConfig, CausalSelfAttention, MLP, Block, GPT (+ from_pretrained, generate)
    config.py   presets (shakespeare-char ... gpt2-xl, in gpt.lab.json) and the run's TrainConfig
    data.py     tokenizers (gpt2, char, tokenizer-lab models), shipped data sets, the token cache, batches
    device.py   cuda/mps/cpu, precision (TF32, bf16, fp16), GPU memory and utilization
    mfu.py      FLOPs per token and model FLOPs utilization against a table of GPU peaks
    train.py    the training loop: AdamW, warm-up + cosine, clipping, accumulation, DDP, checkpoints
    cadence.py  when a run evals and samples (early, then by its length), and its ETA
    run.py      the lab process (docs/protocol.md), DDP launch through torchrun
    ladder.py   the GPT-2 speed-up ladder: fp32 -> TF32 -> bf16 -> compile -> flash -> 50304 -> fused
"""

__all__ = ["GPT", "GPTConfig", "Block", "CausalSelfAttention", "MLP"]


def __getattr__(name: str):
    # imported on first use: `python -m labs.gpt.run` checks its settings before torch loads
    if name in __all__:
        from labs.gpt import model

        return getattr(model, name)
    raise AttributeError(f"module 'labs.gpt' has no attribute {name!r}")
