"""The univariate meta-analysis model ``rma()`` and its result ``RMAFit``, matching metafor 3.8 ``rma.uni``.

Fixed- or random-effects models with optional moderators (meta-regression), nine tau² estimators,
z or Knapp–Hartung tests, I²/H², QE/QM, pseudo-R² and the prediction interval. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metasift.analysis import _dist
from metasift.analysis._tau2 import METHODS, Control, estimate_tau2, q_profile_ci
from metasift.errors import AnalysisError

TESTS = ("z", "knha")


@dataclass(frozen=True)
class RMAFit:
    """A fitted univariate model; fields and numbers as metafor's ``rma.uni`` object."""

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    coef_names: list[str]
    labels: list[str]
    method: str
    test: str
    level: float
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: float | None
    tau2: float
    tau2_se: float | None
    I2: float
    H2: float
    QE: float
    QEp: float
    QM: float
    QMp: float
    R2: float | None
    k: int
    p: int
    pi_lb: float | None  # None for FE models and with moderators, as metafor predict()
    pi_ub: float | None
    QM_df: tuple[int, int | None] = (1, None)  # (m, k−p for knha's F test else None)
    vt: float = float("nan")  # "typical" within-study variance used for I² (metafor's vt)
    s2w: float = 1.0  # Knapp–Hartung scale factor (1 for z tests)
    intercept: bool = True
    control: Control = field(default_factory=Control)
    warnings: list[str] = field(default_factory=list)

    @property
    def int_only(self) -> bool:
        """True for a model without moderators."""
        return self.p == 1 and self.intercept

    def weights(self) -> np.ndarray:
        """Percentage weight of each study, as metafor ``weights()``: 1/(vi+tau²) normalised to 100."""
        w = 1.0 / (self.vi + self.tau2)
        return 100.0 * w / w.sum()

    def to_dict(self) -> dict[str, Any]:
        """The ``metasift meta --json`` contract (I² and R² in percent; pi_* only without moderators)."""
        coefs = [
            {"name": n, "estimate": float(b), "se": float(s), "stat": float(z), "p": float(pv),
             "ci_lb": float(lo), "ci_ub": float(hi), "df": self.df}
            for n, b, s, z, pv, lo, hi in zip(self.coef_names, self.beta, self.se, self.stat, self.pval,
                                             self.ci_lb, self.ci_ub)
        ]
        return {"k": self.k, "method": self.method, "tau2": self.tau2, "tau2_se": self.tau2_se,
                "I2": self.I2, "H2": self.H2, "QE": self.QE, "QEp": self.QEp, "QM": self.QM,
                "QMp": self.QMp, "R2": self.R2, "coefficients": coefs, "pi_lb": self.pi_lb,
                "pi_ub": self.pi_ub, "sigma2": None}

    def summary(self) -> str:
        """Plain-text report laid out like metafor's ``print(rma)``."""
        return _format_fit(self)


# ---------------------------------------------------------------------------------------------------
# Design matrix


def _alpha(level: float) -> float:
    """metafor's .level(): 95 -> 0.05, 0.95 -> 0.05."""
    if level >= 1:
        return (100.0 - level) / 100.0
    return 1.0 - level if level > 0.5 else level


def design_matrix(mods: Any, k: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Moderator columns and names (treatment-coded ``factor(x)level`` dummies) plus a row-missing mask."""
    if mods is None:
        return np.empty((k, 0)), [], np.zeros(k, bool)
    import pandas as pd  # only with moderators: it costs more start-up than the fit (analysis._codes)

    if isinstance(mods, pd.Series):
        mods = mods.to_frame()
    if not isinstance(mods, pd.DataFrame):
        arr = np.asarray(mods, dtype=float)
        arr = arr.reshape(k, -1) if arr.ndim == 1 else arr
        if arr.shape[0] != k:
            raise AnalysisError(f"moderator matrix has {arr.shape[0]} rows but there are {k} effect sizes")
        names = ["mods"] if arr.shape[1] == 1 else [f"X{j + 1}" for j in range(arr.shape[1])]
        return arr, names, np.isnan(arr).any(axis=1)
    if len(mods) != k:
        raise AnalysisError(f"moderator table has {len(mods)} rows but there are {k} effect sizes")
    missing = mods.isna().any(axis=1).to_numpy()
    cols, names = [], []
    for name in mods.columns:
        col = mods[name]
        kept = col[~missing]
        if pd.api.types.is_bool_dtype(col):
            if kept.nunique() < 2:
                raise AnalysisError(f"moderator {name!r} has only one value; it cannot explain anything")
            cols.append(col.astype(float).to_numpy())
            names.append(f"{name}TRUE")
        elif pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            if kept.nunique() < 2:
                raise AnalysisError(f"moderator {name!r} is constant ({kept.iloc[0] if len(kept) else 'no data'}); "
                                    "it cannot explain anything")
            cols.append(col.astype(float).to_numpy())
            names.append(str(name))
        else:
            if isinstance(col.dtype, pd.CategoricalDtype):
                levels = [lv for lv in col.cat.categories if (kept == lv).any()]
            else:
                levels = sorted(kept.astype(str).unique())  # R's factor(): sorted levels
                col = col.where(col.isna(), col.astype(str))
            if len(levels) < 2:
                raise AnalysisError(f"moderator {name!r} has only one level"
                                    f"{' (' + str(levels[0]) + ')' if levels else ''}; it needs at least two")
            for lv in levels[1:]:  # treatment coding: the first level is the reference
                cols.append((col == lv).astype(float).to_numpy())
                names.append(f"factor({name}){lv}")
    return np.column_stack(cols), names, missing


def _drop_redundant(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Drop columns linearly dependent on earlier ones (as lm()/metafor do), returning the dropped names."""
    keep: list[int] = []
    dropped: list[str] = []
    for j in range(X.shape[1]):
        trial = X[:, keep + [j]]
        if np.linalg.matrix_rank(trial, tol=1e-7 * max(1.0, np.abs(trial).max())) == len(keep) + 1:
            keep.append(j)
        else:
            dropped.append(names[j])
    return X[:, keep], [names[j] for j in keep], dropped


# ---------------------------------------------------------------------------------------------------
# Fitting


def _as_float(x: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{what} must be numeric: {exc}") from None
    return arr


def rma(yi: Any, vi: Any, mods: Any = None, *, method: str = "REML", test: str = "z", level: float = 95.0,
        labels: Sequence[str] | None = None, intercept: bool = True,
        control: Control | None = None) -> RMAFit:
    """Fit metafor's univariate model rma(yi, vi, mods, method, test); rows with missing data are dropped."""
    y = _as_float(yi, "yi")
    v = _as_float(vi, "vi")
    if len(y) != len(v):
        raise AnalysisError(f"yi has {len(y)} values but vi has {len(v)}")
    k_all = len(y)
    labs = [str(s) for s in labels] if labels is not None else [f"Study {i + 1}" for i in range(k_all)]
    if len(labs) != k_all:
        raise AnalysisError(f"{len(labs)} study labels for {k_all} effect sizes")
    M, mod_names, mod_missing = design_matrix(mods, k_all)
    missing = np.isnan(y) | np.isnan(v) | mod_missing
    warnings: list[str] = []
    if missing.any():
        dropped = [labs[i] for i in np.flatnonzero(missing)]
        warnings.append(f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with missing values "
                        f"omitted: {', '.join(dropped)}")
    keep = ~missing
    y, v, M = y[keep], v[keep], M[keep]
    labs = [lab for lab, ok in zip(labs, keep) if ok]
    if intercept:
        X, names = np.column_stack([np.ones(len(y)), M]), ["intrcpt"] + mod_names
    else:
        if M.shape[1] == 0:
            raise AnalysisError("a model without intercept needs at least one moderator")
        X, names = M, mod_names
    if len(y) and X.shape[1] > 1:
        X, names, redundant = _drop_redundant(X, names)
        if redundant:
            warnings.append(f"redundant predictors dropped from the model: {', '.join(redundant)}")
    return fit_rma(y, v, X, names, labs, method=method, test=test, level=level, control=control,
                   warnings=warnings)


def fit_rma(y: np.ndarray, v: np.ndarray, X: np.ndarray, names: list[str], labels: list[str], *,
            method: str = "REML", test: str = "z", level: float = 95.0, control: Control | None = None,
            warnings: list[str] | None = None, skip_r2: bool = False) -> RMAFit:
    """Fit on complete data with a ready design matrix (the core used by rma, influence and trim-and-fill)."""
    method, test = method.upper(), test.lower()
    if method not in METHODS:
        raise AnalysisError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise AnalysisError(f"unknown test {test!r}; choose 'z' or 'knha'")
    con = control or Control()
    warnings = list(warnings or [])
    k, p = X.shape
    if k < 2:
        raise AnalysisError(f"a meta-analysis needs at least 2 studies with complete data; got k = {k}")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)):
        raise AnalysisError("yi and vi must be finite numbers")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise AnalysisError("sampling variances must be > 0; not so for: "
                            + ", ".join(f"{labels[i]} (vi = {v[i]:g})" for i in bad[:10]))
    need = p if method == "FE" else p + 1
    if need > k:
        raise AnalysisError(f"{p} coefficient(s){'' if method == 'FE' else ' plus tau²'} cannot be estimated "
                            f"from k = {k} studies")
    if np.any(np.linalg.eigvalsh(X.T @ X) <= 1e-7):
        raise AnalysisError("the moderator matrix is not of full rank; cannot fit the model")
    if v.max() / v.min() >= 1e7:
        warnings.append("ratio of largest to smallest sampling variance is extremely large; "
                        "results may be unstable")
    int_incl = bool(np.all(np.abs(X[:, 0] - 1) < 1e-8))

    est = estimate_tau2(y, v, X, method, con)
    warnings += est.warnings
    tau2 = est.tau2
    alpha = _alpha(level)

    w = 1.0 / (v + tau2)
    sw = np.sqrt(w)
    _, r = np.linalg.qr(sw[:, None] * X)
    rinv = np.linalg.inv(r)
    vb = rinv @ rinv.T
    beta = vb @ (X.T @ (w * y))
    s2w = 1.0
    if test == "knha":  # Knapp & Hartung (2003); metafor does not truncate s2w at 1
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    btt = np.arange(1, p) if p > 1 and int_incl else np.arange(p)  # metafor's default btt
    m = len(btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = float("nan")
    if test == "knha":
        ddf: float | None = float(k - p)
        qm /= m
        qmp = float(_dist.f_sf(qm, m, k - p)) if k > p else float("nan")
        pval = 2 * _dist.t_sf(np.abs(zval), k - p) if k > p else np.full(p, np.nan)
        crit = float(_dist.t_isf(alpha / 2, k - p)) if k > p else float("nan")
        qm_df: tuple[int, int | None] = (m, k - p)
    else:
        ddf = None
        qmp = float(_dist.chi2_sf(qm, m))
        pval = 2 * _dist.norm_sf(np.abs(zval))
        crit = float(_dist.norm_isf(alpha / 2))
        qm_df = (m, None)
    ci_lb, ci_ub = beta - crit * se, beta + crit * se

    # Heterogeneity: QE from the FE weights; I²/H² from this model's tau² with metafor's vt.
    if k > p:
        from metasift.analysis._tau2 import _PStats

        ps = _PStats(X, 1.0 / v)
        qe = max(0.0, ps.quad(y - y.mean()))
        qep = float(_dist.chi2_sf(qe, k - p))
        vt = (k - p) / ps.trace()  # Higgins & Thompson's typical within-study variance, general form
        if method == "FE":
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
        else:
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
    else:
        qe, qep, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0

    int_only = p == 1 and int_incl
    r2 = None
    if not int_only and int_incl and not skip_r2:
        r2 = _pseudo_r2(y, v, X, beta, tau2, method, con, warnings)

    pi_lb = pi_ub = None
    if int_only and method != "FE":
        # metafor predict(): pred ± crit·sqrt(se² + tau²), t(k−p) quantile for knha
        half = crit * np.sqrt(se[0] ** 2 + tau2)
        pi_lb, pi_ub = float(beta[0] - half), float(beta[0] + half)

    return RMAFit(
        yi=y, vi=v, X=X, coef_names=list(names), labels=list(labels), method=method, test=test,
        level=float(level), beta=beta, se=se, vb=vb, stat=zval, pval=np.asarray(pval, float),
        ci_lb=ci_lb, ci_ub=ci_ub, df=ddf, tau2=float(tau2), tau2_se=est.se, I2=float(i2), H2=float(h2),
        QE=float(qe), QEp=float(qep), QM=float(qm), QMp=float(qmp), R2=r2, k=k, p=p, pi_lb=pi_lb,
        pi_ub=pi_ub, QM_df=qm_df, vt=float(vt), s2w=float(s2w), intercept=int_incl, control=con,
        warnings=warnings,
    )


def _pseudo_r2(y: np.ndarray, v: np.ndarray, X: np.ndarray, beta: np.ndarray, tau2: float, method: str,
               con: Control, warnings: list[str]) -> float | None:
    """metafor's R²: (tau²_RE − tau²_ME)/tau²_RE truncated at 0 (FE: adjusted weighted-lm R²), percent."""
    k, p = X.shape
    if method == "FE":
        if np.var(y) == 0:
            return 0.0
        w = 1.0 / v
        fitted = X @ beta
        ybar = np.sum(w * y) / w.sum()
        rss = float(np.sum(w * (y - fitted) ** 2))
        mss = float(np.sum(w * (fitted - np.sum(w * fitted) / w.sum()) ** 2))
        if not np.isfinite(ybar) or mss + rss == 0:
            return 0.0
        r2 = mss / (mss + rss)
        adj = 1 - (1 - r2) * (k - 1) / (k - p)  # summary.lm adj.r.squared with an intercept
        return max(0.0, 100 * adj)
    try:
        tau2_re = estimate_tau2(y, v, np.ones((k, 1)), method, con).tau2
    except AnalysisError as exc:
        warnings.append(f"R² not computed: the model without moderators failed ({exc})")
        return None
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100 * (tau2_re - tau2) / tau2_re)


# ---------------------------------------------------------------------------------------------------
# Confidence intervals for the heterogeneity


@dataclass(frozen=True)
class HeterogeneityCI:
    """Q-profile CIs for tau², tau, I² and H² (metafor ``confint(fit)``)."""

    level: float
    tau2: tuple[float, float, float]  # estimate, lb, ub
    tau: tuple[float, float, float]
    I2: tuple[float, float, float]
    H2: tuple[float, float, float]
    lb_sign: str = ""  # "<" or ">" when a bound sits at the search limit, as metafor prints
    ub_sign: str = ""


def tau2_ci(fit: RMAFit, level: float | None = None) -> tuple[float, float]:
    """Q-profile confidence interval (lb, ub) for tau² (Viechtbauer 2007), as metafor ``confint()``."""
    ci = heterogeneity_ci(fit, level)
    return ci.tau2[1], ci.tau2[2]


def heterogeneity_ci(fit: RMAFit, level: float | None = None) -> HeterogeneityCI:
    """Q-profile CIs for tau² and the implied tau, I² (percent) and H², as metafor ``confint()``."""
    if fit.method == "FE":
        raise AnalysisError("a fixed-effect model has no tau² to give a confidence interval for")
    lvl = fit.level if level is None else level
    lb, ub, lbs, ubs = q_profile_ci(fit.yi, fit.vi, fit.X, fit.tau2, lvl, fit.control)
    vt = fit.vt
    return HeterogeneityCI(
        level=float(lvl), tau2=(fit.tau2, lb, ub),
        tau=(float(np.sqrt(fit.tau2)), float(np.sqrt(max(lb, 0.0))), float(np.sqrt(max(ub, 0.0)))),
        I2=(fit.I2, 100 * lb / (vt + lb), 100 * ub / (vt + ub)),
        H2=(fit.H2, lb / vt + 1, ub / vt + 1), lb_sign=lbs, ub_sign=ubs,
    )


# ---------------------------------------------------------------------------------------------------
# Text layout of print(rma)


def fmt_p(p: float, digits: int = 4) -> str:
    """metafor's .pval(): '<.0001' below the display cutoff, else fixed digits."""
    if p is None or not np.isfinite(p):
        return "NA"
    cutoff = 10.0 ** -digits
    return f"{p:.{digits}f}" if p >= cutoff else "<." + "0" * (digits - 1) + "1"


def signif_stars(p: float) -> str:
    """R's significance codes."""
    if not np.isfinite(p):
        return ""
    for cut, sym in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return sym
    return ""


def fit_header(fit: RMAFit) -> list[str]:
    """The heterogeneity block of print(rma), line by line."""
    out = []
    if fit.method == "FE":
        title = "Fixed-Effects Model" if fit.int_only else "Fixed-Effects with Moderators Model"
        out.append(f"{title} (k = {fit.k})")
    else:
        title = "Random-Effects Model" if fit.int_only else "Mixed-Effects Model"
        out.append(f"{title} (k = {fit.k}; tau^2 estimator: {fit.method})")
    out.append("")
    if fit.method != "FE":
        se = f" (SE = {fit.tau2_se:.4f})" if fit.tau2_se is not None else ""
        if fit.int_only:
            out.append(f"tau^2 (estimated amount of total heterogeneity): {fit.tau2:.4f}{se}")
            out.append(f"tau (square root of estimated tau^2 value):      {np.sqrt(fit.tau2):.4f}")
        else:
            out.append(f"tau^2 (estimated amount of residual heterogeneity):     {fit.tau2:.4f}{se}")
            out.append(f"tau (square root of estimated tau^2 value):             {np.sqrt(fit.tau2):.4f}")
    if fit.int_only:
        out.append(f"I^2 (total heterogeneity / total variability):   {fit.I2:.2f}%")
        out.append(f"H^2 (total variability / sampling variability):  {fit.H2:.2f}")
    else:
        out.append(f"I^2 (residual heterogeneity / unaccounted variability): {fit.I2:.2f}%")
        out.append(f"H^2 (unaccounted variability / sampling variability):   {fit.H2:.2f}")
        if fit.R2 is not None:
            out.append(f"R^2 (amount of heterogeneity accounted for):            {fit.R2:.2f}%")
    out.append("")
    out.append("Test for Heterogeneity:" if fit.int_only else "Test for Residual Heterogeneity:")
    q = "Q" if fit.int_only else "QE"
    eq = "= " if fit.QEp >= 1e-4 else ""
    out.append(f"{q}(df = {fit.k - fit.p}) = {fit.QE:.4f}, p-val {eq}{fmt_p(fit.QEp)}")
    if fit.p > 1:
        out.append("")
        m = fit.QM_df[0]
        first = 2 if fit.intercept else 1
        btt = f"{first}:{first + m - 1}" if m > 1 else f"{first}"
        out.append(f"Test of Moderators (coefficient{'s' if m > 1 else ''} {btt}):")
        eq = "= " if fit.QMp >= 1e-4 else ""
        if fit.test == "knha":
            out.append(f"F(df1 = {m}, df2 = {fit.QM_df[1]}) = {fit.QM:.4f}, p-val {eq}{fmt_p(fit.QMp)}")
        else:
            out.append(f"QM(df = {m}) = {fit.QM:.4f}, p-val {eq}{fmt_p(fit.QMp)}")
    return out


def coef_rows(fit: RMAFit) -> tuple[list[str], list[list[str]]]:
    """Column headers and formatted rows of the 'Model Results' table."""
    stat = "tval" if fit.test == "knha" else "zval"
    head = ["", "estimate", "se", stat] + (["df"] if fit.test == "knha" else []) + ["pval", "ci.lb", "ci.ub", ""]
    rows = []
    for j, name in enumerate(fit.coef_names):
        row = [name, f"{fit.beta[j]:.4f}", f"{fit.se[j]:.4f}", f"{fit.stat[j]:.4f}"]
        if fit.test == "knha":
            row.append(f"{fit.df:g}")
        row += [fmt_p(fit.pval[j]), f"{fit.ci_lb[j]:.4f}", f"{fit.ci_ub[j]:.4f}", signif_stars(fit.pval[j])]
        rows.append(row)
    return head, rows


def _format_fit(fit: RMAFit) -> str:
    lines = [""] + fit_header(fit) + ["", "Model Results:", ""]
    head, rows = coef_rows(fit)
    if fit.int_only:
        head, rows = head[1:], [r[1:] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for r in [head] + rows:
        cells = [c.ljust(w) if i == 0 and not fit.int_only else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    if fit.warnings:
        lines += [""] + [f"Warning: {w}" for w in fit.warnings]
    return "\n".join(lines) + "\n"
