"""One optimizer step of the GPT lab, checked by what it does to the weights and the data.

Each test names the bug it exists to catch: the scheduled learning rate reported but not
given to the optimizer, clipping skipped, gradient accumulation that is not a mean, a
resume that forgets where the data sampler or the text sampler was.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from labs.common.runctx import RunContext
from labs.gpt.config import resolve_config
from labs.gpt.train import Trainer
from tests.labs.test_gpt_run import events, new_run, run_inline, tiny_settings


@contextmanager
def trainer_for(home: Path, settings: dict):
    """A set-up Trainer in this process (its run folder under `home`), to drive step by step."""
    run_dir = new_run(home, settings)
    failed = None
    with RunContext.from_argv("gpt", [str(run_dir)]) as ctx:
        trainer = Trainer(resolve_config(ctx.settings), ctx, ctx.given)
        trainer.setup()
        try:
            yield trainer
        except AssertionError as e:  # the run context would turn it into SystemExit(1)
            failed = e
    if failed is not None:
        raise failed


def params_of(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in trainer.raw_model.named_parameters()}


def grads_seen_by_the_optimizer(trainer: Trainer) -> list[dict[str, torch.Tensor]]:
    """Every optimizer step's gradients, as the optimizer found them (after clipping)."""
    seen: list[dict[str, torch.Tensor]] = []
    names = {p: name for name, p in trainer.raw_model.named_parameters()}

    def record(optimizer, args, kwargs):
        seen.append(
            {
                names[p]: p.grad.detach().clone()
                for group in optimizer.param_groups
                for p in group["params"]
                if p.grad is not None
            }
        )

    trainer.optimizer.register_step_pre_hook(record)
    return seen


def global_norm(grads: dict[str, torch.Tensor]) -> float:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads.values()])).item()


def test_the_scheduled_learning_rate_moves_the_weights(home, text_file):
    """Adam's first step moves every weight with a gradient by exactly lr (m/sqrt(v) = ±1;
    no weight decay here): the largest change is the lr the step reports, a warm-up quarter
    of learning_rate, not learning_rate itself. Later steps' m/sqrt(v) may pass 1 a little."""
    settings = tiny_settings(text_file, learning_rate=1e-2, warmup_iters=4, weight_decay=0.0, dropout=0.0)
    with trainer_for(home, settings) as trainer:
        for expected_lr, tolerance in ((2.5e-3, 1e-3), (5e-3, 0.05)):
            before = params_of(trainer)
            _, _, lr = trainer.train_step()
            after = params_of(trainer)
            largest_change = max((after[n] - before[n]).abs().max().item() for n in before)
            assert lr == pytest.approx(expected_lr)
            assert largest_change == pytest.approx(lr, rel=tolerance)


def test_gradients_are_clipped_before_the_optimizer_and_the_raw_norm_reported(home, text_file):
    with trainer_for(home, tiny_settings(text_file, grad_clip=0.05)) as trainer:
        seen = grads_seen_by_the_optimizer(trainer)
        _, reported_norm, _ = trainer.train_step()
    assert reported_norm > 0.5  # a fresh model's gradient is large ...
    assert global_norm(seen[0]) == pytest.approx(0.05, rel=1e-4)  # ... the optimizer gets it clipped


def test_no_clipping_at_grad_clip_zero(home, text_file):
    with trainer_for(home, tiny_settings(text_file, grad_clip=0.0)) as trainer:
        seen = grads_seen_by_the_optimizer(trainer)
        _, reported_norm, _ = trainer.train_step()
    assert global_norm(seen[0]) == pytest.approx(reported_norm, rel=1e-5)


def test_k_micro_batches_of_b_over_k_make_the_update_of_one_batch_of_b(home, text_file):
    """The same 8 windows (the offsets come from one generator in the same order), one step
    of 8 or 4 accumulated steps of 2: the same loss, the same gradient, the same weights.
    Gradients, not only weights: Adam's first step hides a gradient 4x too large."""
    block = 32
    whole = tiny_settings(text_file, batch_size=8, total_batch_size=8 * block, dropout=0.0)
    split = tiny_settings(text_file, batch_size=2, total_batch_size=8 * block, dropout=0.0)
    results = []
    for settings in (whole, split):
        with trainer_for(home, settings) as trainer:
            assert trainer.cfg.gradient_accumulation_steps == {8: 1, 2: 4}[settings["batch_size"]]
            seen = grads_seen_by_the_optimizer(trainer)
            loss, norm, _ = trainer.train_step()
            results.append((loss, norm, seen[0], params_of(trainer)))
    (loss_1, norm_1, grads_1, params_1), (loss_4, norm_4, grads_4, params_4) = results
    assert loss_4 == pytest.approx(loss_1, rel=1e-5)
    assert norm_4 == pytest.approx(norm_1, rel=1e-4)
    for name in grads_1:
        torch.testing.assert_close(grads_4[name], grads_1[name], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(params_4[name], params_1[name], rtol=0, atol=1e-6)


def test_resume_restores_the_data_and_the_text_samplers(home, text_file):
    """A resumed run draws the same next batches and writes the same samples as an unbroken
    one: the checkpoint carries both generators' states, not only the weights."""
    # lr_decay_iters fixed: by default it is max_iters, which differs between the runs
    settings = tiny_settings(
        text_file,
        sample_interval=2,
        max_new_tokens=12,
        dropout=0.1,
        temperature=1.0,
        top_k=0,
        warmup_iters=2,
        lr_decay_iters=8,
    )
    unbroken = run_inline(home, {**settings, "max_iters": 8})
    first = run_inline(home, {**settings, "max_iters": 4})
    resumed = run_inline(home, {"resume": first.name, "max_iters": 8})

    def samples(*runs):
        return {e["step"]: e["text"] for run in runs for e in events(run, "sample")}

    assert sorted(samples(resumed)) == [6, 8]
    assert samples(first, resumed) == samples(unbroken)

    # the batches themselves: a trainer resumed from step 4 and one stepped there draw alike
    with trainer_for(home, {"resume": first.name, "max_iters": 8}) as from_checkpoint:
        resumed_batches = from_checkpoint.batches.train_micro_batches(2)
    with trainer_for(home, {**settings, "max_iters": 8}) as stepped:
        for _ in range(4):
            stepped.train_step()
        unbroken_batches = stepped.batches.train_micro_batches(2)
    for (x_r, y_r), (x_u, y_u) in zip(resumed_batches, unbroken_batches, strict=True):
        assert torch.equal(x_r, x_u) and torch.equal(y_r, y_u)
