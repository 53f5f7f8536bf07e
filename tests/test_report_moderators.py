"""The report's moderator analyses (issue #13): [analysis] moderators -> the meta-regression table, [analysis]
subgroups -> one subgroup table per variable, recomputed here from effects.csv and the study CSV through the
analysis functions directly, and checked against metafor + clubSandwich on the example's known numbers
(tests/reference/example.json, written by example.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from examples.demo import EXAMPLE
from metasift.analysis.metareg import metareg
from tests.helpers import MODERATORS, edit_protocol

R = json.loads((Path(__file__).parent / "reference" / "example.json").read_text())
ITER = 1e-6


@pytest.fixture(scope="module")
def with_moderators(reviewed: Path) -> Path:
    """The reviewed example (study fields imported, the demo's moderators named), reported as Markdown too."""
    from metasift.cli import main

    try:
        main(["report", "--format", "md", "--out", str(reviewed / "report-md"), "--project", str(reviewed)])
    except SystemExit as exc:
        assert not exc.code, f"metasift report --format md exited {exc.code}"
    return reviewed


def _effects(root: Path) -> pd.DataFrame:
    effects = pd.read_csv(root / "effects.csv")
    studies = pd.read_csv(EXAMPLE / "studies.csv")
    return effects.merge(studies, on="study", how="left")


def test_the_subgroups_by_outcome_domain_are_each_levels_own_model_as_in_r(reviewed: Path) -> None:
    data = json.loads((reviewed / "report" / "report.json").read_text())
    (table,) = data["moderators"]["subgroups"]
    effects = _effects(reviewed)
    assert table["variable"] == "outcome"
    assert [r["level"] for r in table["rows"]] == sorted(effects.outcome.unique()) == ["anxiety", "depression",
                                                                                       "stress"]
    for row in table["rows"]:
        sub = effects[effects.outcome == row["level"]]
        assert (row["k"], row["n_studies"]) == (len(sub), sub.study_id.nunique())
        ref = R["subgroups"][row["level"]]  # metafor rma.mv + clubSandwich CR2 on the known numbers
        assert (row["k"], row["n_studies"], row["model"]) == (ref["k"], ref["studies"], "three-level, CR2")
        assert [row["estimate"], row["se"], row["df"], row["ci_lb"], row["ci_ub"], row["p"]] == pytest.approx(
            [ref["estimate"], ref["se"], ref["df"], ref["ci_lb"], ref["ci_ub"], ref["p"]], abs=ITER)
        assert row["label"] == row["level"].capitalize()
    assert table["test"]["df_num"] == 2 and "three-level" in table["test_model"]
    assert [table["test"]["F"], table["test"]["df_denom"]] == pytest.approx(
        [R["subgroup_test"]["Fstat"], R["subgroup_test"]["df_denom"]], abs=ITER)
    # as the seed review prints them: "anxiety (ES = 0.33, n = 27)"
    assert table["summary"] == "; ".join(f"{r['label']} (ES = {r['estimate']:.2f}, n = {r['k']}, "
                                         f"{r['n_studies']} studies)" for r in table["rows"])


def test_the_reports_pooled_models_are_rs_on_the_example(reviewed: Path) -> None:
    models = {m["key"]: m for m in json.loads((reviewed / "report" / "report.json").read_text())["models"]}
    primary = models["rve"]
    assert primary["role"] == "primary" and "Three-level model (48 effect sizes in 17 studies" in primary["label"]
    c, ref = primary["coefficients"][0], R["primary"]
    assert [c["estimate"], c["se"], c["df"], c["ci_lb"], c["ci_ub"]] == pytest.approx(
        [ref["estimate"], ref["se"], ref["df"], ref["ci_lb"], ref["ci_ub"]], abs=ITER)
    assert primary["sigma2"] == pytest.approx(ref["sigma2"], abs=ITER)
    assert [primary["pi_lb"], primary["pi_ub"]] == pytest.approx([ref["robust_pi_lb"], ref["robust_pi_ub"]], abs=ITER)
    agg, ref = models["aggregated"], R["aggregated"]["0.6"]
    assert agg["role"] == "sensitivity" and agg["k"] == 17
    assert [agg["coefficients"][0]["estimate"], agg["coefficients"][0]["se"], agg["tau2"]] == pytest.approx(
        [ref["estimate"], ref["se"], ref["tau2"]], abs=ITER)
    for row in models["rho_sensitivity"]["rows"]:
        ref = R["aggregated"][f"{row['rho']:.1f}"]
        assert [row["estimate"], row["se"], row["ci_lb"], row["ci_ub"]] == pytest.approx(
            [ref["estimate"], ref["se"], ref["ci_lb"], ref["ci_ub"]], abs=ITER)
    naive = models["rma"]["coefficients"][0]
    assert [naive["estimate"], naive["se"]] == pytest.approx([R["naive"]["estimate"], R["naive"]["knha_se"]], abs=ITER)


def test_the_meta_regression_table_is_metareg_on_the_effects_and_the_study_fields(with_moderators: Path) -> None:
    data = json.loads((with_moderators / "report" / "report.json").read_text())
    mr = data["moderators"]["metareg"]
    effects = _effects(with_moderators)
    ours = metareg(effects.yi, effects.vi, effects.study_id, effects.es_id, effects, MODERATORS)
    assert [c["name"] for c in mr["coefficients"]] == ["intrcpt", "female_pct > 70", "guidance = self-guided",
                                                       "control_type = care as usual", "control_type = waitlist"]
    for shown, fit in zip(mr["coefficients"], ours.coefficients, strict=True):
        assert [shown["estimate"], shown["se"], shown["df"], shown["p"]] == pytest.approx(
            [fit.estimate, fit.se, fit.df, fit.p], abs=1e-12)
    ref = R["metareg"]  # metafor rma.mv + clubSandwich coef_test / Wald_test (HTZ) on the known numbers
    assert [c["estimate"] for c in mr["coefficients"]] == pytest.approx(ref["beta"], abs=ITER)
    assert [c["se"] for c in mr["coefficients"]] == pytest.approx(ref["se"], abs=ITER)
    assert [t["moderator"] for t in mr["tests"]] == MODERATORS
    for t in mr["tests"]:
        w = ref["wald"][t["moderator"]]
        assert [t["F"], t["df_num"], t["df_denom"], t["p"]] == pytest.approx(
            [w["Fstat"], w["df_num"], w["df_denom"], w["p"]], abs=ITER)
    assert "robust Wald test (HTZ)" in data["moderators"]["methods"]


def test_html_and_markdown_show_both_tables(with_moderators: Path) -> None:
    html = (with_moderators / "report" / "report.html").read_text()
    assert 'id="metareg-table"' in html and 'data-variable="outcome"' in html
    assert "guidance = self-guided" in html and "<td class=\"l\">Depression</td>" in html
    assert "Test of subgroup differences (robust Wald, HTZ" in html
    assert 'class="subgroup-summary"' in html and "Anxiety (ES = " in html
    assert 'alt="Forest plot by outcome: a pooled estimate per subgroup and overall"' in html
    assert (with_moderators / "report" / "forest_by_outcome.png").stat().st_size > 10_000
    md = (with_moderators / "report-md" / "report.md").read_text()
    assert "**Subgroups by outcome**" in md and "| guidance = self-guided |" in md and "Anxiety (ES = " in md


def test_a_moderator_naming_no_field_stops_the_report_naming_it(with_moderators: Path, cli) -> None:
    named = f"moderators = {json.dumps(MODERATORS)}"
    edit_protocol(with_moderators, **{named: 'moderators = ["age_mean"]'})
    try:
        res = cli("report", "--out", with_moderators / "report-bad", "--project", with_moderators)
    finally:
        edit_protocol(with_moderators, **{'moderators = ["age_mean"]': named})
    assert res.exit_code == 2
    assert "analysis.moderators: 'age_mean': no field 'age_mean'" in res.stderr
    assert "female_pct" in res.stderr and "metasift studies import" in res.stderr


def test_dependent_effects_get_leave_one_study_out_of_the_primary_model(reviewed: Path) -> None:
    from metasift.analysis.metareg import leave_one_study_out

    data = json.loads((reviewed / "report" / "report.json").read_text())
    effects = pd.read_csv(reviewed / "effects.csv")
    lo = data["leave_one_study_out"]
    ours = leave_one_study_out(effects.yi, effects.vi, effects.study_id, effects.es_id)
    primary = next(m for m in data["models"] if m["role"] == "primary")
    assert lo["full"]["estimate"] == pytest.approx(primary["coefficients"][0]["estimate"], abs=1e-12)
    assert [r["label"] for r in lo["rows"]] == list(dict.fromkeys(effects.study))
    for shown, row in zip(lo["rows"], ours.rows, strict=True):
        assert shown["k"] == int((effects.study_id.astype(str) != row.study).sum())
        assert shown["estimate"] == pytest.approx(row.pooled.estimate, abs=1e-12)
    html = (reviewed / "report" / "report.html").read_text()
    assert 'id="leave-one-study-out"' in html and 'alt="Leave-one-study-out (primary model)"' in html
    assert 'alt="Forest plot: every effect size by study, primary model"' in html
    assert (reviewed / "report" / "forest_by_study.png").stat().st_size > 10_000
