"""BPE's two moves and its record of a merge, which the trainers and the tokenizers share.

    get_stats([1, 2, 3, 1, 2])          # {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    merge([1, 2, 3, 1, 2], (1, 2), 9)   # [9, 3, 9]

The bottom of the tokenizer lab: it imports nothing of the lab. Above it, one way:
pairs -> train_reference, train_fast -> trainers -> base -> basic, regex_tokenizer
-> tiktoken_bridge (as minbpe's base -> basic/regex -> gpt4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple


def get_stats(
    ids: list[int], counts: dict[tuple[int, int], int] | None = None, weight: int = 1
) -> dict[tuple[int, int], int]:
    """Count adjacent pairs: [1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}.

    Overlapping pairs count: [a, a, a] holds (a, a) twice. `weight` lets a caller count a
    chunk that occurs several times in one go.
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    """Replace every occurrence of `pair`, left to right, by `idx`: [a, a, a] -> [X, a]."""
    out = []
    i, n = 0, len(ids)
    a, b = pair
    while i < n:
        if i < n - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class Merge(NamedTuple):
    """One step of training, as a trainer yields it: merge number `rank` (0, 1, ...) joined
    `pair` into the new token `new_id` (= 256 + rank), and `pair` occurred `count` times."""

    rank: int
    pair: tuple[int, int]
    new_id: int
    count: int


# A trainer: the text's chunks and a number of merges in, the merges out as it learns them.
Trainer = Callable[[Iterable[bytes], int], Iterator[Merge]]
