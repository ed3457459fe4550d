"""A run's status, derived from its folder whenever we look, and the runs index kept in step.

The folder is the truth (docs/protocol.md): `end`/`error` events say how a run finished;
otherwise the `run.lock` flock says whether its process is still alive. A lock dies with
the last process holding it, so a run killed with -9 (or lost in a reboot) reads as
`interrupted`, never `running` forever, and a reused pid can't fool us.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from studytui.runs.tail import RunState, RunTail, read_config

LOCK_FILE = "run.lock"
STOP_FILE = "stop.json"          # written by `stop_run`: when a stop was asked, and if it had to kill
STATUSES = ("running", "done", "stopped", "failed", "interrupted")
FINAL = ("done", "stopped", "failed")   # a run in one of these never changes again


class RunError(Exception):
    """A request about runs that can't be done (unknown id, not running...); one line."""


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
    try:
        doc = json.loads((Path(run_dir) / STOP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


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


class RunWatch:
    """One run folder, followed: its tail, its folded state, its status. Call `update()`."""

    def __init__(self, run_dir: Path, *, chunk_bytes: int | None = None):
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.tail = RunTail(self.run_dir, chunk_bytes=chunk_bytes)
        self.state = RunState(config=read_config(self.run_dir))
        self.status = "running"
        self.stop_marker: dict[str, Any] = {}

    @property
    def lab(self) -> str:
        return str(self.state.config.get("lab") or self.run_id.rsplit("-", 3)[0])

    def update(self) -> bool:
        """Read what's new; True when anything (events or status) changed."""
        events = self.tail.poll()
        if self.tail.reset:
            self.state = RunState(config=read_config(self.run_dir))
        if events and "resolved" not in self.state.config:
            # The lab rewrites config.json with its resolved config at start.
            self.state.config.update(read_config(self.run_dir))
        self.state.apply(events)
        old = self.status
        if self.state.ended:
            alive = False   # no need to ask the lock: the events already say how it ended
        else:
            alive = lock_held(self.run_dir)
            if not alive:
                # The process may have written its last lines just before it exited.
                more = self.tail.poll()
                self.state.apply(more)
                events += more
                self.stop_marker = read_stop_marker(self.run_dir)
        self.status = derive_status(self.state, alive, self.stop_marker)
        return bool(events) or self.tail.reset or self.status != old

    def created_at(self) -> str:
        created = self.state.config.get("created")
        if isinstance(created, str):
            try:
                return dt.datetime.fromisoformat(created).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
            except ValueError:
                pass
        try:
            return _iso((self.run_dir / "config.json").stat().st_mtime)
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
        return {"id": self.run_id, "lab": self.lab, "status": self.status,
                "created_at": self.created_at(), "ended_at": self.ended_at(),
                "dir": str(self.run_dir), "pid": self.state.pid,
                "settings": self.state.config.get("settings") or {},
                "summary": summary or None, "last": dict(self.state.last) or None}


# Watches live for the whole process (the TUI refreshes every second): each poll reads only
# the new lines of each run, not whole files again.
_watches: dict[Path, RunWatch] = {}


def watch_for(run_dir: Path) -> RunWatch:
    key = Path(run_dir).resolve()
    w = _watches.get(key)
    if w is None:
        w = _watches[key] = RunWatch(key)
    return w


def run_dirs(runs_dir: Path) -> dict[str, Path]:
    """Run folders on disk: any folder holding a config.json (a lab run by hand counts too)."""
    if not runs_dir.is_dir():
        return {}
    return {d.name: d for d in runs_dir.iterdir() if (d / "config.json").is_file()}


def refresh_runs(session) -> list[dict[str, Any]]:
    """Bring the runs index in line with the runs folder; returns the index, newest first.

    Folders not yet indexed are added (a lab run by hand, a copied folder, an index lost);
    index rows whose folder is gone are dropped; runs that may still change are re-read.
    """
    from studytui.runs.launcher import reap_children

    reap_children()
    store = session.store
    indexed = {r["id"]: r for r in store.runs()}
    on_disk = run_dirs(session.runs_dir)
    for run_id, row in indexed.items():
        if run_id not in on_disk:
            store.delete_run(run_id)
    for run_id, run_dir in on_disk.items():
        row = indexed.get(run_id)
        if row is not None and row["status"] in FINAL and row.get("dir") == str(run_dir.resolve()):
            continue
        w = watch_for(run_dir)
        w.update()
        rec = w.record()
        rec["dir"] = str(run_dir.resolve())
        # The launcher's pid leads the run's process group; a hand-run lab only has its own.
        rec["pid"] = (row or {}).get("pid") or rec["pid"]
        if row is None or any(row.get(k) != v for k, v in rec.items()):
            store.upsert_run(rec)
    return store.runs()


def resolve_run(session, ref: str, *, refresh: bool = True) -> dict[str, Any]:
    """A run's index row from its id, a unique prefix of it, or `last` (the newest run)."""
    rows = refresh_runs(session) if refresh else session.store.runs()
    ref = ref.strip()
    if not rows:
        raise RunError("no runs yet (start one with `studytui lab run NAME`)")
    if ref == "last":
        return rows[0]
    exact = [r for r in rows if r["id"] == ref]
    if exact:
        return exact[0]
    matches = [r for r in rows if r["id"].startswith(ref)] if ref else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(f"no run matches {ref!r} (see `studytui lab runs`)")
    ids = ", ".join(r["id"] for r in matches[:5]) + (" ..." if len(matches) > 5 else "")
    raise RunError(f"{ref!r} matches {len(matches)} runs: {ids}")


def duration_s(row: dict[str, Any], now: float | None = None) -> float | None:
    """Seconds from creation to end (or to now, while running)."""
    try:
        start = dt.datetime.fromisoformat(row["created_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None
    end: float | None
    if row.get("ended_at"):
        try:
            end = dt.datetime.fromisoformat(row["ended_at"]).timestamp()
        except ValueError:
            return None
    elif row.get("status") == "running":
        end = now if now is not None else time.time()
    else:
        return None
    return max(0.0, end - start)
