"""Full-text eligibility rules from review.toml, computed from each study's extracted values.

For every record with extracted values, the full-text criteria that have a ``rule`` (``min_arm_n >= 30``,
``differential_attrition < 0.15``, ``baseline_diff_sd < 0.25``, ``outcome_items > 1``) are evaluated on
``eligibility.facts()``; the decision (``exclude`` when a rule is clearly not met, else ``pass``) is
recorded with decider kind ``rule`` and the numbers behind each verdict. A human full-text decision
overrides it (``Store.final_labels`` puts humans first).
"""

from __future__ import annotations

from typing import Any

from extractor.eligibility import facts
from extractor.pipeline import study_result
from metasift.config import Protocol
from metasift.store import Store
from screener.rules import Rule

STAGE = "full_text"


def evaluate(protocol: Protocol, rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(label, per-criterion verdicts with the numbers behind them, failed criterion ids) for one study."""
    found = facts(study_result([r for r in rows if r["status"] != "rejected"]))
    values = {k: v["value"] for k, v in found.items()}
    verdicts, failed = [], []
    for c in protocol.criteria_for(STAGE):
        if not c.rule:
            continue
        rule = Rule(c.rule, c.id)
        verdict = rule.evaluate(values)
        why = "; ".join(found[f]["why"] for f in sorted(rule.fields) if f in found)
        verdicts.append({"id": c.id, "verdict": verdict, "quote": "", "reason": f"{c.rule}: {why}"})
        if verdict == "not_met":
            failed.append(c.id)
    return ("exclude" if failed else "pass"), verdicts, failed


def apply_fulltext_rules(store: Store, protocol: Protocol) -> list[dict[str, Any]]:
    """Evaluate the full-text rules for every record with extracted values; record changed verdicts."""
    by_record: dict[int, list[dict[str, Any]]] = {}
    for row in store.extractions():
        by_record.setdefault(row["record_id"], []).append(row)
    previous = {}
    for d in store.decisions(STAGE):
        if d["decider_kind"] == "rule":
            previous[d["record_id"]] = d
    out = []
    for rid, rows in sorted(by_record.items()):
        label, verdicts, failed = evaluate(protocol, rows)
        old = previous.get(rid)
        if old is None or old["criteria"] != verdicts:
            if old is not None:
                store.retract_decision(old["id"], "rules")
            store.add_decision(record_id=rid, stage=STAGE, decider_kind="rule", decider="rules", label=label,
                               criteria=verdicts, reasons=failed)
        out.append({"record_id": rid, "label": label, "criteria": verdicts, "failed": failed})
    return out
