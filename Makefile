# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make site`, `make test`.
# Prerequisites (README): python3 >= 3.11, git, make. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What the build loads: a CJK font with bold; DejaVu Math TeX Gyre (letters such as 𝒩, 𝔼 in the
# handout's formula text); fontconfig (fc-list) to find them; Pango (with
# GLib, HarfBuzz, fontconfig's library) for WeasyPrint; HarfBuzz's fast font subsetter.
SITE_PACKAGES := fonts-noto-cjk fonts-dejavu-extra fontconfig libpangoft2-1.0-0 libharfbuzz-subset0
# The tests also read and check PDFs (poppler, qpdf) and drive Chromium through Playwright, whose Node.js driver needs libatomic.
TEST_PACKAGES := $(SITE_PACKAGES) poppler-utils qpdf chromium libatomic1
# The benchmark also runs Lighthouse (npm, pinned, into .cache/lighthouse: never for site or test) in Chromium.
BENCH_PACKAGES := $(SITE_PACKAGES) chromium
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE_DIR := .cache/lighthouse
LIGHTHOUSE := $(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse

.PHONY: site test test-quick bench clean

site: $(STAMP)
	@.ci/install-system-packages $(SITE_PACKAGES)
	$(PY) build.py

test: $(STAMP)
	@.ci/install-system-packages $(TEST_PACKAGES)
	$(PY) -m pytest

test-quick: $(STAMP)
	$(PY) -m pytest -m "not slow"

bench: $(STAMP)
	@.ci/install-system-packages $(BENCH_PACKAGES)
	@# Debian's npm, unless an npm is there already (NodeSource's nodejs carries its own and conflicts with it)
	@command -v npm >/dev/null || .ci/install-system-packages nodejs npm
	$(PY) -m pip install --quiet ".[test,bench]"
	@[ "$$($(LIGHTHOUSE) --version 2>/dev/null)" = "$(LIGHTHOUSE_VERSION)" ] || \
		npm install --prefix $(LIGHTHOUSE_DIR) --no-save --no-audit --no-fund --loglevel=error lighthouse@$(LIGHTHOUSE_VERSION)
	$(PY) bench/run.py $(BENCH_ARGS)

# The stamp is written only after a complete install: without it, a .venv left by a failed
# attempt is removed and made again rather than trusted.
$(STAMP): pyproject.toml
	@[ -f $@ ] || rm -rf $(VENV)
	@# Debian's python3 has no ensurepip, and so makes no venv, without the python3-venv package.
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || .ci/install-system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[test]"
	@touch $@

clean:
	rm -rf .cache site .pytest_cache
