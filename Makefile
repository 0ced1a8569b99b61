# securebase: `make demo` runs the main job, `make test` the whole suite. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: demo test serve bench lint sysdeps venv clean help

help:
	@echo "make demo   - run a whole simulated NG26 care trial and write demo-output/report.html and .pdf"
	@echo "make test   - install what is needed and run the whole test suite"
	@echo "make serve  - start the web app on http://127.0.0.1:8000 over the demo trial"
	@echo "make bench  - run the benchmarks (ratios against statsmodels / R / plain loops)"
	@echo "make lint   - ruff on everything, mypy on the domain, store and analysis packages"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages: Chromium (browser tests, PDF), poppler-utils (pdftoppm). Installed when root can.
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages:$$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install:$$missing (browser tests and PDF output need them)"; fi; \
	fi

demo: venv sysdeps
	$(VENV)/bin/securebase demo

test: venv sysdeps
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -p no:cacheprovider $(PYTEST_ARGS)

serve: venv
	$(VENV)/bin/securebase serve

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b --quick || exit 1; done

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/securebase/protocol src/securebase/store src/securebase/instruments src/securebase/randomisation src/securebase/web src/securebase/analysis

clean:
	rm -rf demo-output .securebase-cache .pytest_cache
