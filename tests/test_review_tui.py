"""The review and conflict apps driven by Textual's Pilot: keys → decisions in the store → undo → resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from metasift.config import load_protocol
from metasift.errors import ConfigError
from metasift.records import Record
from metasift.screener.review_session import ConflictSession, ReviewSession, pick_reviewer
from metasift.store import Store
from metasift.tui.conflict_app import ConflictApp
from metasift.tui.review_app import ReviewApp
from tests.helpers import edit_protocol, seed_store

TA = "title_abstract"
ABSTRACTS = [
    "We randomised 120 students to a Facebook peer group; depression scores fell.",
    "A protocol for a trial in mice exposed to stress.",
    "Cross-sectional survey of WhatsApp use and anxiety among nurses.",
    "Randomized controlled trial of a WeChat programme for stress in new mothers.",
    "Qualitative interviews about online community moderation.",
]


def _setup(project: Path, n: int = 5, **toml: str) -> Store:
    edit_protocol(project, **toml)
    recs = [Record(title=f"Study {i}: peer support online", abstract=ABSTRACTS[i % len(ABSTRACTS)],
                   authors=["Smith, A", "Chen, B"], year=2015 + i % 5, journal="J Digital Health") for i in range(n)]
    store = seed_store(project, recs, sha="d")
    return store


def _drive(app, steps: Callable[..., Awaitable[None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await steps(pilot)

    asyncio.run(go())


def _shown(app) -> str:
    """All text on the current screen's visible Static widgets."""
    return "\n".join(str(w.content) for w in app.screen.query(Static) if w.display)


async def _written(pilot) -> None:
    """Wait until the screen's writer has written every key so far (at most 10 s)."""
    for _ in range(500):
        if pilot.app.screen.writes_pending == 0:
            return
        await pilot.pause(0.02)
    raise AssertionError("writes still pending after 10 s")


def _active(store: Store) -> list[tuple[int, str, str]]:
    return [(d.record_id, d.decider, d.label) for d in store.decisions(TA)]


def test_keys_decide_undo_quit_and_resume(project: Path) -> None:
    store = _setup(project)
    protocol = load_protocol(project)
    seen: dict[str, str] = {}

    async def steps(pilot) -> None:
        assert "Study 0" in _shown(pilot.app)
        await pilot.press("i")
        assert "Study 1" in _shown(pilot.app)
        await _written(pilot)
        assert _active(store) == [(1, "alice", "include")]
        await pilot.press("n", "x", "enter", "m")
        await pilot.press("u")  # undo the maybe: record 2 comes back, with its note offered again
        await _written(pilot)
        assert _active(store) == [(1, "alice", "include")]
        assert "Study 1" in _shown(pilot.app) and "note: x" in _shown(pilot.app)
        await pilot.press("n", "backspace", "enter")  # clear the note
        await pilot.press("e", "enter")  # exclude without a reason
        seen["status"] = str(pilot.app.screen.query_one("#status", Static).content)
        await pilot.press("q")

    app = ReviewApp(ReviewSession(store, protocol, "alice"))
    _drive(app, steps)
    assert app.return_code == 0 or app.return_code is None
    assert _active(store) == [(1, "alice", "include"), (2, "alice", "exclude")]
    retracted = [d for d in store.decisions(TA, include_retracted=True) if d.retracted_at is not None]
    assert [(d.record_id, d.label) for d in retracted] == [(2, "maybe")]
    assert "2 decided" in seen["status"] and "1 include" in seen["status"] and "3 to go" in seen["status"]

    async def resumed(pilot) -> None:
        assert "Study 2" in _shown(pilot.app)  # the first record still needing alice
        await pilot.press("u")  # undo works across sessions: her last decision (record 2)
        await _written(pilot)
        assert "Study 1" in _shown(pilot.app)
        assert _active(store) == [(1, "alice", "include")]

    _drive(ReviewApp(ReviewSession(Store.open(project), protocol, "alice")), resumed)


def test_blinding_bob_never_sees_alices_decision(project: Path) -> None:
    store = _setup(project, 3)
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="exclude",
                       reasons=["design_rct"], note="ALICE-SECRET-NOTE")
    store.add_decision(record_id=1, stage=TA, decider_kind="model", decider="gpt", label="exclude",
                       criteria=[{"id": "design_rct", "verdict": "not_met", "quote": "MODEL-QUOTE", "reason": "R"}])

    async def steps(pilot) -> None:
        shown = []
        for _ in range(3):  # the model's draft ranks record 1 last; walk the whole queue
            text = _shown(pilot.app)
            shown.append(text)
            for leak in ("alice", "ALICE-SECRET-NOTE", "design_rct", "exclude:", "MODEL-QUOTE", "Model draft"):
                assert leak not in text
            assert not pilot.app.screen.query_one("#draft", Static).display
            await pilot.press("i")
        assert any("Study 0" in t for t in shown)  # the record alice decided still needed bob
        await pilot.press("question_mark")
        assert "blinded" in _shown(pilot.app)
        await pilot.press("escape")

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "bob")), steps)
    bob = [d for d in store.decisions(TA) if d.decider == "bob"]
    assert len(bob) == 3 and bob[0].settings == {"show_model_draft": False, "blinded": True, "queue": "ranked"}


def test_model_draft_shown_only_when_the_protocol_says_so(project: Path) -> None:
    store = _setup(project, 2, **{"show_model_draft = false": "show_model_draft = true"})
    quote = "randomised 120 students"
    store.add_decision(record_id=1, stage=TA, decider_kind="model", decider="gpt", label="include", confidence=0.9,
                       model="gpt-4o-mini", criteria=[{"id": "design_rct", "verdict": "met", "quote": quote,
                                                       "reason": "says randomised"}])

    async def steps(pilot) -> None:
        draft = pilot.app.screen.query_one("#draft", Static)
        assert draft.display
        text = str(draft.content)
        assert "Model draft" in text and "design_rct" in text and quote in text and "0.90" in text
        abstract = pilot.app.screen.query_one("#abstract", Static).content
        styled = [abstract.plain[s.start:s.end] for s in abstract.spans if "underline" in str(s.style)]
        assert quote in styled  # the quote is marked in the abstract
        await pilot.press("i")

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert store.decisions(TA)[-1].settings["show_model_draft"] is True


def test_keywords_are_highlighted(project: Path) -> None:
    store = _setup(project, 2)

    async def steps(pilot) -> None:
        abstract = pilot.app.screen.query_one("#abstract", Static).content
        marked = {abstract.plain[s.start:s.end].lower(): str(s.style) for s in abstract.spans}
        assert "green" in marked["randomised"] and "green" in marked["facebook"] and "green" in marked["depression"]
        await pilot.press("i")
        abstract = pilot.app.screen.query_one("#abstract", Static).content
        marked = {abstract.plain[s.start:s.end].lower(): str(s.style) for s in abstract.spans}
        assert "red" in marked["protocol"] and "red" in marked["mice"]

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)


def test_reason_picker_and_note_are_recorded(project: Path) -> None:
    store = _setup(project, 3)

    async def steps(pilot) -> None:
        await pilot.press("r", "1", "3", "enter")  # pick design_rct and outcome_mental_health
        assert "design_rct, outcome_mental_health" in _shown(pilot.app)
        await pilot.press("n", *"no ctl", "enter")
        await pilot.press("e")  # reasons already picked: excludes at once
        await pilot.press("e", "down", "space", "enter")  # picker: cursor to criterion 2 (social_media)
        await pilot.press("e", "escape")  # cancelled: nothing written
        await pilot.press("r", "2", "2", "enter", "i")  # ticked and unticked again; include

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    ds = store.decisions(TA)
    assert [(d.record_id, d.label, d.reasons, d.note) for d in ds] == [
        (1, "exclude", ["design_rct", "outcome_mental_health"], "no ctl"),
        (2, "exclude", ["social_media"], None),
        (3, "include", None, None)]


def test_a_burst_of_keys_is_handled_in_order(project: Path) -> None:
    """Keys typed faster than the screen redraws (one terminal read) still decide in order."""
    from textual import events

    store = _setup(project, 5)

    async def steps(pilot) -> None:
        for key, char in (("e", "e"), ("3", "3"), ("enter", "\r"), ("i", "i"), ("m", "m"), ("u", "u"), ("i", "i")):
            pilot.app._driver.send_message(events.Key(key, char))
        await pilot.pause(0.3)

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert [(d.record_id, d.label, d.reasons) for d in store.decisions(TA)] == [
        (1, "exclude", ["outcome_mental_health"]), (2, "include", None), (3, "include", None)]


def test_search_brings_a_record_forward(project: Path) -> None:
    store = _setup(project, 5)

    async def steps(pilot) -> None:
        await pilot.press("slash", *"wech", "enter")
        assert "Study 3" in _shown(pilot.app)
        await pilot.press("i")
        assert "Study 0" in _shown(pilot.app)  # back to the queue order
        await pilot.press("slash", *"zzzz", "enter")
        assert "Study 0" in _shown(pilot.app)

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert _active(store) == [(4, "alice", "include")]


def test_dual_screening_queue_in_the_app(project: Path) -> None:
    store = _setup(project, 3)
    for rid, who in ((1, "alice"), (1, "bob"), (2, "alice")):
        store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider=who, label="include")

    async def steps(pilot) -> None:
        assert "Study 1" in _shown(pilot.app)  # record 1 has its two decisions; record 2 needs one more
        await pilot.press("e", "enter", "i")
        assert "Nothing left for carol" in _shown(pilot.app)
        await pilot.press("i")  # a key on an empty queue writes nothing

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "carol")), steps)
    assert sorted(_active(store)) == [(1, "alice", "include"), (1, "bob", "include"), (2, "alice", "include"),
                                      (2, "carol", "exclude"), (3, "carol", "include")]


def test_conflict_resolution_records_a_consensus(project: Path, cli) -> None:
    store = _setup(project, 3)
    a = store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="include")
    b = store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="exclude",
                           reasons=["social_media"], note="not on social media")
    for who in ("alice", "bob"):
        store.add_decision(record_id=2, stage=TA, decider_kind="human", decider=who, label="include")
    listed = cli("conflicts", "--project", project, "--json")
    assert listed.exit_code == 0 and [c["record_id"] for c in listed.json()["conflicts"]] == [1]
    protocol = load_protocol(project)

    async def steps(pilot) -> None:
        text = _shown(pilot.app)
        assert "human:alice" in text and "human:bob" in text and "not on social media" in text  # unblinded
        assert "include vs exclude" in text  # the labels as the reviewers gave them
        await pilot.press("i", "enter")  # include needs a note: empty → nothing written
        await pilot.press("e", "enter", *"email", "enter")  # bob's reason comes ticked: Enter confirms it
        assert "No conflicts left" in _shown(pilot.app)

    _drive(ConflictApp(ConflictSession(store, protocol, pick_reviewer(protocol, "carol"))), steps)
    cons = [d for d in store.decisions(TA) if d.decider_kind == "consensus"]
    assert [(c.record_id, c.decider, c.label, c.reasons, c.note) for c in cons] == [
        (1, "carol", "exclude", ["social_media"], "email")]
    assert cons[0].settings == {"resolves": [a, b], "role": "arbiter", "kind": "disagree"}
    assert cli("conflicts", "--project", project, "--json").json()["n"] == 0


def test_the_conflict_screen_names_the_labels_as_given(project: Path) -> None:
    store = _setup(project, 2)
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="maybe")
    store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="exclude",
                       reasons=["design_rct"])
    protocol = load_protocol(project)

    async def steps(pilot) -> None:
        text = _shown(pilot.app)
        assert "maybe" in text.split("human:alice")[0] and "include vs exclude" not in text

    _drive(ConflictApp(ConflictSession(store, protocol, pick_reviewer(protocol, "carol"))), steps)


def test_reviewer_must_be_listed(project: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = load_protocol(project)
    monkeypatch.delenv("METASIFT_REVIEWER", raising=False)
    with pytest.raises(ConfigError, match="which reviewer"):
        pick_reviewer(protocol, None)  # three listed: ambiguous
    assert pick_reviewer(protocol, None, arbiter=True).name == "carol"  # the only arbiter
    monkeypatch.setenv("METASIFT_REVIEWER", "bob")
    assert pick_reviewer(protocol, None).name == "bob"
    res = cli("review", "--project", project, "--reviewer", "zed")
    assert res.exit_code == 2 and "reviewer 'zed' is not in review.toml" in res.stderr


def test_review_command_builds_the_session(project: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(project, 20).close()
    ran: list[ReviewSession] = []
    monkeypatch.setattr(ReviewApp, "run", lambda self: ran.append(self.session))
    res = cli("review", "--project", project, "--reviewer", "bob", "--sample", "5", "--seed", "42")
    assert res.exit_code == 0, res.stderr
    session = ran[0]
    assert (session.reviewer, session.stage, session.queue_kind, session.seed, len(session.queue)) == (
        "bob", TA, "random", 42, 5)
    assert cli("review", "--project", project, "--seed", "1", "--reviewer", "bob").exit_code == 2


def test_a_write_blocked_by_another_connections_lock_does_not_delay_the_next_record(project: Path) -> None:
    """Another writer holds the store's write lock: the key shows the next record at once, the decision is
    written once the lock is released; a write the database refuses is reported in one line and its record
    comes back to the screen."""
    import sqlite3
    import time

    store = _setup(project, 5)
    db = store.engine.url.database
    assert db
    other = sqlite3.connect(db, isolation_level=None)
    timings: dict[str, float] = {}

    async def steps(pilot) -> None:
        other.execute("BEGIN IMMEDIATE")  # another process mid-write (import, screen, a reviewer)
        started = time.perf_counter()
        await pilot.press("i")
        timings["key"] = time.perf_counter() - started
        assert "Study 1" in _shown(pilot.app)  # the next record, while the write waits on the lock
        await pilot.pause(0.3)
        assert _active(store) == [] and pilot.app.screen.writes_pending == 1
        other.execute("ROLLBACK")
        await _written(pilot)
        assert _active(store) == [(1, "alice", "include")]
        # a write the database refuses: reported, and the record comes back
        other.execute("CREATE TRIGGER refuse BEFORE INSERT ON decisions "
                      "BEGIN SELECT RAISE(ABORT, 'decisions are closed'); END")
        await pilot.press("m")
        await _written(pilot)
        errors = pilot.app.screen.write_errors
        assert len(errors) == 1 and "maybe on record 2 was not saved" in errors[0]
        assert "decisions are closed" in errors[0] and "\n" not in errors[0]
        assert "Study 1" in _shown(pilot.app)  # record 2 is back on screen
        other.execute("DROP TRIGGER refuse")
        await pilot.press("i")  # decided again: now written
        await _written(pilot)

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    other.close()
    assert timings["key"] < 1.0, timings  # the busy timeout is 30 s: a blocking write would have waited
    assert _active(store) == [(1, "alice", "include"), (2, "alice", "include")]
