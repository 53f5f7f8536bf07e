"""The report's analysis: pooled models as review.toml configures them, bias tests and plots.

Reads only the effect sizes computed from verified values (``extractor.effects``), so the report's
numbers are those a reviewer gets from ``metasift effects`` + ``metasift meta`` on the same store.

Dependence is handled by default (issue #13). When any study gives more than one effect size, the primary
model is the three-level model (effect sizes within studies) with cluster-robust (CR2) variance and
Satterthwaite df, with both variance components and I² split by level; the random-effects model on one
effect per study (metafor ``aggregate``, compound symmetry with the assumed within-study correlation
``[analysis] rho``) is the sensitivity check, repeated over ``rho_sensitivity``; the plots and small-study
tests use those per-study effects. With one effect per study the primary model is the random-effects model
(``[analysis] test``, Knapp–Hartung by default).

``pooled_models`` returns a list of model entries (each with a ``role``: primary, sensitivity, rho_table or
comparison). Its first entry is always the random-effects model on every effect size as given (what
``metasift meta`` fits, the report.json contract) and carries, under ``"fit"``, the one-effect-per-study
fit the plots and bias tests are drawn from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from metasift.analysis import rma
from metasift.analysis.bias import fsn, ranktest, regtest, trimfill
from metasift.config import AnalysisConfig
from metasift.errors import AnalysisError
from metasift.pvalues import format_p, p_text


def _test_name(test: str) -> str:
    return "Knapp–Hartung" if test == "knha" else "z"


def _heterogeneity(d: dict[str, Any]) -> str:
    """One line: variance components, I² (split by level for the three-level model), Q test, 95% PI."""
    parts = []
    if d.get("tau2") is not None:
        parts.append(f"tau² = {d['tau2']:.4f}")
    split = d.get("I2_split")
    if d.get("sigma2") and split:
        s2 = d["sigma2"]
        parts.append(f"σ² between studies = {s2[0]:.4f} (I² = {split['between_studies']:.1f}%), "
                     f"σ² within studies = {s2[1]:.4f} (I² = {split['within_studies']:.1f}%), "
                     f"total I² = {split['total']:.1f}%")
    else:
        if d.get("sigma2"):
            parts.append("σ² = " + ", ".join(f"{s:.4f}" for s in d["sigma2"]))
        if d.get("I2") is not None:
            parts.append(f"I² = {d['I2']:.1f}%")
    if d.get("QE") is not None:
        df = f"({d['QE_df']})" if d.get("QE_df") is not None else ""
        parts.append(f"Q{df} = {d['QE']:.2f}, {format_p(d['QEp'])}")
    if d.get("pi_lb") is not None:
        parts.append(f"95% PI [{d['pi_lb']:.3f}, {d['pi_ub']:.3f}]")
    return "; ".join(parts)


def _entry(key: str, role: str, label: str, d: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A model entry: ``to_dict()`` numbers plus what the templates show (p as printed, heterogeneity line)."""
    d = {**d, **extra}
    for c in d["coefficients"]:
        c["p_text"] = p_text(c["p"])
    d["QE_df"] = d["k"] - len(d["coefficients"]) if d.get("QE") is not None else None
    has_df = bool(d["coefficients"]) and d["coefficients"][0]["df"] is not None
    return {"key": key, "role": role, "label": label, **d, "has_df": has_df, "heterogeneity": _heterogeneity(d)}


def _study_names(effects: list[dict[str, Any]]) -> list[str]:
    """Each row's study as shown in the per-study plots."""
    return [str(e.get("study") or e["study_id"]) for e in effects]


def _rho_list(rhos: list[float]) -> str:
    return ", ".join(f"{r:g}" for r in rhos)


def _independent(effects: list[dict[str, Any]], config: AnalysisConfig, labels: list[str]) -> list[dict[str, Any]]:
    """One effect per study: the usual random-effects model is primary."""
    yi = np.array([e["yi"] for e in effects])
    vi = np.array([e["vi"] for e in effects])
    fit = rma(yi, vi, method=config.method, test=config.test, labels=labels)
    n = len({e["study_id"] for e in effects})
    methods = (f"{fit.k} effect sizes from {n} studies; each study contributes one effect size, so the effect "
               f"sizes are independent and the primary model is a random-effects model ({config.method} "
               f"estimate of tau², {_test_name(config.test)} test and confidence interval).")
    entry = _entry("rma", "primary", f"Random-effects model ({config.method}, {config.test} test), k = {fit.k}",
                   fit.to_dict(), methods=methods)
    return [{**entry, "fit": fit}]


def _dependent(effects: list[dict[str, Any]], config: AnalysisConfig, labels: list[str]) -> list[dict[str, Any]]:
    """Several effects per study: three-level + robust variance primary, aggregated model as sensitivity."""
    from metasift.analysis.dependence import aggregated_rma, cluster_sizes, multilevel_i2, rho_sensitivity

    yi = np.array([e["yi"] for e in effects])
    vi = np.array([e["vi"] for e in effects])
    study = [e["study_id"] for e in effects]
    sizes = cluster_sizes(study)
    k, n, multi = len(effects), len(sizes), sum(s > 1 for s in sizes.values())
    naive = rma(yi, vi, method=config.method, test=config.test, labels=labels)
    first = _entry("rma", "comparison", f"Random-effects model treating all k = {k} effect sizes as independent "
                   f"({config.method}, {config.test} test; for comparison only: it ignores the dependence)",
                   naive.to_dict())
    notes: list[str] = []
    try:
        agg = aggregated_rma(yi, vi, study, config.rho, method=config.method, test=config.test,
                             labels=_study_names(effects))
    except AnalysisError as exc:  # a single study: nothing to pool between studies
        notes.append(f"the per-study model could not be fitted ({exc})")
        agg = None
    out = [{**first, "fit": agg if agg is not None else naive}]
    primary: str | None = None
    if config.multilevel and n >= 2:
        from metasift.analysis.multilevel import rma_mv

        try:
            ml = rma_mv(yi, vi, study, [e["es_id"] for e in effects], method=config.method)
        except AnalysisError as exc:
            notes.append(f"the three-level model could not be fitted ({exc})")
            ml = None
        if ml is not None:
            split = multilevel_i2(ml).to_dict()
            ml_label = f"Three-level model ({k} effect sizes in {n} studies, {config.method})"
            if config.rve != "none" and n >= 3:
                from metasift.analysis.rve import robust

                rv = robust(ml, study, type=config.rve)
                primary = "rve"
                out.append(_entry("rve", "primary", f"{ml_label} with {config.rve} robust variance and "
                                  "Satterthwaite df, clustered by study", rv.to_dict(), I2_split=split))
                out.append(_entry("multilevel", "sensitivity", f"{ml_label}, model-based standard errors",
                                  ml.to_dict(), I2_split=split))
            else:
                primary = "multilevel"
                out.append(_entry("multilevel", "primary", ml_label, ml.to_dict(), I2_split=split))
    if agg is not None:
        role = "sensitivity" if primary else "primary"
        out.append(_entry("aggregated", role, f"Random-effects model on one effect per study ({n} studies; "
                          f"aggregated with assumed within-study correlation ρ = {config.rho:g}; "
                          f"{config.method}, {config.test} test)", agg.to_dict(), rho=config.rho))
        rows = [r.to_dict() for r in rho_sensitivity(yi, vi, study, config.rho_sensitivity,
                                                     method=config.method, test=config.test)]
        for r in rows:
            r["p_text"] = p_text(r["p"])
        out.append({"key": "rho_sensitivity", "role": "rho_table", "label": "Sensitivity to the assumed "
                    f"within-study correlation ρ (one aggregated effect per study, {config.method}, "
                    f"{config.test} test)", "coefficients": [], "rows": rows})
        primary = primary or "aggregated"
    else:
        out[0]["role"] = "primary"
        primary = "rma"
    methods = _methods_text(config, k, n, multi, primary, notes)
    for m in out:
        if m["key"] == primary:
            m["methods"] = methods
    return out


def _methods_text(config: AnalysisConfig, k: int, n: int, multi: int, primary: str, notes: list[str]) -> str:
    """The analysis methods paragraph: what was pooled, which model is primary and why."""
    head = (f"{k} effect sizes from {n} studies; several studies contribute more than one effect size "
            f"({multi} of {n}), so")
    agg = (f"the effect sizes of each study were aggregated into one (inverse-variance weighted mean assuming "
           f"compound symmetry with within-study correlation ρ = {config.rho:g}; metafor aggregate) and pooled "
           f"with a random-effects model ({config.method}, {_test_name(config.test)} test)")
    grid = f"repeated for ρ = {_rho_list(config.rho_sensitivity)}" if config.rho_sensitivity else ""
    if primary == "rve":
        text = (f"{head} the primary model is a three-level random-effects model (effect sizes nested "
                f"within studies, {config.method}) with cluster-robust ({config.rve}) standard errors and "
                f"Satterthwaite degrees of freedom, clustered by study; heterogeneity is reported as the "
                f"between- and within-study variance components with I² split by level (Cheung 2014). "
                f"As a sensitivity check, {agg}" + (f", {grid}" if grid else "") + ".")
    elif primary == "multilevel":
        text = (f"{head} the primary model is a three-level random-effects model (effect sizes nested "
                f"within studies, {config.method}) with model-based standard errors; heterogeneity is "
                f"reported by level (Cheung 2014). As a sensitivity check, {agg}" + (f", {grid}" if grid else "")
                + ".")
    elif primary == "aggregated":
        text = f"{head} {agg}" + (f"; this is {grid}" if grid else "") + "."
    else:
        text = (f"{head} they should not be pooled as if independent, but no dependence-aware model could be "
                f"fitted; they are pooled as if independent, which overstates the precision of the estimate.")
    if primary != "rma":
        text += (f" The funnel plot and the classic small-study tests (Egger's regression, rank correlation, "
                 f"trim-and-fill, fail-safe N) use the {n} per-study effects (ρ = {config.rho:g}); small-study "
                 f"effects on every effect size are tested with an Egger-type test on the three-level model "
                 f"(the standard error as a moderator, its slope tested with {config.rve if config.rve != 'none' else 'CR2'} "
                 f"robust variance).")
    if notes:
        text += " Note: " + "; ".join(notes) + "."
    return text


def pooled_models(effects: list[dict[str, Any]], config: AnalysisConfig) -> list[dict[str, Any]]:
    """The report's models: dependence-aware primary model, sensitivity analyses, the naive model first."""
    labels = [f"{e['study']} {e['measure'].split()[0]}" for e in effects]
    from metasift.analysis.dependence import has_dependence

    if has_dependence([e["study_id"] for e in effects]):
        return _dependent(effects, config, labels)
    return _independent(effects, config, labels)


def bias_tests(fit: Any, effects: list[dict[str, Any]] | None = None,
               config: AnalysisConfig | None = None) -> dict[str, str]:
    """Small-study tests as one line each (k >= 3). When studies give several effect sizes (``effects``): first
    the Egger-type test on the three-level model (standard error as a moderator, its slope tested with
    cluster-robust variance), then the classic tests on ``fit``, the one aggregated effect per study, each
    label saying so; trim-and-fill only ever runs on that one effect per study."""
    if fit.k < 3:
        return {}
    from metasift.analysis.dependence import has_dependence

    out: dict[str, str] = {}
    dependent = effects is not None and has_dependence([e["study_id"] for e in effects])
    on = ""
    if dependent:
        out.update(_multilevel_egger(effects, config or AnalysisConfig()))
        rho = (config or AnalysisConfig()).rho
        on = f", on one aggregated effect per study ({fit.k} studies, ρ = {rho:g})"
    try:
        eg = regtest(fit)
        stat = f"t({eg.df:g}) = {eg.stat:.3f}" if eg.df is not None else f"z = {eg.stat:.3f}"
        out[f"Egger regression test (metafor regtest){on}"] = f"{stat}, {format_p(eg.p)}"
        rt = ranktest(fit)
        out[f"Rank correlation test{on}"] = f"Kendall's tau = {rt.tau:.3f}, {format_p(rt.p)}"
        tf = trimfill(fit)
        out[f"Trim-and-fill (L0){on}"] = (f"{tf.k0} studies filled on the {tf.side} side; adjusted estimate "
                                          f"{tf.estimate:.4f} (se {tf.se:.4f})")
        fs = fsn(fit)
        out[f"Fail-safe N{on}"] = f"Rosenthal {fs.rosenthal}, Orwin {fs.orwin}, Rosenberg {fs.rosenberg}"
    except AnalysisError as exc:
        out["note"] = str(exc)
    return out


def _multilevel_egger(effects: list[dict[str, Any]], config: AnalysisConfig) -> dict[str, str]:
    """The Egger-type test on every effect size: rma.mv with sqrt(vi) as moderator, CR2 on its slope."""
    from metasift.analysis.bias import egger_multilevel

    rve = config.rve if config.rve != "none" else "CR2"
    label = (f"Egger-type test on the three-level model (standard error as moderator, {rve} robust test of its "
             f"slope, all {len(effects)} effect sizes)")
    try:
        eg = egger_multilevel([e["yi"] for e in effects], [e["vi"] for e in effects],
                              [e["study_id"] for e in effects], [e["es_id"] for e in effects],
                              method=config.method, rve=rve)
    except AnalysisError as exc:
        return {label: f"not estimated: {exc}"}
    return {label: (f"slope {eg.slope:.3f} (se {eg.slope_se:.3f}), t({eg.df:.2f}) = {eg.t:.3f}, {format_p(eg.p)}; "
                    f"PET estimate (effect at standard error 0) {eg.pet_estimate:.3f} "
                    f"[{eg.pet_ci_lb:.3f}, {eg.pet_ci_ub:.3f}]")}


def leave_one_study_out_primary(effects: list[dict[str, Any]], config: AnalysisConfig) -> Any:
    """Leave-one-study-out of the three-level primary model (each study's effect sizes omitted together) when
    studies give several effect sizes; None otherwise (then the leave-one-out of the one-effect-per-study
    model is the same thing)."""
    from metasift.analysis.dependence import has_dependence
    from metasift.analysis.metareg import leave_one_study_out

    study = [str(e["study_id"]) for e in effects]
    if not config.multilevel or not has_dependence(study) or len(set(study)) < 3:
        return None
    names = dict(zip(study, _study_names(effects)))
    try:
        return leave_one_study_out([e["yi"] for e in effects], [e["vi"] for e in effects], study,
                                   [e["es_id"] for e in effects], method=config.method, rve=config.rve,
                                   test=config.test, labels=names)
    except AnalysisError:
        return None


def leave_one_study_out_rows(loso: Any) -> dict[str, Any]:
    """report.json's ``leave_one_study_out``: the full-data row and one row per omitted study, p as printed."""
    out = loso.to_dict()
    for row in [out["full"], *out["rows"]]:
        row["p_text"] = p_text(row["p"])
    return out


def grouped_forest_plot(effects: list[dict[str, Any]], models: list[dict[str, Any]], out_dir: Path,
                        config: AnalysisConfig | None = None) -> Path | None:
    """Every effect size grouped by study with the three-level primary model's diamond (its robust CI when it
    has one), its prediction interval and each effect size's % weight in the three-level model; None when the
    primary model is not the three-level model."""
    from metasift.analysis.multilevel import rma_mv
    from metasift.analysis.plots import PooledDiamond, grouped_forest

    primary = next((m for m in models if m["role"] == "primary"), None)
    if primary is None or primary["key"] not in ("rve", "multilevel"):
        return None
    c, s2 = primary["coefficients"][0], primary["sigma2"]
    pi = (primary["pi_lb"], primary["pi_ub"]) if primary.get("pi_lb") is not None else None
    label = "Three-level model" + (", CR2 robust CI" if primary["key"] == "rve" else "")
    pooled = PooledDiamond(label=f"{label} ({len(effects)} effect sizes)", estimate=c["estimate"],
                           ci_lb=c["ci_lb"], ci_ub=c["ci_ub"], pi=pi,
                           detail=f"σ² between studies = {s2[0]:.3f}, within studies = {s2[1]:.3f}")
    labels = [e["measure"] + (f", {e['timepoint']}" if e.get("timepoint") else "") for e in effects]
    yi, vi = [e["yi"] for e in effects], [e["vi"] for e in effects]
    method = config.method if config is not None else "REML"
    weights = rma_mv(yi, vi, [e["study_id"] for e in effects], [e["es_id"] for e in effects],
                     method=method).weights()
    return grouped_forest(yi, vi, labels, _study_names(effects), pooled, out_dir / "forest_by_study.png",
                          weights=weights, favours=config.favours if config is not None else None)


def analysis_plots(fit: Any, out_dir: Path, loso: Any = None, favours: list[str] | None = None) -> dict[str, Path]:
    """Forest and funnel plots of ``fit`` (``favours``: who each side of zero favours, under the forest plot's
    axis); the leave-one-out plot of ``loso`` (the primary model, one study at a time) when given, else of
    ``fit``."""
    from metasift.analysis.plots import forest, funnel, leave1out_plot, leave_one_study_out_plot

    paths = {"Forest plot": forest(fit, out_dir / "forest.png", favours=favours),
             "Funnel plot": funnel(fit, out_dir / "funnel.png", favours=favours)}
    if loso is not None and loso.full.estimate is not None:
        paths["Leave-one-study-out (primary model)"] = leave_one_study_out_plot(loso, out_dir / "leave1out.png")
    elif fit.k >= 3:
        paths["Leave-one-out"] = leave1out_plot(fit, out_dir / "leave1out.png")
    return paths
