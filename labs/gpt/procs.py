"""DDP worker processes that never outlive their run (standard library only).

torchrun starts each worker in a session (process group) of its own, so a signal to the
run's group (`studytui lab stop`, Ctrl+C) reaches the lab and torchrun but not the workers;
torchrun forwards SIGTERM, but if torchrun is killed first (its grace period equals
`lab stop`'s), the workers are orphaned and keep their GPUs. Two guards:

- `die_with_parent()` in each worker: Linux's PR_SET_PDEATHSIG asks the kernel to SIGKILL
  the worker the moment its parent (torchrun) dies, however it dies. (Strictly, when the
  parent *thread* that forked it exits: torchrun starts its workers from its main thread,
  as the DDP tests on the CPU show: the workers live on until torchrun goes.)
- `record_worker()` / `signal_workers()`: each worker writes its pid into the run folder,
  and the launcher passes a stop (SIGTERM) straight to every worker's group, and SIGKILLs
  any worker left when torchrun has exited.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WORKERS_DIR = "ddp-workers"


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when its parent exits. True if set
    (Linux only; elsewhere torchrun's own forwarding is all there is)."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request was in place
        os.kill(os.getpid(), sig)
    return True


def record_worker(run_dir: Path, rank: int) -> Path:
    """Write this worker's pid where the launcher looks (one file per rank)."""
    folder = Path(run_dir) / WORKERS_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"rank{rank}.pid"
    path.write_text(str(os.getpid()), encoding="ascii")
    return path


def forget_worker(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _runs_this(pid: int, run_dir: Path) -> bool:
    """Is `pid` still a worker of this run (and not a process that reused its number)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the pid file
    return os.fsencode(str(run_dir)) in cmdline


def worker_pids(run_dir: Path) -> list[int]:
    pids = []
    for path in sorted((Path(run_dir) / WORKERS_DIR).glob("rank*.pid")):
        try:
            pid = int(path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        if _runs_this(pid, Path(run_dir)):
            pids.append(pid)
    return pids


def signal_workers(run_dir: Path, sig: int) -> int:
    """Send `sig` to each recorded worker's process group (torchrun makes one per worker);
    how many were still there."""
    reached = 0
    for pid in worker_pids(run_dir):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
            reached += 1
        except (ProcessLookupError, PermissionError):
            continue
    return reached
