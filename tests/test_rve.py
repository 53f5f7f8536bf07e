"""Robust variance estimation (analysis/rve.py): parity with clubSandwich 0.5.8 and robumeta 2.0.

Reference values come from tests/reference/multilevel.R (R 4.2.2, metafor 3.8-1, clubSandwich 0.5.8,
robumeta 2.0); R never runs here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from metasift.analysis._cr2 import (
    CRResult,
    _matrix_power,
    cluster_index,
    cr_vcov,
    satterthwaite_df,
    wald_tests,
)
from metasift.analysis._rma import RMAFit, rma
from metasift.analysis.multilevel import MultilevelFit, rma_mv
from metasift.analysis.rve import RobuFit, RobustFit, meta_rve, robu, robust
from metasift.errors import AnalysisError

REF_DIR = Path(__file__).resolve().parent / "reference"
REF = json.loads((REF_DIR / "multilevel.json").read_text())
ASSINK = pd.read_csv(REF_DIR / "data" / "dat_assink2016.csv")
ROBU_DATA = {
    "assink": ASSINK.rename(columns={"yi": "y", "vi": "v", "study": "s"}),
    "hierdat": pd.read_csv(REF_DIR / "data" / "robu_hierdat.csv").rename(
        columns={"effectsize": "y", "var": "v", "studyid": "s"}),
    "corrdat": pd.read_csv(REF_DIR / "data" / "robu_corrdat.csv").rename(
        columns={"effectsize": "y", "var": "v", "studyid": "s"}),
}

# CR1/CR2 + Satterthwaite + Wald given R's variance components (closed form): worst seen 2.0e-14 on df.
TOL_CR_CLOSED = 1e-9
# Wald F statistics given R's variance components, relative: worst seen 3.6e-15.
TOL_WALD_REL = 1e-9
# End to end with our own variance-component fits, relative: worst seen 3.5e-7 (df of the two-level
# model, whose tau2 from analysis._rma differs from metafor's by 1e-6: metafor's Fisher scoring stops
# at threshold 1e-5); three-level fits: 2.8e-8 (sigma2 differences, see test_multilevel.py).
TOL_E2E_REL = 1e-5
# robumeta is closed form: worst seen 1.8e-13 (hierdat CI bounds, floating point).
TOL_ROBU = 1e-9

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def arr(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


def mods_of(name: str | None) -> pd.DataFrame | None:
    return None if name is None else ASSINK[[name]]


def gls_beta(X: np.ndarray, y: np.ndarray, V: np.ndarray) -> np.ndarray:
    """GLS estimate with a dense marginal covariance (test-only brute force)."""
    Vi = np.linalg.inv(V)
    return np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)


def working_model(model: str, exact: bool):
    """The fitted model an R ``cr`` case used; with ``exact`` its variance components are R's."""
    if model.startswith("mv_"):
        ref = REF["multilevel"][model[3:]]
        sp = ref["spec"]
        fit = rma_mv(ASSINK.yi, ASSINK.vi, ASSINK.study, ASSINK.esid, mods_of(sp["mods"]),
                     method=sp["method"], test=sp["test"])
        if exact:
            fit = dataclasses.replace(fit, sigma2=list(ref["sigma2"]))
            V = fit.marginal_cov(np.arange(fit.k))
            fit = dataclasses.replace(fit, beta=gls_beta(fit.X, fit.yi, V))
        return fit
    ref = REF["uni"][model[4:]]
    fit = rma(ASSINK.yi, ASSINK.vi, mods_of(ref["spec"]["mods"]))
    if exact:
        tau2 = ref["tau2"]
        fit = dataclasses.replace(fit, tau2=tau2, beta=gls_beta(fit.X, fit.yi, np.diag(fit.vi + tau2)))
    return fit


@pytest.mark.metafor
@pytest.mark.parametrize("case", sorted(REF["cr"]))
def test_cr_parity_given_variance_components(case: str) -> None:
    ref = REF["cr"][case]
    rf = robust(working_model(ref["model"], exact=True), ASSINK.study, type=ref["type"])
    for ours, key in [(rf.beta, "beta"), (rf.se, "SE"), (rf.stat, "tstat"), (rf.df, "df"), (rf.pval, "p"),
                      (rf.ci_lb, "ci_lb"), (rf.ci_ub, "ci_ub")]:
        np.testing.assert_allclose(ours, arr(ref[key]), rtol=0, atol=TOL_CR_CLOSED, err_msg=key)
    np.testing.assert_allclose(rf.vb, np.asarray(ref["vcov"]).reshape(rf.vb.shape), rtol=0, atol=TOL_CR_CLOSED)
    if "wald" in ref:
        tests = rf.wald_test(list(range(1, len(rf.beta))))
        for name in ("HTZ", "Naive-F", "chi-sq"):
            r, o = ref["wald"][name], tests[name]
            assert o["Fstat"] == pytest.approx(r["Fstat"], rel=TOL_WALD_REL), name
            assert o["delta"] == pytest.approx(r["delta"], rel=TOL_WALD_REL), name
            assert o["df_num"] == r["df_num"]
            if r["df_denom"] != "Inf":
                assert o["df_denom"] == pytest.approx(r["df_denom"], rel=TOL_WALD_REL), name
            else:
                assert o["df_denom"] == np.inf
            assert o["p_val"] == pytest.approx(r["p_val"], rel=TOL_WALD_REL, abs=1e-300), name
        assert rf.QM == pytest.approx(ref["wald"]["HTZ"]["Fstat"], rel=TOL_WALD_REL)
        assert rf.QMdf[1] == pytest.approx(ref["wald"]["HTZ"]["df_denom"], rel=TOL_WALD_REL)


@pytest.mark.metafor
@pytest.mark.parametrize("case", sorted(REF["cr"]))
def test_cr_parity_end_to_end(case: str) -> None:
    ref = REF["cr"][case]
    rf = robust(working_model(ref["model"], exact=False), ASSINK.study, type=ref["type"])
    for ours, key in [(rf.beta, "beta"), (rf.se, "SE"), (rf.df, "df"), (rf.ci_lb, "ci_lb"), (rf.ci_ub, "ci_ub")]:
        np.testing.assert_allclose(ours, arr(ref[key]), rtol=TOL_E2E_REL, atol=1e-12, err_msg=key)
    if "wald" in ref:
        assert rf.QM == pytest.approx(ref["wald"]["HTZ"]["Fstat"], rel=TOL_E2E_REL)
        assert rf.QMp == pytest.approx(ref["wald"]["HTZ"]["p_val"], rel=TOL_E2E_REL)


@pytest.mark.metafor
def test_prediction_interval_matches_metafor_robust() -> None:
    ref = REF["metafor_robust"]
    rf = robust(working_model("mv_reml", exact=True), ASSINK.study)
    assert rf.se[0] == pytest.approx(ref["se"], abs=TOL_CR_CLOSED)
    assert rf.df[0] == pytest.approx(ref["df"], abs=TOL_CR_CLOSED)
    assert rf.pi_lb == pytest.approx(ref["pi_lb"], abs=TOL_CR_CLOSED)
    assert rf.pi_ub == pytest.approx(ref["pi_ub"], abs=TOL_CR_CLOSED)
    assert rf.ci_lb[0] == pytest.approx(ref["ci_lb"], abs=TOL_CR_CLOSED)


def fit_robu(spec: dict) -> RobuFit:
    d = ROBU_DATA[spec["data"]]
    rhs = spec["formula"].split("~")[1].strip()
    mods = None if rhs == "1" else d[[c.strip() for c in rhs.split("+")]]
    return robu(d.y, d.v, d.s, mods, model=spec["modelweights"], rho=spec["rho"], small=spec["small"])


@pytest.mark.metafor
@pytest.mark.parametrize("case", sorted(REF["robu"]))
def test_robu_parity(case: str) -> None:
    ref = REF["robu"][case]
    fit = fit_robu(ref["spec"])
    assert (fit.n_studies, fit.k) == (ref["N"], ref["M"])
    for ours, key in [(fit.beta, "b"), (fit.se, "SE"), (fit.stat, "t"), (fit.df, "df"), (fit.pval, "p"),
                      (fit.ci_lb, "ci_lb"), (fit.ci_ub, "ci_ub")]:
        np.testing.assert_allclose(ours, arr(ref[key]), rtol=0, atol=TOL_ROBU, err_msg=key)
    p = len(fit.beta)
    vr = np.asarray(ref["VR"]).reshape(p, p)
    if not ref["spec"]["small"]:        # robumeta keeps VR.r unscaled and scales the SE by N/(N-p)
        vr = vr * fit.n_studies / (fit.n_studies - p)
    np.testing.assert_allclose(fit.vb, vr, rtol=0, atol=TOL_ROBU)
    assert fit.tau2 == pytest.approx(ref["tau2"], abs=TOL_ROBU)
    if ref["omega2"] is not None:
        assert fit.omega2 == pytest.approx(ref["omega2"], abs=TOL_ROBU)
    if ref["I2"] is not None:
        assert fit.I2 == pytest.approx(ref["I2"], abs=TOL_ROBU)
    if "wald_htz" in ref:
        w = ref["wald_htz"]
        assert fit.QM_test == "HTZ"
        assert fit.QM == pytest.approx(w["Fstat"], rel=TOL_WALD_REL)
        assert fit.QMdf[1] == pytest.approx(w["df_denom"], rel=TOL_WALD_REL)
        assert fit.QMp == pytest.approx(w["p_val"], rel=TOL_WALD_REL)


# --- the algebra clubSandwich does with J x J arrays, done literally, against our expansions ----------


def _literal_satterthwaite(cr: CRResult) -> np.ndarray:
    out = []
    for i in range(cr.H.shape[1]):
        h = cr.H[:, i, :]
        P = -(h @ h.T)
        P[np.diag_indices_from(P)] += [np.sum(g[i] ** 2) for g in cr.G]
        out.append(2 * np.trace(P) ** 2 / (2 * np.sum(P**2)))
    return np.array(out)


def _literal_htz_nu(cr: CRResult, C: np.ndarray) -> float:
    q, J = C.shape[0], cr.n_clusters
    Gc = [C @ g for g in cr.G]
    Hc = np.einsum("qp,jpu->jqu", C, cr.H)
    P = -np.einsum("jsu,ktu->stjk", Hc, Hc)
    for j in range(J):
        P[:, :, j, j] += Gc[j] @ Gc[j].T
    on = _matrix_power(np.einsum("stjj->st", P), -0.5)
    B = np.einsum("sa,abjk,bt->stjk", on, P, on)
    var = np.zeros((q, q))
    for s in range(q):
        for t in range(q):
            var[s, t] = np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t])
    return q * (q + 1) / var.sum()


@pytest.mark.parametrize("type_", ["CR1", "CR2"])
def test_expanded_traces_match_literal_clubsandwich(type_: str) -> None:
    rng = np.random.default_rng(3)
    sizes = [1, 1, 2, 3, 5, 1, 4, 2, 6, 3, 1, 2]          # unequal clusters, some singletons
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    k = len(cluster)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, k), rng.normal(size=k)])
    index = cluster_index(cluster)
    theta = []
    for ix in index:
        a = rng.normal(size=(len(ix), len(ix)))
        theta.append(a @ a.T + np.eye(len(ix)))            # arbitrary positive definite working blocks
    resid = rng.normal(size=k)
    cr = cr_vcov(X, resid, theta, index, type_)
    np.testing.assert_allclose(satterthwaite_df(cr), _literal_satterthwaite(cr), rtol=1e-10)
    beta = rng.normal(size=4)
    for C in (np.eye(4)[1:], np.eye(4)[[2]], np.array([[0, 1.0, -1, 0], [0, 0, 1, 1]])):
        nu = _literal_htz_nu(cr, C)
        htz = wald_tests(cr, beta, C)["HTZ"]
        assert htz["df_denom"] == pytest.approx(nu - C.shape[0] + 1, rel=1e-10)


def test_cr2_is_unbiased_under_the_working_model() -> None:
    # Bell-McCaffrey: with inverse-variance weights E[e_j e_j'] = Theta_j - X_j M X_j' and CR2 picks A_j with
    # A_j (Theta_j - X_j M X_j') A_j' = Theta_j, so the expected CR2 covariance is exactly the model's
    # M = (X' W X)^-1.  sum_j G_j G_j' - H_j H_j' is that expectation (clubSandwich's E[V] in G/H form).
    fit = working_model("mv_reml_year_t", exact=False)
    index = cluster_index(fit.study)
    theta = [fit.marginal_cov(ix) for ix in index]
    cr = cr_vcov(fit.X, fit.yi - fit.X @ fit.beta, theta, index, "CR2")
    expected = sum(g @ g.T for g in cr.G) - np.einsum("jpu,jqu->pq", cr.H, cr.H)
    np.testing.assert_allclose(expected, cr.bread, rtol=1e-9)
    np.testing.assert_allclose(cr.bread, fit.vb, rtol=1e-9)
    cr1 = cr_vcov(fit.X, fit.yi - fit.X @ fit.beta, theta, index, "CR1")   # CR1 is not unbiased
    assert not np.allclose(sum(g @ g.T for g in cr1.G) - np.einsum("jpu,jqu->pq", cr1.H, cr1.H), cr1.bread)


# --- behaviour -----------------------------------------------------------------------------------------


def test_single_cluster_and_mismatches_raise() -> None:
    fit = working_model("uni_reml", exact=False)
    with pytest.raises(AnalysisError, match="at least 2 clusters"):
        robust(fit, np.ones(fit.k))
    with pytest.raises(AnalysisError, match="has 99 values"):
        robust(fit, ASSINK.study[:-1])
    with pytest.raises(AnalysisError, match="missing"):
        robust(fit, ASSINK.study.where(ASSINK.index != 3))
    with pytest.raises(AnalysisError, match="CR0, CR1 or CR2"):
        robust(fit, ASSINK.study, type="CR3")
    ml = working_model("mv_reml", exact=False)
    with pytest.raises(AnalysisError, match="not nested"):
        robust(ml, ASSINK.esid)                       # es ids cut across studies
    with pytest.raises(AnalysisError, match="RMAFit or MultilevelFit"):
        robust(SimpleNamespace(k=ml.k, X=ml.X, beta=ml.beta, yi=ml.yi), ASSINK.study)


def test_singleton_clusters_work_and_all_singletons_warn() -> None:
    fit = working_model("uni_reml_year", exact=False)
    some = robust(fit, ASSINK.study)                  # 3 studies hold one effect size
    assert not any("single effect size" in w for w in some.warnings)
    every = robust(fit, np.arange(fit.k))
    assert any("every cluster holds a single effect size" in w for w in every.warnings)
    assert np.all(np.isfinite(every.se)) and np.all(every.df > 0)


def test_coarser_clusters_than_studies_are_allowed() -> None:
    ml = working_model("mv_reml", exact=False)
    groups = (ASSINK.study % 5).to_numpy()           # each study in exactly one of 5 clusters
    rf = robust(ml, groups)
    assert rf.n_clusters == 5 and np.isfinite(rf.se[0])


def test_robust_to_dict_contract_and_summary() -> None:
    rf = robust(working_model("mv_reml_year_t", exact=False), ASSINK.study)
    out = rf.to_dict()
    contract = {"k", "method", "tau2", "tau2_se", "I2", "H2", "QE", "QEp", "QM", "QMp", "R2", "coefficients",
                "pi_lb", "pi_ub", "sigma2"}
    assert contract <= set(out)
    assert [c["df"] for c in out["coefficients"]] == pytest.approx(list(rf.df))
    assert out["QM"] == pytest.approx(rf.QM) and out["rve"]["QM_test"] == "HTZ" and out["rve"]["n_clusters"] == 17
    assert out["pi_lb"] is None
    json.dumps(out, allow_nan=False)
    text = rf.summary()
    assert "CR2" in text and "year" in text and "HTZ" in text
    uni = robust(working_model("uni_reml", exact=False), ASSINK.study, type="CR1").to_dict()
    assert uni["tau2"] is not None and uni["pi_lb"] < uni["coefficients"][0]["estimate"] < uni["pi_ub"]
    json.dumps(uni, allow_nan=False)


def test_robu_to_dict_and_summary() -> None:
    corr = fit_robu(REF["robu"]["corrdat_corr"]["spec"])
    out = corr.to_dict()
    assert out["method"] == "RVE-CORR" and out["tau2"] == pytest.approx(corr.tau2) and out["sigma2"] is None
    assert out["rve"]["rho"] == 0.8 and out["coefficients"][0]["name"] == "intrcpt"
    json.dumps(out, allow_nan=False)
    hier = fit_robu(REF["robu"]["hierdat_hier"]["spec"]).to_dict()
    assert hier["tau2"] is None and hier["sigma2"][1] == pytest.approx(REF["robu"]["hierdat_hier"]["omega2"])
    assert "Rho = 0.8" in corr.summary() and "Omega.sq" in fit_robu(REF["robu"]["hierdat_hier"]["spec"]).summary()


def test_robu_row_order_and_labels_do_not_matter() -> None:
    d = ROBU_DATA["corrdat"]
    perm = np.random.default_rng(2).permutation(len(d))
    e = d.iloc[perm]
    a = robu(d.y, d.v, d.s, d[["males", "binge"]])
    b = robu(e.y, e.v, "study-" + e.s.astype(int).astype(str), e[["males", "binge"]])
    np.testing.assert_allclose(a.beta, b.beta, atol=1e-12)
    np.testing.assert_allclose(a.se, b.se, atol=1e-12)
    np.testing.assert_allclose(a.df, b.df, atol=1e-9)


def test_robu_bad_input() -> None:
    d = ROBU_DATA["assink"]
    with pytest.raises(AnalysisError, match="rho"):
        robu(d.y, d.v, d.s, rho=1.5)
    with pytest.raises(AnalysisError, match="CORR or HIER"):
        robu(d.y, d.v, d.s, model="MIXED")
    with pytest.raises(AnalysisError, match="at least 2 studies"):
        robu(d.y, d.v, np.ones(len(d)))
    with pytest.raises(AnalysisError, match="positive"):
        robu(d.y, d.v * 0, d.s)
    singles = robu(d.y[:30], d.v[:30], np.arange(30))
    assert any("single effect size" in w for w in singles.warnings)


def test_meta_rve_routes() -> None:
    d = ASSINK
    corr = meta_rve(d.yi, d.vi, d.study, d[["year"]], rho=0.5)
    assert isinstance(corr, RobuFit) and corr.model == "CORR" and corr.rho == 0.5 and corr.small
    direct = robu(d.yi, d.vi, d.study, d[["year"]], rho=0.5)
    np.testing.assert_allclose(corr.se, direct.se)
    assert not meta_rve(d.yi, d.vi, d.study, rho=0.8, rve="CR1").small
    ml = meta_rve(d.yi, d.vi, d.study, d[["year"]], multilevel_es=d.esid)
    assert isinstance(ml, RobustFit) and isinstance(ml.fit, MultilevelFit) and ml.type == "CR2"
    np.testing.assert_allclose(ml.se, arr(REF["cr"]["mv_reml_year_t_CR2"]["SE"]), rtol=TOL_E2E_REL)
    uni = meta_rve(d.yi, d.vi, d.study, d[["year"]], rve="CR1")
    assert isinstance(uni, RobustFit) and isinstance(uni.fit, RMAFit) and uni.type == "CR1"
    np.testing.assert_allclose(uni.df, arr(REF["cr"]["uni_reml_year_CR1"]["df"]), rtol=TOL_E2E_REL)
    with pytest.raises(AnalysisError, match="CR1 or CR2"):
        meta_rve(d.yi, d.vi, d.study, rve="HC3")


def test_meta_rve_drops_missing_rows_consistently() -> None:
    d = ASSINK.copy()
    d.loc[[0, 50], "yi"] = np.nan
    d.loc[7, "study"] = np.nan
    out = meta_rve(d.yi, d.vi, d.study, d[["year"]])
    assert out.fit.k == 97 and "1, 8, 51" in out.warnings[0]
    clean = d.drop(index=[0, 7, 50])
    ref = meta_rve(clean.yi, clean.vi, clean.study, clean[["year"]])
    np.testing.assert_allclose(out.se, ref.se, rtol=1e-12)
    ml = meta_rve(d.yi, d.vi, d.study, d[["year"]], multilevel_es=d.esid)
    assert ml.fit.k == 97 and any("omitted" in w for w in ml.to_dict()["warnings"])
