"""Effect sizes and their sampling variances, vectorised and pure, matching metafor 3.8 ``escalc()``.

Every function takes array-likes (broadcast against each other) and returns ``EffectSizes(yi, vi)``.
Missing inputs give NaN in that row (the model drops such rows with a warning); impossible inputs
(negative SDs, group sizes ≤ 0, events > group size, |r| > 1) raise ``AnalysisError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from metasift.errors import AnalysisError

MEASURES = ("SMD", "MD", "RR", "OR", "RD", "SMCC", "SMCR")


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes ``yi`` with sampling variances ``vi``, and the measure they are on."""

    yi: np.ndarray
    vi: np.ndarray
    measure: str


def _arr(*xs: Any) -> list[np.ndarray]:
    return [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])]


def _check(cond: np.ndarray, message: str) -> None:
    if np.any(np.nan_to_num(cond, nan=0.0).astype(bool)):
        raise AnalysisError(message)


def hedges_j(m: Any) -> np.ndarray:
    """Exact small-sample correction J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2)) (Hedges 1981; metafor .cmicalc)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    return np.where(m <= 1, np.nan, out)


def _g_and_var(d: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> EffectSizes:
    """Hedges' g = J·d with metafor's large-sample variance (vtype "LS")."""
    g = hedges_j(n1 + n2 - 2) * d
    return EffectSizes(g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)), "SMD")


def smd(m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any) -> EffectSizes:
    """Standardised mean difference (Hedges' g) of group 1 minus group 2 (escalc "SMD")."""
    m1, sd1, n1, m2, sd2, n2 = _arr(m1, sd1, n1, m2, sd2, n2)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return _g_and_var((m1 - m2) / sdp, n1, n2)


def smd_change(mc1: Any, sdc1: Any, n1: Any, mc2: Any, sdc2: Any, n2: Any) -> EffectSizes:
    """SMD between groups from each group's mean change and SD of change, used as if post scores."""
    return smd(mc1, sdc1, n1, mc2, sdc2, n2)


def md(m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any) -> EffectSizes:
    """Raw mean difference with heteroscedastic variance sd1²/n1 + sd2²/n2 (escalc "MD")."""
    m1, sd1, n1, m2, sd2, n2 = _arr(m1, sd1, n1, m2, sd2, n2)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    return EffectSizes(m1 - m2, sd1**2 / n1 + sd2**2 / n2, "MD")


def smd_from_t(t: Any, n1: Any, n2: Any) -> EffectSizes:
    """Hedges' g from an independent-samples t statistic: d = t·√(1/n1 + 1/n2) (escalc SMD with ti)."""
    t, n1, n2 = _arr(t, n1, n2)
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    return _g_and_var(t * np.sqrt(1 / n1 + 1 / n2), n1, n2)


def smd_from_f(f: Any, n1: Any, n2: Any, sign: Any = 1) -> EffectSizes:
    """Hedges' g from a two-group F test with 1 numerator df: t = sign·√F."""
    f, sign = _arr(f, sign)
    _check(f < 0, "F statistics must not be negative")
    return smd_from_t(np.sign(sign) * np.sqrt(f), n1, n2)


def smd_from_p(p: Any, n1: Any, n2: Any, sign: Any = 1) -> EffectSizes:
    """Hedges' g from a two-sided p value of a t test: t = sign·t_{n1+n2−2}(1 − p/2)."""
    p, n1, n2, sign = _arr(p, n1, n2, sign)
    _check((p <= 0) | (p > 1), "p values must be in (0, 1]")
    return smd_from_t(np.sign(sign) * stats.t.isf(p / 2, n1 + n2 - 2), n1, n2)


def smd_from_or(log_or: Any, var_log_or: Any) -> EffectSizes:
    """d from a log odds ratio, d = ln(OR)·√3/π, v = v_lnOR·3/π² (Hasselblad & Hedges 1995; Chinn 2000).

    Same as metafor's "OR2DL"; no small-sample correction is applied.
    """
    lo, v = _arr(log_or, var_log_or)
    return EffectSizes(lo * np.sqrt(3) / np.pi, v * 3 / np.pi**2, "SMD")


def smcc(m1: Any, m2: Any, sd1: Any, sd2: Any, r: Any, n: Any) -> EffectSizes:
    """Standardised mean change, change-score standardisation (escalc "SMCC"; Gibbons et al. 1993).

    d = (m1 − m2)/SD_change with SD_change = √(sd1² + sd2² − 2·r·sd1·sd2); g = J(n−1)·d,
    v = 1/n + g²/(2n).
    """
    m1, m2, sd1, sd2, r, n = _arr(m1, m2, sd1, sd2, r, n)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check(np.abs(r) > 1, "correlations must be between -1 and 1")
    _check(n <= 0, "sample sizes must be > 0")
    sdd = np.sqrt(sd1**2 + sd2**2 - 2 * r * sd1 * sd2)
    g = hedges_j(n - 1) * (m1 - m2) / sdd
    return EffectSizes(g, 1 / n + g**2 / (2 * n), "SMCC")


def smcr(m_post: Any, m_pre: Any, sd_pre: Any, r: Any, n: Any) -> EffectSizes:
    """Standardised mean change with raw-score (pre-test SD) standardisation (escalc "SMCR"; Becker 1988).

    g = J(n−1)·(m_post − m_pre)/sd_pre, v = 2(1 − r)/n + g²/(2n); r is the (assumed) pre–post correlation.
    """
    m_post, m_pre, sd_pre, r, n = _arr(m_post, m_pre, sd_pre, r, n)
    _check(sd_pre < 0, "standard deviations must not be negative")
    _check(np.abs(r) > 1, "correlations must be between -1 and 1")
    _check(n <= 0, "sample sizes must be > 0")
    g = hedges_j(n - 1) * (m_post - m_pre) / sd_pre
    return EffectSizes(g, 2 * (1 - r) / n + g**2 / (2 * n), "SMCR")


def smd_prepost(m_post1: Any, m_pre1: Any, sd_pre1: Any, n1: Any,
                m_post2: Any, m_pre2: Any, sd_pre2: Any, n2: Any, r: Any) -> EffectSizes:
    """Pre-post-adjusted between-group SMD: SMCR(treatment) − SMCR(control), variances summed.

    This is Morris (2008)'s d_ppc1 / Becker (1988) approach as metafor's docs apply it to
    dat.morris2008: each group's metafor SMCR (pre-test SD, assumed pre–post correlation r).
    """
    a = smcr(m_post1, m_pre1, sd_pre1, r, n1)
    b = smcr(m_post2, m_pre2, sd_pre2, r, n2)
    return EffectSizes(a.yi - b.yi, a.vi + b.vi, "SMD")


def _cells(ai: Any, bi: Any, ci: Any, di: Any) -> list[np.ndarray]:
    """2×2 counts with 0.5 added to every cell of a study that has a zero cell (add=1/2, to="only0")."""
    ai, bi, ci, di = _arr(ai, bi, ci, di)
    _check((ai < 0) | (bi < 0) | (ci < 0) | (di < 0), "2x2 counts must not be negative")
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    return [np.where(zero, x + 0.5, x) for x in (ai, bi, ci, di)]


def log_rr(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Log risk ratio from events/non-events (ai, bi treated; ci, di control), escalc "RR"."""
    ai, bi, ci, di = _cells(ai, bi, ci, di)
    n1, n2 = ai + bi, ci + di
    return EffectSizes(np.log(ai / n1) - np.log(ci / n2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2, "RR")


def log_or(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Log odds ratio with Woolf's variance 1/a + 1/b + 1/c + 1/d, escalc "OR"."""
    ai, bi, ci, di = _cells(ai, bi, ci, di)
    return EffectSizes(np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di, "OR")


def rd(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Risk difference with large-sample variance p(1−p)/n per group, escalc "RD" (vtype "LS")."""
    ai, bi, ci, di = _cells(ai, bi, ci, di)
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    return EffectSizes(p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2, "RD")


def counts_from_n(events1: Any, n1: Any, events2: Any, n2: Any) -> tuple[np.ndarray, ...]:
    """2×2 cells (ai, bi, ci, di) from event counts and group sizes."""
    e1, n1, e2, n2 = _arr(events1, n1, events2, n2)
    _check((e1 > n1) | (e2 > n2), "event counts cannot exceed group sizes")
    return e1, n1 - e1, e2, n2 - e2


# ---------------------------------------------------------------------------------------------------
# Standard deviations from reported summaries (Cochrane Handbook 6.5.2.2-6.5.2.3)


@dataclass(frozen=True)
class SDResult:
    """Derived standard deviations and, in words, the formula used for each."""

    sd: np.ndarray
    formula: list[str]


def sd_from_se(se: Any, n: Any) -> SDResult:
    """SD = SE·√n (Cochrane Handbook 6.5.2.2)."""
    se, n = (np.atleast_1d(a) for a in _arr(se, n))
    _check(n <= 0, "sample sizes must be > 0")
    return SDResult(se * np.sqrt(n), ["SD = SE * sqrt(n)"] * se.size)


def sd_from_ci(lower: Any, upper: Any, n: Any, level: float = 95.0, small_n: int = 60) -> SDResult:
    """SD of a group from a CI for its mean: √n·(ub − lb)/(2·q) (Cochrane Handbook 6.5.2.2).

    q is the t quantile with n−1 df when n < ``small_n`` (the Handbook's "say fewer than 60"), else the
    normal quantile (1.96 for 95%, so the divisor is 3.92).
    """
    lo, hi, n = (np.atleast_1d(a) for a in _arr(lower, upper, n))
    _check(n <= 1, "sample sizes must be > 1")
    _check(hi < lo, "CI upper bound is below the lower bound")
    a = (100.0 - level) / 100.0 if level >= 1 else 1 - level
    z = stats.norm.isf(a / 2)
    tq = stats.t.isf(a / 2, n - 1)
    use_t = n < small_n
    q = np.where(use_t, tq, z)
    sd = np.sqrt(n) * (hi - lo) / (2 * q)
    formula = [f"SD = sqrt(n) * (ub - lb) / {2 * qq:.4f}  [2 x {'t(' + str(int(nn) - 1) + ')' if t else 'z'} "
               f"quantile for a {level:g}% CI]" for qq, nn, t in zip(q.ravel(), n.ravel(), use_t.ravel())]
    return SDResult(sd, formula)


def escalc(measure: str, **cols: Any) -> EffectSizes:
    """Dispatch by metafor measure name: SMD/MD (m1 sd1 n1 m2 sd2 n2), RR/OR/RD (ai bi ci di),
    SMCC (m1 m2 sd1 sd2 r n), SMCR (m_post m_pre sd_pre r n)."""
    fn = {"SMD": smd, "MD": md, "RR": log_rr, "OR": log_or, "RD": rd, "SMCC": smcc, "SMCR": smcr}
    key = measure.upper()
    if key not in fn:
        raise AnalysisError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    try:
        return fn[key](**cols)
    except TypeError as exc:
        raise AnalysisError(f"measure {key}: {exc}") from None
