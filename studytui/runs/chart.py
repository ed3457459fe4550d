"""Loss curves as plain text (ASCII only), for the markdown report and `lab compare`.

    print(text_chart([("val_loss", [0, 250, 500], [4.2, 2.5, 2.1])], width=40, height=8))

Pure Python: a report opened in any editor, pasted in an issue or printed over SSH shows
the same picture. Each series gets a marker (`*`, `o`, `+`, `x` ...); where two series meet
in one cell, `#`. Non-finite values (a diverged run's NaN) are left out of the picture.
"""

from __future__ import annotations

import math

MARKERS = "*o+x@%&="
CLASH = "#"


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 10000 or (a and a < 0.01):
        return f"{v:.2e}"
    return f"{v:.4g}"


def text_chart(
    series: list[tuple[str, list[float], list[float]]],
    *,
    width: int = 64,
    height: int = 14,
    x_label: str = "step",
) -> str:
    """Series of (name, xs, ys) drawn on one grid with a y axis, an x axis and a legend."""
    width, height = max(width, 10), max(height, 3)
    finite = [
        (name, [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)])
        for name, xs, ys in series
    ]
    points = [p for _, pts in finite for p in pts]
    if not points:
        return "(no points to draw yet)"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x1 == x0:
        x1 = x0 + 1
    grid = [[" "] * width for _ in range(height)]
    for i, (_, pts) in enumerate(finite):
        mark = MARKERS[i % len(MARKERS)]
        for x, y in pts:
            col = round((x - x0) / (x1 - x0) * (width - 1))
            row = height - 1 - round((y - y0) / (y1 - y0) * (height - 1))
            cell = grid[row][col]
            grid[row][col] = mark if cell in (" ", mark) else CLASH
    labels = {0: _fmt(y1), height // 2: _fmt((y0 + y1) / 2), height - 1: _fmt(y0)}
    pad = max(len(s) for s in labels.values())
    lines = [f"{labels.get(r, ''):>{pad}} |{''.join(grid[r])}".rstrip() for r in range(height)]
    lines.append(" " * pad + " +" + "-" * width)
    left, right = _fmt(x0), _fmt(x1)
    lines.append(
        " " * (pad + 2) + left + " " * max(1, width - len(left) - len(right)) + right + f"  {x_label}"
    )
    legend = "   ".join(f"{MARKERS[i % len(MARKERS)]} {name}" for i, (name, _, _) in enumerate(series))
    if len(series) > 1 and any(CLASH in row for row in grid):
        legend += f"   {CLASH} several"
    lines.append(" " * (pad + 2) + legend)
    return "\n".join(lines)
