"""Arm names and the clauses that count an arm (ninth session): short forms a paper defines ("active
tDCS+exercise (AT+EX)") meet the names printed in full; an arm that adds a treatment to the control is the
intervention; "13% [n = 2] in the AT+EX group", "76 patients enrolled in each group" in a sentence about the
analysis, and one arm's allocation in a clause of its own are read; "one withdrew ... and the second relocated" is
no arm's whole loss."""

from __future__ import annotations

from metasift.extractor._text import abbreviations, spelled_out
from metasift.extractor.pdf import Page, PdfDocument
from metasift.extractor.rules import extract

DEFINED = ("Participants were randomised to receive active tDCS+exercise (AT+EX) or sham tDCS+exercise (ST+EX) "
           "twice weekly. ")


def _extract(prose: str):
    doc = PdfDocument("t.pdf", [Page(1, prose, prose, [], [], 595.0)], {})
    return extract(doc, ocr=False)


def test_a_short_form_in_brackets_is_spelled_out_by_the_words_before_it() -> None:
    defined = abbreviations(DEFINED + "Treatment as usual (TAU) and internet-based CBT (iCBT) were compared.")
    assert defined["AT+EX"] == "active tDCS + exercise"
    assert defined["TAU"] == "Treatment as usual"
    assert defined["iCBT"] == "internet-based CBT"
    assert spelled_out("AT+EX group", defined) == "active tDCS + exercise group"
    assert spelled_out("the control group", defined) == "the control group"


def test_words_in_brackets_that_spell_nothing_define_nothing() -> None:
    defined = abbreviations("Nine (control) had a fracture at the inferior vertebra (iv) and a mean of 4 (SD 2).")
    assert defined == {}


def test_a_short_form_defined_two_ways_is_left_out() -> None:
    defined = abbreviations("Cognitive therapy (CT) was given. A computed tomography (CT) scan was made.")
    assert "CT" not in defined


def test_plus_and_the_plus_sign_are_one_long_form() -> None:
    defined = abbreviations(DEFINED + "Participants were allocated to: 1) active tDCS plus exercise (AT+EX).")
    assert defined["AT+EX"] == "active tDCS + exercise"


def test_counts_of_an_arm_named_by_its_short_form_go_to_the_arm_named_in_full() -> None:
    prose = (DEFINED + "Participants were randomly allocated to active tDCS plus exercise (n = 15) or to sham tDCS "
             "plus exercise (n = 15). Twenty-five participants (13 in the AT+EX group and 12 in the ST+EX group) completed the "
             "treatment and post-intervention assessment. The dropout rate was 16% (13% [n = 2] in the AT+EX group "
             "and 20% [n = 3] in the ST+EX group).")
    result = _extract(prose)
    assert [(a.n_randomised, a.n_analysed, a.n_dropout) for a in result.arms] == [(15, 13, 2), (15, 12, 3)]
    assert [a.name for a in result.arms] == ["active tDCS plus exercise", "sham tDCS plus exercise"]


def test_one_arm_s_first_loss_of_two_is_no_count_of_its_losses() -> None:
    prose = ("Patients were randomized to exercise (n = 50) or to usual care (n = 48). In the exercise group, one "
             "participant withdrew after a fall at home and the second relocated to another city.")
    assert [a.n_dropout for a in _extract(prose).arms] == [None, None]


def test_an_arm_that_adds_a_treatment_to_the_control_is_the_intervention() -> None:
    from metasift.extractor.rules import match_arm
    from metasift.extractor.schema import Arm

    kinds = [Arm(name="intervention"), Arm(name="control")]
    assert match_arm("CBT + TAU", kinds).name == "intervention"
    assert match_arm("usual care plus exercise", kinds).name == "intervention"
    assert match_arm("placebo + usual care", kinds).name == "control"
    assert match_arm("Active control", kinds).name == "control"
    named = [Arm(name="CBT + TAU"), Arm(name="TAU")]
    assert match_arm("intervention group", named).name == "CBT + TAU"
    assert match_arm("control group", named).name == "TAU"
    added = [Arm(name="HAART+IMOD"), Arm(name="HAART")]
    assert match_arm("the intervention group", added).name == "HAART+IMOD"
    assert match_arm("the control group", added).name == "HAART"


def test_an_analysis_of_n_patients_in_each_group_gives_every_arm_its_analysed() -> None:
    prose = ("Patients were randomized to exercise (n = 80) or to usual care (n = 80). For ITT analysis, the "
             "primary endpoint was analyzed on the basis of 76 patients enrolled in each group.")
    assert [a.n_analysed for a in _extract(prose).arms] == [76, 76]
    planned = ("Patients were randomized to exercise (n = 80) or to usual care (n = 80). A sample size of 76 "
               "patients in each group would be required for the analysis.")
    assert [a.n_analysed for a in _extract(planned).arms] == [None, None]
    # those available for follow-up are those the outcome was measured on
    followed = ("Patients were randomized to exercise (n = 30) or to usual care (n = 30). Twenty-eight patients in "
                "each group were available for follow-up at 12 weeks.")
    assert [a.n_analysed for a in _extract(followed).arms] == [28, 28]


def test_each_arm_s_allocation_in_a_clause_of_its_own_gives_its_randomised() -> None:
    prose = ("Thirty patients were allocated to the CBT group, and 28 patients were allocated to the waitlist "
             "group. Fifty-two patients were included in the control group.")
    from metasift.extractor._consort import prose_counts

    page = Page(1, prose, prose, [], [], 595.0)
    assert [(c.arm, c.value) for c in prose_counts([page]) if c.field == "n_randomised"] == [
        ("CBT", 30), ("waitlist", 28), ("control", 52)]


def test_an_allocation_to_two_arms_at_once_or_to_the_study_is_no_arm_s_count() -> None:
    from metasift.extractor._consort import prose_counts

    for prose in ("762 participants were randomly allocated to an intervention or control group.",
                  "888 subjects were included in the study from an initial group of 1200.",
                  "A sample size of 40 patients randomized to the exercise group would be needed."):
        assert prose_counts([Page(1, prose, prose, [], [], 595.0)]) == [], prose
