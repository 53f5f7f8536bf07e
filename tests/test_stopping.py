"""The buscar stopping rule: its statistic by hand and by scipy, its projection, a project's history, the
``status`` line, the report's methods text, and ``simulate --stop``."""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom

from metasift.config import load_protocol
from metasift.pvalues import format_p
from metasift.records import Record
from metasift.screener.simulate import StopRule, run_simulation, stop_points
from metasift.screener.stopping import (
    buscar_p,
    describe,
    estimate_stopping,
    first_buscar_stop,
    first_heuristic_stop,
    methods_summary,
    missing_for_target,
    order_history,
    projected_history,
    records_to_stop,
    screening_history,
    window_p_values,
)
from metasift.store.rows import DecisionRow
from tests.helpers import decision_row, seed_store
from tests.test_ranker import make_corpus

TA = "title_abstract"


def brute_force_p(y: list[int], n_total: int, target: float) -> float:
    """buscar's p written out window by window with scipy, as buscarpy's calculate_h0 does."""
    found, unscreened = sum(y), n_total - len(y)
    k_tar = math.floor(found / target + 1)  # buscar's total includes that would miss the target
    ps = []
    for n in range(1, len(y) + 1):
        k = sum(y[len(y) - n:])
        ps.append(hypergeom.cdf(k, n + unscreened, k_tar - (found - k), n))
    return float(min(ps))


# -- the statistic ---------------------------------------------------------------------------------
def test_the_p_value_matches_a_hand_computed_hypergeometric_tail() -> None:
    y = [1, 1, 0, 1, 0, 0, 0, 0]  # 3 found in 8 of 40: 1 more include would put recall below 95 %
    assert missing_for_target(3, 0.95) == 1
    # best window: the last 4 irrelevant records; urn 4 + 32 unscreened holding 1 include, none drawn:
    # P(X = 0) = C(35, 4) / C(36, 4) = 32 / 36
    assert buscar_p(y, 40) == pytest.approx(32 / 36)
    assert buscar_p(y, 40) == pytest.approx(hypergeom.cdf(0, 36, 1, 4))
    # the whole history: 3 of the urn's 4 includes drawn in 8: 1 - C(8, 4) / C(40, 4)
    assert window_p_values(y, 40, 1)[-1] == pytest.approx(1 - math.comb(8, 4) / math.comb(40, 4))


@pytest.mark.parametrize("seed", range(6))
def test_the_p_value_equals_buscars_window_by_window_formula_on_random_histories(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_total = int(rng.integers(200, 600))
    screened = int(rng.integers(20, n_total))
    y = (rng.random(screened) < np.linspace(0.4, 0.0, screened)).astype(int).tolist()
    for target in (0.8, 0.9, 0.95):
        assert buscar_p(y, n_total, target) == pytest.approx(brute_force_p(y, n_total, target), rel=1e-9, abs=1e-12)


def test_the_missing_count_is_the_fewest_unfound_includes_that_break_the_target() -> None:
    for found in range(0, 200):
        for target in (0.8, 0.9, 0.95, 0.99):
            m = missing_for_target(found, target)
            assert found / (found + m) < target - 1e-12  # recall below the target with m missing
            assert m == 1 or found / (found + m - 1) >= target - 1e-12  # and not with one fewer
    assert missing_for_target(19, 0.95) == 2  # 19/20 = 0.95 meets the target; 19/21 does not


def test_with_few_includes_the_irrelevant_run_must_outnumber_the_unscreened_19_to_1() -> None:
    y = [1] * 5 + [0] * 190  # 10 left unscreened: p = 10 / (190 + 10)
    assert buscar_p(y, 205) == pytest.approx(10 / 200)
    assert not estimate_stopping([1] * 5 + [0] * 189, 204).target_reached  # 10 / 199 is not below 0.05
    assert estimate_stopping([1] * 5 + [0] * 191, 206).target_reached  # 10 / 201 is


def test_a_fully_screened_set_can_always_stop_and_an_empty_history_never() -> None:
    assert buscar_p([0, 1, 0], 3) == 0.0
    assert buscar_p([], 10) == 1.0
    assert first_buscar_stop([0, 0, 1, 0], 4) == 4


# -- over a history --------------------------------------------------------------------------------
def test_the_first_stop_is_the_first_prefix_the_test_rejects() -> None:
    rng = np.random.default_rng(4)
    weights = np.where(np.arange(800) < 40, 10.0, 1.0)
    y = (rng.choice(800, 800, replace=False, p=weights / weights.sum()) < 40).astype(int)
    stop = first_buscar_stop(y, 800)
    assert stop is not None
    assert buscar_p(y[:stop], 800) < 0.05 <= buscar_p(y[:stop - 1], 800)
    assert all(buscar_p(y[:s], 800) >= 0.05 for s in range(1, stop))
    assert first_buscar_stop(y, 800, start=stop + 1) in (None, *range(stop + 1, 801))


def test_the_heuristic_stops_after_the_run_of_irrelevant_records_once_something_was_found() -> None:
    assert first_heuristic_stop([0] * 10 + [1] + [0] * 3, 3) == 14
    assert first_heuristic_stop([0] * 10, 3) is None  # nothing found: never
    assert first_heuristic_stop([1, 0, 0, 1, 0, 0], 3) is None


def test_records_to_stop_is_the_fewest_extra_records_that_reach_the_stop() -> None:
    y = [1] * 30 + [0, 1] * 20 + [0] * 40
    more = records_to_stop(y, 3000)
    assert more > 0
    assert buscar_p(projected_history(y, more, 0.0), 3000) < 0.05 <= buscar_p(projected_history(y, more - 1, 0.0),
                                                                                3000)
    assert records_to_stop(y, 3000, rate=0.05) >= more  # includes still arriving: later
    assert projected_history([], 10, 0.2).tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_the_status_line_says_safe_to_stop_or_how_far_there_is_to_go() -> None:
    done = estimate_stopping([1] * 40 + [0] * 900, 1000)
    assert done.target_reached and done.records_to_stop == 0
    assert f"safe to stop at 95% recall ({format_p(done.p_value)})" in describe(done)
    going = estimate_stopping([1] * 40 + [0] * 50, 1000)
    assert not going.target_reached and going.records_to_stop > 0
    assert describe(going).endswith(f"{format_p(going.p_value)}; ~{going.records_to_stop} more records to screen "
                                    f"at the current rate")
    assert "40 relevant found" in describe(going) and "50 irrelevant since the last relevant" in describe(going)


# -- a project's history ---------------------------------------------------------------------------
def _decision(i: int, rid: int, label: str, when: str, kind: str = "human", who: str = "alice") -> DecisionRow:
    return decision_row(i, record_id=rid, decider_kind=kind, decider=who, label=label,
                        created_at=datetime.fromisoformat(when))


def test_the_history_follows_the_humans_first_decisions_in_time_order() -> None:
    ds = [_decision(1, 7, "exclude", "2024-01-02"), _decision(2, 3, "include", "2024-01-01"),
          _decision(3, 7, "include", "2024-01-05", who="bob"),  # unsettled conflict: counts as relevant
          _decision(4, 5, "include", "2024-01-03", kind="model"),  # not a human
          _decision(5, 9, "exclude", "2024-01-04"), _decision(6, 4, "unsure", "2024-01-01")]
    h = order_history(ds, population=[3, 4, 5, 7, 9], settled={3: "include", 9: "exclude"})
    assert h.record_ids == [3, 7, 9] and h.labels == [1, 1, 0] and h.n_total == 5
    assert h.screened_at == ["2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-04 00:00:00"]


def test_a_project_history_leaves_out_calibration_records_and_automatic_exclusions(project: Path, cli) -> None:
    store = seed_store(project, [Record(title=f"Trial {i}", abstract=f"Abstract {i}") for i in range(12)])
    try:
        ids = sorted(r.id for r in store.records_table())
        store.record_calibration_sample(stage=TA, seed=1, size=2, records=ids[:2], drawn_by="alice")
        store.add_decision(record_id=ids[2], stage=TA, decider_kind="rule", decider="year", label="exclude")
        for rid, label in [(ids[0], "include"), (ids[5], "include"), (ids[6], "exclude"), (ids[7], "exclude")]:
            store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="alice", label=label)
        h = screening_history(store)
        summary = methods_summary(h)
    finally:
        store.close()
    assert h.record_ids == ids[5:8] and h.labels == [1, 0, 0]
    assert h.n_total == 9 and h.calibration_left_out == 2 and h.settled_without_human == 1
    assert not summary["met"] and "was not met" in summary["text"] and "buscar" in summary["text"]
    status = cli("status", "--project", project, "--json").json()
    assert status["stopping"]["n_total"] == 9 and status["stopping"]["includes_found"] == 1
    assert status["stopping"]["p_value"] == pytest.approx(buscar_p([1, 0, 0], 9))
    text = cli("status", "--project", project)
    assert "title/abstract stopping (buscar): 1 relevant found in 3 of 9 records" in text.stderr


def test_the_report_states_when_the_rule_was_met(project: Path) -> None:
    from metasift.report.build import _stopping

    store = seed_store(project, [Record(title=f"Trial {i}", abstract=f"Abstract {i}") for i in range(30)])
    try:
        for rid in sorted(r.id for r in store.records_table()):
            store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="alice",
                               label="include" if rid <= 3 else "exclude")
        stopping = _stopping(store, load_protocol(project))
    finally:
        store.close()
    assert stopping is not None and stopping["met"] and stopping["met_after"] == first_buscar_stop(
        [1, 1, 1] + [0] * 27, 30)
    assert f"The rule was met after {stopping['met_after']} records" in stopping["text"]
    assert "95% confidence" in stopping["text"] and '"recall < 95%"' in stopping["text"]


# -- simulation ------------------------------------------------------------------------------------
def test_a_simulation_records_both_stops_where_the_rules_say_on_its_order() -> None:
    texts, labels = make_corpus(n=400, n_included=30, seed=2)
    rule = StopRule(until="both", heuristic_run=40)
    res = run_simulation(texts, labels, seed=1, retrain="adaptive", stop=rule)
    y = np.asarray(labels)[res.order]
    assert res.stops == stop_points(y, rule, start=3)
    b = res.stops["buscar"]
    assert b.fired and b.screened == first_buscar_stop(y, 400, start=3)
    assert b.recall == pytest.approx(y[:b.screened].sum() / 30) and b.recall >= 0.95
    assert b.work_saved == pytest.approx(1 - b.screened / 400)
    plain = run_simulation(texts, labels, seed=1, retrain="adaptive")
    assert plain.stops == {} and plain.order[:b.screened] == res.order[:b.screened]  # watching changes nothing


def test_simulate_stop_buscar_prints_and_returns_the_recall_at_the_stop(tmp_path: Path, cli) -> None:
    texts, labels = make_corpus(n=300, n_included=25, seed=3)
    path = tmp_path / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "title", "abstract", "label_included"])
        w.writerows([i, t[:30], t, y] for i, (t, y) in enumerate(zip(texts, labels, strict=True)))
    out = cli("simulate", path, "--stop", "buscar", "--target-recall", "0.9", "--confidence", "0.9",
              "--retrain", "adaptive", "--json").json()
    assert out["stop_rule"]["target_recall"] == 0.9 and out["stop_rule"]["until"] == "buscar"
    stop = out["stops"]["buscar"]
    assert stop["fired"] and 0 < stop["screened"] <= 300 and stop["recall"] >= 0.9
    table = cli("simulate", path, "--stop", "buscar", "--retrain", "adaptive")
    assert table.exit_code == 0 and "stop (buscar)" in table.stdout
    bad = cli("simulate", path, "--stop", "sometimes")
    assert bad.exit_code != 0


def test_the_protocol_sets_the_stopping_target_and_confidence(project: Path, cli) -> None:
    from tests.helpers import edit_protocol

    store = seed_store(project, [Record(title=f"Trial {i}", abstract=f"Abstract {i}") for i in range(12)])
    try:
        for rid in sorted(r.id for r in store.records_table())[:4]:
            store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="alice",
                               label="include" if rid == 1 else "exclude")
    finally:
        store.close()
    edit_protocol(project, **{"stop_target_recall = 0.95": "stop_target_recall = 0.8"})
    stopping = cli("status", "--project", project, "--json").json()["stopping"]
    assert stopping["target_recall"] == 0.8
    assert stopping["p_value"] == pytest.approx(buscar_p([1, 0, 0, 0], 12, target_recall=0.8))


# -- the final target shared with the automation ------------------------------------------------------
def test_the_humans_target_is_the_final_one_over_the_automations_calibrated_bound() -> None:
    from metasift.screener.stopping import shared_target, status_text

    none = shared_target(0.95, None, 0)
    assert none.target == 0.95 and none.line is None and none.warning is None
    ok = shared_target(0.95, 0.98, 120)
    assert ok.target == pytest.approx(0.95 / 0.98) and ok.warning is None
    assert ok.line == ("stop test at 96.9% = final target 95% / automation's calibrated recall bound 98.0% "
                       "(120 records auto-excluded)")
    short = shared_target(0.95, 0.90, 120)
    assert short.target == 0.95 and "below the final target 95%" in short.warning
    assert "equals the final target" in shared_target(0.95, 0.95, 3).warning
    assert "cannot be promised" in short.warning
    blind = shared_target(0.95, None, 7)
    assert blind.target == 0.95 and "no calibration certifies" in blind.warning
    est = estimate_stopping([1] * 40 + [0] * 50, 1000, target_recall=ok.target)
    assert "not yet safe to stop at 96.9% recall" in status_text(est, ok)
    assert status_text(est, ok).endswith(ok.line)
    assert f"WARNING: {short.warning}" in status_text(est, short)
    assert status_text(est) == status_text(est, none)  # nothing auto-excluded: the line is as before


def _auto_excluded_project(project: Path, bound: float) -> list[int]:
    """Twelve records: two auto-excluded under thresholds a calibration certified at ``bound``, six screened."""
    from metasift.kinds import DeciderKind

    store = seed_store(project, [Record(title=f"Trial {i}", abstract=f"Abstract {i}") for i in range(12)])
    policy = {"llm_exclude_confidence": 0.8, "ranker_exclude_probability": 0.1, "auto_exclude": True}
    try:
        ids = sorted(r.id for r in store.records_table())
        with store.write() as conn:
            store.log_event(conn, "calibrate", actor_kind=DeciderKind.RULE, actor="calibrate",
                            payload={"recall_lb": 0.5, "policy": {**policy, "llm_exclude_confidence": 0.7}})
            store.log_event(conn, "calibrate", actor_kind=DeciderKind.RULE, actor="calibrate",
                            payload={"recall_lb": bound, "policy": policy})
        store.save_routes(TA, {ids[0]: ("auto_exclude", "both signals low"), ids[1]: ("auto_exclude", "low"),
                               ids[2]: ("human", "unsure")}, policy)
        for rid in ids[2:8]:
            store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="alice",
                               label="include" if rid == ids[2] else "exclude")
    finally:
        store.close()
    return ids


def test_status_and_the_report_test_the_humans_at_the_final_target_over_the_calibrated_bound(project: Path,
                                                                                              cli) -> None:
    from metasift.report.build import _stopping

    _auto_excluded_project(project, 0.98)
    stopping = cli("status", "--project", project, "--json").json()["stopping"]
    assert stopping["target_recall"] == pytest.approx(0.95 / 0.98)
    assert stopping["automation_recall_bound"] == 0.98 and stopping["target_warning"] is None
    assert stopping["target_line"].startswith("stop test at 96.9% = final target 95% / automation's calibrated")
    text = cli("status", "--project", project)
    assert "stop test at 96.9% = final target 95%" in text.stderr
    from metasift.store import Store

    store = Store.open(project)
    try:
        report = _stopping(store, load_protocol(project))
    finally:
        store.close()
    assert report is not None and report["target_recall"] == pytest.approx(0.95 / 0.98)
    assert '"recall < 96.9%"' in report["text"]
    assert "The automation auto-excluded 2 records keeping recall at least 98.0%" in report["text"]


def test_status_says_loudly_when_the_calibrated_bound_is_under_the_final_target(project: Path, cli) -> None:
    _auto_excluded_project(project, 0.9)
    stopping = cli("status", "--project", project, "--json").json()["stopping"]
    assert stopping["target_recall"] == 0.95 and "cannot be promised" in stopping["target_warning"]
    text = cli("status", "--project", project)
    assert "final recall target: the automation's calibrated recall bound 90.0% is below the final target 95%" \
        in text.stderr


def test_a_review_session_tests_the_humans_at_the_shared_target_and_its_status_line_says_so(project: Path) -> None:
    from metasift.screener.review_session import ReviewSession
    from metasift.screener.stopping import status_text
    from metasift.store import Store

    _auto_excluded_project(project, 0.98)
    store = Store.open(project)
    try:
        session = ReviewSession(store, load_protocol(project), "alice")
        tracker = session.stopping
        assert tracker is not None and tracker.target_recall == pytest.approx(0.95 / 0.98)
        est = estimate_stopping([1, 0, 0, 0, 0, 0], 10, target_recall=tracker.target_recall)
        assert "stop test at 96.9% = final target 95%" in status_text(est, tracker.shared)
    finally:
        store.close()
