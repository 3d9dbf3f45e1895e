# diffpipe: `make run` runs the pipeline, `make test` the test suite. Both bootstrap .venv from the
# pins first (requirements.txt for the pipeline; requirements-dev.txt adds the test tools) and skip
# that when the pins did not change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.txt
DEV_STAMP := $(VENV)/.requirements-dev.txt
CORES ?= all
PYTEST_ARGS ?=
# A named experiment (config/experiments/NAME.yaml) replaces config/config.yaml: make run EXPERIMENT=notebook
EXPERIMENT ?=
EXPERIMENT_ARG := $(if $(EXPERIMENT),--config experiment=$(EXPERIMENT))
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test bench lint sysdeps clean venv

venv: $(STAMP)

# Reinstall only when a pins file differs from what was installed last (content, not mtime).
$(STAMP): requirements.txt
	@if [ -f $@ ] && cmp -s requirements.txt $@; then touch $@; else \
		echo "bootstrapping $(VENV) from requirements.txt"; \
		[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); \
		$(PIP) --upgrade pip && $(PIP) -r requirements.txt && cp requirements.txt $@; \
	fi

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	@if [ -f $@ ] && cmp -s requirements-dev.txt $@; then touch $@; else \
		echo "adding the test tools from requirements-dev.txt"; \
		$(PIP) -r requirements.txt -r requirements-dev.txt && cp requirements-dev.txt $@; \
	fi

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(EXPERIMENT_ARG)

# System packages the tests drive for real (headless Chromium; SLURM installs itself in its harness).
sysdeps:
	@bash tests/harness/install_sysdeps.sh

test: $(DEV_STAMP) sysdeps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Kernel timings, whole-pipeline timings (fresh copies) and the report with them.
bench: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --config benchmark='{enabled: true}'

lint: $(DEV_STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check workflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf results .snakemake
