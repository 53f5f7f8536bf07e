"""The agreement audit between two sides (two reviewers, the model and the consensus...) of one stage:
labels paired per record, statistics overall and per criterion. ``metasift agreement`` and the report use it."""

from __future__ import annotations

from typing import Any

from metasift.errors import ConfigError
from metasift.eval.agreement import agreement
from metasift.store import Store
from metasift.store import review_queue as rq


def _reference_first(a: str, b: str) -> tuple[str, str, bool]:
    """Order the sides so the reference (truth) is B: consensus if present, else the non-model side."""
    rank = {"consensus": 2, "human": 1, "model": 0}
    ka, kb = a.partition(":")[0], b.partition(":")[0]
    if "model" not in (ka, kb) and "consensus" not in (ka, kb):
        return a, b, False
    return (b, a, True) if rank.get(ka, 0) > rank.get(kb, 0) else (a, b, True)


def agreement_report(store: Store, protocol: Any, stage: str, side_a: str, side_b: str) -> dict[str, Any]:
    """Pair the two sides' labels per record and compute the statistics, overall and per criterion."""
    side_a, side_b, with_ref = _reference_first(side_a, side_b)
    counting = rq.Counting.of(protocol)
    try:
        da = rq.side_decisions(store, stage, side_a, counting)
        db = rq.side_decisions(store, stage, side_b, counting)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    pairs = sorted(rid for rid in set(da) & set(db)
                   if rq.binary(da[rid].label) is not None and rq.binary(db[rid].label) is not None)
    overall = agreement([bool(rq.binary(da[r].label)) for r in pairs],
                        [bool(rq.binary(db[r].label)) for r in pairs], b_is_reference=with_ref)
    out: dict[str, Any] = {"stage": stage, "a": side_a, "b": side_b, "reference": side_b if with_ref else None,
                           **_dump(overall, with_ref)}
    # Criteria a rule decides (``year > 2005``) are judged by no reviewer: agreement on them would only count
    # the includes both sides gave, so they are left out and named.
    judged = [c for c in protocol.criteria_for(stage)]
    criteria = [c.id for c in judged if not c.rule]
    out["rule_criteria_left_out"] = [c.id for c in judged if c.rule]
    per: dict[str, Any] = {}
    fa = {r: rq.criterion_flags(da[r], criteria) for r in pairs}
    fb = {r: rq.criterion_flags(db[r], criteria) for r in pairs}
    for cid in criteria:
        both = [r for r in pairs if cid in fa[r] and cid in fb[r]]
        if both:  # positive = "criterion not met" (a reason to exclude)
            per[cid] = _dump(agreement([fa[r][cid] for r in both], [fb[r][cid] for r in both],
                                 b_is_reference=with_ref), with_ref)
    out["per_criterion"] = per
    return out


def _dump(result: Any, with_ref: bool) -> dict[str, Any]:
    out = result.model_dump()
    if not with_ref:
        for key in ("sensitivity", "specificity", "precision", "npv"):
            out.pop(key)
    return out
