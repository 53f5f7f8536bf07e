"""Every model the demo's report shows, on the bundled example's known numbers (17 trials, 48 effect sizes in
three outcome domains), against metafor + clubSandwich: tests/reference/example.R wrote example.json.

The functions called here are the ones the report calls (``analysis.multilevel``, ``rve``, ``dependence``,
``metareg``, ``bias``); tests/test_report_moderators.py checks that the report shows these same numbers.
Closed-form quantities to 1e-9, REML fits to 1e-6 (measured: at most 6e-8, the subgroup models)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from examples.demo import EXAMPLE, known_effects
from metasift.analysis import rma
from metasift.analysis.bias import egger_multilevel, fsn, ranktest, regtest, trimfill
from metasift.analysis.dependence import aggregate_cs, aggregated_rma
from metasift.analysis.metareg import leave_one_study_out, metareg, subgroups
from metasift.analysis.multilevel import rma_mv
from metasift.analysis.rve import robust

REF = json.loads((Path(__file__).parent / "reference" / "example.json").read_text())
EXACT, ITER = 1e-9, 1e-6
MODERATORS = ["female_pct > 70", "guidance", "control_type"]


@pytest.fixture(scope="module")
def known() -> dict:
    yi, vi, trial, outcome = known_effects()
    with open(EXAMPLE / "trials.csv", encoding="utf-8") as fh:
        trials = {t["trial_id"]: t for t in csv.DictReader(fh)}
    fields = pd.DataFrame({"female_pct": [float(trials[t]["female_pct"]) for t in trial],
                           "guidance": [trials[t]["guidance"] for t in trial],
                           "control_type": [trials[t]["control_type"] for t in trial]})
    return {"yi": yi, "vi": vi, "trial": trial, "outcome": outcome, "es": [str(i) for i in range(len(yi))],
            "fields": fields}


def test_the_example_is_shaped_like_the_seed_review(known: dict) -> None:
    assert (REF["studies"], REF["k"]) == (len(set(known["trial"])), len(known["yi"])) == (17, 48)
    assert sorted(set(known["outcome"])) == ["anxiety", "depression", "stress"]
    assert known["trial"] == REF["trial_id"]
    assert np.abs(known["yi"] - REF["yi"]).max() < EXACT and np.abs(known["vi"] - REF["vi"]).max() < EXACT


def test_the_model_treating_every_effect_size_as_independent_matches_rma(known: dict) -> None:
    z = rma(known["yi"], known["vi"], method="REML")
    kh = rma(known["yi"], known["vi"], method="REML", test="knha")
    ref = REF["naive"]
    assert [float(z.beta[0]), float(z.se[0]), z.tau2] == pytest.approx([ref["estimate"], ref["se"], ref["tau2"]],
                                                                      abs=ITER)
    assert [float(kh.se[0]), float(kh.ci_lb[0]), float(kh.ci_ub[0])] == pytest.approx(
        [ref["knha_se"], ref["knha_ci_lb"], ref["knha_ci_ub"]], abs=ITER)


def test_the_primary_three_level_cr2_model_matches_rma_mv_and_coef_test(known: dict) -> None:
    ml = rma_mv(known["yi"], known["vi"], known["trial"], known["es"], method="REML")
    rb = robust(ml, known["trial"], type="CR2")
    ref = REF["primary"]
    ours = [rb.beta[0], rb.se[0], rb.df[0], rb.pval[0], rb.ci_lb[0], rb.ci_ub[0], ml.se[0], *ml.sigma2,
            rb.pi_lb, rb.pi_ub, ml.pi_lb, ml.pi_ub]
    theirs = [ref["estimate"], ref["se"], ref["df"], ref["p"], ref["ci_lb"], ref["ci_ub"], ref["model_se"],
              *ref["sigma2"], ref["robust_pi_lb"], ref["robust_pi_ub"], ref["pi_lb"], ref["pi_ub"]]
    assert [float(x) for x in ours] == pytest.approx(theirs, abs=ITER)
    assert np.abs(np.asarray(ml.weights()) - ref["weights"]).max() < ITER


@pytest.mark.parametrize("rho", ["0.2", "0.4", "0.6", "0.8"])
def test_the_aggregated_sensitivity_model_matches_aggregate_escalc_and_rma(known: dict, rho: str) -> None:
    agg = aggregate_cs(known["yi"], known["vi"], known["trial"], float(rho))
    ref = REF["aggregated"][rho]
    assert np.abs(np.asarray(agg.yi) - ref["yi"]).max() < EXACT and np.abs(np.asarray(agg.vi) - ref["vi"]).max() < EXACT
    fit = aggregated_rma(known["yi"], known["vi"], known["trial"], float(rho), method="REML", test="knha")
    assert [float(fit.beta[0]), float(fit.se[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0]), fit.tau2] == \
        pytest.approx([ref["estimate"], ref["se"], ref["ci_lb"], ref["ci_ub"], ref["tau2"]], abs=ITER)
    assert fit.k == ref["k"] == 17


def test_the_meta_regression_of_the_demos_moderators_matches_coef_test_and_wald_test(known: dict) -> None:
    mr = metareg(known["yi"], known["vi"], known["trial"], known["es"], known["fields"], MODERATORS)
    ref = REF["metareg"]
    assert [c.name for c in mr.coefficients] == ["intrcpt", "female_pct > 70", "guidance = self-guided",
                                                 "control_type = care as usual", "control_type = waitlist"]
    for key, attr in (("beta", "estimate"), ("se", "se"), ("df", "df"), ("p", "p"), ("ci_lb", "ci_lb"),
                      ("ci_ub", "ci_ub")):
        assert [getattr(c, attr) for c in mr.coefficients] == pytest.approx(ref[key], abs=ITER), key
    for name in MODERATORS:
        test, w = mr.test(name), ref["wald"][name]
        assert test.df_num == w["df_num"]
        assert [test.F, test.df_denom, test.p] == pytest.approx([w["Fstat"], w["df_denom"], w["p"]], abs=ITER), name


def test_subgroups_by_outcome_domain_match_a_three_level_cr2_model_per_domain(known: dict) -> None:
    table = subgroups(known["yi"], known["vi"], known["trial"], known["es"], known["outcome"], variable="outcome")
    for row in table.rows:
        ref = REF["subgroups"][row.level]
        assert (row.k, row.n_studies, row.model) == (ref["k"], ref["studies"], "three-level, CR2")
        assert [row.estimate, row.se, row.df, row.p, row.ci_lb, row.ci_ub] == pytest.approx(
            [ref["estimate"], ref["se"], ref["df"], ref["p"], ref["ci_lb"], ref["ci_ub"]], abs=ITER), row.level
    w = REF["subgroup_test"]
    assert [table.test.F, table.test.df_denom, table.test.p] == pytest.approx([w["Fstat"], w["df_denom"], w["p"]],
                                                                             abs=ITER)


def test_the_dependence_aware_bias_tests_match_r(known: dict) -> None:
    eg = egger_multilevel(known["yi"], known["vi"], known["trial"], known["es"])
    ref = REF["egger_multilevel"]
    assert [eg.pet_estimate, eg.slope, eg.slope_se, eg.df, eg.p] == pytest.approx(
        [ref["beta"][0], ref["beta"][1], ref["se"][1], ref["df"][1], ref["p"][1]], abs=ITER)
    fit = aggregated_rma(known["yi"], known["vi"], known["trial"], 0.6, method="REML", test="knha")
    c = REF["classic"]
    r = regtest(fit)
    assert [r.stat, r.p, r.df] == pytest.approx([c["egger_t"], c["egger_p"], c["egger_df"]], abs=ITER)
    rk = ranktest(fit)
    assert [rk.tau, rk.p] == pytest.approx([c["rank_tau"], c["rank_p"]], abs=ITER)
    tf = trimfill(aggregated_rma(known["yi"], known["vi"], known["trial"], 0.6, method="REML", test="z"))
    assert (tf.k0, tf.side) == (c["trimfill_k0"], c["trimfill_side"])
    assert [tf.estimate, tf.se] == pytest.approx([c["trimfill_estimate"], c["trimfill_se"]], abs=ITER)
    assert fsn(fit).rosenthal == c["fsn_rosenthal"]


def test_leave_one_trial_out_of_the_primary_model_matches_r(known: dict) -> None:
    loso = leave_one_study_out(known["yi"], known["vi"], known["trial"], known["es"])
    assert len(loso.rows) == 17
    for row in loso.rows:
        ref, p = REF["leave_one_study_out"][row.study], row.pooled
        assert [p.estimate, p.se, p.df, p.ci_lb, p.ci_ub] == pytest.approx(
            [ref["estimate"], ref["se"], ref["df"], ref["ci_lb"], ref["ci_ub"]], abs=ITER), row.study
