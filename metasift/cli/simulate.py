"""``metasift simulate``: how much screening work would the ranker have saved on a labelled dataset?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metasift.cli._common import JsonOption, console, emit_json, err_console, info
from metasift.errors import MetasiftError
from metasift.screener.ranker_names import DEFAULT_RANKER, RANKER_LABELS


def simulate(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, metavar="FILE.csv",
        help="Labelled records: CSV with columns title, abstract, label_included (1/0)."),
    seed: int = typer.Option(0, "--seed", "-s",
                             help="Random seed for the prior records (runs are repeatable)."),
    prior_included: int = typer.Option(1, "--prior-included", min=0,
                                       help="Included records known at the start (drawn at random)."),
    prior_excluded: int = typer.Option(1, "--prior-excluded", min=0,
                                       help="Excluded records known at the start (drawn at random)."),
    ranker: str = typer.Option(DEFAULT_RANKER, "--ranker", "-r",
                               help=f"Ranker: {', '.join(f'{n} ({label})' for n, label in RANKER_LABELS.items())}."),
    retrain: str = typer.Option("every", "--retrain", metavar="every|adaptive",
                                help="Retrain after every record (as ASReview), or adaptively: every record "
                                     "for the first 100, then in batches of 5 % of the work done (faster on "
                                     "big sets)."),
    stop: str = typer.Option("none", "--stop", metavar="none|buscar|heuristic|both",
                             help="Stop where a rule says: buscar (the statistical test), heuristic (N "
                                  "irrelevant in a row), both (run until both have fired), none (screen all)."),
    target_recall: float = typer.Option(0.95, "--target-recall", min=0.01, max=0.99,
                                        help="buscar's target recall (with --llm-oracle: the review's final "
                                             "target, humans plus automation)."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999,
                                     help="buscar's confidence (H0 'recall < target' rejected at p < 1 - it); "
                                          "with --llm-oracle also the calibration bound's."),
    heuristic_run: int = typer.Option(50, "--heuristic-run", min=1,
                                      help="The heuristic's irrelevant records in a row."),
    llm_oracle: str = typer.Option(None, "--llm-oracle", metavar="sens=0.90,spec=0.80",
                                   help="Simulate the whole screening system with a model of this known quality "
                                        "(sensitivity, specificity): calibration sample, routing, ranker, human "
                                        "queue and the buscar stop; reports final recall and work saved."),
    confidence_calibration: str = typer.Option("good", "--confidence-calibration", metavar="good|overconfident",
                                               help="With --llm-oracle: the simulated model's confidence is "
                                                    "calibrated, or high whatever its correctness."),
    routing_target: float = typer.Option(None, "--routing-target", min=0.5, max=0.999,
                                         help="With --llm-oracle: the recall calibration certifies for the "
                                              "automation on the records outside the sample ([routing] "
                                              "target_recall; default 0.98, which a set of ~2,000 records with "
                                              "~280 includes cannot certify: try 0.96)."),
    policy: str = typer.Option("calibrated", "--policy", metavar="calibrated|fixed",
                               help="With --llm-oracle: thresholds from calibrating on the sample, or the "
                                    "[routing] defaults as given (checked on the sample)."),
    sample: int = typer.Option(None, "--sample", min=2,
                               help="With --llm-oracle: calibration sample size (default: enough for "
                                    "calibration's needs, at most half the records)."),
    plot: Path = typer.Option(None, "--plot", dir_okay=False,
                              help="Save the recall curve to this image (.png, .pdf or .svg)."),
    json_out: bool = JsonOption,
) -> None:
    """Simulate active-learning screening of a labelled dataset, ASReview style.

    Starting from a few prior records, the ranker is retrained as the simulated reviewer screens the
    top-ranked record each time (after every record, unless --retrain adaptive). Reports
    WSS@95 / WSS@100 (work saved over screening everything, at 95 % / 100 % recall), RRF@10 (share of
    includes found in the first 10 % of records), ATD (average time to discovery, as a share of the
    records) and the recall curve. Metrics leave the prior records out.

    With --stop, the run also watches the buscar test (--target-recall, --confidence) and the heuristic
    (--heuristic-run irrelevant in a row) and reports where each stopped: records screened (priors
    included) and the recall there (over every include, priors counted as found). It ends at the chosen
    rule's stop; the rest is ordered by the last model without retraining.

    With --llm-oracle sens=S,spec=P the whole screening system is simulated instead, with a model of that
    known quality (verdicts drawn from the labels at those error rates; --confidence-calibration good or
    overconfident): a random calibration sample screened first, `metasift calibrate`'s thresholds, the
    routing policy, the human queue in ranker order and the buscar stop at the share of --target-recall
    left to the humans. Reports final recall (humans plus automation), work saved, and whether the
    calibrated bound held; any warning that the target cannot be promised is printed before the result.
    """
    from metasift.screener.labelled import read_labelled_csv
    from metasift.screener.simulate import StopRule, run_simulation

    if ranker not in RANKER_LABELS:
        raise MetasiftError(f"unknown ranker {ranker!r}; choose one of {', '.join(sorted(RANKER_LABELS))}")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise MetasiftError(f"{plot}: the plot must be a .png, .pdf or .svg file")
    if stop not in ("none", "buscar", "heuristic", "both"):
        raise MetasiftError(f"unknown --stop {stop!r}: use none, buscar, heuristic or both")
    if llm_oracle is not None:
        _simulate_system(file, llm_oracle, confidence_calibration, seed=seed, target_recall=target_recall,
                         confidence=confidence, routing_target=routing_target, policy=policy, sample=sample,
                         ranker=ranker, json_out=json_out)
        return
    rule = None if stop == "none" else StopRule(target_recall=target_recall, confidence=confidence,
                                                heuristic_run=heuristic_run, until=stop)
    data = read_labelled_csv(file)
    info(f"{file}: {len(data.labels)} records, {data.n_included} included; ranker {ranker}, seed {seed}")
    with Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("screening", total=len(data.labels))
        result = run_simulation(data.texts, data.labels, ranker=ranker, prior_included=prior_included,
                                prior_excluded=prior_excluded, seed=seed,
                                retrain=retrain, stop=rule,
                                progress=lambda done, total: bar.update(task, completed=done))
    if plot is not None:
        save_recall_plot(result, plot, title=file.name)
        info(f"recall curve saved to {plot}")
    if json_out:
        emit_json(summary(result))
        return
    console.print(_table(result, file.name))


def _simulate_system(file: Path, oracle: str, calibration: str, *, seed: int, target_recall: float,
                     confidence: float, routing_target: float | None, policy: str, sample: int | None,
                     ranker: str, json_out: bool) -> None:
    """``--llm-oracle``: one simulated review with a model of known quality (``screener.simulate_system``)."""
    from rich.markup import escape

    from metasift.screener.labelled import read_labelled_csv
    from metasift.screener.oracle import OracleQuality
    from metasift.screener.routing import RoutingPolicy
    from metasift.screener.simulate_system import SystemSettings, run_system

    if policy not in ("calibrated", "fixed"):
        raise MetasiftError(f"unknown --policy {policy!r}: use calibrated or fixed")
    quality = OracleQuality.parse(oracle, calibration)
    routing = RoutingPolicy() if routing_target is None else RoutingPolicy(target_recall=routing_target)
    settings = SystemSettings(target_recall=target_recall, confidence=confidence, routing=routing,
                              policy=policy, sample_size=sample, ranker=ranker)  # type: ignore[arg-type]
    data = read_labelled_csv(file)
    info(f"{file}: {len(data.labels)} records, {data.n_included} included; simulated model {quality.short()}, "
         f"seed {seed}")
    with err_console.status("simulating the review"):
        result = run_system(data.texts, data.labels, quality, seed=seed, settings=settings)
    for line in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {escape(line)}")
    if json_out:
        emit_json(result.model_dump(mode="json"))
        return
    for line in result.notes:
        info(escape(line))
    console.print(_system_table(result, file.name, target_recall))


def _system_table(r: Any, name: str, target: float) -> Table:
    table = Table(title=f"Simulated review: {name} ({r.quality.short()}, seed {r.seed})", header_style="bold")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    table.add_row("final recall", f"{r.final_recall:.1%}",
                  f"{r.found} of {r.n_included} includes found by humans (target {target:.0%}); "
                  f"{r.includes_auto_excluded} lost to automation")
    table.add_row("work saved", f"{r.work_saved:.1%}",
                  f"{r.n_records - r.human_workload} of {r.n_records} records never screened by a human")
    table.add_row("calibration sample", str(r.sample_size), f"{r.sample_includes} includes, screened first")
    pol = r.policy
    table.add_row("automation", "on" if r.automation else "off",
                  f"auto-exclude at model confidence >= {pol.llm_exclude_confidence:.3f} and ranker P(include) "
                  f"<= {pol.ranker_exclude_probability:.3f}" if r.automation else "every record goes to a human")
    if r.automation:
        held = "reached" if r.bound_held else "MISSED"
        table.add_row("automation recall", f"{r.automation_recall:.1%}",
                      f"outside the sample; bound {r.automation_recall_lower:.3f} ({r.bound}) "
                      f"(target {pol.target_recall}): {held}; "
                      f"{r.auto_excluded} records auto-excluded")
    stop = "screened to the end" if r.human_target is None else f"buscar at target {r.human_target:.3f}"
    table.add_row("human queue", f"{r.screened}/{r.queue}",
                  f"screened / routed to a human ({stop}; {'stopped early' if r.stopped_early else 'all'})")
    table.add_row("time", f"{r.seconds:.1f} s", f"{r.n_refits} ranker fits")
    return table


def summary(result: Any) -> dict[str, Any]:
    """The JSON the command prints: metrics, settings and the thinned recall curve."""
    return {"n_records": result.n_records, "n_included": result.n_included,
            "wss95": result.wss95, "wss100": result.wss100,
            "recall_at_10pct": result.rrf10, "recall_at_25pct": result.rrf25, "rrf10": result.rrf10,
            "atd": result.atd,
            "atd_records": result.atd_records, "n_screened_95": result.n_screened_95,
            "n_screened_100": result.n_screened_100, "recall_curve": result.recall_points(200),
            "seed": result.seed, "ranker": result.ranker, "retrain": result.retrain,
            "prior_ids": result.prior_ids,
            "prior_included": result.n_prior_included, "prior_excluded": result.n_prior_excluded,
            "n_refits": result.n_refits, "seconds": round(result.seconds, 3),
            "stop_rule": result.stop_rule.model_dump() if result.stop_rule else None,
            "stops": {k: v.model_dump() for k, v in result.stops.items()}}


def _table(result: Any, name: str) -> Table:
    after = result.n_records - len(result.prior_ids)
    table = Table(title=f"Simulated screening: {name} ({result.ranker}, seed {result.seed})",
                  header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    table.add_row("records", str(result.n_records), f"{len(result.prior_ids)} priors, {after} screened after")
    table.add_row("included", str(result.n_included), "in the dataset, priors included")
    table.add_row("WSS@95", f"{result.wss95:.1%}", "work saved over sampling at 95 % recall")
    table.add_row("WSS@100", f"{result.wss100:.1%}", "work saved over sampling at 100 % recall")
    table.add_row("recall@10%", f"{result.rrf10:.1%}", "includes found after screening 10 % of records")
    table.add_row("recall@25%", f"{result.rrf25:.1%}", "includes found after screening 25 % of records")
    table.add_row("ATD", f"{result.atd:.1%}", f"average time to discovery ({result.atd_records:.0f} records)")
    table.add_row("to find 95 %", str(result.n_screened_95), "records screened")
    table.add_row("to find 100 %", str(result.n_screened_100), "records screened")
    for name, point in result.stops.items():
        rule = result.stop_rule
        what = (f"buscar: recall ≥ {rule.target_recall:.0%} with {rule.confidence:.0%} confidence"
                if name == "buscar" else f"{rule.heuristic_run} irrelevant in a row")
        where = f"{point.screened} screened" if point.fired else "never fired: all screened"
        table.add_row(f"stop ({name})", f"{point.recall:.1%}",
                      f"recall at the stop, {what}; {where} ({point.work_saved:.1%} saved)")
    table.add_row("time", f"{result.seconds:.1f} s", f"{result.n_refits} model fits")
    return table


def save_recall_plot(result: Any, path: Path, title: str = "") -> None:
    """Recall against records screened, with random screening for reference (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    after = result.n_records - len(result.prior_ids)
    to_find = result.found[-1] if result.found else 0
    x = [0, *range(1, after + 1)]
    y = [0.0, *(f / to_find for f in result.found)]
    fig = Figure(figsize=(6, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(x, y, color="#1f77b4", lw=1.6, label=f"{result.ranker} (WSS@95 {result.wss95:.1%})")
    ax.plot([0, after], [0, 1], color="grey", ls="--", lw=1, label="random screening")
    ax.axhline(0.95, color="#d62728", lw=0.8, ls=":")
    ax.axvline(result.n_screened_95, color="#d62728", lw=0.8, ls=":",
               label=f"95 % found at {result.n_screened_95}")
    ax.set_xlim(0, after)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("records screened (after priors)")
    ax.set_ylabel("share of includes found")
    ax.set_title(title or "recall curve")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise MetasiftError(f"{path}: cannot write the plot: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
