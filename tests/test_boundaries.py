"""The boundaries of DESIGN.md, checked in fresh interpreters and by reading imports.

- `labs` never imports `studytui` or `textual`.
- `studytui` never imports `torch` or `labs`; `studytui status` loads no TUI either.
- The headless core (curriculum, store, runs, paths, study, search) imports no textual.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level module names imported anywhere in a package's source, per file."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_labs_never_import_the_app():
    bad = {f: n & {"studytui", "textual", "textual_plotext"} for f, n in _imports("labs").items()}
    assert {f: n for f, n in bad.items() if n} == {}


def test_app_never_imports_torch_or_labs():
    bad = {f: n & {"torch", "labs"} for f, n in _imports("studytui").items()}
    assert {f: n for f, n in bad.items() if n} == {}


def test_headless_core_imports_no_textual():
    core = {f: n for f, n in _imports("studytui").items()
            if not f.startswith(("studytui/tui/", "studytui/cli/"))}
    bad = {f: n & {"textual", "textual_plotext"} for f, n in core.items()}
    assert {f: n for f, n in bad.items() if n} == {}


def _modules_after(code: str, env_extra: dict[str, str] | None = None) -> set[str]:
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["status"], ["status", "--json"], ["next"], ["lab", "runs"]])
def test_cli_commands_load_neither_torch_nor_textual(tmp_path, argv):
    code = ("import sys; sys.argv = ['studytui', *%r]\n"
            "from studytui.cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass" % (argv,))
    loaded = _modules_after(code, {"STUDYTUI_HOME": str(tmp_path)})
    assert not {m for m in loaded if m.split(".")[0] in {"torch", "labs", "textual"}}
