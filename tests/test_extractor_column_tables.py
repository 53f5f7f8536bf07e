"""Tables set in one column of a two-column page (found by setting pmc-tune's articles in other layouts,
``bench/bench_extract_fields.py --split pmc2-tune``): two tables side by side with their captions on one line,
and a table beside the rest of itself broken into the next column; an arm name broken after its hyphen."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._header import _clean_name
from metasift.extractor._tables import find_tables
from tests.helpers import printed_line as _line

# a page's prose lines in both columns, so the page has a gutter (at 45% to 55% of 595 pt) to find
_PROSE = [_line(30 + 10 * k, (49, "words of the left column set in a justified line"),
                (308, "words of the right column set in a line as well")) for k in range(10)]


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=[*_PROSE, *rows], width=595.0)], list(known))


def test_two_captions_on_one_line_are_two_tables_each_read_in_its_column() -> None:
    tables = _tables(
        _line(150, (49, "Table 1 Baseline characteristics"), (308, "Table 2 Depression at 12 weeks")),
        _line(162, (52, "Characteristic"), (150, "Active (n = 40)"), (220, "Control (n = 38)"),
              (311, "Measure"), (400, "Active (n = 39)"), (470, "Control (n = 36)")),
        _line(174, (52, "Age, years"), (150, "41.2 (9.0)"), (220, "40.8 (8.7)"),
              (311, "PHQ-9"), (400, "8.1 (4.2)"), (470, "10.3 (4.9)")),
        _line(186, (52, "BMI"), (150, "27.1 (4.0)"), (220, "26.5 (3.8)"),
              (311, "GAD-7"), (400, "6.0 (3.1)"), (470, "7.2 (3.5)")),
        _line(210, (49, "more words of the left column set in a line"),
              (308, "more words of the right column set in a line")))
    assert [t.caption.split()[1] for t in tables] == ["1", "2"]
    first, second = tables
    assert [(a.name, a.n) for a in first.arms] == [("Active", 40), ("Control", 38)]
    assert {v.measure for v in first.values} == {"Age, years", "BMI"}  # nothing of the table beside it
    assert [(second.arms[v.arm].name, v.measure, v.mean, v.sd) for v in second.values
            if v.measure == "PHQ-9"] == [("Active", "PHQ-9", 8.1, 4.2), ("Control", "PHQ-9", 10.3, 4.9)]


def test_a_table_beside_the_rest_of_itself_in_the_next_column_is_read_in_its_own() -> None:
    # the typesetter broke the table into the next column: its last rows and its note lie right of the gutter,
    # each on a line of its own between the table's first rows
    (table,) = _tables(
        _line(150, (49, "Table 1 Baseline characteristics of subjects.")),
        _line(158, (311, "TUG Test (seconds)*"), (421, "8.27 ± 1.76"), (486, "9.34 ± 2.47")),
        _line(166, (52, "Characteristics"), (162, "NMES + Ex"), (226, "Ex")),
        _line(174, (311, "WOMAC pain score*"), (421, "8.72 ± 4.20"), (486, "10.32 ± 3.54")),
        _line(182, (52, "N"), (162, "50"), (226, "50")),
        _line(190, (311, "WOMAC stiffness score*"), (421, "3.64 ± 2.15"), (486, "3.66 ± 2.64")),
        _line(198, (52, "Age*"), (162, "60.60 ± 6.72"), (226, "61.50 ± 6.94")),
        _line(206, (308, "Note. *Data are presented as mean ± SD.")),
        _line(214, (52, "BMI*"), (162, "30.08 ± 3.80"), (226, "29.72 ± 4.11")),
        known=("NMES + Ex", "Ex"))
    assert [(a.name, a.n) for a in table.arms] == [("NMES + Ex", 50), ("Ex", 50)]
    assert [(table.arms[v.arm].name, v.measure, v.mean) for v in table.values] == [
        ("NMES + Ex", "Age", 60.6), ("Ex", "Age", 61.5), ("NMES + Ex", "BMI", 30.08), ("Ex", "BMI", 29.72)]


def test_a_table_across_the_page_is_not_cut_at_the_gutter() -> None:
    (table,) = _tables(
        _line(150, (49, "Table 1 Baseline characteristics")),
        _line(162, (52, "Characteristic"), (250, "Active (n = 40)"), (420, "Control (n = 38)")),
        _line(174, (52, "Age, years"), (250, "41.2 (9.0)"), (420, "40.8 (8.7)")),
        _line(186, (52, "BMI"), (250, "27.1 (4.0)"), (420, "26.5 (3.8)")),
        _line(198, (52, "PHQ-9"), (250, "12.0 (3.4)"), (420, "11.8 (3.3)")))
    assert [(a.name, a.n) for a in table.arms] == [("Active", 40), ("Control", 38)]
    assert len(table.values) == 6


def test_an_arm_name_broken_after_its_hyphen_is_joined() -> None:
    assert _clean_name("Active (E- couch)") == "Active (E-couch)"
    assert _clean_name("Pre- and post-test group") == "Pre- and post-test group"  # a word after: not joined


def test_a_label_wrapped_under_its_values_stays_with_its_row_before_an_anxiety_row() -> None:
    # the row's values sit on the first line of its label; "intervention" is the label's end, not an instrument
    # named over subscale rows ("Anxiety score" reads like one)
    (table,) = _tables(
        _line(150, (49, "Table 2 Scores before and after the intervention")),
        _line(162, (242, "Intervention (n = 104)"), (327, "Control (n = 104)")),
        _line(174, (52, "Anxiety score (Zung), before the"), (242, "45.01 ± 6.9"), (327, "39.47 ± 9.9")),
        _line(184, (52, "intervention")),
        _line(196, (52, "Anxiety score (Zung), after the"), (242, "38.71 ± 6.1"), (327, "44.38 ± 7.6")),
        _line(206, (52, "intervention")))
    assert [(v.measure, v.timepoint, v.mean) for v in table.values if v.arm == 0] == [
        ("Anxiety score (Zung)", "baseline", 45.01),
        ("Anxiety score (Zung), after the intervention", "post", 38.71)]


def test_a_value_right_of_its_n_under_a_name_set_flush_right_is_that_arms() -> None:
    # cells and header set flush right: each arm's name ends over its value, right of its n, so the value lies
    # nearer the next arm's n than its own
    (table,) = _tables(
        _line(150, (49, "Table 1 Baseline comparability of the randomised groups")),
        _line(162, (222, "BASELINE VALUES"), (367, "Intervention"), (499, "Usual care")),
        _line(174, (311, "n"), (432, "n")),
        _line(186, (52, "SF-12 Mental component: mean (SD)"), (307, "18"), (375, "39.9 (7.6)"), (428, "17"),
              (499, "37.5 (8.2)")),
        known=("intervention", "usual care"))
    assert [(table.arms[v.arm].name, v.mean, v.sd, v.n) for v in table.values] == [
        ("intervention", 39.9, 7.6, 18), ("usual care", 37.5, 8.2, 17)]


def test_a_count_wrapped_beside_the_stub_header_set_low_finishes_each_arms_n() -> None:
    (table,) = _tables(
        _line(150, (49, "Table 1 Physical characteristics of the subjects at baseline.")),
        _line(162, (391, "Control (n ="), (447, "Taekwondo (n ="), (515, "p Value")),
        _line(171, (311, "Group Variables"), (391, "15)"), (447, "15)"), (515, "*")),
        _line(184, (311, "Age (years)"), (391, "11.2 ± 0.6"), (447, "11.3 ± 0.5"), (515, "0.776")))
    assert [(a.name, a.n) for a in table.arms] == [("Control", 15), ("Taekwondo", 15)]


def test_a_caption_does_not_run_on_into_the_next_tables_caption() -> None:
    tables = _tables(
        _line(150, (308, "Table 2 Training programs.")),
        _line(162, (308, "Table 4 Changes in mood state.")),
        _line(174, (360, "Control (n = 15)"), (440, "Taekwondo (n = 15)")),
        _line(186, (311, "Depression"), (360, "2.20 ± 0.68"), (440, "2.20 ± 0.73")))
    assert [t.caption for t in tables] == ["Table 4 Changes in mood state."]


def test_a_row_whose_cells_end_in_a_test_statistic_joins_its_label_set_a_little_apart() -> None:
    # the other column's prose shares the label's line, so the layout could not join the label (2.5 pt lower,
    # its raised mark) and the cells ending in "t35=−3.37;"
    (table,) = _tables(
        _line(150, (308, "Table 1 Characteristics of study participants.")),
        _line(162, (429, "IG (n=21)"), (467, "CG (n=20)"), (510, "Test")),
        _line(180.0, (429, "12.74"), (467, "18.61"), (504, "t35=−3.37;")),
        _line(182.5, (49, "training group at least once."), (311, "PHQ-9 (depressive symptoms),")),
        _line(192, (311, "mean (SD)"), (429, "(5.69)"), (466, "(4.86)"), (510, "P=.002")))
    assert [(table.arms[v.arm].name, v.mean, v.sd) for v in table.values] == [("IG", 12.74, 5.69), ("CG", 18.61, 4.86)]
