"""Routing never auto-excludes on one signal; calibration keeps its recall bound and says when it cannot."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta
from statsmodels.stats.proportion import proportion_confint

from metasift.config import RoutingConfig
from metasift.errors import AnalysisError
from metasift.screener.calibrate import (
    CalibrationItem,
    calibrate_thresholds,
    clopper_pearson_lower,
    includes_needed,
    max_missable,
    threshold_path,
)
from metasift.screener.routing import LLMSignal, RoutingPolicy, Signals, route, route_all, route_counts
from tests.helpers import calibration_sample

POLICY = RoutingPolicy(llm_exclude_confidence=0.9, ranker_exclude_probability=0.05)


def _exclude(conf: float = 0.95, verdicts: dict | None = None) -> LLMSignal:
    return LLMSignal(decision="exclude", confidence=conf, criteria=verdicts or {"population": "not_met",
                                                                              "design": "met"})


# -- routing ---------------------------------------------------------------------------------------
def test_two_agreeing_signals_auto_exclude() -> None:
    r = route(Signals(llm=_exclude(), ranker_probability=0.01), POLICY)
    assert r.route == "auto_exclude" and "population" in r.reason and "0.010" in r.reason
    assert r.as_tuple() == ("auto_exclude", r.reason)


@pytest.mark.parametrize("signals, expected, why", [
    (Signals(llm=_exclude()), "human", "no ranker score"),  # ranker still on its prior ordering
    (Signals(llm=_exclude(), ranker_probability=0.2), "human", "ranker P(include)=0.200"),
    (Signals(llm=_exclude(0.85), ranker_probability=0.01), "human", "below the 0.90"),
    (Signals(llm=_exclude(verdicts={"population": "unclear"}), ranker_probability=0.0), "human",
     "no criterion clearly not met"),
    (Signals(llm=LLMSignal(decision="exclude", criteria={"a": "not_met"}), ranker_probability=0.0), "human",
     "below"),
    (Signals(llm=LLMSignal(decision="unsure", confidence=0.99), ranker_probability=0.0), "human", "unsure"),
    (Signals(llm=LLMSignal.failed("timeout after 4 retries"), ranker_probability=0.0), "human", "timeout"),
    (Signals(ranker_probability=0.0), "human", "no model verdict"),
    (Signals(llm=LLMSignal(decision="include", confidence=0.6), ranker_probability=0.0), "likely_include",
     "human confirms"),
    (Signals(rule_exclude=True, rule_criteria=["year"], llm=LLMSignal(decision="include", confidence=1.0),
             ranker_probability=0.9), "auto_exclude", "rule: year not met"),
])
def test_routes_and_reasons(signals: Signals, expected: str, why: str) -> None:
    r = route(signals, POLICY)
    assert r.route == expected and why in r.reason


def test_auto_exclusion_switched_off_keeps_rules() -> None:
    off = POLICY.model_copy(update={"auto_exclude": False})
    assert route(Signals(llm=_exclude(1.0), ranker_probability=0.0), off).route == "human"
    assert route(Signals(rule_exclude=True), off).route == "auto_exclude"


_verdict = st.sampled_from(["met", "not_met", "unclear"])
_llm = st.one_of(st.none(), st.builds(
    LLMSignal, decision=st.sampled_from(["include", "exclude", "unsure", "error"]),
    confidence=st.one_of(st.none(), st.floats(0, 1)),
    criteria=st.dictionaries(st.sampled_from(["a", "b", "c"]), _verdict, max_size=3)))


@settings(max_examples=300, deadline=None)
@given(llm=_llm, p=st.one_of(st.none(), st.floats(0, 1)), t_llm=st.floats(0, 1), t_rank=st.floats(0, 1))
def test_never_auto_excludes_without_both_signals(llm, p, t_llm, t_rank) -> None:
    policy = RoutingPolicy(llm_exclude_confidence=t_llm, ranker_exclude_probability=t_rank)
    r = route(Signals(llm=llm, ranker_probability=p), policy)
    if r.route == "auto_exclude":
        assert llm is not None and llm.decision == "exclude" and llm.error is None
        assert "not_met" in llm.criteria.values()
        assert llm.confidence is not None and llm.confidence >= t_llm
        assert p is not None and p <= t_rank
    if llm is None or llm.decision in ("unsure", "error"):
        assert r.route == "human"
    if llm is not None and llm.decision == "include":
        assert r.route == "likely_include"


def test_policy_from_review_toml_config_and_llm_answer() -> None:
    cfg = RoutingConfig(llm_exclude_confidence=0.8, ranker_exclude_probability=0.1)
    policy = RoutingPolicy.from_config(cfg)
    assert policy.llm_exclude_confidence == 0.8 and policy.ranker_exclude_probability == 0.1
    assert RoutingPolicy.from_config(cfg.model_dump()) == policy
    from metasift.screener.schema import screening_model

    answer = screening_model(["population", "design"]).model_validate({
        "criteria": [{"id": "population", "verdict": "not_met", "quote": "", "reason": "rats"},
                     {"id": "design", "verdict": "met", "quote": "", "reason": "RCT"}],
        "decision": "exclude", "confidence": 0.97})
    sig = LLMSignal.from_answer(answer)
    assert sig.criteria == {"population": "not_met", "design": "met"}
    routes = route_all({1: Signals(llm=sig, ranker_probability=0.02), 2: Signals(llm=sig)}, policy)
    assert route_counts(routes) == {"auto_exclude": 1, "human": 1, "likely_include": 0}


# -- calibration -----------------------------------------------------------------------------------
@pytest.mark.parametrize("x, n", [(0, 10), (1, 10), (9, 10), (10, 10), (147, 150), (200, 200)])
def test_clopper_pearson_matches_the_beta_quantile(x: int, n: int) -> None:
    lower = clopper_pearson_lower(x, n, 0.95)
    expected = 0.0 if x == 0 else beta.ppf(0.05, x, n - x + 1)
    assert lower == pytest.approx(expected, abs=1e-12)
    # one-sided 95 % lower bound = lower end of the two-sided 90 % exact interval
    assert lower == pytest.approx(proportion_confint(x, n, alpha=0.10, method="beta")[0], abs=1e-9)


def test_includes_needed_for_the_target() -> None:
    assert includes_needed(0.98, 0.95) == 149 and includes_needed(0.95, 0.95) == 59
    assert max_missable(148, 0.98, 0.95) == -1 and max_missable(149, 0.98, 0.95) == 0
    assert clopper_pearson_lower(149, 149) >= 0.98 > clopper_pearson_lower(148, 148)


_sample = calibration_sample


def test_calibration_reaches_the_bound_and_counts_match_routing() -> None:
    items = _sample()
    res = calibrate_thresholds(items, target_recall=0.98)
    assert res.n_included >= 149 and res.recall_lower >= 0.98
    assert res.auto_excluded_share > 0.3 and res.policy.auto_exclude
    kept = res.n_included - res.includes_auto_excluded
    assert res.recall_lower == pytest.approx(clopper_pearson_lower(kept, res.n_included))
    routed = [route(it.signals, res.policy) for it in items]  # what the chosen policy really does
    assert res.routes["auto_exclude"] == sum(r.route == "auto_exclude" for r in routed) == res.auto_excluded
    assert sum(res.routes.values()) == len(items)
    missed = sum(it.included for it, r in zip(items, routed, strict=True) if r.route == "auto_exclude")
    assert missed == res.includes_auto_excluded


def test_calibration_stops_at_the_last_step_of_a_label_free_walk_that_keeps_the_bound() -> None:
    items = _sample(n=400, prevalence=0.25, seed=4)
    res = calibrate_thresholds(items, target_recall=0.9, confidence=0.95)
    loosest = RoutingPolicy(llm_exclude_confidence=0.0, ranker_exclude_probability=1.0)
    could = np.array([route(it.signals, loosest).route == "auto_exclude" for it in items])
    conf = np.array([it.signals.llm.confidence or 0.0 for it in items])
    prob = np.array([it.signals.ranker_probability for it in items])
    inc = np.array([it.included for it in items])
    path = threshold_path(conf[could], prob[could])
    # the walk is fixed before the labels are looked at: the same signals with other labels give the same walk
    flipped = [it.model_copy(update={"included": not it.included}) for it in items]
    assert path == threshold_path(np.array([it.signals.llm.confidence or 0.0 for it in flipped])[could],
                                  np.array([it.signals.ranker_probability for it in flipped])[could])
    assert all(a[0] >= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(path))  # nested steps
    # fixed-sequence: walk until the first step whose bound fails; the choice is the step before it
    chosen = None
    for t_llm, t_rank in path:
        auto = could & (conf >= t_llm) & (prob <= t_rank)
        if clopper_pearson_lower(int(inc.sum() - (auto & inc).sum()), int(inc.sum())) < 0.9:
            break
        chosen = (t_llm, t_rank)
    assert chosen is not None and res.policy.auto_exclude
    assert (res.policy.llm_exclude_confidence, res.policy.ranker_exclude_probability) == chosen
    assert res.auto_excluded == int((could & (conf >= chosen[0]) & (prob <= chosen[1])).sum()) > 0
    assert res.recall_lower >= 0.9


def test_calibration_refuses_too_few_includes() -> None:
    items = _sample(n=600, prevalence=0.05, seed=1)
    with pytest.raises(AnalysisError, match=r"at least 149 includes are needed"):
        calibrate_thresholds(items)
    with pytest.raises(AnalysisError, match="0 includes"):
        calibrate_thresholds([it for it in items if not it.included])


def test_calibration_refuses_rules_that_lose_includes() -> None:
    items = _sample(seed=2)
    bad = [it.model_copy(update={"signals": it.signals.model_copy(update={"rule_exclude": it.included})})
           for it in items]
    with pytest.raises(AnalysisError, match="rules alone exclude"):
        calibrate_thresholds(bad)


def test_calibration_turns_the_path_off_when_nothing_is_safe() -> None:
    items = _sample(seed=3)
    # make every LLM exclusion of an include maximally confident with the lowest ranker score
    tricky = []
    for it in items:
        if it.included:
            sig = Signals(llm=_exclude(1.0), ranker_probability=0.0)
            it = CalibrationItem(included=True, signals=sig)
        tricky.append(it)
    res = calibrate_thresholds(tricky)
    assert res.policy.auto_exclude is False and res.auto_excluded == 0 and res.recall == 1.0


def test_routing_reads_the_shared_ranker_run_not_one_retrained_in_a_review_session(project) -> None:
    from metasift.records import Record
    from tests.helpers import seed_store

    store = seed_store(project, [Record(title=f"Study {i}") for i in range(3)])
    try:
        store.save_rankings("title_abstract", "svm", {}, {1: 0.9, 2: 0.1, 3: 0.5}, trained_on=20)
        store.save_rankings("title_abstract", "svm", {}, {1: 0.2, 2: 0.8, 3: 0.5}, trained_on=24, reviewer="alice")
        assert store.latest_scores("title_abstract") == {1: 0.2, 2: 0.8, 3: 0.5}  # alice's queue may use it
        assert store.latest_scores("title_abstract", shared=True) == {1: 0.9, 2: 0.1, 3: 0.5}
    finally:
        store.close()
