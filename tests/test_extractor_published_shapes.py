"""More shapes of published trial reports (PMC tune papers, fifth session): arms named by their initials, a time
point heading over the arms' names, a count wrapped in a narrow header cell, an SD wrapped away from its "±",
"(SD: 2.86)" cells, tables whose rows are the arms, another study's design, losses said in sentences, and
disagreeing statements of a count that go to a human."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._arm_rows import ARMS_AS_ROWS
from metasift.extractor._cells import split_row
from metasift.extractor._consort import prose_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._text import same_arm
from metasift.extractor.design import detect_design
from metasift.extractor.pdf import Page
from metasift.extractor.rules import _total
from metasift.extractor.schema import Arm, Evidence, ExtractionResult
from tests.helpers import printed_line as _line


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _counts(text: str) -> list[tuple]:
    return [(c.field, c.arm, c.value) for c in prose_counts([Page(2, text, text, [], [], 595.0)])]


def test_an_acronym_names_the_arm_whose_initials_it_spells() -> None:
    assert same_arm("IG", "intervention group") and same_arm("PG", "placebo") and same_arm("TAU", "treatment as usual")
    assert same_arm("MICT", "moderate-intensity continuous training")
    assert not same_arm("IG", "PG") and not same_arm("CBT", "control") and not same_arm("IG", "group")


def test_a_time_point_heading_over_the_arms_names_makes_their_columns_that_time_point() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Differences in quality of life between study groups.")),
                   _line(112, (75, "Baseline M (SD)"), (192, "25 weeks M (SD)")),
                   _line(124, (50, "SF-36"), (75, "IG"), (119, "PG"), (162, "T"), (192, "IG"), (232, "PG")),
                   _line(136, (50, "PF"), (75, "49.43 (6.90)"), (119, "51.90 (9.92)"), (162, ".199"),
                         (192, "45.90 (5.87)"), (232, "50.53 (9.12)")),
                   known=("intervention", "placebo"))
    assert [(t.arms[v.arm].name, v.timepoint, v.mean, v.sd) for v in t.values] == [
        ("intervention", "baseline", 49.43, 6.9), ("placebo", "baseline", 51.9, 9.92)]


def test_a_time_point_under_the_arms_names_is_a_sub_header_not_a_heading_over_them() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Mean values before the intervention (pre) and at follow-up (post)")),
                   _line(112, (150, "HIIT (n = 10)"), (350, "MICT (n = 13)")),
                   _line(124, (50, "Variable"), (150, "Pre"), (250, "1-month follow-up"), (350, "Pre"),
                         (450, "1-month follow-up")),
                   _line(136, (50, "MVPA10+"), (150, "24.6 (25.6)"), (250, "51.6 (41.1)"), (350, "39.6 (54.3)"),
                         (450, "84.1 (90.0)")))
    assert "follow-up" not in {v.timepoint for v in t.values if v.mean in (24.6, 39.6)}


def test_a_count_wrapped_in_a_narrow_header_cell_is_read_with_its_arm() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline participant characteristics")),
                   _line(112, (155, "All"), (190, "Control"), (234, "MTM")),
                   _line(121, (146, "subjects"), (185, "group (n ="), (229, "group (n"), (273, "p")),
                   _line(130, (70, "Demographics"), (147, "(N = 50)"), (198, "25)"), (236, "= 25)"), (267, "value")),
                   _line(140, (52, "Age (years)"), (144, "77.7 ± 6.6"), (188, "79.1 ± 6.9"), (229, "76.3 ± 6.2"),
                         (269, "0.13")))
    assert [(a.name, a.n, a.total) for a in t.arms] == [("All subjects", 50, True), ("Control group", 25, False),
                                                        ("MTM group", 25, False)]
    assert [(v.arm, v.mean, v.sd) for v in t.values] == [(1, 79.1, 6.9), (2, 76.3, 6.2)]


def test_an_sd_wrapped_below_its_plus_minus_does_not_take_the_p_value_across_the_gap() -> None:
    cells = split_row(_line(100, (52, "General health"), (142, "67.7 ± 17.9"), (186, "69.4 ± 14.8"),
                            (234, "66.0 ±"), (269, "0.52")))[1]
    assert [(c.kind, c.a, c.b) for c in cells] == [("pm", 67.7, 17.9), ("pm", 69.4, 14.8), ("num", 66.0, None),
                                                   ("num", 0.52, None)]


def test_an_sd_named_inside_its_bracket_is_read_as_the_sd() -> None:
    cells = split_row(_line(100, (50, "Intervention"), (182, "3.61 (SD: 2.86)"), (345, "8.18 (SD = 1.46)")))[1]
    assert [(c.kind, c.a, c.b) for c in cells] == [("pair", 3.61, 2.86), ("pair", 8.18, 1.46)]


def test_a_table_whose_rows_are_the_arms_gives_the_baseline_column_for_a_human() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Overview of the RE&C scores (before and after training)")),
                   _line(112, (50, "Group"), (182, "Pre-training score"), (345, "Post-training score")),
                   _line(124, (50, "Intervention"), (182, "3.61 (SD: 2.86)"), (345, "8.18 (SD: 1.46)")),
                   _line(136, (50, "Control"), (182, "3.04 (SD: 1.88)"), (345, "6.98 (SD: 3.71)")),
                   known=("intervention", "control"))
    assert [(t.arms[v.arm].name, v.timepoint, v.mean, v.sd, v.doubt) for v in t.values] == [
        ("intervention", "baseline", 3.61, 2.86, ARMS_AS_ROWS), ("control", "baseline", 3.04, 1.88, ARMS_AS_ROWS)]


def test_rows_of_arms_the_paper_does_not_name_are_no_table() -> None:
    assert _tables(_line(100, (50, "Table 2 Scores by site")),
                   _line(112, (50, "Site"), (182, "Baseline"), (345, "Week 8")),
                   _line(124, (50, "Boston"), (182, "3.61 (2.86)"), (345, "8.18 (1.46)")),
                   _line(136, (50, "Denver"), (182, "3.04 (1.88)"), (345, "6.98 (3.71)")),
                   known=("intervention", "control")) == []


def test_a_crossover_study_another_paper_found_something_with_is_not_this_trials_design() -> None:
    cited = ("A placebo-controlled crossover study demonstrated the effect of cholinergic antagonists in dementia; "
             "patients enrolled in this trial experienced memory impairment.")
    assert detect_design([(1, cited)], 2)[0].kind == "parallel"
    assert detect_design([(1, "This randomised crossover trial showed that sleep improved.")], 2)[0].kind == \
        "crossover"


def test_a_trial_a_discussion_tells_of_in_a_clause_of_its_own_is_not_this_trials_design() -> None:
    other = ("In a randomised double-blind crossover clinical trial, patients treated with amantadine had their mean "
             "(SD) FSS decrease from 4.8 (1.4) to 4.0 (1.4).")
    assert detect_design([(5, other)], 2)[0].kind == "parallel"
    ours = "In a randomised, double-blind crossover trial, we compared melatonin with placebo."
    assert detect_design([(2, ours)], 2)[0].kind == "crossover"


def test_losses_said_per_arm_in_sentences_are_each_arms_dropouts() -> None:
    assert _counts("During the study, 9 patients withdrew from the intervention group and 11 from the placebo "
                   "group.") == [("n_dropout", "intervention", 9), ("n_dropout", "placebo", 11)]
    assert _counts("123 patients completed the study with eight dropouts in the exercise group and six in the "
                   "control group.") == [("n_dropout", "exercise", 8), ("n_dropout", "control", 6)]
    assert _counts("Three subjects dropped out from the exercise group.") == [("n_dropout", "exercise", 3)]
    assert _counts("A total of 16 and 10 participants completed one-month follow-up for MICT and HIIT, "
                   "respectively.") == [("n_analysed", "MICT", 16), ("n_analysed", "HIIT", 10)]


def test_an_allocation_naming_both_arms_with_one_n_gives_each_arm_that_n() -> None:
    said = ("Students were assigned to either the intervention or control group (both: n = 57) by balanced "
            "randomization.")
    assert _counts(said) == [("n_randomised", "intervention", 57), ("n_randomised", "control", 57)]
    said = "Overall, 658 eyes were assigned to the alcohol group and 592 eyes were allocated to the mechanical group."
    assert _counts(said) == [("n_randomised", "alcohol", 658), ("n_randomised", "mechanical", 592)]


def test_two_different_totals_randomised_send_the_total_and_the_arms_counts_to_a_human() -> None:
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="A", n_randomised=16), Arm(name="B", n_randomised=29)])
    result.evidence = [Evidence(field=f"arms[{i}].n_randomised", value=v, page=1, quote=f"{v} to arm")
                       for i, v in enumerate((16, 29))]
    _total([(45, 1, "Forty-five subjects were randomly assigned"), (55, 4, "55 patients were randomized")], result)
    assert result.n_total == 45
    assert all(ev.doubt for ev in result.evidence)


def test_a_second_statement_that_also_prints_the_total_is_no_disagreement() -> None:
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="A", n_randomised=100), Arm(name="B", n_randomised=100)])
    _total([(200, 1, "A total of 200 participants were randomised"),
            (317, 2, ", 317 people were screened and 200 were randomised"), (548, 2, "n=548) Randomised")], result)
    assert result.n_total == 200 and not any(ev.doubt for ev in result.evidence)


def test_an_sd_printed_with_its_own_plus_minus_in_brackets_is_read_as_the_sd() -> None:
    cells = split_row(_line(100, (50, "Eyberg"), (150, "124.1 (±27.1)"), (250, "130.2 (± 25.0)")))[1]
    assert [(c.kind, c.a, c.b) for c in cells] == [("pair", 124.1, 27.1), ("pair", 130.2, 25.0)]


def test_a_line_of_bracketed_sds_under_the_means_completes_the_row_above() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Baseline scores")),
                   _line(112, (150, "Coaching (n = 28)"), (250, "Education (n = 38)")),
                   _line(124, (50, "Negative Affect"), (150, "24.5"), (250, "24.1")),
                   _line(133, (50, "Scale"), (150, "(6.9)"), (250, "(7.3)")))
    assert [(v.measure, v.mean, v.sd) for v in t.values] == [("Negative Affect Scale", 24.5, 6.9),
                                                             ("Negative Affect Scale", 24.1, 7.3)]


def _two_pain_rows(other_mean: float) -> ExtractionResult:
    from metasift.extractor.schema import Baseline

    arms = [Arm(name=n, baselines=[Baseline(measure="Pain at rest (VAS)", mean=m, sd=1.0, n=20),
                                   Baseline(measure="Pain on movement (VAS)", mean=o, sd=1.5, n=20)])
            for n, m, o in (("A", 4.0, other_mean), ("B", 4.2, other_mean + 0.1))]
    result = ExtractionResult(path="x.pdf", arms=arms)
    result.evidence = [Evidence(field=f"arms[{i}].baselines[{j}].{stat}", value=getattr(arms[i].baselines[j], stat),
                                page=2, quote=f"{b.measure} {b.mean} ({b.sd})" if stat != "n" else "(n = 20)")
                       for i in range(2) for j, b in enumerate(arms[i].baselines) for stat in ("mean", "sd", "n")]
    return result


def test_a_baseline_another_printed_measure_fits_as_well_goes_to_a_human() -> None:
    from metasift.config import OutcomeSpec
    from metasift.extractor.checks import check_extraction
    from metasift.extractor.outcomes import apply_target

    result = _two_pain_rows(6.0)
    apply_target(result, [OutcomeSpec(id="pain", label="Pain", instruments=["pain", "VAS"])])
    assert result.target is not None and result.target.rivals == ["Pain on movement (VAS)"]
    status = {c.field: c for c in check_extraction(result, {2: "Pain at rest (VAS) 4.0 (1.0) Pain on movement"})}
    assert status["arms[0].baselines[0].mean"].status == "needs_human"
    assert "other baselines fit this outcome too" in status["arms[0].baselines[0].mean"].reasons[-1]


def test_a_rival_measure_printing_the_same_numbers_leaves_nothing_to_choose() -> None:
    from metasift.config import OutcomeSpec
    from metasift.extractor.outcomes import apply_target

    result = _two_pain_rows(4.0)
    for arm in result.arms:  # the same numbers printed under a second name
        arm.baselines[1] = arm.baselines[1].model_copy(update={"mean": arm.baselines[0].mean, "sd": 1.0})
    apply_target(result, [OutcomeSpec(id="pain", label="Pain", instruments=["pain", "VAS"])])
    assert result.target is not None and result.target.rivals == []


def test_two_treatments_joined_by_and_or_by_an_ampersand_are_one_arm_and_neither_alone() -> None:
    assert same_arm("exercise and manual therapy", "General Exercise & Manual therapy")
    assert not same_arm("exercise and manual therapy", "manual therapy")
    assert same_arm("Psycho-educational program", "psycho-educational")  # no "and": words still nest
