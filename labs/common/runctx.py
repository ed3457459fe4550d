"""The lab side of docs/protocol.md: a run's settings, folder, event stream and stop flag.

A lab's `run.py` does:

    with RunContext.from_argv("tokenizer") as ctx:   # parses argv, loads settings
        ctx.start(config=resolved, total=n)
        for step in ...:
            if ctx.stop_requested: ...; ctx.end("stopped", summary); return
            ctx.emit("step", step=step, loss=loss)
        ctx.end("done", summary)

Run it by hand with `python -m labs.tokenizer.run --out DIR --set vocab_size=512`, or let
studytui start it as `python -m labs.tokenizer.run RUN_DIR` (config.json already there).
The rules themselves (settings, ids, file names, event lines) are in `labs.protocol`,
which studytui uses too, so the two sides cannot disagree.

If the run folder is deleted while the run goes on, the next `emit` or `stop_requested`
(checked at most once a second) notices, says so on stderr in one line and exits 2:
nobody could see or stop the run any more.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from labs import protocol
from labs.protocol import (
    CONFIG_FILE,
    LOCK_FD_ENV,
    LOCK_FILE,
    METRICS_FILE,
    LabManifest,
    SettingError,
    coerce_setting,
    event_line,
    new_run_id,
    write_json_atomic,
)

__all__ = [
    "RunContext",
    "SettingError",
    "coerce_setting",
    "load_manifest",
    "new_run_id",
    "resolve_settings",
    "write_json_atomic",
]

FOLDER_CHECK_S = 1.0  # how often a run looks whether its folder is still there
EXIT_FOLDER_GONE = 2


def load_manifest(name: str) -> LabManifest:
    """The manifest of lab `name` (beside the labs package, or on STUDYTUI_LABS_PATH)."""
    return protocol.find_manifest(name)


def resolve_settings(manifest: LabManifest, given: dict[str, Any]) -> dict[str, Any]:
    """Every setting: the manifest defaults, overridden by `given`, each checked."""
    return protocol.resolve_settings(manifest, given)


def _read_given_settings(run_dir: Path) -> dict[str, Any]:
    """The settings studytui wrote into RUN_DIR/config.json."""
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingError(
            f"{run_dir}: no config.json (a run folder made by studytui, or use --out)"
        ) from None
    except (OSError, ValueError) as e:
        raise SettingError(f"{run_dir / CONFIG_FILE}: cannot read it: {e}") from None
    settings = config.get("settings", {}) if isinstance(config, dict) else None
    if not isinstance(settings, dict):
        raise SettingError(f"{run_dir / CONFIG_FILE}: 'settings' must be an object of name: value")
    return dict(settings)


def _new_run_dir(parent: Path, lab: str, given: dict[str, Any], *, write: bool) -> Path:
    """A fresh run folder under `parent` (a run by hand), with its config.json."""
    run_id = new_run_id(lab)
    run_dir = parent / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as e:
        raise SettingError(f"--out {parent}: cannot make a run folder there ({e.strerror})") from None
    if write:
        write_json_atomic(
            run_dir / CONFIG_FILE,
            {
                "lab": lab,
                "run_id": run_id,
                "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "settings": given,
            },
        )
    return run_dir


def _append_event(run_dir: Path, event: str, **fields: Any) -> None:
    """An event for a run whose context never opened (its settings were refused)."""
    with open(run_dir / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(event_line(event, fields))


class RunContext:
    """One run of a lab: its folder, its settings, its event stream, its stop flag."""

    def __init__(
        self,
        run_dir: Path,
        lab: str,
        settings: dict[str, Any],
        *,
        emit: bool = True,
        given: dict[str, Any] | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.lab = lab
        self.settings = settings  # every setting, defaults filled in and checked
        self.given = dict(given or {})  # only those the user gave (a resumed run needs to know)
        self._stop_asked = False
        self._emit_enabled = emit  # False on DDP ranks other than 0: they stay quiet
        self._metrics = None
        self._lock_file = None
        self._ended = False
        self._folder_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the run folder
        self._metrics_id: tuple[int, int] | None = None  # ... and of the metrics.jsonl we append to
        self._next_folder_check = 0.0

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_argv(
        cls,
        lab: str,
        argv: list[str] | None = None,
        *,
        emit: bool = True,
        manifest: Path | LabManifest | None = None,
    ) -> "RunContext":
        """Either `RUN_DIR` (started by studytui) or `--out DIR --set k=v ...` (by hand).

        `manifest` is for a lab outside the labs package that names its own .lab.json."""
        parser = argparse.ArgumentParser(prog=f"python -m labs.{lab.replace('-', '_')}.run")
        parser.add_argument("run_dir", nargs="?", help="a run folder holding config.json")
        parser.add_argument("--out", help="parent folder for a new run (by hand)")
        parser.add_argument("--set", action="append", default=[], metavar="K=V")
        args = parser.parse_args(argv)
        run_dir = None
        try:
            if isinstance(manifest, LabManifest):
                found = manifest
            elif manifest is not None:
                found = protocol.parse_manifest(Path(manifest))
            else:
                found = load_manifest(lab)
            if args.run_dir:
                run_dir = Path(args.run_dir)
                given = _read_given_settings(run_dir)
            else:
                given = protocol.parse_pairs(args.set)
                run_dir = _new_run_dir(Path(args.out or "runs"), lab, given, write=emit)
            settings = resolve_settings(found, given)
        except SettingError as e:
            print(f"error: {e}", file=sys.stderr)
            if emit and run_dir is not None and (run_dir / CONFIG_FILE).is_file():
                _append_event(run_dir, "error", message=str(e))  # studytui reads the run as failed
            raise SystemExit(2) from None
        return cls(run_dir, lab, settings, emit=emit, given=given)

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> "RunContext":
        self._hold_lock()
        # Put back on exit: a lab run in-process (tests, notebooks) must not leave its
        # stop flag handler on the host's Ctrl+C.
        self._old_handlers = {
            sig: signal.signal(sig, self._on_term) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        self._folder_id = _file_id(os.stat(self.run_dir))
        if self._emit_enabled:
            self._metrics = open(self.run_dir / METRICS_FILE, "a", encoding="utf-8")
            self._metrics_id = _file_id(os.fstat(self._metrics.fileno()))
        self._next_folder_check = time.monotonic() + FOLDER_CHECK_S
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and not isinstance(exc, SystemExit) and not self._ended:
            message = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, SettingError):
                message = str(exc)
            self.emit("error", message=message)
            self._ended = True
            self._close()
            if isinstance(exc, SettingError):
                if self._emit_enabled:  # one line, from one process (DDP rank 0)
                    print(f"error: {message}", file=sys.stderr)
                raise SystemExit(2)
            import traceback

            traceback.print_exception(exc_type, exc, tb)  # the full story goes to stderr.log
            raise SystemExit(1)
        self._close()
        return False

    def _hold_lock(self) -> None:
        if os.environ.get(LOCK_FD_ENV) is not None:
            return  # studytui took the lock and handed it to us; it lives as long as we do
        if not self._emit_enabled:
            return
        self._lock_file = open(self.run_dir / LOCK_FILE, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"error: {self.run_dir} is running in another process (run.lock is held)", file=sys.stderr)
            raise SystemExit(2) from None

    def _on_term(self, signum, frame) -> None:
        if self._stop_asked and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C by hand means now
        self._stop_asked = True

    @property
    def stop_requested(self) -> bool:
        """True once SIGTERM (`lab stop`) or Ctrl+C asked the run to stop and save."""
        self._check_folder()
        return self._stop_asked

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        self._stop_asked = bool(value)

    def _close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        for sig, handler in getattr(self, "_old_handlers", {}).items():
            signal.signal(sig, handler)
        self._old_handlers = {}

    # -- the folder is still ours? ------------------------------------------------------
    def _check_folder(self) -> None:
        """Exit (2, one line on stderr) if the run folder or its metrics.jsonl is gone or
        replaced. Throttled: a stat or two at most once a second."""
        if self._folder_id is None or self._ended:
            return
        now = time.monotonic()
        if now < self._next_folder_check:
            return
        self._next_folder_check = now + FOLDER_CHECK_S
        if self._folder_intact():
            return
        self._ended = True
        self._close()
        print(
            f"error: the run folder {self.run_dir} was deleted or replaced; stopping "
            f"(nobody could follow or stop this run any more)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_FOLDER_GONE)

    def _folder_intact(self) -> bool:
        try:
            if _file_id(os.stat(self.run_dir)) != self._folder_id:
                return False
            if self._metrics_id is not None:
                return _file_id(os.stat(self.run_dir / METRICS_FILE)) == self._metrics_id
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    # -- events -------------------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        """Append one event line; flushed at once so a reader tailing the file sees it."""
        if event != "error":
            self._check_folder()
        if not self._emit_enabled or self._metrics is None:
            return
        self._metrics.write(event_line(event, fields))
        self._metrics.flush()

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A result table (compression, encoding speed, ladder rungs), checked to be square."""
        self.emit("table", **protocol.table_fields(name, columns, rows))

    def start(
        self,
        *,
        config: dict[str, Any],
        device: str = "cpu",
        total: int | None = None,
        **info: str | int | float | bool,
    ) -> None:
        """Record the resolved config in config.json and announce the start. `info`: what
        else the run's report should say it ran on (`torch="2.13.0"`, `cuda="12.4"`)."""
        if self._emit_enabled:
            path = self.run_dir / CONFIG_FILE
            doc = protocol.read_json_object(path)
            doc["resolved"] = config
            write_json_atomic(path, doc)
        self.emit("start", pid=os.getpid(), device=device, config=config, total=total, **info)

    def end(self, status: str, summary: dict[str, Any] | None = None, *, reason: str | None = None) -> None:
        """The last event. `reason` (one line) says why a run stopped early, e.g. diverged."""
        if status not in protocol.END_STATUSES:
            raise ValueError(f"end status must be one of {protocol.END_STATUSES}, not {status!r}")
        fields: dict[str, Any] = {"status": status, "summary": summary or {}}
        if reason:
            fields["reason"] = reason
        self.emit("end", **fields)
        self._ended = True

    def path(self, name: str) -> Path:
        return self.run_dir / name


def _file_id(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino
