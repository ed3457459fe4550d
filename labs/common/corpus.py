"""Text for the labs: a sample of Python's own standard library, or the files you name.

    files, source = text_files(data=None, seed=0)         # stdlib .py files, shuffled by seed
    text = "".join(iter_texts(files, max_bytes=1_000_000))

No text corpus ships with Python, but its standard library is ~30 MB of real source text
on every machine that runs the labs. The files (or those of a folder you name) are
shuffled with a seed so a small sample mixes many modules, then read in that fixed order
until `max_bytes`. Binary and non-UTF-8 files are skipped: folders hold the odd one.
Used by the tokenizer lab (labs/tokenizer/corpus.py) and the GPT lab (labs/gpt/data.py).
"""

from __future__ import annotations

import random
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from labs.protocol import SettingError


class CorpusError(SettingError):
    """The data cannot be used; the message is one line."""


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(
        p
        for p in root.rglob("*.py")
        if not {"site-packages", "dist-packages"} & set(p.relative_to(root).parts)
    )


def read_text(path: Path) -> str | None:
    """A file's text, or None if it is binary or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None  # binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files(data: str | Path | None, seed: int = 0) -> tuple[list[Path], str]:
    """The files to read, in a fixed shuffled order, and a description of where they are."""
    if data is None:
        files, source = stdlib_files(), f"Python {sysconfig.get_python_version()} standard library"
    else:
        path = Path(data).expanduser()
        if path.is_file():
            return [path], str(path)
        if not path.is_dir():
            raise CorpusError(f"data: {path} does not exist")
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        source = str(path)
    random.Random(seed).shuffle(files)
    return files, source


def iter_texts(files: list[Path], max_bytes: int) -> Iterator[str]:
    """Each readable file's text, the last one cut so that all of it is at most max_bytes."""
    size = 0
    for f in files:
        text = read_text(f)
        if not text:
            continue
        raw = text.encode("utf-8")
        if size + len(raw) > max_bytes:
            text = raw[: max_bytes - size].decode("utf-8", errors="ignore")  # never half a character
            raw = text.encode("utf-8")
        size += len(raw)
        yield text
        if size >= max_bytes:
            return


def no_text_error(files: list[Path], source: str) -> CorpusError:
    """What to say when nothing in `files` could be read as text."""
    if len(files) == 1:
        return CorpusError(f"data: {source} is not UTF-8 text")
    return CorpusError(f"data: no UTF-8 text found in {source}")
