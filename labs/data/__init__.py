"""The data sets the labs ship, by name, each checked against its sha256 before use.

    from labs import data
    data.path("shakespeare")      # .../labs/data/tinyshakespeare.txt, its hash verified
    data.names()                  # ["shakespeare", ...]

They ship inside the package because the labs must work offline. A file that is missing or
not the one we shipped (edited, truncated, replaced) is a one-line DataSetError, never a
quiet change of the numbers a learner compares with the lectures'.

To add a data set: put the file in this folder and add a row to DATA_SETS (its size and
sha256 from `sha256sum FILE`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from labs.common.runctx import SettingError

HERE = Path(__file__).resolve().parent


class DataSetError(SettingError):
    """A named data set that is unknown, missing or changed; the message is one line."""


@dataclass(frozen=True)
class DataSet:
    name: str  # what a learner types: data=shakespeare
    filename: str  # in this folder
    size: int  # bytes
    sha256: str
    about: str  # one line: what it is, where it comes from, its licence


DATA_SETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet(
            "shakespeare",
            "tinyshakespeare.txt",
            1_115_394,
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            'Tiny Shakespeare: ~40,000 lines of the plays, the corpus of "Let\'s build GPT" and '
            "nanoGPT's shakespeare_char (char-rnn's input.txt; public domain)",
        ),
        DataSet(
            "names",
            "names.txt",
            228_145,
            "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
            "32,033 lower-case first names, one a line: the data set of makemore "
            "(US Social Security baby-name records; makemore's names.txt, MIT)",
        ),
    )
}

_verified: set[Path] = set()  # hashed once per process: a second run in a notebook starts at once


def names() -> list[str]:
    return sorted(DATA_SETS)


def is_name(value: object) -> bool:
    return isinstance(value, str) and value in DATA_SETS


def path(name: str) -> Path:
    """The shipped file of data set `name`, after checking its size and sha256."""
    if name not in DATA_SETS:
        raise DataSetError(f"data: no shipped data set named {name!r} (shipped: {', '.join(names())})")
    entry = DATA_SETS[name]
    file = HERE / entry.filename
    if file in _verified:
        return file
    try:
        blob = file.read_bytes()
    except OSError as e:
        raise DataSetError(
            f"data: the shipped data set {name!r} is missing ({file}: {e.strerror}); reinstall studytui"
        ) from None
    if len(blob) != entry.size or hashlib.sha256(blob).hexdigest() != entry.sha256:
        raise DataSetError(
            f"data: {file} is not the shipped {name!r} data set (its sha256 "
            "differs); reinstall studytui, or give your own copy as data=PATH"
        )
    _verified.add(file)
    return file
