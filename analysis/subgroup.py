"""Subgroup analysis: a separate model per level and two tests of whether the levels differ.

1. ``Q_between``: each level gets its own model (its own tau²); the level estimates are then pooled with
   a fixed-effect model on their standard errors and its Q statistic (df = levels − 1) tests equality —
   the approach of metafor's "subgroup analysis with separate tau²" example and of RevMan.
2. ``QM``: the mixed-effects meta-regression with the grouping as a categorical moderator and one
   common tau² (metafor ``rma(yi, vi, mods = ~ factor(group))``), its omnibus moderator test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metasift.analysis._rma import RMAFit, rma
from metasift.analysis._tau2 import Control
from metasift.errors import AnalysisError


@dataclass(frozen=True)
class SubgroupResult:
    """Per-level fits plus the between-groups Q test (separate tau²) and the moderator test (common tau²)."""

    levels: list[str]
    fits: dict[str, RMAFit]
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    QM: float
    QM_df: int
    QMp: float
    moderator_fit: RMAFit
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: one entry per level and both tests."""
        groups = [{"level": lv, "k": f.k, "estimate": float(f.beta[0]), "se": float(f.se[0]),
                   "ci_lb": float(f.ci_lb[0]), "ci_ub": float(f.ci_ub[0]), "tau2": f.tau2, "I2": f.I2,
                   "QE": f.QE} for lv, f in self.fits.items()]
        return {"groups": groups, "Q_between": self.Q_between, "Q_between_df": self.Q_between_df,
                "Q_between_p": self.Q_between_p, "QM": self.QM, "QM_df": self.QM_df, "QMp": self.QMp,
                "warnings": self.warnings}


def subgroup(yi: Any, vi: Any, group: Sequence[Any], *, method: str = "REML", test: str = "z",
             level: float = 95.0, labels: Sequence[str] | None = None,
             control: Control | None = None) -> SubgroupResult:
    """Fit the model within each level of ``group`` and test for differences between levels."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    g = pd.Series(list(group), dtype="object")
    if len(g) != len(y):
        raise AnalysisError(f"grouping has {len(g)} values but there are {len(y)} effect sizes")
    labs = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(len(y))]
    ok = g.notna().to_numpy() & ~np.isnan(y) & ~np.isnan(v)
    warnings = []
    if not ok.all():
        warnings.append("studies without group or data omitted: "
                        + ", ".join(lab for lab, keep in zip(labs, ok) if not keep))
    g_str = g[ok].astype(str).to_numpy()
    y, v = y[ok], v[ok]
    labs = [lab for lab, keep in zip(labs, ok) if keep]
    levels = sorted(set(g_str))
    if len(levels) < 2:
        raise AnalysisError(f"subgroup analysis needs at least two groups; found {levels}")
    fits: dict[str, RMAFit] = {}
    for lv in levels:
        idx = np.flatnonzero(g_str == lv)
        if idx.size < 2:
            raise AnalysisError(f"group {lv!r} has only {idx.size} study; each group needs at least 2")
        fits[lv] = rma(y[idx], v[idx], method=method, test=test, level=level,
                       labels=[labs[i] for i in idx], control=control)
        warnings += [f"group {lv}: {w}" for w in fits[lv].warnings]
    est = np.array([f.beta[0] for f in fits.values()])
    se = np.array([f.se[0] for f in fits.values()])
    w = 1.0 / se**2
    pooled = np.sum(w * est) / w.sum()
    q_between = float(np.sum(w * (est - pooled) ** 2))  # FE Q over the subgroup estimates
    df = len(levels) - 1
    mod = rma(y, v, pd.DataFrame({"group": pd.Categorical(g_str, categories=levels)}), method=method,
              test=test, level=level, labels=labs, control=control)
    return SubgroupResult(levels=levels, fits=fits, Q_between=q_between, Q_between_df=df,
                          Q_between_p=float(stats.chi2.sf(q_between, df)), QM=mod.QM, QM_df=mod.QM_df[0],
                          QMp=mod.QMp, moderator_fit=mod, warnings=warnings)
