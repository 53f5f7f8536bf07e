"""Benchmark: CR2 robust variance on 1,000 effect sizes in 100 studies (target: under 1 s).

Run: .venv/bin/python bench/bench_rve.py [--k 1000] [--studies 100] [--repeat 5]
Prints the best-of-N wall time of each step: three-level REML fit, CR2 + Satterthwaite + HTZ on it,
and robumeta-style CORR RVE with small-sample corrections.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from metasift.analysis.multilevel import rma_mv
from metasift.analysis.rve import robu, robust


def simulate(k: int, n_studies: int, seed: int = 20240501) -> pd.DataFrame:
    """Three-level data: study effects, effect-size effects, sampling error; one continuous and one
    categorical moderator."""
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(n_studies), k // n_studies)
    study = np.r_[study, rng.integers(0, n_studies, k - len(study))]
    vi = rng.uniform(0.01, 0.2, k)
    year = rng.normal(0, 5, n_studies)[study]
    kind = rng.choice(["a", "b", "c"], k)
    yi = (0.3 + 0.02 * year + 0.1 * (kind == "b") + rng.normal(0, 0.3, n_studies)[study]
          + rng.normal(0, 0.2, k) + rng.normal(0, np.sqrt(vi)))
    es = pd.Series(study).groupby(study).cumcount().to_numpy()
    return pd.DataFrame({"study": study, "es": es, "yi": yi, "vi": vi, "year": year, "kind": kind})


def best_of(fn, repeat: int) -> tuple[float, object]:
    """Minimum wall time over ``repeat`` runs and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--studies", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    d = simulate(a.k, a.studies)
    mods = d[["year", "kind"]]
    t_fit, fit = best_of(lambda: rma_mv(d.yi, d.vi, d.study, d.es, mods), a.repeat)
    t_cr2, rob = best_of(lambda: robust(fit, d.study, type="CR2"), a.repeat)
    t_robu, rb = best_of(lambda: robu(d.yi, d.vi, d.study, mods, model="CORR", rho=0.8, small=True), a.repeat)
    print(f"data: k = {a.k} effect sizes in {a.studies} studies, 4 coefficients (best of {a.repeat})")
    print(f"three-level REML fit (rma_mv)              : {t_fit * 1000:8.1f} ms")
    print(f"CR2 + Satterthwaite + HTZ (robust)         : {t_cr2 * 1000:8.1f} ms")
    print(f"fit + CR2 total                            : {(t_fit + t_cr2) * 1000:8.1f} ms  (target < 1000 ms)")
    print(f"robumeta CORR small-sample (robu)          : {t_robu * 1000:8.1f} ms")
    print(f"sigma2 = {fit.sigma2[0]:.4f}, {fit.sigma2[1]:.4f}; CR2 SE(year) = {rob.se[1]:.5f}, "
          f"df = {rob.df[1]:.2f}; robu SE(year) = {rb.se[1]:.5f}")


if __name__ == "__main__":
    main()
