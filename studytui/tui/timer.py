"""The study timer: one item at a time, logged to the store when it stops.

The clock is injectable so tests move time without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_LOG_S = 1  # the store refuses zero seconds; a tap on the key and back logs nothing


class StudyTimer:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.key: str | None = None
        self._started: float | None = None

    @property
    def running(self) -> bool:
        return self.key is not None

    def elapsed(self) -> float:
        return self.clock() - self._started if self._started is not None else 0.0

    def start(self, key: str) -> None:
        self.key, self._started = key, self.clock()

    def stop(self, store, *, source: str = "tui") -> tuple[str, int] | None:
        """Stop and log; returns (key, seconds logged), or None when nothing was logged."""
        if self.key is None:
            return None
        key, seconds = self.key, int(round(self.elapsed()))
        self.key, self._started = None, None
        seconds = min(seconds, 24 * 3600)  # a timer left running over a weekend: one day
        if seconds < MIN_LOG_S:
            return None
        store.log_time(key, seconds, source=source)
        return key, seconds
