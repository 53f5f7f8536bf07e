"""Speed of the buscar stopping test on a long history: 5,000 records screened of 50,000, ~500 includes.

Times what `status` / the report / the review app's status line run — ``estimate_stopping`` (with and
without the projection), the status line after one more decision (``status_estimate``, whose upper-bound
search starts from the previous bound), ``first_buscar_stop`` (the report's "met after N records") — and,
for reference, the plain algorithms these replace: scipy's exact tail for every window that matters and a
test after every record (on the first 1,500 records only: the whole history takes minutes). Each fast
answer is checked against the plain one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def plain_min_p(y: np.ndarray, n_total: int, missing: int) -> float:
    from scipy.stats import hypergeom

    unscreened = n_total - y.size
    if missing > unscreened:
        return 0.0
    back = y[::-1]
    n = np.unique(np.r_[np.flatnonzero(back), y.size])
    n = n[n > 0]
    k = np.cumsum(back)[n - 1]
    return float(np.min(hypergeom.cdf(k, n + unscreened, k + missing, n)))


def plain_upper(y: np.ndarray, n_total: int, alpha: float) -> int:
    lo, hi = 0, n_total - y.size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if plain_min_p(y, n_total, mid) >= alpha:
            lo = mid
        else:
            hi = mid - 1
    return lo


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main() -> int:
    from metasift.screener import stopping as st

    st.min_p([1, 0], 10, 1)  # scipy imported outside the timings
    rng = np.random.default_rng(1)
    screened, n_total = 5000, 50_000
    y = (rng.random(screened) < np.linspace(0.2, 0.002, screened)).astype(int)
    print(f"history: {screened:,} screened of {n_total:,}, {int(y.sum())} includes")
    est, t_full = timed(st.estimate_stopping, y, n_total)
    print(f"estimate_stopping (status, report)        {t_full:6.2f} s  p = {est.p_value:.4f}, "
          f"upper {est.remaining_upper}, ~{est.records_to_stop} more")
    quick, t_quick = timed(st.estimate_stopping, y, n_total, project=False)
    print(f"estimate_stopping without the projection  {t_quick:6.2f} s")
    st.status_estimate(y[:-1], n_total, 0.95, 0.95)
    line, t_line = timed(st.status_estimate, y, n_total, 0.95, 0.95)
    print(f"status line after one more decision       {t_line:6.2f} s")
    upper, t_plain = timed(plain_upper, y, n_total, 0.05)
    print(f"plain upper bound (scipy every window)    {t_plain:6.2f} s  same bound: {upper == quick.remaining_upper}")
    stop, t_stop = timed(st.first_buscar_stop, y, 6000)
    print(f"first_buscar_stop (urn of 6,000)          {t_stop:6.2f} s  stop at {stop}")
    head = y[:1500]
    every, t_every = timed(lambda: next((s for s in range(1, head.size + 1)
                                         if plain_min_p(head[:s], 6000, st.missing_for_target(int(head[:s].sum()),
                                                                                              0.95)) < 0.05), None))
    fast, t_fast = timed(st.first_buscar_stop, head, 6000)
    print(f"first 1,500 records: test after every record {t_every:6.2f} s, fast {t_fast:5.2f} s, "
          f"same stop: {every == fast}")
    return 0 if upper == quick.remaining_upper and every == fast and line == quick else 1


if __name__ == "__main__":
    sys.exit(main())
