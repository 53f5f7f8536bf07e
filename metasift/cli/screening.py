"""``metasift screen``: rules, the LLM's drafts, the ranker and the routing policy, in that order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from metasift.cli._common import (
    JsonOption,
    ProjectOption,
    console,
    emit_json,
    err_console,
    info,
    project_dir,
    two_column_table,
    warn,
)
from metasift.config import load_protocol
from metasift.store import Store

if TYPE_CHECKING:
    from metasift.config import Protocol
    from metasift.llm import LLMSettings


def _settings(root: Path, protocol: Protocol, model: str | None, base_url: str | None, concurrency: int | None,
              max_cost: float | None) -> LLMSettings:
    from metasift.llm import LLMSettings

    return LLMSettings.from_config(protocol.llm, model=model, base_url=base_url, concurrency=concurrency,
                                   max_cost=max_cost, cache_dir=root / ".metasift" / "cache")


def endpoint_configured(settings: LLMSettings) -> bool:
    """An LLM is available when a base URL is set or the API key variable is."""
    return bool(settings.base_url or os.environ.get(settings.api_key_env))


def local_cost_note(settings: LLMSettings) -> str | None:
    """The one line saying a budget does not apply to an unpriced model served locally, when one is set."""
    if settings.max_cost is None or not settings.free_locally:
        return None
    return (f'no price for model "{settings.model}" at the local endpoint {settings.endpoint}: its answers '
            "count as cost 0, so max_cost does not apply")


def screen(
    model: str = typer.Option(None, "--model", help="Model name (default: [llm] model in review.toml)."),
    base_url: str = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL",
                                 help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1."),
    limit: int = typer.Option(None, "--limit", help="Draft at most N records this run."),
    concurrency: int = typer.Option(None, "--concurrency", help="Requests in flight at once."),
    max_cost: float = typer.Option(None, "--max-cost", help="Stop before spending more than this."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rendered prompt and a token/cost estimate."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Rules and ranker only, even if an endpoint is set."),
    batch: bool = typer.Option(False, "--batch", help="Use the OpenAI Batch API (half price, answers within "
                               "24 h): submit, then run again to collect."),
    wait: bool = typer.Option(False, "--wait", help="With --batch: wait for the batch and collect it."),
    poll_every: float = typer.Option(60.0, "--poll-every", min=0.0, help="With --batch --wait: seconds "
                                     "between status checks."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Screen titles and abstracts: rules decide what they can, the LLM drafts the rest criterion by
    criterion, the ranker orders the human queue, and the routing policy sends every uncertain record
    to a human. Resumable: re-running never decides a record twice.

    With no endpoint configured it runs on rules and the ranker alone, and says so. With --batch the
    records go to the OpenAI Batch API as one batch; re-running with --batch collects it when done.
    """
    from metasift.llm.client import EndpointError
    from metasift.screener.llm_stage import dry_run as llm_dry_run
    from metasift.screener.llm_stage import run_llm_stage
    from metasift.screener.ranker_stage import RankSummary, run_ranker_stage
    from metasift.screener.routing_stage import run_routing_stage
    from metasift.screener.rules_stage import apply_rules

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    settings = _settings(root, protocol, model, base_url, concurrency, max_cost)
    use_llm = not no_llm and endpoint_configured(settings)
    note = local_cost_note(settings)
    if dry_run:
        est = llm_dry_run(store, protocol, settings, limit)
        if batch and est.get("cost") is not None:
            from metasift.llm.openai_batch import BATCH_DISCOUNT

            est["cost"] *= BATCH_DISCOUNT  # the Batch API's price
        if json_out:
            emit_json(est)
        else:
            for m in est["messages"]:
                console.rule(m["role"])
                console.print(m["content"], markup=False, highlight=False)
            cost = (f"{est['cost']:.4f}" if est.get("cost") is not None
                    else f'unknown (no [llm.prices."{settings.model}"] in review.toml)')
            info(f"{est['records']} records to send, ~{est['input_tokens']:,} input tokens, estimated cost {cost}")
            if note:
                info(note)
        return
    if use_llm:
        settings.with_local_pricing().check_price()  # before anything is sent or stored
        if note:
            info(note)
    if batch and not use_llm:
        raise typer.BadParameter("--batch needs an LLM endpoint (OPENAI_API_KEY or --base-url)")
    result: dict = {"llm": None}
    result["rules"] = apply_rules(store, protocol).model_dump()
    info(f"rules: {result['rules']['excluded']} excluded, {result['rules']['passed']} passed "
         f"({result['rules']['skipped']} checked before)")
    if use_llm and batch:  # submit, or collect what is done; None after Ctrl-C while waiting
        from metasift.screener.llm_stage import run_batch_stage

        with Progress(TextColumn("{task.fields[line]}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True) as progress:
            task = progress.add_task("batch", total=None, line="batch: submitting")

            def show(statuses: list) -> None:
                progress.update(task, line="; ".join(s.line() for s in statuses),
                                completed=sum(s.completed + s.failed for s in statuses),
                                total=sum(s.total for s in statuses) or None)

            try:
                batch_run = run_batch_stage(store, protocol, settings, limit=limit, wait=wait,
                                            poll_seconds=poll_every, on_status=show)
            except KeyboardInterrupt:
                batch_run = None
        if batch_run is None:
            warn("interrupted: the batch keeps running at the endpoint; collect its answers with "
                 "`metasift screen --batch` (add --wait to wait for them)")
        else:
            for line in batch_run.lines():
                info(line)
        if batch_run is None or batch_run.llm is None:
            store.close()  # nothing new to route until answers are in
            if json_out:
                emit_json({**result, "batch": batch_run.model_dump() if batch_run else None})
            if batch_run is None:
                raise typer.Exit(130)
            return
        llm = batch_run.llm
        result["batch"], result["llm"] = batch_run.model_dump(), llm.model_dump()
    elif use_llm:
        with Progress(TextColumn("drafting with {task.fields[model]}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err_console, transient=True) as progress:
            task = progress.add_task("llm", total=None, model=settings.model)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            llm = run_llm_stage(store, protocol, settings, limit=limit, on_progress=advance)
        result["llm"] = llm.model_dump()
        info(llm.line())
        if llm.stopped:
            warn(f"stopped early: {llm.stopped}")
    else:
        info("no LLM endpoint configured (set OPENAI_API_KEY or --base-url): screening with rules and the "
             "ranker only")
    result["ranker"] = run_ranker_stage(store, protocol, ranker=protocol.screening.ranker).model_dump()
    result["routing"] = run_routing_stage(store, protocol, use_ranker=result["ranker"]["usable_for_routing"]
                                          ).model_dump()
    store.close()
    if json_out:
        emit_json(result)
    else:
        console.print(two_column_table("Screening", result["routing"]["counts"].items(), ("path", "records")))
        ranker_note = RankSummary.model_validate(result["ranker"]).learning_note()
        if ranker_note:
            info(ranker_note)
    failed = llm.unusable() if use_llm else None
    if failed:  # last, so the one red line is what the terminal ends with; the exit code says it too
        raise EndpointError(f"{failed}; what was decided so far is saved: re-run `metasift screen` to resume")



def calibrate(
    target_recall: float = typer.Option(None, "--target-recall", help="Default: [routing] target_recall (0.98)."),
    confidence: float = typer.Option(0.95, "--confidence", help="One-sided confidence of the recall bound."),
    apply: bool = typer.Option(False, "--apply", help="Write the chosen thresholds into review.toml."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Pick routing thresholds from a human-labelled random sample (`metasift review --sample N`) so that
    recall of includes stays at the target with its exact lower confidence bound; report how many records
    each path takes. Refuses when the sample has too few includes to show the target."""
    from metasift.config import write_protocol_values
    from metasift.kinds import DeciderKind, Stage
    from metasift.screener.calibrate import CalibrationItem, calibrate_thresholds
    from metasift.screener.ranker_stage import human_labels
    from metasift.screener.routing_stage import gather_signals

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    sampled = store.calibration_sample_ids(Stage.TITLE_ABSTRACT)
    labels = human_labels(store)
    signals, _ = gather_signals(store, use_ranker=True, include_decided=True)
    items = [CalibrationItem(included=bool(labels[rid]), signals=signals[rid])
             for rid in sorted(sampled) if rid in labels and rid in signals]
    if not items:
        store.close()
        raise typer.BadParameter("no human-labelled random sample yet: run `metasift review --sample N --seed S`")
    result = calibrate_thresholds(items, target_recall=target_recall or protocol.routing.target_recall,
                                  confidence=confidence)
    with store.write() as conn:
        store.log_event(conn, "calibrate", actor_kind=DeciderKind.RULE, actor="calibrate", payload={
            "target_recall": result.target_recall, "recall": round(result.recall, 4),
            "recall_lb": round(result.recall_lower, 4), "n_sample": result.n_sample,
            "n_included": result.n_included, "policy": result.policy.model_dump(), "routes": result.routes})
    store.close()
    if apply:
        thresholds = {key: getattr(result.policy, key)
                      for key in ("llm_exclude_confidence", "ranker_exclude_probability")}
        info(f"wrote the thresholds into {write_protocol_values(root, 'routing', thresholds)}")
    if json_out:
        emit_json(result.model_dump())
        return
    console.print(two_column_table("Calibration", [
        ("sample (includes)", f"{result.n_sample} ({result.n_included})"),
        ("LLM exclude confidence ≥", f"{result.policy.llm_exclude_confidence:.3f}"),
        ("ranker P(include) ≤", f"{result.policy.ranker_exclude_probability:.3f}"),
        ("recall (lower bound)", f"{result.recall:.3f} ({result.recall_lower:.3f})"),
        *((f"  {route}", n) for route, n in result.routes.items())], ("", "value")))
    info(result.note)


def register(app: typer.Typer) -> None:
    app.command()(screen)
    app.command()(calibrate)
