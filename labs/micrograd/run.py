"""The micrograd lab: an MLP of `Value`s learns to separate two moons.

    python -m labs.micrograd.run --out runs                       # the lecture's demo
    python -m labs.micrograd.run --out runs --set hidden=8 --set steps=50
    python -m labs.micrograd.run RUN_DIR          # how studytui starts it (config.json there)

The recipe of micrograd's demo.ipynb: MLP(2, [16, 16, 1]), labels -1/+1, the max-margin
("hinge") loss mean(relu(1 - y * score)) plus alpha * sum(p**2), full-batch gradient
descent with the learning rate falling linearly from 1.0 to 0.1. It reaches 100% training
accuracy in well under 100 steps. All of it is plain Python: every multiply is a `Value`,
so a step takes a fraction of a second, and that slowness is the lesson (PyTorch does
the same on tensors).

What it writes to the run folder (docs/protocol.md):
- `step` each step: loss, data_loss, reg_loss, accuracy, lr, dt_ms;
- `visual` kind "tree" at the start: the lecture's neuron o = tanh(x1*w1 + x2*w2 + b)
  after backward(), every node with data and grad (also as text in a `log` event);
- `visual` kind "grid" every `boundary_every` steps: the model's score over a grid and
  the data points (also drawn as text in a `sample` event);
- `table` "result" and `end` with the final loss and accuracy.
"""

from __future__ import annotations

import gc
import random
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from labs.common.runctx import RunContext
from labs.micrograd.draw import boundary_grid, boundary_text, graph_tree, lecture_neuron, tree_text
from labs.micrograd.engine import Value
from labs.micrograd.moons import make_moons
from labs.micrograd.nn import MLP

LECTURE_ACCURACY = 1.0  # micrograd's demo.ipynb: "step 99 loss 0.0110, accuracy 100.0%"


@dataclass
class MicrogradConfig:
    steps: int = 100
    n_samples: int = 100
    noise: float = 0.1
    hidden: str = "16,16"
    learning_rate: float = 1.0
    alpha: float = 1e-4
    boundary_every: int = 10
    seed: int = 1337

    @property
    def layer_sizes(self) -> list[int]:
        return [int(n) for n in self.hidden.split(",")] + [1]


def loss_and_accuracy(
    model: MLP, X: list[list[float]], y: list[int], alpha: float
) -> tuple[Value, Value, Value, float]:
    """(total, data, regularization) loss as Values, and accuracy, over the whole set."""
    inputs = [[Value(a), Value(b)] for a, b in X]
    scores = [model(x) for x in inputs]
    # max-margin: a point costs nothing once it is on the right side by a margin of 1
    margins = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(margins) * (1.0 / len(margins))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
    return data_loss + reg_loss, data_loss, reg_loss, accuracy


@contextmanager
def no_cycle_collector():
    """Reference counting alone frees our graphs (engine.py builds no cycles); the cycle
    collector would only walk the ~130,000 live nodes of a forward pass again and again:
    measured 0.9-2.3 s a forward pass with it, 0.1 s without."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def show_boundary(ctx: RunContext, model: MLP, X: list[list[float]], y: list[int], step: int) -> None:
    grid = boundary_grid(lambda a, b: model([a, b]).data, X)
    ctx.emit(
        "visual",
        kind="grid",
        name="decision_boundary",
        step=step,
        **grid,
        points=[[round(a, 4), round(b, 4), label] for (a, b), label in zip(X, y)],
    )
    # the leading newline: the run view prints "step N: " before a sample's text
    ctx.emit("sample", step=step, prompt="", text="\n" + boundary_text(grid, X, y))


def main(argv: list[str] | None = None) -> None:
    with RunContext.from_argv("micrograd", argv) as ctx, no_cycle_collector():
        cfg = MicrogradConfig(**ctx.settings)
        X, y = make_moons(cfg.n_samples, cfg.noise, seed=cfg.seed)
        random.seed(cfg.seed)
        model = MLP(2, cfg.layer_sizes)
        ctx.start(config={**asdict(cfg), "parameters": len(model.parameters())}, total=cfg.steps)

        neuron = lecture_neuron()
        neuron.backward()
        ctx.emit("visual", kind="tree", name="neuron", root=graph_tree(neuron))
        ctx.emit("log", message="the lecture's neuron after backward():\n" + tree_text(neuron))

        status, step, accuracy, first_perfect = "done", 0, 0.0, None
        total = data_loss = None
        for step in range(1, cfg.steps + 1):
            if ctx.stop_requested:
                status, step = "stopped", step - 1
                break
            t0 = time.perf_counter()
            total, data_loss, reg_loss, accuracy = loss_and_accuracy(model, X, y, cfg.alpha)
            model.zero_grad()
            total.backward()
            lr = cfg.learning_rate * (1.0 - 0.9 * (step - 1) / cfg.steps)
            for p in model.parameters():
                p.data -= lr * p.grad
            if accuracy == 1.0 and first_perfect is None:
                first_perfect = step
            # loss and accuracy are those of the weights before this step's update
            ctx.emit(
                "step",
                step=step,
                loss=total.data,
                data_loss=data_loss.data,
                reg_loss=reg_loss.data,
                accuracy=accuracy,
                lr=lr,
                dt_ms=round((time.perf_counter() - t0) * 1000, 1),
            )
            if cfg.boundary_every and step % cfg.boundary_every == 0 and step < cfg.steps:
                show_boundary(ctx, model, X, y, step)

        final_total, final_data, _, final_accuracy = loss_and_accuracy(model, X, y, cfg.alpha)
        show_boundary(ctx, model, X, y, step)
        ctx.emit(
            "table",
            name="result",
            columns=["figure", "this run", "lecture"],
            rows=[
                ["train accuracy", round(final_accuracy, 4), LECTURE_ACCURACY],
                ["first step at 100%", first_perfect, None],
                ["loss", round(final_total.data, 4), 0.011],
            ],
        )
        ctx.end(
            status,
            {
                "accuracy": final_accuracy,
                "loss": round(final_total.data, 6),
                "data_loss": round(final_data.data, 6),
                "steps": step,
                "first_perfect_step": first_perfect,
                "parameters": len(model.parameters()),
            },
        )


if __name__ == "__main__":
    main()
