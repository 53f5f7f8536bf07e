"""Outcome tables whose columns are each arm at each time point, the baseline among them: shapes the released
probe splits of published reports print (``bench/bench_extract_fields.py --split pmc-probe`` / ``pmc-probe2``),
where a table was found but none of its rows was read."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._tables import find_tables
from tests.helpers import printed_line as _line


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _p(y: float, value: str) -> list:
    """A P value column's "NS P = 0.40", its words set tight as typesetters set them."""
    from metasift.extractor.layout import Word

    x, words = 475.0, []
    for text in ("NS", "P", "=", value):
        words.append(Word(text, x, x + 4.0 * len(text), y, 8.0))
        x += 4.0 * len(text) + 2.0
    return words


def _baselines(table) -> list[tuple[int, str, float, float]]:
    return [(v.arm, v.measure, v.mean, v.sd) for v in table.values if v.timepoint == "baseline"]


def test_a_p_value_column_between_the_time_points_leaves_the_arms_columns_readable() -> None:
    # "Baseline | p value | End of treatment | p value" over the arms: the "NS" under the first p value lies
    # between two arms' columns and is nobody's value (the arms are known from the baseline table's "(n = 20)")
    (table,) = _tables(
        _line(100, (49, "Table 2 Mean ± SD metabolic parameters at baseline and end of treatment")),
        _line(112, (126, "Baseline"), (292, "p value"), (338, "End of treatment"), (504, "p value")),
        _line(124, (126, "Losartan"), (209, "Telmisartan"), (338, "Losartan"), (421, "Telmisartan")),
        _line(136, (52, "HOMA-IR"), (126, "5.78 ± 3.53"), (209, "5.74 ± 3.35"), (292, "NS"), (338, "5.82 ± 2.66"),
              (421, "4.24 ± 2.36"), (504, "< 0.05")),
        _line(148, (52, "FPG"), (126, "110.05 ± 14.56"), (209, "109.08 ± 16.67"), (292, "NS"),
              (338, "113.20 ± 12.68"), (421, "100.00 ± 11.99"), (504, "< 0.05")), known=("Losartan", "Telmisartan"))
    assert table.skipped == 0
    assert _baselines(table) == [(0, "HOMA-IR", 5.78, 3.53), (1, "HOMA-IR", 5.74, 3.35),
                                 (0, "FPG", 110.05, 14.56), (1, "FPG", 109.08, 16.67)]
    assert {(v.arm, v.mean) for v in table.values if v.timepoint == "end of treatment"} >= {(2, 113.2), (3, 100.0)}


def test_a_narrow_table_wraps_the_label_and_each_sd_onto_the_line_below() -> None:
    # "Reaction  0.96 ±  0.74 ±" over "time (sec)  0.33  0.24": the label and every SD go on below
    (table,) = _tables(
        _line(100, (49, "Table 3 Outcome measures for each group")),
        _line(112, (100, "Exergaming (N = 10)"), (180, "Training (N = 10)"), (250, "P")),
        _line(124, (104, "Pre"), (142, "Post"), (180, "Pre"), (215, "Post")),
        _line(136, (52, "Reaction"), (104, "0.96 ±"), (142, "0.74 ±"), (180, "0.88 ±"), (215, "0.79 ±"),
              (250, "<0.001")),
        _line(146, (52, "time (sec)"), (108, "0.33"), (144, "0.24"), (183, "0.24"), (219, "0.18")),
        _line(158, (52, "Movement"), (104, "3.37 ±"), (142, "3.83 ±"), (180, "4.19 ±"), (215, "4.57 ±"),
              (250, "0.07")),
        _line(168, (52, "velocity"), (108, "1.35"), (146, "0.97"), (183, "1.54"), (219, "1.41")))
    assert [(v.arm, v.timepoint, v.measure, v.mean, v.sd) for v in table.values][:4] == [
        (0, "pre", "Reaction time (sec)", 0.96, 0.33), (0, "post", "Reaction time (sec)", 0.74, 0.24),
        (1, "pre", "Reaction time (sec)", 0.88, 0.24), (1, "post", "Reaction time (sec)", 0.79, 0.18)]
    assert {v.measure for v in table.values} == {"Reaction time (sec)", "Movement velocity"}


def test_a_row_whose_label_starts_with_pretreatment_is_that_measure_at_baseline() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 2 Comparing pain score in TENS and fentanyl groups")),
        _line(112, (250, "TENS (n = 40)"), (330, "Fentanyl (n = 40)"), (420, "P")),
        _line(124, (250, "Mean (SD)"), (330, "Mean (SD)")),
        _line(136, (52, "Pretreatment Pain"), (250, "9.02 (1.32)"), (330, "8.95 (1.33)"), (420, "0.80")),
        _line(148, (52, "Posttreatment pain (5 minutes)"), (250, "7.62 (2.33)"), (330, "5.52 (2.18)"), (420, "<0.001")))
    assert _baselines(table) == [(0, "Pain", 9.02, 1.32), (1, "Pain", 8.95, 1.33)]
    assert {v.measure for v in table.values if v.timepoint != "baseline"} == {"Posttreatment pain (5 minutes)"}


def test_arms_as_rows_under_a_measure_cell_beside_the_first_arm_read_each_arm_s_baseline() -> None:
    # "Test | Group | Baseline test value | End test value": the measure's cell and the arm's side by side, SDs in
    # square brackets, a significance mark printed as the asterisk operator in a column of its own
    (table,) = _tables(
        _line(100, (49, "Table 3 Results of the visual analogue scale (VAS) before and after treatment")),
        _line(112, (52, "Test"), (94, "Group"), (160, "Baseline test value"), (250, "End test value"), (380, "Sig."),
              (480, "Difference")),
        _line(124, (52, "VAS1"), (94, "Treatment"), (167, "58.3 [18.2]"), (252, "42.2 [21.1]"), (381, "∗"),
              (498, "16.1")),
        _line(136, (94, "Control"), (167, "51.8 [18.8]"), (252, "30.6 [21.9]"), (381, "∗"), (498, "21.2")),
        _line(148, (52, "RM"), (94, "Treatment"), (167, "9.8 [5.1]"), (252, "6.4 [4.4]"), (381, "∗"), (498, "3.4")),
        _line(160, (94, "Control"), (167, "9.3 [5.5]"), (252, "6.1 [4.6]"), (381, "∗"), (498, "3.2")),
        known=("Treatment group", "Control group"))
    assert [a.name for a in table.arms] == ["Treatment group", "Control group"]
    assert _baselines(table) == [(0, "VAS1", 58.3, 18.2), (1, "VAS1", 51.8, 18.8), (0, "RM", 9.8, 5.1),
                                 (1, "RM", 9.3, 5.5)]


def test_a_count_wrapped_under_its_arm_beside_another_column_s_header_and_counts_per_category() -> None:
    # "Control group (N" / "= 26)" beside "Significance of difference"; "Male n = 15  Male n = 13" is a count per
    # arm of one category, not another block of groups
    (table,) = _tables(
        _line(100, (49, "Table 2 Basic characteristics of the groups.")),
        _line(112, (310, "Treatment group"), (379, "Control group (N")),
        _line(122, (325, "(N = 28)"), (400, "= 26)"), (454, "Significance of difference")),
        _line(134, (52, "Age"), (325, "52.6 ± 7.4"), (400, "50.8 ± 8.2")) + _p(134, "0.40"),
        _line(146, (52, "Gender"), (325, "Male n = 15"), (400, "Male n = 13")) + _p(146, "0.79"),
        _line(158, (325, "Female n = 13"), (400, "Female n = 13")),
        _line(170, (52, "Duration of pain (weeks)"), (325, "10.8 ± 2.4"), (400, "11.9 ± 3.9")) + _p(170, "0.22"))
    assert [(a.name, a.n) for a in table.arms] == [("Treatment group", 28), ("Control group", 26)]
    assert [(v.arm, v.measure, v.mean) for v in table.values] == [
        (0, "Age", 52.6), (1, "Age", 50.8), (0, "Duration of pain (weeks)", 10.8), (1, "Duration of pain (weeks)", 11.9)]
