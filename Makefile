# Two commands on a fresh machine: `make demo` and `make test`.
# The virtual environment is created on first use (Python 3.11+ needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint chat clean

$(BIN)/carebot: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Carebot needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(BIN)/carebot

demo: $(BIN)/carebot ## set up and play the demo conversations
	$(BIN)/carebot demo

chat: $(BIN)/carebot ## talk to the bot in the terminal
	$(BIN)/carebot chat

test: $(BIN)/carebot ## set up and run the tests (PostgreSQL too when CAREBOT_TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: $(BIN)/carebot ## ruff, mypy and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
