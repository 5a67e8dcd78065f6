# osmo: `make demo` runs the main job on the embedded default (SQLite); `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= demo.db

.PHONY: demo test lint browser bench-smoke bench-ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE set, every command would compile osmo again.
$(BIN)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src
	touch $@

$(BIN)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m compileall -q src
	touch $@ $(BIN)/.installed-run

demo: $(BIN)/.installed-run
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/osmo --db $(DEMO_DB) init --players 1000
	$(BIN)/osmo --db $(DEMO_DB) play -n 20000 --seed 42
	$(BIN)/osmo --db $(DEMO_DB) awards
	$(BIN)/osmo --db $(DEMO_DB) profile uther

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# The browser tests drive Debian's chromium (a test tool cannot download its own browser here).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: lint browser
	$(BIN)/python -m pytest

bench-smoke: $(BIN)/.installed-dev
	$(BIN)/python benchmarks/ingest.py --games 2000
	$(BIN)/python benchmarks/backfill.py --games 2000
	$(BIN)/python benchmarks/postgres.py --games 2000
	$(BIN)/python benchmarks/void.py --games 2000
	$(BIN)/python benchmarks/http.py --smoke
	$(BIN)/python benchmarks/nats.py --reports 200

# The batch ingest targets, in one run: SQLite (20,000 reports against the raw append and eventsourcing, one
# game per transaction, peak memory of 100,000 and 1,000,000 reports and their re-recording), then PostgreSQL.
# The report files are generated once in BENCH_DIR (the 1,000,000 take about 1.7 GB).
BENCH_DIR ?= /tmp/osmo-bench
bench-ingest: $(BIN)/.installed-dev
	mkdir -p $(BENCH_DIR)
	$(BIN)/python benchmarks/ingest.py --games 20000 --reports $(BENCH_DIR)/r20k.jsonl --repeat 3 \
		--methods raw eventsourcing osmo osmo-latency
	$(BIN)/python benchmarks/ingest.py --games 100000 --reports $(BENCH_DIR)/r100k.jsonl --methods memory \
		--big-reports $(BENCH_DIR)/r1m.jsonl
	$(BIN)/python benchmarks/postgres.py --games 20000 --repeat 3

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
