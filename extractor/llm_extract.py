"""The LLM extractor: a trial PDF's pages sent as delimited data, the answer checked, made an ``ExtractionResult``.

Pages go last, each between ``<page n="...">`` and ``</page>``; anything in the text that looks like one of
those tags is neutralised first, so a PDF cannot close the data block and pose as instructions. A long
paper is cut to a character budget by keeping the pages with the most words that mark the numbers
(randomised, allocated, Table, mean, SD, ±...), the first page always; the prompt names the pages left out.
Calls go through ``LLMClient.complete``, so caching, retries, budget and exchange logging all apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from metasift.config import OutcomeSpec
from metasift.extractor._llm_schema import TrialAnswer, to_result
from metasift.extractor._text import NUMBERS
from metasift.extractor.crosscheck import CrossCheck, crosscheck
from metasift.extractor.pdf import Page, PdfDocument
from metasift.extractor.pipeline import open_fulltext, page_texts, store_crosscheck
from metasift.extractor.rules import extract
from metasift.extractor.schema import ExtractionResult
from metasift.llm import ExchangeHook, LLMClient, LLMOutcome, LLMSettings
from metasift.llm.batch import run_batch
from metasift.llm.cost import BudgetExceeded
from metasift.llm.guard import delimiter_guard
from metasift.store import Store
from metasift.store.rows import FulltextRow
from metasift.templates import PromptTemplate, load_template

PURPOSE = "extract_trial"
TEMPLATE = "extract_trial"
DEFAULT_BUDGET = 48_000  # characters of page text per request, about 12k tokens
MIN_MAX_TOKENS = 4096  # a full answer with a quote per number needs more than a screening answer's 1024

_KEYWORDS = re.compile(r"randomi[sz]|randomly assigned|allocated|\btable\b|\bmean\b|\bsd\b|±|standard deviation|"
                       r"baseline|analy[sz]ed|lost to follow|drop[- ]?outs?|withdr[ae]w|discontinued", re.IGNORECASE)

# "<page n=3>", "</ page >", "&lt;/page&gt;", full-width "＜/page＞": anything a model could read as our tag.
_GUARD = delimiter_guard("page")
TABLE_ROWS_NOTE = "[table rows as printed across the page]"


class PageSelection(BaseModel):
    """Which pages a request carries."""

    sent: list[int]
    left_out: list[int] = Field(default_factory=list)
    truncated: int | None = None  # a page cut short because it alone exceeds the budget
    chars: int = 0


def neutralise(text: str) -> str:
    """Page text made visible, with page-tag look-alikes and chat-template tokens defused
    (``metasift.llm.guard``) so it can neither end a page block nor the turn."""
    return _GUARD(text)


def model_page_text(page: Page) -> str:
    """The page as the model reads it: reading order, plus the full-width table rows that order split apart."""
    text = page.text.strip()
    seen = {" ".join(line.split()) for line in text.splitlines()}
    rows = [" ".join(line.split()) for line in (page.lines or "").splitlines()
            if " ".join(line.split()) not in seen and len(NUMBERS.findall(line)) >= 2]
    return f"{text}\n{TABLE_ROWS_NOTE}\n" + "\n".join(rows) if rows else text


def keyword_density(text: str) -> float:
    """Words that mark trial numbers per 1000 characters (pages shorter than 500 count as 500)."""
    return 1000 * len(_KEYWORDS.findall(text)) / max(len(text), 500)


def select_pages(texts: dict[int, str], budget: int = DEFAULT_BUDGET) -> PageSelection:
    """The pages to send within ``budget`` characters: page 1, then by keyword density, kept in page order."""
    total = sum(len(t) for t in texts.values())
    if total <= budget:
        return PageSelection(sent=sorted(texts), chars=total)
    first = min(texts) if texts else None
    order = sorted(texts, key=lambda n: (n != first, -keyword_density(texts[n]), n))
    sent, used, truncated = [], 0, None
    for n in order:
        size = len(texts[n])
        if used + size <= budget:
            sent.append(n)
            used += size
        elif not sent:  # even the first pick alone is too long: send its start
            sent.append(n)
            used, truncated = budget, n
    return PageSelection(sent=sorted(sent), left_out=sorted(set(texts) - set(sent)), truncated=truncated,
                         chars=used)


def page_ranges(numbers: list[int]) -> str:
    """[2, 4, 5, 6, 9] → "2, 4-6, 9"."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def extraction_messages(template: PromptTemplate, doc: PdfDocument, budget: int = DEFAULT_BUDGET,
                        outcomes: Sequence[OutcomeSpec] = ()) -> tuple[list[dict[str, str]], PageSelection]:
    """The chat messages for one PDF (naming the review's ``outcomes``) and which of its pages they carry."""
    texts = {p.number: neutralise(model_page_text(p)) for p in doc.pages}
    selection = select_pages(texts, budget)
    pages = [{"n": n, "text": texts[n][:budget] if n == selection.truncated else texts[n]}
             for n in selection.sent]
    messages = template.render(pages=pages, n_pages=len(doc.pages), left_out=page_ranges(selection.left_out),
                               outcomes=[{"label": o.label or o.id, "instruments": o.instruments} for o in outcomes])
    return messages, selection


def extraction_settings(settings: LLMSettings) -> LLMSettings:
    """``settings`` with room for a whole answer (``max_tokens`` at least MIN_MAX_TOKENS)."""
    return settings.model_copy(update={"max_tokens": max(settings.max_tokens, MIN_MAX_TOKENS)})


async def llm_extract(doc: PdfDocument, client: LLMClient, template: PromptTemplate, *,
                      budget: int = DEFAULT_BUDGET, record_id: int | str | None = None,
                      outcomes: Sequence[OutcomeSpec] = ()) -> tuple[ExtractionResult, LLMOutcome[TrialAnswer]]:
    """Ask the model for the trial's numbers; an unusable answer gives an empty result and an error outcome."""
    messages, selection = extraction_messages(template, doc, budget, outcomes)
    outcome = await client.complete(messages, TrialAnswer, template=template, record_id=record_id,
                                    purpose=PURPOSE)
    result = to_result(outcome.value, doc.path) if outcome.ok and outcome.value is not None else \
        ExtractionResult(path=doc.path)
    if selection.left_out:
        outcome.warnings.append(f"pages {page_ranges(selection.left_out)} of {len(doc.pages)} were not sent "
                                "(character budget)")
    if selection.truncated is not None:
        outcome.warnings.append(f"page {selection.truncated} was cut to {budget} characters")
    result.warnings += outcome.warnings
    return result, outcome


def merge_with_rules(doc: PdfDocument, model: ExtractionResult, outcome: LLMOutcome[Any],
                     rule: ExtractionResult | None = None, outcomes: Sequence[OutcomeSpec] = ()) -> CrossCheck:
    """Cross-check the model's reading with the rule extractor's (run here unless given)."""
    rule = rule if rule is not None else extract(doc, outcomes)
    return crosscheck(rule, model if outcome.ok else None, page_texts(doc), model_error=outcome.error,
                      outcomes=outcomes)


class ModelRun(BaseModel):
    """What a batch of model extractions cost and how many failed."""

    model: str
    prompt_hash: str
    sent: int = 0
    errors: int = 0
    cost: float | None = 0.0
    stopped: str | None = None  # why the run stopped early (budget)
    failed: str | None = None  # why the endpoint was given up on; the papers not answered keep their rule values


def extract_many(docs: list[tuple[int | str | None, PdfDocument]], settings: LLMSettings, *,
                 budget: int = DEFAULT_BUDGET, on_exchange: ExchangeHook | None = None,
                 on_progress: Callable[[int, int], None] | None = None, outcomes: Sequence[OutcomeSpec] = ()
                 ) -> tuple[list[tuple[ExtractionResult, LLMOutcome[TrialAnswer]]], ModelRun]:
    """Ask the model about every ``(record_id, doc)`` concurrently; results in the input order.

    A spent budget, or an endpoint given up on (``ModelRun.failed``), turns the remaining calls into error
    outcomes: their rule values still stand and are stored.
    """
    template = load_template(TEMPLATE)
    run = ModelRun(model=settings.model, prompt_hash=template.hash, sent=len(docs))
    results: list[tuple[ExtractionResult, LLMOutcome[TrialAnswer]] | None] = [None] * len(docs)

    def job(i: int) -> Any:
        async def call(client: LLMClient) -> None:
            record_id, doc = docs[i]
            try:
                results[i] = await llm_extract(doc, client, template, budget=budget, record_id=record_id,
                                               outcomes=outcomes)
            except BudgetExceeded as exc:  # the rule values still stand for this paper
                run.stopped = str(exc)
                results[i] = (ExtractionResult(path=doc.path), LLMOutcome(error=f"not sent: {exc}"))
        return call

    batch = run_batch(extraction_settings(settings), [job(i) for i in range(len(docs))], on_done=lambda _: None,
                      on_exchange=on_exchange, on_progress=on_progress, report_failure=True)
    run.cost, run.failed = batch.cost, batch.failed
    for i, (_, doc) in enumerate(docs):
        if results[i] is None and batch.failed:
            results[i] = (ExtractionResult(path=doc.path), LLMOutcome(error=f"not answered: {batch.failed}"))
    out = [r for r in results if r is not None]
    run.errors = sum(not outcome.ok for _, outcome in out)
    return out, run


def extract_project_llm(store: Store, fulltexts: list[FulltextRow], settings: LLMSettings, *,
                        budget: int = DEFAULT_BUDGET, outcomes: Sequence[OutcomeSpec] = (),
                        on_progress: Callable[[int, int], None] | None = None
                        ) -> tuple[list[dict[str, Any]], ModelRun]:
    """Rule and model extraction of attached PDFs, cross-checked and stored; every exchange goes to llm_calls."""
    summaries: list[dict[str, Any]] = []
    opened: list[tuple[FulltextRow, PdfDocument]] = []
    for ft in fulltexts:
        doc, failed = open_fulltext(store, ft)
        if doc is None:
            summaries.append(failed or {})
        else:
            opened.append((ft, doc))

    def log_exchange(exchange: Any) -> None:
        store.log_llm_call(exchange.model_dump())

    answers, run = extract_many([(ft.record_id, doc) for ft, doc in opened], settings, budget=budget, outcomes=outcomes,
                                on_exchange=log_exchange, on_progress=on_progress)
    for (ft, doc), (model_result, outcome) in zip(opened, answers, strict=True):
        check = merge_with_rules(doc, model_result, outcome, outcomes=outcomes)
        summaries.append(store_crosscheck(store, ft, check, model=outcome.model_served or settings.model,
                                          prompt_hash=run.prompt_hash))
    return summaries, run
