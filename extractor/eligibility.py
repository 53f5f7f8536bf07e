"""Numeric full-text eligibility facts computed from extracted values (pure).

``facts(result, outcomes)`` gives the fields the review.toml rules read at full text:

- ``min_arm_n``: the smallest arm at randomisation;
- ``differential_attrition``: the absolute difference of the arms' attrition proportions;
- ``baseline_diff_sd``: the largest |mean1 - mean2| / pooled SD at baseline over the measures of the
  protocol's outcomes only (``extractor.outcomes.match_outcome``). Age, weight or lab values are never
  the review's outcome, so an imbalance there says nothing about "baseline difference on the outcome";
- ``outcome_items``: the fewest items of any outcome instrument of the protocol, from a *known* item count
  (``checks.items_of``: the instrument table or an explicit "N-item" phrase), never from a number that
  happens to be in a measure's name.

When the protocol names no outcomes, the instruments of ``checks.SCALES`` stand in for them
(``KNOWN_INSTRUMENTS``), so the gates still read only validated scales. A fact without a usable number
has value None (the rule is then ``unclear`` and a human decides) and says what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from metasift.config import OutcomeSpec
from metasift.extractor.checks import SCALES, items_of
from metasift.extractor.outcomes import OutcomeMatch, match_outcome
from metasift.extractor.schema import Baseline, ExtractionResult

KNOWN_INSTRUMENTS = OutcomeSpec(id="known_instrument", label="a known instrument",
                                instruments=[name.upper() for name in SCALES])
SHOW_FOUND = 6  # measure names listed when explaining what was found instead


@dataclass(frozen=True)
class Fact:
    """One full-text fact: its value (None when not found), the numbers behind it, and what is missing."""

    value: float | int | None
    why: str
    missing: str = ""  # when value is None, what a human has to look for, e.g. "baseline of the outcome not found"


@dataclass(frozen=True)
class _BaselineDiff:
    d: float
    match: OutcomeMatch
    measure: str
    means: tuple[float, float]
    sd: float


def pooled_sd(sd1: float, n1: int, sd2: float, n2: int) -> float:
    """Pooled SD, sqrt(((n1-1)sd1² + (n2-1)sd2²) / (n1+n2-2)) (Cochrane Handbook 6.5.1.2)."""
    return math.sqrt(((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2) / (n1 + n2 - 2))


def gate_outcomes(outcomes: Sequence[OutcomeSpec]) -> list[OutcomeSpec]:
    """The outcomes the gates read: the protocol's, else any known instrument."""
    return list(outcomes) or [KNOWN_INSTRUMENTS]


def _names(outcomes: Sequence[OutcomeSpec]) -> str:
    """"depression, anxiety or stress": the outcomes as a sentence names them."""
    labels = [(o.label or o.id).lower() if o is not KNOWN_INSTRUMENTS else o.label for o in outcomes]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def _found(measures: Sequence[str | None], what: str) -> str:
    names = [f'"{m}"' for m in dict.fromkeys(m for m in measures if m)]  # quoted: names hold commas
    if not names:
        return f"no {what} found"
    more = f" and {len(names) - SHOW_FOUND} more" if len(names) > SHOW_FOUND else ""
    return f"{what} found: {', '.join(names[:SHOW_FOUND])}{more}"


def facts(result: ExtractionResult, outcomes: Sequence[OutcomeSpec]) -> dict[str, Fact]:
    """{field: Fact} for the full-text rules, reading baselines and instruments of ``outcomes`` only."""
    specs = gate_outcomes(outcomes)
    return {"min_arm_n": _min_arm_n(result), "differential_attrition": _attrition(result),
            "baseline_diff_sd": _baseline_diff(result, specs), "outcome_items": _outcome_items(result, specs)}


def _min_arm_n(result: ExtractionResult) -> Fact:
    arms = result.arms[:2]
    ns = [a.n_randomised for a in arms]
    if len(arms) < 2 or None in ns:
        return Fact(None, "n randomised per arm not found", "n randomised per arm not found")
    return Fact(min(ns), ", ".join(f"{a.name} n={a.n_randomised}" for a in arms))


def _attrition(result: ExtractionResult) -> Fact:
    rates = [(a.name, a.n_dropout / a.n_randomised, a.n_dropout, a.n_randomised) for a in result.arms[:2]
             if a.n_randomised and a.n_dropout is not None]
    if len(rates) < 2:
        return Fact(None, "dropouts per arm not found", "dropouts per arm not found")
    return Fact(abs(rates[0][1] - rates[1][1]), "; ".join(f"{name} {d}/{n} = {r:.1%}" for name, r, d, n in rates))


def _complete(b: Baseline) -> bool:
    return None not in (b.mean, b.sd, b.n) and b.sd > 0 and b.n > 1


def _baseline_diff(result: ExtractionResult, specs: Sequence[OutcomeSpec]) -> Fact:
    """The largest standardised baseline difference over the measures of the protocol's outcomes."""
    missing = "baseline of the outcome not found"
    if len(result.arms) != 2:
        return Fact(None, f"baseline per arm needs two arms, found {len(result.arms)}", missing)
    first, second = result.arms
    diffs: list[_BaselineDiff] = []
    incomplete: list[str] = []
    for b1 in first.baselines:
        match = match_outcome(b1.measure, specs)
        if match is None:
            continue
        b2 = next((b for b in second.baselines if b.measure == b1.measure), None)
        if b2 is None or not (_complete(b1) and _complete(b2)):
            incomplete.append(f"{match.describe()}: {b1.measure}: mean, SD or n missing for an arm")
            continue
        sd = pooled_sd(b1.sd, b1.n, b2.sd, b2.n)
        diffs.append(_BaselineDiff(abs(b1.mean - b2.mean) / sd, match, b1.measure or "", (b1.mean, b2.mean), sd))
    if not diffs:
        seen = _found([b.measure for a in result.arms for b in a.baselines], "baseline measures")
        detail = "; ".join(incomplete) if incomplete else seen
        return Fact(None, f"no baseline mean/SD per arm of {_names(specs)} ({detail})", missing)
    worst = max(diffs, key=lambda x: x.d)
    why = (f"{worst.match.describe()}: {worst.measure}: |{worst.means[0]:g} - {worst.means[1]:g}| / pooled SD "
           f"{worst.sd:.3f} = {worst.d:.3f}")
    others = [f"{x.match.describe()} {x.d:.3f}" for x in diffs if x is not worst]
    return Fact(worst.d, why + (f"; other outcome baselines: {', '.join(others)}" if others else ""))


def _outcome_items(result: ExtractionResult, specs: Sequence[OutcomeSpec]) -> Fact:
    """The fewest items of an instrument measuring a protocol outcome, when that count is known."""
    known: list[tuple[int, str]] = []
    unknown: list[str] = []
    measures = list(dict.fromkeys(o.measure for o in result.outcomes))
    for measure in measures:
        match = match_outcome(measure, specs)
        if match is None:
            continue
        n = items_of(measure) or items_of(match.instrument)
        if n is None:
            unknown.append(f"{match.describe()}: {measure}: item count not known")
        else:
            known.append((n, f"{match.describe()}: {measure}: {n} items"))
    if known:
        return Fact(min(n for n, _ in known), ", ".join([text for _, text in known] + unknown))
    if unknown:
        return Fact(None, "; ".join(unknown), "item count of the outcome instrument not known")
    return Fact(None, f"no outcome measured with an instrument of {_names(specs)} ({_found(measures, 'measures')})",
                "outcome instrument not found")
