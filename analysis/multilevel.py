"""Three-level meta-analysis: effect sizes nested in studies, as metafor's
``rma.mv(yi, vi, mods, random = ~ 1 | study/es, method = "REML")``.

The marginal covariance is block-diagonal by study, V_j = diag(vi_j) + sigma2_es I + sigma2_study 11',
so every product with V^-1 is done in O(k) with the Sherman-Morrison identity (no dense k x k matrix).
Variance components are estimated by maximising the (restricted) log-likelihood with an analytic
gradient (L-BFGS-B on sigma2 >= 0, then Newton polishing), fixed effects by GLS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metasift.analysis import _codes, _dist
from metasift.analysis._mlfit import Blocks, maximise
from metasift.analysis._rma import _drop_redundant, design_matrix
from metasift.errors import AnalysisError

Mods = Any  # pandas DataFrame/Series (strings become factor(x)level dummies) or a 1-D/2-D array


def model_matrix(mods: Mods, k: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """[intercept | moderators] for k rows, the column names and the missing-moderator row mask.

    Moderator coding is ``analysis._rma.design_matrix`` so every model names columns alike.
    """
    M, names, missing = design_matrix(mods, k)
    return np.column_stack([np.ones(k), M]), ["intrcpt"] + names, missing


def finish_design(X: np.ndarray, names: list[str], warnings: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop redundant (collinear) moderator columns as metafor does, noting them in ``warnings``."""
    if X.shape[1] > 1:
        X, names, redundant = _drop_redundant(X, names)
        if redundant:
            warnings.append(f"redundant predictors dropped from the model: {', '.join(redundant)}")
    return X, names


def _num(x: Any) -> float | None:
    """A JSON-safe float (None for NaN/inf/None)."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def typical_within_variance(vi: np.ndarray) -> float:
    """'Typical' sampling variance, Higgins & Thompson (2002) eq. 9: (k-1) sum(w) / ((sum w)^2 - sum(w^2))."""
    w = 1.0 / np.asarray(vi, dtype=float)
    return float((len(w) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum()))


@dataclass(frozen=True)
class MultilevelFit:
    """A fitted three-level model; fields mirror metafor's rma.mv object."""

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    study: np.ndarray          # study label per effect size (cleaned rows, input order)
    es_id: np.ndarray
    rows: np.ndarray           # 0-based indices of the input rows that were used
    coef_names: list[str]
    method: str
    test: str
    level: float               # in percent
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: float | None           # k - p for test="t", else None
    sigma2: list[float]        # [study level, effect-size level]
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    I2: float                  # total I^2 (percent), Assink & Wibbelink (2016)
    H2: float
    I2_levels: dict[str, float]
    typical_v: float
    k: int
    p: int
    n_studies: int
    logLik: float
    AIC: float
    BIC: float
    AICc: float
    pi_lb: float | None
    pi_ub: float | None
    warnings: list[str] = field(default_factory=list)

    def marginal_cov(self, idx: np.ndarray) -> np.ndarray:
        """Model-implied covariance of the effect sizes at positions ``idx`` (cleaned order)."""
        idx = np.asarray(idx)
        same = self.study[idx][:, None] == self.study[idx][None, :]
        return np.diag(self.vi[idx] + self.sigma2[1]) + self.sigma2[0] * same

    def weights(self) -> np.ndarray:
        """Percentage weight of each effect size, as metafor ``weights(rma.mv)``: the diagonal of the inverse
        marginal covariance, normalised to 100 (the off-diagonal terms make it an approximate share)."""
        w = np.empty(self.k)
        for s in dict.fromkeys(self.study):
            idx = np.flatnonzero(self.study == s)
            w[idx] = np.diag(np.linalg.inv(self.marginal_cov(idx)))
        return 100 * w / w.sum()

    def to_dict(self) -> dict:
        """The ``metasift meta --json`` contract (tau2 null; sigma2 and I2_levels given)."""
        coefs = [
            {
                "name": n, "estimate": _num(b), "se": _num(s), "stat": _num(z), "p": _num(pv),
                "ci_lb": _num(lo), "ci_ub": _num(hi), "df": _num(self.df),
            }
            for n, b, s, z, pv, lo, hi in zip(
                self.coef_names, self.beta, self.se, self.stat, self.pval, self.ci_lb, self.ci_ub
            )
        ]
        return {
            "k": self.k, "method": self.method, "tau2": None, "tau2_se": None,
            "I2": _num(self.I2), "H2": _num(self.H2), "QE": _num(self.QE), "QEp": _num(self.QEp),
            "QM": _num(self.QM), "QMp": _num(self.QMp), "R2": None, "coefficients": coefs,
            "pi_lb": _num(self.pi_lb), "pi_ub": _num(self.pi_ub),
            "sigma2": [_num(s) for s in self.sigma2],
            "I2_levels": {key: _num(v) for key, v in self.I2_levels.items()},
            "n_studies": self.n_studies, "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """Text laid out like metafor's print(rma.mv)."""
        lines = [f"Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})", ""]
        lines.append(f"  logLik  {self.logLik:10.4f}   AIC {self.AIC:10.4f}   BIC {self.BIC:10.4f}   AICc {self.AICc:10.4f}")
        lines += ["", "Variance Components:", ""]
        lines.append(f"{'':12}{'estim':>9}{'sqrt':>9}{'nlvls':>7}  factor")
        nl = [self.n_studies, self.k]
        for i, (s2, fac) in enumerate(zip(self.sigma2, ["study", "study/es"])):
            lines.append(f"sigma^2.{i + 1:<4}{s2:9.4f}{np.sqrt(s2):9.4f}{nl[i]:7d}  {fac}")
        lv = self.I2_levels
        lines += [
            "",
            (f"I^2 (Assink & Wibbelink): total {lv['total']:.2f}%  level 3 (between studies) {lv['level3']:.2f}%  "
             f"level 2 (within studies) {lv['level2']:.2f}%  level 1 (sampling) {lv['sampling']:.2f}%"),
            "",
            "Test for Residual Heterogeneity:" if self.p > 1 else "Test for Heterogeneity:",
            f"QE(df = {self.k - self.p}) = {self.QE:.4f}, p-val {_fmt_p(self.QEp)}",
        ]
        if self.p > 1:
            m, d2 = self.QMdf
            what = f"F(df1 = {m}, df2 = {d2})" if self.test == "t" else f"QM(df = {m})"
            lines += ["", "Test of Moderators:", f"{what} = {self.QM:.4f}, p-val {_fmt_p(self.QMp)}"]
        lines += ["", "Model Results:", ""]
        sname = "tval" if self.test == "t" else "zval"
        width = max(len(n) for n in self.coef_names)
        head = f"{'':{width}} {'estimate':>9}{'se':>9}{sname:>9}" + (f"{'df':>6}" if self.test == "t" else "")
        lines.append(head + f"{'pval':>9}{'ci.lb':>9}{'ci.ub':>9}")
        for i, n in enumerate(self.coef_names):
            row = f"{n:{width}} {self.beta[i]:9.4f}{self.se[i]:9.4f}{self.stat[i]:9.4f}"
            if self.test == "t":
                row += f"{self.df:6.0f}"
            lines.append(row + f"{_fmt_p(self.pval[i], bare=True):>9}{self.ci_lb[i]:9.4f}{self.ci_ub[i]:9.4f}")
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _fmt_p(p: float, bare: bool = False) -> str:
    """metafor-style p-value text."""
    if p < 1e-4:
        return "<.0001" if bare else "< .0001"
    return f"{p:.4f}" if bare else f"= {p:.4f}"


def _clean(yi, vi, study, es_id, mod_missing: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Rows usable for fitting and a warning naming dropped ones (metafor drops NAs the same way)."""
    miss = ~np.isfinite(yi) | ~np.isfinite(vi) | _codes.isna(study) | _codes.isna(es_id) | mod_missing
    warnings: list[str] = []
    if miss.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(miss))
        warnings.append(f"rows with missing values omitted from model fitting: {rows}")
    return ~miss, warnings


def rma_mv(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    study: Sequence[Any] | np.ndarray,
    es_id: Sequence[Any] | np.ndarray,
    mods: Mods = None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
) -> MultilevelFit:
    """Fit the three-level model ``random = ~ 1 | study/es`` (REML or ML) with optional moderators."""
    method = method.upper()
    if method not in ("REML", "ML"):
        raise AnalysisError(f"method must be REML or ML for the three-level model, not {method!r}")
    if test not in ("z", "t"):
        raise AnalysisError(f"test must be 'z' or 't', not {test!r}")
    lev = level / 100.0 if level > 1 else float(level)
    if not 0 < lev < 1:
        raise AnalysisError(f"level must be between 0 and 100, not {level}")
    yi_a = np.asarray(yi, dtype=float)
    vi_a = np.asarray(vi, dtype=float)
    study_a = np.asarray(study, dtype=object)
    es_a = np.asarray(es_id, dtype=object)
    k0 = len(yi_a)
    if not (len(vi_a) == len(study_a) == len(es_a) == k0):
        raise AnalysisError("yi, vi, study and es_id must have the same length")
    X, names, mod_missing = model_matrix(mods, k0)
    keep, warns = _clean(yi_a, vi_a, study_a, es_a, mod_missing)
    yi_a, vi_a, study_a, es_a, X = yi_a[keep], vi_a[keep], study_a[keep], es_a[keep], X[keep]
    k = len(yi_a)
    if np.any(vi_a <= 0):
        bad = ", ".join(str(i + 1) for i in np.flatnonzero(keep)[vi_a <= 0][:10])
        raise AnalysisError(f"sampling variances must be positive (rows {bad})")
    study_text = _codes.as_text(study_a)
    group, labels = _codes.factorize(study_text, sort=True)
    n_studies = len(labels)
    if n_studies < 2:
        raise AnalysisError("the three-level model needs at least 2 studies")
    if len(set(zip(group.tolist(), _codes.as_text(es_a), strict=True))) < k:
        raise AnalysisError("effect-size ids repeat within a study; each (study, es) pair must be unique")
    counts = np.bincount(group)
    if counts.max() < 2:
        raise AnalysisError(
            "every study has a single effect size, so the study and effect-size levels cannot be told apart; "
            "use a two-level model (rma) instead"
        )
    X, names = finish_design(X, names, warns)
    p = X.shape[1]
    if k - p < 1:
        raise AnalysisError(f"k = {k} effect sizes are too few for {p} coefficients")

    blocks = Blocks(yi_a, vi_a, X, group)
    reml = method == "REML"
    # start: method-of-moments heterogeneity from the fixed-effects fit, split over the two levels
    w = 1.0 / vi_a
    XW = X.T * w
    b_fe = np.linalg.solve(XW @ X, XW @ yi_a)
    qe = float((w * (yi_a - X @ b_fe) ** 2).sum())
    trace = w.sum() - np.trace(np.linalg.solve(XW @ X, (X.T * w**2) @ X))
    tau2_mm = max((qe - (k - p)) / trace, 0.0)
    start = np.full(2, max(tau2_mm / 2, 0.01 * np.var(yi_a), 1e-4))
    sig, gmax = maximise(blocks, reml, start)
    if not np.isfinite(gmax) or gmax > 1e-3:
        raise AnalysisError(f"the {method} optimisation did not converge (gradient {gmax:.2g})")
    if gmax > 1e-6:
        warns.append(f"{method} optimisation converged loosely (max gradient {gmax:.2g})")
    for name, s in zip(("study", "effect-size"), sig):
        if s == 0:
            warns.append(f"the {name}-level variance is estimated at the boundary (0)")
    ev = blocks.evaluate(sig[0], sig[1], reml, grad=False)
    beta, vb = ev["beta"], ev["vb"]
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if test == "t":
        df: float | None = float(k - p)
        pval = 2 * _dist.t_sf(np.abs(stat), df)
        crit = _dist.t_ppf(1 - (1 - lev) / 2, df)
    else:
        df = None
        pval = 2 * _dist.norm_sf(np.abs(stat))
        crit = _dist.norm_ppf(1 - (1 - lev) / 2)
    # omnibus test of the moderators (the intercept alone when there are none), as metafor
    btt = np.arange(1, p) if p > 1 else np.arange(1)
    m = len(btt)
    qm = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    if test == "t":
        qm /= m
        qmp = float(_dist.f_sf(qm, m, k - p))
        qmdf: tuple[int, int | None] = (m, k - p)
    else:
        qmp = float(_dist.chi2_sf(qm, m))
        qmdf = (m, None)
    v_typ = typical_within_variance(vi_a)
    total = sig.sum() + v_typ
    levels = {
        "total": 100 * sig.sum() / total, "level3": 100 * sig[0] / total,
        "level2": 100 * sig[1] / total, "sampling": 100 * v_typ / total,
    }
    pi_lb = pi_ub = None
    if p == 1:
        half = crit * np.sqrt(se[0] ** 2 + sig.sum())
        pi_lb, pi_ub = float(beta[0] - half), float(beta[0] + half)
    n_par = p + 2
    n_eff = k - p if reml else k
    ll = ev["ll"]
    return MultilevelFit(
        yi=yi_a, vi=vi_a, X=X, study=study_text, es_id=es_a,
        rows=np.flatnonzero(keep), coef_names=names, method=method, test=test, level=100 * lev,
        beta=beta, se=se, vb=vb, stat=stat, pval=pval, ci_lb=beta - crit * se, ci_ub=beta + crit * se,
        df=df, sigma2=[float(sig[0]), float(sig[1])], QE=qe, QEp=float(_dist.chi2_sf(qe, k - p)),
        QM=qm, QMp=qmp, QMdf=qmdf, I2=levels["total"], H2=total / v_typ, I2_levels=levels,
        typical_v=v_typ, k=k, p=p, n_studies=n_studies, logLik=ll, AIC=-2 * ll + 2 * n_par,
        BIC=-2 * ll + n_par * np.log(n_eff),
        AICc=-2 * ll + 2 * n_par * max(n_eff, n_par + 2) / (max(n_eff, n_par + 2) - n_par - 1),
        pi_lb=pi_lb, pi_ub=pi_ub, warnings=warns,
    )
