"""The BPE training loop as the lecture spells it out: recount every pair, merge the best.

    chunks = [b"hello", b" world", ...]          # the text, split by the regex (or whole)
    for m in train_reference(chunks, num_merges=768):
        print(m.rank, m.pair, "->", m.new_id, m.count)

Each merge walks the whole corpus twice (count all pairs, then rewrite every chunk), so
`num_merges` merges cost O(num_merges * corpus length). That is the point: it is the
yardstick `train_fast` must agree with, merge for merge.

The rule both trainers follow: the most frequent pair wins; among pairs equally
frequent, the smallest `(id0, id1)` wins. (minbpe takes the first pair it happened to
count, which depends on the text's order; a fixed rule makes two trainers comparable.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labs.tokenizer.pairs import Merge, get_stats, merge


def train_reference(chunks: Iterable[bytes], num_merges: int) -> Iterator[Merge]:
    """Yield up to `num_merges` merges; stops early when no pair is left to merge."""
    ids = [list(chunk) for chunk in chunks]  # one list of byte values per chunk
    for rank in range(num_merges):
        stats: dict[tuple[int, int], int] = {}
        for chunk_ids in ids:
            get_stats(chunk_ids, stats)
        if not stats:
            return  # every chunk is a single token: nothing left to merge
        # most frequent first; ties go to the smallest pair
        pair = min(stats, key=lambda p: (-stats[p], p))
        new_id = 256 + rank
        ids = [merge(chunk_ids, pair, new_id) for chunk_ids in ids]
        yield Merge(rank, pair, new_id, stats[pair])
