"""Re-ranking during review with 50,000 records: how long a retrain takes, and keypress → next record
while one runs in the app's thread worker (target p95 < 100 ms).

Builds bench_review's 50,000-record project (a ranker run over all records, 5,000 earlier decisions by
bob), then:
- retrain: ``LiveRanker.retrain`` timed directly, the first one (features built over every record's text,
  then fit, score, save) and the next ones (fit, score, save), with alice's decisions growing;
- the stopping test: reading the project's history and one estimate (both run in a worker after each
  decision, off the keypress);
- keypresses: 400 keys (include, maybe, exclude with a reason, undo) sent as key events to the running
  app with ``retrain_every = [5]``, so a retrain (or, at first, the features being built for it) is
  running for most of them; each timed from the key event until the next record is drawn, split by
  whether a retrain was running when the key was sent. Keys come every 0.15 s (a reviewer reading takes
  seconds per record), so retrains finish and the next starts. The stopping test is recomputed after
  every decision meanwhile, as in real use.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_review import N, build, key_timer

PACE = 0.15  # seconds between keys: ten times a fast reviewer's pace, so retrains get their turn


def _pct(ms: list[float], q: float) -> float:
    ms = sorted(ms)
    return ms[int(q * (len(ms) - 1))]


def retrain_times(project: Path, rounds: int = 3) -> None:
    from metasift.config import load_protocol
    from metasift.screener.live_rank import LiveRanker
    from metasift.screener.review_session import ReviewSession
    from metasift.screener.stopping import screening_history, status_estimate
    from metasift.store import Store
    from metasift.store import review_queue as rq

    store = Store.open(project)
    protocol = load_protocol(project)
    session = ReviewSession(store, protocol, "alice")
    ranker = LiveRanker(store, protocol, "alice", rq.Counting.of(protocol), inline=True)  # the work itself
    for i in range(rounds):
        for _ in range(10):  # alice decides ten records between retrains
            session.decide("include" if session.done % 4 == 0 else "exclude")
        r = ranker.retrain(session.done)
        kind = "first (features + fit + score + save)" if i == 0 else "next (fit + score + save)"
        print(f"retrain {i + 1}, {kind:38s}: {r.seconds:6.2f} s (features {r.features_seconds:.2f} s; "
              f"trained on {r.trained_on} labels, {r.includes} relevant)")
    # the status line's stopping test: the project's history (one reviewer per record), and under dual
    # screening alice's own decisions only (the project's would unblind her)
    for name, decider in (("project history", None), ("alice's own (dual)", "alice")):
        t0 = time.perf_counter()
        history = screening_history(store, humans_needed=1, decider=decider)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = status_estimate(history.labels, history.n_total, 0.95, 0.95)
        took = time.perf_counter() - t0
        print(f"stopping test, {name:18s}: history read {read * 1000:5.0f} ms ({len(history.labels):,} screened "
              f"of {history.n_total:,}), estimate {took * 1000:5.0f} ms ({est.includes_found} relevant, "
              f"p = {est.p_value:.3g}); both in a worker process, never on a keypress")
    while session.undo() is not None and session.done:  # leave the project as built for the next part
        pass
    session.finish()
    store.close()


async def keypresses(project: Path, n: int = 400) -> tuple[list[float], list[float], int, int]:

    from metasift.config import load_protocol
    from metasift.screener.review_session import ReviewSession
    from metasift.store import Store
    from metasift.tui.review_app import ReviewApp

    store = Store.open(project)
    session = ReviewSession(store, load_protocol(project), "alice")
    app = ReviewApp(session)
    busy: list[float] = []
    idle: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        key = key_timer(app, pilot)

        for i in range(n):
            await asyncio.sleep(PACE)
            running = session.retraining
            kind = i % 4
            if kind == 0:
                ms = await key("i", True)
            elif kind == 1:
                ms = await key("m", True)
            elif kind == 2:
                await key("e", False)  # opens the reason picker
                await key("1", False)
                ms = await key("enter", True)
            else:
                ms = await key("u", True)
            (busy if running else idle).append(ms)
        await app.workers.wait_for_complete()
        reranked = app.screen.reranked
        decided = session.done
    session.finish()
    store.close()
    return busy, idle, reranked, decided


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        t = time.perf_counter()
        build(project)
        toml = project / "review.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("retrain_every = [10, 50]", "retrain_every = [5]"),
                        encoding="utf-8")
        print(f"built a {N:,}-record project (ranker scores, 5,000 decisions by bob) in "
              f"{time.perf_counter() - t:.1f} s")
        retrain_times(project)
        worst = 0.0
        for setting, edit in (("dual screening, stopping test on alice's own decisions", None),
                              ("one reviewer per record, stopping test on the project's 5,000+ decisions",
                               ("humans_per_record = 2 ", "humans_per_record = 1 "))):
            if edit:
                toml.write_text(toml.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
            t = time.perf_counter()
            busy, idle, reranked, decided = asyncio.run(keypresses(project))
            print(f"keypresses, {setting}: {len(busy) + len(idle)} keys in {time.perf_counter() - t:.1f} s, "
                  f"{reranked} retrain(s) applied, {decided} decisions by alice so far")
            for name, ms in (("while a retrain runs", busy), ("no retrain running", idle)):
                if ms:
                    print(f"  keypress → next record drawn, {name:21s}: median {statistics.median(ms):5.1f} ms, "
                          f"p95 {_pct(ms, 0.95):5.1f} ms, max {max(ms):6.1f} ms (n={len(ms)})")
            worst = max(worst, _pct(busy, 0.95) if busy else 0.0)
        print(f"keypress p95 while retraining, worst setting {worst:.1f} ms (target < 100 ms): "
              f"{'OK' if worst < 100 else 'SLOW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
