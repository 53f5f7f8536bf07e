"""Shapes of the fifth blind batch's tune papers (seventh session): an n column with its value unlabelled beside it,
a row whose label and cells the typesetter set a little apart beside the other column's prose, a P value alone on
its line, "Before | After" under each arm, "median (SD)", the measure an outcome names more fully, and per-arm
counts in brackets that are, or are not, an allocation."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.config import OutcomeSpec
from metasift.extractor._arm_rows import ARMS_AS_ROWS
from metasift.extractor._consort import prose_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._values import declares
from metasift.extractor.layout import Word, group_lines, join_words
from metasift.extractor.outcomes import choose_target
from metasift.extractor.pdf import Page
from tests.helpers import printed_line as _line
from tests.test_extractor_table_notes import counts_of


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _counts(text: str) -> list[tuple]:
    return [(c.field, c.arm, c.value) for c in prose_counts([Page(2, text, text, [], [], 595.0)])]


def test_an_n_column_under_each_arm_leaves_the_value_beside_it_to_that_arm() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline comparability of the randomised groups")),
                   _line(112, (50, "BASELINE VALUES"), (306, "Intervention"), (427, "Usual care")),
                   _line(122, (306, "n"), (427, "n")),
                   _line(134, (50, "SF-12 Mental component: mean (SD)"), (306, "18"), (323, "39.9 (7.6)"),
                         (427, "17"), (444, "37.5 (8.2)")),
                   known=("intervention", "usual care"))
    assert [(t.arms[v.arm].name, v.mean, v.sd, v.n) for v in t.values] == [
        ("intervention", 39.9, 7.6, 18), ("usual care", 37.5, 8.2, 17)]


def test_values_with_their_n_are_no_header_of_arms() -> None:
    assert _tables(_line(100, (50, "Table 5 Resource-use data")),
                   _line(112, (300, "Maternity notes"), (400, "GP records")),
                   _line(124, (50, "Mean visits per month"), (300, "0.96 (0.41) n=29"), (400, "0.46 (0.40) n=33"))) == []


def test_a_median_with_an_sd_is_no_mean() -> None:
    assert declares("CIS-R Score: median (SD)") == "median"
    assert declares("SF-12 Mental component: mean (SD)") == "mean_sd"


def test_the_measure_the_outcome_names_more_fully_is_its_target() -> None:
    spec = OutcomeSpec(id="mcs", label="SF-12 Mental component score", instruments=["SF-12 Mental component", "SF-12"])
    measures = ["SF-12 Physical component: mean (SD)", "SF-12 Mental component: mean (SD)"]
    assert choose_target(measures, [spec], [], usable=set(measures)).measure == measures[1]
    # two instruments of one outcome that do not nest are no reason to skip the first printed
    dep = OutcomeSpec(id="dep", label="depression", instruments=["PHQ-9", "BDI-II"])
    assert choose_target(["BDI-II", "PHQ-9"], [dep], [], usable={"BDI-II", "PHQ-9"}).measure == "BDI-II"


def test_counts_named_inside_one_bracket_are_each_arms_and_a_result_with_its_n_is_none() -> None:
    said = _counts("Participants were randomly assigned (IPT: n=620; CBT: n=610) or to MoodGYM (MoodGYM: n=613).")
    assert said == [("n_randomised", "IPT", 620), ("n_randomised", "CBT", 610), ("n_randomised", "MoodGYM", 613)]
    assert _counts("Post hoc tests showed that participants randomized to IPT (n=201) had a lower score (mean 20.55, "
                   "SD 4.80) compared to MoodGYM (n=158; mean 22.81, SD 4.58) and CBT (n=179; mean 23.26, SD 4.4).") == []


def test_an_arms_other_name_in_brackets_before_its_n_keeps_the_count() -> None:
    said = _counts("The enrolled patients were randomly divided into a moxibustion group (n = 40) or a sham "
                   "moxibustion group (control group) (n = 40).")
    assert [(arm, n) for _, arm, n in said] == [("moxibustion", 40), ("sham moxibustion group (control group)", 40)]
    # a bracket of counts is no other name: "placebo (n = 1335) (n = 31 ...)" keeps placebo's 1335
    said = _counts("Patients were randomly assigned to agomelatine (n = 2672) or placebo (n = 1335) (n = 31 at one site).")
    assert [(arm, n) for _, arm, n in said] == [("agomelatine", 2672), ("placebo", 1335)]


def test_header_counts_under_each_arms_randomised_count_are_the_analysed() -> None:
    prose = ("The enrolled patients were randomly divided into a moxibustion group (n = 40) or a control group "
             "(n = 40).")
    rows = [_line(100, (50, "Table 1 Baseline characteristics of the patients")),
            _line(112, (200, "Moxibustion group (n = 15)"), (330, "Control group (n = 13)")),
            _line(124, (50, "Age, mean (SD)"), (200, "45.1 (9.8)"), (330, "47.9 (10.2)"))]
    assert counts_of(prose, rows) == [(40, 15), (40, 13)]


def test_arms_as_rows_take_the_arm_named_exactly_and_its_n_from_the_n_column() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Birmingham IBS symptom scale comparison")),
                   _line(112, (50, "Group"), (200, "n"), (250, "Before Treatment"), (350, "After Treatment")),
                   _line(124, (50, "Moxibustion Group"), (200, "15"), (250, "28.27 ± 6.64"), (350, "9.00 ± 4.05")),
                   _line(136, (50, "Control Group"), (200, "13"), (250, "27.38 ± 3.95"), (350, "21.46 ± 4.31")),
                   known=("moxibustion", "sham moxibustion (control group)"))
    assert [(t.arms[v.arm].name, v.mean, v.n, v.n_doubt) for v in t.values] == [
        ("moxibustion", 28.27, 15, ARMS_AS_ROWS), ("sham moxibustion (control group)", 27.38, 13, ARMS_AS_ROWS)]


def _right(y: float, *cells: tuple[float, str], prose: str = "") -> list[Word]:
    """A line of a table set in the right column, with the left column's prose on the same physical line."""
    return _line(y, *(((50, prose),) if prose else ()), *cells, size=7.6)


def test_a_label_set_a_little_below_its_cells_beside_the_other_columns_prose_is_one_row() -> None:
    head = [_right(60, (308, "Table 1 Baseline characteristics of the sample."), prose="psychosocial interventions."),
            _right(72, (311, "Variables"), (406, "EUC (N=78)"), (470, "RCDC (N=65)"), prose="aspects such as")]
    cells = _right(425.25, (405, "3.6 (1)"), (470, "3.6 (1)"), prose="score of 6.2 (1.2) to the usefulness")
    label = _right(427.8, (311, "Perceived health, mean"), (545, ".97"))
    wrap = _right(437.3, (311, "(SD)"), prose="how comfortable they felt with the")
    after = _right(449.3, (311, "School, mean (SD)"), (405, "37.8 (8)"), (470, "38.2 (8)"))
    (t,) = find_tables([SimpleNamespace(number=1, rows=[*head, cells, label, wrap, after], width=595.0)], [])
    assert [(v.measure, v.mean, v.sd) for v in t.values if v.arm == 0] == [("Perceived health, mean (SD)", 3.6, 1.0),
                                                                          ("School, mean (SD)", 37.8, 8.0)]


def test_a_p_value_alone_on_its_line_right_of_the_arms_is_passed_over() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics")),
                   _line(112, (200, "EUC (N=78)"), (300, "RCDC (N=65)")),
                   _line(124, (50, "Personal history of mental"), (200, "33 (42)"), (300, "34 (52)")),
                   _line(127, (400, ".24 c")),
                   _line(134, (50, "illness, n (%)")),
                   _line(146, (50, "BDI score, mean (SD)"), (200, "27.1 (9)"), (300, "27.8 (10)")))
    assert [(v.measure, v.mean) for v in t.values] == [("BDI score, mean (SD)", 27.1), ("BDI score, mean (SD)", 27.8)]


def test_before_and_after_under_each_arm_are_time_points() -> None:
    (t,) = _tables(_line(100, (50, "Table 3 Changes in mood")),
                   _line(112, (180, "Control (n = 15)"), (320, "Taekwondo (n = 15)")),
                   _line(124, (50, "Variables"), (180, "Before"), (250, "After"), (320, "Before"), (390, "After")),
                   _line(136, (50, "Depression (score)"), (180, "2.20 ± 0.68"), (250, "2.31 ± 0.66"),
                         (320, "2.20 ± 0.73"), (390, "1.85 ± 0.60")))
    assert [(t.arms[v.arm].name, v.timepoint, v.mean) for v in t.values] == [
        ("Control", "before", 2.2), ("Control", "after", 2.31), ("Taekwondo", "before", 2.2),
        ("Taekwondo", "after", 1.85)]


def test_single_letter_marks_raised_beside_the_names_they_follow_are_marks() -> None:
    words = [Word("EUC", 408, 423, 71.5, 7.6), Word("a", 423.5, 426, 68.3, 6.3),
             Word("RCDC", 443, 463, 71.5, 7.6), Word("b", 463.5, 466, 68.3, 6.3)]
    (line,) = group_lines(words)
    assert [w.mark for w in line] == ["", "sup", "", "sup"]
    assert join_words([w for w in line if not w.mark]) == "EUC RCDC"


def test_counts_in_an_allocation_of_clusters_are_no_arms_people() -> None:
    assert _counts("These villages were grouped by location and language and cluster randomized to cognitive "
                   "processing therapy (CPT; n = 7) or a continuation of individual support (IS; n = 8).") == []


def test_a_sentence_may_name_each_arm_after_its_baseline_value() -> None:
    from metasift.extractor._prose_values import baseline_sentences

    text = ("Mean baseline volume of pneumocephalus was 109.09 ± 59.46 ml in patients in the treatment arm and "
            "104.7 ± 62.66 ml in patients in the control arm.")
    got = baseline_sentences([Page(4, text, text, [], [], 595.0)], ["Treatment arm", "Control arm"])
    assert [(b.arm, b.measure, b.mean, b.sd) for b in got] == [
        ("Treatment arm", "Mean baseline volume of pneumocephalus", 109.09, 59.46),
        ("Control arm", "Mean baseline volume of pneumocephalus", 104.7, 62.66)]


def test_an_arm_named_only_by_filler_words_is_itself_and_no_other() -> None:
    from metasift.extractor._text import same_arm

    assert same_arm("Treatment arm", "treatment  arm") and not same_arm("Treatment arm", "Intervention arm")
    assert not same_arm("Treatment arm", "Control arm")
    # with or without its "group" or "arm": a table's row "Treatment" is the "Treatment group"
    assert same_arm("Treatment", "Treatment group") and same_arm("Treatment arm", "Treatment group")


def test_a_table_in_the_left_column_beside_another_tables_caption_is_read_within_its_column() -> None:
    size = 7.6
    rows = [_line(60, (311, "Table 2 Arterial blood gas analysis"), size=size),
            _line(72, (320, "Variables"), (400, "Treatment"), (480, "Control"), size=size),
            _line(90, (49, "Table 1 Baseline characteristics of the study population."), (311, "pH"),
                  (430, "0.91"), size=size),
            _line(100, (311, "Mean ±"), (350, "7.42 ± 0.04"), (399, "7.42 ±"), size=size),
            _line(110, (57, "Variables"), (102, "Treatment arm (n = 22)"), (190, "Control arm (n = 22)"),
                  (271, "p*"), size=size),
            _line(120, (311, "SD"), (402, "0.04"), size=size),
            _line(130, (52, "Weight, mean ± SD"), (120, "85.68 ± 14.88"), (200, "79.14 ± 18.99"), size=size),
            _line(140, (311, "pO2 (mmHg)"), (430, "0.15"), size=size),
            _line(150, (52, "Height, mean ± SD"), (120, "170 ± 12.17"), (200, "171.82 ± 8.07"), size=size),
            _line(160, (311, "Mean ±"), (350, "204.12 ±"), (399, "248.85 ±"), size=size)]
    tables = find_tables([SimpleNamespace(number=4, rows=rows, width=595.0)], [])
    (t,) = [t for t in tables if t.caption.startswith("Table 1")]
    assert [a.name for a in t.arms] == ["Treatment arm", "Control arm"]
    assert [(v.measure, v.mean, v.sd, v.doubt) for v in t.values if v.arm == 0] == [
        ("Weight, mean ± SD", 85.68, 14.88, ""), ("Height, mean ± SD", 170.0, 12.17, "")]


def test_a_count_wrapped_back_to_its_cells_start_completes_the_arms_name() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Scores of cognitive tests at pre and post program")),
                   _line(112, (256, "Intervention group (N")),
                   _line(122, (256, "= 29)"), (350, "Control group (N = 29)")),
                   _line(134, (50, "MMSE score, mean ± SD"), (256, "27.1 ± 1.7"), (350, "26.6 ± 2.2")))
    assert [(a.name, a.n) for a in t.arms] == [("Intervention group", 29), ("Control group", 29)]
