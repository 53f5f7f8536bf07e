"""Benchmark: rma() REML on k = 1,000 (target < 0.5 s) and a few neighbours; prints the figures.

Run: .venv/bin/python bench/bench_analysis.py
"""

from __future__ import annotations

import time

import numpy as np

from metasift.analysis import rma
from metasift.analysis.bias import trimfill
from metasift.analysis.influence import leave1out


def timed(label: str, fn, repeat: int = 5) -> float:
    """Best wall time of ``repeat`` runs, printed."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<48s} {best * 1000:9.1f} ms")
    return best


def main() -> None:
    rng = np.random.default_rng(2024)
    for k in (1_000, 10_000):
        v = rng.uniform(0.005, 0.3, k)
        y = rng.normal(0.25, np.sqrt(v + 0.04))
        x = rng.normal(size=(k, 3))
        t = timed(f"REML, k = {k:,}", lambda y=y, v=v: rma(y, v, method="REML"))
        if k == 1_000:
            assert t < 0.5, f"REML on k = 1,000 took {t:.3f} s (target < 0.5 s)"
        timed(f"REML + 3 moderators, k = {k:,}", lambda y=y, v=v, x=x: rma(y, v, x, method="REML"))
        timed(f"PM, k = {k:,}", lambda y=y, v=v: rma(y, v, method="PM"))
        timed(f"ML (slowest convergence), k = {k:,}", lambda y=y, v=v: rma(y, v, method="ML"))
    v = rng.uniform(0.005, 0.3, 1_000)
    y = rng.normal(0.25, np.sqrt(v + 0.04))
    fit = rma(y, v)
    timed("leave1out, k = 1,000 (1,000 REML refits)", lambda: leave1out(fit), repeat=1)
    timed("trimfill L0, k = 1,000", lambda: trimfill(fit), repeat=1)


if __name__ == "__main__":
    main()
