# The two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint lint-bpmn bench clean console-assets

run: $(VENV)/.installed console-assets
	$(BIN)/lienthong serve --host 127.0.0.1 --port 8080

# Guardrails first (seconds), then the suite: lint, the layers' import contracts (pyproject.toml
# [tool.importlinter]: a broken one is named in the output), the diagrams, the tests.
test: $(VENV)/.installed node_modules/.installed console-assets
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	bash scripts/lint-bpmn.sh
	$(BIN)/python -m pytest -q

# The guardrails alone.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The console's bpmn-js viewer and htmx, copied from node_modules (never a CDN), and its catalogues.
console-assets: $(VENV)/.installed node_modules/.installed
	$(BIN)/python scripts/console-assets.py

lint-bpmn: node_modules/.installed
	bash scripts/lint-bpmn.sh

# Every benchmark and a table of the targets (BENCH_SCALE=smoke for the tiny sizes); see README "Performance".
bench: $(VENV)/.installed
	BENCH_SCALE=$${BENCH_SCALE:-full} $(BIN)/python -m bench.run_all

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
