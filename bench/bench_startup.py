"""Benchmark (issue #15, "instant start"): whole ``metasift`` commands as a user runs them, start-up included.

Run: .venv/bin/python bench/bench_startup.py [--runs 10] [--baseline DIR] [--no-r] [--r-runs N]

Times, as separate processes, the median of ``--runs`` runs of

* ``metasift --version`` and ``metasift --help``                        (targets < 0.3 s)
* ``metasift meta two.csv --yi yi --vi vi --method REML``, k = 1,000        (target < 0.6 s)
* ``metasift meta three.csv --yi yi --vi vi --multilevel study/es --cluster study --rve CR2``:
  three-level REML + CR2/Satterthwaite on 1,000 effect sizes in 100 studies   (target < 0.6 s)

With ``--baseline DIR`` (a copy of the source tree from before a change, e.g. ``git archive HEAD | tar -x -C
DIR``), the same commands also run on that code (``PYTHONPATH=DIR``, same interpreter), interleaved run by run
with the current code so that both see the same machine load: "before" and "after" side by side.
Without it, "before" is the figure issue #15 reported on a quiet machine.

Where ``Rscript`` with metafor and clubSandwich is installed, the same two fits run as whole R commands
(R start + ``library(metafor)`` + ``read.csv`` + fit + print), beside them; without R that part is skipped.
The load average is printed before and after: figures from a busy machine are slower than a quiet one's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 15  # issue #15

# Whole-command figures from issue #15 (quiet machine, before the lazy imports), in seconds.
ISSUE_BEFORE = {"--version": 0.47, "--help": 0.55, "meta REML k=1000": 2.25}
TARGETS = {"--version": 0.3, "--help": 0.3, "meta REML k=1000": 0.6, "meta 3-level+CR2 1000": 0.6}


@dataclass(frozen=True)
class Case:
    """One command to time: its label, metasift arguments and the equivalent R code (None: no R twin)."""

    label: str
    args: tuple[str, ...]
    r_code: str | None = None


def write_two_level(path: Path, k: int = 1000) -> None:
    """k independent effect sizes (yi, vi), random effects with tau² = 0.04; deterministic."""
    rng = np.random.default_rng(SEED)
    vi = rng.uniform(0.005, 0.3, k)
    yi = rng.normal(0.25, np.sqrt(vi + 0.04))
    _write_csv(path, {"yi": yi, "vi": vi})


def write_three_level(path: Path, k: int = 1000, n_studies: int = 100) -> None:
    """k effect sizes nested in ``n_studies`` studies (study, es, yi, vi): study and effect-size level
    variance 0.09 and 0.04 plus sampling error; deterministic."""
    rng = np.random.default_rng(SEED + 1)
    study = np.sort(rng.integers(0, n_studies, k))
    es = np.zeros(k, dtype=int)
    for i in range(1, k):
        es[i] = es[i - 1] + 1 if study[i] == study[i - 1] else 0
    vi = rng.uniform(0.01, 0.2, k)
    yi = 0.3 + rng.normal(0, 0.3, n_studies)[study] + rng.normal(0, 0.2, k) + rng.normal(0, np.sqrt(vi))
    _write_csv(path, {"study": study + 1, "es": es + 1, "yi": yi, "vi": vi})


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """A plain CSV (full precision, so R and metasift read the same numbers)."""
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    lines = [",".join(names)] + [",".join(repr(float(x)) if isinstance(x, float) else str(x) for x in row)
                                 for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cases(two: Path, three: Path) -> list[Case]:
    """The commands, each with its metafor twin where one exists."""
    read2 = f'd <- read.csv("{two.as_posix()}")'
    read3 = f'd <- read.csv("{three.as_posix()}")'
    return [
        Case("--version", ("--version",)),
        Case("--help", ("--help",)),
        Case("meta REML k=1000", ("meta", str(two), "--yi", "yi", "--vi", "vi", "--method", "REML"),
             f'suppressMessages(library(metafor)); {read2}; print(rma(yi, vi, data=d, method="REML"))'),
        Case("meta 3-level+CR2 1000",
             ("meta", str(three), "--yi", "yi", "--vi", "vi", "--multilevel", "study/es",
              "--cluster", "study", "--rve", "CR2"),
             f"suppressMessages(library(metafor)); suppressMessages(library(clubSandwich)); {read3}; "
             'fit <- rma.mv(yi, vi, random = ~ 1 | study/es, data=d, method="REML"); '
             "print(robust(fit, cluster=d$study, clubSandwich=TRUE))"),
    ]


def metasift_command() -> list[str]:
    """The installed console script next to this interpreter (what a user runs), else ``python -m``."""
    script = Path(sys.executable).parent / "metasift"
    return [str(script)] if script.exists() else [sys.executable, "-m", "metasift"]


@dataclass
class Timings:
    """Wall and CPU (user + system) seconds of the runs of one variant of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, cmd: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Run ``cmd`` once and record its times; a failing command stops the benchmark with its stderr."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        self.wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")

    def median(self) -> str:
        """'wall ms (cpu ms)', medians; a dash without runs."""
        if not self.wall:
            return "—"
        return f"{statistics.median(self.wall) * 1000:.0f} ({statistics.median(self.cpu) * 1000:.0f})"


def r_available() -> str | None:
    """Why R cannot be used, or None when Rscript loads metafor and clubSandwich."""
    if shutil.which("Rscript") is None:
        return "Rscript not on PATH"
    probe = subprocess.run(["Rscript", "-e", "library(metafor); library(clubSandwich)"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "metafor or clubSandwich not installed in R"
    return None


def load_average() -> str:
    """The 1/5/15-minute load average and the CPU count, for judging how quiet the machine was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unavailable"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def print_rows(rows: list[tuple[Case, Timings, Timings, Timings]], baseline: bool) -> None:
    """The table: median wall ms (median CPU ms) per command, before, now, the target and R."""
    before_head = "before (--baseline)" if baseline else "before (issue #15)"
    print(f"\nmedian wall ms (CPU ms: user + system)\n{'command':<22s} {before_head:>20s} {'now':>12s} "
          f"{'target':>13s} {'R metafor':>12s}")
    for case, now, before, r_whole in rows:
        issue = ISSUE_BEFORE.get(case.label)
        before_s = before.median() if before.wall else ("—" if issue is None else f"{issue * 1000:.0f}")
        target = TARGETS.get(case.label)
        verdict = "" if target is None else ("ok" if statistics.median(now.wall) < target else "MISSED")
        target_s = "" if target is None else f"<{target * 1000:.0f} {verdict}"
        print(f"{case.label:<22s} {before_s:>20s} {now.median():>12s} {target_s:>13s} "
              f"{r_whole.median():>12s}")


def main() -> int:
    """Run the benchmark and print one row per command."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--baseline", type=Path, help="source tree from before the change (run with PYTHONPATH)")
    ap.add_argument("--no-r", action="store_true", help="skip the R comparison")
    ap.add_argument("--r-runs", type=int, default=3,
                    help="runs of each R command (default 3: R's three-level model with clubSandwich took "
                         "44 s a run on a loaded 2-CPU machine)")
    a = ap.parse_args()

    r_missing = "--no-r given" if a.no_r else r_available()
    base_env = None
    if a.baseline is not None:
        base_env = {**os.environ, "PYTHONPATH": str(a.baseline.resolve())}
    print(f"start: {load_average()}; median of {a.runs} runs each ({a.r_runs} of each R command)", flush=True)
    with tempfile.TemporaryDirectory(prefix="metasift-startup-") as tmp:
        two, three = Path(tmp) / "two.csv", Path(tmp) / "three.csv"
        write_two_level(two)
        write_three_level(three)
        exe = metasift_command()
        rows = []
        for case in cases(two, three):
            now, before, r_whole = Timings(), Timings(), Timings()
            r_cmd = ["Rscript", "-e", case.r_code] if case.r_code and r_missing is None else None
            for _ in range(a.runs):  # interleaved: every variant sees the same load
                now.run([*exe, *case.args])
                if base_env is not None:
                    before.run([*exe, *case.args], env=base_env)
                if r_cmd is not None and len(r_whole.wall) < a.r_runs:
                    r_whole.run(r_cmd)
            rows.append((case, now, before, r_whole))
            print(f"  done {case.label}", file=sys.stderr, flush=True)
    print_rows(rows, baseline=base_env is not None)
    if r_missing is not None:
        print(f"R comparison skipped: {r_missing}")
    print(f"end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
