"""Contour-enhanced funnel plot as metafor's ``funnel(fit, level=c(90, 95, 99), refline=0)``.

Shaded regions show where a study would be significant at each contour level (centred on 0, Peters et al.
2008); the dotted pseudo-confidence triangle is centred on the pooled estimate; the standard-error axis runs
downwards from 0. Studies added by trim-and-fill are open circles. Artists carry gids: ``studies``,
``filled-studies``, ``contour-<level>``, ``pseudo-ci``, ``estimate-line``, ``trimfill-estimate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from metasift.analysis._plot_common import FONT_SIZE, crit_value, fraction, new_figure
from metasift.errors import AnalysisError

# Region fills from "not significant" to "most significant" (darker = smaller p).
_SHADES = ("white", "0.88", "0.76", "0.64", "0.55", "0.47")


def build_funnel_figure(fit: Any, *, contours: Sequence[float] = (0.90, 0.95, 0.99),
                        filled: tuple[np.ndarray, np.ndarray] | None = None,
                        filled_estimate: float | None = None, xlab: str | None = None,
                        title: str | None = None, favours: Sequence[str] | None = None) -> Figure:
    """Draw the contour-enhanced funnel plot of an RMAFit and return the Figure, unsaved.
    ``favours`` = (left, right): who each side of zero favours, under the axis (as on the forest plot).

    ``filled`` is (yi, vi) of studies imputed by trim-and-fill, ``filled_estimate`` its adjusted estimate.
    With moderators the x axis shows residuals (yi minus fitted value), as metafor does.
    """
    levels = sorted({fraction(c) for c in contours})
    if len(levels) > len(_SHADES) - 1:
        raise AnalysisError(f"at most {len(_SHADES) - 1} contour levels can be shaded; got {len(levels)}")
    int_only = fit.p == 1 and getattr(fit, "intercept", True)
    if int_only:
        x, centre = np.asarray(fit.yi, float), float(fit.beta[0])
    else:
        x, centre = np.asarray(fit.yi - fit.X @ fit.beta, float), 0.0
        if filled is not None:
            raise AnalysisError("trim-and-fill studies can only be drawn for a model without moderators")
    sei = np.sqrt(np.asarray(fit.vi, float))
    fx = fse = np.empty(0)
    if filled is not None:
        fx, fse = np.asarray(filled[0], float).ravel(), np.sqrt(np.asarray(filled[1], float).ravel())
        if fx.shape != fse.shape:
            raise AnalysisError("filled studies need as many variances as estimates")
    ymax = float(max(sei.max(), fse.max() if fse.size else 0.0))
    zs = [crit_value(lv) for lv in levels]  # widening contours: |y|/se > z is significant at that level
    zci = crit_value(fit.level)

    fig = new_figure(6.4, 5.2)
    bottom = 0.17 if favours else 0.12  # room for the favours line under the axis label
    ax = fig.add_axes((0.13, bottom, 0.83, (0.8 if title else 0.84) - (bottom - 0.12)))
    if title:
        fig.text(0.5, 0.97, title, ha="center", va="top", fontsize=FONT_SIZE + 2, fontweight="bold")
    xs = np.concatenate([x, fx, [centre - zci * ymax, centre + zci * ymax, -zs[-1] * ymax, zs[-1] * ymax]])
    lo, hi = float(xs.min()), float(xs.max())
    pad = 0.06 * max(hi - lo, 1e-6)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(ymax * 1.03, 0.0)  # inverted: precise studies at the top
    # Regions: outermost (most significant) as the background, then nested triangles down to "p > alpha_1".
    n = len(levels)
    ax.set_facecolor(_SHADES[n])
    handles: list[Any] = []
    alphas = [1 - lv for lv in levels]  # e.g. 0.10, 0.05, 0.01
    for j in range(n - 1, -1, -1):
        tri = [(0.0, 0.0), (-zs[j] * ymax * 1.5, ymax * 1.5), (zs[j] * ymax * 1.5, ymax * 1.5)]
        ax.add_patch(Polygon(tri, closed=True, facecolor=_SHADES[j], edgecolor="0.3", linewidth=0.4,
                             zorder=1, gid=f"contour-{levels[j]:g}"))
    labels = [f"p > {alphas[0]:.2f}"] + [f"{alphas[j + 1]:.2f} < p \u2264 {alphas[j]:.2f}" for j in range(n - 1)]
    labels.append(f"p \u2264 {alphas[-1]:.2f}")
    for j, lab in enumerate(labels):
        handles.append(Patch(facecolor=_SHADES[j], edgecolor="0.3", linewidth=0.5, label=lab))

    # Pseudo-confidence triangle and the estimate it is centred on.
    ax.plot([centre - zci * ymax * 1.5, centre, centre + zci * ymax * 1.5], [ymax * 1.5, 0.0, ymax * 1.5],
            linestyle=":", color="black", linewidth=1.0, zorder=2, gid="pseudo-ci")
    ax.plot([centre, centre], [0.0, ymax * 1.5], linestyle=":", color="black", linewidth=1.0, zorder=2,
            gid="estimate-line")
    size = 22.0 * min(1.0, np.sqrt(100.0 / max(len(x), 1)))  # smaller dots when there are many studies
    ax.scatter(x, sei, s=size, c="black", zorder=4, gid="studies")
    handles.append(Line2D([], [], marker="o", linestyle="", color="black", markersize=5, label="Studies"))
    if fx.size:
        ax.scatter(fx, fse, s=size, facecolors="white", edgecolors="black", linewidths=1.0, zorder=4,
                   gid="filled-studies")
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                              markeredgecolor="black", markersize=5, label="Filled studies"))
    if filled_estimate is not None:
        ax.plot([filled_estimate] * 2, [0.0, ymax * 1.5], linestyle="--", color="0.25", linewidth=1.0,
                zorder=3, gid="trimfill-estimate")
        handles.append(Line2D([], [], linestyle="--", color="0.25", label="Trim-and-fill estimate"))
    ax.set_yticks(np.linspace(0.0, ymax, 5))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.3f}")
    ax.set_ylabel("Standard error", fontsize=FONT_SIZE)
    ax.set_xlabel(xlab or ("Effect size" if int_only else "Residual value"), fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.legend(handles=handles, loc="best", fontsize=FONT_SIZE - 2, framealpha=0.95,
              title=f"{len(x)} studies" + (f" + {fx.size} filled" if fx.size else ""),
              title_fontsize=FONT_SIZE - 2)
    if favours:
        from metasift.analysis._plot_forest import _draw_favours

        _draw_favours(ax, 0.0, favours)
    return fig
