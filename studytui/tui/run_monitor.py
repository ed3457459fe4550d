"""The one owner of run watching in the app: one timer, one index worker, messages out.

Widgets never poll runs themselves. They subscribe here and handle what the monitor posts:
- `RunsChanged(rows)` to index subscribers (the labs screen's runs table, the desk's strip);
  the runs index is refreshed in a worker thread (it touches SQLite and every run folder),
  never two at once;
- `RunEvents(run_id, watch, changed)` to a run view, once a tick: its RunWatch is read on the
  UI thread (a capped, incremental read of one file), so no thread ever changes a run's
  state while a screen draws it.

When a run ends (done, failed, diverged, interrupted) the monitor says so wherever the learner
is: a notification with the run's ending line and verdict, and the terminal bell. Runs that
ended while the app was closed are kept in `unseen_endings` for the desk (studytui.tui.run_endings).

Every call into the runs layer from a thread (the index refresh, a stop) holds one lock:
`studytui.runs` keeps a watch per run folder, and two threads updating one watch at once
applied each event several times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widget import Widget

from studytui.runs import RunError, RunWatch, ending_line, refresh_runs, stop_run, verdict_for_run, watch_for
from studytui.safetext import clean
from studytui.tui.background import BackgroundSession
from studytui.tui.messages import RunEvents, RunsChanged, RunsEnded
from studytui.tui.run_endings import MAX_UNSEEN_SHOWN, Ending, RunEndings
from studytui.tui.ui_settings import UiSettings

# A live chart needs no more than a redraw a second, and on a small machine every redraw is
# CPU taken from the training it shows (bench/bench_watch.py measures that cost).
TICK_S = 1.0
# A live run's latest figures (the runs table's key figure) reach the index at most this
# often; see refresh_runs. The run view reads the run's file on every tick regardless.
INDEX_FIGURES_EVERY_S = 15.0


class RunMonitor:
    def __init__(
        self, app, *, periodic: bool = True, tick_s: float = TICK_S, settings: UiSettings | None = None
    ):
        self.app = app
        self.settings = settings  # where "seen" endings are remembered (None: nowhere)
        self.endings = RunEndings(settings.seen_runs() if settings else None)
        self.unseen_endings: list[Ending] = []
        self.unseen_more = 0  # unseen endings beyond those listed
        self.periodic = periodic
        self.tick_s = tick_s
        self.rows: list[dict[str, Any]] | None = None
        self._bg = BackgroundSession(app.session)
        self._runs_lock = threading.Lock()
        self._index_subscribers: list[Widget] = []
        self._run_subscribers: dict[Widget, RunWatch] = {}
        self._index_busy = False
        self._timer = None

    # -- subscriptions ---------------------------------------------------------------------
    def start(self) -> None:
        if self.periodic and self._timer is None:
            self._timer = self.app.set_interval(self.tick_s, self.tick, name="run-monitor")

    def watch_index(self, widget: Widget) -> None:
        """`widget` gets RunsChanged now (if rows are known) and after every refresh."""
        if widget not in self._index_subscribers:
            self._index_subscribers.append(widget)
        if self.rows is not None:
            widget.post_message(RunsChanged(self.rows))
        self.refresh_index()

    def watch_run(self, widget: Widget, watch: RunWatch) -> None:
        """`widget` gets RunEvents for `watch` now and every tick."""
        self._run_subscribers[widget] = watch
        self._read_run(widget, watch)

    def unwatch(self, widget: Widget) -> None:
        if widget in self._index_subscribers:
            self._index_subscribers.remove(widget)
        self._run_subscribers.pop(widget, None)

    # -- polling -----------------------------------------------------------------------------
    def tick(self) -> None:
        for widget, watch in list(self._run_subscribers.items()):
            self._read_run(widget, watch)
        if self._index_subscribers:
            self.refresh_index()

    def _read_run(self, widget: Widget, watch: RunWatch) -> None:
        changed = bool(watch.poll())
        widget.post_message(RunEvents(watch.run_id, watch, changed))

    def refresh_index(self) -> None:
        """Read the runs index again in a worker (at once, not waiting for the tick)."""
        if self._index_busy:
            return
        self._index_busy = True
        self.app.run_worker(
            self._read_index,
            thread=True,
            exit_on_error=False,
            group="run-monitor",
            name="reading the runs folder",
        )

    def _read_index(self) -> None:
        try:
            with self._runs_lock:
                session = self._bg.get()
                rows = [
                    self._with_stall(session, r)
                    for r in refresh_runs(session, figures_every_s=INDEX_FIGURES_EVERY_S)
                ]
                just, unseen = self.endings.read(rows)
                just = [self._described(session, e) for e in just]
                more = max(0, len(unseen) - MAX_UNSEEN_SHOWN)
                unseen = [self._described(session, e) for e in unseen[:MAX_UNSEEN_SHOWN]]
        finally:
            self._index_busy = False
        self._from_thread(self._deliver_rows, rows, just, unseen, more)

    @staticmethod
    def _run_dir(session, row: dict[str, Any]) -> Path:
        return Path(row.get("dir") or session.runs_dir / row["id"])

    def _with_stall(self, session, row: dict[str, Any]) -> dict[str, Any]:
        stalled = row.get("status") == "running" and watch_for(self._run_dir(session, row)).stalled()
        return dict(row, stalled=stalled)

    def _described(self, session, ending: Ending) -> Ending:
        """The ending with its one line (status, reason or verdict), from the run's events."""
        watch = watch_for(session.runs_dir / ending.run_id)
        try:
            watch.poll()
            judged, _ = verdict_for_run(watch.lab, watch.state)
        except Exception:  # noqa: BLE001 - a damaged reference: the ending is still news
            judged = None
        line = ending_line(ending.run_id, ending.status, watch.state, judged)
        return Ending(ending.run_id, ending.status, clean(line))

    def _deliver_rows(
        self, rows: list[dict[str, Any]], just: list[Ending] = (), unseen: list[Ending] = (), more: int = 0
    ) -> None:
        self.rows = rows
        for ending in just:
            self.app.notify(
                ending.line,
                title="run ended",
                markup=False,
                timeout=10,
                severity="warning" if ending.bad else "information",
            )
        if just:
            self.app.bell()
        if unseen:
            self.unseen_endings, self.unseen_more = list(unseen), more
        if self.settings is not None and (just or unseen or self.endings.seen is None):
            self.settings.mark_seen(self.endings.ended_ids())
            self.endings.seen = self.settings.seen_runs()
        for widget in list(self._index_subscribers):
            widget.post_message(RunsChanged(rows))
            if just or unseen:
                widget.post_message(RunsEnded(list(just), list(self.unseen_endings)))

    # -- asking a run to stop ------------------------------------------------------------------
    def stop(self, run_id: str, *, grace: float, done: Callable[[str, str], None]) -> None:
        """SIGTERM the run (SIGKILL after `grace` s) in a worker; `done(message, severity)` after."""

        def stop_in_thread() -> None:
            try:
                with self._runs_lock:
                    row = stop_run(self._bg.get(), run_id, grace=grace)
                message, severity = f"{run_id}: {row['status']}", "information"
            except RunError as e:
                message, severity = str(e), "error"
            self._from_thread(done, message, severity)
            self._from_thread(self.refresh_index)

        self.app.run_worker(
            stop_in_thread, thread=True, exit_on_error=False, group="run-stop", name=f"stopping {run_id}"
        )

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass  # the app is shutting down: nobody is left to show it
