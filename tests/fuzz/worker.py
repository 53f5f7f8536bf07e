"""A long-lived fuzz worker: imports metasift once, then runs CLI invocations in-process through
``metasift.cli.main`` — the real entry point, error handling included — one job per line on stdin.

Why in-process: a ``metasift`` subprocess costs 1-2 s of start-up, an in-process import ~0.1 s, so a
worker runs ten to twenty export mutants in the time one subprocess starts. Each job's stdout and stderr
(file descriptors 1 and 2, so C libraries' output is caught too) go to files the parent names, encoded as
a real CLI run's pipes would be; a Python exception escaping ``main`` is written there as the interpreter
would print it. A job that overruns its time limit (CPU seconds; twice as many seconds of wall time) is
interrupted by a signal, and the worker exits after it (or after a MemoryError) so that the parent starts a
clean one. The parent applies RLIMIT_AS before this module runs. Protocol (JSON lines): the worker answers ``{"ready": true}`` once, then one result per job.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


class Hang(BaseException):
    """Raised by SIGPROF or SIGALRM; a BaseException so that no ``except Exception`` in the code under test eats it."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang()


def _redirect(out_path: str, err_path: str) -> tuple[int, int, Any, Any]:
    """Point fds 1 and 2 (and sys.stdout/sys.stderr) at the job's files; return what to restore."""
    saved = os.dup(1), os.dup(2), sys.stdout, sys.stderr
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(target, fd)
        os.close(target)
    # As a real run on pipes: UTF-8 (PEP 538/540), stdout strict, stderr backslashreplace.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    return saved


def _restore(saved: tuple[int, int, Any, Any]) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a stream the job broke: its output is lost, not the worker
            stream.flush()
    fd1, fd2, sys.stdout, sys.stderr = saved
    os.dup2(fd1, 1)
    os.dup2(fd2, 2)
    os.close(fd1)
    os.close(fd2)


def _exit_code(exc: SystemExit) -> int:
    """The process exit status ``sys.exit(code)`` would give (None is 0, a message is 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_job(cli: Callable[[list[str]], None], job: dict[str, Any]) -> dict[str, Any]:
    """Run one CLI invocation under the job's time limit; return its exit code and how it ended."""
    saved = _redirect(job["out"], job["err"])
    # CPU time, so that a loaded machine does not turn slow into "hang"; wall time at twice the limit for a
    # job blocked without using the CPU (a read that never returns).
    signal.setitimer(signal.ITIMER_PROF, float(job["timeout"]))
    signal.setitimer(signal.ITIMER_REAL, 2 * float(job["timeout"]))
    start = time.perf_counter()
    ended, code, error = "exit", 0, ""
    try:
        cli(list(job["argv"]))
    except SystemExit as exc:
        code = _exit_code(exc)
    except Hang:
        ended, code, error = "hang", -1, f"over the {job['timeout']:g} s limit"
    except MemoryError:
        ended, code, error = "memory", 1, "MemoryError"
        traceback.print_exc()
    except BaseException as exc:
        ended, code, error = "traceback", 1, f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _restore(saved)
    return {"ended": ended, "code": code, "error": error, "seconds": time.perf_counter() - start}


def main() -> None:
    """Serve jobs from stdin until it closes; exit after a hang or a MemoryError (state may be broken)."""
    jobs = os.fdopen(os.dup(0), "r", encoding="utf-8")
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # no job sees a terminal, as under CI
    os.dup2(devnull, 1)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGPROF, _on_alarm)
    os.environ.pop("FORCE_COLOR", None)
    # Load once what the commands import lazily, as a warm process would have it.
    import metasift.extractor.pdf
    import metasift.extractor.rules
    import metasift.identify
    import metasift.importers  # noqa: F401
    from metasift.cli import main as cli

    results.write(json.dumps({"ready": True}) + "\n")
    results.flush()
    for line in jobs:
        result = run_job(cli, json.loads(line))
        results.write(json.dumps(result) + "\n")
        results.flush()
        if result["ended"] in ("hang", "memory"):
            break
        if result["code"] != 0:
            gc.collect()  # close the stores a failed command left open (a process exit would)


if __name__ == "__main__":
    main()
