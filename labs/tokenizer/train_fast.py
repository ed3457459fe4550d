"""BPE training that does only the work each merge needs, in pure Python.

    for m in train_fast(chunks, num_merges=3840):   # same merges as train_reference
        ...

Where the reference recounts the whole corpus for every merge, this trainer:

1. counts each distinct chunk once, with its multiplicity (" the" occurs 30,000 times
   in English text, but is one entry with weight 30,000);
2. lays the distinct chunks end to end in a doubly-linked list of tokens (`tok`, `prv`,
   `nxt`; None marks a chunk boundary, so no pair straddles two chunks);
3. keeps `stats[pair]` (weighted count) and `where[pair]` (the list positions where the
   pair may start) up to date *around each merge only*: merging (a, b) at position p
   touches just the pairs (prev, a) and (b, next), which become (prev, X) and (X, next);
4. picks the best pair from a heap of (-count, id0, id1) with lazy updates: counts of
   old pairs only ever go down, so a heap entry is an upper bound; a popped entry whose
   count is stale is pushed back with its true count, and the first entry that is
   current is the true maximum (ties: the smallest pair, by tuple order).

So a merge costs time proportional to how often its pair occurs, not to the corpus size.
`where` is never pruned: a position that no longer holds the pair is skipped when it is
read (tokens only change into newer ids, and a merged-away position has no next one, so a
stale position never becomes valid again).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from labs.tokenizer.pairs import Merge


def train_fast(chunks: Iterable[bytes], num_merges: int) -> Iterator[Merge]:
    """Yield up to `num_merges` merges, identical to `train_reference`'s."""
    weights = Counter(chunks)  # distinct chunk -> how many times it occurs

    # -- the corpus as a linked list over all distinct chunks ------------------------
    tok: list[int] = []  # token id at each position
    wt: list[int] = []  # multiplicity of the chunk the position belongs to
    nxt: list[int | None] = []  # next position in the same chunk (None: last, or merged away)
    prv: list[int | None] = []  # previous position in the same chunk (None: first)
    for chunk, w in weights.items():
        start, n = len(tok), len(chunk)
        if n == 0:
            continue
        tok.extend(chunk)
        wt.extend([w] * n)
        nxt.extend(range(start + 1, start + n))
        nxt.append(None)
        prv.append(None)
        prv.extend(range(start, start + n - 1))
    del weights

    stats: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], list[int]] = defaultdict(list)
    for p in range(len(tok) - 1):
        if nxt[p] is not None:
            pair = (tok[p], tok[p + 1])
            stats[pair] += wt[p]
            where[pair].append(p)

    heap = [(-c, a, b) for (a, b), c in stats.items()]
    heapq.heapify(heap)

    for rank in range(num_merges):
        # -- the best pair: pop until an entry's count is current -------------------
        # A pair has at most one heap entry, popped before the pair leaves `stats`, so every
        # entry's pair is in `stats`; only counts above 0 are pushed, so the one found is > 0.
        while heap:
            neg, a, b = heapq.heappop(heap)
            count = stats[(a, b)]
            if count == -neg:
                break
            if count > 0:
                heapq.heappush(heap, (-count, a, b))
        else:
            return  # no pair left anywhere
        new_id = 256 + rank

        # -- merge it everywhere, fixing the neighbours' counts as we go -------------
        # Each list in `where` is written in one left-to-right pass (the first count, or the
        # merge that made its newer id), so it is in increasing order without repeats: an
        # overlapping run of (a, a) ("aaa") merges left to right, as `merge` does.
        positions = where.pop((a, b))
        touched = set()  # new pairs (x, new_id) / (new_id, x) made by this merge
        for p in positions:
            if tok[p] != a:
                continue
            q = nxt[p]
            if q is None or tok[q] != b:
                continue  # stale: this position no longer starts (a, b)
            w = wt[p]
            before, after = prv[p], nxt[q]
            if before is not None:
                t = tok[before]
                stats[(t, a)] -= w
                key = (t, new_id)
                stats[key] += w
                where[key].append(before)
                touched.add(key)
            if after is not None:
                t = tok[after]
                stats[(b, t)] -= w
                key = (new_id, t)
                stats[key] += w
                where[key].append(p)
                touched.add(key)
                prv[after] = p
            tok[p] = new_id
            nxt[p] = after
            nxt[q] = None  # q is merged away: with no next position it starts no pair again
        del stats[(a, b)]
        for key in touched:
            c = stats[key]
            if c > 0:
                heapq.heappush(heap, (-c, key[0], key[1]))
        yield Merge(rank, (a, b), new_id, count)
