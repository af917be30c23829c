# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DURATION ?= 60s
PYTEST_ARGS ?=

.PHONY: install demo test bench clean check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "clickstream needs Python 3.11 or newer as '$(PYTHON)': install it, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 2; }

$(STAMP): pyproject.toml | check-python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/clickstream demo --duration $(DEMO_DURATION)

test: $(STAMP)
	@command -v java >/dev/null 2>&1 || echo "note: no 'java' on PATH; the Spark engine (optional) needs Java 17: apt-get install -y openjdk-17-jre-headless"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/freshness.py

clean:
	rm -rf $(VENV) data .pytest_cache build *.egg-info src/*.egg-info
