"""Run fuzz mutants through the real CLI path and judge each outcome.

``WorkerPool`` keeps a few long-lived worker subprocesses (``tests.fuzz.worker``), each with RLIMIT_AS set
before it starts, and hands them jobs; a worker that overruns a job's limit by the grace period is killed
and replaced. ``run_cases`` writes each mutant (and, for an export, a fresh project copied from a template
made by ``metasift init``), runs ``metasift import FILE --project P`` or ``metasift extract-pdf FILE --json``,
and classifies the result:

    imported       exit 0 with records in the store (for a PDF: exit 0 and a JSON object on stdout)
    clean_error    one stderr line starting "error:", exit code in the MetasiftError range, no traceback
    unclean_error  no traceback, but not exactly one "error:" line on stderr or an exit code outside the range
    empty_ok       exit 0 but no records imported (or no JSON for a PDF)
    traceback      a Python traceback on stderr
    hang           over the time limit
    memory         MemoryError under the memory limit
    crash          the worker died (a signal, e.g. SIGSEGV in a C library or SIGKILL)

and, after any failure of an import, whether the store changed (its sha256, or a -wal/-journal with content).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import selectors
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from tests.fuzz.mutators import mutate
from tests.fuzz.seeds import MEMORY_LIMIT_BYTES, PDF_TIMEOUT_S, REPO, TIMEOUT_S, Case

GRACE_S = 5.0  # the parent kills a worker this long after twice a job's limit (the worker's wall-time limit)
OK = ("imported", "clean_error")
CATEGORIES = ("imported", "clean_error", "unclean_error", "empty_ok", "traceback", "hang", "memory", "crash")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def metasift_exit_codes() -> set[int]:
    """Every exit code a MetasiftError subclass maps to (the range a clean error may use)."""
    import metasift.extractor.pdf  # noqa: F401 - PdfError (exit 7) lives there
    from metasift.errors import MetasiftError

    codes: set[int] = set()
    todo: list[type] = [MetasiftError]
    while todo:
        cls = todo.pop()
        codes.add(cls.exit_code)
        todo.extend(cls.__subclasses__())
    return codes


@dataclass
class Job:
    """One CLI invocation for a worker: argv and the files its stdout and stderr go to."""

    argv: list[str]
    out: Path
    err: Path
    timeout: float = TIMEOUT_S
    tag: Any = None

    def payload(self) -> str:
        return json.dumps({"argv": self.argv, "out": str(self.out), "err": str(self.err),
                           "timeout": self.timeout}) + "\n"


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


class _Worker:
    """One worker subprocess and the job it is running."""

    def __init__(self, memory_limit: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
        env.pop("METASIFT_PROJECT", None)
        env.update(PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     preexec_fn=_limit_memory(memory_limit),
                                     text=False)
        self.buffer = b""
        self.ready = False
        self.job: Job | None = None
        self.deadline = time.monotonic() + 120.0  # start-up

    def send(self, job: Job) -> None:
        self.job = job
        self.deadline = time.monotonic() + 2 * job.timeout + GRACE_S
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(job.payload().encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died: the end of its stdout reports the job as a crash

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class WorkerPool:
    """A few long-lived workers running jobs in parallel; hung or dead workers are replaced."""

    def __init__(self, size: int = 2, memory_limit: int = MEMORY_LIMIT_BYTES) -> None:
        self.size, self.memory_limit = size, memory_limit
        self.workers: list[_Worker] = []
        self.restarts = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self.workers:
            if w.proc.stdin is not None and not w.proc.stdin.closed:
                w.proc.stdin.close()
            try:
                w.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            w.kill()
        self.workers = []

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.workers[self.workers.index(worker)] = _Worker(self.memory_limit)
        self.restarts += 1

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Run ``jobs`` (at most ``size`` at a time); yield each with its result, in completion order."""
        pending = iter(jobs)
        while len(self.workers) < self.size:
            self.workers.append(_Worker(self.memory_limit))
        selector = selectors.DefaultSelector()
        exhausted = False
        try:
            while True:
                for w in self.workers:
                    if w.ready and w.job is None and not exhausted:
                        job = next(pending, None)
                        if job is None:
                            exhausted = True
                        else:
                            w.send(job)
                if exhausted and all(w.job is None for w in self.workers):
                    return
                yield from self._collect(selector)
        finally:
            selector.close()

    def _collect(self, selector: selectors.BaseSelector) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Wait for the next worker message or deadline; yield finished jobs, replace dead or hung workers."""
        for key in list(selector.get_map().values()):
            selector.unregister(key.fileobj)
        for w in self.workers:
            assert w.proc.stdout is not None
            selector.register(w.proc.stdout, selectors.EVENT_READ, w)
        wait = max(0.0, min(w.deadline for w in self.workers) - time.monotonic())
        events = selector.select(timeout=wait)
        for key, _ in events:
            w: _Worker = key.data
            chunk = os.read(key.fileobj.fileno(), 1 << 16)  # type: ignore[union-attr]
            if not chunk:
                yield from self._dead(w, "crash")
                continue
            w.buffer += chunk
            while b"\n" in w.buffer:
                line, w.buffer = w.buffer.split(b"\n", 1)
                message = json.loads(line)
                if message.get("ready"):
                    w.ready, w.deadline = True, float("inf")
                    continue
                job, w.job, w.deadline = w.job, None, float("inf")
                assert job is not None
                if message["ended"] in ("hang", "memory"):
                    self._replace(w)  # it exits after these: never hand it another job
                yield job, message
                break
        now = time.monotonic()
        for w in list(self.workers):
            if w.deadline <= now:
                yield from self._dead(w, "hang")
            elif w.job is None and w.ready and w.proc.poll() is not None:
                self._replace(w)  # exited by itself after a hang or MemoryError

    def _dead(self, w: _Worker, ended: str) -> Iterator[tuple[Job, dict[str, Any]]]:
        job = w.job
        if w.proc.poll() is not None and ended == "crash":
            ended = f"crash (signal {-w.proc.returncode})" if w.proc.returncode < 0 else "crash"
        self._replace(w)
        if job is None and not w.ready:
            raise RuntimeError("a fuzz worker failed to start: run `python -m tests.fuzz.worker` to see why")
        if job is not None:
            yield job, {"ended": ended.split(" ")[0], "code": -1, "error": ended, "seconds": job.timeout}


# ---------------------------------------------------------------- cases: mutants, projects, verdicts


@dataclass
class Outcome:
    """What one mutant did, judged."""

    label: str
    kind: str
    category: str
    exit_code: int
    stderr: str
    error: str = ""
    seconds: float = 0.0
    records: int = 0
    store_changed: bool = False
    ops: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.category not in OK or self.store_changed

    @property
    def signature(self) -> str:
        """How it failed, for grouping and minimising: category plus the exception's type and innermost frame."""
        frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', self.stderr)
        where = f"{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else ""
        kind = self.error.split(":", 1)[0] if self.category == "traceback" else ""
        return "|".join(x for x in (self.category + ("+store" if self.store_changed else ""), kind, where) if x)

    def summary(self) -> str:
        detail = self.error or (self.stderr.strip().splitlines() or [""])[-1]
        return f"{self.label} [{'+'.join(self.ops)}]: {self.signature}: {detail[:200]}"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_template(pool: WorkerPool, root: Path) -> tuple[Path, str]:
    """A project made by ``metasift init`` (through a worker) to copy for every import; and its store's sha256."""
    project = root / "template"
    job = Job(["init", str(project)], root / "init.out", root / "init.err", timeout=60)
    (_, result), = list(pool.run([job]))
    if result["code"] != 0:
        raise RuntimeError(f"metasift init failed: {job.err.read_text(errors='replace')}")
    return project, sha256_file(project / "metasift.db")


def _store_changed(project: Path, template_sha: str) -> bool:
    db = project / "metasift.db"
    if not db.exists() or sha256_file(db) != template_sha:
        return True
    return any((project / f"metasift.db{s}").exists() and (project / f"metasift.db{s}").stat().st_size > 0
               for s in ("-wal", "-journal"))


def _count_records(project: Path) -> int:
    try:
        with sqlite3.connect(project / "metasift.db") as conn:
            return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.Error:
        return 0


def judge(stdout: str, stderr: str, result: dict[str, Any], *, pdf: bool, records: int,
          codes: set[int]) -> str:
    """The category of one run (see the module docstring)."""
    ended, code = result["ended"], result["code"]
    if ended in ("hang", "memory", "crash"):
        return ended
    if ended == "traceback" or "Traceback (most recent call last)" in stderr:
        return "traceback"
    if code == 0:
        if pdf:
            try:
                return "imported" if isinstance(json.loads(stdout), dict) else "empty_ok"
            except ValueError:
                return "empty_ok"
        return "imported" if records > 0 else "empty_ok"
    lines = [ln for ln in _ANSI.sub("", stderr).splitlines() if ln.strip()]
    if code in codes and len(lines) == 1 and lines[0].startswith("error:"):
        return "clean_error"
    return "unclean_error"


def argv_for(mutant: Path, project: Path | None) -> list[str]:
    """The CLI call a mutant gets: ``extract-pdf FILE --json`` for a PDF, ``import FILE --project P`` otherwise."""
    if mutant.suffix.lower() == ".pdf":
        return ["extract-pdf", str(mutant), "--json"]
    return ["import", str(mutant), "--project", str(project)]


@dataclass
class Runner:
    """A pool, a scratch directory and a template project: runs mutant files and judges them."""

    pool: WorkerPool
    scratch: Path
    template: Path
    template_sha: str
    codes: set[int]
    timeout: float = TIMEOUT_S
    pdf_timeout: float = PDF_TIMEOUT_S
    _n: int = 0

    @classmethod
    def start(cls, workers: int = 2, memory_limit: int = MEMORY_LIMIT_BYTES) -> Runner:
        """Start ``workers`` workers and make the template project."""
        scratch = Path(tempfile.mkdtemp(prefix="metasift-fuzz-"))
        pool = WorkerPool(workers, memory_limit)
        template, sha = make_template(pool, scratch)
        return cls(pool, scratch, template, sha, metasift_exit_codes())

    def close(self) -> None:
        self.pool.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _prepare(self, name: str, data: bytes, tag: Any) -> Job:
        self._n += 1
        case_dir = self.scratch / f"case{self._n}"
        case_dir.mkdir()
        mutant = case_dir / name
        mutant.write_bytes(data)
        project, timeout = None, self.pdf_timeout
        if mutant.suffix.lower() != ".pdf":
            project, timeout = case_dir / "project", self.timeout
            shutil.copytree(self.template, project)
        return Job(argv_for(mutant, project), case_dir / "stdout", case_dir / "stderr", timeout, tag)

    def _judge(self, job: Job, result: dict[str, Any], label: str, kind: str, ops: list[str]) -> Outcome:
        case_dir = job.out.parent
        stdout = job.out.read_text("utf-8", "replace") if job.out.exists() else ""
        stderr = job.err.read_text("utf-8", "replace") if job.err.exists() else ""
        pdf = kind == "pdf"
        project = case_dir / "project"
        records = _count_records(project) if not pdf and result["code"] == 0 and result["ended"] == "exit" else 0
        category = judge(stdout, stderr, result, pdf=pdf, records=records, codes=self.codes)
        changed = not pdf and category != "imported" and _store_changed(project, self.template_sha)
        shutil.rmtree(case_dir, ignore_errors=True)
        return Outcome(label, kind, category, result["code"], stderr[-4000:], result.get("error", ""),
                       result["seconds"], records, changed, ops)

    def run_files(self, items: Iterable[tuple[str, str, bytes, list[str]]]) -> Iterator[Outcome]:
        """Run ``(label, file name, content, ops)`` items; yield an Outcome per item as each finishes."""
        jobs = (self._prepare(name, data, (label, name, ops)) for label, name, data, ops in items)
        for job, result in self.pool.run(jobs):
            label, name, ops = job.tag
            kind = Path(name).suffix.lstrip(".").lower() or "none"
            yield self._judge(job, result, label, kind, ops)

    def run_cases(self, cases: Iterable[Case]) -> Iterator[Outcome]:
        """Mutate each case's source with its seed and run it."""
        def items() -> Iterator[tuple[str, str, bytes, list[str]]]:
            for case in cases:
                data, ops = mutate(case.source.read_bytes(), case.source.name, case.seed)
                yield case.label, case.source.name, data, ops

        yield from self.run_files(items())


def reproduction(case: Case) -> str:
    """A one-line shell reproduction of a case from the repository root."""
    cmd = "extract-pdf /tmp/fuzz-mutant/{n} --json" if case.is_pdf else \
        "init /tmp/fuzz-p >/dev/null && .venv/bin/metasift import /tmp/fuzz-mutant/{n} --project /tmp/fuzz-p"
    return (f".venv/bin/python -m tests.fuzz mutant {case.label} /tmp/fuzz-mutant && "
            f".venv/bin/metasift {cmd.format(n=case.source.name)}")
