"""Pictures made of text: the expression graph behind a Value, and a decision boundary.

    >>> o = lecture_neuron(); o.backward()
    >>> print(tree_text(o).splitlines()[0])
    o = tanh(n)  data 0.7071  grad 1.0000

The lecture draws graphs with graphviz (`draw_dot`); a terminal gets a tree instead, root
first, each node with its data and grad. A node used twice is drawn once and referred to
afterwards, so the tree stays the size of the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labs.micrograd.engine import Value


def lecture_neuron() -> Value:
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), with the lecture's numbers
    (b is chosen so that n = 0.8814 and o = 0.7071)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def _name(v: Value, names: dict[int, str]) -> str:
    if id(v) not in names:
        names[id(v)] = v.label or f"v{len(names) + 1}"
    return names[id(v)]


def _formula(v: Value, names: dict[int, str]) -> str:
    """How v was made, in terms of its inputs' names: 'tanh(n)', 'x1 * w1'."""
    args = [_name(c, names) for c in v._prev]
    if not v._op:
        return ""
    if v._op.startswith("**"):
        return f"{args[0]}{v._op}"
    if len(args) == 2:
        return f"{args[0]} {v._op} {args[1]}"
    return f"{v._op}({args[0]})"


def graph_tree(root: Value) -> dict[str, Any]:
    """The graph as nested dicts (the `tree` visual event): name, op, data, grad, children;
    a node seen before is `{"name": ..., "ref": true}`."""
    names: dict[int, str] = {}
    seen: set[int] = set()

    def node(v: Value) -> dict[str, Any]:
        name = _name(v, names)
        if id(v) in seen:
            return {"name": name, "ref": True}
        seen.add(id(v))
        return {
            "name": name,
            "op": v._op,
            "formula": _formula(v, names),
            "data": round(v.data, 6),
            "grad": round(v.grad, 6),
            "children": [node(c) for c in v._prev],
        }

    return node(root)


def tree_text(root: Value) -> str:
    """The graph as an indented tree, one node a line."""
    lines: list[str] = []

    def walk(n: dict[str, Any], prefix: str, branch: str, last: bool) -> None:
        if n.get("ref"):
            lines.append(f"{prefix}{branch}{n['name']} (above)")
            return
        head = n["name"]
        if n["formula"] and n["formula"].replace(" ", "") != head.replace(" ", ""):
            head += f" = {n['formula']}"
        elif n["op"]:
            head += f" ({n['op']})"  # its label already spells the formula out
        lines.append(f"{prefix}{branch}{head}  data {n['data']:.4f}  grad {n['grad']:.4f}")
        kids = n["children"]
        deeper = prefix + ("" if not branch else ("    " if last else "│   "))
        for i, child in enumerate(kids):
            is_last = i == len(kids) - 1
            walk(child, deeper, "└── " if is_last else "├── ", is_last)

    walk(graph_tree(root), "", "", True)
    return "\n".join(lines)


def boundary_grid(
    score: Callable[[float, float], float], X: Sequence[Sequence[float]], cols: int = 32, rows: int = 14
) -> dict[str, Any]:
    """The model's score over a cols x rows grid covering the data (row 0 is the top), as
    the `grid` visual event holds it."""
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    x_range = (min(xs) - 0.25, max(xs) + 0.25)
    y_range = (min(ys) - 0.25, max(ys) + 0.25)
    values = []
    for r in range(rows):
        y = y_range[1] - (r + 0.5) * (y_range[1] - y_range[0]) / rows
        values.append(
            [
                round(score(x_range[0] + (c + 0.5) * (x_range[1] - x_range[0]) / cols, y), 3)
                for c in range(cols)
            ]
        )
    return {
        "x_range": [round(v, 4) for v in x_range],
        "y_range": [round(v, 4) for v in y_range],
        "values": values,
    }


def boundary_text(grid: dict[str, Any], X: Sequence[Sequence[float]], y: Sequence[int]) -> str:
    """The grid as text: '░' where the model says +1, ' ' where -1; the data on top as
    'x' (+1) and 'o' (-1), upper case where the model gets that point wrong."""
    values = grid["values"]
    rows, cols = len(values), len(values[0])
    (x0, x1), (y0, y1) = grid["x_range"], grid["y_range"]
    canvas = [["░" if v > 0 else " " for v in row] for row in values]
    for (px, py), label in zip(X, y):
        c = min(cols - 1, max(0, int((px - x0) / (x1 - x0) * cols)))
        r = min(rows - 1, max(0, int((y1 - py) / (y1 - y0) * rows)))
        right = (values[r][c] > 0) == (label > 0)
        mark = "x" if label > 0 else "o"
        canvas[r][c] = mark if right else mark.upper()
    return "\n".join("".join(row) for row in canvas)
