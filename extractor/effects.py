"""Hand-off to the analysis: effect sizes from verified outcome values, one row per outcome x timepoint.

yi is Hedges' g of intervention minus control (``analysis.effect_sizes.smd``, metafor's exact J and
vi); on symptom scales, where lower is better, a negative g favours the intervention. Rows carry a
study id and an effect-size id so multilevel models can nest effects in studies, and the protocol
outcome each measure belongs to (``outcome``; empty when the protocol names no outcomes).

Only studies *included* at full text give effect sizes, and only for measures of the protocol's
outcomes (``extractor.outcomes.match_outcome``). Every other study that reached full text is listed in
``EffectSet.left_out`` with why: excluded at full text (which criterion, with the numbers), not yet
decided at full text, no full text or no values, no data for the protocol's outcomes, an SD missing...
Outcome cells of included studies that could not be used are listed in ``EffectSet.skipped``. Each row
names the ``extractions`` row of each of its six numbers (``m1_extraction_id``...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from metasift.analysis.effect_sizes import InvalidInput, smd
from metasift.config import OutcomeSpec
from metasift.extractor.outcomes import match_outcome
from metasift.kinds import DeciderKind, ExtractionStatus, Label, Stage
from metasift.records import study_label
from metasift.store import Store
from metasift.store._screening import COUNTED, as_include
from metasift.store.rows import DecisionRow, ExtractionRow, RecordRow

CONTROL = re.compile(r"control|wait[- ]?list|placebo|usual care|\btau\b|no[- ]intervention|comparison|sham",
                     re.IGNORECASE)
TRUSTED = (ExtractionStatus.AUTO_VERIFIED, ExtractionStatus.VERIFIED)
STAGE = Stage.FULL_TEXT
STAGE_BEFORE = Stage.TITLE_ABSTRACT
FIELD_NAMES = {"outcome_mean": "mean", "outcome_sd": "SD", "outcome_n": "n"}
TITLE_CHARS = 60
SHOW = 6  # names listed when explaining what was found instead


class EffectRow(BaseModel):
    study_id: int
    es_id: int
    study: str
    record_id: int
    year: int | None
    outcome: str  # the protocol outcome id ("" when the protocol names no outcomes)
    measure: str
    timepoint: str
    intervention: str
    control: str
    m1: float
    sd1: float
    n1: int
    m2: float
    sd2: float
    n2: int
    yi: float
    vi: float
    verified: bool
    # the extractions row each number came from, so a reader can trace it to its page and quote
    m1_extraction_id: int
    sd1_extraction_id: int
    n1_extraction_id: int
    m2_extraction_id: int
    sd2_extraction_id: int
    n2_extraction_id: int


class LeftOut(BaseModel):
    """A study (or, in ``skipped``, one outcome cell of a study) that gives no effect size, and why."""

    record_id: int
    study: str  # "Family Year", as forest plots name studies
    title: str  # the record's title, shortened
    reason: str
    measure: str | None = None
    timepoint: str | None = None

    def line(self) -> str:
        """One line for warnings and error messages."""
        cell = " at ".join(x for x in (self.measure, self.timepoint) if x)
        return f"{self.study} (record {self.record_id}){': ' + cell if cell else ''}: {self.reason}"


class EffectSet(BaseModel):
    """What ``collect_effects`` found: the effect rows, the studies left out and the cells skipped."""

    rows: list[EffectRow]
    left_out: list[LeftOut]
    skipped: list[LeftOut]

    @property
    def studies(self) -> int:
        return len({r.study_id for r in self.rows})

    def why_none(self) -> str:
        """Why there is not a single effect size, naming every study left out and its reason."""
        if not self.left_out:
            return ("no effect sizes: no study is included at title/abstract, has a full text attached or has "
                    "extracted values yet")
        return (f"no effect sizes: all {len(self.left_out)} studies that reached full text were left out — "
                + "; ".join(s.line() for s in self.left_out))


def pick_arms(names: list[str]) -> tuple[str, str] | None:
    """(intervention, control) from arm names; None when no arm reads as a control."""
    controls = [n for n in names if CONTROL.search(n)]
    others = [n for n in names if n not in controls]
    if len(controls) == 1 and len(others) >= 1:
        return others[0], controls[0]
    return None


def _listing(measures: Sequence[str]) -> str:
    names = [f'"{m}"' for m in dict.fromkeys(measures)]  # quoted: measure names hold commas
    more = f" and {len(names) - SHOW} more" if len(names) > SHOW else ""
    return ", ".join(names[:SHOW]) + more


def _latest_rule(ds: Sequence[DecisionRow]) -> DecisionRow | None:
    return next((d for d in reversed(ds) if d.decider_kind == DeciderKind.RULE), None)


def exclusion_reason(ds: Sequence[DecisionRow]) -> str:
    """Why a record is excluded at full text: who excluded it, on which criteria, with the rules' numbers."""
    rule = _latest_rule(ds)
    numbers = {c["id"]: c["reason"] for c in (rule.criteria if rule else None) or [] if c.get("verdict") == "not_met"}
    consensus = [d for d in ds if d.decider_kind == DeciderKind.CONSENSUS]
    humans = {d.decider: d for d in ds if d.decider_kind == DeciderKind.HUMAN and d.label in COUNTED}
    deciders = consensus[-1:] or [d for d in humans.values() if d.label == Label.EXCLUDE]
    if deciders:
        who = ", ".join(("consensus of " if d.decider_kind == DeciderKind.CONSENSUS else "") + d.decider
                        for d in deciders)
        ids = sorted({r for d in deciders for r in d.reasons or []})
        parts = [f"{cid} ({numbers[cid]})" if cid in numbers else cid for cid in ids]
        notes = [d.note for d in deciders if d.note]
        return (f"excluded at full text by {who}" + (f": {'; '.join(parts)}" if parts else "")
                + (f" — {'; '.join(notes)}" if notes else ""))
    if numbers:
        return "excluded at full text by the rules: " + "; ".join(f"{cid}: {why}" for cid, why in numbers.items())
    return "excluded at full text"


def undecided_reason(ds: Sequence[DecisionRow], *, has_fulltext: bool, has_values: bool) -> str:
    """Why a record is not (yet) settled at full text, and what would settle it."""
    head = "not yet decided at full text"
    rule = _latest_rule(ds)
    humans = {d.decider for d in ds if d.decider_kind == DeciderKind.HUMAN and d.label in COUNTED}
    if humans:
        return (f"{head}: the decisions of {', '.join(sorted(humans))} do not settle it (more reviewers needed "
                "or they disagree: metasift conflicts --stage full_text)")
    if rule is not None and rule.label == Label.EXCLUDE:  # e.g. while the protocol is a draft
        failed = "; ".join(f"{c['id']}: {c['reason']}" for c in rule.criteria or [] if c.get("verdict") == "not_met")
        return f"{head}: the rules would exclude it ({failed}); a reviewer has to confirm (metasift review --stage " \
               "full_text)"
    if rule is not None and rule.label == Label.UNSURE:
        return f"{head}: {rule.note or 'needs a human'} (metasift review --stage full_text)"
    if rule is not None and rule.label == Label.PASS:
        return f"{head}: the rules raise no objection; no reviewer has included it (metasift review --stage full_text)"
    if not has_fulltext:
        return f"{head}: no full text attached (metasift fulltext attach)"
    if not has_values:
        return f"{head}: no values extracted from its full text (metasift extract)"
    return f"{head}: the full-text rules have not run (metasift eligibility), no reviewer has decided"


def _cell_problem(arms: dict[str, dict[str, ExtractionRow]], include_unverified: bool
                  ) -> tuple[str | None, tuple[str, str] | None, list[ExtractionRow]]:
    """(what is wrong with one measure x timepoint, the arm pair, the six values in order)."""
    pair = pick_arms(list(arms))
    if pair is None:
        return f"cannot tell the control arm among {sorted(arms)}", None, []
    missing = [f"{FIELD_NAMES[f]} missing for {a}" for a in pair for f in FIELD_NAMES if f not in arms[a]]
    if missing:
        return "; ".join(missing), pair, []
    values = [arms[a][f] for a in pair for f in FIELD_NAMES]
    if not include_unverified and not all(v.status in TRUSTED for v in values):
        return "values not verified yet (metasift verify)", pair, values
    return None, pair, values


def collect_effects(store: Store, outcomes: Sequence[OutcomeSpec], *, include_unverified: bool = False,
                    humans_needed: int = 1) -> EffectSet:
    """Effect sizes of the studies included at full text, for the measures of ``outcomes`` (all measures
    when it is empty), and every study or cell left out with why. ``humans_needed`` settles labels as
    the protocol's ``screening.humans_per_record`` does for PRISMA and the report."""
    records = {r.id: r for r in store.records_table(primary_only=True)}
    values: dict[int, list[ExtractionRow]] = {}
    for x in store.extractions():
        if x.status != ExtractionStatus.REJECTED and x.value is not None:  # None: "not reported", by a reviewer
            values.setdefault(x.record_id, []).append(x)
    fulltexts = {f.record_id for f in store.fulltexts()}
    decisions: dict[int, list[DecisionRow]] = {}
    for d in store.decisions(STAGE):
        decisions.setdefault(d.record_id, []).append(d)
    labels = store.final_labels(STAGE, humans_needed=humans_needed)
    screened_in = {rid for rid, lab in store.final_labels(STAGE_BEFORE, humans_needed=humans_needed).items()
                   if as_include(lab)}
    found = EffectSet(rows=[], left_out=[], skipped=[])
    for rid in sorted((screened_in | fulltexts | set(values) | set(decisions)) & set(records)):
        record = records[rid]
        ds = decisions.get(rid, [])
        label = labels.get(rid)
        if label == Label.EXCLUDE:
            found.left_out.append(_left(record, exclusion_reason(ds)))
        elif not as_include(label):
            found.left_out.append(_left(record, undecided_reason(ds, has_fulltext=rid in fulltexts,
                                                                 has_values=rid in values)))
        else:
            reason = _study_effects(found, record, values.get(rid, []), outcomes, include_unverified)
            if reason:
                found.left_out.append(_left(record, reason))
    return found


def short_title(title: str | None) -> str:
    """The title cut at a word before ``TITLE_CHARS`` characters, with an ellipsis when cut."""
    text = " ".join((title or "").split())
    if len(text) <= TITLE_CHARS:
        return text
    return text[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _left(record: RecordRow, reason: str, measure: str | None = None, timepoint: str | None = None) -> LeftOut:
    return LeftOut(record_id=record.id, study=study_label(record), title=short_title(record.title),
                   reason=reason, measure=measure, timepoint=timepoint)


def _extraction_ids(vals: list[ExtractionRow]) -> dict[str, int]:
    """The ids of the six values (intervention mean, SD, n, then control's), keyed as EffectRow names them."""
    names = ("m1", "sd1", "n1", "m2", "sd2", "n2")
    return {f"{name}_extraction_id": v.id for name, v in zip(names, vals, strict=True)}


def _study_effects(found: EffectSet, record: RecordRow, rows: list[ExtractionRow],
                   outcomes: Sequence[OutcomeSpec], include_unverified: bool) -> str | None:
    """Add one included study's effect rows (and skipped cells) to ``found``; why it gave none, if so."""
    if not rows:
        return "included at full text, but no values extracted (metasift extract)"
    cells: dict[tuple[str | None, str | None], dict[str | None, dict[str, ExtractionRow]]] = {}
    for x in rows:
        if x.field.startswith("outcome_"):
            cells.setdefault((x.measure, x.timepoint), {}).setdefault(x.arm, {})[x.field] = x
    if not cells:
        return "included at full text, but no outcome values extracted"
    problems: list[LeftOut] = []
    other: list[str] = []
    added = 0
    for (measure, timepoint), arms in sorted(cells.items()):
        match = match_outcome(measure, outcomes) if outcomes else None
        if outcomes and match is None:
            other.append(measure)
            continue
        problem, pair, vals = _cell_problem(arms, include_unverified)
        if problem or pair is None:
            problems.append(_left(record, problem or "unusable", measure, timepoint))
            continue
        m1, sd1, n1, m2, sd2, n2 = (v.value for v in vals)
        try:
            es = smd(m1, sd1, n1, m2, sd2, n2)
        except InvalidInput as exc:  # one impossible extraction leaves its cell out, not the whole run
            problems.append(_left(record, exc.what, measure, timepoint))
            continue
        why = "" if es.why is None else str(np.ravel(es.why)[0])
        if why:  # metafor's NA: no effect size, and the reason
            problems.append(_left(record, f"no effect size: {why}", measure, timepoint))
            continue
        found.rows.append(EffectRow(
            study_id=record.id, es_id=len(found.rows) + 1, study=study_label(record), record_id=record.id,
            year=record.year, outcome=match.outcome_id if match else "", measure=measure,
            timepoint=timepoint, intervention=pair[0], control=pair[1], m1=m1, sd1=sd1, n1=int(n1), m2=m2,
            sd2=sd2, n2=int(n2), yi=float(np.ravel(es.yi)[0]), vi=float(np.ravel(es.vi)[0]),
            verified=all(v.status in TRUSTED for v in vals), **_extraction_ids(vals)))
        added += 1
    names = ", ".join((o.label or o.id).lower() for o in outcomes)
    if added:
        found.skipped.extend(problems)
        found.skipped.extend(_left(record, f"not one of the protocol's outcomes ({names})", m)
                             for m in dict.fromkeys(other))
        return None
    if problems:
        return "no usable outcome data: " + "; ".join(f"{p.measure} at {p.timepoint}: {p.reason}" for p in problems)
    return f"no outcome data for the protocol's outcomes ({names}); measures found: {_listing(other)}"
