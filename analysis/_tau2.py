"""Between-study variance (tau²) estimators for the univariate model, as metafor 3.8 ``rma.uni`` computes them.

Every estimator follows metafor's own code path (start values, truncation at 0, the standard error it
reports), so results agree with R to machine precision for closed forms and to the convergence
tolerance for iterative ones. The k×k matrix P = W − WX(X'WX)⁻¹X'W is never formed: every trace and
sum metafor takes over P is computed from p×p pieces (see ``_PStats``), so k = 10,000 stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metasift.analysis import _dist
from metasift.analysis._roots import brentq
from metasift.errors import AnalysisError

METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")


@dataclass(frozen=True)
class Control:
    """Convergence settings (metafor's ``control=``), tighter by default than metafor's 1e-5."""

    threshold: float = 1e-12  # Fisher scoring stops when |Δtau²| < threshold·max(1, tau²) (metafor: 1e-5 absolute)
    maxiter: int = 1000  # metafor default 100
    root_tol: float = 1e-13  # absolute x-tolerance for PM/Q-profile root finding (metafor: eps^0.25)
    tau2_max: float | None = None  # upper end of root search; None -> metafor's max(100, 10·mad(yi)²)
    ll0_tol: float = float(np.finfo(float).eps) ** 0.25  # metafor's ll0check tolerance


@dataclass(frozen=True)
class Tau2Estimate:
    """An estimated tau² with metafor's reported SE and how the estimate was reached."""

    tau2: float
    se: float | None
    iterations: int = 0
    warnings: list[str] = field(default_factory=list)


class _PStats:
    """Sums over P = W − WX(X'WX)⁻¹X'W for diagonal W, computed without the k×k matrix."""

    def __init__(self, X: np.ndarray, w: np.ndarray) -> None:
        self.X, self.w = X, w
        sw = np.sqrt(w)
        _, r = np.linalg.qr(sw[:, None] * X)  # metafor's .invcalc: QR of sqrt(W)X
        rinv = np.linalg.inv(r)
        self.A = rinv @ rinv.T  # (X'WX)⁻¹
        self.q = np.einsum("ij,jk,ik->i", X, self.A, X)  # x_i' A x_i

    def resid(self, y: np.ndarray) -> np.ndarray:
        """P·y = W(y − Xb) with b the weighted least-squares fit."""
        b = self.A @ (self.X.T @ (self.w * y))
        return self.w * (y - self.X @ b)

    def quad(self, y: np.ndarray) -> float:
        """y'Py."""
        return float(y @ self.resid(y))

    def diag(self) -> np.ndarray:
        """diag(P) = w_i − w_i² x_i'Ax_i."""
        return self.w - self.w**2 * self.q

    def trace(self) -> float:
        return float(np.sum(self.diag()))

    def sumsq(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> float:
        """Σ_ij a_i b_j P_ij² (a=b=1: sum(P*P); a=b=v: tr(PVPV); a=1, b=v: sum(PV*P))."""
        a = np.broadcast_to(np.asarray(a, float), self.w.shape)
        b = np.broadcast_to(np.asarray(b, float), self.w.shape)
        w2 = self.w**2
        ma = self.X.T @ ((a * w2)[:, None] * self.X)
        mb = self.X.T @ ((b * w2)[:, None] * self.X)
        cross = float(np.trace(self.A @ ma @ self.A @ mb))
        return float(np.sum(a * b * w2) - 2.0 * np.sum(a * b * w2 * self.w * self.q) + cross)


def _q_of_tau2(tau2: float, y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q statistic y'P(tau²)y (metafor's ``.QE.func`` with objective 0)."""
    return _PStats(X, 1.0 / (vi + tau2)).quad(y)


def _mad(y: np.ndarray) -> float:
    """R's mad(): 1.4826 · median |y − median(y)|."""
    return 1.4826 * float(np.median(np.abs(y - np.median(y))))


def default_tau2_max(yi: np.ndarray) -> float:
    """metafor's upper bound for root searches: max(100, 10·mad(yi)²)."""
    return max(100.0, 10.0 * _mad(yi) ** 2)


def _loglik(tau2: float, y: np.ndarray, vi: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """ML / REML log-likelihood as in metafor's ll0check (REML without the X'X constant)."""
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    ps = _PStats(X, w)
    rss = float(np.sum(w * (y - X @ (ps.A @ (X.T @ (w * y)))) ** 2))
    if not reml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss
    _, logdet = np.linalg.slogdet(X.T @ (w[:, None] * X))
    return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * logdet - 0.5 * rss


def estimate_tau2(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str,
                  control: Control | None = None) -> Tau2Estimate:
    """Estimate tau² by ``method`` exactly as metafor 3.8 rma.uni does (truncated at 0, with its SE)."""
    con = control or Control()
    method = method.upper()
    if method not in METHODS:
        raise AnalysisError(f"unknown tau² estimator {method!r}; choose one of {', '.join(METHODS)}")
    k, p = X.shape
    if method == "FE":
        return Tau2Estimate(0.0, None)
    # metafor estimates tau² from the mean-centred outcomes (identical when X has an intercept).
    ymc = yi - yi.mean()
    warnings: list[str] = []
    iterations = 0

    if method == "HS":
        w = 1.0 / vi
        ps = _PStats(X, w)
        tau2 = (ps.quad(ymc) - k) / w.sum()
        t = max(tau2, 0.0)
        se = np.sqrt(1 / w.sum() ** 2 * (2 * (k - p) + 4 * t * ps.trace() + 2 * t**2 * ps.sumsq()))
        return Tau2Estimate(max(0.0, tau2), float(se))

    if method in ("HE", "ML", "REML", "EB"):
        ps_he = _PStats(X, np.ones(k))
        rss = ps_he.quad(ymc)
        tr_pv = float(np.sum(ps_he.diag() * vi))
        tau2 = (rss - tr_pv) / (k - p)  # Hedges (1983) / method of moments; start value for ML/REML/EB
        if method == "HE":
            t = max(tau2, 0.0)
            se = np.sqrt(1 / (k - p) ** 2 * (2 * ps_he.sumsq(vi, vi) + 4 * t * tr_pv + 2 * t**2 * (k - p)))
            return Tau2Estimate(max(0.0, tau2), float(se))

    if method == "DL":
        ps = _PStats(X, 1.0 / vi)
        tr_p = ps.trace()
        tau2 = (ps.quad(ymc) - (k - p)) / tr_p  # DerSimonian & Laird (1986), general form for mods
        t = max(tau2, 0.0)
        se = np.sqrt(1 / tr_p**2 * (2 * (k - p) + 4 * t * tr_p + 2 * t**2 * ps.sumsq()))
        return Tau2Estimate(max(0.0, tau2), float(se))

    if method == "SJ":
        tau2_0 = float(np.mean(ymc**2))  # var(y)·(k−1)/k, Sidik & Jonkman (2005) start
        ps = _PStats(X, 1.0 / (vi + tau2_0))
        tau2 = tau2_0 * ps.quad(ymc) / (k - p)
        t = max(tau2, 0.0)
        se = np.sqrt(tau2_0**2 / (k - p) ** 2
                     * (2 * ps.sumsq(vi, vi) + 4 * t * ps.sumsq(1.0, vi) + 2 * t**2 * ps.sumsq()))
        return Tau2Estimate(max(0.0, tau2), float(se))

    if method == "PM":
        # Paule & Mandel (1982): root of Q(tau²) = k − p on [0, tau2_max].
        target = k - p
        tau2_max = con.tau2_max if con.tau2_max is not None else default_tau2_max(yi)
        if _q_of_tau2(0.0, ymc, vi, X) < target:
            tau2 = 0.0
        elif _q_of_tau2(tau2_max, ymc, vi, X) > target:
            raise AnalysisError(f"PM estimator: Q(tau²) still above k−p at tau² = {tau2_max:g}; "
                                "the upper search bound is too low for these data — try another method")
        else:
            tau2 = brentq(lambda t: _q_of_tau2(t, ymc, vi, X) - target, 0.0, tau2_max,
                                   xtol=con.root_tol, rtol=4 * np.finfo(float).eps, maxiter=10_000)
        w = 1.0 / (vi + tau2)
        se = np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)
        return Tau2Estimate(float(tau2), float(se))

    # ML / REML / EB by Fisher scoring from the HE start, with step halving (metafor's algorithm).
    tau2 = max(0.0, tau2)
    change = con.threshold + 1
    while change > con.threshold * max(1.0, tau2):
        iterations += 1
        if iterations > con.maxiter:
            raise AnalysisError(f"{method} Fisher scoring did not converge in {con.maxiter} iterations "
                                f"(last change {change:.3g}); try method='PM' or 'DL'")
        old = tau2
        w = 1.0 / (vi + tau2)
        ps = _PStats(X, w)
        py = ps.resid(ymc)
        if method == "ML":
            adj = (py @ py - w.sum()) / np.sum(w**2)
        elif method == "REML":
            adj = (py @ py - ps.trace()) / ps.sumsq()
        else:  # EB, Morris (1983)
            adj = (float(ymc @ py) * k / (k - p) - k) / w.sum()
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)

    if method in ("ML", "REML"):
        ll0 = _loglik(0.0, ymc, vi, X, method == "REML")
        ll = _loglik(tau2, ymc, vi, X, method == "REML")
        if ll0 - ll > con.ll0_tol and tau2 > con.threshold:
            warnings.append("Fisher scoring may have stopped at a local maximum; tau² set to 0 "
                            "(the likelihood is higher there).")
            tau2 = 0.0
    tau2 = max(0.0, tau2)
    w = 1.0 / (vi + tau2)
    if method == "ML":
        se = np.sqrt(2 / np.sum(w**2))
    elif method == "REML":
        se = np.sqrt(2 / _PStats(X, w).sumsq())
    else:
        se = np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)
    return Tau2Estimate(float(tau2), float(se), iterations, warnings)


def q_profile_ci(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, level: float = 95.0,
                 control: Control | None = None) -> tuple[float, float, str, str]:
    """Q-profile CI for tau² (Viechtbauer 2007), as metafor ``confint()``: (lb, ub, lb_sign, ub_sign).

    A sign ``"<"``/``">"`` marks a bound that hit the search interval [0, max(100, 10·tau²)] as
    metafor prints it; an interval (0, 0) means the CI is the null set / all at zero.
    """
    con = control or Control()
    k, p = X.shape
    alpha = (100.0 - level) / 100.0 if level >= 1 else 1 - level
    tau2_min = min(0.0, tau2)
    tau2_max = con.tau2_max if con.tau2_max is not None else max(100.0, tau2 * 10, tau2_min * 10)
    crit_u = _dist.chi2_ppf(1 - alpha / 2, k - p)
    crit_l = _dist.chi2_ppf(alpha / 2, k - p)
    q_max = _q_of_tau2(tau2_max, yi, vi, X)
    q_min = _q_of_tau2(tau2_min, yi, vi, X)

    def root(target: float) -> float:
        return brentq(lambda t: _q_of_tau2(t, yi, vi, X) - target, tau2_min, tau2_max,
                               xtol=con.root_tol, rtol=4 * np.finfo(float).eps, maxiter=10_000)

    lb_sign = ub_sign = ""
    if q_min < crit_l:
        lb = ub = tau2_min
        lb_sign = ub_sign = "<"
    else:
        if q_max > crit_l:
            ub, ub_sign = tau2_max, ">"
        else:
            ub = root(crit_l)
    if q_max > crit_u:
        lb = ub = tau2_max
        lb_sign = ub_sign = ">"
    elif q_min < crit_u:
        lb = tau2_min
    else:
        lb = root(crit_u)
    return float(lb), float(ub), lb_sign, ub_sign

