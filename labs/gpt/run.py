"""The GPT lab: train a GPT-2-shaped model, watch loss and tokens/s, sample from it.

    python -m labs.gpt.run --out runs --set preset=tiny --set max_iters=500
    python -m labs.gpt.run --out runs --set tokenizer=char --set data=input.txt
    python -m labs.gpt.run --out runs --set resume=gpt-20250101-120000-abcd --set max_iters=4000
    python -m labs.gpt.run --out runs --set mode=sample --set resume=RUN --set prompt="def "
    python -m labs.gpt.run RUN_DIR               # how studytui starts it (config.json there)

Settings: see gpt.lab.json (every one has a help line); the model's and the optimizer's
use nanoGPT's names (n_layer, n_head, n_embd, block_size, batch_size, learning_rate, ...).

What it writes to the run folder (docs/protocol.md): metrics.jsonl (`start` with the torch
and CUDA versions, a `step` per optimizer step with loss, lr, grad_norm, dt_ms, tok_per_s,
mfu on known GPUs, gpu_mem_mb (peak allocated), gpu_mem_reserved_mb and gpu_util on cuda,
`warmup: true` on a step that compiled, `skipped: true` on one fp16's scaler skipped;
`eval` with val_loss; `sample`; `checkpoint`; `end`), config.json's `resolved` (the whole
TrainConfig), and ckpt.pt. SIGTERM (`studytui lab stop`) finishes the current step, saves a
checkpoint and ends the run as "stopped". With `guard` on (the default) a NaN/inf loss, or
one above twice its best for 100 steps, ends it as "diverged" with the reason, ckpt.pt left
holding the last good state (labs/common/guard.py).

More than one GPU (`nproc=N`): the lab starts itself again as N processes through
`torchrun --standalone` and they train under DDP (nccl on cuda, gloo on cpu). Rank 0
writes the run folder; the others stay quiet. torchrun's own output goes to
torchrun.log in the run folder, so a refused setting is still one line. The same total_batch_size is split over the
processes, so the losses match one process. Several machines: start torchrun on each,
by hand, from the run folder studytui made on the first machine (on a shared file system):

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST0:29500 --rdzv_id=gpt -m labs.gpt.run RUN_DIR

(with STUDYTUI_GPT_DDP=1 in the environment, and the same RUN_DIR path on every machine).
What several machines need:
- a shared file system holding RUN_DIR and the data at the same path everywhere (rank 0
  writes the run folder and checkpoints; every rank reads the data); give the data as
  `.bin` token shards, so no machine tokenizes text into its own cache;
- NCCL able to reach every machine: the same torch/NCCL build, the interface named if the
  default is wrong (NCCL_SOCKET_IFNAME=eth0; NCCL_IB_DISABLE=1 without InfiniBand),
  port 29500 open on HOST0, and NCCL_DEBUG=WARN to see why a group does not form;
- a stop: `studytui lab stop` signals the first machine only. Each step all-reduces the
  stop flag, so every rank on every machine stops at the same step and rank 0 saves; a
  machine killed outright makes the others fail in their next collective (NCCL's timeout).
- DDP workers die with their torchrun (PR_SET_PDEATHSIG) on every machine, and the
  launcher passes a stop straight to its workers' process groups (labs/gpt/procs.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from labs.common.runctx import RunContext, SettingError
from labs.gpt import procs
from labs.gpt.config import check_shape, resolve_config

LAB = "gpt"
DDP_ENV = "STUDYTUI_GPT_DDP"  # set in the DDP worker processes


def launch_ddp(ctx: RunContext, nproc: int, module: str) -> int:
    """Run this lab again as nproc DDP workers through torchrun; torchrun's exit code.

    torchrun's own messages (and its traceback when a worker fails) go to torchrun.log in
    the run folder: a refused setting stays one line on the terminal, from rank 0.
    """
    env = {
        **os.environ,
        DDP_ENV: "1",
        # rank 0 must not try to take run.lock: this process holds it (or studytui's fd does)
        "STUDYTUI_LOCK_FD": os.environ.get("STUDYTUI_LOCK_FD", "held-by-launcher"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc))),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        module,
        str(ctx.run_dir),
    ]
    with open(ctx.path("torchrun.log"), "ab") as log:
        agent = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        # Workers print to torchrun's stderr: rank 0's one-line errors land in the log too,
        # so the launcher repeats the error event's message below.
        forwarded = False
        try:
            while True:
                try:
                    return agent.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
                except KeyboardInterrupt:
                    pass  # Ctrl+C reached torchrun too (one process group); the workers below
                if ctx.stop_requested and not forwarded:
                    # torchrun put each worker in a process group of its own: a stop sent to
                    # ours reaches torchrun, not them, so pass it on (they stop at one step)
                    procs.signal_workers(ctx.run_dir, signal.SIGTERM)
                    forwarded = True
        finally:
            # torchrun has exited (or this process is going): no worker may outlive the run
            procs.signal_workers(ctx.run_dir, signal.SIGKILL)


def tokenize_once(cfg) -> None:
    """Tokenize the text into the token cache here, once, before the workers start: N workers
    would otherwise each tokenize the same text at once (N times the work, one cache file).
    A resumed run reads its tokenizer from the checkpoint: its workers load the cache."""
    if cfg.resume or cfg.checkpoint:
        return
    from labs.gpt.data import load_data

    load_data(cfg.tokenizer, cfg.data, cfg.max_bytes, cfg.val_fraction)


def _last(run_dir: Path) -> dict:
    try:
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return json.loads(lines[-1]) if lines else {}


def last_event(run_dir: Path) -> str | None:
    return _last(run_dir).get("event")


def last_error(run_dir: Path) -> str:
    return str(_last(run_dir).get("message", "a DDP process failed"))


def main(argv: list[str] | None = None) -> int:
    rank = int(os.environ.get("RANK", "0")) if os.environ.get(DDP_ENV) else 0
    with RunContext.from_argv(LAB, argv, emit=rank == 0) as ctx:
        cfg = resolve_config(ctx.settings)
        check_shape(cfg)
        if cfg.nproc > 1 and cfg.mode == "train" and not os.environ.get(DDP_ENV):
            tokenize_once(cfg)
            code = launch_ddp(ctx, cfg.nproc, "labs.gpt.run")
            last = last_event(ctx.run_dir)
            if last == "end":
                return 0
            if last == "error":
                print(f"error: {last_error(ctx.run_dir)}", file=sys.stderr)
                return 2
            message = (
                f"the {cfg.nproc} DDP processes exited with code {code} (see {ctx.path('torchrun.log')})"
            )
            ctx.emit("error", message=message)
            print(f"error: {message}", file=sys.stderr)
            return code or 1
        return run(ctx, cfg, ctx.given)  # mode=sample runs in one process whatever nproc says


def run(ctx: RunContext, cfg, given: dict) -> int:
    from labs.gpt.train import Trainer  # torch is imported here, after the settings are checked

    if os.environ.get(DDP_ENV):
        return run_worker(ctx, cfg, given, Trainer)
    trainer = Trainer(cfg, ctx, given)
    trainer.setup()
    if trainer.cfg.mode == "sample":
        trainer.sample_only()
    else:
        trainer.train()
    return 0


def run_worker(ctx: RunContext, cfg, given: dict, trainer_class) -> int:
    """One DDP process under torchrun: dies with torchrun, joins the group on its own GPU."""
    procs.die_with_parent()
    pid_file = procs.record_worker(ctx.run_dir, int(os.environ["RANK"]))
    try:
        _join_and_train(ctx, cfg, given, trainer_class)
    finally:
        procs.forget_worker(pid_file)
    return 0


def _join_and_train(ctx: RunContext, cfg, given: dict, trainer_class) -> None:
    import torch
    import torch.distributed as dist

    rank, local_rank, world = (int(os.environ[k]) for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
    on_cuda = torch.cuda.is_available() and cfg.device != "cpu"
    kwargs = {}
    if on_cuda:
        gpus, wanted = torch.cuda.device_count(), int(os.environ.get("LOCAL_WORLD_SIZE", world))
        if gpus < wanted:  # before set_device, which would fail with "invalid device ordinal"
            raise SettingError(f"nproc={wanted}: this machine has {gpus} GPU(s); one process per GPU")
        # the device first, and named to the group: NCCL then builds its communicator on
        # this GPU (without it every rank may start one on cuda:0)
        torch.cuda.set_device(local_rank)
        kwargs["device_id"] = torch.device("cuda", local_rank)
    dist.init_process_group(backend="nccl" if on_cuda else "gloo", **kwargs)
    try:
        trainer = trainer_class(cfg, ctx, given, rank=rank, local_rank=local_rank, world_size=world)
        trainer.setup()
        trainer.train()
        dist.barrier()  # nobody tears the group down while another rank still talks to it
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    raise SystemExit(main())
