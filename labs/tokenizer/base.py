"""The BPE tokenizer's base class: its tables, its one training loop, the minbpe file format.

A tokenizer here is three tables, as in minbpe:
- `merges`: `(id0, id1) -> id`, in the order they were learned (ids 256, 257, ...);
- `vocab`: `id -> bytes`, built from the merges (the 256 byte tokens come first);
- `special_tokens`: `str -> id`, tokens that are never merged and never split.

`save(prefix)` writes `prefix.model` (what `load` reads back) and `prefix.vocab` (for
people), byte for byte in the format of Karpathy's minbpe, so a file from either loads in
the other:

    minbpe v1
    <split pattern, or an empty line>
    <number of special tokens>
    <special> <id>            (one line each)
    <id0> <id1>               (one line per merge; the merge on line k makes id 256 + k)
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Callable
from pathlib import Path

from labs.protocol import write_atomic
from labs.tokenizer.pairs import Merge, Trainer, get_stats, merge
from labs.tokenizer.train_fast import train_fast

__all__ = ["Merge", "OnMerge", "Tokenizer", "build_vocab", "get_stats", "merge", "render_token"]

# Called after each merge with it and its token's bytes; a true result stops training there.
OnMerge = Callable[[Merge, bytes], bool | None]

MODEL_VERSION = "minbpe v1"
_NEVER = float("inf")
_LONG = 64  # sequences longer than this are merged with a heap (BasicTokenizer's whole text)


def _bpe_long(ids: list[int], merges: dict[tuple[int, int], int]) -> list[int]:
    """The same result as repeated `merge` of the earliest-learned pair, in O(n log n).

    A heap holds (merge id, position) for every adjacent pair that is a merge. Popping in
    that order applies merges in learning order and, within one merge, left to right, as
    `merge` does. Pairs made by a merge contain its new id, so their own merge ids are
    larger: the heap never needs an entry earlier than the one just popped.
    """
    n = len(ids)
    tok = list(ids)
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    prv = list(range(-1, n - 1))
    heap = [(merges[p], i) for i, p in enumerate(zip(tok, tok[1:])) if p in merges]
    heapq.heapify(heap)
    while heap:
        new_id, p = heapq.heappop(heap)
        q = nxt[p]
        if tok[p] < 0 or q < 0 or merges.get((tok[p], tok[q])) != new_id:
            continue  # stale: something here merged since this entry was pushed
        tok[p] = new_id
        tok[q] = -1
        after = nxt[q]
        nxt[p] = after
        if after >= 0:
            prv[after] = p
            m = merges.get((new_id, tok[after]))
            if m is not None:
                heapq.heappush(heap, (m, p))
        before = prv[p]
        if before >= 0:
            m = merges.get((tok[before], new_id))
            if m is not None:
                heapq.heappush(heap, (m, before))
    return [t for t in tok if t >= 0]


def replace_control_characters(s: str) -> str:
    """Escape control characters (newlines, tabs, ...) so a token prints on one line."""
    return "".join(ch if unicodedata.category(ch)[0] != "C" else f"\\u{ord(ch):04x}" for ch in s)


def render_token(t: bytes) -> str:
    """A token's bytes as printable text (invalid UTF-8 shows as U+FFFD)."""
    return replace_control_characters(t.decode("utf-8", errors="replace"))


def build_vocab(
    merges: dict[tuple[int, int], int], special_tokens: dict[str, int], byte_ids: list[int] | None = None
) -> dict[int, bytes]:
    """id -> bytes. `byte_ids[b]` is the id of the single byte b (identity unless the
    tokenizer was recovered from tiktoken, whose byte tokens are not in byte order)."""
    byte_ids = byte_ids or list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for (p0, p1), idx in sorted(merges.items(), key=lambda kv: kv[1]):
        vocab[idx] = vocab[p0] + vocab[p1]
    for special, idx in special_tokens.items():
        vocab[idx] = special.encode("utf-8")
    return vocab


class Tokenizer:
    """Base class: holds the tables and reads/writes them. Subclasses train and encode."""

    def __init__(self) -> None:
        self.merges: dict[tuple[int, int], int] = {}
        self.pattern = ""
        self.special_tokens: dict[str, int] = {}
        self.byte_ids: list[int] = list(range(256))
        self.vocab = build_vocab(self.merges, self.special_tokens)

    # -- the tables ----------------------------------------------------------------------
    def set_merges(self, merges: dict[tuple[int, int], int]) -> None:
        """Install learned merges (ids must run 256, 257, ... in learning order)."""
        self.merges = dict(sorted(merges.items(), key=lambda kv: kv[1]))
        self._rebuild()

    def _rebuild(self) -> None:
        self.vocab = build_vocab(self.merges, self.special_tokens, self.byte_ids)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -- training ------------------------------------------------------------------------
    def split(self, text: str) -> list[bytes]:
        """The chunks training counts pairs within (no merge crosses two chunks)."""
        raise NotImplementedError

    def train(
        self,
        text: str,
        vocab_size: int,
        verbose: bool = False,
        *,
        trainer: Trainer = train_fast,
        on_merge: OnMerge | None = None,
    ) -> list[Merge]:
        """Learn `vocab_size - 256` merges (fewer if the text runs out of pairs). Returns them.

        The lab's one training loop. `trainer` yields the merges: `train_fast` or
        `train_reference` (both learn the same ones), or any callable of that shape.
        `on_merge(merge, token_bytes)` hears of each merge as it is learned (the lab run
        reports progress with it); when it returns true, training stops there and the
        merges so far make a complete, smaller tokenizer.
        """
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
        num_merges = vocab_size - 256
        learned = []
        vocab = {i: bytes([i]) for i in range(256)}
        for m in trainer(self.split(text), num_merges):
            learned.append(m)
            vocab[m.new_id] = vocab[m.pair[0]] + vocab[m.pair[1]]
            if verbose:
                print(
                    f"merge {m.rank + 1}/{num_merges}: {m.pair} -> {m.new_id} "
                    f"({render_token(vocab[m.new_id])}) had {m.count} occurrences"
                )
            if on_merge is not None and on_merge(m, vocab[m.new_id]):
                break
        self.byte_ids = list(range(256))
        self.set_merges({m.pair: m.new_id for m in learned})
        return learned

    # -- encoding and decoding ---------------------------------------------------------
    def _bpe(self, ids: list[int]) -> list[int]:
        """Apply the merges to a sequence of byte tokens, earliest-learned pair first."""
        if len(ids) > _LONG:
            return _bpe_long(ids, self.merges)
        merges = self.merges
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, _NEVER))
            idx = merges.get(pair)
            if idx is None:
                break  # no adjacent pair is a known merge
            ids = merge(ids, pair, idx)
        return ids

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode_bytes(self, ids: list[int]) -> bytes:
        try:
            return b"".join(self.vocab[i] for i in ids)
        except (KeyError, TypeError):
            bad = next(i for i in ids if i not in self.vocab)
            raise ValueError(f"invalid token id {bad!r} (vocab has {len(self.vocab)} tokens)") from None

    def decode(self, ids: list[int]) -> str:
        """Token ids -> text; bytes that are not valid UTF-8 become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # -- files ---------------------------------------------------------------------------
    def save(self, file_prefix: str | Path) -> None:
        """Write `file_prefix.model` (for `load`) and `file_prefix.vocab` (for people)."""
        if self.byte_ids != list(range(256)):
            raise ValueError(
                "this tokenizer keeps tiktoken's byte order, which the minbpe "
                "format cannot hold; use tiktoken_bridge.to_tiktoken() instead"
            )
        prefix = str(file_prefix)
        lines = [MODEL_VERSION, self.pattern, str(len(self.special_tokens))]
        lines += [f"{special} {idx}" for special, idx in self.special_tokens.items()]
        lines += [f"{p0} {p1}" for (p0, p1), _ in sorted(self.merges.items(), key=lambda kv: kv[1])]
        _write_text_atomic(Path(prefix + ".model"), "\n".join(lines) + "\n")

        inverted = {idx: pair for pair, idx in self.merges.items()}
        out = []
        for idx, token in self.vocab.items():
            s = render_token(token)
            if idx in inverted:
                p0, p1 = inverted[idx]
                out.append(f"[{render_token(self.vocab[p0])}][{render_token(self.vocab[p1])}] -> [{s}] {idx}")
            else:
                out.append(f"[{s}] {idx}")
        _write_text_atomic(Path(prefix + ".vocab"), "\n".join(out) + "\n")

    def load(self, model_file: str | Path) -> "Tokenizer":
        """Read a `.model` file written by `save` (or by minbpe). Returns self."""
        path = Path(model_file)
        if path.suffix != ".model":
            raise ValueError(f"{path}: expected a .model file")
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
            if lines[0].strip() != MODEL_VERSION:
                raise ValueError(f"{path}: not a {MODEL_VERSION!r} file")
            pattern = lines[1].strip()
            num_special = int(lines[2].strip())
            special_tokens = {}
            for line in lines[3 : 3 + num_special]:
                special, idx = line.strip().split()
                special_tokens[special] = int(idx)
            merges = {}
            for idx, line in enumerate((ln for ln in lines[3 + num_special :] if ln.strip()), start=256):
                p0, p1 = map(int, line.split())
                if not (0 <= p0 < idx and 0 <= p1 < idx):
                    raise ValueError(f"{path}: merge {idx} refers to an id not yet defined")
                merges[(p0, p1)] = idx
        except (IndexError, ValueError) as e:
            if str(e).startswith(str(path)):
                raise
            raise ValueError(f"{path}: not a valid {MODEL_VERSION!r} model file ({e})") from None
        self.pattern = pattern
        self.special_tokens = special_tokens
        self.byte_ids = list(range(256))
        self.merges = merges
        self._on_pattern_change()
        self._rebuild()
        return self

    def _on_pattern_change(self) -> None:
        """Subclasses that compile the pattern recompile it here."""


def _write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text)  # the protocol's: temp file, fsync, rename
