# Quick start: `make demo` (set up + train/eval a tabular agent) and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
# Where the CPU build of torch comes from. Empty: pip's configured index (this project's
# machines hold the CPU wheel locally). Elsewhere: make TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first, so nothing later pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.*" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[test,ray]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	SDL_VIDEODRIVER=dummy $(BIN)/simdrive train q-learning simdrive/Maze-v0 --episodes 300 --seed 0 --out runs/demo
	$(BIN)/simdrive eval runs/demo/checkpoint.sdckpt --episodes 10 --seed 1
	SDL_VIDEODRIVER=dummy $(BIN)/simdrive eval --suite roundabout expert random --repeats 1 --report runs/demo-suite
	@echo
	@echo "Checkpoint : runs/demo/checkpoint.sdckpt"
	@echo "Watch it   : $(BIN)/simdrive watch runs/demo/checkpoint.sdckpt"
	@echo "Suite      : runs/demo-suite/report.html (expert vs random on the roundabout suite; JSON beside it)"
	@echo "Runs (UI)  : $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db   then open http://127.0.0.1:5000"

test: $(STAMP)
	SDL_VIDEODRIVER=dummy MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) runs mlflow.db mlruns .pytest_cache
