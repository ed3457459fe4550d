"""A guard that tells a training loop when its run has diverged (standard library only).

    guard = DivergenceGuard(window=100, factor=2.0)
    for step in ...:
        reason = guard.check(step, loss, val_loss)
        if reason:                      # e.g. "loss is nan at step 312"
            point at the last good checkpoint; ctx.end("diverged", summary, reason=reason); break
        if checkpoint_due and not guard.suspect:
            save a checkpoint          # a state already drifting up never replaces a good one

Two ways a run diverges: its loss becomes NaN or infinite (one step is enough: nothing
comes back from there), or it stays far above its own best for `window` checks in a row
(`factor` times the best, e.g. a learning rate too high for the model). One noisy step is
not a divergence, hence the window. Validation loss, when given, is judged the same way
against its own best. A lab turns the guard off with a setting (`guard=false`).
"""

from __future__ import annotations

import math


class DivergenceGuard:
    """Feed it every step's loss; it returns a one-line reason once the run has diverged."""

    def __init__(self, window: int = 100, factor: float = 2.0, *, min_steps: int = 0):
        if window < 1:
            raise ValueError("window must be at least 1")
        if not factor > 1.0:
            raise ValueError("factor must be above 1")
        self.window = window
        self.factor = factor
        self.min_steps = min_steps  # no "far above its best" before this step (warm-up)
        self.best: dict[str, float] = {}
        self._above_since: dict[str, int | None] = {}
        self._above_count: dict[str, int] = {}
        self.last_good_step: int | None = None  # the last step whose losses were all fine

    @property
    def suspect(self) -> bool:
        """Some loss is above its threshold now: don't overwrite the last good checkpoint."""
        return any(self._above_count.values())

    def check(self, step: int, loss: float | None, val_loss: float | None = None) -> str | None:
        """None while the run is fine; else why it diverged (one line)."""
        reasons = [
            self._check_one(name, step, value)
            for name, value in (("loss", loss), ("val_loss", val_loss))
            if value is not None
        ]
        reason = next((r for r in reasons if r), None)
        if reason is None:
            self.last_good_step = step
        return reason

    def _check_one(self, name: str, step: int, value: float) -> str | None:
        value = float(value)
        if not math.isfinite(value):
            return f"{name} is {value} at step {step}"
        best = self.best.get(name)
        if best is None or value < best:
            self.best[name] = value
            best = value
        if step >= self.min_steps and value > self.factor * best:
            if self._above_count.get(name, 0) == 0:
                self._above_since[name] = step
            self._above_count[name] = self._above_count.get(name, 0) + 1
        else:
            self._above_count[name] = 0
            self._above_since[name] = None
        if self._above_count[name] >= self.window:
            return (
                f"{name} {value:.4g} has stayed above {self.factor:g}x its best "
                f"({best:.4g}) since step {self._above_since[name]}"
            )
        return None
