# The two set-up commands of the README: `make demo` and `make test` (CI runs `make test`).
# Everything the tests need is installed here: the virtualenv, xpt with its test extras,
# and the real-DVC oracle (a cached virtualenv outside the repo, see tests/oracle.py).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PIP_ENV := PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
LINT_PATHS := src tests bench

.PHONY: venv test lint fmt demo bench oracle clean-venv

# Byte-compile every time (quick when up to date): start-up time matters, and
# PYTHONDONTWRITEBYTECODE may be set in the environment.
venv: $(STAMP)
	@$(BIN)/python -m compileall -q src > /dev/null

# Re-install only when pyproject.toml is newer than the stamp (or the venv is missing).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing xpt and its test extras into $(VENV)"
	@$(PIP_ENV) $(BIN)/python -m pip install -qq -e '.[test]'
	@touch $@

oracle: venv
	$(BIN)/python -m tests.oracle --ensure --version 3.67.1 --version 2.58.2

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest's own exit code goes through: 5 ("no tests collected") fails the build.
test: lint oracle
	@# the distributed-queue tests start a real Redis (Debian's package)
	@command -v redis-server >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@# the plots page (and `xpt ui`) are checked in Debian's headless Chromium, driven by Playwright
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/pytest -n 2 -q

fmt: venv
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

demo: venv
	bash scripts/demo.sh

bench: oracle
	$(BIN)/python bench/run.py

clean-venv:
	rm -rf $(VENV)
