# The two commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint install

$(BIN)/gpv: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/gpv

install: $(BIN)/gpv

run: $(BIN)/gpv
	$(BIN)/gpv run --demo

test: $(BIN)/gpv
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 $(PYTEST_ARGS)

lint: $(BIN)/gpv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
