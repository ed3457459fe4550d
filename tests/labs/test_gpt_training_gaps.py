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


# -- second pass: what the mutation run of 2026-11-30 still found unchecked ------------------


def test_a_one_step_decay_ends_at_min_lr():
    """lr_decay_iters one step after warm-up: the cosine spans that one step."""
    from labs.gpt.train import get_lr

    cfg = TrainConfig(learning_rate=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=11)
    assert get_lr(10, cfg) == pytest.approx(1.0)
    assert get_lr(11, cfg) == pytest.approx(0.1)


def test_a_planted_pickle_never_runs_even_when_torch_is_told_to_allow_it(home, tmp_path, monkeypatch):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (set to load old checkpoints) turns torch.load's
    default into unpickling anything; the lab asks for weights_only=True itself."""
    from tests.labs.test_gpt_training_checkpoint import Payload

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker, planted = tmp_path / "code-ran", tmp_path / "ckpt.pt"
    contents = {
        "model": {"w": torch.zeros(1)},
        "model_config": {},
        "config": {"x": Payload(marker)},
        "tokenizer": {"kind": "char", "chars": "ab"},
    }
    torch.save(contents, planted)
    message = refused(home, {"mode": "sample", "checkpoint": str(planted)})
    assert not marker.exists()
    assert message.startswith(f"{planted} is not a checkpoint of the GPT lab")


def test_a_run_stopped_before_its_first_step_sums_up_nothing(home, text_file, monkeypatch):
    from tests.labs.test_gpt_gpu_ready import stop_before_training

    stop_before_training(monkeypatch)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=5))
    end = events(run_dir, "end")[-1]
    assert (end["status"], end["summary"]) == ("stopped", {"steps": 0, "loss": None})


def test_a_run_that_diverges_before_any_checkpoint_points_at_none(home, text_file, monkeypatch):
    fake_losses(monkeypatch, lambda step: 1.0 if step < 2 else math.nan)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=5))
    end = events(run_dir, "end")[-1]
    assert end["status"] == "diverged"
    assert end["summary"]["last_good_checkpoint_step"] is None
    assert events(run_dir, "checkpoint") == []


def test_a_checkpoint_of_only_the_required_fields_samples_as_step_0(home, text_file, tmp_path):
    """e.g. weights shared without the training state: no step recorded, so step 0."""
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    ckpt = torch.load(trained / "ckpt.pt", weights_only=True)
    slim = tmp_path / "slim.pt"
    torch.save({k: ckpt[k] for k in ("model", "model_config", "config", "tokenizer")}, slim)
    sampled = run_inline(
        home, {"mode": "sample", "checkpoint": str(slim), "num_samples": 1, "max_new_tokens": 2}
    )
    assert [s["step"] for s in events(sampled, "sample")] == [0]
    assert events(sampled, "end")[-1]["summary"] == {"samples": 1, "step": 0}


def damage(run_dir, edit) -> None:
    ckpt = torch.load(run_dir / "ckpt.pt", weights_only=True)
    edit(ckpt)
    torch.save(ckpt, run_dir / "ckpt.pt")


@pytest.mark.parametrize(
    "edit, settings",
    [
        (lambda c: c["tokenizer"].pop("chars"), {"mode": "sample"}),
        (lambda c: c["model"].pop("transformer.wte.weight"), {"mode": "sample"}),
        (lambda c: c["config"].update(n_layer=torch.zeros(2)), {"n_layer": 2, "device": "cpu"}),
    ],
    ids=["tokenizer", "weights", "config"],
)
def test_each_damaged_part_of_a_checkpoint_names_the_file(home, text_file, edit, settings):
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    damage(trained, edit)
    message = refused(home, {"resume": trained.name, **settings})
    assert message.startswith(f"checkpoint {trained / 'ckpt.pt'} is damaged or from another version: ")


def test_a_prompt_is_not_checked_when_nothing_is_sampled(home, text_file):
    """sample_interval=0: a prompt with characters the char tokenizer lacks does no harm."""
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=1, prompt="\u2603"))
    assert events(run_dir, "end")[-1]["status"] == "done"


def test_resume_reads_changed_data_with_the_checkpoints_tokenizer(home, tmp_path):
    """The data lost some characters since: the ids must keep their meaning (the run's
    tokenizer), not be renumbered by a tokenizer built from the new text."""
    data = tmp_path / "data.txt"
    text = "the quick brown fox jumps over the lazy dog. " * 40
    data.write_text(text, encoding="utf-8")
    first = run_inline(home, tiny_settings(data, max_iters=1))
    data.write_text(text.replace("q", "").replace("z", ""), encoding="utf-8")
    resumed = run_inline(home, {"resume": first.name, "max_iters": 2, "device": "cpu"})
    tokenizer = torch.load(resumed / "ckpt.pt", weights_only=True)["tokenizer"]
    assert tokenizer == torch.load(first / "ckpt.pt", weights_only=True)["tokenizer"]
    assert "q" in tokenizer["chars"]


EPOCH_ADVICE = (
    "so the model will memorize this corpus; give more data, e.g. data=DIR of uint16 .bin token "
    "shards (nanoGPT's prepare.py or llm.c's fineweb.py make them)"
)


def test_the_small_corpus_warning_in_full(home, text_file):
    """val_fraction=0.5: the warning counts the training half, and the epochs it makes."""
    from labs.gpt.data import load_data

    train = len(load_data("char", str(text_file), TrainConfig().max_bytes, 0.5).train)
    run_dir = run_inline(
        home, tiny_settings(text_file, max_iters=3, batch_size=16, block_size=64, val_fraction=0.5)
    )
    share = 16 * 64 / train
    assert 0.05 < share < 0.5
    expected = (
        f"one step reads {share:.0%} of the {train:,} training tokens: "
        f"{3 * share:,.0f} epochs in 3 steps, {EPOCH_ADVICE}"
    )
    assert expected in [e["message"] for e in events(run_dir, "log")]


def test_a_step_of_exactly_the_warning_share_does_not_warn(home, tmp_path):
    from labs.gpt.data import load_data

    def run(chars: int) -> tuple[int, bool]:
        data = tmp_path / f"data{chars}.txt"
        data.write_text(("abcdefghij" * 400)[:chars], encoding="utf-8")
        train = len(load_data("char", str(data), TrainConfig().max_bytes, 0.1).train)
        run_dir = run_inline(home, tiny_settings(data, max_iters=1))  # 4 x 32 = 128 tokens a step
        return train, any("training tokens" in e["message"] for e in events(run_dir, "log"))

    assert run(2844) == (2560, False)  # 128 / 2560: exactly 5%
    assert run(2843) == (2559, True)  # just over


def optimizer_fused_flags(monkeypatch) -> dict:
    """The `fused` flag of every optimizer group as training starts."""
    seen = {}
    real = Trainer.train

    def train(self):
        seen["fused"] = [g.get("fused") for g in self.optimizer.param_groups]
        return real(self)

    monkeypatch.setattr(Trainer, "train", train)
    return seen


def test_fused_adamw_unset_means_where_the_device_has_it_on_start_and_resume(home, text_file, monkeypatch):
    from labs.gpt.model import fused_adamw_available

    if not fused_adamw_available("cpu"):
        pytest.skip("no fused AdamW for the CPU in this torch")
    seen = optimizer_fused_flags(monkeypatch)
    first = run_inline(home, tiny_settings(text_file, max_iters=1))
    assert seen["fused"] == [True, True]
    run_inline(home, {"resume": first.name, "max_iters": 2, "device": "cpu"})
    assert seen["fused"] == [True, True]
    run_inline(home, {"resume": first.name, "max_iters": 2, "device": "cpu", "fused_adamw": False})
    assert seen["fused"] == [False, False]


def test_fused_adamw_refused_where_this_torch_lacks_it(home, text_file, monkeypatch):
    monkeypatch.setattr("labs.gpt.train.fused_adamw_available", lambda device_type: False)
    message = refused(home, tiny_settings(text_file, fused_adamw=True))
    assert message == "fused_adamw: this torch has no fused AdamW for cpu"


def fake_fp16_on_the_cpu(monkeypatch, init_scale: float = 2.0**127) -> None:
    """dtype=fp16 as on a GPU (a GradScaler, its skipped steps), computed in fp32 on the CPU."""
    from contextlib import nullcontext

    from labs.gpt import device as dev

    real_scaler = torch.amp.GradScaler
    monkeypatch.setattr(dev, "check_precision", lambda *a, **kw: None)
    monkeypatch.setattr(dev, "autocast", lambda device, dtype: nullcontext())
    monkeypatch.setattr(
        torch.amp, "GradScaler", lambda device="cuda", **kw: real_scaler("cpu", init_scale=init_scale)
    )


def skipped_steps(run_dir) -> list[int]:
    return [s["step"] for s in events(run_dir, "step") if s.get("skipped")]


def test_fp16_resume_restores_the_loss_scale(home, text_file, monkeypatch):
    """A resumed fp16 run goes on with the saved scale, not the initial one: its steps skip
    (or not) as the unbroken run's do, and the checkpoint holds the scale."""
    fake_fp16_on_the_cpu(monkeypatch)
    settings = tiny_settings(text_file, dtype="fp16", warmup_iters=0, lr_decay_iters=4)
    unbroken = run_inline(home, {**settings, "max_iters": 4})
    first = run_inline(home, {**settings, "max_iters": 2})
    assert skipped_steps(first) == [1, 2]  # 2**127 and 2**126 overflow
    assert torch.load(first / "ckpt.pt", weights_only=True)["scaler"]["scale"] == 2.0**125
    resumed = run_inline(home, {"resume": first.name, "max_iters": 4, "device": "cpu"})
    assert skipped_steps(resumed) == [s for s in skipped_steps(unbroken) if s > 2]
    assert 3 not in skipped_steps(resumed)


def test_a_skipped_step_is_not_judged_even_with_an_infinite_loss(home, text_file, monkeypatch):
    real = Trainer.train_step

    def train_step(self):
        loss, norm, lr = real(self)
        if self.step == 2:
            self.skipped = True  # fp16 overflowed: the scaler skipped this update
            return math.inf, norm, lr
        return loss, norm, lr

    monkeypatch.setattr(Trainer, "train_step", train_step)
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=4))
    assert events(run_dir, "end")[-1]["status"] == "done"


def test_a_cpu_checkpoint_holds_every_part_and_the_models_shape(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=1, bias=False, dropout=0.1))
    ckpt = torch.load(run_dir / "ckpt.pt", weights_only=True)
    assert set(ckpt) == {
        "model",
        "optimizer",
        "model_config",
        "config",
        "step",
        "loss",
        "best_val_loss",
        "tokenizer",
        "data_rng",
        "torch_rng",
        "cuda_rng",
        "sample_rng",
        "scaler",
    }
    assert ckpt["cuda_rng"] is None and ckpt["scaler"] is None  # no CUDA, no fp16
    assert ckpt["model_config"]["bias"] is False and ckpt["model_config"]["dropout"] == 0.1
    assert not [k for k in ckpt["model"] if k.endswith(".bias")]


def test_bf16_on_the_cpu_trains(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=1, dtype="bf16"))
    (step,) = events(run_dir, "step")
    assert math.isfinite(step["loss"]) and events(run_dir, "start")[0]["config"]["dtype"] == "bf16"


def no_cpp_compiler(monkeypatch) -> None:
    from labs.gpt import device as dev

    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)  # never Inductor here


def test_compile_given_without_a_compiler_is_refused_in_one_line(home, text_file, monkeypatch):
    no_cpp_compiler(monkeypatch)
    message = refused(home, tiny_settings(text_file, compile=True))
    assert message == "compile: torch.compile on the CPU needs a C++ compiler (install g++ or clang)"


def test_compile_by_default_without_a_compiler_is_turned_off_and_said(home, text_file, monkeypatch):
    """compile on by a preset's default (the gpt2 presets on CUDA), not given: run without."""
    from labs.common.runctx import RunContext
    from labs.gpt.config import resolve_config

    no_cpp_compiler(monkeypatch)
    run_dir = new_run(home, tiny_settings(text_file, max_iters=2))
    with RunContext.from_argv("gpt", [str(run_dir)]) as ctx:
        cfg = resolve_config(ctx.settings)
        cfg.compile = True  # as resolve_config sets it for gpt2 on CUDA
        trainer = Trainer(cfg, ctx, ctx.given)
        trainer.setup()
        trainer.train()
    assert events(run_dir, "start")[0]["config"]["compile"] is False
    logs = [e["message"] for e in events(run_dir, "log")]
    assert "compile off: torch.compile on the CPU needs a C++ compiler (install g++ or clang)" in logs
    assert not [s for s in events(run_dir, "step") if s.get("warmup")]


def test_resume_says_where_it_resumed_and_keeps_the_tokens_per_step(home, text_file):
    first = run_inline(home, tiny_settings(text_file, max_iters=2, total_batch_size=2 * 4 * 32))
    resumed = run_inline(home, {"resume": first.name, "max_iters": 3, "device": "cpu"})
    assert "resumed at step 2" in [e["message"] for e in events(resumed, "log")]
    config = events(resumed, "start")[0]["config"]
    assert (config["total_batch_size"], config["gradient_accumulation_steps"]) == (256, 2)


def test_the_log_counts_the_models_parameters(home, text_file):
    from labs.gpt.model import GPT, GPTConfig

    run_dir = run_inline(home, tiny_settings(text_file, max_iters=1))
    model_config = torch.load(run_dir / "ckpt.pt", weights_only=True)["model_config"]
    n = GPT(GPTConfig(**model_config)).get_num_params()
    assert any(e["message"].startswith(f"{n / 1e6:.2f}M parameters, ") for e in events(run_dir, "log"))


def test_the_last_step_samples_whatever_the_interval(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=5, sample_interval=2, max_new_tokens=2))
    assert [s["step"] for s in events(run_dir, "sample")] == [2, 4, 5]


def test_samples_in_training_come_from_their_own_generator_seeded_from_the_seed(home, text_file):
    """Anyone can regenerate a training run's samples from its checkpoint: the text sampler
    is a generator of its own, seeded with seed + 2 (the data sampler and dropout have theirs)."""
    from labs.gpt.data import codec_from_state
    from labs.gpt.model import GPT, GPTConfig

    run_dir = run_inline(
        home,
        tiny_settings(
            text_file, max_iters=2, sample_interval=2, max_new_tokens=6, num_samples=2, prompt="de"
        ),
    )
    ckpt = torch.load(run_dir / "ckpt.pt", weights_only=True)  # the weights that sampled at step 2
    model = GPT(GPTConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    cfg, codec = ckpt["config"], codec_from_state(ckpt["tokenizer"])
    generator = torch.Generator().manual_seed(cfg["seed"] + 2)
    x = torch.tensor([codec.encode("de")])
    expected = [
        codec.decode(
            model.generate(x, 6, cfg["temperature"], cfg["top_k"], cfg["top_p"], generator=generator)[
                0, 2:
            ].tolist()
        )
        for _ in range(2)
    ]
    assert [s["text"] for s in events(run_dir, "sample")] == expected


def test_an_empty_prompt_starts_from_id_0_without_a_document_separator(home, tmp_path):
    """The char tokenizer has no separator: an empty prompt starts from its first character.
    The data makes each character predict the next, so the start shows in the greedy text."""
    data = tmp_path / "abc.txt"
    data.write_text("abcdefghij" * 300, encoding="utf-8")
    trained = run_inline(home, tiny_settings(data, max_iters=12, learning_rate=2e-2))

    def greedy(prompt: str) -> str:
        settings = {"mode": "sample", "checkpoint": str(trained), "max_new_tokens": 4, "temperature": 0.0}
        return events(run_inline(home, {**settings, "prompt": prompt}), "sample")[0]["text"]

    assert greedy("") == greedy("a") == "bcde"


# -- the ETA, on a clock the test owns ---------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def costs_on_a_fake_clock(monkeypatch, step_s, eval_s, sample_s, checkpoint_s) -> None:
    """The loop's clock moves only when a step, eval, sample or checkpoint runs, by its cost."""
    import labs.gpt.train as train_module

    clock = FakeClock()
    monkeypatch.setattr(train_module, "time", clock)

    def costing(name, seconds):
        real = getattr(Trainer, name)

        def run(self, *args):
            result = real(self, *args)
            clock.now += seconds
            return result

        monkeypatch.setattr(Trainer, name, run)

    costing("train_step", step_s)
    costing("estimate_loss", eval_s)
    costing("sample", sample_s)
    costing("save_checkpoint", checkpoint_s)


def test_progress_eta_counts_steps_reports_and_overhead_left(home, text_file, monkeypatch):
    """Steps of 0.25 s, evals of 2 s and samples of 1 s at steps 8 and 12, a checkpoint of
    0.5 s at step 10. Progress after 3 steps, then once a second has passed (exactly one,
    at step 7), and at the end. The ETA: steps left at the median step time plus the
    overhead per step so far, plus the evals and samples still due (estimated from the step
    time until one is measured)."""
    costs_on_a_fake_clock(monkeypatch, step_s=0.25, eval_s=2.0, sample_s=1.0, checkpoint_s=0.5)
    run_dir = run_inline(
        home,
        tiny_settings(
            text_file,
            max_iters=12,
            eval_interval=8,
            sample_interval=8,
            max_new_tokens=2,
            checkpoint_interval=10,
        ),
    )
    progress = events(run_dir, "progress")
    assert [p["done"] for p in progress] == [3, 7, 8, 10, 12]
    assert all((p["total"], p["unit"], p["rate"]) == (12, "steps", 4.0) for p in progress)
    # 3: 9 x 0.25 + 2 evals x (2 x 1 batch x 0.25/3) + 2 samples x (2 tokens x 0.25/3/4)
    # 7: 5 x 0.25 + the same reports; 8: 4 x 0.25 + 2 + 1 (measured now)
    # 10: 2 x (0.25 + 0.5 s of checkpoint over 10 steps) + 2 + 1
    assert [p["eta_s"] for p in progress] == [2.7, 1.7, 4.0, 3.6, 0.0]


# -- init_from: GPT-2 weights from a local folder -------------------------------------------


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    """A tiny random GPT-2 in Hugging Face's layout: 32 positions, GPT-2's 50257 ids."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=50257, initializer_range=0.5
    )
    folder = tmp_path_factory.mktemp("gpt2") / "gpt2-random"
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def test_training_from_gpt2_weights_takes_this_runs_padding_attention_and_dropout(
    home, text_file, gpt2_folder
):
    settings = tiny_settings(text_file, tokenizer="gpt2", init_from=str(gpt2_folder), max_iters=1)
    for key in ("n_layer", "n_head", "n_embd"):
        del settings[key]  # GPT-2's own
    run_dir = run_inline(home, {**settings, "vocab_pad": 64, "attention": "manual", "dropout": 0.1})
    assert events(run_dir, "start")[0]["config"]["vocab_size"] == 50304  # padded from 50257
    model_config = torch.load(run_dir / "ckpt.pt", weights_only=True)["model_config"]
    assert (model_config["vocab_size"], model_config["real_vocab_size"]) == (50304, 50257)
    assert (model_config["attention"], model_config["dropout"]) == ("manual", 0.1)
    assert model_config["block_size"] == 32  # the run's block_size may be all of GPT-2's positions
    # one position more than the weights have is refused before any step
    message = refused(home, {**settings, "block_size": 33})
    assert message == f"block_size 33 is longer than {gpt2_folder}'s 32 positions"


def test_init_from_a_folder_without_weights_is_one_line(home, tmp_path):
    message = refused(home, {"mode": "sample", "init_from": str(tmp_path), "tokenizer": "gpt2"})
    assert message == f"init_from: {tmp_path}: no config.json (expected a Hugging Face GPT-2 folder)"


def test_sampling_from_gpt2_weights_is_step_0_and_counts_its_samples(home, gpt2_folder):
    run_dir = run_inline(
        home,
        {
            "mode": "sample",
            "init_from": str(gpt2_folder),
            "tokenizer": "gpt2",
            "num_samples": 2,
            "max_new_tokens": 2,
        },
    )
    assert events(run_dir, "start")[0]["total"] == 2
    assert [s["step"] for s in events(run_dir, "sample")] == [0, 0]
    assert events(run_dir, "end")[-1]["summary"] == {"samples": 2, "step": 0}


def test_an_empty_prompt_starts_from_the_document_separator(home, gpt2_folder):
    """GPT-2's tokenizer has one (<|endoftext|>): an empty prompt begins a new document."""
    from labs.gpt.data import load_codec
    from labs.gpt.model import GPT

    run_dir = run_inline(
        home,
        {
            "mode": "sample",
            "init_from": str(gpt2_folder),
            "tokenizer": "gpt2",
            "prompt": "",
            "max_new_tokens": 4,
            "temperature": 0.0,
        },
    )
    codec = load_codec("gpt2")
    model = GPT.from_pretrained(gpt2_folder).eval()
    greedy = model.generate(torch.tensor([[codec.eot]]), 4, temperature=0.0)[0, 1:].tolist()
    assert [s["text"] for s in events(run_dir, "sample")] == [codec.decode(greedy)]


def test_a_trainer_given_a_model_that_cannot_be_built_says_why_in_one_line(home, text_file):
    """The lab's settings check ranges first; a caller driving Trainer with its own config
    still gets the model's one-line reason, not a ValueError from inside GPT()."""
    from labs.common.runctx import RunContext
    from labs.gpt.config import resolve_config

    run_dir = new_run(home, tiny_settings(text_file, max_iters=1))
    with RunContext.from_argv("gpt", [str(run_dir)]) as ctx:
        cfg = resolve_config(ctx.settings)
        cfg.dropout = 1.5
        with pytest.raises(SettingError) as refusal:
            Trainer(cfg, ctx, ctx.given).setup()
    assert str(refusal.value) == "dropout must be in [0, 1) (got 1.5)"


def test_the_micro_batch_fit_counts_gpt2s_vocabulary(home, text_file, monkeypatch):
    """With GPT-2's 50257 ids the logits dominate a small model's memory: the fit must
    count them (memory.py), or it picks a micro-batch that does not fit."""
    from labs.gpt import device as dev
    from labs.gpt.config import resolve_config
    from labs.gpt.memory import MEMORY_SHARE, peak_bytes

    settings = tiny_settings(
        text_file, preset="gpt2", tokenizer="gpt2", max_iters=1, total_batch_size=16 * 32
    )
    del settings["batch_size"]  # left to the preset (16), so the lab may fit it
    cfg = resolve_config(settings)
    cfg.dtype = "fp32"  # as the CPU resolves auto
    between_4_and_8 = (peak_bytes(cfg, 4, 50257) + peak_bytes(cfg, 8, 50257)) / 2 / MEMORY_SHARE
    monkeypatch.setattr(dev, "free_memory", lambda device: int(between_4_and_8))
    run_dir = run_inline(home, settings)
    assert events(run_dir, "start")[0]["config"]["batch_size"] == 4


def test_a_given_eval_interval_is_kept_on_a_slow_machine(home, text_file, monkeypatch):
    """Left to the preset, the first eval comes after 15 s by the clock; given, never early,
    however slow the steps (here a clock that jumps a minute each time it is read)."""
    import labs.gpt.train as train_module
    from labs.gpt.cadence import Cadence

    minutes = iter(range(0, 10**6, 60))
    monkeypatch.setattr(
        train_module, "Cadence", lambda cfg, given=None: Cadence(cfg, given, clock=lambda: next(minutes))
    )
    given = run_inline(home, tiny_settings(text_file, max_iters=3, eval_interval=1000))
    assert [e["step"] for e in events(given, "eval")] == [3]
    left_to_the_preset = {**tiny_settings(text_file, max_iters=3)}
    del left_to_the_preset["eval_interval"]
    assert [e["step"] for e in events(run_inline(home, left_to_the_preset), "eval")][0] == 1
