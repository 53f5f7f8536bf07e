"""Review app speed with 50,000 records: keypress → next record drawn (target < 50 ms), startup (< 1.5 s).

Builds a 50,000-record project (real titles and abstracts from the labelled screening sets in ../shared,
repeated; synthetic text when ../shared is absent), a ranker run over all of them and 5,000 earlier
decisions by another reviewer, then:
- startup: a fresh Python process imports the app, opens the store, reads the head of alice's queue (as
  `metasift review` does; the rest loads behind the first record) and draws the first record (headless
  Textual), timed from before the process is spawned until the first paint;
- keypress latency: 300 decisions (include / maybe / exclude-with-reason-picker / undo) sent as key events
  to the running app, each timed from the key event until the next record has been drawn.
"""

from __future__ import annotations

import asyncio
import csv
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
from pathlib import Path
t_spawn = float(sys.argv[2])
from metasift.config import load_protocol
from metasift.store import Store
from metasift.tui.review_app import ReviewApp
from metasift.screener.review_session import QUEUE_HEAD, ReviewSession
project = Path(sys.argv[1])
store = Store.open(project)
app = ReviewApp(ReviewSession(store, load_protocol(project), "alice", head=QUEUE_HEAD))  # as `metasift review`
async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.screen.painted_at:
            await asyncio.sleep(0.001)
        print(time.time() - t_spawn, time.time() - t_spawn - (time.perf_counter() - app.screen.painted_at))
asyncio.run(main())
"""


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


def startup(project: Path, runs: int = 3) -> list[tuple[float, float]]:
    out = []
    for _ in range(runs):
        t = time.time()
        res = subprocess.run([sys.executable, "-c", STARTUP, str(project), repr(t)], capture_output=True,
                             text=True, cwd=REPO, check=True)
        total, painted = map(float, res.stdout.split())
        out.append((total, painted))
    return out


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


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        t = time.perf_counter()
        build(project)
        print(f"built a {N:,}-record project (ranker scores, 5,000 decisions by bob) in "
              f"{time.perf_counter() - t:.1f} s")
        runs = startup(project)
        for total, _painted in runs:
            print(f"startup: process spawn → first record drawn {total:.2f} s")
        best = statistics.median(r[0] for r in runs)
        print(f"startup median {best:.2f} s (target < 1.5 s): {'OK' if best < 1.5 else 'SLOW'}")
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
