"""Cluster-robust variance (CR0/CR1/CR2), Satterthwaite df and the HTZ Wald test, ported from
clubSandwich 0.5.8 (``vcov_CR``, ``CR2``, ``get_GH``, ``get_P_array``, ``Wald_testing``) for working
models fitted with inverse-variance weights (``inverse_var = TRUE``), i.e. metafor's rma.uni / rma.mv
with default weights and robumeta's model weights.

Reference: Pustejovsky & Tipton (2018), J Bus Econ Stat 36(4), 672-683; Tipton & Pustejovsky (2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metasift.analysis import _dist
from metasift.errors import AnalysisError


def _matrix_power(x: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """Symmetric matrix power with eigenvalues <= tol set to 0 (clubSandwich ``matrix_power``)."""
    vals, vecs = np.linalg.eigh((x + x.T) / 2)
    keep = vals > tol
    vp = np.zeros_like(vals)
    vp[keep] = vals[keep] ** power
    return (vecs * vp) @ vecs.T


def cluster_index(cluster: np.ndarray) -> list[np.ndarray]:
    """Row positions of each cluster, clusters in sorted label order (R's factor levels)."""
    labels = np.asarray(cluster).astype(str)
    uniq, inv = np.unique(labels, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inv, minlength=len(uniq)))]
    return [order[bounds[j] : bounds[j + 1]] for j in range(len(uniq))]


@dataclass
class CRResult:
    """A cluster-robust covariance and what the small-sample tests need."""

    vcov: np.ndarray
    bread: np.ndarray             # (X' W X)^-1 on the working scale
    G: list[np.ndarray]           # per cluster, p x n_j  (clubSandwich get_GH()$G)
    H: np.ndarray                 # J x p x p             (get_GH()$H, cluster first)
    n_clusters: int


def cr_vcov(
    X: np.ndarray, resid: np.ndarray, theta: list[np.ndarray], index: list[np.ndarray], type: str = "CR2"
) -> CRResult:
    """Cluster-robust covariance of the GLS estimate with working covariance blocks ``theta``.

    ``theta[j]`` is the working (model-implied) covariance of the effect sizes ``index[j]``; the
    weights are its inverse, as in clubSandwich's ``vcovCR(..., type)`` with ``inverse_var = TRUE``.
    """
    J = len(index)
    if J < 2:
        raise AnalysisError("cluster-robust variance needs at least 2 clusters (all effect sizes are in one)")
    if type not in ("CR0", "CR1", "CR2"):
        raise AnalysisError(f"unknown small-sample correction {type!r} (use CR0, CR1 or CR2)")
    p = X.shape[1]
    Xj = [X[ix] for ix in index]
    chol_u = []     # upper Cholesky factors, theta = U'U (R's chol)
    XW = []
    for th, x in zip(theta, Xj):
        try:
            L = np.linalg.cholesky(th)
        except np.linalg.LinAlgError as exc:
            raise AnalysisError("a working covariance block is not positive definite") from exc
        chol_u.append(L.T)
        # X_j' W_j with W_j = theta_j^-1 via two triangular solves
        XW.append(np.linalg.solve(th, x).T)
    XWX = sum(xw @ x for xw, x in zip(XW, Xj))
    bread = np.linalg.inv(XWX)
    bread = (bread + bread.T) / 2
    E = []
    if type == "CR2":
        for U, th, x, xw in zip(chol_u, theta, Xj, XW):
            G_adj = U @ (th - x @ bread @ x.T) @ U.T
            A = U.T @ _matrix_power(G_adj, -0.5) @ U
            E.append(xw @ A)
    elif type == "CR1":
        E = [xw * np.sqrt(J / (J - 1)) for xw in XW]
    else:
        E = list(XW)
    comps = np.column_stack([e @ resid[ix] for e, ix in zip(E, index)])
    vcov = bread @ (comps @ comps.T) @ bread
    vcov = (vcov + vcov.T) / 2
    ct = np.linalg.cholesky(bread)                     # t(chol(M_U)), lower
    ME = [bread @ e for e in E]
    G = [me @ U.T for me, U in zip(ME, chol_u)]        # M E_j t(chol(theta_j))
    H = np.stack([me @ x @ ct for me, x in zip(ME, Xj)]) if J else np.zeros((0, p, p))
    return CRResult(vcov=vcov, bread=bread, G=G, H=H, n_clusters=J)


def satterthwaite_df(cr: CRResult) -> np.ndarray:
    """Satterthwaite degrees of freedom per coefficient (clubSandwich ``coef_test(test="Satterthwaite")``).

    clubSandwich forms the J x J matrix P_i = diag(|G_j[i]|^2) - h h' (h: J x u, rows H_j[i]) and uses
    df = 2 tr(P)^2 / (2 |P|_F^2); the traces are expanded here so no J x J matrix is built.
    """
    p = cr.H.shape[1]
    df = np.empty(p)
    for i in range(p):
        g = np.array([np.sum(gj[i] ** 2) for gj in cr.G])
        h = cr.H[:, i, :]
        hh = np.sum(h**2, axis=1)
        trace = g.sum() - hh.sum()
        frob2 = np.sum(g**2) - 2 * np.sum(g * hh) + np.sum((h.T @ h) ** 2)
        df[i] = trace**2 / frob2
    return df


def wald_tests(cr: CRResult, beta: np.ndarray, C: np.ndarray) -> dict[str, dict[str, float]]:
    """Wald test of C beta = 0: chi-sq, naive F (df J-1) and HTZ (clubSandwich ``Wald_test``).

    HTZ follows ``Wald_testing``/``total_variance_mat`` with B = Omega^-1/2 P Omega^-1/2 and
    P[s, t, j, k] = delta_jk <G_j[s], G_j[t]> - <H_j[s], H_k[t]>; the sums over (j, k) are expanded
    algebraically so memory stays O(J q u) instead of O(q^2 J^2).
    """
    C = np.atleast_2d(np.asarray(C, dtype=float))
    q = C.shape[0]
    J = cr.n_clusters
    cb = C @ beta
    Q = float(cb @ np.linalg.solve(C @ cr.vcov @ C.T, cb))
    out = {
        "chi-sq": {"Fstat": Q / q, "delta": 1.0, "df_num": q, "df_denom": np.inf,
                   "p_val": float(_dist.chi2_sf(Q, q))},
        "Naive-F": {"Fstat": Q / q, "delta": 1.0, "df_num": q, "df_denom": J - 1.0,
                    "p_val": float(_dist.f_sf(Q / q, q, J - 1))},
    }
    Hc = np.einsum("qp,jpu->jqu", C, cr.H)                     # J x q x u
    GG = np.stack([(C @ g) @ (C @ g).T for g in cr.G])          # J x q x q
    HH = np.einsum("jsu,jtu->jst", Hc, Hc)
    omega = GG.sum(axis=0) - HH.sum(axis=0)
    on = _matrix_power(omega, -0.5)
    GG = np.einsum("sa,jab,bt->jst", on, GG, on)
    h = np.einsum("sa,jau->jsu", on, Hc)
    HH = np.einsum("jsu,jtu->jst", h, h)
    R = np.einsum("jsu,jtv->stuv", h, h)                        # sum_j h_j[s,u] h_j[t,v]
    dg, dh = np.einsum("jss->js", GG), np.einsum("jss->js", HH)
    term1 = (np.einsum("jst,jst->st", GG, GG) - 2 * np.einsum("jst,jst->st", GG, HH)
             + np.einsum("stuv,tsuv->st", R, R))
    term2 = (np.einsum("js,jt->st", dg, dg) - np.einsum("js,jt->st", dg, dh) - np.einsum("js,jt->st", dh, dg)
             + np.einsum("stuv,stuv->st", R, R))
    var_mat = term1 + term2
    nu = q * (q + 1) / var_mat.sum()
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    F = delta * Q / q
    out["HTZ"] = {"Fstat": F, "delta": delta, "df_num": q, "df_denom": df2,
                  "p_val": float(_dist.f_sf(F, q, df2)) if df2 > 0 else float("nan")}
    return out
