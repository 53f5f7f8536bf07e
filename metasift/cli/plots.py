"""``metasift forest`` and ``metasift funnel``: meta-analysis plots from a CSV of effect sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from metasift.cli._common import JsonOption, emit_json, err_console, info, multilevel_columns, warn
from metasift.errors import AnalysisError, ImportFormatError

_FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                       help="CSV with one row per effect size (e.g. written by `metasift effect-size`).")
_YI = typer.Option(..., "--yi", help="Column with the effect sizes (log scale for ratio measures).")
_VI = typer.Option(..., "--vi", help="Column with their sampling variances.")
_SLAB = typer.Option(None, "--slab", help="Column with study labels (default: Study 1, Study 2, ...).")
_METHOD = typer.Option("REML", "--method",
                       help="tau² estimator: FE, DL, REML, ML, PM, HE, SJ, EB or HS (FE = fixed effect).")
_TEST = typer.Option("z", "--test", help="z, or knha for Knapp-Hartung t tests and CIs.")
_OUT = typer.Option(..., "--out", "-o", dir_okay=False,
                    help="File to write; the format follows the suffix: .png, .svg or .pdf.")
_XLAB = typer.Option(None, "--xlab", help="Label of the effect-size axis (e.g. 'Log risk ratio').")
_TITLE = typer.Option(None, "--title", help="Title printed above the plot.")


def _load(file: Path, yi: str, vi: str, extra: dict[str, str | None]) -> tuple[Any, list[str]]:
    """Read the CSV, check the columns, drop rows with missing values (warning names them); return rows and labels."""
    import pandas as pd

    try:
        df = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ImportFormatError(str(file), None, f"cannot read as CSV: {exc}") from None
    wanted = {"--yi": yi, "--vi": vi, **{k: v for k, v in extra.items() if v}}
    for opt, col in wanted.items():
        if col not in df.columns:
            raise AnalysisError(f"{opt}: no column {col!r} in {file.name}; columns are: "
                                f"{', '.join(map(str, df.columns))}")
    for opt, col in (("--yi", yi), ("--vi", vi)):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df.index[values.isna() & df[col].notna()]
        if len(bad):
            raise AnalysisError(f"{opt}: column {col!r} has non-numeric values (CSV rows "
                                f"{', '.join(str(i + 2) for i in bad[:10])})")
        df[col] = values
    slab = extra.get("--slab")
    labels = [f"Study {i + 1}" for i in range(len(df))]
    if slab:  # a row without a label keeps its number
        labels = [lab if isinstance(lab, str) or pd.notna(lab) else default
                  for lab, default in zip(df[slab].tolist(), labels)]
        labels = [str(lab) for lab in labels]
    cols = [col for opt, col in wanted.items() if opt != "--slab"]
    missing = df[cols].isna().any(axis=1).to_numpy()
    if missing.any():
        names = [labels[i] for i in range(len(df)) if missing[i]]
        warn(f"{len(names)} row(s) with missing values left out: {', '.join(names[:20])}"
             + (" ..." if len(names) > 20 else ""))
    keep = ~missing
    return df[keep].reset_index(drop=True), [lab for lab, ok in zip(labels, keep) if ok]


def _fit(df: Any, yi: str, vi: str, labels: list[str], method: str, test: str) -> Any:
    from metasift.analysis import rma

    fit = rma(df[yi].to_numpy(), df[vi].to_numpy(), method=method, test=test, labels=labels)
    for w in fit.warnings:
        warn(w)
    return fit


def _done(path: Path, k: int, what: str, json_out: bool) -> None:
    if json_out:
        emit_json({"path": str(path), "k": k})
    info(f"{what} written to {path}")


def forest(
    file: Path = _FILE, yi: str = _YI, vi: str = _VI, slab: str = _SLAB, method: str = _METHOD,
    test: str = _TEST,
    subgroup: str = typer.Option(None, "--subgroup", help="Column of subgroups: a pooled diamond per group "
                                 "(separate fits) and the test for subgroup differences."),
    transform: str = typer.Option("none", "--transform",
                                  help="'exp' for ratio measures (yi = log OR/RR/HR): ratios on a log axis, "
                                       "no-effect line at 1; 'none' keeps the scale of yi."),
    sort: str = typer.Option(None, "--sort", help="Row order: estimate, precision, weight or label "
                             "(default: file order; within subgroups when given)."),
    no_weights: bool = typer.Option(False, "--no-weights", help="Leave out the weight column."),
    no_pi: bool = typer.Option(False, "--no-pi", help="Leave out the prediction interval."),
    multilevel: str = typer.Option(None, "--multilevel", help="STUDYCOL/ESCOL: several effect sizes per study. "
                                   "Every effect size is drawn under its study with the three-level model's "
                                   "diamond (CR2 robust CI); with --subgroup, under its subgroup with a diamond "
                                   "per subgroup (each its own three-level model) and one overall."),
    favours: str = typer.Option(None, "--favours", help="LEFT,RIGHT: who each side of the line of no effect "
                                "favours, printed under the axis, e.g. 'intervention,control' when a negative "
                                "effect favours the intervention."),
    xlab: str = _XLAB, title: str = _TITLE, out: Path = _OUT, json_out: bool = JsonOption,
) -> None:
    """Forest plot in metafor's style: one row per study (square sized by weight, CI, weight %,
    estimate [CI]), the pooled diamond with the prediction interval as a dotted line, and the
    heterogeneity statistics. With --subgroup, one block and diamond per group plus the test for
    subgroup differences. With --multilevel STUDYCOL/ESCOL the dependence between a study's effect sizes
    is modelled (three-level model, CR2 robust CIs) instead of ignored."""
    from metasift.analysis.plots import build_forest_figure, save_figure

    if transform not in ("none", "exp"):
        raise AnalysisError(f"--transform must be 'none' or 'exp'; got {transform!r}")
    sides = _favours(favours)
    if multilevel:
        _forest_multilevel(file, yi, vi, slab, multilevel, subgroup, method, test, sides, title, out, json_out)
        return
    df, labels = _load(file, yi, vi, {"--slab": slab, "--subgroup": subgroup})
    fit = _fit(df, yi, vi, labels, method, test)
    with err_console.status("drawing the forest plot..."):
        fig = build_forest_figure(fit, subgroups=df[subgroup].tolist() if subgroup else None, sort=sort,
                                  show_weights=not no_weights, show_pi=not no_pi, title=title,
                                  transform=transform, xlab=xlab, favours=sides)
        path = save_figure(fig, out, tight=False)
    _done(path, fit.k, "forest plot", json_out)


def _favours(spec: str | None) -> list[str] | None:
    if spec is None:
        return None
    sides = [s.strip() for s in spec.split(",")]
    if len(sides) != 2 or not all(sides):
        raise AnalysisError(f"--favours wants LEFT,RIGHT (e.g. 'intervention,control'); got {spec!r}")
    return sides


def _forest_multilevel(file: Path, yi: str, vi: str, slab: str | None, multilevel: str, subgroup: str | None,
                       method: str, test: str, favours: list[str] | None, title: str | None, out: Path,
                       json_out: bool) -> None:
    """``forest --multilevel``: every effect size grouped by study (one diamond: the three-level model with
    CR2) or, with --subgroup, by subgroup (a diamond per subgroup and overall, the robust test under it)."""
    from metasift.analysis.plots import PooledDiamond, grouped_forest, subgroup_forest

    parts = multilevel_columns(multilevel)
    df, labels = _load(file, yi, vi, {"--slab": slab, "--subgroup": subgroup, "--multilevel study": parts[0],
                                      "--multilevel es": parts[1]})
    y, v = df[yi].to_numpy(), df[vi].to_numpy()
    study, es = df[parts[0]].astype(str).tolist(), df[parts[1]].astype(str).tolist()
    with err_console.status("drawing the forest plot..."):
        if subgroup:
            path, table = subgroup_forest(y, v, labels, study, es, df[subgroup].tolist(), out, method=method.upper(),
                                          test=test.lower(), title=title, favours=favours, variable=subgroup)
            for w in table.warnings:
                warn(w)
        else:
            from metasift.analysis.multilevel import rma_mv
            from metasift.analysis.rve import robust

            fit = rma_mv(y, v, study, es, method=method.upper())
            rob = robust(fit, study, type="CR2") if len(set(study)) >= 3 else None
            c = rob if rob is not None else fit
            pooled = PooledDiamond(label=f"Three-level model{', CR2 robust CI' if rob is not None else ''} "
                                   f"({fit.k} effect sizes)", estimate=float(c.beta[0]), ci_lb=float(c.ci_lb[0]),
                                   ci_ub=float(c.ci_ub[0]),
                                   pi=(c.pi_lb, c.pi_ub) if getattr(c, "pi_lb", None) is not None else None,
                                   detail=f"σ² between studies = {fit.sigma2[0]:.3f}, within studies = "
                                          f"{fit.sigma2[1]:.3f}")
            path = grouped_forest(y, v, labels, study, pooled, out, weights=fit.weights(), title=title,
                                  favours=favours)
    _done(path, len(y), "forest plot", json_out)


def funnel(
    file: Path = _FILE, yi: str = _YI, vi: str = _VI, slab: str = _SLAB, method: str = _METHOD,
    test: str = _TEST,
    trimfill: bool = typer.Option(False, "--trimfill", help="Add the studies imputed by trim-and-fill "
                                  "(L0 estimator, side chosen as metafor) as open circles."),
    contours: str = typer.Option("90,95,99", "--contours",
                                 help="Confidence levels (percent) of the shaded significance contours."),
    favours: str = typer.Option(None, "--favours", help="LEFT,RIGHT: who each side of zero favours, printed "
                                "under the axis, e.g. 'intervention,control'."),
    xlab: str = _XLAB, title: str = _TITLE, out: Path = _OUT, json_out: bool = JsonOption,
) -> None:
    """Contour-enhanced funnel plot: effect sizes against standard errors (axis pointing down), regions
    where a study is significant at each contour level shaded around 0, and the pseudo-confidence
    triangle around the pooled estimate. Asymmetry suggests small-study effects or publication bias."""
    from metasift.analysis.plots import build_funnel_figure, filled_studies, save_figure

    try:
        levels = [float(c) for c in contours.split(",") if c.strip()]
    except ValueError:
        raise AnalysisError(f"--contours must be numbers separated by commas, e.g. 90,95,99; got {contours!r}") \
            from None
    if not levels:
        raise AnalysisError("--contours needs at least one level, e.g. 95")
    sides = _favours(favours)
    df, labels = _load(file, yi, vi, {"--slab": slab})
    fit = _fit(df, yi, vi, labels, method, test)
    filled = est = None
    if trimfill:
        from metasift.analysis.bias import trimfill as run_trimfill

        tf = run_trimfill(fit)
        filled, est = filled_studies(tf)
        info(f"trim-and-fill: {tf.k0} stud{'y' if tf.k0 == 1 else 'ies'} imputed on the {tf.side} side; "
             f"adjusted estimate {tf.estimate:.4f} (SE {tf.se:.4f})")
    with err_console.status("drawing the funnel plot..."):
        fig = build_funnel_figure(fit, contours=levels, filled=filled, filled_estimate=est, xlab=xlab,
                                  title=title, favours=sides)
        path = save_figure(fig, out)
    _done(path, fit.k, "funnel plot", json_out)


def register(app: typer.Typer) -> None:
    """Add the plotting commands to the ``metasift`` app."""
    app.command("forest")(forest)
    app.command("funnel")(funnel)
