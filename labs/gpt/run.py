"""The GPT lab: train a GPT-2-shaped model, watch loss and tokens/s, sample from it.

    python -m labs.gpt.run --out runs --set preset=tiny --set max_iters=500
    python -m labs.gpt.run --out runs --set tokenizer=char --set data=input.txt
    python -m labs.gpt.run --out runs --set resume=gpt-20250101-120000-abcd --set max_iters=4000
    python -m labs.gpt.run --out runs --set mode=sample --set resume=RUN --set prompt="def "
    python -m labs.gpt.run RUN_DIR               # how studytui starts it (config.json there)

Settings: see gpt.lab.json (every one has a help line); the model's and the optimizer's
use nanoGPT's names (n_layer, n_head, n_embd, block_size, batch_size, learning_rate, ...).

What it writes to the run folder (docs/protocol.md): metrics.jsonl (`start`, a `step` per
optimizer step with loss, lr, grad_norm, dt_ms, tok_per_s, mfu on known GPUs, gpu_mem_mb
and gpu_util on cuda; `eval` with val_loss; `sample`; `checkpoint`; `end`), config.json's
`resolved` (the whole TrainConfig), and ckpt.pt. SIGTERM (`studytui lab stop`) finishes
the current step, saves a checkpoint and ends the run as "stopped".

More than one GPU (`nproc=N`): the lab runs itself again under
`python -m torch.distributed.run --standalone --nproc_per_node=N` with DDP (nccl on
cuda, gloo on cpu). Rank 0 writes the run folder; the others stay quiet. The same
total_batch_size is split over the processes, so the losses match one process.
Several machines: start the same command on each with a rendezvous instead of
`--standalone`, by hand, from the run folder studytui made on the first machine (on a
shared file system):

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST0:29500 --rdzv_id=gpt -m labs.gpt.run RUN_DIR

(with STUDYTUI_GPT_DDP=1 in the environment, and the same RUN_DIR path on every machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labs.common.runctx import RunContext, SettingError
from labs.gpt.config import check_shape, resolve_config

LAB = "gpt"
DDP_ENV = "STUDYTUI_GPT_DDP"   # set in the processes torchrun starts


def launch_ddp(ctx: RunContext, nproc: int, module: str) -> int:
    """Run this lab again as nproc processes under torchrun and wait for them."""
    env = {**os.environ, DDP_ENV: "1",
           # rank 0 must not try to take run.lock: this process holds it (or studytui's fd does)
           "STUDYTUI_LOCK_FD": os.environ.get("STUDYTUI_LOCK_FD", "held-by-launcher"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", module, str(ctx.run_dir)]
    proc = subprocess.Popen(cmd, env=env)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue   # a second Ctrl+C: the workers got it too; wait for them to finish


def last_event(run_dir: Path) -> str | None:
    try:
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return json.loads(lines[-1])["event"] if lines else None


def main(argv: list[str] | None = None) -> int:
    rank = int(os.environ.get("RANK", "0")) if os.environ.get(DDP_ENV) else 0
    with RunContext.from_argv(LAB, argv, emit=rank == 0) as ctx:
        cfg = resolve_config(ctx.settings)
        check_shape(cfg)
        if cfg.nproc > 1 and not os.environ.get(DDP_ENV):
            code = launch_ddp(ctx, cfg.nproc, "labs.gpt.run")
            if last_event(ctx.run_dir) in ("end", "error"):
                return code if last_event(ctx.run_dir) == "error" else 0
            raise RuntimeError(f"the {cfg.nproc} DDP processes exited with code {code} (see stderr.log)")
        return run(ctx, cfg, ctx.given)


def run(ctx: RunContext, cfg, given: dict) -> int:
    from labs.gpt.train import Trainer   # torch is imported here, after the settings are checked
    if os.environ.get(DDP_ENV):
        import torch
        import torch.distributed as dist
        rank, local_rank, world = (int(os.environ[k]) for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo")
        try:
            trainer = Trainer(cfg, ctx, given, rank=rank, local_rank=local_rank, world_size=world)
            trainer.setup()
            trainer.train()
        finally:
            dist.destroy_process_group()
        return 0
    trainer = Trainer(cfg, ctx, given)
    trainer.setup()
    if trainer.cfg.mode == "sample":
        trainer.sample_only()
    else:
        trainer.train()
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except SettingError as e:   # raised before the run context opened
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2)
