"""What the app remembers between launches that is no study data: the chosen theme, which
ended runs the learner has been told about. One small JSON file under the home
(`STUDYTUI_HOME/tui.json`), written through the atomic writer.

The file is a convenience: one that is missing, damaged or unwritable is treated as empty
and never keeps the app from starting (study data lives in the database, not here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studytui.atomic import write_atomic

SETTINGS_FILE = "tui.json"
MAX_SEEN_RUNS = 2000  # the oldest are forgotten: a run that old was seen long ago


class UiSettings:
    def __init__(self, home: Path):
        self.path = Path(home) / SETTINGS_FILE
        self.data = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> bool:
        """Remember `value`; False if the file could not be written (the value still holds
        for this session)."""
        self.data[key] = value
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(self.data, indent=1, ensure_ascii=False) + "\n")
        except OSError:
            return False
        return True

    # -- runs the learner was told had ended ------------------------------------------------
    def seen_runs(self) -> set[str] | None:
        """Ids of ended runs already reported; None before the app ever recorded any."""
        seen = self.data.get("seen_runs")
        return {str(r) for r in seen} if isinstance(seen, list) else None

    def mark_seen(self, run_ids: list[str]) -> None:
        seen = list(self.data.get("seen_runs") or []) if isinstance(self.data.get("seen_runs"), list) else []
        new = [r for r in run_ids if r not in set(seen)]
        if new or "seen_runs" not in self.data:
            self.set("seen_runs", (seen + new)[-MAX_SEEN_RUNS:])
