"""Benchmark: simulated screening on the labelled sets in ../shared/data/screening (3 seeds per ranker).

Prints, per dataset and ranker: WSS@95, recall after screening 10 % of the records (RRF@10), records
to find 95 % of the includes, where the buscar stopping test (target recall 0.95, 95 % confidence) would
have stopped and the recall reached there, and the wall time of one simulation.

Run: .venv/bin/python bench/bench_ranker.py [--ranker logistic] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from metasift.screener.labelled import read_labelled_csv
from metasift.screener.ranker import RANKERS
from metasift.screener.simulate import run_simulation
from metasift.screener.stopping import min_p, missing_for_target

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"


def buscar_stop(labels_in_order: np.ndarray, n_total: int, every: int = 10) -> int | None:
    """First history length (checked every ``every`` records) at which buscar says recall >= 0.95."""
    for n in range(every, labels_in_order.size + 1, every):
        seen = labels_in_order[:n]
        if min_p(seen, n_total, missing_for_target(int(seen.sum()), 0.95)) < 0.05:
            return n
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranker", choices=sorted(RANKERS), action="append")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    files = sorted(DATA.glob("*.csv"))
    if not files:
        print(f"skipped: no labelled sets in {DATA}")
        return 0
    print(f"{'dataset':<38s} {'ranker':<12s} {'N':>5s} {'incl':>4s} {'WSS@95':>7s} {'RRF@10':>7s} "
          f"{'n@95%':>6s} {'stop@':>6s} {'recall@stop':>11s} {'time s':>7s}")
    for path in files:
        data = read_labelled_csv(path)
        for ranker in args.ranker or sorted(RANKERS):
            rows = []
            for seed in args.seeds:
                res = run_simulation(data.texts, data.labels, ranker=ranker, seed=seed)
                y = np.asarray(data.labels)[res.order]
                stop = buscar_stop(y, len(y))
                recall_at_stop = y[:stop].sum() / y.sum() if stop else 1.0
                rows.append((res.wss95, res.rrf10, res.n_screened_95, stop or len(y), recall_at_stop,
                             res.seconds))
            a = np.asarray(rows, dtype=float)
            mean, low, high = a.mean(axis=0), a.min(axis=0), a.max(axis=0)
            print(f"{path.stem[:38]:<38s} {ranker:<12s} {len(data.labels):5d} {data.n_included:4d} "
                  f"{mean[0]:7.3f} {mean[1]:7.3f} {mean[2]:6.0f} {mean[3] / len(data.labels):6.1%} "
                  f"{mean[4]:11.3f} {mean[5]:7.1f}   (WSS@95 {low[0]:.3f}-{high[0]:.3f}, "
                  f"recall@stop min {low[4]:.3f}, time max {high[5]:.1f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
