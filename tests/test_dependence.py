"""Dependent effect sizes (issue #13): metafor's aggregate(), multilevel I², and the report's dependence-aware
primary model. Reference values come from tests/reference/dependence.R (R 4.2.2, metafor 3.8-1,
clubSandwich 0.5.8); R never runs here."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import aggregate_cs, multilevel_i2, rho_sensitivity, rma, rma_mv, robust
from metasift.analysis.dependence import aggregated_rma, has_dependence
from metasift.config import AnalysisConfig
from metasift.errors import AnalysisError
from metasift.report.analysis_section import format_p, p_text, pooled_models

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "dependence.json").read_text())
DAT = pd.read_csv(REF_DIR / "data" / "dependence.csv")
CLOSED = 1e-9     # closed-form quantities (aggregation, typical sampling variance)
ITER = 1e-6       # anything resting on an iterative REML fit


@pytest.mark.parametrize("key", sorted(REF["aggregate"]))
def test_aggregate_matches_metafor(key: str) -> None:
    ref = REF["aggregate"][key]
    agg = aggregate_cs(DAT.yi, DAT.vi, DAT.study, ref["rho"])
    assert agg.cluster == ref["study"]            # first-appearance order, as aggregate()
    np.testing.assert_allclose(agg.yi, ref["yi"], rtol=0, atol=CLOSED)
    np.testing.assert_allclose(agg.vi, ref["vi"], rtol=0, atol=CLOSED)


def test_aggregate_unweighted_matches_metafor() -> None:
    ref = REF["aggregate_unweighted"]
    agg = aggregate_cs(DAT.yi, DAT.vi, DAT.study, ref["rho"], weighted=False)
    assert agg.cluster == ref["study"]
    np.testing.assert_allclose(agg.yi, ref["yi"], rtol=0, atol=CLOSED)
    np.testing.assert_allclose(agg.vi, ref["vi"], rtol=0, atol=CLOSED)


@pytest.mark.parametrize("key", sorted(REF["aggregate"]))
def test_random_effects_on_aggregated_matches_metafor(key: str) -> None:
    ref = REF["aggregate"][key]
    (row,) = rho_sensitivity(DAT.yi, DAT.vi, DAT.study, [ref["rho"]], method="REML", test="knha")
    r, f = ref["rma_knha"], row.fit
    for ours, theirs in ((f.beta[0], r["estimate"]), (f.se[0], r["se"]), (f.tau2, r["tau2"]),
                         (f.pval[0], r["pval"]), (f.ci_lb[0], r["ci_lb"]), (f.ci_ub[0], r["ci_ub"]),
                         (f.I2 / 100, r["I2"] / 100)):          # I² as a proportion (metafor prints percent)
        assert ours == pytest.approx(theirs, abs=ITER)


def test_three_level_model_and_cr2_match_metafor_and_clubsandwich() -> None:
    ref = REF["rma_mv"]
    ml = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es, method="REML")
    assert ml.beta[0] == pytest.approx(ref["estimate"], abs=ITER)
    assert ml.se[0] == pytest.approx(ref["se"], abs=ITER)
    np.testing.assert_allclose(ml.sigma2, ref["sigma2"], rtol=0, atol=ITER)
    assert min(ml.sigma2) > 0.05          # both levels estimated away from the boundary: a real test
    cr = robust(ml, DAT.study, type="CR2")
    c = ref["cr2"]
    for ours, theirs in ((cr.beta[0], c["estimate"]), (cr.se[0], c["se"]), (cr.stat[0], c["tstat"]),
                         (cr.df[0], c["df_Satt"]), (cr.pval[0], c["p"])):
        assert ours == pytest.approx(theirs, abs=ITER)


def test_multilevel_i2_is_the_metafor_faq_formula() -> None:
    ref = REF["rma_mv"]
    ml = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es, method="REML")
    i2 = multilevel_i2(ml)
    assert i2.typical_v == pytest.approx(ref["typical_v"], abs=CLOSED)
    assert i2.total == pytest.approx(ref["I2_total"], abs=ITER)
    assert [i2.between, i2.within] == pytest.approx(ref["I2_levels"], abs=ITER)
    assert i2.between + i2.within + i2.sampling == pytest.approx(100.0, abs=1e-9)
    # intercept only: (k - p) / tr(P) is Higgins & Thompson's typical variance the fit already reports
    assert i2.total == pytest.approx(ml.I2_levels["total"], abs=1e-9)


def test_multilevel_i2_with_a_moderator_uses_the_projection() -> None:
    mods = np.where(DAT.es.to_numpy() > 1, 1.0, 0.0)
    ml = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es, mods)
    w = 1 / ml.vi
    W = np.diag(w)
    P = W - W @ ml.X @ np.linalg.solve(ml.X.T @ W @ ml.X, ml.X.T @ W)
    assert multilevel_i2(ml).typical_v == pytest.approx((ml.k - ml.p) / np.trace(P), rel=1e-12)


def test_aggregate_edge_cases() -> None:
    agg = aggregate_cs([0.1, 0.3, 0.5], [0.04, 0.01, 0.02], ["a", "b", "b"], rho=0.0)
    w = np.array([100.0, 50.0])
    assert agg.yi == pytest.approx([0.1, (0.3 * w[0] + 0.5 * w[1]) / w.sum()], abs=1e-15)
    assert agg.vi == pytest.approx([0.04, 1 / w.sum()], abs=1e-15)
    assert list(agg.n_effects) == [1, 2]
    with pytest.raises(AnalysisError, match="rho"):
        aggregate_cs([0.1], [0.1], ["a"], rho=1.5)
    with pytest.raises(AnalysisError, match="positive definite"):
        aggregate_cs([0.1, 0.2], [0.01, 0.04], ["a", "a"], rho=1.0)
    assert has_dependence(["a", "b", "a"]) and not has_dependence(["a", "b", "c"])


@pytest.mark.parametrize(("p", "text"), [(5.768e-17, "< .001"), (0.000999, "< .001"), (0.001, ".001"),
                                         (0.0324, ".032"), (0.5, ".500"), (0.9994, ".999"),
                                         (0.99951, "> .999"), (float("nan"), "n/a"), (None, "n/a")])
def test_p_values_as_journals_print_them(p: float | None, text: str) -> None:
    assert p_text(p) == text


def test_format_p_for_running_text() -> None:
    assert format_p(1e-9) == "p < .001" and format_p(0.032) == "p = .032"


def _effects(frame: pd.DataFrame) -> list[dict]:
    return [{"yi": r.yi, "vi": r.vi, "study_id": r.study, "es_id": r.es, "study": f"Study {r.study}",
             "measure": "PHQ-9 (depression)"} for r in frame.itertuples()]


def test_report_primary_model_is_three_level_cr2_when_studies_repeat() -> None:
    cfg = AnalysisConfig()
    models = pooled_models(_effects(DAT), cfg)
    by_key = {m["key"]: m for m in models}
    assert models[0]["key"] == "rma" and models[0]["role"] == "comparison"
    fit = models[0].pop("fit")                   # what the plots and bias tests use: one effect per study
    assert fit.k == DAT.study.nunique() == 8
    assert fit.labels == [f"Study {s}" for s in REF["aggregate"]["0.6"]["study"]]
    primary = [m for m in models if m["role"] == "primary"]
    assert [m["key"] for m in primary] == ["rve"]
    ml = rma_mv(DAT.yi, DAT.vi, DAT.study, DAT.es)
    cr = robust(ml, DAT.study, type="CR2")
    coef = by_key["rve"]["coefficients"][0]
    assert coef["estimate"] == cr.beta[0] and coef["se"] == cr.se[0] and coef["df"] == cr.df[0]
    assert by_key["rve"]["I2_split"]["between_studies"] == pytest.approx(REF["rma_mv"]["I2_levels"][0], abs=ITER)
    assert "σ² between studies" in by_key["rve"]["heterogeneity"]
    assert by_key["rve"]["methods"].startswith("22 effect sizes from 8 studies; several studies contribute more "
                                               "than one effect size (8 of 8), so the primary model is a "
                                               "three-level")
    agg = aggregated_rma(DAT.yi, DAT.vi, DAT.study, 0.6, test="knha")
    assert by_key["aggregated"]["role"] == "sensitivity"
    assert by_key["aggregated"]["coefficients"][0]["estimate"] == agg.beta[0]
    rows = by_key["rho_sensitivity"]["rows"]
    assert [r["rho"] for r in rows] == [0.2, 0.4, 0.6, 0.8]
    for r in rows:
        ref = REF["aggregate"][f"{r['rho']:g}"]["rma_knha"]
        assert r["estimate"] == pytest.approx(ref["estimate"], abs=ITER)
        assert r["se"] == pytest.approx(ref["se"], abs=ITER)
    json.dumps(models, allow_nan=False)


def test_report_uses_knapp_hartung_with_one_effect_per_study() -> None:
    one = DAT[DAT.es == 1]
    models = pooled_models(_effects(one), AnalysisConfig())
    assert [(m["key"], m["role"]) for m in models] == [("rma", "primary")]
    fit = models[0].pop("fit")
    ref = rma(one.yi, one.vi, method="REML", test="knha")
    assert fit.test == "knha" and models[0]["coefficients"][0]["se"] == ref.se[0]
    assert models[0]["methods"].startswith("8 effect sizes from 8 studies; each study contributes one")


def test_report_without_multilevel_falls_back_to_aggregated_primary() -> None:
    models = pooled_models(_effects(DAT), AnalysisConfig(multilevel=False, rho=0.4))
    primary = [m for m in models if m["role"] == "primary"]
    assert [m["key"] for m in primary] == ["aggregated"] and "ρ = 0.4" in primary[0]["methods"]


def test_rho_is_configurable_and_checked() -> None:
    assert AnalysisConfig().rho == 0.6 and AnalysisConfig().rho_sensitivity == [0.2, 0.4, 0.6, 0.8]
    with pytest.raises(ValueError):
        AnalysisConfig(rho=1.0)
    with pytest.raises(ValueError):
        AnalysisConfig(rho_sensitivity=[0.5, 1.2])


# --- the bundled example, through the whole pipeline: the report's primary model computed independently ---

def _known_effects() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Hedges' g of every eligible trial's outcomes, straight from the example's table of known numbers."""
    from examples.demo import known_effects

    return known_effects()


@pytest.mark.slow
def test_report_primary_model_equals_the_known_numbers(reviewed: Path) -> None:
    data = json.loads((reviewed / "report" / "report.json").read_text())
    yi, vi, trial, outcome = _known_effects()
    assert len(yi) == 48 and len(set(trial)) == 17
    multi = sum(n > 1 for n in Counter(trial).values())
    cr = robust(rma_mv(yi, vi, trial, list(range(len(yi)))), trial, type="CR2")  # one id per effect size
    (primary,) = [m for m in data["models"] if m["role"] == "primary"]
    assert primary["key"] == "rve"
    coef = primary["coefficients"][0]
    assert coef["estimate"] == pytest.approx(cr.beta[0], abs=1e-9)
    assert coef["se"] == pytest.approx(cr.se[0], abs=1e-9)
    assert coef["df"] == pytest.approx(cr.df[0], abs=1e-6)
    assert primary["methods"].startswith("48 effect sizes from 17 studies; several studies contribute more than "
                                         f"one effect size ({multi} of 17), so the primary model is a three-level")
    (table,) = [m for m in data["models"] if m["role"] == "rho_table"]
    for row in table["rows"]:
        agg = aggregated_rma(yi, vi, trial, row["rho"], test="knha")
        assert row["estimate"] == pytest.approx(agg.beta[0], abs=1e-9) and row["k"] == 17
    html = (reviewed / "report" / "report.html").read_text()
    assert 'id="analysis-methods"' in html and 'id="rho-sensitivity"' in html
    section = html[html.index('id="models"'):html.index('id="rob"')]
    assert not re.search(r"\d[eE]-\d", section), "p-values must print as journals print them"
    assert "&lt; .001" in section                # "< .001", HTML-escaped
