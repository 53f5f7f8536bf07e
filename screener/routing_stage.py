"""Screening stage 4: route every primary record from its rule verdict, latest model draft and ranker score.

Records a human (or consensus) already decided are left out: routing only decides where undecided
records go. Routes are stored with their reason and the policy in force (``Store.save_routes``);
an ``auto_exclude`` stands as the record's label until a human decides otherwise.
"""

from __future__ import annotations

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.kinds import DeciderKind, Label, Stage
from metasift.screener.routing import LLMSignal, RoutingPolicy, Signals, route_all, route_counts
from metasift.store import Store
from metasift.store.rows import DecisionRow

STAGE = Stage.TITLE_ABSTRACT


class RoutingSummary(BaseModel):
    counts: dict[str, int]
    decided_by_humans: int
    policy: dict


def gather_signals(store: Store, *, use_ranker: bool, include_decided: bool = False
                   ) -> tuple[dict[int, Signals], int]:
    """Signals per primary record not yet decided by a human (all of them with ``include_decided``),
    and how many records humans have already decided."""
    by_record: dict[int, list[DecisionRow]] = {}
    for d in store.decisions(STAGE):
        by_record.setdefault(d.record_id, []).append(d)
    # the ranker run made for everyone: a review session's run learned one reviewer's unsettled decisions
    scores = store.latest_scores(STAGE, shared=True) if use_ranker else {}
    signals, human = {}, 0
    for rec in store.records_table(primary_only=True):
        ds = by_record.get(rec.id, [])
        if any(d.decider_kind in (DeciderKind.HUMAN, DeciderKind.CONSENSUS) for d in ds):
            human += 1
            if not include_decided:
                continue
        rules = [d for d in ds if d.decider_kind == DeciderKind.RULE]
        models = [d for d in ds if d.decider_kind == DeciderKind.MODEL]
        llm = None
        if models:
            m = models[-1]
            llm = LLMSignal.from_decision(m)  # a not_met whose quote is not in the record counts as unclear
        last_rule = rules[-1] if rules else None
        signals[rec.id] = Signals(
            rule_exclude=bool(last_rule and last_rule.label in (Label.EXCLUDE, Label.FLAG)),
            rule_criteria=list(last_rule.reasons or []) if last_rule else [],
            llm=llm, ranker_probability=scores.get(rec.id))
    return signals, human


def run_routing_stage(store: Store, protocol: Protocol, *, use_ranker: bool) -> RoutingSummary:
    """Route the undecided records under the protocol's ``[routing]`` policy and store the routes."""
    policy = RoutingPolicy.from_config(protocol.routing).model_copy(update={"draft": protocol.review.draft})
    signals, human = gather_signals(store, use_ranker=use_ranker)
    routes = route_all(signals, policy)
    store.save_routes(STAGE, {rid: r.as_tuple() for rid, r in routes.items()}, policy.model_dump())
    return RoutingSummary(counts=route_counts(routes), decided_by_humans=human, policy=policy.model_dump())
