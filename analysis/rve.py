"""Robust variance estimation for dependent effect sizes.

- ``robust(fit, cluster, type="CR2")``: cluster-robust standard errors for a fitted two-level (``RMAFit``) or
  three-level (``MultilevelFit``) working model, with Satterthwaite df and the HTZ Wald test, as
  clubSandwich 0.5.8 ``coef_test(fit, vcov = "CR2", cluster = ...)`` / ``Wald_test(..., test = "HTZ")``.
- ``robu(yi, vi, study, mods, model="CORR"|"HIER")``: robumeta 2.0's ``robu()``.
- ``meta_rve(...)``: what ``metasift meta --cluster`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from metasift.analysis import _codes, _dist
from metasift.analysis._cr2 import CRResult, cluster_index, cr_vcov, satterthwaite_df, wald_tests
from metasift.analysis._robu import robu_core
from metasift.analysis.multilevel import Mods, MultilevelFit, _num, finish_design, model_matrix, rma_mv
from metasift.errors import AnalysisError


def _coefficients(names, beta, se, stat, pval, lo, hi, df) -> list[dict]:
    """Contract ``coefficients`` entries."""
    return [
        {"name": n, "estimate": _num(b), "se": _num(s), "stat": _num(t), "p": _num(pv),
         "ci_lb": _num(l_), "ci_ub": _num(u), "df": _num(d)}
        for n, b, s, t, pv, l_, u, d in zip(names, beta, se, stat, pval, lo, hi, df)
    ]


def _table(names: list[str], beta, se, stat, df, pval, lo, hi) -> list[str]:
    """Coefficient table lines (estimate, SE, t, df, p, CI)."""
    width = max(len(n) for n in names)
    out = [f"{'':{width}} {'estimate':>9}{'se':>9}{'tval':>9}{'df':>8}{'pval':>9}{'ci.lb':>9}{'ci.ub':>9}"]
    for i, n in enumerate(names):
        pv = "<.0001" if pval[i] < 1e-4 else f"{pval[i]:.4f}"
        out.append(f"{n:{width}} {beta[i]:9.4f}{se[i]:9.4f}{stat[i]:9.4f}{df[i]:8.2f}{pv:>9}{lo[i]:9.4f}{hi[i]:9.4f}")
    return out


@dataclass(frozen=True)
class RobustFit:
    """Cluster-robust inference on a working model (clubSandwich CR1/CR2 + Satterthwaite)."""

    fit: Any                    # the working model: RMAFit or MultilevelFit
    type: str
    n_clusters: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    df: np.ndarray              # Satterthwaite df per coefficient
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    level: float                # percent
    QM: float                   # HTZ F of the moderators (t^2 of the intercept without moderators)
    QMp: float
    QMdf: tuple[float, float]
    pi_lb: float | None
    pi_ub: float | None
    cr: CRResult = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    def wald_test(self, coefs: Sequence[int | str]) -> dict[str, dict[str, float]]:
        """Robust Wald test that the named (or 0-based indexed) coefficients are all zero."""
        idx = [self.coef_names.index(c) if isinstance(c, str) else int(c) for c in coefs]
        if not idx:
            raise AnalysisError("name at least one coefficient to test")
        C = np.zeros((len(idx), len(self.beta)))
        C[np.arange(len(idx)), idx] = 1.0
        return wald_tests(self.cr, self.beta, C)

    def to_dict(self) -> dict:
        """The ``metasift meta --json`` contract with robust coefficients; extras under "rve"."""
        base = self.fit.to_dict()
        base["coefficients"] = _coefficients(self.coef_names, self.beta, self.se, self.stat, self.pval,
                                             self.ci_lb, self.ci_ub, self.df)
        base["QM"], base["QMp"] = _num(self.QM), _num(self.QMp)
        base["pi_lb"], base["pi_ub"] = _num(self.pi_lb), _num(self.pi_ub)
        base["warnings"] = list(getattr(self.fit, "warnings", []) or []) + list(self.warnings)
        base["rve"] = {"type": self.type, "n_clusters": self.n_clusters, "df": "Satterthwaite",
                       "QM_test": "HTZ" if len(self.beta) > 1 else "t", "QM_df": [_num(d) for d in self.QMdf]}
        return base

    def summary(self) -> str:
        """Text summary: working model, then the robust coefficient table."""
        head = [
            f"Cluster-robust inference ({self.type}, Satterthwaite df; {self.n_clusters} clusters, k = {self.fit.k})",
            f"Working model: {type(self.fit).__name__} (method {self.fit.method})", "",
        ]
        lines = head + _table(self.coef_names, self.beta, self.se, self.stat, self.df, self.pval,
                              self.ci_lb, self.ci_ub)
        if len(self.beta) > 1:
            lines += ["", (f"Test of moderators (HTZ): F(df1 = {self.QMdf[0]:.0f}, df2 = {self.QMdf[1]:.2f}) = "
                           f"{self.QM:.4f}, p-val {self.QMp:.4f}")]
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _align_cluster(fit: Any, cluster: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The cluster label per effect size of ``fit`` (accepts the full input column of a MultilevelFit)."""
    cl = np.asarray(cluster, dtype=object)
    if len(cl) != fit.k and isinstance(fit, MultilevelFit) and len(cl) > int(fit.rows.max()):
        cl = cl[fit.rows]
    if len(cl) != fit.k:
        raise AnalysisError(f"the cluster variable has {len(cl)} values but the model has k = {fit.k} effect sizes")
    if _codes.isna(cl).any():
        raise AnalysisError("the cluster variable has missing values")
    return cl


def robust(fit: Any, cluster: Sequence[Any] | np.ndarray, *, type: str = "CR2") -> RobustFit:
    """Cluster-robust (CR1/CR2) SEs, Satterthwaite df and HTZ test for an RMAFit or MultilevelFit."""
    type = type.upper()
    cl = _align_cluster(fit, cluster)
    index = cluster_index(cl)
    X = np.asarray(fit.X, dtype=float)
    beta = np.asarray(fit.beta, dtype=float)
    resid = np.asarray(fit.yi, dtype=float) - X @ beta
    if isinstance(fit, MultilevelFit):
        owners: dict[Any, set[str]] = {}
        for study, label in zip(fit.study, _codes.as_text(cl), strict=True):
            owners.setdefault(study, set()).add(label)
        if any(len(o) > 1 for o in owners.values()):
            raise AnalysisError("studies are not nested within the clusters (a study spans several clusters)")
        theta = [fit.marginal_cov(ix) for ix in index]
    elif hasattr(fit, "tau2"):
        tot = np.asarray(fit.vi, dtype=float) + float(fit.tau2)
        scale = float(np.mean(1.0 / tot))          # clubSandwich rescales the weights by their mean
        theta = [np.diag(tot[ix] * scale) for ix in index]
    else:
        raise AnalysisError(f"robust() needs an RMAFit or MultilevelFit, not {fit.__class__.__name__}")
    cr = cr_vcov(X, resid, theta, index, type)
    se = np.sqrt(np.diag(cr.vcov))
    df = satterthwaite_df(cr)
    stat = beta / se
    lev = float(fit.level) / 100 if float(fit.level) > 1 else float(fit.level)
    crit = _dist.t_ppf(1 - (1 - lev) / 2, df)
    pval = 2 * _dist.t_sf(np.abs(stat), df)
    warns: list[str] = []
    if all(len(ix) == 1 for ix in index):
        warns.append("every cluster holds a single effect size: the robust SEs ignore no dependence")
    low = [n for n, d in zip(fit.coef_names, df) if d < 4]
    if low:
        warns.append(f"Satterthwaite df below 4 for {', '.join(low)}: do not trust those tests")
    p = len(beta)
    if p > 1:
        C = np.zeros((p - 1, p))
        C[:, 1:] = np.eye(p - 1)
        htz = wald_tests(cr, beta, C)["HTZ"]
        qm, qmp, qmdf = htz["Fstat"], htz["p_val"], (float(htz["df_num"]), float(htz["df_denom"]))
        pi_lb = pi_ub = None
    else:
        qm, qmp, qmdf = float(stat[0] ** 2), float(pval[0]), (1.0, float(df[0]))
        het = sum(fit.sigma2) if isinstance(fit, MultilevelFit) else float(fit.tau2)
        half = crit[0] * np.sqrt(se[0] ** 2 + het)
        pi_lb, pi_ub = float(beta[0] - half), float(beta[0] + half)
    return RobustFit(
        fit=fit, type=type, n_clusters=cr.n_clusters, coef_names=list(fit.coef_names), beta=beta, se=se,
        vb=cr.vcov, stat=stat, df=df, pval=pval, ci_lb=beta - crit * se, ci_ub=beta + crit * se,
        level=100 * lev, QM=qm, QMp=qmp, QMdf=qmdf, pi_lb=pi_lb, pi_ub=pi_ub, cr=cr, warnings=warns,
    )


@dataclass(frozen=True)
class RobuFit:
    """robumeta-style RVE meta-regression (correlated or hierarchical effects weights)."""

    yi: np.ndarray
    vi: np.ndarray
    study: np.ndarray
    X: np.ndarray
    model: str                  # "CORR" or "HIER"
    rho: float | None
    small: bool
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    level: float
    tau2: float                 # between-study variance
    omega2: float | None        # within-study variance (HIER only)
    I2: float | None            # robumeta's I^2 (CORR only), percent
    weights: np.ndarray         # the RVE model weights (r.weights)
    k: int
    n_studies: int
    QM: float | None
    QMp: float | None
    QMdf: tuple[float, float] | None
    QM_test: str | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The ``metasift meta --json`` contract; values robumeta does not estimate are null."""
        hier = self.model == "HIER"
        return {
            "k": self.k, "method": f"RVE-{self.model}", "tau2": None if hier else _num(self.tau2),
            "tau2_se": None, "I2": _num(self.I2), "H2": None, "QE": None, "QEp": None,
            "QM": _num(self.QM), "QMp": _num(self.QMp), "R2": None,
            "coefficients": _coefficients(self.coef_names, self.beta, self.se, self.stat, self.pval,
                                          self.ci_lb, self.ci_ub, self.df),
            "pi_lb": None, "pi_ub": None,
            "sigma2": [_num(self.tau2), _num(self.omega2)] if hier else None,
            "n_studies": self.n_studies, "warnings": list(self.warnings),
            "rve": {"type": "robumeta " + ("small-sample corrected" if self.small else "uncorrected"),
                    "model": self.model, "rho": self.rho, "n_clusters": self.n_studies,
                    "QM_test": self.QM_test, "QM_df": None if self.QMdf is None else [_num(d) for d in self.QMdf]},
        }

    def summary(self) -> str:
        """Text like robumeta's print(robu)."""
        label = "Correlated Effects" if self.model == "CORR" else "Hierarchical Effects"
        small = " with Small-Sample Corrections" if self.small else ""
        lines = [f"RVE: {label} Model{small}", "", f"Number of studies = {self.n_studies}",
                 f"Number of outcomes = {self.k}"]
        if self.model == "CORR":
            lines += [f"Rho = {self.rho}", f"I.sq = {self.I2:.4f}", f"Tau.sq = {self.tau2:.6f}", ""]
        else:
            lines += [f"Omega.sq = {self.omega2:.6f}", f"Tau.sq = {self.tau2:.6f}", ""]
        lines += _table(self.coef_names, self.beta, self.se, self.stat, self.df, self.pval, self.ci_lb, self.ci_ub)
        if self.QM is not None and len(self.beta) > 1:
            lines += ["", (f"Test of moderators ({self.QM_test}): F(df1 = {self.QMdf[0]:.0f}, df2 = "
                           f"{self.QMdf[1]:.2f}) = {self.QM:.4f}, p-val {self.QMp:.4f}")]
        if self.small:
            lines.append("Note: If df < 4, do not trust the results")
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def robu(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    study: Sequence[Any] | np.ndarray,
    mods: Mods = None,
    *,
    model: str = "CORR",
    rho: float = 0.8,
    small: bool = True,
    level: float = 95.0,
) -> RobuFit:
    """robumeta's ``robu(y ~ mods, studynum = study, var.eff.size = vi, modelweights = model, rho, small)``."""
    model = model.upper()
    if model not in ("CORR", "HIER"):
        raise AnalysisError(f"model must be CORR or HIER, not {model!r}")
    if model == "CORR" and not 0 <= rho <= 1:
        raise AnalysisError(f"rho must be between 0 and 1, not {rho}")
    lev = level / 100 if level > 1 else float(level)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    st = np.asarray(study, dtype=object)
    if not len(y) == len(v) == len(st):
        raise AnalysisError("yi, vi and study must have the same length")
    X, names, mod_missing = model_matrix(mods, len(y))
    miss = ~np.isfinite(y) | ~np.isfinite(v) | _codes.isna(st) | mod_missing
    warns: list[str] = []
    if miss.any():
        warns.append("rows with missing values omitted: " + ", ".join(str(i + 1) for i in np.flatnonzero(miss)))
    keep = ~miss
    y, v, st, X = y[keep], v[keep], st[keep], X[keep]
    if np.any(v <= 0):
        raise AnalysisError("sampling variances must be positive")
    codes, uniq = _codes.factorize(st, sort=True)
    N = len(uniq)
    if N < 2:
        raise AnalysisError("robust variance estimation needs at least 2 studies")
    X, names = finish_design(X, names, warns)
    if N <= X.shape[1]:
        raise AnalysisError(f"{N} studies are too few for {X.shape[1]} coefficients")
    if np.all(np.bincount(codes) == 1):
        warns.append("every study holds a single effect size: there is no within-study dependence to handle")
    res = robu_core(y, v, codes, X, model=model, rho=float(rho), small=small, level=lev)
    if small and np.any(res["df"] < 4):
        warns.append("small-sample df below 4 for " + ", ".join(n for n, d in zip(names, res["df"]) if d < 4)
                     + ": do not trust those tests")
    p = X.shape[1]
    qm = qmp = None
    qmdf = None
    qm_test = None
    if p > 1:
        C = np.zeros((p - 1, p))
        C[:, 1:] = np.eye(p - 1)
        if small:
            # clubSandwich's Wald_test(robu_fit, constrain_zero(2:p), vcov = "CR2", test = "HTZ")
            index = cluster_index(codes)
            rw = res["r_weights"]
            theta = [np.diag(np.mean(rw) / rw[ix]) for ix in index]
            htz = wald_tests(cr_vcov(X, res["resid"], theta, index, "CR2"), res["beta"], C)["HTZ"]
            qm, qmp, qmdf, qm_test = htz["Fstat"], htz["p_val"], (htz["df_num"], htz["df_denom"]), "HTZ"
        else:
            cb = C @ res["beta"]
            q = p - 1
            qm = float(cb @ np.linalg.solve(C @ res["vb"] @ C.T, cb)) / q
            qmp = float(_dist.f_sf(qm, q, N - p))
            qmdf, qm_test = (float(q), float(N - p)), "Naive-Fp"
    return RobuFit(
        yi=y, vi=v, study=st, X=X, model=model, rho=float(rho) if model == "CORR" else None, small=small,
        coef_names=names, beta=res["beta"], se=res["se"], vb=res["vb"], stat=res["stat"], df=res["df"],
        pval=res["pval"], ci_lb=res["ci_lb"], ci_ub=res["ci_ub"], level=100 * lev, tau2=res["tau2"],
        omega2=res.get("omega2"), I2=res.get("I2"), weights=res["r_weights"], k=len(y), n_studies=N,
        QM=qm, QMp=qmp, QMdf=qmdf, QM_test=qm_test, warnings=warns,
    )


def _rows(mods: Mods, keep: np.ndarray) -> Mods:
    """Rows ``keep`` (boolean mask) of a moderator table or array."""
    if mods is None:
        return None
    if hasattr(mods, "iloc"):  # a pandas DataFrame or Series
        return mods.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    arr = np.asarray(mods, dtype=float)
    return arr[keep]


def meta_rve(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    mods: Mods = None,
    *,
    rve: str = "CR2",
    rho: float | None = None,
    multilevel_es: Sequence[Any] | np.ndarray | None = None,
    method: str = "REML",
) -> RobustFit | RobuFit:
    """``metasift meta --cluster``: robumeta CORR weights when ``rho`` is given, else a working model
    (three-level when ``multilevel_es`` gives effect-size ids within the clusters, or a (study, es) pair;
    else ``rma``) with
    clubSandwich CR1/CR2 + Satterthwaite."""
    rve = rve.upper()
    if rve not in ("CR1", "CR2"):
        raise AnalysisError(f"--rve must be CR1 or CR2, not {rve!r}")
    if rho is not None:
        return robu(yi, vi, cluster, mods, model="CORR", rho=rho, small=rve == "CR2")
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    cl = np.asarray(cluster, dtype=object)
    if not len(y) == len(v) == len(cl):
        raise AnalysisError("yi, vi and the cluster column must have the same length")
    if multilevel_es is not None:
        if isinstance(multilevel_es, tuple) and len(multilevel_es) == 2:
            study, es = multilevel_es          # (study, es) columns when the study differs from the cluster
        else:
            study, es = cl, multilevel_es
        fit = rma_mv(y, v, study, es, mods, method=method)
        return robust(fit, cl, type=rve)
    from metasift.analysis._rma import rma

    miss = ~np.isfinite(y) | ~np.isfinite(v) | _codes.isna(cl) | model_matrix(mods, len(y))[2]
    keep = ~miss
    fit = rma(y[keep], v[keep], _rows(mods, keep), method=method)
    out = robust(fit, cl[keep], type=rve)
    if miss.any():
        note = "rows with missing values omitted: " + ", ".join(str(i + 1) for i in np.flatnonzero(miss))
        out = replace(out, warnings=[note, *out.warnings])
    return out
