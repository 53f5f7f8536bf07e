"""Rule and model extractions of one PDF merged value by value; each value ends auto_verified or needs_human.

Pure: the two results and the page texts in, a merged result with a status per value out. The policy:

- both give a value and they agree within printed precision: one value, evidence from both. It is
  auto_verified only when every quote offered checks out (on its page, holding the number) and the
  arithmetic holds; a model that agrees but cannot quote its page sends the value to a human.
- they disagree: both candidates are kept, ``needs_human``, reason "rule says X (p. a), model says Y (p. b)".
  The merged result shows the rule's value; the model's is in the evidence and the warnings.
- the rule alone: the rule's own checks decide, exactly as without a model.
- the model alone: always ``needs_human``. A quote found on its page that holds the number is not
  enough: a table row holds every arm's numbers, so that quote also "confirms" a value read from the
  wrong column or row. Only a second, independent reading (the rule extractor, or a human) confirms it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from metasift.config import OutcomeSpec
from metasift.extractor.checks import check_extraction, normalise_pdf_text
from metasift.extractor.outcomes import apply_target
from metasift.extractor.schema import Arm, Baseline, Evidence, ExtractionResult, Outcome
from metasift.kinds import ExtractionStatus

Agreement = Literal["agree", "disagree", "rule_only", "model_only"]
Status = Literal["auto_verified", "needs_human"]

# Same idea as extractor.effects.CONTROL: names that read as the comparison arm.
_CONTROL = re.compile(r"control|wait[- ]?list|placebo|usual care|\btau\b|no[- ]intervention|comparison|sham",
                      re.I)
_INSTRUMENT = re.compile(r"\b([a-z]{2,}(?:-[a-z]+)?)[- ]?(\d{1,2}|ii|iii|iv)\b")
_ACRONYM = re.compile(r"\b([A-Z][A-Z]+)(?:-[A-Z]+)?(?:[- ]?\d+)?\b")
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
_POST = re.compile(r"\bpost|end of (?:the )?(?:treatment|intervention|study|trial)|after (?:the )?(?:intervention|"
                   r"treatment)|follow[- ]?up\b|outcome", re.I)
_DURATION = re.compile(r"(\d+)\s*-?\s*(day|week|wk|month|mo|year|yr)", re.I)
FUZZY_MIN = 85.0


class Candidate(BaseModel):
    """One source's reading of a value."""

    source: str  # rule | model
    value: float | int
    page: int | None
    quote: str
    problems: list[str] = Field(default_factory=list)  # its quote checks that failed


class MergedValue(BaseModel):
    """One value of the merged result, where it came from and whether a human must look at it."""

    field: str  # its path in the merged result, e.g. "outcomes[2].sd"
    name: str  # the store's field name: n_total, n_randomised, baseline_mean, outcome_sd...
    arm: str | None = None
    measure: str | None = None
    timepoint: str | None = None
    value: float | int
    agreement: Agreement
    status: Status
    reason: str | None = None
    candidates: list[Candidate]


class CrossCheck(BaseModel):
    """The merged extraction of one PDF."""

    result: ExtractionResult
    values: list[MergedValue]
    model_error: str | None = None  # the model's answer could not be used; rule values stand alone

    def counts(self) -> dict[str, int]:
        """How many values agreed, disagreed, came from one source, and how many need a human."""
        out = {k: 0 for k in ("agree", "disagree", "rule_only", "model_only", "auto_verified", "needs_human")}
        for v in self.values:
            out[v.agreement] += 1
            out[v.status] += 1
        return out


@dataclass
class _Slot:
    """One value of one source's result, with the labels that locate it."""

    kind: str  # total | arm | baseline | outcome
    name: str  # attribute: n_total, n_randomised, mean, sd, n...
    value: float | int
    path: str
    arm: str | None = None
    measure: str | None = None
    timepoint: str | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def store_name(self) -> str:
        return {"baseline": f"baseline_{self.name}", "outcome": f"outcome_{self.name}"}.get(self.kind, self.name)

    def key(self) -> tuple[str | None, ...]:
        return (self.kind, self.arm, self.measure, self.timepoint, self.name)


def _slots(result: ExtractionResult) -> list[_Slot]:
    """Every non-null value of ``result`` with its path and its evidence."""
    by_path: dict[str, list[Evidence]] = {}
    for ev in result.evidence:
        by_path.setdefault(ev.field, []).append(ev)
    out: list[_Slot] = []

    def add(slot: _Slot) -> None:
        if slot.value is not None:
            slot.evidence = by_path.get(slot.path, [])
            out.append(slot)

    add(_Slot("total", "n_total", result.n_total, "n_total"))  # type: ignore[arg-type]
    for i, arm in enumerate(result.arms):
        for name in ("n_randomised", "n_analysed", "n_dropout"):
            add(_Slot("arm", name, getattr(arm, name), f"arms[{i}].{name}", arm=arm.name))
        for j, b in enumerate(arm.baselines):
            for name in ("mean", "sd", "n"):
                add(_Slot("baseline", name, getattr(b, name), f"arms[{i}].baselines[{j}].{name}", arm=arm.name,
                          measure=b.measure, timepoint="baseline"))
    for k, o in enumerate(result.outcomes):
        for name in ("mean", "sd", "n"):
            add(_Slot("outcome", name, getattr(o, name), f"outcomes[{k}].{name}", arm=o.arm, measure=o.measure,
                      timepoint=o.timepoint))
    return out


# -- labels: which model arm / measure / timepoint is which rule one -------------------------------
def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(re.sub(r"[^\w\-]+", " ", text).split())


def measure_key(measure: str | None) -> str:
    """A measure's instrument, e.g. "PHQ-9 (depression)" and "phq 9" both give "phq-9"."""
    text = _norm(measure)
    match = _INSTRUMENT.search(text)
    return f"{match.group(1)}-{match.group(2)}" if match else text


def timepoint_key(timepoint: str | None) -> str:
    """A timepoint's meaning: "8 weeks" → "8w", "post-intervention" → "post", else the words."""
    text = _norm(timepoint)
    match = _DURATION.search(text)
    if match:
        return f"{match.group(1)}{match.group(2)[0].lower()}"
    return "post" if _POST.search(text) else text


def _acronyms(label: str) -> set[str]:
    return {m.group(1) for m in _ACRONYM.finditer(label or "")}


def _settle(mapping: dict[str, str], rule_left: list[str], model_left: list[str],
            match: Callable[[str, str], bool]) -> None:
    """Pair each model label that ``match``es exactly one remaining rule label."""
    for m in list(model_left):
        hits = [r for r in rule_left if match(m, r)]
        if len(hits) == 1:
            mapping[m] = hits[0]
            model_left.remove(m)
            rule_left.remove(hits[0])


def align(rule: Iterable[str], model: Iterable[str], key: Callable[[str], str], *,
          last_pair: bool = False) -> dict[str, str]:
    """Map each model label to the rule label it names: same words, same key, a shared acronym, then fuzzy
    words; with ``last_pair`` a single label left on each side is paired too."""
    rule_left, model_left = list(dict.fromkeys(rule)), list(dict.fromkeys(model))
    mapping: dict[str, str] = {}

    _settle(mapping, rule_left, model_left, lambda m, r: _norm(m) == _norm(r))
    _settle(mapping, rule_left, model_left, lambda m, r: key(m) == key(r))
    _settle(mapping, rule_left, model_left, lambda m, r: bool(_acronyms(m) & _acronyms(r)))
    _settle(mapping, rule_left, model_left, lambda m, r: fuzz.token_set_ratio(_norm(m), _norm(r)) >= FUZZY_MIN)
    if last_pair and len(rule_left) == len(model_left) == 1:
        mapping[model_left[0]] = rule_left[0]
    return mapping


def names_nest(a: str, b: str) -> bool:
    """True when one name's words are all in the other ("Control" and "Waitlist control")."""
    x, y = set(_norm(a).split()), set(_norm(b).split())
    return bool(x and y) and (x <= y or y <= x)


def align_arms(rule: Iterable[str], model: Iterable[str]) -> dict[str, str]:
    """Map model arm names to rule arm names: same name, one name inside the other, the one control arm
    on each side, then what is left in order."""
    rule_left, model_left = list(dict.fromkeys(rule)), list(dict.fromkeys(model))
    mapping: dict[str, str] = {}

    _settle(mapping, rule_left, model_left, lambda m, r: _norm(m) == _norm(r))
    _settle(mapping, rule_left, model_left, names_nest)
    for wanted in (True, False):  # the one control arm on each side, then the one other arm
        rc = [r for r in rule_left if bool(_CONTROL.search(r)) is wanted]
        mc = [m for m in model_left if bool(_CONTROL.search(m)) is wanted]
        if len(rc) == len(mc) == 1:
            mapping[mc[0]] = rc[0]
            model_left.remove(mc[0])
            rule_left.remove(rc[0])
    if len(rule_left) == len(model_left):
        mapping.update(zip(model_left, rule_left, strict=True))
    return mapping


def _relabel(rule: list[_Slot], model: list[_Slot]) -> None:
    """Give the model's slots the rule's arm, measure and timepoint labels wherever they name the same thing."""
    arms = align_arms([s.arm for s in rule if s.arm], [s.arm for s in model if s.arm])
    measures = align([s.measure for s in rule if s.measure], [s.measure for s in model if s.measure], measure_key)
    for s in model:
        s.arm = arms.get(s.arm, s.arm) if s.arm else s.arm
        s.measure = measures.get(s.measure, s.measure) if s.measure else s.measure
    for measure in {s.measure for s in model if s.kind == "outcome"}:
        times = align([s.timepoint for s in rule if s.kind == "outcome" and s.measure == measure and s.timepoint],
                      [s.timepoint for s in model if s.kind == "outcome" and s.measure == measure and s.timepoint],
                      timepoint_key, last_pair=True)
        for s in model:
            if s.kind == "outcome" and s.measure == measure:
                s.timepoint = times.get(s.timepoint, s.timepoint)  # type: ignore[arg-type]


# -- values --------------------------------------------------------------------------------------
def printed_decimals(value: float | int, quote: str) -> int:
    """Decimals the value is printed with in its quote ("4.30" → 2), else in its shortest form."""
    for token in _NUMBER.findall(normalise_pdf_text(quote or "")):
        if abs(float(token) - float(value)) < 1e-9:
            return len(token.split(".")[1]) if "." in token else 0
    return len(f"{float(value):.10f}".rstrip("0").split(".")[1])


def same_value(a: Candidate, b: Candidate) -> bool:
    """True when two readings agree within the precision both were printed with (4.3 and 4.32 agree)."""
    digits = min(printed_decimals(a.value, a.quote), printed_decimals(b.value, b.quote))
    return abs(float(a.value) - float(b.value)) <= 0.5 * 10 ** -digits + 1e-9


def _quote_problems(ev: Evidence, pages: dict[int, str]) -> list[str]:
    """What ``check_extraction`` says about this one quote (on its page? holding the number?)."""
    return check_extraction(ExtractionResult(evidence=[ev]), pages)[0].reasons


def _candidate(slot: _Slot, source: str, pages: dict[int, str]) -> tuple[Candidate, Evidence | None]:
    """The slot as a candidate, quoting its best evidence (the last one that checks out, else the last)."""
    usable = [ev for ev in slot.evidence if ev.value == slot.value] or slot.evidence
    best, problems = None, []
    for ev in reversed(usable):
        found = _quote_problems(ev, pages)
        if best is None or (problems and not found):
            best, problems = ev, found
    if best is None:
        return Candidate(source=source, value=slot.value, page=None, quote=""), None
    best = best.model_copy(update={"source": source})
    return Candidate(source=source, value=slot.value, page=best.page, quote=best.quote, problems=problems), best


def _fmt(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _label(arm: str | None, measure: str | None, timepoint: str | None, name: str) -> str:
    """"Control · PHQ-9 (depression) · post · outcome_sd": which value a message is about."""
    return " · ".join(x for x in (arm, measure, None if timepoint == "baseline" else timepoint, name) if x)


# -- merging -------------------------------------------------------------------------------------
def _place(result: ExtractionResult, slot: _Slot) -> str:
    """Put a model-only value into the merged result (creating its arm, baseline or outcome) → its path."""
    if slot.kind == "total":
        result.n_total = int(slot.value)
        return "n_total"
    arm = result.arm(slot.arm or "")
    if arm is None and slot.kind != "outcome":
        arm = Arm(name=slot.arm or "")
        result.arms.append(arm)
    if slot.kind == "arm":
        setattr(arm, slot.name, int(slot.value))
        return f"arms[{result.arms.index(arm)}].{slot.name}"
    if slot.kind == "baseline":
        assert arm is not None
        j = next((j for j, b in enumerate(arm.baselines) if b.measure == slot.measure), None)
        if j is None:
            arm.baselines.append(Baseline(measure=slot.measure))
            j = len(arm.baselines) - 1
        setattr(arm.baselines[j], slot.name, int(slot.value) if slot.name == "n" else float(slot.value))
        return f"arms[{result.arms.index(arm)}].baselines[{j}].{slot.name}"
    k = next((k for k, o in enumerate(result.outcomes)
              if (o.arm, o.measure, o.timepoint) == (slot.arm, slot.measure, slot.timepoint)), None)
    if k is None:
        result.outcomes.append(Outcome(arm=slot.arm or "", measure=slot.measure or "",
                                       timepoint=slot.timepoint or ""))
        k = len(result.outcomes) - 1
    setattr(result.outcomes[k], slot.name, int(slot.value) if slot.name == "n" else float(slot.value))
    return f"outcomes[{k}].{slot.name}"


def _set(result: ExtractionResult, path: str, value: float | int) -> None:
    """Set the value at ``path`` (e.g. "arms[1].baselines[0].sd") in ``result``."""
    target: Any = result
    parts = path.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        target = getattr(target, name)
        if index:
            target = target[int(index.rstrip("]"))]
    setattr(target, parts[-1], value)


def _pair(rule: list[_Slot], model: list[_Slot], warnings: list[str]) -> list[tuple[_Slot | None, _Slot | None]]:
    """Rule slots with the model slot naming the same value, then the model's values the rule lacks."""
    by_key: dict[tuple[str | None, ...], _Slot] = {}
    for s in model:
        if s.key() in by_key:
            warnings.append(f"model: gave {_label(s.arm, s.measure, s.timepoint, s.store_name)} twice; "
                            "the first kept")
            continue
        by_key[s.key()] = s
    plan: list[tuple[_Slot | None, _Slot | None]] = [(s, by_key.pop(s.key(), None)) for s in rule]
    return plan + [(None, s) for s in by_key.values()]


def crosscheck(rule: ExtractionResult, model: ExtractionResult | None, pages: dict[int, str], *,
               model_error: str | None = None, outcomes: Sequence[OutcomeSpec] = ()) -> CrossCheck:
    """Merge the rule extractor's result with the model's (None: the model gave nothing usable); each arm's
    ``baseline`` is then chosen again over the merged baselines, for ``outcomes`` (``apply_target``)."""
    merged = rule.model_copy(deep=True)
    merged.warnings = list(rule.warnings) + [f"model: {w}" for w in (model.warnings if model else [])]
    if model_error:
        merged.warnings.append(f"model extraction failed, rule values only: {model_error}")
    rule_slots = _slots(rule)
    model_slots = _slots(model) if model is not None else []
    _relabel(rule_slots, model_slots)

    lead_evidence: list[Evidence] = []  # per value, the quote its arithmetic check is reported with
    drafts: list[tuple[MergedValue, bool]] = []
    for r, m in _pair(rule_slots, model_slots, merged.warnings):
        cands: list[Candidate] = []
        quotes: list[Evidence] = []
        for slot, source in ((r, "rule"), (m, "model")):
            if slot is not None:
                cand, ev = _candidate(slot, source, pages)
                cands.append(cand)
                quotes += [ev] if ev is not None else []
        slot = r or m
        assert slot is not None
        if r is not None and m is not None:
            agreement: Agreement = "agree" if same_value(cands[0], cands[1]) else "disagree"
        else:
            agreement = "rule_only" if r is not None else "model_only"
        path = r.path if r is not None else _place(merged, slot)
        value = slot.value
        if agreement == "agree" and printed_decimals(cands[1].value, cands[1].quote) > \
                printed_decimals(cands[0].value, cands[0].quote):
            value = cands[1].value  # the more precise printing of the same number
            _set(merged, path, value)
        if quotes:
            lead_evidence.append(quotes[0].model_copy(update={"field": path}))
        merged.evidence += [ev.model_copy(update={"field": path}) for ev in quotes if ev.source == "model"]
        drafts.append((MergedValue(field=path, name=slot.store_name, arm=slot.arm, measure=slot.measure,
                                   timepoint=slot.timepoint, value=value, agreement=agreement,
                                   status=ExtractionStatus.AUTO_VERIFIED, candidates=cands), bool(quotes)))

    checks = {c.field: c for c in check_extraction(merged.model_copy(update={"evidence": lead_evidence}), pages)}
    for mv, quoted in drafts:
        _judge(mv, quoted, checks.get(mv.field))
        if mv.agreement == "disagree":
            merged.warnings.append(f"{_label(mv.arm, mv.measure, mv.timepoint, mv.name)}: "
                                   f"{_disagreement(mv.candidates)}")
    apply_target(merged, outcomes)
    return CrossCheck(result=merged, values=[mv for mv, _ in drafts], model_error=model_error)


def _disagreement(cands: list[Candidate]) -> str:
    return ", ".join(f"{c.source} says {_fmt(c.value)} (p. {'?' if c.page is None else c.page})" for c in cands)


def _judge(mv: MergedValue, quoted: bool, check: Any) -> None:
    """Set the status and reason of one merged value (see the module docstring for the policy)."""
    if not quoted and mv.agreement == "rule_only":
        mv.reason = "computed from other values"  # as result_rows says of a value with no quote
        return
    reasons: list[str] = []
    if mv.agreement == "disagree":
        reasons.append(_disagreement(mv.candidates))
    elif mv.agreement == "model_only":
        reasons.append("model only: no rule value confirms it")
    for c in mv.candidates:
        reasons += [f"{c.source}: {p}" for p in c.problems]
    seen = {p for c in mv.candidates for p in c.problems}
    if check is not None:
        reasons += [r for r in check.reasons if r not in seen]  # the arithmetic (quote problems are above)
    if reasons:
        mv.status = ExtractionStatus.NEEDS_HUMAN
        mv.reason = "; ".join(reasons)
    elif mv.agreement == "agree":
        model = next(c for c in mv.candidates if c.source == "model")
        mv.reason = f"rule and model agree (model: p. {model.page})"


def store_rows(check: CrossCheck) -> dict[str, list[dict[str, Any]]]:
    """Store rows by source (``rule`` / ``model``): an agreed value once, both candidates of a disagreement."""
    rows: dict[str, list[dict[str, Any]]] = {"rule": [], "model": []}
    for mv in check.values:
        base = {"field": mv.name, "arm": mv.arm, "measure": mv.measure, "timepoint": mv.timepoint,
                "status": mv.status, "reason": mv.reason}
        cands = mv.candidates
        if mv.agreement == "agree":
            with_quote = [c for c in cands if c.page is not None]
            cands = [with_quote[0] if with_quote else cands[0]]
        for c in cands:
            value = mv.value if mv.agreement == "agree" else c.value
            rows[c.source].append({**base, "value": value, "page": c.page, "quote": c.quote})
    return rows
