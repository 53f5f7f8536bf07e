"""Calibrate the routing thresholds on a human-labelled random sample of records.

Each sampled record carries its human label and the signals routing sees (rule verdict, LLM decision
with confidence and criterion verdicts, ranker probability). We pick the LLM-confidence and
ranker-probability thresholds that auto-exclude the largest share of the sample while the recall of
includes among the records NOT auto-excluded keeps its one-sided Clopper-Pearson lower confidence bound
at or above the target (default: recall 0.98 at 95 % confidence).

The sample must hold enough includes for that: even if no include is lost, the bound on n includes is
``(1 - confidence) ** (1 / n)``, so 0.98 at 95 % needs at least 149 includes. With fewer we refuse and
say how many are needed.

**Choosing on the sample without inflating the bound.** The thresholds are chosen on the same sample the
bound is computed on. Searching every (confidence, probability) pair for the one that excludes most and
still passes lets chance pick the pair under which the sample's includes happened to escape: in the
simulated reviews (``bench/bench_oracle.py``, Bannach-Brown, 20 seeds, 18 model qualities) the bound then
held on the records outside the sample in only 87 % of 360 runs (60-95 % at sensitivity 0.80-0.90), not
the promised 95 %. Now the candidates form one nested walk fixed before the labels are looked at
(``threshold_path``: both thresholds loosen together, each step excluding a superset of the last), and
the walk stops at the first step whose bound falls under the target — a fixed-sequence test ("learn then
test", Angelopoulos et al. 2021): the family-wise error is the single test's ``1 - confidence``, so the
bound on the step chosen is honest with no correction. Sample splitting (choose on one half, certify on
the other) and a Bonferroni correction over the pairs tried were the alternatives; both need far more
includes (splitting halves them, Bonferroni over even 2 candidates lifts the 119 includes of 0.975 / 95 %
to 146) and would turn automation off on every shared set. The figures after the change are in
``docs/oracle.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from scipy.stats import beta

from metasift.errors import AnalysisError
from metasift.kinds import Label, RouteName
from metasift.screener.routing import ROUTES, RoutingPolicy, Signals, route, route_counts


class CalibrationItem(BaseModel):
    """One human-labelled sample record and its routing signals."""

    included: bool
    signals: Signals


class CalibrationResult(BaseModel):
    """The chosen policy and what it does on the sample."""

    policy: RoutingPolicy
    target_recall: float
    confidence: float
    n_sample: int
    n_included: int
    auto_excluded: int
    auto_excluded_share: float
    includes_auto_excluded: int
    recall: float  # includes not auto-excluded / all includes in the sample
    recall_lower: float  # one-sided Clopper-Pearson lower bound at ``confidence``
    routes: dict[str, int]  # records per route under the chosen policy
    includes_by_route: dict[str, int]
    note: str


def clopper_pearson_lower(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound of a binomial proportion (exact, Clopper & Pearson 1934)."""
    if n <= 0:
        raise AnalysisError("a proportion needs at least one trial")
    if successes <= 0:
        return 0.0
    # lower bound = Beta(alpha; x, n - x + 1) quantile
    return float(beta.ppf(1.0 - confidence, successes, n - successes + 1))


def clopper_pearson_upper(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound of a binomial proportion (exact, Clopper & Pearson 1934)."""
    if n <= 0:
        raise AnalysisError("a proportion needs at least one trial")
    if successes >= n:
        return 1.0
    # upper bound = Beta(confidence; x + 1, n - x) quantile
    return float(beta.ppf(confidence, successes + 1, n - successes))


def includes_needed(target_recall: float, confidence: float = 0.95) -> int:
    """Fewest includes for which losing none still gives a lower bound >= the target."""
    # with x = n the bound is (1 - confidence) ** (1 / n)
    return math.ceil(math.log(1.0 - confidence) / math.log(target_recall) - 1e-12)


def max_missable(n_included: int, target_recall: float, confidence: float) -> int:
    """Most includes that may be auto-excluded with the recall bound still >= the target (-1: none)."""
    missable = -1
    for missed in range(n_included + 1):
        if clopper_pearson_lower(n_included - missed, n_included, confidence) < target_recall:
            break
        missable = missed
    return missable


def _eligible(s: Signals) -> bool:
    """Could the LLM + ranker path exclude this record under some thresholds?"""
    llm = s.llm
    return (not s.rule_exclude and llm is not None and llm.decision == Label.EXCLUDE and not llm.error
            and llm.confidence is not None and s.ranker_probability is not None
            and any(v == "not_met" for v in llm.criteria.values()))


def calibrate_thresholds(items: Sequence[CalibrationItem], *, target_recall: float = 0.98,
              confidence: float = 0.95) -> CalibrationResult:
    """Thresholds that maximise auto-exclusion while the recall bound stays at or above the target."""
    if not 0 < target_recall < 1 or not 0 < confidence < 1:
        raise AnalysisError("target_recall and confidence must lie strictly between 0 and 1")
    labels = np.array([it.included for it in items], dtype=bool)
    n_inc = int(labels.sum())
    budget = max_missable(n_inc, target_recall, confidence) if n_inc else -1
    if budget < 0:
        bound = clopper_pearson_lower(n_inc, n_inc, confidence) if n_inc else 0.0
        raise AnalysisError(
            f"the sample has {n_inc} includes among {len(items)} records: even if none were "
            f"auto-excluded, the {confidence:.0%} lower bound on recall would be {bound:.3f} < target "
            f"{target_recall}; at least {includes_needed(target_recall, confidence)} includes are needed "
            "(label more records, or lower target_recall)")
    rule = np.array([it.signals.rule_exclude for it in items], dtype=bool)
    rule_missed = int((rule & labels).sum())
    if rule_missed > budget:
        bound = clopper_pearson_lower(n_inc - rule_missed, n_inc, confidence)
        raise AnalysisError(f"the protocol rules alone exclude {rule_missed} of the sample's {n_inc} "
                            f"includes (recall bound {bound:.3f} < target {target_recall}): check the rules")

    elig = [i for i, it in enumerate(items) if _eligible(it.signals)]
    conf = np.array([items[i].signals.llm.confidence for i in elig], dtype=float)  # type: ignore[union-attr]
    prob = np.array([items[i].signals.ranker_probability for i in elig], dtype=float)
    inc = labels[elig].astype(int)
    best: tuple[float, float] | None = None  # (t_llm, t_rank) of the last step that keeps the bound
    for t_llm, t_rank in threshold_path(conf, prob):
        missed = int(inc[(conf >= t_llm) & (prob <= t_rank)].sum())
        if missed + rule_missed > budget:
            break  # fixed-sequence test: the first step whose bound fails ends the walk
        best = (t_llm, t_rank)
    if best is None:
        policy = RoutingPolicy(llm_exclude_confidence=1.0, ranker_exclude_probability=0.0,
                               target_recall=target_recall, auto_exclude=False)
        note = "no threshold pair keeps the recall bound: the model and ranker path stays off"
    else:
        policy = RoutingPolicy(llm_exclude_confidence=best[0], ranker_exclude_probability=best[1],
                               target_recall=target_recall, auto_exclude=True)
        note = (f"thresholds from a fixed-sequence walk on this sample (n={len(items)}): the recall bound "
                f"holds at {confidence:.0%} confidence despite the choice")
    return _summarise(items, labels, policy, target_recall, confidence, note)


def check_policy(items: Sequence[CalibrationItem], policy: RoutingPolicy, *, target_recall: float = 0.98,
                 confidence: float = 0.95) -> CalibrationResult:
    """What a given policy (thresholds set by hand, or left at their defaults) does on the labelled sample,
    with recall's lower bound; ``note`` says whether that bound reaches ``target_recall``."""
    labels = np.array([it.included for it in items], dtype=bool)
    if not labels.any():
        raise AnalysisError(f"the sample has no includes among {len(items)} records: recall cannot be checked")
    result = _summarise(items, labels, policy, target_recall, confidence, "")
    held = result.recall_lower >= target_recall
    result.note = (f"recall bound {result.recall_lower:.3f} {'>=' if held else '<'} target {target_recall} "
                   f"on the sample (n={len(items)}, {result.n_included} includes)")
    return result


def threshold_path(conf: np.ndarray, prob: np.ndarray) -> list[tuple[float, float]]:
    """The nested walk of (LLM-confidence, ranker-probability) threshold pairs calibration tests in order.

    Step ``q`` (0 < q <= 1) pairs the confidence quantile at ``1 - q`` with the probability quantile at
    ``q`` (both over the eligible sample records, lower/higher order statistics so each threshold is a value
    seen): as ``q`` grows the LLM threshold falls and the ranker threshold rises, so every step auto-excludes
    a superset of the one before. The walk depends on the signals only, never on the human labels, which is
    what lets the fixed-sequence test certify the step it stops at without paying for the choice."""
    n = conf.size
    if n == 0:
        return []
    c = np.sort(conf)[::-1]  # most confident first
    p = np.sort(prob)  # least likely include first
    steps = [(float(c[k]), float(p[k])) for k in range(n)]
    return [st for k, st in enumerate(steps) if k == n - 1 or st != steps[k + 1]]


def _summarise(items: Sequence[CalibrationItem], labels: np.ndarray, policy: RoutingPolicy,
               target_recall: float, confidence: float, note: str) -> CalibrationResult:
    """Route the sample under ``policy`` and count; this is what the policy really does."""
    routes = {i: route(it.signals, policy) for i, it in enumerate(items)}
    by_route = {name: 0 for name in ROUTES}
    for i, r in routes.items():
        by_route[r.route] += int(labels[i])
    n_inc = int(labels.sum())
    excluded = sum(r.route == RouteName.AUTO_EXCLUDE for r in routes.values())
    kept = n_inc - by_route[RouteName.AUTO_EXCLUDE]
    return CalibrationResult(
        policy=policy, target_recall=target_recall, confidence=confidence, n_sample=len(items),
        n_included=n_inc, auto_excluded=excluded, auto_excluded_share=excluded / len(items),
        includes_auto_excluded=by_route[RouteName.AUTO_EXCLUDE], recall=kept / n_inc,
        recall_lower=clopper_pearson_lower(kept, n_inc, confidence), routes=route_counts(routes),
        includes_by_route=by_route, note=note)
