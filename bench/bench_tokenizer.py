"""Tokenizer lab benchmark: BPE training and encoding speed, as ratios measured in one run.

    .venv/bin/python bench/bench_tokenizer.py                 # vocab 4096 on 1 MB, GPT-4 split
    .venv/bin/python bench/bench_tokenizer.py --check-scaling   # test the reference estimate

1. Training, vocab 4096 (3840 merges) on 1 MB of Python standard library source:
   - labs.tokenizer.train_fast, in full (regex split included);
   - labs.tokenizer.train_reference, the lecture's loop. Running all 3840 merges would
     take the better part of an hour, so it runs the first N merges on the same text and
     is scaled up. A reference merge costs time in proportion to the tokens it walks (it
     recounts and rewrites the whole corpus), and the fast trainer tells us how many tokens
     remain before every merge (each merge of a pair seen c times removes c tokens). So:
     estimated total = (seconds for the first N merges / tokens walked in them)
                       x tokens walked over all 3840 merges.
     The plain linear guess (N merges -> 3840) is printed too; it overstates the cost
     because the corpus shrinks as merges proceed. The tokens-walked estimate errs the
     other way (a later merge also walks a bigger table of pair counts): `--check-scaling`
     runs 400 reference merges on 100 kB and found the real time ~1.35x the estimate, so
     the "fast vs reference" ratio printed is a conservative one.
   - rustbpe (Rust, the trainer of nanochat) on the same text and settings; it uses every
     core, where ours uses one. Its merges are checked against ours.
2. Encoding (encode_ordinary, best of 5, interleaved): our trained vocabulary exported to
   tiktoken against tiktoken's own encodings with the same split (GPT-2 split vs gpt2,
   GPT-4 split vs cl100k_base), on the same text; our Python encoder for scale.

Targets: fast trainer >= 100x the reference; the export at least as fast as tiktoken gpt2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    RegexTokenizer,
    get_encoding,
    to_tiktoken,
    train_fast,
    train_reference,
)
from labs.tokenizer.corpus import load_text


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def estimate_reference_s(chunks, merges, n: int, seconds_for_n: float, upto: int) -> float:
    """Scale the reference's first n merges to `upto` merges by the tokens each one walks."""
    remaining, walked = sum(len(c) for c in chunks), []
    for m in merges[:upto]:
        walked.append(remaining)
        remaining -= m.count  # merging a pair seen c times removes c tokens
    return seconds_for_n / sum(walked[:n]) * sum(walked)


def check_scaling(text: str, n: int, upto: int = 400) -> None:
    """Is the estimate any good? Predict `upto` merges from the first n, then run them all."""
    chunks = RegexTokenizer(GPT4_SPLIT_PATTERN).split(text)
    merges = list(train_fast(chunks, upto))
    t0 = time.perf_counter()
    for m in train_reference(chunks, upto):
        if m.rank == n - 1:
            first_n_s = time.perf_counter() - t0
    actual = time.perf_counter() - t0
    estimate = estimate_reference_s(chunks, merges, n, first_n_s, upto)
    print(
        f"  scaling check on {len(text.encode()):,} bytes: {upto} reference merges took {actual:.1f} s; "
        f"the estimate from its first {n} said {estimate:.1f} s ({estimate / actual:.2f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--max-bytes", type=int, default=1_000_000)
    ap.add_argument(
        "--reference-merges",
        type=int,
        default=20,
        help="merges the reference trainer really runs before scaling up",
    )
    ap.add_argument(
        "--check-scaling",
        action="store_true",
        help="also run the reference for 400 merges on 100 kB and compare with the estimate",
    )
    args = ap.parse_args()
    num_merges = args.vocab_size - 256

    text, source = load_text(None, args.max_bytes, seed=0)
    nbytes = len(text.encode("utf-8"))
    print(
        f"text: {nbytes:,} bytes of the {source}; vocab {args.vocab_size} "
        f"({num_merges} merges); GPT-4 split pattern; {os.cpu_count()} CPU cores"
    )

    # -- training --------------------------------------------------------------------
    tok = RegexTokenizer(GPT4_SPLIT_PATTERN)
    t0 = time.perf_counter()
    chunks = tok.split(text)
    split_s = time.perf_counter() - t0
    fast_merges = list(train_fast(chunks, num_merges))
    fast_s = time.perf_counter() - t0
    print(
        f"\nfast trainer      {fast_s:8.2f} s   ({split_s:.2f} s regex split + "
        f"{fast_s - split_s:.2f} s merging; {len(fast_merges) / fast_s:,.0f} merges/s)"
    )

    n = min(args.reference_merges, len(fast_merges))
    t0 = time.perf_counter()
    ref_merges = list(train_reference(chunks, n))
    ref_n_s = time.perf_counter() - t0
    assert ref_merges == fast_merges[:n], "the trainers disagree"
    ref_est_s = estimate_reference_s(chunks, fast_merges, n, ref_n_s, len(fast_merges))
    ref_linear_s = ref_n_s / n * len(fast_merges)
    print(
        f"reference trainer {ref_n_s:8.2f} s for its first {n} merges (identical to fast's); "
        f"scaled by tokens walked to all {len(fast_merges)}: ~{ref_est_s:,.0f} s "
        f"(linear guess: {ref_linear_s:,.0f} s)"
    )

    if args.check_scaling:
        check_scaling(text[:100_000], n)

    try:
        import rustbpe
    except ImportError:
        rust_s, same = None, None
        print("rustbpe           not installed")
    else:
        rust = rustbpe.Tokenizer()
        t0 = time.perf_counter()
        rust.train_from_iterator(iter([text]), args.vocab_size, pattern=GPT4_SPLIT_PATTERN)
        rust_s = time.perf_counter() - t0
        tok.set_merges({m.pair: m.new_id for m in fast_merges})
        ours = {token: idx for idx, token in tok.vocab.items()}
        same = {bytes(t): i for t, i in rust.get_mergeable_ranks()} == ours
        print(f"rustbpe           {rust_s:8.2f} s   (same merges as ours: {'yes' if same else 'NO'})")

    print(
        f"\n  fast vs reference: {ref_est_s / fast_s:,.0f}x faster (target >= 100x; "
        f"{ref_linear_s / fast_s:,.0f}x by the linear guess)"
    )
    if rust_s:
        print(f"  rustbpe vs fast:   rustbpe is {fast_s / rust_s:.1f}x faster than our pure-Python trainer")

    # -- encoding --------------------------------------------------------------------
    # Compare like with like: our vocabulary trained with GPT-2's split against tiktoken's
    # gpt2, and with GPT-4's split against cl100k_base (the regex is much of the cost).
    tok.set_merges({m.pair: m.new_id for m in fast_merges})
    tok_gpt2 = RegexTokenizer(GPT2_SPLIT_PATTERN)
    tok_gpt2.train(text, args.vocab_size)
    encoders = {
        "tiktoken gpt2": get_encoding("gpt2"),
        f"ours {args.vocab_size}, GPT-2 split, exported": to_tiktoken(tok_gpt2),
        "tiktoken cl100k_base": get_encoding("cl100k_base"),
        f"ours {args.vocab_size}, GPT-4 split, exported": to_tiktoken(tok),
    }
    for ours_py, name in ((tok_gpt2, "GPT-2"), (tok, "GPT-4")):
        exported = encoders[f"ours {args.vocab_size}, {name} split, exported"]
        assert exported.encode_ordinary(text[:100_000]) == ours_py.encode_ordinary(text[:100_000])
    best = {name: float("inf") for name in encoders}
    for _ in range(5):  # interleaved, so a busy moment on the machine hits every encoder
        for name, enc in encoders.items():
            t0 = time.perf_counter()
            enc.encode_ordinary(text)
            best[name] = min(best[name], time.perf_counter() - t0)
    sample = text[:200_000]
    sample_mb = len(sample.encode("utf-8")) / 1e6

    def python_encode():
        tok.clear_cache()
        tok.encode_ordinary(sample)

    py_mb_s = sample_mb / best_of(python_encode, 3)
    mb = nbytes / 1e6
    print(
        f"\nencode, one thread, encode_ordinary on {mb:.1f} MB, best of 5 (exports give the "
        "Python encoder's ids):"
    )
    pairs = [
        ("tiktoken gpt2", f"ours {args.vocab_size}, GPT-2 split, exported"),
        ("tiktoken cl100k_base", f"ours {args.vocab_size}, GPT-4 split, exported"),
    ]
    for base, ours_name in pairs:
        print(f"  {base:34s} {mb / best[base]:7.2f} MB/s")
        print(
            f"  {ours_name:34s} {mb / best[ours_name]:7.2f} MB/s   "
            f"{best[base] / best[ours_name]:.2f}x {base} (target >= 1x)"
        )
    print(
        f"  {'our Python encoder (GPT-4 split)':34s} {py_mb_s:7.2f} MB/s   "
        f"{py_mb_s / (mb / best['tiktoken cl100k_base']):.2f}x tiktoken cl100k_base "
        f"(on {sample_mb:.1f} MB, cache emptied first)"
    )


if __name__ == "__main__":
    main()
