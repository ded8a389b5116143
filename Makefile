# One command to set up and start the app, one to set up and run the tests (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup run test lint system-deps constraints screenshots

# constraints.txt pins every version (torch 2.13.0 first, on its own, as the Space gets it).
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) app.py $(ARGS)

system-deps:
	bash scripts/system-deps.sh

test: setup system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The docs' screenshots (docs/screenshots/, docs/handout-sample.png): the app on a free port, driven by
# Chromium; ARGS narrows the first,
# e.g. make screenshots ARGS="--pages main --langs en"
screenshots: setup system-deps
	$(PY) scripts/screenshots.py --out docs/screenshots $(ARGS)
	$(PY) scripts/screenshots.py --handout docs/handout-sample.png

lint: setup
	$(VENV)/bin/ruff check .

# Re-pin after changing a bound: the versions now installed in .venv become constraints.txt.
constraints: setup
	{ sed -n '1,/^# plain version/p' constraints.txt; $(PY) -m pip freeze --all --exclude-editable | grep -v '^spot\|^pip==' | sed 's/+cpu$$//'; } > constraints.new
	mv constraints.new constraints.txt
