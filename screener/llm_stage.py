"""Screening stage 2: the LLM drafts a decision per record, criterion by criterion.

Each answer is in the answer cache the moment it arrives and in the store within a second (one
transaction per group of records: their exchanges and decisions), so Ctrl-C or a crash loses nothing
paid for, and a re-run resumes: a record already drafted by the same model with the same prompt
template is never sent again. Every exchange, failed ones included, goes to ``llm_calls``; an answer
that never validates is an error there, never a decision. An endpoint the client gives up on (down, or
turning every request away) ends the run early with ``LLMSummary.failed`` saying why.

``run_batch_stage`` (``metasift screen --batch``) sends the same requests through the OpenAI Batch API
(``metasift.llm.openai_batch``) at half price: one run submits and records the batch in an
``llm_batch_submitted`` event; later runs poll it and, once it is done, validate and write its answers as
the synchronous path does (same decisions, ``llm_calls`` rows, answer cache and error events), then close it
with ``llm_batch_collected``. While a batch is open nothing is submitted again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from metasift.config import Protocol
from metasift.kinds import DeciderKind, Label, Stage
from metasift.llm import LLMSettings
from metasift.llm.batch import run_batch
from metasift.llm.cache import DiskCache
from metasift.llm.client import describe_causes, error_cause
from metasift.llm.cost import BudgetExceeded, find_price
from metasift.llm.exchange import Exchange, LLMOutcome, utc_now
from metasift.llm.openai_batch import (
    BATCH_DISCOUNT,
    Answer,
    BatchRequest,
    BatchStatus,
    OpenAIBatches,
    answer_cache_key,
    chunks,
    read_answer,
    request_line,
)
from metasift.screener.llm_call import (
    PURPOSE,
    quote_warnings,
    record_block,
    screen_record,
    screening_messages,
)
from metasift.screener.schema import ScreeningAnswer, screening_model
from metasift.store import Store
from metasift.store import schema as t
from metasift.store.rows import RecordRow
from metasift.templates import PromptTemplate, load_template

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


def records_to_draft(store: Store, model: str, prompt_hash: str, limit: int | None = None
                     ) -> tuple[list[RecordRow], int]:
    """Primary records not excluded by a rule and not yet drafted by this model and prompt."""
    decisions = store.decisions(STAGE)
    rule_out = {d.record_id for d in decisions
                if d.decider_kind == DeciderKind.RULE and d.label == Label.EXCLUDE}
    drafted = {d.record_id for d in decisions
               if d.decider_kind == DeciderKind.MODEL and d.model == model
               and d.prompt_hash == prompt_hash}
    todo = [r for r in store.records_table(primary_only=True) if r.id not in rule_out and r.id not in drafted]
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
    input_tokens, output_tokens, cost = _estimate(settings, chars, len(todo), len(criteria))
    return {"records": len(todo), "skipped": skipped, "messages": first, "input_tokens": input_tokens,
            "output_tokens_estimate": output_tokens, "cost": cost, "model": settings.model,
            "prompt_hash": template.hash}


def _estimate(settings: LLMSettings, chars: int, records: int, n_criteria: int) -> tuple[int, int, float | None]:
    """(input tokens, output tokens, cost at the synchronous rates) for ``records`` prompts of ``chars``
    characters in all: ~4 characters per token for English text, ~60 answer tokens per criterion."""
    input_tokens = chars // 4
    output_tokens = records * (60 * n_criteria + 40)
    price = find_price(settings.with_local_pricing().prices, settings.model)
    cost = (input_tokens * price.input + output_tokens * price.output) / 1e6 if price else None
    return input_tokens, output_tokens, cost


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

    def job(rec: RecordRow) -> Any:
        async def call(client: Any) -> tuple[RecordRow, Any]:
            return rec, await screen_record(client, template, criteria, protocol.review.question, rec,
                                            record_id=rec.id)
        return call

    def done(result: tuple[RecordRow, Any]) -> None:
        rec, outcome = result
        if not outcome.ok:
            cause = error_cause(outcome.error)
            summary.error_causes[cause] = summary.error_causes.get(cause, 0) + 1
        writer.add(rec, outcome, pending.pop(rec.id, []))

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

    def __init__(self, store: Store, prompt_hash: str, model: str, summary: LLMSummary, *, interval: float,
                 batch_id: str | None = None) -> None:
        self.store, self.prompt_hash, self.model, self.summary = store, prompt_hash, model, summary
        self.interval = interval
        self.batch = {"batch_id": batch_id} if batch_id else {}  # names the Batch API batch an answer came from
        self._buffer: list[tuple[RecordRow, Any, list[dict[str, Any]]]] = []
        self._last = time.monotonic()

    def add(self, rec: RecordRow, outcome: Any, exchanges: list[dict[str, Any]]) -> None:
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
                    "record_id": rec.id, "stage": STAGE, "decider_kind": DeciderKind.MODEL,
                    "decider": self.model, "label": answer.decision, "criteria": _criteria_with_grounding(answer, rec),
                    "reasons": [c.id for c in answer.criteria if c.verdict == "not_met"],
                    "confidence": answer.confidence, "model": outcome.model_served or self.model,
                    "prompt_hash": self.prompt_hash, "settings": {
                        "method": outcome.method, "cached": outcome.cached, "warnings": outcome.warnings,
                        **self.batch}})
            else:
                errors.append({"action": "model_error", "actor_kind": "model", "actor": self.model,
                               "entity": "record", "entity_id": rec.id,
                               "payload": {"error": outcome.error, **self.batch}})
        with self.store.write() as conn:
            self.store.log_llm_calls([row for _, _, rows in self._buffer for row in rows], conn=conn)
            self.store.add_decisions(decisions, conn=conn)
            self.store.log_events(conn, errors)
        self.summary.drafted += len(decisions)
        self.summary.errors += len(errors)
        self._buffer = []


def _criteria_with_grounding(answer: Any, rec: RecordRow) -> list[dict[str, Any]]:
    """The model's criteria as it gave them (kept for audit), each with ``quote_found``: whether its quote is
    in the record text the model was shown. Decided here, where that text is at hand, so routing can count
    a ``not_met`` as evidence only when its quote was found (``screener.routing.LLMSignal.from_decision``)."""
    found = answer.quotes_found(record_block(rec))
    return [{**c.model_dump(), "quote_found": found[c.id]} for c in answer.criteria]


# -- the Batch API: ``metasift screen --batch`` ------------------------------------------------------------

BATCH_SUBMITTED = "llm_batch_submitted"
BATCH_COLLECTED = "llm_batch_collected"
BATCH_FAILED = "llm_batch_failed"
_CLOSING = (BATCH_COLLECTED, BATCH_FAILED)  # either event closes a submitted batch
POLL_SECONDS = 60.0


class BatchSummary(BaseModel):
    """What one ``screen --batch`` run did: batches submitted, batches still running, answers collected."""

    model: str
    prompt_hash: str
    endpoint: str = ""
    submitted: list[str] = []  # batch ids submitted this run
    records: int = 0  # records sent in them
    estimated_cost: float | None = 0.0  # of what was submitted, at batch price (None: no price known)
    skipped: int = 0  # records drafted before by this model and prompt
    unsendable: int = 0  # records with neither title nor abstract: errors, never sent
    waiting: list[str] = []  # status lines of the open batches still running
    collected: list[str] = []  # batch ids collected this run
    failed: list[str] = []  # why each batch that failed as a whole did (its records are left for the next run)
    llm: LLMSummary | None = None  # the answers collected this run
    remaining: int = 0  # records still to draft that no open batch holds

    @property
    def open(self) -> bool:
        """True when some batch is still running at the endpoint after this run."""
        return bool(self.submitted or self.waiting)

    def lines(self) -> list[str]:
        """What to tell the user, one line each, with how to go on."""
        out = []
        if self.submitted:
            cost = f"{self.estimated_cost:.4f}" if self.estimated_cost is not None else "unknown (no price)"
            ids = ", ".join(self.submitted)
            out.append(f"submitted batch {ids}: {self.records} records, estimated cost {cost} at batch price "
                       "(half the [llm.prices] rates); collect the answers with `metasift screen --batch` "
                       "(add --wait to wait for them)")
        out += [f"{line}; collect it with `metasift screen --batch` (add --wait to wait for it)"
                for line in self.waiting]
        out += [f"batch {why}; its records are left for the next run" for why in self.failed]
        if self.llm is not None:
            out.append(f"batch {', '.join(self.collected)} collected: {self.llm.line()}")
        if self.unsendable:
            out.append(f"{self.unsendable} records have neither title nor abstract: not sent")
        if self.remaining and not self.open:
            out.append(f"{self.remaining} records still to draft: run `metasift screen --batch` again "
                       "(or `metasift screen` to send them one by one)")
        if not out:
            out.append(f"model {self.model}: nothing to draft ({self.skipped} drafted before)")
        return out


def batch_custom_id(record_id: int, prompt_hash: str) -> str:
    """The ``custom_id`` of a record's request: the record id and the prompt's hash."""
    return f"record-{record_id}-{prompt_hash}"


def open_batches(store: Store, settings: LLMSettings, prompt_hash: str) -> list[dict[str, Any]]:
    """The ``llm_batch_submitted`` payloads of this model, prompt and endpoint with no closing event yet,
    oldest first: the batches a ``--batch`` run polls instead of submitting again."""
    ev = t.events
    with store.read() as conn:
        rows = conn.execute(select(ev.c.action, ev.c.payload).where(ev.c.action.in_((BATCH_SUBMITTED, *_CLOSING)))
                            .order_by(ev.c.id)).all()
    closed = {(payload or {}).get("batch_id") for action, payload in rows if action in _CLOSING}
    return [payload for action, payload in rows if action == BATCH_SUBMITTED and payload["batch_id"] not in closed
            and payload.get("model") == settings.model and payload.get("prompt_hash") == prompt_hash
            and payload.get("endpoint") == settings.endpoint]


def run_batch_stage(store: Store, protocol: Protocol, settings: LLMSettings, *, limit: int | None = None,
                    wait: bool = False, poll_seconds: float = POLL_SECONDS,
                    on_status: Callable[[list[BatchStatus]], None] | None = None,
                    api: OpenAIBatches | None = None) -> BatchSummary:
    """One ``screen --batch`` run: collect the open batches that are done (polling until all are, with
    ``wait``), or, when none is open, submit the records still to draft and return at once (unless ``wait``).

    A batch is open from its ``llm_batch_submitted`` event until its ``llm_batch_collected`` (or
    ``llm_batch_failed``) event, so a run while one is open never submits the same records again.
    Ctrl-C while waiting leaves the batch running at the endpoint; the next run collects it.
    """
    template = load_template(TEMPLATE)
    summary = BatchSummary(model=settings.model, prompt_hash=template.hash, endpoint=settings.endpoint)
    api = api or OpenAIBatches(settings)
    try:
        pending = open_batches(store, settings, template.hash)
        if not pending:
            pending = _submit(store, protocol, settings, api, template, limit, summary)
            if not wait or not pending:
                return _finish(store, settings, template.hash, summary, pending)
            time.sleep(poll_seconds)
        while pending:
            statuses = [api.status(batch["batch_id"]) for batch in pending]
            if on_status is not None:
                on_status(statuses)
            for batch, status in zip(pending, statuses, strict=True):
                if status.terminal:
                    _collect(store, protocol, settings, api, template, batch, status, summary)
            pending = [b for b, s in zip(pending, statuses, strict=True) if not s.terminal]
            if not pending or not wait:
                summary.waiting = [s.line() for s in statuses if not s.terminal]
                break
            time.sleep(poll_seconds)
        return _finish(store, settings, template.hash, summary, pending)
    finally:
        api.close()


def _finish(store: Store, settings: LLMSettings, prompt_hash: str, summary: BatchSummary,
            pending: list[dict[str, Any]]) -> BatchSummary:
    """Count the records still to draft that no open batch holds."""
    held = {rid for batch in pending for rid in batch["record_ids"]}
    todo, skipped = records_to_draft(store, settings.model, prompt_hash)
    summary.remaining = sum(1 for rec in todo if rec.id not in held)
    summary.skipped = summary.skipped or skipped
    return summary


def _answer_schema(protocol: Protocol) -> tuple[list[Any], type[ScreeningAnswer], dict[str, Any]]:
    """(criteria the model judges, their answer model, its JSON schema): what the synchronous path uses."""
    criteria = llm_criteria(protocol)
    output_model = screening_model([str(c.id) for c in criteria])
    return criteria, output_model, output_model.model_json_schema()


def _submit(store: Store, protocol: Protocol, settings: LLMSettings, api: OpenAIBatches, template: PromptTemplate,
            limit: int | None, summary: BatchSummary) -> list[dict[str, Any]]:
    """Send every record still to draft as batch requests (several batches when one file would be too big),
    after checking the estimate against ``max_cost``; each batch's ``llm_batch_submitted`` event is written
    as soon as it exists. Returns those events' payloads."""
    todo, summary.skipped = records_to_draft(store, settings.model, template.hash, limit)
    criteria, _, schema = _answer_schema(protocol)
    requests: list[BatchRequest] = []
    records: dict[str, int] = {}
    unsendable: list[RecordRow] = []
    chars = 0
    for rec in todo:
        if not (str(rec.title or "").strip() or str(rec.abstract or "").strip()):
            unsendable.append(rec)
            continue
        messages, _ = screening_messages(template, criteria, protocol.review.question, rec)
        chars += sum(len(m["content"]) for m in messages)
        request = request_line(settings, batch_custom_id(rec.id, template.hash), messages,
                               template.output_schema, schema)
        requests.append(request)
        records[request.custom_id] = rec.id
    _, _, full = _estimate(settings, chars, len(requests), len(criteria))
    estimate = full * BATCH_DISCOUNT if full is not None else None
    if settings.max_cost is not None and estimate is not None and estimate > settings.max_cost:
        raise BudgetExceeded(f"the batch of {len(requests)} records would cost about {estimate:.4f} at batch "
                             f"price, more than max_cost {settings.max_cost:.4f}: nothing was uploaded; raise "
                             "--max-cost or send fewer records with --limit")
    if unsendable:
        with store.write() as conn:
            store.log_events(conn, [{"action": "model_error", "actor_kind": "model", "actor": settings.model,
                                     "entity": "record", "entity_id": rec.id,
                                     "payload": {"error": "the record has no title or abstract to screen"}}
                                    for rec in unsendable])
    summary.unsendable = len(unsendable)
    summary.estimated_cost = 0.0 if estimate is not None else None
    submitted = []
    for chunk in chunks(requests):
        ids = [records[r.custom_id] for r in chunk]
        _, _, cost = _estimate(settings, sum(len(m["content"]) for r in chunk for m in r.messages), len(chunk),
                               len(criteria))
        part = cost * BATCH_DISCOUNT if cost is not None else None
        batch_id, file_id = api.submit(chunk, {"metasift_model": settings.model,
                                               "metasift_prompt_hash": template.hash})
        payload = {"batch_id": batch_id, "file_id": file_id, "model": settings.model,
                   "prompt_hash": template.hash, "endpoint": settings.endpoint, "record_ids": ids,
                   "estimated_cost": part}
        with store.write() as conn:
            store.log_event(conn, BATCH_SUBMITTED, actor_kind="model", actor=settings.model, payload=payload)
        submitted.append(payload)
        summary.submitted.append(batch_id)
        summary.records += len(chunk)
        if summary.estimated_cost is not None and part is not None:
            summary.estimated_cost += part
    return submitted


def _collect(store: Store, protocol: Protocol, settings: LLMSettings, api: OpenAIBatches, template: PromptTemplate,
             batch: dict[str, Any], status: BatchStatus, summary: BatchSummary) -> None:
    """Write a finished batch's answers as the synchronous path writes them, then close it with its event.

    Each answer is validated as ``screen_record`` validates one (schema, quotes), cached the moment it is
    read, and written with its exchange in grouped transactions (``_Writer``); a line that failed or did not
    validate is an error event, its record left for the next run. Idempotent: a record decided by this model
    and prompt, or already logged from this batch, is skipped, so a collection cut short is simply re-run.
    """
    batch_id = batch["batch_id"]
    if status.status == "failed" or (not status.output_file_id and not status.error_file_id):
        why = f"{batch_id} {status.status}: {'; '.join(status.errors) or 'no output file'}"
        with store.write() as conn:
            store.log_event(conn, BATCH_FAILED, actor_kind="model", actor=settings.model, payload={
                "batch_id": batch_id, "status": status.status, "errors": status.errors})
        summary.failed.append(why)
        return
    criteria, output_model, schema = _answer_schema(protocol)
    results = api.results(status)
    handled = _handled(store, batch_id, settings.model, template.hash)
    records = {r.id: r for r in store.records_table(primary_only=True)}
    price = find_price(settings.with_local_pricing().prices, settings.model)
    if summary.llm is None:
        summary.llm = LLMSummary(model=settings.model, prompt_hash=template.hash, todo=0, drafted=0, errors=0,
                                 skipped=0, cost=0.0, endpoint=settings.endpoint)
    llm = summary.llm
    before = (llm.drafted, llm.errors, llm.skipped)
    writer = _Writer(store, template.hash, settings.model, llm, interval=FLUSH_SECONDS, batch_id=batch_id)
    cache = DiskCache(settings.cache_dir) if settings.cache_dir is not None else None
    try:
        for rid in batch["record_ids"]:
            rec = records.get(rid)
            if rec is None or rid in handled:
                llm.skipped += 1
                continue
            llm.todo += 1
            messages, text = screening_messages(template, criteria, protocol.review.question, rec)
            request = request_line(settings, batch_custom_id(rid, template.hash), messages, template.output_schema,
                                   schema)
            answer = read_answer(results.get(request.custom_id), request.method, output_model, price,
                                 settings.max_tokens)
            outcome = _batch_outcome(answer, request.method, text)
            if outcome.ok and cache is not None:
                cache.put(answer_cache_key(settings, template.hash, template.output_schema, schema, messages), {
                    "parsed": outcome.parsed, "method": outcome.method, "model_served": outcome.model_served,
                    "input_tokens": outcome.input_tokens, "output_tokens": outcome.output_tokens,
                    "cost": outcome.cost, "created_at": utc_now().isoformat()})
            if not outcome.ok:
                cause = error_cause(outcome.error)
                llm.error_causes[cause] = llm.error_causes.get(cause, 0) + 1
            llm.cost = None if llm.cost is None or answer.cost is None else llm.cost + answer.cost
            writer.add(rec, outcome, [_batch_exchange(rid, template, settings, request, answer, batch_id)])
    finally:  # what was read is written, even when something below fails
        writer.flush()
        if cache is not None:
            cache.close()
    drafted, errors, skipped = (now - then for now, then in zip((llm.drafted, llm.errors, llm.skipped), before,
                                                                 strict=True))
    with store.write() as conn:
        store.log_event(conn, BATCH_COLLECTED, actor_kind="model", actor=settings.model, payload={
            "batch_id": batch_id, "status": status.status, "drafted": drafted, "errors": errors,
            "skipped": skipped})
    summary.collected.append(batch_id)


def _handled(store: Store, batch_id: str, model: str, prompt_hash: str) -> set[int]:
    """Records a collection of ``batch_id`` must skip: drafted by this model and prompt, or with an exchange
    from this batch already logged (its decision or error event was written in the same transaction)."""
    drafted = {d.record_id for d in store.decisions(STAGE)
               if d.decider_kind == DeciderKind.MODEL and d.model == model and d.prompt_hash == prompt_hash}
    calls = t.llm_calls
    with store.read() as conn:
        rows = conn.execute(select(calls.c.record_id, calls.c.options).where(
            calls.c.template_hash == prompt_hash, calls.c.model_requested == model, calls.c.purpose == PURPOSE))
        logged = {rid for rid, options in rows if (options or {}).get("batch_id") == batch_id}
    return drafted | logged


def _batch_outcome(answer: Answer, method: str, text: str) -> LLMOutcome[Any]:
    """The answer as the outcome ``screen_record`` returns: a value with its quote warnings, or an error."""
    common = {"method": method, "model_served": answer.model_served, "attempts": 1, "parsed": answer.parsed,
              "input_tokens": answer.usage.input_tokens, "output_tokens": answer.usage.output_tokens,
              "cost": answer.cost}
    if answer.value is None or answer.error:
        return LLMOutcome(error=answer.error or "invalid answer", **common)
    outcome: LLMOutcome[Any] = LLMOutcome(value=answer.value, **common)
    outcome.warnings.extend(quote_warnings(answer.value, text))
    return outcome


def _batch_exchange(record_id: int, template: PromptTemplate, settings: LLMSettings, request: BatchRequest,
                    answer: Answer, batch_id: str) -> dict[str, Any]:
    """The ``llm_calls`` row of one batch line: the request as sent, the answer, its cost at batch price."""
    return Exchange(record_id=record_id, purpose=PURPOSE, model_requested=settings.model,
                    model_served=answer.model_served, template=template.name, template_hash=template.hash,
                    method=request.method, attempt=1, messages=request.messages,
                    options={**request.options, "batch_id": batch_id, "custom_id": request.custom_id},
                    response=answer.response, parsed=answer.parsed, error=answer.error,
                    input_tokens=answer.usage.input_tokens, output_tokens=answer.usage.output_tokens,
                    cost=answer.cost).model_dump()
