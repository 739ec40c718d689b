# Set-up is idempotent: each target installs what it needs, then runs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

# pytest-xdist workers: one per core by default (`make test PYTEST_WORKERS=4`).
PYTEST_WORKERS ?= auto
# Each test module on one worker; the modules of the longest tiers first (tests/conftest.py).
XDIST   = -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
# The unit tier: no child Python, kernel, wheel, browser or S3 server (the markers in pyproject.toml).
FAST    = not (slow or kernel or wheel or browser or jupyterlab or s3)
# More pytest options for both targets, e.g. `make test-fast PYTEST_ARGS="-x --durations=20"`.
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint bench clean

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

# JupyterLab's own defaults for the demo come from notebooks/.lab-settings/overrides.json
# (news feed and update check answered "no", so no question covers the dashboard); the
# user's own settings still apply over them, and nothing is written to ~/.jupyter.
demo: setup
	$(BIN)/python scripts/seed_demo.py notebooks/canvasback-store
	$(BIN)/jupyter lab notebooks/demo.ipynb --LabApp.app_settings_dir=$(CURDIR)/notebooks/.lab-settings \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Lint first (it is part of the test command, so CI enforces it); then the JS units;
# then every pytest tier across the xdist workers, where the notebooks run under nbval
# against a temporary store seeded like the demo's (each notebook keeps to an experiment
# of its own) and a temporary Jupyter data folder (the notebooks that canvasback runs are
# signed there, not in the user's own); last, alone, the tests marked serial. The 25
# slowest tests are listed, so that a tier that grows shows where.
test: lint
	bash scripts/install-chromium.sh
	npm test
	store=$$(mktemp -d) && $(BIN)/python scripts/seed_demo.py $$store/store >/dev/null && \
	  export CANVASBACK_STORE=$$store/store JUPYTER_DATA_DIR=$$store/jupyter && \
	  { $(BIN)/python -m pytest $(XDIST) -m "not serial" --durations=25 $(PYTEST_ARGS) tests notebooks --nbval-lax; rc=$$?; \
	    $(BIN)/python -m pytest -p no:nbval -m serial $(PYTEST_ARGS) tests; serial=$$?; }; \
	  rm -rf $$store; [ $$serial = 0 ] || [ $$serial = 5 ] || rc=$$serial; exit $$rc

# The unit tier, in parallel: a couple of minutes. `make lint` checks style and layers.
test-fast: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p no:nbval -m "$(FAST)" $(PYTEST_ARGS) tests

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
	$(BIN)/python benchmarks/bench_sweeps.py
	$(BIN)/python benchmarks/bench_search.py

clean:
	rm -rf $(VENV) node_modules src/canvasback/static build dist
