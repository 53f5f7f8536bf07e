"""effect_sizes: parity with metafor 3.8 escalc(), plus the SD-from-SE/CI helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metasift.analysis import effect_sizes as es
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "univariate.json").read_text())
DATA = REF_DIR / "data"

# All closed-form. Worst seen: 2.3e-13 absolute (MD variances of ~1e2 from integer SDs: rounding in
# the last bits); everything else agrees to ~5e-15.
TOL = 1e-9


def same(res: es.EffectSizes, ref: dict) -> None:
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=0, atol=TOL)


@pytest.mark.metafor
def test_bcg_2x2_measures() -> None:
    b = pd.read_csv(DATA / "dat_bcg.csv")
    same(es.log_rr(b.tpos, b.tneg, b.cpos, b.cneg), REF["bcg_rr"])
    same(es.log_or(b.tpos, b.tneg, b.cpos, b.cneg), REF["bcg_or"])
    same(es.rd(b.tpos, b.tneg, b.cpos, b.cneg), REF["bcg_rd"])


@pytest.mark.metafor
@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_zero_cells_get_half_added_to_the_whole_study(measure: str) -> None:
    t = pd.read_csv(DATA / "escalc_2x2.csv")
    res = es.escalc(measure, ai=t.ai, bi=t.bi, ci=t.ci, di=t.di)
    same(res, REF["escalc_2x2"][measure])
    assert np.all(np.isfinite(res.yi))  # studies 1, 2 and 5 have zero cells (5 a double zero)


@pytest.mark.metafor
def test_or_to_smd_is_metafor_or2dl() -> None:
    t = pd.read_csv(DATA / "escalc_2x2.csv")
    lo = es.log_or(t.ai, t.bi, t.ci, t.di)
    same(es.smd_from_or(lo.yi, lo.vi), REF["escalc_2x2"]["OR2DL"])


@pytest.mark.metafor
def test_smd_and_md_from_means() -> None:
    n = pd.read_csv(DATA / "dat_normand1999.csv")
    same(es.smd(n.m1i, n.sd1i, n.n1i, n.m2i, n.sd2i, n.n2i), REF["normand_smd"])
    same(es.md(n.m1i, n.sd1i, n.n1i, n.m2i, n.sd2i, n.n2i), REF["normand_md"])


@pytest.mark.metafor
def test_change_scores() -> None:
    c = pd.read_csv(DATA / "escalc_change.csv")
    same(es.smcr(c.m_post, c.m_pre, c.sd_pre, c.r, c.n), REF["escalc_change"]["SMCR"])
    same(es.smcc(c.m_post, c.m_pre, c.sd_post, c.sd_pre, c.r, c.n), REF["escalc_change"]["SMCC"])
    same(es.smd_prepost(c.m_post, c.m_pre, c.sd_pre, c.n, c.mc_post, c.mc_pre, c.sdc_pre, c.nc, c.r),
         REF["escalc_change"]["SMCR_diff"])


@pytest.mark.metafor
def test_conversions_from_t_f_and_p() -> None:
    v = pd.read_csv(DATA / "escalc_conv.csv")
    same(es.smd_from_t(v.t, v.n1, v.n2), REF["escalc_conv"]["from_t"])
    same(es.smd_from_f(v.t**2, v.n1, v.n2, sign=np.sign(v.t)), REF["escalc_conv"]["from_F"])
    same(es.smd_from_p(v.p, v.n1, v.n2, sign=v.sign), REF["escalc_conv"]["from_p"])


def test_hedges_j_exact_and_close_to_the_approximation() -> None:
    m = np.array([10.0, 38.0, 200.0])
    j = es.hedges_j(m)
    assert np.all(np.abs(j - (1 - 3 / (4 * m - 1))) < 1e-3)  # Hedges' approximation
    assert np.isnan(es.hedges_j(1.0))


def test_smd_from_change_scores_equals_smd_on_changes() -> None:
    a = es.smd_change([1.2], [2.0], [30], [0.4], [2.2], [28])
    b = es.smd([1.2], [2.0], [30], [0.4], [2.2], [28])
    assert a.yi[0] == b.yi[0] and a.vi[0] == b.vi[0]


def test_sd_from_se_and_ci() -> None:
    r = es.sd_from_se([0.5, 1.0], [16, 100])
    np.testing.assert_allclose(r.sd, [2.0, 10.0])
    # Cochrane Handbook 6.5.2.2: large n uses 3.92; small n uses 2 x t(n-1)
    big = es.sd_from_ci(8.0, 12.0, 100)
    assert big.sd[0] == pytest.approx(10 * 4 / (2 * stats.norm.isf(0.025)))
    assert "z quantile" in big.formula[0] and "3.9199" in big.formula[0]
    small = es.sd_from_ci(8.0, 12.0, 25)
    assert small.sd[0] == pytest.approx(5 * 4 / (2 * stats.t.isf(0.025, 24)))
    assert "t(24)" in small.formula[0]
    assert es.sd_from_ci(8.0, 12.0, 25, level=90).sd[0] == pytest.approx(5 * 4 / (2 * stats.t.isf(0.05, 24)))


def test_missing_inputs_give_nan_rows() -> None:
    r = es.smd([1.0, np.nan], [1.0, 1.0], [10, 10], [0.0, 0.0], [1.0, 1.0], [10, 10])
    assert np.isfinite(r.yi[0]) and np.isnan(r.yi[1])


@pytest.mark.parametrize("call, match", [
    (lambda: es.smd(1, -1, 10, 0, 1, 10), "negative"),
    (lambda: es.smd(1, 1, 0, 0, 1, 10), "> 0"),
    (lambda: es.smcr(1, 0, 1, 1.5, 10), "between -1 and 1"),
    (lambda: es.log_or(-1, 2, 3, 4), "negative"),
    (lambda: es.counts_from_n(12, 10, 1, 10), "exceed"),
    (lambda: es.smd_from_p(0.0, 10, 10), r"\(0, 1\]"),
    (lambda: es.escalc("XYZ"), "unknown measure"),
    (lambda: es.sd_from_ci(12, 8, 30), "below"),
])
def test_impossible_inputs_raise(call, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        call()
