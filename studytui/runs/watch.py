"""Following one run folder: its events folded into a state, and its status.

The folder is the truth (docs/protocol.md): `end`/`error` events say how a run finished;
otherwise the `run.lock` flock says whether its process is still alive. A lock dies with
the last process holding it, so a run killed with -9 (or lost in a reboot) reads as
`interrupted`, never `running` forever, and a reused pid can't fool us.

`RunWatch.poll()` starts no thread of its own: whoever owns the watch calls it (the app's
run monitor, the CLI's attach loop) and gets back what changed. A lock makes two overlapping polls safe,
and the state applies each line of the file once, so nothing is ever counted twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studytui.protocol import CONFIG_FILE, LOCK_FILE, METRICS_FILE, STOP_FILE, read_json_object, run_id_lab
from studytui.runs.events import RunState, RunTail, read_config

# A live run with no new event for this long (or ten of its usual gaps, if longer: a
# GPT-2 step on a CPU takes minutes) reads `stalled?`: the process lives but may be stuck.
STALL_AFTER_S = 300.0
STALL_GAPS = 10
FINAL = ("done", "stopped", "diverged", "failed")  # a run in one of these never changes again


def lock_held(run_dir: Path) -> bool:
    """Is some process holding the run's flock? (Taking it for an instant answers that.)"""
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def read_stop_marker(run_dir: Path) -> dict[str, Any]:
    return read_json_object(Path(run_dir) / STOP_FILE)


def derive_status(state: RunState, alive: bool, stop_marker: dict[str, Any]) -> str:
    if state.end_status:
        return state.end_status
    if state.error is not None:
        return "failed"
    if alive:
        return "running"
    # Killed by `lab stop` after its grace period: the user asked for a stop, so it's one.
    return "stopped" if stop_marker.get("killed") else "interrupted"


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunChange:
    """What one poll of a run found: the events newly folded in, and its status."""

    run_id: str
    events: tuple[dict[str, Any], ...]
    status: str
    previous_status: str
    reset: bool = False  # metrics.jsonl was replaced: the state was rebuilt from its start

    @property
    def status_changed(self) -> bool:
        return self.status != self.previous_status


class RunWatch:
    """One run folder, followed: its tail, its folded state, its status. Call `poll()`."""

    def __init__(self, run_dir: Path, *, chunk_bytes: int | None = None):
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.tail = RunTail(self.run_dir, chunk_bytes=chunk_bytes)
        self.state = RunState(config=read_config(self.run_dir))
        self.status = "running"
        self.stop_marker: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def lab(self) -> str:
        return str(self.state.config.get("lab") or run_id_lab(self.run_id) or self.run_id)

    def update(self) -> bool:
        """Read what's new; True when anything (events or status) changed."""
        return bool(self.poll())

    def poll(self) -> list[RunChange]:
        """Read what's new and fold it in: one change, or none when nothing changed."""
        with self._lock:
            return self._poll()

    def _poll(self) -> list[RunChange]:
        lines = self.tail.read()
        reset = self.tail.reset
        if reset:
            self.state = RunState(config=read_config(self.run_dir))
        if lines and "resolved" not in self.state.config:
            # The lab rewrites config.json with its resolved config at start.
            self.state.config.update(read_config(self.run_dir))
        events = self.state.apply_lines(lines)
        old = self.status
        if self.state.ended:
            alive = False  # no need to ask the lock: the events already say how it ended
        else:
            alive = lock_held(self.run_dir)
            if not alive:
                # The process may have written its last lines just before it exited.
                more = self.tail.read()
                if self.tail.reset:
                    self.state, reset = RunState(config=read_config(self.run_dir)), True
                events += self.state.apply_lines(more)
                self.stop_marker = read_stop_marker(self.run_dir)
        self.status = derive_status(self.state, alive, self.stop_marker)
        if not events and not reset and self.status == old:
            return []
        return [RunChange(self.run_id, tuple(events), self.status, old, reset)]

    def stalled(self, now: float | None = None) -> bool:
        """Running, yet silent for much longer than usual (judged by metrics.jsonl's mtime,
        so a reader that just started, with no event times yet, judges the same)."""
        if self.status != "running":
            return False
        try:
            last = (self.run_dir / METRICS_FILE).stat().st_mtime
        except OSError:
            try:
                last = (self.run_dir / CONFIG_FILE).stat().st_mtime
            except OSError:
                return False
        gap = self.state.typical_gap_s() or 0.0
        return (time.time() if now is None else now) - last > max(STALL_AFTER_S, STALL_GAPS * gap)

    def created_at(self) -> str:
        created = self.state.config.get("created")
        if isinstance(created, str):
            try:
                return (
                    dt.datetime.fromisoformat(created)
                    .astimezone(dt.timezone.utc)
                    .isoformat(timespec="seconds")
                )
            except ValueError:
                pass
        try:
            return _iso((self.run_dir / CONFIG_FILE).stat().st_mtime)
        except OSError:
            return _iso(time.time())

    def ended_at(self) -> str | None:
        if self.status == "running":
            return None
        if self.state.ended_t is not None:
            return _iso(self.state.ended_t)
        if self.stop_marker.get("killed_at"):
            return _iso(self.stop_marker["killed_at"])
        if self.state.last_t is not None:
            return _iso(self.state.last_t)
        return None

    def record(self) -> dict[str, Any]:
        """The runs-index row for this run."""
        summary = dict(self.state.summary)
        if self.status == "stopped" and not self.state.end_status and self.stop_marker.get("killed"):
            summary["note"] = self.stop_marker.get("note") or "killed after the stop grace period"
        if self.state.error:
            summary["error"] = self.state.error
        if self.state.end_reason:
            summary["reason"] = self.state.end_reason
        return {
            "id": self.run_id,
            "lab": self.lab,
            "status": self.status,
            "created_at": self.created_at(),
            "ended_at": self.ended_at(),
            "dir": str(self.run_dir),
            "pid": self.state.pid,
            "settings": self.state.config.get("settings") or {},
            "summary": summary or None,
            "last": dict(self.state.last) or None,
        }
