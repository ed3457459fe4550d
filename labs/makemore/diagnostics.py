"""The health checks of makemore part 3, as numbers a panel can draw.

- activations: per tanh layer, a histogram of its outputs, their mean and std, and the
  share that is saturated (|t| > 0.97, where tanh is flat and passes almost no gradient);
- gradients: the same for the gradient arriving at each tanh output;
- update-to-data ratio: per weight matrix, log10(std(lr * grad) / std(weight)). The lecture's
  rule of thumb: about -3 (each step changes a weight by a thousandth of its size); far
  below, the layer learns too slowly; far above, too fast.

Call `keep_grads(model)` after the forward pass and before backward() on a step you want to
look at, then read the figures after backward() and before the update.
"""

from __future__ import annotations

import math
from typing import Any

import torch

SATURATED = 0.97
BINS = 24


def keep_grads(model) -> None:
    for _, t in model.activations:
        t.retain_grad()  # activations are not leaves: autograd drops their grad unless asked


def _histogram(t: torch.Tensor, lo: float, hi: float) -> list[int]:
    return torch.histc(t.detach().float(), bins=BINS, min=lo, max=hi).long().tolist()


def activation_stats(model) -> list[dict[str, Any]]:
    out = []
    for name, t in model.activations:
        t = t.detach()
        out.append(
            {
                "name": name,
                "mean": round(t.mean().item(), 4),
                "std": round(t.std().item(), 4),
                "saturated": round((t.abs() > SATURATED).float().mean().item(), 4),
                "lo": -1.0,
                "hi": 1.0,
                "counts": _histogram(t, -1.0, 1.0),
            }
        )
    return out


def gradient_stats(model) -> list[dict[str, Any]]:
    out = []
    for name, t in model.activations:
        if t.grad is None:
            continue
        g = t.grad
        span = max(g.abs().max().item(), 1e-12)
        out.append(
            {
                "name": name,
                "mean": g.mean().item(),
                "std": g.std().item(),
                "lo": -span,
                "hi": span,
                "counts": _histogram(g, -span, span),
            }
        )
    return out


def update_ratios(model, lr: float) -> dict[str, float | None]:
    """log10(std(lr * grad) / std(data)) per weight matrix (None: no gradient yet)."""
    ratios: dict[str, float | None] = {}
    for name, p in model.named_weights():
        if p.grad is None:
            ratios[name] = None
            continue
        ratio = (lr * p.grad).std().item() / max(p.data.std().item(), 1e-12)
        ratios[name] = round(math.log10(ratio), 3) if ratio > 0 else None
    return ratios
