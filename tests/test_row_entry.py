"""A table's row entered for every arm at once (`gaps.row_values`, verify's / and w): the reviewer marks the line,
says which of its numbers are whose (proposed where the row prints one pair or count per arm), and each arm's
value (a count, or a mean and SD at baseline or follow-up) is stored with the row as its quote."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from metasift.config import load_protocol
from metasift.errors import EntryError
from metasift.extractor.gaps import RowValue, column_order, row_numbers, row_picks, row_values
from metasift.store import Store
from metasift.tui.verify_app import Missing, VerifyApp, missing_items
from tests.test_enter_values import _row, extracted  # noqa: F401  (the fixture)
from tests.test_verify_tui import _drive, _until

ARMS = ["Intervention", "Control"]
ROW = "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)"


def test_a_row_of_one_mean_sd_pair_per_arm_proposes_each_arms_pair_in_the_columns_order() -> None:
    for line in (ROW, "BDI-II, mean ± SD 21.3 ± 6.2 20.9 ± 5.8 0.71", "Defecation/w 1.7(±1.3)NS 10.7(±6.4)c"):
        picks = row_picks(line, "baseline_sd", ARMS)
        assert picks == [1, 2, 3, 4]
    assert row_values(ROW, "baseline_mean", ARMS, [1, 2, 3, 4]) == [
        RowValue("Intervention", "baseline_mean", 6.84), RowValue("Intervention", "baseline_sd", 4.75),
        RowValue("Control", "baseline_mean", 6.89), RowValue("Control", "baseline_sd", 4.49)]


def test_the_columns_are_the_arms_in_the_order_a_header_above_or_the_row_itself_names_them() -> None:
    header = "Measure Control (n = 64), M (SD) Intervention (n = 61), M (SD)"
    assert column_order(ARMS, [header, "Age 34.1 (5.2) 33.8 (6.0)"]) == [1, 0]  # the nearest line naming both
    assert row_picks(ROW, "baseline_mean", ARMS, [header]) == [3, 4, 1, 2]
    assert row_picks(ROW, "baseline_mean", ARMS, ["Table 1. Baseline characteristics"]) == [1, 2, 3, 4]
    sentence = "In the CBT group 40 and in the TAU group 41 were randomised"
    assert row_picks(sentence, "n_randomised", ["Treatment as usual (TAU)", "Cognitive behavioural therapy (CBT)"]) \
        == [2, 1]
    assert column_order(["Exercise group", "Exercise and diet group"], [header]) is None  # no word of its own


def test_a_row_with_a_total_column_or_separate_sd_columns_proposes_nothing_and_the_reviewer_says_whose() -> None:
    total = "Mental Component 49.7 (11.0) 50.9 (10.8) 48.4 (11.2)"  # Total first
    assert row_picks(total, "baseline_mean", ARMS) == []
    assert [(v.arm, v.value) for v in row_values(total, "baseline_mean", ARMS, [3, 4, 5, 6])] == [
        ("Intervention", 50.9), ("Intervention", 10.8), ("Control", 48.4), ("Control", 11.2)]
    columns = "Pre-intervention 16.9 5.76 874 16.4 5.98 862"  # mean, SD and n in columns of their own
    assert row_picks(columns, "baseline_mean", ARMS) == []
    assert [v.value for v in row_values(columns, "baseline_mean", ARMS, [4, 5, 1, 2])] == [16.4, 5.98, 16.9, 5.76]


def test_a_rows_counts_leave_out_shares_scale_digits_and_thousands_separators() -> None:
    assert row_numbers("Lost to follow-up (PHQ-9 missing) 9 (9.6%) 8 (8.6%)") == ["9", "8"]
    assert row_picks("Lost to follow-up 9 (9.6%) 8 (8.6%)", "n_dropout", ARMS) == [1, 2]
    assert row_values("Analysed 1,204 1,198", "n_analysed", ARMS, [1, 2]) == [
        RowValue("Intervention", "n_analysed", 1204), RowValue("Control", "n_analysed", 1198)]
    assert row_picks("Randomised 40 41 81", "n_randomised", ARMS) == []  # a total column: the reviewer says


def test_places_that_do_not_fit_the_arms_or_the_field_are_refused() -> None:
    with pytest.raises(EntryError, match="give 4 places, its mean and SD for each of Intervention, Control"):
        row_values(ROW, "baseline_mean", ARMS, [1, 3])
    with pytest.raises(EntryError, match="the line prints 4 numbers: no number 7"):
        row_values(ROW, "baseline_mean", ARMS, [1, 2, 3, 7])
    with pytest.raises(EntryError, match="an SD must be positive"):
        row_values("Change -1.2 (-0.4) 0.3 (0.2)", "baseline_mean", ARMS, [1, 2, 3, 4])
    with pytest.raises(EntryError, match="not a count"):
        row_values(ROW, "n_randomised", ARMS, [1, 3])
    with pytest.raises(EntryError, match="not outcome_n"):
        row_values(ROW, "outcome_n", ARMS, [1, 2])


def test_verify_fills_every_arms_baseline_mean_and_sd_from_one_marked_row(extracted: Path) -> None:  # noqa: F811
    store = Store.open(extracted)
    for field in ("baseline_mean", "baseline_sd"):
        for arm in ARMS:
            store.review_extraction(_row(store, field, arm).id, status="rejected", actor="alice")
    missing = missing_items(store, load_protocol(extracted).outcomes)
    assert {(m.gap.field, m.gap.arm) for m in missing} == {(f, a) for f in ("baseline_mean", "baseline_sd")
                                                            for a in ARMS}
    assert {m.page for m in missing} == {2}
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        await _until(pilot, lambda: pilot.app._texts(pilot.app.current) is not None)  # read in a thread
        await _until(pilot, lambda: pilot.app.current.suggestions is not None)  # worked out in a thread
        shown = str(pilot.app.query_one("#value", Static).render())
        assert f"likely 6.84 · p. 2 · w: every arm's · {ROW}" in shown  # its line holds a pair per arm
        await pilot.press("w")  # nothing marked yet: nothing happens but a word of how
        assert len(pilot.app.items) == 4
        await pilot.press("slash", *"PHQ-9 depression", "enter")
        assert pilot.app.found[2] == ROW  # the first line of page 2 holding the words: the baseline row
        await pilot.press("w")  # asks whose numbers are which, proposing each arm's pair in the header's order
        assert "Enter takes Intervention 6.84 (4.75) · Control 6.89 (4.49) (columns named by the line or a header " \
            "above)" in pilot.app.screen.title_text
        assert "the PHQ-9 (depression) mean and SD of Intervention, Control" in pilot.app.screen.title_text
        assert "does not name" not in pilot.app.screen.title_text
        await pilot.press("escape", "slash", *"GAD-7", "enter", "w")  # another measure's row: said so
        assert "This line does not name PHQ-9 (depression): is it its row?" in pilot.app.screen.title_text
        await pilot.press("escape", "slash", *"PHQ-9 depression", "enter", "w")
        await pilot.press("enter")
        assert not pilot.app.items
        await pilot.press("u")  # entries are withdrawn one at a time
        assert isinstance(pilot.app.current, Missing) and len(pilot.app.items) == 1
        await pilot.press("q")

    _drive(app, steps)
    entered = [x for x in store.extractions(record_id=1) if x.source == "human"]
    assert sorted((x.field, x.arm, x.value, x.page, x.quote, x.status) for x in entered) == sorted([
        ("baseline_mean", "Intervention", 6.84, 2, ROW, "verified"),
        ("baseline_sd", "Intervention", 4.75, 2, ROW, "verified"),
        ("baseline_mean", "Control", 6.89, 2, ROW, "verified"),
        ("baseline_sd", "Control", 4.49, 2, ROW, "rejected")])  # the last one entered, withdrawn
    assert {x.updated_by for x in entered} == {"bob"}
    store.close()


def test_verify_fills_every_arms_follow_up_mean_and_sd_from_a_row_found_by_a_number_it_prints(
        extracted: Path) -> None:  # noqa: F811
    store = Store.open(extracted)
    follow_up = [x for x in store.extractions(record_id=1) if x.field in ("outcome_mean", "outcome_sd")
                 and x.measure == "PHQ-9 (depression)"]
    assert len(follow_up) == 4
    for x in follow_up:
        store.review_extraction(x.id, status="rejected", actor="alice")
    timepoint = follow_up[0].timepoint
    missing = missing_items(store, load_protocol(extracted).outcomes)
    assert {(m.gap.field, m.gap.timepoint) for m in missing} == {("outcome_mean", timepoint),
                                                                 ("outcome_sd", timepoint)}
    app = VerifyApp(store, "bob", missing=missing)
    follow_row = "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)"

    async def steps(pilot) -> None:
        await _until(pilot, lambda: pilot.app._texts(pilot.app.current) is not None)
        await pilot.press("slash", *"4.30", "enter")
        assert pilot.app.found[2] == follow_row
        await pilot.press("w", "enter")
        assert not pilot.app.items
        await pilot.press("q")

    _drive(app, steps)
    entered = [x for x in store.extractions(record_id=1) if x.source == "human"]
    assert sorted((x.field, x.arm, x.value, x.timepoint, x.quote) for x in entered) == sorted([
        ("outcome_mean", "Intervention", 4.30, timepoint, follow_row),
        ("outcome_sd", "Intervention", 4.32, timepoint, follow_row),
        ("outcome_mean", "Control", 6.89, timepoint, follow_row),
        ("outcome_sd", "Control", 3.92, timepoint, follow_row)])
    store.close()


def test_finding_a_line_turns_to_the_page_that_prints_it_when_the_page_shown_does_not(extracted: Path) -> None:  # noqa: F811
    store = Store.open(extracted)
    store.review_extraction(_row(store, "baseline_sd", "Control").id, status="rejected", actor="alice")
    missing = missing_items(store, load_protocol(extracted).outcomes)
    missing[0].page = 1  # shown beside a page that does not print the row
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        await _until(pilot, lambda: pilot.app._texts(pilot.app.current) is not None)
        await pilot.press("slash", *"6.89 4.49", "enter")
        assert pilot.app.found[1:] == (2, ROW) and pilot.app._page(pilot.app.current) == 2
        await pilot.press("slash", *"no such words", "enter")  # nothing found: the mark stays
        assert pilot.app.found[1:] == (2, ROW)
        await pilot.press("w", "enter")  # one arm still misses the row's SD: only it is entered
        assert not pilot.app.items
        await pilot.press("q")

    _drive(app, steps)
    entered = [x for x in store.extractions(record_id=1) if x.source == "human"]
    assert [(x.field, x.arm, x.value, x.page, x.quote) for x in entered] == [("baseline_sd", "Control", 4.49, 2, ROW)]
    store.close()


def test_verify_corrects_a_doubtful_value_from_the_row_marked_and_confirms_its_arms_doubtful_ones(
        extracted: Path) -> None:  # noqa: F811
    store = Store.open(extracted)
    wrong = _row(store, "baseline_sd", "Control")
    store.review_extraction(wrong.id, status="needs_human", actor="alice", value=9.99, reason="read from age")
    doubtful = _row(store, "baseline_mean", "Control")
    store.review_extraction(doubtful.id, status="needs_human", actor="alice", reason="rival rows")
    app = VerifyApp(store, "bob")
    assert [(x.field, x.arm) for x in app.items] == [("baseline_mean", "Control"), ("baseline_sd", "Control")]

    async def steps(pilot) -> None:
        await _until(pilot, lambda: pilot.app._texts(pilot.app.current) is not None)
        await pilot.press("slash", *"PHQ-9 depression", "enter")
        await pilot.press("w")
        assert "Enter takes Intervention 6.84 (4.75) · Control 6.89 (4.49)" in pilot.app.screen.title_text
        await pilot.press("enter")  # both doubtful values of the row settled; Intervention's were never in doubt
        assert not pilot.app.items
        corrected = _row(store, "baseline_sd", "Control", "verified")
        assert (corrected.value, corrected.quote, corrected.reason) == (4.49, ROW, "edited by a human")
        await pilot.press("u")  # undone one at a time
        assert [(x.field, x.arm) for x in pilot.app.items] == [("baseline_sd", "Control")]
        await pilot.press("q")

    _drive(app, steps)
    got = {x.id: x for x in store.extractions(record_id=1)}
    assert (got[doubtful.id].status, got[doubtful.id].value, got[doubtful.id].quote) == ("verified", 6.89, ROW)
    assert got[doubtful.id].updated_by == "bob"
    assert (got[wrong.id].status, got[wrong.id].value) == ("needs_human", 9.99)  # the undo restored it
    store.close()


def test_enter_row_stores_every_arms_values_from_one_line_or_nothing(extracted: Path, cli) -> None:  # noqa: F811
    gad = "GAD-7 (anxiety) 5.57 (4.31) 5.32 (3.99)"
    store = Store.open(extracted)
    before = len(store.extractions(record_id=1))
    bad = cli("enter", "1", "baseline_mean", "--row", "Participant flow", "--page", "2", "--measure",
              "GAD-7 (anxiety)", "--reviewer", "bob", "--project", extracted)
    assert bad.exit_code == 8 and "does not print one value per arm" in bad.stderr and "1:125  2:61  3:64" in bad.stderr
    assert len(store.extractions(record_id=1)) == before  # nothing stored
    store.close()
    done = cli("enter", "1", "baseline_mean", "--row", "GAD-7", "--page", "2", "--measure", "GAD-7 (anxiety)",
               "--places", "3 4 1 2", "--reviewer", "bob", "--project", extracted, "--json")  # columns swapped
    assert done.exit_code == 0, done.stderr
    assert [(e["field"], e["arm"], e["value"], e["page"], e["quote"], len(e["replaced"]))
            for e in done.json()["entered"]] == [
        ("baseline_mean", "Intervention", 5.32, 2, gad, 1), ("baseline_sd", "Intervention", 3.99, 2, gad, 1),
        ("baseline_mean", "Control", 5.57, 2, gad, 1), ("baseline_sd", "Control", 4.31, 2, gad, 1)]
    counts = cli("enter", "1", "n_analysed", "--row", "Intervention (n = 50)", "--page", "2", "--reviewer", "bob",
                 "--project", extracted)
    assert counts.exit_code == 0 and "Intervention n_analysed 50 · Control n_analysed 52" in counts.stderr
    assert cli("enter", "1", "n_analysed", "52", "--row", "x", "--page", "2", "--reviewer", "bob", "--project",
               extracted).exit_code == 2  # a VALUE and a row at once


def test_a_sheet_row_with_a_printed_row_enters_every_arms_values_all_or_none(
        cli, tmp_path: Path, extracted: Path) -> None:  # noqa: F811
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("record,field,page,measure,row,places\n"
                     "1,baseline_mean,2,GAD-7 (anxiety),GAD-7,\n"
                     "1,n_analysed,2,,Intervention (n = 50),\n", encoding="utf-8")
    done = cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted, "--json")
    assert done.exit_code == 0, done.stderr
    assert [(e["field"], e["arm"], e["value"]) for e in done.json()["entered"]] == [
        ("baseline_mean", "Intervention", 5.57), ("baseline_sd", "Intervention", 4.31),
        ("baseline_mean", "Control", 5.32), ("baseline_sd", "Control", 3.99),
        ("n_analysed", "Intervention", 50), ("n_analysed", "Control", 52)]
    store = Store.open(extracted)
    before = len(store.extractions(record_id=1))
    sheet.write_text("record,field,page,measure,row,places,value\n"
                     "1,baseline_mean,2,GAD-7 (anxiety),GAD-7,3 4 1 2,\n"
                     "1,baseline_mean,2,PHQ-9 (depression),PHQ-9,1 2 3 9,\n", encoding="utf-8")
    bad = cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted)
    assert bad.exit_code == 8 and f"{sheet}:3: the line prints 4 numbers: no number 9" in bad.stderr
    assert len(store.extractions(record_id=1)) == before  # the good first row is not stored either
    store.close()
