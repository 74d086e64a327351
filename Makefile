# Two entry points: `make demo` (the instructor's whole cycle on a sample class) and
# `make test` (the whole test suite). Both create .venv from pyproject.toml first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast lab hub hub-deps site selfcheck release bench bench-grading clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m autograder demo

test: $(STAMP)
	$(BIN)/python -m pytest

# the unit tier only (pure functions, under a minute): see docs/testing.md for the other tiers
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit

lab: $(STAMP)
	$(BIN)/python -m autograder lab $(ARGS)

# JupyterHub for the course on one server, as root (see docs/instructors.md, "Many students on one server")
CHP := $(VENV)/node_modules/.bin/configurable-http-proxy
$(CHP):
	npm install --prefix $(VENV) --no-audit --no-fund --loglevel=error configurable-http-proxy@4

hub-deps: $(STAMP) $(CHP)

hub: hub-deps
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

site: $(STAMP)
	$(BIN)/python -m autograder site

selfcheck: $(STAMP)
	$(BIN)/python -m autograder selfcheck

release: $(STAMP)
	$(BIN)/python -m autograder release

bench: $(STAMP)
	$(BIN)/python benchmarks/conv_bench.py
	$(BIN)/python benchmarks/lstm_bench.py

bench-grading: $(STAMP)
	$(BIN)/python benchmarks/grading_bench.py

clean:
	rm -rf demo submitted autograded feedback solution_preview gradebook.db grades.csv
