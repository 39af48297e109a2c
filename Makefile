# driftwarden: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python >= 3.11 on PATH (override: make test PYTHON=/path/to/python3.12).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install system-deps demo test test-unit lint services-start services-stop clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: error: no Python >= 3.11 on PATH (set PYTHON=...)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install driftwarden with its dev tools

system-deps:  ## install PostgreSQL, a JDK, Maven and Chromium from Debian's packages if missing
	scripts/install-system-deps

demo: install  ## run the demo scenario through the watcher on embedded defaults, then serve the dashboard
	$(if $(KAFKA),scripts/install-system-deps && scripts/with-services ,)$(BIN)/driftwarden demo $(if $(KAFKA),--kafka,) $(DEMO_ARGS)

test: install system-deps  ## install everything, start real Kafka + PostgreSQL, run the whole suite, stop both
	scripts/with-services $(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: install  ## the tests that need no services
	$(BIN)/python -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

lint: install  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

services-start:  ## start the local Kafka broker and PostgreSQL; prints the exports to eval
	@scripts/postgres-local start
	@scripts/kafka-local start

services-stop:  ## stop them
	-scripts/kafka-local stop
	-scripts/postgres-local stop

clean:  ## remove the venv and local service state
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
