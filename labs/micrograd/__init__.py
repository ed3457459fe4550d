"""micrograd: a scalar autograd engine and a tiny neural-net library on top of it.

    python -m labs.micrograd.run --out runs          # the lab: an MLP learns two moons
    from labs.micrograd import Value, MLP

Files, one idea each (karpathy/micrograd's shape):
    engine.py   Value: + - * / **, tanh, relu, exp, log and backward() by topological sort
    nn.py       Neuron, Layer, MLP with parameters() and zero_grad()
    moons.py    the two-moons data set, made here with a seed (no scikit-learn)
    draw.py     the expression graph as a text tree (the lecture's draw_dot) and the
                decision boundary as text
    run.py      the lab process (docs/protocol.md): max-margin loss + L2, plain SGD
"""

from labs.micrograd.engine import Value
from labs.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["Value", "Module", "Neuron", "Layer", "MLP"]
