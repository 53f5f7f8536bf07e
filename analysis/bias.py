"""Small-study effects and publication bias, as metafor 3.8: regtest, ranktest, trimfill, fsn; PET-PEESE.

All functions take a fitted ``RMAFit`` without moderators (the data and estimator come from it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from metasift.analysis._rma import RMAFit, fit_rma
from metasift.errors import AnalysisError


def _need_int_only(fit: RMAFit, what: str) -> None:
    if not fit.int_only:
        raise AnalysisError(f"{what} applies to models without moderators")
    if fit.k < 3:
        raise AnalysisError(f"{what} needs at least 3 studies; got k = {fit.k}")


@dataclass(frozen=True)
class EggerTest:
    """Egger-type regression test: statistic, p, df (t tests only) and the limit estimate (sei → 0)."""

    stat: float
    p: float
    df: float | None
    estimate: float
    ci_lb: float
    ci_ub: float
    model: str


def regtest(fit: RMAFit, model: str = "rma") -> EggerTest:
    """Egger's test with predictor sei (metafor ``regtest``): "rma" adds sei as moderator to the fit's
    model (z, or t for knha); "lm" is the classic weighted regression with multiplicative error (t)."""
    _need_int_only(fit, "Egger's regression test")
    sei = np.sqrt(fit.vi)
    X = np.column_stack([np.ones(fit.k), sei])
    if model == "rma":
        r = fit_rma(fit.yi, fit.vi, X, ["intrcpt", "sei"], fit.labels, method=fit.method, test=fit.test,
                    level=fit.level, control=fit.control, skip_r2=True)
        return EggerTest(float(r.stat[1]), float(r.pval[1]), r.df, float(r.beta[0]), float(r.ci_lb[0]),
                         float(r.ci_ub[0]), "rma")
    if model == "lm":
        res = sm.WLS(fit.yi, X, weights=1.0 / fit.vi).fit()
        lo, hi = res.conf_int(alpha=1 - _level(fit.level))[0]
        return EggerTest(float(res.tvalues[1]), float(res.pvalues[1]), float(res.df_resid),
                         float(res.params[0]), float(lo), float(hi), "lm")
    raise AnalysisError(f"unknown regtest model {model!r}; choose 'rma' or 'lm'")


def _level(level: float) -> float:
    return level / 100 if level >= 1 else level


@dataclass(frozen=True)
class RankTest:
    """Begg & Mazumdar's rank correlation test: Kendall's tau and its p value."""

    tau: float
    p: float
    exact: bool


def ranktest(fit: RMAFit) -> RankTest:
    """Begg & Mazumdar (1994) as metafor ``ranktest``: Kendall's tau between standardised deviates and vi;
    exact p without ties (as R's cor.test with exact=TRUE), normal approximation with ties."""
    _need_int_only(fit, "the rank correlation test")
    w = 1.0 / fit.vi
    theta = np.sum(w * fit.yi) / w.sum()
    ystar = (fit.yi - theta) / np.sqrt(fit.vi - 1.0 / w.sum())
    ties = len(np.unique(ystar)) < fit.k or len(np.unique(fit.vi)) < fit.k
    res = stats.kendalltau(ystar, fit.vi, method="asymptotic" if ties else "exact")
    return RankTest(float(res.statistic), float(res.pvalue), not ties)


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill result: number and side of imputed studies and the model with them filled in."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    estimate: float
    se: float
    fit: RMAFit  # the model on observed + filled studies (the observed fit when k0 = 0)
    filled_yi: np.ndarray
    filled_vi: np.ndarray


def trimfill(fit: RMAFit, estimator: str = "L0", side: str | None = None, maxiter: int = 100) -> TrimFill:
    """Duval & Tweedie (2000) trim and fill as metafor ``trimfill``; side from the sign of the Egger-type
    slope (rma with sei as moderator) unless given; estimators L0 and R0."""
    _need_int_only(fit, "trim and fill")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0"):
        raise AnalysisError(f"unknown trim-and-fill estimator {estimator!r}; choose L0 or R0")
    kw = {"method": fit.method, "test": "z", "level": fit.level, "control": fit.control, "skip_r2": True}
    if side is None:
        X = np.column_stack([np.ones(fit.k), np.sqrt(fit.vi)])
        slope = fit_rma(fit.yi, fit.vi, X, ["intrcpt", "sei"], fit.labels, **kw).beta[1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise AnalysisError("side must be 'left' or 'right'")
    yi = -fit.yi if side == "right" else fit.yi.copy()
    order = np.argsort(yi, kind="stable")
    yi, vi = yi[order], fit.vi[order]
    k = fit.k
    ones = np.ones((k, 1))
    k0, k0_prev, it = 0, -1, 0
    se_k0 = 0.0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise AnalysisError("trim and fill did not converge")
        m = k - k0
        beta = float(fit_rma(yi[:m], vi[:m], ones[:m], ["intrcpt"], [""] * m, **kw).beta[0])
        yc = yi - beta
        ranks = stats.rankdata(np.abs(yc), method="ordinal")  # R rank(ties.method = "first")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            if neg.size == 0:
                raise AnalysisError("R0 estimator undefined: no study lies below the trimmed estimate")
            k0f = (k - neg.max()) - 1
            se_k0 = np.sqrt(2 * max(0.0, k0f) + 2)
        else:
            sr = signed[signed > 0].sum()
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                      - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f) / 24
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1)
        k0 = max(0, round(float(k0f)))  # R round(): halves to even, as Python
        se_k0 = max(0.0, float(se_k0))
        if k0 >= k:
            raise AnalysisError("trim and fill would trim every study; the method does not apply here")
    if k0 == 0:
        return TrimFill(0, se_k0, side, estimator, float(fit.beta[0]), float(fit.se[0]), fit,
                        np.empty(0), np.empty(0))
    yc = -(yc - beta) if side == "right" else yc - beta
    fill_y = -yc[k - k0:]
    fill_v = vi[k - k0:]
    labels = fit.labels + [f"Filled {i + 1}" for i in range(k0)]
    # metafor refits the filled data with its default test="z" whatever the original test was
    new = fit_rma(np.concatenate([fit.yi, fill_y]), np.concatenate([fit.vi, fill_v]), np.ones((k + k0, 1)),
                  ["intrcpt"], labels, method=fit.method, test="z", level=fit.level, control=fit.control)
    return TrimFill(k0, se_k0, side, estimator, float(new.beta[0]), float(new.se[0]), new, fill_y, fill_v)


@dataclass(frozen=True)
class FailSafeN:
    """Fail-safe numbers (metafor ``fsn``): Rosenthal (Stouffer), Orwin (target = mean/2), Rosenberg."""

    rosenthal: int
    orwin: int
    rosenberg: int
    rosenthal_p: float
    rosenberg_p: float
    orwin_target: float


def _fsn_round(x: float) -> int:
    """metafor: ceiling unless (numerically) an integer already."""
    if abs(x - round(x)) >= np.sqrt(np.finfo(float).eps):
        return int(np.ceil(x))
    return round(x)


def fsn(fit: RMAFit, alpha: float = 0.05, target: float | None = None) -> FailSafeN:
    """Rosenthal (1979), Orwin (1983, unweighted, target default mean/2) and Rosenberg (2005) fail-safe N."""
    y, v = fit.yi, fit.vi
    k = len(y)
    z_avg = abs(np.sum(y / np.sqrt(v)) / np.sqrt(k))
    rosenthal = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
    meanes = float(np.mean(y))
    tgt = meanes / 2 if target is None else float(target)
    if tgt == 0:
        raise AnalysisError("Orwin's fail-safe N is infinite for a target of 0")
    if np.sign(tgt) != np.sign(meanes):
        tgt = -tgt
    orwin = max(0.0, k * (meanes - tgt) / tgt)
    w = 1.0 / v
    wmean = np.sum(w * y) / w.sum()
    w_p = (np.sum(w * y) / stats.norm.isf(alpha / 2)) ** 2 - w.sum()
    rosenberg = max(0.0, k * w_p / w.sum())
    return FailSafeN(_fsn_round(rosenthal), _fsn_round(orwin), _fsn_round(rosenberg),
                     float(stats.norm.sf(z_avg)), float(2 * stats.norm.sf(abs(wmean * np.sqrt(w.sum())))), tgt)


@dataclass(frozen=True)
class PetPeese:
    """PET (sei) and PEESE (vi) weighted regressions and the conditional estimate."""

    pet_estimate: float
    pet_se: float
    pet_p: float
    peese_estimate: float
    peese_se: float
    peese_p: float
    chosen: str  # "PET" or "PEESE"
    estimate: float
    se: float


def pet_peese(fit: RMAFit, alpha: float = 0.05) -> PetPeese:
    """Stanley & Doucouliagos (2014): WLS yi ~ sei (PET) and yi ~ vi (PEESE), weights 1/vi, as lm().

    Conditional rule: use PEESE when PET's intercept differs from 0 in a one-sided test at ``alpha``
    in the direction of the PET estimate (two-sided p < 2·alpha), else PET.
    """
    _need_int_only(fit, "PET-PEESE")
    w = 1.0 / fit.vi
    pet = sm.WLS(fit.yi, np.column_stack([np.ones(fit.k), np.sqrt(fit.vi)]), weights=w).fit()
    peese = sm.WLS(fit.yi, np.column_stack([np.ones(fit.k), fit.vi]), weights=w).fit()
    use_peese = pet.pvalues[0] / 2 < alpha
    best = peese if use_peese else pet
    return PetPeese(float(pet.params[0]), float(pet.bse[0]), float(pet.pvalues[0]), float(peese.params[0]),
                    float(peese.bse[0]), float(peese.pvalues[0]), "PEESE" if use_peese else "PET",
                    float(best.params[0]), float(best.bse[0]))


@dataclass(frozen=True)
class MultilevelEgger:
    """Egger-type test that respects dependence: the standard error as a moderator of the three-level model
    (random-effects model when each study gives one effect size), its slope tested with cluster-robust (CR2)
    standard errors and Satterthwaite df, clustered by study. The intercept is the PET estimate: the effect a
    study with standard error 0 would show."""

    model: str                      # "three-level" or "random-effects"
    rve: str
    k: int
    n_studies: int
    slope: float
    slope_se: float
    t: float
    df: float
    p: float
    pet_estimate: float
    pet_se: float
    pet_df: float
    pet_p: float
    pet_ci_lb: float
    pet_ci_ub: float

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def text(self) -> str:
        """``slope 1.062 (CR2 se 1.095), t(5.56) = 0.969, p = 0.373; PET estimate 0.106 [-0.578, 0.789]``."""
        return (f"slope {self.slope:.3f} ({self.rve} se {self.slope_se:.3f}), t({self.df:.2f}) = {self.t:.3f}, "
                f"p = {self.p:.3f}; PET estimate {self.pet_estimate:.3f} "
                f"[{self.pet_ci_lb:.3f}, {self.pet_ci_ub:.3f}]")


def egger_multilevel(yi: Sequence[float] | np.ndarray, vi: Sequence[float] | np.ndarray, study: Sequence[Any],
                     es_id: Sequence[Any], *, method: str = "REML", rve: str = "CR2",
                     level: float = 95.0) -> MultilevelEgger:
    """metafor ``rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | study/es)`` + clubSandwich ``coef_test``
    (CR2, Satterthwaite) on the sqrt(vi) slope; with one effect per study, ``rma(yi, vi, mods = ~ sqrt(vi))``."""
    from metasift.analysis.metareg import metareg

    v = np.asarray(vi, dtype=float)
    if len(set(map(str, study))) < 3:
        raise AnalysisError("the Egger-type test needs at least 3 studies")
    fit = metareg(yi, v, study, es_id, pd.DataFrame({"sei": np.sqrt(v)}), ["sei"], method=method, rve=rve,
                  level=level)
    b0, b1 = fit.coefficients
    return MultilevelEgger(fit.model, fit.rve, fit.k, fit.n_studies, b1.estimate, b1.se, b1.t, b1.df, b1.p,
                           b0.estimate, b0.se, b0.df, b0.p, b0.ci_lb, b0.ci_ub)
