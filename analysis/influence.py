"""Leave-one-out analysis and case-deletion diagnostics, as metafor 3.8 ``leave1out()`` and ``influence()``.

Each study is deleted in turn and the same model (estimator, test, level, convergence control) is refit;
diagnostics follow Viechtbauer & Cheung (2010). A refit that fails leaves NaN in that study's row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from metasift.analysis._rma import RMAFit, fit_rma
from metasift.errors import AnalysisError


def _refit(fit: RMAFit, i: int, skip_r2: bool = True) -> RMAFit | None:
    keep = np.arange(fit.k) != i
    labels = [lab for j, lab in enumerate(fit.labels) if j != i]
    try:
        return fit_rma(fit.yi[keep], fit.vi[keep], fit.X[keep], fit.coef_names, labels, method=fit.method,
                       test=fit.test, level=fit.level, control=fit.control, skip_r2=skip_r2)
    except AnalysisError:
        return None


@dataclass(frozen=True)
class LeaveOneOut:
    """Per omitted study: the pooled estimate and heterogeneity without it."""

    labels: list[str]
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    Q: np.ndarray
    Qp: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    H2: np.ndarray

    def records(self) -> list[dict[str, Any]]:
        """One dict per omitted study (JSON-ready floats; NaN where the refit failed)."""
        keys = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")
        return [{"study": lab, **{k: float(getattr(self, k)[i]) for k in keys}}
                for i, lab in enumerate(self.labels)]


def leave1out(fit: RMAFit, progress: Callable[[int], None] | None = None) -> LeaveOneOut:
    """Refit the model without moderators k times, each time leaving one study out (metafor leave1out).

    ``progress(i)`` is called after each refit (for a progress bar)."""
    if not fit.int_only:
        raise AnalysisError("leave-one-out analysis applies to models without moderators")
    if fit.k < 3:
        raise AnalysisError(f"leave-one-out analysis needs at least 3 studies; got k = {fit.k}")
    cols: dict[str, list[float]] = {k: [] for k in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub",
                                                   "Q", "Qp", "tau2", "I2", "H2")}
    for i in range(fit.k):
        r = _refit(fit, i)
        vals = ((np.nan,) * 11 if r is None else
                (r.beta[0], r.se[0], r.stat[0], r.pval[0], r.ci_lb[0], r.ci_ub[0], r.QE, r.QEp, r.tau2,
                 r.I2, r.H2))
        for key, val in zip(cols, vals):
            cols[key].append(float(val))
        if progress:
            progress(i + 1)
    return LeaveOneOut(labels=list(fit.labels), **{k: np.array(v) for k, v in cols.items()})


@dataclass(frozen=True)
class Influence:
    """Case-deletion diagnostics per study (metafor ``influence()``), ``dfbetas`` as a k×p matrix."""

    labels: list[str]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    QE_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    coef_names: list[str]
    is_influential: np.ndarray  # metafor's "*" flag

    def records(self) -> list[dict[str, Any]]:
        """One dict per study (dfbetas keyed by coefficient name)."""
        out = []
        for i, lab in enumerate(self.labels):
            row: dict[str, Any] = {"study": lab}
            for key in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"):
                row[key] = float(getattr(self, key)[i])
            row["dfbetas"] = {n: float(self.dfbetas[i, j]) for j, n in enumerate(self.coef_names)}
            row["influential"] = bool(self.is_influential[i])
            out.append(row)
        return out


def hat_values(fit: RMAFit) -> np.ndarray:
    """Diagonal of the hat matrix X(X'WX)⁻¹X'W with W = 1/(vi + tau²)."""
    w = 1.0 / (fit.vi + fit.tau2)
    _, r = np.linalg.qr(np.sqrt(w)[:, None] * fit.X)
    rinv = np.linalg.inv(r)
    a = rinv @ rinv.T
    h = w * np.einsum("ij,jk,ik->i", fit.X, a, fit.X)
    return np.where(h > 1 - 10 * np.finfo(float).eps, 1.0, h)


def influence(fit: RMAFit, progress: Callable[[int], None] | None = None) -> Influence:
    """Studentised deleted residuals, DFFITS, Cook's distance, COVRATIO, tau²/QE after deletion, hat
    values, weights and DFBETAS, as metafor ``influence.rma.uni`` (all coefficients enter Cook's D).

    ``progress(i)`` is called after each refit (for a progress bar)."""
    if fit.k < 3:
        raise AnalysisError(f"influence diagnostics need at least 3 studies; got k = {fit.k}")
    k, p = fit.k, fit.p
    nan = np.full(k, np.nan)
    tau2_del, qe_del, delpred, vdelpred, s2w_del = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    dffits, cook, cov_r = nan.copy(), nan.copy(), nan.copy()
    dfbs = np.full((k, p), np.nan)
    hat = hat_values(fit)
    pred_full = fit.X @ fit.beta
    vb_inv = np.linalg.inv(fit.vb)
    det_full = np.linalg.det(fit.vb)
    for i in range(k):
        r = _refit(fit, i)
        if progress:
            progress(i + 1)
        if r is None:
            continue
        xi = fit.X[i]
        tau2_del[i], qe_del[i], s2w_del[i] = r.tau2, r.QE, r.s2w
        delpred[i] = xi @ r.beta
        vdelpred[i] = xi @ r.vb @ xi
        dffits[i] = (pred_full[i] - delpred[i]) / np.sqrt(r.s2w * hat[i] * (r.tau2 + fit.vi[i]))
        w_del = 1.0 / (fit.vi + r.tau2)
        vb_del = np.linalg.inv(fit.X.T @ (w_del[:, None] * fit.X))
        dfb = fit.beta - r.beta
        dfbs[i] = dfb / np.sqrt(r.s2w * np.diag(vb_del))
        cook[i] = dfb @ vb_inv @ dfb
        cov_r[i] = np.linalg.det(r.vb) / det_full
    resid = fit.yi - delpred
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    rstudent = resid / np.sqrt(fit.vi * s2w_del + vdelpred + tau2_del * s2w_del)
    with np.errstate(invalid="ignore"):
        infl = ((np.abs(dffits) > 3 * np.sqrt(p / (k - p))) | (stats.chi2.cdf(cook, p) > 0.5)
                | (hat > 3 * p / k) | np.any(np.abs(dfbs) > 1, axis=1))
    return Influence(labels=list(fit.labels), rstudent=rstudent, dffits=dffits, cook_d=cook, cov_r=cov_r,
                     tau2_del=tau2_del, QE_del=qe_del, hat=hat, weight=fit.weights(), dfbetas=dfbs,
                     coef_names=list(fit.coef_names), is_influential=infl & ~np.isnan(cook))
