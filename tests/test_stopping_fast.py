"""The fast paths of the buscar test give the answers of the plain ones: log-gamma window sums against
scipy's exact tails, the one-test-per-stretch stop search against testing after every record, the upper
bound's galloping search from a hint against the plain binary search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from metasift.screener import stopping as st


def _histories(seed: int, count: int) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        size = int(rng.integers(1, 250))
        rate = np.linspace(rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.05), size)  # ranked: includes first
        out.append(((rng.random(size) < rate).astype(int), size + int(rng.integers(0, 1500))))
    return out


def test_the_window_sums_match_scipys_exact_tails() -> None:
    for y, n_total in _histories(1, 40):
        back = y[::-1]
        n = np.arange(1, y.size + 1)
        k = np.cumsum(back)
        for missing in (1, 3, 17):
            if missing > n_total - y.size:
                continue
            exact = hypergeom.cdf(k, n + n_total - y.size, k + missing, n)
            approx = st._approx_cdf(k, n, n_total - y.size, missing)
            assert approx == pytest.approx(exact, rel=1e-8, abs=1e-250)


def test_p_below_decides_as_the_exact_minimum_does() -> None:
    for y, n_total in _histories(2, 60):
        for missing in (1, 2, 5, 30):
            for alpha in (0.05, 0.01, 0.2):
                assert st.p_below(y, n_total, missing, alpha) == (st.min_p(y, n_total, missing) < alpha)


def test_the_first_stop_is_the_one_testing_after_every_record_finds() -> None:
    for y, n_total in _histories(3, 40):
        for target, confidence in ((0.95, 0.95), (0.8, 0.9)):
            every = next((s for s in range(1, y.size + 1)
                          if st.buscar_p(y[:s], n_total, target) < 1 - confidence), None)
            assert st.first_buscar_stop(y, n_total, target_recall=target, confidence=confidence) == every
            if every is not None and every > 3:
                assert st.first_buscar_stop(y, n_total, target_recall=target, confidence=confidence,
                                            start=every - 2) == every


def test_the_upper_bound_from_a_hint_is_the_plain_searchs() -> None:
    for y, n_total in _histories(4, 30):
        plain = st.remaining_upper_bound(y, n_total, 0.05)
        for hint in (1, plain, plain + 1, max(1, plain - 5), 3 * plain + 7, n_total - y.size - 1):
            assert st.remaining_upper_bound(y, n_total, 0.05, hint=hint) == plain
