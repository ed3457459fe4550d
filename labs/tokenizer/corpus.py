"""The tokenizer lab's text, split into what it trains on and what it is measured on.

    train, heldout, source = load_corpus(data=None, max_bytes=1_000_000, holdout=0.1, seed=0)

The text is a sample of Python's standard library or the files of `data`, read as
labs/common/corpus.py describes (files shuffled with `seed`, read until `max_bytes`).
The last `holdout` fraction is kept aside to measure compression on text the tokenizer
did not train on.
"""

from __future__ import annotations

from pathlib import Path

from labs.common.corpus import CorpusError, iter_texts, no_text_error, text_files

__all__ = ["CorpusError", "load_text", "split_holdout", "load_corpus"]


def load_text(data: str | Path | None, max_bytes: int, seed: int = 0) -> tuple[str, str]:
    """Up to `max_bytes` of UTF-8 text, and a description of where it came from."""
    files, source = text_files(data, seed)
    text = "".join(iter_texts(files, max_bytes))
    if not text:
        raise no_text_error(files, source)
    return text, source


def split_holdout(text: str, fraction: float) -> tuple[str, str]:
    """(train, heldout): the last `fraction` of the text, from the start of a line."""
    if fraction <= 0:
        return text, ""
    cut = int(len(text) * (1 - fraction))
    newline = text.rfind("\n", 0, cut)
    if newline > len(text) // 2:
        cut = newline + 1
    return text[:cut], text[cut:]


def load_corpus(
    data: str | Path | None, max_bytes: int, holdout: float, seed: int = 0
) -> tuple[str, str, str]:
    text, source = load_text(data, max_bytes, seed)
    train, heldout = split_holdout(text, holdout)
    return train, heldout, source
