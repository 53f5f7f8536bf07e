"""Forest, funnel and leave-one-out plots: files written, and the drawn geometry checked against metafor.

Reference numbers come from tests/reference/plots.R (metafor 3.8) via plots.json; R is never run here.
"""

from __future__ import annotations

import gc
import json
import weakref
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Polygon
from typer.testing import CliRunner

from metasift.analysis import rma
from metasift.analysis.bias import trimfill
from metasift.analysis.plots import (
    build_forest_figure,
    build_funnel_figure,
    build_leave1out_figure,
    forest,
    funnel,
    leave1out_plot,
)
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "plots.json").read_text())
DATA = REF_DIR / "data" / "plots_bcg.csv"

# Closed-form quantities (study CIs yi ± z·sqrt(vi), contour slopes): worst error seen 9.5e-15 (float
# rounding of z·sqrt(vi)).
CLOSED_TOL = 1e-9
# Anything from an iterative tau² fit (REML/DL-knha estimate, CI, PI, subgroup fits and Q, trim-and-fill,
# leave-one-out, meta-regression fitted values): worst error seen 1.4e-14 against R fits with
# threshold 1e-12 (rounding); with metafor's default threshold 1e-5 the R side itself is off by ~9e-6.
ITER_TOL = 1e-6
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fit():
    return rma(REF["yi"], REF["vi"], labels=REF["labels"])


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    return pd.read_csv(DATA)


def by_gid(fig, gid: str) -> list:
    return [a for a in fig.findobj() if a.get_gid() == gid]


def one(fig, gid: str):
    found = by_gid(fig, gid)
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


def num(text: str) -> float:
    return float(text.replace("\u2212", "-").strip("[],%"))


def cell(fig, name: str, key: str) -> float:
    return num(one(fig, f"{name}-{key}").get_text())


def diamond_x(fig, gid: str) -> np.ndarray:
    """x of the left tip, top, right tip of a diamond: CI lower bound, estimate, CI upper bound."""
    xy = one(fig, gid).get_xy()
    return np.array([xy[0, 0], xy[1, 0], xy[2, 0]])


# ---------------------------------------------------------------------------------------------------
# Forest plot


@pytest.mark.metafor
def test_forest_study_rows_match_metafor(fit) -> None:
    fig = build_forest_figure(fit)
    markers = one(fig, "study-markers")
    assert isinstance(markers, PathCollection)
    xy = markers.get_offsets()
    assert len(xy) == fit.k == 13
    np.testing.assert_allclose(xy[:, 0], REF["yi"], atol=CLOSED_TOL)
    # metafor puts the first study on top: y strictly decreasing in data order
    assert np.all(np.diff(xy[:, 1]) < 0)
    segs = np.array(one(fig, "study-ci").get_segments())
    np.testing.assert_allclose(segs[:, 0, 0], REF["study_ci_lb"], atol=CLOSED_TOL)
    np.testing.assert_allclose(segs[:, 1, 0], REF["study_ci_ub"], atol=CLOSED_TOL)
    # squares grow with weight
    sizes = markers.get_sizes()
    w = fit.weights()
    assert sizes[np.argmax(w)] == sizes.max() and sizes[np.argmin(w)] == sizes.min()
    for i in range(fit.k):
        assert one(fig, f"label-{i}").get_text() == REF["labels"][i]
        assert cell(fig, "est", str(i)) == round(REF["yi"][i], 2)
        assert cell(fig, "lb", str(i)) == pytest.approx(round(REF["study_ci_lb"][i], 2), abs=1e-12)


@pytest.mark.metafor
def test_forest_weights_text_matches_fit_and_metafor(fit) -> None:
    fig = build_forest_figure(fit)
    shown = np.array([cell(fig, "weight", str(i)) for i in range(fit.k)])
    np.testing.assert_array_equal(shown, np.round(fit.weights(), 2))
    np.testing.assert_allclose(shown, REF["reml"]["weights"], atol=0.005 + 1e-9)
    assert one(fig, "weight-pooled").get_text() == "100.00%"
    no_w = build_forest_figure(fit, show_weights=False)
    assert not [a for a in no_w.findobj() if str(a.get_gid()).startswith("weight-")]


@pytest.mark.metafor
def test_forest_diamond_and_prediction_interval_at_metafor_values(fit) -> None:
    ref = REF["reml"]
    fig = build_forest_figure(fit)
    np.testing.assert_allclose(diamond_x(fig, "pooled-diamond"), [ref["ci_lb"], ref["estimate"], ref["ci_ub"]],
                               atol=ITER_TOL)
    pi = one(fig, "pi").get_xdata()
    np.testing.assert_allclose(pi, [ref["pi_lb"], ref["pi_ub"]], atol=ITER_TOL)
    assert cell(fig, "est", "pooled") == round(ref["estimate"], 2)
    assert one(fig, "refline").get_xdata()[0] == 0.0
    assert not by_gid(build_forest_figure(fit, show_pi=False), "pi")
    # Knapp–Hartung: the diamond and PI use t(k-1), as metafor's predict()
    ref = REF["dl_knha"]
    kh = rma(REF["yi"], REF["vi"], method="DL", test="knha")
    fig = build_forest_figure(kh)
    np.testing.assert_allclose(diamond_x(fig, "pooled-diamond"), [ref["ci_lb"], ref["estimate"], ref["ci_ub"]],
                               atol=ITER_TOL)
    np.testing.assert_allclose(one(fig, "pi").get_xdata(), [ref["pi_lb"], ref["pi_ub"]], atol=ITER_TOL)


@pytest.mark.metafor
def test_forest_exp_transform_puts_ratios_on_a_log_axis(fit) -> None:
    ref = REF["reml"]
    fig = build_forest_figure(fit, transform=np.exp)
    ax = one(fig, "study-markers").axes
    assert ax.get_xscale() == "log"
    assert one(fig, "refline").get_xdata()[0] == 1.0
    np.testing.assert_allclose(one(fig, "study-markers").get_offsets()[:, 0], np.exp(REF["yi"]), rtol=CLOSED_TOL)
    np.testing.assert_allclose(diamond_x(fig, "pooled-diamond"),
                               np.exp([ref["ci_lb"], ref["estimate"], ref["ci_ub"]]), rtol=ITER_TOL)
    assert cell(fig, "est", "pooled") == round(float(np.exp(ref["estimate"])), 2)
    assert cell(fig, "ub", "0") == round(float(np.exp(REF["study_ci_ub"][0])), 2)
    lo, hi = ax.get_xlim()
    assert lo > 0 and lo < np.exp(min(REF["study_ci_lb"])) and hi > np.exp(max(REF["study_ci_ub"]))


@pytest.mark.metafor
@pytest.mark.parametrize("column", ["alloc", "lat"])
def test_forest_subgroups_draw_one_diamond_per_group_plus_overall(fit, bcg, column) -> None:
    ref = REF[f"sub_{column}"]
    fig = build_forest_figure(fit, subgroups=bcg[column].tolist())
    assert len(by_gid(fig, "pooled-diamond")) == 1
    subs = [a for a in fig.findobj(Polygon) if str(a.get_gid()).startswith("subgroup-diamond-")]
    assert len(subs) == len(ref["levels"]) == bcg[column].nunique()
    headers = [t.get_text() for t in by_gid(fig, "group-header")]
    assert [h.split(" (")[0] for h in headers] == ref["levels"]  # sorted, as R factor levels
    for j, f in enumerate(ref["fits"]):
        np.testing.assert_allclose(diamond_x(fig, f"subgroup-diamond-{j}"), [f["ci_lb"], f["estimate"], f["ci_ub"]],
                                   atol=ITER_TOL)
    footer = one(fig, "footer").get_text()
    p_text = "p < 0.001" if ref["p"] < 0.001 else f"p = {ref['p']:.3f}"
    assert f"Q = {ref['Q']:.2f}, df = {ref['df']}, {p_text}" in footer
    # each study row sits inside its group block: every study still drawn exactly once
    assert len(one(fig, "study-markers").get_offsets()) == fit.k
    # subgroup weight cells are the groups' shares of the overall weights
    w = fit.weights()
    for j, lv in enumerate(ref["levels"]):
        assert cell(fig, "weight", f"sub-{j}") == round(float(w[bcg[column] == lv].sum()), 2)


@pytest.mark.metafor
def test_forest_subgroup_with_a_single_study_has_no_diamond(fit, bcg) -> None:
    ref = REF["sub_lat3"]
    fig = build_forest_figure(fit, subgroups=bcg["lat3"].tolist(), sort="estimate")
    subs = [a for a in fig.findobj(Polygon) if str(a.get_gid()).startswith("subgroup-diamond-")]
    assert len(subs) == 2
    gids = sorted(a.get_gid() for a in subs)
    for gid, f in zip(gids, ref["fits"]):  # levels high, low, single: diamonds 0 and 1
        np.testing.assert_allclose(diamond_x(fig, gid), [f["ci_lb"], f["estimate"], f["ci_ub"]], atol=ITER_TOL)
    footer = one(fig, "footer").get_text()
    assert "one study left out" in footer and f"Q = {ref['Q']:.2f}, df = 1" in footer
    assert any("one study" in t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


@pytest.mark.metafor
def test_forest_meta_regression_draws_fitted_values(bcg) -> None:
    for key, test in (("fitted", "z"), ("fitted_knha", "knha")):
        ref = REF[key]
        reg = rma(bcg["yi"], bcg["vi"], mods=bcg[["ablat"]], test=test, labels=bcg["slab"].tolist())
        fig = build_forest_figure(reg)
        assert not by_gid(fig, "pooled-diamond")
        for i in range(reg.k):
            np.testing.assert_allclose(diamond_x(fig, f"fitted-{i}"),
                                       [ref["ci_lb"][i], ref["pred"][i], ref["ci_ub"][i]], atol=ITER_TOL)
        assert "QM(1)" in one(fig, "footer").get_text() or "F(1, 11)" in one(fig, "footer").get_text()
    with pytest.raises(AnalysisError, match="without moderators"):
        build_forest_figure(reg, subgroups=bcg["alloc"].tolist())


def test_forest_sorting_height_and_bad_input(fit) -> None:
    fig = build_forest_figure(fit, sort="estimate")
    xy = one(fig, "study-markers").get_offsets()
    top_to_bottom = xy[np.argsort(-xy[:, 1]), 0]
    np.testing.assert_array_equal(top_to_bottom, np.sort(REF["yi"]))
    big = rma(np.tile(REF["yi"], 2), np.tile(REF["vi"], 2))
    h_small, h_big = fig.get_size_inches()[1], build_forest_figure(big).get_size_inches()[1]
    assert h_big > h_small + 13 * 0.2  # grows by about a row height per study
    with pytest.raises(AnalysisError, match="sort"):
        build_forest_figure(fit, sort="year")
    with pytest.raises(AnalysisError, match="subgroups has 3 values"):
        build_forest_figure(fit, subgroups=["a", "b", "c"])
    with pytest.raises(AnalysisError, match="transform"):
        build_forest_figure(fit, transform="log")


# ---------------------------------------------------------------------------------------------------
# Funnel plot


@pytest.mark.metafor
def test_funnel_points_contours_and_pseudo_ci(fit) -> None:
    fig = build_funnel_figure(fit)
    xy = one(fig, "studies").get_offsets()
    np.testing.assert_allclose(xy[:, 0], REF["yi"], atol=CLOSED_TOL)
    np.testing.assert_allclose(xy[:, 1], np.sqrt(REF["vi"]), atol=CLOSED_TOL)
    ax = one(fig, "studies").axes
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0.0  # standard error axis points down
    assert ax.get_ylim()[0] >= max(np.sqrt(REF["vi"]))
    for lv, z in zip((0.9, 0.95, 0.99), REF["funnel_contour_z"]):
        tri = one(fig, f"contour-{lv:g}").get_xy()
        assert tuple(tri[0]) == (0.0, 0.0)  # centred on 0 (refline = 0)
        assert tri[2, 0] / tri[2, 1] == pytest.approx(z, abs=CLOSED_TOL)
        assert tri[1, 0] / tri[1, 1] == pytest.approx(-z, abs=CLOSED_TOL)
    x, y = one(fig, "pseudo-ci").get_data()
    assert x[1] == pytest.approx(REF["reml"]["estimate"], abs=ITER_TOL) and y[1] == 0.0
    assert (x[2] - x[1]) / y[2] == pytest.approx(1.959963984540054, abs=CLOSED_TOL)
    assert not by_gid(fig, "filled-studies")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:4] == ["p > 0.10", "0.05 < p \u2264 0.10", "0.01 < p \u2264 0.05", "p \u2264 0.01"]


@pytest.mark.metafor
def test_funnel_trimfill_studies_are_open_circles(fit, tmp_path) -> None:
    ref = REF["trimfill"]
    tf = trimfill(fit)
    assert tf.k0 == ref["k0"] == 1
    fig = build_funnel_figure(fit, filled=(tf.filled_yi, tf.filled_vi), filled_estimate=tf.estimate)
    filled = one(fig, "filled-studies")
    np.testing.assert_allclose(filled.get_offsets()[:, 0], ref["filled_yi"], atol=ITER_TOL)
    np.testing.assert_allclose(filled.get_offsets()[:, 1], np.sqrt(ref["filled_vi"]), atol=ITER_TOL)
    assert tuple(filled.get_facecolors()[0][:3]) == (1.0, 1.0, 1.0)  # open: white fill, black edge
    assert one(fig, "trimfill-estimate").get_xdata()[0] == pytest.approx(ref["estimate"], abs=ITER_TOL)
    out = funnel(fit, tmp_path / "tf.png", trimfill=tf)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_funnel_meta_regression_uses_residuals_and_rejects_bad_levels(bcg) -> None:
    reg = rma(bcg["yi"], bcg["vi"], mods=bcg[["ablat"]])
    fig = build_funnel_figure(reg)
    resid = reg.yi - reg.X @ reg.beta
    np.testing.assert_allclose(one(fig, "studies").get_offsets()[:, 0], resid, atol=CLOSED_TOL)
    assert one(fig, "studies").axes.get_xlabel() == "Residual value"
    with pytest.raises(AnalysisError, match="between 0 and 100"):
        build_funnel_figure(reg, contours=(0.95, 150))


# ---------------------------------------------------------------------------------------------------
# Leave-one-out plot


@pytest.mark.metafor
def test_leave1out_plot_matches_metafor(fit) -> None:
    ref = REF["leave1out"]
    fig = build_leave1out_figure(fit)
    xy = one(fig, "loo-markers").get_offsets()
    np.testing.assert_allclose(xy[:, 0], ref["estimate"], atol=ITER_TOL)
    segs = np.array(one(fig, "loo-ci").get_segments())
    np.testing.assert_allclose(segs[:, 0, 0], ref["ci_lb"], atol=ITER_TOL)
    np.testing.assert_allclose(segs[:, 1, 0], ref["ci_ub"], atol=ITER_TOL)
    assert one(fig, "full-estimate").get_xdata()[0] == pytest.approx(REF["reml"]["estimate"], abs=ITER_TOL)
    kh = rma(REF["yi"], REF["vi"], method="DL", test="knha")
    segs = np.array(one(build_leave1out_figure(kh), "loo-ci").get_segments())
    np.testing.assert_allclose(segs[:, 0, 0], REF["leave1out_knha"]["ci_lb"], atol=ITER_TOL)


def test_leave1out_plot_shows_failed_refits_instead_of_numbers(fit) -> None:
    loo = {k: np.array(REF["leave1out"][k]) for k in ("estimate", "ci_lb", "ci_ub")}
    loo["estimate"][2] = np.nan
    fig = build_leave1out_figure(fit, loo=loo)
    assert len(one(fig, "loo-markers").get_offsets()) == fit.k - 1
    assert one(fig, "loo-text-2").get_text() == "refit failed"
    with pytest.raises(AnalysisError, match="12 rows"):
        build_leave1out_figure(fit, loo={k: v[:-1] for k, v in loo.items()})


# ---------------------------------------------------------------------------------------------------
# Files, formats and resources


def test_files_are_valid_png_svg_pdf(fit, bcg, tmp_path) -> None:
    png = forest(fit, tmp_path / "f.png", subgroups=bcg["alloc"].tolist(), transform=np.exp, title="BCG")
    assert png == tmp_path / "f.png" and png.read_bytes()[:8] == PNG_MAGIC
    svg = funnel(fit, tmp_path / "u.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    ids = {el.get("id") for el in root.iter()}
    assert "studies" in ids and "contour-0.95" in ids
    pdf = leave1out_plot(fit, tmp_path / "l.PDF")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # the same plot twice gives the same bytes (no timestamps in the file)
    again = funnel(fit, tmp_path / "u2.svg")
    assert again.read_bytes() == svg.read_bytes()
    with pytest.raises(AnalysisError, match=r"must end in \.png"):
        forest(fit, tmp_path / "f.jpg")
    with pytest.raises(AnalysisError, match="does not exist"):
        forest(fit, tmp_path / "nowhere" / "f.png")


def test_no_figures_left_open(fit, tmp_path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for i in range(3):
        forest(fit, tmp_path / f"f{i}.png")
        funnel(fit, tmp_path / f"u{i}.svg")
    assert plt.get_fignums() == before
    ref = weakref.ref(build_forest_figure(fit))
    gc.collect()
    assert ref() is None  # nothing keeps a built figure alive


# ---------------------------------------------------------------------------------------------------
# CLI


def test_cli_forest_and_funnel(tmp_path) -> None:
    from metasift.cli import app

    runner = CliRunner()
    out = tmp_path / "forest.png"
    res = runner.invoke(app, ["forest", str(DATA), "--yi", "yi", "--vi", "vi", "--slab", "slab",
                              "--subgroup", "alloc", "--transform", "exp", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"path": str(out), "k": 13}
    assert out.read_bytes()[:8] == PNG_MAGIC
    svg = tmp_path / "funnel.svg"
    res = runner.invoke(app, ["funnel", str(DATA), "--yi", "yi", "--vi", "vi", "--trimfill", "--out", str(svg)])
    assert res.exit_code == 0, res.output
    assert str(svg) in res.stderr and "1 study imputed on the right side" in res.stderr
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert "filled-studies" in svg.read_text()


def test_cli_drops_missing_rows_and_reports_bad_columns(tmp_path, cli) -> None:
    df = pd.read_csv(DATA)
    df.loc[3, "vi"] = np.nan
    csv = tmp_path / "gap.csv"
    df.to_csv(csv, index=False)
    res = cli("forest", csv, "--yi", "yi", "--vi", "vi", "--slab", "slab", "--out", tmp_path / "p.svg", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json() == {"path": str(tmp_path / "p.svg"), "k": 12}
    assert "Hart & Sutherland, 1977" in res.stderr
    res = cli("funnel", csv, "--yi", "effect", "--vi", "vi", "--out", tmp_path / "p.png")
    assert res.exit_code == 5 and "no column 'effect'" in res.stderr and "yi, vi" in res.stderr
    res = cli("forest", csv, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "p.gif")
    assert res.exit_code == 5 and ".png" in res.stderr
