"""metasift meta / bias / influence / subgroup / effect-size: the CLI contract, run in-process."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "univariate.json").read_text())
DATA = REF_DIR / "data"
BCG = DATA / "dat_bcg.csv"
# The CSV holds yi/vi to 15 significant digits (R's write.csv), so values agree to ~1e-13, not 1e-15.
TOL = 1e-9

META_KEYS = {"k", "method", "tau2", "tau2_se", "I2", "H2", "QE", "QEp", "QM", "QMp", "R2", "coefficients",
             "pi_lb", "pi_ub", "sigma2"}
COEF_KEYS = {"name", "estimate", "se", "stat", "p", "ci_lb", "ci_ub", "df"}
needs_b = pytest.mark.skipif(importlib.util.find_spec("metasift.analysis.multilevel") is None
                             or importlib.util.find_spec("metasift.analysis.rve") is None,
                             reason="engineer B's analysis.multilevel / analysis.rve not present yet")


@pytest.mark.metafor
def test_meta_json_contract_and_values(cli) -> None:
    res = cli("meta", BCG, "--yi", "yi", "--vi", "vi", "--json")
    assert res.exit_code == 0, res.stderr
    out, ref = res.json(), REF["bcg_fits"]["REML_z"]
    assert set(out) == META_KEYS and set(out["coefficients"][0]) == COEF_KEYS
    assert out["k"] == 13 and out["method"] == "REML" and out["sigma2"] is None and out["R2"] is None
    for key in ("tau2", "tau2_se", "I2", "H2", "QE", "QM", "pi_lb", "pi_ub"):
        assert out[key] == pytest.approx(ref[key], abs=TOL), key
    c = out["coefficients"][0]
    assert [c["estimate"], c["se"], c["stat"], c["ci_lb"]] == pytest.approx(
        [ref["beta"], ref["se"], ref["zval"], ref["ci_lb"]], abs=TOL)
    assert c["df"] is None


@pytest.mark.metafor
def test_meta_regression_knha_json(cli) -> None:
    res = cli("meta", BCG, "--yi", "yi", "--vi", "vi", "--mods", "ablat,year", "--method", "DL",
              "--test", "knha", "--json")
    out, ref = res.json(), REF["bcg_mods"]["DL_knha"]
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "ablat", "year"]
    assert [c["df"] for c in out["coefficients"]] == [10, 10, 10]
    assert out["R2"] == pytest.approx(ref["R2"], abs=1e-7) and out["pi_lb"] is None
    assert out["QM"] == pytest.approx(ref["QM"], abs=1e-7)


def test_meta_table_reads_like_metafor(cli) -> None:
    res = cli("meta", BCG, "--yi", "yi", "--vi", "vi", "--mods", "alloc", "--slab", "author")
    assert res.exit_code == 0
    assert "Mixed-Effects Model (k = 13; tau^2 estimator: REML)" in res.stdout
    assert "Test of Moderators (coefficients 2:3):" in res.stdout
    assert "factor(alloc)random" in res.stdout and "factor(alloc)systematic" in res.stdout


def test_meta_unknown_column_names_the_available_ones(cli) -> None:
    res = cli("meta", BCG, "--yi", "yi", "--vi", "variance", "--json")
    assert res.exit_code == 5 and res.stdout == ""
    assert "variance" in res.stderr and "ablat" in res.stderr


def test_meta_missing_rows_warn_on_stderr(cli, tmp_path: Path) -> None:
    df = pd.read_csv(BCG)
    df.loc[3, "yi"] = np.nan
    path = tmp_path / "gap.csv"
    df.to_csv(path, index=False)
    res = cli("meta", path, "--yi", "yi", "--vi", "vi", "--slab", "author", "--json")
    assert res.exit_code == 0 and res.json()["k"] == 12
    assert "Hart & Sutherland" in res.stderr


def test_meta_text_in_numeric_column_is_an_error(cli, tmp_path: Path) -> None:
    df = pd.read_csv(BCG).astype({"vi": object})
    df.loc[1, "vi"] = "n/a?"
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    res = cli("meta", path, "--yi", "yi", "--vi", "vi")
    assert res.exit_code == 5 and "row 3" in res.stderr


@pytest.mark.metafor
def test_bias_json_contract(cli) -> None:
    res = cli("bias", BCG, "--yi", "yi", "--vi", "vi", "--json")
    assert res.exit_code == 0, res.stderr
    out, ref = res.json(), REF["bcg_bias"]
    assert set(out) == {"egger", "egger_lm", "ranktest", "trimfill", "fsn"}
    assert set(out["egger"]) == {"z", "p"} and set(out["egger_lm"]) == {"t", "p", "df"}
    assert set(out["ranktest"]) == {"tau", "p"} and set(out["trimfill"]) == {"k0", "side", "estimate", "se"}
    assert set(out["fsn"]) == {"rosenthal", "orwin", "rosenberg"}
    assert out["egger"]["z"] == pytest.approx(ref["egger"]["z"], abs=TOL)
    assert out["egger_lm"]["df"] == 11
    assert out["trimfill"] == {"k0": 1, "side": "right", "estimate": pytest.approx(ref["trimfill_L0"]["estimate"]),
                               "se": pytest.approx(ref["trimfill_L0"]["se"])}
    assert out["fsn"] == {"rosenthal": 598, "orwin": 13, "rosenberg": 370}


def test_bias_table(cli) -> None:
    res = cli("bias", BCG, "--yi", "yi", "--vi", "vi")
    assert res.exit_code == 0 and "Trim and fill (L0)" in res.stdout and "PET-PEESE" in res.stdout


@pytest.mark.metafor
def test_influence_json_contract(cli) -> None:
    res = cli("influence", BCG, "--yi", "yi", "--vi", "vi", "--method", "REML", "--json")
    assert res.exit_code == 0, res.stderr
    out = res.json()
    assert set(out) == {"leave1out", "influence"} and len(out["leave1out"]) == 13
    assert set(out["leave1out"][0]) == {"estimate", "se", "tau2", "I2"}
    assert set(out["influence"][0]) == {"rstudent", "cook_d", "hat", "dffits"}
    assert [r["estimate"] for r in out["leave1out"]] == pytest.approx(REF["bcg_leave1out"]["estimate"], abs=TOL)
    assert [r["cook_d"] for r in out["influence"]] == pytest.approx(REF["bcg_influence"]["cook_d"], abs=TOL)


def test_influence_table(cli) -> None:
    res = cli("influence", BCG, "--yi", "yi", "--vi", "vi", "--slab", "author")
    assert res.exit_code == 0 and "Leave-one-out" in res.stdout and "Aronson" in res.stdout


@pytest.mark.metafor
def test_subgroup_json(cli) -> None:
    res = cli("subgroup", BCG, "--yi", "yi", "--vi", "vi", "--by", "alloc", "--json")
    out, ref = res.json(), REF["bcg_subgroup"]
    assert [g["level"] for g in out["groups"]] == ref["levels"]
    assert out["Q_between"] == pytest.approx(ref["Q_between"], abs=TOL)
    assert out["QM"] == pytest.approx(ref["QM"], abs=TOL)


@pytest.mark.metafor
def test_effect_size_smd_writes_yi_vi(cli, tmp_path: Path) -> None:
    out = tmp_path / "smd.csv"
    res = cli("effect-size", DATA / "dat_normand1999.csv", "--measure", "SMD", "--m1", "m1i", "--sd1", "sd1i",
              "--n1", "n1i", "--m2", "m2i", "--sd2", "sd2i", "--n2", "n2i", "--out", out, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["computed"] == 9
    df = pd.read_csv(out)
    np.testing.assert_allclose(df["yi"], REF["normand_smd"]["yi"], atol=TOL)
    np.testing.assert_allclose(df["vi"], REF["normand_smd"]["vi"], atol=TOL)
    assert "source" in df.columns


@pytest.mark.metafor
def test_effect_size_rr_from_events_and_group_sizes(cli, tmp_path: Path) -> None:
    src = tmp_path / "counts.csv"
    b = pd.read_csv(BCG)
    b.assign(n1=b.tpos + b.tneg, n2=b.cpos + b.cneg).to_csv(src, index=False)
    out = tmp_path / "rr.csv"
    res = cli("effect-size", src, "--measure", "RR", "--ai", "tpos", "--n1", "n1", "--ci", "cpos", "--n2", "n2",
              "--out", out)
    assert res.exit_code == 0, res.stderr
    np.testing.assert_allclose(pd.read_csv(out)["yi"], REF["bcg_rr"]["yi"], atol=TOL)


@pytest.mark.metafor
def test_effect_size_smcr_with_assumed_r_and_from_t(cli, tmp_path: Path) -> None:
    out = tmp_path / "smcr.csv"
    res = cli("effect-size", DATA / "escalc_change.csv", "--measure", "SMCR", "--m1", "m_post", "--m2", "m_pre",
              "--sd1", "sd_pre", "--n", "n", "--r", "r", "--out", out)
    assert res.exit_code == 0, res.stderr
    np.testing.assert_allclose(pd.read_csv(out)["vi"], REF["escalc_change"]["SMCR"]["vi"], atol=TOL)
    res = cli("effect-size", DATA / "escalc_change.csv", "--measure", "SMCR", "--m1", "m_post", "--m2", "m_pre",
              "--sd1", "sd_pre", "--n", "n", "--r", "0.5", "--out", out)
    assert res.exit_code == 0 and np.isfinite(pd.read_csv(out)["vi"]).all()
    res = cli("effect-size", DATA / "escalc_conv.csv", "--measure", "SMD", "--t", "t", "--n1", "n1", "--n2", "n2",
              "--out", out)
    np.testing.assert_allclose(pd.read_csv(out)["yi"], REF["escalc_conv"]["from_t"]["yi"], atol=TOL)


def test_effect_size_missing_argument(cli, tmp_path: Path) -> None:
    res = cli("effect-size", BCG, "--measure", "SMCR", "--m1", "tpos", "--out", tmp_path / "x.csv")
    assert res.exit_code == 5 and "--m2" in res.stderr


@needs_b
def test_meta_multilevel_and_cluster_call_engineer_b(cli) -> None:
    path = DATA / "dat_assink2016.csv"
    res = cli("meta", path, "--yi", "yi", "--vi", "vi", "--multilevel", "study/esid", "--json")
    assert res.exit_code == 0, res.stderr
    out = res.json()
    assert out["k"] == 100 and len(out["sigma2"]) == 2 and out["tau2"] is None
    res = cli("meta", path, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--multilevel", "study/esid",
              "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["coefficients"][0]["df"] > 1  # Satterthwaite df


def test_help_explains_the_options(cli) -> None:
    res = cli("meta", "--help")
    assert res.exit_code == 0 and "--multilevel" in res.stdout and "knha" in res.stdout
