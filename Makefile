# Two commands on a fresh machine: `make serve` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The dashboard (dashboard/, Vite + TypeScript) builds into the package, where `budsim serve` serves it at `/`.
# npm ci runs when the lock file changes; the build when a source, an operation or the lock file does.
DASHBOARD_MODULES := dashboard/node_modules/.package-lock.json
DASHBOARD_BUILD := budsim/web/static/index.html
DASHBOARD_SOURCES := $(shell find dashboard/src -type f 2>/dev/null) $(wildcard budsim/web/operations/*.graphql) \
	dashboard/index.html dashboard/graphiql.html dashboard/vite.config.ts dashboard/tsconfig.json
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get

.PHONY: install migrate serve test lint typecheck format schema bench clean dashboard browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(DASHBOARD_MODULES): dashboard/package.json dashboard/package-lock.json
	@command -v npm >/dev/null || { echo "The dashboard needs Node.js 20 and npm (https://nodejs.org or apt-get install nodejs npm)."; exit 1; }
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

$(DASHBOARD_BUILD): $(DASHBOARD_MODULES) $(DASHBOARD_SOURCES)
	cd dashboard && npm run build
	touch $@

dashboard: $(DASHBOARD_BUILD)

# Debian's Chromium for tests/e2e (a test tool's own browser download does not work on a closed network). Under
# CI=true a browser that cannot be installed fails the run here; elsewhere the browser tests skip and say why.
browser:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium and chromium-driver for the browser tests (tests/e2e)"; \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) update -qq \
			&& DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium chromium-driver || true; \
	fi
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$CI" = "true" ]; then \
			echo "CI=true and there is no Chromium at $(CHROMIUM): install Debian's chromium and chromium-driver" \
				"packages (apt-get install chromium chromium-driver, as root) or set CHROMIUM to a Chromium binary."; \
			exit 1; \
		fi; \
		echo "WARNING: no Chromium at $(CHROMIUM): the browser tests (tests/e2e) will skip." \
			"Install it with: apt-get install chromium chromium-driver"; \
	fi

migrate: install
	$(BIN)/budsim migrate

serve: migrate
	@$(MAKE) --no-print-directory dashboard || echo "WARNING: the dashboard was not built; serving the API without it"
	$(BIN)/budsim serve

test: install dashboard browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd dashboard && npm run lint  # prettier and tsc --noEmit (strict)
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest --numprocesses=2 --cov  # two workers: the slow tests mostly wait on processes

lint: install
	$(BIN)/ruff check .

typecheck: install dashboard
	$(BIN)/mypy
	cd dashboard && npm run lint  # prettier and tsc --noEmit (strict)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/budsim export-schema --output schema.graphql

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) budsim.db budsim.db-* .pytest_cache .ruff_cache budsim/web/static dashboard/node_modules build/screenshots
