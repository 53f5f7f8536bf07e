"""Review queue: who still has to decide what, order, the write guard, conflicts, concurrent reviewers."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from metasift.config import load_protocol
from metasift.records import Record
from metasift.screener.review_session import ReviewSession
from metasift.store import Store
from metasift.store import review_queue as rq
from tests.conftest import BACKENDS, on_backend
from tests.helpers import edit_protocol, seed_store

TA = "title_abstract"
DUAL = rq.Counting(needed=2)


@pytest.fixture(params=BACKENDS)
def project(request: pytest.FixtureRequest, project: Path) -> Path:
    """Every test here runs on SQLite and on a PostgreSQL server."""
    return on_backend(request, project)


def _setup(project: Path, n: int = 6, **toml: str) -> Store:
    """Records 1..n in the example project; ``toml`` replaces lines of review.toml (old=new)."""
    edit_protocol(project, **toml)
    recs = [Record(title=f"Trial {i} of peer support", abstract=f"Abstract {i}", year=2010 + i) for i in range(n)]
    store = seed_store(project, recs, sha="e")
    return store


def _human(store: Store, rid: int, who: str, label: str, reasons: list[str] | None = None) -> int:
    return store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider=who, label=label,
                              reasons=reasons)


def test_is_open_counts_humans_and_optionally_the_model() -> None:
    alice_in = [("human", "alice", "include")]
    assert rq.is_open([], "alice", DUAL)
    assert not rq.is_open(alice_in, "alice", DUAL)  # she decided already
    assert rq.is_open(alice_in, "bob", DUAL)  # one more needed
    assert not rq.is_open(alice_in + [("human", "bob", "exclude")], "carol", DUAL)  # enough
    assert not rq.is_open(alice_in, "bob", rq.Counting(needed=1))
    model = [("model", "gpt", "include")]
    assert rq.is_open(alice_in + model, "bob", DUAL)  # model does not count by default
    assert not rq.is_open(alice_in + model, "bob", rq.Counting(needed=2, model_counts=True))
    assert rq.is_open(model + [("model", "gpt2", "exclude")] + alice_in, "bob",
                      rq.Counting(needed=3, model_counts=True))  # only one model decision counts
    assert rq.is_open([("human", "alice", "unsure")], "bob", rq.Counting(needed=1))  # unsure is no decision
    assert not rq.is_open([("consensus", "carol", "include")], "bob", DUAL)
    # automatic exclusions are settled unless asked for; the latest rules version speaks
    assert not rq.is_open([("rule", "rules", "exclude")], "bob", DUAL)
    assert rq.is_open([("rule", "rules", "exclude")], "bob", DUAL, include_auto=True)
    assert rq.is_open([("rule", "rules", "exclude"), ("rule", "rules", "pass")], "bob", DUAL)
    assert not rq.is_open([], "bob", DUAL, auto_excluded=True)


def test_dual_screening_queue_contents(project: Path) -> None:
    store = _setup(project, 5)
    _human(store, 1, "alice", "include")
    _human(store, 1, "bob", "include")
    _human(store, 2, "alice", "exclude")
    _human(store, 3, "bob", "maybe")
    assert rq.open_ids(store, TA, "alice", DUAL) == {3, 4, 5}
    assert rq.open_ids(store, TA, "bob", DUAL) == {2, 4, 5}
    assert rq.open_ids(store, TA, "carol", DUAL) == {2, 3, 4, 5}
    store.add_decision(record_id=4, stage=TA, decider_kind="model", decider="gpt", label="exclude")
    assert 4 in rq.open_ids(store, TA, "alice", DUAL)
    counts_model = rq.Counting(needed=2, model_counts=True)
    assert rq.open_ids(store, TA, "carol", counts_model) == {2, 3, 4, 5}  # each has at most one counted
    _human(store, 4, "alice", "include")  # model + alice: two counted
    assert 4 not in rq.open_ids(store, TA, "bob", counts_model)
    assert 4 in rq.open_ids(store, TA, "bob", DUAL)


def test_rule_and_routed_exclusions_are_skipped_unless_asked(project: Path) -> None:
    store = _setup(project, 3)
    store.add_decision(record_id=1, stage=TA, decider_kind="rule", decider="rules", label="exclude",
                       reasons=["published_after_2005"])
    store.save_routes(TA, {2: ("auto_exclude", "both signals low")}, {"t": 0.05})
    assert rq.open_ids(store, TA, "alice", DUAL) == {3}
    assert rq.open_ids(store, TA, "alice", DUAL, include_auto=True) == {1, 2, 3}
    _human(store, 2, "bob", "include")  # once a human decided, the record is back in everyone's queue
    assert rq.open_ids(store, TA, "alice", DUAL) == {2, 3}


def test_queue_order_by_ranker_then_drafts_then_id_and_the_hook(project: Path) -> None:
    store = _setup(project, 4)
    assert rq.build_queue(store, TA).model_dump() == {"ids": [1, 2, 3, 4], "kind": "id", "seed": None}
    store.add_decision(record_id=3, stage=TA, decider_kind="model", decider="gpt", label="include",
                       confidence=0.9)
    store.add_decision(record_id=1, stage=TA, decider_kind="model", decider="gpt", label="exclude",
                       confidence=0.8)
    q = rq.build_queue(store, TA)
    assert q.kind == "ranked" and q.ids == [3, 2, 4, 1]  # 0.9, unscored 0.5 by id, 0.2
    store.save_rankings(TA, "nb", {}, {1: 0.7, 2: 0.1, 3: 0.3, 4: 0.95}, trained_on=10)
    assert rq.queue_order(store, TA) == [4, 1, 3, 2]  # a ranker run beats the drafts
    rq.set_score_source(lambda s, stage: {2: 1.0})
    try:
        assert rq.queue_order(store, TA) == [2, 1, 3, 4]
    finally:
        rq.set_score_source(None)
    assert rq.queue_order(store, TA) == [4, 1, 3, 2]


def test_ranker_order_with_unscored_and_duplicate_records(project: Path) -> None:
    from sqlalchemy import update

    from metasift.store import schema as t

    store = _setup(project, 6)
    store.save_rankings(TA, "nb", {}, {1: 0.9, 2: 0.2, 3: 0.5, 6: 0.99}, trained_on=3)
    with store.write() as conn:  # record 6 is a duplicate (not primary): never screened
        conn.execute(update(t.records).where(t.records.c.id == 6).values(is_primary=False))
    assert rq.queue_order(store, TA) == [1, 3, 4, 5, 2]  # unscored 4, 5 sit at 0.5, ties by id
    store.save_rankings(TA, "nb", {}, {rid: rid / 10 for rid in range(1, 7)}, trained_on=4)
    assert rq.queue_order(store, TA) == [5, 4, 3, 2, 1]


def test_the_queue_head_reads_past_duplicates_and_everything_the_reviewer_decided(project: Path) -> None:
    from sqlalchemy import update

    from metasift.store import schema as t

    store = _setup(project, 40, **{"humans_per_record = 2 ": "humans_per_record = 1 "})
    store.save_rankings(TA, "svm", {}, {rid: ((rid * 7) % 40) / 40 for rid in range(1, 41)}, trained_on=5)
    top = rq.build_queue(store, TA).ids
    with store.write() as conn:  # three of the best-scored records are duplicates (not primary): never shown
        conn.execute(update(t.records).where(t.records.c.id.in_(top[1:4])).values(is_primary=False))
    for rid in top[4:20]:  # alice decided the next sixteen; the last of them she took back
        did = _human(store, rid, "alice", "exclude")
    store.retract_decision(did, "alice")
    whole = ReviewSession(store, load_protocol(project), "alice").queue
    assert whole[:2] == [top[0], top[19]]
    for n in (1, 2, 8):  # the head is read from the run's best rows, as many as could hide an open one
        assert rq.queue_head(store, TA, "alice", None, n) == whole[:n]
    store.save_rankings(TA, "svm", {}, {rid: 0.5 for rid in range(1, 40)}, trained_on=5)  # record 40 unscored
    assert rq.queue_head(store, TA, "alice", None, 3) is None  # its place needs the whole queue's 0.5


def test_search_finds_text_and_record_ids(project: Path) -> None:
    store = _setup(project, 12)
    assert rq.search_ids(store, "TRIAL 3 ") == [4]
    assert 11 in rq.search_ids(store, "11")
    session = ReviewSession(store, load_protocol(project), "alice")
    assert session.search("1") >= 1 and session.current_id() == 1  # an exact record id comes first
    assert session.search("nothing like this") == 0


def test_calibration_sample_is_seeded_and_recorded(project: Path) -> None:
    store = _setup(project, 50)
    a, b = rq.sample_queue(store, 10, seed=7), rq.sample_queue(store, 10, seed=7)
    assert a.ids == b.ids and len(set(a.ids)) == 10 and a.kind == "random"
    assert rq.sample_queue(store, 10, seed=8).ids != a.ids
    session = ReviewSession(store, load_protocol(project), "alice", sample=10, seed=7)
    assert session.queue == a.ids
    out = session.decide("include")
    d = store.decisions()[0]
    assert d.id == out.decision_id and d.settings == {"show_model_draft": False, "blinded": True,
                                                             "queue": "random", "seed": 7}
    events = [e for e in _events(store) if e["action"] == "review_sample"]
    assert events and events[0]["payload"]["records"] == a.ids and events[0]["payload"]["seed"] == 7


def _events(store: Store) -> list[dict]:
    from sqlalchemy import select

    from metasift.store import schema as t

    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.events).order_by(t.events.c.id))]


def test_write_guard_refuses_unneeded_and_double_decisions(project: Path) -> None:
    store = _setup(project, 2)
    kw = {"stage": TA, "counting": DUAL, "label": "include"}
    assert rq.decide(store, record_id=1, reviewer="alice", **kw) is not None
    assert rq.decide(store, record_id=1, reviewer="alice", **kw) is None  # a second window of alice
    assert rq.decide(store, record_id=1, reviewer="bob", **kw) is not None
    assert rq.decide(store, record_id=1, reviewer="carol", **kw) is None  # already two
    assert len(store.decisions()) == 2


def test_conflicts_maybe_counts_as_include_and_consensus_settles(project: Path) -> None:
    store = _setup(project, 5)
    _human(store, 1, "alice", "include"), _human(store, 1, "bob", "exclude", ["design_rct"])
    _human(store, 2, "alice", "maybe"), _human(store, 2, "bob", "include")
    _human(store, 3, "alice", "maybe"), _human(store, 3, "bob", "exclude")
    _human(store, 4, "alice", "exclude"), _human(store, 4, "bob", "exclude")
    _human(store, 5, "alice", "include")  # only one decision: not (yet) a conflict
    found = rq.conflicts(store, TA, DUAL)
    assert [c.record_id for c in found] == [1, 3] and {c.kind for c in found} == {"disagree"}
    assert {d.decider: d.label for d in found[0].decisions} == {"alice": "include", "bob": "exclude"}
    assert [c.record_id for c in rq.conflicts(store, TA, DUAL, with_maybe=True)] == [1, 2, 3]
    assert rq.settled_labels(store, TA, DUAL) == {2: "include", 4: "exclude"}
    did = rq.resolve(store, record_id=1, stage=TA, arbiter="carol", label="exclude", reasons=["design_rct"],
                     note="not randomised", settings={})
    assert did and rq.resolve(store, record_id=1, stage=TA, arbiter="carol", label="include", reasons=None,
                              note="x", settings={}) is None
    assert [c.record_id for c in rq.conflicts(store, TA, DUAL)] == [3]
    assert rq.settled_labels(store, TA, DUAL)[1] == "exclude"
    # a model that counts as a reviewer can conflict with a human
    store.add_decision(record_id=5, stage=TA, decider_kind="model", decider="gpt", label="exclude")
    assert 5 not in [c.record_id for c in rq.conflicts(store, TA, DUAL)]
    assert 5 in [c.record_id for c in rq.conflicts(store, TA, rq.Counting(needed=2, model_counts=True))]


def test_full_text_screens_only_title_abstract_includes(project: Path) -> None:
    store = _setup(project, 3)
    for who in ("alice", "bob"):
        _human(store, 1, who, "include")
        _human(store, 2, who, "exclude")
    _human(store, 3, "alice", "maybe"), _human(store, 3, "bob", "maybe")
    assert rq.stage_scope(store, "full_text", DUAL) == {1, 3}
    session = ReviewSession(store, load_protocol(project), "alice", "full_text")
    assert session.queue == [1, 3]


def test_sides_and_criterion_flags(project: Path) -> None:
    store = _setup(project, 3)
    _human(store, 1, "alice", "exclude", ["design_rct"]), _human(store, 1, "bob", "exclude")
    _human(store, 2, "alice", "include"), _human(store, 2, "bob", "exclude")
    store.add_decision(record_id=2, stage=TA, decider_kind="consensus", decider="carol", label="include")
    store.add_decision(record_id=1, stage=TA, decider_kind="model", decider="gpt", label="exclude",
                       criteria=[{"id": "design_rct", "verdict": "not_met", "quote": "", "reason": ""},
                                 {"id": "social_media", "verdict": "met", "quote": "", "reason": ""}])
    cons = rq.side_decisions(store, TA, "consensus", DUAL)
    assert {rid: d.label for rid, d in cons.items()} == {1: "exclude", 2: "include"}
    assert cons[1].reasons == ["design_rct"]
    assert set(rq.side_decisions(store, TA, "human:bob", DUAL)) == {1, 2}
    assert set(rq.side_decisions(store, TA, "model", DUAL)) == {1}
    with pytest.raises(ValueError):
        rq.side_decisions(store, TA, "human", DUAL)
    crits = ["design_rct", "social_media", "population_general"]
    model = rq.side_decisions(store, TA, "model", DUAL)[1]
    assert rq.criterion_flags(model, crits) == {"design_rct": True, "social_media": False}
    assert rq.criterion_flags(cons[1], crits) == {"design_rct": True, "social_media": False,
                                                  "population_general": False}
    bob = rq.side_decisions(store, TA, "human:bob", DUAL)
    assert rq.criterion_flags(bob[1], crits) == {}  # exclusion without reasons: unknown per criterion
    assert rq.criterion_flags(cons[2], crits) == dict.fromkeys(crits, False)


def test_concurrent_reviewers_lose_and_double_nothing(project: Path) -> None:
    """Four sessions (alice twice, bob, dave) on separate Store instances deciding at once, needing two
    decisions per record: every write reported succeeded is in the store, nothing is doubled."""
    n = 60
    _setup(project, n, **{'[[reviewers]]\nname = "bob"': '[[reviewers]]\nname = "bob"\n\n[[reviewers]]\n'
                                                           'name = "dave"'}).close()
    protocol = load_protocol(project)
    written: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(tag: str, who: str) -> None:
        store = Store.open(project)
        try:
            session = ReviewSession(store, protocol, who)
            start.wait()
            mine = []
            while session.current_id() is not None:
                out = session.decide("include" if out_parity(session) else "exclude")
                if out.decision_id is not None:
                    mine.append(out.decision_id)
            written[tag] = mine
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    def out_parity(session: ReviewSession) -> bool:
        return (session.current_id() or 0) % 2 == 0

    threads = [threading.Thread(target=run, args=(tag, who)) for tag, who in
               (("alice-1", "alice"), ("alice-2", "alice"), ("bob", "bob"), ("dave", "dave"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    store = Store.open(project)
    ds = store.decisions()
    ids = sorted(i for mine in written.values() for i in mine)
    assert sorted(d.id for d in ds) == ids  # none lost, none phantom
    assert len(ds) == 2 * n  # every record has exactly two decisions
    per_record: dict[int, list[str]] = {}
    for d in ds:
        per_record.setdefault(d.record_id, []).append(d.decider)
    assert all(len(v) == 2 and len(set(v)) == 2 for v in per_record.values())  # two different people
    assert len(written["alice-1"]) + len(written["alice-2"]) == sum(v.count("alice") for v in per_record.values())


def _process_reviewer(project: str, who: str, out: multiprocessing.Queue[tuple[str, list[int]]]) -> None:
    store = Store.open(Path(project))
    session = ReviewSession(store, load_protocol(Path(project)), who)
    mine = []
    while session.current_id() is not None:
        done = session.decide("include")
        if done.decision_id is not None:
            mine.append(done.decision_id)
    store.close()
    out.put((who, mine))


def test_two_review_processes_on_one_store(project: Path) -> None:
    """Separate OS processes (as two terminals would be): alice twice and bob, two decisions needed."""
    n = 40
    _setup(project, n).close()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_process_reviewer, args=(str(project), who, out)) for who in ("alice", "alice", "bob")]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    store = Store.open(project)
    ds = store.decisions()
    assert sorted(d.id for d in ds) == sorted(i for _, mine in results for i in mine)
    assert sorted((d.record_id, d.decider) for d in ds) == sorted(
        (rid, who) for rid in range(1, n + 1) for who in ("alice", "bob"))


def test_a_drawn_calibration_sample_is_kept_as_rows_in_the_transaction_of_its_event(project: Path) -> None:
    from sqlalchemy import select

    from metasift.store import schema as t

    store = _setup(project, 30)
    session = ReviewSession(store, load_protocol(project), "alice", sample=8, seed=5)
    assert store.calibration_sample_ids() == set(session.queue) and len(session.queue) == 8
    assert store.calibration_sample_ids("full_text") == set()
    event = [e for e in _events(store) if e["action"] == "review_sample"][-1]
    cs = t.calibration_samples
    with store.read() as conn:
        rows = conn.execute(select(cs.c.event_id, cs.c.record_id, cs.c.seed, cs.c.size, cs.c.drawn_by)
                            .order_by(cs.c.position)).all()
    assert [r.record_id for r in rows] == rq.sample_queue(store, 8, seed=5).ids
    assert {(r.event_id, r.seed, r.size, r.drawn_by) for r in rows} == {(event["id"], 5, 8, "alice")}


def test_concurrent_reviewers_take_different_next_records_and_every_record_gets_two(project: Path) -> None:
    """Under dual screening three screeners do not all open the same next record (each starts its own lane
    of a window of near-equal records), yet the top of the order still comes first and every record ends
    with exactly two decisions; a key landing on a record others just settled is rare."""
    store = _setup(project, 250, **{'name = "carol"\nrole = "arbiter"':
                                    'name = "carol"\nrole = "arbiter"\n\n[[reviewers]]\nname = "dave"'})
    protocol = load_protocol(project)
    names = ["alice", "bob", "dave"]
    sessions = [ReviewSession(store, protocol, who) for who in names]
    firsts = [s.current_id() for s in sessions]
    assert len(set(firsts)) == 3, firsts
    order = rq.build_queue(store, TA).ids
    for s in sessions:  # nothing moves by a window or more: the ranking's benefit stays
        assert sorted(s.queue) == sorted(order)
        assert s.spread_window == 3 * rq.SPREAD_LANE
        assert all(abs(i - order.index(rid)) < s.spread_window for i, rid in enumerate(s.queue))
    keys = collisions = 0
    while any(s.current_id() is not None for s in sessions):
        for n, s in enumerate(sessions):  # round the table, one key each
            if s.current_id() is not None:
                keys += 1
                collisions += s.decide("include" if n == 0 else "exclude").decision_id is None
    per_record: dict[int, list[str]] = {}
    for d in store.decisions(TA):
        per_record.setdefault(d.record_id, []).append(d.decider)
    assert sorted(per_record) == sorted(order)
    assert all(len(v) == 2 and len(set(v)) == 2 for v in per_record.values())
    assert keys - collisions == 500
    assert collisions <= 3, collisions  # every reviewer on the same queue: about one key in three


def test_spread_rotates_each_window_from_the_reviewers_own_start() -> None:
    ids = list(range(10))
    assert rq.spread(ids, 0, window=4) == ids
    assert rq.spread(ids, 1, window=4) == [1, 2, 3, 0, 5, 6, 7, 4, 9, 8]
    assert [rq.spread_offset(w, ["a", "b", "c", "d"], window=64) for w in "abcd"] == [0, 16, 32, 48]
    assert rq.spread_window(["a"]) == rq.spread_window(["a", "b"]) == 2 * rq.SPREAD_LANE
    assert rq.spread_offset("zoe", ["a"], window=64) == rq.spread_offset("zoe", [], window=64)  # stable
