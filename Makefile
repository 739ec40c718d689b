# Set-up is idempotent: each target installs what it needs, then runs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

src/canvasback/static/.built: node_modules/.package-lock.json $(wildcard js/*.ts js/lib/*.ts js/styles/*.css)
	npm run build
	touch $@

$(STAMP): $(BIN)/python pyproject.toml src/canvasback/static/.built
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/python scripts/seed_demo.py notebooks/canvasback-store
	$(BIN)/jupyter lab notebooks/demo.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Lint first (it is part of the test command, so CI enforces it); then the JS units;
# then one pytest run, where the notebooks run under nbval against a temporary store
# seeded like the demo's (and a temporary Jupyter data folder: the notebooks that
# canvasback runs are signed there, not in the user's own).
test: lint
	bash scripts/install-chromium.sh
	npm test
	store=$$(mktemp -d) && $(BIN)/python scripts/seed_demo.py $$store/store >/dev/null && \
	  CANVASBACK_STORE=$$store/store JUPYTER_DATA_DIR=$$store/jupyter \
	  $(BIN)/python -m pytest tests notebooks --nbval-lax; \
	  rc=$$?; rm -rf $$store; exit $$rc

# ruff, mypy strict, tsc and the import-linter contracts of pyproject.toml (the layers).
lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	npm run typecheck
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_saved_size.py

clean:
	rm -rf $(VENV) node_modules src/canvasback/static build dist
