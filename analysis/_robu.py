"""Robust variance estimation meta-regression as robumeta 2.0's ``robu()`` (Hedges, Tipton & Johnson 2010;
Tipton 2015 small-sample corrections), correlated-effects ("CORR") and hierarchical ("HIER") weights.

Pure computation on arrays; ``analysis.rve.robu`` adds input checks and the result object.
"""

from __future__ import annotations

import numpy as np

from metasift.analysis import _dist


def _inv_sqrt_eig(x: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix with robumeta's 1/sqrt(eigenvalue) (0 below tol)."""
    vals, vecs = np.linalg.eigh((x + x.T) / 2)
    inv = np.where(vals < tol, 0.0, 1.0 / np.sqrt(np.where(vals < tol, 1.0, vals)))
    return vecs, inv


def robu_core(
    y: np.ndarray, v: np.ndarray, group: np.ndarray, X: np.ndarray, *, model: str, rho: float, small: bool,
    level: float = 0.95,
) -> dict:
    """Estimates, robust covariance, df and heterogeneity exactly as robumeta::robu (no user weights).

    ``group`` holds 0-based study codes; results do not depend on the row order.
    """
    order = np.argsort(group, kind="stable")
    y, v, X, g = y[order], v[order], X[order], group[order]
    new = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(new)
    gi = np.cumsum(new) - 1                      # 0..N-1 per row
    N = len(starts)
    M, p = X.shape

    def gsum(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(a, starts, axis=0)

    k = np.diff(np.r_[starts, M])
    kk = k[gi].astype(float)
    if model == "CORR":
        vbar = (gsum(v) / k)[gi]
        w = 1.0 / (kk * vbar)
    else:
        w = 1.0 / v
    sumXWX = X.T @ (w[:, None] * X)
    b = np.linalg.solve(sumXWX, X.T @ (w * y))
    e = y - X @ b
    Vi = np.linalg.inv(sumXWX)
    Swx, Sx = gsum(w[:, None] * X), gsum(X)
    sumXWJWX = Swx.T @ Swx

    def tr(a: np.ndarray, m: np.ndarray) -> float:
        return float(np.trace(a @ m))

    info: dict = {}
    if model == "CORR":
        Qe = float((w * e**2).sum())
        wkxx = X.T @ ((w / kk)[:, None] * X)
        wk = (w / kk)[starts]
        xjx_xx = Sx.T @ (wk[:, None] * Sx) - X.T @ ((w / kk)[:, None] * X)
        denom = w.sum() - tr(Vi, sumXWJWX)
        termA, termB = tr(Vi, wkxx), tr(Vi, xjx_xx)
        tau2 = max((Qe - N + termA) / denom + rho * termB / denom, 0.0)
        df_i2 = N - termA - rho * termB
        info["I2"] = max((Qe - df_i2) / Qe * 100, 0.0)
        info["tau2"] = tau2
        rw = 1.0 / (kk * (vbar + tau2))
    else:
        Qe = float((e**2 / v).sum())
        Qa = float((gsum(e) ** 2).sum())
        sumXJX = Sx.T @ Sx
        sumXWJJX = Swx.T @ (k[:, None] * Sx)
        sumXJJWX = Sx.T @ (k[:, None] * Swx)
        sumXWWX = X.T @ ((w**2)[:, None] * X)
        sumXJWX, sumXWJX = Sx.T @ Swx, Swx.T @ Sx
        A1 = float((k**2).sum()) - tr(Vi, sumXJJWX) - tr(Vi, sumXWJJX) + tr(Vi @ sumXJX @ Vi, sumXWJWX)
        B1 = M - tr(Vi, sumXWJX) - tr(Vi, sumXJWX) + tr(Vi @ sumXJX @ Vi, sumXWWX)
        C1 = v.sum() - tr(Vi, sumXJX)
        A2 = w.sum() - tr(Vi, sumXWJWX)
        B2 = w.sum() - tr(Vi, sumXWWX)
        C2 = M - p
        omega2 = max(((Qa - C1) * A2 - (Qe - C2) * A1) / (B1 * A2 - B2 * A1), 0.0)
        tau2 = max((Qe - C2) / A2 - omega2 * (B2 / A2), 0.0)
        info.update(tau2=tau2, omega2=omega2)
        rw = 1.0 / (v + tau2 + omega2)

    XWXr = X.T @ (rw[:, None] * X)
    Q = np.linalg.inv(XWXr)
    b_r = Q @ (X.T @ (rw * y))
    e_r = y - X @ b_r
    if not small:
        S = gsum((rw * e_r)[:, None] * X)
        VR = Q @ (S.T @ S) @ Q
        vb = VR * N / (N - p)
        se = np.sqrt(np.diag(vb))
        df = np.full(p, float(N - p))
    else:
        XQ = X @ Q
        meat = np.zeros((p, p))
        C_list, D = [], np.empty((N, p, p))
        for j in range(N):
            sl = slice(starts[j], starts[j] + k[j])
            xj, wj = X[sl], rw[sl]
            imh = np.eye(k[j]) - XQ[sl] @ (xj.T * wj)          # I - X_j Q X_j' W_j
            if model == "CORR":
                vecs, inv = _inv_sqrt_eig(imh)
                A = (vecs * inv) @ vecs.T
            else:
                we = 1.0 / wj                                   # working variances W_E_j
                inside = np.sqrt(we)[:, None] * imh * (we**1.5)[None, :]
                vecs, inv = _inv_sqrt_eig(inside)
                A = np.sqrt(we)[:, None] * ((vecs * inv) @ vecs.T) * np.sqrt(we)[None, :]
            u = (xj.T * wj) @ (A @ e_r[sl])                     # X_j' W_j A_j e_j
            meat += np.outer(u, u)
            c = A @ (wj[:, None] * xj) @ Q                      # k_j x p
            C_list.append(c)
            D[j] = xj.T @ c
        VR = Q @ meat @ Q
        vb = VR
        se = np.sqrt(np.diag(vb))
        # df (Tipton 2015): B_i = W^-1/2 G_i G_i' W^-1/2 with column j of G_i equal to
        # (I - H)[rows_j, :]' A_j W_j X_j Q e_i = S_j - W X Q D_j; df = tr(B)^2 / tr(B^2).
        # tr(B) and tr(B^2) come from the N x N Gram matrix G' W^-1 G, never the M x N matrix.
        s_diag = np.stack([np.sum(c**2 / rw[starts[j] : starts[j] + k[j], None], axis=0)
                           for j, c in enumerate(C_list)])                      # N x p
        T = np.stack([XQ[starts[j] : starts[j] + k[j]].T @ c for j, c in enumerate(C_list)])  # N x p(XQ) x p(i)
        K = XQ.T @ (rw[:, None] * XQ)
        df = np.empty(p)
        for i in range(p):
            Dm = D[:, :, i].T                                                   # p x N
            TD = np.einsum("ja,an->jn", T[:, :, i], Dm)                         # N x N
            gram = -TD - TD.T + Dm.T @ K @ Dm
            gram[np.diag_indices(N)] += s_diag[:, i]
            df[i] = np.trace(gram) ** 2 / np.sum(gram**2)
    t = b_r / se
    crit = _dist.t_ppf(1 - (1 - level) / 2, df)
    unsort = np.empty(M, dtype=int)
    unsort[order] = np.arange(M)
    return {
        "beta": b_r, "se": se, "vb": vb, "VR": VR, "stat": t, "df": df,
        "pval": 2 * _dist.t_sf(np.abs(t), df), "ci_lb": b_r - crit * se, "ci_ub": b_r + crit * se,
        "r_weights": rw[unsort], "resid": e_r[unsort], "N": N, "M": M, **info,
    }
