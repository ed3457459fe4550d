"""The curriculum: plain data (model), read from YAML folders (loader), durations as text.

The loader (and PyYAML) is imported on first use of its names: modules that only need the
model, such as the store, must not pay for YAML at start-up.
"""

from studytui.curriculum.durations import format_duration, parse_duration
from studytui.curriculum.model import (
    KINDS,
    STATUSES,
    Course,
    Curriculum,
    Item,
    Link,
    Section,
    Term,
)

_LOADER_NAMES = ("LoadResult", "Problem", "load_curriculum", "validate_paths")

__all__ = [
    "KINDS",
    "STATUSES",
    "Course",
    "Curriculum",
    "Item",
    "Link",
    "Section",
    "Term",
    *_LOADER_NAMES,
    "parse_duration",
    "format_duration",
]


def __getattr__(name: str):
    if name in _LOADER_NAMES:
        from studytui.curriculum import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
