"""The screening stage's entry points: ``screen_project`` and ``calibrate_project``.

``screen_project`` runs the four stages of ``metasift screen`` in their order — rules, the LLM's drafts (one
request per record, or the OpenAI Batch API), the ranker, the routing policy — and returns one typed
``ScreenResult``; ``calibrate_project`` picks routing thresholds from the human-labelled random sample. The
CLI (and any other caller: a notebook, a benchmark) is a thin shell around them: it opens the store and the
protocol, shows progress through ``ScreenHooks`` and prints the result. Nothing here knows about a terminal,
so the order of the stages and the rules between them are defined once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from metasift.config import Protocol as ReviewProtocol
from metasift.config import write_protocol_values
from metasift.errors import ConfigError
from metasift.kinds import DeciderKind, Stage
from metasift.llm import LLMSettings
from metasift.llm.client import EndpointError
from metasift.llm.openai_batch import BATCH_DISCOUNT, BatchStatus
from metasift.screener.calibrate import CalibrationItem, CalibrationResult, calibrate_thresholds
from metasift.screener.llm_stage import POLL_SECONDS, BatchSummary, LLMSummary, run_batch_stage, run_llm_stage
from metasift.screener.llm_stage import dry_run as llm_dry_run
from metasift.screener.ranker_stage import RankSummary, human_labels, out_of_fold_scores, run_ranker_stage
from metasift.screener.routing import Signals
from metasift.screener.routing_stage import RoutingSummary, gather_signals, run_routing_stage
from metasift.screener.rules_stage import RuleSummary, apply_rules
from metasift.store import Store

NO_ENDPOINT = ("no LLM endpoint configured (set OPENAI_API_KEY or --base-url): screening with rules and the "
               "ranker only")
BATCH_NEEDS_ENDPOINT = "--batch needs an LLM endpoint (OPENAI_API_KEY or --base-url)"
INTERRUPTED_BATCH = ("interrupted: the batch keeps running at the endpoint; collect its answers with "
                     "`metasift screen --batch` (add --wait to wait for them)")
NO_SAMPLE = "no human-labelled random sample yet: run `metasift review --sample N --seed S`"


class Note(BaseModel):
    """One line for the user, said while the run goes on: ``info`` (what happened) or ``warn``."""

    level: Literal["info", "warn"]
    text: str


class ScreenHooks(Protocol):
    """How a caller follows a run: notes as they happen, and progress while the model drafts or a batch runs.

    The progress methods are context managers around the stage they follow, yielding the callback the
    stage calls; a terminal shows a bar for exactly that long.
    """

    def note(self, note: Note) -> None: ...

    def drafting(self, model: str) -> AbstractContextManager[Callable[[int, int], None]]: ...

    def batch_progress(self) -> AbstractContextManager[Callable[[list[BatchStatus]], None]]: ...


class SilentHooks:
    """``ScreenHooks`` that show nothing: the notes are still in ``ScreenResult.notes``."""

    def note(self, note: Note) -> None:
        """Say nothing."""

    @contextmanager
    def drafting(self, model: str) -> Iterator[Callable[[int, int], None]]:
        """No progress display."""
        yield lambda done, total: None

    @contextmanager
    def batch_progress(self) -> Iterator[Callable[[list[BatchStatus]], None]]:
        """No progress display."""
        yield lambda statuses: None


class ScreenResult(BaseModel):
    """What one ``screen_project`` run did, stage by stage.

    ``ranker`` and ``routing`` are None when a batch run stopped before there were answers to route (submitted,
    still running, or interrupted); ``batch`` is set only in batch mode.
    """

    rules: RuleSummary
    llm: LLMSummary | None = None  # the model's drafts this run (synchronous or a collected batch)
    batch_mode: bool = False
    batch: BatchSummary | None = None  # None in batch mode when interrupted
    interrupted: bool = False  # Ctrl-C while waiting for a batch: it keeps running at the endpoint
    ranker: RankSummary | None = None
    routing: RoutingSummary | None = None
    notes: list[Note] = []  # every line said during the run, in order

    def payload(self) -> dict[str, Any]:
        """The ``--json`` output: llm, rules, then batch (batch mode), ranker and routing (when they ran)."""
        out: dict[str, Any] = {"llm": self.llm.model_dump() if self.llm else None, "rules": self.rules.model_dump()}
        if self.batch_mode:
            out["batch"] = self.batch.model_dump() if self.batch else None
        if self.ranker is not None and self.routing is not None:
            out["ranker"], out["routing"] = self.ranker.model_dump(), self.routing.model_dump()
        return out

    def learning_note(self) -> str | None:
        """Why routing could not use the ranker yet (printed under the routing table), or None."""
        return self.ranker.learning_note() if self.ranker else None

    def failure(self) -> str | None:
        """Why the run must not end as a success: the endpoint was given up on, or every record sent failed."""
        return self.llm.unusable() if self.llm else None

    def raise_if_failed(self) -> None:
        """Raise ``EndpointError`` when the run failed; what was decided is saved either way."""
        failed = self.failure()
        if failed:
            raise EndpointError(f"{failed}; what was decided so far is saved: re-run `metasift screen` to resume")


class _Run:
    """The notes of one run: kept in the result and passed to the hooks as they are said."""

    def __init__(self, hooks: ScreenHooks) -> None:
        self.hooks = hooks
        self.notes: list[Note] = []

    def say(self, text: str, level: Literal["info", "warn"] = "info") -> None:
        note = Note(level=level, text=text)
        self.notes.append(note)
        self.hooks.note(note)


def screen_estimate(store: Store, protocol: ReviewProtocol, settings: LLMSettings, *, limit: int | None = None,
                    batch: bool = False) -> dict[str, Any]:
    """``screen --dry-run``: the first rendered prompt and the token and cost estimate (at batch price with
    ``batch``), sending and storing nothing."""
    est = llm_dry_run(store, protocol, settings, limit)
    if batch and est.get("cost") is not None:
        est["cost"] *= BATCH_DISCOUNT  # the Batch API's price
    return est


def screen_project(store: Store, protocol: ReviewProtocol, settings: LLMSettings, *, use_llm: bool,
                   batch: bool = False, limit: int | None = None, wait: bool = False,
                   poll_every: float = POLL_SECONDS, hooks: ScreenHooks | None = None) -> ScreenResult:
    """Screen titles and abstracts: rules, then the LLM's drafts (``use_llm``; through the Batch API with
    ``batch``), then the ranker and the routing policy. Resumable: a re-run never decides a record twice.

    A model without a price under ``max_cost`` is refused before anything is sent or stored (a local one is
    free). A batch run that has no answers yet returns after the rules with ``ranker``/``routing`` None. An
    endpoint given up on does not raise here: the ranker and routing still run on what was decided, and
    ``ScreenResult.raise_if_failed`` says so afterwards.
    """
    from metasift.screener.endpoint import local_cost_note

    run = _Run(hooks or SilentHooks())
    if batch and not use_llm:
        raise ConfigError(BATCH_NEEDS_ENDPOINT)
    if use_llm:
        settings.with_local_pricing().check_price()  # before anything is sent or stored
        note = local_cost_note(settings)
        if note:
            run.say(note)
    rules = apply_rules(store, protocol)
    run.say(f"rules: {rules.excluded} excluded, {rules.passed} passed ({rules.skipped} checked before)")
    result = ScreenResult(rules=rules, batch_mode=use_llm and batch)
    result.notes = run.notes  # the same list: what is said from here on lands in the result too
    if use_llm and batch:
        result.batch = _batch(store, protocol, settings, run, limit=limit, wait=wait, poll_every=poll_every)
        result.interrupted = result.batch is None
        if result.batch is None or result.batch.llm is None:
            return result  # nothing new to route until answers are in
        result.llm = result.batch.llm
    elif use_llm:
        with run.hooks.drafting(settings.model) as advance:
            result.llm = run_llm_stage(store, protocol, settings, limit=limit, on_progress=advance)
        run.say(result.llm.line())
        if result.llm.stopped:
            run.say(f"stopped early: {result.llm.stopped}", "warn")
    else:
        run.say(NO_ENDPOINT)
    result.ranker = run_ranker_stage(store, protocol, ranker=protocol.screening.ranker)
    result.routing = run_routing_stage(store, protocol, use_ranker=result.ranker.usable_for_routing)
    return result


def _batch(store: Store, protocol: ReviewProtocol, settings: LLMSettings, run: _Run, *, limit: int | None,
           wait: bool, poll_every: float) -> BatchSummary | None:
    """Submit, or collect what is done; None after Ctrl-C while waiting (the batch keeps running)."""
    with run.hooks.batch_progress() as show:
        try:
            summary = run_batch_stage(store, protocol, settings, limit=limit, wait=wait, poll_seconds=poll_every,
                                      on_status=show)
        except KeyboardInterrupt:
            summary = None
    if summary is None:
        run.say(INTERRUPTED_BATCH, "warn")
        return None
    for line in summary.lines():
        run.say(line)
    return summary


# -- calibrate ---------------------------------------------------------------------------------------------------
class NoCalibrationSample(ConfigError):
    """No record of a random calibration sample has a human label and routing signals yet."""


def calibration_items(store: Store, protocol: ReviewProtocol) -> list[CalibrationItem]:
    """The sampled records (``review --sample``) a human labelled, each with the signals routing sees; the
    ranker's probability is out-of-fold (``ranker_stage.out_of_fold_scores``), from a model not trained on
    that record, as routing's records are not."""
    sampled = store.calibration_sample_ids(Stage.TITLE_ABSTRACT)
    labels = human_labels(store)
    signals, _ = gather_signals(store, use_ranker=True, include_decided=True)
    fresh = out_of_fold_scores(store, protocol, ranker=protocol.screening.ranker)
    return [CalibrationItem(included=bool(labels[rid]), signals=_out_of_fold(signals[rid], fresh.get(rid)))
            for rid in sorted(sampled) if rid in labels and rid in signals]


def _out_of_fold(signals: Signals, probability: float | None) -> Signals:
    """The signals with the out-of-fold ranker probability (None: the ranker gives none for it)."""
    if signals.ranker_probability is None:
        return signals
    return signals.model_copy(update={"ranker_probability": probability})


def calibrate_project(store: Store, protocol: ReviewProtocol, *, target_recall: float | None = None,
                      confidence: float = 0.95) -> CalibrationResult:
    """Routing thresholds from the labelled sample that keep the automation's recall bound at the target
    (default: ``[routing] target_recall``): a bound on the realised recall over the primary records outside
    the sample, which the sample was drawn from (``calibrate.realised_recall_lower``). The result is logged
    as a ``calibrate`` event. Raises ``NoCalibrationSample`` when there is no labelled sample,
    ``AnalysisError`` when it is too small."""
    from metasift.store.review_queue import primary_ids

    items = calibration_items(store, protocol)
    if not items:
        raise NoCalibrationSample(NO_SAMPLE)
    result = calibrate_thresholds(items, target_recall=target_recall or protocol.routing.target_recall,
                                  confidence=confidence, population=max(len(primary_ids(store)), len(items)))
    with store.write() as conn:
        store.log_event(conn, "calibrate", actor_kind=DeciderKind.RULE, actor="calibrate", payload={
            "target_recall": result.target_recall, "recall": round(result.recall, 4),
            "recall_lb": math.floor(result.recall_lower * 1e4) / 1e4, "bound": result.bound,
            "confidence": result.confidence, "population": result.population, "n_sample": result.n_sample,
            "n_included": result.n_included, "policy": result.policy.model_dump(), "routes": result.routes})
    return result


def apply_calibration(root: Path, result: CalibrationResult) -> Path:
    """Write the chosen thresholds into ``[routing]`` of the project's review.toml; return the file written."""
    thresholds = {key: getattr(result.policy, key) for key in ("llm_exclude_confidence", "ranker_exclude_probability")}
    return write_protocol_values(root, "routing", thresholds)
