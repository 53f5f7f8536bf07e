"""Table shapes of published trial reports found on the PMC tune half (``bench/make_pmc_trials.py``): time points
named "Before / After treatment", arms named in a header whose n is the first body row, an add-on arm beside
the arm it adds to, test statistic columns between the values, P values printed without their leading zero,
and a section line that declares what its rows print."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._cells import split_row
from metasift.extractor._header import caption_kind
from metasift.extractor._text import same_arm
from metasift.extractor._values import ROW_BASELINE, UNDECLARED, WRAPPED_SD
from metasift.extractor.outcomes import BASELINE_TIMEPOINT
from metasift.extractor.rules import extract
from tests.helpers import printed_line as _line


def _tables(*rows: list) -> list:
    from metasift.extractor._tables import find_tables

    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], [])


def test_before_and_after_treatment_columns_under_each_arm_are_baseline_and_post() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Comparing the suicide ideation scale before and after the treatment")),
                   _line(112, (170, "Control group (n=100)"), (370, "Study group (n=100)")),
                   _line(124, (150, "Before treatment"), (250, "After treatment"), (350, "Before treatment"),
                         (450, "After treatment")),
                   _line(136, (50, "Total score"), (150, "9.58±3.93"), (250, "8.45±3.65"), (350, "9.68±3.87"),
                         (450, "7.22±3.46")))
    got = [(t.arms[v.arm].name, v.timepoint, v.mean, v.sd) for v in t.values]
    assert got == [("Control group", "before treatment", 9.58, 3.93), ("Control group", "after treatment", 8.45, 3.65),
                   ("Study group", "before treatment", 9.68, 3.87), ("Study group", "after treatment", 7.22, 3.46)]


def test_arms_named_without_counts_take_their_n_from_the_first_body_row() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics of subjects.")),
                   _line(112, (50, "Characteristics"), (300, "NMES + Ex"), (420, "Ex")),
                   _line(124, (50, "N"), (300, "50"), (420, "50")),
                   _line(136, (50, "Age*"), (300, "60.60 ± 6.72"), (420, "61.50 ± 6.94")))
    assert [(a.name, a.n) for a in t.arms] == [("NMES + Ex", 50), ("Ex", 50)]
    assert [(v.arm, v.measure, v.mean, v.sd) for v in t.values] == [(0, "Age", 60.6, 6.72), (1, "Age", 61.5, 6.94)]


def test_a_first_row_that_is_no_count_of_each_named_column_names_no_arms() -> None:
    rows = (_line(100, (50, "Table 3 Items of the questionnaire")), _line(112, (50, "Item"), (300, "Yes"), (420, "No")),
            _line(124, (50, "Question 1"), (300, "50"), (420, "50")))
    assert _tables(*rows) == []
    too_few = (_line(100, (50, "Table 1 Baseline characteristics")), _line(112, (50, "Variable"), (300, "A"),
                                                                            (420, "B")),
               _line(124, (50, "N"), (300, "50")))
    assert _tables(*too_few) == []


def test_an_add_on_arm_and_the_arm_it_adds_to_are_two_arms() -> None:
    assert not same_arm("NMES + Ex", "Ex")
    assert not same_arm("exercise plus diet", "exercise")
    assert same_arm("NMES + Ex group", "NMES + Ex")
    assert same_arm("Control", "control group")


def test_a_test_statistic_column_under_each_arm_is_passed_over() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Mean of scores of PGWBI at baseline and after six months")),
                   _line(112, (200, "Intervention group, (N=45)"), (400, "Control group, (N=42)")),
                   _line(124, (178, "Baseline"), (243, "Post-test"), (306, "t"), (336, "P"), (371, "Baseline"),
                         (439, "Post-test"), (505, "t"), (532, "P")),
                   _line(136, (50, "Anxiety"), (178, "14.1 (3.35)"), (243, "16.2 (3.30)"), (306, "3.24"),
                         (336, "0.02"), (371, "14.3 (4.15)"), (439, "14.9 (4.60)"), (505, "1.74"), (532, "0.5")))
    got = [(v.arm, v.timepoint, v.mean, v.sd, v.doubt) for v in t.values]
    # "Mean of scores" says the first number is a mean, not what the bracket holds: read, for a human to confirm
    assert got == [(0, "baseline", 14.1, 3.35, UNDECLARED), (0, "post-test", 16.2, 3.3, UNDECLARED),
                   (1, "baseline", 14.3, 4.15, UNDECLARED), (1, "post-test", 14.9, 4.6, UNDECLARED)]


def test_a_p_value_without_its_leading_zero_is_a_cell_not_part_of_the_label() -> None:
    words = _line(100, (50, "In active employment, n (%)"), (300, "47 (81)"), (380, "26 (84)"), (460, ".56"))
    label, cells = split_row(words)
    assert " ".join(w.text for w in label) == "In active employment, n (%)"
    assert [(c.kind, c.a, c.b) for c in cells] == [("pair", 47.0, 81.0), ("pair", 26.0, 84.0), ("p", None, None)]


def test_a_section_line_that_declares_mean_sd_makes_its_rows_mean_and_sd() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Baseline characteristics of children.")),
                   _line(112, (300, "Intervention"), (420, "Wait-list")),
                   _line(122, (300, "n=25"), (420, "n=21")),
                   _line(134, (50, "Female, n (%)"), (300, "16 (64)"), (420, "9 (43)")),
                   _line(146, (50, "Outcomes, mean (SD)")),
                   _line(158, (94, "PCL-C"), (300, "51.5 (9.4)"), (420, "46.6 (10.7)")))
    assert [(v.arm, v.measure, v.mean, v.sd, v.doubt) for v in t.values] == [
        (0, "PCL-C", 51.5, 9.4, ""), (1, "PCL-C", 46.6, 10.7, "")]


def test_a_before_treatment_column_is_the_baseline_and_an_after_treatment_one_is_not() -> None:
    assert BASELINE_TIMEPOINT.match("before treatment") and BASELINE_TIMEPOINT.match("Before the intervention")
    assert not BASELINE_TIMEPOINT.match("after treatment")
    assert caption_kind("Scores before and after the treatment")[:2] == ("outcome", "post")


def test_a_time_point_column_beside_the_measure_gives_the_baseline_row_and_s_d_is_an_sd_column() -> None:
    (t,) = _tables(_line(100, (50, "Table 1. Baseline and 6-week follow-up scores on the outcome measures")),
                   _line(112, (230, "Citalopram (n = 274)"), (400, "Reboxetine (n = 272)")),
                   _line(124, (50, "Outcome"), (140, "Time point"), (230, "Mean"), (300, "s.d."), (400, "Mean"),
                         (470, "s.d.")),
                   _line(136, (50, "BDI"), (140, "Baseline"), (230, "34.2"), (300, "9.3"), (400, "33.1"),
                         (470, "10.0")),
                   _line(148, (140, "6 weeks"), (230, "18.9"), (300, "10.8"), (400, "19.6"), (470, "11.1")))
    baseline = [(v.arm, v.measure, v.mean, v.sd) for v in t.values if v.timepoint == "baseline"]
    assert baseline == [(0, "BDI", 34.2, 9.3), (1, "BDI", 33.1, 10.0)]
    assert ROW_BASELINE.search("PHQ-9 Baseline") and not ROW_BASELINE.search("Change from baseline")


def test_rows_labelled_by_a_time_point_alone_measure_what_the_caption_names() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Effect of CPT on felt stigma at end of treatment")),
                   _line(112, (50, "Time point"), (220, "CPT (n = 157)"), (330, "IS (n = 248)")),
                   _line(124, (220, "Mean (SD)"), (330, "Mean (SD)")),
                   _line(136, (50, "Baseline"), (220, "1.72 (0.67)"), (330, "2.15 (0.62)")),
                   _line(148, (50, "Post intervention"), (220, "0.57 (0.68)"), (330, "1.60 (0.82)")))
    got = [(v.arm, v.timepoint, v.measure, v.mean) for v in t.values]
    assert got == [(0, "baseline", "Effect of CPT on felt stigma at end of treatment", 1.72),
                   (1, "baseline", "Effect of CPT on felt stigma at end of treatment", 2.15),
                   (0, "post intervention", "Effect of CPT on felt stigma at end of treatment", 0.57),
                   (1, "post intervention", "Effect of CPT on felt stigma at end of treatment", 1.6)]


def test_rows_of_time_points_under_a_measure_line_take_that_measure() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Observed means for outcome measures")),
                   _line(112, (220, "Control (n = 874)"), (330, "Active (n = 862)")),
                   _line(124, (220, "Mean (SD)"), (330, "Mean (SD)")),
                   _line(136, (50, "PHQ-9")),
                   _line(148, (50, "Pre-intervention"), (220, "16.9 (5.76)"), (330, "16.4 (5.98)")),
                   _line(160, (50, "GAD-7")),
                   _line(172, (50, "Pre-intervention"), (220, "12.1 (4.0)"), (330, "11.8 (4.2)")))
    assert [(v.arm, v.timepoint, v.measure, v.mean) for v in t.values] == [
        (0, "baseline", "PHQ-9", 16.9), (1, "baseline", "PHQ-9", 16.4), (0, "baseline", "GAD-7", 12.1),
        (1, "baseline", "GAD-7", 11.8)]


def test_a_totals_column_with_fewer_sub_columns_than_the_arms_leaves_the_arms_their_time_points() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Carotid intima-media thickness at baseline and after 12 months")),
                   _line(112, (150, "All"), (250, "Exercise"), (400, "Control")),
                   _line(122, (150, "(n = 137)"), (250, "(n = 61)"), (400, "(n = 62)")),
                   _line(134, (150, "Baseline"), (230, "Baseline"), (300, "12 months"), (380, "Baseline"),
                         (450, "12 months")),
                   _line(146, (50, "cIMT (mm)"), (150, "0.855 ± 0.172"), (230, "0.876 ± 0.187"),
                         (300, "0.858 ± 0.175"), (380, "0.853 ± 0.141"), (450, "0.849 ± 0.131")))
    got = [(t.arms[v.arm].name, v.timepoint, v.mean) for v in t.values if not t.arms[v.arm].total]
    assert got == [("Exercise", "baseline", 0.876), ("Exercise", "12 months", 0.858), ("Control", "baseline", 0.853),
                   ("Control", "12 months", 0.849)]


def test_a_caption_whose_sentence_goes_on_with_an_n_is_caption_not_header() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics of study participants randomized to HIIT (HIIT, "
                                   "n = 15) and")),
                   _line(110, (50, "moderate-intensity continuous exercise (MICT, n = 17) and comparisons between "
                                   "conditions.")),
                   _line(122, (50, "Variables"), (200, "All (n = 32)"), (300, "HIT (n = 15)"), (400, "MICT (n = 17)")),
                   _line(134, (50, "Age (years)"), (200, "51 (10)"), (300, "51 (11)"), (400, "51 (10)")))
    assert [(a.name, a.n, a.total) for a in t.arms] == [("All", 32, True), ("HIT", 15, False), ("MICT", 17, False)]
    assert "comparisons between conditions" in t.caption


def test_more_arms_than_any_table_has_columns_sends_every_arm_value_to_a_human() -> None:
    from metasift.extractor.checks import check_extraction
    from metasift.extractor.pdf import Page, PdfDocument

    rows = [_line(100, (50, "Table 1 Baseline characteristics")),
            _line(112, (200, "Yoga (n = 30)"), (330, "Control (n = 30)")),
            _line(124, (50, "PSS"), (200, "18.2 (4.1)"), (330, "18.9 (4.4)"))]
    prose = ("A total of 90 participants were randomised: 30 to yoga, 30 to walking and 30 to the control group. "
             "Mean (SD) are shown.")
    text = "Table 1 Baseline characteristics\nYoga (n = 30) Control (n = 30)\nPSS 18.2 (4.1) 18.9 (4.4)"
    doc = PdfDocument("t.pdf", [Page(1, prose, prose, [], [], 595.0), Page(2, text, text, [], rows, 595.0)], {})
    result = extract(doc)
    assert len(result.arms) == 3
    checks = check_extraction(result, {1: prose, 2: text})
    assert all(c.status == "needs_human" for c in checks if c.field.startswith("arms["))


def test_a_plus_minus_whose_sd_wrapped_below_does_not_take_the_next_cells_mean_as_its_sd() -> None:
    words = _line(100, (50, "Overall"), (150, "6.444 ±"), (200, "6.815 ± 2.202"), (280, "6.630 ±"), (330, "0.569"))
    assert [(c.kind, c.a, c.b) for c in split_row(words)[1]][:2] == [("num", 6.444, None), ("pm", 6.815, 2.202)]
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics")),
                   _line(112, (150, "Placebo (N = 27)"), (250, "Aromatherapy (N = 27)")),
                   _line(124, (50, "TNSS"), (150, "6.444 ±"), (250, "6.815 ± 2.202")))
    assert [(v.arm, v.mean, v.sd, v.doubt) for v in t.values] == [(1, 6.815, 2.202, WRAPPED_SD)]


def test_a_sentence_stating_each_arms_baseline_gives_them_for_a_human_to_confirm() -> None:
    from metasift.extractor._prose_values import baseline_sentences

    said = ("The mean and standard deviation of the state anxiety scores of children in experimental and control "
            "groups before intervention were 35.52±6.99 and 34.98±6.78, after intervention 31.44±5.87 and 38.31±7.44 "
            "respectively.")
    page = SimpleNamespace(number=4, text=said)
    got = [(b.arm, b.mean, b.sd) for b in baseline_sentences([page], ["Experimental group", "Control group"])]
    assert got == [("Experimental group", 35.52, 6.99), ("Control group", 34.98, 6.78)]
    reversed_order = said.replace("experimental and control", "control and experimental")
    got = [(b.arm, b.mean) for b in baseline_sentences([SimpleNamespace(number=4, text=reversed_order)],
                                                       ["Experimental group", "Control group"])]
    assert got == [("Control group", 35.52), ("Experimental group", 34.98)]
    after_only = "After intervention the scores were 31.44±5.87 and 38.31±7.44 in the experimental and control groups."
    assert baseline_sentences([SimpleNamespace(number=4, text=after_only)], ["Experimental group", "Control group"]) == []
    counts = "At baseline, 12 (40%) and 14 (47%) of the experimental and control groups were women."
    assert baseline_sentences([SimpleNamespace(number=4, text=counts)], ["Experimental group", "Control group"]) == []


def test_a_baseline_sentence_that_names_each_arm_before_its_value_gives_both_to_the_last_full_stop() -> None:
    from metasift.extractor._prose_values import baseline_sentences

    said = "At T0, mean FPS scores in the experimental group were 41.1 ± 12.8 and in control group were 37.8 ± 13.4."
    got = [(b.arm, b.measure, b.mean, b.sd) for b in baseline_sentences([SimpleNamespace(number=3, text=said)],
                                                                        ["Experimental group", "Control group"])]
    assert got == [("Experimental group", "FPS scores", 41.1, 12.8), ("Control group", "FPS scores", 37.8, 13.4)]
