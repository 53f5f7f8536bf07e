"""Shapes of published reports the checks let through while they were held out (``bench/bench_extract_fields.py
--split pmc-probe5``, the ninth batch, released for reading once an eleventh held out in its place): a measure
printed at baseline in two tables with other values, where the table that names the arms without counts and
declares no statistic went unread; a "t value" column read as an arm; arm names whose dose wraps over two header
lines; and sentences whose counts are a denominator, the excluded, or one arm's."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import no_losses, prose_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._values import UNDECLARED
from tests.helpers import printed_line as _line
from tests.helpers import text_page


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _counts(text: str) -> set[tuple[str, str, int]]:
    return {(c.field, c.arm, c.value) for c in prose_counts([text_page(text)])}


def _named_baseline_table() -> list:
    # "Table 2 Baseline characteristics ..." whose header names the arms without their n, beside a t and a P
    # column, and whose cells "15.3 (8.7)" nothing declares
    return _tables(
        _line(100, (49, "Table 2 Baseline characteristics of participants in intervention and control groups.")),
        _line(112, (49, "Characteristic"), (230, "Intervention"), (330, "Control"), (430, "t value"), (490, "P value")),
        _line(124, (49, "Male"), (230, "17"), (330, "19"), (490, "0.420")),
        _line(136, (49, "Female"), (230, "38"), (330, "36")),
        _line(148, (49, "Age"), (230, "35.5 (16.0)"), (330, "32.9 (13.0)"), (430, "0.944"), (490, "0.347")),
        _line(160, (49, "SR (cm)"), (230, "15.3 (8.7)"), (330, "13.1 (11.2)"), (430, "1.171"), (490, "0.244")))


def test_a_t_value_column_beside_arms_named_without_counts_is_no_arm() -> None:
    (table,) = _named_baseline_table()
    assert [a.name for a in table.arms] == ["Intervention", "Control"]


def test_undeclared_cells_of_arms_without_counts_are_read_for_a_human_when_no_count() -> None:
    # a mean with decimals is no count, so "15.3 (8.7)" is read as mean (SD) with the doubt that nothing says so;
    # "17" over "19" (sex counts) stays unread
    (table,) = _named_baseline_table()
    read = {(v.arm, v.measure): (v.mean, v.sd, v.doubt) for v in table.values}
    assert read[(0, "SR (cm)")] == (15.3, 8.7, UNDECLARED)
    assert read[(1, "SR (cm)")] == (13.1, 11.2, UNDECLARED)
    assert not any(m in ("Male", "Female") for _, m in read)


def test_a_dose_wrapped_above_the_line_over_the_n_is_part_of_the_arm_name() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 1 Demographic and baseline characteristics (FAS)")),
        _line(112, (185, "Dapagliflozin 10 mg once daily + exenatide 2 mg"), (384, "Placebo oral tablet once daily + placebo")),
        _line(124, (250, "once weekly"), (417, "injection once weekly")),
        _line(136, (262, "n = 25"), (445, "n = 24")),
        _line(148, (49, "Body weight, kg"), (260, "106.43 (15.55)"), (440, "102.72 (17.26)")))
    assert [(a.name, a.n) for a in table.arms] == [
        ("Dapagliflozin 10 mg once daily + exenatide 2 mg once weekly", 25),
        ("Placebo oral tablet once daily + placebo injection once weekly", 24)]


def test_a_number_with_its_unit_names_a_dose_and_a_number_alone_is_a_value() -> None:
    from metasift.extractor._header import _values_in

    assert not _values_in(_line(112, (185, "Dapagliflozin 10 mg once daily + exenatide 2 mg")))
    assert not _values_in(_line(112, (185, "Yoga 3 sessions/week")))
    assert _values_in(_line(112, (230, "12.5"), (330, "14.1")))
    assert _values_in(_line(112, (230, "Exercise 12"), (330, "Control 14")))


def test_the_number_after_out_of_is_a_denominator_not_a_count() -> None:
    said = ("One participant out of 23 in the multi-domain training group and one in the single-domain training "
            "group were excluded because of left-handedness.")
    assert not any(value == 23 for _, _, value in _counts(said))


def test_a_total_of_a_pair_is_still_a_pair() -> None:
    said = "A total of 40 in the intervention group and 38 in the control group were analysed."
    assert _counts(said) == {("n_analysed", "intervention", 40), ("n_analysed", "control", 38)}


def test_those_removed_and_not_included_in_the_analysis_are_not_the_analysed() -> None:
    said = ("Due primarily to non-compliance, 4 participants from the placebo group, 7 participants from the 12 mg "
            "group, and 5 participants from the 24 mg group were removed from the study and were not included in "
            "the final analysis.")
    assert not any(field == "n_analysed" for field, _, _ in _counts(said))


def test_all_of_one_arm_completing_is_no_statement_about_every_arm() -> None:
    one = text_page("No serious adverse events were reported in the aripiprazole group, in which all patients "
                    "completed the study.")
    every = text_page("All participants completed the study.")
    assert no_losses([one]) is None
    assert no_losses([every]) is not None


def test_a_percent_sign_set_apart_from_its_number_leaves_the_rows_below_readable() -> None:
    # "Male  4 (40 %)": read as a line without cells, it passed for a sub-header declaring counts, and every row
    # under it (the outcome's among them) was taken for a count
    (table,) = _tables(
        _line(100, (49, "Table 1 Baseline subject characteristics")),
        _line(112, (52, "Variable"), (250, "Placebo (n = 10)"), (350, "12 mg (n = 24)"), (450, "24 mg (n = 25)")),
        _line(124, (52, "Age (years)"), (250, "21.71 ± 0.98"), (350, "21.23 ± 0.95"), (450, "21.68 ± 1.06")),
        _line(136, (52, "Male"), (265, "4 (40 %)"), (365, "10 (42 %)"), (465, "13 (52 %)")),
        _line(148, (52, "Female"), (265, "6 (60 %)"), (365, "14 (58 %)"), (465, "12 (48 %)")),
        _line(160, (52, "MPOD"), (250, "0.527 ± 0.213"), (350, "0.488 ± 0.248"), (450, "0.511 ± 0.202")))
    assert {(v.arm, v.mean) for v in table.values if v.measure == "MPOD"} == {(0, 0.527), (1, 0.488), (2, 0.511)}


def test_an_arm_named_by_a_letter_keeps_its_letter_before_the_verb() -> None:
    said = "We assumed that 23 patients in Arm A and 24 patients in Arm B were eligible for the analysis."
    assert _counts(said) == {("n_analysed", "Arm A", 23), ("n_analysed", "Arm B", 24)}


def test_an_arm_named_with_an_ampersand_is_one_arm() -> None:
    said = ("Participants were randomly allocated to General Exercise & Manual therapy group (n=22) and General "
            "exercise therapy group (n=22) by simple randomization method.")
    names = {arm for field, arm, _ in _counts(said) if field == "n_randomised"}
    assert not any(name.lower().startswith("manual") for name in names)
    assert any("&" in name for name in names)


def test_time_points_centred_over_repeated_arms_date_them_in_turn_and_a_section_total_is_its_own() -> None:
    # "Pre-test" and "Post-test" each centred over "Control  Experimental", starting right of the first arm's
    # column; "Impulsivity" under the "M  SD" line opens the body, and its "Total" row totals that section
    (table,) = _tables(
        _line(100, (49, "Table 1 Pre-test and post-test means and standard deviations for the control and "
                        "experimental groups.")),
        _line(112, (190, "Pre-test"), (400, "Post-test")),
        _line(124, (140, "Control"), (240, "Experimental"), (350, "Control"), (450, "Experimental")),
        _line(136, (52, "Variable"), (140, "M"), (180, "SD"), (240, "M"), (280, "SD"), (350, "M"), (390, "SD"),
              (450, "M"), (490, "SD")),
        _line(148, (52, "Impulsivity")),
        _line(160, (52, "Cognitive"), (140, "22.98"), (180, "4.84"), (240, "23.48"), (280, "4.79"), (350, "23.45"),
              (390, "4.28"), (450, "18.93"), (490, "3.95")),
        _line(172, (52, "Total"), (140, "84.22"), (180, "11.04"), (240, "82.49"), (280, "10.27"), (350, "82.89"),
              (390, "11.04"), (450, "71.2"), (490, "9.16")),
        _line(184, (52, "Aggressiveness")),
        _line(196, (52, "Physical"), (140, "27.21"), (180, "5.28"), (240, "28.07"), (280, "5.49"), (350, "26.87"),
              (390, "4.51"), (450, "24.17"), (490, "4.14")), known=("control", "experimental"))
    pre = {(v.arm, v.measure): (v.mean, v.sd) for v in table.values if v.timepoint == "pre-test"}
    assert pre[(0, "Impulsivity Total")] == (84.22, 11.04)
    assert pre[(1, "Impulsivity Total")] == (82.49, 10.27)
    post = {(v.arm, v.measure): v.mean for v in table.values if v.timepoint == "post-test"}
    assert post[(3, "Impulsivity Total")] == 71.2
