"""The lab's text: a sample of Python's own standard library, or the files you name.

    train, heldout, source = load_corpus(data=None, max_bytes=1_000_000, holdout=0.1, seed=0)

No text corpus ships with Python, but its standard library is ~30 MB of real source
text on every machine that runs the lab. The files (or the files of `data`, if it is a
folder) are shuffled with `seed`, so a sample mixes many modules, and read in that fixed
order until `max_bytes`. The last `holdout` fraction is kept aside to measure
compression on text the tokenizer did not train on.
"""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path


class CorpusError(ValueError):
    """The data cannot be used; the message is one line."""


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py")
                  if not {"site-packages", "dist-packages"} & set(p.relative_to(root).parts))


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None   # binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load_text(data: str | Path | None, max_bytes: int, seed: int = 0) -> tuple[str, str]:
    """Up to `max_bytes` of UTF-8 text, and a description of where it came from."""
    if data is None:
        files, source = stdlib_files(), f"Python {sysconfig.get_python_version()} standard library"
    else:
        path = Path(data).expanduser()
        if path.is_file():
            text = _read_text(path)
            if text is None:
                raise CorpusError(f"data: {path} is not UTF-8 text")
            return _clip(text, max_bytes), str(path)
        if not path.is_dir():
            raise CorpusError(f"data: {path} does not exist")
        files, source = sorted(p for p in path.rglob("*") if p.is_file()), str(path)
    random.Random(seed).shuffle(files)
    parts, size = [], 0
    for f in files:
        text = _read_text(f)
        if not text:
            continue   # folders hold the odd binary or non-UTF-8 file: skip it
        parts.append(text)
        size += len(text.encode("utf-8"))
        if size >= max_bytes:
            break
    if not parts:
        raise CorpusError(f"data: no UTF-8 text found in {source}")
    return _clip("".join(parts), max_bytes), source


def _clip(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")   # never cut a character in half


def split_holdout(text: str, fraction: float) -> tuple[str, str]:
    """(train, heldout): the last `fraction` of the text, from the start of a line."""
    if fraction <= 0:
        return text, ""
    cut = int(len(text) * (1 - fraction))
    newline = text.rfind("\n", 0, cut)
    if newline > len(text) // 2:
        cut = newline + 1
    return text[:cut], text[cut:]


def load_corpus(data: str | Path | None, max_bytes: int, holdout: float,
                seed: int = 0) -> tuple[str, str, str]:
    text, source = load_text(data, max_bytes, seed)
    train, heldout = split_holdout(text, holdout)
    return train, heldout, source
