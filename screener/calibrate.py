"""Calibrate the routing thresholds on a human-labelled random sample of records.

Each sampled record carries its human label and the signals routing sees (rule verdict, LLM decision
with confidence and criterion verdicts, ranker probability). We pick the LLM-confidence and
ranker-probability thresholds that auto-exclude the largest share of the sample while a lower confidence
bound on recall stays at or above the target (default: recall 0.98 at 95 % confidence).

**What is promised.** Given ``population`` (the records the sample was drawn from; ``metasift calibrate``
always gives it), the bound is on the *realised* recall of the automation over the records outside the
sample — the records it decides, and the includes this review actually loses (``realised_recall_lower``:
an exact hypergeometric prediction bound, the unknown number of outside includes covered by an exact
interval; ``docs/oracle.md``). Without it, the one-sided Clopper-Pearson bound on the *rate* of lost
includes, which says nothing exact about one review's records: in the simulated reviews it was reached on
the outside records in only 86 % of runs, the realised bound in 94.6 % (96-97 % over 100 seeds). The realised bound is the price of
that honesty: with ~140 includes on each side of a half-set sample, 0.975 cannot be shown at all, 0.96 can
when the sample loses no include. A sample too small for the target is refused, with the size that would do
(the rate bound needs, losing none, ``(1 - confidence) ** (1 / n) >= target``: 149 includes at 0.98 / 95 %).

**Choosing on the sample without inflating the bound.** The thresholds are chosen on the same sample the
bound is computed on. Searching every (confidence, probability) pair for the one that excludes most and
still passes lets chance pick the pair under which the sample's includes happened to escape. The
candidates form one nested walk fixed before the labels are looked at (``threshold_path``: both thresholds
loosen together, each step excluding a superset of the last), and the walk stops at the first step that
loses more sample includes than the target allows — a fixed-sequence test ("learn then test", Angelopoulos
et al. 2021): the family-wise error is the single test's ``1 - confidence``. For the realised bound the
walk's fixed order is also what makes the hypergeometric argument exact. Sample splitting and a Bonferroni
correction were the alternatives; both need far more includes and would turn automation off on every
shared set. The figures are in ``docs/oracle.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy.stats import beta, hypergeom

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
    # the promise: with ``population`` known, a bound on the *realised* recall of the automation on the
    # records outside the sample (``realised_recall_lower``); without it, Clopper-Pearson's bound on the rate
    recall_lower: float
    bound: Literal["realised", "rate"] = "rate"
    population: int | None = None  # records the sample was drawn from (sample included)
    sample_losses_allowed: int | None = None  # sample includes the walk could lose (realised bound)
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


# Share of the error rate ``1 - confidence`` spent on not knowing how many includes lie outside the sample
# (the interval ``includes_interval``); the rest bounds the automation's losses given that count.
COUNT_ALPHA_SHARE = 0.2


@functools.lru_cache(maxsize=1024)
def includes_interval(sample_includes: int, sample_size: int, population: int, alpha: float) -> tuple[int, int]:
    """Exact two-sided ``1 - alpha`` interval for the number of includes among ``population`` records, from a
    simple random sample of ``sample_size`` of them holding ``sample_includes`` (hypergeometric inversion:
    every total whose equal-tailed test at ``alpha`` does not reject)."""
    if not 0 <= sample_includes <= sample_size <= population:
        raise AnalysisError("need 0 <= sample includes <= sample size <= population")
    least, most = sample_includes, population - (sample_size - sample_includes)  # totals the sample allows

    def upper_tail(total: int) -> float:  # P(X >= observed): grows with the total
        return float(hypergeom.sf(sample_includes - 1, population, total, sample_size))

    def lower_tail(total: int) -> float:  # P(X <= observed): falls as the total grows
        return float(hypergeom.cdf(sample_includes, population, total, sample_size))

    # both tails are monotone in the total, so the totals kept form an interval: bisect for its two ends
    lo, hi = least - 1, most  # the smallest total with upper_tail > alpha / 2 lies in (lo, hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if upper_tail(mid) > alpha / 2 else (mid, hi)
    first = hi
    lo, hi = least, most + 1  # the largest total with lower_tail > alpha / 2 lies in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if lower_tail(mid) > alpha / 2 else (lo, mid)
    return first, lo


def realised_loss_risk(sample_includes: int, outside_includes: int | np.ndarray, recall: float,
                       sample_lost: int) -> np.ndarray:
    """The chance that the automation loses more than ``1 - recall`` of the ``outside_includes`` includes
    outside the sample while losing at most ``sample_lost`` of the sample's ``sample_includes``.

    The routing walk (``threshold_path``) excludes records in a fixed order, so every include has a step at
    which it would first be excluded; which includes are in the sample is a uniform random draw, independent
    of that order. Losing ``m + 1`` outside includes (``m = floor((1 - recall) * outside)``) before the
    ``sample_lost + 1``-th sample include means at most ``sample_lost`` sample includes among the first
    ``m + sample_lost + 1`` includes of that order: a hypergeometric tail, whatever the order is."""
    outside = np.atleast_1d(np.asarray(outside_includes, dtype=int))
    m = np.floor((1.0 - recall) * outside + 1e-9).astype(int)
    return _losses_risk(sample_includes, outside, m, sample_lost)


def _losses_risk(sample_includes: int, outside: np.ndarray, losses: np.ndarray, sample_lost: int) -> np.ndarray:
    """``realised_loss_risk`` for a number of outside ``losses`` allowed (per outside include count): the
    chance of losing more than that many, 0 when there are no more to lose."""
    total = sample_includes + outside
    draws = losses + sample_lost + 1
    tail = hypergeom.cdf(sample_lost, total, sample_includes, np.minimum(draws, total))
    return np.where(losses >= outside, 0.0, np.where(draws > total, 1.0, tail))


def realised_recall_lower(sample_includes: int, sample_size: int, population: int, sample_lost: int,
                          confidence: float = 0.95) -> float:
    """The highest recall ``r`` such that the automation, losing at most ``sample_lost`` of the sample's
    includes under a walk fixed before the labels are read, loses more than ``1 - r`` of the includes among
    the records outside the sample with probability at most ``1 - confidence``.

    Exact and conservative: the number of outside includes is unknown, so the risk (``realised_loss_risk``)
    is bounded over every count in its ``COUNT_ALPHA_SHARE * (1 - confidence)`` interval and the interval's
    miss is added (P(fail) <= alpha_count + max risk over the interval). 0 when no recall is certified."""
    alpha = 1.0 - confidence
    alpha_count = COUNT_ALPHA_SHARE * alpha
    if sample_lost < 0:
        return 0.0
    if sample_size >= population:
        return 1.0  # nothing lies outside the sample
    lo, hi = includes_interval(sample_includes, sample_size, population, alpha_count)
    outside = np.arange(lo - sample_includes, hi - sample_includes + 1)
    outside = outside[outside > 0]
    if outside.size == 0:
        return 1.0
    # per outside count M, the fewest losses k with risk <= alpha - alpha_count; recall r keeps it when
    # floor((1 - r) M) >= k, i.e. r <= 1 - k / M. The risk falls as k grows and is 0 from k = M on (nothing
    # more to lose): a bisection over k for every M at once.

    def passes(k: np.ndarray) -> np.ndarray:
        return _losses_risk(sample_includes, outside, k, sample_lost) <= alpha - alpha_count

    fail, need = np.full(outside.size, -1), outside.copy()  # passes(need) always; passes(fail) never
    while np.any(need - fail > 1):
        mid = (fail + need) // 2
        ok = passes(mid)
        need, fail = np.where(ok, mid, need), np.where(ok, fail, mid)
    return float(np.clip(np.min(1.0 - need / outside), 0.0, 1.0))


def sample_losses_allowed(sample_includes: int, sample_size: int, population: int, target_recall: float,
                          confidence: float = 0.95) -> int:
    """Most sample includes the walk may lose with the realised recall bound still >= the target (-1: none)."""
    def keeps(lost: int) -> bool:
        return realised_recall_lower(sample_includes, sample_size, population, lost, confidence) >= target_recall

    if not keeps(0):
        return -1
    good, bad = 0, sample_includes + 1  # the bound falls as more losses are allowed: bisect
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if keeps(mid) else (good, mid)
    return good


@functools.lru_cache(maxsize=256)
def sample_needed(target_recall: float, confidence: float, include_rate: float, population: int) -> int | None:
    """About how many records a random sample needs for the realised bound to reach the target when it
    loses no include (its includes taken at ``include_rate``), to 1 % of the set; None when not even the
    whole set would do. (The bound grows with the sample almost everywhere: bisection on the share.)"""
    def enough(pct: int) -> bool:
        size = min(population, math.ceil(pct / 100 * population))
        return realised_recall_lower(math.floor(include_rate * size), size, population, 0,
                                     confidence) >= target_recall
    if not enough(100):
        return None
    lo, hi = 0, 100  # enough(hi) holds; enough(lo) taken as not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return min(population, math.ceil(hi / 100 * population))


def _eligible(s: Signals) -> bool:
    """Could the LLM + ranker path exclude this record under some thresholds?"""
    llm = s.llm
    return (not s.rule_exclude and llm is not None and llm.decision == Label.EXCLUDE and not llm.error
            and llm.confidence is not None and s.ranker_probability is not None
            and any(v == "not_met" for v in llm.criteria.values()))


def calibrate_thresholds(items: Sequence[CalibrationItem], *, target_recall: float = 0.98,
                         confidence: float = 0.95, population: int | None = None) -> CalibrationResult:
    """Thresholds that maximise auto-exclusion while the recall bound stays at or above the target.

    With ``population`` (the records the sample was drawn from, sample included) the bound is on the
    realised recall of the automation on the records outside the sample (``realised_recall_lower``): what
    the review actually loses. Without it, Clopper-Pearson's bound on the rate of lost includes."""
    if not 0 < target_recall < 1 or not 0 < confidence < 1:
        raise AnalysisError("target_recall and confidence must lie strictly between 0 and 1")
    labels = np.array([it.included for it in items], dtype=bool)
    n_inc = int(labels.sum())
    if population is not None:
        if population < len(items):
            raise AnalysisError(f"population {population} is smaller than the sample ({len(items)} records)")
        budget = sample_losses_allowed(n_inc, len(items), population, target_recall, confidence) if n_inc else -1
        if budget < 0:
            bound = realised_recall_lower(n_inc, len(items), population, 0, confidence) if n_inc else 0.0
            rate = n_inc / len(items) if items else 0.0
            needed = sample_needed(target_recall, confidence, rate, population) if rate else None
            more = (f"a sample of about {needed} records would do" if needed else
                    "no sample of this set would do")
            raise AnalysisError(
                f"the sample has {n_inc} includes among {len(items)} of {population} records: even if none "
                f"were auto-excluded, the {confidence:.0%} bound on the automation's recall over the other "
                f"records would be {bound:.3f} < target {target_recall}; {more} (label more records, or "
                "lower target_recall)")
    else:
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
        raise AnalysisError(f"the protocol rules alone exclude {rule_missed} of the sample's {n_inc} "
                            f"includes (at most {budget} may be lost for the target {target_recall}): "
                            "check the rules")

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
    lower = None
    if population is not None:
        # the walk stops where the sample has lost more than ``budget``: the bound that budget certifies
        lower = realised_recall_lower(n_inc, len(items), population, budget, confidence)
        if best is not None:
            note += (f"; {promise(lower, confidence)} (the sample may lose at most {budget} of its "
                     f"{n_inc} includes)")
    result = _summarise(items, labels, policy, target_recall, confidence, note, population, lower)
    result.sample_losses_allowed = budget if population is not None else None
    return result


def promise(lower: float, confidence: float) -> str:
    """The calibrated bound in words, as ``calibrate``, ``status`` and the report state it."""
    return (f"the automation keeps at least {lower:.1%} of the includes among the records it decides "
            f"({confidence:.0%} confidence, a bound on this review's own records)")


def check_policy(items: Sequence[CalibrationItem], policy: RoutingPolicy, *, target_recall: float = 0.98,
                 confidence: float = 0.95, population: int | None = None) -> CalibrationResult:
    """What a given policy (thresholds set by hand, or left at their defaults) does on the labelled sample,
    with recall's lower bound (realised with ``population``, as in ``calibrate_thresholds``); ``note`` says
    whether that bound reaches ``target_recall``."""
    labels = np.array([it.included for it in items], dtype=bool)
    if not labels.any():
        raise AnalysisError(f"the sample has no includes among {len(items)} records: recall cannot be checked")
    result = _summarise(items, labels, policy, target_recall, confidence, "", population, None)
    if population is not None:
        # one fixed policy: the bound from the losses it actually had in the sample
        result.recall_lower = realised_recall_lower(result.n_included, len(items), population,
                                                    result.includes_auto_excluded, confidence)
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
               target_recall: float, confidence: float, note: str, population: int | None,
               lower: float | None) -> CalibrationResult:
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
        recall_lower=clopper_pearson_lower(kept, n_inc, confidence) if lower is None else lower,
        bound="rate" if population is None else "realised", population=population, routes=route_counts(routes),
        includes_by_route=by_route, note=note)
