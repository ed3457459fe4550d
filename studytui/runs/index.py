"""The runs index (SQLite) kept in step with the runs folder, and run references resolved.

`refresh_runs` is safe to call from several threads at once: each run folder has one
`RunWatch` for the whole process (so each poll reads only new lines, never whole files
again), and a watch folds each line once however many polls overlap.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

from studytui import protocol
from studytui.runs.children import reap_children
from studytui.runs.report import write_report_for
from studytui.runs.watch import FINAL, RunWatch


class RunError(Exception):
    """A request about runs that can't be done (unknown id, not running...); one line."""


_watches: dict[Path, RunWatch] = {}
_watches_lock = threading.Lock()


def watch_for(run_dir: Path) -> RunWatch:
    """The one watch of this process for a run folder."""
    key = Path(run_dir).resolve()
    with _watches_lock:
        w = _watches.get(key)
        if w is None:
            w = _watches[key] = RunWatch(key)
        return w


def run_dirs(runs_dir: Path) -> dict[str, Path]:
    """Run folders on disk: any folder holding a config.json (a lab run by hand counts too)."""
    return {d.name: d for d in protocol.run_folders(runs_dir)}


def refresh_runs(session, *, figures_every_s: float = 0.0) -> list[dict[str, Any]]:
    """Bring the runs index in line with the runs folder; returns the index, newest first.

    Folders not yet indexed are added (a lab run by hand, a copied folder, an index lost);
    index rows whose folder is gone are dropped; runs that may still change are re-read.
    A caller that refreshes every second (the desk) passes `figures_every_s`: a live run
    whose only change is its latest figures is then written at most that often, since
    every index write is a database change the desk recomputes its state for
    (bench/bench_watch.py: watched tok/s 0.86x -> 0.98x of headless). The run view reads
    the run's own file, so nothing on screen waits.
    """
    reap_children()
    store = session.store
    indexed = {r["id"]: r for r in store.runs()}
    on_disk = run_dirs(session.runs_dir)
    for run_id in indexed:
        if run_id not in on_disk:
            store.delete_run(run_id)
    for run_id, run_dir in on_disk.items():
        row = indexed.get(run_id)
        if row is not None and row["status"] in FINAL and row.get("dir") == str(run_dir.resolve()):
            continue
        w = watch_for(run_dir)
        w.poll()
        rec = w.record()
        rec["dir"] = str(run_dir.resolve())
        # The launcher's pid leads the run's process group; a hand-run lab only has its own.
        rec["pid"] = (row or {}).get("pid") or rec["pid"]
        changed = [k for k, v in rec.items() if row is None or row.get(k) != v]
        if changed and not (changed == ["last"] and _written_within(row, figures_every_s)):
            store.upsert_run(rec)
        if rec["status"] != "running":
            write_report_for(w)  # once: it leaves a report.md already there alone
    return store.runs()


def _written_within(row: dict[str, Any] | None, seconds: float) -> bool:
    """Whether an index row was written less than `seconds` ago."""
    if seconds <= 0:
        return False
    try:
        written = dt.datetime.fromisoformat(row["updated_at"])
    except (TypeError, KeyError, ValueError):
        return False
    if written.tzinfo is None:
        written = written.replace(tzinfo=dt.timezone.utc)
    return (dt.datetime.now(dt.timezone.utc) - written).total_seconds() < seconds


def resolve_run(session, ref: str, *, refresh: bool = True) -> dict[str, Any]:
    """A run's index row from its id, a unique prefix of it, or `last` (the newest run)."""
    rows = refresh_runs(session) if refresh else session.store.runs()
    if not rows:
        raise RunError("no runs yet (start one with `studytui lab run NAME`)")
    try:
        run_id = protocol.resolve_run_ref(ref, [r["id"] for r in rows])
    except protocol.RunRefError as e:
        raise RunError(f"{e} (see `studytui lab runs`)" if e.unknown else str(e)) from None
    return next(r for r in rows if r["id"] == run_id)


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


def lab_runs(store, lab: str, limit: int = 5) -> list[dict[str, Any]]:
    """The newest indexed runs of `lab`, each with its report card's path once one is written:
    what a curriculum item that pairs with the lab links to (`show`, the markdown export)."""
    runs = []
    for row in store.runs(lab)[:limit]:
        report = Path(row["dir"]) / "report.md" if row.get("dir") else None
        runs.append(
            {
                "id": row["id"],
                "status": row["status"],
                "report": str(report) if report is not None and report.is_file() else None,
            }
        )
    return runs
