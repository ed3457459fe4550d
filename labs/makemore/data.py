"""names.txt as tensors: the 27-character vocabulary, the 80/10/10 split, the context windows.

    >>> words = load_words()                    # the shipped names.txt, its sha256 checked
    >>> vocab = Vocabulary.from_words(words)
    >>> vocab.itos[0], vocab.itos[1], vocab.size
    ('.', 'a', 27)
    >>> X, Y = build_dataset(["emma"], block_size=3, vocab=vocab)
    >>> X.tolist()[:2], Y.tolist()[:2]          # '...' -> 'e', '..e' -> 'm'
    ([[0, 0, 0], [0, 0, 5]], [5, 13])

'.' (index 0) marks both the start and the end of a name, as in the lecture.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from labs import data
from labs.common.runctx import SettingError

BOUNDARY = "."


def load_words(path: str | None = None) -> list[str]:
    """One word a line, blank lines skipped: the shipped names.txt, or a file of your own."""
    file = Path(path).expanduser() if path else data.path("names")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SettingError(f"data: cannot read {file} as UTF-8 text ({e})") from None
    words = [w.strip() for w in text.splitlines() if w.strip()]
    if not words:
        raise SettingError(f"data: {file} holds no words (one a line)")
    if any(BOUNDARY in w for w in words):
        raise SettingError(
            f"data: {file} uses {BOUNDARY!r} inside a word; it marks a word's start and end here"
        )
    return words


@dataclass(frozen=True)
class Vocabulary:
    itos: tuple[str, ...]  # index -> character; 0 is '.'

    @classmethod
    def from_words(cls, words: list[str]) -> "Vocabulary":
        return cls((BOUNDARY, *sorted(set("".join(words)))))

    @property
    def size(self) -> int:
        return len(self.itos)

    @property
    def stoi(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.itos)}

    def decode(self, ixs: list[int]) -> str:
        return "".join(self.itos[i] for i in ixs)


def build_dataset(words: list[str], block_size: int, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (context, next character) pair: X (N, block_size) and Y (N,), as int64."""
    stoi = vocab.stoi
    contexts: list[int] = []  # flat: one tensor from one list is ~5x faster than from lists
    targets: list[int] = []
    for w in words:
        context = [0] * block_size
        for ch in w + BOUNDARY:
            ix = stoi[ch]
            contexts.extend(context)
            targets.append(ix)
            context = context[1:] + [ix]  # crop and append: a sliding window
    return torch.tensor(contexts, dtype=torch.long).view(-1, block_size), torch.tensor(
        targets, dtype=torch.long
    )


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """80% train, 10% dev, 10% test, shuffled with the lecture's `random.seed(42)`."""
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)  # the same order as random.seed(42); random.shuffle(words)
    n1, n2 = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]
