"""The reviewer's screen beyond one-key decisions: revising earlier decisions, search matches, tags and a
filtered queue, P(include) / route / rule verdicts beside the record, keywords, keys typed into prompts."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import OptionList, Static

from metasift.config import load_protocol
from metasift.screener.review_session import HistoryQuery, ReviewSession
from metasift.store import Store
from metasift.store import review_queue as rq
from metasift.store import schema as t
from metasift.tui import render
from metasift.tui.review_app import ReviewApp
from tests.test_review_tui import TA, _active, _drive, _setup, _shown


def _events(store: Store, action: str) -> list[tuple[str, int | None, dict]]:
    with store.read() as conn:
        rows = conn.execute(t.events.select().where(t.events.c.action == action).order_by(t.events.c.id)).all()
    return [(r.actor, r.entity_id, r.payload) for r in rows]


def test_a_reviewer_revises_an_earlier_decision_from_the_list_and_the_old_one_is_kept_retracted(project) -> None:
    store = _setup(project, 5)
    store.add_decision(record_id=3, stage=TA, decider_kind="human", decider="bob", label="exclude",
                       note="BOB-NOTE")
    seen: dict[str, str] = {}

    async def steps(pilot) -> None:
        await pilot.press("i", "m", "i")  # records 1, 2, 3
        await pilot.press("h")
        listing = pilot.app.screen.query_one(OptionList)
        seen["list"] = "\n".join(str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count))
        await pilot.press(*"Study 1", "enter")  # filtered to record 2's decision (the maybe)
        seen["revising"] = _shown(pilot.app)
        await pilot.press("e", "1", "enter")  # now an exclusion for design_rct
        seen["after"] = _shown(pilot.app)
        await pilot.press("h", "enter", "m")  # the newest: that exclusion; a maybe now carries no reason

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    lines = seen["list"].splitlines()
    assert len(lines) == 3 and "#3" in lines[0] and "#1" in lines[2]  # newest first, only alice's own
    assert "BOB" not in seen["list"] and "bob" not in seen["list"]
    assert "REVISING" in seen["revising"] and "Study 1" in seen["revising"] and "maybe" in seen["revising"]
    assert "REVISING" not in seen["after"] and "Study 3" in seen["after"]  # back to the queue
    mine = [(d.record_id, d.label, d.reasons) for d in store.decisions(TA) if d.decider == "alice"]
    assert sorted(mine) == [(1, "include", None), (2, "maybe", None), (3, "include", None)]
    old, middle = [d for d in store.decisions(TA, include_retracted=True) if d.retracted_at is not None]
    new = next(d for d in store.decisions(TA) if d.record_id == 2)
    assert (old.record_id, old.label) == (2, "maybe") and (middle.label, middle.reasons) == ("exclude", ["design_rct"])
    assert middle.settings["revises"] == old.id and new.settings["revises"] == middle.id
    first, second = _events(store, "revise")
    assert first[:2] == ("alice", old.id) and second[:2] == ("alice", middle.id)
    assert first[2]["from"]["label"] == "maybe" and first[2]["to"] == {"label": "exclude", "reasons": ["design_rct"],
                                                                       "note": None}
    assert first[2]["replaced_by"] == middle.id and second[2]["replaced_by"] == new.id


def test_a_revision_is_refused_for_another_reviewers_decision_or_a_settled_consensus(project) -> None:
    store = _setup(project, 2)
    bobs = store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="exclude")
    session = ReviewSession(store, load_protocol(project), "alice")
    with pytest.raises(rq.ReviseRefused):
        session.open_decision(bobs)
    with pytest.raises(rq.ReviseRefused):
        rq.revise(store, decision_id=bobs, reviewer="alice", label="include")
    mine = session.decide("include")
    assert mine.record_id == 1
    store.add_decision(record_id=1, stage=TA, decider_kind="consensus", decider="carol", label="include")
    session.open_decision(mine.decision_id)
    with pytest.raises(rq.ReviseRefused, match="consensus"):
        session.revise("exclude")
    assert [(d.decider, d.label) for d in store.decisions(TA) if d.record_id == 1] == [
        ("bob", "exclude"), ("alice", "include"), ("carol", "include")]  # nothing changed


def test_the_history_filters_by_reason_label_tag_and_words(project) -> None:
    store = _setup(project, 4)
    session = ReviewSession(store, load_protocol(project), "alice")
    session.decide("exclude", ["design_rct"])
    session.decide("exclude", ["social_media"])
    session.decide("include")
    session.set_tags(1, ["pediatric"])

    def ids(typed: str) -> list[int]:
        return [r.decision.record_id for r in session.history(typed)]

    assert ids("") == [3, 2, 1]
    assert ids("reason:design_rct") == [1]
    assert ids("label:exclude") == [2, 1]
    assert ids("tag:Pediatric") == [1]
    assert ids("Study 2") == [3] and ids("2") == [3, 2]  # a title word, or a record id (and "Study 2")
    assert HistoryQuery.parse('tag:"check full text" mice') == HistoryQuery(text="mice", tag="check full text")


def test_search_lists_the_matches_and_n_and_shift_n_step_through_them(project) -> None:
    store = _setup(project, 10)  # abstracts repeat every five records: "WeChat" is in records 4 and 9
    seen: list[str] = []

    async def steps(pilot) -> None:
        await pilot.press("slash", *"wechat", "enter")
        matches = pilot.app.screen.query_one("#matches", Static)
        assert matches.display
        listed = str(matches.content)
        assert "match 1 of 2" in listed and "#4" in listed and "#9" in listed and "Study 3" in listed
        seen.append(_shown(pilot.app))
        await pilot.press("n")
        seen.append(str(pilot.app.screen.query_one("#title", Static).content))
        await pilot.press("N")
        seen.append(str(pilot.app.screen.query_one("#title", Static).content))
        await pilot.press("i")  # decides match 1: match 2 comes forward
        seen.append(str(pilot.app.screen.query_one("#title", Static).content))
        await pilot.press("escape")  # ends the search; the record on screen stays
        assert not pilot.app.screen.query_one("#matches", Static).display
        await pilot.press("n", *"x", "enter", "i")  # n is the note key again; then the queue's order resumes
        seen.append(str(pilot.app.screen.query_one("#title", Static).content))

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert "Study 3" in seen[0] and "Study 8" in seen[1] and "Study 3" in seen[2]
    assert "Study 8" in seen[3] and "Study 0" in seen[4]
    assert [(d.record_id, d.note) for d in store.decisions(TA)] == [(4, None), (9, "x")]


def test_tags_are_stored_with_their_events_and_filter_the_queue(project) -> None:
    store = _setup(project, 6)

    async def steps(pilot) -> None:
        await pilot.press("t", *"pediatric, check full text", "enter")
        assert "pediatric" in _shown(pilot.app)
        await pilot.press("m")  # record 1 decided; record 2 on screen
        await pilot.press("i", "i")  # records 2, 3
        await pilot.press("t", *"pediatric", "enter")  # record 4
        await pilot.press("f", *"tag:pediatric", "enter")
        shown = _shown(pilot.app)
        assert "FILTER" in shown and "1 waiting record(s) match" in shown and "Study 3" in shown
        await pilot.press("i")  # record 4: nothing else carries the tag
        assert "No record waiting for you matches the filter" in _shown(pilot.app)
        await pilot.press("escape")
        assert "Study 4" in _shown(pilot.app)
        await pilot.press("h", *"tag:pediatric", "enter")  # the history by tag: record 4 first
        assert "REVISING" in _shown(pilot.app) and "Study 3" in _shown(pilot.app)
        await pilot.press("t", "ctrl+u", "enter")  # clears the tags of record 4
        await pilot.press("escape")

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert [tg.tag for tg in rq.record_tags(store, 1)] == ["pediatric", "check full text"]
    assert rq.record_tags(store, 4) == [] and rq.tagged_ids(store, "PEDIATRIC") == {1}
    assert [(a, p["record_id"], p["tag"]) for a, _, p in _events(store, "tag")] == [
        ("alice", 1, "pediatric"), ("alice", 1, "check full text"), ("alice", 4, "pediatric")]
    assert [(p["record_id"], p["tag"]) for _, _, p in _events(store, "untag")] == [(4, "pediatric")]
    assert _active(store) == [(1, "alice", "maybe"), (2, "alice", "include"), (3, "alice", "include"),
                              (4, "alice", "include")]


def test_under_dual_screening_a_reviewer_sees_only_their_own_tags(project) -> None:
    store = _setup(project, 2)
    rq.add_tag(store, 1, "bob thinks exclude", "bob")
    session = ReviewSession(store, load_protocol(project), "alice")  # the example protocol screens twice
    assert session.info(1).tags == [] and session.tag_counts() == {}
    session.set_tags(1, ["mine"])
    assert session.info(1).tags == ["mine"]
    assert rq.tag_counts(store) == {"bob thinks exclude": 1, "mine": 1}


def test_the_screen_shows_p_include_route_and_rule_verdicts_and_the_draft_beside_the_abstract(project) -> None:
    store = _setup(project, 2, **{"show_model_draft = false": "show_model_draft = true"})
    store.save_rankings(TA, "svm", {}, {1: 0.83, 2: 0.12}, trained_on=10)
    store.save_routes(TA, {1: ("human", "model unsure"), 2: ("human", "model unsure")}, {})
    store.add_decision(record_id=1, stage=TA, decider_kind="rule", decider="rules", label="pass",
                       criteria=[{"id": "published_after_2005", "verdict": "met"},
                                 {"id": "n_per_arm", "verdict": "unclear"}])
    store.add_decision(record_id=1, stage=TA, decider_kind="model", decider="gpt", label="include", confidence=0.9,
                       criteria=[{"id": "design_rct", "verdict": "met", "reason": "R " * 400}])

    async def steps(pilot) -> None:
        info = str(pilot.app.screen.query_one("#info", Static).content)
        assert "P(include) 0.83" in info and "route human: model unsure" in info
        assert "✓published_after_2005" in info and "?n_per_arm" in info
        abstract = pilot.app.screen.query_one("#abstract", Static).region
        draft = pilot.app.screen.query_one("#draft", Static).region
        assert draft.x > abstract.right - 1 and draft.y == abstract.y  # beside it, from the same line

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)


def test_blinded_the_screen_shows_no_route(project) -> None:
    store = _setup(project, 1)
    store.save_routes(TA, {1: ("likely_include", "model includes (0.97); a human confirms")}, {})
    info = ReviewSession(store, load_protocol(project), "alice").info(1)
    assert info.route is None and info.route_reason is None and info.score is None


def test_keywords_match_as_prefixes_or_whole_words_and_are_edited_in_the_app(project) -> None:
    prefix = render.keyword_pattern(["rat"])
    word = render.keyword_pattern(["rat"], whole_words=True)
    assert prefix is not None and word is not None
    assert [m.group() for m in prefix.finditer("rat rats rate pirate")] == ["rat", "rats", "rate"]
    assert [m.group() for m in word.finditer("rat rats rate pirate, Rat.")] == ["rat", "Rat"]
    store = _setup(project, 2)

    def marked(pilot) -> set[str]:
        abstract = pilot.app.screen.query_one("#abstract", Static).content
        return {abstract.plain[s.start:s.end].lower() for s in abstract.spans}

    async def steps(pilot) -> None:
        assert "depression" in marked(pilot)  # review.toml's "depress" as a prefix
        await pilot.press("w")
        assert "depression" not in marked(pilot) and "facebook" in marked(pilot)
        await pilot.press("k", "ctrl+u", *"students | scores", "enter")
        assert marked(pilot) == {"students", "scores"}

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)


def test_keys_typed_while_a_prompt_opens_go_into_the_prompt_never_the_screen_underneath(project) -> None:
    store = _setup(project, 3)

    async def steps(pilot) -> None:
        # one terminal read: the note prompt opens, "imx" are typed before it has drawn, Enter saves,
        # then "i" decides — none of "i", "m" may decide a record underneath
        for key, char in (("n", "n"), ("i", "i"), ("m", "m"), ("x", "x"), ("enter", "\r"), ("i", "i")):
            pilot.app._driver.send_message(events.Key(key, char))
        await pilot.pause(0.3)

    _drive(ReviewApp(ReviewSession(store, load_protocol(project), "alice")), steps)
    assert [(d.record_id, d.label, d.note) for d in store.decisions(TA)] == [(1, "include", "imx")]
