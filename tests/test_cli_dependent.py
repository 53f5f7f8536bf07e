"""The analysis commands on dependent effect sizes (issue #13): ``meta --mods`` with threshold expressions and the
robust Wald test per moderator, ``bias --multilevel``, ``forest --multilevel`` by study or by subgroup, and
``--favours``; numbers against metafor + clubSandwich (tests/reference/metareg.R, bias_forest.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REF_DIR = Path(__file__).resolve().parent / "reference"
METAREG = json.loads((REF_DIR / "metareg.json").read_text())
BIAS = json.loads((REF_DIR / "bias_forest.json").read_text())
ITER = 1e-6


@pytest.fixture()
def effects(tmp_path: Path) -> Path:
    """The reference effect sizes with their studies' moderators, as one CSV."""
    eff = pd.read_csv(REF_DIR / "data" / "metareg_effects.csv")
    stu = pd.read_csv(REF_DIR / "data" / "metareg_studies.csv")
    path = tmp_path / "effects.csv"
    eff.merge(stu, on="study", how="left").to_csv(path, index=False)
    return path


def test_meta_mods_takes_a_threshold_expression_and_reports_the_htz_test_of_each_moderator(cli, effects: Path) -> None:
    res = cli("meta", effects, "--yi", "yi", "--vi", "vi", "--mods", "female_pct > 70,control_type",
              "--multilevel", "study/es", "--cluster", "study", "--json")
    assert res.exit_code == 0, res.stderr
    out, ref = res.json(), METAREG["threshold"]
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "female_pct > 70", "factor(control_type)waitlist"]
    assert [c["estimate"] for c in out["coefficients"]] == pytest.approx(ref["beta"], abs=ITER)
    assert [c["se"] for c in out["coefficients"]] == pytest.approx(ref["se"], abs=ITER)
    assert [c["df"] for c in out["coefficients"]] == pytest.approx(ref["df"], abs=ITER)
    tests = {t["moderator"]: t for t in out["moderator_tests"]}
    assert list(tests) == ["female_pct > 70", "control_type"]
    w = ref["wald"]["control_type"]
    assert [tests["control_type"]["F"], tests["control_type"]["df_denom"], tests["control_type"]["p"]] == \
        pytest.approx([w["Fstat"], w["df_denom"], w["p"]], abs=ITER)
    # one coefficient: the HTZ test is its Satterthwaite t test squared
    assert tests["female_pct > 70"]["F"] == pytest.approx(ref["tstat"][1] ** 2, rel=ITER)
    text = cli("meta", effects, "--yi", "yi", "--vi", "vi", "--mods", "female_pct > 70,control_type",
               "--multilevel", "study/es", "--cluster", "study")
    assert text.exit_code == 0 and "Moderator tests (robust Wald, HTZ):" in text.stdout
    assert "control_type: F(df1 = 1, df2 = 9.79)" in text.stdout


def test_meta_mods_names_a_value_that_cannot_be_compared(cli, effects: Path) -> None:
    res = cli("meta", effects, "--yi", "yi", "--vi", "vi", "--mods", "guidance > 3")
    assert res.exit_code != 0
    assert "value 'human' of column 'guidance' cannot be compared" in res.stderr


def test_bias_multilevel_runs_the_three_level_egger_test_and_the_classic_tests_on_aggregates(cli) -> None:
    res = cli("bias", REF_DIR / "data" / "metareg_effects.csv", "--yi", "yi", "--vi", "vi", "--multilevel",
              "study/es", "--json")
    assert res.exit_code == 0, res.stderr
    out, ref = res.json(), BIAS["egger_multilevel"]
    eg = out["egger_multilevel"]
    assert [eg["pet_estimate"], eg["slope"], eg["slope_se"], eg["df"], eg["p"]] == pytest.approx(
        [ref["beta"][0], ref["beta"][1], ref["se"][1], ref["df"][1], ref["p"][1]], abs=ITER)
    agg = BIAS["aggregated"]
    assert out["aggregated"] == {"rho": 0.6, "k": agg["k"]}
    assert [out["egger"]["z"], out["egger"]["p"]] == pytest.approx([agg["egger_stat"], agg["egger_p"]], abs=ITER)
    assert [out["ranktest"]["tau"], out["ranktest"]["p"]] == pytest.approx([agg["rank_tau"], agg["rank_p"]], abs=ITER)
    text = cli("bias", REF_DIR / "data" / "metareg_effects.csv", "--yi", "yi", "--vi", "vi", "--multilevel", "study/es")
    assert "Egger-type (three-level, sei, CR2)" in text.stdout and "one aggregated effect per study" in text.stdout


def test_forest_multilevel_by_subgroup_draws_a_diamond_per_subgroup_and_overall(cli, effects: Path,
                                                                              tmp_path: Path) -> None:
    out = tmp_path / "forest.svg"
    res = cli("forest", effects, "--yi", "yi", "--vi", "vi", "--slab", "study", "--subgroup", "outcome",
              "--multilevel", "study/es", "--favours", "intervention,control", "--out", out, "--json")
    assert res.exit_code == 0, res.stderr
    svg = out.read_text()
    levels = sorted(pd.read_csv(effects).outcome.unique())
    for j in range(len(levels)):
        assert f'id="subgroup-diamond-{j}"' in svg
    assert 'id="pooled-diamond"' in svg and 'id="favours-left"' in svg and 'id="favours-right"' in svg
    assert "favours intervention" in svg and "Test of subgroup differences (robust Wald, HTZ" in svg
    by_study = tmp_path / "by_study.svg"
    res = cli("forest", effects, "--yi", "yi", "--vi", "vi", "--slab", "outcome", "--multilevel", "study/es",
              "--out", by_study)
    assert res.exit_code == 0, res.stderr
    assert 'id="pooled-diamond"' in by_study.read_text() and "subgroup-diamond" not in by_study.read_text()


def test_funnel_favours_labels_each_side_of_zero(cli, effects: Path, tmp_path: Path) -> None:
    out = tmp_path / "funnel.svg"
    res = cli("funnel", effects, "--yi", "yi", "--vi", "vi", "--favours", "intervention,control", "--out", out)
    assert res.exit_code == 0, res.stderr
    svg = out.read_text()
    assert 'id="favours-left"' in svg and 'id="favours-right"' in svg and "favours control" in svg


def test_forest_favours_wants_two_sides(cli, effects: Path, tmp_path: Path) -> None:
    res = cli("forest", effects, "--yi", "yi", "--vi", "vi", "--favours", "intervention", "--out",
              tmp_path / "f.png")
    assert res.exit_code != 0 and "--favours wants LEFT,RIGHT" in res.stderr


def test_each_subgroup_diamond_spans_its_levels_robust_ci_at_its_estimate() -> None:
    from metasift.analysis.metareg import subgroups
    from metasift.analysis.plots import PooledDiamond, build_grouped_forest_figure

    eff = pd.read_csv(REF_DIR / "data" / "metareg_effects.csv")
    table = subgroups(eff.yi, eff.vi, eff.study, eff.es, eff.outcome, variable="outcome")
    per_level = {r.level: PooledDiamond(r.level, r.estimate, r.ci_lb, r.ci_ub) for r in table.rows}
    overall = PooledDiamond("all", -0.1, -0.3, 0.1)
    fig = build_grouped_forest_figure(eff.yi, eff.vi, eff.study, eff.outcome, overall, group_pooled=per_level,
                                      group_order=[r.level for r in table.rows])
    patches = {p.get_gid(): p for ax in fig.axes for p in ax.patches}
    for j, row in enumerate(table.rows):
        ref = METAREG["subgroups"][row.level]  # metafor rma.mv + clubSandwich, per outcome
        xs = patches[f"subgroup-diamond-{j}"].get_xy()[:, 0]
        assert [xs.min(), xs.max()] == pytest.approx([ref["ci_lb"], ref["ci_ub"]], abs=ITER)
        assert xs[1] == pytest.approx(ref["estimate"], abs=ITER)
    assert patches["pooled-diamond"].get_xy()[:, 0].min() == pytest.approx(-0.3)
