"""The report's small-study tests and results by risk of bias on the bundled example (issue #13), and the
effects' provenance columns: recomputed here from effects.csv, rob2.csv and the store through the analysis
functions directly."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from examples.demo import EXAMPLE
from metasift.analysis.bias import egger_multilevel
from metasift.analysis.metareg import subgroups
from metasift.extractor.effects import EffectRow

IDS = ["m1_extraction_id", "sd1_extraction_id", "n1_extraction_id", "m2_extraction_id", "sd2_extraction_id",
       "n2_extraction_id"]


def _report(root: Path) -> dict:
    return json.loads((root / "report" / "report.json").read_text())


def test_dependent_effects_get_the_three_level_egger_test_and_the_classic_tests_say_they_use_aggregates(
        reviewed: Path) -> None:
    bias = _report(reviewed)["bias"]
    effects = pd.read_csv(reviewed / "effects.csv")
    assert effects.study_id.duplicated().any()
    (label,) = [k for k in bias if k.startswith("Egger-type test on the three-level model")]
    eg = egger_multilevel(effects.yi, effects.vi, effects.study_id, effects.es_id)
    assert f"slope {eg.slope:.3f} (se {eg.slope_se:.3f}), t({eg.df:.2f}) = {eg.t:.3f}" in bias[label]
    assert f"PET estimate (effect at standard error 0) {eg.pet_estimate:.3f}" in bias[label]
    n = effects.study_id.nunique()
    classic = [k for k in bias if k != label]
    assert classic and all(k.endswith(f", on one aggregated effect per study ({n} studies, ρ = 0.6)") for k in classic)
    assert any(k.startswith("Trim-and-fill (L0)") for k in classic)
    html = (reviewed / "report" / "report.html").read_text()
    assert "Egger-type test on the three-level model" in html
    assert 'alt="Funnel plot: one aggregated effect per study"' in html


def test_the_report_gives_results_by_overall_risk_of_bias_as_separate_models(reviewed: Path) -> None:
    table = _report(reviewed)["rob_subgroups"]
    effects = pd.read_csv(reviewed / "effects.csv")
    with sqlite3.connect(reviewed / "metasift.db") as db:
        doi = dict(db.execute("select id, lower(doi) from records"))
    with open(EXAMPLE / "rob2.csv", encoding="utf-8") as fh:
        overall = {r["doi"].lower(): r["overall"].replace(" ", "_") for r in csv.DictReader(fh)}
    levels = [overall.get(doi[rid]) for rid in effects.record_id]
    ours = subgroups(effects.yi, effects.vi, effects.study_id, effects.es_id, levels, variable="rob_overall")
    assert table["variable"] == "rob_overall" and not table["warnings"]
    assert table["test"]["F"] == pytest.approx(ours.test.F, abs=1e-12)
    assert [r["level"] for r in table["rows"]] == [r.level for r in ours.rows]
    for shown, row in zip(table["rows"], ours.rows, strict=True):
        assert (shown["k"], shown["n_studies"]) == (row.k, row.n_studies)
        assert shown["estimate"] == (None if row.estimate is None else pytest.approx(row.estimate, abs=1e-12))
    assert {"Some concerns"} <= {r["label"] for r in table["rows"]}
    html = (reviewed / "report" / "report.html").read_text()
    assert 'id="rob-subgroups"' in html and "<th class=\"l\">overall risk of bias</th>" in html


def test_each_effect_names_the_extraction_row_of_each_of_its_six_numbers(reviewed: Path) -> None:
    with open(reviewed / "effects.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:len(header) - len(IDS)] == [f for f in EffectRow.model_fields if f not in IDS]
    assert header[-len(IDS):] == IDS
    effects = pd.read_csv(reviewed / "effects.csv")
    with sqlite3.connect(reviewed / "metasift.db") as db:
        rows = {i: (rid, f, arm, m, tp, v) for i, rid, f, arm, m, tp, v in db.execute(
            "select id, record_id, field, arm, measure, timepoint, value from extractions")}
    for e in effects.itertuples():
        for name, field, arm in zip(IDS, ["outcome_mean", "outcome_sd", "outcome_n"] * 2,
                                    [e.intervention] * 3 + [e.control] * 3, strict=True):
            rid, f, a, measure, timepoint, value = rows[getattr(e, name)]
            assert (rid, f, a, measure, timepoint) == (e.record_id, field, arm, e.measure, e.timepoint)
            number = getattr(e, {"outcome_mean": "m", "outcome_sd": "sd", "outcome_n": "n"}[field]
                             + ("1" if arm == e.intervention else "2"))
            assert float(json.loads(value)) == pytest.approx(number)
    report = _report(reviewed)["effects"]
    assert [r["m1_extraction_id"] for r in report] == effects.m1_extraction_id.tolist()
