# Two entry points: `make run` codes the bundled seeds, `make test` runs the test suite.
# `make run` installs only what running needs; the test tools come with `make test` (two stamps).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench fuzz browser-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The test extra includes everything running needs, so it stamps both.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(RUN_STAMP) $@

run: $(RUN_STAMP)
	$(BIN)/coder run seeds --codebook codebook.yaml --out outputs

test: $(TEST_STAMP) browser-deps
	$(BIN)/python -m pytest

# Two benchmarks use the test tools (reportlab draws the PDFs, pytest drives the browser probe).
bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run_all.py

# The recode cache's property test with many more random codebook edits than the suite runs
# (FUZZ_EXAMPLES=... to change). Without make:
#   CODER_FUZZ_EXAMPLES=2000 python -m pytest -q -p no:cacheprovider tests/test_cache.py -k property
FUZZ_EXAMPLES ?= 2000
fuzz: $(TEST_STAMP)
	CODER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_cache.py -k property

# Headless Chromium for the browser tests, from Debian's packages (needs root, as in CI).
browser-deps:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	    else echo "chromium/chromedriver missing and not root: browser tests will be skipped"; fi; }

clean:
	rm -rf $(VENV) outputs/*.csv outputs/*.json outputs/*.html
