"""Benchmark: does the buscar stopping rule keep its recall promise on real screening sets?

For each labelled set in ../shared/data/screening (skipped cleanly when absent) and each seed, one simulated
screening run (svm ranker, 1 + 1 random priors, the *adaptive* retraining schedule of
``metasift simulate --retrain adaptive`` — per-record retraining is too slow for 20 seeds of the 5,782-record
PTSD set) watches two rules in the same run: buscar at target recall 0.95 and 95 % confidence, and the rule of
thumb "stop after 50 irrelevant records in a row". Printed per set: recall at the buscar stop (mean, min,
share of runs with recall >= 0.95, which the rule promises to be >= 0.95), records screened there, work saved
against screening everything, and the heuristic's records screened and recall. Recall counts every include,
the prior one among the found. A plot of recall at the stop per set goes to bench/out/stopping_recall.png.

Columns: recall / min / >=0.95 at the buscar stop; screened (mean records, priors included) and saved
(1 - screened / N); h:scr, h:rec, h:min, h>=.95 the same for the heuristic; b-h the heuristic's records
screened minus buscar's, over N (negative: buscar screens more); s/run one simulation's seconds.
Exit status 1 when fewer than 95 % of all runs reach recall 0.95 at the buscar stop.

Run: .venv/bin/python bench/bench_stopping.py [--seeds 20] [--jobs 2] [--sets adhd ace]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"
OUT = Path(__file__).resolve().parent / "out"


def one_run(path: str, seed: int) -> dict[str, float]:
    """One seeded simulation of ``path`` until both rules have fired; the two stop points."""
    from metasift.screener.labelled import read_labelled_csv
    from metasift.screener.simulate import StopRule, run_simulation

    data = read_labelled_csv(Path(path))
    res = run_simulation(data.texts, data.labels, seed=seed, retrain="adaptive",
                         stop=StopRule(target_recall=0.95, confidence=0.95, heuristic_run=50, until="both"))
    b, h = res.stops["buscar"], res.stops["heuristic"]
    return {"n": res.n_records, "b_screened": b.screened, "b_recall": b.recall, "b_fired": b.fired,
            "h_screened": h.screened, "h_recall": h.recall, "h_fired": h.fired, "seconds": res.seconds}


def summarise(name: str, runs: list[dict[str, float]]) -> str:
    """One table row for a set."""
    a = {k: np.asarray([r[k] for r in runs], dtype=float) for k in runs[0]}
    n = a["n"][0]
    return (f"{name[:34]:<34s} {int(n):5d} {len(runs):5d} {a['b_recall'].mean():7.3f} {a['b_recall'].min():6.3f} "
            f"{(a['b_recall'] >= 0.95 - 1e-12).mean():7.0%} {a['b_screened'].mean():8.0f} "
            f"{1 - a['b_screened'].mean() / n:7.1%} {a['h_screened'].mean():8.0f} {a['h_recall'].mean():7.3f} "
            f"{a['h_recall'].min():6.3f} {(a['h_recall'] >= 0.95 - 1e-12).mean():6.0%} "
            f"{(a['h_screened'].mean() - a['b_screened'].mean()) / n:+8.1%} {a['seconds'].mean():6.1f}")


def plot(results: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Recall at the buscar stop (dots per seed) and at the heuristic stop, per set."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    for i, runs in enumerate(results.values()):
        for dx, key, colour, label in ((-0.15, "b_recall", "#1f77b4", "buscar 0.95 / 0.95"),
                                       (0.15, "h_recall", "#ff7f0e", "50 irrelevant in a row")):
            y = [r[key] for r in runs]
            ax.scatter(i + dx + rng.uniform(-0.05, 0.05, len(y)), y, s=14, color=colour, alpha=0.7,
                       label=label if i == 0 else None)
    ax.axhline(0.95, color="#d62728", ls=":", lw=1)
    short = {"cohen_adhd": "ADHD", "cohen_atypical_antipsychotics": "atyp. antipsych.", "cohen_ace_inhibitors": "ACE",
             "bannach_brown_2019_depression_animal": "depression (animal)", "van_de_Schoot_2017_ptsd": "PTSD"}
    ax.set_xticks(range(len(results)), [short.get(n, n[:16]) for n in results], fontsize=8)
    ax.set_ylabel("recall at the stop")
    ax.set_title("Recall at the stop, per labelled set and seed (svm, adaptive retraining)")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per set (0..N-1)")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--sets", nargs="*", help="only sets whose file name contains one of these")
    args = parser.parse_args()
    files = sorted(DATA.glob("*.csv"), key=lambda p: p.stat().st_size)
    if args.sets:
        files = [f for f in files if any(s in f.stem for s in args.sets)]
    if not files:
        print(f"skipped: no labelled sets in {DATA}")
        return 0
    started = time.perf_counter()
    print(f"{'dataset':<34s} {'N':>5s} {'runs':>5s} {'recall':>7s} {'min':>6s} {'>=0.95':>7s} {'screened':>8s} "
          f"{'saved':>7s} {'h:scr':>8s} {'h:rec':>7s} {'h:min':>6s} {'h>=.95':>6s} {'b-h':>8s} {'s/run':>6s}")
    results: dict[str, list[dict[str, float]]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {f: [pool.submit(one_run, str(f), seed) for seed in range(args.seeds)] for f in files}
        for f, fs in futures.items():
            results[f.stem] = [x.result() for x in fs]
            print(summarise(f.stem, results[f.stem]), flush=True)
    every = [r for runs in results.values() for r in runs]
    share = np.mean([r["b_recall"] >= 0.95 - 1e-12 for r in every])
    print(f"all sets: {len(every)} runs, recall >= 0.95 at the buscar stop in {share:.1%} "
          f"(heuristic: {np.mean([r['h_recall'] >= 0.95 - 1e-12 for r in every]):.1%}); "
          f"{time.perf_counter() - started:.0f} s wall, {args.jobs} workers")
    plot(results, OUT / "stopping_recall.png")
    print(f"plot: {OUT / 'stopping_recall.png'}")
    return 0 if share >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
