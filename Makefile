# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
export FLASK_APP := app

.PHONY: run test install translations translations-update db demo chromium axe bench serve worker clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

translations: install
	@if ls app/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel compile -f -d app/translations >/dev/null; fi

# Re-extract strings after changing UI text, then translate the new entries in en/.
translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Msg -k _l -k lazy_gettext -o app/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l en --no-fuzzy-matching

db: install translations
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask sync-roles

demo: db
	$(BIN)/flask seed-demo

run: demo
	@echo "Serving on http://127.0.0.1:$(PORT)  (demo accounts: see README.md)"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT) --with-threads

# Production-style: several gunicorn workers (see README for PostgreSQL + Redis).
# With REDIS_URL set, background jobs (national imports, SMS) go to RQ: run `make worker` beside it.
serve: db
	$(BIN)/gunicorn -w $${WORKERS:-4} -b 127.0.0.1:$(PORT) 'app:create_app()'

# The background-job worker (RQ on REDIS_URL / JOB_REDIS_URL); as many as you like, on any host.
worker: install
	$(BIN)/flask jobs worker

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; \
	fi

# axe-core for the accessibility checks of the browser tests, from the npm registry (never a CDN).
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/browser/axe && npm ci --no-audit --no-fund --silent; \
	else echo "npm missing: the accessibility checks will fail (install Node.js and npm)"; fi
	@test -f $(AXE) && touch $(AXE) || true

axe: $(AXE)

test: install translations chromium axe
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# Load and fault runs (Locust, headless) against `make serve` on PostgreSQL + Redis; see README.
soak: install
	$(BIN)/pip install -q --disable-pip-version-check -r benchmarks/requirements-soak.txt
	$(BIN)/python -m benchmarks.soak

clean:
	rm -rf $(VENV) instance/*.db tests/browser/axe/node_modules
