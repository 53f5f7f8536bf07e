"""Review app speed with 50,000 records: keypress → next record drawn (target < 50 ms), startup (< 1.5 s).

Builds a 50,000-record project (real titles and abstracts from the labelled screening sets in ../shared,
repeated; synthetic text when ../shared is absent), a ranker run over all of them and 5,000 earlier
decisions by another reviewer, then:
- startup: a fresh Python process imports the app, opens the store, reads the head of alice's queue (as
  `metasift review` does; the rest loads behind the first record) and draws the first record (headless
  Textual), timed from before the process is spawned until the first paint; the median of ``--runs`` runs,
  with where the time went (interpreter start, imports, store + session, the app until the first paint)
  and how long after the first paint the deferred parts arrived (the whole queue counted, the stopping
  test's line). With ``--baseline DIR`` (a source tree from before a change: ``git archive main | tar -x
  -C DIR``) the same runs alternate with that code's (``PYTHONPATH=DIR``), so both see the same machine
  load; the load average is printed before and after;
- keypress latency: 300 decisions (include / maybe / exclude-with-reason-picker / undo) sent as key events
  to the running app, each timed from the key event until the next record has been drawn.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCREENING = REPO.parent / "shared" / "data" / "screening"
N = 50_000

STARTUP = """
import sys, time, asyncio
t_spawn, t_python = float(sys.argv[2]), time.time()
from pathlib import Path
from metasift.config import load_protocol
from metasift.store import Store
from metasift.tui.review_app import ReviewApp
from metasift.screener.review_session import QUEUE_HEAD, ReviewSession
t_imported = time.time()
project = Path(sys.argv[1])
store = Store.open(project)
app = ReviewApp(ReviewSession(store, load_protocol(project), "alice", head=QUEUE_HEAD))  # as `metasift review`
t_session = time.time()
async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.screen.painted_at:
            await asyncio.sleep(0.001)
        t_paint = time.time() - (time.perf_counter() - app.screen.painted_at)
        screen, session = app.screen, app.screen.session
        t_queue = t_stop = None
        while time.time() < t_paint + 30 and (t_queue is None or t_stop is None):  # the deferred parts
            if t_queue is None and session.complete:
                t_queue = time.time()
            tracker = session.stopping
            if t_stop is None and (tracker is None or tracker.loaded and not screen._stopping_busy):
                t_stop = time.time()
            await asyncio.sleep(0.005)
        print(*(x - t_spawn for x in (t_python, t_imported, t_session, t_paint)),
              *((x - t_paint) if x is not None else -1.0 for x in (t_queue, t_stop)))
asyncio.run(main())
"""
PHASES = ("interpreter", "imports", "store + session", "app → first paint")


def base_records() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for f in sorted(SCREENING.glob("*.csv")) if SCREENING.is_dir() else []:
        with open(f, encoding="utf-8") as fh:
            rows += [r for r in csv.DictReader(fh) if r["title"]]
    if not rows:
        rows = [{"title": f"Randomised trial {i} of online peer support for depression",
                 "abstract": "We randomised adults to a Facebook group or a waiting list. " * 8, "year": "2015"}
                for i in range(1000)]
    return rows


def seed_project(project: Path, n: int = N) -> Any:
    """A new project at ``project`` with ``n`` records (the shared titles and abstracts, repeated) and one
    ranking run scoring them all; the open Store."""
    from typer.testing import CliRunner

    from metasift.cli import app
    from metasift.records import Record
    from metasift.store import Store

    assert CliRunner().invoke(app, ["init", str(project)]).exit_code == 0
    base = base_records()
    recs = []
    for i in range(n):
        r = base[i % len(base)]
        year = int(r["year"]) if (r.get("year") or "").isdigit() else None
        recs.append(Record(title=r["title"] if i < len(base) else f"{r['title']} ({i // len(base) + 1})",
                           abstract=r.get("abstract") or None, year=year, authors=["Smith, A", "Chen, B"],
                           journal="J Test"))
    store = Store.open(project)
    store.add_import(path=project / "big.ris", sha256="b" * 64, source="Bench", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=recs)
    scores = {rid: ((rid * 7919) % 1000) / 1000 for rid in range(1, n + 1)}
    store.save_rankings("title_abstract", "bench", {}, scores, trained_on=500)
    return store


def build(project: Path) -> None:
    store = seed_project(project)
    with store.write() as conn:
        for rid in range(1, 5001):
            store.add_decision(record_id=rid * 10, stage="title_abstract", decider_kind="human", decider="bob",
                               label="exclude" if rid % 3 else "include", conn=conn)
    store.close()


def startup(project: Path, runs: int = 7, baseline: Path | None = None,
            pycache: Path | None = None) -> dict[str, list[list[float]]]:
    """Spawn → first paint, ``runs`` times (alternating with ``baseline``'s code when given): per code, one
    row per run of (the phase ends after spawn..., seconds after the first paint until the whole queue was
    counted, until the stopping test's line was computed). ``pycache``: compiled bytecode is kept there
    (``PYTHONPYCACHEPREFIX``), written by one untimed run per code first, as an installed package has it;
    else the environment decides (``PYTHONDONTWRITEBYTECODE=1``: metasift's sources compile at every start)."""
    codes = {"current": REPO, **({"baseline": baseline.resolve()} if baseline is not None else {})}
    out: dict[str, list[list[float]]] = {name: [] for name in codes}
    base_env = dict(os.environ)
    if pycache is not None:
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        base_env["PYTHONPYCACHEPREFIX"] = str(pycache)
    for i in range(-1 if pycache is not None else 0, runs):
        for name, tree in codes.items():
            # the tree's own directory first on sys.path (``-c`` puts the cwd there), and PYTHONPATH for
            # the worker processes it spawns
            env = {**base_env, "PYTHONPATH": str(tree)}
            t = time.time()
            res = subprocess.run([sys.executable, "-c", STARTUP, str(project), repr(t)], capture_output=True,
                                 text=True, cwd=tree, env=env, check=True)
            if i >= 0:  # -1: the run that wrote the bytecode
                out[name].append([float(x) for x in res.stdout.split()])
    return out


def report_startup(times: dict[str, list[list[float]]]) -> float:
    """Print the medians and the breakdown; returns the current code's median spawn → first paint."""
    for name, rows in times.items():
        cols = list(zip(*rows, strict=True))
        ends = [statistics.median(c) for c in cols[:4]]
        phases = [ends[0]] + [b - a for a, b in itertools.pairwise(ends)]
        total = cols[3]
        print(f"startup ({name} code): spawn → first record drawn, median {ends[3]:.2f} s "
              f"(min {min(total):.2f}, max {max(total):.2f}, n={len(total)}); runs: "
              + " ".join(f"{x:.2f}" for x in total))
        print("  median phases: " + ", ".join(f"{p} {x:.3f} s" for p, x in zip(PHASES, phases, strict=True)))
        after = [statistics.median([x for x in c if x >= 0] or [-1.0]) for c in cols[4:6]]
        print(f"  after the first paint (median): whole queue counted +{after[0]:.2f} s, "
              f"stopping test line +{after[1]:.2f} s")
    return statistics.median(r[3] for r in times["current"])


def key_timer(app, pilot):
    """``key(k, wait_paint)``: send key ``k`` to the running app as a real key event; with ``wait_paint``,
    the milliseconds until the screen is next painted (key → next record drawn), else 0 after the app settles."""
    from textual import events

    screen = app.screen

    async def key(k: str, wait_paint: bool) -> float:
        before = screen.painted_at
        t0 = time.perf_counter()
        app._driver.send_message(events.Key(k, k if len(k) == 1 else None))
        if wait_paint:
            while screen.painted_at == before:
                await asyncio.sleep(0)
            return (screen.painted_at - t0) * 1000
        await pilot.pause()
        return 0.0

    return key


async def keypresses(project: Path, n: int = 300) -> dict[str, list[float]]:

    from metasift.config import load_protocol
    from metasift.screener.review_session import QUEUE_HEAD, ReviewSession
    from metasift.store import Store
    from metasift.tui.review_app import ReviewApp

    store = Store.open(project)
    app = ReviewApp(ReviewSession(store, load_protocol(project), "alice", head=QUEUE_HEAD))
    times: dict[str, list[float]] = {"include": [], "maybe": [], "exclude (Enter in picker)": [], "undo": []}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        key = key_timer(app, pilot)

        for i in range(n):
            kind = i % 4
            if kind == 0:
                times["include"].append(await key("i", True))
            elif kind == 1:
                times["maybe"].append(await key("m", True))
            elif kind == 2:
                await key("e", False)  # opens the reason picker
                await key("1", False)
                times["exclude (Enter in picker)"].append(await key("enter", True))
            else:
                times["undo"].append(await key("u", True))
        decided = app.screen.session.done
    store.close()
    print(f"  decisions left in the store by the run: {decided}")
    return times


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="startup runs (per code with --baseline)")
    ap.add_argument("--baseline", type=Path, help="source tree from before the change (run with PYTHONPATH)")
    ap.add_argument("--startup-only", action="store_true", help="skip the keypress part")
    ap.add_argument("--cached-bytecode", action="store_true",
                    help="start with metasift's bytecode compiled beforehand, as an installed package starts "
                         "(by default the environment decides: PYTHONDONTWRITEBYTECODE=1 compiles it every time)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        t = time.perf_counter()
        build(project)
        print(f"built a {N:,}-record project (ranker scores, 5,000 decisions by bob) in "
              f"{time.perf_counter() - t:.1f} s")
        print(f"load average before: {load()} ({os.cpu_count()} cores)")
        cached = a.cached_bytecode or not os.environ.get("PYTHONDONTWRITEBYTECODE")
        print("metasift's bytecode: " + ("compiled beforehand" if cached else
                                         "compiled at every start (PYTHONDONTWRITEBYTECODE=1; see --cached-bytecode)"))
        best = report_startup(startup(project, a.runs, a.baseline,
                                      Path(tmp) / "pycache" if a.cached_bytecode else None))
        print(f"load average after: {load()}")
        print(f"startup median {best:.2f} s (target < 1.5 s): {'OK' if best < 1.5 else 'SLOW'}")
        if a.startup_only:
            return 0
        times = asyncio.run(keypresses(project))
        worst_p95 = 0.0
        for name, ms in times.items():
            ms = sorted(ms)
            p95 = ms[int(0.95 * (len(ms) - 1))]
            worst_p95 = max(worst_p95, p95)
            print(f"keypress → next record drawn, {name:26s}: median {statistics.median(ms):5.1f} ms, "
                  f"p95 {p95:5.1f} ms, max {ms[-1]:5.1f} ms (n={len(ms)})")
        print(f"keypress p95 {worst_p95:.1f} ms (target < 50 ms): {'OK' if worst_p95 < 50 else 'SLOW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
