"""Likelihood machinery of the three-level model (used by analysis/multilevel.py).

V_j = diag(vi_j + sigma2_es) + sigma2_study 11' per study; products with V^-1, log|V| and the (RE)ML
score are computed in O(k) with the Sherman-Morrison identity, never forming a k x k matrix.
Log-likelihoods carry metafor's constants (REML includes +1/2 log|X'X|), so logLik/AIC/BIC match rma.mv.
"""

from __future__ import annotations

import numpy as np

from metasift.errors import AnalysisError

_LOG2PI = float(np.log(2.0 * np.pi))


class Blocks:
    """Data sorted by study with the O(k) V^-1 algebra of the three-level model."""

    def __init__(self, y: np.ndarray, v: np.ndarray, X: np.ndarray, group: np.ndarray) -> None:
        order = np.argsort(group, kind="stable")
        self.y, self.v, self.X = y[order], v[order], X[order]
        g = group[order]
        self.starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        self.g = np.cumsum(np.r_[False, g[1:] != g[:-1]])
        self.k, self.p = X.shape
        self.logdet_XX = float(np.linalg.slogdet(self.X.T @ self.X)[1])
        self.Z = np.column_stack([self.X, self.y])

    def gsum(self, a: np.ndarray) -> np.ndarray:
        """Per-study sums along axis 0."""
        return np.add.reduceat(a, self.starts, axis=0)

    def evaluate(self, s3: float, s2: float, reml: bool, grad: bool = True) -> dict:
        """Log-likelihood (metafor's constants), gradient in (sigma2_study, sigma2_es), GLS pieces."""
        a = self.v + s2
        u = 1.0 / a
        S = self.gsum(u)
        c = s3 / (1.0 + s3 * S)
        Zu = self.Z * u[:, None]
        VZ = Zu - (c[self.g] * u)[:, None] * self.gsum(Zu)[self.g]   # V^-1 [X y]
        Xt, yt = VZ[:, : self.p], VZ[:, self.p]
        XtX = self.X.T @ Xt
        try:
            chol = np.linalg.cholesky(XtX)
        except np.linalg.LinAlgError as exc:
            raise AnalysisError("X' V^-1 X is singular: the moderators cannot be estimated") from exc
        A = np.linalg.inv(XtX)
        A = (A + A.T) / 2
        beta = A @ (self.X.T @ yt)
        r = self.y - self.X @ beta
        Pr = yt - Xt @ beta
        rss = float(r @ Pr)
        logdet_v = float(np.log(a).sum() + np.log1p(s3 * S).sum())
        logdet_xvx = 2.0 * float(np.log(np.diag(chol)).sum())
        if reml:
            ll = -0.5 * ((self.k - self.p) * _LOG2PI - self.logdet_XX + logdet_v + logdet_xvx + rss)
        else:
            ll = -0.5 * (self.k * _LOG2PI + logdet_v + rss)
        out = {"ll": ll, "beta": beta, "vb": A, "resid": r}
        if grad:
            tr_i = u.sum() - float((c * self.gsum(u * u)).sum())       # tr(V^-1)
            tr_j = float((S / (1.0 + s3 * S)).sum())                    # tr(V^-1 J)
            if reml:
                tr_i -= float(((Xt @ A) * Xt).sum())
                GX = self.gsum(Xt)
                tr_j -= float(((GX @ A) * GX).sum())
            q_i = float(Pr @ Pr)
            q_j = float((self.gsum(Pr) ** 2).sum())
            out["grad"] = np.array([0.5 * (q_j - tr_j), 0.5 * (q_i - tr_i)])
        return out


def maximise(blocks: Blocks, reml: bool, start: np.ndarray) -> tuple[np.ndarray, float]:
    """sigma2 (both >= 0) maximising the (RE)ML log-likelihood; returns (sigma2, max |projected gradient|).

    Projected Newton steps on the analytic score with a finite-difference Hessian, where that Hessian is
    negative definite; elsewhere (far from the optimum) a step up the gradient, its length from the
    curvature along it. Each step is halved until the log-likelihood does not fall. A component whose
    score points below zero at zero stays there (metafor's boundary solutions). Written here rather than
    ``scipy.optimize.minimize`` (which this used before, with the same Newton polish after it): importing
    scipy.optimize costs about 0.18 s, more than the whole fit on 1,000 effect sizes (issue #15); the
    optima agree with metafor to the tolerance the parity tests ask (tests/test_multilevel.py).
    """

    def loglik(t: np.ndarray) -> float:
        return blocks.evaluate(t[0], t[1], reml, grad=False)["ll"]

    def grad(t: np.ndarray) -> np.ndarray:
        return blocks.evaluate(t[0], t[1], reml)["grad"]

    th = np.maximum(np.asarray(start, dtype=float), 0.0)
    for _ in range(500):
        at = blocks.evaluate(th[0], th[1], reml)   # the score and the log-likelihood in one pass
        g, ll0 = at["grad"], at["ll"]
        free = (th > 0) | (g > 0)
        if not free.any():
            break
        idx = np.flatnonzero(free)
        H = _hessian(grad, th, g, idx)
        step = np.zeros(2)
        gi = g[idx]
        if np.all(np.linalg.eigvalsh(H) < 0):
            step[idx] = -np.linalg.solve(H, gi)
        else:
            curvature = float(gi @ H @ gi)
            scale = (-(gi @ gi) / curvature if curvature < 0
                     else max(float(th.max()), 1e-4) / max(float(np.abs(gi).max()), 1e-300))
            step[idx] = scale * gi
        t = 1.0
        while t > 1e-10:
            new = np.maximum(th + t * step, 0.0)
            if loglik(new) >= ll0 - 1e-12:
                break
            t /= 2
        else:
            break
        done = np.max(np.abs(new - th)) <= 1e-14 * (1 + np.max(np.abs(th)))
        th = new
        if done:
            break
    g = grad(th)
    proj = np.where((th <= 0) & (g < 0), 0.0, g)
    return th, float(np.max(np.abs(proj)))


def _hessian(grad, th: np.ndarray, g: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The (symmetrised) Hessian of the log-likelihood in the ``idx`` components, by central differences
    of the analytic score (one-sided at the zero boundary)."""
    H = np.empty((len(idx), len(idx)))
    for col, i in enumerate(idx):
        h = 1e-6 * max(th[i], 1e-4)
        up, dn = th.copy(), th.copy()
        up[i] += h
        if th[i] - h >= 0:
            dn[i] -= h
            H[:, col] = ((grad(up) - grad(dn)) / (2 * h))[idx]
        else:
            H[:, col] = ((grad(up) - g) / h)[idx]
    return (H + H.T) / 2
