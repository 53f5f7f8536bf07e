"""Routing policy: where each record goes after the rules, the LLM and the ranker have spoken.

Recall-first. A record is auto-excluded only when

- a protocol rule excludes it (a deterministic criterion clearly not met), or
- the LLM says exclude, names at least one criterion clearly ``not_met``, with confidence
  ``>= llm_exclude_confidence``, AND the ranker gives P(include) ``<= ranker_exclude_probability``
  (a ranker still on its prior ordering gives no probability: pass ``None``).

Never on one signal alone. An LLM error or ``unsure`` goes to a human; an LLM include is a
``likely_include`` (humans still confirm every include).

Two brakes on every automated exclusion. While the protocol is a draft (``[review] draft``), nothing is
auto-excluded: the record goes to a human with the reason it would have been excluded. And a stable
random share (``[routing] audit_sample``) of the records that would be auto-excluded goes to a human
anyway, so the false-exclusion rate of the automation can be estimated (``eval.exclusion_audit``).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from metasift.kinds import Label, RouteName
from metasift.screener.rules import Verdict

if TYPE_CHECKING:  # the policy stays pure: the store's row type is named for annotations only
    from metasift.store.rows import DecisionRow

ROUTES: tuple[RouteName, ...] = tuple(RouteName)


class RoutingPolicy(BaseModel):
    """Thresholds for auto-exclusion; the same fields as ``[routing]`` in review.toml."""

    model_config = ConfigDict(extra="forbid")

    llm_exclude_confidence: float = Field(0.9, ge=0, le=1)
    ranker_exclude_probability: float = Field(0.05, ge=0, le=1)
    target_recall: float = Field(0.98, gt=0, le=1)
    auto_exclude: bool = True  # False: the LLM + ranker path never excludes (rule exclusions still do)
    audit_sample: float = Field(0.0, ge=0, le=1)  # share of would-be auto-exclusions sent to a human
    draft: bool = False  # the protocol is not confirmed yet: no automated exclusion at all

    @classmethod
    def from_config(cls, config: Any) -> RoutingPolicy:
        """From ``Protocol.routing`` (or any object / mapping with the same fields)."""
        data = config if isinstance(config, dict) else config.model_dump()
        return cls(**{k: data[k] for k in cls.model_fields if k in data})


class LLMSignal(BaseModel):
    """What the LLM said about one record; ``decision="error"`` when the call failed."""

    decision: Literal["include", "exclude", "unsure", "error"]
    confidence: float | None = Field(None, ge=0, le=1)
    criteria: dict[str, Verdict] = Field(default_factory=dict)  # criterion id -> met / not_met / unclear
    error: str | None = None
    # criteria the model said were not_met with no quote found in the record: in ``criteria`` as unclear
    ungrounded: list[str] = Field(default_factory=list)

    @classmethod
    def from_answer(cls, answer: Any, record_text: str | None = None) -> LLMSignal:
        """From a validated ``screener.schema.ScreeningAnswer``; with ``record_text`` (the text the model was
        shown) a ``not_met`` whose quote is not in it counts as unclear, as in ``from_decision``."""
        if record_text is None:
            return cls(decision=answer.decision, confidence=answer.confidence, criteria=answer.verdicts())
        found = answer.quotes_found(record_text)
        rows = [{"id": c.id, "verdict": c.verdict, "quote": c.quote, "quote_found": found[c.id]}
                for c in answer.criteria]
        return cls._grounded(answer.decision, answer.confidence, rows)

    @classmethod
    def from_decision(cls, decision: DecisionRow) -> LLMSignal:
        """From a stored model decision (a ``Store.decisions`` row): the model's verdicts, except that a
        ``not_met`` whose quote was not found in the record, or is empty, is unclear and listed in
        ``ungrounded``. A rule excludes only on evidence; so does the model: an invented quote is none.

        Whether a quote was found is decided when the answer is stored (``quote_found`` on each criterion,
        ``screener.llm_stage``), against the text the model was shown. Decisions stored before that have no
        ``quote_found``: the record text is not at hand here, so a non-empty quote is taken as found (the old
        behaviour); an empty one shows nothing either way and is not evidence.
        """
        return cls._grounded(decision.label, decision.confidence, decision.criteria or [])

    @classmethod
    def _grounded(cls, label: str, confidence: float | None, rows: Sequence[Mapping[str, Any]]) -> LLMSignal:
        """The signal from per-criterion rows (id, verdict, quote, quote_found if known), not_met grounded."""
        criteria: dict[str, Verdict] = {}
        ungrounded: list[str] = []
        for c in rows:
            verdict = c["verdict"]
            if verdict == "not_met" and not _quote_backs(c):
                verdict = "unclear"
                ungrounded.append(c["id"])
            criteria[c["id"]] = verdict
        return cls(decision=label, confidence=confidence, criteria=criteria, ungrounded=ungrounded)

    def ungrounded_note(self) -> str:
        """For a route's reason: "" or "; no quote found in the record for its not_met on <ids>"."""
        return f"; no quote found in the record for its not_met on {', '.join(self.ungrounded)}" \
            if self.ungrounded else ""

    @classmethod
    def failed(cls, error: str) -> LLMSignal:
        """The LLM call failed or answered garbage."""
        return cls(decision=Label.ERROR, error=error)


def _quote_backs(criterion: Mapping[str, Any]) -> bool:
    """Whether a stored criterion's quote is evidence: found in the record (``quote_found``); without that
    key (stored before it existed) any non-empty quote, as routing then assumed."""
    found = criterion.get("quote_found")
    return bool(found) if found is not None else bool(str(criterion.get("quote") or "").strip())


class Signals(BaseModel):
    """Everything the policy weighs for one record."""

    rule_exclude: bool = False  # a rule found a criterion not met (it excludes unless a brake holds it)
    rule_criteria: list[str] = Field(default_factory=list)  # criteria a rule found not met (for the reason)
    llm: LLMSignal | None = None
    ranker_probability: float | None = Field(None, ge=0, le=1)  # None: no usable ranker score


class Route(BaseModel):
    """Where a record goes, and why (one line a human can read)."""

    route: RouteName
    reason: str

    def as_tuple(self) -> tuple[str, str]:
        """``(route, reason)`` as ``Store.save_routes`` takes it."""
        return self.route, self.reason


AUDIT_REASON = "exclusion audit"  # the reason of every audited route starts with this
DRAFT_REASON = "protocol is a draft"


def route(signals: Signals, policy: RoutingPolicy, record_id: int | None = None) -> Route:
    """Route one record under ``policy``; an auto-exclusion is held for a human while the protocol is a
    draft, or when ``record_id`` falls in the audit sample."""
    decided = _route(signals, policy)
    if decided.route != RouteName.AUTO_EXCLUDE:
        return decided
    if policy.draft:
        return Route(route=RouteName.HUMAN, reason=f"{DRAFT_REASON} (metasift confirm): {decided.reason}")
    if record_id is not None and in_audit_sample(record_id, policy.audit_sample):
        return Route(route=RouteName.HUMAN,
                     reason=f"{AUDIT_REASON} ({policy.audit_sample:.0%} sample): {decided.reason}")
    return decided


def in_audit_sample(record_id: int, share: float) -> bool:
    """Whether a record is in the exclusion audit: a stable pseudo-random draw per record id, so re-runs
    and later imports never move a record in or out, and a larger share keeps every record a smaller had."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"metasift-exclusion-audit:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < share


def _route(signals: Signals, policy: RoutingPolicy) -> Route:
    if signals.rule_exclude:
        which = ", ".join(signals.rule_criteria) or "a criterion"
        return Route(route=RouteName.AUTO_EXCLUDE, reason=f"rule: {which} not met")
    llm = signals.llm
    if llm is None:
        return Route(route=RouteName.HUMAN, reason="no model verdict yet")
    if llm.decision == Label.ERROR or llm.error:
        return Route(route=RouteName.HUMAN, reason=f"model error: {llm.error or 'no usable answer'}")
    if llm.decision == Label.UNSURE:
        return Route(route=RouteName.HUMAN, reason="model unsure")
    if llm.decision == Label.INCLUDE:
        return Route(route=RouteName.LIKELY_INCLUDE, reason=f"model includes{_conf(llm)}; a human confirms")
    # the model says exclude: auto-exclude only if every condition holds
    not_met = [cid for cid, verdict in llm.criteria.items() if verdict == "not_met"]
    p = signals.ranker_probability
    if not policy.auto_exclude:
        return Route(route=RouteName.HUMAN, reason=f"model excludes{_conf(llm)}; auto-exclusion is off")
    if not not_met:
        return Route(route=RouteName.HUMAN,
                     reason=f"model excludes{_conf(llm)} but names no criterion clearly not met"
                            f"{llm.ungrounded_note()}")
    if llm.confidence is None or llm.confidence < policy.llm_exclude_confidence:
        return Route(route=RouteName.HUMAN, reason=f"model excludes{_conf(llm)}, below the "
                                                   f"{policy.llm_exclude_confidence:.2f} needed")
    if p is None:
        return Route(route=RouteName.HUMAN, reason=f"model excludes{_conf(llm)}; no ranker score to agree")
    if p > policy.ranker_exclude_probability:
        return Route(route=RouteName.HUMAN,
                     reason=f"model excludes{_conf(llm)} but ranker P(include)={p:.3f} "
                            f"> {policy.ranker_exclude_probability:.3f}")
    return Route(route=RouteName.AUTO_EXCLUDE,
                 reason=f"model excludes ({', '.join(not_met)} not met, confidence {llm.confidence:.2f}) "
                        f"and ranker agrees "
                        f"(P(include)={p:.3f} <= {policy.ranker_exclude_probability:.3f})")


def route_all(signals: dict[int, Signals], policy: RoutingPolicy) -> dict[int, Route]:
    """Route many records (record id -> signals)."""
    return {rid: route(s, policy, rid) for rid, s in signals.items()}


def route_counts(routes: dict[int, Route]) -> dict[str, int]:
    """How many records each route took (all three routes always present)."""
    counts = {name: 0 for name in ROUTES}
    for r in routes.values():
        counts[r.route] += 1
    return counts


def _conf(llm: LLMSignal) -> str:
    return "" if llm.confidence is None else f" (confidence {llm.confidence:.2f})"
