"""Table headers found on the PMC tune half (tenth session): arms named again in each time point's cell of one
header line, with P value and effect size columns between them; a mean's x̄ printed as "χ" over each arm's
pair of columns; a caption that dates its table "on admission"."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._header import caption_kind, subcolumns
from metasift.extractor._tables import find_tables
from metasift.extractor.layout import Word
from tests.helpers import printed_line as _line


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _before_after(*values: tuple[float, str]) -> list:
    return [_line(100, (50, "Table 2 VPI scores for yoga and control groups")),
            _line(112, (80, "Before Means±SD Y"), (160, "After Means±SD Y"), (232, "P value"), (265, "ES"),
                  (310, "Before Means±SD PE"), (394, "After Means±SD PE")),
            _line(124, (50, "Sattva"), *values)]


def test_arms_named_again_under_before_and_after_give_each_arm_its_baseline() -> None:
    (t,) = _tables(*_before_after((80, "4.88 ± 0.52"), (160, "5.26 ± 0.51"), (232, "0.001"), (265, "0.61"),
                                  (310, "4.91 ± 0.53"), (394, "5.21 ± 0.65")), known=("Y", "PE"))
    got = [(t.arms[v.arm].name, v.timepoint, v.mean, v.sd) for v in t.values]
    assert got == [("Y", "before", 4.88, 0.52), ("Y", "after", 5.26, 0.51),
                   ("PE", "before", 4.91, 0.53), ("PE", "after", 5.21, 0.65)]


def test_arms_named_again_without_a_time_point_in_each_cell_are_no_time_columns() -> None:
    rows = [_line(100, (50, "Table 2 Scores")),
            _line(112, (80, "Means Y"), (160, "Means Y"), (310, "Means PE"), (394, "Means PE")),
            _line(124, (50, "Sattva"), (80, "4.88 ± 0.52"), (160, "5.26 ± 0.51"), (310, "4.91 ± 0.53"),
                  (394, "5.21 ± 0.65"))]
    assert all(v.timepoint in (None, "", "post") for t in _tables(*rows, known=("Y", "PE")) for v in t.values)


def test_two_lone_numbers_claiming_one_column_still_leave_the_row_unread() -> None:
    # a value's mean on one line, its SD on the next: the lone numbers between the columns are values too
    (t,) = _tables(*_before_after((80, "4.88"), (160, "5.26"), (232, "0.001"), (310, "4.91"), (394, "5.21")),
                   known=("Y", "PE"))
    assert t.values == [] and t.skipped == 1


def test_a_mean_printed_as_chi_over_its_sd_is_a_mean_column() -> None:
    assert [(kind, label) for kind, label, *_ in subcolumns(_line(100, (238, "χ SD χ SD χ SD")))] == \
        [("stat", "mean"), ("stat", "sd")] * 3
    assert [label for _, label, *_ in subcolumns(_line(100, (238, "χ2 df p")))][0] == "χ2"  # a test statistic
    (t,) = _tables(_line(100, (50, "Table 2 Clinical characteristics of patients on admission")),
                   _line(112, (238, "Apple Juice n = 30"), (330, "Water n = 30")),
                   _line(124, (238, "χ"), (262, "SD"), (330, "χ"), (354, "SD")),
                   _line(136, (50, "Diarrhea duration (hr)"), (238, "56.37"), (262, "33.90"), (330, "53.47"),
                         (354, "33.35")))
    assert [(t.arms[v.arm].name, v.mean, v.sd, v.n) for v in t.values] == [("Apple Juice", 56.37, 33.9, 30),
                                                                          ("Water", 53.47, 33.35, 30)]


def test_a_table_of_data_on_admission_describes_the_groups_at_baseline() -> None:
    assert caption_kind("Table 3 Laboratory data of patients on admission")[0] == "baseline"
    assert caption_kind("Table 4 Laboratory data at study entry and after 12 weeks")[0] == "outcome"


def _time_columns_table() -> list:
    return [_line(100, (50, "Table 2 Descriptive statistics and treatment effects at 1 year follow-up")),
            _line(112, (50, "Primary outcome measures"), (200, "Baseline (n = 159)"), (300, "Follow-up 1 (n = 146)"),
                  (420, "Follow-up 2 (n = 144)")),
            _line(124, (50, "Global fatigue severity (GFS) subscale of the FAI (potential range 1 to 7, high scores "
                            "indicate more fatigue)")),
            _line(136, (50, "FACETS mean (SD)"), (200, "5.60 (0.98)"), (300, "5.48 (0.92)"), (420, "5.26 (1.03)")),
            _line(148, (50, "CLP mean (SD)"), (200, "5.61 (1.09)"), (300, "5.55 (1.17)"), (420, "5.66 (0.93)")),
            _line(160, (50, "p value"), (200, "-"), (300, "0.86"), (420, "0.01")),
            _line(172, (50, "Multiple Sclerosis Impact Scale-29 (MSIS-29) (potential range 0 to 100, high scores "
                            "indicate more impact)")),
            _line(184, (50, "FACETS mean (SD)"), (200, "49.6 (19.1)"), (300, "47.3 (18.2)"), (420, "44.9 (19.2)")),
            _line(196, (50, "CLP mean (SD)"), (200, "43.9 (17.6)"), (300, "42.2 (18.4)"), (420, "43.0 (17.3)"))]


def test_time_points_with_their_n_over_the_columns_are_no_arms_and_the_rows_give_each_arm_its_baseline() -> None:
    (t,) = _tables(*_time_columns_table(), known=("FACETS", "CLP"))
    assert [a.name for a in t.arms] == ["FACETS", "CLP"]
    got = [(t.arms[v.arm].name, v.timepoint, v.measure.split(" (")[0], v.mean, v.sd) for v in t.values]
    assert got == [("FACETS", "baseline", "Global fatigue severity", 5.6, 0.98),
                   ("CLP", "baseline", "Global fatigue severity", 5.61, 1.09),
                   ("FACETS", "baseline", "Multiple Sclerosis Impact Scale-29", 49.6, 19.1),
                   ("CLP", "baseline", "Multiple Sclerosis Impact Scale-29", 43.9, 17.6)]


def test_time_points_over_the_columns_with_rows_that_name_no_known_arm_give_nothing() -> None:
    assert _tables(*_time_columns_table(), known=("Yoga", "Waitlist")) == []


def test_people_with_their_n_who_were_randomized_or_those_initially_enrolled_state_the_total() -> None:
    from metasift.extractor._consort import total_n
    from metasift.extractor.pdf import Page

    def total(text: str) -> int | None:
        found = total_n([Page(1, text, text, [], [], 595.0)])
        return found[0] if found else None

    assert total("Cancer survivors (N = 74) who completed cancer treatment 6 months to 10 years prior to enrollment "
                 "reporting at least moderate fatigue (i.e., ≥4 on a 0-10 scale) were randomized to OLP or TAU.") == 74
    assert total("Results The study included 56 of the 62 patients initially enrolled.") == 62
    assert total("Of the 62 patients enrolled, 56 were randomized.") == 56  # enrolled before the randomisation
    # those screened, of whom some were randomised
    assert total("Adult patients (n = 120) with chronic pain were screened and those eligible were randomized to "
                 "yoga or to usual care.") is None


def _statistic_row(y: float) -> list:
    """A row of values ending in "F(1,65) = 8.10  .006", its "=" set tight after the statistic as printers do."""
    words = _line(y, (50, "Positive ES (total)"), (234, "4.90 (0.89)"), (280, "4.66 (1.13)"), (324, "4.85 (0.92)"),
                  (370, "3.97 (1.24)"), (414, "F(1,65) = 8.10"), (468, ".006"))
    k = next(k for k, w in enumerate(words) if w.text == "=")
    return [Word(w.text, w.x0 - 2, w.x1 - 2, w.base, w.size) if k <= j < k + 2 else w for j, w in enumerate(words)]


def test_a_row_ending_in_a_test_statistic_with_its_degrees_of_freedom_is_a_row_of_values() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 ANCOVAs and independent-samples t-test results")),
                   _line(112, (234, "Expansive"), (324, "Contractive")),
                   _line(124, (234, "(n = 34)"), (324, "(n = 34)")),
                   _line(136, (234, "Pre"), (280, "Post"), (324, "Pre"), (370, "Post")),
                   _line(148, (234, "M(SD)"), (280, "M(SD)"), (324, "M(SD)"), (370, "M(SD)"), (414, "F / t"),
                         (468, "p")),
                   _statistic_row(160))
    assert [(t.arms[v.arm].name, v.timepoint, v.mean) for v in t.values] == [
        ("Expansive", "pre", 4.9), ("Expansive", "post", 4.66), ("Contractive", "pre", 4.85),
        ("Contractive", "post", 3.97)]


def _side_effects(*, named_later: bool) -> list:
    first = [_line(100, (50, "Table 1 Average side effect intensity at pre-treatment and post-treatment")),
             _line(112, (212, "Pre-Treatment"), (381, "Post-Treatment")),
             _line(124, (212, "Red"), (297, "White"), (381, "Red"), (466, "White")),
             _line(136, (52, "Symptom"), (212, "Mean"), (258, "SD"), (297, "Mean"), (343, "SD"), (381, "Mean"),
                   (427, "SD"), (466, "Mean"), (512, "SD")),
             _line(148, (52, "Total side effect intensity"), (212, "3.7"), (258, "(5.3)"), (297, "4.7"), (343, "(6.1)"),
                   (381, "4.2"), (427, "(5.6)"), (466, "4.4"), (512, "(5.3)"))]
    later = [_line(300, (50, "Table 2 Percentage of side effects reported")),
             _line(312, (212, "Red (n = 112)"), (297, "White (n = 101)")),
             _line(324, (52, "Headache, n (%)"), (212, "12 (10.7)"), (297, "9 (8.9)"))]
    return first + later if named_later else first


def test_arms_a_later_table_names_are_read_under_time_points_in_an_earlier_one() -> None:
    assert _tables(*_side_effects(named_later=False)) == []
    first, _ = _tables(*_side_effects(named_later=True))
    assert [(first.arms[v.arm].name, v.timepoint, v.mean, v.sd) for v in first.values] == [
        ("Red", "pre-treatment", 3.7, 5.3), ("White", "pre-treatment", 4.7, 6.1),
        ("Red", "post-treatment", 4.2, 5.6), ("White", "post-treatment", 4.4, 5.3)]


def test_losses_printed_as_fractions_with_their_percentages_are_each_arm_s_dropouts() -> None:
    from metasift.extractor._consort import fraction_losses
    from metasift.extractor.pdf import Page, PdfDocument
    from metasift.extractor.rules import extract

    def losses(text: str) -> list:
        return [pairs for pairs, _, _ in fraction_losses([Page(1, text, text, [], [], 595.0)])]

    assert losses("Dropout was 12/60 (20%) in the intervention group and 6/58 (10%) in the control group.") == \
        [[(12, 60), (6, 58)]]
    assert losses("In total, 18 participants dropped out: 12 of 60 (20%) in the intervention group and 6 of 58 "
                  "(10%) in the control group.") == [[(12, 60), (6, 58)]]
    assert losses("Dropout rates were higher for participants assigned to MoodGYM (451/613, 74%) compared with IPT "
                  "(414/620, 67%) or CBT (429/610, 70%).") == [[(451, 613), (414, 620), (429, 610)]]
    text = ("Participants were randomly assigned to the intervention group (n = 60) or the control group (n = 58). "
            "Attrition at follow-up was 12/60 (20%) in the intervention group vs 6/58 (10%) in the control group.")
    result = extract(PdfDocument("t.pdf", [Page(1, text, text, [], [], 595.0)], {}), ocr=False)
    assert [(a.n_randomised, a.n_dropout) for a in result.arms] == [(60, 12), (58, 6)]


def test_losses_per_arm_in_the_phrasings_trial_reports_use() -> None:
    from metasift.extractor._consort import prose_counts
    from metasift.extractor.pdf import Page

    def counts(text: str) -> list[tuple]:
        return [(c.field, c.arm, c.value) for c in prose_counts([Page(2, text, text, [], [], 595.0)])]

    dropouts = [("n_dropout", "intervention", 12), ("n_dropout", "control", 6)]
    assert counts("Twelve participants in the intervention group and six in the control group dropped out.") == dropouts
    assert counts("A total of 18 participants were lost to follow-up (intervention: n = 12; control: n = 6).") == dropouts
    assert counts("Attrition was 20% (n = 12) in the intervention group and 10% (n = 6) in the control group.") == \
        dropouts
    assert counts("In the intervention group, 12 participants (20%) did not complete the post-intervention "
                  "assessment.") == dropouts[:1]
    # a bracket of n in a sentence about the analysis counts the analysed; in a plan, nothing
    assert counts("The analysis included everyone with outcome data (intervention: n = 48; control: n = 52).") == \
        [("n_analysed", "intervention", 48), ("n_analysed", "control", 52)]
    assert counts("We planned to analyse 120 participants (intervention: n = 60; control: n = 60).") == []
