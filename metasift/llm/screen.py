"""Title/abstract screening of one record by the LLM: the record rendered as delimited data, the answer checked.

The record goes last, between ``<record>`` and ``</record>``; anything inside it that looks like one of those
delimiters, or like a chat template's special token (``<|im_end|>``, ``[INST]``...), is neutralised first, so
text in an abstract cannot close the data block or the user turn and pose as instructions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from metasift.llm.client import LLMClient
from metasift.llm.exchange import LLMOutcome
from metasift.templates import PromptTemplate
from screener.schema import ScreeningAnswer, screening_model, visible_text

PURPOSE = "screen_title_abstract"

# The text is made visible first (NFKC, so full-width "＜／ｒｅｃｏｒｄ＞" is "</record>"; zero-width and
# other invisible characters removed, so "</rec\u200bord>" is too): the patterns see what a model reads.
_OPEN = r"(?:<|&lt;|&#0*60;|&#x0*3c;)"
_CLOSE = r"(?:>|&gt;|&#0*62;|&#x0*3e;)"
_SPECIAL_WORDS = ("s", "bos", "eos", "pad", "unk", "start_of_turn", "end_of_turn", "think", "tool_call",
                  "tool_response", "system", "user", "assistant")
_SQUARE_WORDS = ("INST", "SYSTEM_PROMPT", "AVAILABLE_TOOLS", "TOOL_CALLS", "TOOL_RESULTS", "TOOL_CONTENT")
_DELIMITER = re.compile(
    # our tag in any spelling, closed or not: "<record>", "</ record >", "&lt;/record&gt;", "</record" alone
    rf"{_OPEN}\s*/?\s*record\b(?:[^<>\n]*?{_CLOSE})?"
    # chat-template tokens: "<|im_end|>", "<|eot_id|>", "<|endoftext|>"... any "<|...|>"
    rf"|{_OPEN}\s*\|[^<>|\n]{{0,64}}\|\s*{_CLOSE}"
    rf"|{_OPEN}{{2}}\s*/?\s*SYS\s*{_CLOSE}{{2}}"  # Llama 2's "<<SYS>>", "<</SYS>>"
    rf"|{_OPEN}\s*/?\s*(?:{'|'.join(_SPECIAL_WORDS)})\s*{_CLOSE}"  # "<s>", "</s>", "<start_of_turn>"...
    rf"|\[\s*/?\s*(?:{'|'.join(_SQUARE_WORDS)})\s*\]",  # "[INST]", "[/INST]", Mistral's "[TOOL_CALLS]"...
    re.IGNORECASE)
_BRACKETS = re.compile(rf"{_OPEN}|{_CLOSE}|\[|\]", re.IGNORECASE)
_OPENER = re.compile(_OPEN, re.IGNORECASE)
_REPLACEMENT = {"<": "\u2039", ">": "\u203a", "[": "\u27e6", "]": "\u27e7"}  # ‹ › ⟦ ⟧

_FIELDS = (("title", "Title"), ("abstract", "Abstract"), ("keywords", "Keywords"), ("year", "Year"),
           ("journal", "Journal"), ("publication_type", "Publication type"), ("language", "Language"))


def neutralise(text: str) -> str:
    """``text`` made visible (``screener.schema.visible_text``: NFKC, no invisible characters), with the
    brackets of record-tag look-alikes and chat-template tokens replaced (‹ › ⟦ ⟧) so they can neither end
    the data block nor the turn; everything else is left as it is ("p < 0.05" stays)."""
    return _DELIMITER.sub(_defuse, visible_text(text))


def _defuse(match: re.Match[str]) -> str:
    """One look-alike with its brackets (or their HTML entities) replaced by harmless ones."""
    return _BRACKETS.sub(_harmless, match.group(0))


def _harmless(bracket: re.Match[str]) -> str:
    """‹ for an opening angle bracket (or ``&lt;``, ``&#60;``), › for a closing one, ⟦ ⟧ for square ones."""
    token = bracket.group(0)
    if token in "[]":
        return _REPLACEMENT[token]
    return _REPLACEMENT["<"] if _OPENER.fullmatch(token) else _REPLACEMENT[">"]


def record_block(record: Mapping[str, Any]) -> str:
    """The record as ``Field: value`` lines (title, abstract, keywords, year...), neutralised; empty fields left out."""
    lines = []
    for key, label in _FIELDS:
        value = record.get(key)
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
    template: PromptTemplate, criteria: Sequence[Any], question: str, record: Mapping[str, Any]
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
    record: Mapping[str, Any],
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
    if not (str(record.get("title") or "").strip() or str(record.get("abstract") or "").strip()):
        return LLMOutcome(error="the record has no title or abstract to screen")
    messages, text = screening_messages(template, pairs, question, record)
    outcome = await client.complete(messages, model, template=template, record_id=record_id, purpose=PURPOSE)
    if outcome.value is not None:
        for cid in outcome.value.check_quotes(text):
            outcome.warnings.append(f"quote for {cid} is not in the record")
        for c in outcome.value.criteria:
            if c.verdict == "not_met" and not c.quote.strip():
                outcome.warnings.append(f"not_met for {c.id} quotes nothing from the record")
    return outcome
