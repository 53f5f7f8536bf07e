"""Screening stage 2: the LLM drafts a decision per record, criterion by criterion.

Each answer is in the answer cache the moment it arrives and in the store within a second (one
transaction per group of records: their exchanges and decisions), so Ctrl-C or a crash loses nothing
paid for, and a re-run resumes: a record already drafted by the same model with the same prompt
template is never sent again. Every exchange, failed ones included, goes to ``llm_calls``; an answer
that never validates is an error there, never a decision. An endpoint the client gives up on (down, or
turning every request away) ends the run early with ``LLMSummary.failed`` saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.kinds import DeciderKind, Label, Stage
from metasift.llm import LLMSettings
from metasift.llm.batch import run_batch
from metasift.llm.client import describe_causes, error_cause
from metasift.llm.cost import find_price
from metasift.store import Store
from metasift.templates import load_template
from screener.llm_call import record_block, screen_record, screening_messages

STAGE = Stage.TITLE_ABSTRACT
FLUSH_SECONDS = 1.0  # answers are grouped into one store transaction per this many seconds (see _Writer)
FLUSH_RECORDS = 500  # ... or per this many records, whichever comes first
TEMPLATE = "screen_title_abstract"


class LLMSummary(BaseModel):
    model: str
    prompt_hash: str
    todo: int
    drafted: int
    errors: int
    skipped: int
    cost: float | None
    stopped: str | None = None  # why the run stopped early (budget)
    endpoint: str = ""
    error_causes: dict[str, int] = {}  # errors by cause ("HTTP 500", "timeout", "invalid answer" ...)
    failed: str | None = None  # why the endpoint was given up on: the run ended early and must not look done

    def line(self) -> str:
        """The one-line account of the run: "model m: 3 drafted, 1 drafted before, cost 0.0012; 2 errors:
        1× HTTP 500 at URL, 1× timeout"."""
        text = f"model {self.model}: {self.drafted} drafted, {self.skipped} drafted before"
        text += f", cost {self.cost:.4f}" if self.cost else ""
        if self.errors:
            text += f"; {self.errors} error{'s' if self.errors != 1 else ''}"
            text += f": {describe_causes(self.error_causes, self.endpoint)}" if self.error_causes else ""
        return text

    def unusable(self) -> str | None:
        """Why this run must not end as a success: the endpoint was given up on, or every record sent failed."""
        if self.failed:
            return self.failed
        if self.errors and not self.drafted:
            return f"no record was drafted: {self.errors} errors ({describe_causes(self.error_causes, self.endpoint)})"
        return None


def llm_criteria(protocol: Protocol) -> list[Any]:
    """The criteria the model judges: title/abstract ones that no rule decides."""
    return [c for c in protocol.criteria_for(STAGE) if not c.rule]


def records_to_draft(store: Store, model: str, prompt_hash: str, limit: int | None = None) -> tuple[list[dict], int]:
    """Primary records not excluded by a rule and not yet drafted by this model and prompt."""
    decisions = store.decisions(STAGE)
    rule_out = {d["record_id"] for d in decisions
                if d["decider_kind"] == DeciderKind.RULE and d["label"] == Label.EXCLUDE}
    drafted = {d["record_id"] for d in decisions
               if d["decider_kind"] == DeciderKind.MODEL and d["model"] == model
               and d["prompt_hash"] == prompt_hash}
    todo = [r for r in store.records_table(primary_only=True) if r["id"] not in rule_out and r["id"] not in drafted]
    return (todo[:limit] if limit else todo), len(drafted)


def dry_run(store: Store, protocol: Protocol, settings: LLMSettings, limit: int | None = None) -> dict[str, Any]:
    """The rendered prompt for the first record and a token and cost estimate, sending nothing."""
    template = load_template(TEMPLATE)
    todo, skipped = records_to_draft(store, settings.model, template.hash, limit)
    if not todo:
        return {"records": 0, "skipped": skipped, "messages": [], "input_tokens": 0, "cost": 0.0}
    criteria = llm_criteria(protocol)
    chars = 0
    for rec in todo:
        messages, _ = screening_messages(template, criteria, protocol.review.question, rec)
        chars += sum(len(m["content"]) for m in messages)
    first, _ = screening_messages(template, criteria, protocol.review.question, todo[0])
    input_tokens = chars // 4  # ~4 characters per token for English text
    output_tokens = len(todo) * (60 * len(criteria) + 40)
    price = find_price(settings.with_local_pricing().prices, settings.model)
    cost = (input_tokens * price.input + output_tokens * price.output) / 1e6 if price else None
    return {"records": len(todo), "skipped": skipped, "messages": first, "input_tokens": input_tokens,
            "output_tokens_estimate": output_tokens, "cost": cost, "model": settings.model,
            "prompt_hash": template.hash}


def run_llm_stage(store: Store, protocol: Protocol, settings: LLMSettings, *, limit: int | None = None,
                  on_progress: Callable[[int, int], None] | None = None) -> LLMSummary:
    """Draft every record still needing this model's decision; return what happened."""
    template = load_template(TEMPLATE)
    todo, skipped = records_to_draft(store, settings.model, template.hash, limit)
    criteria = llm_criteria(protocol)
    summary = LLMSummary(model=settings.model, prompt_hash=template.hash, todo=len(todo), drafted=0, errors=0,
                         skipped=skipped, cost=0.0, endpoint=settings.endpoint)

    pending: dict[Any, list[dict[str, Any]]] = {}  # exchanges of records still in flight, by record id
    writer = _Writer(store, template.hash, settings.model, summary,
                     interval=FLUSH_SECONDS if settings.cache_dir is not None else 0.0)

    def log_exchange(exchange: Any) -> None:
        pending.setdefault(exchange.record_id, []).append(exchange.__dict__.copy())  # shallow: no deep copy

    def job(rec: dict[str, Any]) -> Any:
        async def call(client: Any) -> tuple[dict[str, Any], Any]:
            return rec, await screen_record(client, template, criteria, protocol.review.question, rec,
                                            record_id=rec["id"])
        return call

    def done(result: tuple[dict[str, Any], Any]) -> None:
        rec, outcome = result
        if not outcome.ok:
            cause = error_cause(outcome.error)
            summary.error_causes[cause] = summary.error_causes.get(cause, 0) + 1
        writer.add(rec, outcome, pending.pop(rec["id"], []))

    try:
        batch = run_batch(settings, [job(rec) for rec in todo], on_exchange=log_exchange, on_progress=on_progress,
                          on_done=done, report_failure=True)
    finally:  # what arrived is written, and the attempts of calls cut short (budget, Ctrl-C, failure) are kept too
        writer.flush()
        store.log_llm_calls([row for rows in pending.values() for row in rows])
    summary.cost, summary.stopped, summary.failed = batch.cost, batch.stopped, batch.failed
    return summary


class _Writer:
    """Writes answers to the store in one transaction per group of records that arrived within ``interval``.

    Grouping saves most of the client's CPU at 16 requests in flight (one transaction per record cost
    more than the HTTP itself). Every answer is in the answer cache the moment it arrives, so a hard crash
    between two writes costs nothing: the re-run finds those answers in the cache without a request.
    Without a cache (``interval`` 0) every record is written at once.
    """

    def __init__(self, store: Store, prompt_hash: str, model: str, summary: LLMSummary, *, interval: float) -> None:
        self.store, self.prompt_hash, self.model, self.summary = store, prompt_hash, model, summary
        self.interval = interval
        self._buffer: list[tuple[dict[str, Any], Any, list[dict[str, Any]]]] = []
        self._last = time.monotonic()

    def add(self, rec: dict[str, Any], outcome: Any, exchanges: list[dict[str, Any]]) -> None:
        self._buffer.append((rec, outcome, exchanges))
        if time.monotonic() - self._last >= self.interval or len(self._buffer) >= FLUSH_RECORDS:
            self.flush()

    def flush(self) -> None:
        """One transaction: the exchanges, then each record's decision (or its error event)."""
        self._last = time.monotonic()
        if not self._buffer:
            return
        decisions, errors = [], []
        for rec, outcome, _ in self._buffer:
            if outcome.ok:
                answer = outcome.value
                decisions.append({
                    "record_id": rec["id"], "stage": STAGE, "decider_kind": DeciderKind.MODEL,
                    "decider": self.model, "label": answer.decision, "criteria": _criteria_with_grounding(answer, rec),
                    "reasons": [c.id for c in answer.criteria if c.verdict == "not_met"],
                    "confidence": answer.confidence, "model": outcome.model_served or self.model,
                    "prompt_hash": self.prompt_hash, "settings": {
                        "method": outcome.method, "cached": outcome.cached, "warnings": outcome.warnings}})
            else:
                errors.append({"action": "model_error", "actor_kind": "model", "actor": self.model,
                               "entity": "record", "entity_id": rec["id"], "payload": {"error": outcome.error}})
        with self.store.write() as conn:
            self.store.log_llm_calls([row for _, _, rows in self._buffer for row in rows], conn=conn)
            self.store.add_decisions(decisions, conn=conn)
            self.store.log_events(conn, errors)
        self.summary.drafted += len(decisions)
        self.summary.errors += len(errors)
        self._buffer = []


def _criteria_with_grounding(answer: Any, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's criteria as it gave them (kept for audit), each with ``quote_found``: whether its quote is
    in the record text the model was shown. Decided here, where that text is at hand, so routing can count
    a ``not_met`` as evidence only when its quote was found (``screener.routing.LLMSignal.from_decision``)."""
    found = answer.quotes_found(record_block(rec))
    return [{**c.model_dump(), "quote_found": found[c.id]} for c in answer.criteria]
