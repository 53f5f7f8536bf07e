"""Likely values for a missing one (`extractor.suggest`): the numbers a PDF's pages print, ranked by a model fitted on
the tuned halves, listed by `metasift gaps --suggest` and picked in `verify` only after being shown on their page."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from metasift.config import OutcomeSpec, load_protocol
from metasift.extractor import suggest as S
from metasift.extractor.checks import QUOTE_MIN_SCORE, quote_has_number, quote_on_page
from metasift.extractor.gaps import Gap
from metasift.extractor.pdf import read_pdf
from metasift.extractor.pipeline import page_texts
from metasift.store import Store
from metasift.tui.verify_app import Missing, VerifyApp, missing_items
from tests.test_enter_values import _row, extracted  # noqa: F401  (the fixture)
from tests.test_fulltext import EXAMPLE
from tests.test_verify_tui import _drive, _status, _until

DEPRESSION = OutcomeSpec(id="depression", label="Depression", instruments=["PHQ-9"])
ARMS = ("Intervention", "Control")
PHQ = "PHQ-9 (depression)"


def _t01() -> list[S.Candidate]:
    return S.page_candidates(page_texts(read_pdf(EXAMPLE / "pdfs" / "T01.pdf")))


def test_a_pages_numbers_leave_out_shares_references_and_the_digits_of_a_scales_name() -> None:
    got = S.page_candidates({3: "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)\nOf them, 41.6% were women [3, 5].\n"
                                "A total of 2,301 took part."})
    assert [(c.value, c.page, c.rank, c.kind_rank, c.bracketed) for c in got] == [
        (6.84, 3, 0, 0, False), (4.75, 3, 1, 0, True), (6.89, 3, 2, 1, False), (4.49, 3, 3, 1, True),
        (2301.0, 3, 0, 0, False)]
    assert got[0].line == "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)"  # as printed: the quote an entry stores
    assert all(len(c.features) == len(S.LINE_FEATURES) for c in got)


def test_the_committed_model_weighs_the_features_the_code_computes_for_every_field() -> None:
    model = json.loads(S.MODEL.read_text())
    assert model["features"] == list(S.FEATURES)  # a change of features without a refit fails here
    for field in S.FIELDS:
        assert len(model[field]["coef"]) == len(model[field]["mean"]) == len(S.FEATURES)
        assert model[field]["positives"] > 0
    assert set(model["fitted_on"]) == {"tune", "pmc-tune", "pmc2-tune"}  # tuned halves only


def test_the_arm_named_just_before_a_number_decides_whose_count_it_is() -> None:
    features = list(S.FEATURES)
    coef = [0.0] * len(features)
    coef[features.index("nearest_arm_this")], coef[features.index("nearest_arm_other")] = 2.0, -2.0
    model = {"n_dropout": {"intercept": 0.0, "coef": coef, "mean": [0.0] * len(coef), "scale": [1.0] * len(coef)}}
    page = S.page_candidates({2: "In the intervention group 11 were lost; in the control group 12 were lost."})
    assert [s.value for s in S.suggest("n_dropout", page, "Control", ARMS, model=model)] == [12, 11]
    assert [s.value for s in S.suggest("n_dropout", page, "Intervention", ARMS, model=model)] == [11, 12]
    assert S.suggest("outcome_mean", page, "Control", ARMS, model=model) == []  # no model: no guess


def test_the_line_that_prints_another_arms_same_value_points_at_this_arms() -> None:
    features = list(S.FEATURES)
    coef = [0.0] * len(features)
    coef[features.index("bracketed")] = 0.5
    coef[features.index("line_of_another_arms_value")] = 1.0
    coef[features.index("arm_column_of_line_of_another_arms_value")] = 1.0
    coef[features.index("another_arms_value")] = -3.0
    model = {"baseline_sd": {"intercept": 0.0, "coef": coef, "mean": [0.0] * len(coef), "scale": [1.0] * len(coef)}}
    page = S.page_candidates({2: "Age 34.1 (9.2) 35.0 (8.7)\nPHQ-9 score 6.84 (4.75) 6.89 (4.49)"})
    held = [S.Held("baseline_sd", "Intervention", 4.75, 2, "PHQ-9 score 6.84 (4.75) 6.89 (4.49)", "PHQ-9")]
    got = S.suggest("baseline_sd", page, "Control", ARMS, ["PHQ-9"], model=model, held=held)
    assert [s.value for s in got] == [4.49, 6.89, 6.84]  # its line and column; 4.75 is the other arm's
    alone = S.suggest("baseline_sd", page, "Control", ARMS, ["PHQ-9"], model=model)
    assert len({s.score for s in alone}) == 1  # without it every SD-like number is as likely
    age = [S.Held("baseline_sd", "Intervention", 9.2, 2, "Age 34.1 (9.2) 35.0 (8.7)", "Age")]
    # another measure's row says nothing about this outcome's
    assert S.suggest("baseline_sd", page, "Control", ARMS, ["PHQ-9"], model=model, held=age) == alone


def test_suggestions_are_distinct_values_the_field_can_take_each_on_a_line_of_its_page() -> None:
    candidates, texts = _t01(), page_texts(read_pdf(EXAMPLE / "pdfs" / "T01.pdf"))
    for field in S.FIELDS:
        for arm in ARMS:
            got = S.for_gap(Gap(field, arm, "depression", PHQ, "baseline"), candidates, ARMS, [DEPRESSION])
            assert 1 <= len(got) <= 3 and len({s.value for s in got}) == len(got)
            assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)
            for s in got:
                assert S.fits(field, s.value)
                assert quote_has_number(s.line, s.value) and quote_on_page(s.line, texts[s.page]) >= QUOTE_MIN_SCORE
    assert S.for_gap(Gap("n_randomised"), candidates, ARMS) == []  # an arm still to name
    assert S.for_gap(Gap("outcome_sd", "Control", "depression", PHQ, "post"), candidates, ARMS, [DEPRESSION]) == []


def test_a_baseline_row_gives_each_arm_the_mean_and_sd_of_its_own_column() -> None:
    candidates = _t01()
    first = {(field, arm): S.for_gap(Gap(field, arm, "depression", PHQ, "baseline"), candidates, ARMS,
                                     [DEPRESSION])[0].value
             for field in ("baseline_mean", "baseline_sd") for arm in ARMS}
    assert first == {("baseline_mean", "Intervention"): 6.84, ("baseline_mean", "Control"): 6.89,
                     ("baseline_sd", "Intervention"): 4.75, ("baseline_sd", "Control"): 4.49}


def test_gaps_suggest_lists_likely_values_with_their_page_and_line(extracted: Path, cli) -> None:  # noqa: F811
    store = Store.open(extracted)
    store.review_extraction(_row(store, "baseline_mean", "Control").id, status="rejected", actor="alice")
    store.close()
    plain = cli("gaps", "--project", extracted, "--json").json()
    assert "suggestions" not in plain["studies"][0]["gaps"][0]  # the PDF is read only when asked
    got = cli("gaps", "--suggest", "--project", extracted, "--json").json()
    gap = next(g for s in got["studies"] for g in s["gaps"] if g["field"] == "baseline_mean")
    assert gap["suggestions"][0] == {"value": 6.89, "page": 2, "line": "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)",
                                     "score": gap["suggestions"][0]["score"]}
    table = cli("gaps", "--suggest", "--project", extracted)
    assert table.exit_code == 0 and "likely: 6.89 (p. 2)" in table.stdout
    # a suggestion is not stored: the gap stays until a reviewer enters the value
    assert cli("gaps", "--project", extracted, "--json").json()["missing"] == plain["missing"] == 1


def test_verify_shows_a_suggestion_on_its_page_before_the_same_key_enters_it(extracted: Path) -> None:  # noqa: F811
    store = Store.open(extracted)
    store.review_extraction(_row(store, "baseline_sd", "Control").id, status="rejected", actor="alice")
    missing = missing_items(store, load_protocol(extracted).outcomes)
    assert [(m.gap.field, m.arms) for m in missing] == [("baseline_sd", ARMS)]
    missing[0].page = 1  # shown beside a page that does not print it
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        item = pilot.app.current
        await _until(pilot, lambda: isinstance(item, Missing) and item.suggestions is not None)  # once read
        assert isinstance(item, Missing) and item.suggestions and item.suggestions[0].value == 4.49
        assert "likely 4.49 · p. 2" in str(pilot.app.query_one("#value", Static).render())
        await pilot.press("1")  # shown: its page, the line marked; nothing stored yet
        assert "page 2" in _status(pilot.app) and len(pilot.app.items) == 1
        assert not [x for x in store.extractions(record_id=1) if x.source == "human"]
        await pilot.press("1")  # the same key again: entered, with that line as its quote
        assert not pilot.app.items
        entered = [x for x in store.extractions(record_id=1) if x.source == "human"]
        assert [(x.field, x.arm, x.value, x.page, x.quote, x.updated_by) for x in entered] == [
            ("baseline_sd", "Control", 4.49, 2, "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)", "bob")]
        await pilot.press("u")  # withdrawn like any entry
        assert isinstance(pilot.app.current, Missing)
        await pilot.press("q")

    _drive(app, steps)
    assert [x.status for x in store.extractions(record_id=1) if x.source == "human"] == ["rejected"]
    store.close()


def _both_sds_missing(project: Path) -> tuple[Store, list[Missing]]:
    """The project's store with both arms' baseline SD rejected, and verify's missing values for them."""
    store = Store.open(project)
    for arm in ARMS:
        store.review_extraction(_row(store, "baseline_sd", arm).id, status="rejected", actor="alice")
    return store, missing_items(store, load_protocol(project).outcomes)


def test_a_value_entered_in_verify_guides_the_suggestions_for_the_studys_other_gaps(extracted: Path) -> None:  # noqa: F811
    store, missing = _both_sds_missing(extracted)
    assert [(m.gap.field, m.gap.arm) for m in missing] == [("baseline_sd", "Intervention"), ("baseline_sd", "Control")]
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        await _until(pilot, lambda: None not in (missing[0].suggestions, missing[1].suggestions))
        before = missing[1].suggestions
        assert missing[0].suggestions[0].value == 4.75
        await pilot.press("1", "1")  # shown on its page, then entered
        assert pilot.app.current is missing[1]
        assert ("baseline_sd", "Intervention", PHQ, 4.75, 2) in [(h.field, h.arm, h.measure, h.value, h.page)
                                                                  for h in missing[1].held]
        await _until(pilot, lambda: missing[1].suggestions not in (None, before))  # worked out again with it
        assert missing[1].suggestions[0].value == 4.49
        assert [s.score for s in missing[1].suggestions] != [s.score for s in before]
        await pilot.press("q")

    _drive(app, steps)
    store.close()


def test_a_value_withdrawn_in_verify_no_longer_guides_the_studys_other_suggestions(extracted: Path) -> None:  # noqa: F811
    store, missing = _both_sds_missing(extracted)
    held_before = missing[1].held
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        await _until(pilot, lambda: missing[0].suggestions is not None)
        await pilot.press("1", "1")  # entered: Control's suggestions now weigh its line
        assert len(missing[1].held) == len(held_before) + 1
        await pilot.press("u")  # withdrawn: they no longer do, and are worked out again
        assert missing[1].held == held_before
        assert pilot.app.current is missing[0]
        await pilot.press("q")

    _drive(app, steps)
    store.close()
