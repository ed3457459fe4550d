"""A neural-network library on top of `Value`: Neuron, Layer, MLP, in PyTorch's shape.

    >>> import random; random.seed(1337)
    >>> model = MLP(2, [16, 16, 1])          # 2 inputs, two hidden layers of 16, 1 output
    >>> len(model.parameters())
    337
    >>> score = model([0.5, -1.0])           # a Value: call .backward() on a loss made of it

Hidden neurons use ReLU, the last layer is linear (as micrograd's demo), unless `act`
says otherwise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from labs.micrograd.engine import Number, Value

Input = Sequence[Value | Number]


class Module:
    def zero_grad(self) -> None:
        """Gradients accumulate in backward(): clear them before the next one."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    """act(w · x + b): one weight per input, one bias."""

    def __init__(self, nin: int, act: str = "relu"):
        assert act in ("relu", "tanh", "linear"), act
        self.w = [Value(random.uniform(-1, 1), label=f"w{i + 1}") for i in range(nin)]
        self.b = Value(0.0, label="b")
        self.act = act

    def __call__(self, x: Input) -> Value:
        n = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.act == "relu":
            return n.relu()
        if self.act == "tanh":
            return n.tanh()
        return n

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{self.act.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons, each looking at all the inputs."""

    def __init__(self, nin: int, nout: int, act: str = "relu"):
        self.neurons = [Neuron(nin, act) for _ in range(nout)]

    def __call__(self, x: Input) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers one after another: nin -> nouts[0] -> ... -> nouts[-1]."""

    def __init__(self, nin: int, nouts: Sequence[int], act: str = "relu"):
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], act if i < len(nouts) - 1 else "linear") for i in range(len(nouts))
        ]

    def __call__(self, x: Input) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            x = [x] if isinstance(x, Value) else x
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
