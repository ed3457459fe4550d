"""What the app does with failures it cannot recover from: a damaged database, a crash.

A damaged database is the user's data, not our bug: one screen says what is wrong and what
to do, and quitting exits 2. Anything else that escapes is a crash: its traceback goes to
`STUDYTUI_HOME/logs/crash-<time>.log`, the terminal gets one line naming that file, and the
process exits 1 (Textual's return code for an unhandled error).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import traceback
from pathlib import Path

from rich.text import Text

from studytui.store import DamagedDatabase, ForeignDatabase, StoreError

# The store's "cannot use this database" errors (DamagedDatabase names the file, what is
# wrong and the newest backup), and SQLite's, from any read the store does not wrap. A plain
# StoreError is a refused request (a duplicate URL, an unknown entry), not damage.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (DamagedDatabase, ForeignDatabase, sqlite3.DatabaseError)

WHAT_TO_DO = (
    "Quit (q), then restore your latest backup with `studytui restore FILE` "
    "(made by `studytui export -o FILE`), or move the database file aside to start "
    "afresh. Your curriculum and runs folders are not affected."
)


def what_to_do(error_text: str) -> str:
    """The advice, unless the store's message already names the backup to restore."""
    return "Quit (q), then do the above." if "studytui restore" in error_text else WHAT_TO_DO


def is_database_error(error: BaseException) -> bool:
    return isinstance(error, DATABASE_ERRORS)


def database_problem(error: BaseException, session) -> str:
    """One line: which file, and what is wrong with it."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, StoreError):
        return text
    return f"database {getattr(session, 'db', '?')}: {text}"


def logs_dir(session) -> Path:
    home = getattr(session, "home", None) or os.environ.get("STUDYTUI_HOME") or Path.home() / ".studytui"
    return Path(home) / "logs"


def write_crash_log(session, error: BaseException, existing: Path | None = None) -> Path | None:
    """Append the traceback to this session's crash log (made on the first crash)."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        if existing is None:
            folder = logs_dir(session)
            folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            existing = folder / f"crash-{stamp}-{os.getpid()}.log"
        with open(existing, "a", encoding="utf-8") as log:
            log.write(text + "\n")
        return existing
    except OSError:
        return None  # the home is unwritable: crash_line says so instead of naming a file


def crash_line(log: Path | None) -> Text:
    if log is None:
        return Text("studytui crashed (and could not write a crash log). Please report it.", style="bold red")
    return Text(
        f"studytui crashed; the traceback is in {log} (please attach it to a bug report).", style="bold red"
    )
