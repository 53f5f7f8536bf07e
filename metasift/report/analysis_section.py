"""The report's analysis: pooled models as review.toml configures them, bias tests and plots.

Reads only the effect sizes computed from verified values (``extractor.effects``), so the report's
numbers are those a reviewer gets from ``metasift effects`` + ``metasift meta`` on the same store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from metasift.analysis import rma
from metasift.analysis.bias import fsn, ranktest, regtest, trimfill
from metasift.config import AnalysisConfig
from metasift.errors import AnalysisError


def _heterogeneity(d: dict[str, Any]) -> str:
    parts = []
    if d.get("tau2") is not None:
        parts.append(f"tau² = {d['tau2']:.4f}")
    if d.get("sigma2"):
        parts.append("σ² = " + ", ".join(f"{s:.4f}" for s in d["sigma2"]))
    if d.get("I2") is not None:
        parts.append(f"I² = {d['I2']:.1f}%")
    if d.get("QE") is not None:
        parts.append(f"Q = {d['QE']:.2f} (p = {d['QEp']:.3g})")
    if d.get("pi_lb") is not None:
        parts.append(f"95% PI [{d['pi_lb']:.3f}, {d['pi_ub']:.3f}]")
    return "; ".join(parts)


def pooled_models(effects: list[dict[str, Any]], config: AnalysisConfig) -> list[dict[str, Any]]:
    """The random-effects model, plus the three-level model and RVE when studies give several effects."""
    yi = np.array([e["yi"] for e in effects])
    vi = np.array([e["vi"] for e in effects])
    study = [e["study_id"] for e in effects]
    labels = [f"{e['study']} {e['measure'].split()[0]}" for e in effects]
    out = []
    fit = rma(yi, vi, method=config.method, test=config.test, labels=labels)
    d = fit.to_dict()
    out.append({"key": "rma", "label": f"Random-effects model ({config.method}, {config.test} test), k = {fit.k}",
                "fit": fit, **d, "has_df": d["coefficients"][0]["df"] is not None,
                "heterogeneity": _heterogeneity(d)})
    if len(set(study)) < len(study) and config.multilevel and len(set(study)) >= 2:
        from metasift.analysis.multilevel import rma_mv

        ml = rma_mv(yi, vi, study, [e["es_id"] for e in effects], method="REML")
        d = ml.to_dict()
        out.append({"key": "multilevel", "label": f"Three-level model (effects in {ml.n_studies} studies), REML",
                    **d, "has_df": False, "heterogeneity": _heterogeneity(d)})
        if config.rve != "none" and len(set(study)) >= 3:
            from metasift.analysis.rve import robust

            rv = robust(ml, study, type=config.rve)
            d = rv.to_dict()
            out.append({"key": "rve", "label": f"Three-level model with {config.rve} robust variance "
                                               f"(Satterthwaite df), clustered by study", **d, "has_df": True,
                        "heterogeneity": _heterogeneity(d)})
    return out


def bias_tests(fit: Any) -> dict[str, str]:
    """Egger, rank correlation, trim-and-fill and fail-safe N as one line each (k >= 3)."""
    if fit.k < 3:
        return {}
    out: dict[str, str] = {}
    try:
        eg = regtest(fit)
        out["Egger regression test (metafor regtest)"] = f"z = {eg.stat:.3f}, p = {eg.p:.4f}"
        rt = ranktest(fit)
        out["Rank correlation test"] = f"Kendall's tau = {rt.tau:.3f}, p = {rt.p:.4f}"
        tf = trimfill(fit)
        out["Trim-and-fill (L0)"] = (f"{tf.k0} studies filled on the {tf.side} side; adjusted estimate "
                                     f"{tf.estimate:.4f} (se {tf.se:.4f})")
        fs = fsn(fit)
        out["Fail-safe N"] = f"Rosenthal {fs.rosenthal}, Orwin {fs.orwin}, Rosenberg {fs.rosenberg}"
    except AnalysisError as exc:
        out["note"] = str(exc)
    return out


def analysis_plots(fit: Any, out_dir: Path) -> dict[str, Path]:
    from metasift.analysis.plots import forest, funnel, leave1out_plot

    paths = {"Forest plot": forest(fit, out_dir / "forest.png"), "Funnel plot": funnel(fit, out_dir / "funnel.png")}
    if fit.k >= 3:
        paths["Leave-one-out"] = leave1out_plot(fit, out_dir / "leave1out.png")
    return paths
