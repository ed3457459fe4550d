"""The makemore lab: character-level language models that learn to make up names.

    python -m labs.makemore.run --out runs                          # bigram by counting: 2.4546
    python -m labs.makemore.run --out runs --set model=bigram-nn    # the same, learned
    python -m labs.makemore.run --out runs --set model=mlp          # part 2: dev loss ~2.17
    python -m labs.makemore.run --out runs --set model=wavenet      # part 5: val loss ~1.99
    python -m labs.makemore.run RUN_DIR          # how studytui starts it (config.json there)

Settings (makemore.lab.json): model, data, steps, batch_size, learning_rate, lr_decay_step,
block_size, n_embd, n_hidden, smoothing, regularization, eval_interval, sample_interval,
num_samples, diag_interval, seed, split_seed, threads. Unset ones take the lecture's values.

The bigram models learn from every name and are measured on every name (part 1); the mlp
and wavenet learn from 80% and are measured on a dev set of 10% (the last 10%, the test
set, is left alone, as the lecture says to).

What it writes to the run folder (docs/protocol.md):
- `step` (loss: the mean minibatch loss since the last one, lr, dt_ms), at most ~2000 of them;
  for bigram-nn the loss is the plain NLL over all names (without the regularization term);
- `eval` (mlp, wavenet) every eval_interval steps: val_loss (the dev set) and train_loss (on
  a fixed slice of the train set as large as the dev set);
- `sample` with 20 fresh names (`text`, and `names` as a list) every sample_interval steps;
- `visual` events: kind "heatmap" (the 27x27 bigram counts or probabilities, characters on
  both axes), kind "histograms" (activations / gradients per tanh layer), kind "series"
  (update-to-data ratios); the heat map also as shaded text in a `log` event and the
  diagnostics as a `table`;
- `table` "result": this run's figure beside the lecture's; `model.pt` (tensors only,
  `torch.load(weights_only=True)`) and `end`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from labs.common.runctx import RunContext, SettingError
from labs.makemore import diagnostics
from labs.makemore.bigram import BigramCounts, BigramNet
from labs.makemore.data import Vocabulary, build_dataset, load_words, split_words
from labs.makemore.mlp import MLP
from labs.makemore.sample import sample_names
from labs.makemore.wavenet import WaveNet

# The figure each model is judged by, and the lecture's value of it (../shared/data/README.md).
LECTURE = {
    "bigram-counts": ("loss over all names", 2.454),
    "bigram-nn": ("loss over all names", 2.46),
    "mlp": ("dev loss", 2.17),
    "wavenet": ("val loss", 1.99),
}
# The lecture's hyperparameters; lr_decay is the share of the steps run at the full rate.
DEFAULTS = {
    "bigram-counts": dict(steps=0, block_size=1),
    "bigram-nn": dict(steps=200, learning_rate=50.0, block_size=1, sample_interval=50),
    "mlp": dict(
        steps=200_000,
        learning_rate=0.1,
        lr_decay=0.5,
        block_size=3,
        n_embd=10,
        n_hidden=200,
        eval_interval=10_000,
        sample_interval=20_000,
        diag_interval=1000,
    ),
    "wavenet": dict(
        steps=200_000,
        learning_rate=0.1,
        lr_decay=0.75,
        block_size=8,
        n_embd=24,
        n_hidden=128,
        eval_interval=10_000,
        sample_interval=20_000,
        diag_interval=1000,
    ),
}
MAX_STEP_EVENTS = 2000  # the run view keeps about this many points of a curve


@dataclass
class MakemoreConfig:
    model: str = "bigram-counts"
    data: str | None = None
    steps: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    lr_decay_step: int | None = None
    block_size: int | None = None
    n_embd: int | None = None
    n_hidden: int | None = None
    smoothing: float = 1.0
    regularization: float = 0.01
    eval_interval: int | None = None
    sample_interval: int | None = None
    num_samples: int = 20
    diag_interval: int | None = None
    seed: int = 2147483647
    split_seed: int = 42
    threads: int = 1

    def resolved(self) -> "MakemoreConfig":
        """The unset settings filled with the lecture's values for this model."""
        defaults = dict(DEFAULTS[self.model])
        lr_decay = defaults.pop("lr_decay", 1.0)
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        cfg = dataclasses.replace(self, **filled)
        if cfg.lr_decay_step is None and cfg.steps:
            cfg.lr_decay_step = int(cfg.steps * lr_decay)
        if cfg.sample_interval is None:
            cfg.sample_interval = 0
        if cfg.diag_interval is None:
            cfg.diag_interval = 0
        return cfg


# -- part 1: counting ----------------------------------------------------------------------
def heatmap_text(matrix: torch.Tensor, vocab: Vocabulary) -> str:
    """The matrix as shaded characters, rows = first character, columns = second (log scale)."""
    shades = " ░▒▓█"
    logm = torch.log1p(matrix.double())
    top = logm.max().item() or 1.0
    lines = ["  " + "".join(vocab.itos)]
    for i, row in enumerate(logm):
        lines.append(
            vocab.itos[i] + " " + "".join(shades[min(4, int(v / top * 4.999))] for v in row.tolist())
        )
    return "\n".join(lines)


def emit_heatmap(ctx: RunContext, name: str, matrix: torch.Tensor, vocab: Vocabulary, title: str) -> None:
    values = (
        matrix.tolist()
        if not matrix.is_floating_point()
        else [[round(v, 5) for v in r] for r in matrix.tolist()]
    )
    ctx.emit(
        "visual",
        kind="heatmap",
        name=name,
        title=title,
        row_labels=list(vocab.itos),
        col_labels=list(vocab.itos),
        values=values,
    )
    ctx.emit(
        "log", message=f"{title} (row: this character, column: the next):\n{heatmap_text(matrix, vocab)}"
    )


def emit_samples(
    ctx: RunContext, model, vocab: Vocabulary, cfg: MakemoreConfig, step: int, generator: torch.Generator
) -> list[str]:
    model.train(False)  # BatchNorm uses its running statistics for single examples
    names = sample_names(model, vocab, cfg.num_samples, generator)
    model.train(True)
    ctx.emit("sample", step=step, prompt="", text=", ".join(names), names=names)
    return names


def run_bigram_counts(ctx: RunContext, cfg: MakemoreConfig, words: list[str], vocab: Vocabulary) -> dict:
    model = BigramCounts.fit(words, vocab, cfg.smoothing)
    emit_heatmap(ctx, "bigram_counts", model.N, vocab, "bigram counts N")
    nll = model.nll(words, vocab)
    ctx.emit("step", step=0, loss=nll)
    emit_samples(ctx, model, vocab, cfg, 0, torch.Generator().manual_seed(cfg.seed))
    torch.save({"N": model.N, "config": asdict(cfg)}, ctx.path("model.pt"))
    ctx.emit("checkpoint", step=0, path="model.pt")
    return {"figure": round(nll, 6), "loss": round(nll, 6), "pairs": int(model.N.sum())}


# -- part 1: the same as a neural net ---------------------------------------------------------
class StepLog:
    """Step events at most MAX_STEP_EVENTS times a run, each the mean loss since the last."""

    def __init__(self, ctx: RunContext, steps: int):
        self.ctx, self.every = ctx, max(1, steps // MAX_STEP_EVENTS)
        self.losses: list[float] = []
        self.t0 = time.perf_counter()

    def add(self, step: int, loss: float, lr: float) -> None:
        self.losses.append(loss)
        if step % self.every == 0:
            dt_ms = (time.perf_counter() - self.t0) * 1000 / len(self.losses)
            self.ctx.emit(
                "step", step=step, loss=sum(self.losses) / len(self.losses), lr=lr, dt_ms=round(dt_ms, 3)
            )
            self.losses, self.t0 = [], time.perf_counter()


def run_bigram_nn(
    ctx: RunContext, cfg: MakemoreConfig, words: list[str], vocab: Vocabulary
) -> tuple[dict, str]:
    g = torch.Generator().manual_seed(cfg.seed)
    model = BigramNet(vocab.size, g)
    X, Y = build_dataset(words, 1, vocab)  # every pair of every name: (228146, 1), (228146,)
    log, status, step, nll = StepLog(ctx, cfg.steps), "done", 0, None
    for step in range(1, cfg.steps + 1):
        if ctx.stop_requested:
            status, step = "stopped", step - 1
            break
        loss, nll = model.loss(X, Y, cfg.regularization)
        model.W.grad = None
        loss.backward()
        with torch.no_grad():
            model.W -= cfg.learning_rate * model.W.grad
        log.add(step, nll.item(), cfg.learning_rate)  # no eval: part 1 has no held-out set
        if cfg.sample_interval and step % cfg.sample_interval == 0 and step < cfg.steps:
            emit_samples(ctx, model, vocab, cfg, step, g)
    with torch.no_grad():
        final = F.cross_entropy(model.logits(X), Y).item()
        emit_heatmap(
            ctx, "bigram_probabilities", F.softmax(model.W, dim=1), vocab, "learned probabilities softmax(W)"
        )
    emit_samples(ctx, model, vocab, cfg, step, g)
    torch.save({"W": model.W.detach(), "config": asdict(cfg)}, ctx.path("model.pt"))
    ctx.emit("checkpoint", step=step, path="model.pt")
    return {"figure": round(final, 6), "loss": round(final, 6), "steps": step}, status


# -- parts 2-5: minibatches, a dev set, diagnostics ---------------------------------------------
@torch.no_grad()
def split_loss(model, X: torch.Tensor, Y: torch.Tensor) -> float:
    model.train(False)
    loss = F.cross_entropy(model.logits(X), Y).item()
    model.train(True)
    return loss


def emit_diagnostics(ctx: RunContext, model, step: int, lr: float) -> None:
    acts, grads = diagnostics.activation_stats(model), diagnostics.gradient_stats(model)
    ratios = diagnostics.update_ratios(model, lr)
    ctx.emit("visual", kind="histograms", name="activations", step=step, layers=acts)
    ctx.emit("visual", kind="histograms", name="gradients", step=step, layers=grads)
    ctx.emit("visual", kind="series", name="update_to_data", step=step, values=ratios)
    grad_std = {g["name"]: float(f"{g['std']:.4g}") for g in grads}
    rows = [
        [a["name"], a["mean"], a["std"], round(100 * a["saturated"], 2), grad_std.get(a["name"])]
        for a in acts
    ]
    rows += [[f"{name} log10(update/data)", None, None, None, r] for name, r in ratios.items()]
    ctx.emit(
        "table",
        name="diagnostics",
        columns=["layer", "act mean", "act std", "saturated %", "grad std / ratio"],
        rows=rows,
    )


def make_model(cfg: MakemoreConfig, vocab: Vocabulary):
    if cfg.model == "mlp":
        return MLP(
            vocab.size, cfg.block_size, cfg.n_embd, cfg.n_hidden, torch.Generator().manual_seed(cfg.seed)
        )
    torch.manual_seed(cfg.seed)  # the lecture's layers draw from the global generator
    try:
        return WaveNet(vocab.size, cfg.block_size, cfg.n_embd, cfg.n_hidden)
    except ValueError as e:
        raise SettingError(str(e)) from None


def train_minibatch(
    ctx: RunContext, cfg: MakemoreConfig, model, splits: dict, vocab: Vocabulary
) -> tuple[dict, str]:
    (Xtr, Ytr), (Xdev, Ydev) = splits["train"], splits["dev"]
    g = torch.Generator().manual_seed(cfg.seed)
    g_sample = torch.Generator().manual_seed(cfg.seed + 10)  # the lecture samples with seed + 10
    params = model.parameters()
    log, status, step = StepLog(ctx, cfg.steps), "done", 0
    for step in range(1, cfg.steps + 1):
        if ctx.stop_requested:
            status, step = "stopped", step - 1
            break
        ix = torch.randint(0, Xtr.shape[0], (cfg.batch_size,), generator=g)
        loss = F.cross_entropy(model.logits(Xtr[ix]), Ytr[ix])  # (batch, block) -> (batch, 27) -> ()
        diagnose = cfg.diag_interval and (step % cfg.diag_interval == 0 or step == 1)
        if diagnose:
            diagnostics.keep_grads(model)
        for p in params:
            p.grad = None
        loss.backward()
        lr = cfg.learning_rate if step <= cfg.lr_decay_step else cfg.learning_rate / 10
        if diagnose:
            emit_diagnostics(ctx, model, step, lr)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        log.add(step, loss.item(), lr)
        if step % cfg.eval_interval == 0 or step == cfg.steps:
            # train_loss on a fixed slice as large as the dev set: the whole train set would
            # cost 8x as much, every eval; the final summary has the whole-set figure
            ctx.emit(
                "eval",
                step=step,
                val_loss=split_loss(model, Xdev, Ydev),
                train_loss=split_loss(model, Xtr[: len(Xdev)], Ytr[: len(Ydev)]),
            )
        if cfg.sample_interval and step % cfg.sample_interval == 0 and step < cfg.steps:
            emit_samples(ctx, model, vocab, cfg, step, g_sample)
    emit_samples(ctx, model, vocab, cfg, step, g_sample)
    train, dev = split_loss(model, Xtr, Ytr), split_loss(model, Xdev, Ydev)
    torch.save({"params": [p.detach() for p in params], "config": asdict(cfg)}, ctx.path("model.pt"))
    ctx.emit("checkpoint", step=step, path="model.pt")
    return {
        "figure": round(dev, 6),
        "train_loss": round(train, 6),
        "val_loss": round(dev, 6),
        "steps": step,
        "parameters": sum(p.nelement() for p in params),
    }, status


def main(argv: list[str] | None = None) -> None:
    with RunContext.from_argv("makemore", argv) as ctx:
        cfg = MakemoreConfig(**ctx.settings).resolved()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        words = load_words(cfg.data)
        vocab = Vocabulary.from_words(words)
        resolved = {**asdict(cfg), "words": len(words), "vocab_size": vocab.size}
        ctx.start(config=resolved, total=cfg.steps or None)
        t0 = time.perf_counter()
        status = "done"
        if cfg.model == "bigram-counts":
            summary = run_bigram_counts(ctx, cfg, words, vocab)
        elif cfg.model == "bigram-nn":
            summary, status = run_bigram_nn(ctx, cfg, words, vocab)
        else:
            model = make_model(cfg, vocab)
            train, dev, _test = split_words(words, cfg.split_seed)
            splits = {
                "train": build_dataset(train, cfg.block_size, vocab),
                "dev": build_dataset(dev, cfg.block_size, vocab),
            }
            summary, status = train_minibatch(ctx, cfg, model, splits, vocab)
        what, lecture = LECTURE[cfg.model]
        summary.update(model=cfg.model, lecture=lecture, train_s=round(time.perf_counter() - t0, 1))
        ctx.emit(
            "table",
            name="result",
            columns=["model", "figure", "this run", "lecture"],
            rows=[[cfg.model, what, round(summary["figure"], 4), lecture]],
        )
        ctx.end(status, summary)


if __name__ == "__main__":
    main()
