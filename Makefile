# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make site`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SITE_PACKAGES := fonts-noto-cjk libharfbuzz-subset0
TEST_PACKAGES := $(SITE_PACKAGES) poppler-utils chromium

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
	@.ci/install-system-packages $(SITE_PACKAGES)
	$(PY) -m pip install --quiet ".[test,bench]"
	$(PY) bench/run.py $(BENCH_ARGS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[test]"
	@touch $@

clean:
	rm -rf .cache site .pytest_cache
