"""Writing a file so that a reader (another process, a crash) never sees half of it.

Also what a write to a path the user named may do: `export -o PATH`, backups and the
curriculum cache all come here. A symlink is followed (its target is replaced, atomically,
and the link stays); a FIFO, a device or a folder is refused with an OSError whose
`strerror` is one line, since replacing `/dev/full` or a named pipe with a regular file
(as root, rename would happily do it) is never what the user meant.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def write_target(path: Path) -> Path:
    """The file a write to `path` replaces: `path` itself, or the end of its symlink chain.

    Raises OSError (one-line `strerror`) when that is a folder, FIFO, device or socket.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target   # a new file (or a dangling link's target, created where it points)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"{path} is a folder, not a file; nothing written")
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, f"{path} is {_kind(mode)}; nothing written (give a regular file)")
    return target


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a new temporary file beside the target, flush it to disk, rename it over."""
    target = write_target(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        old_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        old_mode = None
    # A fresh random name opened with O_EXCL: a file or link planted at a guessable
    # temporary name can neither be written through nor swapped in.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            if old_mode is not None:
                os.fchmod(f.fileno(), old_mode)   # replacing a file keeps its permissions
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
