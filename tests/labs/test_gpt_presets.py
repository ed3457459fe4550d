"""The GPT lab's presets: nanoGPT's Shakespeare configurations, auto, refused settings,
the reference figure, and when a run reports (cadence) and how long it has left (ETA)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from labs.common.runctx import SettingError
from labs.gpt import cadence as cad
from labs.gpt.cadence import Cadence, Eta, due_steps
from labs.gpt.config import (
    AUTO_PRESET,
    DERIVED,
    MANIFEST,
    PRESETS,
    TrainConfig,
    check_shape,
    choose_preset,
    finish_config,
    resolve_config,
)
from labs.gpt.memory import (
    GB,
    MEMORY_SHARE,
    fit_batch_to_memory,
    n_params,
    peak_bytes,
    pick_batch_size,
)

NO_CUDA = lambda: False
CUDA = lambda: True


def manifest_defaults() -> dict:
    """What the lab gets with no settings given: every manifest default (as RunContext does)."""
    return {s["name"]: s.get("default") for s in json.loads(MANIFEST.read_text())["settings"]}


def resolved(has_cuda=NO_CUDA, vocab=65, **given) -> TrainConfig:
    cfg = resolve_config({**manifest_defaults(), **given}, has_cuda=has_cuda)
    return finish_config(cfg, vocab, 1)


NANOGPT = dict(
    learning_rate=1e-3,
    min_lr=1e-4,
    beta1=0.9,
    beta2=0.99,
    warmup_iters=100,
    weight_decay=0.1,
    grad_clip=1.0,
    bias=False,
    tokenizer="char",
    data="shakespeare",
    gradient_accumulation_steps=1,
)


def test_shakespeare_char_is_nanogpts_cpu_baby_gpt():
    cfg = resolved(preset="shakespeare-char")
    shape = dict(
        n_layer=4,
        n_head=4,
        n_embd=128,
        block_size=64,
        batch_size=12,
        max_iters=2000,
        lr_decay_iters=2000,
        dropout=0.0,
        eval_iters=20,
    )
    assert {k: getattr(cfg, k) for k in {**NANOGPT, **shape}} == {**NANOGPT, **shape}
    assert cfg.vocab_size == 65 and cfg.dtype in ("auto", "fp32")


def test_shakespeare_char_gpu_is_nanogpts_train_shakespeare_char():
    cfg = resolved(preset="shakespeare-char-gpu")
    shape = dict(
        n_layer=6,
        n_head=6,
        n_embd=384,
        block_size=256,
        batch_size=64,
        max_iters=5000,
        lr_decay_iters=5000,
        dropout=0.2,
        eval_interval=250,
        eval_iters=200,
    )
    assert {k: getattr(cfg, k) for k in {**NANOGPT, **shape}} == {**NANOGPT, **shape}


def test_each_shakespeare_preset_names_its_published_figure():
    assert resolved(preset="shakespeare-char").reference["val_loss"] == 1.88
    gpu = resolved(preset="shakespeare-char-gpu").reference
    assert gpu["val_loss"] == 1.4697 and "A100" in gpu["source"]
    assert resolved(preset="tiny").reference is None  # no published figure to reproduce


def test_reference_says_which_given_settings_change_the_comparison():
    assert resolved().reference["differs"] == []
    # a setting given with the preset's own value, or a reporting one, changes nothing
    assert resolved(n_layer=4, eval_interval=10, temperature=1.0).reference["differs"] == []
    assert resolved(n_layer=6, max_iters=500).reference["differs"] == ["n_layer", "max_iters"]


def test_derived_values_follow_what_they_derive_from():
    # the presets spell out nanoGPT's values, which are the derived ones ...
    for name, values in PRESETS.items():
        for key, source in DERIVED.items():
            if key in values:
                derived = values[source] if key == "lr_decay_iters" else values[source] / 10
                assert values[key] == pytest.approx(derived), (name, key)
    # ... so a shorter run decays over its own length, a lower lr to a tenth of itself
    cfg = resolved(max_iters=300, learning_rate=5e-4)
    assert (cfg.lr_decay_iters, cfg.min_lr) == (300, pytest.approx(5e-5))
    assert resolved(max_iters=300, lr_decay_iters=1000).lr_decay_iters == 1000


def test_auto_is_the_cpu_preset_without_cuda_and_the_gpu_one_with_it():
    assert manifest_defaults()["preset"] == "auto"
    assert resolved(has_cuda=NO_CUDA).preset == AUTO_PRESET["cpu"] == "shakespeare-char"
    assert resolved(has_cuda=CUDA).preset == AUTO_PRESET["cuda"] == "shakespeare-char-gpu"


def test_auto_follows_an_explicit_device_without_asking_torch():
    def never():
        raise AssertionError("asked for CUDA although the device was given")

    assert choose_preset("auto", "cpu", never) == "shakespeare-char"
    assert choose_preset("auto", "mps", never) == "shakespeare-char"
    assert choose_preset("auto", "cuda:1", never) == "shakespeare-char-gpu"
    assert choose_preset("tiny", "auto", never) == "tiny"


def test_auto_without_cuda_on_this_machine():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert resolve_config(manifest_defaults()).preset == "shakespeare-char"


@pytest.mark.parametrize(
    "given, message",
    [
        ({"n_head": 5}, "n_embd (128) must be divisible by n_head (5)"),
        ({"n_embd": 100, "n_head": 8}, "n_embd (100) must be divisible by n_head (8)"),
        ({"preset": "shakespeare-char-gpu", "n_head": 5}, "n_embd (384) must be divisible by n_head (5)"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_one_line(given, message):
    with pytest.raises(SettingError) as e:
        check_shape(resolve_config({**manifest_defaults(), **given}, has_cuda=NO_CUDA))
    assert str(e.value) == message


def test_unknown_preset_is_one_line():
    with pytest.raises(SettingError, match="preset: 'huge' is not one of auto, shakespeare-char"):
        resolved(preset="huge")


def test_the_manifest_checks_hold_for_every_preset():
    """gpt.lab.json's `checks` let studytui refuse a shape before launch; the presets pass them."""
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["checks"] and set(manifest["preset_auto"].values()) <= set(PRESETS)
    assert set(manifest["presets"]) <= set(
        next(s for s in manifest["settings"] if s["name"] == "preset")["choices"]
    )
    for check in manifest["checks"]:
        for name, values in PRESETS.items():
            assert values[check["divisible"]] % values[check["by"]] == 0, name
        bad = {check["divisible"]: 128, check["by"]: 5}
        assert check["message"].format(**bad) == "n_embd (128) must be divisible by n_head (5)"


# -- the gpt2 micro-batch from the GPU's free memory ----------------------------------------

GPT2_VOCAB = 50304  # 50257 padded, as the gpt2 presets run on CUDA


def gpt2_on_cuda(preset: str = "gpt2", **given) -> TrainConfig:
    cfg = resolve_config({"preset": preset, "device": "cuda", **given}, has_cuda=CUDA)
    cfg.dtype = "bf16"  # what the trainer resolves auto to on a GPU with bf16
    return cfg


@pytest.mark.parametrize("free_gb, batch", [(80, 16), (24, 16), (12, 8), (8, 4), (5, 2), (4, 1)])
def test_gpt2_takes_the_largest_power_of_two_micro_batch_that_fits(free_gb, batch):
    cfg = gpt2_on_cuda()
    free = int(free_gb * GB)
    chosen, reason = pick_batch_size(free, cfg, GPT2_VOCAB)
    assert chosen == batch
    assert peak_bytes(cfg, batch, GPT2_VOCAB) <= MEMORY_SHARE * free  # it fits ...
    if batch < cfg.batch_size:  # ... and twice it would not
        assert peak_bytes(cfg, 2 * batch, GPT2_VOCAB) > MEMORY_SHARE * free
        assert "not the preset's 16" in reason and f"({2 * batch} needs ~" in reason
    assert reason.startswith(f"batch_size {batch}") and f"{free_gb:.1f} GB free" in reason
    assert "\n" not in reason


def test_the_memory_estimate_counts_the_models_parameters_and_grows_with_the_batch():
    cfg = gpt2_on_cuda()
    assert n_params(cfg, 50257) == pytest.approx(124.44e6, rel=1e-3)  # GPT-2 small, tied lm_head
    one, two = (peak_bytes(cfg, b, GPT2_VOCAB) for b in (1, 2))
    per_sequence = two - one
    logits = 1024 * GPT2_VOCAB * 12
    assert per_sequence == 12 * 34 * 1024 * 768 + logits  # Korthikanti's 34sbh a layer, bf16
    assert peak_bytes(cfg, 4, GPT2_VOCAB) == one + 3 * per_sequence
    assert peak_bytes(cfg, 1, GPT2_VOCAB, world_size=2) > one  # DDP's gradient buckets
    fp32 = replace(cfg, dtype="fp32")
    assert peak_bytes(fp32, 2, GPT2_VOCAB) - peak_bytes(fp32, 1, GPT2_VOCAB) > per_sequence
    manual = replace(cfg, attention="manual")  # the attention matrix is stored: T^2 a head
    assert peak_bytes(manual, 2, GPT2_VOCAB) - peak_bytes(manual, 1, GPT2_VOCAB) > per_sequence


def test_a_gpu_too_small_for_one_sequence_is_one_line():
    with pytest.raises(SettingError) as e:
        pick_batch_size(int(24 * GB), gpt2_on_cuda("gpt2-xl"), GPT2_VOCAB)
    message = str(e.value)
    assert message.startswith("gpt2-xl needs about ") and "at batch_size=1" in message
    assert "give batch_size to try anyway" in message and "\n" not in message


def test_only_the_gpt2_presets_batch_left_unset_is_fitted():
    given = gpt2_on_cuda(batch_size=16)  # given: obeyed, however little memory is free
    assert fit_batch_to_memory(given, {"batch_size": 16}, int(4 * GB), GPT2_VOCAB) is None
    assert given.batch_size == 16
    other = resolve_config({"preset": "shakespeare-char-gpu", "device": "cuda"}, has_cuda=CUDA)
    assert fit_batch_to_memory(other, {}, 1, 65) is None and other.batch_size == 64
    off_cuda = gpt2_on_cuda()
    assert fit_batch_to_memory(off_cuda, {}, None, GPT2_VOCAB) is None  # no free-memory figure
    fitted = gpt2_on_cuda()
    reason = fit_batch_to_memory(fitted, {"batch_size": None}, int(12 * GB), GPT2_VOCAB)
    assert fitted.batch_size == 8 and reason.startswith("batch_size 8")
    assert finish_config(fitted, 50257, 1).gradient_accumulation_steps == 64  # 2**19 tokens kept


# -- cadence -------------------------------------------------------------------------------


def test_report_intervals_follow_the_run_length():
    cfg = resolved()
    assert (cfg.eval_interval, cfg.sample_interval) == (200, 200)  # a tenth of 2000 < 250
    short = resolved(max_iters=30)
    assert (short.eval_interval, short.sample_interval) == (3, 3)
    long = resolved(max_iters=100_000)
    assert long.eval_interval == 250  # the preset's, when smaller
    given = resolved(max_iters=30, eval_interval=1000, sample_interval=0)
    assert (given.eval_interval, given.sample_interval) == (1000, 0)  # given: obeyed


def test_first_report_within_a_tenth_of_any_run():
    for max_iters in (10, 30, 200, 2000, 5000, 19073):
        cfg = resolved(max_iters=max_iters)
        first = min(s for s in range(1, max_iters + 1) if Cadence(cfg).eval_due(s, s == max_iters))
        assert first <= max(1, max_iters // 10), max_iters


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_slow_run_reports_early_by_the_clock_once():
    clock = FakeClock()
    cadence = Cadence(resolved(), {}, clock=clock)
    assert [cadence.eval_due(s, False) for s in (1, 2)] == [False, False]
    clock.now = cad.FIRST_REPORT_S  # 20 s in, long before step 200
    assert cadence.eval_due(3, False) and cadence.sample_due(3, False)
    clock.now += 100
    assert not cadence.eval_due(4, False) and not cadence.sample_due(4, False)  # once only
    assert cadence.eval_due(200, False) and cadence.eval_due(201, True)  # interval, last


def test_given_intervals_are_obeyed_exactly_however_slow():
    clock = FakeClock()
    cfg = resolved(eval_interval=50, sample_interval=0)
    cadence = Cadence(cfg, {"eval_interval": 50, "sample_interval": 0}, clock=clock)
    clock.now = 1000.0
    assert not cadence.eval_due(3, False) and not cadence.sample_due(3, False)
    assert cadence.eval_due(50, False) and not cadence.sample_due(2000, True)


@pytest.mark.parametrize(
    "interval, after, last, expected",
    [
        (200, 0, 2000, 10),
        (200, 200, 2000, 9),
        (200, 1999, 2000, 1),
        (300, 0, 1000, 4),
        (3, 0, 30, 10),
        (1000, 0, 8, 1),
        (0, 0, 100, 0),
        (10, 100, 100, 0),
    ],
)
def test_due_steps_counts_interval_steps_and_the_last(interval, after, last, expected):
    assert due_steps(interval, after, last) == expected
    if interval > 0:
        brute = sum(1 for s in range(after + 1, last + 1) if s % interval == 0 or s == last)
        assert brute == expected


def test_eta_counts_steps_left_and_the_reports_still_due():
    cfg = resolved()  # 2000 steps, eval and sample every 200
    eta = Eta(cfg)
    assert eta.seconds_left(0) is None
    eta.add_step(2.0)  # the first step pays one-time costs
    for _ in range(9):
        eta.add_step(0.05)
    eta.add_eval(1.5)
    eta.add_sample(0.5)
    left = eta.seconds_left(200)
    assert left == pytest.approx(1800 * 0.05 + 9 * 1.5 + 9 * 0.5)


def test_eta_before_any_report_is_measured_estimates_it_from_the_step():
    cfg = replace(resolved(), eval_iters=30, max_new_tokens=100, num_samples=1)
    eta = Eta(cfg)
    for _ in range(5):
        eta.add_step(0.3)
    eval_guess = 2 * 30 * 0.1  # two splits of eval_iters forwards, a forward ~ a third of a step
    sample_guess = 100 * max(0.1 / cfg.batch_size, 1e-3)
    assert eta.seconds_left(0) == pytest.approx(2000 * 0.3 + 10 * eval_guess + 10 * sample_guess)
    assert math.isfinite(eta.seconds_left(1999))


# -- a real run ------------------------------------------------------------------------------


def unigram_val_loss(d) -> float:
    """Cross-entropy of the val split under the train split's character frequencies: what a
    model that ignores context can reach. Anything below it has learned from context."""
    import numpy as np

    counts = np.bincount(np.asarray(d.train), minlength=d.codec.vocab_size) + 1
    logp = np.log(counts / counts.sum())
    return float(-logp[np.asarray(d.val)].mean())


@pytest.mark.slow  # ~5 s of training and tokenizing, ~10 s on a shared 2-core machine
def test_a_short_shakespeare_run_learns_beyond_the_unigram_baseline(tmp_path, monkeypatch):
    """No settings but a smaller shape: auto picks shakespeare-char here, reports early, and
    60 steps take the val loss well below what character frequencies alone give."""
    import torch

    from labs.gpt.data import load_data
    from labs.gpt.run import main

    if torch.cuda.is_available():
        pytest.skip("auto picks the GPU preset on this machine")
    home = tmp_path / "home"
    monkeypatch.setenv("STUDYTUI_HOME", str(home))
    run_dir = home / "runs" / "gpt-20250101-000000-0001"
    run_dir.mkdir(parents=True)
    given = {
        "max_iters": 60,
        "n_layer": 2,
        "n_embd": 64,
        "block_size": 32,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "max_new_tokens": 20,
        "eval_iters": 5,
    }
    (run_dir / "config.json").write_text(
        json.dumps({"lab": "gpt", "run_id": run_dir.name, "settings": given})
    )
    assert main([str(run_dir)]) == 0

    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    start = events[0]
    assert start["event"] == "start" and start["config"]["preset"] == "shakespeare-char"
    assert start["config"]["reference"]["val_loss"] == 1.88
    assert start["config"]["reference"]["differs"] == [
        "n_layer",
        "n_embd",
        "block_size",
        "batch_size",
        "max_iters",
        "learning_rate",
    ]
    evals = [e for e in events if e["event"] == "eval"]
    samples = [e for e in events if e["event"] == "sample"]
    assert evals[0]["step"] <= 6 and samples[0]["step"] <= 6  # within the first tenth
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and all(e["eta_s"] >= 0 and e["total"] == 60 for e in progress)
    assert (progress[-1]["done"], progress[-1]["eta_s"]) == (60, 0)  # a finished run reads 60/60

    baseline = unigram_val_loss(load_data("char", "shakespeare", max_bytes=2_000_000))  # the run's cache
    assert 3.2 < baseline < 3.5  # ~3.35 nats for Shakespeare
    assert evals[0]["val_loss"] > baseline  # it starts at ~ln(65) = 4.17 ...
    assert evals[-1]["val_loss"] < baseline - 0.4  # ... and learns from context
    assert events[-1]["event"] == "end" and events[-1]["summary"]["best_val_loss"] == min(
        e["val_loss"] for e in evals
    )
