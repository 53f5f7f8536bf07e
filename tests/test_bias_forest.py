"""Small-study tests that respect dependence and the forest plots' numbers (issue #13). Reference values come
from tests/reference/bias_forest.R (R 4, metafor 3.8-1, clubSandwich 0.5.8) on
tests/reference/data/metareg_effects.csv; R never runs here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import rma, rma_mv
from metasift.analysis.bias import egger_multilevel, ranktest, regtest, trimfill
from metasift.analysis.dependence import aggregated_rma
from metasift.analysis.plots import PooledDiamond, build_forest_figure, build_grouped_forest_figure
from metasift.config import AnalysisConfig
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "bias_forest.json").read_text())
DAT = pd.read_csv(REF_DIR / "data" / "metareg_effects.csv").sort_values(["study", "es"]).reset_index(drop=True)
# The three-level fits rest on an iterative REML fit: worst difference seen 6.5e-8 (the Satterthwaite df of
# the Egger slope), from the two optimisers stopping at slightly different variance components.
ITER = 1e-6
# The aggregated random-effects model against R fits with threshold 1e-12: worst seen 5.3e-15 (rounding).
RMA_TOL = 1e-9


def _aggregated():
    return aggregated_rma(DAT.yi.to_numpy(), DAT.vi.to_numpy(), list(DAT.study), 0.6, method="REML", test="knha")


def _text(fig, gid: str) -> str:
    (found,) = [a for a in fig.findobj() if a.get_gid() == gid]
    return found.get_text()


def test_the_multilevel_egger_test_matches_rma_mv_with_sqrt_vi_and_clubsandwich_cr2() -> None:
    ref = REF["egger_multilevel"]
    eg = egger_multilevel(DAT.yi, DAT.vi, DAT.study, DAT.es)
    assert eg.model == "three-level" and eg.rve == "CR2"
    assert (eg.k, eg.n_studies) == (len(DAT), DAT.study.nunique())
    np.testing.assert_allclose([eg.pet_estimate, eg.slope], ref["beta"], rtol=0, atol=ITER)
    np.testing.assert_allclose([eg.pet_se, eg.slope_se], ref["se"], rtol=0, atol=ITER)
    np.testing.assert_allclose([eg.pet_df, eg.df], ref["df"], rtol=0, atol=ITER)
    np.testing.assert_allclose([eg.pet_p, eg.p], ref["p"], rtol=0, atol=ITER)
    assert eg.t == pytest.approx(ref["tstat"][1], abs=ITER)
    assert (eg.pet_ci_lb, eg.pet_ci_ub) == (pytest.approx(ref["ci_lb"][0], abs=ITER),
                                            pytest.approx(ref["ci_ub"][0], abs=ITER))


def test_the_multilevel_egger_test_with_one_effect_per_study_is_the_random_effects_model() -> None:
    one = DAT[DAT.es == 1]
    eg = egger_multilevel(one.yi, one.vi, one.study, one.es)
    assert eg.model == "random-effects" and eg.k == one.study.nunique()


def test_the_multilevel_egger_test_needs_three_studies() -> None:
    two = DAT[DAT.study.isin(["S01", "S02"])]
    with pytest.raises(AnalysisError, match="at least 3 studies"):
        egger_multilevel(two.yi, two.vi, two.study, two.es)


def test_the_classic_tests_on_the_aggregated_effects_match_metafor() -> None:
    ref = REF["aggregated"]
    agg = _aggregated()
    np.testing.assert_allclose(agg.yi, ref["yi"], rtol=0, atol=RMA_TOL)
    eg = regtest(agg)
    assert (eg.stat, eg.p, eg.df) == (pytest.approx(ref["egger_stat"], abs=RMA_TOL),
                                      pytest.approx(ref["egger_p"], abs=RMA_TOL), ref["egger_df"])
    rk = ranktest(agg)
    assert (rk.tau, rk.p) == (pytest.approx(ref["rank_tau"], abs=RMA_TOL), pytest.approx(ref["rank_p"], abs=RMA_TOL))
    tf = trimfill(rma(agg.yi, agg.vi, method="REML"))
    assert (tf.k0, tf.side) == (ref["trimfill_k0"], ref["trimfill_side"])
    assert tf.estimate == pytest.approx(ref["trimfill_estimate"], abs=RMA_TOL)


def test_three_level_weights_match_metafor_and_sum_to_100() -> None:
    fit = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es)
    w = fit.weights()
    np.testing.assert_allclose(w, REF["multilevel"]["weights"], rtol=0, atol=ITER)
    assert w.sum() == pytest.approx(100.0, abs=1e-12)


def test_prediction_intervals_match_metafor_predict() -> None:
    fit = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es)
    ml = REF["multilevel"]
    assert (fit.pi_lb, fit.pi_ub) == (pytest.approx(ml["pi_lb"], abs=ITER), pytest.approx(ml["pi_ub"], abs=ITER))
    agg, ref = _aggregated(), REF["aggregated"]
    assert (agg.pi_lb, agg.pi_ub) == (pytest.approx(ref["pi_lb"], abs=RMA_TOL),
                                      pytest.approx(ref["pi_ub"], abs=RMA_TOL))
    np.testing.assert_allclose(agg.weights(), ref["weights"], rtol=0, atol=RMA_TOL)


def test_the_grouped_forest_plot_shows_each_effect_sizes_weight_in_the_model_and_the_prediction_interval() -> None:
    fit = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es)
    pooled = PooledDiamond("Three-level model", float(fit.beta[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0]),
                           pi=(fit.pi_lb, fit.pi_ub))
    fig = build_grouped_forest_figure(DAT.yi, DAT.vi, DAT.outcome, DAT.study, pooled, weights=fit.weights())
    shown = [float(_text(fig, f"weight-{i}").rstrip("%")) for i in range(len(DAT))]
    np.testing.assert_allclose(shown, np.round(fit.weights(), 2))
    assert _text(fig, "weight-pooled") == "100.00%"
    (pi,) = [a for a in fig.findobj() if a.get_gid() == "pi"]
    np.testing.assert_allclose(pi.get_xdata(), [fit.pi_lb, fit.pi_ub])
    assert _text(fig, "pi-text-pooled") == f"95% PI [{fit.pi_lb:.2f}, {fit.pi_ub:.2f}]".replace("-", "\u2212")


def test_the_grouped_forest_plot_without_weights_has_no_weight_column() -> None:
    pooled = PooledDiamond("Three-level model", 0.3, 0.1, 0.5)
    fig = build_grouped_forest_figure(DAT.yi, DAT.vi, DAT.outcome, DAT.study, pooled)
    assert not [a for a in fig.findobj() if str(a.get_gid()).startswith("weight-")]


def test_forest_plots_say_under_the_axis_which_side_favours_whom() -> None:
    agg = _aggregated()
    fig = build_forest_figure(agg, favours=["intervention", "control"])
    assert _text(fig, "favours-left") == "\u2190 favours intervention"
    assert _text(fig, "favours-right") == "favours control \u2192"
    fig = build_grouped_forest_figure(DAT.yi, DAT.vi, DAT.outcome, DAT.study, PooledDiamond("m", 0.3, 0.1, 0.5),
                                      favours=["control", "intervention"])
    assert _text(fig, "favours-left") == "\u2190 favours control"
    assert not [a for a in build_forest_figure(agg).findobj() if str(a.get_gid()).startswith("favours")]


@pytest.mark.parametrize("bad", [["control"], ["control", "intervention", "other"], ["", "control"],
                                 ["Control", "control"]])
def test_favours_needs_two_different_labels(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="favours"):
        AnalysisConfig(favours=bad)


def test_the_starter_protocol_says_negative_g_favours_the_intervention() -> None:
    import tomllib
    from importlib.resources import files

    data = tomllib.loads(files("metasift.data").joinpath("example_review.toml").read_text(encoding="utf-8"))
    assert AnalysisConfig(**data["analysis"]).favours == ["intervention", "control"]
