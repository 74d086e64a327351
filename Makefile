# Two entry points: `make demo` (the instructor's whole cycle on a sample class) and
# `make test` (the whole test suite). Both create .venv from pyproject.toml first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lab site selfcheck release bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m autograder demo

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/python -m autograder lab $(ARGS)

site: $(STAMP)
	$(BIN)/python -m autograder site

selfcheck: $(STAMP)
	$(BIN)/python -m autograder selfcheck

release: $(STAMP)
	$(BIN)/python -m autograder release

bench: $(STAMP)
	$(BIN)/python benchmarks/conv_bench.py
	$(BIN)/python benchmarks/lstm_bench.py

clean:
	rm -rf demo submitted autograded feedback solution_preview gradebook.db grades.csv
