# vigil's project commands.  `make run` and `make test` are the two the README
# promises work on a fresh machine (python3 >= 3.11 with venv, make, apt).
# `make run` runs the daemon in the foreground; other commands reach it with
# --state-dir .vigil-state (or VIGIL_STATE_DIR=.vigil-state).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Extra arguments for `make conformance`, e.g. ARGS="--list-failures core".
ARGS   ?=
# pytest workers for `make test` (pytest-xdist): most tests wait on processes, so two
# share this machine's two cores well; TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2

.PHONY: run test lint conformance clean bench-scheduler bench-incremental

# The virtual environment, created once.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# vigil installed (editable) into it; redone when pyproject.toml changes.
$(VENV)/.vigil-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-input -e .
	touch $@

## run: start vigil on this machine with examples/quickstart.yaml (state in .vigil-state/); Ctrl-C stops it
run: $(VENV)/.vigil-installed
	$(BIN)/vigil run --config examples/quickstart.yaml --state-dir .vigil-state

## test: install what the tests need (crm_simulate, test extras), then lint and test.
## Every check runs even when an earlier one fails, so one run shows everything.
test: | $(BIN)/python
	VENV=$(VENV) scripts/install-test-deps.sh
	@status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) || status=1; \
	exit $$status

## lint: ruff and mypy (strict, per pyproject.toml)
lint:
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "mypy src/vigil scripts"; $(BIN)/mypy src/vigil scripts || status=1; \
	exit $$status

## conformance: vigil against Pacemaker's regression corpus (../shared/pacemaker-corpus)
conformance: $(VENV)/.vigil-installed
	$(BIN)/python scripts/conformance.py $(ARGS)

## bench-incremental: what one change costs the daemon's scheduler at 16x5000, against schedule() from scratch
bench-incremental: $(VENV)/.vigil-installed
	$(BIN)/python bench/scheduler/incremental.py $(ARGS)

## bench-scheduler: vigil against crm_simulate on ../shared/bench's grid; results in bench/scheduler/results
## (docs/benchmarks.md).  Takes up to 45 min; e.g. ARGS="--sizes 3x100,16x1000" for a quick one.
bench-scheduler: $(VENV)/.vigil-installed
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-input -e '.[bench]'
	$(BIN)/python bench/scheduler/run.py $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .vigil-state
