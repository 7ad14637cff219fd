# salesintel: `make run` sets up and runs the app with demo data; `make test` sets up and runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup migrate run test lint format browser-deps stop bench bench-smoke lock clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

migrate: setup
	$(PY) manage.py migrate --noinput

DEMO_TENANTS := demo northwind
# Where `make run` serves; links in the demo's printout and emails use the same address.
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
export SITE_URL ?= http://$(HOST):$(PORT)

run: migrate
	$(PY) manage.py seed_demo --password "$${DEMO_PASSWORD:-demo-password-123}"
	@# Replay half a year of scores (for the score audit), then train, score, check and
	@# aggregate now, so every screen has something true to show.
	@for t in $(DEMO_TENANTS); do \
	  $(PY) manage.py replay_scores --tenant $$t && \
	  $(PY) manage.py train_models --tenant $$t && \
	  $(PY) manage.py score_deals --tenant $$t && \
	  $(PY) manage.py run_checks --tenant $$t && \
	  $(PY) manage.py run_checks --tenant $$t --monthly || exit 1; \
	done
	bash scripts/run.sh

browser-deps:
	bash scripts/ensure-chromium.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup browser-deps lint
	$(VENV)/bin/pytest

# The full benchmark run (dedicated bench databases; rewrites docs/benchmarks.md; ~10-25 min).
bench: setup
	$(PY) bench/run.py

# The same harness at 10,000 deals, 3 tenants and 5 s of HTTP; writes nothing under docs/.
bench-smoke: setup
	$(PY) bench/run.py --smoke --no-write

stop:
	-pkill -f "celery -A salesintel" || true
	$(PY) -m salesintel.devdb stop

lock:
	$(VENV)/bin/pip freeze --exclude-editable > requirements.txt

clean: stop
	rm -rf .local staticfiles
