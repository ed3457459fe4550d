"""The one owner of run watching in the app: one timer, one index worker, messages out.

Widgets never poll runs themselves. They subscribe here and handle what the monitor posts:
- `RunsChanged(rows)` to index subscribers (the labs screen's runs table, the desk's strip);
  the runs index is refreshed in a worker thread (it touches SQLite and every run folder),
  never two at once;
- `RunEvents(run_id, watch, changed)` to a run view, once a tick: its RunWatch is read on the
  UI thread (a capped, incremental read of one file), so no thread ever changes a run's
  state while a screen draws it.

Every call into the runs layer from a thread (the index refresh, a stop) holds one lock:
`studytui.runs` keeps a watch per run folder, and two threads updating one watch at once
applied each event several times.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from textual.widget import Widget

from studytui.runs import RunError, RunWatch, refresh_runs, stop_run
from studytui.tui.background import BackgroundSession
from studytui.tui.messages import RunEvents, RunsChanged

# A live chart needs no more than a redraw a second, and on a small machine every redraw is
# CPU taken from the training it shows (bench/bench_watch.py measures that cost).
TICK_S = 1.0


class RunMonitor:
    def __init__(self, app, *, periodic: bool = True, tick_s: float = TICK_S):
        self.app = app
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
        self.app.run_worker(self._read_index, thread=True, exit_on_error=False,
                            group="run-monitor", name="reading the runs folder")

    def _read_index(self) -> None:
        try:
            with self._runs_lock:
                rows = refresh_runs(self._bg.get())
        finally:
            self._index_busy = False
        self._from_thread(self._deliver_rows, rows)

    def _deliver_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        for widget in list(self._index_subscribers):
            widget.post_message(RunsChanged(rows))

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

        self.app.run_worker(stop_in_thread, thread=True, exit_on_error=False,
                            group="run-stop", name=f"stopping {run_id}")

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass   # the app is shutting down: nobody is left to show it
