"""The run protocol of docs/protocol.md, written once: both the labs and studytui import it.

    from labs import protocol
    manifest = protocol.find_manifest("gpt")
    settings = protocol.resolve_settings(manifest, {"max_iters": "50"})   # checked, typed
    run_id = protocol.new_run_id("gpt")            # gpt-20261129-210000-1a2b
    protocol.resolve_run_ref("last", run_ids)      # the newest; a unique prefix works too

What is here: manifest parsing and discovery, settings checks, run ids and references,
the run-folder layout, event names, metric keys and the headline figure, atomic writes,
and where the home is. Standard library only, and nothing of studytui or torch: the app
imports this module and must start fast (tests/test_boundaries.py holds both rules).
"""

from __future__ import annotations

import datetime as dt
import errno
import importlib.util
import json
import math
import os
import re
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1

# -- environment -------------------------------------------------------------------------
HOME_ENV = "STUDYTUI_HOME"  # all user data: the database, runs/, caches
LABS_PATH_ENV = "STUDYTUI_LABS_PATH"  # extra folders holding lab packages
LOCK_FD_ENV = "STUDYTUI_LOCK_FD"  # the run.lock descriptor the launcher hands down
APP_NAME = "studytui"

# -- the run folder ----------------------------------------------------------------------
CONFIG_FILE = "config.json"  # {"lab", "run_id", "created", "settings"}, + "resolved" at start
METRICS_FILE = "metrics.jsonl"  # the event stream, appended, never rewritten
STDERR_FILE = "stderr.log"  # the process's stdout and stderr
LOCK_FILE = "run.lock"  # flock held by the run's process for its whole life
STOP_FILE = "stop.json"  # written by `lab stop`: when a stop was asked, and if it killed
REPORT_FILE = "report.md"  # the run's report card, written by studytui once the run ended

# -- events ------------------------------------------------------------------------------
EVENTS = (
    "start",
    "step",
    "eval",
    "sample",
    "progress",
    "merges",
    "table",
    "visual",
    "checkpoint",
    "log",
    "end",
    "error",
)
# `diverged`: the lab's guard stopped a run whose loss went NaN/inf or stayed far above its
# best; the `end` event then carries a one-line `reason` (labs/common/guard.py).
END_STATUSES = ("done", "stopped", "diverged")
# Numbers a step/eval event may carry; the same keys in JSON, SQLite and the UI.
METRIC_KEYS = ("loss", "val_loss", "lr", "grad_norm", "dt_ms", "tok_per_s", "mfu", "gpu_mem_mb", "gpu_util")


class SettingError(ValueError):
    """A setting, lab name or manifest that cannot be used; the message is one line."""


class RunRefError(ValueError):
    """A run reference that names no run, or several; the message is one line."""

    def __init__(self, message: str, *, unknown: bool):
        super().__init__(message)
        self.unknown = unknown  # True: nothing matched (False: several did)


# -- events and figures --------------------------------------------------------------------


def metric_value(value: Any) -> float | None:
    """A number as a metric, or None. A bool is not a metric, though Python calls it an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def event_line(event: str, fields: dict[str, Any], *, t: float | None = None) -> str:
    """One line of metrics.jsonl, newline included."""
    record = {"v": PROTOCOL_VERSION, "event": event, "t": round(time.time() if t is None else t, 3), **fields}
    return json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n"


def _jsonable(value: Any) -> Any:
    """Tensors and numpy scalars become numbers, paths strings (nan stays nan in json.dumps)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def headline_figure(summary: dict[str, Any] | None, last: dict[str, Any] | None, key: str | None) -> Any:
    """A run's figure for `key` (the manifest's key_metric): the end summary's, else the latest."""
    if not key:
        return None
    for part in (summary or {}, last or {}):
        if key in part:
            return part[key]
    return None


def table_fields(name: str, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """The fields of a `table` event, checked: every row has one cell per column."""
    columns = [str(c) for c in columns]
    rows = [list(r) for r in rows]
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"table {name}: row {i} has {len(row)} cells for {len(columns)} columns")
    return {"name": str(name), "columns": columns, "rows": rows}


def read_table(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A `table` event as (name, {"columns", "rows"}); rows cut or padded to the columns.
    Columns or rows that are not lists (a string would read as one column per letter)
    count as none."""
    columns = [str(c) for c in _list_or_empty(event.get("columns"))]
    rows = []
    for row in _list_or_empty(event.get("rows")):
        cells = list(row) if isinstance(row, list) else [row]
        if columns:
            cells = (cells + [None] * len(columns))[: len(columns)]
        rows.append(cells)
    return str(event.get("name") or "table"), {"columns": columns, "rows": rows}


def _list_or_empty(value: Any) -> list:
    return value if isinstance(value, list) else []


# -- the home --------------------------------------------------------------------------------


def platform_data_dir(appname: str = APP_NAME) -> Path:
    """platformdirs' `user_data_dir(appname, appauthor=False)` (4.x), in the standard library."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        if xdg.strip():
            base = xdg
        elif sys.platform == "darwin":
            base = os.path.expanduser("~/Library/Application Support")
        else:
            base = os.path.expanduser("~/.local/share")
    return Path(base) / appname


def home_dir() -> Path:
    """Where all user data lives: $STUDYTUI_HOME, else the platform's user data folder."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return platform_data_dir()


def runs_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / "runs"


# -- run ids and references ------------------------------------------------------------------

RUN_ID_STAMP = "%Y%m%d-%H%M%S"
_RUN_ID = re.compile(r"(?P<lab>.+)-(?P<stamp>\d{8}-\d{6})-(?P<tag>[0-9a-f]{4})")


def new_run_id(lab: str, now: dt.datetime | None = None) -> str:
    """`<lab>-YYYYMMDD-HHMMSS-<4 hex>`: sorts by start time within a lab."""
    return f"{lab}-{(now or dt.datetime.now()).strftime(RUN_ID_STAMP)}-{os.urandom(2).hex()}"


def run_id_lab(run_id: str) -> str | None:
    """The lab a run id names (`gpt-ladder-20261129-...` -> `gpt-ladder`), or None."""
    m = _RUN_ID.fullmatch(run_id)
    return m["lab"] if m else None


def run_id_order(run_id: str) -> tuple[str, str]:
    """A sort key by start time across labs (an id not ours sorts first)."""
    m = _RUN_ID.fullmatch(run_id)
    return (m["stamp"], m["tag"]) if m else ("", run_id)


def resolve_run_ref(ref: str, run_ids: list[str], *, what: str = "run") -> str:
    """`ref` (an id, a unique prefix of one, or `last`, the newest) -> one of `run_ids`."""
    ref = ref.strip()
    if ref == "last":
        if not run_ids:
            raise RunRefError(f"there is no {what} yet", unknown=True)
        return max(run_ids, key=run_id_order)
    if ref in run_ids:
        return ref
    matches = sorted(r for r in run_ids if r.startswith(ref)) if ref else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunRefError(f"no {what} matches {ref!r}", unknown=True)
    shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
    raise RunRefError(f"{ref!r} matches {len(matches)} runs: {shown}", unknown=False)


def run_folders(runs: Path) -> list[Path]:
    """Run folders under `runs`: any folder holding a config.json (a run by hand counts too)."""
    try:
        entries = list(Path(runs).iterdir())
    except OSError:
        return []
    return [d for d in entries if (d / CONFIG_FILE).is_file()]


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or {} when it is missing, unreadable or not an object."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def run_lab(run_dir: Path) -> str | None:
    lab = read_json_object(Path(run_dir) / CONFIG_FILE).get("lab")
    return lab if isinstance(lab, str) else None


# -- atomic writes ---------------------------------------------------------------------------


def write_target(path: Path) -> Path:
    """The file a write to `path` replaces: `path` itself, or the end of its symlink chain.

    Raises OSError (a one-line `strerror`) when that is a folder, FIFO, device or socket:
    replacing `/dev/full` or a named pipe with a regular file is never what was meant.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target  # a new file (or a dangling link's target, created where it points)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"{path} is a folder, not a file; nothing written")
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise OSError(errno.EINVAL, f"{path} is {kind}; nothing written (give a regular file)")
    return target


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write so that a reader (another process, a crash) never sees half a file: a new
    temporary file beside the target, flushed to disk (fsync), renamed over it."""
    target = write_target(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        old_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        old_mode = None
    # A fresh random name opened with O_EXCL: a file or link planted at a guessable
    # temporary name can neither be written through nor swapped in.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            if old_mode is not None:
                os.fchmod(f.fileno(), old_mode)  # replacing a file keeps its permissions
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


# -- manifests ---------------------------------------------------------------------------------

SETTING_TYPES = ("int", "float", "bool", "str", "choice", "path", "run")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class LabManifest:
    """A `<package>/<name>.lab.json`, checked."""

    name: str
    title: str
    summary: str
    module: str  # run as `python -m module RUN_DIR`
    key_metric: str | None  # the headline figure of a run
    settings: list[dict[str, Any]]
    path: Path  # the .lab.json file
    import_root: Path  # the folder to put on PYTHONPATH so `python -m module` finds it
    order: int = 100  # place in lists (learning order)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_manifest(path: Path, import_root: Path | None = None) -> LabManifest:
    """Read and check one manifest file; SettingError (one line, naming the file) if bad."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SettingError(f"{path}: not a readable JSON manifest ({e})") from None
    if not isinstance(doc, dict):
        raise SettingError(f"{path}: a manifest must be a JSON object")
    for key in ("name", "module"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise SettingError(f"{path}: missing {key!r}")
    settings = doc.get("settings", [])
    if not isinstance(settings, list):
        raise SettingError(f"{path}: 'settings' must be a list")
    for s in settings:
        _check_spec(path, s)
    order = doc.get("order", 100)
    return LabManifest(
        name=doc["name"],
        title=str(doc.get("title") or doc["name"]),
        summary=str(doc.get("summary") or ""),
        module=doc["module"],
        key_metric=doc.get("key_metric") if isinstance(doc.get("key_metric"), str) else None,
        settings=settings,
        path=path,
        import_root=import_root or path.parent.parent,
        order=order if isinstance(order, int) and not isinstance(order, bool) else 100,
        raw=doc,
    )


def _check_spec(path: Path, s: Any) -> None:
    if not isinstance(s, dict) or not isinstance(s.get("name"), str):
        raise SettingError(f"{path}: every setting needs a 'name'")
    if s.get("type") not in SETTING_TYPES:
        raise SettingError(f"{path}: setting {s['name']!r} has unknown type {s.get('type')!r}")
    if s["type"] == "choice" and not isinstance(s.get("choices"), list):
        raise SettingError(f"{path}: choice setting {s['name']!r} needs 'choices'")
    if "pattern" in s:
        try:
            re.compile(s["pattern"])
        except (re.error, TypeError):
            raise SettingError(f"{path}: setting {s['name']!r} has a bad 'pattern'") from None


def manifest_roots() -> list[Path]:
    """Folders holding lab packages: the installed `labs` package's, then STUDYTUI_LABS_PATH."""
    roots: list[Path] = []
    try:
        spec = importlib.util.find_spec("labs")  # locates without importing the labs
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        # A regular package has one location, a namespace package possibly several.
        roots += [Path(location) for location in spec.submodule_search_locations or []]
    for entry in os.environ.get(LABS_PATH_ENV, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry).expanduser())
    return roots


def manifest_files() -> list[tuple[Path, Path]]:
    """(manifest file, import root) pairs, built-in labs first."""
    found = []
    for root in manifest_roots():
        if not root.is_dir():
            continue
        # The built-in root is the `labs` package itself: its modules are `labs.<pkg>.run`,
        # so the import root is its parent. An extra folder holds top-level packages.
        is_labs_pkg = (root / "__init__.py").exists() and root.name == "labs"
        import_root = root.parent if is_labs_pkg else root
        found += [(path, import_root) for path in sorted(root.glob("*/*.lab.json"))]
    return found


def discover() -> tuple[dict[str, LabManifest], list[str]]:
    """Every manifest found, by lab name (the first of a name wins), in learning order
    (the manifest's `order`, then name), and one line per problem."""
    manifests: dict[str, LabManifest] = {}
    problems: list[str] = []
    for path, import_root in manifest_files():
        try:
            m = parse_manifest(path, import_root)
        except SettingError as e:
            problems.append(str(e))
            continue
        manifests.setdefault(m.name, m)
    ordered = sorted(manifests.values(), key=lambda m: (m.order, m.name))
    return {m.name: m for m in ordered}, problems


def find_manifest(name: str, manifests: dict[str, LabManifest] | None = None) -> LabManifest:
    manifests = discover()[0] if manifests is None else manifests
    if name in manifests:
        return manifests[name]
    known = sorted(manifests)
    raise SettingError(
        f"no lab named {name!r}{did_you_mean(name, known)}"
        + (f" (labs: {', '.join(known)})" if known else " (no labs installed)")
    )


def closest(word: str, options, cutoff: float = 0.5) -> str | None:
    """The option `word` is most likely a typo of, or None: the one matcher behind every
    "did you mean" in studytui and the labs."""
    import difflib  # only on error paths: listing labs stays cheap

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, options) -> str:
    """`; did you mean 'x'?` for the closest option, or ''."""
    close = closest(word, options)
    return f"; did you mean {close!r}?" if close else ""


# -- settings ----------------------------------------------------------------------------------


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """`["k=v", ...]` from `--set` -> {k: "v"} (values still text)."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingError(f"--set {pair!r}: expected NAME=VALUE")
        given[key] = raw
    return given


def check_settings(
    manifest: LabManifest, given: dict[str, Any], *, runs: Path | None = None
) -> dict[str, Any]:
    """Only the settings `given`, each checked and typed (an unknown name is an error)."""
    specs = {s["name"]: s for s in manifest.settings}
    for key in given:
        if key not in specs:
            names = ", ".join(specs) or "none"
            raise SettingError(
                f"unknown setting {key!r} for lab {manifest.name}"
                f"{did_you_mean(key, list(specs))} (settings: {names})"
            )
    checked = {key: coerce_setting(specs[key], raw, runs=runs) for key, raw in given.items()}
    check_combinations(manifest, checked)
    return checked


def check_combinations(manifest: LabManifest, checked: dict[str, Any]) -> None:
    """The manifest's `checks` between settings (e.g. n_embd divisible by n_head), on the
    values a run would get: the given ones over the preset's over the defaults. `preset=auto`
    picks by device at run time, so without a device named it is refused only when no preset
    it may pick can work (the lab checks the one it picked)."""
    checks = manifest.raw.get("checks") or []
    if not checks:
        return
    defaults = {s["name"]: s.get("default") for s in manifest.settings}
    presets = manifest.raw.get("presets") or {}
    chosen = checked.get("preset") or defaults.get("preset")
    if chosen == "auto":
        auto = manifest.raw.get("preset_auto") or {}
        device = str(checked.get("device") or "auto")
        kind = "cuda" if device.startswith("cuda") else "cpu" if device == "cpu" else None
        candidates = [auto[kind]] if kind in auto else sorted(set(auto.values()))
    else:
        candidates = [chosen]
    problems = [
        _combination_problem(
            checks,
            {**defaults, **(presets.get(p) or {}), **{k: v for k, v in checked.items() if v is not None}},
        )
        for p in candidates or [None]
    ]
    if all(problems):
        raise SettingError(problems[0])


def _combination_problem(checks: list[dict[str, Any]], values: dict[str, Any]) -> str | None:
    for check in checks:
        a, b = values.get(check.get("divisible")), values.get(check.get("by"))
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a % b:
            return check["message"].format(**values)
    return None


def resolve_settings(
    manifest: LabManifest, given: dict[str, Any], *, runs: Path | None = None
) -> dict[str, Any]:
    """Every setting: the manifest defaults, overridden by `given`, each checked."""
    checked = check_settings(manifest, given, runs=runs)
    return {
        s["name"]: checked[s["name"]]
        if s["name"] in checked
        else coerce_setting(s, s.get("default"), runs=runs)
        for s in manifest.settings
    }


def coerce_setting(spec: dict[str, Any], raw: Any, *, runs: Path | None = None) -> Any:
    """One value (text from `--set` or a form, or already typed from JSON) -> the setting's
    type, or SettingError. None, or blank text for any type but `str`, means unset."""
    name, kind = spec["name"], spec["type"]
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and kind != "str"):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    try:
        value = _typed(kind, text, raw)
    except (TypeError, ValueError, OverflowError):
        hint = " (use true or false)" if kind == "bool" else ""
        raise SettingError(f"{name}: {raw!r} is not a valid {kind}{hint}") from None
    if kind in ("int", "float"):
        if spec.get("min") is not None and value < spec["min"]:
            raise SettingError(f"{name}: {value} is below the minimum {spec['min']}")
        if spec.get("max") is not None and value > spec["max"]:
            raise SettingError(f"{name}: {value} is above the maximum {spec['max']}")
    elif kind == "str" and spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        raise SettingError(
            f"{name}: {value!r} is not allowed" + (f" ({spec['help']})" if spec.get("help") else "")
        )
    elif kind == "choice":
        choices = [str(c) for c in spec["choices"]]
        if value not in choices:
            raise SettingError(
                f"{name}: {value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
            )
        value = spec["choices"][choices.index(value)]
    elif kind == "path":
        if value in spec.get("named", ()):
            return value  # a name for something the lab ships (data=shakespeare), not a path
        path = Path(value).expanduser()
        if not path.exists():
            raise SettingError(f"{name}: {value} does not exist")
        value = str(path.resolve())  # absolute: the lab runs in its own folder
    elif kind == "run":
        value = _run_setting(spec, value, runs)
    return value


def _typed(kind: str, text: Any, raw: Any) -> Any:
    if kind == "int":
        if isinstance(text, (bool, float)):
            raise ValueError
        return int(text.replace("_", "")) if isinstance(text, str) else int(text)
    if kind == "float":
        if isinstance(text, bool):
            raise ValueError
        value = float(text)
        if not math.isfinite(value):  # nan and inf pass float() but no min/max makes sense of them
            raise ValueError
        return value
    if kind == "bool":
        if isinstance(text, bool):
            return text
        if str(text).lower() in _TRUE:
            return True
        if str(text).lower() in _FALSE:
            return False
        raise ValueError
    return str(raw) if kind == "str" else str(text)


def _run_setting(spec: dict[str, Any], value: str, runs: Path | None) -> str:
    """A run id, a unique prefix of one, or `last`, of the lab the setting names."""
    runs = runs_dir() if runs is None else Path(runs)
    lab = spec.get("lab")
    what = f"{lab} run" if lab else "run"
    ids = [d.name for d in run_folders(runs) if lab is None or run_lab(d) == lab]
    try:
        return resolve_run_ref(value, ids, what=what)
    except RunRefError as e:
        hint = " (see `studytui lab runs`)" if e.unknown else ""
        raise SettingError(f"{spec['name']}: {e}{hint}") from None
