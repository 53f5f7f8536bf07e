"""Effect sizes and their sampling variances, vectorised and pure, matching metafor 3.8 ``escalc()``.

Every function takes array-likes (broadcast against each other) and returns ``EffectSizes(yi, vi)``.

Two kinds of bad input, kept apart so that no ±inf or unexplained NaN ever reaches a table:

* impossible inputs (negative SDs or counts, group sizes ≤ 0, events > group size, |r| > 1, a 2×2 group
  with nobody in it) raise ``InvalidInput``, an ``AnalysisError`` carrying the positions of the rows at
  fault, so a caller can name them;
* inputs metafor turns into NA and carries on with (a missing value; a pooled SD of 0, where escalc
  recodes the ±Inf it computes to NA with a warning; too few participants for Hedges' J) give NaN in
  that row, and ``EffectSizes.why`` says why, for the caller's warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from metasift.errors import AnalysisError

MEASURES = ("SMD", "MD", "RR", "OR", "RD", "SMCC", "SMCR")


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes ``yi`` with sampling variances ``vi``, and the measure they are on.

    ``why`` has, per row, the reason ``yi`` is NaN ("" where it is a number); None when not recorded.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    why: np.ndarray | None = None


class InvalidInput(AnalysisError):
    """Inputs no effect size can come from; ``rows`` are the 0-based positions of the rows at fault."""

    def __init__(self, what: str, rows: Sequence[int] = ()) -> None:
        self.what, self.rows = what, [int(i) for i in rows]
        shown = ", ".join(str(i + 1) for i in self.rows[:10]) + (", ..." if len(self.rows) > 10 else "")
        super().__init__(f"{what} (input row {shown})" if self.rows else what)


def _arr(*xs: Any) -> list[np.ndarray]:
    return [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])]


def _check(cond: np.ndarray, message: str) -> None:
    """Raise ``InvalidInput`` naming the rows where ``cond`` holds (NaN counts as not holding)."""
    hit = np.atleast_1d(np.nan_to_num(np.asarray(cond, dtype=float), nan=0.0).astype(bool))
    if np.any(hit):
        raise InvalidInput(message, np.flatnonzero(hit) if np.ndim(cond) else [])


def _na(yi: Any, vi: Any, measure: str, inputs: dict[str, np.ndarray],
        degenerate: Sequence[tuple[Any, str]] = (), known: np.ndarray | None = None) -> EffectSizes:
    """``EffectSizes`` with every row that has no finite effect size set to NaN and its reason in ``why``.

    A row is NA when ``known`` already gives a reason, when an input is missing (named), when a
    ``degenerate`` condition holds (its reason), or when yi or vi came out ±inf/NaN anyway — metafor's
    escalc recodes such values to NA too.
    """
    yi, vi = np.broadcast_arrays(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float))
    why = np.full(yi.shape, "", dtype=object) if known is None else np.broadcast_to(known, yi.shape)
    for name, x in inputs.items():
        why = np.where((why == "") & np.isnan(np.broadcast_to(x, yi.shape)), f"{name} is missing", why)
    for cond, reason in degenerate:
        hit = np.nan_to_num(np.broadcast_to(np.asarray(cond, dtype=float), yi.shape), nan=0.0).astype(bool)
        why = np.where((why == "") & hit, reason, why)
    bad = (why != "") | ~np.isfinite(yi) | ~np.isfinite(vi)
    why = np.where(bad & (why == ""), "the effect size or its variance is not finite", why)
    return EffectSizes(np.where(bad, np.nan, yi), np.where(bad, np.nan, vi), measure, why)


def hedges_j(m: Any) -> np.ndarray:
    """Exact small-sample correction J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2)) (Hedges 1981; metafor .cmicalc)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    return np.where(m <= 1, np.nan, out)


def _g_and_var(d: np.ndarray, n1: np.ndarray, n2: np.ndarray, inputs: dict[str, np.ndarray],
               degenerate: Sequence[tuple[Any, str]] = ()) -> EffectSizes:
    """Hedges' g = J·d with metafor's large-sample variance (vtype "LS"); NA rows say why."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = hedges_j(n1 + n2 - 2) * d
        v = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    few = (n1 + n2 <= 2, "n1 + n2 must be at least 3 for Hedges' correction (metafor gives NA)")
    return _na(g, v, "SMD", inputs, [few, *degenerate])


def smd(m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any) -> EffectSizes:
    """Standardised mean difference (Hedges' g) of group 1 minus group 2 (escalc "SMD")."""
    m1, sd1, n1, m2, sd2, n2 = _arr(m1, sd1, n1, m2, sd2, n2)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
        d = (m1 - m2) / sdp
    zero_sd = (sdp == 0, "the pooled SD is 0 (both SDs are 0, or 0 in the only group with n > 1): "
                         + "metafor gives NA")
    return _g_and_var(d, n1, n2, {"m1": m1, "sd1": sd1, "n1": n1, "m2": m2, "sd2": sd2, "n2": n2}, [zero_sd])


def smd_change(mc1: Any, sdc1: Any, n1: Any, mc2: Any, sdc2: Any, n2: Any) -> EffectSizes:
    """SMD between groups from each group's mean change and SD of change, used as if post scores."""
    return smd(mc1, sdc1, n1, mc2, sdc2, n2)


def md(m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any) -> EffectSizes:
    """Raw mean difference with heteroscedastic variance sd1²/n1 + sd2²/n2 (escalc "MD")."""
    m1, sd1, n1, m2, sd2, n2 = _arr(m1, sd1, n1, m2, sd2, n2)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    return _na(m1 - m2, sd1**2 / n1 + sd2**2 / n2, "MD",
               {"m1": m1, "sd1": sd1, "n1": n1, "m2": m2, "sd2": sd2, "n2": n2})


def _from_t(t: np.ndarray, n1: np.ndarray, n2: np.ndarray, inputs: dict[str, np.ndarray]) -> EffectSizes:
    """Hedges' g from t and the group sizes; ``inputs`` are the caller's inputs, named for NA reasons."""
    _check((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
    return _g_and_var(t * np.sqrt(1 / n1 + 1 / n2), n1, n2, inputs)


def smd_from_t(t: Any, n1: Any, n2: Any) -> EffectSizes:
    """Hedges' g from an independent-samples t statistic: d = t·√(1/n1 + 1/n2) (escalc SMD with ti)."""
    t, n1, n2 = _arr(t, n1, n2)
    return _from_t(t, n1, n2, {"t": t, "n1": n1, "n2": n2})


def smd_from_f(f: Any, n1: Any, n2: Any, sign: Any = 1) -> EffectSizes:
    """Hedges' g from a two-group F test with 1 numerator df: t = sign·√F."""
    f, n1, n2, sign = _arr(f, n1, n2, sign)
    _check(f < 0, "F statistics must not be negative")
    return _from_t(np.sign(sign) * np.sqrt(f), n1, n2, {"f": f, "n1": n1, "n2": n2, "sign": sign})


def smd_from_p(p: Any, n1: Any, n2: Any, sign: Any = 1) -> EffectSizes:
    """Hedges' g from a two-sided p value of a t test: t = sign·t_{n1+n2−2}(1 − p/2)."""
    p, n1, n2, sign = _arr(p, n1, n2, sign)
    _check((p <= 0) | (p > 1), "p values must be in (0, 1]")
    t = np.sign(sign) * stats.t.isf(p / 2, n1 + n2 - 2)
    return _from_t(t, n1, n2, {"p": p, "n1": n1, "n2": n2, "sign": sign})


def smd_from_or(log_or: Any, var_log_or: Any) -> EffectSizes:
    """d from a log odds ratio, d = ln(OR)·√3/π, v = v_lnOR·3/π² (Hasselblad & Hedges 1995; Chinn 2000).

    Same as metafor's "OR2DL"; no small-sample correction is applied.
    """
    lo, v = _arr(log_or, var_log_or)
    return _na(lo * np.sqrt(3) / np.pi, v * 3 / np.pi**2, "SMD", {"log_or": lo, "var_log_or": v})


def smcc(m1: Any, m2: Any, sd1: Any, sd2: Any, r: Any, n: Any) -> EffectSizes:
    """Standardised mean change, change-score standardisation (escalc "SMCC"; Gibbons et al. 1993).

    d = (m1 − m2)/SD_change with SD_change = √(sd1² + sd2² − 2·r·sd1·sd2); g = J(n−1)·d,
    v = 1/n + g²/(2n).
    """
    m1, m2, sd1, sd2, r, n = _arr(m1, m2, sd1, sd2, r, n)
    _check((sd1 < 0) | (sd2 < 0), "standard deviations must not be negative")
    _check(np.abs(r) > 1, "correlations must be between -1 and 1")
    _check(n <= 0, "sample sizes must be > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        sdd = np.sqrt(sd1**2 + sd2**2 - 2 * r * sd1 * sd2)
        g = hedges_j(n - 1) * (m1 - m2) / sdd
        v = 1 / n + g**2 / (2 * n)
    return _na(g, v, "SMCC", {"m1": m1, "m2": m2, "sd1": sd1, "sd2": sd2, "r": r, "n": n},
               [(n < 2, "n must be at least 2 for Hedges' correction (metafor gives NA)"),
                (sdd == 0, "the SD of the change is 0; metafor gives NA")])


def smcr(m_post: Any, m_pre: Any, sd_pre: Any, r: Any, n: Any) -> EffectSizes:
    """Standardised mean change with raw-score (pre-test SD) standardisation (escalc "SMCR"; Becker 1988).

    g = J(n−1)·(m_post − m_pre)/sd_pre, v = 2(1 − r)/n + g²/(2n); r is the (assumed) pre–post correlation.
    """
    m_post, m_pre, sd_pre, r, n = _arr(m_post, m_pre, sd_pre, r, n)
    _check(sd_pre < 0, "standard deviations must not be negative")
    _check(np.abs(r) > 1, "correlations must be between -1 and 1")
    _check(n <= 0, "sample sizes must be > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        g = hedges_j(n - 1) * (m_post - m_pre) / sd_pre
        v = 2 * (1 - r) / n + g**2 / (2 * n)
    return _na(g, v, "SMCR", {"m_post": m_post, "m_pre": m_pre, "sd_pre": sd_pre, "r": r, "n": n},
               [(n < 2, "n must be at least 2 for Hedges' correction (metafor gives NA)"),
                (sd_pre == 0, "the pre-test SD is 0; metafor gives NA")])


def smd_prepost(m_post1: Any, m_pre1: Any, sd_pre1: Any, n1: Any,
                m_post2: Any, m_pre2: Any, sd_pre2: Any, n2: Any, r: Any) -> EffectSizes:
    """Pre-post-adjusted between-group SMD: SMCR(treatment) − SMCR(control), variances summed.

    This is Morris (2008)'s d_ppc1 / Becker (1988) approach as metafor's docs apply it to
    dat.morris2008: each group's metafor SMCR (pre-test SD, assumed pre–post correlation r).
    """
    a = smcr(m_post1, m_pre1, sd_pre1, r, n1)
    b = smcr(m_post2, m_pre2, sd_pre2, r, n2)
    wa, wb = np.broadcast_arrays(np.asarray(a.why, dtype=object), np.asarray(b.why, dtype=object))
    why = np.where(wa != "", "group 1: " + wa, np.where(wb != "", "group 2: " + wb, ""))
    return _na(a.yi - b.yi, a.vi + b.vi, "SMD", {}, known=why)


def _cells(ai: Any, bi: Any, ci: Any, di: Any) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """2×2 counts with 0.5 added to every cell of a study that has a zero cell (add=1/2, to="only0"),
    and the raw counts by name (for NA reasons).

    A group with nobody in it (ai + bi = 0 or ci + di = 0) is an error: metafor would add 1/2 and report
    a risk of 0.5/1 in a group that does not exist; there is no effect size to give.
    """
    ai, bi, ci, di = _arr(ai, bi, ci, di)
    _check((ai < 0) | (bi < 0) | (ci < 0) | (di < 0), "2x2 counts must not be negative")
    _check((ai + bi == 0) | (ci + di == 0), "a group has no participants (ai + bi = 0 or ci + di = 0)")
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    return [np.where(zero, x + 0.5, x) for x in (ai, bi, ci, di)], {"ai": ai, "bi": bi, "ci": ci, "di": di}


def log_rr(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Log risk ratio from events/non-events (ai, bi treated; ci, di control), escalc "RR"."""
    (ai, bi, ci, di), raw = _cells(ai, bi, ci, di)
    n1, n2 = ai + bi, ci + di
    return _na(np.log(ai / n1) - np.log(ci / n2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2, "RR", raw)


def log_or(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Log odds ratio with Woolf's variance 1/a + 1/b + 1/c + 1/d, escalc "OR"."""
    (ai, bi, ci, di), raw = _cells(ai, bi, ci, di)
    return _na(np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di, "OR", raw)


def rd(ai: Any, bi: Any, ci: Any, di: Any) -> EffectSizes:
    """Risk difference with large-sample variance p(1−p)/n per group, escalc "RD" (vtype "LS")."""
    (ai, bi, ci, di), raw = _cells(ai, bi, ci, di)
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    return _na(p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2, "RD", raw)


def counts_from_n(events1: Any, n1: Any, events2: Any, n2: Any) -> tuple[np.ndarray, ...]:
    """2×2 cells (ai, bi, ci, di) from event counts and group sizes."""
    e1, n1, e2, n2 = _arr(events1, n1, events2, n2)
    _check((e1 < 0) | (e2 < 0) | (n1 < 0) | (n2 < 0), "event counts and group sizes must not be negative")
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
