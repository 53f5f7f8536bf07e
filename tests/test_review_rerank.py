"""Re-ranking during `metasift review` and the stopping test on its status line, driven by Textual's Pilot
on a real store: the waiting queue is reordered behind the record on screen, retrains stay blinded under
dual screening, the saved run orders the queue after a restart, and the buscar verdict is shown."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import Static

from metasift.config import load_protocol
from metasift.errors import ConfigError
from metasift.records import Record
from metasift.screener.live_rank import RetrainSchedule, training_labels
from metasift.screener.review_session import ReviewSession
from metasift.screener.stopping import ScreeningHistory, StoppingTracker, estimate_stopping
from metasift.store import Store
from metasift.store import review_queue as rq
from metasift.store import schema as t
from metasift.tui.review_app import ReviewApp
from tests.helpers import edit_protocol, seed_store

TA = "title_abstract"
TRIAL = "Randomised trial of an online peer support group for depression in students: symptoms fell"
MICE = "Stress exposure in laboratory mice: a protocol for cortisol measurement in rodents"


def _topic_project(project: Path, n: int = 24, *, dual: bool = False, every: str = "[3]") -> Store:
    """Records alternate between two topics: odd ids are trials (relevant), even ids are about mice."""
    edits = {"retrain_every = [10, 50]": f"retrain_every = {every}"}
    if not dual:
        edits["humans_per_record = 2 "] = "humans_per_record = 1 "
    edit_protocol(project, **edits)
    recs = [Record(title=f"Study {i + 1}: " + (TRIAL if i % 2 == 0 else MICE),
                   abstract=(TRIAL if i % 2 == 0 else MICE) + f" (cohort {i + 1})", year=2020, journal="J Test")
            for i in range(n)]
    return seed_store(project, recs, sha="r")


def _drive(app: ReviewApp, steps: Callable[..., Awaitable[None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            await steps(pilot)

    asyncio.run(go())
    app.session.finish()  # as `metasift review` does: the worker processes stop


async def _settle(pilot) -> None:
    """Wait for the app's workers (retrain, stopping test) and the UI-thread callbacks they queued."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _text(app: ReviewApp, widget: str) -> str:
    return str(app.screen.query_one(widget, Static).content)


def _is_trial(rid: int) -> bool:
    return rid % 2 == 1


def test_the_waiting_queue_is_reordered_after_n_decisions_and_the_record_on_screen_stays(project: Path) -> None:
    store = _topic_project(project)
    session = ReviewSession(store, load_protocol(project), "alice")
    assert session.queue_kind == "id" and session.queue[:4] == [1, 2, 3, 4]
    seen: dict[str, object] = {}

    async def steps(pilot) -> None:
        screen = pilot.app.screen
        await pilot.press("i")  # 1: trial
        await pilot.press("e", "enter")  # 2: mice
        await _settle(pilot)
        assert screen.reranked == 0  # 2 decisions: not due yet
        await pilot.press("i")  # 3: trial → third decision, the retrain starts in a worker
        shown = session.current_id()
        assert shown == 4 and "Study 4:" in _text(pilot.app, "#title")
        await _settle(pilot)
        assert screen.reranked == 1
        assert session.current_id() == 4 and "Study 4:" in _text(pilot.app, "#title")  # unchanged
        seen["waiting"] = session.queue[session.pos + 1:]
        seen["status"] = _text(pilot.app, "#status")
        await pilot.press("e", "enter")  # the next record is the best-ranked waiting one
        seen["next"] = session.current_id()

    _drive(ReviewApp(session), steps)
    waiting = seen["waiting"]
    assert isinstance(waiting, list) and len(waiting) == 20
    assert all(_is_trial(rid) for rid in waiting[:10]) and not any(_is_trial(rid) for rid in waiting[10:])
    assert seen["next"] == waiting[0]
    assert "re-ranked after 3 (3 labels)" in str(seen["status"])
    run = store.ranking_runs(TA)[-1]
    assert (run.reviewer, run.trained_on, run.ranker) == ("alice", 3, "svm")
    with store.read() as conn:  # the audit row of the run
        payload = conn.execute(select(t.events.c.payload).where(t.events.c.action == "rank")
                               .order_by(t.events.c.id.desc())).scalars().first()
    assert payload["reviewer"] == "alice" and payload["trigger"] == "review session"
    # one reviewer per record: each of her decisions settles its record
    assert (payload["decisions"], payload["settled_labels"], payload["own_labels"], payload["records"]) == (3, 3, 0, 24)


def test_a_retrain_in_dual_screening_never_learns_from_the_other_reviewers_undecided_labels(project: Path) -> None:
    store = _topic_project(project, dual=True)
    # bob screened first, calling every mice record relevant; alice agrees with him on record 1 only
    for rid in (2, 4, 6, 8, 10, 12):
        store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider="bob", label="include")
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="include")
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="include")
    protocol = load_protocol(project)
    session = ReviewSession(store, protocol, "alice")

    async def steps(pilot) -> None:
        for key in ("e", "i", "e"):  # 2 (mice) out, 3 (trial) in, 4 (mice) out
            await pilot.press(*((key, "enter") if key == "e" else (key,)))
        await _settle(pilot)
        assert pilot.app.screen.reranked == 1

    _drive(ReviewApp(session), steps)
    found = training_labels(store, "alice", rq.Counting.of(protocol))
    assert found.labels == {1: 1, 2: 0, 3: 1, 4: 0}  # record 1 settled by both; 2-4 hers; none of bob's alone
    assert (found.settled, found.own) == (1, 3)
    assert session.last_ranking is not None and session.last_ranking.trained_on == 4
    waiting = session.queue[session.pos + 1:]
    assert all(_is_trial(rid) for rid in waiting[:9])  # she sees trials first, whatever bob said of mice
    # bob's queue, opened now, is not ordered by alice's run (it learned from her unsettled decisions) ...
    assert ReviewSession(store, protocol, "bob").queue_kind == "id"
    # ... while alice's own restart continues from it
    assert ReviewSession(store, protocol, "alice").queue_kind == "ranked"


def test_the_saved_ranking_orders_the_queue_after_a_restart(project: Path) -> None:
    store = _topic_project(project)
    protocol = load_protocol(project)
    session = ReviewSession(store, protocol, "alice")

    async def steps(pilot) -> None:
        await pilot.press("i", "e", "enter", "i")
        await _settle(pilot)
        await pilot.press("q")

    _drive(ReviewApp(session), steps)
    assert session.last_ranking is not None
    order = session.last_ranking.order
    again = ReviewSession(store, protocol, "alice")
    assert again.queue_kind == "ranked"
    assert again.queue == [rid for rid in order if rid not in (1, 2, 3)]  # record 4 was shown, not decided
    assert again.current_id() == session.queue[session.pos + 1]  # the best waiting one, not record 4 any more
    assert again.current_id() != 4


def _stopping_project(project: Path) -> tuple[Store, int]:
    """A project whose history is one step from buscar's verdict: 5 relevant records found early, then
    a long run of irrelevant ones; two more irrelevant decisions reject "recall < 95%"."""
    n_total, includes = 200, 5
    labels = [1] * includes
    while estimate_stopping(labels + [0, 0], n_total).p_value >= 0.05:
        labels.append(0)
    assert not estimate_stopping(labels, n_total).target_reached
    edit_protocol(project, **{"humans_per_record = 2 ": "humans_per_record = 1 ", "retrain_every = [10, 50]":
                              "retrain_every = []"})
    recs = [Record(title=f"Study {i + 1}: " + (TRIAL if i < includes else MICE), year=2020) for i in range(n_total)]
    store = seed_store(project, recs, sha="s")
    with store.write() as conn:
        for i, label in enumerate(labels):
            store.add_decision(record_id=i + 1, stage=TA, decider_kind="human", decider="alice",
                               label="include" if label else "exclude", conn=conn)
    return store, len(labels)


def test_the_status_line_shows_the_stopping_test_and_says_when_it_is_safe_to_stop(project: Path) -> None:
    store, screened = _stopping_project(project)
    lines: list[str] = []

    async def steps(pilot) -> None:
        await _settle(pilot)
        lines.append(_text(pilot.app, "#stopping"))
        for _ in range(2):
            await pilot.press("e", "enter")
            await _settle(pilot)
            lines.append(_text(pilot.app, "#stopping"))

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    before, one_more, after = lines
    assert f"5 relevant found · {screened - 5} irrelevant since the last relevant · recall ≈" in before
    assert "not yet safe to stop at 95% recall (p = " in before and "(≥ " in before
    assert f"{screened - 4} irrelevant since the last relevant" in one_more and "not yet" in one_more
    assert re.search(r"safe to stop at 95% recall \(p (= \.0\d\d|< \.001)\)", after) and "not yet" not in after


def test_the_stopping_tracker_replays_decisions_made_while_the_history_was_read() -> None:
    tracker = StoppingTracker()
    tracker.note(7, True)
    since = tracker.seq
    tracker.note(8, False)  # made while a worker read the history below (which has 7 but not 8)
    tracker.note(3, True)  # already in the history as irrelevant (another reviewer): now relevant
    tracker.load(ScreeningHistory(labels=[0, 1], record_ids=[3, 7], screened_at=["a", "b"], n_total=50,
                                  calibration_left_out=0, settled_without_human=0), since)
    assert tracker.labels == [1, 1, 0] and tracker.n_total == 50
    tracker.forget(8)
    assert tracker.seq == 2


def test_retrain_gaps_grow_from_the_first_to_the_largest() -> None:
    schedule = RetrainSchedule.of([10, 50])
    assert schedule is not None and [schedule.gap(i) for i in range(5)] == [10, 20, 40, 50, 50]
    assert RetrainSchedule.of([]) is None and RetrainSchedule.of([25]) == RetrainSchedule(25, 25)


@pytest.mark.parametrize("value", ["[50, 10]", "[0]", "[1, 2, 3]"])
def test_a_bad_retrain_schedule_is_refused_naming_the_key(project: Path, value: str) -> None:
    edit_protocol(project, **{"retrain_every = [10, 50]": f"retrain_every = {value}"})
    with pytest.raises(ConfigError, match="screening.retrain_every"):
        load_protocol(project)


def test_under_dual_screening_the_stopping_line_counts_only_the_reviewers_own_decisions(project: Path) -> None:
    store = _topic_project(project, dual=True, every="[]")
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="include")
    lines: list[str] = []

    async def steps(pilot) -> None:
        await _settle(pilot)
        lines.append(_text(pilot.app, "#stopping"))
        await pilot.press("e", "enter")  # record 1, which bob included
        await _settle(pilot)
        lines.append(_text(pilot.app, "#stopping"))

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    before, after = lines
    assert "your decisions: no decision yet" in before  # bob's decision is not hers: nothing to show her
    # the project's history would say 1 relevant (bob's include stands while unsettled): that would unblind
    assert "your decisions: 0 relevant found · 1 irrelevant since the last relevant" in after


def test_a_ranking_saved_in_chunks_counts_once_its_event_is_written(project: Path) -> None:
    store = _topic_project(project, n=5)
    scores = {1: 0.1, 2: 0.9, 3: 0.5, 4: 0.7, 5: 0.3}
    run = store.save_rankings(TA, "svm", {"C": 0.11}, scores, trained_on=3, reviewer="alice", chunk=2)
    assert store.latest_scores(TA) == scores and rq.build_queue(store, TA).ids == [2, 4, 3, 5, 1]
    with store.write() as conn:  # a later run cut short after its first chunk: rows, no rank event
        conn.execute(t.rankings.insert(), [{"record_id": 1, "stage": TA, "ranker": "svm", "params": {}, "score": 1.0,
                                            "trained_on": 4, "run": run + 1, "created_at": datetime.now(UTC)}])
    assert store.latest_run(TA) == run and store.latest_scores(TA) == scores
    assert rq.build_queue(store, TA).ids == [2, 4, 3, 5, 1]
