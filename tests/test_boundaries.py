"""The boundaries of DESIGN.md, checked in fresh interpreters and by reading imports.

- `labs` never imports `studytui` or `textual`.
- `studytui` never imports `torch`, nor anything of `labs` but `labs.protocol` (the run
  protocol, written once, which both sides share), and that only in `studytui/protocol.py`.
- `labs.protocol` imports only the standard library (the app imports it and must start fast).
- The headless core (curriculum, store, runs, paths, study, search) imports no textual.
- No import cycles in `studytui/` or `labs/`, counting imports inside functions too.
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
PACKAGES = ("studytui", "labs")
SHARED_PROTOCOL = "labs.protocol"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source_files(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imported_names(module: str, path: Path, known: set[str] | None = None) -> set[str]:
    """Every module an `import` statement anywhere in the file names (inside functions too),
    as dotted names. `from a import b` names `a.b` where that is one of the `known` modules,
    else `a`; with no `known` given, both (b may be a submodule)."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            for alias in node.names:
                child = f"{parent}.{alias.name}"
                if known is None:
                    names.update((parent, child) if alias.name != "*" else (parent,))
                else:
                    names.add(child if child in known else parent)
    return names


def _imports(package: str) -> dict[str, set[str]]:
    """Imported dotted names, per file (relative path)."""
    return {str(p.relative_to(ROOT)): _imported_names(m, p) for m, p in _source_files(package).items()}


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_labs_never_import_the_app():
    bad = {f: _top(n) & {"studytui", "textual", "textual_plotext"} for f, n in _imports("labs").items()}
    assert {f: n for f, n in bad.items() if n} == {}


def test_app_imports_no_torch_and_of_the_labs_only_the_protocol():
    def forbidden(name: str) -> bool:
        top = name.split(".")[0]
        if top == "torch":
            return True
        # `from labs import protocol` names both `labs` and `labs.protocol`: fine together.
        return (
            top == "labs"
            and name not in ("labs", SHARED_PROTOCOL)
            and not name.startswith(SHARED_PROTOCOL + ".")
        )

    bad = {f: {n for n in names if forbidden(n)} for f, names in _imports("studytui").items()}
    assert {f: n for f, n in bad.items() if n} == {}
    # ...and only through one door, studytui/protocol.py: the rest of the app talks to the
    # labs over the process boundary.
    doors = {f for f, names in _imports("studytui").items() if any(n.split(".")[0] == "labs" for n in names)}
    assert doors == {"studytui/protocol.py"}


def test_the_protocol_imports_only_the_standard_library():
    names = _imported_names(SHARED_PROTOCOL, ROOT / "labs" / "protocol.py")
    assert {
        n for n in names if n.split(".")[0] not in sys.stdlib_module_names and n.split(".")[0] != "__future__"
    } == set()
    loaded = _modules_after("import labs.protocol")
    baseline = _modules_after("")
    new = {m for m in loaded - baseline if m.split(".")[0] not in sys.stdlib_module_names}
    assert new == {"labs", "labs.protocol"}


def test_headless_core_imports_no_textual():
    core = {
        f: n for f, n in _imports("studytui").items() if not f.startswith(("studytui/tui/", "studytui/cli/"))
    }
    bad = {f: _top(n) & {"textual", "textual_plotext"} for f, n in core.items()}
    assert {f: n for f, n in bad.items() if n} == {}


# -- import cycles ------------------------------------------------------------------------------


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of studytui/ and labs/ it imports (a package's __init__ counts as
    the package; the implicit import of a parent package does not: that is no cycle)."""
    modules = {m: p for pkg in PACKAGES for m, p in _source_files(pkg).items()}
    graph = {}
    for module, path in modules.items():
        graph[module] = {
            n for n in _imported_names(module, path, set(modules)) if n in modules and n != module
        }
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups, key=len, reverse=True)


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    a = "import os\n\ndef f():\n    from pkg import b\n"
    assert _imported_names("pkg.a", _write(tmp_path / "a.py", a), {"pkg", "pkg.b"}) == {"os", "pkg.b"}
    assert strongly_connected(
        {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}, "pkg.d": {"pkg.a"}}
    ) == [["pkg.a", "pkg.b", "pkg.c"]]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _cycle_message(cycles: list[list[str]]) -> str:
    return "modules that import each other (directly or in a ring): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_no_import_cycles():
    cycles = strongly_connected(import_graph())
    assert cycles == [], _cycle_message(cycles)


# -- what commands load ---------------------------------------------------------------------------


def _modules_after(code: str, env_extra: dict[str, str] | None = None) -> set[str]:
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["status"], ["status", "--json"], ["next"], ["lab", "runs"]])
def test_cli_commands_load_neither_torch_nor_textual(tmp_path, argv):
    code = (
        f"import sys; sys.argv = ['studytui', *{argv!r}]\n"
        "from studytui.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    loaded = _modules_after(code, {"STUDYTUI_HOME": str(tmp_path)})
    assert not {m for m in loaded if m.split(".")[0] in {"torch", "textual"}}
    assert {m for m in loaded if m.split(".")[0] == "labs"} <= {"labs", SHARED_PROTOCOL}
