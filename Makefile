# avzoo developer commands. Quick start:
#   make serve   install what is missing, then serve the zoo's Gradio app on http://127.0.0.1:7860
#   make test    install what is missing, then lint and run the whole test suite (what CI runs)
#   make test-fast  the same, without slow and browser tests and notebooks
# They use the current `python`; activate a virtual environment first if you want one.

PYTHON ?= python
HOST ?= 127.0.0.1
PORT ?= 7860
export PYTHON

.PHONY: help setup serve test test-fast lint format

help:
	@echo "make setup   install missing system tools (apt) and Python deps (pip install -e .[dev])"
	@echo "make serve   setup, then serve the zoo app on http://$(HOST):$(PORT) (HOST=, PORT= to change)"
	@echo "make test    setup, then ruff check, ruff format --check and pytest (what CI runs)"
	@echo "make test-fast  the same without tests marked slow or browser, and without the notebooks"
	@echo "make lint    ruff check and ruff format --check only"
	@echo "make format  ruff check --fix and ruff format"

setup:
	@bash scripts/setup.sh

serve: setup
	$(PYTHON) -m avzoo.cli serve --host $(HOST) --port $(PORT)

test:
	@bash scripts/test.sh

# A quick subset while developing; CI runs everything (`make test`).
test-fast:
	@bash scripts/test.sh -m "not slow and not browser" tests

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .
