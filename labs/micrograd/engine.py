"""A scalar-valued autograd engine: `Value` remembers how it was made, `backward()` walks back.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a ** 2        # a is used twice: its gradients add up
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-2.0, 1.0, 2.0)

Each operation makes a new Value whose `_backward` applies the chain rule for that one
operation: it takes the gradient that arrived at the output (`out.grad`) and adds the local
derivative times it into each input's `grad`. `backward()` orders the graph so that every
node is finished before its inputs are visited (a topological sort) and runs them in reverse.
The lecture: "The spelled-out intro to neural networks and backpropagation" (micrograd).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

Number = int | float


def _leaf(out: "Value") -> None:
    """A number we were given, not computed: nothing to pass back."""


class Value:
    """One number in a computation, its gradient, and the operation that made it."""

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data: Number, _children: Iterable["Value"] = (), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0  # d(output of backward()) / d(self)
        # How to pass out.grad back to our inputs; called as `node._backward(node)`. It takes
        # the node as an argument rather than closing over it (micrograd's closures do) so no
        # graph holds a reference cycle: a graph is freed as soon as the last name for it
        # goes. With the cycles, the garbage collector walked every old graph and each
        # training step of the lab got slower than the last (1.7 s, 3.5 s, 4.5 s).
        self._backward: Callable[[Value], None] = _leaf
        self._prev = tuple(_children)  # the inputs of the operation that made us
        self._op = _op  # its name, for drawing the graph
        self.label = label

    # -- the operations, each with its local derivative ---------------------------------
    def __add__(self, other: "Value" | Number) -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(out):
            # `+=`, not `=`: a node used twice receives gradient along both paths
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: "Value" | Number) -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(out):
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: Number) -> "Value":
        assert isinstance(exponent, (int, float)), "only a number exponent (x ** 2, x ** -1)"
        out = Value(self.data**exponent, (self,), f"**{exponent:g}")

        def _backward(out):
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(out):
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward(out):
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> "Value":
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward(out):
            self.grad += out.data * out.grad  # d/dx e^x = e^x, already computed

        out._backward = _backward
        return out

    def log(self) -> "Value":
        out = Value(math.log(self.data), (self,), "log")

        def _backward(out):
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    # -- backpropagation --------------------------------------------------------------------
    def backward(self) -> None:
        """Fill `grad` of every node this Value depends on with d(self)/d(node).

        Gradients accumulate: call `zero_grad()` (nn.py) or set `grad = 0` between steps."""
        topo: list[Value] = []
        visited: set[int] = set()
        # An explicit stack, not recursion: a long chain (a loop of 5,000 additions) would
        # overflow Python's recursion limit.
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)  # after all its inputs: topological order
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in visited)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward(node)

    # -- everything else is made of the operations above --------------------------------------
    def __neg__(self) -> "Value":
        return self * -1

    def __sub__(self, other: "Value" | Number) -> "Value":
        return self + (-other)

    def __truediv__(self, other: "Value" | Number) -> "Value":
        return self * other**-1

    def __radd__(self, other: Number) -> "Value":
        return self + other

    def __rsub__(self, other: Number) -> "Value":
        return other + (-self)

    def __rmul__(self, other: Number) -> "Value":
        return self * other

    def __rtruediv__(self, other: Number) -> "Value":
        return other * self**-1

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"
