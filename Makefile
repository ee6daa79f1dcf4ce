# Developer entry points. Scripts live in scripts/; see each for details.
#
#   make run                      local server + worker + Redis on http://127.0.0.1:$(PORT)/
#   make test PYTEST_ARGS='-x -k import'
#   make lint
#   make bench-import BENCH_ARGS='...'

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Passed to the scripts through the environment (no quoting trouble).
export PORT HOST PYTEST_ARGS BENCH_ARGS

LINT_PATHS := labelhub tests bench

.PHONY: help venv run test lint bench-import bench-generation bench-labeling bench-load bench-hot-path bench-export bench-scale bench-diff clean distclean

help:
	@echo "make run            local server (DEBUG, SQLite, embedded Redis + Celery worker) on $(HOST):$(PORT); HOST=0.0.0.0 to expose it"
	@echo "make test           pytest against a throwaway PostgreSQL + Redis; PYTEST_ARGS='...'"
	@echo "make lint           ruff check + ruff format --check on $(LINT_PATHS)"
	@echo "make bench-import   bench/bench_import.py against a throwaway PostgreSQL + Redis; BENCH_ARGS='...'"
	@echo "make bench-generation  labelhub vs direct requests to the embedded model; BENCH_ARGS='--prompts 32'"
	@echo "make bench-labeling    50 simulated labelers (locust) for 2 minutes; BENCH_ARGS='--duration 120'"
	@echo "make bench-load        50 labelers for 10 minutes (production gunicorn) with a snapshot export beside them"
	@echo "make bench-hot-path    claim + submit in-process: ms and SQL statements per request, prepared statements on/off"
	@echo "make bench-export      streaming JSONL export of 1M preference pairs vs PostgreSQL COPY; BENCH_ARGS='--labels 20000'"
	@echo "make bench-scale       pages and claims of a 1M-prompt/3M-label project vs a 10k one; BENCH_ARGS='--prompts 100000 --labels 300000'"
	@echo "make bench-diff        guideline diffs at their worst (200,000 characters): core.diff alone and API/web/gate; BENCH_ARGS='--difflib'"
	@echo "make venv           create .venv from requirements-dev.lock (no-op when up to date); make run installs requirements.lock only"
	@echo "make clean          remove caches, collected static files and .run/"
	@echo "make distclean      clean, plus .venv, db.sqlite3 and media/"

venv:
	@bash scripts/venv.sh

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

lint: venv
	.venv/bin/ruff check $(LINT_PATHS)
	.venv/bin/ruff format --check $(LINT_PATHS)

bench-import: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_import.py $$BENCH_ARGS

bench-generation: venv
	bash scripts/embedded-model.sh >/dev/null
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_generation.py $$BENCH_ARGS

bench-labeling: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_labeling.py $$BENCH_ARGS

bench-load: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_labeling.py --duration 600 --workers 3 --threads 4 --keep-alive 75 --snapshot $$BENCH_ARGS

bench-hot-path: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_hot_path.py $$BENCH_ARGS

bench-export: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_export.py $$BENCH_ARGS

bench-scale: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_scale.py $$BENCH_ARGS

bench-diff: venv
	DEBUG="$${DEBUG:-true}" PYTHONPATH="$(CURDIR)" bash scripts/with-services.sh .venv/bin/python bench/bench_diff.py $$BENCH_ARGS

clean:
	rm -rf .run staticfiles test-results .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf .venv db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm media
