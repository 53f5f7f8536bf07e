"""Store size after 20 retrains in a review session at 50,000 records: every run kept vs the latest per reviewer.

Each retrain during `metasift review` saves a full ranking run (50,000 scores, with its `rank` event). With
pruning (the default) the run's `prune_rankings` event retires the reviewer's older runs and their rows are
deleted; runs `metasift screen` made are kept. Builds the 50,000-record project of ``bench_review`` once,
copies it, then saves 20 reviewer runs into each copy the way ``LiveRanker.retrain`` does (chunked writes),
and prints the database file's size (after a WAL checkpoint) and the time per save.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

RETRAINS = 20


def size_mb(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size / 1e6


def retrain_runs(project: Path, *, prune: bool) -> tuple[float, float, int]:
    from metasift.screener.live_rank import SAVE_CHUNK
    from metasift.store import Store

    store = Store.open(project)
    ids = list(range(1, 50_001))
    rng = random.Random(7)
    times = []
    for i in range(RETRAINS):
        scores = {rid: rng.random() for rid in ids}
        t = time.perf_counter()
        store.save_rankings("title_abstract", "svm", {"C": 0.11}, scores, trained_on=10 * (i + 1), reviewer="alice",
                            chunk=SAVE_CHUNK, context={"trigger": "bench"}, prune=prune)
        times.append(time.perf_counter() - t)
    runs = len(store.ranking_runs("title_abstract"))
    store.close()
    return size_mb(project / "metasift.db"), sum(times) / len(times), runs


def main() -> int:
    import bench_review

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        bench_review.build(base)
        start = size_mb(base / "metasift.db")
        print(f"50,000-record project with one `metasift screen` run: {start:.1f} MB")
        for prune in (False, True):
            project = Path(tmp) / ("pruned" if prune else "kept")
            shutil.copytree(base, project)
            mb, per_save, runs = retrain_runs(project, prune=prune)
            what = "latest run per reviewer kept (pruned)" if prune else "every run kept"
            print(f"after {RETRAINS} retrains, {what:38s}: {mb:6.1f} MB, {runs} runs readable, "
                  f"{per_save:.2f} s per save")
    return 0


if __name__ == "__main__":
    sys.exit(main())
