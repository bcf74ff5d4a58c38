# Two commands: `make run` (demo server) and `make test` (every test, browser tests included).
# Both call the idempotent `make setup`: .venv/ from requirements.txt, node_modules/ from package-lock.json.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean-cache

setup: $(VENV)/.stamp node_modules/.stamp

$(VENV)/.stamp: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(BIN)/python main.py

# pytest-xdist: 2 worker processes (most of the suite waits on servers, Chromium and sandboxes),
# whole files per worker in collection order (module fixtures built once, a file's tests in order).
# `make test TEST_WORKERS=0` runs it in one process, as `pytest -p no:xdist` does.
TEST_WORKERS ?= 2

test: setup lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: setup
	$(BIN)/ruff check neloura tests benchmarks *.py
	$(BIN)/ruff format --check neloura tests benchmarks *.py
	$(BIN)/mypy

# Every benchmark, one after the other (long: tens of minutes; see benchmarks/README.md).
bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
