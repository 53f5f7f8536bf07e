"""Screening stage 2: the LLM drafts a decision per record, criterion by criterion.

Each answer is written to the store as soon as it arrives (one transaction per record), so Ctrl-C or
a crash loses at most the records in flight and a re-run resumes: a record already drafted by the
same model with the same prompt template is never sent again. Every exchange, failed ones included,
goes to ``llm_calls``; an answer that never validates is an error there, never a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.llm import LLMSettings
from metasift.llm.batch import run_batch
from metasift.llm.cost import find_price
from metasift.llm.screen import screen_record, screening_messages
from metasift.store import Store
from metasift.templates import load_template

STAGE = "title_abstract"
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


def llm_criteria(protocol: Protocol) -> list[Any]:
    """The criteria the model judges: title/abstract ones that no rule decides."""
    return [c for c in protocol.criteria_for(STAGE) if not c.rule]


def records_to_draft(store: Store, model: str, prompt_hash: str, limit: int | None = None) -> tuple[list[dict], int]:
    """Primary records not excluded by a rule and not yet drafted by this model and prompt."""
    decisions = store.decisions(STAGE)
    rule_out = {d["record_id"] for d in decisions if d["decider_kind"] == "rule" and d["label"] == "exclude"}
    drafted = {d["record_id"] for d in decisions
               if d["decider_kind"] == "model" and d["model"] == model and d["prompt_hash"] == prompt_hash}
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
    price = find_price(settings.prices, settings.model)
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
                         skipped=skipped, cost=0.0)

    def log_exchange(exchange: Any) -> None:
        store.log_llm_call(exchange.model_dump())

    def job(rec: dict[str, Any]) -> Any:
        async def call(client: Any) -> tuple[dict[str, Any], Any]:
            return rec, await screen_record(client, template, criteria, protocol.review.question, rec,
                                            record_id=rec["id"])
        return call

    batch = run_batch(settings, [job(rec) for rec in todo], on_exchange=log_exchange, on_progress=on_progress,
                      on_done=lambda done: _store_outcome(store, *done, template.hash, settings.model, summary))
    summary.cost, summary.stopped = batch.cost, batch.stopped
    return summary


def _store_outcome(store: Store, rec: dict[str, Any], outcome: Any, prompt_hash: str, model: str,
                   summary: LLMSummary) -> None:
    if not outcome.ok:
        summary.errors += 1
        with store.write() as conn:
            store.log_event(conn, "model_error", actor_kind="model", actor=model, entity="record",
                            entity_id=rec["id"], payload={"error": outcome.error})
        return
    answer = outcome.value
    store.add_decision(
        record_id=rec["id"], stage=STAGE, decider_kind="model", decider=model, label=answer.decision,
        criteria=[c.model_dump() for c in answer.criteria],
        reasons=[c.id for c in answer.criteria if c.verdict == "not_met"], confidence=answer.confidence,
        model=outcome.model_served or model, prompt_hash=prompt_hash,
        settings={"method": outcome.method, "cached": outcome.cached, "warnings": outcome.warnings})
    summary.drafted += 1
