"""Under CI=true a skipped test fails (tests/conftest.py), except a `gpu` test's skip."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SKIPPING_TESTS = """
import pytest

def test_needs_a_missing_package():
    pytest.importorskip("no_such_package_studytui")

@pytest.mark.skipif(True, reason="no ../shared/seeds")
def test_needs_the_seeds():
    pass

@pytest.mark.gpu
def test_needs_a_gpu():
    pytest.skip("no GPU here")

@pytest.mark.xfail(strict=True, reason="known bug")
def test_known_bug():
    assert False

def test_plain():
    pass
"""


# In-process run: the snapshot plugin keeps per-session state of the outer run, leave it out.
INNER_ARGS = ("-p", "no:randomly", "-p", "no:xdist", "-p", "no:textual-snapshot")


@pytest.fixture
def suite(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makeini("[pytest]\nmarkers =\n    gpu: needs a GPU\n")
    pytester.makepyfile(test_skips=SKIPPING_TESTS)
    return pytester


def test_in_ci_a_skip_fails_but_a_gpu_tests_skip(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest(*INNER_ARGS)
    # a skip at set-up (a skipif marker) fails as an error, one in the test body as a failure
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped under CI=true*no ../shared/seeds*"])
    result.stdout.fnmatch_lines(["*skipped under CI=true*no_such_package_studytui*"])


def test_outside_ci_skips_stay_skips(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest(*INNER_ARGS)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
