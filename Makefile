# `make demo` and `make test` set everything up on a fresh machine (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
ACTLAB := $(VENV)/bin/actlab
DEMO_OUT ?= out/demo
TORCH_PIN := torch==2.13.0
# torch >= 2.2 already importable in the venv? Otherwise install the pin first (a local CPU wheel here;
# any other torch request would download gigabytes of CUDA wheels).
HAS_TORCH := $(PY) -c "import sys, torch; v = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(v < (2, 2))"

.PHONY: install install-dev demo test docs clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(HAS_TORCH) 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(ACTLAB) list
	$(ACTLAB) plot relu gelu silu mish tanhexp hard_swish:n=6 elu --derivative --range -5 5 -o $(DEMO_OUT)/activations.png

test: install-dev
	$(PY) -m pytest -n auto -q

docs: install
	$(ACTLAB) docs

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
