"""Which runs just ended, and which ended while the app was closed: read from the runs index.

Pure bookkeeping (no Textual): the run monitor feeds it each index it reads and tells the
learner what it returns (a notification and the terminal bell for a run that ends while
the app is open; a list on the desk for runs that ended unseen).

"Seen" is remembered under the home (studytui.tui.ui_settings): a run is seen once the app
has told about its end. The first launch that keeps this record takes every run already
ended as seen: a learner upgrading is not greeted with their whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How a run may end that the learner should hear about ("stopped" is their own doing).
ENDINGS = ("done", "failed", "diverged", "interrupted")
BAD_ENDINGS = ("failed", "diverged", "interrupted")
MAX_UNSEEN_SHOWN = 3


@dataclass(frozen=True)
class Ending:
    run_id: str
    status: str
    line: str = ""  # ending_line(...): filled in by the monitor, from the run's events

    @property
    def bad(self) -> bool:
        return self.status in BAD_ENDINGS


class RunEndings:
    def __init__(self, seen: set[str] | None):
        self.seen = seen  # None: no record yet (first launch)
        self.statuses: dict[str, str] | None = None

    def read(self, rows: list[dict[str, Any]]) -> tuple[list[Ending], list[Ending]]:
        """(ended since the last index, ended unseen before this app opened); the second
        only on the first index read."""
        statuses = {str(r["id"]): str(r["status"]) for r in rows}
        previous, self.statuses = self.statuses, statuses
        if previous is None:
            ended = [Ending(run_id, s) for run_id, s in statuses.items() if s in ENDINGS]
            if self.seen is None:
                return [], []
            return [], [e for e in ended if e.run_id not in self.seen]
        just = [
            Ending(run_id, s)
            for run_id, s in statuses.items()
            if s in ENDINGS
            and previous.get(run_id, "running") == "running"
            and (self.seen is None or run_id not in self.seen)
        ]
        return just, []

    def ended_ids(self) -> list[str]:
        return [run_id for run_id, s in (self.statuses or {}).items() if s in ENDINGS]
