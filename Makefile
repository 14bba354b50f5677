# Ordino: `make run` serves the OMS on SQLite with demo data; `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
GATEWAY_PORT ?= 8090
export ORDINO_DATABASE_URL ?= sqlite:///ordino.db

.PHONY: install run test lint typecheck imports pytest demo clean

$(BIN)/ordino: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(BIN)/ordino

install: $(BIN)/ordino

.ordino/admin-key:
	@mkdir -p .ordino
	@$(PYTHON) -c "import secrets; print('ordino_' + secrets.token_urlsafe(32))" > $@
	@chmod 600 $@

run: install .ordino/admin-key
	$(BIN)/ordino migrate
	$(BIN)/ordino demo
	@echo ""
	@echo "  Ordino on http://$(HOST):$(PORT)   database: $(ORDINO_DATABASE_URL)"
	@echo "  Admin API key:  $$(cat .ordino/admin-key)"
	@echo "  API docs:       http://$(HOST):$(PORT)/api/docs"
	@echo "  Health:         http://$(HOST):$(PORT)/healthz"
	@echo "  Try:            curl -H \"Authorization: Bearer $$(cat .ordino/admin-key)\" http://$(HOST):$(PORT)/api/v1/orders?limit=5"
	@echo "  Card payments go to the gateway simulator on http://127.0.0.1:$(GATEWAY_PORT)"
	@echo ""
	@$(BIN)/ordino gateway-sim --port $(GATEWAY_PORT) > .ordino/gateway-sim.log 2>&1 & sim=$$!; \
	  trap "kill $$sim 2>/dev/null" EXIT INT TERM; \
	  ORDINO_ADMIN_API_KEY=$$(cat .ordino/admin-key) \
	  ORDINO_GATEWAY_SIMULATOR_URL=http://127.0.0.1:$(GATEWAY_PORT) \
	  $(BIN)/ordino serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests migrations

typecheck: install
	$(BIN)/mypy src

imports: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -n 2 --dist loadfile

test: lint typecheck imports pytest

clean:
	rm -rf $(VENV) .ordino ordino.db ordino.db-wal ordino.db-shm ordino.db-secret .pytest_cache .mypy_cache .ruff_cache
