# incidentlab — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements.lock)
# The modules: every folder of datasets/ with a scenario.toml. `make <target> MODULE=<name>` works on one.
MODULES := $(patsubst datasets/%/scenario.toml,%,$(wildcard datasets/*/scenario.toml))
MODULE ?=
ONE := $(if $(MODULE),$(MODULE),$(MODULES))

.PHONY: help install warehouses lab workspace lab-masters masters lint test test-browser test-fast release validate lock bench \
  clean collect autograde feedback grades bench-grading monitor mutants test-mutants hub hub-proxy test-hub image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
	  { echo "incidentlab needs Python 3.11: run make with PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set, every kernel would compile jupysql, pandas and dbt
# again on its first import (seconds of a notebook's first cell).
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed ## create .venv with the locked dependencies

# Rebuilt only when what the replay reads changes: the data, the dbt projects and the package's modules the
# build imports (found in the source by src/incidentlab/build_inputs.py).
WAREHOUSE_INPUTS := $(shell find datasets dbt -type f \
  -not -path '*/target/*' -not -path '*/logs/*' -not -path '*/dbt_packages/*' 2>/dev/null) \
  $(wildcard grading/*/hidden_variants.toml) \
  $(shell $(PYTHON) src/incidentlab/build_inputs.py)

warehouses/.built: $(VENV)/.installed $(WAREHOUSE_INPUTS)
	$(BIN)/incidentlab build --all
	touch $@

# The checks' fingerprints of the answer keys' results, beside the warehouses (incidentlab.grading.fingerprints).
warehouses/.fingerprints: warehouses/.built $(wildcard grading/*/answer_key/*.sql) src/incidentlab/checking/fingerprint.py
	$(BIN)/python -m incidentlab.grading.fingerprints
	touch $@

warehouses: warehouses/.built warehouses/.fingerprints ## replay every module's incident into its warehouses (every stage and variant)

JUPYTER_LAB := $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)
# The student's JupyterLab has none of nbgrader's extensions (formgrader, create assignment, course list, ...):
# this folder, first on Jupyter's config path, switches off its server extensions and its JupyterLab plugins.
STUDENT_LAB_CONFIG := $(abspath src/incidentlab/student_lab)

lab: warehouses workspace ## build the warehouses and open the course (student version) in JupyterLab
	JUPYTER_CONFIG_PATH="$(STUDENT_LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(JUPYTER_LAB) workspace/

workspace: install ## copy the student notebooks into workspace/ (your own work there is never overwritten)
	@mkdir -p grading/course
	@for m in $(ONE); do $(RELEASE_ONE) && mkdir -p workspace/$$m && cp -n grading/course/release/$$m/*.ipynb \
	  workspace/$$m/; done
	@echo "The notebooks are in workspace/ ($(ONE)); \`make lab\` opens them."

masters: warehouses ## re-execute the master notebooks in place (after a change of data, checks or wording)
	INCIDENTLAB_WAREHOUSES=$(abspath warehouses) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False notebooks/*/[0-9][0-9]_*.ipynb
	$(BIN)/jupyter nbconvert --coalesce-streams notebooks/*/[0-9][0-9]_*.ipynb

lab-masters: warehouses ## open the master notebooks (with solutions), for course authors
	$(JUPYTER_LAB) notebooks/

monitor: warehouses ## the monitor's report on each module's incident, then its replay: when each check fired (MODULE=)
	@for m in $(ONE); do $(BIN)/incidentlab monitor $$m; test $$? -lt 3 || exit 1; echo; done
	$(BIN)/incidentlab monitor --replay $(MODULE)

lint: install ## ruff on the project's Python and mypy on src/ (rules in pyproject.toml): both must find nothing
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint ## lint, then the whole test suite (what CI runs), on two workers: one test file per worker at a time
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-browser: install ## the browser suite alone, every notebook of each module's release in JupyterLab in headless Chromium
	@# the warehouses: INCIDENTLAB_WAREHOUSES's if set (reused), else built for the run, as under make test
	INCIDENTLAB_BROWSER_ALL=1 $(BIN)/python -m pytest tests/test_browser.py -q -rs

test-mutants: install ## every question's mutants: each survivor killed or declared equivalent (for CI, after make test)
	@# the warehouses: INCIDENTLAB_WAREHOUSES's if set (reused), else built for the run, as under make test
	INCIDENTLAB_MUTANTS_ALL=1 $(BIN)/python -m pytest tests/test_mutants.py -q -rxs -m mutants

mutants: warehouses ## mutation analysis of the answer keys: per question, mutants, killed, survivors (MODULE=, Q=)
	INCIDENTLAB_WAREHOUSES=$(abspath warehouses) $(BIN)/incidentlab mutants $(MODULE) $(if $(Q),--question $(Q))

test-fast: warehouses ## while you work: the tests not marked slow, on the warehouses `make warehouses` built
	INCIDENTLAB_WAREHOUSES=$(abspath warehouses) $(BIN)/python -m pytest tests -m "not slow" -q

# nbgrader runs from grading/, where its config lives, and needs the venv's `alembic` on PATH.
NBGRADER := PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/nbgrader

# nbgrader's own log ("Removing existing assignment", ...) shows only when it fails.
# Then the checks' fingerprints, from the built warehouses (a line says where, or that they are not built).
RELEASE_ONE = log=$$(cd grading && $(NBGRADER) generate_assignment $$m --force --log-level=WARN 2>&1) || \
  { echo "$$log"; echo "nbgrader could not release $$m (its log is above)"; exit 1; }; \
  $(BIN)/python -m incidentlab.grading.fingerprints $$m

release: install ## generate the student version of every module's notebooks (grading/course/release; MODULE=, EXCHANGE=1)
ifeq ($(EXCHANGE),)
	@mkdir -p grading/course
	@for m in $(ONE); do $(RELEASE_ONE); echo "released grading/course/release/$$m"; done
else
	$(BIN)/incidentlab grade release --exchange $(if $(MODULE),--assignment $(MODULE))
endif

validate: warehouses release ## run the tests: every one must pass in the masters, none in the release (MODULE=)
	@cd grading && for m in $(ONE); do n=$$(ls ../notebooks/$$m/*.ipynb | wc -l) && \
	  $(NBGRADER) validate ../notebooks/$$m/*.ipynb | tee course/validate-masters-$$m.log && \
	  $(NBGRADER) validate --invert course/release/$$m/*.ipynb | tee course/validate-release-$$m.log && \
	  test "$$(grep -c '^Success! Your notebook passes all the tests' course/validate-masters-$$m.log)" = "$$n" && \
	  test "$$(grep -c '^Success! The notebook does not pass any tests' course/validate-release-$$m.log)" = "$$n" || \
	  { echo "make validate: $$m FAILED (see the reports above)"; exit 1; }; done

# The instructor's cycle after `make release`: collect, autograde, feedback, grades (`incidentlab grade --help`).
EXPORT ?=
WORKERS ?=
SCHEDULER ?=
EXECUTE ?=
EXCHANGE ?=
N ?= 200
STOCK ?= 4

collect: install ## copy an LMS export into nbgrader's submitted/ (make collect MODULE=m EXPORT=path/to/export, or EXCHANGE=1)
	@test -n "$(EXPORT)$(EXCHANGE)" || { echo "make collect EXPORT=<folder with one subfolder, .ipynb or .zip per student> (or EXCHANGE=1)"; exit 2; }
	@test -n "$(MODULE)" || { echo "make collect MODULE=<one of: $(MODULES)> EXPORT=..."; exit 2; }
	$(BIN)/incidentlab grade collect --assignment $(MODULE) $(if $(EXCHANGE),--exchange,"$(EXPORT)")

autograde: warehouses ## judge every collected submission's SQL (MODULE=, WORKERS=n, SCHEDULER=tcp://host:port, EXECUTE=1)
	$(BIN)/incidentlab grade autograde $(if $(MODULE),--assignment $(MODULE)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
	  $(if $(EXECUTE),--execute)

feedback: install ## HTML feedback per student (grading/course/feedback), checked for leaked answers (EXCHANGE=1 releases it)
	$(BIN)/incidentlab grade feedback $(if $(MODULE),--assignment $(MODULE)) $(if $(EXCHANGE),--exchange)

grades: install ## write the grades CSV (grading/course/pipeline/ASSIGNMENT/grades.csv)
	$(BIN)/incidentlab grade export $(if $(MODULE),--assignment $(MODULE))

bench-grading: warehouses ## stock nbgrader autograde vs the pipeline: a class of N=200, stock on STOCK=4 (MODULE=)
	@for m in $(ONE); do $(BIN)/python benchmarks/grading.py --n $(N) --stock $(STOCK) --assignment $$m || exit 1; done

# A class on one server: JupyterHub (the `hub` extra, in the lock) behind configurable-http-proxy, from npm at the
# version of hub/proxy/package-lock.json, into hub/proxy/node_modules (never a global install).
HUB_PROXY := hub/proxy/node_modules/.bin/configurable-http-proxy
CLASS ?=

$(HUB_PROXY): hub/proxy/package.json hub/proxy/package-lock.json
	@command -v npm >/dev/null || { echo "make hub needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix hub/proxy --no-audit --no-fund --loglevel=error
	touch $@

hub-proxy: $(HUB_PROXY) ## install configurable-http-proxy (npm) into hub/proxy/, for make hub

hub: warehouses $(HUB_PROXY) ## a JupyterHub for the class in hub/class.toml (CLASS=file) on this machine, as root
	@test "$$(id -u)" = 0 || { echo "make hub creates the class's system users: run it as root (sudo make hub)"; exit 1; }
	$(BIN)/incidentlab hub $(if $(CLASS),--class $(CLASS))

image: ## the single-user image for Zero to JupyterHub (hub/Dockerfile); says why not where no Docker daemon answers
	@if command -v docker >/dev/null && docker info >/dev/null 2>&1; then \
	  docker build -f hub/Dockerfile -t incidentlab-student . ; \
	else echo "make image: skipped, no Docker daemon answers here (docker info fails or docker is not installed)"; fi

test-hub: install $(HUB_PROXY) ## the class on a hub, end to end in headless Chromium (root; CI only, not in make test)
	INCIDENTLAB_HUB_TEST=1 $(BIN)/python -m pytest tests/test_hub.py -q -rs -p no:xdist

lock: ## re-resolve requirements.lock from pyproject.toml (needs the network)
	$(BIN)/uv pip compile pyproject.toml --extra instructor --extra hub --extra test --python-version 3.11 --universal \
	  -o requirements.lock --no-header --annotation-style line -q

bench: warehouses ## print setup, build and dbt-invocation timings
	$(BIN)/python benchmarks/foundation.py

clean: ## remove built warehouses and dbt artefacts (keeps .venv)
	rm -rf warehouses dbt/*/target dbt/*/logs dbt/*/dbt_packages
