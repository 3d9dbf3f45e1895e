# diffpipe: `make run` runs the pipeline, `make test` the test suite; both bootstrap .venv from
# the pins in requirements.txt first (and skip that when the pins did not change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.txt
CORES ?= all
PYTEST_ARGS ?=

.PHONY: run test bench lint sysdeps clean venv

venv: $(STAMP)

# Reinstall only when requirements.txt differs from what was installed last (content, not mtime).
$(STAMP): requirements.txt
	@if [ -f $(STAMP) ] && cmp -s requirements.txt $(STAMP); then \
		touch $(STAMP); \
	else \
		echo "bootstrapping $(VENV) from requirements.txt"; \
		[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip && \
		$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt && \
		cp requirements.txt $(STAMP); \
	fi

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# System packages the tests drive for real (headless Chromium; SLURM installs itself in its harness).
sysdeps:
	@bash tests/harness/install_sysdeps.sh

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench_pipeline.py --out results/benchmark/pipeline.json
	$(BIN)/snakemake --cores $(CORES) --config benchmark='{enabled: true}' --forcerun report

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check workflow

clean:
	rm -rf results .snakemake
