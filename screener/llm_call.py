"""Title/abstract screening of one record by the LLM: the record rendered as delimited data, the answer checked.

The record goes last, between ``<record>`` and ``</record>``; anything inside it that looks like one of those
delimiters, or like a chat template's special token (``<|im_end|>``, ``[INST]``...), is neutralised first, so
text in an abstract cannot close the data block or the user turn and pose as instructions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from metasift.llm.client import LLMClient
from metasift.llm.exchange import LLMOutcome
from metasift.llm.guard import delimiter_guard
from metasift.screener.schema import ScreeningAnswer, screening_model
from metasift.templates import PromptTemplate

PURPOSE = "screen_title_abstract"
_GUARD = delimiter_guard("record")

_FIELDS = (("title", "Title"), ("abstract", "Abstract"), ("keywords", "Keywords"), ("year", "Year"),
           ("journal", "Journal"), ("publication_type", "Publication type"), ("language", "Language"))


def neutralise(text: str) -> str:
    """``text`` made visible, with record-tag look-alikes and chat-template tokens defused
    (``metasift.llm.guard``): it can neither end the ``<record>`` data block nor the turn."""
    return _GUARD(text)


class ScreenedRecord(Protocol):
    """What the model is shown of a record: a stored ``RecordRow`` or an imported ``Record`` has these."""

    @property
    def title(self) -> str | None: ...
    @property
    def abstract(self) -> str | None: ...
    @property
    def keywords(self) -> Sequence[str] | None: ...
    @property
    def year(self) -> int | None: ...
    @property
    def journal(self) -> str | None: ...
    @property
    def publication_type(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


def record_block(record: ScreenedRecord) -> str:
    """The record as ``Field: value`` lines (title, abstract, keywords, year...), neutralised; empty fields left out."""
    lines = []
    for key, label in _FIELDS:
        value = getattr(record, key)
        if isinstance(value, (list, tuple)):
            value = "; ".join(str(v) for v in value if v)
        if value is None or str(value).strip() == "":
            continue
        lines.append(f"{label}: {neutralise(str(value).strip())}")
    return "\n".join(lines)


def _criteria_pairs(criteria: Sequence[Any]) -> list[tuple[str, str]]:
    pairs = []
    for c in criteria:
        pairs.append((str(c.id), str(c.text)) if hasattr(c, "id") else (str(c[0]), str(c[1])))
    return pairs


def screening_messages(
    template: PromptTemplate, criteria: Sequence[Any], question: str, record: ScreenedRecord
) -> tuple[list[dict[str, str]], str]:
    """(messages, record text shown to the model) for one record; criteria are (id, text) pairs or Criterion."""
    text = record_block(record)
    return _renderer(template, question, tuple(_criteria_pairs(criteria)))(record=text), text


@functools.lru_cache(maxsize=16)
def _renderer(template: PromptTemplate, question: str,
              pairs: tuple[tuple[str, str], ...]) -> Callable[..., list[dict[str, str]]]:
    """The protocol part of the prompt rendered once per run; each call fills in only the record."""
    return template.partial(question=question, criteria=[{"id": cid, "text": ctext} for cid, ctext in pairs])


async def screen_record(
    client: LLMClient,
    template: PromptTemplate,
    protocol_criteria: Sequence[Any],
    question: str,
    record: ScreenedRecord,
    *,
    record_id: int | str | None = None,
) -> LLMOutcome[ScreeningAnswer]:
    """Ask the model to screen one record; quotes not found in the record, and ``not_met`` verdicts that
    quote nothing, are listed in ``warnings`` (routing counts neither as evidence to exclude).

    The quotes are checked against ``text``, the neutralised record the model was shown.
    A record with neither title nor abstract is not sent: it comes back as an error outcome.
    """
    pairs = _criteria_pairs(protocol_criteria)
    model = screening_model([cid for cid, _ in pairs])
    if not (str(record.title or "").strip() or str(record.abstract or "").strip()):
        return LLMOutcome(error="the record has no title or abstract to screen")
    messages, text = screening_messages(template, pairs, question, record)
    outcome = await client.complete(messages, model, template=template, record_id=record_id, purpose=PURPOSE)
    if outcome.value is not None:
        outcome.warnings.extend(quote_warnings(outcome.value, text))
    return outcome


def quote_warnings(answer: ScreeningAnswer, text: str) -> list[str]:
    """Quotes not in ``text`` (the record as the model was shown it), and ``not_met`` verdicts quoting
    nothing: the warnings an answer carries, whether it came one by one or in a batch."""
    warnings = [f"quote for {cid} is not in the record" for cid in answer.check_quotes(text)]
    warnings += [f"not_met for {c.id} quotes nothing from the record" for c in answer.criteria
                 if c.verdict == "not_met" and not c.quote.strip()]
    return warnings
