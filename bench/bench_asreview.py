"""Benchmark: our simulated screening against ASReview's default model, same data, same priors, same seeds.

For each labelled set in ../shared/data/screening and each seed, our simulation (``screener.simulate``, the
default ranker) draws one included and one excluded prior record; ASReview (its default model, in its own
venv ``bench/.venv-asreview``, made by ``bench/_asreview_venv.sh`` from PyPI) starts from those same rows
with ``--seed`` set to the same number. Both screening orders are scored here by the same functions
(``screener.simulate.wss`` / ``rrf``), over the records screened after the priors, so only the models differ.
ASReview stops at the last include (its default); the unscreened rest are all excludes, so padding them
changes neither metric. Time: wall seconds and CPU seconds (``time.process_time``) of the simulation itself on
each side — ours around ``run_simulation`` (features included), ASReview's around loading the data and
reviewing, measured inside its runner (interpreter start-up and imports left out on both sides); "ratio" is
our CPU over ASReview's, summed over the seeds.

An ASReview run is deterministic given (data file, prior rows, seed, model), so its output is cached in
``bench/.asreview-cache/<dataset>-s<seed>-p<priors>-<ai>.json`` (keyed also by the SHA-256 of the data file
and of the runner script) and iterating on our ranker re-runs only our side. ``--fill-cache`` runs only
ASReview (to fill the cache, e.g. in the background); ``--no-cache`` ignores and overwrites it.

Run: .venv/bin/python bench/bench_asreview.py [--seeds 0 1 2 3 4] [--only adhd] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from metasift.screener.labelled import read_labelled_csv
from metasift.screener.ranker import DEFAULT_RANKER, RANKERS
from metasift.screener.simulate import draw_priors, rrf, run_simulation, screened_to_reach, wss

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "screening"
VENV_SCRIPT = HERE / "_asreview_venv.sh"
RUNNER = HERE / "_asreview_runner.py"
ASREVIEW_PY = HERE / ".venv-asreview" / "bin" / "python"
CACHE = HERE / ".asreview-cache"


def ensure_asreview() -> None:
    """Create the separate ASReview venv if it is missing (pip install from PyPI, never into .venv)."""
    subprocess.run(["bash", str(VENV_SCRIPT)], check=True)


def run_asreview(path: Path, priors: list[int], seed: int, ai: str | None) -> dict[str, Any]:
    """One ASReview simulation in its own venv; the JSON its runner prints."""
    cmd = [str(ASREVIEW_PY), str(RUNNER), str(path), "--prior-idx", *map(str, priors), "--seed", str(seed)]
    if ai:
        cmd += ["--ai", ai]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ASReview failed on {path.name} seed {seed}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


@functools.cache
def file_sha256(path: Path) -> str:
    """Content hash for cache keys (mtimes change when data is re-synced or the repo is cloned)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_path(path: Path, priors: list[int], seed: int, ai: str | None) -> Path:
    """Where one ASReview run's output is cached."""
    return CACHE / f"{path.stem}-s{seed}-p{'_'.join(map(str, priors))}-{ai or 'default'}.json"


def cached_asreview(path: Path, priors: list[int], seed: int, ai: str | None,
                    use_cache: bool = True) -> tuple[dict[str, Any], bool]:
    """ASReview's output for one run, from the cache when it holds this exact run; (output, was_cached)."""
    where = cache_path(path, priors, seed, ai)
    key = {"file": path.name, "sha256": file_sha256(path), "priors": priors, "seed": seed, "ai": ai,
           "runner_sha256": file_sha256(RUNNER)}
    if use_cache and where.exists():
        entry = json.loads(where.read_text())
        if entry.get("key") == key and "cpu_seconds" in entry["output"]:
            return entry["output"], True
    t0 = time.perf_counter()
    output = run_asreview(path, priors, seed, ai)
    output["wall_seconds"] = time.perf_counter() - t0  # with the subprocess's start-up and imports
    CACHE.mkdir(exist_ok=True)
    tmp = where.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "output": output}))
    tmp.replace(where)
    return output, False


def after_priors(labels: np.ndarray, order: list[int], priors: list[int]) -> np.ndarray:
    """Labels in screening order after the priors, padded with the (all-exclude) records never screened."""
    if sorted(order[:len(priors)]) != sorted(priors):
        raise RuntimeError("the screening order does not start with the prior records")
    if len(set(order)) != len(order):
        raise RuntimeError("a record was screened twice")
    seen = labels[np.asarray(order[len(priors):], dtype=int)]
    missing = labels.size - len(order)
    if missing and labels.sum() != labels[np.asarray(order, dtype=int)].sum():
        raise RuntimeError("the run stopped before finding every include")
    return np.concatenate([seen, np.zeros(missing, dtype=int)])


def metrics(after: np.ndarray) -> dict[str, float]:
    """WSS@95, recall after 10 % screened (RRF@10) and records to 95 % recall, for one screening order."""
    return {"wss95": wss(after, 0.95), "recall10": rrf(after, 0.10), "n95": float(screened_to_reach(after, 0.95))}


def fill_cache(path: Path, seeds: list[int], ai: str | None, use_cache: bool) -> None:
    """Run (or find cached) ASReview alone on every seed, with the priors our simulation would draw."""
    data = read_labelled_csv(path)
    for seed in seeds:
        priors = draw_priors(data.labels, 1, 1, seed).tolist()
        t0 = time.perf_counter()
        _, hit = cached_asreview(path, priors, seed, ai, use_cache)
        print(f"  {path.stem} seed {seed}: {'cached' if hit else f'ran in {time.perf_counter() - t0:.1f} s'}",
              file=sys.stderr, flush=True)


def one_dataset(path: Path, seeds: list[int], ranker: str, ai: str | None,
                use_cache: bool = True, retrain: str = "every") -> dict[str, Any]:
    """Both sides on every seed for one labelled set."""
    data = read_labelled_csv(path)
    labels = np.asarray(data.labels, dtype=int)
    runs = []
    for seed in seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        ours = run_simulation(data.texts, data.labels, ranker=ranker, seed=seed, retrain=retrain)
        ours_s, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
        ours_m = metrics(after_priors(labels, ours.order, ours.prior_ids))
        if abs(ours_m["wss95"] - ours.wss95) > 1e-12 or abs(ours_m["recall10"] - ours.rrf10) > 1e-12:
            raise RuntimeError(f"{path.name}: rescoring our order disagrees with screener.simulate's own metrics")
        asr, _ = cached_asreview(path, ours.prior_ids, seed, ai, use_cache)
        asr_s = float(asr["wall_seconds"])  # measured when it ran (cached runs keep their time)
        if asr["labels"] != data.labels:
            raise RuntimeError(f"{path.name}: ASReview read different rows or labels than screener.labelled")
        if asr["refused_connections"]:
            raise RuntimeError(f"ASReview tried to reach the network: {asr['refused_connections']}")
        asr_m = metrics(after_priors(labels, asr["order"], ours.prior_ids))
        runs.append({"seed": seed, "priors": ours.prior_ids, "ours": ours_m, "asreview": asr_m,
                     "ours_seconds": ours_s, "asreview_seconds": asr_s, "ours_cpu": ours_cpu,
                     "asreview_cpu": float(asr["cpu_seconds"]), "ours_refits": ours.n_refits,
                     "asreview_screened": len(asr["order"]),
                     "asreview_version": asr["asreview"], "asreview_ai": asr["ai"]})
        print(f"  {path.stem} seed {seed}: ours WSS@95 {ours_m['wss95']:.3f} R@10 {ours_m['recall10']:.3f} "
              f"({ours_s:.1f} s, CPU {ours_cpu:.1f} s, {ours.n_refits} fits) | ASReview WSS@95 "
              f"{asr_m['wss95']:.3f} R@10 {asr_m['recall10']:.3f} ({asr_s:.1f} s, CPU {asr['cpu_seconds']:.1f} s)",
              file=sys.stderr, flush=True)
    return {"dataset": path.stem, "n": len(labels), "included": int(labels.sum()), "runs": runs}


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f}±{sd:.3f}"


def verdict(ours: list[float], theirs: list[float], margin: float = 0.01) -> str:
    """'ours', 'ASReview' or 'tie' by mean, a difference under ``margin`` being a tie."""
    diff = statistics.fmean(ours) - statistics.fmean(theirs)
    return "tie" if abs(diff) < margin else ("ours" if diff > 0 else "ASReview")


def print_table(results: list[dict[str, Any]], ranker: str) -> None:
    """Side-by-side means ± SD over seeds, with the better side per metric."""
    first = results[0]["runs"][0]
    print(f"\nours: screener.simulate, ranker {ranker!r}; ASReview {first['asreview_version']}, model "
          f"{first['asreview_ai']!r}; priors 1 include + 1 exclude, same rows and seeds on both sides; "
          f"mean±SD over seeds {[r['seed'] for r in results[0]['runs']]}")
    head = (f"{'dataset':<38s} {'N':>5s} {'incl':>4s} | {'WSS@95 ours':>12s} {'ASReview':>12s} {'better':>8s} | "
            f"{'R@10% ours':>12s} {'ASReview':>12s} {'better':>8s} | {'n@95 ours':>9s} {'ASR':>6s} | "
            f"{'s/run ours':>10s} {'ASR':>6s} | {'CPU ours':>8s} {'ASR':>6s} {'ratio':>5s}")
    print(head)
    print("-" * len(head))
    for res in results:
        runs = res["runs"]
        o = {k: [r["ours"][k] for r in runs] for k in ("wss95", "recall10", "n95")}
        a = {k: [r["asreview"][k] for r in runs] for k in ("wss95", "recall10", "n95")}
        print(f"{res['dataset'][:38]:<38s} {res['n']:5d} {res['included']:4d} | "
              f"{_mean_sd(o['wss95']):>12s} {_mean_sd(a['wss95']):>12s} {verdict(o['wss95'], a['wss95']):>8s} | "
              f"{_mean_sd(o['recall10']):>12s} {_mean_sd(a['recall10']):>12s} "
              f"{verdict(o['recall10'], a['recall10']):>8s} | "
              f"{statistics.fmean(o['n95']):9.0f} {statistics.fmean(a['n95']):6.0f} | "
              f"{statistics.fmean(r['ours_seconds'] for r in runs):10.1f} "
              f"{statistics.fmean(r['asreview_seconds'] for r in runs):6.1f} | "
              f"{statistics.fmean(r['ours_cpu'] for r in runs):8.1f} "
              f"{statistics.fmean(r['asreview_cpu'] for r in runs):6.1f} "
              f"{sum(r['ours_cpu'] for r in runs) / sum(r['asreview_cpu'] for r in runs):5.2f}")
    all_o = [r["ours"]["wss95"] for res in results for r in res["runs"]]
    all_a = [r["asreview"]["wss95"] for res in results for r in res["runs"]]
    print(f"\nmean WSS@95 over every set and seed: ours {statistics.fmean(all_o):.3f}, "
          f"ASReview {statistics.fmean(all_a):.3f} ('better': mean difference of at least 0.01)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", help="datasets whose file name contains one of these words")
    parser.add_argument("--ranker", choices=sorted(RANKERS), default=DEFAULT_RANKER)
    parser.add_argument("--retrain", choices=["every", "adaptive"], default="every",
                        help="our retraining schedule (ASReview retrains after every record)")
    parser.add_argument("--ai", default=None, help="ASReview model config (default: ASReview's default)")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument("--fill-cache", action="store_true", help="only run ASReview, filling the cache")
    parser.add_argument("--no-cache", action="store_true", help="re-run ASReview even when cached")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # table after the progress lines
    files = sorted(DATA.glob("*.csv"), key=lambda p: p.stat().st_size)
    if args.only:
        files = [f for f in files if any(w.lower() in f.name.lower() for w in args.only)]
    if not files:
        print(f"skipped: no labelled sets in {DATA}")
        return 0
    started = time.perf_counter()
    ensure_asreview()
    if args.fill_cache:
        for path in files:
            fill_cache(path, args.seeds, args.ai, not args.no_cache)
        return 0
    results = [one_dataset(path, args.seeds, args.ranker, args.ai, not args.no_cache, args.retrain)
               for path in files]
    print_table(results, args.ranker)
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
