"""``metasift screen`` and ``calibrate``: thin shells around ``metasift.screener.pipeline``.

They parse the options, open the protocol and the store, show progress and print the result; the stages, their
order and the rules between them live in ``screen_project`` and ``calibrate_project``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

if TYPE_CHECKING:
    from metasift.config import Protocol
    from metasift.llm import LLMSettings
    from metasift.llm.openai_batch import BatchStatus
    from metasift.screener.pipeline import Note
    from metasift.store import Store


class _Terminal:
    """``ScreenHooks`` for the terminal: notes as info/warn lines, a transient bar while the model drafts or
    a batch runs (on stderr, so ``--json`` output stays clean)."""

    def note(self, note: Note) -> None:
        """Print one note as it is said."""
        (warn if note.level == "warn" else info)(note.text)

    @contextmanager
    def drafting(self, model: str) -> Iterator[Callable[[int, int], None]]:
        """A bar of records drafted by ``model``."""
        with Progress(TextColumn("drafting with {task.fields[model]}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err_console, transient=True) as progress:
            task = progress.add_task("llm", total=None, model=model)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            yield advance

    @contextmanager
    def batch_progress(self) -> Iterator[Callable[[list[BatchStatus]], None]]:
        """The open batches' status line and a bar of their requests done."""
        with Progress(TextColumn("{task.fields[line]}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True) as progress:
            task = progress.add_task("batch", total=None, line="batch: submitting")

            def show(statuses: list[BatchStatus]) -> None:
                progress.update(task, line="; ".join(s.line() for s in statuses),
                                completed=sum(s.completed + s.failed for s in statuses),
                                total=sum(s.total for s in statuses) or None)

            yield show


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
    from metasift.config import load_protocol
    from metasift.screener.endpoint import endpoint_configured, screening_settings
    from metasift.screener.pipeline import BATCH_NEEDS_ENDPOINT, screen_project
    from metasift.store import Store

    root = project_dir(project)
    protocol = load_protocol(root)
    settings = screening_settings(root, protocol, model=model, base_url=base_url, concurrency=concurrency,
                                  max_cost=max_cost)
    use_llm = not no_llm and endpoint_configured(settings)
    store = Store.open(root)
    try:
        if dry_run:
            _dry_run(store, protocol, settings, limit=limit, batch=batch, json_out=json_out)
            return
        if batch and not use_llm:
            raise typer.BadParameter(BATCH_NEEDS_ENDPOINT)
        result = screen_project(store, protocol, settings, use_llm=use_llm, batch=batch, limit=limit, wait=wait,
                                poll_every=poll_every, hooks=_Terminal())
    finally:
        store.close()
    if json_out:
        emit_json(result.payload())
    if result.interrupted:
        raise typer.Exit(130)
    if result.routing is None:  # a batch submitted or still running: nothing new to route until answers are in
        return
    if not json_out:
        console.print(two_column_table("Screening", result.routing.counts.items(), ("path", "records")))
        ranker_note = result.learning_note()
        if ranker_note:
            info(ranker_note)
    result.raise_if_failed()  # last, so the one red line is what the terminal ends with; the exit code says it too


def _dry_run(store: Store, protocol: Protocol, settings: LLMSettings, *, limit: int | None, batch: bool,
             json_out: bool) -> None:
    """The rendered prompt of the first record and the token and cost estimate; nothing is sent."""
    from metasift.screener.endpoint import local_cost_note
    from metasift.screener.pipeline import screen_estimate

    est = screen_estimate(store, protocol, settings, limit=limit, batch=batch)
    if json_out:
        emit_json(est)
        return
    for m in est["messages"]:
        console.rule(m["role"])
        console.print(m["content"], markup=False, highlight=False)
    cost = (f"{est['cost']:.4f}" if est.get("cost") is not None
            else f'unknown (no [llm.prices."{settings.model}"] in review.toml)')
    info(f"{est['records']} records to send, ~{est['input_tokens']:,} input tokens, estimated cost {cost}")
    note = local_cost_note(settings)
    if note:
        info(note)


def calibrate(
    target_recall: float = typer.Option(None, "--target-recall", help="Default: [routing] target_recall (0.98)."),
    confidence: float = typer.Option(0.95, "--confidence", help="One-sided confidence of the recall bound."),
    apply: bool = typer.Option(False, "--apply", help="Write the chosen thresholds into review.toml."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Pick routing thresholds from a human-labelled random sample (`metasift review --sample N`) so that
    the automation's recall of includes on the records outside the sample (the ones it decides) stays at the
    target with an exact lower confidence bound; report how many records each path takes. Refuses when the
    sample is too small to show the target, and says about how large it would have to be."""
    from metasift.config import load_protocol
    from metasift.screener.pipeline import NoCalibrationSample, apply_calibration, calibrate_project
    from metasift.store import Store

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    try:
        result = calibrate_project(store, protocol, target_recall=target_recall, confidence=confidence)
    except NoCalibrationSample as err:
        raise typer.BadParameter(str(err)) from None
    finally:
        store.close()
    if apply:
        info(f"wrote the thresholds into {apply_calibration(root, result)}")
    if json_out:
        emit_json(result.model_dump())
        return
    console.print(two_column_table("Calibration", [
        ("sample (includes)", f"{result.n_sample} ({result.n_included})"),
        ("LLM exclude confidence ≥", f"{result.policy.llm_exclude_confidence:.3f}"),
        ("ranker P(include) ≤", f"{result.policy.ranker_exclude_probability:.3f}"),
        ("recall on the sample", f"{result.recall:.3f}"),
        (f"recall bound ({result.confidence:.0%}, {'records outside the sample' if result.bound == 'realised' else 'rate'})",
         f"{result.recall_lower:.3f}"),
        *((f"  {route}", n) for route, n in result.routes.items())], ("", "value")))
    info(result.note)


def register(app: typer.Typer) -> None:
    app.command()(screen)
    app.command()(calibrate)
