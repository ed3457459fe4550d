# Two commands on a fresh machine: `make run` (set up, open the study desk) and
# `make test` (set up, run the tests). Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of PyTorch. On a GPU box: `make setup TORCH=torch` for the CUDA build.
TORCH  ?= torch==2.13.0
# `make lowest`: a second venv with every direct dependency at its declared minimum.
LOWEST_VENV ?= .venv-lowest
LOWEST      := .ci/lowest.txt

.PHONY: setup run test lowest mutants bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e '.[test,reference]'
	touch $@

run: setup
	$(VENV)/bin/studytui

test: setup
	$(PY) -m pytest -q -n 2

# The minimums in pyproject.toml really work: install them all ($(LOWEST) pins each direct
# dependency to its minimum) and run the fast app tests. Left out: the lab tests (they need
# the reference extra, transformers, whose own minimums are far above ours) and the
# snapshots (pictures drawn by the Textual that `make setup` installs; another draws others).
lowest: $(LOWEST_VENV)/.installed
	$(LOWEST_VENV)/bin/python -m pytest -q -n 2 -m "not slow" --ignore=tests/labs --ignore=tests/test_tui_snapshots.py

$(LOWEST_VENV)/.installed: pyproject.toml $(LOWEST)
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install -q "$(TORCH)"
	$(LOWEST_VENV)/bin/python -m pip install -q -c $(LOWEST) -e '.[test]'
	touch $@

# Mutation testing (not in CI; minutes to an hour): kill rate per module.
# `make mutants ONLY='studytui.study.*'` tests only the mutants whose names match.
mutants: setup
	$(PY) -c "import mutmut" 2>/dev/null || $(PY) -m pip install -q -e '.[mutants]'
	$(PY) scripts/mutants.py $(ONLY)

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .pytest_cache mutants
