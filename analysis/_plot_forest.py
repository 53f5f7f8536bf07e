"""Forest plot laid out like metafor's ``forest.rma``: study rows, weights and CI text, pooled diamonds.

``build_forest_figure`` returns the matplotlib Figure (tests inspect it); ``analysis.plots.forest`` saves it.
Artists carry gids so the geometry can be checked: ``study-markers`` (one square per study),
``study-ci``, ``pooled-diamond``, ``subgroup-diamond-<j>``, ``fitted-<i>``, ``pi``, ``refline``, and the text
cells ``label-<i>``, ``weight-<i>``, ``est-<i>``, ``lb-<i>``, ``ub-<i>`` (i = study index in the fit),
``weight-pooled``/``est-pooled``/``lb-pooled``/``ub-pooled`` and ``…-sub-<j>`` for subgroup summaries;
``favours-left``/``favours-right`` under the axis when the review says who each side of zero favours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.transforms import blended_transform_factory

from metasift.analysis._plot_common import (
    FONT_SIZE,
    Scale,
    crit_value,
    fmt_num,
    fmt_p,
    interval,
    make_scale,
    new_figure,
    pct_label,
    set_xaxis,
    text_width_in,
    widest_in,
)
from metasift.errors import AnalysisError

ROW_IN = 0.23  # height of one row in inches
PLOT_IN = 3.4  # width of the plotting region in inches
SMALL = FONT_SIZE - 1.5
SORTS = ("estimate", "precision", "weight", "label")


@dataclass
class _Summary:
    """A pooled estimate to draw as a diamond, with the text that goes with it."""

    label: str
    est: float
    lb: float
    ub: float
    weight: float | None
    detail: str
    gid: str  # "pooled" or "sub-<j>"
    pi: tuple[float, float] | None = None


@dataclass
class _Layout:
    """Rows from top to bottom; each entry is (kind, payload)."""

    rows: list[tuple[str, Any]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def build_forest_figure(fit: Any, *, subgroups: Sequence[Any] | None = None, sort: str | None = None,
                        show_weights: bool = True, show_pi: bool = True, title: str | None = None,
                        transform: Callable[..., Any] | str | None = None, xlab: str | None = None,
                        digits: int = 2, favours: Sequence[str] | None = None) -> Figure:
    """Draw the forest plot of an RMAFit (optionally by subgroup) and return the Figure, unsaved.
    ``favours`` = (left, right) prints "favours <left>" and "favours <right>" under the axis."""
    scale = make_scale(transform)
    if sort is not None and sort not in SORTS:
        raise AnalysisError(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
    weights = np.asarray(fit.weights(), dtype=float)
    layout = _layout(fit, subgroups, sort, weights, show_pi)
    return _render(fit, layout, scale, weights, show_weights=show_weights, title=title, xlab=xlab,
                   digits=digits, favours=favours)


# ---------------------------------------------------------------------------------------------------
# Layout: which rows, in which order, with which summaries (no drawing here)


def _order(fit: Any, idx: np.ndarray, sort: str | None, weights: np.ndarray) -> np.ndarray:
    """Study indices in display order (stable, so ties keep the data order)."""
    if sort is None:
        return idx
    if sort == "estimate":
        key = fit.yi[idx]
    elif sort == "precision":  # most precise first, as metafor's order="prec"
        key = fit.vi[idx]
    elif sort == "weight":
        key = -weights[idx]
    else:
        key = np.array([fit.labels[i].lower() for i in idx])
    return idx[np.argsort(key, kind="stable")]


def _model_name(fit: Any) -> str:
    return "FE Model" if fit.method == "FE" else "RE Model"


def _het_text(fit: Any) -> str:
    """Heterogeneity statistics of a fit, one line (tau² only for random-effects models)."""
    parts = [] if fit.method == "FE" else [f"\u03c4\u00b2 = {fmt_num(fit.tau2, 3)}"]
    parts.append(f"I\u00b2 = {fit.I2:.1f}%")
    parts.append(f"Q({fit.k - fit.p}) = {fit.QE:.2f}, {fmt_p(fit.QEp)}")
    return "; ".join(parts)


def _summary(fit: Any, label: str, weight: float | None, gid: str, show_pi: bool) -> _Summary:
    pi = (fit.pi_lb, fit.pi_ub) if show_pi and fit.pi_lb is not None and fit.method != "FE" else None
    return _Summary(label=label, est=float(fit.beta[0]), lb=float(fit.ci_lb[0]), ub=float(fit.ci_ub[0]),
                    weight=weight, detail=_het_text(fit), gid=gid, pi=pi)


def _layout(fit: Any, subgroups: Sequence[Any] | None, sort: str | None, weights: np.ndarray,
            show_pi: bool) -> _Layout:
    lay = _Layout()
    all_idx = np.arange(fit.k)
    int_only = fit.p == 1 and getattr(fit, "intercept", True)
    if subgroups is None:
        lay.rows += [("study", int(i)) for i in _order(fit, all_idx, sort, weights)]
        lay.rows.append(("line", None))
        if int_only:
            lay.rows.append(("summary", _summary(fit, _model_name(fit), 100.0, "pooled", show_pi)))
        else:
            m, df2 = getattr(fit, "QM_df", (fit.p - 1, None))
            stat = f"F({m}, {df2})" if df2 is not None else f"QM({m})"
            lay.footer.append(f"Meta-regression ({_model_name(fit)}, grey diamonds: fitted values): "
                              f"{stat} = {fit.QM:.2f}, {fmt_p(fit.QMp)}")
        return lay

    if not int_only:
        raise AnalysisError("subgroup forest plots need a model without moderators; "
                            "fit the overall model with rma(yi, vi) and pass subgroups=")
    groups = _group_labels(subgroups, fit.k)
    levels = sorted(set(groups))  # R factor order, as analysis.subgroup
    members = {g: np.array([i for i in all_idx if groups[i] == g]) for g in levels}
    pooled = [g for g in levels if len(members[g]) >= 2]
    res = None
    if len(pooled) >= 2:
        from metasift.analysis.subgroup import (
            subgroup,  # separate fits with the overall fit's method, test and level
        )

        idx = np.concatenate([members[g] for g in pooled])
        res = subgroup(fit.yi[idx], fit.vi[idx], [groups[i] for i in idx], method=fit.method, test=fit.test,
                       level=fit.level, labels=[fit.labels[i] for i in idx], control=getattr(fit, "control", None))
    elif len(pooled) == 1:
        from metasift.analysis._rma import rma

        g = pooled[0]
        one = rma(fit.yi[members[g]], fit.vi[members[g]], method=fit.method, test=fit.test, level=fit.level,
                  control=getattr(fit, "control", None))
    for j, g in enumerate(levels):
        idx = members[g]
        lay.rows.append(("group", f"{g} (k = {len(idx)})"))
        lay.rows += [("study", int(i)) for i in _order(fit, idx, sort, weights)]
        if len(idx) >= 2:
            sub = res.fits[g] if res is not None else one
            lay.rows.append(("summary", _summary(sub, f"{_model_name(fit)} for Subgroup",
                                                 float(weights[idx].sum()), f"sub-{j}", False)))
        else:
            lay.rows.append(("note", "one study: no pooled estimate"))
        lay.rows.append(("blank", None))
    lay.rows.append(("line", None))
    lay.rows.append(("summary", _summary(fit, f"{_model_name(fit)} for All Studies", 100.0, "pooled",
                                         show_pi)))
    if res is not None:
        left_out = " (groups with one study left out)" if len(pooled) < len(levels) else ""
        lay.footer.append(f"Test for subgroup differences (separate τ² per group){left_out}: "
                          f"Q = {res.Q_between:.2f}, df = {res.Q_between_df}, {fmt_p(res.Q_between_p)}")
    else:
        lay.footer.append("Test for subgroup differences: not possible (fewer than two groups with k ≥ 2)")
    return lay


def _group_labels(subgroups: Sequence[Any], k: int) -> list[str]:
    vals = list(subgroups)
    if len(vals) != k:
        raise AnalysisError(f"subgroups has {len(vals)} values but the fit has k = {k} studies "
                            "(give one subgroup per study, after any rows with missing data were dropped)")
    missing = [i + 1 for i, v in enumerate(vals) if v is None or (isinstance(v, float) and np.isnan(v))]
    if missing:
        raise AnalysisError(f"subgroup missing for studies at positions {missing[:10]}")
    return [str(v) for v in vals]


# ---------------------------------------------------------------------------------------------------
# Drawing


def _square_sizes(weights: np.ndarray) -> np.ndarray:
    """Marker side in points: weights rescaled to [0.5, 1.5] as metafor's psize (plim), times 7 pt."""
    rng = weights.max() - weights.min()
    if rng <= np.finfo(float).eps ** 0.2:
        return np.full(len(weights), 7.0)
    return 7.0 * ((weights - weights.min()) / rng + 0.5)


def _fitted(fit: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted values X·b with CIs (z, or t(df) for Knapp–Hartung), as metafor's forest for meta-regression."""
    pred = fit.X @ fit.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", fit.X, fit.vb, fit.X))
    crit = crit_value(fit.level, fit.df if fit.test == "knha" else None)
    return pred, pred - crit * se, pred + crit * se


def _render(fit: Any, lay: _Layout, scale: Scale, weights: np.ndarray, *, show_weights: bool,
            title: str | None, xlab: str | None, digits: int, favours: Sequence[str] | None = None) -> Figure:
    zc = crit_value(fit.level)  # study CIs are always normal-theory, as metafor's forest
    s_est, s_lb, s_ub = interval(scale, fit.yi, fit.yi - zc * np.sqrt(fit.vi), fit.yi + zc * np.sqrt(fit.vi))
    summaries = [p for kind, p in lay.rows if kind == "summary"]

    # Text for the right-hand columns, per row.
    def triple(e: float, a: float, b: float) -> tuple[str, str, str]:
        return fmt_num(e, digits), f"[{fmt_num(a, digits)},", f"{fmt_num(b, digits)}]"

    cells: dict[str, tuple[str, str, str]] = {}
    for i in range(fit.k):
        cells[str(i)] = triple(s_est[i], s_lb[i], s_ub[i])
    for s in summaries:
        e, a, b = interval(scale, s.est, s.lb, s.ub)
        cells[s.gid] = triple(float(e), float(a), float(b))

    # Column widths (inches), measured with the renderer so nothing overlaps.
    left_texts = [(fit.labels[p] if kind == "study" else str(p.label) if kind == "summary" else str(p))
                  for kind, p in lay.rows if kind in ("study", "group", "summary", "note")]
    left_w = max(widest_in(["Study"] + left_texts, weight="bold"),
                 widest_in([s.detail for s in summaries], SMALL)) + 0.25
    col_w = [widest_in([c[j] for c in cells.values()], weight="bold") for j in range(3)]
    ci_head = f"Estimate [{pct_label(fit.level)} CI]"
    est_w = max(sum(col_w) + 0.13, text_width_in(ci_head, weight="bold"))
    w_w = max(text_width_in("100.00%", weight="bold"), text_width_in("Weight", weight="bold")) + 0.3
    w_w = w_w if show_weights else 0.0
    right_w = 0.25 + w_w + 0.25 + est_w + 0.1
    width = left_w + PLOT_IN + right_w

    # Row positions: header at the top, rows below, one row unit per line; details add half rows.
    ys: list[float] = []
    y = 1.0
    for kind, _p in lay.rows:
        if kind == "line":
            y -= 0.5
            ys.append(y)
            continue
        y -= 1.0
        ys.append(y)
        if kind == "summary":
            y -= 0.8  # room for the heterogeneity line under the label
    bottom_row = y
    n_units = -bottom_row + 2.0  # + the header row above y = 0
    top_in = 0.35 + (0.3 if title else 0.0)
    foot_in = 0.6 + 0.2 * len(lay.footer) + (0.2 if favours else 0.0)
    height = n_units * ROW_IN + top_in + foot_in
    fig = new_figure(width, height)
    ax = fig.add_axes((left_w / width, foot_in / height, PLOT_IN / width, n_units * ROW_IN / height))
    ax.set_ylim(bottom_row - 0.5, 1.5)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.yaxis.set_visible(False)
    ax.patch.set_visible(False)
    if scale.log_axis:
        ax.set_xscale("log")
    fx = blended_transform_factory(fig.transFigure, ax.transData)

    def fig_x(inches: float) -> float:
        return inches / width

    x_lab = fig_x(0.1)
    x_w = fig_x(left_w + PLOT_IN + 0.25 + w_w)
    x_ub = fig_x(width - 0.1)
    x_lb = x_ub - fig_x(col_w[2] + 0.05)
    x_est = x_lb - fig_x(col_w[1] + 0.08)

    def right_cells(key: str, yy: float, weight: float | None, bold: bool = False) -> None:
        fw = "bold" if bold else "normal"
        e, a, b = cells[key]
        for x, s, name in ((x_est, e, "est"), (x_lb, a, "lb"), (x_ub, b, "ub")):
            ax.text(x, yy, s, transform=fx, ha="right", va="center", fontweight=fw, gid=f"{name}-{key}")
        if show_weights and weight is not None:
            ax.text(x_w, yy, f"{weight:.2f}%", transform=fx, ha="right", va="center", fontweight=fw,
                    gid=f"weight-{key}")

    # Header and rules.
    ax.text(x_lab, 1.0, "Study", transform=fx, ha="left", va="center", fontweight="bold")
    ax.text(x_ub, 1.0, ci_head, transform=fx, ha="right", va="center", fontweight="bold")
    if show_weights:
        ax.text(x_w, 1.0, "Weight", transform=fx, ha="right", va="center", fontweight="bold")
    if title:
        fig.text(0.5, 1 - 0.15 / height, title, ha="center", va="top", fontsize=FONT_SIZE + 2,
                 fontweight="bold")
    rule = {"transform": fx, "color": "black", "linewidth": 0.8, "clip_on": False}
    ax.add_line(Line2D([fig_x(0.05), fig_x(width - 0.05)], [0.45, 0.45], **rule))

    study_y = np.full(fit.k, np.nan)
    span_y: list[float] = []
    for (kind, p), yy in zip(lay.rows, ys):
        if kind == "study":
            study_y[p] = yy
            span_y.append(yy)
            ax.text(x_lab, yy, fit.labels[p], transform=fx, ha="left", va="center", gid=f"label-{p}")
            right_cells(str(p), yy, float(weights[p]))
        elif kind == "group":
            ax.text(x_lab, yy, p, transform=fx, ha="left", va="center", fontweight="bold",
                    gid="group-header")
        elif kind == "note":
            ax.text(x_lab + fig_x(0.15), yy, p, transform=fx, ha="left", va="center", fontsize=SMALL,
                    fontstyle="italic", color="0.35")
        elif kind == "line":
            ax.add_line(Line2D([fig_x(0.05), fig_x(width - 0.05)], [yy, yy], **rule))
        elif kind == "summary":
            span_y.append(yy)
            _draw_summary(ax, p, yy, scale)
            ax.text(x_lab, yy, p.label, transform=fx, ha="left", va="center", fontweight="bold")
            ax.text(x_lab, yy - 0.8, p.detail, transform=fx, ha="left", va="center", fontsize=SMALL,
                    color="0.25")
            right_cells(p.gid, yy, p.weight, bold=True)
            if p.pi is not None:
                lo, hi = interval(scale, 0.0, p.pi[0], p.pi[1])[1:]
                ax.text(x_ub, yy - 0.8, f"{pct_label(fit.level)} PI [{fmt_num(float(lo), digits)}, "
                        f"{fmt_num(float(hi), digits)}]", transform=fx, ha="right", va="center",
                        fontsize=SMALL, color="0.25", gid=f"pi-text-{p.gid}")

    # Studies: CI whiskers with end ticks, then squares sized by weight.
    segs = [((s_lb[i], study_y[i]), (s_ub[i], study_y[i])) for i in range(fit.k)]
    caps = [((x, study_y[i] - 0.18), (x, study_y[i] + 0.18)) for i in range(fit.k) for x in (s_lb[i], s_ub[i])]
    ax.add_collection(LineCollection(segs, colors="black", linewidths=0.9, gid="study-ci"))
    ax.add_collection(LineCollection(caps, colors="black", linewidths=0.9, gid="study-ci-caps"))
    ax.scatter(s_est, study_y, s=_square_sizes(weights) ** 2, marker="s", c="black", linewidths=0,
               zorder=3, gid="study-markers")
    if not (fit.p == 1 and getattr(fit, "intercept", True)):
        pred, lo, hi = _fitted(fit)
        for i in range(fit.k):
            e, a, b = interval(scale, pred[i], lo[i], hi[i])
            ax.add_patch(Polygon(_diamond(float(e), float(a), float(b), study_y[i], 0.3), closed=True,
                                 facecolor="0.65", edgecolor="0.65", zorder=1.5, gid=f"fitted-{i}"))

    # Axis range from everything drawn, then the reference line at 'no effect'.
    xs = [s_lb, s_ub, [scale.reference]]
    for s in summaries:
        xs.append(interval(scale, s.est, s.lb, s.ub)[1:])
        if s.pi is not None:
            xs.append(interval(scale, 0.0, *s.pi)[1:])
    if not (fit.p == 1 and getattr(fit, "intercept", True)):
        xs.append(interval(scale, *_fitted(fit))[1:])
    lo, hi = float(np.min(np.concatenate([np.ravel(a) for a in xs]))), float(
        np.max(np.concatenate([np.ravel(a) for a in xs])))
    set_xaxis(ax, lo, hi, scale)
    ax.plot([scale.reference] * 2, [min(span_y) - 0.5, max(span_y) + 0.5], linestyle=":", color="black",
            linewidth=0.9, zorder=1, gid="refline")
    ax.set_xlabel(xlab or ("Ratio (log scale)" if scale.log_axis else "Effect size"), fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    if favours:
        _draw_favours(ax, scale.reference, favours)
    for n, line in enumerate(lay.footer):
        fig.text(fig_x(0.1), (0.02 + 0.2 * (len(lay.footer) - 1 - n)) / height, line, ha="left",
                 va="bottom", fontsize=SMALL, gid="footer")
    return fig


def _draw_favours(ax: Any, reference: float, favours: Sequence[str]) -> None:
    """"← favours <left>" and "favours <right> →" under the axis label, either side of the line of no effect."""
    left, right = favours
    for gid, text, ha, dx in (("favours-left", f"\u2190 favours {left}", "right", -4),
                              ("favours-right", f"favours {right} \u2192", "left", 4)):
        ax.annotate(text, xy=(reference, 0), xycoords=("data", "axes fraction"), xytext=(dx, -36),
                    textcoords="offset points", ha=ha, va="top", fontsize=SMALL, fontstyle="italic", gid=gid,
                    annotation_clip=False)


def _diamond(est: float, lb: float, ub: float, y: float, half: float) -> np.ndarray:
    """Diamond vertices: left and right tips at the CI bounds, top and bottom at the estimate."""
    return np.array([[lb, y], [est, y + half], [ub, y], [est, y - half]])


def _draw_summary(ax: Any, s: _Summary, y: float, scale: Scale) -> None:
    e, a, b = (float(v) for v in interval(scale, s.est, s.lb, s.ub))
    if s.pi is not None:  # prediction interval: dotted line with end ticks behind the diamond (metafor addpred)
        lo, hi = (float(v) for v in interval(scale, 0.0, *s.pi)[1:])
        ax.plot([lo, hi], [y, y], linestyle=(0, (1.5, 1.5)), color="0.35", linewidth=1.0, zorder=2, gid="pi")
        ax.add_collection(LineCollection([((lo, y - 0.2), (lo, y + 0.2)), ((hi, y - 0.2), (hi, y + 0.2))],
                                         colors="0.35", linewidths=1.0, zorder=2, gid="pi-caps"))
    gid = "pooled-diamond" if s.gid == "pooled" else f"subgroup-diamond-{s.gid.split('-', 1)[1]}"
    ax.add_patch(Polygon(_diamond(e, a, b, y, 0.4), closed=True, facecolor="black", edgecolor="black",
                         zorder=3, gid=gid))


# ---------------------------------------------------------------------------------------------------
# Dependent effect sizes: every effect size, grouped by study, with the primary model's diamond


@dataclass(frozen=True)
class PooledDiamond:
    """The pooled estimate drawn under a grouped forest plot (e.g. the three-level model with CR2 CIs)."""

    label: str
    estimate: float
    ci_lb: float
    ci_ub: float
    detail: str = ""                            # one short line under the label (variance components)
    pi: tuple[float, float] | None = None       # prediction interval, drawn dotted behind the diamond


@dataclass(frozen=True)
class _EffectRows:
    """The effect sizes as ``_render`` reads a fit: one row each, intercept only."""

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    level: float
    p: int = 1
    intercept: bool = True

    @property
    def k(self) -> int:
        return len(self.yi)


def build_grouped_forest_figure(yi: Sequence[float], vi: Sequence[float], labels: Sequence[str],
                                groups: Sequence[str], pooled: PooledDiamond, *, level: float = 95.0,
                                weights: Sequence[float] | None = None, title: str | None = None,
                                transform: Callable[..., Any] | str | None = None, xlab: str | None = None,
                                digits: int = 2, favours: Sequence[str] | None = None,
                                group_pooled: Mapping[str, PooledDiamond | None] | None = None,
                                group_order: Sequence[str] | None = None,
                                footer: Sequence[str] = ()) -> Figure:
    """Every effect size under a header per group (its study, in first-appearance order), then one diamond:
    ``pooled``, the model that handled the dependence. Given ``weights`` (% weight of each effect size in that
    model, e.g. ``MultilevelFit.weights()``), squares are sized by them and a weight column shows them; without,
    squares are sized by inverse sampling variance and no column.

    ``group_pooled`` (group -> diamond, None for a group that was not pooled) adds a diamond under each group:
    a subgroup analysis (e.g. by outcome domain), each group pooled by its own model; ``group_order`` orders the
    groups (default: first appearance) and ``footer`` lines (e.g. the test of subgroup differences) go under
    the plot."""
    rows = _EffectRows(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), [str(s) for s in labels],
                       float(level))
    if not len(rows.yi) == len(rows.vi) == len(rows.labels) == len(groups):
        raise AnalysisError("yi, vi, labels and groups must have the same length")
    if rows.k == 0:
        raise AnalysisError("no effect sizes to draw")
    w = 1.0 / rows.vi if weights is None else np.asarray(weights, dtype=float)
    if len(w) != rows.k:
        raise AnalysisError(f"{len(w)} weights for {rows.k} effect sizes")
    lay = _Layout(footer=list(footer))
    order = [str(g) for g in group_order] if group_order is not None else list(dict.fromkeys(str(g) for g in groups))
    for j, g in enumerate(order):
        idx = [i for i, x in enumerate(groups) if str(x) == g]
        if not idx:
            continue
        lay.rows.append(("group", f"{g} ({len(idx)} effect size{'s' if len(idx) != 1 else ''})"))
        lay.rows += [("study", i) for i in idx]
        if group_pooled is not None:
            sub = group_pooled.get(g)
            if sub is None:
                lay.rows.append(("note", "not pooled (one study)"))
            else:
                lay.rows.append(("summary", _Summary(label=sub.label, est=sub.estimate, lb=sub.ci_lb, ub=sub.ci_ub,
                                                     weight=None if weights is None else float(w[idx].sum()),
                                                     detail=sub.detail, gid=f"sub-{j}", pi=sub.pi)))
        lay.rows.append(("blank", None))
    lay.rows.append(("line", None))
    lay.rows.append(("summary", _Summary(label=pooled.label, est=pooled.estimate, lb=pooled.ci_lb,
                                         ub=pooled.ci_ub, weight=None if weights is None else float(w.sum()),
                                         detail=pooled.detail, gid="pooled", pi=pooled.pi)))
    return _render(rows, lay, make_scale(transform), w, show_weights=weights is not None, title=title, xlab=xlab,
                   digits=digits, favours=favours)
