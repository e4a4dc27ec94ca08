# The README's commands. Each target creates .venv (and installs sna into it) when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sna-installed

.PHONY: demo test bench docs install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sna needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,docs]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

## demo: set up, then run the yearly batch (every chapter, report.html) on the bundled synthetic demo
demo: $(STAMP)
	$(BIN)/sna run

## test: set up, then run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## docs: build the documentation site into docs/_build/html (fails on warnings)
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

## bench: the benchmarks (generates ~1.3 GB of synthetic data.police.uk files on first run,
## git-ignored), side by side; writes benchmarks/results.json and prints a table
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs/* .sna-cache
