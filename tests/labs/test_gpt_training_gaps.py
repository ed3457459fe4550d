"""What the GPT training loop tells a learner, pinned where a mutation run found it unchecked:
the end summary, the checkpoint event, resume by folder, the guard's patience, one-line
out-of-memory advice, and sample mode's summary."""

from __future__ import annotations

import json
import math
import time
from dataclasses import fields

import pytest
import torch

from labs.common.runctx import SettingError
from labs.gpt.config import MANIFEST, TrainConfig
from labs.gpt.run import main
from labs.gpt.train import Trainer, config_for_resume
from tests.labs.test_gpt_run import events, new_run, run_inline, tiny_settings


def fake_losses(monkeypatch, loss_at) -> None:
    """Train for real, but report `loss_at(step)` as each step's loss (what the guard sees)."""
    real = Trainer.train_step

    def train_step(self):
        _, norm, lr = real(self)
        return loss_at(self.step), norm, lr

    monkeypatch.setattr(Trainer, "train_step", train_step)


def test_the_manifest_names_exactly_the_training_configs_fields():
    """config_for_resume relies on it: every setting a user gives is a TrainConfig field."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    names = manifest["settings"].keys() if isinstance(manifest["settings"], dict) else None
    names = names or [s["name"] for s in manifest["settings"]]
    assert set(names) <= {f.name for f in fields(TrainConfig)}


def test_a_done_run_sums_itself_up(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=4, eval_interval=2))
    (start,) = events(run_dir, "start")
    assert start["total"] == 4
    vals = [e["val_loss"] for e in events(run_dir, "eval")]
    assert len(vals) == 2
    end = events(run_dir, "end")[-1]
    assert end["status"] == "done"
    summary = end["summary"]
    assert summary["steps"] == 4
    assert summary["loss"] == events(run_dir, "step")[-1]["loss"]
    assert summary["val_loss"] == vals[-1]
    assert summary["best_val_loss"] == min(vals)
    assert events(run_dir, "checkpoint")[-1] == {
        **events(run_dir, "checkpoint")[-1],
        "step": 4,
        "path": "ckpt.pt",
    }


def test_each_steps_time_is_its_own(home, text_file):
    t0 = time.perf_counter()
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=3))
    wall_ms = (time.perf_counter() - t0) * 1000
    for step in events(run_dir, "step"):
        assert 0 < step["dt_ms"] < wall_ms
        assert step["tok_per_s"] == pytest.approx(4 * 32 / (step["dt_ms"] / 1000))


def test_a_given_eval_interval_is_kept(home, text_file):
    """eval_interval=1000 given: no eval before the last step, whatever the run's length."""
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=20, eval_interval=1000))
    assert [e["step"] for e in events(run_dir, "eval")] == [20]


def test_resume_keeps_the_best_val_loss_it_had(home, text_file, monkeypatch):
    first = run_inline(home, tiny_settings(text_file, max_iters=4, eval_interval=2))
    best = min(e["val_loss"] for e in events(first, "eval"))
    assert torch.load(first / "ckpt.pt", weights_only=True)["best_val_loss"] == best
    # the resumed run's evals are all worse: its best is still the first run's
    monkeypatch.setattr(Trainer, "estimate_loss", lambda self: {"train": 99.0, "val": 99.0})
    resumed = run_inline(home, {"resume": first.name, "max_iters": 6, "device": "cpu"})
    summary = events(resumed, "end")[-1]["summary"]
    assert summary["val_loss"] == 99.0 and summary["best_val_loss"] == best


def test_sample_takes_a_run_folder_as_its_checkpoint(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=2))
    sampled = run_inline(
        home, {"mode": "sample", "checkpoint": str(trained), "num_samples": 2, "max_new_tokens": 3}
    )
    assert len(events(sampled, "sample")) == 2
    assert events(sampled, "end")[-1]["summary"] == {"samples": 2, "step": 2}


def refused(home, settings) -> str:
    run_dir = new_run(home, settings)
    with pytest.raises(SystemExit) as exit_info:
        main([str(run_dir)])
    assert exit_info.value.code == 2
    return events(run_dir, "error")[-1]["message"]


def test_no_checkpoint_names_what_it_looked_for(home, text_file):
    unsaved = new_run(home, tiny_settings(text_file))  # a run that never wrote a checkpoint
    message = refused(home, {"mode": "sample", "resume": unsaved.name})
    assert message == f"no checkpoint for {unsaved.name!r} (looked for {unsaved / 'ckpt.pt'})"


def test_an_unreadable_checkpoint_names_the_error(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    (trained / "ckpt.pt").write_bytes(b"not a zip")
    message = refused(home, {"mode": "sample", "resume": trained.name})
    assert message.startswith(f"cannot read checkpoint {trained / 'ckpt.pt'}: ")
    assert "NoneType" not in message and "Error" in message.split(": ")[1]


def test_out_of_memory_is_one_line_that_says_what_to_change(home, text_file, monkeypatch):
    real = Trainer.train_step

    def train_step(self):
        if self.step == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self)

    monkeypatch.setattr(Trainer, "train_step", train_step)
    message = refused(home, tiny_settings(text_file, max_iters=5))
    assert message == (
        "out of memory in step 3 with batch_size=4, block_size=32: lower batch_size "
        "(total_batch_size keeps the tokens per step)"
    )


def test_a_few_bad_steps_are_not_a_divergence(home, text_file, monkeypatch):
    """The guard waits 100 steps above 2x the best loss; NaN alone is at once."""
    fake_losses(monkeypatch, lambda step: 1.0 if step < 3 else 10.0)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=12, warmup_iters=0))
    assert events(run_dir, "end")[-1]["status"] == "done"


def test_staying_far_above_the_best_diverges_after_the_window(home, text_file, monkeypatch):
    fake_losses(monkeypatch, lambda step: 1.0 if step < 3 else 2.5)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=150, warmup_iters=0, eval_interval=1000))
    end = events(run_dir, "end")[-1]
    assert end["status"] == "diverged"
    assert end["reason"] == "loss 2.5 has stayed above 2x its best (1) since step 3"
    assert end["summary"]["steps"] == 102 and end["summary"]["loss"] == 2.5


def test_warm_up_steps_are_not_judged_far_above_the_best(home, text_file, monkeypatch):
    fake_losses(monkeypatch, lambda step: 1.0 if step < 3 else 2.5)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=120, warmup_iters=110, eval_interval=1000))
    assert events(run_dir, "end")[-1]["status"] == "done"


def test_a_diverged_run_reports_its_best_val_loss(home, text_file, monkeypatch):
    fake_losses(monkeypatch, lambda step: 1.0 if step < 4 else math.nan)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=10, eval_interval=2))
    best = min(e["val_loss"] for e in events(run_dir, "eval"))
    end = events(run_dir, "end")[-1]
    assert end["status"] == "diverged"
    assert end["summary"]["steps"] == 4 and end["summary"]["best_val_loss"] == best
    assert "loss" in end["summary"]


def test_resume_skips_unset_settings_but_checks_the_rest():
    cfg = TrainConfig(n_layer=3)
    ckpt_cfg = {**vars(TrainConfig()), "n_layer": 2}
    with pytest.raises(SettingError, match="resume: n_layer comes from the checkpoint"):
        config_for_resume(ckpt_cfg, cfg, {"top_k": None, "n_layer": 3})
    kept = config_for_resume(ckpt_cfg, TrainConfig(max_iters=50), {"top_k": None, "max_iters": 50})
    assert kept.n_layer == 2 and kept.max_iters == 50


def test_every_step_eval_and_sample_carries_its_figures(home, text_file):
    run_dir = run_inline(
        home,
        tiny_settings(
            text_file, max_iters=4, eval_interval=2, sample_interval=4, max_new_tokens=3, prompt="ab"
        ),
    )
    for step in events(run_dir, "step"):
        assert math.isfinite(step["grad_norm"]) and step["grad_norm"] > 0
    for ev in events(run_dir, "eval"):
        assert math.isfinite(ev["val_loss"]) and math.isfinite(ev["train_loss"])
    samples = events(run_dir, "sample")
    assert samples and all(s["prompt"] == "ab" and s["step"] == 4 for s in samples)


def test_a_nan_val_loss_diverges_too(home, text_file, monkeypatch):
    monkeypatch.setattr(Trainer, "estimate_loss", lambda self: {"train": 1.0, "val": math.nan})
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=6, eval_interval=2))
    end = events(run_dir, "end")[-1]
    assert (end["status"], end["reason"]) == ("diverged", "val_loss is nan at step 2")


def test_checkpoints_every_step_and_never_a_suspect_state(home, text_file, monkeypatch):
    fake_losses(monkeypatch, lambda step: 1.0 if step < 3 else 2.5)  # far above the best from 3 on
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=5, warmup_iters=0, checkpoint_interval=1))
    # steps 3 and 4 are suspect: the checkpoint of step 2 stays until the run's own end
    assert [c["step"] for c in events(run_dir, "checkpoint")] == [1, 2, 5]


def test_progress_comes_after_three_steps_then_by_the_clock(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=12))
    done = [p["done"] for p in events(run_dir, "progress")]
    assert done[0] == 3 and done[-1] == 12
    assert len(done) < 12  # not every step: a tiny model's step takes well under a second


def test_a_sampler_state_from_another_device_is_reseeded_and_said(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=2))
    ckpt = torch.load(trained / "ckpt.pt", weights_only=True)
    ckpt["sample_rng"] = torch.zeros(3, dtype=torch.uint8)  # not a CPU generator's state
    torch.save(ckpt, trained / "ckpt.pt")
    resumed = run_inline(home, {"resume": trained.name, "max_iters": 3, "device": "cpu"})
    logs = [e["message"] for e in events(resumed, "log")]
    assert "sampler state from another device: reseeded" in logs
    assert events(resumed, "end")[-1]["status"] == "done"


def test_a_resume_with_nothing_left_to_do_reports_the_checkpoints_loss(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=2))
    last = events(trained, "step")[-1]["loss"]
    resumed = run_inline(home, {"resume": trained.name, "max_iters": 2, "device": "cpu"})
    assert events(resumed, "step") == []
    best = min(e["val_loss"] for e in events(trained, "eval"))
    assert events(resumed, "end")[-1]["summary"] == {
        "steps": 2,
        "loss": last,
        "val_loss": best,
        "best_val_loss": best,
    }


def test_the_start_event_and_log_say_where_the_run_runs_and_from_what(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    assert events(trained, "start")[0]["device"] == "cpu"
    assert any(f"data {text_file}" in e["message"] for e in events(trained, "log"))
    sampled = run_inline(
        home, {"mode": "sample", "resume": trained.name, "num_samples": 1, "max_new_tokens": 2}
    )
    assert any("data checkpoint" in e["message"] for e in events(sampled, "log"))


def test_an_optimizer_state_that_does_not_fit_names_the_checkpoint(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    ckpt = torch.load(trained / "ckpt.pt", weights_only=True)
    ckpt["optimizer"]["param_groups"] = ckpt["optimizer"]["param_groups"][:1]  # one group, not two
    torch.save(ckpt, trained / "ckpt.pt")
    message = refused(home, {"resume": trained.name, "max_iters": 2, "device": "cpu"})
    assert message.startswith(f"checkpoint {trained / 'ckpt.pt'} is damaged or from another version: ")
