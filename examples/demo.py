"""The end-to-end demo behind ``make demo``: offline, no API key.

Runs the CLI as a user would on the bundled example review (``examples/social_media``), printing
each command and its figures. The project is written to ``demo-output/review``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "social_media"
OUT = REPO / "demo-output"
PROJECT = OUT / "review"
METASIFT = [sys.executable, "-m", "metasift"]


def run(*args: str) -> str:
    """Run one metasift command, echo it, stop the demo if it fails."""
    print(f"\n$ metasift {' '.join(args)}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run([*METASIFT, *args], cwd=REPO, text=True, capture_output=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"demo step failed (exit {proc.returncode}): metasift {' '.join(args)}")
    print(f"  ({time.perf_counter() - start:.2f} s)", flush=True)
    return proc.stdout


def main() -> None:
    start = time.perf_counter()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    run("init", str(PROJECT))
    search = EXAMPLE / "search"
    run("import", str(search / "pubmed.nbib"), str(search / "scopus.csv"), str(search / "psycinfo.ris"),
        "--project", str(PROJECT))
    run("import", str(search / "pubmed.nbib"), "--project", str(PROJECT))  # re-import: skipped by hash
    run("dedup", "--project", str(PROJECT))
    run("status", "--project", str(PROJECT))
    run("export", "--format", "csv", "--out", str(OUT / "records.csv"), "--project", str(PROJECT))
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s; project in {PROJECT}")


if __name__ == "__main__":
    main()
