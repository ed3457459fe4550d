"""What a first GPU run needs, checked on the CPU: the divergence guard, compile warm-up
steps, the gpt2 presets' CUDA defaults, the small-corpus warning, resume's fused AdamW,
DDP workers that die with their parent, and the ladder's prerequisites and MFU peak."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from labs.gpt import device as dev
from labs.gpt import ladder, procs
from labs.gpt.config import resolve_config
from labs.gpt.mfu import peak_flops
from labs.gpt.run import main
from labs.gpt.train import Trainer
from tests.labs.test_gpt_ladder import ladder_run
from tests.labs.test_gpt_run import events, losses, new_run, run_inline, tiny_settings

# -- the divergence guard ---------------------------------------------------------------


def poison_losses_from(monkeypatch, first_bad_step: int):
    """From `first_bad_step` on, the step's loss reads NaN (as a too-high learning rate makes it)."""
    real = Trainer.train_step

    def train_step(self):
        loss, norm, lr = real(self)
        return (float("nan") if self.step >= first_bad_step else loss), norm, lr

    monkeypatch.setattr(Trainer, "train_step", train_step)


def test_a_nan_loss_ends_diverged_and_keeps_the_last_good_checkpoint(home, text_file, monkeypatch):
    poison_losses_from(monkeypatch, 5)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=20, checkpoint_interval=2))
    end = events(run_dir, "end")[-1]
    assert end["status"] == "diverged"
    assert end["reason"] == "loss is nan at step 5"
    assert end["summary"]["last_good_checkpoint_step"] == 4
    assert [s["step"] for s in events(run_dir, "step")] == [1, 2, 3, 4, 5]  # stopped at once
    last = events(run_dir, "checkpoint")[-1]
    assert last == {**last, "step": 4, "path": "ckpt.pt", "last_good": True}
    saved = torch.load(run_dir / "ckpt.pt", weights_only=True)
    assert saved["step"] == 4 and math.isfinite(saved["loss"])  # not overwritten by the NaN state


def test_guard_false_trains_on_through_nan(home, text_file, monkeypatch):
    poison_losses_from(monkeypatch, 3)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=6, guard=False))
    assert events(run_dir, "end")[-1]["status"] == "done"
    assert max(losses(run_dir)) == 6


def test_a_learning_rate_far_too_high_diverges_for_real(home, text_file):
    run_dir = run_inline(
        home, tiny_settings(text_file, max_iters=30, learning_rate=1e6, grad_clip=0, warmup_iters=0)
    )
    end = events(run_dir, "end")[-1]
    assert end["status"] == "diverged" and "at step" in end["reason"]
    assert len(events(run_dir, "step")) < 30


def test_the_start_event_says_which_torch_and_cuda(home, text_file):
    start = events(run_inline(home, tiny_settings(text_file, max_iters=1)), "start")[0]
    assert start["torch"] == torch.__version__
    assert start["cuda"] == (torch.version.cuda or "none")


# -- compile warm-up, the gpt2 presets on CUDA, the small corpus ---------------------------


def test_compile_warmup_steps_are_marked_and_left_out_of_mfu(home, text_file, monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)  # the marking, not Inductor
    monkeypatch.setattr(dev, "compile_missing", lambda device: None)
    monkeypatch.setattr("labs.gpt.train.peak_flops", lambda *a: 1e12)  # as if a known GPU
    steps = events(run_inline(home, tiny_settings(text_file, max_iters=3, compile=True)), "step")
    assert [s.get("warmup", False) for s in steps] == [True, False, False]
    assert "mfu" not in steps[0] and all(s["mfu"] > 0 for s in steps[1:])


def test_a_run_of_one_compiled_step_has_no_eta_yet_and_ends(home, text_file, monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)
    monkeypatch.setattr(dev, "compile_missing", lambda device: None)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=1, compile=True))
    assert events(run_dir, "end")[-1]["status"] == "done"
    assert events(run_dir, "progress")[-1]["eta_s"] is None  # the warm-up step is not a step time


def test_compile_without_its_prerequisites_is_one_line(home, text_file, monkeypatch, capsys):
    monkeypatch.setattr(dev, "compile_missing", lambda device: "torch.compile needs a C compiler")
    run_dir = new_run(home, tiny_settings(text_file, max_iters=1, compile=True))
    with pytest.raises(SystemExit) as exit_:
        main([str(run_dir)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: compile: torch.compile needs a C compiler\n"
    assert not events(run_dir, "step")


@pytest.mark.parametrize("device, compiled, vocab_pad", [("cuda", True, 64), ("cpu", False, 1)])
def test_gpt2_presets_on_cuda_pad_the_vocabulary_and_compile(device, compiled, vocab_pad):
    for preset in ("gpt2", "gpt2-xl"):
        cfg = resolve_config({"preset": preset, "device": "auto"}, has_cuda=lambda: device == "cuda")
        assert (cfg.compile, cfg.vocab_pad) == (compiled, vocab_pad)
    given = resolve_config({"preset": "gpt2", "device": "cuda", "compile": False, "vocab_pad": "false"})
    assert (given.compile, given.vocab_pad) == (False, 1)  # what is given is obeyed
    other = resolve_config({"preset": "shakespeare-char-gpu", "device": "cuda"})
    assert (other.compile, other.vocab_pad) == (False, 1)


def test_a_gpt2_run_fits_its_micro_batch_to_free_memory_and_says_so(home, text_file, monkeypatch):
    """On CUDA dev.free_memory is the driver's figure; here it is injected (CPU: None)."""
    from labs.gpt.data import load_data
    from labs.gpt.memory import MEMORY_SHARE, peak_bytes

    settings = tiny_settings(text_file, preset="gpt2", max_iters=1, total_batch_size=16 * 32)
    del settings["batch_size"]  # left to the preset (16), so the lab may fit it
    cfg = resolve_config(settings)
    cfg.dtype = "fp32"  # as the CPU resolves auto
    vocab = load_data("char", str(text_file), cfg.max_bytes, cfg.val_fraction).codec.vocab_size
    between_4_and_8 = (peak_bytes(cfg, 4, vocab) + peak_bytes(cfg, 8, vocab)) / 2 / MEMORY_SHARE
    monkeypatch.setattr(dev, "free_memory", lambda device: int(between_4_and_8))
    run_dir = run_inline(home, settings)
    resolved = events(run_dir, "start")[0]["config"]
    assert (resolved["batch_size"], resolved["gradient_accumulation_steps"]) == (4, 4)
    assert resolved["total_batch_size"] == 16 * 32  # the tokens a step are kept
    (line,) = [e["message"] for e in events(run_dir, "log") if e["message"].startswith("batch_size")]
    assert line.startswith("batch_size 4, not the preset's 16: ~") and "(8 needs ~" in line
    assert line.endswith("4 micro-batch(es) a step keep total_batch_size 512")
    # a batch_size given is never changed, whatever the free memory
    given = run_inline(home, {**settings, "batch_size": 16})
    assert events(given, "start")[0]["config"]["batch_size"] == 16
    assert not [e for e in events(given, "log") if e["message"].startswith("batch_size")]


def test_a_step_that_reads_much_of_the_corpus_warns(home, text_file, capsys):
    big = run_inline(home, tiny_settings(text_file, max_iters=1, batch_size=16, block_size=64))
    logs = [e["message"] for e in events(big, "log")]
    assert any("of the" in m and "training tokens" in m and ".bin token shards" in m for m in logs)
    assert "warning: one step reads" in capsys.readouterr().err
    small = run_inline(home, tiny_settings(text_file, max_iters=1, batch_size=2, block_size=16))
    assert not any("training tokens" in e["message"] for e in events(small, "log"))


# -- resume -----------------------------------------------------------------------------


def test_resume_applies_this_runs_fused_adamw(home, text_file, monkeypatch):
    from labs.gpt.model import fused_adamw_available

    if not fused_adamw_available("cpu"):
        pytest.skip("no fused AdamW for the CPU in this torch")
    first = run_inline(home, tiny_settings(text_file, max_iters=2, fused_adamw=False))
    seen = {}
    real = Trainer.train

    def train(self):
        seen["fused"] = [g["fused"] for g in self.optimizer.param_groups]
        seen["ckpt"] = self.ckpt
        return real(self)

    monkeypatch.setattr(Trainer, "train", train)
    run_inline(home, {"resume": first.name, "max_iters": 3, "fused_adamw": True})
    assert seen["fused"] and all(seen["fused"])
    assert seen["ckpt"] is None  # the loaded checkpoint is dropped once restored


# -- DDP workers --------------------------------------------------------------------------

CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
from labs.gpt.procs import die_with_parent
assert die_with_parent()
print(os.getpid(), flush=True)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {child!r}], stdout=subprocess.PIPE, text=True,
                         start_new_session=True)   # as torchrun starts a worker
print(child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_dies_when_its_parent_is_killed():
    root = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(child=CHILD.format(root=root))],
        stdout=subprocess.PIPE,
        text=True,
    )
    child_pid = int(parent.stdout.readline())
    assert alive(child_pid)
    parent.kill()  # SIGKILL: the parent cannot pass anything on
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child_pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stop_reaches_workers_in_their_own_process_groups(tmp_path):
    run_dir = tmp_path / "gpt-run"
    run_dir.mkdir()
    worker = subprocess.Popen(
        [sys.executable, "-c", "import time, sys; time.sleep(60)", str(run_dir)], start_new_session=True
    )
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        folder = run_dir / procs.WORKERS_DIR
        folder.mkdir()
        (folder / "rank0.pid").write_text(str(worker.pid))
        (folder / "rank1.pid").write_text(str(stranger.pid))  # a pid not running this run
        deadline = time.monotonic() + 10
        while procs.worker_pids(run_dir) != [worker.pid] and time.monotonic() < deadline:
            time.sleep(0.05)  # a loaded machine: the worker may not have exec'd python yet
        assert procs.worker_pids(run_dir) == [worker.pid]
        assert procs.signal_workers(run_dir, signal.SIGTERM) == 1
        assert worker.wait(timeout=10) == -signal.SIGTERM
        assert stranger.poll() is None
    finally:
        for p in (worker, stranger):
            p.kill()
            p.wait()


# -- the ladder -------------------------------------------------------------------------


def test_ladder_mfu_is_against_the_bf16_peak_for_every_rung():
    h100 = "NVIDIA H100 80GB HBM3"
    assert ladder.ladder_peak(h100) == peak_flops(h100, "bf16") == 989.4e12
    assert ladder.ladder_peak(None) is None
    assert "bf16" in " ".join(ladder.COLUMNS)


def fake_rungs(monkeypatch, fail: set[str]):
    """time_rung that records each rung's settings and fails for the names in `fail`."""
    seen = {}

    def time_rung(shape, s, device, steps, warmup, seed, on_step):
        name = next(
            r.name
            for r in reversed(ladder.RUNGS)
            if all(s[k] == v for k, v in r.setting.items()) and r.name not in seen
        )
        seen[name] = dict(s)
        if name in fail:
            raise RuntimeError("Inductor: no working C compiler")
        return {
            "status": "ok",
            "ms_per_step": 10.0,
            "tok_per_s": 100.0,
            "mfu": None,
            "loss": 1.0,
            "peak_mem_mb": None,
        }

    monkeypatch.setattr(ladder, "time_rung", time_rung)
    return seen


def ladder_rows(home, **settings):
    return {r["rung"]: r for r in json.loads((ladder_run(home, **settings) / "ladder.json").read_text())}


def test_a_failed_rung_is_dropped_for_the_rungs_after_it(home, monkeypatch):
    monkeypatch.setattr(ladder, "missing_prerequisites", lambda device: {})
    seen = fake_rungs(monkeypatch, fail={"compile"})
    rows = ladder_rows(home, rungs="fp32,tf32,compile,flash,vocab")
    assert rows["compile"]["status"].startswith("failed: RuntimeError: Inductor")
    assert "later rungs run without this change" in rows["compile"]["status"]
    assert seen["flash"]["compile"] is False and seen["vocab"]["compile"] is False
    assert seen["vocab"]["attention"] == "sdpa"  # the changes that ran are kept
    assert rows["flash"]["status"] == "ok (without compile)"


def test_a_missing_prerequisite_skips_its_rung_before_anything_runs(home, monkeypatch):
    monkeypatch.setattr(
        ladder, "missing_prerequisites", lambda device: {"compile": "torch.compile on CUDA needs Triton"}
    )
    seen = fake_rungs(monkeypatch, fail=set())
    rows = ladder_rows(home, rungs="fp32,compile,flash")
    assert rows["compile"]["status"] == "skipped: torch.compile on CUDA needs Triton"
    assert "compile" not in seen and seen["flash"]["compile"] is False
    assert rows["flash"]["status"] == "ok (without compile)"


def test_compile_prerequisites_name_what_is_missing(monkeypatch):
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    assert "C++ compiler" in dev.compile_missing("cpu")
    monkeypatch.setattr(dev.importlib.util, "find_spec", lambda name: None)
    assert "Triton" in dev.compile_missing("cuda")
    monkeypatch.setattr(dev.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert dev.compile_missing("cpu") is None


# -- a DDP run's stop, end to end (gloo on the CPU) ----------------------------------------


def children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def start_ddp(home, text_file):
    from tests.labs.test_gpt_run import _wait_for, start_process

    run_dir, proc = start_process(
        home, tiny_settings(text_file, max_iters=100_000, nproc=2, total_batch_size=2 * 4 * 32)
    )
    _wait_for(run_dir, "step", proc)
    workers = procs.worker_pids(run_dir)
    assert len(workers) == 2 and all(alive(p) for p in workers)
    return run_dir, proc, workers


def wait_gone(pids: list[int], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stop_to_the_launcher_alone_stops_every_worker_at_one_step(home, text_file):
    run_dir, proc, workers = start_ddp(home, text_file)
    proc.send_signal(signal.SIGTERM)  # the launcher only: not torchrun, not the workers' groups
    assert proc.wait(timeout=120) == 0
    assert wait_gone(workers)
    end = events(run_dir, "end")[-1]
    assert end["status"] == "stopped"
    assert events(run_dir, "checkpoint")[-1]["step"] == end["summary"]["steps"]
    assert not list((run_dir / procs.WORKERS_DIR).glob("*.pid"))  # each worker removed its pid file


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_when_torchrun_is_killed(home, text_file):
    run_dir, proc, workers = start_ddp(home, text_file)
    (torchrun,) = children(proc.pid)
    os.kill(torchrun, signal.SIGKILL)  # as `lab stop` does 30 s after SIGTERM, or the OOM killer
    assert wait_gone(workers)
    proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stop_to_one_worker_alone_stops_both_at_one_step(home, text_file):
    """Rank 0 is never signalled: it learns of rank 1's stop in the step's all-reduce. Had the
    two stopped at different steps, one would wait for the other forever (no exit 0)."""
    run_dir, proc, workers = start_ddp(home, text_file)
    rank1 = int((run_dir / procs.WORKERS_DIR / "rank1.pid").read_text())
    os.kill(rank1, signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    assert wait_gone(workers)
    end = events(run_dir, "end")[-1]
    assert end["status"] == "stopped"
    steps = end["summary"]["steps"]
    assert events(run_dir, "step")[-1]["step"] == steps < 100_000
    assert events(run_dir, "checkpoint")[-1]["step"] == steps


# -- one all-reduce a step (the DDP code path in one gloo process) --------------------------


@pytest.fixture
def one_process_ddp(tmp_path, monkeypatch):
    """Trainers take the DDP code path (DDP wrap, the step's all-reduce) in a gloo group of
    one process; returns the all-reduces made, each as the trainer's step when it was made."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    calls: list[int] = []
    real_setup, real_all_reduce, current = Trainer.setup, dist.all_reduce, {}

    def setup(self):
        self.ddp = True
        current["trainer"] = self
        real_setup(self)

    def all_reduce(tensor, *args, **kwargs):
        calls.append(current["trainer"].step)
        return real_all_reduce(tensor, *args, **kwargs)

    monkeypatch.setattr(Trainer, "setup", setup)
    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    try:
        yield calls
    finally:
        dist.destroy_process_group()


def test_ddp_makes_one_all_reduce_a_step(home, text_file, one_process_ddp):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=4, eval_interval=2, eval_iters=1))
    assert events(run_dir, "eval")  # the guard judged val losses too, without a collective of its own
    # made during steps 1..4 (the trainer counts a step once it is done)
    assert one_process_ddp == [0, 1, 2, 3]
    assert events(run_dir, "end")[-1]["status"] == "done"


def ask_to_stop_during_step(monkeypatch, step: int):
    """SIGTERM as it lands during `step` (1-based), before the step's all-reduce."""
    real = Trainer._all_reduce_step

    def all_reduce_step(self, loss_sum):
        if self.step + 1 == step:
            self.ctx.stop_requested = True
        return real(self, loss_sum)

    monkeypatch.setattr(Trainer, "_all_reduce_step", all_reduce_step)


def test_ddp_stops_after_the_step_that_carried_the_stop(home, text_file, one_process_ddp, monkeypatch):
    ask_to_stop_during_step(monkeypatch, 3)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=50))
    assert [s["step"] for s in events(run_dir, "step")] == [1, 2, 3]
    end = events(run_dir, "end")[-1]
    assert (end["status"], end["summary"]["steps"]) == ("stopped", 3)
    assert events(run_dir, "checkpoint")[-1]["step"] == 3


def stop_before_training(monkeypatch):
    real = Trainer.train

    def train(self):
        self.ctx.stop_requested = True
        return real(self)

    monkeypatch.setattr(Trainer, "train", train)


def test_a_stop_before_the_first_step_costs_one_process_no_step(home, text_file, monkeypatch):
    stop_before_training(monkeypatch)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=50))
    assert not events(run_dir, "step") and events(run_dir, "end")[-1]["status"] == "stopped"


def test_a_stop_before_the_first_step_costs_ddp_one_step(home, text_file, one_process_ddp, monkeypatch):
    stop_before_training(monkeypatch)  # the flag travels with the first step's all-reduce
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=50))
    assert [s["step"] for s in events(run_dir, "step")] == [1]
    assert events(run_dir, "end")[-1]["status"] == "stopped"


def test_ddp_ends_diverged_one_step_after_rank_0s_verdict(home, text_file, one_process_ddp, monkeypatch):
    poison_losses_from(monkeypatch, 5)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=20, checkpoint_interval=2))
    end = events(run_dir, "end")[-1]
    assert (end["status"], end["reason"]) == ("diverged", "loss is nan at step 5")
    assert [s["step"] for s in events(run_dir, "step")] == [1, 2, 3, 4, 5, 6]  # 6 told the others
    assert end["summary"]["last_good_checkpoint_step"] == 4  # not 6: nothing saved after the verdict
    assert torch.load(run_dir / "ckpt.pt", weights_only=True)["step"] == 4
    assert len(one_process_ddp) == 6


# -- fp16's skipped steps, dropout per rank -------------------------------------------------


def test_steps_the_loss_scaler_skips_say_skipped(home, text_file, monkeypatch):
    """fp16 needs CUDA; the scaler's bookkeeping is the same on the CPU: a scale so large that
    the scaled gradients overflow makes the scaler skip the update and halve the scale."""
    real = Trainer._build_optimizer

    def build(self):
        real(self)
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)

    monkeypatch.setattr(Trainer, "_build_optimizer", build)
    steps = events(run_inline(home, tiny_settings(text_file, max_iters=40)), "step")
    skipped = [s["step"] for s in steps if s.get("skipped")]
    assert skipped[:2] == [1, 2]  # 2**127 and 2**126 overflow; then the scale fits (mostly)
    assert len(skipped) < 20 and steps[-1]["loss"] < steps[0]["loss"]
    assert all(isinstance(s.get("skipped", False), bool) for s in steps)


def test_each_rank_draws_its_own_dropout_and_rank_0_the_seeds():
    def draws(rank: int, step: int = 0) -> torch.Tensor:
        trainer = Trainer.__new__(Trainer)
        trainer.cfg, trainer.rank, trainer.step, trainer.device_type = (
            resolve_config({"device": "cpu"}),
            rank,
            step,
            "cpu",
        )
        torch.manual_seed(trainer.cfg.seed)
        trainer._seed_dropout_per_rank()
        return torch.rand(4)

    torch.manual_seed(resolve_config({"device": "cpu"}).seed)
    single = torch.rand(4)
    assert torch.equal(draws(0), single)  # rank 0 draws as one process does
    assert not torch.equal(draws(1), draws(0))
    assert not torch.equal(draws(1), draws(2))
    assert not torch.equal(draws(1, step=5), draws(1))  # a resumed rank does not repeat its masks


def test_text_is_tokenized_once_before_the_ddp_workers_start(home, text_file, monkeypatch):
    import labs.gpt.run as gpt_run

    seen = {}

    def launch(ctx, nproc, module):
        seen["cached"] = sorted(p.name for p in (home / "cache" / "tokens").glob("*.bin"))
        return 1

    monkeypatch.setattr(gpt_run, "launch_ddp", launch)
    run_dir = new_run(home, tiny_settings(text_file, nproc=2))
    assert main([str(run_dir)]) == 1
    assert len(seen["cached"]) == 1  # the workers find the tokens ready
