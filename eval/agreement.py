"""Agreement between two raters on include/exclude: kappa with CI, PABAK, AC1, and accuracy vs a reference.

Pure functions on paired binary labels (True = include). The 2×2 table is ``[[a, b], [c, d]]`` with rows
rater A (include, exclude) and columns rater B (include, exclude). Everything returns plain numbers or
``None`` where the statistic is undefined (e.g. kappa when both raters use one label only) — never NaN,
never a silently wrong number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel
from scipy.stats import norm

Interval = tuple[float, float]


class Proportion(BaseModel):
    """A proportion k/n with its Wilson score interval."""

    k: int
    n: int
    estimate: float | None
    ci: Interval | None


class Agreement(BaseModel):
    """Agreement of rater A with rater B (and, with a reference, A's accuracy against B)."""

    n: int
    table: list[list[int]]  # [[a, b], [c, d]]: rows A include/exclude, columns B include/exclude
    percent_agreement: float | None
    kappa: float | None
    kappa_se: float | None
    kappa_ci: Interval | None
    pabak: float | None
    ac1: float | None
    sensitivity: Proportion | None = None
    specificity: Proportion | None = None
    precision: Proportion | None = None
    npv: Proportion | None = None


def table_2x2(a: Sequence[bool], b: Sequence[bool]) -> list[list[int]]:
    """Cross-tabulate paired labels (True = include): rows rater A, columns rater B."""
    if len(a) != len(b):
        raise ValueError(f"paired labels differ in length: {len(a)} vs {len(b)}")
    t = [[0, 0], [0, 0]]
    for x, y in zip(a, b):
        t[0 if x else 1][0 if y else 1] += 1
    return t


def cohen_kappa(table: list[list[int]], level: float = 0.95) -> tuple[float | None, float | None, Interval | None]:
    """Cohen's kappa, its asymptotic SE and Wald CI, clipped to [-1, 1], for a 2×2 table (None where undefined)."""
    n = sum(map(sum, table))
    if n == 0:
        return None, None, None
    p = [[cell / n for cell in row] for row in table]
    rows = [sum(p[i]) for i in range(2)]
    cols = [p[0][j] + p[1][j] for j in range(2)]
    po = p[0][0] + p[1][1]
    pe = rows[0] * cols[0] + rows[1] * cols[1]
    if pe >= 1.0:  # both raters used a single, identical label: chance agreement is total
        return None, None, None
    k = (po - pe) / (1 - pe)
    # Large-sample variance of kappa (not under H0): Fleiss, Cohen & Everitt (1969), Psychol Bull 72:323-7.
    term_a = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - k)) ** 2 for i in range(2))
    term_b = (1 - k) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(2) for j in range(2) if i != j)
    term_c = (k - pe * (1 - k)) ** 2
    var = max((term_a + term_b - term_c) / ((1 - pe) ** 2 * n), 0.0)
    se = math.sqrt(var)
    z = float(norm.ppf(0.5 + level / 2))
    # the Wald interval clipped to kappa's range [-1, 1] (statsmodels leaves it unclipped: 0.86-1.04 happens)
    return k, se, (max(k - z * se, -1.0), min(k + z * se, 1.0))


def pabak(table: list[list[int]]) -> float | None:
    """Prevalence- and bias-adjusted kappa, 2·po − 1 (Byrt, Bishop & Carlin 1993)."""
    n = sum(map(sum, table))
    return None if n == 0 else 2 * (table[0][0] + table[1][1]) / n - 1


def gwet_ac1(table: list[list[int]]) -> float | None:
    """Gwet's AC1 for two raters, two categories: (po − pe)/(1 − pe), pe = 2π(1 − π) (Gwet 2008)."""
    n = sum(map(sum, table))
    if n == 0:
        return None
    po = (table[0][0] + table[1][1]) / n
    pi = ((table[0][0] + table[0][1]) / n + (table[0][0] + table[1][0]) / n) / 2  # mean P(include)
    pe = 2 * pi * (1 - pi)
    return (po - pe) / (1 - pe)  # pe <= 0.5, never 1


def wilson_ci(k: int, n: int, level: float = 0.95) -> Interval | None:
    """Wilson score interval for k successes in n trials (Wilson 1927; Newcombe 1998, method 3)."""
    if n == 0:
        return None
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(k: int, n: int, level: float = 0.95) -> Proportion:
    """k/n with its Wilson interval (estimate None when n is 0)."""
    return Proportion(k=k, n=n, estimate=k / n if n else None, ci=wilson_ci(k, n, level))


def agreement(a: Sequence[bool], b: Sequence[bool], *, b_is_reference: bool = False,
              level: float = 0.95) -> Agreement:
    """All agreement statistics for paired labels; with ``b_is_reference`` also A's accuracy against B."""
    table = table_2x2(a, b)
    n = len(a)
    k, se, ci = cohen_kappa(table, level)
    out = Agreement(n=n, table=table, percent_agreement=(table[0][0] + table[1][1]) / n if n else None,
                    kappa=k, kappa_se=se, kappa_ci=ci, pabak=pabak(table), ac1=gwet_ac1(table))
    if b_is_reference:
        (tp, fp), (fn, tn) = table  # A = test, B = truth; positive = include
        out.sensitivity = proportion(tp, tp + fn, level)
        out.specificity = proportion(tn, tn + fp, level)
        out.precision = proportion(tp, tp + fp, level)
        out.npv = proportion(tn, tn + fn, level)
    return out
