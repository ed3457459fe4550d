"""train_fast's edges that the agreement tests in test_tokenizer_bpe.py reach only by chance.

Each case is tiny and checked two ways: the exact merges, worked out by hand, and (for the
bigger ones) agreement with `train_reference`, merge for merge, trained until no pair is left.
"""

from __future__ import annotations

import random

import pytest

from labs.tokenizer import train_fast, train_reference
from labs.tokenizer.pairs import Merge

A, B, C, X = 97, 98, 99, 120  # b"a", b"b", b"c", b"x"


def test_the_corpus_last_pair_is_counted():
    # the only pair sits at the very end of the list of positions
    assert list(train_fast([b"ab"], 5)) == [Merge(0, (A, B), 256, 1)]
    assert list(train_fast([b"c", b"ab"], 5)) == [Merge(0, (A, B), 256, 1)]


def test_empty_and_one_byte_chunks_take_no_positions():
    # an empty chunk first, in the middle and last; one-byte chunks between
    chunks = [b"", b"ab", b"", b"abc", b"a", b"bcab", b""]
    assert list(train_fast(chunks, 100)) == [
        Merge(0, (A, B), 256, 3),
        Merge(1, (B, C), 257, 1),
        Merge(2, (256, C), 258, 1),
        Merge(3, (257, 256), 259, 1),
    ]
    assert list(train_fast([b"", b"ab"], 5)) == [Merge(0, (A, B), 256, 1)]
    assert list(train_fast([b"", b""], 5)) == []


def test_a_merge_next_to_the_corpus_first_position_updates_its_pair():
    # merging (a, b) at position 1 turns (x, a) at position 0 into (x, ab)
    assert list(train_fast([b"xab", b"ab"], 5)) == [
        Merge(0, (A, B), 256, 2),
        Merge(1, (X, 256), 257, 1),
    ]


def test_overlapping_runs_merge_left_to_right_across_chunks():
    # "aaa" holds (a, a) at positions 0 and 1; merging at 0 leaves 1 stale, "aa" follows
    assert list(train_fast([b"aaa", b"aa"], 5)) == [
        Merge(0, (A, A), 256, 3),
        Merge(1, (256, A), 257, 1),
    ]


def test_repeated_chunks_count_with_their_multiplicity():
    chunks = [b"ab", b"xab", b"ab", b"xab", b"xab"]
    assert list(train_fast(chunks, 5)) == [
        Merge(0, (A, B), 256, 5),
        Merge(1, (X, 256), 257, 3),
    ]


def _random_chunks(seed: int, alphabet: bytes) -> list[bytes]:
    rng = random.Random(seed)
    pieces = [bytes(rng.choices(alphabet, k=rng.randint(0, 9))) for _ in range(12)]
    # each piece several times, so counts are weighted and pairs fall from 2+ to 1
    return [rng.choice(pieces) for _ in range(rng.randint(1, 40))]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(
    "alphabet",
    [b"\x00\x01\x02", b"\x01\x01\x02\xfe\xff", b"ab c"],
    ids=["low-bytes", "ones", "text"],
)
def test_trainers_agree_until_no_pair_is_left(seed, alphabet):
    """Trained to the end: the last merges are of pairs counted once, many of them pairs
    whose count fell as their neighbours merged. Bytes 0 and 1 as tokens check that a
    merged-away position can never pass for a live one."""
    chunks = _random_chunks(seed, alphabet)
    fast = list(train_fast(chunks, 10_000))
    assert fast == list(train_reference(chunks, 10_000))
    assert [m.new_id for m in fast] == [256 + m.rank for m in fast]
