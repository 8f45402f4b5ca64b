# One Makefile: `make run` serves the web app, `make test` runs lint, types and every test.
# Each target creates or reuses the virtual environment in .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
# axe-core checks the page's accessibility in the browser tests; npm installs it here (ignored by git).
AXE_VERSION := 4.14.1
AXE := .tools/node_modules/axe-core/axe.min.js
# The Milvus tests start milvus-lite 2.5.1's C++ server binary (3.x is pure Python: not it);
# pip puts it here (ignored by git), without its Python dependencies.
MILVUS_LITE_VERSION := 2.5.1
MILVUS := .tools/milvus-lite/milvus_lite/lib/milvus
export HF_HUB_OFFLINE := 1
# One BLAS thread for qa's processes: numpy's BLAS threads spin on between the model's runs and
# take the cores from ONNX Runtime's (docs/performance.md, "Threads").
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: run test lint bench fit fuzz load index chromium axe milvus clean

# Runs a quiet command, saying every 4 s that it is still going; its errors and exit code are
# the command's (scripts/heartbeat.py: standard library only, as nothing is installed yet).
HEARTBEAT := $(PY) scripts/heartbeat.py

# Installing happens once (the stamp is newer than pyproject.toml after), and says so.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) scripts/heartbeat.py --about "once, a few seconds" \
	  "creating the virtual environment $(VENV)/" -- $(PYTHON) -m venv $(VENV)
	@echo "qa: installing the packages qa needs into $(VENV)/: once, about 2 minutes"
	@$(HEARTBEAT) "upgrading pip" -- $(PY) -m pip install --quiet --upgrade pip
	@# torch first and pinned: an unpinned torch would pull gigabytes of CUDA packages.
	@$(HEARTBEAT) --about "about 30 s" "installing torch 2.13.0" -- \
	  $(PY) -m pip install --quiet torch==2.13.0
	@$(HEARTBEAT) --about "about 80 s" "installing qa and the packages it uses" -- \
	  $(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

index: $(STAMP)
	$(VENV)/bin/qa build

run: $(STAMP)
	$(VENV)/bin/qa serve

# scripts/ too: make's own helper (heartbeat.py) runs before anything else, so it must not break.
lint: $(STAMP)
	$(VENV)/bin/ruff check qa tests benchmarks scripts app.py
	$(VENV)/bin/ruff format --check qa tests benchmarks scripts app.py
	$(VENV)/bin/mypy qa scripts

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; } ; \
	  else \
	    echo "The browser tests need $(CHROMIUM): run 'sudo apt-get install -y chromium'" >&2; exit 1; \
	  fi; \
	fi
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing: install Debian's chromium" >&2; exit 1; }

axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null || { echo "The accessibility tests need npm to install axe-core: run 'apt-get install -y npm'" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .tools axe-core@$(AXE_VERSION)
	@test -f $(AXE) || { echo "axe-core did not install into .tools/: the accessibility tests cannot run" >&2; exit 1; }

milvus: $(MILVUS)

$(MILVUS): | $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target .tools/milvus-lite milvus-lite==$(MILVUS_LITE_VERSION)
	@test -x $(MILVUS) || { echo "milvus-lite did not install its server into .tools/milvus-lite/: the Milvus tests cannot run" >&2; exit 1; }

test: $(STAMP) chromium axe milvus lint
	$(PY) -m pytest

# `make bench BENCH_ARGS="--repeats 5 --skip scale"`: see benchmarks/bench.py --help.
bench: $(STAMP) milvus
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# Refit the ranking and answer score on the development sets (../shared/eval and tests/data),
# print each family's figures when it was left out of the fit, write qa/rank/weights/<model>.json.
fit: $(STAMP)
	$(PY) benchmarks/fit.py $(FIT_ARGS)

# The whole-pipeline fuzzer of `make test`, with many more examples (QA_FUZZ_EXAMPLES).
fuzz: $(STAMP)
	QA_FUZZ_EXAMPLES=$${QA_FUZZ_EXAMPLES:-2000} $(PY) -m pytest tests/test_fuzz.py -p no:logging -q

load: $(STAMP)
	$(VENV)/bin/qa build
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) .tools test-artifacts .pytest_cache .mypy_cache .ruff_cache
