"""Shapes found on published reports the rules had never read (``bench/bench_extract_fields.py --split pmc-probe``,
half of the first held-out half, released for reading): a baseline table naming its columns without counts, an
n row labelled "No. of subjects", a bracket set apart from its n, a table note naming the population it counts,
and a number word broken at the line's end."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._arm_rows import arms_as_rows
from metasift.extractor._consort import prose_counts, total_candidates
from metasift.extractor._header import arms_by_name, caption_at, caption_kind, notes_population
from metasift.extractor._prose_values import baseline_sentences
from metasift.extractor._tables import find_tables
from metasift.extractor._values import declares
from metasift.extractor.checks import check_extraction
from metasift.extractor.schema import Arm, Baseline, Evidence, ExtractionResult
from tests.helpers import printed_line as _line
from tests.helpers import text_page


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def test_a_baseline_table_naming_its_columns_without_counts_gives_the_arms() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 1 Baseline Demographic and Clinical Data")),
        _line(112, (230, "Treatment"), (320, "Placebo"), (400, "P value")),
        _line(124, (52, "Age (yr)"), (230, "44.5 ± 2.2"), (320, "45.3 ± 2.0"), (400, "0.796")),
        _line(136, (52, "Weight (kg)"), (230, "81.8 ± 2.8"), (320, "79.6 ± 2.9"), (400, "0.598")),
        _line(148, (52, "Total Cholesterol (mmol/L)"), (230, "6.2 ± 0.1"), (320, "6.2 ± 0.1"), (400, "0.976")))
    assert [(a.name, a.n) for a in table.arms] == [("Treatment", None), ("Placebo", None)]  # no P column
    assert [(table.arms[v.arm].name, v.mean) for v in table.values if v.measure == "Weight (kg)"] == [
        ("Treatment", 81.8), ("Placebo", 79.6)]


def test_a_header_without_counts_is_read_only_under_a_baseline_caption() -> None:
    # an outcome table's columns may be time points or analyses: without counts or known names, nothing is read
    assert _tables(
        _line(100, (49, "Table 2 Results at six weeks")),
        _line(112, (230, "Treatment"), (320, "Placebo"), (400, "P value")),
        _line(124, (52, "Weight (kg)"), (230, "81.8 ± 2.8"), (320, "79.6 ± 2.9"), (400, "0.598")),
        _line(136, (52, "BMI"), (230, "27.1 ± 0.8"), (320, "26.9 ± 0.7"), (400, "0.701"))) == []


def test_test_columns_and_a_label_head_are_no_arms_and_rows_of_counts_are_not_counted() -> None:
    names = _line(100, (52, "Variable"), (268, "Ultrabrief"), (354, "Brief"), (440, "t"), (477, "χ2"), (507, "p"))
    rows = [_line(112, (52, "Age (years)"), (268, "47.72 (14.60)"), (354, "51.54 (14.00)"), (440, "-1.3"),
                  (507, "0.196")),
            _line(124, (52, "Gender (male) 17/47"), (300, "17/48"), (477, "0.0"), (507, "0.939")),
            _line(136, (52, "Onset age (years)"), (268, "27.81 (13.95)"), (354, "32.98 (14.10)"), (440, "-1.8"),
                  (507, "0.076"))]
    arms, spans = arms_by_name(names, rows)
    assert [a.name for a in arms] == ["Ultrabrief", "Brief"]
    assert len(spans) == 2


def test_a_line_of_measure_heads_over_rows_of_groups_names_no_arms() -> None:
    names = _line(100, (52, "Group"), (120, "N"), (150, "F/M"), (190, "Age"), (250, "PTA"))
    rows = [_line(112, (52, "Treatment"), (120, "9"), (150, "0.44"), (190, "52.3 (14.6)"), (250, "37.4 (15.9)")),
            _line(124, (52, "Placebo"), (120, "10"), (150, "0.30"), (190, "58.9 (7.4)"), (250, "41.4 (10.3)"))]
    assert arms_by_name(names, rows) == ([], [])


def test_a_row_of_no_of_subjects_gives_each_named_column_its_n() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 1 Baseline characteristics of the control and exercise groups")),
        _line(112, (230, "Control group"), (330, "CBE group")),
        _line(124, (52, "No. of subjects"), (245, "10"), (345, "9")),
        _line(136, (52, "Age (year)"), (230, "72.0 (10.1)"), (330, "66.8 (8.1)")),
        _line(148, (52, "Weight (kg)"), (230, "76.2 (10.9)"), (330, "76.6 (23.4)")))
    assert [(a.name, a.n) for a in table.arms] == [("Control group", 10), ("CBE group", 9)]


def test_an_arm_name_before_a_bracket_set_apart_from_its_n_is_kept() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 1 Baseline characteristics of the groups")),
        _line(112, (94, "Variable"), (190, "Hypnosis"), (228, "("), (233, "n = 116)"), (302, "Relaxation"),
              (345, "("), (350, "n = 107)")),
        _line(124, (94, "Age"), (200, "38.0 (13.2)"), (310, "36.9 (10.1)")),
        _line(136, (94, "FTND"), (200, "4.6 (2.3)"), (310, "4.1 (2.2)")))
    assert [(a.name, a.n) for a in table.arms] == [("Hypnosis", 116), ("Relaxation", 107)]


def test_a_note_naming_the_intention_to_treat_dataset_makes_the_header_n_analysed() -> None:
    (table,) = _tables(
        _line(100, (49, "Table 1 Baseline characteristics of the groups")),
        _line(112, (52, "Variable"), (190, "Hypnosis (n = 116)"), (302, "Relaxation (n = 107)")),
        _line(124, (52, "Age"), (200, "38.0 (13.2)"), (310, "36.9 (10.1)")),
        _line(136, (52, "FTND"), (200, "4.6 (2.3)"), (310, "4.1 (2.2)")),
        _line(150, (49, "This table was created on the basis of the intention-to-treat dataset."), size=7.0))
    assert table.population == "analysed"


def test_notes_that_define_short_forms_or_name_the_test_set_no_population() -> None:
    assert notes_population(["ITT, intention-to-treat; PP, per-protocol", "Data analysed by t-test"]) == ""
    assert notes_population(["Values are for completers only."]) == "analysed"
    assert notes_population(["Per-protocol population (n = 64)."]) == "analysed"


def test_a_number_word_broken_at_the_line_end_is_read_whole() -> None:
    page = SimpleNamespace(number=3, text="Results\nTwenty-\nfour patients were randomized. Five withdrew.",
                           lines="Results\nTwenty- four patients were randomized. Five withdrew.", rows=[])
    assert [(n, p) for n, p, _ in total_candidates([page])][:1] == [(24, 3)]


def _totals(text: str) -> list[int]:
    return [n for n, _, _ in total_candidates([text_page(text)])]


def test_a_total_randomised_counts_people_of_any_usual_kind_but_not_their_clinicians() -> None:
    assert _totals("A total of 46 trained musicians participated in this study and were randomly allocated to "
                   "a slow breathing or a control group.")[:1] == [46]
    assert 83 in _totals("Of the 83 parents randomized, 79 parents completed follow-up assessments.")
    # the professionals assigned in a trial of their patients are its clusters, not its arms' participants
    page = SimpleNamespace(number=1, text="Eighteen physicians were assigned to the EG and 20 to the CG. Of the 227 "
                           "patients included 107 were assigned to the EG and 120 to the CG.", rows=[])
    page.lines = page.text
    assert {(c.arm, c.value) for c in prose_counts([page])} == {("EG", 107), ("CG", 120)}


def test_baselines_a_sentence_gives_at_randomisation_are_read_for_each_arm() -> None:
    page = SimpleNamespace(number=3, text="Mean SIGH-SAD scores for the active and control treatment groups did not "
                           "differ significantly at randomization (28.0 ± 5.35 versus 25.1 ± 3.22, respectively; as "
                           "shown in Table 1).", rows=[])
    found = baseline_sentences([page], ["Active treatment", "Control treatment"])
    assert [(b.arm, b.mean, b.sd) for b in found] == [("Active treatment", 28.0, 5.35),
                                                       ("Control treatment", 25.1, 3.22)]


def test_the_first_of_numbered_time_points_is_the_baseline_of_arms_set_as_rows_unless_one_is_numbered_zero() -> None:
    body = [_line(112, (52, "Parenting stress (PSI-SF)")),
            _line(124, (60, "Intervention"), (200, "75.03 (20.30)"), (280, "70.24 (19.32)"), (360, "67.90 (17.34)")),
            _line(136, (60, "Control"), (200, "75.89 (19.00)"), (280, "72.10 (18.11)"), (360, "70.02 (18.50)"))]
    header = [_line(100, (52, "Measure"), (210, "T1"), (290, "T2"), (370, "T3"))]
    arms, values = arms_as_rows(body, header, ["Intervention", "Control"], "Table 3 Outcomes")
    assert [(arms[v.arm].name, v.mean, v.sd) for v in values] == [("Intervention", 75.03, 20.3),
                                                                  ("Control", 75.89, 19.0)]
    assert all(v.doubt for v in values)  # the column's meaning rests on its number alone: a reader confirms it
    zero = [_line(100, (52, "Measure"), (130, "T0"), (210, "T1"), (290, "T2"), (370, "T3"))]
    assert arms_as_rows(body, zero, ["Intervention", "Control"], "Table 3 Outcomes") == ([], [])


def test_an_arm_the_sentences_name_twice_is_one_arm_when_its_row_is_read() -> None:
    from metasift.extractor._arm_rows import arm_of

    # "intervention" and "control" from two sentences each: the row "Intervention" is the first "intervention"
    known = ["intervention", "control", "intervention", "control"]
    assert arm_of("Intervention", known) == 0
    assert arm_of("Control", known) == 1
    assert arm_of("Group", known) is None
    body = [_line(124, (60, "Intervention"), (200, "3.61 (SD: 2.86)"), (300, "8.18 (SD: 1.46)")),
            _line(136, (60, "Control"), (200, "3.04 (SD: 1.88)"), (300, "6.98 (SD: 3.71)"))]
    header = [_line(100, (52, "Group"), (200, "Pre-training score"), (300, "Post-training score"))]
    arms, values = arms_as_rows(body, header, known, "Table 2 Scores")
    assert [(arms[v.arm].name, v.mean, v.sd) for v in values] == [("intervention", 3.61, 2.86),
                                                                  ("control", 3.04, 1.88)]


def _counts(text: str) -> set[tuple[str, str, int]]:
    return {(c.field, c.arm, c.value) for c in prose_counts([text_page(text)])}


def test_arms_listed_in_a_bracket_with_their_n_and_no_colon_are_randomised_counts() -> None:
    assert _counts("Participants were randomly allocated into two treatment groups (cinnarizine n=20; topiramate "
                   "n=20).") == {("n_randomised", "cinnarizine", 20), ("n_randomised", "topiramate", 20)}
    # a bracket naming one arm of two gives way to the pattern that finds both
    assert _counts("150 were enrolled and randomized into the two groups (standardized group n = 78, individualized "
                   "group n = 72).") >= {("n_randomised", "standardized", 78), ("n_randomised", "individualized", 72)}


def test_a_count_randomised_to_each_treatment_group_is_every_arms() -> None:
    page = SimpleNamespace(number=1, text="A total of 40 patients were enrolled, with 20 randomized to each treatment "
                           "group.", rows=[])
    page.lines = page.text
    assert [(c.field, c.value, c.each) for c in prose_counts([page])] == [("n_randomised", 20, True)]


def test_those_whose_missing_values_the_analysis_imputed_are_not_the_arms_analysed() -> None:
    assert _counts("We imputed missing values of two participants in the learning therapy group and three "
                   "participants in the waiting list control group using intention-to-treat principle (see "
                   "Analysis Section).") == set()


def test_a_note_saying_what_the_brackets_hold_declares_mean_and_sd() -> None:
    assert declares("The figures in parentheses are either percentages or SD.") == "mean_sd"
    assert declares("Numbers in parentheses are standard deviations") == "mean_sd"
    assert declares("SDs are given in parentheses") == "mean_sd"
    assert declares("Figures in parentheses are percentages") == "count"  # no SD named: counts only


def test_a_caption_whose_number_is_set_without_a_space_is_a_caption() -> None:
    assert caption_at(_line(100, (49, "Table1 Demographic Data and Baseline Characteristics"))) == ("1", 0)
    assert caption_at(_line(100, (49, "TABLE2. Outcomes"))) == ("2", 0)
    assert caption_at(_line(100, (49, "Table 1 describes the sample"))) is None  # a sentence about a table


def test_a_value_whose_row_label_runs_into_prose_is_not_auto_verified() -> None:
    line = "When the CDRS-R total score was added to the ANCOVA model, Total 54.6 (10.0) 53.7 (8.2)"
    label = "When the CDRS-R total score was added to the ANCOVA model, Total"
    for measure, status in ((label, "needs_human"), ("CDRS-R total score", "auto_verified")):
        result = ExtractionResult(arms=[Arm(name="OFC", baselines=[Baseline(measure=measure, mean=54.6)])],
                                  evidence=[Evidence(field="arms[0].baselines[0].mean", value=54.6, page=1,
                                                     quote=line)])
        checks = {c.field: c for c in check_extraction(result, {1: line})}
        assert checks["arms[0].baselines[0].mean"].status == status


def test_how_long_a_programme_runs_is_no_later_time_point_of_a_baseline_caption() -> None:
    assert caption_kind("Table 1 Baseline characteristics of participants in a 12-week Web-based weight-loss (WL) "
                        "program by intervention group.")[:2] == ("baseline", "baseline")
    assert caption_kind("Table 2 Outcomes at 12 weeks")[0] == "outcome"
    assert caption_kind("Table 3 Baseline and 12-week scores")[0] == "outcome"  # a time point, not a length


def test_a_head_that_cleans_to_no_name_names_no_arm() -> None:
    # "Mean ± SD" over a column is its statistic: cleaned of it, the head names nothing (and no arm without a name
    # reaches the totals check, which reads each name's first word)
    names = _line(100, (52, "Variable"), (230, "Mean ± SD"), (320, "Placebo"))
    rows = [_line(112, (52, "Age"), (230, "44.5 ± 2.2"), (320, "45.3 ± 2.0")),
            _line(124, (52, "Weight"), (230, "81.8 ± 2.8"), (320, "79.6 ± 2.9"))]
    assert arms_by_name(names, rows) == ([], [])
    assert _tables(_line(90, (49, "Table 1 Baseline characteristics")), names, *rows) == []
