"""``metasift meta``, ``bias``, ``influence``, ``subgroup`` and ``effect-size``: the analysis commands.

Each reads a CSV (one row per effect size), runs the pure functions in ``analysis/`` and prints either
rich tables laid out like metafor's output or, with ``--json``, one JSON object on stdout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from metasift.cli._common import (
    JsonOption,
    console,
    emit_json,
    err_console,
    info,
    multilevel_columns,
    warn,
)
from metasift.cli._csvdata import CsvData, number
from metasift.csvsafe import LINE_END, safe_cell
from metasift.errors import AnalysisError
from metasift.lazy import LazyModule

np = LazyModule("numpy")

METHOD_HELP = ("tau² estimator: FE (fixed effect), DL, REML (default), ML, PM, HE, SJ, EB, HS — "
               "as in metafor's rma().")
FileArg = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                         help="CSV file with one row per effect size.")
YiOption = typer.Option(..., "--yi", help="Column with the effect sizes.")
ViOption = typer.Option(..., "--vi", help="Column with the sampling variances.")
SlabOption = typer.Option(None, "--slab", help="Column with study labels (default: Study 1..k).")
LevelOption = typer.Option(95.0, "--level", help="Confidence level in percent.")


# ---------------------------------------------------------------------------------------------------
# Reading the data


def read_table(path: Path) -> CsvData:
    """Read the CSV (without pandas: ``_csvdata``); an unreadable file becomes an AnalysisError."""
    return CsvData.read(path)


def column(df: CsvData, name: str) -> np.ndarray:
    """The named column (typed as pandas would), or an AnalysisError naming it and the columns that exist."""
    if name not in df:
        raise AnalysisError(f"no column {name!r} in the data; available: {', '.join(map(str, df.columns))}")
    return df.values(name)


def numeric(df: CsvData, name: str) -> np.ndarray:
    """The named column as floats; text that is not a number is an error naming the rows."""
    col = column(df, name)
    if col.dtype != object:
        return col.astype(float)
    nums = [np.nan if isinstance(c, float) else number(c) for c in col]
    bad = [i for i, x in enumerate(nums) if x is None]
    if bad:
        rows = ", ".join(f"row {i + 2} ({col[i]!r})" for i in bad[:5])
        raise AnalysisError(f"column {name!r} has values that are not numbers: {rows}")
    return np.array(nums, dtype=float)


def _labels(df: CsvData, slab: str | None) -> list[str] | None:
    return None if slab is None else [str(s) for s in column(df, slab)]


def _mods(df: CsvData, spec: str | None) -> Any:
    """The moderator columns as a pandas DataFrame (pandas is imported only when there are some)."""
    if not spec:
        return None
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        column(df, n)
    return df.frame()[names].reset_index(drop=True)


@contextmanager
def progress_bar(label: str, total: int, quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr (for loops over studies); yields a callback taking the count done."""
    if quiet or total < 100:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda done: prog.update(task, completed=done)


def print_table(table: Table) -> None:
    """Print a table at its natural width (like R's printout, wide tables wrap in the terminal
    rather than having their numbers cut to '0.44…')."""
    from rich import box
    from rich.measure import Measurement

    table.box = box.SIMPLE_HEAD
    needed = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    from rich.console import Console

    wide = Console(width=needed, file=console.file, force_terminal=console.is_terminal,
                   color_system=console.color_system, highlight=False)
    wide.print(table)


def _fmt(x: float | None, digits: int = 4) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------------------
# meta


def _print_rma(fit: Any) -> None:
    from metasift.analysis._rma import coef_rows, fit_header, heterogeneity_ci

    console.print()
    for line in fit_header(fit):
        console.print(line, highlight=False)
    if fit.method != "FE" and fit.int_only:
        try:
            ci = heterogeneity_ci(fit)
            console.print(f"\n{ci.level:g}% Q-profile CIs: tau^2 {ci.tau2[1]:.4f} to {ci.tau2[2]:.4f}; "
                          f"I^2 {ci.I2[1]:.2f}% to {ci.I2[2]:.2f}%; H^2 {ci.H2[1]:.2f} to {ci.H2[2]:.2f}",
                          highlight=False, soft_wrap=True)
        except AnalysisError as exc:
            warn(f"no CI for tau²: {exc}")
    head, rows = coef_rows(fit)
    table = Table(title="Model Results", header_style="bold", title_justify="left")
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    for r in rows:
        table.add_row(*r)
    print_table(table)
    if fit.pi_lb is not None:
        console.print(f"{fit.level:g}% prediction interval: {fit.pi_lb:.4f} to {fit.pi_ub:.4f}", highlight=False)
    console.print("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", style="dim")


def meta(
    file: Path = FileArg,
    yi: str = YiOption,
    vi: str = ViOption,
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    test: str = typer.Option("z", "--test", help="z (normal) or knha (Knapp–Hartung t and F tests)."),
    mods: str = typer.Option(None, "--mods", help="Moderators, comma separated: a column (text columns become "
                             "treatment-coded dummies named factor(col)level; numbers stay continuous) or a "
                             "comparison such as 'female_pct > 70' or 'control_type == \"waitlist\"', which "
                             "enters as a 0/1 indicator (as [analysis] moderators in review.toml)."),
    cluster: str = typer.Option(None, "--cluster", help="Cluster column (e.g. study): cluster-robust "
                                "(RVE) standard errors with Satterthwaite df, and a robust Wald test (HTZ) "
                                "of each moderator."),
    rve: str = typer.Option("CR2", "--rve", help="Small-sample correction with --cluster: CR2 or CR1."),
    rho: float = typer.Option(None, "--rho", help="With --cluster: assumed within-cluster correlation; "
                              "uses robumeta's correlated-effects weights."),
    multilevel: str = typer.Option(None, "--multilevel", help="STUDYCOL/ESCOL: three-level model, effect "
                                   "sizes (ESCOL) nested in studies (STUDYCOL), as rma.mv."),
    slab: str = SlabOption,
    level: float = LevelOption,
    json_out: bool = JsonOption,
) -> None:
    """Fit a meta-analysis (random or fixed effects, optional meta-regression) like metafor's rma().

    Rows with missing yi, vi or moderators are dropped with a warning naming them.
    With --multilevel and/or --cluster the three-level model and/or robust variance estimation are used.
    """
    df = read_table(file)
    y, v = numeric(df, yi), numeric(df, vi)
    mod_df = _mod_expressions(df, mods)
    if test.lower() not in ("z", "knha"):
        raise AnalysisError(f"--test must be z or knha, not {test!r}")
    if multilevel or cluster:
        fit = _fit_dependent(df, y, v, mod_df, method, test.lower(), level, multilevel, cluster, rve, rho)
    else:
        from metasift.analysis import rma

        fit = rma(y, v, mod_df, method=method, test=test, level=level, labels=_labels(df, slab))
    for w in getattr(fit, "warnings", []) or []:
        warn(w)
    tests = _moderator_tests(fit, mod_df)
    if json_out:
        out = fit.to_dict()
        if tests is not None:
            out["moderator_tests"] = tests
        emit_json(out)
        return
    if hasattr(fit, "tau2") and hasattr(fit, "vt"):
        _print_rma(fit)
    else:
        console.print(fit.summary(), highlight=False)
    if tests:
        console.print("\nModerator tests (robust Wald, HTZ):", highlight=False)
        for t in tests:
            console.print(f"  {t['moderator']}: F(df1 = {t['df_num']:g}, df2 = {t['df_denom']:.2f}) = {t['F']:.4f}, "
                          f"p-val {_p(t['p'])}", highlight=False)


def _mod_expressions(df: Any, spec: str | None) -> Any:
    """``--mods``: columns as ``_mods`` reads them, except that a comparison (``female_pct > 70``) becomes a 0/1
    indicator column named by the expression (missing where the field is missing), as ``[analysis] moderators``
    codes it (``metasift.moderators``)."""
    if not spec:
        return None
    from metasift.moderators import parse_moderator

    parsed = [parse_moderator(s) for s in spec.split(",") if s.strip()]
    if not any(m.is_indicator for m in parsed):
        return _mods(df, spec)
    import pandas as pd  # moderator tables are pandas DataFrames (analysis._rma.design_matrix)

    frame = df.frame()
    out = {}
    for m in parsed:
        column(df, m.field)  # an unknown column is an error listing the ones there are
        col = frame[m.field]
        if not m.is_indicator:
            out[m.text] = col.reset_index(drop=True)
            continue
        held = [m.holds(None if pd.isna(x) else x) for x in col]
        bad = [str(x) for x, h in zip(col, held) if h is None and not pd.isna(x)]
        if bad:
            raise AnalysisError(f"--mods {m.text!r}: value {bad[0]!r} of column {m.field!r} cannot be compared "
                                f"with {m.value!r}")
        out[m.text] = pd.Series([np.nan if h is None else float(h) for h in held])
    return pd.DataFrame(out)


def _moderator_tests(fit: Any, mod_df: Any) -> list[dict[str, Any]] | None:
    """With cluster-robust inference (``--cluster``) and moderators: the robust Wald test (HTZ, clubSandwich
    ``Wald_test``) that all coefficients of each moderator are zero, so a categorical one is tested whole."""
    if mod_df is None or not hasattr(fit, "wald_test"):
        return None
    tests = []
    for name in mod_df.columns:
        cols = [c for c in fit.coef_names if c == name or c.startswith(f"factor({name})")]
        if not cols:
            continue
        htz = fit.wald_test(cols)["HTZ"]
        tests.append({"moderator": str(name), "coefficients": cols, "F": float(htz["Fstat"]),
                      "df_num": float(htz["df_num"]), "df_denom": float(htz["df_denom"]),
                      "p": float(htz["p_val"]), "test": "HTZ"})
    return tests


def _fit_dependent(df: CsvData, y: np.ndarray, v: np.ndarray, mod_df: Any, method: str,
                   test: str, level: float, multilevel: str | None, cluster: str | None, rve: str,
                   rho: float | None) -> Any:
    """Three-level model and/or RVE (their modules imported only when asked for)."""
    study = es = None
    if multilevel:
        study, es = (column(df, c) for c in multilevel_columns(multilevel))
    try:
        if cluster:
            from metasift.analysis.rve import meta_rve

            ml_es = (study, es) if multilevel else None
            return meta_rve(y, v, column(df, cluster), mod_df, rve=rve, rho=rho,
                            multilevel_es=ml_es, method=method.upper())
        from metasift.analysis.multilevel import rma_mv

        return rma_mv(y, v, study, es, mod_df, method=method.upper(), test="t" if test == "knha" else "z",
                      level=level)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("analysis."):
            raise AnalysisError("multilevel/RVE models are not available in this build") from None
        raise


# ---------------------------------------------------------------------------------------------------
# bias


def bias(
    file: Path = FileArg,
    yi: str = YiOption,
    vi: str = ViOption,
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    estimator: str = typer.Option("L0", "--estimator", help="Trim-and-fill estimator: L0 or R0."),
    multilevel: str = typer.Option(None, "--multilevel", help="STUDYCOL/ESCOL: effect sizes nested in studies. "
                                   "Adds the Egger-type test on the three-level model (standard error as a "
                                   "moderator, its slope tested with CR2 robust variance, clustered by study) and "
                                   "runs the classic tests on one aggregated effect per study (--rho)."),
    rho: float = typer.Option(0.6, "--rho", help="With --multilevel: assumed within-study correlation used to "
                              "aggregate each study's effect sizes into one (metafor aggregate, compound "
                              "symmetry) for the classic tests."),
    slab: str = SlabOption,
    json_out: bool = JsonOption,
) -> None:
    """Small-study effects and publication bias tests, as metafor.

    Egger's regression test (rma with sei as moderator, and the classic weighted lm), Begg's rank
    correlation, trim and fill (L0 or R0; side from the Egger-type slope), fail-safe N (Rosenthal,
    Orwin with target = mean/2, Rosenberg). The table also shows PET-PEESE.

    With --multilevel STUDYCOL/ESCOL (several effect sizes per study) the first test is the Egger-type test
    on the three-level model (rma.mv with sqrt(vi) as moderator, CR2 + Satterthwaite on its slope; the
    intercept is the PET estimate), and the classic tests run on one aggregated effect per study, never
    on dependent effect sizes as if independent.
    """
    from metasift.analysis import rma
    from metasift.analysis.bias import fsn, pet_peese, ranktest, regtest, trimfill

    df = read_table(file)
    ml = None
    if multilevel:
        ml, fit = _bias_multilevel(df, yi, vi, multilevel, method, rho, slab)
    else:
        fit = rma(numeric(df, yi), numeric(df, vi), method=method, labels=_labels(df, slab))
    for w in fit.warnings:
        warn(w)
    eg, eg_lm, rk = regtest(fit), regtest(fit, "lm"), ranktest(fit)
    tf, fs = trimfill(fit, estimator), fsn(fit)
    if json_out:
        out = {"egger": {"z": eg.stat, "p": eg.p},
               "egger_lm": {"t": eg_lm.stat, "p": eg_lm.p, "df": eg_lm.df},
               "ranktest": {"tau": rk.tau, "p": rk.p},
               "trimfill": {"k0": tf.k0, "side": tf.side, "estimate": tf.estimate, "se": tf.se},
               "fsn": {"rosenthal": fs.rosenthal, "orwin": fs.orwin, "rosenberg": fs.rosenberg}}
        if ml is not None:
            out = {"egger_multilevel": ml.to_dict(), "aggregated": {"rho": rho, "k": fit.k}, **out}
        emit_json(out)
        return
    pp = pet_peese(fit)
    on = f"; classic tests on one aggregated effect per study, rho = {rho:g}" if ml is not None else ""
    table = Table(title=f"Small-study effects (k = {fit.k}; model {fit.method}{on})", header_style="bold",
                  title_justify="left")
    for col in ("test", "statistic", "p", "detail"):
        table.add_column(col, justify="left" if col in ("test", "detail") else "right")
    if ml is not None:
        table.add_row(f"Egger-type ({ml.model}, sei, {ml.rve})", f"t = {ml.t:.4f}", _p(ml.p),
                      f"df = {ml.df:.2f}; {ml.k} effect sizes in {ml.n_studies} studies; slope {ml.slope:.4f} "
                      f"(se {ml.slope_se:.4f}); PET estimate {ml.pet_estimate:.4f} "
                      f"[{ml.pet_ci_lb:.4f}, {ml.pet_ci_ub:.4f}]")
    stat_name = "t" if fit.test == "knha" else "z"
    table.add_row("Egger (rma, sei)", f"{stat_name} = {eg.stat:.4f}", _p(eg.p),
                  f"limit estimate {eg.estimate:.4f} [{eg.ci_lb:.4f}, {eg.ci_ub:.4f}]")
    table.add_row("Egger (weighted lm)", f"t = {eg_lm.stat:.4f}", _p(eg_lm.p), f"df = {eg_lm.df:g}")
    table.add_row("Rank correlation", f"tau = {rk.tau:.4f}", _p(rk.p),
                  "exact p" if rk.exact else "normal approximation (ties)")
    table.add_row(f"Trim and fill ({tf.estimator})", f"k0 = {tf.k0}", "",
                  f"{tf.side} side; filled estimate {tf.estimate:.4f} (SE {tf.se:.4f})")
    table.add_row("Fail-safe N (Rosenthal)", str(fs.rosenthal), _p(fs.rosenthal_p), "alpha 0.05, Stouffer")
    table.add_row("Fail-safe N (Orwin)", str(fs.orwin), "", f"target {fs.orwin_target:.4f}")
    table.add_row("Fail-safe N (Rosenberg)", str(fs.rosenberg), _p(fs.rosenberg_p), "alpha 0.05")
    table.add_row("PET-PEESE", f"{pp.estimate:.4f}", "",
                  f"{pp.chosen} chosen; PET {pp.pet_estimate:.4f} (p {_p(pp.pet_p)}), "
                  f"PEESE {pp.peese_estimate:.4f}")
    print_table(table)


def _bias_multilevel(df: Any, yi: str, vi: str, multilevel: str, method: str, rho: float,
                     slab: str | None) -> tuple[Any, Any]:
    """``bias --multilevel``: the three-level Egger-type test on every effect size, and the random-effects
    model on one aggregated effect per study that the classic tests then use."""
    from metasift.analysis.bias import egger_multilevel
    from metasift.analysis.dependence import aggregated_rma

    parts = multilevel_columns(multilevel)
    y, v = numeric(df, yi), numeric(df, vi)
    study, es = (column(df, c).tolist() for c in parts)
    ml = egger_multilevel(y, v, study, es, method=method.upper())
    labels = _labels(df, slab) or [str(s) for s in study]
    fit = aggregated_rma(y, v, study, rho, method=method.upper(), test="knha", labels=labels)  # as the report
    return ml, fit


# ---------------------------------------------------------------------------------------------------
# influence


def influence(
    file: Path = FileArg,
    yi: str = YiOption,
    vi: str = ViOption,
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    test: str = typer.Option("z", "--test", help="z or knha."),
    mods: str = typer.Option(None, "--mods", help="Moderator columns (comma separated); leave-one-out "
                             "is only computed without moderators."),
    slab: str = SlabOption,
    json_out: bool = JsonOption,
) -> None:
    """Leave-one-out and influence diagnostics, as metafor's leave1out() and influence().

    Studentised deleted residuals, DFFITS, Cook's distance, COVRATIO, tau² and QE after deletion, hat
    values and weights; '*' marks studies metafor would flag as influential.
    """
    from metasift.analysis import rma
    from metasift.analysis.influence import influence as influence_fn
    from metasift.analysis.influence import leave1out

    df = read_table(file)
    fit = rma(numeric(df, yi), numeric(df, vi), _mods(df, mods), method=method, test=test,
              labels=_labels(df, slab))
    for w in fit.warnings:
        warn(w)
    loo = None
    if fit.int_only:
        with progress_bar("leave-one-out", fit.k, json_out) as cb:
            loo = leave1out(fit, progress=cb)
    with progress_bar("influence", fit.k, json_out) as cb:
        inf = influence_fn(fit, progress=cb)
    if json_out:
        emit_json({
            "leave1out": [] if loo is None else [
                {"estimate": float(loo.estimate[i]), "se": float(loo.se[i]), "tau2": float(loo.tau2[i]),
                 "I2": float(loo.I2[i])} for i in range(fit.k)],
            "influence": [{"rstudent": float(inf.rstudent[i]), "cook_d": float(inf.cook_d[i]),
                           "hat": float(inf.hat[i]), "dffits": float(inf.dffits[i])} for i in range(fit.k)],
        })
        return
    if loo is not None:
        t = Table(title="Leave-one-out", header_style="bold", title_justify="left")
        for h in ("omitted", "estimate", "se", "zval" if fit.test == "z" else "tval", "pval", "ci.lb", "ci.ub",
                  "Q", "Qp", "tau2", "I2", "H2"):
            t.add_column(h, justify="left" if h == "omitted" else "right")
        for i, lab in enumerate(loo.labels):
            t.add_row(lab, *(_fmt(x) for x in (loo.estimate[i], loo.se[i], loo.stat[i])), _p(loo.pval[i]),
                      _fmt(loo.ci_lb[i]), _fmt(loo.ci_ub[i]), _fmt(loo.Q[i]), _p(loo.Qp[i]), _fmt(loo.tau2[i]),
                      _fmt(loo.I2[i], 2), _fmt(loo.H2[i]))
        print_table(t)
    t = Table(title="Influence diagnostics", header_style="bold", title_justify="left")
    for h in ("study", "rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight", "inf"):
        t.add_column(h, justify="left" if h == "study" else "right")
    for i, lab in enumerate(inf.labels):
        t.add_row(lab, *(_fmt(getattr(inf, a)[i]) for a in ("rstudent", "dffits", "cook_d", "cov_r",
                                                              "tau2_del", "QE_del", "hat")),
                  _fmt(inf.weight[i], 2), "*" if inf.is_influential[i] else "")
    print_table(t)


def _p(p: float) -> str:
    from metasift.analysis._rma import fmt_p

    return fmt_p(p)


# ---------------------------------------------------------------------------------------------------
# subgroup


def subgroup(
    file: Path = FileArg,
    yi: str = YiOption,
    vi: str = ViOption,
    by: str = typer.Option(..., "--by", help="Column holding the subgroup of each effect size."),
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    test: str = typer.Option("z", "--test", help="z or knha."),
    multilevel: str = typer.Option(None, "--multilevel", help="STUDYCOL/ESCOL: effect sizes nested in studies; "
                                   "each group's model is three-level with CR2 robust variance where a study "
                                   "gives several of its effect sizes, and the test is the robust Wald (HTZ)."),
    level: float = LevelOption,
    json_out: bool = JsonOption,
) -> None:
    """Subgroup analysis with a test for subgroup differences.

    Each group gets its own model (own tau²) and the between-groups Q test compares their estimates
    (fixed-effect Q over the group estimates, df = groups − 1); the mixed-effects moderator test QM
    with one common tau² is shown as well. With --multilevel (dependent effect sizes) each group gets its
    own three-level model (CR2, or random-effects where each study gives one) and the test is the robust
    Wald test of the grouping as a moderator.
    """
    from metasift.analysis.subgroup import subgroup as subgroup_fn

    df = read_table(file)
    if multilevel:
        _subgroup_dependent(df, yi, vi, by, multilevel, method, test, level, json_out)
        return
    res = subgroup_fn(numeric(df, yi), numeric(df, vi), column(df, by).tolist(), method=method, test=test,
                      level=level)
    for w in res.warnings:
        warn(w)
    if json_out:
        emit_json(res.to_dict())
        return
    t = Table(title=f"Subgroups by {by} ({method.upper()})", header_style="bold", title_justify="left")
    for h in ("group", "k", "estimate", "se", "ci.lb", "ci.ub", "tau2", "I2"):
        t.add_column(h, justify="left" if h == "group" else "right")
    for lv, f in res.fits.items():
        t.add_row(lv, str(f.k), _fmt(f.beta[0]), _fmt(f.se[0]), _fmt(f.ci_lb[0]), _fmt(f.ci_ub[0]),
                  _fmt(f.tau2), f"{f.I2:.2f}%")
    print_table(t)
    console.print(f"Test for subgroup differences (separate tau²): Q_between(df = {res.Q_between_df}) = "
                  f"{res.Q_between:.4f}, p-val {_p(res.Q_between_p)}", highlight=False)
    stat = "F" if test.lower() == "knha" else "QM"
    console.print(f"Moderator test (common tau²): {stat}(df = {res.QM_df}) = {res.QM:.4f}, p-val {_p(res.QMp)}",
                  highlight=False)


def _subgroup_dependent(df: CsvData, yi: str, vi: str, by: str, multilevel: str, method: str, test: str,
                        level: float, json_out: bool) -> None:
    """``subgroup --multilevel``: analysis.metareg.subgroups on dependent effect sizes."""
    from metasift.analysis.metareg import subgroups

    study, es = (column(df, c).tolist() for c in multilevel_columns(multilevel))
    table = subgroups(numeric(df, yi), numeric(df, vi), study, es, column(df, by).tolist(), variable=by,
                      method=method.upper(), test=test.lower(), level=level)
    for w in table.warnings:
        warn(w)
    if json_out:
        emit_json(table.to_dict())
        return
    t = Table(title=f"Subgroups by {by} (studies nested: {multilevel})", header_style="bold", title_justify="left")
    for h in ("group", "studies", "k", "estimate", "ci.lb", "ci.ub", "p", "model"):
        t.add_column(h, justify="left" if h in ("group", "model") else "right")
    for r in table.rows:
        if r.estimate is None:
            t.add_row(r.level, str(r.n_studies), str(r.k), "", "", "", "", r.note or "")
        else:
            t.add_row(r.level, str(r.n_studies), str(r.k), _fmt(r.estimate), _fmt(r.ci_lb), _fmt(r.ci_ub), _p(r.p),
                      r.model or "")
    print_table(t)
    if table.test is not None:
        console.print(f"Test of subgroup differences (robust Wald, HTZ; {table.test_model}): "
                      f"F(df1 = {table.test.df_num:g}, df2 = {table.test.df_denom:.2f}) = {table.test.F:.4f}, "
                      f"p-val {_p(table.test.p)}", highlight=False)


# ---------------------------------------------------------------------------------------------------
# effect-size


def _col_or_value(df: CsvData, spec: str | None, what: str) -> np.ndarray | float:
    """A column name, or a number used for every row (e.g. an assumed correlation)."""
    if spec is None:
        raise AnalysisError(f"this measure needs {what}")
    if spec in df:
        return numeric(df, spec)
    try:
        return float(spec)
    except ValueError:
        column(df, spec)  # raises with the list of columns
        raise


def _where(i: int, labels: list[str] | None) -> str:
    """Row ``i`` (0-based) of the data as users see it: 1-based data row, CSV line, study label."""
    label = f", study {labels[i]!r}" if labels is not None else ""
    return f"data row {i + 1} (line {i + 2}{label})"


def _study_labels(df: CsvData, slab: str | None) -> list[str] | None:
    """The --slab column, else a column named ``study`` when there is one, else None."""
    if slab is not None:
        return _labels(df, slab)
    return _labels(df, "study") if "study" in df else None


def _name_rows(err: Any, labels: list[str] | None) -> AnalysisError:
    """``InvalidInput`` from ``analysis.effect_sizes`` restated with each row's data row and study."""
    if not err.rows:
        return AnalysisError(err.what)
    shown = "; ".join(_where(i, labels) for i in err.rows[:10])
    more = f" and {len(err.rows) - 10} more" if len(err.rows) > 10 else ""
    return AnalysisError(f"{err.what}: {shown}{more}")


def _neutralised(df: Any) -> Any:
    """The table (a pandas DataFrame) with text cells and column names a spreadsheet would run as formulas
    prefixed with ``'``; numbers (yi, vi, a negative mean) stay numbers."""
    import pandas as pd

    out = df.rename(columns=lambda c: safe_cell(c) if isinstance(c, str) else c)
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]):  # object or pandas' string dtype
            out[name] = out[name].map(safe_cell, na_action="ignore")
    return out


def effect_size(
    file: Path = FileArg,
    measure: str = typer.Option(..., "--measure", help="SMD, MD, RR, OR, RD, SMCC or SMCR."),
    out: Path = typer.Option(..., "--out", help="Write the input table plus yi and vi to this CSV."),
    m1: str = typer.Option(None, "--m1", help="Mean of group 1 (SMD/MD) or post-test mean (SMCC/SMCR)."),
    sd1: str = typer.Option(None, "--sd1", help="SD of group 1; for SMCR the pre-test SD."),
    n1: str = typer.Option(None, "--n1", help="Size of group 1 (SMD/MD/t/F/p; with --ai for RR/OR/RD)."),
    m2: str = typer.Option(None, "--m2", help="Mean of group 2 (SMD/MD) or pre-test mean (SMCC/SMCR)."),
    sd2: str = typer.Option(None, "--sd2", help="SD of group 2; for SMCC the pre-test SD."),
    n2: str = typer.Option(None, "--n2", help="Size of group 2 (with --ci for RR/OR/RD: group size)."),
    ai: str = typer.Option(None, "--ai", help="Events in group 1 (RR/OR/RD)."),
    bi: str = typer.Option(None, "--bi", help="Non-events in group 1 (or give --n1)."),
    ci: str = typer.Option(None, "--ci", help="Events in group 2."),
    di: str = typer.Option(None, "--di", help="Non-events in group 2 (or give --n2)."),
    n: str = typer.Option(None, "--n", help="Sample size for SMCC/SMCR (one group measured twice)."),
    r: str = typer.Option(None, "--r", help="Pre-post correlation for SMCC/SMCR: a column or a number "
                          "(an assumed value, e.g. 0.5)."),
    t: str = typer.Option(None, "--t", help="SMD from an independent-samples t statistic (with --n1/--n2)."),
    f: str = typer.Option(None, "--f", help="SMD from F(1, df) (with --n1/--n2, sign from --sign)."),
    p: str = typer.Option(None, "--p", help="SMD from a two-sided p value (with --n1/--n2, sign from --sign)."),
    sign: str = typer.Option(None, "--sign", help="Column (or number) whose sign gives the direction for --f/--p."),
    slab: str = typer.Option(None, "--slab", help="Column with study labels, named in errors and warnings "
                             "(default: a column called 'study', if any)."),
    json_out: bool = JsonOption,
) -> None:
    """Compute effect sizes (yi) and sampling variances (vi) per row, as metafor's escalc().

    SMD: Hedges' g (exact correction, metafor's variance) from --m1 --sd1 --n1 --m2 --sd2 --n2.
    SMD from a test: --t, --f or --p with --n1 --n2 (--sign gives the direction for F and p).
    MD: raw mean difference from the same columns as SMD.
    RR, OR (as logs) and RD: --ai --bi --ci --di, or --ai --n1 --ci --n2; zero cells get 0.5 added.
    SMCC: mean change over the SD of the change (--m1 post, --m2 pre, --sd1, --sd2, --n, --r).
    SMCR: mean change over the pre-test SD (--m1 post, --m2 pre, --sd1 pre-test SD, --n, --r).

    Impossible inputs (a negative SD or count, a group of size 0, more events than participants, |r| > 1)
    are an error naming each data row and study. Rows metafor gives NA (a missing value, a pooled SD of 0)
    are written with empty yi and vi and a warning naming each row and why; never ±inf.
    Text cells a spreadsheet would run as formulas are written with a leading '.
    """
    from metasift.analysis import effect_sizes as es

    df = read_table(file)
    labels = _study_labels(df, slab)
    try:
        res = _compute(es, df, measure, m1=m1, sd1=sd1, n1=n1, m2=m2, sd2=sd2, n2=n2, ai=ai, bi=bi, ci=ci,
                       di=di, n=n, r=r, t=t, f=f, p=p, sign=sign)
    except es.InvalidInput as exc:
        raise _name_rows(exc, labels) from None
    _write_effects(df.frame(), res, out, labels, json_out)


def _non_events(es: Any, events: Any, size: Any) -> np.ndarray:
    """Group size − events, once ``counts_from_n`` has checked them (no negatives, events ≤ size)."""
    return es.counts_from_n(events, size, 0.0, 0.0)[1]


def _compute(es: Any, df: CsvData, measure: str, **opt: str | None) -> Any:
    """The effect sizes the options ask for (``analysis.effect_sizes.EffectSizes``)."""
    key = measure.upper()
    m1, sd1, n1, m2, sd2, n2 = (opt[k] for k in ("m1", "sd1", "n1", "m2", "sd2", "n2"))
    ai, bi, ci, di, n, r = (opt[k] for k in ("ai", "bi", "ci", "di", "n", "r"))
    t, f, p, sign = (opt[k] for k in ("t", "f", "p", "sign"))

    def col(spec: str | None, what: str) -> Any:
        return _col_or_value(df, spec, what)

    if key == "SMD" and m1 is None and any(x is not None for x in (t, f, p)):
        nn1, nn2 = col(n1, "--n1"), col(n2, "--n2")
        sgn = col(sign, "--sign") if sign is not None else 1.0
        if t is not None:
            res = es.smd_from_t(col(t, "--t"), nn1, nn2)
        elif f is not None:
            res = es.smd_from_f(col(f, "--f"), nn1, nn2, sgn)
        else:
            res = es.smd_from_p(col(p, "--p"), nn1, nn2, sgn)
    elif key in ("SMD", "MD"):
        fn = es.smd if key == "SMD" else es.md
        res = fn(col(m1, "--m1"), col(sd1, "--sd1"), col(n1, "--n1"), col(m2, "--m2"), col(sd2, "--sd2"),
                 col(n2, "--n2"))
    elif key in ("RR", "OR", "RD"):
        a, c = col(ai, "--ai"), col(ci, "--ci")
        b = col(bi, "--bi") if bi is not None else _non_events(es, a, col(n1, "--bi or --n1"))
        d = col(di, "--di") if di is not None else _non_events(es, c, col(n2, "--di or --n2"))
        res = {"RR": es.log_rr, "OR": es.log_or, "RD": es.rd}[key](a, b, c, d)
    elif key == "SMCC":
        res = es.smcc(col(m1, "--m1"), col(m2, "--m2"), col(sd1, "--sd1"), col(sd2, "--sd2"), col(r, "--r"),
                      col(n, "--n"))
    elif key == "SMCR":
        res = es.smcr(col(m1, "--m1"), col(m2, "--m2"), col(sd1, "--sd1"), col(r, "--r"), col(n, "--n"))
    else:
        raise AnalysisError(f"unknown --measure {measure!r}; choose SMD, MD, RR, OR, RD, SMCC or SMCR")
    return res


def _write_effects(df: Any, res: Any, out: Path, labels: list[str] | None, json_out: bool) -> None:
    """Write the table (a pandas DataFrame) plus yi and vi (NA rows empty, each named in a warning with its reason)."""
    key = res.measure
    outdf = df.copy()
    for name in ("yi", "vi"):
        if name in outdf.columns:
            warn(f"column {name!r} already exists and is replaced")
    yi = np.broadcast_to(res.yi, (len(df),)).astype(float)
    vi = np.broadcast_to(res.vi, (len(df),)).astype(float)
    why = np.broadcast_to(np.asarray(res.why if res.why is not None else "", dtype=object), (len(df),))
    bad = ~(np.isfinite(yi) & np.isfinite(vi))  # the module already gives NaN; never write ±inf regardless
    outdf["yi"], outdf["vi"] = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    left_out = [{"row": int(i) + 1, "line": int(i) + 2, "study": labels[i] if labels is not None else None,
                 "why": str(why[i]) or "no finite effect size"} for i in np.flatnonzero(bad)]
    for item in left_out[:20]:
        warn(f"{key}: {_where(item['row'] - 1, labels)} left out: {item['why']}")
    if len(left_out) > 20:
        warn(f"{key}: {len(left_out) - 20} more rows left out (--json lists them all)")
    missing = [item["line"] for item in left_out]
    _neutralised(outdf).to_csv(out, index=False, lineterminator=LINE_END)
    if json_out:
        emit_json({"measure": key, "rows": len(outdf), "computed": len(outdf) - len(missing),
                   "missing_rows": missing, "left_out": left_out, "out": str(out)})
        return
    info(f"wrote {len(outdf) - len(missing)} {key} effect sizes to {out}")
    table = Table(title=f"{key} (first rows)", header_style="bold", title_justify="left")
    for h in ("row", "yi", "vi"):
        table.add_column(h, justify="right")
    for i in range(min(10, len(outdf))):
        table.add_row(str(i + 2), _fmt(outdf["yi"].iloc[i]), _fmt(outdf["vi"].iloc[i]))
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the metasift app."""
    app.command("meta")(meta)
    app.command("bias")(bias)
    app.command("influence")(influence)
    app.command("subgroup")(subgroup)
    app.command("effect-size")(effect_size)
