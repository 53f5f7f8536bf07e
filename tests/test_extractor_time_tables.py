"""Outcome tables whose columns are each arm at each time point, the baseline among them: shapes the released
probe splits of published reports print (``bench/bench_extract_fields.py --split pmc-probe`` / ``pmc-probe2``),
where a table was found but none of its rows was read."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._tables import find_tables
from tests.helpers import printed_line as _line


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


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
