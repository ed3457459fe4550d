"""When a training run reports (val loss, samples), and how long it has left.

    cadence = Cadence(cfg, given=ctx.given)              # at the start of training
    if cadence.eval_due(step, last): ...                  # after each optimizer step
    eta = Eta(cfg); eta.add_step(dt) ...                  # eta.seconds_left(step)

A learner's first run must show a falling val loss and a readable sample early. The
intervals themselves follow the run's length (config.adapt_report_intervals: at most a
tenth of the run); on top of that, when an interval was not given, the first eval and the
first sample come as soon as FIRST_REPORT_S have passed, for a slow machine where a tenth
of the run is minutes. Settings the learner gave are obeyed exactly. Evals and samples draw
from their own generators, so when they happen never changes the training losses.

The ETA counts what is left: steps at the recent median step time (the first steps pay
one-time costs), plus the evals and samples still due at their measured cost (estimated
from the step time until the first one is measured), plus the rest of the loop's overhead
(checkpoints, logging) per step. An estimate from elapsed time over steps done would
count an early eval as if every step cost that much.
"""

from __future__ import annotations

import time
from collections import deque

FIRST_REPORT_S = 15.0  # a first val loss and sample within ~30 s of launch, setup and eval included
RECENT_STEPS = 50  # the median of the last steps: robust to a stray slow one


def due_steps(interval: int, after: int, last: int) -> int:
    """How many of the steps after..last (exclusive, inclusive) report on `interval`,
    the last step always reporting."""
    if interval <= 0 or after >= last:
        return 0
    count = last // interval - after // interval
    return count if last % interval == 0 else count + 1


class Cadence:
    """Which steps eval and sample: every interval, the last step, and one early report
    by the clock when the interval was left to the preset."""

    def __init__(self, cfg, given: dict | None = None, clock=time.monotonic):
        given = given or {}
        self.eval_interval, self.sample_interval = cfg.eval_interval, cfg.sample_interval
        self.early_eval = given.get("eval_interval") is None
        self.early_sample = given.get("sample_interval") is None and cfg.sample_interval > 0
        self.clock = clock
        self.t0 = clock()
        self.evals = self.samples = 0

    def _early(self, enabled: bool, done: int) -> bool:
        return enabled and done == 0 and self.clock() - self.t0 >= FIRST_REPORT_S

    def eval_due(self, step: int, last: bool) -> bool:
        due = step % self.eval_interval == 0 or last or self._early(self.early_eval, self.evals)
        self.evals += due
        return due

    def sample_due(self, step: int, last: bool) -> bool:
        if self.sample_interval <= 0:
            return False
        due = step % self.sample_interval == 0 or last or self._early(self.early_sample, self.samples)
        self.samples += due
        return due


class Eta:
    """Seconds left in a training run, from what its steps and reports have cost so far."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.step_s: deque[float] = deque(maxlen=RECENT_STEPS)
        self.eval_s: float | None = None  # the latest measured cost of one eval
        self.sample_s: float | None = None
        self.other_s = 0.0  # loop time outside steps, evals and samples
        self.steps_seen = 0

    def add_step(self, seconds: float) -> None:
        self.step_s.append(seconds)
        self.steps_seen += 1

    def add_eval(self, seconds: float) -> None:
        self.eval_s = seconds

    def add_sample(self, seconds: float) -> None:
        self.sample_s = seconds

    def add_other(self, seconds: float) -> None:
        self.other_s += max(0.0, seconds)

    def median_step_s(self) -> float | None:
        if not self.step_s:
            return None
        ordered = sorted(self.step_s)
        return ordered[len(ordered) // 2]

    def seconds_left(self, step: int) -> float | None:
        step_s = self.median_step_s()
        if step_s is None:
            return None
        cfg = self.cfg
        left = max(cfg.max_iters - step, 0)
        # before the first eval is timed: a forward pass is about a third of a step's work
        forward_s = step_s / 3 / max(cfg.gradient_accumulation_steps, 1)
        eval_s = self.eval_s if self.eval_s is not None else 2 * cfg.eval_iters * forward_s
        # a sample: one forward per new token on a batch of one (which costs at least ~1 ms)
        sample_s = (
            self.sample_s
            if self.sample_s is not None
            else cfg.num_samples * cfg.max_new_tokens * max(forward_s / max(cfg.batch_size, 1), 1e-3)
        )
        other_per_step = self.other_s / self.steps_seen if self.steps_seen else 0.0
        return (
            left * (step_s + other_per_step)
            + due_steps(cfg.eval_interval, step, cfg.max_iters) * eval_s
            + due_steps(cfg.sample_interval, step, cfg.max_iters) * sample_s
        )
