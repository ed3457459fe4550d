"""Starting a lab run as its own process session, and stopping one.

The run must outlive whoever started it (the TUI quitting, an SSH hang-up), so the lab
runs in a new session with stdin from /dev/null and its output in the run folder. We take
the run's flock *before* the process exists and hand the locked descriptor down: from the
first instant, "lock held" means "alive" (docs/protocol.md, section 3).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studytui.protocol import (
    CONFIG_FILE,
    LOCK_FD_ENV,
    LOCK_FILE,
    STDERR_FILE,
    STOP_FILE,
    LabManifest,
    new_run_id,
    write_json_atomic,
)
from studytui.runs.children import reap_children, track_child
from studytui.runs.index import RunError, refresh_runs, resolve_run, watch_for
from studytui.runs.manifest import get_manifest
from studytui.runs.watch import lock_held


def _make_run_dir(runs_dir: Path, lab: str) -> tuple[str, Path]:
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        run_id = new_run_id(lab)
        run_dir = runs_dir / run_id
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue  # two starts in the same second drew the same 4 hex digits
        return run_id, run_dir
    raise RunError(f"could not make a fresh run folder in {runs_dir}")


def _child_env(manifest: LabManifest, lock_fd: int) -> dict[str, str]:
    env = dict(os.environ)
    env[LOCK_FD_ENV] = str(lock_fd)
    env["PYTHONUNBUFFERED"] = "1"  # stderr.log should show prints as they happen
    # The lab runs in its run folder, so its package must be importable from anywhere.
    parts = [str(manifest.import_root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def start_run(session, lab: str | LabManifest, settings: dict[str, Any]) -> str:
    """Start `lab` with already-checked `settings` (see manifest.parse_settings); its run id."""
    manifest = lab if isinstance(lab, LabManifest) else get_manifest(lab)
    run_id, run_dir = _make_run_dir(session.runs_dir, manifest.name)
    run_dir = run_dir.resolve()
    # Lock first, config second: a folder with a config.json but no lock reads as a dead run.
    lock_fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        created = dt.datetime.now().astimezone()
        write_json_atomic(
            run_dir / CONFIG_FILE,
            {
                "lab": manifest.name,
                "run_id": run_id,
                "created": created.isoformat(timespec="seconds"),
                "settings": settings,
            },
        )
        with open(run_dir / STDERR_FILE, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", manifest.module, str(run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=run_dir,
                env=_child_env(manifest, lock_fd),
                pass_fds=(lock_fd,),
                start_new_session=True,
            )
    finally:
        os.close(lock_fd)  # the child's copy keeps the lock; ours must not outlive it
    track_child(proc)
    session.store.upsert_run(
        {
            "id": run_id,
            "lab": manifest.name,
            "status": "running",
            "created_at": created.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
            "ended_at": None,
            "dir": str(run_dir),
            "pid": proc.pid,
            "settings": settings,
            "summary": None,
            "last": None,
        }
    )
    return run_id


def _signal_run(pid: int, sig: int) -> None:
    """Signal the run's whole process group if it leads one (we started it), else the pid."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_unlocked(run_dir: Path, seconds: float, tick: Callable[[float], None] | None) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        reap_children()
        if not lock_held(run_dir):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if tick:
            tick(left)
        time.sleep(min(0.05, left))


def stop_run(
    session, ref: str, *, grace: float = 30.0, tick: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """SIGTERM the run, give it `grace` seconds to save and write `end`, then SIGKILL.

    Returns the run's index row after the stop. A run that isn't running is a RunError.
    """
    row = resolve_run(session, ref)
    run_dir = Path(row["dir"])
    watch = watch_for(run_dir)
    watch.update()
    if watch.status != "running":
        raise RunError(f"run {row['id']} is not running (it is {watch.status})")
    pid = row.get("pid") or watch.state.pid
    if not pid:
        raise RunError(f"run {row['id']} has no process id yet; try again in a moment")
    requested = time.time()
    write_json_atomic(run_dir / STOP_FILE, {"requested_at": requested, "grace_s": grace})
    _signal_run(pid, signal.SIGTERM)
    if not _wait_unlocked(run_dir, grace, tick):
        _signal_run(pid, signal.SIGKILL)
        _wait_unlocked(run_dir, 10.0, None)
        killed = time.time()
        write_json_atomic(
            run_dir / STOP_FILE,
            {
                "requested_at": requested,
                "grace_s": grace,
                "killed": True,
                "killed_at": killed,
                "note": f"killed: still running {grace:g} s after SIGTERM",
            },
        )
    rows = {r["id"]: r for r in refresh_runs(session)}
    return rows[row["id"]]
