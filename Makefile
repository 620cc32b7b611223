# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= .demo/iom-audit-demo.db
# Reinstall when the project's metadata changes. `make run` installs what running needs
# (a first run in well under a minute); `make test` adds the test and development extras.
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test bench lint demo clean help

help:
	@echo "make run    - install (first time), build the demo database, open the app"
	@echo "make test   - install with test extras, run the whole test suite"
	@echo "make bench  - measure every speed target, write BENCHMARKS.md"
	@echo "              (BACKEND=postgresql: on the PostgreSQL server, BENCHMARKS-postgresql.md)"
	@echo "make lint   - ruff and mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUN_STAMP)

$(DEMO_DB): | $(RUN_STAMP)
	@mkdir -p $(dir $(DEMO_DB))
	$(BIN)/iom-audit --db $(DEMO_DB) demo

demo: $(DEMO_DB)

run: $(RUN_STAMP) $(DEMO_DB)
	$(BIN)/iom-audit --db $(DEMO_DB)

# PYTHONDONTWRITEBYTECODE= : compile the project's modules (and pytest's rewritten tests)
# once and reuse them (__pycache__ is ignored by git); otherwise every worker and every
# app or CLI process a test starts compiles them all again, seconds each.
# -n 3 on two cores: about a third of the suite's time is waiting (the pilot waits for
# the app to go idle after each key, the app-kill and crash tests pace keys and kills,
# subprocesses and PostgreSQL answer), which a third worker fills with work (measured
# 145-170 s against 175-180 s with -n 2, when the suite was a third of its size; 1,565
# tests took 429 s in `make bench`). Work units and their order: tests/conftest.py.
TEST_WORKERS ?= 3
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# BACKEND=postgresql: the same figures against the PostgreSQL server (scratch databases,
# dropped afterwards), written to BENCHMARKS-postgresql.md; BENCH_ARGS=--million for the
# 1,000,000-case run (many minutes). See benchmarks/run.py.
BACKEND ?= sqlite
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --backend $(BACKEND) $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy audit stats question_sets tui cli

clean:
	rm -rf $(VENV) .demo .pytest_cache
