"""GPT lab speed: the lab's training loop against a plain nanoGPT-style loop of the same shape.

    .venv/bin/python bench/bench_gpt.py                      # tiny preset, gpt2 tokenizer, CPU
    .venv/bin/python bench/bench_gpt.py --steps 30 --rounds 3 --set tokenizer=char

Both loops train the same model shape on the same device with the same batch: the lab
through `labs.gpt.run` (events, clipping, lr schedule, grad-norm, a run folder), the
baseline as the few lines of nanoGPT's train.py (random windows, forward, backward,
AdamW step). Each round runs both, alternating, and reports the median tokens/s over
the steps after the first few (warm-up). Prints the ratio lab / baseline: 1.0 or more
means the lab's bookkeeping costs nothing measurable (the lab uses the fused AdamW
kernel where torch has one, on CPU too; nanoGPT only asks for it on cuda).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP = 3


def lab_tok_per_s(home: Path, settings: dict) -> float:
    from labs.gpt.run import main

    run_dir = home / "runs" / f"gpt-bench-{time.time_ns()}"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(
        json.dumps({"lab": "gpt", "run_id": run_dir.name, "settings": settings})
    )
    main([str(run_dir)])
    steps = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [e["tok_per_s"] for e in steps if e["event"] == "step"][WARMUP:]
    return statistics.median(rates)


def baseline_tok_per_s(cfg, tokens, steps: int) -> float:
    """nanoGPT's train.py on a CPU, stripped to the loop: its get_batch, AdamW as it
    configures it off cuda (not fused), lr set every step, gradient clipping."""
    import numpy as np
    import torch

    from labs.gpt.model import GPT, GPTConfig
    from labs.gpt.train import get_lr

    torch.manual_seed(cfg.seed)
    model = GPT(
        GPTConfig(
            block_size=cfg.block_size,
            vocab_size=cfg.vocab_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
            bias=cfg.bias,
        )
    )
    optimizer = model.configure_optimizers(
        cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2), "cpu", fused=False
    )
    B, T = cfg.batch_size, cfg.block_size

    def get_batch():
        ix = torch.randint(len(tokens) - T, (B,))
        x = torch.stack([torch.from_numpy(tokens[i : i + T].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(tokens[i + 1 : i + 1 + T].astype(np.int64)) for i in ix])
        return x, y

    rates = []
    for it in range(steps):
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg)
        x, y = get_batch()
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        rates.append(B * T / (time.perf_counter() - t0))
    return statistics.median(rates[WARMUP:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="K=V", help="a GPT lab setting")
    args = parser.parse_args()
    settings = {
        "preset": "tiny",
        "max_iters": args.steps,
        "eval_interval": 10**9,
        "eval_iters": 1,
        "sample_interval": 0,
        "checkpoint_interval": 0,
        "device": "cpu",
        "max_bytes": 300_000,
    }
    for pair in args.set:
        key, _, value = pair.partition("=")
        settings[key] = value

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["STUDYTUI_HOME"] = str(home)
        import torch

        from labs.common.runctx import load_manifest, resolve_settings
        from labs.gpt.config import finish_config, resolve_config
        from labs.gpt.data import load_data

        cfg = resolve_config(resolve_settings(load_manifest("gpt"), settings))
        data = load_data(cfg.tokenizer, cfg.data, cfg.max_bytes, cfg.val_fraction)
        finish_config(cfg, data.codec.vocab_size, 1)
        print(
            f"shape: n_layer={cfg.n_layer} n_head={cfg.n_head} n_embd={cfg.n_embd} block_size={cfg.block_size} "
            f"batch_size={cfg.batch_size} vocab_size={cfg.vocab_size}; {args.steps} steps, "
            f"{torch.get_num_threads()} threads, torch {torch.__version__}"
        )
        lab, base = [], []
        for r in range(args.rounds):
            lab.append(lab_tok_per_s(home, settings))
            base.append(baseline_tok_per_s(cfg, data.train, args.steps))
            print(f"round {r + 1}: lab {lab[-1]:,.0f} tok/s, baseline {base[-1]:,.0f} tok/s")
        lab_best, base_best = max(lab), max(base)
        print(f"lab      {lab_best:10,.0f} tok/s (best round)")
        print(f"baseline {base_best:10,.0f} tok/s (best round)")
        print(f"ratio lab/baseline: {lab_best / base_best:.2f}")


if __name__ == "__main__":
    main()
