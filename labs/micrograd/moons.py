"""Two interleaving half circles with noise: scikit-learn's `make_moons`, rebuilt so the lab
needs nothing but the standard library.

    >>> X, y = make_moons(100, noise=0.1, seed=1)
    >>> len(X), sorted(set(y))
    (100, [-1, 1])

Labels are -1 and +1 (not 0 and 1) because the max-margin loss wants a sign.
"""

from __future__ import annotations

import math
import random


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: int = 1
) -> tuple[list[list[float]], list[int]]:
    """`n_samples` points (x, y): the upper moon labelled -1, the lower one +1, shuffled."""
    rng = random.Random(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points: list[tuple[list[float], int]] = []
    for i in range(n_upper):  # evenly spaced along the arc, as scikit-learn does
        angle = math.pi * i / max(n_upper - 1, 1)
        points.append(([math.cos(angle), math.sin(angle)], -1))
    for i in range(n_lower):
        angle = math.pi * i / max(n_lower - 1, 1)
        points.append(([1 - math.cos(angle), 0.5 - math.sin(angle)], 1))
    rng.shuffle(points)
    X = [[x + rng.gauss(0, noise), y + rng.gauss(0, noise)] for (x, y), _ in points]
    return X, [label for _, label in points]
