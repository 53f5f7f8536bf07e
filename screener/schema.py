"""The answer an LLM gives when screening one record on title and abstract, validated per protocol.

``screening_model(ids)`` builds the answer model for a protocol's criterion ids: its JSON schema enumerates
the ids (so ``json_schema`` endpoints can only answer those) and validation requires each id exactly once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from metasift.llm.guard import visible_text
from metasift.screener.rules import Verdict

Decision = Literal["include", "exclude", "unsure"]


class CriterionAnswer(BaseModel):
    """The model's judgement of one criterion, with the record text it rests on."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The criterion id, exactly as given.")
    verdict: Verdict = Field(description="met, not_met, or unclear when the record does not say.")
    quote: str = Field(description='Verbatim text copied from the record supporting the verdict, or "".')
    reason: str = Field(description="One short sentence.")


class ScreeningAnswer(BaseModel):
    """Every criterion answered once, then the decision and a confidence in 0..1."""

    model_config = ConfigDict(extra="forbid")

    expected_ids: ClassVar[tuple[str, ...]] = ()  # set by screening_model(); empty: any ids, each once

    criteria: list[CriterionAnswer]
    decision: Decision = Field(description="include, exclude, or unsure.")
    confidence: float = Field(ge=0, le=1, description="How sure the decision is, from 0 to 1.")

    @model_validator(mode="after")
    def _each_criterion_once(self) -> ScreeningAnswer:
        counts = Counter(c.id for c in self.criteria)
        twice = sorted(i for i, n in counts.items() if n > 1)
        if twice:
            raise ValueError(f"criteria answered more than once: {', '.join(twice)}")
        if self.expected_ids:
            missing = [i for i in self.expected_ids if i not in counts]
            unknown = sorted(set(counts) - set(self.expected_ids))
            if missing:
                raise ValueError(f"criteria not answered: {', '.join(missing)}")
            if unknown:
                raise ValueError(f"unknown criteria answered: {', '.join(unknown)}")
        return self

    def verdicts(self) -> dict[str, str]:
        """Criterion id -> verdict."""
        return {c.id: c.verdict for c in self.criteria}

    def check_quotes(self, record_text: str) -> list[str]:
        """Ids of criteria whose quote is not in the record (whitespace, case and quote marks normalised)."""
        found = self.quotes_found(record_text)
        return [c.id for c in self.criteria if c.quote.strip() and not found[c.id]]

    def quotes_found(self, record_text: str) -> dict[str, bool]:
        """Criterion id -> whether its quote is in the record: an empty quote is not found (it shows nothing).

        ``record_text`` must be the text the model was shown (``screener.llm_call.record_block``): routing
        counts a ``not_met`` as evidence only when its quote is found there.
        """
        haystack = normalise_text(record_text)
        return {c.id: quote_in_text(c.quote, haystack) for c in self.criteria}


@lru_cache(maxsize=64)
def _model_for(ids: tuple[str, ...]) -> type[ScreeningAnswer]:
    id_type = Literal[ids]  # type: ignore[valid-type]
    answer = create_model("CriterionAnswer", __base__=CriterionAnswer,
                          id=(id_type, Field(description="The criterion id, exactly as given.")))
    # The item count goes in the JSON schema only: validation says which ids are missing, which helps a repair.
    counts = {"minItems": len(ids), "maxItems": len(ids)}
    model = create_model("ScreeningAnswer", __base__=ScreeningAnswer,
                         criteria=(list[answer], Field(json_schema_extra=counts)))  # type: ignore[valid-type]
    model.expected_ids = ids
    return model


def screening_model(criterion_ids: Sequence[str]) -> type[ScreeningAnswer]:
    """The answer model for these criteria: ids enumerated in the schema, each required exactly once."""
    ids = tuple(criterion_ids)
    if not ids:
        raise ValueError("screening needs at least one criterion")
    if len(set(ids)) != len(ids):
        raise ValueError("criterion ids must be unique")
    return _model_for(ids)


_QUOTE_MARKS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                              "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_ELLIPSIS = re.compile(r"\[(?:\.\.\.|\u2026)\]|\.\.\.|\u2026")


def normalise_text(text: str) -> str:
    """NFKC without invisible characters, case-folded, typographic quotes/dashes made plain, whitespace
    collapsed."""
    if text.isascii():  # NFKC, invisible characters and the typographic marks only touch non-ASCII text
        return " ".join(text.lower().split())
    text = visible_text(text).translate(_QUOTE_MARKS).casefold()
    return " ".join(text.split())


def quote_in_text(quote: str, normalised_text: str) -> bool:
    """True when every part of ``quote`` (split at an ellipsis) occurs, in order, in the normalised text.

    A quote with no text in it ("", "...", '""') is never in the text: it shows nothing.
    """
    position, shown = 0, False
    for part in _ELLIPSIS.split(quote):
        part = normalise_text(part).strip(" \"'.,;:")
        if not part:
            continue
        found = normalised_text.find(part, position)
        if found < 0:
            return False
        position, shown = found + len(part), True
    return shown
