"""Leave-one-out plot: the pooled estimate and its CI with each study omitted in turn.

One row per omitted study (as ``forest(leave1out(fit))`` in metafor), a solid line and shaded band at the
full-data estimate and CI, a dotted line at 'no effect'. Artists carry gids: ``loo-markers``, ``loo-ci``,
``full-estimate``, ``full-ci``, ``refline`` and the text cells ``loo-text-<i>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from metasift.analysis._plot_common import (
    FONT_SIZE,
    fmt_num,
    interval,
    make_scale,
    new_figure,
    pct_label,
    set_xaxis,
    text_width_in,
    widest_in,
)
from metasift.errors import AnalysisError


def loo_arrays(loo: Any, fit: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates and CI bounds from a leave-one-out result (``analysis.influence.leave1out`` or a mapping)."""
    get = loo.get if isinstance(loo, dict) else (lambda name: getattr(loo, name, None))
    cols = [get(name) for name in ("estimate", "ci_lb", "ci_ub")]
    if any(c is None for c in cols):
        raise AnalysisError("a leave-one-out result needs estimate, ci_lb and ci_ub")
    est, lb, ub = (np.asarray(c, float).ravel() for c in cols)
    if not len(est) == len(lb) == len(ub) == fit.k:
        raise AnalysisError(f"the leave-one-out result has {len(est)} rows but the fit has k = {fit.k}")
    return est, lb, ub


def build_leave1out_figure(fit: Any, *, loo: Any = None, xlab: str | None = None, title: str | None = None,
                           transform: Callable[..., Any] | str | None = None, digits: int = 2) -> Figure:
    """Draw the leave-one-out estimates of an intercept-only RMAFit and return the Figure, unsaved."""
    if not (fit.p == 1 and getattr(fit, "intercept", True)):
        raise AnalysisError("the leave-one-out plot needs a model without moderators")
    if fit.k < 3:
        raise AnalysisError(f"leave-one-out needs at least 3 studies (each refit keeps k − 1); got k = {fit.k}")
    if loo is None:
        from metasift.analysis.influence import leave1out

        loo = leave1out(fit)
    scale = make_scale(transform)
    est, lb, ub = interval(scale, *loo_arrays(loo, fit))
    full = interval(scale, fit.beta[0], fit.ci_lb[0], fit.ci_ub[0])
    k = fit.k
    labels = [f"Omitting {lab}" for lab in fit.labels]
    ok = np.isfinite(est) & np.isfinite(lb) & np.isfinite(ub)  # a refit that failed is NaN: say so, draw nothing
    texts = [f"{fmt_num(e, digits)} [{fmt_num(a, digits)}, {fmt_num(b, digits)}]" if good else "refit failed"
             for e, a, b, good in zip(est, lb, ub, ok)]
    left_w = max(widest_in(labels), text_width_in("Study omitted", weight="bold")) + 0.3
    right_w = max(widest_in(texts), text_width_in(f"Estimate [{pct_label(fit.level)} CI]", weight="bold")) + 0.4
    plot_w, row = 3.4, 0.23
    height = (k + 1.1) * row + 0.75 + (0.3 if title else 0.0)
    width = left_w + plot_w + right_w
    fig = new_figure(width, height)
    ax = fig.add_axes((left_w / width, 0.6 / height, plot_w / width, (k + 1.1) * row / height))
    if title:
        fig.text(0.5, 1 - 0.1 / height, title, ha="center", va="top", fontsize=FONT_SIZE + 2, fontweight="bold")
    if scale.log_axis:
        ax.set_xscale("log")
    ys = np.arange(k, 0, -1, dtype=float)  # first study at the top
    ax.set_ylim(0.4, k + 1.5)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.yaxis.set_visible(False)
    fx = blended_transform_factory(fig.transFigure, ax.transData)
    x_left, x_right = 0.1 / width, (width - 0.1) / width
    ax.text(x_left, k + 1.0, "Study omitted", transform=fx, ha="left", va="center", fontweight="bold")
    ax.text(x_right, k + 1.0, f"Estimate [{pct_label(fit.level)} CI]", transform=fx, ha="right",
            va="center", fontweight="bold")
    ax.plot([0.05 / width, (width - 0.05) / width], [k + 0.55] * 2, transform=fx, color="black",
            linewidth=0.8, clip_on=False)
    for i in range(k):
        ax.text(x_left, ys[i], labels[i], transform=fx, ha="left", va="center", gid=f"loo-label-{i}")
        ax.text(x_right, ys[i], texts[i], transform=fx, ha="right", va="center", gid=f"loo-text-{i}")
    ax.axvspan(float(full[1]), float(full[2]), color="0.88", zorder=0, gid="full-ci")
    ax.axvline(float(full[0]), color="0.3", linewidth=1.2, zorder=1, gid="full-estimate")
    ax.axvline(scale.reference, color="black", linestyle=":", linewidth=0.9, zorder=1, gid="refline")
    ax.add_collection(LineCollection([((a, y), (b, y)) for a, b, y in zip(lb[ok], ub[ok], ys[ok])],
                                     colors="black", linewidths=0.9, zorder=2, gid="loo-ci"))
    ax.scatter(est[ok], ys[ok], s=30, marker="s", c="black", zorder=3, gid="loo-markers")
    allx = np.concatenate([lb[ok], ub[ok], [full[1], full[2], scale.reference]])
    set_xaxis(ax, float(allx.min()), float(allx.max()), scale)
    ax.set_xlabel(xlab or f"Estimate with the study omitted (line and band: all {k} studies)",
                  fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig


@dataclass(frozen=True)
class _FullData:
    """The all-studies fit as the leave-one-out figure reads it (intercept only)."""

    k: int
    labels: list[str]
    beta: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    level: float
    p: int = 1
    intercept: bool = True


def build_loso_figure(loso: Any, *, level: float = 95.0, xlab: str | None = None, title: str | None = None,
                      transform: Callable[..., Any] | str | None = None, digits: int = 2) -> Figure:
    """The leave-one-out figure of an ``analysis.metareg.leave_one_study_out`` result: one row per omitted
    study (all its effect sizes), line and band at the full-data estimate of the same model."""
    full = loso.full
    if full.estimate is None:
        raise AnalysisError(f"the full-data model was not fitted: {full.note}")
    ref = _FullData(k=len(loso.rows), labels=[r.label for r in loso.rows], beta=np.array([full.estimate]),
                    ci_lb=np.array([full.ci_lb]), ci_ub=np.array([full.ci_ub]), level=level)
    return build_leave1out_figure(ref, loo=loso, transform=transform, digits=digits, title=title,
                                  xlab=xlab or f"Estimate with the study's effect sizes omitted (line and band: all "
                                               f"{ref.k} studies, {full.model})")
