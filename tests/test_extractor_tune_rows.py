"""Rows of outcome tables that hold a measure's baseline though the table is about later time points, found on the
tuned halves of the published-report corpus (``bench/bench_extract_fields.py --split pmc-tune``): a run-in week or
period (measured before randomisation), and a row labelled by its statistic alone under the measure's line."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._header import caption_kind
from metasift.extractor._tables import find_tables
from tests.helpers import printed_line as _line


def _baselines(lines: list) -> list[tuple[str, str | None, float | None, float | None]]:
    (table,) = find_tables([SimpleNamespace(number=5, rows=lines, width=595.0)], [])
    return [(table.arms[v.arm].name, v.timepoint, v.mean, v.sd) for v in table.values if v.timepoint == "baseline"]


def test_a_run_in_week_row_under_its_measure_is_that_measures_baseline() -> None:
    lines = [_line(100, (50, "Table 3 Mean scores (SD) for main outcomes")),
             _line(112, (200, "Group A (n = 6)"), (280, "Group B (n = 6)")),
             _line(124, (50, "MPSS")),
             _line(136, (50, "Run-in week"), (200, "12.5 (2.9)"), (280, "11.1 (2.2)")),
             _line(148, (50, "Week 4"), (200, "10.1 (3.0)"), (280, "9.8 (2.5)"))]
    assert _baselines(lines) == [("Group A", "baseline", 12.5, 2.9), ("Group B", "baseline", 11.1, 2.2)]


def test_a_run_in_period_caption_is_a_baseline_tables_and_a_statistic_row_takes_the_measure_above_it() -> None:
    assert caption_kind("Table 2 Run-in period results")[:2] == ("baseline", "baseline")
    assert caption_kind("Table 3 Results after the run-in period")[0] == "outcome"
    lines = [_line(100, (50, "Table 2 Run-in period results")),
             _line(112, (200, "Valerian (N=202)"), (300, "Placebo (N=203)")),
             _line(124, (50, "Sleep quality (1-7)")),
             _line(136, (50, "Mean (standard deviation)"), (200, "3.89 (0.83)"), (300, "3.91 (0.75)")),
             _line(148, (50, "Median (range)"), (200, "3.93 (1.00–6.36)"), (300, "3.93 (1.29–6.14)")),
             _line(160, (50, "Night awakenings (1-7)")),
             _line(172, (50, "Mean (standard deviation)"), (200, "2.53 (0.93)"), (300, "2.40 (0.80)"))]
    (table,) = find_tables([SimpleNamespace(number=7, rows=lines, width=595.0)], [])
    means = [(v.measure, v.mean, v.sd) for v in table.values if v.sd is not None]
    assert means == [("Sleep quality, Mean (standard deviation)", 3.89, 0.83),
                     ("Sleep quality, Mean (standard deviation)", 3.91, 0.75),
                     ("Night awakenings, Mean (standard deviation)", 2.53, 0.93),
                     ("Night awakenings, Mean (standard deviation)", 2.40, 0.80)]


def test_a_time_point_row_that_names_its_statistic_is_still_a_time_point_row() -> None:
    lines = [_line(100, (50, "Table 4 Halitosis score over time")),
             _line(112, (200, "Group A (n = 19)"), (280, "Group B (n = 13)")),
             _line(124, (50, "Halitosis VAS")),
             _line(136, (50, "Before, mean (SD)"), (200, "5.35 (4.2)"), (280, "5.88 (1.45)")),
             _line(148, (50, "Month 1, mean (SD)"), (200, "3.54 (3.7)"), (280, "7.16 (1.99)"))]
    assert _baselines(lines) == [("Group A", "baseline", 5.35, 4.2), ("Group B", "baseline", 5.88, 1.45)]


def test_a_total_row_is_the_total_of_the_scale_the_caption_or_the_line_above_names() -> None:
    def measures(lines: list) -> list[str]:
        (table,) = find_tables([SimpleNamespace(number=4, rows=lines, width=595.0)], [])
        return [v.measure for v in table.values if table.arms[v.arm].name == "Resistance"]

    header = _line(112, (200, "Resistance (n = 18)"), (300, "Aerobic (n = 18)"))
    assert measures([_line(100, (50, "Table 3 MRS subscale points")), header,
                     _line(124, (50, "Somatic"), (200, "5.1 ± 2.2"), (300, "6.0 ± 3.1")),
                     _line(136, (50, "Total"), (200, "14.2 ± 6.2"), (300, "18.3 ± 8.3"))]) == \
        ["Somatic", "MRS subscale points Total"]
    assert measures([_line(100, (50, "Table 4 Secondary outcomes")), header,
                     _line(124, (50, "BDI")),
                     _line(136, (50, "Total score"), (200, "11.0 ± 4.0"), (300, "12.5 ± 5.0"))]) == ["BDI Total score"]


def test_a_table_beside_another_with_its_cells_set_at_their_foot_keeps_its_arms_names() -> None:
    # Table 1 in the left column, Table 2 in the right; Table 1's header cells sit at their foot, so its label
    # column's "Variable" falls between the two lines of each arm's name, and Table 2's header shares the lines
    lines = [_line(56, (308, "Table 2 Intervention effects on clinical measures")),
             _line(62, (49, "Table 1 Baseline characteristics")),
             _line(74, (107, "All"), (155, "Intervention"), (211, "Supplement"), (265, "P-")),
             _line(78, (52, "Variable"), (514, "Effect"), (538, "P-")),
             _line(82, (107, "(N=34)"), (155, "group (N=17)"), (211, "group (N=17)"), (265, "value"),
                   (354, "Intervention"), (433, "Supplement")),
             _line(94, (52, "Age, years"), (107, "57 (6)"), (155, "57 (6)"), (211, "58 (6)"), (265, "0.48"),
                   (354, "5.3 (2.7)"), (433, "5.8 (2.4)")),
             _line(106, (52, "Weight, kg"), (107, "104 (23)"), (155, "102 (23)"), (211, "106 (24)"), (265, "0.70"),
                   (354, "2.1 (0.9)"), (433, "2.0 (1.1)"))]
    for k in range(10):  # more rows of both tables
        lines.append(_line(118 + 12 * k, (52, f"Item {k}"), (107, "10 (2)"), (155, "11 (2)"), (211, "9 (2)"),
                           (265, "0.5"), (354, f"{k}.1 (0.9)"), (433, f"{k}.2 (1.0)")))
    for k in range(10, 40):  # the two columns' prose under the tables, so the page has a gutter
        lines.append(_line(140 + 12 * k, (49, "prose of the left column runs on here"),
                           (308, "and prose of the right column runs on here")))
    tables = find_tables([SimpleNamespace(number=6, rows=lines, width=595.0)], [])
    baseline = next(t for t in tables if t.caption.startswith("Table 1"))
    assert [a.name for a in baseline.arms] == ["All", "Intervention group", "Supplement group"]
    assert [(baseline.arms[v.arm].name, v.mean) for v in baseline.values if v.measure == "Age, years"
            and not baseline.arms[v.arm].total] == [("Intervention group", 57.0), ("Supplement group", 58.0)]


def test_a_table_ends_at_the_gutter_when_the_table_beside_it_shares_its_header_line() -> None:
    from metasift.extractor._tables import column_end

    rows = [_line(56, (308, "Table 2 Intervention effects")),
            _line(62, (49, "Table 1 Baseline characteristics")),
            _line(82, (107, "(N=34)"), (155, "(N=17)"), (211, "(N=17)"), (354, "Intervention"), (433, "Control")),
            *[_line(94 + 12 * k, (52, f"Item {k}"), (107, "10 (2)"), (155, "11 (2)"), (211, "9 (2)"),
                    (354, f"{k}.1 (0.9)"), (433, f"{k}.2 (1.0)")) for k in range(10)]]
    assert column_end(rows, 1, 0, 297.5) == 297.5


def test_a_baseline_header_naming_its_columns_after_an_all_participants_column_gives_the_arms() -> None:
    from metasift.extractor._header import arms_by_name

    names = _line(100, (310, "Condition"), (403, "All"), (435, "MoodGYM"), (485, "CBT"), (524, "IPT"))
    rows = [_line(112, (310, "Female, n (%)"), (390, "1334 (72.38)"), (434, "438 (71.45)"), (486, "445"),
                  (524, "451")),
            _line(124, (310, "Age, years"), (390, "41.2 (12.0)"), (434, "41.5 (11.8)"), (486, "40.9 (12.1)"),
                  (524, "41.1 (12.2)")),
            _line(136, (310, "CES-D"), (390, "36.01 (11.52)"), (434, "35.34 (11.61)"), (486, "36.29 (11.04)"),
                  (524, "36.38 (11.86)"))]
    arms, spans = arms_by_name(names, rows)
    assert [a.name for a in arms] == ["MoodGYM", "CBT", "IPT"]
    assert [round(x0) for x0, _ in spans] == [435, 485, 524]
    # the names on the header's first line, its last holding only the total's wrapped "participants"
    lines = [_line(88, (310, "Table 1 Baseline characteristics of participants")), names,
             _line(106, (389, "participants")), *rows]
    (table,) = find_tables([SimpleNamespace(number=5, rows=lines, width=595.0)], [])
    assert [a.name for a in table.arms] == ["MoodGYM", "CBT", "IPT"]


def test_an_arm_name_keeps_the_close_of_a_bracket_it_opens() -> None:
    from metasift.extractor._header import _clean_name

    assert _clean_name("Group II (block only)") == "Group II (block only)"
    assert _clean_name("Control (HealthWatch)") == "Control (HealthWatch)"
    assert _clean_name("(block + LPNIR)") == "block + LPNIR"  # brackets around the whole cell go
    assert _clean_name("Intervention, M (SD)") == "Intervention"
