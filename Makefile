# Two commands on a fresh machine: `make run` and `make test`. See README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
PYTHON ?= python3
# The test suite runs on PostgreSQL and Redis at their usual local addresses.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/hdh_access)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/14)
SMOKE_DIR := var/smoke
# pytest-xdist workers for `make test` (each gets its own test database; 0 runs in this process).
PYTEST_WORKERS ?= 2
# Development and test commands run with DEBUG on; the settings default to off (production fails closed).
export DEBUG ?= true

.PHONY: install bench-install chromium clamav pango pgbouncer gettext messages compilemessages run serve test test-python smoke lint screenshots diagram bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# chart.js (served as a static file) and axe-core (injected by the browser tests), from npm.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages: Chromium for the browser tests (Playwright cannot download browsers here),
# gettext to compile the translation catalogues, clamav-daemon for the antivirus tests and Pango
# for the PDFs.
# Installed when missing (as root).
define apt_need
	@command -v $(1) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
		else echo "$(2) is missing: sudo apt-get install $(2)" >&2; exit 1; fi; }
endef
chromium:
	$(call apt_need,chromium,chromium)
gettext:
	$(call apt_need,msgfmt,gettext)
# clamd for the antivirus tests (tests/access_requests/conftest.py starts its own on a private
# socket with a test signature database; no freshclam, no internet).
clamav:
	$(call apt_need,/usr/sbin/clamd,clamav-daemon)
# PgBouncer for the test of the application behind it in transaction mode (tests/test_pgbouncer.py
# starts its own on a free port, with its own configuration; the package's service is not used).
pgbouncer:
	$(call apt_need,/usr/sbin/pgbouncer,pgbouncer)
# Pango and a fallback font for WeasyPrint (documents/pdf.py: the receipt and dossier PDFs): shared
# libraries, not commands, so they are looked up in the linker's cache; DejaVu Sans and Sans Mono
# cover what the Marianne font (static files) lacks and write the checksums.
pango:
	@{ ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' && fc-list 2>/dev/null | grep -q 'DejaVuSansMono'; } || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
		else echo "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core are missing: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core" >&2; exit 1; fi; }

# Translation catalogues: `make messages` extracts strings; `make compilemessages` compiles them.
messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=node_modules --ignore=var --no-obsolete
compilemessages: install gettext
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# Serve on the embedded SQLite database with in-process tasks and demo data. The links in emails
# (demo data included) start with SITE_URL: the address served here, unless the environment gives one.
SITE_URL ?= http://127.0.0.1:$(PORT)
RUN_ENV = env -u DATABASE_URL -u REDIS_URL SITE_URL='$(SITE_URL)'
run: install pango compilemessages
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo --if-empty
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production configuration on PORT (deploy/serve.sh, docs/operations.md "Serving"): migrate and
# collectstatic, then gunicorn, a Celery worker and Celery beat, DEBUG off; Ctrl-C stops all three.
# The database is DATABASE_URL's (the SQLite file by default), the broker REDIS_URL's (default below).
# SECRET_KEY comes from the environment; when it is not given, a key generated once for this machine
# is read from var/serve-secret-key (mode 600; delete it to get a new one, which signs everyone out).
# Production serves https: to try it over http on this machine, `HDH_INSECURE_HTTP=1 make serve`.
SERVE_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
SERVE_SECRET_KEY_FILE := var/serve-secret-key
serve: install pango compilemessages $(SERVE_SECRET_KEY_FILE)
	DEBUG=false PORT=$(PORT) SITE_URL='$(SITE_URL)' REDIS_URL='$(SERVE_REDIS_URL)' PY=$(PY) \
		SECRET_KEY="$${SECRET_KEY:-$$(cat $(SERVE_SECRET_KEY_FILE))}" deploy/serve.sh
$(SERVE_SECRET_KEY_FILE):
	mkdir -p $(@D)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# The static checks, the whole suite on PostgreSQL and Redis, then a smoke run on SQLite.
test: install chromium clamav pango pgbouncer compilemessages lint test-python smoke

# Browser screenshots go to var/artefacts/screenshots/ (tests/e2e/conftest.py); `make screenshots` updates docs/.
test-python:
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -p no:cacheprovider -n $(PYTEST_WORKERS)

# The embedded default keeps working: migrate, import and report on a fresh SQLite file.
smoke: install
	rm -rf $(SMOKE_DIR) && mkdir -p $(SMOKE_DIR)
	env -u REDIS_URL DATABASE_URL=sqlite:///$(CURDIR)/$(SMOKE_DIR)/smoke.sqlite3 $(PY) manage.py migrate --noinput -v 0
	env -u REDIS_URL DATABASE_URL=sqlite:///$(CURDIR)/$(SMOKE_DIR)/smoke.sqlite3 $(PY) manage.py makemigrations --check --dry-run
	env -u REDIS_URL DATABASE_URL=sqlite:///$(CURDIR)/$(SMOKE_DIR)/smoke.sqlite3 $(PY) manage.py import_history tests/fixtures/history_small.csv
	env -u REDIS_URL DATABASE_URL=sqlite:///$(CURDIR)/$(SMOKE_DIR)/smoke.sqlite3 $(PY) manage.py delay_report --as-of 2025-12-31 --format text
	@echo "smoke: SQLite migrate, import and report OK"

# Style, types and import contracts (pyproject.toml); all three run, and any failure fails the target.
lint: install
	@status=0; \
	echo "--- ruff"; $(VENV)/bin/ruff check . || status=1; \
	echo "--- mypy"; $(VENV)/bin/mypy || status=1; \
	echo "--- lint-imports"; $(VENV)/bin/lint-imports || status=1; \
	exit $$status

# The only command that rewrites docs/screenshots/: the browser tests with their screenshots sent there.
screenshots: install chromium compilemessages
	HDH_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest -p no:cacheprovider tests/e2e \
		"tests/notifications/test_weekly_report.py::test_the_html_renders_in_chromium_and_a_screenshot_is_saved"

# Regenerate docs/state-diagram.md from the code.
diagram: install
	$(PY) manage.py state_diagram --output docs/state-diagram.md

# Benchmark-only tools (pandas, locust): `make bench-install`; `make bench` runs the import benchmark.
bench-install: $(VENV)/.bench-installed
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-bench.txt
	touch $@

bench: bench-install
	$(PY) benchmarks/bench_import.py

clean:
	rm -rf $(VENV) node_modules var db.sqlite3
