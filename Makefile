# Two commands on a fresh machine: `make run` (set up, open the study desk) and
# `make test` (set up, run the tests). Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Which PyTorch build: on Linux, PyPI's torch==2.13.0 wheel is the CUDA build (several GB;
# it runs on a CPU too); macOS and Windows get the CPU build. For the small CPU-only build on
# Linux: `PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make setup TORCH=torch==2.13.0+cpu`.
TORCH  ?= torch==2.13.0
# `make lowest`: a second venv with every direct dependency at its declared minimum.
LOWEST_VENV ?= .venv-lowest
LOWEST      := .ci/lowest.txt

.PHONY: setup run test lowest mutants bench gpu-check clean

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
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
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

# On a CUDA machine (~8 min on one H100): the GPT lab's GPU paths, one report in gpu-check/
# (docs/performance.md). Without CUDA: one line, exit 2. `make gpu-check DRY=1`: CPU, tiny.
gpu-check: setup
	$(PY) scripts/gpu_check.py $(if $(DRY),--dry)

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .pytest_cache mutants
