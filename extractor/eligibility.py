"""Numeric full-text eligibility facts computed from extracted values (pure).

``facts()`` gives the fields the review.toml rules read at full text: ``min_arm_n`` (smallest arm at
baseline), ``differential_attrition`` (absolute difference of the arms' attrition proportions),
``baseline_diff_sd`` (largest |mean1 - mean2| / pooled SD over outcome measures at baseline) and
``outcome_items`` (fewest items of any outcome instrument). Each fact comes with the numbers behind it.
"""

from __future__ import annotations

import math
from typing import Any

from extractor.checks import items_of
from extractor.schema import ExtractionResult


def pooled_sd(sd1: float, n1: int, sd2: float, n2: int) -> float:
    """Pooled SD, sqrt(((n1-1)sd1² + (n2-1)sd2²) / (n1+n2-2)) (Cochrane Handbook 6.5.1.2)."""
    return math.sqrt(((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2) / (n1 + n2 - 2))


def facts(result: ExtractionResult) -> dict[str, dict[str, Any]]:
    """{field: {"value": number or None, "why": "the numbers behind it"}} for the full-text rules."""
    out: dict[str, dict[str, Any]] = {}
    arms = result.arms[:2]
    ns = [a.n_randomised for a in arms]
    if len(arms) >= 2 and None not in ns:
        out["min_arm_n"] = {"value": min(ns), "why": ", ".join(f"{a.name} n={a.n_randomised}" for a in arms)}
    else:
        out["min_arm_n"] = {"value": None, "why": "n randomised per arm not found"}
    rates = []
    for a in arms:
        if a.n_randomised and a.n_dropout is not None:
            rates.append((a.name, a.n_dropout / a.n_randomised, a.n_dropout, a.n_randomised))
    if len(rates) == 2:
        out["differential_attrition"] = {
            "value": abs(rates[0][1] - rates[1][1]),
            "why": "; ".join(f"{name} {d}/{n} = {r:.1%}" for name, r, d, n in rates)}
    else:
        out["differential_attrition"] = {"value": None, "why": "dropouts per arm not found"}
    diffs = []
    if len(arms) == 2:
        for b1 in arms[0].baselines:
            b2 = next((b for b in arms[1].baselines if b.measure == b1.measure), None)
            if b2 and None not in (b1.mean, b1.sd, b1.n, b2.mean, b2.sd, b2.n):
                sd = pooled_sd(b1.sd, b1.n, b2.sd, b2.n)
                diffs.append((abs(b1.mean - b2.mean) / sd, b1.measure, b1.mean, b2.mean, sd))
    if diffs:
        worst = max(diffs)
        out["baseline_diff_sd"] = {"value": worst[0], "why": f"{worst[1]}: |{worst[2]} - {worst[3]}| / pooled SD "
                                                             f"{worst[4]:.3f} = {worst[0]:.3f}"}
    else:
        out["baseline_diff_sd"] = {"value": None, "why": "baseline means/SDs per arm not found"}
    items = [(items_of(m), m) for m in dict.fromkeys(o.measure for o in result.outcomes)]
    known = [(n, m) for n, m in items if n is not None]
    out["outcome_items"] = ({"value": min(known)[0], "why": ", ".join(f"{m}: {n} items" for n, m in known)}
                            if known else {"value": None, "why": "instrument item counts unknown"})
    return out
