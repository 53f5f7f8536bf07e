"""Dependent effect sizes: several effect sizes from one study.

- ``aggregate_cs``: one effect per study, as metafor 3.8 ``aggregate(escalc_obj, cluster = study, rho = rho,
  struct = "CS")``: within a study the sampling covariance is assumed compound-symmetric,
  V_j = S R S with S = diag(sqrt(vi)) and R = (1 - rho) I + rho 11', and the study's effect is the GLS
  (inverse-variance weighted) mean y_j = 1' W y / 1' W 1 with W = V_j^-1, its variance 1 / 1' W 1.
- ``multilevel_i2``: I² split by level for the three-level model, metafor FAQ "I^2 for multilevel and
  multivariate models" (Cheung 2014; Nakagawa & Santos 2012): with W = diag(1/vi) and
  P = W - W X (X'WX)^-1 X'W, the typical sampling variance is s² = (k - p) / tr(P) and
  I²_l = 100 sigma²_l / (sum(sigma²) + s²).
- ``rho_sensitivity``: the random-effects model on the aggregated effects over a grid of assumed rho.

Pure functions on arrays; nothing here changes the numbers of ``rma``, ``rma_mv`` or ``robust``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metasift.analysis import _codes
from metasift.analysis._rma import RMAFit, rma
from metasift.analysis.multilevel import MultilevelFit
from metasift.errors import AnalysisError


@dataclass(frozen=True)
class Aggregated:
    """One effect size per cluster, clusters in order of first appearance (as metafor's aggregate)."""

    cluster: list[Any]
    yi: np.ndarray
    vi: np.ndarray
    n_effects: np.ndarray      # effect sizes merged into each cluster's one
    rho: float
    weighted: bool


def cluster_sizes(cluster: Sequence[Any] | np.ndarray) -> dict[Any, int]:
    """How many effect sizes each cluster holds, clusters in order of first appearance."""
    return _codes.counts(cluster)


def has_dependence(cluster: Sequence[Any] | np.ndarray) -> bool:
    """True when any cluster (study) contributes more than one effect size."""
    return any(n > 1 for n in cluster_sizes(cluster).values())


def cs_covariance(vi: np.ndarray, rho: float) -> np.ndarray:
    """Compound-symmetric sampling covariance S R S of one cluster (metafor aggregate, struct = "CS")."""
    sd = np.sqrt(np.asarray(vi, dtype=float))
    R = np.full((len(sd), len(sd)), float(rho))
    np.fill_diagonal(R, 1.0)
    return sd[:, None] * R * sd[None, :]


def _gls_mean(y: np.ndarray, V: np.ndarray, label: Any) -> tuple[float, float]:
    """(1'V^-1 y / 1'V^-1 1, 1 / 1'V^-1 1): the inverse-variance weighted mean of correlated estimates."""
    if np.linalg.eigvalsh(V).min() <= np.finfo(float).eps:
        raise AnalysisError(f"the assumed covariance of cluster {label!r} is not positive definite; "
                            "choose a smaller rho")
    W = np.linalg.inv(V)
    total = float(W.sum())
    return float((W @ y).sum()) / total, 1.0 / total


def aggregate_cs(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    rho: float,
    *,
    weighted: bool = True,
) -> Aggregated:
    """metafor ``aggregate.escalc(x, cluster, rho, struct = "CS", weighted)``: one effect per cluster.

    Weighted (default): the GLS mean under the compound-symmetric covariance and its variance (see the
    module docstring). Unweighted: the plain mean, with variance 1'V_j 1 / k_j² (metafor's formula).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    cl = list(cluster)
    if not len(y) == len(v) == len(cl):
        raise AnalysisError("yi, vi and cluster must have the same length")
    if not -1.0 <= rho <= 1.0:
        raise AnalysisError(f"rho must be in [-1, 1], not {rho}")
    if any(_codes.is_missing(c) for c in cl):
        raise AnalysisError("the cluster variable has missing values")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))) or np.any(v <= 0):
        raise AnalysisError("aggregation needs finite effect sizes and positive sampling variances")
    codes, labels = _codes.factorize(cl, sort=False)
    ya, va, ns = np.empty(len(labels)), np.empty(len(labels)), np.bincount(codes)
    for j, label in enumerate(labels):
        ix = np.flatnonzero(codes == j)
        V = cs_covariance(v[ix], rho)
        if weighted:
            ya[j], va[j] = _gls_mean(y[ix], V, label)
        else:
            ya[j], va[j] = float(y[ix].mean()), float(V.sum()) / len(ix) ** 2
    return Aggregated(cluster=list(labels), yi=ya, vi=va, n_effects=ns, rho=float(rho), weighted=weighted)


@dataclass(frozen=True)
class MultilevelI2:
    """I² of a three-level model split by level (percent) and the typical sampling variance s²."""

    total: float
    between: float             # level 3: between studies (sigma2[0])
    within: float              # level 2: between effect sizes within a study (sigma2[1])
    sampling: float            # level 1: sampling error
    typical_v: float

    def to_dict(self) -> dict[str, float]:
        return {"total": self.total, "between_studies": self.between, "within_studies": self.within,
                "sampling": self.sampling, "typical_v": self.typical_v}


def typical_sampling_variance(vi: np.ndarray, X: np.ndarray) -> float:
    """s² = (k - p) / tr(P), P = W - W X (X'WX)^-1 X'W, W = diag(1/vi) (metafor FAQ; no k x k matrix)."""
    w = 1.0 / np.asarray(vi, dtype=float)
    X = np.asarray(X, dtype=float)
    k, p = X.shape
    XWX = (X.T * w) @ X
    trace = w.sum() - float(np.trace(np.linalg.solve(XWX, (X.T * w**2) @ X)))
    return (k - p) / trace


def multilevel_i2(fit: MultilevelFit) -> MultilevelI2:
    """I² by level for ``rma_mv`` (Cheung 2014 / metafor FAQ): 100 sigma²_l / (sum(sigma²) + s²)."""
    s2 = typical_sampling_variance(fit.vi, fit.X)
    sig = np.asarray(fit.sigma2, dtype=float)
    denom = float(sig.sum()) + s2
    return MultilevelI2(total=100 * float(sig.sum()) / denom, between=100 * float(sig[0]) / denom,
                        within=100 * float(sig[1]) / denom, sampling=100 * s2 / denom, typical_v=s2)


@dataclass(frozen=True)
class RhoRow:
    """The random-effects model on one-effect-per-study data aggregated with an assumed rho."""

    rho: float
    fit: RMAFit

    def to_dict(self) -> dict[str, float | int | None]:
        f = self.fit
        return {"rho": self.rho, "k": f.k, "estimate": float(f.beta[0]), "se": float(f.se[0]),
                "ci_lb": float(f.ci_lb[0]), "ci_ub": float(f.ci_ub[0]), "p": float(f.pval[0]),
                "tau2": float(f.tau2), "I2": float(f.I2), "df": f.df}


def aggregated_rma(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    rho: float,
    *,
    method: str = "REML",
    test: str = "knha",
    labels: Sequence[str] | None = None,
) -> RMAFit:
    """``rma(yi, vi)`` on ``aggregate(..., cluster, rho)``: the usual model on one effect per study.

    ``labels`` maps each input row to a display label; a study is shown with the label of its first row.
    """
    agg = aggregate_cs(yi, vi, cluster, rho)
    names = None
    if labels is not None:
        first = dict(zip(reversed(list(cluster)), reversed(list(labels))))
        names = [str(first[c]) for c in agg.cluster]
    return rma(agg.yi, agg.vi, method=method, test=test, labels=names)


def rho_sensitivity(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    rhos: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
    *,
    method: str = "REML",
    test: str = "knha",
) -> list[RhoRow]:
    """The aggregated random-effects model for each assumed within-study correlation in ``rhos``."""
    return [RhoRow(rho=float(r), fit=aggregated_rma(yi, vi, cluster, r, method=method, test=test)) for r in rhos]
