"""Sections inside a table body (PMC tune papers, sixth session): a line of "(n = X)" alone that says how many
the rows under it count, bulleted items named by the line they are listed under, a "Mean (SD)" sub-header part
way down whose ")" the line cut off, and measure names with words that name no measure between theirs."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._tables import find_tables
from metasift.extractor._values import SUB_N
from metasift.extractor.outcomes import instrument_matches
from tests.helpers import printed_line as _line


def _tables(*rows: list) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], [])


_HEAD = (_line(100, (50, "Table 1 Baseline characteristics")),
         _line(112, (200, "Total"), (280, "Home Group"), (360, "Clinic Group")),
         _line(122, (200, "(n = 126)"), (280, "(n = 65)"), (360, "(n = 61)")),
         _line(132, (200, "Mean (SD)"), (280, "Mean (SD)"), (360, "Mean (SD)")),
         _line(144, (50, "Mean age (years)"), (200, "68.5 (14.1)"), (280, "68.3 (15.3)"), (360, "68.7 (12.9)")),
         _line(156, (50, "SF12 Scores")))


def test_a_line_of_counts_alone_gives_the_bulleted_rows_under_it_their_n_and_their_heading() -> None:
    (t,) = _tables(*_HEAD,
                   _line(166, (280, "(n = 58)"), (360, "(n = 52)")),
                   _line(178, (50, "• Mental Component"), (200, "49.7 (11.0)"), (280, "50.9 (10.8)"),
                         (360, "48.4 (11.2)")),
                   _line(190, (50, "• Physical component"), (200, "35.1 (9.9)"), (280, "35.5 (10.3)"),
                         (360, "34.7 (9.7)")),
                   _line(202, (50, "Diathesis in years"), (200, "14.2 (15.9)"), (280, "11.0 (13.8)"),
                         (360, "18.2 (17.7)")))
    got = [(t.arms[v.arm].name, v.measure, v.mean, v.n, v.doubt) for v in t.values]
    assert ("Home Group", "SF12 Scores Mental Component", 50.9, 58, "") in got
    assert ("Clinic Group", "SF12 Scores Physical component", 34.7, 52, "") in got
    # the bulleted run ends the counts' reach: the next row counts the arms' n again
    assert ("Home Group", "Diathesis in years", 11.0, 65, "") in got
    assert ("Home Group", "Mean age (years)", 68.3, 65, "") in got


def test_counts_over_rows_that_are_not_a_list_reach_down_to_the_next_heading_and_go_to_a_human() -> None:
    (t,) = _tables(*_HEAD,
                   _line(166, (280, "(n = 58)"), (360, "(n = 52)")),
                   _line(178, (50, "Mental Component"), (200, "49.7 (11.0)"), (280, "50.9 (10.8)"),
                         (360, "48.4 (11.2)")))
    (home,) = [v for v in t.values if v.measure == "Mental Component" and v.arm == 1]
    assert (home.n, home.doubt) == (58, SUB_N)
    assert "(n = 58)" in home.quote


def test_counts_under_a_line_that_names_other_groups_are_another_block_not_a_sub_sample() -> None:
    assert _tables(_line(100, (50, "Table 2 Adverse events")),
                   _line(112, (200, "Placebo"), (280, "Low dose")),
                   _line(122, (200, "(n = 16)"), (280, "(n = 6)")),
                   _line(134, (50, "Headache"), (200, "2 (12.5)"), (280, "0 (0.0)")),
                   _line(146, (50, "Part 2"), (200, "Placebo"), (280, "High dose")),
                   _line(156, (200, "(n = 9)"), (280, "(n = 9)")),
                   _line(168, (50, "Headache"), (200, "2 (22.2)"), (280, "1 (11.1)"))) == []


def test_a_row_that_prints_its_n_beside_a_percentage_is_no_line_of_counts() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Patient characteristics at baseline")),
                   _line(112, (200, "Abatacept (n = 43)"), (300, "Rituximab (n = 46)")),
                   _line(124, (50, "Mean age (SD)"), (200, "56.2 (9.9)"), (300, "57.1 (11.1)")),
                   _line(136, (50, "Female sex, %"), (200, "88.4 (n = 38)"), (300, "63.0 (n = 29)")),
                   _line(148, (50, "Mean DAS28 (SD)"), (200, "4.74 (1.46)"), (300, "4.87 (1.24)")))
    assert [(v.measure, v.mean, v.n) for v in t.values if v.arm == 0] == [("Mean age (SD)", 56.2, 43),
                                                                          ("Mean DAS28 (SD)", 4.74, 43)]


def test_a_mean_sd_sub_header_part_way_down_makes_the_rows_under_it_means_even_without_its_closing_bracket() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics")),
                   _line(112, (200, "Home Group"), (300, "Clinic Group")),
                   _line(122, (200, "(n = 65)"), (300, "(n = 61)")),
                   _line(132, (200, "n (%)"), (300, "n (%)")),
                   _line(144, (50, "Female"), (200, "35 (53.8)"), (300, "36 (59.0)")),
                   _line(156, (50, "Continuous variables"), (200, "Mean (SD)"), (300, "Mean (SD")),
                   _line(168, (50, "Age (years)"), (200, "68.3 (15.3)"), (300, "68.7 (12.9)")))
    assert [(v.measure, v.mean, v.sd) for v in t.values] == [("Age (years)", 68.3, 15.3), ("Age (years)", 68.7, 12.9)]


def test_words_that_name_no_measure_may_stand_between_the_words_of_an_instruments_name() -> None:
    assert instrument_matches("SF12 Mental Component", "SF12 Scores Mental Component")
    assert instrument_matches("SF-12 Mental Component score", "SF12 Scores Mental Component")
    assert not instrument_matches("SF12 Mental Component", "SF12 Scores Physical Component")
    assert instrument_matches("Total score", "Total score")  # an instrument named by such words alone keeps them


def test_a_construct_word_inside_an_instruments_name_does_not_split_the_name() -> None:
    # "state" names the STAI's state anxiety, and is also a word of the Mini-Mental State Examination
    assert instrument_matches("Mini-Mental State Examination", "Mini-Mental State Examination")
    assert instrument_matches("STAI state", "STAI state anxiety") and not instrument_matches("STAI state", "STAI trait")


def test_a_row_measured_before_the_intervention_is_the_baseline() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Outcomes by group")),
                   _line(112, (300, "Intervention (n = 104)"), (400, "Control (n = 104)")),
                   _line(124, (50, "Anxiety score (Zung), before the intervention"), (300, "45.01 ± 6.9"),
                         (400, "39.47 ± 9.9")),
                   _line(136, (50, "Anxiety score (Zung), after the intervention"), (300, "38.71 ± 6.1"),
                         (400, "44.38 ± 7.6")))
    assert {(v.measure, v.timepoint, v.mean) for v in t.values if v.arm == 0} == {
        ("Anxiety score (Zung)", "baseline", 45.01), ("Anxiety score (Zung), after the intervention", "post", 38.71)}


def test_an_sd_wrapped_onto_the_line_under_its_mean_completes_it_and_leaves_the_p_value_alone() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics")),
                   _line(112, (150, "Placebo"), (250, "Aromatherapy"), (350, "Total"), (420, "P")),
                   _line(122, (150, "(N = 27)"), (250, "(N = 27)"), (350, "(N = 54)"), (420, "value")),
                   _line(134, (50, "Overall"), (150, "6.444 ±"), (250, "6.815 ± 2.202"), (350, "6.630 ±"),
                         (420, "0.569")),
                   _line(144, (150, "2.532"), (350, "2.358")),
                   _line(156, (50, "Sneeze"), (150, "1.481 ± 0.753"), (250, "1.519 ± 0.580"), (350, "1.500 ± 0.666"),
                         (420, "0.885")))
    assert [(t.arms[v.arm].name, v.measure, v.mean, v.sd, v.doubt) for v in t.values][:2] == [
        ("Placebo", "Overall", 6.444, 2.532, ""), ("Aromatherapy", "Overall", 6.815, 2.202, "")]


def test_a_row_whose_p_column_says_ns_keeps_its_values() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics of patients")),
                   _line(112, (200, "Group A"), (300, "Group B"), (400, "P")),
                   _line(122, (200, "(n = 40)"), (300, "(n = 35)")),
                   _line(134, (50, "Age (years)"), (200, "62 ± 19.2"), (300, "61.4 ± 15.1"), (400, "NS")),
                   _line(146, (50, "SAPS II"), (200, "47.8 ± 17.7"), (300, "45 ± 15"), (400, "n.s.")))
    assert [(v.measure, v.mean, v.sd) for v in t.values if v.arm == 0] == [("Age (years)", 62.0, 19.2),
                                                                          ("SAPS II", 47.8, 17.7)]


def test_a_time_to_an_event_is_no_measure_of_the_construct_it_names() -> None:
    assert not instrument_matches("pain", "Time to first postoperative pain report, h, mean ± SD")
    assert instrument_matches("time to pain report", "Time to pain report, h")
    assert instrument_matches("pain", "Pain at rest (VRS)")


def test_an_arms_name_glued_to_its_count_is_still_its_name() -> None:
    from metasift.extractor._header import arms_in_header

    arms, _ = arms_in_header([_line(100, (50, "Characteristics"), (200, "48-week group(n = 76)"),
                                    (330, "24-week group(n = 70)"))], [])
    assert [(a.name, a.n) for a in arms] == [("48-week group", 76), ("24-week group", 70)]


def test_a_mean_that_is_no_whole_number_is_read_for_a_human_where_only_another_row_declares_mean_sd() -> None:
    from metasift.extractor._values import UNDECLARED

    (t,) = _tables(_line(100, (50, "Table 1 Sample characteristics at baseline.")),
                   _line(112, (200, "Control group (n = 155)"), (330, "Intervention group (n = 160)")),
                   _line(124, (50, "Girls, n (%)"), (200, "72 (46.4%)"), (330, "81 (50.6%)")),
                   _line(136, (50, "Age (years); Mean (SD)"), (200, "4.45 (0.84)"), (330, "4.58 (0.83)")),
                   _line(148, (50, "Positive emotions"), (200, "12.59 (2.33)"), (330, "12.19 (2.35)")),
                   _line(160, (50, "Siblings"), (200, "12 (7)"), (330, "15 (9)")))
    got = {(v.measure, v.mean, v.doubt) for v in t.values if v.arm == 0}
    assert got == {("Age (years); Mean (SD)", 4.45, ""), ("Positive emotions", 12.59, UNDECLARED)}


def test_a_section_line_that_declares_its_statistic_heads_its_rows_and_names_their_parts() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Characteristics at baseline")),
                   _line(112, (200, "ER (n = 236)"), (300, "IR (n = 239)")),
                   _line(124, (50, "Missing"), (200, "103 (44.0)"), (300, "102 (42.7)")),
                   _line(136, (50, "UPDRS score, mean (±SD)")),
                   _line(148, (50, "II"), (200, "13.0 (4.92)"), (300, "13.0 (5.97)")),
                   _line(160, (50, "II+III"), (200, "44.7 (15.69)"), (300, "45.1 (17.31)")))
    assert [(v.measure, v.mean, v.sd) for v in t.values if v.arm == 0] == [
        ("UPDRS score II", 13.0, 4.92), ("UPDRS score II+III", 44.7, 15.69)]  # "Missing" keeps its counts


def test_a_label_whose_second_column_says_before_is_the_baseline() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Comparison of variables before and after the study")),
                   _line(112, (50, "Variable"), (200, "Case (n = 30)"), (300, "Control (n = 30)")),
                   _line(124, (50, "Proteinuria"), (120, "Before"), (200, "962.62±885.99"), (300, "775.71±640.94")),
                   _line(136, (120, "After"), (200, "892.24±879.40"), (300, "971.60±940.24")))
    assert [(v.measure, v.timepoint, v.mean) for v in t.values if v.arm == 0][0] == ("Proteinuria", "baseline", 962.62)
