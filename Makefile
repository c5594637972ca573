# `make run` starts everything on the embedded defaults; `make test` runs every test.
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WEB_THREADS ?= 5100
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export FLASK_APP := wsgi

.PHONY: install dev zapier run test lint bench

$(BIN)/activate:
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed zapier

# the Zapier Platform CLI app (integrations/zapier): its tests run inside `make test`.
# A file target, so two `make test` running side by side (CI) never run `npm ci` at once.
ZAPIER_MODULES := integrations/zapier/node_modules/.package-lock.json
zapier: $(ZAPIER_MODULES)
$(ZAPIER_MODULES): integrations/zapier/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd integrations/zapier && npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: skipping integrations/zapier (its test will be skipped)"; fi

run: install
	@mkdir -p instance
	@$(BIN)/flask setup-demo > instance/demo.json  # migrate + seed in one process
	@bash scripts/run.sh "$(BIN)" "$(HOST)" "$(PORT)" "$(WEB_THREADS)"

# Uses REDIS_URL when set, else the local Redis on TEST_REDIS_URL when it answers, else an embedded one.
test: dev
	@if [ -z "$$REDIS_URL" ] && $(BIN)/python -c "import redis,sys; redis.Redis.from_url('$(TEST_REDIS_URL)').ping()" 2>/dev/null; then \
		export REDIS_URL=$(TEST_REDIS_URL); fi; \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check .

bench: dev
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done
