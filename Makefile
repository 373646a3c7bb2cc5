# The README's two commands are `make run` and `make test`; everything else supports them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# mypy with django-stubs loads the settings, which refuse to start without a SECRET_KEY (make test sets its own).
MYPY := SECRET_KEY="$${SECRET_KEY:-type-check-only-secret-key-not-for-production}" $(BIN)/mypy .

# Tests always run on the real PostgreSQL and Redis of this machine (see scripts/services.sh).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tidbok
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test faults bench install install-dev lint format services migrate demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# axe-core, injected into pages by the accessibility checks of the browser tests.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: set everything up and start the portal, a Celery worker and beat (Ctrl-C stops all).
## A process that dies is reported and started again (scripts/keep-running.sh); TIDBOK_PORT=8001 moves the web server.
run: export DEBUG ?= 1
run: export TIDBOK_DEV_LOGIN ?= 1
run: export TIDBOK_PORT ?= 8000
# The Procfile starts the processes from this virtualenv.
run: export VENV := $(VENV)
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages --ignore=.venv -v0 || true
	$(PY) manage.py seed_demo
	@echo "Tidbok: http://127.0.0.1:$${TIDBOK_PORT}  (database: $${DATABASE_URL:-SQLite in var/}, broker: $${REDIS_URL:-files in var/})"
	$(BIN)/honcho -f Procfile.dev start

## make test: install dev dependencies, lint, and run every test on PostgreSQL and Redis.
test: export DATABASE_URL = $(TEST_DATABASE_URL)
test: export REDIS_URL = $(TEST_REDIS_URL)
test: export SECRET_KEY = test-only-secret-key-not-for-production
# A queue of its own per run, so the real-worker test never shares messages with another run.
test: export CELERY_QUEUE := tidbok-test-$(shell date +%s%N)
test: export DEBUG = 0
# The test client and browser speak plain HTTP to 127.0.0.1; everything else is production-like.
test: export SECURE_SSL_REDIRECT = 0
test: $(VENV)/.installed-dev node_modules/.installed
	bash scripts/services.sh
	bash scripts/browser.sh
	bash scripts/bench-tools.sh
	$(PY) manage.py collectstatic --noinput -v0
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

## make faults: only the fault suite (tests/faults: Redis and PostgreSQL outages, killed workers, fresh clones).
faults:
	$(MAKE) test PYTEST_ARGS="$(or $(PYTEST_ARGS),tests/faults)"

## make bench: Tidbok under a booking rush in a database of its own (tidbok_bench); see bench/.
## `make bench ARGS=--quick` is the small version CI runs; `ARGS="--scale 2"` a bigger region.
bench: $(VENV)/.installed
	bash scripts/services.sh
	bash scripts/bench-tools.sh
	$(PY) -m bench $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
