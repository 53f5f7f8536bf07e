"""Routing policy: where each record goes after the rules, the LLM and the ranker have spoken.

Recall-first. A record is auto-excluded only when

- a protocol rule excludes it (a deterministic criterion clearly not met), or
- the LLM says exclude, names at least one criterion clearly ``not_met``, with confidence
  ``>= llm_exclude_confidence``, AND the ranker gives P(include) ``<= ranker_exclude_probability``
  (a ranker still on its prior ordering gives no probability: pass ``None``).

Never on one signal alone. An LLM error or ``unsure`` goes to a human; an LLM include is a
``likely_include`` (humans still confirm every include). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from screener.rules import Verdict

RouteName = Literal["auto_exclude", "human", "likely_include"]
ROUTES: tuple[RouteName, ...] = ("auto_exclude", "human", "likely_include")


class RoutingPolicy(BaseModel):
    """Thresholds for auto-exclusion; the same fields as ``[routing]`` in review.toml."""

    model_config = ConfigDict(extra="forbid")

    llm_exclude_confidence: float = Field(0.9, ge=0, le=1)
    ranker_exclude_probability: float = Field(0.05, ge=0, le=1)
    target_recall: float = Field(0.98, gt=0, le=1)
    auto_exclude: bool = True  # False: the LLM + ranker path never excludes (rule exclusions still do)

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

    @classmethod
    def from_answer(cls, answer: Any) -> LLMSignal:
        """From a validated ``screener.schema.ScreeningAnswer``."""
        return cls(decision=answer.decision, confidence=answer.confidence, criteria=answer.verdicts())

    @classmethod
    def failed(cls, error: str) -> LLMSignal:
        """The LLM call failed or answered garbage."""
        return cls(decision="error", error=error)


class Signals(BaseModel):
    """Everything the policy weighs for one record."""

    rule_exclude: bool = False
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


def route(signals: Signals, policy: RoutingPolicy) -> Route:
    """Route one record under ``policy``."""
    if signals.rule_exclude:
        which = ", ".join(signals.rule_criteria) or "a criterion"
        return Route(route="auto_exclude", reason=f"rule: {which} not met")
    llm = signals.llm
    if llm is None:
        return Route(route="human", reason="no model verdict yet")
    if llm.decision == "error" or llm.error:
        return Route(route="human", reason=f"model error: {llm.error or 'no usable answer'}")
    if llm.decision == "unsure":
        return Route(route="human", reason="model unsure")
    if llm.decision == "include":
        return Route(route="likely_include", reason=f"model includes{_conf(llm)}; a human confirms")
    # the model says exclude: auto-exclude only if every condition holds
    not_met = [cid for cid, verdict in llm.criteria.items() if verdict == "not_met"]
    p = signals.ranker_probability
    if not policy.auto_exclude:
        return Route(route="human", reason=f"model excludes{_conf(llm)}; auto-exclusion is off")
    if not not_met:
        return Route(route="human",
                     reason=f"model excludes{_conf(llm)} but names no criterion clearly not met")
    if llm.confidence is None or llm.confidence < policy.llm_exclude_confidence:
        return Route(route="human", reason=f"model excludes{_conf(llm)}, below the "
                                           f"{policy.llm_exclude_confidence:.2f} needed")
    if p is None:
        return Route(route="human", reason=f"model excludes{_conf(llm)}; no ranker score to agree")
    if p > policy.ranker_exclude_probability:
        return Route(route="human", reason=f"model excludes{_conf(llm)} but ranker P(include)={p:.3f} "
                                           f"> {policy.ranker_exclude_probability:.3f}")
    return Route(route="auto_exclude",
                 reason=f"model excludes ({', '.join(not_met)} not met, confidence {llm.confidence:.2f}) "
                        f"and ranker agrees "
                        f"(P(include)={p:.3f} <= {policy.ranker_exclude_probability:.3f})")


def route_all(signals: dict[int, Signals], policy: RoutingPolicy) -> dict[int, Route]:
    """Route many records (record id -> signals)."""
    return {rid: route(s, policy) for rid, s in signals.items()}


def route_counts(routes: dict[int, Route]) -> dict[str, int]:
    """How many records each route took (all three routes always present)."""
    counts = {name: 0 for name in ROUTES}
    for r in routes.values():
        counts[r.route] += 1
    return counts


def _conf(llm: LLMSignal) -> str:
    return "" if llm.confidence is None else f" (confidence {llm.confidence:.2f})"
