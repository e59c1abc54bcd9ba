# configapp: `make run` starts the app, `make test` runs every test. Both install first.
VENV ?= .venv
# Test processes (pytest-xdist): most tests wait on servers, browsers and subprocesses.
TEST_WORKERS ?= 2
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint lock bench extension vendor reliability mutation mutation-postgresql clean dist

$(VENV)/.runtime: requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --no-deps --require-hashes -r requirements.lock
	$(PIP) check
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(PIP) install --no-deps --require-hashes -r requirements-dev.lock
	$(PIP) check
	touch $@

run: $(VENV)/.runtime  ## the app on http://127.0.0.1:8000 (SQLite and a key in data/)
	$(VENV)/bin/gunicorn wsgi:app

test: $(VENV)/.dev  ## every test, with coverage; a throwaway PostgreSQL unless one is given
	scripts/install-system-deps
	scripts/install-bench-deps --proxy  # the LiteLLM Proxy: the export test starts it
	scripts/with-postgres $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal --cov=configapp --cov-report=term $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

lock:  ## recompile the lock files (exact versions with hashes)
	$(VENV)/bin/uv pip compile requirements.in --generate-hashes --python-version 3.11 -o requirements.lock
	$(VENV)/bin/uv pip compile requirements-dev.in --generate-hashes --python-version 3.11 -o requirements-dev.lock

bench: $(VENV)/.dev  ## benchmarks, as ratios to a baseline measured in the same run
	scripts/install-bench-deps $(if $(findstring --quick,$(BENCH_ARGS)),,--proxy)
	$(PY) -m bench $(BENCH_ARGS)

dist: $(VENV)/.dev  ## the wheel and the sdist in dist/ (no download: the backend is in the dev lock)
	$(PY) -m build --no-isolation --outdir dist .

extension:  ## the browser extension: extension/vendor/ from playground/, and a zip in dist/
	python3 scripts/build_extension.py

vendor:  ## the front-end libraries of vendor.json, fetched with npm and checked by hash
	python3 scripts/vendor.py $(VENDOR_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .coverage htmlcov extension/vendor dist build configapp.egg-info mutants mutants-postgresql

# The long reliability runs, with their figures (docs/reliability.md): ten times the load
# and the kills, five times the fuzzing examples, on SQLite and PostgreSQL (about 15 min
# on 2 cores; a test may take minutes, hence the timeout).
RELIABILITY_COUNTS ?= CONFIGAPP_LOAD_REQUESTS=20000 CONFIGAPP_KILLS=500 \
	CONFIGAPP_IMPORT_KILLS=100 CONFIGAPP_ROTATION_RUNS=100 CONFIGAPP_FUZZ_EXAMPLES=1000
reliability: $(VENV)/.dev  ## load, kills, hostile input and fuzzing, with bigger counts
	scripts/install-system-deps
	$(RELIABILITY_COUNTS) scripts/with-postgres $(PY) -m pytest -p no:cacheprovider \
	  -rP --show-capture=stdout --timeout=3600 \
	  tests/reliability tests/integration/test_rotation_kill.py \
	  tests/integration/test_security.py tests/integration/test_bad_input.py tests/fuzz \
	  $(PYTEST_ARGS)

# Mutation testing of the modules that hold the rules (docs/testing.md): mutmut, configured
# in pyproject.toml ([tool.mutmut]), against the fast unit and SQLite integration tests;
# then mutation-postgresql: the storage and service modules against the PostgreSQL tests.
# Outside CI: hours on 2 shared cores. MUTATION_MODULES narrows both, e.g.
# `make mutation MUTATION_MODULES="configapp.domain*"`; results: `.venv/bin/mutmut results`
# and `.venv/bin/python scripts/mutation_postgresql.py results`.
MUTATION_MODULES ?=
mutation: $(VENV)/.dev  ## mutation testing of the rule-bearing modules (slow; not in CI)
	nice -n 19 $(VENV)/bin/mutmut run $(MUTATION_MODULES)
	$(VENV)/bin/mutmut results
	$(MAKE) mutation-postgresql

# A pass of its own, from mutants-postgresql/ (scripts/mutation_postgresql.py says why);
# MUTATION_POSTGRESQL_TESTS="tests/integration/test_x.py ..." narrows its tests.
mutation-postgresql: $(VENV)/.dev  ## the storage and service modules' mutants on PostgreSQL
	nice -n 19 scripts/with-postgres $(PY) scripts/mutation_postgresql.py run $(MUTATION_MODULES)
	$(PY) scripts/mutation_postgresql.py results
