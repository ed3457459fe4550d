"""Writing a file so that a reader (another process, a crash) never sees half of it.

Also what a write to a path the user named may do: `export -o PATH`, backups and the
curriculum cache all come here. A symlink is followed (its target is replaced, atomically,
and the link stays); a FIFO, a device or a folder is refused with an OSError whose
`strerror` is one line, since replacing `/dev/full` or a named pipe with a regular file
(as root, rename would happily do it) is never what the user meant.

The writer is the run protocol's (`labs/protocol.py`, standard library only): the labs
write their run folders with it too, so there is one definition with one fsync.
"""

from __future__ import annotations

from studytui.protocol import write_atomic, write_target

__all__ = ["write_atomic", "write_target"]
