"""micrograd's Value against PyTorch's autograd (float64) on random expression graphs,
plus the worked examples the lecture and the docstrings use."""

from __future__ import annotations

import math
import random

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labs.micrograd import MLP, Value
from labs.micrograd.draw import graph_tree, lecture_neuron, tree_text


def _ok_divisor(x: float) -> bool:
    return abs(x) > 0.1


# Each op: (arity, applies to these data?, micrograd, torch). A program that picks an op
# whose domain check fails falls back to tanh, so few examples are thrown away.
OPS = {
    "add": (2, lambda a, b: True, lambda a, b: a + b, lambda a, b: a + b),
    "sub": (2, lambda a, b: True, lambda a, b: a - b, lambda a, b: a - b),
    "mul": (2, lambda a, b: True, lambda a, b: a * b, lambda a, b: a * b),
    "div": (2, lambda a, b: _ok_divisor(b), lambda a, b: a / b, lambda a, b: a / b),
    "neg": (1, lambda a: True, lambda a: -a, lambda a: -a),
    "tanh": (1, lambda a: True, lambda a: a.tanh(), torch.tanh),
    "relu": (1, lambda a: True, lambda a: a.relu(), torch.relu),
    "exp": (1, lambda a: a < 5, lambda a: a.exp(), torch.exp),
    "log": (1, lambda a: a > 0.1, lambda a: a.log(), torch.log),
    "square": (1, lambda a: True, lambda a: a**2, lambda a: a**2),
    "cube": (1, lambda a: True, lambda a: a**3, lambda a: a**3),
    "inverse": (1, _ok_divisor, lambda a: a**-1, lambda a: a**-1),
    "sqrt": (1, lambda a: a > 0.1, lambda a: a**0.5, lambda a: a**0.5),
    "pow1.5": (1, lambda a: a > 0.1, lambda a: a**1.5, lambda a: a**1.5),
    # numbers on the left: __radd__, __rsub__, __rmul__, __rtruediv__
    "radd": (1, lambda a: True, lambda a: 2.5 + a, lambda a: 2.5 + a),
    "rsub": (1, lambda a: True, lambda a: 1.5 - a, lambda a: 1.5 - a),
    "rmul": (1, lambda a: True, lambda a: -0.7 * a, lambda a: -0.7 * a),
    "rdiv": (1, _ok_divisor, lambda a: 3.0 / a, lambda a: 3.0 / a),
}

leaf_values = st.floats(min_value=-3, max_value=3, allow_nan=False)
steps = st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 10**6), st.integers(0, 10**6))


def run_program(leaves: list[float], program: list[tuple[str, int, int]]):
    """Build the same graph twice: in micrograd and in torch. Operands are picked from all
    nodes so far, so a node often feeds several later ones (a shared sub-expression)."""
    ours = [Value(x) for x in leaves]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    for name, i, j in program:
        i, j = i % len(ours), j % len(ours)
        arity, ok, f_ours, f_theirs = OPS[name]
        args = (i, j) if arity == 2 else (i,)
        if not ok(*(ours[k].data for k in args)):
            arity, ok, f_ours, f_theirs = OPS["tanh"]
            args = (i,)
        ours.append(f_ours(*(ours[k] for k in args)))
        theirs.append(f_theirs(*(theirs[k] for k in args)))
        assume(abs(ours[-1].data) < 1e6)
    # The output uses the last node and, again, every node: each is used at least twice.
    out_ours = ours[-1] * ours[-1] + sum(ours)
    out_theirs = theirs[-1] * theirs[-1] + sum(theirs)
    return ours, theirs, out_ours, out_theirs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaves=st.lists(leaf_values, min_size=1, max_size=4), program=st.lists(steps, min_size=1, max_size=25))
def test_gradients_equal_pytorch_on_random_graphs(leaves, program):
    ours, theirs, out_ours, out_theirs = run_program(leaves, program)
    assume(abs(out_ours.data) < 1e8)
    out_ours.backward()
    out_theirs.backward()
    assert out_ours.data == pytest.approx(out_theirs.item(), rel=1e-9, abs=1e-9)
    for leaf_ours, leaf_theirs in zip(ours, theirs[: len(leaves)]):
        expected = leaf_theirs.grad.item() if leaf_theirs.grad is not None else 0.0
        assert leaf_ours.grad == pytest.approx(expected, rel=1e-7, abs=1e-7)


def test_the_docstring_example_a_used_twice():
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a**2
    c.backward()
    assert (c.data, a.grad, b.grad) == (-2.0, 1.0, 2.0)


def test_a_node_added_to_itself_gets_both_gradients():
    a = Value(3.0)
    b = a + a  # the lecture's bug: `=` instead of `+=` gives 1 here
    b.backward()
    assert a.grad == 2.0


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + x
    y.backward()
    assert y.data == 5001.0 and x.grad == 5001.0


def test_the_lecture_neuron_and_its_tree():
    o = lecture_neuron()
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5), abs=1e-4)
    tree = graph_tree(o)
    leaves = {}

    def collect(n):
        if not n.get("children") and not n.get("ref"):
            leaves[n["name"]] = n["grad"]
        for c in n.get("children", []):
            collect(c)

    collect(tree)
    # the lecture's figures: x1.grad = -1.5, w1.grad = 1.0, x2.grad = 0.5, w2.grad = 0.0
    assert leaves == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}, abs=1e-4)
    text = tree_text(o)
    assert text.splitlines()[0] == "o = tanh(n)  data 0.7071  grad 1.0000"
    assert "└── b (+)" not in text and "b  data 6.8814  grad 0.5000" in text


def test_a_shared_node_is_drawn_once():
    a = Value(2.0, label="a")
    c = a * a
    c.backward()
    text = tree_text(c)
    assert text.splitlines() == [
        "v1 = a * a  data 4.0000  grad 1.0000",
        "├── a  data 2.0000  grad 4.0000",
        "└── a (above)",
    ]


def test_mlp_parameters_and_zero_grad():
    random.seed(0)
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    out = model([Value(0.5), Value(-1.0)])
    assert isinstance(out, Value)
    out.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_mlp_matches_torch():
    """The same weights in torch give the same output and parameter gradients."""
    random.seed(3)
    model = MLP(3, [4, 1])
    x = [0.3, -1.2, 0.8]
    out = model(x)
    out.backward()
    (l1, l2) = model.layers
    W1 = torch.tensor([[p.data for p in n.w] for n in l1.neurons], dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor([n.b.data for n in l1.neurons], dtype=torch.float64, requires_grad=True)
    W2 = torch.tensor([[p.data for p in n.w] for n in l2.neurons], dtype=torch.float64, requires_grad=True)
    b2 = torch.tensor([n.b.data for n in l2.neurons], dtype=torch.float64, requires_grad=True)
    h = torch.relu(W1 @ torch.tensor(x, dtype=torch.float64) + b1)
    y = (W2 @ h + b2)[0]
    y.backward()
    assert out.data == pytest.approx(y.item(), rel=1e-12)
    assert [p.grad for n in l1.neurons for p in n.w] == pytest.approx(W1.grad.flatten().tolist(), rel=1e-12)
    assert [n.b.grad for n in l2.neurons] == pytest.approx(b2.grad.tolist(), rel=1e-12)
