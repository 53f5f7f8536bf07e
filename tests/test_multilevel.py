"""Three-level model (analysis/multilevel.py): parity with metafor 3.8 rma.mv and behaviour on bad input.

Reference values come from tests/reference/multilevel.R (R 4.2.2, metafor 3.8-1); R never runs here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis._mlfit import Blocks
from metasift.analysis.multilevel import MultilevelFit, rma_mv, typical_within_variance
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "multilevel.json").read_text())
DATA = {
    "assink": pd.read_csv(REF_DIR / "data" / "dat_assink2016.csv"),
    "sim_seed3": pd.read_csv(REF_DIR / "data" / "ml_sim_seed3.csv"),
    "sim_seed7": pd.read_csv(REF_DIR / "data" / "ml_sim_seed7.csv"),
}

# Variance components: worst |diff| seen 9.0e-8 (assink, REML, no moderators): R's nlminb stops at its
# default rel.tol = 1e-10 on the log-likelihood; our optimum has a higher logLik (checked below).
TOL_SIGMA2 = 1e-6
# Boundary estimates: worst |diff| seen 1.7e-9 (R's log-scale nlminb reports 1.6e-11 where we report
# exactly 0, and stops a little short on the other component).
TOL_SIGMA2_BOUNDARY = 1e-8
# Anything downstream of sigma2 (beta, se, z, p, CI, vb, pi): worst seen 1.3e-8, same cause.
TOL_ITER = 1e-6
# Test statistics that scale with their size (QM): relative; worst seen 7.5e-8 (QM 12.99 off by 9.7e-7).
TOL_ITER_REL = 1e-6
# I^2 in percent: worst seen 2.2e-5 percentage points (the sigma2 difference times 100 / total).
TOL_I2_PCT = 1e-4
# Closed form given the data (QE, QEp, typical variance): worst seen 4.5e-13 (floating point).
TOL_CLOSED = 1e-9
# logLik / AIC / BIC at the optimum (flat there): worst seen 1.0e-11.
TOL_LL = 1e-9

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def fit_case(spec: dict) -> MultilevelFit:
    """Fit the case an R reference entry describes."""
    d = DATA[spec.get("data", "assink")]
    mods = None if spec["mods"] is None else d[[spec["mods"]]]
    return rma_mv(d.yi, d.vi, d.study, d.esid, mods, method=spec["method"], test=spec["test"])


def arr(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


@pytest.mark.metafor
@pytest.mark.parametrize("case", sorted(REF["multilevel"]))
def test_parity_with_rma_mv(case: str) -> None:
    ref = REF["multilevel"][case]
    fit = fit_case(ref["spec"])
    assert fit.coef_names == list(np.atleast_1d(ref["coef_names"]))
    assert (fit.k, fit.p, fit.n_studies) == (ref["k"], ref["p"], ref["n_studies"])
    boundary = case.startswith("boundary")
    np.testing.assert_allclose(fit.sigma2, ref["sigma2"], rtol=0,
                               atol=TOL_SIGMA2_BOUNDARY if boundary else TOL_SIGMA2)
    for ours, theirs in [(fit.beta, "beta"), (fit.se, "se"), (fit.stat, "stat"), (fit.pval, "pval"),
                         (fit.ci_lb, "ci_lb"), (fit.ci_ub, "ci_ub")]:
        np.testing.assert_allclose(ours, arr(ref[theirs]), rtol=0, atol=TOL_ITER, err_msg=theirs)
    np.testing.assert_allclose(fit.vb, np.asarray(ref["vb"]).reshape(fit.p, fit.p), rtol=0, atol=TOL_ITER)
    assert fit.df == ref["df"]
    assert fit.QE == pytest.approx(ref["QE"], rel=0, abs=TOL_CLOSED)
    assert fit.QEp == pytest.approx(ref["QEp"], rel=0, abs=TOL_CLOSED)
    assert fit.QM == pytest.approx(ref["QM"], rel=TOL_ITER_REL)
    assert fit.QMp == pytest.approx(ref["QMp"], rel=0, abs=TOL_ITER)
    assert fit.QMdf[0] == ref["QMdf"][0]
    assert fit.logLik == pytest.approx(ref["logLik"], rel=0, abs=TOL_LL)
    assert fit.logLik >= ref["logLik"] - 1e-12, "our optimum should be at least as high as nlminb's"
    assert fit.AIC == pytest.approx(ref["AIC"], rel=0, abs=TOL_LL)
    assert fit.BIC == pytest.approx(ref["BIC"], rel=0, abs=TOL_LL)
    assert fit.typical_v == pytest.approx(ref["I2"]["typical_v"], rel=0, abs=TOL_CLOSED)
    for key in ("sampling", "level2", "level3", "total"):
        assert fit.I2_levels[key] == pytest.approx(ref["I2"][key], rel=0, abs=TOL_I2_PCT), key
    assert fit.I2 == pytest.approx(ref["I2"]["total"], rel=0, abs=TOL_I2_PCT)
    if "pi_lb" in ref:
        assert fit.pi_lb == pytest.approx(ref["pi_lb"], rel=0, abs=TOL_ITER)
        assert fit.pi_ub == pytest.approx(ref["pi_ub"], rel=0, abs=TOL_ITER)
    else:
        assert fit.pi_lb is None and fit.pi_ub is None


def test_boundary_is_reported() -> None:
    fit = fit_case(REF["multilevel"]["boundary_study"]["spec"])
    assert fit.sigma2[0] == 0.0
    assert any("boundary" in w for w in fit.warnings)


def test_level_shares_add_up() -> None:
    fit = fit_case(REF["multilevel"]["reml_deltype"]["spec"])
    lv = fit.I2_levels
    assert lv["sampling"] + lv["level2"] + lv["level3"] == pytest.approx(100.0)
    assert lv["level2"] + lv["level3"] == pytest.approx(lv["total"])
    assert fit.H2 == pytest.approx(1 / (1 - fit.I2 / 100))


def test_typical_variance_equal_vi() -> None:
    # with equal sampling variances the "typical" variance is that variance
    assert typical_within_variance(np.full(7, 0.04)) == pytest.approx(0.04)


def _dense(y, v, X, study, s3, s2, reml):
    """Brute-force log-likelihood and gradient with the full k x k marginal covariance."""
    same = study[:, None] == study[None, :]
    V = np.diag(v + s2) + s3 * same
    Vi = np.linalg.inv(V)
    A = np.linalg.inv(X.T @ Vi @ X)
    b = A @ X.T @ Vi @ y
    r = y - X @ b
    k, p = X.shape
    ll = -0.5 * (np.linalg.slogdet(V)[1] + r @ Vi @ r)
    if reml:
        ll += -0.5 * ((k - p) * np.log(2 * np.pi) - np.linalg.slogdet(X.T @ X)[1] + np.linalg.slogdet(X.T @ Vi @ X)[1])
        P = Vi - Vi @ X @ A @ X.T @ Vi
    else:
        ll += -0.5 * k * np.log(2 * np.pi)
        P = Vi
    Py = Vi @ r
    grad = [0.5 * (Py @ Z @ Py - np.trace(P @ Z)) for Z in (same.astype(float), np.eye(k))]
    return ll, np.array(grad), b


@pytest.mark.parametrize("reml", [True, False])
def test_block_algebra_matches_dense_matrices(reml: bool) -> None:
    rng = np.random.default_rng(5)
    study = np.sort(rng.integers(0, 9, 40))
    v = rng.uniform(0.01, 0.1, 40)
    X = np.column_stack([np.ones(40), rng.normal(size=40), rng.integers(0, 2, 40)])
    y = rng.normal(size=40)
    perm = rng.permutation(40)              # the block code sorts internally; feed it unsorted rows
    blocks = Blocks(y[perm], v[perm], X[perm], study[perm])
    for s3, s2 in [(0.05, 0.02), (0.0, 0.3), (1.2, 0.0)]:
        ev = blocks.evaluate(s3, s2, reml)
        ll, grad, b = _dense(y, v, X, study, s3, s2, reml)
        assert ev["ll"] == pytest.approx(ll, abs=1e-9)
        np.testing.assert_allclose(ev["grad"], grad, atol=1e-8)
        np.testing.assert_allclose(ev["beta"], b, atol=1e-10)


def test_row_order_does_not_matter() -> None:
    d = DATA["assink"]
    perm = np.random.default_rng(1).permutation(len(d))
    e = d.iloc[perm]
    a = rma_mv(d.yi, d.vi, d.study, d.esid, d[["year"]])
    b = rma_mv(e.yi, e.vi, e.study, e.esid, e[["year"]])
    np.testing.assert_allclose(a.sigma2, b.sigma2, atol=1e-9)
    np.testing.assert_allclose(a.beta, b.beta, atol=1e-10)
    np.testing.assert_allclose(a.se, b.se, atol=1e-10)


def test_missing_rows_dropped_with_warning() -> None:
    d = DATA["assink"].copy()
    d.loc[[3, 10], "yi"] = np.nan
    d.loc[20, "year"] = np.nan
    fit = rma_mv(d.yi, d.vi, d.study, d.esid, d[["year"]])
    clean = d.drop(index=[3, 10, 20])
    ref = rma_mv(clean.yi, clean.vi, clean.study, clean.esid, clean[["year"]])
    assert fit.k == 97
    assert "4, 11, 21" in fit.warnings[0]
    np.testing.assert_allclose(fit.beta, ref.beta, atol=1e-12)
    assert list(fit.rows[:5]) == [0, 1, 2, 4, 5]


def test_to_dict_contract() -> None:
    fit = fit_case(REF["multilevel"]["reml_deltype"]["spec"])
    out = fit.to_dict()
    contract = {"k", "method", "tau2", "tau2_se", "I2", "H2", "QE", "QEp", "QM", "QMp", "R2", "coefficients",
                "pi_lb", "pi_ub", "sigma2"}
    assert contract <= set(out) and set(out) - contract == {"I2_levels", "n_studies", "warnings"}
    assert out["tau2"] is None and out["R2"] is None and out["pi_lb"] is None
    assert out["sigma2"] == pytest.approx(fit.sigma2)
    assert [c["name"] for c in out["coefficients"]] == fit.coef_names
    assert set(out["coefficients"][0]) == {"name", "estimate", "se", "stat", "p", "ci_lb", "ci_ub", "df"}
    assert out["coefficients"][0]["df"] is None
    json.dumps(out, allow_nan=False)
    t = fit_case(REF["multilevel"]["reml_year_t"]["spec"]).to_dict()
    assert t["coefficients"][1]["df"] == 98


def test_summary_text() -> None:
    fit = fit_case(REF["multilevel"]["reml_year_t"]["spec"])
    text = fit.summary()
    assert "Multivariate Meta-Analysis Model (k = 100; method: REML)" in text
    assert "F(df1 = 1, df2 = 98)" in text and f"{fit.sigma2[0]:.4f}" in text and "year" in text


def _assink():
    return DATA["assink"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.assign(vi=d.vi.where(d.index != 5, 0.0)), "positive"),
        (lambda d: d.assign(study=1), "at least 2 studies"),
        (lambda d: d.assign(study=np.arange(len(d))), "single effect size"),
        (lambda d: d.assign(esid=1), "repeat within a study"),
    ],
)
def test_bad_input_raises(mutate, message: str) -> None:
    d = mutate(_assink().copy())
    with pytest.raises(AnalysisError, match=message):
        rma_mv(d.yi, d.vi, d.study, d.esid)


def test_bad_options_and_moderators() -> None:
    d = _assink()
    with pytest.raises(AnalysisError, match="method"):
        rma_mv(d.yi, d.vi, d.study, d.esid, method="DL")
    with pytest.raises(AnalysisError, match="test"):
        rma_mv(d.yi, d.vi, d.study, d.esid, test="knha")
    with pytest.raises(AnalysisError, match="one level"):
        rma_mv(d.yi, d.vi, d.study, d.esid, pd.DataFrame({"g": ["a"] * len(d)}))
    with pytest.raises(AnalysisError, match="same length"):
        rma_mv(d.yi, d.vi[:-1], d.study, d.esid)


def test_redundant_moderator_dropped_with_warning() -> None:
    d = _assink()
    fit = rma_mv(d.yi, d.vi, d.study, d.esid, pd.DataFrame({"year": d.year, "year2": 2 * d.year}))
    assert fit.coef_names == ["intrcpt", "year"]
    assert any("redundant" in w for w in fit.warnings)


def test_large_k_is_fast_and_sane() -> None:
    import time

    rng = np.random.default_rng(11)
    study = np.repeat(np.arange(100), 10)
    vi = rng.uniform(0.01, 0.1, 1000)
    yi = 0.3 + rng.normal(0, 0.3, 100)[study] + rng.normal(0, 0.2, 1000) + rng.normal(0, np.sqrt(vi))
    t0 = time.perf_counter()
    fit = rma_mv(yi, vi, study, np.tile(np.arange(10), 100))
    assert time.perf_counter() - t0 < 2.0
    assert fit.sigma2[0] == pytest.approx(0.09, rel=0.4) and fit.sigma2[1] == pytest.approx(0.04, rel=0.3)
