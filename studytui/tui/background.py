"""A Session for worker threads: the same home and database, its own SQLite connection.

The app's Store has one connection, used by the UI thread. A worker that reads or writes
through it while the UI writes would interleave two transactions on one connection, so
every worker that touches the store (the labs strip, the runs table, stopping a run)
goes through one of these instead.
"""

from __future__ import annotations

from studytui.session import Session


class BackgroundSession:
    def __init__(self, session: Session):
        self._session = session
        self._bg: Session | None = None

    def get(self) -> Session:
        """Opened on first use, in the worker: the UI thread never pays for it."""
        if self._bg is None:
            self._bg = Session(home=self._session.home, db=self._session.db)
        return self._bg

    def close(self) -> None:
        bg, self._bg = self._bg, None
        if bg is not None and "store" in bg.__dict__:
            bg.store.close()
