"""Lab manifests (`<package>/<name>.lab.json`): finding them and checking settings against them.

studytui never imports a lab: it finds the `labs` package with `importlib.util.find_spec`
(which locates without importing) and reads the JSON beside it, plus the lab packages in
the folders named by STUDYTUI_LABS_PATH. Rules for settings are in docs/protocol.md; the
lab checks them again on its own side (labs/common/runctx.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABS_PATH_ENV = "STUDYTUI_LABS_PATH"
SETTING_TYPES = ("int", "float", "bool", "str", "choice", "path", "run")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingError(ValueError):
    """A setting (or lab name) the user gave cannot be used; the message is one line."""


@dataclass(frozen=True)
class LabManifest:
    name: str
    title: str
    summary: str
    module: str
    key_metric: str | None
    settings: list[dict[str, Any]]
    path: Path            # the .lab.json file
    import_root: Path     # the folder to put on PYTHONPATH so `python -m module` finds it
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def setting(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.settings if s["name"] == name), None)

    def defaults(self) -> dict[str, Any]:
        return {s["name"]: s.get("default") for s in self.settings}


def manifest_roots() -> list[Path]:
    """Folders holding lab packages: the installed `labs` package's, then STUDYTUI_LABS_PATH."""
    roots: list[Path] = []
    try:
        spec = importlib.util.find_spec("labs")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        # A regular package has one location, a namespace package possibly several.
        for location in spec.submodule_search_locations or []:
            roots.append(Path(location))
    for entry in os.environ.get(LABS_PATH_ENV, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry).expanduser())
    return roots


def _manifest_files() -> list[tuple[Path, Path]]:
    """(manifest file, import root) pairs, built-in labs first."""
    found = []
    for root in manifest_roots():
        if not root.is_dir():
            continue
        # The built-in root is the `labs` package itself: its modules are `labs.<pkg>.run`,
        # so the import root is its parent. An extra folder holds top-level packages.
        is_labs_pkg = (root / "__init__.py").exists() and root.name == "labs"
        import_root = root.parent if is_labs_pkg else root
        for path in sorted(root.glob("*/*.lab.json")):
            found.append((path, import_root))
    return found


def _parse_manifest(path: Path, import_root: Path) -> LabManifest:
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
    return LabManifest(name=doc["name"], title=str(doc.get("title") or doc["name"]),
                       summary=str(doc.get("summary") or ""), module=doc["module"],
                       key_metric=doc.get("key_metric"), settings=settings, path=path,
                       import_root=import_root, raw=doc)


def discover() -> tuple[dict[str, LabManifest], list[str]]:
    """Every manifest found, by lab name (the first of a name wins), and one line per problem."""
    manifests: dict[str, LabManifest] = {}
    problems: list[str] = []
    for path, import_root in _manifest_files():
        try:
            m = _parse_manifest(path, import_root)
        except SettingError as e:
            problems.append(str(e))
            continue
        manifests.setdefault(m.name, m)
    # Listed in learning order (the manifest's "order", then name), not file order.
    ordered = sorted(manifests.values(), key=lambda m: (m.raw.get("order", 100), m.name))
    return {m.name: m for m in ordered}, problems


def load_manifests() -> dict[str, LabManifest]:
    return discover()[0]


def lab_names() -> set[str]:
    """Names of all labs; cheap (reads a few small JSON files), for curriculum validation."""
    return set(load_manifests())


def get_manifest(name: str, manifests: dict[str, LabManifest] | None = None) -> LabManifest:
    manifests = load_manifests() if manifests is None else manifests
    if name in manifests:
        return manifests[name]
    known = sorted(manifests)
    raise SettingError(f"no lab named {name!r}{_did_you_mean(name, known)}"
                       + (f" (labs: {', '.join(known)})" if known else " (no labs installed)"))


def _did_you_mean(word: str, options: list[str]) -> str:
    import difflib  # only on the error path: lab_names() stays cheap

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- settings ---------------------------------------------------------------------------------

def parse_settings(manifest: LabManifest, pairs: list[str], *, runs_dir: Path | None = None,
                   ) -> dict[str, Any]:
    """`["k=v", ...]` from `--set` (or a form) -> {name: typed value}, each checked.

    Only the settings given are returned; the lab fills in the manifest defaults. Paths are
    made absolute, because the lab runs in its own folder. An empty value means "unset".
    """
    specs = {s["name"]: s for s in manifest.settings}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingError(f"--set {pair!r}: expected NAME=VALUE")
        if key not in specs:
            names = ", ".join(specs) or "none"
            raise SettingError(f"unknown setting {key!r} for lab {manifest.name}"
                               f"{_did_you_mean(key, list(specs))} (settings: {names})")
        values[key] = coerce_setting(specs[key], raw, runs_dir=runs_dir)
    return values


def coerce_setting(spec: dict[str, Any], raw: Any, *, runs_dir: Path | None = None) -> Any:
    """One value (a string, or already typed from JSON) -> the setting's type, or SettingError."""
    name, kind = spec["name"], spec["type"]
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and kind != "str"):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    try:
        if kind == "int":
            if isinstance(text, bool) or isinstance(text, float):
                raise ValueError
            value: Any = int(text.replace("_", "")) if isinstance(text, str) else int(text)
        elif kind == "float":
            if isinstance(text, bool):
                raise ValueError
            value = float(text)
            if value != value:  # NaN passes float() but no min/max check makes sense of it
                raise ValueError
        elif kind == "bool":
            if isinstance(text, bool):
                value = text
            elif str(text).lower() in _TRUE:
                value = True
            elif str(text).lower() in _FALSE:
                value = False
            else:
                raise ValueError
        else:
            value = str(raw) if kind == "str" else str(text)
    except (TypeError, ValueError):
        hint = " (use true or false)" if kind == "bool" else ""
        raise SettingError(f"{name}: {raw!r} is not a valid {kind}{hint}") from None

    if kind in ("int", "float"):
        if spec.get("min") is not None and value < spec["min"]:
            raise SettingError(f"{name}: {value} is below the minimum {spec['min']}")
        if spec.get("max") is not None and value > spec["max"]:
            raise SettingError(f"{name}: {value} is above the maximum {spec['max']}")
    elif kind == "str" and spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        raise SettingError(f"{name}: {value!r} is not allowed" + (f" ({spec['help']})" if spec.get("help") else ""))
    elif kind == "choice":
        choices = [str(c) for c in spec["choices"]]
        if value not in choices:
            raise SettingError(f"{name}: {value!r} is not one of {', '.join(choices)}"
                               f"{_did_you_mean(value, choices)}")
        value = spec["choices"][choices.index(value)]
    elif kind == "path":
        path = Path(value).expanduser()
        if not path.exists():
            raise SettingError(f"{name}: {value} does not exist")
        value = str(path.resolve())
    elif kind == "run":
        value = _check_run_setting(spec, value, runs_dir)
    return value


def _check_run_setting(spec: dict[str, Any], value: str, runs_dir: Path | None) -> str:
    """A run id, a unique prefix of one, or `last`, of the lab the setting names."""
    if runs_dir is None:
        from studytui import paths

        runs_dir = paths.runs_dir()
    lab = spec.get("lab")
    what = f"{lab} run" if lab else "run"
    runs = [d.name for d in (runs_dir.iterdir() if runs_dir.is_dir() else [])
            if (d / "config.json").is_file() and (lab is None or _run_lab(d) == lab)]
    if value == "last":
        if not runs:
            raise SettingError(f"{spec['name']}: there is no {what} yet (see `studytui lab runs`)")
        # Run ids end in -YYYYMMDD-HHMMSS-hex: the newest sorts last, whatever the lab name.
        return max(runs, key=lambda r: r.rsplit("-", 3)[1:])
    candidates = [r for r in runs if r == value or r.startswith(value)]
    if value in candidates:
        return value
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SettingError(f"{spec['name']}: no {what} {value!r} (see `studytui lab runs`)")
    raise SettingError(f"{spec['name']}: {value!r} matches {len(candidates)} runs: "
                       f"{', '.join(sorted(candidates)[:5])}")


def _run_lab(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get("lab")
    except (OSError, ValueError, AttributeError):
        return None
