"""Allocation sentences of published trial reports found on the PMC tune half: arms divided rather than
assigned, an allocation after an exclusion in one sentence, names with a bare "group n = X", one arm's n in its
own clause, every arm's n at once ("in each group"), an arm the sentence calls only "intervention", and one arm's
losses in a clause it heads."""

from __future__ import annotations

from metasift.extractor._consort import prose_counts
from metasift.extractor.pdf import Page
from metasift.extractor.rules import _the_generic_other
from metasift.extractor.schema import Arm
from tests.helpers import printed_line as _line


def _counts(text: str) -> list[tuple]:
    return [(c.field, c.arm, c.value, c.each) for c in prose_counts([Page(2, text, text, [], [], 595.0)])]


def test_participants_randomly_divided_into_groups_with_their_n_are_the_arms() -> None:
    said = ("Participants were randomly divided into an intervention group (n = 15), a sham group (n = 15), "
            "and a wait-list control group (n = 15).")
    assert _counts(said) == [("n_randomised", "intervention", 15, False), ("n_randomised", "sham", 15, False),
                             ("n_randomised", "wait-list control", 15, False)]


def test_an_allocation_after_an_exclusion_in_the_same_sentence_is_still_read() -> None:
    said = ("Out of these 119 patients, 15 were excluded, and the remaining 104 were randomly assigned by means of a "
            "balanced stratified assignment to an intervention (n = 52) or placebo (n = 52) group.")
    assert _counts(said) == [("n_randomised", "intervention", 52, False), ("n_randomised", "placebo", 52, False)]


def test_losses_after_the_allocation_keep_the_sentence_from_giving_randomised_counts() -> None:
    said = "Patients were randomly assigned to an intervention (n = 52) or placebo (n = 52) group, and 9 withdrew."
    assert _counts(said) == []


def test_names_with_a_bare_group_n_in_an_allocation_bracket_are_the_arms() -> None:
    said = ("150 were enrolled between January 2009 and January 2011 and randomized into the two groups "
            "(standardized group n = 78, individualized group n = 72).")
    assert _counts(said) == [("n_randomised", "standardized", 78, False),
                             ("n_randomised", "individualized", 72, False)]


def test_a_group_that_consisted_of_or_included_its_participants_gives_that_arms_n() -> None:
    said = ("The intervention group consisted of 50 subjects who received both Yoga Nidra apart from regular "
            "medications and the control group consisted of 50 subjects who received only medications. "
            "Group A included 688 subjects.")
    assert _counts(said) == [("n_randomised", "intervention", 50, False), ("n_randomised", "control", 50, False),
                             ("n_randomised", "Group A", 688, False)]


def test_a_count_in_each_group_of_an_allocation_is_every_arms_n() -> None:
    said = ("Two hundred patients with malignant tumors were randomly divided into a study group and a control "
            "group, with 100 patients in each group.")
    assert _counts(said) == [("n_randomised", "study", 100, False), ("n_randomised", "control", 100, False)]
    said = "Patients were randomised by a computer, with 100 patients in each group."
    assert _counts(said) == [("n_randomised", "", 100, True)]


def test_a_count_in_each_group_at_follow_up_or_per_randomisation_block_is_no_arms_n() -> None:
    assert _counts("Of those randomised, 16 participants in each group participated in the 12-month follow-up.") == []
    assert _counts("Block randomization, consisting of ten blocks of six subjects each, with three patients in each "
                   "group of treatment, was generated online.") == []
    assert _counts("Patients were randomised; we planned 50 patients in each group.") == []


def test_a_sentence_calling_one_arm_only_intervention_names_the_arm_a_table_names_otherwise() -> None:
    (intervention, control) = prose_counts([Page(1, *(["20 participants were randomly allocated to an intervention "
                                                       "(n = 11) or control (n = 9) group."] * 2), [], [], 595.0)])
    arms = [Arm(name="Physiotherapy group"), Arm(name="Control group")]
    assert _the_generic_other(intervention, [intervention, control], arms) is arms[0]
    assert _the_generic_other(control, [intervention, control], arms) is None  # "control" names its arm itself


def test_a_name_set_flush_left_over_two_lines_above_its_n_is_read_whole() -> None:
    from types import SimpleNamespace

    from metasift.extractor._tables import find_tables

    rows = [_line(100, (300, "Table 2 Demographic information for the physiotherapy and control groups")),
            _line(112, (437, "Physiotherapy"), (505, "Control")),
            _line(121, (437, "group"), (505, "group")),
            _line(130, (437, "N = 11"), (505, "N=9")),
            _line(140, (300, "Age (years)"), (437, "66.2 (8.0)"), (505, "66.3 (11.8)"))]
    (t,) = find_tables([SimpleNamespace(number=4, rows=rows, width=595.0)], [])
    assert [(a.name, a.n) for a in t.arms] == [("Physiotherapy group", 11), ("Control group", 9)]


def test_of_so_many_randomised_patients_states_the_total_randomised() -> None:
    from metasift.extractor._consort import total_n

    text = "Of 144 randomised patients, 5 were excluded and 139 started taking abatacept (43 patients)."
    assert total_n([Page(3, text, text, [], [], 595.0)])[0] == 144
    text = "The 56 randomised patients in the exercise group were older."
    assert total_n([Page(3, text, text, [], [], 595.0)]) is None


def test_analysed_counts_said_per_arm_in_the_shapes_papers_use() -> None:
    from tests.test_extractor_published_shapes import _counts

    assert _counts("Thus, one hundred subjects were evaluated (47 in Group Ropivacaine and 53 in Group Placebo).") \
        == [("n_analysed", "Group Ropivacaine", 47), ("n_analysed", "Group Placebo", 53)]
    assert _counts("Outcome data were available for all who completed the study: 53 (90%) in the intensive "
                   "education group and 51 (86%) in the conventional education group (Fig 1).") \
        == [("n_analysed", "intensive education", 53), ("n_analysed", "conventional education", 51)]
    assert _counts("The questionnaire was completed in n = 227 in the intervention group and n = 216 in the "
                   "control group.") == [("n_analysed", "intervention", 227), ("n_analysed", "control", 216)]
    assert _counts("Patients without a score at baseline were excluded, 228 patients in ER arm and 236 patients "
                   "in IR arm were included in efficacy analysis.") == [("n_analysed", "ER", 228),
                                                                        ("n_analysed", "IR", 236)]
    # the losses of a sentence that also names the analysis stay unread: which count is which is not clear
    assert _counts("Of these, 4 in the exercise group and 3 in the control group were excluded from the analysis.") \
        == []


def test_an_arms_n_in_brackets_may_be_followed_by_what_the_arm_received() -> None:
    from tests.test_extractor_published_shapes import _counts

    assert _counts("They were randomly assigned to an experimental (n=54, usual care and Sugarsquare) or a control "
                   "group (n=51, usual care).") == [("n_randomised", "experimental", 54), ("n_randomised", "control", 51)]


def test_an_allocation_naming_two_arms_without_their_n_gives_their_names() -> None:
    from metasift.extractor._consort import allocation_names

    def names(text: str) -> list[str]:
        return allocation_names([Page(2, text, text, [], [], 595.0)])

    assert names("In this randomized trial, 60 patients were randomly enrolled in two equal case and control "
                 "groups.") == ["case", "control"]
    assert names("Eighty-four adults were randomized to either LPA or a FM education control (FME) group.") == [
        "LPA", "FM education control"]
    assert names("We planned to randomize patients to either an exercise or a control group.") == []


def test_what_each_group_received_is_its_name_without_the_participle() -> None:
    said = ("Patients were evenly divided into two groups of I, receiving intravenous lidocaine (n = 120), and II, "
            "receiving intravenous morphine (n = 120).")
    assert [arm for _, arm, _, _ in _counts(said)] == ["intravenous lidocaine", "intravenous morphine"]


def test_one_arms_losses_in_a_clause_the_arm_heads_are_its_dropouts() -> None:
    assert _counts("In SJDBT group, there was one participant lost to follow-up for low compliance.") == [
        ("n_dropout", "SJDBT", 1, False)]
    assert _counts("In the intervention group, 3 patients were lost to follow-up.") == [
        ("n_dropout", "intervention", 3, False)]
    assert _counts("In the placebo group, one patient did not complete the follow-up period.") == [
        ("n_dropout", "placebo", 1, False)]
    # the first of several numbers is no arm's whole loss
    assert _counts("In the intervention group, 3 patients were lost to follow-up and 2 withdrew.") == []


def test_people_enrolled_by_group_after_a_colon_are_the_arms_randomised() -> None:
    said = ("In total, 245 caregivers were enrolled in the study: 149 in the experimental group and 96 in the "
            "comparison group.")
    assert _counts(said) == [("n_randomised", "experimental", 149, False), ("n_randomised", "comparison", 96, False)]
    assert _counts("120 patients were enrolled in the study (60 men and 60 women).") == []


def test_one_arm_s_losses_with_their_share_or_named_before_them_are_that_arm_s_dropout() -> None:
    assert _counts("One subject (8%) withdrew in the placebo group (worsened memory).") == [
        ("n_dropout", "placebo", 1, False)]
    assert _counts("One subject (4.6%) from the BCI-HK group dropped out in the 5th week of intervention.") == [
        ("n_dropout", "BCI-HK", 1, False)]
    # a count of something else ("one [pharmacy] from the RAO group withdrew"), or one sentence read twice
    assert _counts("Two pharmacies from the RA+ group withdrew, and one from the RAO group withdrew.") == []
    assert _counts("Two patients in the control group withdrew consent and three in the exercise group were lost "
                   "to follow-up.") == [("n_dropout", "control", 2, False), ("n_dropout", "exercise", 3, False)]


def test_three_counts_and_three_arms_respectively_give_each_arm_its_count() -> None:
    said = "23, 16 and 21 patients were randomized to placebo, pioglitazone and metformin treatment groups respectively."
    assert _counts(said) == [("n_randomised", "placebo", 23, False), ("n_randomised", "pioglitazone", 16, False),
                             ("n_randomised", "metformin", 21, False)]
    said = "A total of 30, 28, and 29 participants completed the trial in the yoga, walking and control groups, respectively."
    assert [c[:3] for c in _counts(said)] == [("n_analysed", "yoga", 30), ("n_analysed", "walking", 28),
                                              ("n_analysed", "control", 29)]


def test_two_readings_of_one_sentence_are_one_statement_and_two_sentences_are_two() -> None:
    from metasift.extractor.rules import _Candidate, _statements

    sentence = "Two patients in the control group withdrew consent and three in the exercise group were lost."
    one = [_Candidate(2, 3, "Two patients in the control group withdrew", "prose", sentence=sentence),
           _Candidate(2, 3, sentence, "prose")]
    assert _statements(one) == 1
    # the same count printed again on another page, or by a flow diagram, corroborates it
    assert _statements([*one, _Candidate(2, 5, "2 withdrew from the control group.", "prose")]) == 2
    assert _statements([*one, _Candidate(2, 3, "Withdrew (n = 2)", "diagram")]) == 2


def test_the_whole_sample_named_before_its_arms_is_no_arm() -> None:
    said = ("Children with JHS and knee pain (n=26) aged 7-16 years were randomly assigned to the hypermobile (n=12) "
            "or neutral (n=14) treatment group.")
    assert [(f, arm, n) for f, arm, n, _ in _counts(said)] == [("n_randomised", "hypermobile", 12),
                                                              ("n_randomised", "neutral", 14)]


def test_a_per_protocol_sentence_about_the_allocated_intervention_allocates_nobody() -> None:
    said = ("Per protocol analyses also showed that patients in the intervention condition who received the allocated "
            "intervention and completed the follow-up measure (n=30) did not differ from patients in the control "
            "condition (n=33).")
    assert _counts(said) == []


def test_a_sentence_opener_run_in_from_the_other_column_names_no_arm() -> None:
    said = ("At the survey, 881 (82%) patients in the aspirin group and 123 (11%) in Since the cohort study was "
            "a cohort study, the use of the no aspirin group were analysed.")
    assert all(arm != "Since" for _, arm, _, _ in _counts(said))
