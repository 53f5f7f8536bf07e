"""Wrong values the checks auto-verified on published reports the rules had never read
(``bench/bench_extract_fields.py --split pmc-probe2``, half of what was still held out, released for reading): a
percentage row read as mean (SD) under a note saying every value is one, a section line read as the end of the
label above it, a table's "±" that the methods call a standard error, and a second allocation statement, in
the results, that the reader missed."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import prose_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._values import MEAN_SE, prose_declaration
from tests.helpers import printed_line as _line
from tests.helpers import text_page


def _tables(*rows: list, said: str = "") -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], [], said)


def _counts(text: str) -> set[tuple[str, str, int]]:
    return {(c.field, c.arm, c.value) for c in prose_counts([text_page(text)])}


def _baseline_table(*body: list) -> list:
    return _tables(
        _line(100, (49, "Table 1 Baseline characteristics of participants")),
        _line(112, (230, "Control (n = 25)"), (330, "Exercise (n = 27)")),
        *body,
        _line(200, (49, "All values are group mean (standard deviation)."), size=7.0))


def test_a_percentage_with_its_count_is_no_mean_and_sd_whatever_the_note_says() -> None:
    (table,) = _baseline_table(
        _line(124, (52, "Age (yrs)"), (230, "72.5 (5.8)"), (330, "73.5 (5.9)")),
        _line(136, (52, "% Female (n)"), (230, "64.0 (16)"), (330, "63.0 (17)")),
        _line(148, (52, "VO2 peak (ml/kg/min)"), (230, "21.7 (4.2)"), (330, "22.4 (4.1)")))
    assert {v.measure for v in table.values} == {"Age (yrs)", "VO2 peak (ml/kg/min)"}


def test_a_capitalised_line_after_a_label_closed_by_its_bracket_heads_the_rows_below() -> None:
    (table,) = _baseline_table(
        _line(124, (52, "Age (yrs)"), (230, "72.5 (5.8)"), (330, "73.5 (5.9)")),
        _line(136, (52, "Cardiorespiratory Fitness and Physical Function")),
        _line(148, (52, "VO2 peak (ml/kg/min)"), (230, "21.7 (4.2)"), (330, "22.4 (4.1)")))
    assert [v.measure for v in table.values][::2] == ["Age (yrs)", "VO2 peak (ml/kg/min)"]
    # a label that wraps goes on where it broke off: an open bracket, or a line in lower case
    (table,) = _baseline_table(
        _line(124, (52, "Hamilton Rating Scale for"), (230, "22.1 (4.0)"), (330, "21.9 (3.8)")),
        _line(136, (52, "Depression (HAM-D)")),
        _line(148, (52, "BMI (kg/m2)"), (230, "27.1 (3.0)"), (330, "26.4 (2.9)")))
    assert table.values[0].measure == "Hamilton Rating Scale for Depression (HAM-D)"


def test_methods_that_call_the_figures_mean_and_sem_make_an_undeclared_plus_minus_a_standard_error() -> None:
    assert prose_declaration(["Data are presented as mean ± SEM (standard error of the mean)."]) == "se"
    assert prose_declaration(["Values are expressed as means ± standard error."]) == "se"
    # said both ways (figures as SEM, tables as SD), or only SD: the table's own "±" stays mean ± SD
    assert prose_declaration(["Figures show mean ± SEM.", "Table values are mean ± SD."]) == ""
    assert prose_declaration(["Data are mean ± SD.", "The SEM was small."]) == ""
    rows = (_line(100, (49, "Table 1 Baseline characteristics")),
            _line(112, (230, "Treatment (n = 33)"), (330, "Control (n = 29)")),
            _line(124, (52, "ABC Total Score"), (230, "55.2 ± 28.7"), (330, "53.3 ± 24.0")))
    (table,) = _tables(*rows, said="se")
    assert [(v.mean, v.sd, v.printed_as) for v in table.values] == [(55.2, None, MEAN_SE), (53.3, None, MEAN_SE)]
    (table,) = _tables(*rows)
    assert [(v.mean, v.sd) for v in table.values] == [(55.2, 28.7), (53.3, 24.0)]


def test_two_allocation_clauses_joined_by_a_comma_and_and_give_both_arms() -> None:
    text = ("A total of 48 individuals were screened and 22 enrolled. Of these, 11 were assigned to the BT group, "
            "and 12 were assigned to the BE group.")
    assert _counts(text) == {("n_randomised", "BT", 11), ("n_randomised", "BE", 12)}


def test_counts_of_those_left_after_the_losses_are_not_the_losses() -> None:
    text = ("Another 10 persons did not complete the 6-month follow-up interview due to illness, leaving 152 "
            "participants in the study (72 in the intervention group and 80 in the control group).")
    assert [c for c in prose_counts([text_page(text)]) if c.field == "n_dropout"] == []
    text = "Ten participants dropped out (4 in the intervention group and 6 in the control group)."
    assert {(c.field, c.value) for c in prose_counts([text_page(text)])} == {("n_dropout", 4), ("n_dropout", 6)}


def test_each_arms_count_alone_in_a_bracket_after_its_name_is_its_randomised() -> None:
    assert _counts("The remaining 22 subjects were randomized into 3 intervention groups as follows: BCI-HK (7 "
                   "subjects), HK (8 subjects) and SAT (7 subjects) respectively.") == {
        ("n_randomised", "BCI-HK", 7), ("n_randomised", "HK", 8), ("n_randomised", "SAT", 7)}
    # a bare number in brackets may be a citation: read only where the arms add up to a total the clause prints
    assert _counts("We recruited 703 adults and randomised participants 1.33:1 to intervention (403) or control "
                   "(300).") == {("n_randomised", "intervention", 403), ("n_randomised", "control", 300)}
    assert _counts("Participants were randomised to mindfulness (12) or relaxation (14) as described before.") == set()


def test_a_bracket_giving_the_n_per_group_counts_every_arm() -> None:
    page = text_page("The subjects were randomly allocated into 3 groups (n = 32 per group).")
    assert [(c.field, c.value, c.each) for c in prose_counts([page])] == [("n_randomised", 32, True)]


def test_three_arms_listed_by_what_each_was_treated_with_are_randomised_counts() -> None:
    assert _counts("One hundred and ninety-three patients were randomized, 66 patients were treated with tape, 58 "
                   "patients with a semi-rigid brace and 62 patients with a lace-up brace.") == {
        ("n_randomised", "tape", 66), ("n_randomised", "semi-rigid brace", 58), ("n_randomised", "lace-up brace", 62)}


def test_measurements_completed_by_each_arms_count_are_its_analysed() -> None:
    assert _counts("Measurements were completed by 78 IG and 67 CG patients from 15 community pharmacies.") == {
        ("n_analysed", "IG", 78), ("n_analysed", "CG", 67)}


def test_two_clauses_each_randomly_allocating_one_arm_give_both() -> None:
    assert _counts("From the 62 children who were enrolled in the study, 33 were randomly allocated to the treatment "
                   "group and 29 were randomly allocated to the control group.") == {
        ("n_randomised", "treatment", 33), ("n_randomised", "control", 29)}


def test_an_allocation_sentence_a_tables_text_runs_into_is_still_read() -> None:
    text = ("Table 1 Initial characteristics of children in the treatment and control groups\nTreatment Control "
            "P\nAge 4.97 ± 1.29 4.86 ± 1.13 0.73\nMale 30/33 26/29 0.72\nABC Total Score 55.2 ± 28.7 53.3 ± 24.0 "
            "0.78\nABC Irritability 13.2 ± 9.5 12.2 ± 7.9 0.67\n* Student's t test\nRandomization and Allocation\n"
            "From the 62 children who were enrolled in the study, 33 were\nrandomly allocated to the treatment group "
            "and 29 were randomly\nallocated to the control group.")
    assert _counts(text) == {("n_randomised", "treatment", 33), ("n_randomised", "control", 29)}


def test_counts_of_another_trial_cited_in_the_discussion_are_not_this_trials() -> None:
    assert _counts("Besides, a recent randomized controlled trial demonstrated a significant improvement following "
                   "yoga (change: -3.5 ± 13.7 mmHg in yoga group, n = 20 vs. +2.0 ± 14.7 mmHg in control group, "
                   "n = 21) [28].") == set()


def test_an_allocation_listing_its_arms_twice_gives_the_first_listing() -> None:
    assert _counts("In this study, 283 adults participants were randomized, and assigned to control group and yoga "
                   "group (Control Group n = 137, Yoga Group n = 146) and 182 participants finally completed the "
                   "study (Control Group n = 98, Yoga Group n = 84).") >= {
        ("n_randomised", "Control", 137), ("n_randomised", "Yoga", 146)}


def test_a_dataset_completed_by_imputation_gives_no_arms_analysed() -> None:
    assert _counts("Imputing the data for missing values resulted in a dataset of 647 participants (92%) (control "
                   "n = 275, intervention n = 372), which represented 99% of the sample.") == set()


def test_a_running_head_naming_authors_et_al_does_not_make_a_sentence_another_trials() -> None:
    assert _counts("JMIR FORMATIVE RESEARCH Richards et al Of 23 schools invited, 16 agreed and were randomised (8 "
                   "per arm), enrolling 126 students: 60 in intervention schools, 66 in control schools.") >= {
        ("n_randomised", "intervention schools", 60), ("n_randomised", "control schools", 66)}
