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

.PHONY: run test bench lint sysdeps clean clean-partial venv

venv: $(STAMP)

# The installer: uv (pinned, from PyPI into the venv: installs the pins in ~20 s here instead of
# pip's ~2 min); pip when uv cannot be installed. Both install exactly the pinned versions.
UV_VERSION := 0.13.8
UV := $(BIN)/uv
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q
INSTALL = if [ -x $(UV) ]; then $(UV) pip install -q --compile-bytecode --python $(BIN)/python $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS)) $(1); \
	else $(PIP) $(1); fi

# Reinstall only when a pins file differs from what was installed last (content, not mtime).
$(STAMP): requirements.txt
	@if [ -f $@ ] && cmp -s requirements.txt $@; then touch $@; else \
		echo "[bootstrap 1/3] creating $(VENV) with $(PYTHON)"; \
		[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || exit 1; \
		echo "[bootstrap 2/3] installing the installer: uv $(UV_VERSION) (pip is the fallback)"; \
		$(PIP) uv==$(UV_VERSION) 2>/dev/null || echo "[bootstrap 2/3] uv could not be installed: using pip"; \
		echo "[bootstrap 3/3] installing the pinned packages of requirements.txt, then diffpipe itself (editable: the diffpipe command)"; \
		$(call INSTALL,-r requirements.txt) && $(call INSTALL,--no-deps -e .) && cp requirements.txt $@ && echo "[bootstrap] $(VENV) is ready"; \
	fi

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	@if [ -f $@ ] && cmp -s requirements-dev.txt $@; then touch $@; else \
		echo "[bootstrap] adding the test tools of requirements-dev.txt"; \
		$(call INSTALL,-r requirements.txt -r requirements-dev.txt) && cp requirements-dev.txt $@; \
	fi

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(EXPERIMENT_ARG)

# System packages the tests drive for real (headless Chromium; SLURM installs itself in its harness).
sysdeps:
	@bash tests/harness/install_sysdeps.sh

# The unit and the pipeline tests run side by side (tests/harness/suites.sh); with PYTEST_ARGS,
# one pytest run of what they select.
test: $(DEV_STAMP) sysdeps
	$(if $(strip $(PYTEST_ARGS)),$(BIN)/python -m pytest $(PYTEST_ARGS),bash tests/harness/suites.sh $(BIN)/python)

# Kernel timings, inference timings against cabinetry and pyhf (test tools: dev pins), whole-pipeline
# timings (fresh copies) and the report with them.
bench: $(DEV_STAMP)
	$(BIN)/snakemake --cores $(CORES) --config benchmark='{enabled: true}'

# Every temporary file under results/ (the pipeline itself removes those of killed jobs when it
# starts; this removes live writers' too: run it only when no pipeline runs).
clean-partial: $(STAMP)
	@PYTHONPATH=scripts $(BIN)/python -c "from diffpipe.storage import sweep_partials; \
		print(*(f'removed {p}' for p in sweep_partials('results', everything=True)), sep='\n')"

lint: $(DEV_STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check workflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf results .snakemake
