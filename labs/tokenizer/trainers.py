"""The two trainers by name, for settings and the command line: `fast` and `reference`."""

from __future__ import annotations

from labs.tokenizer.pairs import Trainer
from labs.tokenizer.train_fast import train_fast
from labs.tokenizer.train_reference import train_reference

TRAINERS: dict[str, Trainer] = {"fast": train_fast, "reference": train_reference}


def get_trainer(name: str) -> Trainer:
    try:
        return TRAINERS[name]
    except KeyError:
        raise ValueError(f"unknown trainer {name!r} (choose from {', '.join(TRAINERS)})") from None
