"""Starting `metasift review` on a large queue: the first records from the indexes, the rest behind them;
and a reviewer's retrains keep only their latest ranking run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from textual.widgets import Static

from metasift.config import load_protocol
from metasift.records import Record
from metasift.screener.review_session import ReviewSession
from metasift.store import Store
from metasift.store import review_queue as rq
from metasift.store import schema as t
from metasift.tui.review_app import ReviewApp
from tests.helpers import edit_protocol, seed_store

TA = "title_abstract"
ROOT = Path(__file__).resolve().parents[1]


def _ranked(project: Path, n: int = 30) -> Store:
    edit_protocol(project, **{"humans_per_record = 2 ": "humans_per_record = 1 "})
    store = seed_store(project, [Record(title=f"Study {i + 1}", abstract="peer support", year=2020)
                                 for i in range(n)], sha="h")
    store.save_rankings(TA, "svm", {}, {rid: ((rid * 7) % n) / n for rid in range(1, n + 1)}, trained_on=5)
    return store


def test_the_queue_head_then_the_rest_give_the_whole_queues_order(project: Path) -> None:
    store = _ranked(project)
    for rid in (23, 4):  # alice decided two of the top records before
        store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="alice", label="exclude")
    protocol = load_protocol(project)
    whole = ReviewSession(store, protocol, "alice")
    lazy = ReviewSession(store, protocol, "alice", head=5)
    assert not lazy.complete and lazy.queue == whole.queue[:5] and lazy.counts == whole.counts
    first = lazy.current_id()
    lazy.decide("include")
    lazy.apply_rest(lazy.load_rest())
    assert lazy.complete and first == whole.queue[0]
    assert lazy.queue == whole.queue and lazy.current_id() == whole.queue[1]


def test_a_head_decided_through_before_the_rest_arrives_loads_the_rest_itself(project: Path) -> None:
    store = _ranked(project, 8)
    session = ReviewSession(store, load_protocol(project), "alice", head=2)
    for _ in range(8):
        session.decide("exclude")
    assert session.complete and session.current_id() is None and session.done == 8


def test_the_app_draws_the_first_record_from_the_head_and_counts_the_queue_behind_it(project: Path) -> None:
    store = _ranked(project)
    seen: list[str] = []

    async def go() -> None:
        app = ReviewApp(ReviewSession(store, load_protocol(project), "alice", head=3))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen.append(str(app.screen.query_one("#status", Static).content))
            await pilot.press("i", "i", "i", "i")
        app.session.finish()

    asyncio.run(go())
    assert "30 to go" in seen[0]
    assert len(store.decisions(TA)) == 4


HEAVY = {"numpy", "scipy", "sklearn", "pandas"}  # a second or more of imports between them


def test_the_first_record_is_drawn_before_numpy_scipy_sklearn_or_pandas_load(project: Path) -> None:
    """The review app draws the first record with a live ranker and the stopping test set up, but none of
    the libraries they compute with: those load after the first paint, in the worker processes."""
    _ranked(project).close()
    prog = f"""
import asyncio, sys
from pathlib import Path
from metasift.config import load_protocol
from metasift.screener.review_session import QUEUE_HEAD, ReviewSession
from metasift.store import Store
from metasift.tui.review_app import ReviewApp
project = Path({str(project)!r})
session = ReviewSession(Store.open(project), load_protocol(project), "alice", head=QUEUE_HEAD)
assert session.ranker is not None and session.stopping is not None
app = ReviewApp(session)
async def main():
    async with app.run_test(size=(120, 40)):
        while not app.screen.painted_at:
            await asyncio.sleep(0.001)
        print(" ".join(sorted(sys.modules)))
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stdout.split())
    assert "metasift.tui.review_app" in loaded and "metasift.screener.live_rank" in loaded
    assert not {m.split(".")[0] for m in loaded} & HEAVY


def test_a_reviewers_retrain_retires_their_older_runs_and_keeps_screens_and_others(project: Path) -> None:
    store = _ranked(project, 6)  # run 1: `metasift screen`'s
    scores = {rid: rid / 10 for rid in range(1, 7)}
    runs = [store.save_rankings(TA, "svm", {}, scores, trained_on=2, reviewer="alice", chunk=4) for _ in range(3)]
    bobs = store.save_rankings(TA, "svm", {}, scores, trained_on=2, reviewer="bob")
    assert [r.run for r in store.ranking_runs(TA)] == [1, runs[-1], bobs]
    with store.read() as conn:
        left = dict(conn.execute(select(t.rankings.c.run, func.count()).group_by(t.rankings.c.run)).all())
        events = conn.execute(select(t.events.c.actor, t.events.c.payload)
                              .where(t.events.c.action == "prune_rankings").order_by(t.events.c.id)).all()
    assert left == {1: 6, runs[-1]: 6, bobs: 6}  # the retired runs' rows are gone
    assert [(actor, payload["runs"], payload["kept"]) for actor, payload in events] == [
        ("alice", [runs[0]], runs[1]), ("alice", [runs[1]], runs[2])]
    assert rq.queue_run(store, TA, "alice", rq.Counting(needed=2)) == runs[-1]
    kept = store.save_rankings(TA, "svm", {}, scores, trained_on=2, reviewer="alice", prune=False)
    assert [r.run for r in store.ranking_runs(TA)] == [1, runs[-1], bobs, kept]
