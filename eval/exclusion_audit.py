"""How far the automated exclusions can be trusted: every one listed with its reason, and the false-exclusion
rate measured on the random audit sample that humans screened.

Routing holds a stable random share (``[routing] audit_sample``) of would-be automated exclusions for a
human (``screener.routing.in_audit_sample``; their routes' reasons start with ``exclusion audit``). Among
those a human has settled, the ones settled as include (or maybe) are false exclusions; their share, with
its exact one-sided 95% upper bound (Clopper–Pearson), bounds how many of the records excluded with no
human look were wrongly excluded.
"""

from __future__ import annotations

from pydantic import BaseModel

from metasift.kinds import Label, RouteName, Stage
from metasift.labels import HUMAN_KINDS
from metasift.screener.calibrate import clopper_pearson_upper
from metasift.screener.routing import AUDIT_REASON
from metasift.store import Store
from metasift.store import review_queue as rq

STAGE = Stage.TITLE_ABSTRACT


class AutomatedExclusion(BaseModel):
    """One record excluded without a human look, or held for one by the audit."""

    record_id: int
    title: str | None
    by: str  # rule | model
    reason: str
    audited: bool = False  # held for a human by the audit sample
    human_label: str | None = None  # what humans settled, for audited records


class ExclusionAudit(BaseModel):
    """Automated exclusions and the audit's estimate of how many of them are wrong."""

    automated: int  # records excluded with no human look
    by: dict[str, int]  # rule / model
    audited: int  # would-be exclusions held for a human
    checked: int  # of those, settled by humans
    wrongly_excluded: int  # of those checked, settled as include or maybe
    rate: float | None  # wrongly_excluded / checked
    upper95: float | None  # exact one-sided 95% upper bound of the rate
    missed_upper95: float | None  # upper bound of wrongly excluded records among the automated ones
    exclusions: list[AutomatedExclusion]


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float | None:
    """Exact (Clopper–Pearson) one-sided upper confidence bound of a proportion k/n; None when n = 0."""
    return clopper_pearson_upper(k, n, confidence) if n else None


def exclusion_audit(store: Store, counting: rq.Counting) -> ExclusionAudit:
    """Every automated exclusion at title/abstract and the audit's false-exclusion estimate."""
    humans_decided = {d.record_id for d in store.decisions(STAGE) if d.decider_kind in HUMAN_KINDS}
    settled = rq.settled_labels(store, STAGE, counting, humans_only=True)
    routes = store.current_routes(STAGE)
    titles = {r.id: r.title for r in store.records_table(primary_only=True)}
    rows: list[AutomatedExclusion] = []
    for rid, r in sorted(routes.items()):
        audited = r.reason.startswith(AUDIT_REASON)
        automated = r.route == RouteName.AUTO_EXCLUDE and rid not in humans_decided
        if not (audited or automated):
            continue
        reason = r.reason.split(": ", 1)[1] if audited else r.reason
        rows.append(AutomatedExclusion(record_id=rid, title=titles.get(rid), by=_by(reason), reason=reason,
                                       audited=audited, human_label=settled.get(rid) if audited else None))
    auto = [e for e in rows if not e.audited]
    checked = [e for e in rows if e.audited and e.human_label is not None]
    wrong = sum(e.human_label in (Label.INCLUDE, Label.MAYBE) for e in checked)
    ub = upper_bound(wrong, len(checked))
    by: dict[str, int] = {}
    for e in auto:
        by[e.by] = by.get(e.by, 0) + 1
    return ExclusionAudit(automated=len(auto), by=by, audited=sum(e.audited for e in rows), checked=len(checked),
                          wrongly_excluded=wrong, rate=wrong / len(checked) if checked else None, upper95=ub,
                          missed_upper95=None if ub is None else ub * len(auto), exclusions=rows)


def summary_line(audit: ExclusionAudit) -> str:
    """One sentence for ``status`` and the report."""
    if not audit.automated and not audit.audited:
        return "no automated exclusions"
    by = ", ".join(f"{n} by {k}" for k, n in sorted(audit.by.items())) or "none"
    head = f"{audit.automated} records excluded with no human look ({by})"
    if not audit.audited:
        return head + "; no exclusion audit ([routing] audit_sample = 0): their error rate is unknown"
    if not audit.checked:
        return head + f"; {audit.audited} held for the exclusion audit, none screened yet"
    return (head + f"; audit: {audit.wrongly_excluded} of {audit.checked} audited exclusions were includes "
            f"(rate {audit.rate:.1%}, 95% upper bound {audit.upper95:.1%}: at most "
            f"{audit.missed_upper95:.1f} of the automated exclusions are wrong)")


def _by(reason: str) -> str:
    return "rule" if reason.startswith("rule") else "model"
