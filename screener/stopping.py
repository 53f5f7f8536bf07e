"""When may prioritised screening stop? A hypergeometric test of "recall is below the target", with a bound.

Method: the "buscar" test of Callaghan & Müller-Hansen (2020), *Statistical stopping criteria for
automated screening in systematic reviews*, Systematic Reviews 9:273 (R ``buscarR``, Python ``buscarpy``;
this is our own code, checked against buscarpy's ``calculate_h0`` formula).

The statistic. After screening ``S`` of ``N`` records in ranked order and finding ``r`` includes, with
``U = N - S`` unscreened and target recall ``τ``:

- ``m = floor(r / τ) + 1 - r`` is the fewest unfound includes that would put recall below ``τ``
  (buscar's ``K_tar = floor(r / τ + 1)`` total includes);
- for every window of the last ``n`` screened records (``n = 1..S``) holding ``k_n`` includes, the urn is
  those ``n`` plus the ``U`` unscreened records, holding ``k_n + m`` includes under H0, and
  ``p_n = P(X <= k_n)`` with ``X ~ Hypergeometric(population n + U, successes k_n + m, draws n)``
  (``scipy.stats.hypergeom.cdf(k_n, n + U, k_n + m, n)``);
- ``p = min_n p_n`` (buscar's choice). H0 "recall < τ" is rejected — screening may stop — when
  ``p < 1 - confidence``. With everything screened nothing can be missing and ``p = 0``.

Also reported:

- ``remaining_upper``: the largest ``m`` the test does not reject, i.e. a one-sided upper bound on
  the includes still unfound; ``recall_lower = found / (found + remaining_upper)``.
- ``remaining_estimate``: the inclusion rate in the last ``window`` records times the records left.
- ``records_to_stop``: how many more records until the test would reject if includes kept arriving at
  that recent rate (a projection for planning, not part of the test).

Assumptions: the window is a random draw from (window + unscreened) — at least, no poorer in includes
than the unscreened rest. Prioritised screening puts likely includes first, which makes that hold and
the test conservative (the bound too high, never too low) — but a ranker that systematically misses a
kind of include (e.g. records without an abstract) breaks it: that kind is not "randomly" left in the
urn. The labels are final (a reviewer's error is not modelled). Taking the smallest p over many windows
is buscar's choice and is somewhat anti-conservative (a multiple comparison): with records screened in
plain random order, the worst case, the 95 % bound covered the true count in 89 % of 200 trials (1,000
records, 30 includes, 400 screened); with prioritised order no trial stopped below the target recall.
With few includes the test stops late: while ``r < τ / (1 - τ)`` (19 at 0.95), ``m = 1`` and the best
window is the run of irrelevant records since the last include, ``p = U / (run + U)``: that run must
outnumber the unscreened records 19 to 1 — the rule does not trade recall for work on thin evidence.

In a project (``screening_history``) the history is the humans' title/abstract decisions in the order
they were first made; records settled without a human and calibration-sample records are left out
(the reasons are in that function's docstring).

The heuristic rule: stop after ``heuristic_run`` consecutive irrelevant records (default
``max(100, 5 % of all records)``; simulations use 50), and only once at least one include has been found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from metasift.errors import AnalysisError
from metasift.kinds import DeciderKind, Stage
from metasift.labels import COUNTED, as_include
from metasift.lazy import LazyModule
from metasift.pvalues import format_p

if TYPE_CHECKING:
    import numpy as np

    from metasift.store import Store
    from metasift.store.rows import DecisionRow
else:  # numpy loads where something computes: the review app's process shows results only
    np = LazyModule("numpy")


class StoppingEstimate(BaseModel):
    """How far screening has come and whether it may stop."""

    method: str = "buscar hypergeometric test (Callaghan & Müller-Hansen 2020)"
    n_total: int
    n_screened: int
    n_unscreened: int
    includes_found: int
    target_recall: float
    confidence: float
    p_value: float  # H0: recall < target_recall (1.0 when nothing is screened)
    target_reached: bool  # p_value < 1 - confidence
    remaining_estimate: float
    remaining_upper: int
    recall_estimate: float | None  # None until an include is found
    recall_lower: float | None
    window: int
    consecutive_irrelevant: int
    heuristic_run: int
    heuristic_stop: bool
    recent_rate: float = 0.0  # includes per record in the last ``window`` records
    records_to_stop: int = 0  # ~ more records until the test rejects, at ``recent_rate`` (0 once reached)


def window_p_values(labels_in_order: Sequence[int], n_total: int, missing: int) -> np.ndarray:
    """p of finding so few includes in each last-n window if ``missing`` includes were unfound (n = 1..)."""
    y = np.asarray(labels_in_order, dtype=int)
    unscreened = n_total - y.size
    if missing > unscreened:
        return np.zeros(max(1, y.size))  # impossible: not that many records are left
    if y.size == 0:
        return np.ones(1)
    from scipy.stats import hypergeom  # scipy.stats takes a second to import: only where a test is run

    k = np.cumsum(y[::-1])  # includes among the last n screened
    n = np.arange(1, y.size + 1)
    return np.asarray(hypergeom.cdf(k, n + unscreened, k + missing, n), dtype=np.float64)


def min_p(labels_in_order: Sequence[int], n_total: int, missing: int) -> float:
    """Smallest window p for ``missing`` unfound includes (buscar's statistic), from the windows that matter.

    For a fixed count of includes in the window, p falls as the window grows, so the minimum lies at
    a longest window for each count: those ending just before an include (reading backwards), and the
    whole history. That is at most ``found + 1`` windows instead of one per record screened.

    scipy's exact tail (``hypergeom.cdf``, Boost) costs ~0.2 ms a window; with hundreds of includes and a
    test after every decision, a binary search over ``missing`` and a stop searched record by record,
    that was seconds. So every window's p is first summed from log-gamma terms (numpy, ~1e-10 relative
    error) and only the windows within 1e-6 of the smallest are computed exactly: the value returned is
    scipy's, for the same window, as if all were computed.
    """
    y = np.asarray(labels_in_order, dtype=int)
    unscreened = n_total - y.size
    if missing > unscreened:
        return 0.0
    if y.size == 0:
        return 1.0
    back = y[::-1]
    k_all = np.cumsum(back)
    n = np.unique(np.r_[np.flatnonzero(back), y.size])
    n = n[n > 0]
    k = k_all[n - 1]
    if n.size > 8:
        approx = _approx_cdf(k, n, unscreened, missing)
        keep = approx <= approx.min() * (1 + 1e-6) + 1e-280
        k, n = k[keep], n[keep]
    from scipy.stats import hypergeom  # scipy.stats takes a second to import: only where a test is run

    return float(np.min(hypergeom.cdf(k, n + unscreened, k + missing, n)))


def p_below(labels_in_order: Sequence[int], n_total: int, missing: int, alpha: float) -> bool:
    """``min_p(labels_in_order, n_total, missing) < alpha``, the same answer, mostly without scipy: when
    the log-gamma sums put the smallest window clearly (beyond 1e-6 relative) on one side of ``alpha``
    that decides it; only a value that close to ``alpha`` is computed exactly."""
    y = np.asarray(labels_in_order, dtype=int)
    unscreened = n_total - y.size
    if missing > unscreened or y.size == 0:
        return min_p(y, n_total, missing) < alpha
    back = y[::-1]
    n = np.unique(np.r_[np.flatnonzero(back), y.size])
    n = n[n > 0]
    low = float(_approx_cdf(np.cumsum(back)[n - 1], n, unscreened, missing, enough=alpha * (1 + 1e-6)).min())
    if low < alpha * (1 - 1e-6):
        return True
    if low > alpha * (1 + 1e-6):
        return False
    return min_p(y, n_total, missing) < alpha


def _approx_cdf(k: np.ndarray, n: np.ndarray, unscreened: int, missing: int, *, enough: float | None = None,
                depth: int | None = 48) -> np.ndarray:
    """``hypergeom.cdf(k, n + unscreened, k + missing, n)`` per window to ~1e-10, summed in log space (all
    windows' terms in one numpy pass): P(X <= k) = sum over x from max(0, K + n - M) to k of pmf(x), with
    M = n + unscreened, K = k + missing. pmf(k) from log-gamma once per window; the terms below it by the
    ratio pmf(x - 1) / pmf(x) = x (M - K - n + x) / ((K - x + 1) (n - x + 1)), one log each.

    Only the first ``depth`` terms below k are summed where that is provably enough: the pmf is
    log-concave, so going down the ratios only shrink and what is left is at most last term * r / (1 - r)
    (r the next ratio); a window whose rest may exceed 1e-12 of its sum is summed whole — unless its
    partial sum already reaches ``enough`` (then that partial sum, a lower bound, is returned: callers
    asking "below alpha?" need no more)."""
    from scipy.special import gammaln

    big = (n + unscreened).astype(float)
    hits = (k + missing).astype(float)
    draws, kf = n.astype(float), k.astype(float)
    top = (gammaln(hits + 1) - gammaln(kf + 1) - gammaln(hits - kf + 1)
           + gammaln(big - hits + 1) - gammaln(draws - kf + 1) - gammaln(big - hits - draws + kf + 1)
           - gammaln(big + 1) + gammaln(draws + 1) + gammaln(big - draws + 1))  # log pmf(k)
    low = np.maximum(0, k + missing - unscreened)
    whole = np.maximum(0, k - low + 1)
    counts = whole if depth is None else np.minimum(whole, depth)

    def ratio_at(x: np.ndarray, mm: np.ndarray, kk: np.ndarray, nn: np.ndarray) -> np.ndarray:
        return x * (mm - kk - nn + x) / ((kk - x + 1) * (nn - x + 1))  # pmf(x - 1) / pmf(x)

    window = np.repeat(np.arange(k.size), counts)
    first = np.cumsum(counts) - counts
    step = np.arange(window.size) - first[window]  # 0 for x = k, 1 for x = k - 1, ...
    below = step > 0
    ratio = np.ones(window.size)
    w = window[below]
    ratio[below] = ratio_at(kf[w] - step[below] + 1, big[w], hits[w], draws[w])
    logs = np.cumsum(np.log(ratio))
    logs -= logs[first][window]  # each window's running sum from its own x = k
    terms = np.exp(top[window] + logs)
    sums = np.bincount(window, weights=terms, minlength=k.size)
    cut = np.flatnonzero(counts < whole)
    if cut.size == 0:
        return sums
    last = terms[first[cut] + counts[cut] - 1]
    r = ratio_at(kf[cut] - counts[cut] + 1, big[cut], hits[cut], draws[cut])
    with np.errstate(divide="ignore"):
        rest = np.where(r < 1, last * r / (1 - r), np.inf)
    redo = cut[(rest > 1e-12 * sums[cut]) & ~((enough is not None) & (sums[cut] >= (enough or 0.0)))]
    if redo.size:
        sums[redo] = _approx_cdf(k[redo], n[redo], unscreened, missing, depth=None)
    return sums


def missing_for_target(found: int, target_recall: float) -> int:
    """The fewest unfound includes that would put recall below ``target_recall``."""
    # buscar's K_tar = floor(r_seen / target + 1): the smallest total at which recall < target
    return math.floor(found / target_recall + 1e-9) + 1 - found


def remaining_upper_bound(labels_in_order: Sequence[int], n_total: int, alpha: float, *,
                          hint: int | None = None) -> int:
    """Largest number of unfound includes not rejected at level ``alpha`` (binary search; p falls with m).

    ``hint``: a guess (the bound after the previous decision): the search gallops out from it, a few
    tests instead of ~16 when the bound moved little; the answer is the same."""
    unscreened = n_total - len(labels_in_order)

    def kept(m: int) -> bool:  # m unfound includes are not rejected
        return m == 0 or not p_below(labels_in_order, n_total, m, alpha)

    lo, hi = 0, unscreened  # m = 0 is never rejected; find the largest m with min_p >= alpha
    if hint is not None and 0 < hint < unscreened:
        step = 1
        if kept(hint):
            lo = hint
            while lo + step < hi and kept(lo + step):
                lo, step = lo + step, step * 2
            hi = min(hi, lo + step)
        else:
            hi = hint - 1
            while hi - step > lo and not kept(hi - step):
                hi, step = hi - step, step * 2
            lo = max(lo, hi - step)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if kept(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def consecutive_irrelevant(labels_in_order: Sequence[int]) -> int:
    """How many records at the end of the history were irrelevant in a row."""
    y = np.asarray(labels_in_order, dtype=int)
    hits = np.flatnonzero(y)
    return int(y.size - (hits[-1] + 1)) if hits.size else int(y.size)


def estimate_stopping(labels_in_order: Sequence[int], n_total: int, *, target_recall: float = 0.95,
                      confidence: float = 0.95, window: int | None = None,
                      heuristic_run: int | None = None, project: bool = True,
                      upper_hint: int | None = None) -> StoppingEstimate:
    """Stopping statistics from the screening history (1 include, 0 exclude, in the order screened).

    ``project=False`` leaves out ``records_to_stop`` (0): the projection's binary search costs several
    times the test itself, and the review app's status line, recomputed after every decision, does not
    show it. ``upper_hint``: the previous ``remaining_upper`` (``remaining_upper_bound``'s ``hint``)."""
    y = np.asarray(labels_in_order, dtype=int)
    if y.size > n_total:
        raise AnalysisError(f"{y.size} records screened but only {n_total} in total")
    if not set(np.unique(y)) <= {0, 1}:
        raise AnalysisError("screening labels must be 0 (exclude) or 1 (include)")
    if not 0 < target_recall < 1 or not 0 < confidence < 1:
        raise AnalysisError("target_recall and confidence must lie strictly between 0 and 1")
    alpha = 1.0 - confidence
    found, unscreened = int(y.sum()), n_total - y.size
    p = min_p(y, n_total, missing_for_target(found, target_recall)) if y.size else 1.0
    upper = remaining_upper_bound(y, n_total, alpha, hint=upper_hint) if y.size else unscreened
    w = min(y.size, window or max(50, math.ceil(0.05 * y.size)))
    rate = float(y[y.size - w:].mean()) if w else 0.0
    estimate = min(rate * unscreened, float(upper))
    run = heuristic_run or max(100, math.ceil(0.05 * n_total))
    streak = consecutive_irrelevant(y)
    more = records_to_stop(y, n_total, target_recall=target_recall, confidence=confidence, rate=rate) \
        if p >= alpha and project else 0
    return StoppingEstimate(
        n_total=n_total, n_screened=int(y.size), n_unscreened=unscreened, includes_found=found,
        target_recall=target_recall, confidence=confidence, p_value=p, target_reached=p < alpha,
        remaining_estimate=estimate, remaining_upper=upper,
        recall_estimate=found / (found + estimate) if found else None,
        recall_lower=found / (found + upper) if found else None,
        window=w, consecutive_irrelevant=streak, heuristic_run=run,
        heuristic_stop=found > 0 and (streak >= run or unscreened == 0),
        recent_rate=rate, records_to_stop=more)


# -- the rule over a whole history, and its projection ---------------------------------------------
def buscar_p(labels_in_order: Sequence[int], n_total: int, target_recall: float = 0.95) -> float:
    """buscar's p-value for H0 "recall < ``target_recall``" after this history (1.0 when nothing is screened).

    ``min over n of hypergeom.cdf(k_n, n + U, k_n + m, n)`` with ``m = missing_for_target(found, target)``
    and ``U = n_total - len(history)`` (module docstring). Everything screened gives 0: nothing can be missing.
    """
    y = np.asarray(labels_in_order, dtype=int)
    if y.size == 0:
        return 1.0
    return min_p(y, n_total, missing_for_target(int(y.sum()), target_recall))


def first_buscar_stop(labels_in_order: Sequence[int], n_total: int, *, target_recall: float = 0.95,
                      confidence: float = 0.95, start: int = 1) -> int | None:
    """The first history length ``s >= start`` at which buscar rejects H0 (p < 1 - confidence), or None.

    Checked after every record, as a reviewer asking after each decision would; the p-value needs only
    the labels, so the answer is the same whether the screening stopped there or went on.
    """
    y = np.asarray(labels_in_order, dtype=int)
    alpha = 1.0 - confidence

    def stops(s: int) -> bool:
        return p_below(y[:s], n_total, missing_for_target(int(y[:s].sum()), target_recall), alpha)

    # Between two includes p can only fall: each irrelevant record lengthens every window by one draw from
    # the same urn (window + unscreened stays the same size, as do its includes and the includes drawn),
    # which lowers each window's tail, and the new one-record window is no lower than the longer ones.
    # So a stretch that has not stopped by its last record never stopped inside it (one test per
    # stretch), and in the stretch that stops a binary search finds the first record: the same answer as
    # testing after every record, from about one test per include.
    includes = np.flatnonzero(y) + 1  # history lengths ending with an include: a new stretch starts
    for first, last in zip(np.r_[1, includes], np.r_[includes - 1, y.size], strict=True):
        lo, hi = max(int(first), start, 1), int(last)
        if lo > hi or not stops(hi):
            continue
        while lo < hi:
            mid = (lo + hi) // 2
            if stops(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo
    return None


def first_heuristic_stop(labels_in_order: Sequence[int], run: int, *, start: int = 1) -> int | None:
    """The first history length ``s >= start`` ending in ``run`` irrelevant records in a row after at least
    one include (the "N irrelevant in a row" rule of thumb), or None."""
    y = np.asarray(labels_in_order, dtype=int)
    streak, found = 0, 0
    for s, label in enumerate(y, start=1):
        found += int(label)
        streak = 0 if label else streak + 1
        if s >= start and found and streak >= run:
            return s
    return None


def projected_history(labels_in_order: Sequence[int], extra: int, rate: float) -> np.ndarray:
    """The history followed by ``extra`` records in which includes arrive evenly at ``rate`` per record."""
    y = np.asarray(labels_in_order, dtype=int)
    step = np.floor(rate * np.arange(1, extra + 1) + 1e-9) - np.floor(rate * np.arange(extra) + 1e-9)
    return np.r_[y, step.astype(int)]


def records_to_stop(labels_in_order: Sequence[int], n_total: int, *, target_recall: float = 0.95,
                    confidence: float = 0.95, rate: float = 0.0) -> int:
    """About how many more records until buscar would say stop, if includes kept arriving at ``rate``.

    A projection, not a promise: the next records are assumed to hold includes evenly at the recent
    inclusion rate (0 = every one irrelevant, the soonest possible stop). Binary search on the number of
    extra records (p falls as irrelevant records accumulate); at most the records left, where the test
    always rejects because nothing can be missing.
    """
    y = np.asarray(labels_in_order, dtype=int)
    left = n_total - y.size
    alpha = 1.0 - confidence
    def stops(history: np.ndarray) -> bool:
        return p_below(history, n_total, missing_for_target(int(history.sum()), target_recall), alpha) \
            if history.size else False

    if stops(y):
        return 0
    lo, hi = 1, left  # hi always rejects (everything screened)
    while lo < hi:
        mid = (lo + hi) // 2
        if stops(projected_history(y, mid, rate)):
            hi = mid
        else:
            lo = mid + 1
    return hi


# -- the humans' history in a project --------------------------------------------------------------
class ScreeningHistory(BaseModel):
    """The human title/abstract screening of a project, as the stopping rule sees it."""

    labels: list[int]  # 1 include (or maybe), 0 exclude, in the order humans first screened the records
    record_ids: list[int]
    screened_at: list[str]  # when each record got its first human decision (ISO 8601)
    n_total: int  # the ranked queue: primary records, less those settled without a human and calibration ones
    calibration_left_out: int  # records of calibration samples, left out of the test (see screening_history)
    settled_without_human: int  # rule / routed / model exclusions no human looked at: outside the queue


def order_history(decisions: Sequence[DecisionRow], population: Iterable[int],
                  settled: Mapping[int, str], *, calibration: int = 0, outside: int = 0) -> ScreeningHistory:
    """Order the ``population``'s human-screened records by their first counted human decision (time, then id).

    A record's label is its settled one (include or maybe count as relevant); while unsettled (waiting for
    a second reviewer or a consensus) it counts as relevant if any human said include or maybe — a
    relevant record in the window makes the test more cautious, never less.
    """
    members = set(population)
    first: dict[int, tuple[Any, int]] = {}
    said_include: set[int] = set()
    for d in decisions:
        rid = d.record_id
        if rid not in members or d.decider_kind != DeciderKind.HUMAN or d.label not in COUNTED:
            continue
        key = (str(d.created_at), int(d.id))
        if rid not in first or key < first[rid]:
            first[rid] = key
        if as_include(d.label):
            said_include.add(rid)
    ordered = sorted(first, key=lambda rid: first[rid])
    labels = [int(as_include(settled[rid]) if rid in settled else rid in said_include) for rid in ordered]
    return ScreeningHistory(labels=labels, record_ids=ordered, screened_at=[first[r][0] for r in ordered],
                            n_total=len(members), calibration_left_out=calibration,
                            settled_without_human=outside)


def screening_history(store: Store, *, humans_needed: int = 1, model_counts: bool = False,
                      stage: str = Stage.TITLE_ABSTRACT, decider: str | None = None) -> ScreeningHistory:
    """The human screening history of ``store`` at ``stage`` for the stopping rule.

    The urn is the ranked human queue: primary records, less those settled without any human decision
    (a rule or routed auto-exclusion, or the model when it counts as a reviewer — they are not screened
    by humans; the exclusion audit measures their error) and less every record drawn into a calibration
    sample (``review --sample``). Calibration records are a random sample of *all* records screened in
    random order, not the ranked order the test reasons about; leaving them out (from the history and
    from the total) tests recall over the rest, and since their includes were all found, recall over
    all records is at least that: conservative.

    ``decider``: that reviewer's own screening only — their decisions, in their order, with their labels
    (no settled labels: those would tell them what others said). The review app shows this under dual
    screening, where the project's history would unblind: a record already in it, or a label that stays
    relevant after an exclude, tells the reviewer another one decided it and how.
    """
    from metasift.store import review_queue as rq

    calibration = store.calibration_sample_ids(Stage(stage))
    decisions = store.decisions(stage)
    humans = {d.record_id for d in decisions if d.decider_kind == DeciderKind.HUMAN and d.label in COUNTED}
    settled = store.final_labels(stage, humans_needed=humans_needed, model_counts=model_counts)
    primary = set(rq.primary_ids(store))
    outside = {rid for rid in settled if rid not in humans} & primary
    population = primary - outside - calibration
    if decider is not None:
        return order_history([d for d in decisions if d.decider == decider], population, {},
                             calibration=len(calibration & primary), outside=len(outside))
    return order_history(decisions, population, settled, calibration=len(calibration & primary),
                         outside=len(outside))


class SharedTarget(BaseModel):
    """The humans' share of the final recall target when automation excluded records unseen.

    The automation keeps recall at least ``L`` (the calibrated lower bound, ``metasift calibrate``) and the
    humans' stop test reaches ``t`` over the records routed to them, so final recall is at least
    ``L * t``: the test must run at ``t = final_target / L`` for the review to keep ``final_target``.
    ``L < final_target`` leaves no ``t <= 1`` that works: the target cannot be promised, and the test
    then runs at ``final_target`` over the queue alone, with the warning."""

    final_target: float
    automation_bound: float | None  # L (None: nothing auto-excluded, or no calibration certifies it)
    auto_excluded: int  # records the routing excluded with no human
    target: float  # what the stop test runs at
    line: str | None = None  # says how the target was shared (None when nothing was auto-excluded)
    # what L bounds: the automation's realised recall over the records it decided (``calibrate`` with the
    # population) at ``confidence``; False for calibrations logged before, which bounded a rate
    realised: bool = False
    confidence: float | None = None
    warning: str | None = None  # said loudly: the final target cannot be promised


def shared_target(final_target: float, automation_bound: float | None, auto_excluded: int, *,
                  realised: bool = False, confidence: float | None = None) -> SharedTarget:
    """The stop test's target given the automation's calibrated bound ``L`` (class docstring)."""
    base = {"final_target": final_target, "automation_bound": automation_bound, "auto_excluded": auto_excluded,
            "realised": realised, "confidence": confidence}
    if auto_excluded <= 0:
        return SharedTarget(**base, target=final_target)
    if automation_bound is None:
        return SharedTarget(**base, target=final_target, warning=(
            f"{auto_excluded} records were auto-excluded under thresholds no calibration certifies: final "
            f"recall {final_target:.0%} cannot be promised (run metasift calibrate --apply)"))
    if automation_bound < final_target:
        return SharedTarget(**base, target=final_target, warning=(
            f"the automation's calibrated recall bound {automation_bound:.1%} is below the final target "
            f"{final_target:.0%}: that target cannot be promised even if every routed record is screened "
            f"(the stop test shown covers the humans' queue alone)"))
    target = final_target / automation_bound
    if target >= 1 - 1e-9:
        return SharedTarget(**base, target=final_target, warning=(
            f"the automation's calibrated recall bound {automation_bound:.1%} equals the final target: only "
            "screening every routed record keeps it (the stop test shown covers the humans' queue alone)"))
    what = (f"{confidence:.0%} confidence, over the records it decided; " if realised and confidence else "")
    return SharedTarget(**base, target=target, line=(
        f"stop test at {target:.1%} = final target {final_target:.0%} / automation's calibrated recall bound "
        f"{automation_bound:.1%} ({what}{auto_excluded} records auto-excluded)"))


def project_shared_target(store: Store, protocol: Any, stage: str = Stage.TITLE_ABSTRACT) -> SharedTarget:
    """``shared_target`` for a project: the records currently routed to auto-exclusion, and ``L`` from the
    latest ``calibrate`` event whose thresholds are the ones those records were routed under (the route
    rows' policy; ``[routing]`` when they do not say): a calibration of other thresholds certifies nothing
    about these exclusions."""
    from sqlalchemy import func, select

    from metasift.kinds import RouteName
    from metasift.store import schema as t

    final = protocol.screening.stop_target_recall
    rt = t.routes
    current_auto = (rt.c.stage == str(stage), rt.c.route == RouteName.AUTO_EXCLUDE.value, rt.c.superseded_at.is_(None))
    with store.read() as conn:  # a count and one row, not every route: the review app reads this at start
        auto = int(conn.execute(select(func.count()).select_from(rt).where(*current_auto)).scalar_one())
        if not auto:
            return shared_target(final, None, 0)
        policy = conn.execute(select(rt.c.policy).where(*current_auto).order_by(rt.c.id.desc()).limit(1)).scalar()
        rows = conn.execute(select(t.events.c.payload).where(t.events.c.action == "calibrate")
                            .order_by(t.events.c.id.desc())).all()
    used = policy or protocol.routing.model_dump()
    bound, realised, confidence = None, False, None
    for (payload,) in rows:
        pol = (payload or {}).get("policy") or {}
        if pol.get("auto_exclude") and "recall_lb" in payload and all(
                math.isclose(float(pol.get(key, -1)), float(used.get(key, -2)), abs_tol=1e-9)
                for key in ("llm_exclude_confidence", "ranker_exclude_probability")):
            bound = float(payload["recall_lb"])
            realised, confidence = payload.get("bound") == "realised", payload.get("confidence")
            break
    return shared_target(final, bound, auto, realised=realised, confidence=confidence)


def project_stopping(store: Store, protocol: Any
                     ) -> tuple[ScreeningHistory, dict[str, float], SharedTarget] | None:
    """The title/abstract history under the protocol's counting rules and the test's parameters: the
    target is ``[screening] stop_target_recall`` shared with the automation (``project_shared_target``:
    over ``L`` when records were auto-excluded under a calibrated bound ``L``), the confidence
    ``stop_confidence``; None before any human decision. ``status`` and the report both start from this."""
    from metasift.store import review_queue as rq

    counting = rq.Counting.of(protocol)
    history = screening_history(store, humans_needed=counting.needed, model_counts=counting.model_counts)
    if not history.labels:
        return None
    shared = project_shared_target(store, protocol)
    return history, {"target_recall": shared.target, "confidence": protocol.screening.stop_confidence}, shared


def _pct(x: float) -> str:
    """A share as a percentage, with one decimal when the whole number would round it (97.4 %, not 97 %)."""
    return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x:.1%}"


def describe(est: StoppingEstimate) -> str:
    """One line for ``status`` and the report: found, the irrelevant streak, and the verdict with its p."""
    head = (f"{est.includes_found} relevant found in {est.n_screened} of {est.n_total} records, "
            f"{est.consecutive_irrelevant} irrelevant since the last relevant; ")
    target = f"{_pct(est.target_recall)} recall"
    if est.target_reached:
        return head + f"safe to stop at {target} ({format_p(est.p_value)})"
    more = f"~{est.records_to_stop} more records to screen at the current rate"
    return head + f"not yet for {target}: {format_p(est.p_value)}; {more}"


def methods_summary(history: ScreeningHistory, *, target_recall: float = 0.95,
                    confidence: float = 0.95, shared: SharedTarget | None = None) -> dict[str, Any]:
    """The report's methods text on stopping: the rule, its parameters, and whether and when it was met."""
    est = estimate_stopping(history.labels, history.n_total, target_recall=target_recall, confidence=confidence)
    at = first_buscar_stop(history.labels, history.n_total, target_recall=target_recall, confidence=confidence)
    left_out = (f"{history.calibration_left_out} calibration-sample records and {history.settled_without_human} "
                f"records settled without a human were left out")
    rule = (f"Stopping was judged with the buscar hypergeometric test (Callaghan & Müller-Hansen 2020) of H0 "
            f"\"recall < {_pct(target_recall)}\" at {confidence:.0%} confidence, applied to the human "
            f"title/abstract decisions in the order they were made ({history.n_total} records in the ranked "
            f"queue; {left_out}).")
    if at is not None:
        p = buscar_p(history.labels[:at], history.n_total, target_recall)
        when = (f" The rule was met after {at} records had been screened ({history.screened_at[at - 1][:10]}; "
                f"{format_p(p)}, {sum(history.labels[:at])} relevant found); {est.n_screened} were screened in all.")
    else:
        when = (f" The rule was not met: after {est.n_screened} records ({est.includes_found} relevant), "
                f"{format_p(est.p_value)}.")
    share = ""
    if shared is not None and shared.line:
        kept = (f"keeping, at {shared.confidence:.0%} confidence, at least {shared.automation_bound:.1%} of the "
                f"includes among the records it decided (a bound calibrated on the human-labelled random sample)"
                if shared.realised and shared.confidence else
                f"keeping recall at least {shared.automation_bound:.1%} (the lower bound calibrated on the "
                "human-labelled sample)")
        share = (f" The automation auto-excluded {shared.auto_excluded} records {kept}, so the "
                 f"test ran at the final target {shared.final_target:.0%} divided by that bound.")
    if shared is not None and shared.warning:
        share += f" Warning: {shared.warning}."
    return {"rule": "buscar", "target_recall": target_recall, "confidence": confidence, "met": at is not None,
            "met_after": at, "met_on": history.screened_at[at - 1] if at else None, "n_total": history.n_total,
            "n_screened": est.n_screened, "p_value": est.p_value, "text": rule + when + share,
            "shared_target": None if shared is None else shared.model_dump()}


def status_text(est: StoppingEstimate, shared: SharedTarget | None = None) -> str:
    """The review app's status line: found, the irrelevant streak, the recall estimate with its lower
    bound, and the verdict with its p."""
    parts = [f"{est.includes_found} relevant found", f"{est.consecutive_irrelevant} irrelevant since the last relevant"]
    if est.recall_estimate is not None and est.recall_lower is not None:
        parts.append(f"recall ≈ {est.recall_estimate:.0%} (≥ {est.recall_lower:.0%} at {est.confidence:.0%})")
    target = f"{_pct(est.target_recall)} recall"
    if est.target_reached:
        parts.append(f"safe to stop at {target} ({format_p(est.p_value)})")
    else:
        parts.append(f"not yet safe to stop at {target} ({format_p(est.p_value)})")
    if shared is not None and shared.warning:
        parts.append(f"WARNING: {shared.warning}")
    elif shared is not None and shared.line:
        parts.append(shared.line)
    return " · ".join(parts)


class StoppingTracker:
    """The stopping test kept current through a review session without re-reading the store per decision.

    ``load`` takes the project's history (``screening_history``, read at the start and again after each
    retrain or undo, which also brings in other reviewers' decisions); ``note`` adds this reviewer's
    decisions as they are made — a record screened by no human yet joins the end of the history, one
    already in it counts as relevant if anyone said include (as ``order_history`` does while unsettled).
    ``load(history, since)`` replays the decisions noted after the history was read (``seq`` then), so
    a history read in a worker thread does not lose decisions made meanwhile. Not thread-safe: call it
    from one thread (the UI's); the history itself may be read anywhere.
    """

    def __init__(self, *, target_recall: float = 0.95, confidence: float = 0.95,
                 shared: SharedTarget | None = None) -> None:
        self.target_recall, self.confidence = target_recall, confidence
        self.shared = shared  # how ``target_recall`` was shared with the automation (the status line says so)
        self.labels: list[int] = []
        self.index: dict[int, int] = {}
        self.n_total = 0
        self.loaded = False
        self._log: list[tuple[int, int]] = []  # (record id, 1/0) of this session's decisions, in order

    @property
    def seq(self) -> int:
        """How many decisions were noted so far (pass it to ``load`` with a history read afterwards)."""
        return len(self._log)

    def load(self, history: ScreeningHistory, since: int | None = None) -> None:
        self.labels = list(history.labels)
        self.index = {rid: i for i, rid in enumerate(history.record_ids)}
        self.n_total = history.n_total
        self.loaded = True
        for rid, label in self._log[since if since is not None else len(self._log):]:
            self._apply(rid, label)

    def note(self, record_id: int, include: bool) -> None:
        self._log.append((record_id, int(include)))
        self._apply(record_id, int(include))

    def forget(self, record_id: int) -> None:
        """An undone decision: drop its note (the next ``load`` reads the store without it)."""
        for i in range(len(self._log) - 1, -1, -1):
            if self._log[i][0] == record_id:
                del self._log[i]
                return

    def _apply(self, rid: int, label: int) -> None:
        at = self.index.get(rid)
        if at is None:
            self.index[rid] = len(self.labels)
            self.labels.append(label)
            self.n_total = max(self.n_total, len(self.labels))
        else:
            self.labels[at] = max(self.labels[at], label)

    def snapshot(self) -> tuple[list[int], int]:
        """A copy of the history and its total, for ``estimate`` in another thread."""
        return list(self.labels), self.n_total

    def estimate(self, labels: Sequence[int] | None = None, n_total: int | None = None) -> StoppingEstimate | None:
        """The test on the history (or on a ``snapshot``); None before the first human decision."""
        if labels is None:
            labels, n_total = self.snapshot()
        if not labels or not n_total:
            return None
        return status_estimate(labels, n_total, self.target_recall, self.confidence)


def status_estimate(labels: Sequence[int], n_total: int, target_recall: float, confidence: float) -> StoppingEstimate:
    """``estimate_stopping`` without the projection, as the review app's status line needs it (a plain
    function of plain values, so a worker process can run it)."""
    key = (n_total, target_recall, confidence)
    est = estimate_stopping(labels, n_total, target_recall=target_recall, confidence=confidence, project=False,
                            upper_hint=_LAST_UPPER.get(key))
    _LAST_UPPER[key] = est.remaining_upper  # the next decision's search starts from it
    return est


_LAST_UPPER: dict[tuple[int, float, float], int] = {}  # per worker process: the last bound, as a hint


_STORES: dict[str, Store] = {}  # per worker process: the stores history reads opened


def history_from_url(url: str, humans_needed: int, model_counts: bool, stage: str,
                     decider: str | None = None) -> ScreeningHistory:
    """``screening_history`` in a worker process, which opens the store by its URL once (and loads
    scipy.stats there, for the tests that follow the read: a second of imports, off the app's process)."""
    import scipy.stats  # noqa: F401

    from metasift.store import Store

    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store.from_url(url)
    return screening_history(store, humans_needed=humans_needed, model_counts=model_counts, stage=stage,
                             decider=decider)
