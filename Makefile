# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install into it
# with the pinned versions in .ci/constraints.txt (Airflow's published constraints are not reachable).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := .ci/constraints.txt
PIP := $(BIN)/python -m pip

.PHONY: demo test browser lint typecheck unit sandbox bench bench-import bench-deferred clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

$(VENV)/.installed-sandbox: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[sandbox]"
	touch $@

## demo: the weekly retraining DAG in a real Airflow 3 on the local AWS stand-in, printing each task state
## change; then the UI (127.0.0.1:8080, or a free port) stays up until Ctrl-C. Its Airflow home is .demo/airflow.
## .[sandbox] brings moto; Airflow and the amazon provider are the provider's own dependencies, pinned in
## .ci/constraints.txt. DEMO_ARGS passes options on, e.g. make demo DEMO_ARGS="--runs 3 --port 8090".
demo: $(VENV)/.installed-sandbox
	$(BIN)/python -m airflow_provider_nova.sandbox.demo $(DEMO_ARGS)

## test: lint, type-check and run the whole test suite (the browser test included)
test: $(VENV)/.installed-dev browser lint typecheck unit

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## browser: Debian's chromium and chromium-driver for the browser test, installed when missing
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; }

LINTED := $(wildcard airflow_provider_nova tests benchmarks example_dags docker)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy airflow_provider_nova

unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

## sandbox: run the stand-in in the foreground on port 5055
sandbox: $(VENV)/.installed-sandbox
	$(BIN)/python -m airflow_provider_nova.sandbox --port 5055

## bench: the dataset preparation benchmark (ROWS=1000000 by default)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/dataset_prep.py $(if $(ROWS),--rows $(ROWS),)

## bench-import: what importing the provider's operators adds to a DAG parse, beside the amazon SageMaker operator
bench-import: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/import_cost.py

## bench-deferred: a thousand deferred SageMaker training waits in one triggerer, ours beside the amazon provider's
## SageMakerTrigger (which needs aiobotocore: see benchmarks/constraints-aiobotocore.txt for why it gets its own venv).
## DEFERRED_ARGS passes options on, e.g. make bench-deferred DEFERRED_ARGS="--jobs 100 --job-seconds 60".
BENCH_VENV := benchmarks/.venv-aiobotocore
BENCH_OVERRIDES := benchmarks/constraints-aiobotocore.txt

$(BENCH_VENV)/constraints.txt: $(CONSTRAINTS) $(BENCH_OVERRIDES)
	mkdir -p $(BENCH_VENV)
	names=$$(sed -nE 's/^([A-Za-z0-9_.-]+)==.*/\1/p' $(BENCH_OVERRIDES) | paste -sd'|'); \
		grep -viE "^($$names)==" $(CONSTRAINTS) > $@.tmp
	grep -vE '^[[:space:]]*(#|$$)' $(BENCH_OVERRIDES) >> $@.tmp
	mv $@.tmp $@

$(BENCH_VENV)/.installed: pyproject.toml $(BENCH_VENV)/constraints.txt
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(BENCH_VENV)/bin/python -m pip install --quiet -c $(BENCH_VENV)/constraints.txt -e ".[sandbox]" aiobotocore
	touch $@

bench-deferred: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/deferred_waits.py $(DEFERRED_ARGS)

## constraints: re-pin .ci/constraints.txt from the current .venv (do this on purpose, then commit)
constraints: $(VENV)/.installed-dev
	$(PIP) freeze --exclude-editable | grep -v '^airflow-provider-nova' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache .demo
