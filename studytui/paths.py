"""Where things live: the user's home (database, runs), the built-in curriculum, extra folders.

All user data is under STUDYTUI_HOME (default: the platform's user data dir), so a test or
a second profile is just another environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from studytui import protocol

HOME_ENV = protocol.HOME_ENV
CURRICULUM_ENV = "STUDYTUI_CURRICULUM"


def home_dir() -> Path:
    """$STUDYTUI_HOME, else the platform's user data folder: the run protocol's one
    definition, which the labs use too (they find runs and caches under the same home)."""
    return protocol.home_dir()


def db_path(home: Path | None = None) -> Path:
    return (home or home_dir()) / "studytui.db"


def runs_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / "runs"


def builtin_curriculum_dir() -> Path:
    """The curriculum shipped with studytui: inside the wheel, or the repo's curriculum/."""
    packaged = Path(__file__).resolve().parent / "_builtin_curriculum"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "curriculum"


def curriculum_dirs(extra: list[Path] | None = None, *, builtin: bool = True) -> list[Path]:
    """The built-in curriculum, then STUDYTUI_CURRICULUM folders, then --curriculum ones."""
    dirs = [builtin_curriculum_dir()] if builtin else []
    env = os.environ.get(CURRICULUM_ENV, "")
    dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    dirs += [Path(p).expanduser() for p in (extra or [])]
    seen: set[Path] = set()
    unique = []
    for d in dirs:
        key = d.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique
