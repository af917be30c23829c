# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DURATION ?= 60s
PYTEST_ARGS ?=
# Two pytest workers: one runs the Spark and SIGKILL tests in turn, the other everything else.
PYTEST_WORKERS ?= 2

.PHONY: install emulators demo test bench clean check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "clickstream needs Python 3.11 or newer as '$(PYTHON)': install it, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 2; }

# `make test` needs every extra; `make demo` only the dashboard and data quality ones, so a first demo
# does not wait for Spark and the Google clients. The full install is a superset: it serves the demo too.
DEMO_STAMP := $(VENV)/.demo-stamp
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(BIN)/python: | check-python
	@echo "creating the virtualenv $(VENV) (first time only, a few seconds)"
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing clickstream and all its extras for the tests into $(VENV) (first time only, about 2-3 min)"
	@$(PIP_INSTALL) -e '.[test]'
	@touch $(STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then :; else \
	  echo "installing clickstream and its demo extras (dashboard, quality) into $(VENV) (first time only, about 60 s)"; \
	  $(PIP_INSTALL) -e '.[dashboard,quality]'; fi
	@touch $(DEMO_STAMP)

# checkov (tests/infra) gets its own virtualenv: its pins clash with the project's (see the file).
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

$(CHECKOV_STAMP): infra/ci/requirements-checkov.txt | check-python
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/ci/requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

# The BigQuery and GCS emulators (tests/emulators) get their own virtualenv too: bqemulator brings an
# unpinned duckdb and sqlglot<30.12, which must not meet the project's duckdb==2.0.1 (see the file).
EMULATORS_VENV := $(VENV)/emulators
EMULATORS_STAMP := $(EMULATORS_VENV)/.installed-stamp

$(EMULATORS_STAMP): infra/ci/requirements-emulators.txt | check-python
	@test -x $(EMULATORS_VENV)/bin/python || $(PYTHON) -m venv $(EMULATORS_VENV)
	$(EMULATORS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/ci/requirements-emulators.txt
	@touch $(EMULATORS_STAMP)

emulators: $(EMULATORS_STAMP)

# Snowplow's and Segment's browser trackers for the collector's browser tests (tests/ingest/collect/test_browser.py),
# installed here from the lock file so the test never reaches the network; the test skips without npm.
JS_DIR := tests/ingest/collect/js
JS_STAMP := $(JS_DIR)/node_modules/.installed-stamp

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  echo "installing Snowplow's and Segment's browser trackers from npm for the collector's browser tests (a few seconds)"; \
	  npm ci --prefix $(JS_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(JS_STAMP); \
	else echo "note: no 'npm' on PATH: the collector's browser test will be skipped; install Node.js and npm ('apt-get install -y npm')"; fi

install: $(STAMP)

demo: $(DEMO_STAMP)
	@echo "running the demo for $(DEMO_DURATION): live traffic, the pipeline, the dashboard URL and live KPIs (Ctrl-C stops early)"
	$(BIN)/clickstream demo --duration $(DEMO_DURATION)

test: $(STAMP) $(CHECKOV_STAMP) $(EMULATORS_STAMP) $(JS_STAMP)
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian chromium for the dashboard browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: /usr/bin/chromium is missing and this is not root: the dashboard browser test will be skipped; run 'sudo apt-get install -y chromium'"; fi; }
	@command -v java >/dev/null 2>&1 || echo "note: no 'java' on PATH: the Spark engine tests (tests/engine, marked spark) will be skipped; install Java 17 with 'apt-get install -y openjdk-17-jre-headless' (or set JAVA_HOME)"
	@if command -v terraform >/dev/null 2>&1; then terraform fmt -check -recursive infra/terraform || { echo "infra/terraform is not formatted: run 'terraform fmt -recursive infra/terraform'"; exit 1; }; \
	else echo "note: no 'terraform' on PATH; skipping 'terraform fmt -check' of infra/terraform (install Terraform >= 1.9)"; fi
	@echo "checking the import direction between layers (lint-imports, contracts in pyproject.toml; a few seconds)"
	$(BIN)/lint-imports --no-cache
	@echo "running the tests on $(PYTEST_WORKERS) pytest workers (PYTEST_WORKERS=1 runs them in one process; PYTEST_ARGS passes options)"
	$(BIN)/python -m pytest $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/freshness.py
	@if command -v java >/dev/null 2>&1; then $(BIN)/python bench/spark.py; \
	else echo "note: no 'java' on PATH; skipping bench/spark.py (install openjdk-17-jre-headless)"; fi
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/collect.py

clean:
	rm -rf $(VENV) data .pytest_cache build *.egg-info src/*.egg-info
