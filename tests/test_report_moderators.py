"""The report's moderator analyses (issue #13): [analysis] moderators -> the meta-regression table, [analysis]
subgroups -> one subgroup table per variable, both recomputed here from effects.csv and the study CSV through
the analysis functions directly."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from examples.demo import EXAMPLE
from metasift.analysis import rma
from metasift.analysis.metareg import metareg
from tests.helpers import edit_protocol
from tests.test_e2e import reviewed  # noqa: F401  (the whole-pipeline fixture, run once for this module)


@pytest.fixture(scope="module")
def with_moderators(reviewed: Path) -> Path:  # noqa: F811
    """The reviewed example with its study fields imported and a moderator named, reported again."""
    from metasift.cli import main

    def run(*args: object) -> None:
        try:
            main([*map(str, args), "--project", str(reviewed)])
        except SystemExit as exc:
            assert not exc.code, f"metasift {' '.join(map(str, args))} exited {exc.code}"

    run("studies", "import", EXAMPLE / "studies.csv", "--by", "alice")
    edit_protocol(reviewed, **{"moderators = []": 'moderators = ["students", "year > 2015"]'})
    run("report", "--out", reviewed / "report-mods")
    run("report", "--format", "md", "--out", reviewed / "report-mods-md")
    return reviewed


def _effects(root: Path) -> pd.DataFrame:
    effects = pd.read_csv(root / "effects.csv")
    studies = pd.read_csv(EXAMPLE / "studies.csv")
    return effects.merge(studies, on="study", how="left")


def test_the_starter_protocol_reports_subgroups_by_outcome_each_level_its_own_model(reviewed: Path) -> None:  # noqa: F811
    data = json.loads((reviewed / "report" / "report.json").read_text())
    (table,) = data["moderators"]["subgroups"]
    effects = _effects(reviewed)
    assert table["variable"] == "outcome" and data["moderators"]["metareg"] is None
    assert [r["level"] for r in table["rows"]] == sorted(effects.outcome.unique())
    for row in table["rows"]:
        sub = effects[effects.outcome == row["level"]]
        assert (row["k"], row["n_studies"]) == (len(sub), sub.study_id.nunique())
        fit = rma(sub.yi, sub.vi, method="REML", test="knha")   # one effect per study in each outcome here
        assert row["estimate"] == pytest.approx(float(fit.beta[0]), abs=1e-12)
        assert [row["ci_lb"], row["ci_ub"]] == pytest.approx([float(fit.ci_lb[0]), float(fit.ci_ub[0])], abs=1e-12)
        assert row["label"] == row["level"].capitalize()
    assert table["test"]["df_num"] == 2 and "three-level" in table["test_model"]


def test_the_meta_regression_table_is_metareg_on_the_effects_and_the_study_fields(with_moderators: Path) -> None:
    data = json.loads((with_moderators / "report-mods" / "report.json").read_text())
    mr = data["moderators"]["metareg"]
    effects = _effects(with_moderators)
    ours = metareg(effects.yi, effects.vi, effects.study_id, effects.es_id, effects, ["students", "year > 2015"])
    assert [c["name"] for c in mr["coefficients"]] == ["intrcpt", "students = yes", "year > 2015"]
    for shown, fit in zip(mr["coefficients"], ours.coefficients, strict=True):
        assert [shown["estimate"], shown["se"], shown["df"], shown["p"]] == pytest.approx(
            [fit.estimate, fit.se, fit.df, fit.p], abs=1e-12)
    assert [t["moderator"] for t in mr["tests"]] == ["students", "year > 2015"]
    assert mr["tests"][0]["F"] == pytest.approx(ours.test("students").F, abs=1e-12)
    assert "robust Wald test (HTZ)" in data["moderators"]["methods"]


def test_html_and_markdown_show_both_tables(with_moderators: Path) -> None:
    html = (with_moderators / "report-mods" / "report.html").read_text()
    assert 'id="metareg-table"' in html and 'data-variable="outcome"' in html
    assert "students = yes" in html and "<td class=\"l\">Depression</td>" in html
    assert "Test of subgroup differences (robust Wald, HTZ" in html
    md = (with_moderators / "report-mods-md" / "report.md").read_text()
    assert "**Subgroups by outcome**" in md and "| students = yes |" in md


def test_a_moderator_naming_no_field_stops_the_report_naming_it(with_moderators: Path, cli) -> None:
    edit_protocol(with_moderators, **{'moderators = ["students", "year > 2015"]': 'moderators = ["female_pct"]'})
    try:
        res = cli("report", "--out", with_moderators / "report-bad", "--project", with_moderators)
    finally:
        edit_protocol(with_moderators, **{'moderators = ["female_pct"]': 'moderators = ["students", "year > 2015"]'})
    assert res.exit_code == 2
    assert "analysis.moderators: 'female_pct': no field 'female_pct'" in res.stderr
    assert "students" in res.stderr and "metasift studies import" in res.stderr


def test_dependent_effects_get_leave_one_study_out_of_the_primary_model(reviewed: Path) -> None:  # noqa: F811
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
