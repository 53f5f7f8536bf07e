"""Values a reviewer enters by hand: what each study lacks (`metasift gaps`) and the entry of a value with the line
of its page that prints it (`metasift enter`), replacing, withdrawing and surviving a re-extraction."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasift.config import OutcomeSpec, load_protocol
from metasift.errors import EntryError
from metasift.extractor.by_hand import edited_value, study_gaps
from metasift.extractor.gaps import entry_quote, missing_values, parse_value
from metasift.extractor.pipeline import study_result
from metasift.extractor.schema import Arm, Baseline, ExtractionResult, Outcome
from metasift.store import Store
from metasift.store import schema as t
from metasift.tui.dialogs import TextPrompt
from metasift.tui.verify_app import Missing, VerifyApp, missing_items
from tests.test_fulltext import EXAMPLE, _seed
from tests.test_verify_tui import QUOTE, _drive, _project_with_doubts, _status

DEPRESSION = OutcomeSpec(id="depression", label="Depression", instruments=["PHQ-9", "BDI-II"])
STRESS = OutcomeSpec(id="stress", label="Stress", instruments=["PSS"])
PAGE = """Table 1. Baseline characteristics of participants by group.
Measure Intervention (n = 61), M (SD) Control (n = 64), M (SD)
PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)
GAD-7 (anxiety) 5.57 (4.31) 5.32 (3.99)
Table 2. Outcomes at post-intervention.
PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)
GAD-7 (anxiety) 5.00 (3.80) 6.89 (4.40)"""


def _two_arms() -> ExtractionResult:
    phq = Baseline(measure="PHQ-9", mean=6.8, sd=4.7, n=61)
    return ExtractionResult(
        arms=[Arm(name="Peer support", n_randomised=61, n_analysed=50, n_dropout=11, baselines=[phq]),
              Arm(name="Waitlist", n_randomised=64, n_analysed=52)],
        outcomes=[Outcome(arm="Peer support", measure="PHQ-9", timepoint="post", mean=4.3, sd=4.3, n=50),
                  Outcome(arm="Waitlist", measure="PHQ-9", timepoint="post", mean=6.9, n=52)])


def test_a_study_lacks_an_arms_dropout_and_the_values_the_other_arm_has() -> None:
    gaps = missing_values(_two_arms(), [DEPRESSION])
    assert [(g.field, g.arm, g.measure, g.timepoint) for g in gaps] == [
        ("n_dropout", "Waitlist", None, None),
        ("baseline_mean", "Waitlist", "PHQ-9", "baseline"), ("baseline_sd", "Waitlist", "PHQ-9", "baseline"),
        ("outcome_sd", "Waitlist", "PHQ-9", "post")]
    assert '--how "randomised 64 - analysed 52" for 12' in gaps[0].hint
    assert all(g.certain and g.outcome in (None, "depression") for g in gaps)


def test_an_outcome_no_value_is_of_is_one_gap_the_paper_may_not_have() -> None:
    gaps = [g for g in missing_values(_two_arms(), [DEPRESSION, STRESS]) if g.outcome == "stress"]
    assert len(gaps) == 1 and not gaps[0].certain and "PSS" in gaps[0].hint


def test_fewer_than_two_arms_is_one_gap_naming_the_arms_found() -> None:
    gaps = missing_values(ExtractionResult(arms=[Arm(name="Peer support", n_randomised=61)]), [DEPRESSION])
    assert len(gaps) == 1 and '"Peer support"' in gaps[0].hint


def test_the_quote_is_the_one_line_of_the_page_that_prints_the_value() -> None:
    assert entry_quote(4.49, 2, PAGE) == "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)"
    assert entry_quote(4.3, 2, PAGE) == "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)"  # printed "4.30"
    # three rows print 6.89; the measure narrows them to two, which still needs the reviewer's quote
    with pytest.raises(EntryError, match="prints 6.89 on 2 lines: give --line K or --quote"):
        entry_quote(6.89, 2, PAGE, measure="PHQ-9")
    assert entry_quote(6.89, 2, PAGE, "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)") .endswith("(3.92)")
    assert entry_quote(4.4, 2, PAGE, measure="GAD-7") == "GAD-7 (anxiety) 5.00 (3.80) 6.89 (4.40)"
    # a percentage is not the count, nor a number inside a longer one
    assert entry_quote(20, 1, "Dropout was 35% (IG: 50%; WL: 20%)\nAssessed (n = 20)\n120 screened") == \
        "Assessed (n = 20)"
    assert entry_quote(14.0, 3, "from 4 to 14.5 points\nSF36 PCS 36.8 (18.4) 32.0 (14.0)") == \
        "SF36 PCS 36.8 (18.4) 32.0 (14.0)"
    with pytest.raises(EntryError, match="prints 5 on 2 lines"):  # the word counts too
        entry_quote(5, 5, "Median (5 th; 95 th percentile).\nand five children in the control group")


def test_an_entry_the_page_does_not_bear_out_is_refused() -> None:
    with pytest.raises(EntryError, match="page 2 does not print 7.12"):
        entry_quote(7.12, 2, PAGE)
    with pytest.raises(EntryError, match="does not print the quote"):
        entry_quote(4.49, 2, PAGE, "PHQ-9 at twelve weeks 4.49")
    with pytest.raises(EntryError, match="does not print 4.49"):
        entry_quote(4.49, 2, PAGE, "GAD-7 (anxiety) 5.57 (4.31) 5.32 (3.99)")


def test_counts_are_whole_numbers_and_an_sd_is_positive() -> None:
    assert parse_value("n_analysed", "52") == 52 and parse_value("baseline_mean", "6,84") == 6.84
    assert parse_value("n_randomised", "2,301") == 2301  # thousands in a count, a decimal comma in a mean
    assert parse_value("outcome_mean", "\u22121·5") == -1.5  # a minus sign and a raised decimal dot
    for field, text, why in (("n_analysed", "52.5", "not a count"), ("n_dropout", "-1", "not a count"),
                             ("baseline_sd", "0", "must be positive"), ("outcome_sd", "n/a", "not a number"),
                             ("n_lost", "3", "unknown field"), ("outcome_mean", "1e400", "not a finite number"),
                             ("baseline_mean", "nan", "not a finite number")):
        with pytest.raises(EntryError, match=why):
            parse_value(field, text)


@pytest.fixture
def extracted(project: Path, cli) -> Path:
    """The project with record 1 (the example's T01 report) attached and extracted."""
    store = _seed(project)
    store.add_fulltext(record_id=1, path=EXAMPLE / "pdfs" / "T01.pdf", sha256="e" * 64, n_pages=2, status="ok",
                       message=None, matched_by="manual")
    store.close()
    assert cli("extract", "--project", project).exit_code == 0
    return project


def _events(store: Store) -> list:
    with store.read() as conn:
        return conn.execute(t.events.select().order_by(t.events.c.id)).all()


def _row(store: Store, field: str, arm: str, status: str | None = None):
    return next(x for x in store.extractions(record_id=1) if (x.field, x.arm) == (field, arm)
                and (status is None or x.status == status))


def test_a_value_entered_by_hand_fills_its_gap_and_survives_a_reextraction(extracted: Path, cli) -> None:
    store = Store.open(extracted)
    missed = _row(store, "outcome_sd", "Control")  # as if the extractor had not read it: a reviewer rejects it
    store.review_extraction(missed.id, status="rejected", actor="alice", reason="wrong row")
    store.close()

    gaps = cli("gaps", "--project", extracted, "--json").json()
    study = next(s for s in gaps["studies"] if s["record_id"] == 1)
    assert [(g["field"], g["arm"], g["measure"], g["timepoint"]) for g in study["gaps"] if g["certain"]] == [
        ("outcome_sd", "Control", "PHQ-9 (depression)", "post")]
    assert gaps["missing"] == 1
    assert cli("extract", "--project", extracted, "--json").json()["missing"] == 1  # a re-extraction says so too
    store = Store.open(extracted)
    rows, events = len(store.extractions()), len(_events(store))
    store.close()

    args = ("enter", 1, "outcome_sd", "3.92", "--arm", "control", "--measure", "phq-9 (depression)",
            "--timepoint", "Post", "--reviewer", "bob", "--project", extracted)
    refused = cli(*args, "--page", 1)
    assert refused.exit_code == 8 and "page 1 does not print 3.92" in refused.stderr
    store = Store.open(extracted)
    assert (len(store.extractions()), len(_events(store))) == (rows, events)  # nothing stored
    store.close()

    done = cli(*args, "--page", 2, "--json")
    assert done.exit_code == 0, done.stderr
    entered = done.json()
    # stored under the names the study's values use, so the effect size finds its cell
    assert (entered["arm"], entered["measure"], entered["timepoint"]) == ("Control", "PHQ-9 (depression)", "post")
    assert entered["quote"] == "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)" and entered["replaced"] == []
    assert cli("gaps", "--project", extracted, "--json").json()["missing"] == 0

    assert cli("extract", "--project", extracted).exit_code == 0
    store = Store.open(extracted)
    same = [x for x in store.extractions(record_id=1) if (x.field, x.arm, x.measure) ==
            ("outcome_sd", "Control", "PHQ-9 (depression)") and x.status != "rejected"]
    assert [(x.source, x.value, x.status, x.updated_by, x.page) for x in same] == [("human", 3.92, "verified", "bob", 2)]
    event = [e for e in _events(store) if e.action == "enter_value"]
    assert len(event) == 1 and event[0].actor == "bob" and event[0].actor_kind == "human"
    store.close()
    tally = cli("status", "--project", extracted, "--json").json()["extraction"]
    assert (tally["entered_by_hand"], tally["rejected"], tally["missing"]) == (1, 1, 0)


def test_an_entry_replaces_the_value_held_and_withdrawing_it_puts_that_back(extracted: Path, cli) -> None:
    base = ("enter", 1, "n_analysed", "52", "--arm", "Control", "--page", 2, "--reviewer", "bob",
            "--project", extracted)
    ambiguous = cli(*base)  # the header's "(n = 52)" and the sentence
    assert ambiguous.exit_code == 8 and "prints 52 on 2 lines: give --line K or --quote" in ambiguous.stderr
    assert "1 'follow-up and 52 were analysed.'; 2 'Measure Intervention (n = 50)" in ambiguous.stderr
    out_of_range = cli(*base, "--line", 3)
    assert out_of_range.exit_code == 8 and "--line 3: page 2 prints 52 on lines 1-2" in out_of_range.stderr
    done = cli(*base, "--quote", "52 were analysed", "--json")
    assert done.exit_code == 0, done.stderr
    entered = done.json()
    assert entered["quote"] == "52 were analysed"
    store = Store.open(extracted)
    extracted_row = store.extractions(record_id=1)[[x.id for x in store.extractions(record_id=1)].index(
        entered["replaced"][0])]
    assert extracted_row.status == "rejected" and f"(id {entered['id']})" in extracted_row.reason
    store.close()

    undone = cli("enter", "--undo", entered["id"], "--reviewer", "bob", "--project", extracted, "--json")
    assert undone.exit_code == 0, undone.stderr
    assert undone.json()["restored"] == entered["replaced"]
    store = Store.open(extracted)
    back = _row(store, "n_analysed", "Control", "auto_verified")
    assert back.id == entered["replaced"][0] and back.reason is None
    assert _row(store, "n_analysed", "Control", "rejected").source == "human"
    store.close()
    again = cli("enter", "--undo", entered["id"], "--reviewer", "bob", "--project", extracted)
    assert again.exit_code == 3 and "already withdrawn" in again.stderr


def test_a_value_the_text_does_not_print_is_entered_with_how_it_was_found(extracted: Path, cli) -> None:
    base = ("--arm", "Intervention", "--reviewer", "bob", "--project", extracted)
    bare = cli("enter", 1, "n_dropout", "11", "--how", "11", *base)
    assert bare.exit_code == 8 and "--how needs where the value is or the formula" in bare.stderr
    done = cli("enter", 1, "n_dropout", "11", "--how", "randomised 61 - analysed 50", *base, "--json")
    assert done.exit_code == 0, done.stderr
    store = Store.open(extracted)
    row = next(x for x in store.extractions(record_id=1) if x.id == done.json()["id"])
    assert row.quote == "randomised 61 - analysed 50" and "not printed in the page's text" in row.reason
    store.close()


def test_an_arm_the_study_does_not_have_is_refused_unless_added(extracted: Path, cli) -> None:
    base = ("1", "n_randomised", "61", "--page", 2, "--quote", "61 were allocated", "--reviewer", "bob",
            "--project", extracted)
    unknown = cli("enter", *base, "--arm", "Peer support")
    assert unknown.exit_code == 8 and '"Intervention", "Control"' in unknown.stderr
    assert cli("enter", *base, "--arm", "Peer support", "--new-arm").exit_code == 0
    missing = cli("enter", "1", "baseline_mean", "6.84", "--arm", "Control", "--page", 2, "--reviewer", "bob",
                  "--project", extracted)
    assert missing.exit_code == 8 and "needs --measure" in missing.stderr


def test_a_measure_read_at_one_time_only_names_the_gaps_at_the_other() -> None:
    only_baseline = ExtractionResult(arms=[
        Arm(name=name, n_randomised=40, n_analysed=40, n_dropout=0,
            baselines=[Baseline(measure="BDI-II total", mean=20.0, sd=5.0, n=40)]) for name in ("CBT", "Waitlist")])
    gaps = missing_values(only_baseline, [DEPRESSION])
    assert {(g.field, g.measure, g.timepoint) for g in gaps} == {
        (f, "BDI-II total", None) for f in ("outcome_mean", "outcome_sd", "outcome_n")}
    assert all("name the time point" in g.hint for g in gaps)
    only_followup = ExtractionResult(arms=[Arm(name=name, n_randomised=40, n_analysed=40, n_dropout=0)
                                           for name in ("CBT", "Waitlist")],
                                     outcomes=[Outcome(arm=name, measure="BDI-II total", timepoint="post", mean=12.0,
                                                       sd=5.0, n=40) for name in ("CBT", "Waitlist")])
    assert {(g.field, g.measure, g.timepoint) for g in missing_values(only_followup, [DEPRESSION])} == {
        (f, "BDI-II total", "baseline") for f in ("baseline_mean", "baseline_sd")}


def test_a_value_the_paper_does_not_report_closes_its_gap_with_why(extracted: Path, cli) -> None:
    store = Store.open(extracted)
    store.review_extraction(_row(store, "n_dropout", "Control").id, status="rejected", actor="alice")
    store.close()
    assert cli("gaps", "--project", extracted, "--json").json()["missing"] == 1
    base = ("enter", 1, "n_dropout", "--arm", "Control", "--reviewer", "bob", "--project", extracted)
    assert cli(*base).exit_code == 2  # neither a value nor --not-reported
    assert cli(*base, "--not-reported", " ").exit_code == 8
    done = cli(*base, "--not-reported", "losses given for the whole trial only", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["value"] is None and done.json()["reason"] == "not reported: losses given for the whole trial only"
    assert cli("gaps", "--project", extracted, "--json").json()["missing"] == 0
    # the declaration is no number: the rules find no dropout for the arm, and effect sizes are untouched
    store = Store.open(extracted)
    rebuilt = study_result([x for x in store.extractions(record_id=1) if x.status != "rejected"])
    assert [a.n_dropout for a in rebuilt.arms] == [11, None]
    store.close()


def test_verify_shows_a_missing_value_beside_a_page_and_enters_it_from_there(extracted: Path, monkeypatch) -> None:
    def no_second_read(path):
        raise AssertionError(f"{path} read again: the entry should check the pages verify has read")

    monkeypatch.setattr("metasift.extractor.by_hand.read_pdf", no_second_read)
    store = Store.open(extracted)
    store.review_extraction(_row(store, "outcome_sd", "Control").id, status="rejected", actor="alice")
    missing = missing_items(store, load_protocol(extracted).outcomes)
    assert [(m.gap.field, m.gap.arm, m.page) for m in missing] == [("outcome_sd", "Control", 2)]
    app = VerifyApp(store, "bob", missing=missing)

    async def steps(pilot) -> None:
        assert "1 of 1 · missing · Control · PHQ-9 (depression) · post · outcome_sd" in _status(pilot.app)
        await pilot.press("a")  # nothing to accept
        await pilot.press("left_square_bracket")  # page 1: it does not print the value
        assert "page 1" in _status(pilot.app)
        await pilot.press("e", *"3.92", "enter")
        assert isinstance(pilot.app.screen, TextPrompt)  # where is it, then? Esc: another page
        await pilot.press("escape")
        assert len(pilot.app.items) == 1  # nothing stored, still missing
        await pilot.press("g", "2", "enter")  # back to page 2, by number
        assert "page 2" in _status(pilot.app)
        await pilot.press("e", *"3.92", "enter")
        assert not pilot.app.items
        entered = [x for x in store.extractions(record_id=1) if x.source == "human"]
        assert [(x.value, x.page, x.quote, x.updated_by) for x in entered] == [
            (3.92, 2, "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)", "bob")]
        await pilot.press("u")  # withdrawn: missing again
        assert isinstance(pilot.app.current, Missing)
        assert [x.status for x in store.extractions(record_id=1) if x.source == "human"] == ["rejected"]
        await pilot.press("r", *"only change scores", "enter")
        assert not pilot.app.items
        await pilot.press("q")

    _drive(app, steps)
    declared = [x for x in store.extractions(record_id=1) if x.source == "human" and x.status == "verified"]
    assert [(x.value, x.reason) for x in declared] == [(None, "not reported: only change scores")]
    store.close()


def test_a_value_printed_twice_on_the_page_asks_which_line_in_verify(extracted: Path) -> None:
    store = Store.open(extracted)
    store.review_extraction(_row(store, "n_analysed", "Control").id, status="rejected", actor="alice")
    gap = next(g for study in study_gaps(store, []) for g in study.gaps)
    app = VerifyApp(store, "bob", missing=[Missing(1, 1, gap, 2)])

    async def steps(pilot) -> None:
        await pilot.press("e", *"52", "enter")  # the header's (n = 52) and the sentence: which one?
        assert len(pilot.app.items) == 1
        await pilot.press("1", "enter")  # the first line listed: the sentence
        assert not pilot.app.items
        await pilot.press("q")

    _drive(app, steps)
    entered = next(x for x in store.extractions(record_id=1) if x.source == "human")
    assert (entered.field, entered.arm, entered.value, entered.quote) == (
        "n_analysed", "Control", 52, "follow-up and 52 were analysed.")
    store.close()


def test_an_edit_in_verify_points_the_quote_at_the_new_value_or_records_where_it_is(project: Path) -> None:
    store = _project_with_doubts(project)  # three candidates for the intervention's PHQ-9 mean on page 2

    async def steps(pilot) -> None:
        await pilot.press("e", *"5.57", "enter")  # printed on page 2, in the GAD-7 row: the quote follows it
        assert store.extractions()[0].quote == "GAD-7 (anxiety) 5.57 (4.31) 5.32 (3.99)"
        await pilot.press("u")  # undone: the old value, quote and status are back
        first = store.extractions()[0]
        assert (first.value, first.quote, first.status) == (4.3, QUOTE, "needs_human")
        await pilot.press("e", *"4.35", "enter")  # not on page 2: where is it?
        await pilot.press(*"Figure 2 (an image)", "enter")
        await pilot.press("q")

    _drive(VerifyApp(store, "alice"), steps)
    rows = {r.id: r for r in store.extractions()}
    assert (rows[1].value, rows[1].quote, rows[1].status) == (4.35, "Figure 2 (an image)", "verified")
    assert rows[1].reason == "edited by hand, not printed in the page's text: Figure 2 (an image)"
    with store.read() as conn:
        edits = [e.payload for e in conn.execute(t.events.select().where(t.events.c.action == "verify_value")
                                                 .order_by(t.events.c.id))]
    assert edits[0]["new_value"] == 5.57 and edits[0]["old"]["quote"] == QUOTE
    undo = [e for e in _events(store) if e.action == "undo_verify_value"]
    assert len(undo) == 1
    store.close()


def test_an_edit_to_a_value_the_quote_prints_keeps_the_quote_and_one_elsewhere_takes_its_line(extracted: Path) -> None:
    store = Store.open(extracted)
    row = _row(store, "baseline_sd", "Control")  # 4.49 in "PHQ-9 (depression) 6.84 (4.75) 6.89 (4.49)"
    assert edited_value(store, row, "4.75", row.page).quote == row.quote
    moved = edited_value(store, row, "3.99", row.page)
    assert moved.quote == "GAD-7 (anxiety) 5.57 (4.31) 5.32 (3.99)" and moved.page == 2
    with pytest.raises(EntryError, match="page 1 does not print 3.99"):
        edited_value(store, row, "3.99", 1)
    store.close()


def test_outside_text_in_an_entry_is_printed_inert(extracted: Path, cli) -> None:
    done = cli("enter", 1, "n_dropout", "11", "--arm", "Intervention", "--how", "[red]Figure 1[/red] \x1b[2J 61 - 50",
               "--reviewer", "bob", "--project", extracted)
    assert done.exit_code == 0, done.stderr
    assert "[red]Figure 1[/red]" in done.stderr and "\\x1b[2J" in done.stderr and "\x1b" not in done.stderr


def test_the_reports_evidence_names_a_value_entered_by_hand_and_one_not_reported(extracted: Path, cli) -> None:
    from metasift.report.data import evidence_rows

    assert cli("enter", 1, "n_analysed", "50", "--arm", "Intervention", "--page", 2, "--quote", "50 were analysed",
               "--reviewer", "bob", "--project", extracted).exit_code == 0
    assert cli("enter", 1, "n_dropout", "--arm", "Control", "--not-reported", "only the total is given",
               "--reviewer", "bob", "--project", extracted).exit_code == 0
    store = Store.open(extracted)
    studies, evidence = evidence_rows(store, {1: "include"})
    store.close()
    entered = {e["field"]: e for e in evidence if e["verifier"] == "entered by hand by bob"}
    assert entered["n_analysed [Intervention]"]["quote"] == "50 were analysed"
    assert entered["n_dropout [Control]"]["value"] == "not reported"
    control = next(a for a in studies[0]["arms"] if a["name"] == "Control")
    assert control["n_dropout"]["value"] == "not reported"


def test_a_study_with_no_arms_read_gets_them_named_in_verify_and_then_its_other_gaps(project: Path) -> None:
    store = _seed(project)
    store.add_fulltext(record_id=1, path=EXAMPLE / "pdfs" / "T01.pdf", sha256="e" * 64, n_pages=2, status="ok",
                       message=None, matched_by="manual")  # attached, nothing extracted
    outcomes = load_protocol(project).outcomes
    missing = missing_items(store, outcomes)
    assert [(m.gap.field, m.gap.arm) for m in missing] == [("n_randomised", None)] * 2
    app = VerifyApp(store, "bob", missing=missing, outcomes=outcomes)

    async def steps(pilot) -> None:
        await pilot.press("right_square_bracket")  # page 2 prints the allocation
        await pilot.press("e", *"Peer support", "enter", *"61", "enter", "1", "enter")
        assert "page 2" in _status(pilot.app)  # the other arm's count is looked for where this one was
        await pilot.press("e", *"Waitlist", "enter", *"64", "enter", "1", "enter")
        queued = [(m.gap.field, m.gap.arm) for m in pilot.app.items]
        assert ("n_randomised", None) not in queued
        assert {("n_analysed", "Peer support"), ("n_dropout", "Waitlist")} <= set(queued)
        await pilot.press("q")

    _drive(app, steps)
    arms = [(x.arm, x.value, x.quote) for x in store.extractions(record_id=1)]
    assert arms == [("Peer support", 61, "Participant flow. Of the 125 participants randomized, 61 were allocated to "
                                         "the intervention group and 64 to the control"),
                    ("Waitlist", 64, "Participant flow. Of the 125 participants randomized, 61 were allocated to "
                                     "the intervention group and 64 to the control")]
    store.close()


def test_a_sheet_of_values_is_entered_all_or_none_naming_the_line_that_fails(extracted: Path, cli, tmp_path) -> None:
    sheet = tmp_path / "values.csv"
    good = ("record,field,value,arm,measure,timepoint,page,quote,line,how,not_reported\n"
            "1,n_analysed,52,Control,,,2,52 were analysed,,,\n"
            "1,n_dropout,12,Control,,,,,,randomised 64 - analysed 52,\n"
            "\n"
            "1,baseline_n,,Control,PHQ-9 (depression),,,,,,not printed for this scale\n")
    sheet.write_text(good + "1,outcome_sd,9.99,Control,PHQ-9 (depression),post,2,,,,\n", encoding="utf-8")
    store = Store.open(extracted)
    before = (len(store.extractions()), len(_events(store)))
    store.close()
    bad = cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted)
    assert bad.exit_code == 8 and f"{sheet}:6: page 2 does not print 9.99" in bad.stderr
    store = Store.open(extracted)
    assert (len(store.extractions()), len(_events(store))) == before  # none of the good rows either
    store.close()

    sheet.write_text(good, encoding="utf-8")
    done = cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted, "--json")
    assert done.exit_code == 0, done.stderr
    entered = done.json()["entered"]
    assert [(e["field"], e["value"], e["quote"]) for e in entered] == [
        ("n_analysed", 52, "52 were analysed"), ("n_dropout", 12, "randomised 64 - analysed 52"),
        ("baseline_n", None, "")]
    assert all(len(e["replaced"]) == 1 for e in entered)  # each replaced the extracted value of its field

    sheet.write_text("record,field,valu\n1,n_analysed,52\n", encoding="utf-8")
    typo = cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted)
    assert typo.exit_code == 8 and "values.csv:1: columns must be among" in typo.stderr and "unknown: valu" in typo.stderr


def test_a_sheet_adds_a_third_arm_only_on_rows_that_say_new_arm(extracted: Path, cli, tmp_path) -> None:
    sheet = tmp_path / "arms.csv"

    def enter(page: int, new_arm: str, *json_out: str):
        sheet.write_text("record,field,value,arm,page,how,new_arm\n"
                         f"1,n_randomised,30,Booster,{page},Figure 1 (an image),{new_arm}\n", encoding="utf-8")
        return cli("enter", "--from", sheet, "--reviewer", "bob", "--project", extracted, *json_out)

    for page, new_arm, error in ((2, "", "no arm 'Booster' in this study"), (2, "maybe", "new_arm 'maybe' is not yes or no"),
                                 (9, "yes", "page 9 is not in the PDF (pages 1-2)")):
        refused = enter(page, new_arm)
        assert refused.exit_code == 8 and f"arms.csv:2: {error}" in refused.stderr
    done = enter(2, "yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert [(e["arm"], e["value"]) for e in done.json()["entered"]] == [("Booster", 30)]
    store = Store.open(extracted)
    assert "Booster" in {x.arm for x in store.extractions(record_id=1) if x.status != "rejected"}
    store.close()
