# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: run test lint services bench soak clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(NODE_INSTALLED): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(INSTALLED)
	$(BIN)/fieldhall demo

services:
	scripts/ensure-postgres.sh

lint: $(INSTALLED)
	$(BIN)/ruff check fieldhall tests bench
	$(BIN)/ruff format --check fieldhall tests bench
	$(BIN)/mypy fieldhall
	$(BIN)/lint-imports

test: $(INSTALLED) $(NODE_INSTALLED) services lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

bench: $(INSTALLED) $(NODE_INSTALLED)
	$(BIN)/fieldhall bench sync
	$(BIN)/fieldhall bench replicate
	$(BIN)/fieldhall bench field
	$(BIN)/fieldhall bench hall
	$(BIN)/python bench/photos_bench.py

soak: $(INSTALLED) $(NODE_INSTALLED) services
	FIELDHALL_SOAK=1 $(BIN)/python -m pytest -q tests/reliability tests/integration/replicator

clean:
	rm -rf $(VENV) node_modules fieldhall-data
