"""The realised recall bound: what the automation loses on this review's own records, exact at its confidence."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from metasift.errors import AnalysisError
from metasift.screener.calibrate import (
    CalibrationItem,
    calibrate_thresholds,
    check_policy,
    clopper_pearson_lower,
    includes_interval,
    max_missable,
    realised_loss_risk,
    realised_recall_lower,
    sample_losses_allowed,
    sample_needed,
)
from metasift.screener.routing import RoutingPolicy, route
from tests.helpers import calibration_sample


def _hyper_cdf(k: int, total: int, successes: int, draws: int) -> float:
    """P(X <= k), X hypergeometric, counted with binomial coefficients (independent of scipy)."""
    return sum(math.comb(successes, j) * math.comb(total - successes, draws - j)
               for j in range(0, min(k, draws) + 1)) / math.comb(total, draws)


@pytest.mark.parametrize("n, outside, recall, lost", [
    (140, 140, 0.975, 0), (140, 140, 0.96, 0), (60, 90, 0.9, 2), (30, 10, 0.8, 1), (10, 50, 0.99, 0),
])
def test_the_realised_loss_risk_is_the_hypergeometric_tail_counted_by_hand(n: int, outside: int, recall: float,
                                                                           lost: int) -> None:
    m = math.floor((1 - recall) * outside + 1e-9)
    expected = _hyper_cdf(lost, n + outside, n, m + lost + 1)
    assert realised_loss_risk(n, outside, recall, lost)[0] == pytest.approx(expected, abs=1e-12)
    # the 0.975 case of docs/oracle.md: four outside includes lost before the first of the sample's, ~0.5 ** 4
    if (n, outside, recall, lost) == (140, 140, 0.975, 0):
        assert 0.05 < expected < 0.0625


def test_the_count_interval_is_the_exact_test_inverted_by_hand() -> None:
    population, size, found, alpha = 120, 50, 9, 0.1
    kept = []
    for total in range(found, population - (size - found) + 1):
        below = _hyper_cdf(found, population, total, size)
        above = 1 - _hyper_cdf(found - 1, population, total, size) if found else 1.0
        if below > alpha / 2 and above > alpha / 2:
            kept.append(total)
    assert includes_interval(found, size, population, alpha) == (min(kept), max(kept))
    assert includes_interval(0, size, size, alpha) == (0, 0)  # the whole population sampled
    with pytest.raises(AnalysisError):
        includes_interval(5, 3, 10, alpha)


def _walk_failures(n_records: int, n_includes: int, size: int, budget: int, bound: float, reps: int,
                   seed: int) -> float:
    """Share of random samples under which a walk allowed to lose ``budget`` sample includes loses more
    than ``1 - bound`` of the outside includes. Includes are excluded in a fixed order (any order gives the
    same law); the walk stops before the ``budget + 1``-th sample include."""
    rng = np.random.default_rng(seed)
    fails = 0
    for _ in range(reps):
        in_sample = np.zeros(n_records, dtype=bool)
        in_sample[rng.choice(n_records, size=size, replace=False)] = True
        inc_sample = in_sample[:n_includes]  # records 0..n_includes-1 are the includes, in exclusion order
        outside = int((~inc_sample).sum())
        first_over = np.flatnonzero(np.cumsum(inc_sample) > budget)
        stop = first_over[0] if first_over.size else n_includes
        lost = int((~inc_sample[:stop]).sum())
        fails += outside > 0 and lost > (1 - bound) * outside + 1e-9
    return fails / reps


def test_a_walk_stopped_at_the_realised_budget_keeps_its_bound_in_95_percent_of_samples() -> None:
    n_records, n_includes, size = 900, 200, 450
    n_sample = round(n_includes * size / n_records)
    lower = realised_recall_lower(n_sample, size, n_records, 0)
    assert 0.9 < lower < 0.99
    realised = _walk_failures(n_records, n_includes, size, 0, lower, reps=4000, seed=1)
    assert realised <= 0.05  # exact and conservative: ~2.2 % here
    # the rate bound's promise, checked the same way, fails far more often than 5 %: what the bench found
    rate = clopper_pearson_lower(n_sample, n_sample)
    assert max_missable(n_sample, rate - 1e-9, 0.95) == 0
    assert _walk_failures(n_records, n_includes, size, 0, rate, reps=4000, seed=1) > 0.07  # ~9.5 %


def test_more_sample_losses_allowed_mean_a_lower_bound_and_none_when_the_target_is_out_of_reach() -> None:
    bounds = [realised_recall_lower(140, 996, 1993, lost) for lost in range(4)]
    assert all(a > b for a, b in itertools.pairwise(bounds))
    assert sample_losses_allowed(140, 996, 1993, 0.96) == 0 and sample_losses_allowed(140, 996, 1993, 0.95) == 1
    assert sample_losses_allowed(140, 996, 1993, 0.975) == -1  # 140 includes a side cannot show 0.975
    assert realised_recall_lower(140, 1993, 1993, 0) == 1.0  # nothing outside the sample
    needed = sample_needed(0.96, 0.95, 0.14, 1993)
    assert needed is not None and realised_recall_lower(math.floor(0.14 * needed), needed, 1993, 0) >= 0.96
    assert sample_needed(0.999, 0.95, 0.01, 500) == 500  # only screening every record shows 0.999


def _items(n: int, prevalence: float, seed: int) -> list[CalibrationItem]:
    return calibration_sample(n, prevalence, seed, plain=True)


def test_calibration_with_the_population_promises_the_realised_bound_of_its_budget() -> None:
    items = _items(1500, 0.2, seed=5)
    population = 3000
    res = calibrate_thresholds(items, target_recall=0.95, population=population)
    budget = sample_losses_allowed(res.n_included, len(items), population, 0.95)
    assert res.bound == "realised" and res.population == population and res.sample_losses_allowed == budget >= 1
    assert res.recall_lower == pytest.approx(realised_recall_lower(res.n_included, len(items), population, budget))
    assert res.recall_lower >= 0.95 and res.policy.auto_exclude and res.auto_excluded > 0
    assert res.includes_auto_excluded <= budget
    assert "keeps at least" in res.note and "95% confidence" in res.note
    # the same walk one step further would have lost more than the budget allows
    routed = [route(it.signals, res.policy) for it in items]
    assert sum(it.included for it, r in zip(items, routed, strict=True) if r.route == "auto_exclude") \
        == res.includes_auto_excluded
    # a fixed policy is judged by the losses it had
    checked = check_policy(items, res.policy, target_recall=0.95, population=population)
    assert checked.recall_lower == pytest.approx(realised_recall_lower(
        res.n_included, len(items), population, res.includes_auto_excluded))


def test_calibration_refuses_a_sample_too_small_for_the_realised_target_and_names_the_size() -> None:
    items = _items(600, 0.15, seed=6)
    with pytest.raises(AnalysisError, match=r"a sample of about \d+ records would do"):
        calibrate_thresholds(items, target_recall=0.97, population=2400)
    with pytest.raises(AnalysisError, match="smaller than the sample"):
        calibrate_thresholds(items, target_recall=0.9, population=100)
    off = check_policy(items, RoutingPolicy(auto_exclude=False), target_recall=0.9, population=2400)
    assert off.recall == 1.0 and off.recall_lower < 1.0  # even losing none, outside losses stay possible


def test_the_status_line_and_the_report_state_the_realised_bound_with_its_confidence() -> None:
    from metasift.screener.stopping import ScreeningHistory, methods_summary, shared_target

    realised = shared_target(0.95, 0.965, 12, realised=True, confidence=0.95)
    assert realised.target == pytest.approx(0.95 / 0.965)
    assert realised.line == ("stop test at 98.4% = final target 95% / automation's calibrated recall bound 96.5% "
                             "(95% confidence, over the records it decided; 12 records auto-excluded)")
    older = shared_target(0.95, 0.98, 2)  # a calibration logged before the realised bound: as it said then
    assert older.line is not None and "confidence" not in older.line
    history = ScreeningHistory(labels=[1, 0, 1, 0, 0], record_ids=[1, 2, 3, 4, 5], screened_at=["2026-01-01"] * 5, n_total=40,
                               settled_without_human=12, calibration_left_out=30)
    text = methods_summary(history, target_recall=realised.target, shared=realised)["text"]
    assert "keeping, at 95% confidence, at least 96.5% of the includes among the records it decided" in text


def test_status_reads_the_realised_bound_and_its_confidence_from_the_calibrate_event(project) -> None:
    from metasift.config import load_protocol
    from metasift.kinds import DeciderKind
    from metasift.records import Record
    from metasift.screener.stopping import project_shared_target
    from tests.helpers import seed_store

    store = seed_store(project, [Record(title=f"Trial {i}", abstract=f"Abstract {i}") for i in range(6)])
    policy = {"llm_exclude_confidence": 0.8, "ranker_exclude_probability": 0.1, "auto_exclude": True}
    try:
        ids = sorted(r.id for r in store.records_table())
        with store.write() as conn:
            store.log_event(conn, "calibrate", actor_kind=DeciderKind.RULE, actor="calibrate", payload={
                "recall_lb": 0.965, "bound": "realised", "confidence": 0.95, "population": 6, "policy": policy})
        store.save_routes("title_abstract", {ids[0]: ("auto_exclude", "both signals low")}, policy)
        shared = project_shared_target(store, load_protocol(project))
    finally:
        store.close()
    assert shared.realised and shared.confidence == 0.95 and shared.automation_bound == 0.965
    assert shared.line is not None and "(95% confidence, over the records it decided; 1 records" in shared.line
