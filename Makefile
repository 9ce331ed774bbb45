# `make demo` and `make test` set everything up on a fresh machine (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
ACTLAB := $(VENV)/bin/actlab
DEMO_OUT ?= out/demo
TORCH_PIN := torch==2.13.0
# torch >= 2.2 already importable in the venv? Otherwise install the pin first (a local CPU wheel here;
# any other torch request would download gigabytes of CUDA wheels).
HAS_TORCH := $(PY) -c "import sys, torch; v = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(v < (2, 2))"

DATA ?= $(or $(ACTLAB_DATA),../shared/datasets)
# Tests that need the original MNIST/Fashion-MNIST files find them through $$ACTLAB_DATA (else they skip with the
# reason; CI sets ACTLAB_REQUIRE_DATA=1 so that they fail instead). Beside this project's checkout they are in
# ../shared/datasets.
TEST_DATA := $(or $(ACTLAB_DATA),$(wildcard $(abspath ../shared/datasets)))

.PHONY: install install-dev browser demo test docs catalog-data results-demo results-mnist results-recipes bench clean

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

# The main job, offline: compare 12 activations on scikit-learn's bundled digits (compare's defaults: 5 seeds each,
# SGD lr 0.1 with a cosine schedule, batch 50, 20 epochs), each tested against relu; summary.png answers first.
demo: install
	$(ACTLAB) compare --baseline relu --out $(DEMO_OUT)

# The HTML report and results-site tests render pages in headless Chromium (Debian's package; the tests drive it
# from the command line, so no chromium-driver is needed).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	    else echo "make test needs headless Chromium: install Debian's 'chromium' package"; exit 1; fi; }

test: install-dev browser
	$(PY) -m ruff check src tests benchmarks examples
	ACTLAB_DATA="$(TEST_DATA)" $(PY) -m pytest -n auto -q

docs: install
	$(ACTLAB) docs

# After adding or editing a catalog entry (src/actlab/catalog/data/*.toml, or a hand-written one's reference): its
# 400-digit reference values and, for data entries, the shipped derivation (only what is missing or stale is redone).
catalog-data: install-dev
	$(PY) -m actlab.verify.stored

# The README's "held to published numbers" table: MNIST MLP 784-100-50-10, SGD lr 0.1, batch 100,
# 50 epochs, min-max input, He init, five seeds (about 12 minutes on 2 CPU cores).
results-mnist: install
	$(ACTLAB) compare --dataset mnist --data-dir $(DATA) --model mlp:100,50 --activations relu,swish,hard_swish,mish,tanhexp \
		--seeds 5 --epochs 50 --batch-size 100 --lr 0.1 --optimizer sgd --preprocessing minmax --init he_normal \
		--out docs/results/mnist-mlp

# Full results of the recipes that fit on 2 CPU cores in about an hour each or less; reports into docs/results/,
# each tested against its natural baseline (Welch + Holm).
RECIPES ?= mnist-mlp-classic mnist-mlp-modern flooding hard-swish-n momentum-nesterov lr-and-width mnist-cnn-leaky saturation deep-mlp-gradients
STORE_RECIPES := docs/results/recipes.db
results-recipes: install
	for r in $(RECIPES); do $(ACTLAB) run recipe:$$r --store $(STORE_RECIPES) --data-dir $(DATA) || exit 1; done
	$(ACTLAB) report $(STORE_RECIPES) --experiment mnist-mlp-classic --baseline relu -o docs/results/mnist-mlp-classic
	$(ACTLAB) report $(STORE_RECIPES) --experiment mnist-mlp-modern --baseline relu -o docs/results/mnist-mlp-modern
	$(ACTLAB) report $(STORE_RECIPES) --experiment flooding --baseline flooding=0.0 -o docs/results/flooding
	$(ACTLAB) report $(STORE_RECIPES) --experiment hard-swish-n --baseline hard_swish -o docs/results/hard-swish-n
	$(ACTLAB) report $(STORE_RECIPES) --experiment momentum-nesterov --baseline "optimizer=sgd, lr=0.1" -o docs/results/momentum-nesterov
	$(ACTLAB) report $(STORE_RECIPES) --experiment lr-and-width --baseline "relu, model=mlp:100,50, lr=0.1" -o docs/results/lr-and-width
	$(ACTLAB) report $(STORE_RECIPES) --experiment mnist-cnn-leaky --baseline relu -o docs/results/mnist-cnn-leaky
	$(ACTLAB) report $(STORE_RECIPES) --experiment saturation --baseline "relu, preprocessing=minmax" -o docs/results/saturation
	$(ACTLAB) report $(STORE_RECIPES) --experiment deep-mlp-gradients --baseline relu -o docs/results/deep-mlp-gradients
	$(ACTLAB) docs

# The README's first figure: the demo's comparison, written into docs/demo/ (about 15 s on 2 CPU cores).
results-demo: install
	$(ACTLAB) compare --baseline relu --out docs/demo

# Side-by-side measurements (training throughput vs peers, activation kernels, scaling); writes
# docs/benchmarks.md. BENCH_FLAGS=--quick: a few minutes on 2 cores. Keras (peer (c)) comes with the dev extras.
bench: install-dev
	$(PY) -m benchmarks.bench --data-dir $(DATA) $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
