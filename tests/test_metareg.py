"""Meta-regression and subgroups on dependent effect sizes (issue #13). Reference values come from
tests/reference/metareg.R (R 4, metafor 3.8-1, clubSandwich 0.5.8) on tests/reference/data/metareg_*.csv;
R never runs here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import rma
from metasift.analysis.metareg import design, leave_one_study_out, metareg, subgroups
from metasift.errors import AnalysisError
from metasift.moderators import parse_moderator

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "metareg.json").read_text())
EFFECTS = pd.read_csv(REF_DIR / "data" / "metareg_effects.csv")
STUDIES = pd.read_csv(REF_DIR / "data" / "metareg_studies.csv")
DAT = EFFECTS.merge(STUDIES, on="study")
# Everything rests on an iterative REML fit; the worst difference seen is 1.4e-7 (the HTZ denominator df of
# the threshold model), from the two optimisers stopping at slightly different variance components.
ITER = 1e-6

CASES = {
    "numeric_categorical": (["female_pct", "guidance"], DAT, {"guidance": "guidance", "female_pct": "female_pct"}),
    "threshold": (["female_pct > 70", "control_type"], DAT, {"control_type": "control_type"}),
    "independent": (["female_pct", "guidance"], DAT[DAT.es == 1], {"guidance": "guidance"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_robust_coefficients_match_metafor_and_clubsandwich(case: str) -> None:
    mods, data, _ = CASES[case]
    ref = REF[case]
    fit = metareg(data.yi, data.vi, data.study, data.es, data, mods)
    assert len(fit.coefficients) == len(ref["names"])
    for what, key in (("estimate", "beta"), ("se", "se"), ("t", "tstat"), ("df", "df"), ("p", "p")):
        ours = [getattr(c, what) for c in fit.coefficients]
        np.testing.assert_allclose(ours, ref[key], rtol=0, atol=ITER, err_msg=f"{case}: {what}")
    if ref["sigma2"] is not None:
        assert fit.model == "three-level"
        np.testing.assert_allclose(fit.sigma2, ref["sigma2"], rtol=0, atol=ITER)
        assert min(fit.sigma2) > 0.01      # both levels away from the boundary: a real test of the model
    else:
        assert fit.model == "random-effects"
        assert fit.tau2 == pytest.approx(ref["tau2"], abs=ITER)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_moderator_gets_the_robust_htz_wald_test_of_clubsandwich(case: str) -> None:
    mods, data, tests = CASES[case]
    fit = metareg(data.yi, data.vi, data.study, data.es, data, mods)
    for ours_name, ref_name in tests.items():
        ours, ref = fit.test(ours_name), REF[case]["wald"][ref_name]
        assert ours.F == pytest.approx(ref["Fstat"], abs=ITER)
        assert ours.df_num == ref["df_num"]
        assert ours.df_denom == pytest.approx(ref["df_denom"], abs=ITER)
        assert ours.p == pytest.approx(ref["p"], abs=ITER)


def test_a_single_column_wald_test_is_the_coefficients_satterthwaite_t_test() -> None:
    fit = metareg(DAT.yi, DAT.vi, DAT.study, DAT.es, DAT, ["female_pct > 70", "control_type"])
    coef = next(c for c in fit.coefficients if c.moderator == "control_type")
    test = fit.test("control_type")
    assert test.F == pytest.approx(coef.t**2, rel=1e-9)
    assert test.df_denom == pytest.approx(coef.df, rel=1e-9)
    assert test.p == pytest.approx(coef.p, rel=1e-9)


def test_subgroups_by_outcome_match_separate_models_in_r() -> None:
    table = subgroups(DAT.yi, DAT.vi, DAT.study, DAT.es, DAT.outcome, variable="outcome")
    assert [r.level for r in table.rows] == sorted(REF["subgroups"])
    for row in table.rows:
        ref = REF["subgroups"][row.level]
        assert (row.k, row.n_studies) == (ref["k"], ref["studies"])
        assert row.model.startswith("three-level") == (ref["model"] == "three-level CR2")
        for what in ("estimate", "se", "df", "p", "ci_lb", "ci_ub"):
            assert getattr(row, what) == pytest.approx(ref[what], abs=ITER), f"{row.level}: {what}"


def test_the_test_of_subgroup_differences_is_the_robust_wald_test_of_the_grouping() -> None:
    table = subgroups(DAT.yi, DAT.vi, DAT.study, DAT.es, DAT.outcome, variable="outcome")
    ref = REF["subgroup_test"]["wald"]["outcome"]
    assert table.test is not None and table.test.df_num == 2
    assert table.test.F == pytest.approx(ref["Fstat"], abs=ITER)
    assert table.test.df_denom == pytest.approx(ref["df_denom"], abs=ITER)
    assert table.test.p == pytest.approx(ref["p"], abs=ITER)
    assert "three-level" in table.test_model


def test_a_threshold_moderator_is_a_zero_one_indicator_named_as_written() -> None:
    mods, terms = design(DAT, ["female_pct>70"])
    assert terms[0].kind == "indicator" and terms[0].columns == ["female_pct > 70"]
    np.testing.assert_array_equal(mods["female_pct > 70"], (DAT.female_pct > 70).astype(float))


def test_a_categorical_moderator_is_coded_against_its_first_level_in_sorted_order() -> None:
    _, terms = design(DAT, ["guidance"])
    assert terms[0].kind == "categorical"
    assert terms[0].reference == "automated"
    assert terms[0].columns == ["guidance = human", "guidance = none"]


def test_text_compared_with_equals_is_an_indicator_of_that_level() -> None:
    mods, _ = design(DAT, ['control_type == "waitlist"'])
    np.testing.assert_array_equal(mods['control_type == "waitlist"'], (DAT.control_type == "waitlist").astype(float))


def test_effect_sizes_without_a_moderator_value_are_left_out_and_named() -> None:
    data = DAT.copy()
    data.loc[data.study == "S03", "female_pct"] = np.nan
    fit = metareg(data.yi, data.vi, data.study, data.es, data, ["female_pct"])
    assert fit.omitted == ["S03"]
    assert fit.k == len(DAT) - int((DAT.study == "S03").sum())
    assert any("S03" in w for w in fit.warnings)


def test_an_unknown_field_is_an_error_naming_it_and_the_known_fields() -> None:
    with pytest.raises(AnalysisError, match=r"no field 'age_mean'.*known: .*female_pct"):
        metareg(DAT.yi, DAT.vi, DAT.study, DAT.es, DAT, ["age_mean"])


def test_too_few_studies_for_the_coefficients_is_an_error() -> None:
    few = DAT[DAT.study.isin(["S01", "S02", "S03"])]
    with pytest.raises(AnalysisError, match="too few"):
        metareg(few.yi, few.vi, few.study, few.es, few, ["female_pct", "guidance"])


@pytest.mark.parametrize("text", ["female_pct >", "female pct", "guidance > 'x'", "female_pct > seventy", ""])
def test_malformed_moderator_expressions_are_errors(text: str) -> None:
    with pytest.raises(AnalysisError, match="moderator"):
        parse_moderator(text)


def test_a_level_with_one_study_is_listed_but_not_pooled() -> None:
    group = DAT.outcome.where(DAT.study != "S01", "sleep")  # S01's effect sizes alone measure sleep
    table = subgroups(DAT.yi, DAT.vi, DAT.study, DAT.es, group, variable="outcome")
    sleep = table.row("sleep")
    assert sleep.n_studies == 1 and sleep.estimate is None and "one study" in sleep.note
    assert table.test is not None


def test_leave_one_study_out_refits_the_three_level_cr2_model_without_each_study_as_r() -> None:
    loso = leave_one_study_out(DAT.yi, DAT.vi, DAT.study, DAT.es)
    ref = REF["leave_one_study_out"]
    assert [r.study for r in loso.rows] == sorted(ref)
    for row in loso.rows:
        r, pooled = ref[row.study], row.pooled
        assert (pooled.k, pooled.n_studies) == (r["k"], r["studies"])
        assert pooled.model == "three-level, CR2"
        for what in ("estimate", "se", "df", "p", "ci_lb", "ci_ub"):
            assert getattr(pooled, what) == pytest.approx(r[what], abs=ITER), f"without {row.study}: {what}"
    np.testing.assert_allclose(loso.estimate, [ref[s]["estimate"] for s in sorted(ref)], rtol=0, atol=ITER)


def test_leave_one_study_out_of_one_effect_per_study_is_the_random_effects_model_refitted() -> None:
    one = DAT[DAT.es == 1]
    loso = leave_one_study_out(one.yi, one.vi, one.study, one.es)
    first = loso.rows[0]
    rest = one[one.study != first.study]
    fit = rma(rest.yi, rest.vi, method="REML", test="knha")
    assert first.pooled.estimate == pytest.approx(float(fit.beta[0]), abs=1e-12)
    assert first.pooled.ci_ub == pytest.approx(float(fit.ci_ub[0]), abs=1e-12)


def _artist(fig, gid: str):
    (found,) = [a for a in fig.findobj() if a.get_gid() == gid]
    return found


def test_the_grouped_forest_plot_draws_every_effect_size_under_its_study_and_one_diamond() -> None:
    from metasift.analysis import rma_mv
    from metasift.analysis.plots import PooledDiamond, build_grouped_forest_figure
    from metasift.analysis.rve import robust

    primary = robust(rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es), DAT.study)
    pooled = PooledDiamond("Three-level model, CR2", float(primary.beta[0]), float(primary.ci_lb[0]),
                           float(primary.ci_ub[0]))
    fig = build_grouped_forest_figure(DAT.yi, DAT.vi, DAT.outcome, DAT.study, pooled)
    assert len(_artist(fig, "study-markers").get_offsets()) == len(DAT)
    headers = [a.get_text() for a in fig.findobj() if a.get_gid() == "group-header"]
    assert headers[0] == "S01 (4 effect sizes)" and len(headers) == DAT.study.nunique()
    xy = _artist(fig, "pooled-diamond").get_xy()
    np.testing.assert_allclose([xy[0, 0], xy[1, 0], xy[2, 0]], [pooled.ci_lb, pooled.estimate, pooled.ci_ub])
    assert not [a for a in fig.findobj() if str(a.get_gid()).startswith("subgroup-diamond")]


def test_the_leave_one_study_out_figure_shows_each_refit_and_the_full_model() -> None:
    from metasift.analysis.plots import build_loso_figure

    loso = leave_one_study_out(DAT.yi, DAT.vi, DAT.study, DAT.es)
    fig = build_loso_figure(loso)
    segs = np.array(_artist(fig, "loo-ci").get_segments())
    np.testing.assert_allclose(segs[:, 0, 0], loso.ci_lb)
    np.testing.assert_allclose(segs[:, 1, 0], loso.ci_ub)
    assert _artist(fig, "full-estimate").get_xdata()[0] == pytest.approx(loso.full.estimate)
    assert _artist(fig, "loo-label-0").get_text() == "Omitting S01"


def test_subgroup_command_with_multilevel_gives_the_dependence_aware_table(cli) -> None:
    res = cli("subgroup", REF_DIR / "data" / "metareg_effects.csv", "--yi", "yi", "--vi", "vi", "--by", "outcome",
              "--multilevel", "study/es", "--test", "knha", "--json")
    assert res.exit_code == 0, res.stderr
    out = res.json()
    depression = next(r for r in out["rows"] if r["level"] == "depression")
    assert depression["estimate"] == pytest.approx(REF["subgroups"]["depression"]["estimate"], abs=ITER)
    assert out["test"]["F"] == pytest.approx(REF["subgroup_test"]["wald"]["outcome"]["Fstat"], abs=ITER)


def test_review_toml_rejects_a_malformed_moderator_naming_the_key(tmp_path: Path) -> None:
    from metasift.config import parse_protocol
    from metasift.errors import ConfigError

    text = (Path(__file__).resolve().parents[1] / "metasift" / "data" / "example_review.toml").read_text()
    assert 'subgroups = ["outcome"]' in text
    with pytest.raises(ConfigError, match=r"review.toml: analysis.moderators: moderator 'female_pct >'"):
        parse_protocol(text.replace("moderators = []", 'moderators = ["female_pct >"]'))
    with pytest.raises(ConfigError, match=r"analysis.subgroups: subgroup 'out come'"):
        parse_protocol(text.replace('subgroups = ["outcome"]', 'subgroups = ["out come"]'))
