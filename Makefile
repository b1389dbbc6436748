# Tandem: `make run` serves the app on a laptop; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run serve test lint types pytest fuzz bench vendor chromium poppler zbar optipng wrk clean \
	visual-baselines

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs the same versions as pip from the same ranges, in about a fifth of the time
# (the dev set: 13 s against 68 s on a 2-core machine; `make test` on a fresh clone pays it
# every time). The .pyc files are written at install, as pip does: where
# PYTHONDONTWRITEBYTECODE is set, nothing else would write them.
UV := $(BIN)/uv
UV_INSTALL := $(UV) pip install --quiet --python $(BIN)/python --compile-bytecode

$(UV): | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check 'uv>=0.9,<1'

$(VENV)/.installed: pyproject.toml | $(UV)
	$(UV_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(UV)
	$(UV_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed

# Beside the dev server, a loop runs `flask send-due` every minute (mail to partners; with
# no SMTP server set up it fills instance/outbox/). It stops when the server stops.
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed-library
	@export TANDEM_BASE_URL=$${TANDEM_BASE_URL:-http://127.0.0.1:$(PORT)}; \
	( while sleep 60; do $(FLASK) send-due --quiet; done ) & loop=$$!; \
	trap 'kill $$loop 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# Browser tests drive Debian's Chromium; install it when this machine lacks it.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# The PDF tests turn handouts into PNG pages with poppler's pdftoppm; install it when missing.
poppler:
	@command -v pdftoppm >/dev/null 2>&1 || { \
	  echo "Installing Debian's poppler-utils for the PDF tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends poppler-utils; }

# The QR code tests decode every printed code with zbar (pyzbar loads Debian's libzbar0).
zbar:
	@ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || { \
	  echo "Installing Debian's libzbar0 for the QR code tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends libzbar0; }

# Baseline images are squeezed with optipng when it is there (it only makes them smaller).
optipng:
	@command -v optipng >/dev/null 2>&1 || { \
	  echo "Installing Debian's optipng to keep the visual baselines small"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends optipng; }

# The server benchmark loads gunicorn with Debian's wrk; install it when missing.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the server benchmark"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check therapy tests bench tools app.py gunicorn.conf.py
	$(BIN)/ruff format --check therapy tests bench tools app.py gunicorn.conf.py

types: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev chromium poppler zbar
	$(BIN)/pytest

# Rewrite the screenshots and PDF page images in tests/visual/baselines/ from what the app
# draws now. Only this target writes them; look at `git diff --stat` and the images first.
visual-baselines: $(VENV)/.installed-dev chromium poppler optipng
	TANDEM_UPDATE_BASELINES=1 $(BIN)/pytest -n 0 tests/visual tests/browser/test_visual_pages.py

# A practice server's way of serving: gunicorn with gunicorn.conf.py, against DATABASE_URL
# and REDIS_URL from the environment (TANDEM_ENV, SECRET_KEY, TANDEM_TRUSTED_HOSTS too).
serve: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed-library
	$(BIN)/gunicorn -c gunicorn.conf.py app:app

test: lint types pytest

# The route fuzz with 100 examples per route on both databases (make test runs 12).
fuzz: $(VENV)/.installed-dev
	TANDEM_FUZZ_EXAMPLES=100 TANDEM_TEST_BACKENDS=all $(BIN)/pytest tests/test_fuzz_routes.py

bench: $(VENV)/.installed-dev wrk
	$(BIN)/python -m bench

vendor: $(VENV)/.installed
	tools/vendor/refresh.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
