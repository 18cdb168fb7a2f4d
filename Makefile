# Rapport: `make run` sets up and starts everything; `make test` sets up and
# runs every test. Both are idempotent: each step is skipped when up to date.

PY311    ?= python3.11
VENV     := .venv
BOTVENV  := .venv-bot
PYTHON   := $(VENV)/bin/python
BOTPY    := $(BOTVENV)/bin/python

.PHONY: run test test-postgres lint setup model widget system-deps bench soak lint-compose clean

run: setup model
	$(PYTHON) -m dev.devstack

# lint first: it needs only the chat server's venv and fails in seconds.
# Everything on SQLite (and the PostgreSQL/Redis scale-out tests), then the
# live-stack integration suite again with every stack on PostgreSQL; the
# browser tests on PostgreSQL too: `make test-postgres` (adds ~5 min).
test: lint setup model system-deps
	RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) $(PYTHON) -m pytest -ra --durations=15
	RAPPORT_TEST_DATABASE=postgres RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) \
	  $(PYTHON) -m pytest -ra -q -m "stack and not postgres and not browser" tests/integration
	RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) $(BOTPY) -m pytest -q -ra tests/bot

# The whole live-stack suite, browser tests included, with every stack on PostgreSQL.
test-postgres: lint setup model system-deps
	RAPPORT_TEST_DATABASE=postgres RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) \
	  $(PYTHON) -m pytest -ra -m "stack and not postgres"

# Static checks (config in pyproject.toml); bot/ is Python 3.10 and not linted here.
lint: $(VENV)/.installed
	$(PYTHON) -m ruff check chat_server dev tests bench
	$(PYTHON) -m mypy chat_server
	$(PYTHON) -m chat_server.protocol.js --check

setup: $(VENV)/.installed $(BOTVENV)/.installed widget

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PY311) >/dev/null || { echo "error: $(PY311) not found (the chat server needs Python >= 3.11)"; exit 1; }
	test -x $(PYTHON) || $(PY311) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements.lock
	touch $@

$(BOTVENV)/.installed: bot/requirements.lock
	test -x $(BOTPY) || $$(scripts/find_python310.sh) -m venv $(BOTVENV)
	$(BOTPY) -m pip install -q --upgrade pip
	$(BOTPY) -m pip install -q -r bot/requirements.lock
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

# Every benchmark, end to end (~40 min): JSON and PNG plots in bench/results/,
# summarised in docs/performance.md. Timings are reported, never asserted.
MODEL_ENV := RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz)
bench: setup model
	$(MODEL_ENV) $(BOTPY) bench/profile_turn.py
	$(BOTPY) bench/nlu_quality.py
	$(MODEL_ENV) $(PYTHON) bench/bot_path.py
	$(MODEL_ENV) $(PYTHON) bench/session_length.py --baseline
	$(MODEL_ENV) $(PYTHON) bench/memory_latency.py
	$(PYTHON) bench/handoff_latency.py --visitors 100 --out handoff_latency_100
	$(PYTHON) bench/handoff_latency.py --visitors 1000 --max-chats 50 --out handoff_latency_1000
	$(PYTHON) bench/persist_throughput.py
	$(PYTHON) bench/idle_capacity.py
	$(MODEL_ENV) $(PYTHON) bench/event_log_overhead.py
	$(PYTHON) bench/analytics_queries.py
	$(MODEL_ENV) $(PYTHON) bench/scale_out.py

# 500 visitors and 10 agents for 30 minutes: lost/duplicated messages and memory
# (bench/results/soak.json). Not part of `make bench`: it takes half an hour.
soak: setup model
	RAPPORT_MODEL=$$(readlink -f var/models/current.tar.gz) $(PYTHON) bench/soak.py

lint-compose:
	docker-compose config -q

clean:
	rm -rf var/log var/models
