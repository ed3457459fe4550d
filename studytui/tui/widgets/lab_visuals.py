"""The new labs' `visual` events drawn as Rich Text: pure functions, one per kind, so the
run-view panels (run_boundary, run_graph_tree, run_heatmap, run_histograms, run_series)
stay small and these are tested without a terminal.

A visual comes from a run folder: untrusted. Labels reach the screen through
`safetext.clean`, numbers are checked (a string, NaN or a ragged row is drawn as a gap,
never raised), and every size is capped so a hostile file cannot stall a frame.
Shades come from the glyph table (`Glyphs.heat`), so STUDYTUI_ASCII=1 draws the same
picture with `. : + * #`.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text

from studytui.runs.chart import text_chart
from studytui.safetext import clean
from studytui.tui.glyphs import Glyphs, is_ascii

MAX_CELLS = 128  # rows or columns of a grid or heat map drawn
MAX_LABEL = 10  # a heat map's row label (an attention map's tokens can be long)
MAX_TREE_NODES = 300
MAX_TREE_DEPTH = 40
MAX_LAYERS = 32
MAX_BINS = 64
MAX_LINES = 8  # series in one chart (text_chart has 8 markers)
HEAT_STYLES = ("grey35", "blue", "cyan", "yellow", "bold red")
PLUS_STYLE, MINUS_STYLE = "on dark_blue", "on grey23"


def latest_of_kind(visuals: dict[str, dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The first visual of a kind (labs send one name per kind, updated in place)."""
    return next((v for v in visuals.values() if v.get("kind") == kind), None)


def number(value: Any) -> float | None:
    """A finite float, or None for anything else (a string, NaN, a bool, a list)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def matrix(values: Any) -> list[list[float | None]]:
    """Rows of numbers (None where a cell is not one), capped at MAX_CELLS each way."""
    if not isinstance(values, list):
        return []
    return [
        [number(v) for v in row[:MAX_CELLS]] if isinstance(row, list) else [] for row in values[:MAX_CELLS]
    ]


def label(value: Any, width: int = MAX_LABEL) -> str:
    text = clean(value if isinstance(value, str) else repr(value)).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "~"


# -- heat maps: makemore's 27x27 bigram counts, attention maps ------------------------------
def shade_level(v: float | None, top: float, log_scale: bool) -> int:
    if v is None or v <= 0 or top <= 0:
        return 0
    share = math.log1p(v) / math.log1p(top) if log_scale else v / top
    return 1 + min(3, int(share * 3.999))


def heatmap_text(visual: dict[str, Any], g: Glyphs, width: int = 200) -> Text:
    """Rows labelled on the left, columns labelled above (one character each, or the
    first character of a longer token); two cells per value where the width allows.
    Counts (all integers) shade on a log scale, as makemore's plot is read; weights linearly."""
    values = matrix(visual.get("values"))
    rows_n = len(values)
    cols_n = max((len(r) for r in values), default=0)
    if not rows_n or not cols_n:
        return Text("(empty heat map)", style="dim")
    rows = (
        [lab for lab in (visual.get("row_labels") or [])][:rows_n]
        if isinstance(visual.get("row_labels"), list)
        else []
    )
    cols = (
        [lab for lab in (visual.get("col_labels") or [])][:cols_n]
        if isinstance(visual.get("col_labels"), list)
        else []
    )
    rows = [label(r) for r in rows] + [str(i) for i in range(len(rows), rows_n)]
    cols = [label(c) for c in cols] + [str(i % 10) for i in range(len(cols), cols_n)]
    pad = max(len(r) for r in rows)
    cell = 2 if pad + 1 + 2 * cols_n <= width else 1
    flat = [v for r in values for v in r if v is not None]
    top = max(flat, default=0.0)
    log_scale = bool(flat) and all(float(v).is_integer() for v in flat) and top > 1
    out = Text()
    if isinstance(visual.get("title"), str):
        out.append(label(visual["title"], 60) + "\n", style="bold")
    out.append(" " * (pad + 1))
    for c in cols:
        out.append((c[:1] or " ").ljust(cell), style="dim")
    out.append("\n")
    for r, row in zip(rows, values):
        out.append(r.rjust(pad) + " ", style="dim")
        for j in range(cols_n):
            level = shade_level(row[j] if j < len(row) else None, top, log_scale)
            out.append(g.heat[level] * cell, style=HEAT_STYLES[level])
        out.append("\n")
    scale = "log scale" if log_scale else "linear"
    out.append(f"{g.heat[0]} 0  {g.heat[4]} {top:.4g} ({scale})", style="dim")
    return out


# -- micrograd's decision boundary -----------------------------------------------------------
def boundary_text(visual: dict[str, Any], g: Glyphs) -> Text:
    """The model's score over the grid: +1 region shaded, -1 blank, two cells per grid
    column (terminal cells are twice as tall as wide); the data on top as x (+1) and
    o (-1), upper case where the model gets the point wrong."""
    values = matrix(visual.get("values"))
    rows_n, cols_n = len(values), max((len(r) for r in values), default=0)
    if not rows_n or not cols_n:
        return Text("(no grid yet)", style="dim")
    canvas: list[list[tuple[str, str]]] = []
    for row in values:
        line = []
        for j in range(cols_n):
            v = row[j] if j < len(row) else None
            plus = v is not None and v > 0
            line.append((g.heat[1] * 2 if plus else "  ", PLUS_STYLE if plus else MINUS_STYLE))
        canvas.append(line)
    ranges = [visual.get("x_range"), visual.get("y_range")]
    spans = [
        [number(v) for v in r[:2]] if isinstance(r, list) and len(r) >= 2 else [None, None] for r in ranges
    ]
    (x0, x1), (y0, y1) = spans
    wrong = 0
    points = visual.get("points") if isinstance(visual.get("points"), list) else []
    if None not in (x0, x1, y0, y1) and x1 != x0 and y1 != y0:
        for p in points[:2000]:
            if not isinstance(p, list) or len(p) < 3 or None in (number(p[0]), number(p[1]), number(p[2])):
                continue
            c = min(cols_n - 1, max(0, int((p[0] - x0) / (x1 - x0) * cols_n)))
            r = min(rows_n - 1, max(0, int((y1 - p[1]) / (y1 - y0) * rows_n)))
            v = values[r][c] if c < len(values[r]) else None
            mark = "x" if p[2] > 0 else "o"
            if v is not None and (v > 0) != (p[2] > 0):
                mark, wrong = mark.upper(), wrong + 1
            shade, style = canvas[r][c]
            canvas[r][c] = (mark + shade[1], style + (" bold red" if mark.isupper() else " bold"))
    out = Text()
    for line in canvas:
        for chars, style in line:
            out.append(chars, style=style)
        out.append("\n")
    step = visual.get("step")
    out.append(
        f"{g.heat[1] * 2} model says +1   x/o: data (+1/-1), upper case: wrong ({wrong})"
        + (f"   step {step}" if isinstance(step, int) else ""),
        style="dim",
    )
    return out


# -- micrograd's expression graph --------------------------------------------------------------
def tree_text(root: Any, g: Glyphs) -> Text:
    """The graph one node a line (the lecture's draw_dot as a tree): name = formula, data, grad.
    A node drawn before is named again with "(above)"."""
    guides = ("|- ", "`- ", "|  ", "   ") if is_ascii(g) else ("├─ ", "└─ ", "│  ", "   ")
    out = Text()
    drawn = 0
    # Iterative, depth-capped: a deep or cyclic hand-made file must not recurse forever.
    stack: list[tuple[Any, str, str, int]] = [(root, "", "", 0)]
    while stack and drawn < MAX_TREE_NODES:
        node, prefix, branch, depth = stack.pop()
        drawn += 1
        out.append(prefix + branch, style="dim")
        if not isinstance(node, dict):
            out.append("?\n", style="dim")
            continue
        name = label(node.get("name", "?"), 24)
        if node.get("ref"):
            out.append(f"{name} (above)\n", style="dim")
            continue
        out.append(name, style="bold")
        formula, op = node.get("formula"), node.get("op")
        if (
            isinstance(formula, str)
            and formula.replace(" ", "")
            and formula.replace(" ", "") != name.replace(" ", "")
        ):
            out.append(" = " + label(formula, 40))
        elif isinstance(op, str) and op:
            out.append(f" ({label(op, 8)})", style="dim")
        data, grad = number(node.get("data")), number(node.get("grad"))
        out.append("  data ", style="dim")
        out.append(f"{data:.4f}" if data is not None else g.dash)
        out.append("  grad ", style="dim")
        out.append(f"{grad:.4f}" if grad is not None else g.dash, style="bold green" if grad else "")
        out.append("\n")
        kids = node.get("children") if isinstance(node.get("children"), list) else []
        if depth >= MAX_TREE_DEPTH and kids:
            out.append(prefix + guides[3] + f"{g.ellipsis} {len(kids)} more below\n", style="dim")
            continue
        child_prefix = "" if depth == 0 else prefix + (guides[3] if branch == guides[1] else guides[2])
        for i, kid in reversed(list(enumerate(kids))):
            stack.append((kid, child_prefix, guides[1] if i == len(kids) - 1 else guides[0], depth + 1))
    if stack:
        out.append(f"{g.ellipsis} ({MAX_TREE_NODES} nodes shown)\n", style="dim")
    out.rstrip()
    return out


# -- makemore part 3: per-layer histograms -------------------------------------------------------
def histogram_lines(visual: dict[str, Any], g: Glyphs) -> Text:
    """Two lines a layer: name, mean, std, tanh saturation; then the histogram as a strip
    of shades (darker: more values in that bin) from lo to hi."""
    layers = visual.get("layers") if isinstance(visual.get("layers"), list) else []
    out = Text()
    step = visual.get("step")
    out.append(
        f"{label(visual.get('name', ''), 20)}" + (f" at step {step}" if isinstance(step, int) else "") + "\n",
        style="bold",
    )
    for layer in layers[:MAX_LAYERS]:
        if not isinstance(layer, dict):
            continue
        counts = (
            [number(c) or 0.0 for c in (layer.get("counts") or [])[:MAX_BINS]]
            if isinstance(layer.get("counts"), list)
            else []
        )
        top = max(counts, default=0.0)
        out.append(label(layer.get("name", "?"), 12).ljust(12), style="cyan")
        for key, shown in (("mean", "mean"), ("std", "std")):
            v = number(layer.get(key))
            out.append(f" {shown} " + (f"{v:+.3f}" if v is not None else g.dash))
        sat = number(layer.get("saturated"))
        if sat is not None:
            out.append(
                f" sat {sat:.0%}" if sat <= 1 else f" sat {sat:.0f}%", style="yellow" if sat > 0.05 else ""
            )
        out.append("\n  ")  # the strip on its own line: the side panel is ~40 columns
        for c in counts:
            level = shade_level(c, top, log_scale=False)
            out.append(g.heat[level], style=HEAT_STYLES[level])
        lo, hi = number(layer.get("lo")), number(layer.get("hi"))
        if lo is not None and hi is not None:
            out.append(f" [{lo:.2g}, {hi:.2g}]", style="dim")
        out.append("\n")
    out.rstrip()
    return out


# -- series: makemore's update-to-data ratios, attention's sweep ---------------------------------
def update_ratio_chart(history: list[dict[str, Any]], width: int, height: int = 10) -> str:
    """log10(update/data) per weight over steps, with the lecture's guide at -3."""
    lines: dict[str, tuple[list[float], list[float]]] = {}
    for point in history:
        if not isinstance(point, dict):
            continue
        step, values = point.get("step"), point.get("values")
        if not isinstance(step, int) or not isinstance(values, dict):
            continue
        for name, v in values.items():
            v = number(v)
            if v is None or (name not in lines and len(lines) >= MAX_LINES - 1):
                continue
            xs, ys = lines.setdefault(label(name, 16), ([], []))
            xs.append(step)
            ys.append(v)
    if not lines:
        return "(no ratios yet)"
    steps = sorted({x for xs, _ in lines.values() for x in xs})
    guide = ([steps[0] + (steps[-1] - steps[0]) * i / 39 for i in range(40)], [-3.0] * 40)
    series = [(name, xs, ys) for name, (xs, ys) in lines.items()] + [("-3 (rule of thumb)", *guide)]
    return text_chart(series, width=width, height=height, x_label="step")


def sweep_charts(visual: dict[str, Any], width: int, height: int = 8) -> str:
    """Time and peak memory against T, both axes log (T doubles; manual's memory x4)."""
    xs = [number(x) for x in visual.get("x") or []][:MAX_CELLS] if isinstance(visual.get("x"), list) else []
    lines = visual.get("lines") if isinstance(visual.get("lines"), dict) else {}
    charts = []
    for unit, title in (("ms", "time, log10 ms"), ("peak_mb", "peak memory, log10 MB")):
        series = []
        for name, ys in list(lines.items())[: 2 * MAX_LINES]:
            if not isinstance(name, str) or not name.endswith(unit) or not isinstance(ys, list):
                continue
            pts = [
                (math.log2(x), math.log10(y))
                for x, y in zip(xs, (number(v) for v in ys))
                if x is not None and y is not None and x > 0 and y > 0
            ]
            if pts:
                series.append(
                    (label(name[: -len(unit)].strip() or name, 16), [p[0] for p in pts], [p[1] for p in pts])
                )
        if series:
            charts.append(
                title + "\n" + text_chart(series[:MAX_LINES], width=width, height=height, x_label="log2 T")
            )
    return "\n\n".join(charts) if charts else "(no sweep yet)"
