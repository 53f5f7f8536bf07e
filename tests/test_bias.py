"""bias: parity with metafor 3.8 regtest, ranktest, trimfill, fsn, and lm() for PET-PEESE."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import rma
from metasift.analysis.bias import fsn, pet_peese, ranktest, regtest, trimfill
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "univariate.json").read_text())
BD = pd.read_csv(REF_DIR / "data" / "dat_bangertdrowns2004.csv")

# Test statistics and p values: worst seen 5e-15 (closed form given tau², which agrees to ~1e-12).
STAT_TOL = 1e-9
# Trim-and-fill estimates refit REML on the filled data: worst seen 4e-16; the iterative bound is 1e-6.
FIT_TOL = 1e-6


def fits() -> dict:
    return {
        "bcg": (rma(REF["bcg_rr"]["yi"], REF["bcg_rr"]["vi"]), REF["bcg_bias"]),
        "normand": (rma(REF["normand_smd"]["yi"], REF["normand_smd"]["vi"]), REF["normand_bias"]),
        "bd": (rma(BD["yi"], BD["vi"]), REF["bd_bias"]),  # vi rounded to 3 decimals: ties in the rank test
    }


FITS = fits()


@pytest.mark.metafor
@pytest.mark.parametrize("name", FITS)
def test_egger_both_versions(name: str) -> None:
    fit, ref = FITS[name]
    eg = regtest(fit)
    assert eg.stat == pytest.approx(ref["egger"]["z"], abs=STAT_TOL)
    assert eg.p == pytest.approx(ref["egger"]["p"], abs=STAT_TOL)
    lm = regtest(fit, "lm")
    assert lm.stat == pytest.approx(ref["egger_lm"]["t"], abs=STAT_TOL)
    assert lm.p == pytest.approx(ref["egger_lm"]["p"], abs=STAT_TOL)
    assert lm.df == ref["egger_lm"]["df"]


@pytest.mark.metafor
def test_egger_limit_estimate_and_fe_model() -> None:
    fit, ref = FITS["bcg"]
    eg = regtest(fit)
    assert [eg.estimate, eg.ci_lb, eg.ci_ub] == pytest.approx(
        [ref["egger"]["est"], ref["egger"]["ci_lb"], ref["egger"]["ci_ub"]], abs=STAT_TOL)
    fe = rma(fit.yi, fit.vi, method="FE")
    assert regtest(fe).stat == pytest.approx(ref["egger_fe"]["z"], abs=STAT_TOL)


@pytest.mark.metafor
@pytest.mark.parametrize("name", FITS)
def test_rank_correlation(name: str) -> None:
    fit, ref = FITS[name]
    rk = ranktest(fit)
    assert rk.tau == pytest.approx(ref["ranktest"]["tau"], abs=STAT_TOL)
    assert rk.p == pytest.approx(ref["ranktest"]["p"], abs=STAT_TOL)
    assert rk.exact is (name != "bd")


@pytest.mark.metafor
@pytest.mark.parametrize("name", FITS)
@pytest.mark.parametrize("estimator", ["L0", "R0"])
def test_trimfill_matches_exactly(name: str, estimator: str) -> None:
    fit, ref = FITS[name]
    tf, want = trimfill(fit, estimator), ref[f"trimfill_{estimator}"]
    assert tf.k0 == want["k0"] and tf.side == want["side"]
    assert tf.estimate == pytest.approx(want["estimate"], abs=FIT_TOL)
    assert tf.se == pytest.approx(want["se"], abs=FIT_TOL)
    assert tf.se_k0 == pytest.approx(want["se_k0"], abs=STAT_TOL)
    assert tf.fit.k == want["k"]


@pytest.mark.metafor
@pytest.mark.parametrize("side", ["left", "right"])
def test_trimfill_forced_side(side: str) -> None:
    fit, ref = FITS["bcg"]
    tf, want = trimfill(fit, side=side), ref[f"trimfill_{side}"]
    assert tf.k0 == want["k0"] and tf.estimate == pytest.approx(want["estimate"], abs=FIT_TOL)
    if tf.k0:
        assert tf.fit.labels[-1] == "Filled 1" and len(tf.filled_yi) == tf.k0


@pytest.mark.metafor
@pytest.mark.parametrize("name", FITS)
def test_fail_safe_n_exact(name: str) -> None:
    fit, ref = FITS[name]
    f = fsn(fit)
    assert (f.rosenthal, f.orwin, f.rosenberg) == (ref["fsn"]["rosenthal"], ref["fsn"]["orwin"],
                                                   ref["fsn"]["rosenberg"])
    assert f.rosenthal_p == pytest.approx(ref["fsn"]["rosenthal_p"], rel=1e-9)
    assert f.rosenberg_p == pytest.approx(ref["fsn"]["rosenberg_p"], rel=1e-9)


@pytest.mark.metafor
def test_pet_peese_matches_weighted_lm() -> None:
    fit, ref = FITS["bcg"]
    pp = pet_peese(fit)
    assert [pp.pet_estimate, pp.pet_se, pp.pet_p] == pytest.approx(
        [ref["pet"]["estimate"][0], ref["pet"]["se"][0], ref["pet"]["p"][0]], abs=STAT_TOL)
    assert [pp.peese_estimate, pp.peese_se, pp.peese_p] == pytest.approx(
        [ref["peese"]["estimate"][0], ref["peese"]["se"][0], ref["peese"]["p"][0]], abs=STAT_TOL)
    # PET's intercept p = 0.40: not significant one-sided at 5%, so PET is kept
    assert pp.chosen == "PET" and pp.estimate == pp.pet_estimate


def test_pet_peese_switches_to_peese_when_pet_is_significant() -> None:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.005, 0.1, 40)
    y = 0.5 + rng.normal(0, np.sqrt(v))
    pp = pet_peese(rma(y, v))
    assert pp.pet_p < 0.1 and pp.chosen == "PEESE"


def test_bias_needs_an_intercept_only_model_with_k_3() -> None:
    fit, _ = FITS["bcg"]
    with pytest.raises(AnalysisError, match="without moderators"):
        regtest(rma(fit.yi, fit.vi, np.arange(13.0)))
    with pytest.raises(AnalysisError, match="at least 3"):
        trimfill(rma([0.1, 0.3], [0.01, 0.02]))
    with pytest.raises(AnalysisError, match="L0 or R0"):
        trimfill(fit, "Q9")
