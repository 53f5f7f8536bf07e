"""Full-text eligibility rules from review.toml, computed from each study's extracted values.

For every record with extracted values, the full-text criteria that have a ``rule`` (``min_arm_n >= 30``,
``differential_attrition < 0.15``, ``baseline_diff_sd < 0.25``, ``outcome_items > 1``) are evaluated on
``eligibility.facts()`` for the protocol's outcomes. The decision, recorded with decider kind ``rule`` and
the numbers behind each verdict, is:

- ``exclude`` when a rule is clearly not met (this settles the record unless a human decides); while the
  protocol is an unconfirmed draft it is only ``flag``: the verdicts are kept and a human decides;
- ``unsure`` when no rule fails but one cannot be evaluated (a fact has no usable number, e.g. the
  baseline of the outcome was not found): the verdict reads "needs a human: ..." and, like ``pass``,
  settles nothing, so the record waits for a reviewer;
- ``pass`` when every rule is met.

A human full-text decision overrides it (``Store.final_labels`` puts humans first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.extractor.eligibility import Fact, facts
from metasift.extractor.pipeline import study_result
from metasift.kinds import DeciderKind, ExtractionStatus, Label, Stage
from metasift.rules import Rule
from metasift.store import Store
from metasift.store.rows import ExtractionRow

STAGE = Stage.FULL_TEXT
GateLabel = Literal["exclude", "flag", "unsure", "pass"]  # the Label values a full-text gate writes


class StudyVerdict(BaseModel):
    """The full-text rules' decision on one study, with the numbers behind each criterion's verdict."""

    record_id: int
    label: GateLabel
    criteria: list[dict[str, Any]]  # {id, verdict, quote, reason}: stored with the decision
    failed: list[str]  # criterion ids clearly not met
    unclear: list[str]  # criterion ids that need a human
    needs_human: list[str]  # "needs a human: baseline of the outcome not found", one per unclear criterion

    @property
    def note(self) -> str | None:
        return "; ".join(self.needs_human) or None


def _needs_human(rule: Rule, found: dict[str, Fact]) -> str:
    """What a human has to look at for a rule that could not be evaluated."""
    missing = [found[f].missing for f in sorted(rule.fields) if f in found and found[f].value is None]
    unknown = sorted(f for f in rule.fields if f not in found)
    what = "; ".join(dict.fromkeys(m for m in missing if m)) or \
        (f"{', '.join(unknown)} not known at full text" if unknown else "the rule could not be evaluated")
    return f"needs a human: {what}"


# extraction statuses a rule may exclude on
TRUSTED = (ExtractionStatus.AUTO_VERIFIED, ExtractionStatus.VERIFIED)


def evaluate(protocol: Protocol, rows: Sequence[ExtractionRow], record_id: int = 0) -> StudyVerdict:
    """The full-text rules' verdicts for one study from its stored extraction rows.

    A rule excludes only on trusted numbers: a criterion that fails with the values still waiting for a
    human check (``needs_human``) but not with the trusted ones alone is unclear, and a human is asked.
    """
    kept = [r for r in rows if r.status != ExtractionStatus.REJECTED]
    found = facts(study_result(kept), protocol.outcomes)
    values = {k: v.value for k, v in found.items()}
    trusted = {k: v.value for k, v in facts(study_result([r for r in rows if r.status in TRUSTED]),
                                            protocol.outcomes).items()}
    criteria: list[dict[str, Any]] = []
    failed: list[str] = []
    unclear: list[str] = []
    needs: list[str] = []
    for c in protocol.criteria_for(STAGE):
        if not c.rule:
            continue
        rule = Rule(c.rule, c.id)
        verdict = rule.evaluate(values)
        why = "; ".join(found[f].why for f in sorted(rule.fields) if f in found)
        reason = f"{c.rule}: {why}"
        unverified = verdict == "not_met" and rule.evaluate(trusted) != "not_met"
        if unverified:
            verdict = "unclear"
        if verdict == "not_met":
            failed.append(c.id)
        elif verdict == "unclear":
            unclear.append(c.id)
            needs.append("needs a human: it fails only on values not verified yet (metasift verify)" if unverified
                         else _needs_human(rule, found))
            reason = f"{needs[-1]} — {reason}"
        criteria.append({"id": c.id, "verdict": verdict, "quote": "", "reason": reason})
    label: GateLabel = ((Label.FLAG if protocol.review.draft else Label.EXCLUDE) if failed
                        else Label.UNSURE if unclear else Label.PASS)
    if label == Label.FLAG:
        needs.append("needs a human: the protocol is an unconfirmed draft (metasift confirm), so no rule excludes")
    return StudyVerdict(record_id=record_id, label=label, criteria=criteria, failed=failed, unclear=unclear,
                        needs_human=needs)


def apply_fulltext_rules(store: Store, protocol: Protocol) -> list[StudyVerdict]:
    """Evaluate the full-text rules for every record with extracted values; record changed verdicts.

    The decision's ``reasons`` are criterion ids, as everywhere in the store: the failed ones for an
    exclusion, the unclear ones for ``unsure``; its ``note`` says what a human has to look for.
    """
    by_record: dict[int, list[ExtractionRow]] = {}
    for row in store.extractions():
        by_record.setdefault(row.record_id, []).append(row)
    previous = {}
    for d in store.decisions(STAGE):
        if d.decider_kind == DeciderKind.RULE:
            previous[d.record_id] = d
    out = []
    for rid, rows in sorted(by_record.items()):
        verdict = evaluate(protocol, rows, rid)
        old = previous.get(rid)
        if old is None or old.criteria != verdict.criteria or old.label != verdict.label:
            if old is not None:
                store.retract_decision(old.id, "rules")
            store.add_decision(record_id=rid, stage=STAGE, decider_kind=DeciderKind.RULE, decider="rules",
                               label=verdict.label, criteria=verdict.criteria,
                               reasons=verdict.failed if verdict.failed else verdict.unclear, note=verdict.note)
        out.append(verdict)
    return out
