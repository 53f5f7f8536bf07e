"""Meta-analysis plots in metafor's style: forest, contour-enhanced funnel and leave-one-out.

Each public function draws from a fitted ``RMAFit``, writes the file named by ``path`` (PNG, SVG or PDF,
chosen by its suffix) and returns that path. The ``build_*_figure`` functions return the matplotlib Figure
without saving, for tests and for embedding. No pyplot: nothing is shown and nothing is left open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metasift.analysis._plot_common import save_figure
from metasift.analysis._plot_forest import PooledDiamond, build_forest_figure, build_grouped_forest_figure
from metasift.analysis._plot_funnel import build_funnel_figure
from metasift.analysis._plot_leave1out import build_leave1out_figure, build_loso_figure
from metasift.errors import AnalysisError

__all__ = [
    "PooledDiamond",
    "build_forest_figure",
    "build_funnel_figure",
    "build_grouped_forest_figure",
    "build_leave1out_figure",
    "build_loso_figure",
    "filled_studies",
    "forest",
    "funnel",
    "grouped_forest",
    "leave1out_plot",
    "leave_one_study_out_plot",
    "save_figure",
    "subgroup_forest",
]


def forest(fit: Any, path: str | Path, *, subgroups: Sequence[Any] | None = None, sort: str | None = None,
           show_weights: bool = True, show_pi: bool = True, title: str | None = None,
           transform: Callable[..., Any] | str | None = None, xlab: str | None = None,
           digits: int = 2, favours: Sequence[str] | None = None) -> Path:
    """Write a forest plot (studies, weights, pooled diamond, prediction interval) and return its path.

    ``subgroups`` (one value per study) adds a header and a pooled diamond per group, fitted separately with
    the same method, plus the between-groups Q test. ``sort`` is None (data order), "estimate",
    "precision", "weight" or "label". ``transform=np.exp`` shows ratios on a log axis with the line at 1.
    ``favours`` = (left, right): who each side of the line of no effect favours, printed under the axis.
    """
    fig = build_forest_figure(fit, subgroups=subgroups, sort=sort, show_weights=show_weights,
                              show_pi=show_pi, title=title, transform=transform, xlab=xlab, digits=digits,
                              favours=favours)
    return save_figure(fig, path, tight=False)


def grouped_forest(yi: Sequence[float], vi: Sequence[float], labels: Sequence[str], groups: Sequence[str],
                   pooled: PooledDiamond, path: str | Path, *, level: float = 95.0,
                   weights: Sequence[float] | None = None, title: str | None = None,
                   favours: Sequence[str] | None = None) -> Path:
    """Write a forest plot of every effect size grouped by study (or outcome), with one diamond: the model
    that handled the dependence (``pooled``), and return its path."""
    fig = build_grouped_forest_figure(yi, vi, labels, groups, pooled, level=level, weights=weights, title=title,
                                      favours=favours)
    return save_figure(fig, path, tight=False)


def subgroup_forest(yi: Sequence[float], vi: Sequence[float], labels: Sequence[str], study: Sequence[Any],
                    es_id: Sequence[Any], group: Sequence[Any], path: str | Path, *, method: str = "REML",
                    rve: str = "CR2", test: str = "knha", level: float = 95.0,
                    group_labels: Mapping[str, str] | None = None, title: str | None = None,
                    favours: Sequence[str] | None = None, variable: str = "group") -> tuple[Path, Any]:
    """Write a forest plot of every effect size grouped by ``group`` (e.g. outcome domain) with a diamond per
    group — each pooled by its own model, as ``analysis.metareg.subgroups`` (three-level with ``rve`` robust CIs
    where a study gives several of its effect sizes) — and an overall diamond (the same kind of model on all
    effect sizes), the robust test of subgroup differences under the plot. Returns (path, the SubgroupTable)."""
    from metasift.analysis.metareg import _one_level, subgroups
    from metasift.analysis.multilevel import rma_mv

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    st = np.asarray([str(s) for s in study], dtype=object)
    es = np.asarray([str(e) for e in es_id], dtype=object)
    g = [None if x is None or (isinstance(x, float) and np.isnan(x)) or not str(x).strip() else str(x).strip()
         for x in group]
    keep = np.array([x is not None for x in g])
    if not keep.any():
        raise AnalysisError("no effect size has a subgroup value")
    y, v, st, es = y[keep], v[keep], st[keep], es[keep]
    g = [x for x in g if x is not None]
    table = subgroups(y, v, st, es, g, variable=variable, method=method, rve=rve, test=test, level=level)
    names = dict(group_labels or {})

    def diamond(row: Any, label: str) -> PooledDiamond | None:
        if row.estimate is None:
            return None
        return PooledDiamond(label=label, estimate=row.estimate, ci_lb=row.ci_lb, ci_ub=row.ci_ub,
                             detail=f"{row.n_studies} studies, {row.k} effect sizes; {row.model}")

    per_group = {names.get(r.level, r.level): diamond(r, f"{names.get(r.level, r.level)}: pooled") for r in table.rows}
    overall = _one_level("all", y, v, st, es, method=method, rve=rve.upper(), test=test, level_pct=level)
    if overall.estimate is None:
        raise AnalysisError(f"the overall model could not be fitted: {overall.note}")
    pooled = diamond(overall, f"All effect sizes ({overall.k})")
    dependent = len(set(st)) < len(st)
    weights = (rma_mv(y, v, st, es, method=method).weights() if dependent and len(set(st)) >= 2 else None)
    footer = []
    if table.test is not None:
        footer.append(f"Test of subgroup differences (robust Wald, HTZ; {table.test_model}): "
                      f"F({table.test.df_num:g}, {table.test.df_denom:.2f}) = {table.test.F:.2f}, "
                      f"p = {table.test.p:.3g}")
    shown = [names.get(x, x) for x in g]
    order = [names.get(r.level, r.level) for r in table.rows]
    fig = build_grouped_forest_figure(y, v, [str(lab) for lab, k in zip(labels, keep) if k], shown, pooled,
                                      level=level, weights=weights, title=title, favours=favours,
                                      group_pooled=per_group, group_order=order, footer=footer)
    return save_figure(fig, path, tight=False), table


def funnel(fit: Any, path: str | Path, *, contours: Sequence[float] = (0.90, 0.95, 0.99),
           trimfill: Any = None, xlab: str | None = None, title: str | None = None,
           favours: Sequence[str] | None = None) -> Path:
    """Write a contour-enhanced funnel plot (regions of significance around 0) and return its path.

    ``trimfill`` is a trim-and-fill result (``analysis.bias.trimfill``) or ``(yi, vi)`` of the filled
    studies; they are drawn as open circles, with the adjusted estimate as a dashed line when known.
    """
    filled, est = filled_studies(trimfill)
    fig = build_funnel_figure(fit, contours=contours, filled=filled, filled_estimate=est, xlab=xlab,
                              title=title, favours=favours)
    return save_figure(fig, path)


def leave1out_plot(fit: Any, path: str | Path, *, loo: Any = None, xlab: str | None = None,
                   title: str | None = None, transform: Callable[..., Any] | str | None = None) -> Path:
    """Write the leave-one-out plot (estimate and CI with each study omitted; line at the full estimate)."""
    fig = build_leave1out_figure(fit, loo=loo, xlab=xlab, title=title, transform=transform)
    return save_figure(fig, path, tight=False)


def leave_one_study_out_plot(loso: Any, path: str | Path, *, level: float = 95.0, xlab: str | None = None,
                             title: str | None = None) -> Path:
    """Write the leave-one-study-out plot of ``analysis.metareg.leave_one_study_out`` (each study's effect
    sizes omitted together; line and band at the full-data estimate of the same model)."""
    fig = build_loso_figure(loso, level=level, xlab=xlab, title=title)
    return save_figure(fig, path, tight=False)


def filled_studies(trimfill: Any) -> tuple[tuple[np.ndarray, np.ndarray] | None, float | None]:
    """The imputed studies ((yi, vi) or None) and adjusted estimate (or None) from a trim-and-fill result."""
    if trimfill is None:
        return None, None
    if isinstance(trimfill, (tuple, list)):
        if len(trimfill) != 2:
            raise AnalysisError("give the filled studies as (yi, vi)")
        return (np.asarray(trimfill[0], float), np.asarray(trimfill[1], float)), None
    try:
        yi, vi, est = trimfill.filled_yi, trimfill.filled_vi, trimfill.estimate
    except AttributeError:
        raise AnalysisError("trimfill must be an analysis.bias.trimfill() result or (yi, vi)") from None
    return (np.asarray(yi, float), np.asarray(vi, float)), float(est)
