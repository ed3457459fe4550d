"""One factory for everything a command or a screen needs: home, store, curriculum.

The CLI and the TUI (and their tests) build a Session the same way, so `--db`,
`--curriculum` and STUDYTUI_HOME mean the same everywhere. The curriculum and the store
are opened on first use: `studytui lab runs` never parses YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from studytui import paths
from studytui.curriculum.model import Curriculum


@dataclass
class Session:
    home: Path = field(default_factory=paths.home_dir)
    db: Path | None = None
    extra_curriculum: list[Path] = field(default_factory=list)
    builtin: bool = True  # False: only the user's own folders (--no-builtin)

    @cached_property
    def store(self):
        from studytui.store import Store

        return Store(self.db or paths.db_path(self.home))

    @property
    def curriculum_dirs(self) -> list[Path]:
        return paths.curriculum_dirs(self.extra_curriculum, builtin=self.builtin)

    @cached_property
    def load_result(self):
        from studytui.curriculum.loader import load_curriculum
        from studytui.runs.manifest import lab_names

        # The cache (JSON, keyed by every file's size and mtime) makes a 10,000-item
        # curriculum load about five times faster; a stale, corrupt or planted cache is
        # simply rebuilt (see curriculum/cache.py).
        return load_curriculum(self.curriculum_dirs, known_labs=lab_names(), cache_dir=self.home / "cache")

    @property
    def curriculum(self) -> Curriculum:
        return self.load_result.curriculum

    @property
    def runs_dir(self) -> Path:
        return paths.runs_dir(self.home)

    def reload_curriculum(self) -> None:
        self.__dict__.pop("load_result", None)
