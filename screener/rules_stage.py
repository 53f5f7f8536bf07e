"""Screening stage 1: decide what the protocol's deterministic rules can decide.

Every primary record gets one ``rule`` decision per rules version (the hash of the rule texts, the
protocol's draft state and the audit share): ``exclude`` when a rule criterion is clearly not met, else
``pass`` (no objection; the record goes on to the model and the humans). A rule never excludes on a
missing value. A record a rule would exclude is only ``flag``-ged — the rule's verdicts kept, a human
decides — while the protocol is a draft or when the record is in the exclusion audit sample
(``screener.routing.in_audit_sample``); routing then sends it to a human with that reason.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.kinds import DeciderKind, Label, Stage
from metasift.screener.routing import in_audit_sample
from metasift.screener.rules import Rule, classify_publication_type
from metasift.store import Store
from metasift.store.rows import RecordRow


class RuleSummary(BaseModel):
    rules: list[str]
    rules_hash: str
    checked: int
    excluded: int
    flagged: int  # a rule would exclude, but a human decides (draft protocol or exclusion audit)
    passed: int
    skipped: int
    by_criterion: dict[str, int]


def record_fields(record: RecordRow) -> dict[str, Any]:
    """The fields rules may read at title/abstract."""
    return {"year": record.year, "language": record.language, "title": record.title,
            "abstract": record.abstract, "journal": record.journal,
            "publication_type": classify_publication_type(record.title, record.publication_type)}


def rules_hash(rules: list[tuple[str, str]], *, draft: bool = False, audit_sample: float = 0.0) -> str:
    """The rules version: the rule texts plus the brakes that change what a failed rule does."""
    brakes = [f"draft:{draft}", f"audit:{audit_sample}"] if draft or audit_sample else []
    text = "\n".join([f"{cid}:{expr}" for cid, expr in rules] + brakes)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def held_for_human(record_id: int, protocol: Protocol) -> str | None:
    """Why a rule exclusion of this record waits for a human ("draft" / "audit"), or None."""
    if protocol.review.draft:
        return "draft"
    return "audit" if in_audit_sample(record_id, protocol.routing.audit_sample) else None


def apply_rules(store: Store, protocol: Protocol, stage: str = Stage.TITLE_ABSTRACT) -> RuleSummary:
    """Run the stage's rule criteria over every primary record not yet checked by this rules version."""
    criteria = [(c.id, c.rule) for c in protocol.criteria_for(stage) if c.rule]  # type: ignore[arg-type]
    version = rules_hash(criteria, draft=protocol.review.draft, audit_sample=protocol.routing.audit_sample)
    compiled = [(cid, Rule(expr, cid)) for cid, expr in criteria]
    done = {d.record_id for d in store.decisions(stage)
            if d.decider_kind == DeciderKind.RULE and (d.settings or {}).get("rules_hash") == version}
    todo = [r for r in store.records_table(primary_only=True) if r.id not in done]
    excluded = flagged = 0
    by: dict[str, int] = {}
    for start in range(0, len(todo), 500):
        with store.write() as conn:
            for rec in todo[start:start + 500]:
                fields = record_fields(rec)
                verdicts = [{"id": cid, "verdict": rule.evaluate(fields), "quote": "",
                             "reason": f"rule {rule.expression} on {', '.join(f'{f}={fields.get(f)!r}' for f in sorted(rule.fields))}"}
                            for cid, rule in compiled]
                failed = [v["id"] for v in verdicts if v["verdict"] == "not_met"]
                held = held_for_human(rec.id, protocol) if failed else None
                for cid in failed:
                    by[cid] = by.get(cid, 0) + 1
                excluded += bool(failed) and not held
                flagged += bool(held)
                label = (Label.FLAG if held else Label.EXCLUDE) if failed else Label.PASS
                settings = {"rules_hash": version} | ({"held": held} if held else {})
                store.add_decision(record_id=rec.id, stage=stage, decider_kind=DeciderKind.RULE,
                                   decider="rules", label=label, criteria=verdicts, reasons=failed,
                                   settings=settings, conn=conn)
    return RuleSummary(rules=[f"{cid}: {expr}" for cid, expr in criteria], rules_hash=version, checked=len(todo),
                       excluded=excluded, flagged=flagged, passed=len(todo) - excluded - flagged, skipped=len(done), by_criterion=by)
