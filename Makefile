# smslab — make help lists the targets.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test lint bench clean-demo browser lab

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name smslab --display-name "smslab (Python 3)" >/dev/null
	touch $(STAMP)

browser: ## install headless Chromium for the HTML report tests (Debian package)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "installing chromium (apt)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will fail"; }

setup: $(STAMP) browser ## create .venv, install smslab with dev extras, register the Jupyter kernel (idempotent)

demo: setup ## run a simulated multi-country campaign end to end and write HTML reports to reports/
	$(BIN)/smslab demo

test: setup ## run the whole test suite (and the doctests of src/smslab)
	$(BIN)/python -m pytest -q

LAB_PORT ?= 8888
SMSLAB_DB ?= data/smslab.duckdb

lab: setup ## start JupyterLab on notebooks/ with the smslab kernel and the demo database; prints the URL
	@test -f "$(SMSLAB_DB)" || { echo "no $(SMSLAB_DB) yet: making the demo database (smslab demo --no-reports)"; \
	  SMSLAB_DB="$(SMSLAB_DB)" $(BIN)/smslab demo --no-reports >/dev/null; }
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(16))'); \
	  echo "JupyterLab: http://127.0.0.1:$(LAB_PORT)/lab?token=$$token  (database: $(SMSLAB_DB); Ctrl-C stops it)"; \
	  SMSLAB_DB="$(abspath $(SMSLAB_DB))" exec $(BIN)/jupyter-lab --no-browser --ServerApp.ip=127.0.0.1 \
	    --ServerApp.port=$(LAB_PORT) --ServerApp.port_retries=0 --IdentityProvider.token=$$token \
	    --ServerApp.root_dir=notebooks --MappingKernelManager.default_kernel_name=smslab \
	    --LabApp.extension_manager=readonly $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) \
	    --ServerApp.log_level=WARN

lint: setup ## ruff (lint and format check) over the repository and mypy over src/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup ## run the benchmarks in bench/ (prints ratios against named baselines)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
