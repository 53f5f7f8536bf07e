"""Screening stage 1: decide what the protocol's deterministic rules can decide.

Every primary record gets one ``rule`` decision per rules version (the hash of the rule texts):
``exclude`` when a rule criterion is clearly not met, else ``pass`` (no objection; the record goes on
to the model and the humans). A rule never excludes on a missing value.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.store import Store
from screener.rules import Rule, classify_publication_type


class RuleSummary(BaseModel):
    rules: list[str]
    rules_hash: str
    checked: int
    excluded: int
    passed: int
    skipped: int
    by_criterion: dict[str, int]


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The fields rules may read at title/abstract."""
    return {"year": record.get("year"), "language": record.get("language"), "title": record.get("title"),
            "abstract": record.get("abstract"), "journal": record.get("journal"),
            "publication_type": classify_publication_type(record.get("title"), record.get("publication_type"))}


def rules_hash(rules: list[tuple[str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{cid}:{expr}" for cid, expr in rules).encode()).hexdigest()[:16]


def apply_rules(store: Store, protocol: Protocol, stage: str = "title_abstract") -> RuleSummary:
    """Run the stage's rule criteria over every primary record not yet checked by this rules version."""
    criteria = [(c.id, c.rule) for c in protocol.criteria_for(stage) if c.rule]  # type: ignore[arg-type]
    version = rules_hash(criteria)
    compiled = [(cid, Rule(expr, cid)) for cid, expr in criteria]
    done = {d["record_id"] for d in store.decisions(stage)
            if d["decider_kind"] == "rule" and (d["settings"] or {}).get("rules_hash") == version}
    todo = [r for r in store.records_table(primary_only=True) if r["id"] not in done]
    excluded = 0
    by: dict[str, int] = {}
    for start in range(0, len(todo), 500):
        with store.write() as conn:
            for rec in todo[start:start + 500]:
                fields = record_fields(rec)
                verdicts = [{"id": cid, "verdict": rule.evaluate(fields), "quote": "",
                             "reason": f"rule {rule.expression} on {', '.join(f'{f}={fields.get(f)!r}' for f in sorted(rule.fields))}"}
                            for cid, rule in compiled]
                failed = [v["id"] for v in verdicts if v["verdict"] == "not_met"]
                for cid in failed:
                    by[cid] = by.get(cid, 0) + 1
                excluded += bool(failed)
                store.add_decision(record_id=rec["id"], stage=stage, decider_kind="rule", decider="rules",
                                   label="exclude" if failed else "pass", criteria=verdicts, reasons=failed,
                                   settings={"rules_hash": version}, conn=conn)
    return RuleSummary(rules=[f"{cid}: {expr}" for cid, expr in criteria], rules_hash=version, checked=len(todo),
                       excluded=excluded, passed=len(todo) - excluded, skipped=len(done), by_criterion=by)
