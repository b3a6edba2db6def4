# Two commands do all the set-up on a fresh machine:
#   make demo   installs, prepares the offline model, ingests the demo archive, starts the app
#   make test   installs (incl. test tools and Debian's Chromium), lints (ruff) and runs the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= ui,llm,export,eval,test
DEBS := chromium poppler-utils fonts-hosny-amiri fonts-noto-core

.PHONY: setup system-deps demo test test-fast bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

# Headless Chromium (browser tests), pdftoppm and an Arabic font (PDF export). Skipped when present.
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing); their tests will skip"; fi; \
	fi

demo: setup
	$(BIN)/rag demo

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/rag prepare-model
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/ingest_bench.py
