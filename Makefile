# nianbao: set-up, tests, demo and benchmarks. Every target installs what it needs first,
# and only what is missing (a second run does nothing but the work itself).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
APT_PACKAGES := chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system venv test demo bench clean help

help:
	@echo "make demo   install what is missing, crawl the bundled demo portals, parse, serve Datasette"
	@echo "make test   install what is missing, run the whole test suite"
	@echo "make bench  run the benchmarks in bench/ (quick mode)"

setup: system venv

# System packages from Debian: the browser Playwright drives, LibreOffice for .doc/.wps, CJK fonts.
system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

# Reinstalled only when pyproject.toml changes. pip is upgraded first: the bundled pip 23
# skips lxml's html_clean extra and trafilatura then fails to import.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# pywb (replays the WACZ export in a test) in a venv of its own: it installs a top-level
# `tests` package that would hide ours.
PYWB_VENV := .venv-pywb
$(PYWB_VENV)/.installed:
	test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install -q --upgrade pip
	$(PYWB_VENV)/bin/python -m pip install -q 'pywb==2.10.0'
	touch $@

test: setup $(PYWB_VENV)/.installed
	NIANBAO_PYWB=$(CURDIR)/$(PYWB_VENV)/bin $(BIN)/python -m pytest -ra

demo: setup
	$(BIN)/nianbao demo

bench: setup
	$(BIN)/python bench/parse.py --quick && $(BIN)/python bench/archive.py --quick && $(BIN)/python bench/crawl.py --quick && $(BIN)/python bench/serve.py --quick

clean:
	rm -rf $(VENV) $(PYWB_VENV) data .pytest_cache
