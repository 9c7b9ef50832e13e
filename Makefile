# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-postgres lint audit bench bench-import bench-geo bench-outbox bench-export bench-search clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# The service on its embedded defaults: SQLite under instance/, console SMS, scheduler inside.
run: $(STAMP)
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@token=$$($(FLASK) users token coordinator@demo.local --label "make run" | tail -n 1); \
	echo ""; \
	echo "  Dashboard:          http://$(HOST):$(PORT)/"; \
	echo "  API:                http://$(HOST):$(PORT)/api/v1/openapi.json"; \
	echo "  Coordinator token:  $$token"; \
	echo "  Sign in (national): coordinator@demo.local / demo-coordinator"; \
	echo "  Sign in (Almaty):   almaty@demo.local / demo-almaty-office  (Almaty's volunteers and incidents only)"; \
	echo "  Try:  curl -H 'Authorization: Bearer $$token' http://$(HOST):$(PORT)/api/v1/volunteers?per_page=3"; \
	echo ""
	SCHEDULER_EMBEDDED=$${SCHEDULER_EMBEDDED:-true} $(FLASK) run --host $(HOST) --port $(PORT) --no-reload

# Lint first: layering, types, lint rules and formatting (see `lint` below). The drills marked
# `slow` (production mode, provider outages, the scheduler killed, the API fuzzer: about 5 minutes)
# run in the PostgreSQL pass, which CI runs after this one; `make test PYTEST_ARGS="-m ''"` runs
# them here too.
test: lint
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# The whole suite against PostgreSQL: TEST_DATABASE_URL must name a database you can drop.
test-postgres: $(STAMP)
	test -n "$(TEST_DATABASE_URL)" || (echo "set TEST_DATABASE_URL=postgresql+psycopg://..." && exit 2)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

# Layering (import-linter), strict types on geo/ and notifications/ (mypy), lint rules and
# formatting (ruff); every setting is in pyproject.toml. `$(BIN)/ruff format .` and
# `$(BIN)/ruff check --fix .` fix most of what the last two find.
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known vulnerabilities in the pinned requirements. --strict fails when a package could not be
# checked, so an unreachable vulnerability service is an error, never a silent pass.
AUDIT_SERVICE ?= pypi
audit: $(STAMP)
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r requirements.txt --vulnerability-service $(AUDIT_SERVICE)

bench: bench-import bench-geo bench-outbox bench-export bench-search

bench-import: $(STAMP)
	$(BIN)/python -m bench.import_bench $(BENCH_ARGS)

# Candidate queries at national scale (SQLite, or BENCH_DATABASE_URL; BENCH_ARGS="--rows N" applies to
# both benches, BENCH_GEO_ARGS="--queries N --naive N" to this one); see bench/geo_bench.py.
bench-geo: $(STAMP)
	$(BIN)/python -m bench.geo_bench $(BENCH_ARGS) $(BENCH_GEO_ARGS)

# Outbox throughput and the sender's CPU per message, per channel (Twilio, SMSGate, Telegram) against
# loopback fakes at 10, 50 and 200/s (bench/outbox_bench.py; BENCH_OUTBOX_ARGS="--channels twilio").
bench-outbox: $(STAMP)
	$(BIN)/python -m bench.outbox_bench $(BENCH_OUTBOX_ARGS)

# The register's CSV and XLSX exports streamed over loopback HTTP: rows/s and peak RSS (SQLite, or
# BENCH_DATABASE_URL; BENCH_EXPORT_ARGS="--rows 2000000" for a national year); see bench/export_bench.py.
bench-export: $(STAMP)
	$(BIN)/python -m bench.export_bench $(BENCH_EXPORT_ARGS)

# The console's volunteer search at 200,000 volunteers: p50/p99 per kind of query (SQLite, or
# BENCH_DATABASE_URL; BENCH_SEARCH_ARGS="--rows N --queries N"); see bench/search_bench.py.
bench-search: $(STAMP)
	$(BIN)/python -m bench.search_bench $(BENCH_SEARCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

# Mass-event load test on PostgreSQL (bench/load_test.py): 200,000 volunteers, 50 incidents in a
# minute, gunicorn -w 4 and a scheduler, SMS to a loopback fake Twilio; bounded, stops by itself,
# exits non-zero when a check fails. LOAD_DATABASE_URL names the database it creates and drops.
.PHONY: load
load: $(STAMP)
	$(BIN)/python -m bench.load_test $(LOAD_ARGS)
