"""The tokenizer lab: train a BPE tokenizer, watch its merges, measure it against GPT-2/4.

    python -m labs.tokenizer.run --out runs --set vocab_size=4096 --set pattern=gpt4
    python -m labs.tokenizer.run RUN_DIR          # how studytui starts it (config.json there)

Settings (tokenizer.lab.json): vocab_size, pattern (gpt4|gpt2|none), trainer
(fast|reference), data (a file or folder; default: a sample of Python's standard
library), max_bytes, holdout, seed.

What it writes to the run folder (docs/protocol.md):
- metrics.jsonl: `start`; about five times a second `progress` (merges done, merges/s,
  eta) and `merges` (the newest 20: pair, new token, its text, how often the pair
  occurred); then two `table`s, "compression" (bytes per token on held-out text: ours,
  gpt2, cl100k_base) and "encode_speed" (MB/s: our Python encoder, our vocabulary
  exported to tiktoken, tiktoken's gpt2 and cl100k_base; the Python encoder is timed on
  the first 200 kB only); and `end` with the headline figures.
- tokenizer.model / tokenizer.vocab: minbpe's formats, loadable with
  `labs.tokenizer.load_tokenizer("tokenizer.model")`.

SIGTERM (`studytui lab stop`) or Ctrl+C stops between two merges: the merges learned so
far are saved as a smaller, valid tokenizer and the run ends as "stopped".
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass

from labs.common.runctx import RunContext
from labs.tokenizer.base import Tokenizer, render_token
from labs.tokenizer.basic import BasicTokenizer
from labs.tokenizer.corpus import load_corpus
from labs.tokenizer.encodings import get_encoding
from labs.tokenizer.pairs import Merge
from labs.tokenizer.regex_tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from labs.tokenizer.tiktoken_bridge import to_tiktoken
from labs.tokenizer.trainers import get_trainer

PATTERNS = {"gpt4": GPT4_SPLIT_PATTERN, "gpt2": GPT2_SPLIT_PATTERN, "none": None}
REPORT_EVERY_S = 0.2  # progress/merges events at most ~5 a second
NEWEST_MERGES = 20
PY_ENCODE_SAMPLE = 200_000  # bytes the (slow) Python encoder is timed on


@dataclass
class TokenizerConfig:
    vocab_size: int = 4096
    pattern: str = "gpt4"
    trainer: str = "fast"
    data: str | None = None
    max_bytes: int = 1_000_000
    holdout: float = 0.1
    seed: int = 0


def make_tokenizer(pattern: str) -> Tokenizer:
    split = PATTERNS[pattern]
    return BasicTokenizer() if split is None else RegexTokenizer(split)


def merge_record(m: Merge, token: bytes) -> dict:
    return {
        "rank": m.rank,
        "pair": list(m.pair),
        "token": m.new_id,
        "text": render_token(token),
        "count": m.count,
    }


class MergeReporter:
    """The run's ears on Tokenizer.train: `on_merge` keeps the newest merges, emits
    `progress` and `merges` about five times a second, and asks to stop on SIGTERM."""

    def __init__(self, ctx: RunContext, total: int):
        self.ctx, self.total = ctx, total
        self.newest: deque[dict] = deque(maxlen=NEWEST_MERGES)
        self.done = 0
        self.stopped = False
        self.t0 = self.last = time.perf_counter()

    def on_merge(self, m: Merge, token: bytes) -> bool:
        self.done += 1
        self.newest.append(merge_record(m, token))
        now = time.perf_counter()
        if now - self.last >= REPORT_EVERY_S:
            self.last = now
            report(self.ctx, self.done, self.total, now - self.t0, self.newest)
        # between two merges: what is learned so far is a complete, smaller tokenizer
        self.stopped = self.ctx.stop_requested
        return self.stopped

    def finish(self) -> float:
        """The final report; the seconds training took."""
        seconds = time.perf_counter() - self.t0
        report(self.ctx, self.done, self.total, seconds, self.newest)
        return seconds


def train(
    ctx: RunContext, tok: Tokenizer, text: str, cfg: TokenizerConfig
) -> tuple[list[Merge], float, bool]:
    """Learn merges with the tokenizer's own loop, reporting as it goes.
    Returns (merges, seconds, stopped early?)."""
    reporter = MergeReporter(ctx, cfg.vocab_size - 256)
    if ctx.stop_requested:  # asked to stop before the first merge: an empty tokenizer
        return [], reporter.finish(), True
    learned = tok.train(text, cfg.vocab_size, trainer=get_trainer(cfg.trainer), on_merge=reporter.on_merge)
    return learned, reporter.finish(), reporter.stopped


def report(ctx: RunContext, done: int, total: int, seconds: float, newest: deque) -> None:
    rate = done / seconds if seconds > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    ctx.emit(
        "progress",
        done=done,
        total=total,
        rate=round(rate, 1),
        unit="merges",
        eta_s=None if eta is None else round(eta, 1),
    )
    if newest:
        ctx.emit("merges", merges=list(newest))


def bytes_per_token(text: str, ids: list[int]) -> float:
    return round(len(text.encode("utf-8")) / max(len(ids), 1), 3)


def mb_per_s(encode, text: str, repeats: int = 3, reset=None) -> float:
    """Best of `repeats` timings; `reset` empties a cache first, so no run is pre-warmed."""
    best = float("inf")
    for _ in range(repeats):
        if reset is not None:
            reset()
        t0 = time.perf_counter()
        encode(text)
        best = min(best, time.perf_counter() - t0)
    return round(len(text.encode("utf-8")) / 1e6 / max(best, 1e-9), 2)


def measure(ctx: RunContext, tok: Tokenizer, heldout: str, cfg: TokenizerConfig) -> dict:
    """The compression and encode_speed tables; returns the figures for the summary."""
    ours = tok.encode_ordinary if isinstance(tok, RegexTokenizer) else tok.encode
    ids = ours(heldout)
    gpt2, cl100k = get_encoding("gpt2"), get_encoding("cl100k_base")
    label = "trained (no split)" if cfg.pattern == "none" else f"trained ({cfg.pattern} split)"
    rows = [[label, tok.vocab_size, len(ids), bytes_per_token(heldout, ids)]]
    for enc in (gpt2, cl100k):
        enc_ids = enc.encode_ordinary(heldout)
        rows.append([enc.name, enc.n_vocab, len(enc_ids), bytes_per_token(heldout, enc_ids)])
    ctx.emit(
        "table",
        name="compression",
        columns=["tokenizer", "vocab_size", "tokens", "bytes_per_token"],
        rows=rows,
        text_bytes=len(heldout.encode("utf-8")),
    )

    sample = heldout.encode("utf-8")[:PY_ENCODE_SAMPLE].decode("utf-8", errors="ignore")
    speed_rows = []
    py_speed = mb_per_s(ours, sample, reset=getattr(tok, "clear_cache", None))
    try:
        exported = to_tiktoken(tok)
        export_speed = mb_per_s(exported.encode_ordinary, heldout)
        same = exported.encode_ordinary(sample) == ours(sample)
    except ValueError as e:  # a vocabulary tiktoken cannot hold (two tokens, same bytes)
        ctx.emit("log", message=f"tiktoken export skipped: {e}")
        export_speed, same = None, None
    gpt2_speed = mb_per_s(gpt2.encode_ordinary, heldout)
    cl100k_speed = mb_per_s(cl100k.encode_ordinary, heldout)
    speed_rows.append(["python (ours)", py_speed, _ratio(py_speed, gpt2_speed), True])
    speed_rows.append(["tiktoken export (ours)", export_speed, _ratio(export_speed, gpt2_speed), same])
    speed_rows.append(["tiktoken gpt2", gpt2_speed, 1.0, None])
    speed_rows.append(["tiktoken cl100k_base", cl100k_speed, _ratio(cl100k_speed, gpt2_speed), None])
    ctx.emit(
        "table",
        name="encode_speed",
        columns=["encoder", "MB_per_s", "vs_tiktoken_gpt2", "same_ids_as_python"],
        rows=speed_rows,
    )
    return {
        "bytes_per_token": rows[0][3],
        "gpt2_bytes_per_token": rows[1][3],
        "cl100k_bytes_per_token": rows[2][3],
        "python_encode_mb_s": py_speed,
        "tiktoken_export_mb_s": export_speed,
        "tiktoken_gpt2_mb_s": gpt2_speed,
    }


def _ratio(x: float | None, base: float) -> float | None:
    return None if x is None or not base else round(x / base, 3)


def main(argv: list[str] | None = None) -> None:
    with RunContext.from_argv("tokenizer", argv) as ctx:
        cfg = TokenizerConfig(**ctx.settings)
        train_text, heldout, source = load_corpus(cfg.data, cfg.max_bytes, cfg.holdout, cfg.seed)
        if not heldout:
            heldout = train_text  # holdout=0: measure on the training text itself
        tok = make_tokenizer(cfg.pattern)
        resolved = {
            **asdict(cfg),
            "source": source,
            "train_bytes": len(train_text.encode("utf-8")),
            "heldout_bytes": len(heldout.encode("utf-8")) if cfg.holdout > 0 else 0,
        }
        ctx.start(config=resolved, total=cfg.vocab_size - 256)

        learned, seconds, stopped = train(ctx, tok, train_text, cfg)
        tok.save(ctx.path("tokenizer"))
        ctx.emit("checkpoint", step=len(learned), path="tokenizer.model")

        summary = {
            "vocab_size": tok.vocab_size,
            "merges": len(learned),
            "merges_per_s": round(len(learned) / seconds, 1) if seconds > 0 else None,
            "train_s": round(seconds, 3),
            "train_bytes": resolved["train_bytes"],
        }
        if stopped:
            ctx.end("stopped", summary)
            return
        if len(learned) < cfg.vocab_size - 256:
            ctx.emit("log", message=f"the text ran out of pairs after {len(learned)} merges")
        summary.update(measure(ctx, tok, heldout, cfg))
        ctx.end("done", summary)


if __name__ == "__main__":
    main()
