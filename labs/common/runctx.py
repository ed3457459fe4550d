"""The lab side of docs/protocol.md: settings, the run folder and the event stream.

A lab's `run.py` does:

    with RunContext.from_argv("tokenizer") as ctx:   # parses argv, loads settings
        ctx.start(config=resolved, total=n)
        for step in ...:
            if ctx.stop_requested: ...; ctx.end("stopped", summary); return
            ctx.emit("step", step=step, loss=loss)
        ctx.end("done", summary)

Run it by hand with `python -m labs.tokenizer.run --out DIR --set vocab_size=512`, or let
studytui start it as `python -m labs.tokenizer.run RUN_DIR` (config.json already there).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import json
import os
import re
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingError(ValueError):
    """A setting the user gave cannot be used; the message is one line."""


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON so a reader never sees half a file: temp file, fsync, rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_manifest(name: str) -> dict:
    """The `<name>.lab.json` manifest shipped in the labs package."""
    root = Path(__file__).resolve().parent.parent
    for path in root.glob("*/*.lab.json"):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest["name"] == name:
            return manifest
    raise SettingError(f"no lab named {name!r}")


def coerce_setting(spec: dict, raw: Any) -> Any:
    """Turn a value (a string from `--set`, or JSON) into the setting's type."""
    name, kind = spec["name"], spec["type"]
    if raw is None:
        return None
    try:
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            value: Any = int(raw) if not isinstance(raw, str) else int(raw.strip().replace("_", ""))
        elif kind == "float":
            value = float(raw)
        elif kind == "bool":
            if isinstance(raw, bool):
                value = raw
            elif str(raw).lower() in _TRUE:
                value = True
            elif str(raw).lower() in _FALSE:
                value = False
            else:
                raise ValueError
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise SettingError(f"{name}: {raw!r} is not a valid {kind}") from None
    if kind in ("int", "float"):
        if "min" in spec and value < spec["min"]:
            raise SettingError(f"{name}: {value} is below the minimum {spec['min']}")
        if "max" in spec and value > spec["max"]:
            raise SettingError(f"{name}: {value} is above the maximum {spec['max']}")
    if kind == "choice" and value not in spec["choices"]:
        raise SettingError(f"{name}: {value!r} is not one of {', '.join(map(str, spec['choices']))}")
    if kind == "path" and not Path(value).expanduser().exists():
        raise SettingError(f"{name}: {value} does not exist")
    if kind == "str" and spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        raise SettingError(f"{name}: {value!r} is not valid here ({spec.get('help', spec['pattern'])})")
    return value


def resolve_settings(manifest: dict, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults from the manifest, overridden by `given`, each checked."""
    specs = {s["name"]: s for s in manifest["settings"]}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise SettingError(f"unknown setting {unknown[0]!r} for lab {manifest['name']} "
                           f"(settings: {', '.join(specs)})")
    return {name: coerce_setting(spec, given.get(name, spec.get("default")))
            for name, spec in specs.items()}


def _read_given_settings(run_dir: Path) -> dict[str, Any]:
    """The settings studytui wrote into RUN_DIR/config.json."""
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingError(f"{run_dir}: no config.json (a run folder made by studytui, or use --out)") from None
    except (OSError, ValueError) as e:
        raise SettingError(f"{run_dir / 'config.json'}: cannot read it: {e}") from None
    settings = config.get("settings", {}) if isinstance(config, dict) else None
    if not isinstance(settings, dict):
        raise SettingError(f"{run_dir / 'config.json'}: 'settings' must be an object of name: value")
    return dict(settings)


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    given = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SettingError(f"--set {pair!r}: expected KEY=VALUE")
        given[key.strip()] = value
    return given


def _new_run_dir(parent: Path, lab: str, given: dict[str, Any], *, write: bool) -> Path:
    """A fresh run folder under `parent` (a run by hand), with its config.json."""
    run_id = new_run_id(lab)
    run_dir = parent / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as e:
        raise SettingError(f"--out {parent}: cannot make a run folder there ({e.strerror})") from None
    if write:
        write_json_atomic(run_dir / "config.json", {
            "lab": lab, "run_id": run_id,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "settings": given})
    return run_dir


def _event_line(event: str, fields: dict[str, Any]) -> str:
    record = {"v": PROTOCOL_VERSION, "event": event, "t": round(time.time(), 3), **fields}
    return json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n"


def _append_event(run_dir: Path, event: str, **fields: Any) -> None:
    """An event for a run whose context never opened (its settings were refused)."""
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(_event_line(event, fields))


def new_run_id(lab: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{lab}-{stamp}-{secrets.token_hex(2)}"


class RunContext:
    """One run of a lab: its folder, its settings, its event stream, its stop flag."""

    def __init__(self, run_dir: Path, lab: str, settings: dict[str, Any], *, emit: bool = True,
                 given: dict[str, Any] | None = None):
        self.run_dir = Path(run_dir)
        self.lab = lab
        self.settings = settings            # every setting, defaults filled in and checked
        self.given = dict(given or {})      # only those the user gave (a resumed run needs to know)
        self.stop_requested = False
        self._emit_enabled = emit   # False on DDP ranks other than 0: they stay quiet
        self._metrics = None
        self._lock_file = None
        self._ended = False

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_argv(cls, lab: str, argv: list[str] | None = None, *, emit: bool = True) -> "RunContext":
        """Either `RUN_DIR` (started by studytui) or `--out DIR --set k=v ...` (by hand)."""
        parser = argparse.ArgumentParser(prog=f"python -m labs.{lab.replace('-', '_')}.run")
        parser.add_argument("run_dir", nargs="?", help="a run folder holding config.json")
        parser.add_argument("--out", help="parent folder for a new run (by hand)")
        parser.add_argument("--set", action="append", default=[], metavar="K=V")
        args = parser.parse_args(argv)
        run_dir = None
        try:
            manifest = load_manifest(lab)
            if args.run_dir:
                run_dir = Path(args.run_dir)
                given = _read_given_settings(run_dir)
            else:
                given = _parse_sets(args.set)
                run_dir = _new_run_dir(Path(args.out or "runs"), lab, given, write=emit)
            settings = resolve_settings(manifest, given)
        except SettingError as e:
            print(f"error: {e}", file=sys.stderr)
            if emit and run_dir is not None and (run_dir / "config.json").is_file():
                _append_event(run_dir, "error", message=str(e))   # studytui reads the run as failed
            raise SystemExit(2)
        return cls(run_dir, lab, settings, emit=emit, given=given)

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> "RunContext":
        self._hold_lock()
        # Put back on exit: a lab run in-process (tests, notebooks) must not leave its
        # stop flag handler on the host's Ctrl+C.
        self._old_handlers = {sig: signal.signal(sig, self._on_term)
                              for sig in (signal.SIGTERM, signal.SIGINT)}
        if self._emit_enabled:
            self._metrics = open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8")
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
                if self._emit_enabled:   # one line, from one process (DDP rank 0)
                    print(f"error: {message}", file=sys.stderr)
                raise SystemExit(2)
            import traceback
            traceback.print_exception(exc_type, exc, tb)  # the full story goes to stderr.log
            raise SystemExit(1)
        self._close()
        return False

    def _hold_lock(self) -> None:
        fd = os.environ.get("STUDYTUI_LOCK_FD")
        if fd is not None:
            return  # studytui took the lock and handed it to us; it lives as long as we do
        if not self._emit_enabled:
            return
        self._lock_file = open(self.run_dir / "run.lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"error: {self.run_dir} is running in another process (run.lock is held)", file=sys.stderr)
            raise SystemExit(2) from None

    def _on_term(self, signum, frame) -> None:
        if self.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C by hand means now
        self.stop_requested = True

    def _close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        for sig, handler in getattr(self, "_old_handlers", {}).items():
            signal.signal(sig, handler)
        self._old_handlers = {}

    # -- events -------------------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        """Append one event line; flushed at once so a reader tailing the file sees it."""
        if not self._emit_enabled or self._metrics is None:
            return
        self._metrics.write(_event_line(event, fields))
        self._metrics.flush()

    def start(self, *, config: dict[str, Any], device: str = "cpu", total: int | None = None) -> None:
        """Record the resolved config in config.json and announce the start."""
        if self._emit_enabled:
            path = self.run_dir / "config.json"
            doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            doc["resolved"] = config
            write_json_atomic(path, doc)
        self.emit("start", pid=os.getpid(), device=device, config=config, total=total)

    def end(self, status: str, summary: dict[str, Any] | None = None) -> None:
        assert status in ("done", "stopped"), status
        self.emit("end", status=status, summary=summary or {})
        self._ended = True

    def path(self, name: str) -> Path:
        return self.run_dir / name


def _jsonable(value: Any) -> Any:
    """float('nan') stays nan in json.dumps; tensors and numpy scalars become numbers."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
