"""Workers that fail say so: every node that starts workers with `exit_on_error=False` mixes
this in, so a failed worker shows a notification instead of vanishing.

The same failure repeated (a worker run every second against a broken folder) is shown once.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from studytui.safetext import clean


class ReportsWorkerFailures:
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        what = event.worker.name or "a background task"
        message = clean(f"{what} failed: {type(error).__name__}: {error}")
        app = self.app
        if message == getattr(app, "_last_worker_failure", None):
            return
        app._last_worker_failure = message
        self.app.notify(message, severity="error", markup=False, timeout=10)
