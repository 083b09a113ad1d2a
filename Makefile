# Working on the template. `make help` lists the targets.
VENV := .venv
OUTPUT_DIR ?= build
PYTEST_ARGS ?=

.PHONY: help bake test test-fast lock bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

bake: $(VENV)/.installed  ## generate a project with the default answers into build/my_project
	rm -rf $(OUTPUT_DIR)/my_project
	$(VENV)/bin/cookiecutter --no-input --output-dir $(OUTPUT_DIR) .
	@echo "Generated $(OUTPUT_DIR)/my_project"

test: $(VENV)/.installed  ## the whole suite: hooks, every answer set, services, container builds
	$(VENV)/bin/pytest -n auto $(PYTEST_ARGS)

test-fast: $(VENV)/.installed  ## the quick part: no project suites, services or containers
	$(VENV)/bin/pytest -n auto -m "not slow" $(PYTEST_ARGS)

lock: $(VENV)/.installed  ## recompile the generated project's requirements for every variant, and the names a slug must not take
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python scripts/lock_requirements.py $(ARGS)

clean:  ## remove the venv and generated output (the image and venv caches stay)
	rm -rf $(VENV) $(OUTPUT_DIR)

bench: $(VENV)/.installed  ## print the performance figures (bake, install, startup, images)
	$(VENV)/bin/python scripts/bench.py $(ARGS)
