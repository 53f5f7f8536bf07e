"""Sentences and tables as published trial reports print them (found on open-access PMC articles typeset by
``bench/make_pmc_trials.py``): allocations "into" groups, losses "from" a group, counts in words over a
hundred, sub-headers wrapped in their cells, baseline tables of completers, table headers that look like a flow
diagram's boxes, labels pushed down by their footnote marks, and test statistics right of the arms."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import diagram_counts, no_losses, prose_counts, total_candidates
from metasift.extractor._tables import Table, TableArm, find_tables
from metasift.extractor.layout import Word, group_lines, join_words
from metasift.extractor.pdf import Page
from metasift.extractor.rules import _table_candidates
from metasift.extractor.schema import Arm, ExtractionResult
from tests.helpers import printed_line as _line


def _text_page(text: str) -> Page:
    return Page(3, text, text, [], [], 595.0)


def _tables(*rows: list) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], [])


def _counts(text: str) -> list[tuple]:
    return [(c.field, c.arm, c.value) for c in prose_counts([_text_page(text)])]


def test_an_allocation_into_groups_names_each_arm_with_its_count() -> None:
    said = ("We randomized 46 participants into the LPA intervention and 38 into the FME group in five separate "
            "cohorts of approximately 8 to 10 per cohort.")
    assert _counts(said) == [("n_randomised", "LPA intervention", 46), ("n_randomised", "FME", 38)]


def test_losses_from_each_named_group_are_that_groups_dropouts() -> None:
    said = ("Seven people from the probiotic group and three people from the placebo group dropped out prior to "
            "finishing the trial.")
    assert _counts(said) == [("n_dropout", "probiotic", 7), ("n_dropout", "placebo", 3)]


def test_a_total_in_words_over_a_hundred_is_read_whole() -> None:
    said = "Two hundred patients with malignant tumors were randomized to the study group or the control group."
    assert {v for v, _, _ in total_candidates([_text_page(said)])} == {200}
    hyphened = "Four-hundred patients were randomized to the two groups."
    assert {v for v, _, _ in total_candidates([_text_page(hyphened)])} == {400}


def test_no_withdrawals_for_one_reason_is_no_statement_that_nobody_left() -> None:
    assert no_losses([_text_page("There were no withdrawals due to study related adverse events.")]) is None
    assert no_losses([_text_page("There were no withdrawals.")]) is not None


def test_a_sub_header_wrapped_in_its_cells_gives_each_column_its_time_point() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Baseline and post 8-week data on psychological outcome measures")),
                   _line(112, (150, "Probiotic (n = 40)"), (330, "Placebo (n = 39)")),
                   _line(124, (150, "Baseline"), (210, "Post mean"), (330, "Baseline"), (390, "Post mean")),
                   _line(134, (150, "mean (SD)"), (210, "(SD)"), (330, "mean (SD)"), (390, "(SD)")),
                   _line(146, (50, "MADRS"), (150, "28.3 (6.1)"), (210, "19.3 (8.9)"), (330, "27.0 (6.3)"),
                         (390, "17.6 (9.5)")))
    assert [(v.arm, v.timepoint, v.mean, v.sd) for v in t.values] == [
        (0, "baseline", 28.3, 6.1), (0, "post", 19.3, 8.9), (1, "baseline", 27.0, 6.3), (1, "post", 17.6, 9.5)]


def test_a_heading_over_two_sub_columns_is_not_read_as_a_wrapped_cell() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Outcomes by group")),
                   _line(112, (150, "Coaching (n = 40)"), (330, "Control (n = 39)")),
                   _line(124, (165, "Week 8"), (345, "Week 8")),
                   _line(134, (150, "Mean"), (200, "SD"), (330, "Mean"), (380, "SD")),
                   _line(146, (50, "PHQ-9"), (150, "9.3"), (200, "4.1"), (330, "11.0"), (380, "4.6")))
    assert [(v.arm, v.mean, v.sd) for v in t.values] == [(0, 9.3, 4.1), (1, 11.0, 4.6)]


def _result(*names: str) -> ExtractionResult:
    return ExtractionResult(path="x.pdf", arms=[Arm(name=n) for n in names])


def _baseline_table(caption: str, n1: int, n2: int, kind: str = "baseline", values: list | None = None) -> Table:
    arms = [TableArm("Yoga", n1, f"Yoga (n = {n1})"), TableArm("Exercise", n2, f"Exercise (n = {n2})")]
    return Table(1, caption, kind, "baseline", "randomised" if "randomi" in caption else "", arms, values or [])


def test_a_baseline_table_of_fewer_than_the_stated_randomised_counts_the_analysed() -> None:
    candidates: dict = {}
    _table_candidates([_baseline_table("Table 1 Baseline characteristics", 87, 87)], _result("Yoga", "Exercise"),
                      candidates, 226)
    assert {key for key in candidates} == {(0, "n_analysed"), (1, "n_analysed")}
    candidates = {}
    _table_candidates([_baseline_table("Table 1 Baseline characteristics", 113, 113)],
                      _result("Yoga", "Exercise"), candidates, 226)
    assert {key for key in candidates} == {(0, "n_randomised"), (1, "n_randomised")}


def test_a_table_of_rates_or_of_what_was_delivered_gives_no_analysed_count() -> None:
    candidates: dict = {}
    _table_candidates([_baseline_table("Table 2 Rates of diagnoses during follow-up", 34, 35, kind="outcome")],
                      _result("Yoga", "Exercise"), candidates, None)
    assert candidates == {}


def test_arm_names_with_their_n_under_a_table_caption_are_a_table_header_not_a_flow_diagram() -> None:
    header = [_line(100, (50, "Table 1 Baseline characteristics")),
              _line(112, (50, "Variables"), (200, "Intervention group (N=45)"), (360, "Control group (N=42)"))]
    diagram = [_line(100, (118, "Intervention group (n = 50)"), (301, "Control group (n = 50)")),
               _line(140, (141, "Lost to follow-up (n = 5)"), (301, "Lost to follow-up (n = 8)"))]
    for rows, wanted in ((header, set()), (diagram, {50})):
        page = Page(4, "\n".join(join_words(r) for r in rows), "", [], rows, 595.0)
        assert {c.value for c in diagram_counts([page]) if c.field == "n_randomised"} == wanted


def _words(y: float, *cells: tuple[float, str], size: float = 7.6) -> list[Word]:
    return _line(y, *cells, size=size)


def test_a_label_pushed_down_by_its_footnote_mark_is_one_row_with_its_value_cells() -> None:
    label = _words(86.5, (52, "PHQ-9 (depressive symptoms), mean (SD)"))
    values = _words(84.0, (297, "12.74 (5.69)"), (375, "18.61 (4.86)"))
    (row,) = group_lines(label + values)
    assert join_words(row).startswith("PHQ-9") and join_words(row).endswith("18.61 (4.86)")
    # two column's prose lines a third of an em apart across a narrow gutter stay two lines
    left, right = _words(86.5, (50, "the participants were")), _words(84.0, (150, "recruited online"))
    assert len(group_lines(left + right)) == 2
    # nor a table's sub-header beside the other column's reference, nor values ending in a test statistic only
    head, ref = _words(101.7, (160, "n Mean SD n Mean SD")), _words(104.3, (312, "Psychiatry. 2011;42:855-863."))
    assert len(group_lines(head + ref)) == 2
    label, stat = _words(86.5, (52, "PTQ, mean (SD)")), _words(84.0, (297, "38.50"), (450, "t35=-1.98; P=.06"))
    assert len(group_lines(label + stat)) == 2


def test_a_test_statistic_right_of_the_arms_does_not_hide_the_rows_cells() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Characteristics of study participants")),
                   _line(112, (50, "Characteristics"), (300, "IG (n=21)"), (380, "CG (n=20)"), (450, "Differences")),
                   _line(124, (50, "Age, mean (SD)"), (300, "43.4 (12.7)"), (380, "44.5 (13.5)"),
                         (450, "t39=-0.26; P=.80")),
                   _line(136, (50, "PHQ-9, mean (SD)"), (300, "12.74 (5.69)"), (380, "18.61 (4.86)"),
                         (450, "t35=-3.37; P=.002")))
    assert [(v.measure, v.mean, v.sd) for v in t.values if v.arm == 0] == [
        ("Age, mean (SD)", 43.4, 12.7), ("PHQ-9, mean (SD)", 12.74, 5.69)]
