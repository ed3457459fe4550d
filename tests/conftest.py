"""Fixtures shared by the app tests (a temporary home with the fake lab on the labs path),
and the CI rules: a skipped test is a failed one, and property tests draw fixed examples.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import settings

from studytui.runs import RunWatch
from studytui.session import Session

FAKE_LABS = Path(__file__).parent / "fixtures" / "labs"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


# In CI every property test tries the same examples each run (seeded from the test), so a
# new random example cannot fail a CI run by chance; run locally, each run draws new ones
# and Hypothesis keeps any failing example in .hypothesis/ to replay it.
settings.register_profile("ci", derandomize=True)
if _in_ci():
    settings.load_profile("ci")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip fails: a missing optional package or a missing ../shared/ must
    not turn a test off unnoticed. Only `gpu` tests may skip there (CI has no GPU)."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and _in_ci()) or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("gpu") is not None:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which allows no skip but a `gpu` test's: {reason}"


def kill_leftovers(runs_dir: Path) -> None:
    """A failing test must not leave a hanging fake lab behind."""
    for d in runs_dir.iterdir() if runs_dir.is_dir() else []:
        w = RunWatch(d)
        w.update()
        if w.status == "running" and w.state.pid:
            try:
                os.killpg(w.state.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def local_zone():
    """Set this machine's local time zone for one test: `local_zone("JST-9")` (a POSIX TZ
    string, so no tz database is needed); the zone before is put back afterwards."""
    before = os.environ.get("TZ")

    def set_zone(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def lab_home(tmp_path, monkeypatch) -> Path:
    """STUDYTUI_HOME in a temporary folder, with the fake lab findable."""
    home = tmp_path / "home"
    monkeypatch.setenv("STUDYTUI_HOME", str(home))
    monkeypatch.setenv("STUDYTUI_LABS_PATH", str(FAKE_LABS))
    yield home
    kill_leftovers(home / "runs")


@pytest.fixture
def sess(lab_home) -> Session:
    return Session(home=lab_home)
