"""Shapes of tables that print mean and SD in columns of their own (eighth session): the measure named on the
sub-column line, min and max columns beside them, decimal commas, a measure's line over its time point rows, a row
labelled "# exacerbations" (not a footnote), a range beside each arm's mean ("9-50"), and a caption's "after
randomisation". Arms set twice under "Completers" and "Intention-to-treat" headings give the ITT columns, for a human
to confirm."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._cells import split_row
from metasift.extractor._header import caption_kind
from metasift.extractor._tables import ITT_COLUMNS, find_tables
from tests.helpers import printed_line as _line


def _tables(*rows: list, known: tuple[str, ...] = ()) -> list:
    return find_tables([SimpleNamespace(number=1, rows=list(rows), width=595.0)], list(known))


def _read(t) -> list[tuple]:
    return [(t.arms[v.arm].name, v.timepoint, v.measure, v.mean, v.sd) for v in t.values]


def test_the_measure_on_the_sub_column_line_names_the_time_point_rows_under_it() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Observed means, standard deviations, and sample size")),
                   _line(112, (50, "Outcome"), (150, "Control"), (250, "Active")),
                   _line(124, (50, "PHQ9"), (150, "M"), (180, "SD"), (210, "n"), (250, "M"), (280, "SD"), (310, "n")),
                   _line(136, (50, "Pre-intervention"), (150, "16.9"), (180, "5.76"), (210, "874"), (250, "16.4"),
                         (280, "5.98"), (310, "862")),
                   _line(148, (50, "K10"),),
                   _line(160, (50, "Pre-intervention"), (150, "33.1"), (180, "7.46"), (210, "873"), (250, "32.5"),
                         (280, "8.01"), (310, "862")), known=("control", "active"))
    assert [(m, mean) for _, _, m, mean, _ in _read(t)] == [("PHQ9", 16.9), ("PHQ9", 16.4), ("K10", 33.1),
                                                             ("K10", 32.5)]


def test_a_time_point_heading_on_the_sub_column_line_is_no_measure() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Effect of CPT on felt stigma")),
                   _line(112, (150, "CPT"), (250, "IS")),
                   _line(124, (50, "Time point"), (150, "Mean (SD)"), (250, "Mean (SD)")),
                   _line(136, (50, "Baseline"), (150, "1.72 (0.67)"), (250, "2.15 (0.62)")), known=("cpt", "is"))
    assert {m for _, _, m, _, _ in _read(t)} == {"Effect of CPT on felt stigma"}


def test_min_and_max_columns_beside_mean_and_sd_leave_mean_and_sd_to_their_arm() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics of patients after randomisation")),
                   _line(112, (50, "Parameter"), (150, "Drug n = 13"), (300, "Placebo n = 11")),
                   _line(124, (150, "Mean"), (180, "SD"), (210, "min"), (240, "max"), (300, "Mean"), (330, "SD"),
                         (360, "min"), (390, "max")),
                   _line(136, (50, "EDSS"), (150, "2.64"), (180, "1.29"), (210, "1"), (240, "5"), (300, "2.08"),
                         (330, "1.66"), (360, "0"), (390, "6")))
    assert t.kind == "baseline"
    assert _read(t) == [("Drug", "baseline", "EDSS", 2.64, 1.29), ("Placebo", "baseline", "EDSS", 2.08, 1.66)]


def test_a_caption_after_randomisation_is_still_a_baseline_table() -> None:
    assert caption_kind("Baseline characteristics of patients after randomisation")[:2] == ("baseline", "baseline")
    assert caption_kind("Characteristics of the groups after 12 weeks")[0] == "outcome"


def test_decimal_commas_are_read_as_points_and_thousands_and_lists_are_not() -> None:
    cells = split_row(_line(100, (50, "FSS"), (150, "4,15"), (180, "1,88"), (230, ",384")))[1]
    assert [c.a for c in cells[:2]] == [4.15, 1.88] and len(cells) == 3  # the P value ",384" kept as a cell
    assert [c.a for c in split_row(_line(100, (50, "Patients"), (150, "2,301"), (200, "0,001")))[1]] == [2301, 0.001]
    assert 1.23 not in [c.a for c in split_row(_line(100, (50, "Sites"), (150, "1,2,3")))[1]]


def test_a_measure_line_between_two_blocks_of_time_points_names_the_block_below() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Descriptive statistics at baseline and after eight weeks")),
                   _line(112, (50, "Outcomes"), (150, "IT (n = 40)"), (250, "CT (n = 40)")),
                   _line(124, (150, "Mean"), (180, "SD"), (250, "Mean"), (280, "SD")),
                   _line(136, (50, "SF36 PCS")),
                   _line(148, (50, "Baseline"), (150, "45,07"), (180, "11,53"), (250, "46,85"), (280, "9,25")),
                   _line(160, (50, "Δ p-value"), (150, "3")),
                   _line(172, (50, "SF36 MCS")),
                   _line(184, (50, "Baseline"), (150, "27,62"), (180, "13,64"), (250, "27,13"), (280, "12,43")))
    assert [(m, mean, sd) for _, tp, m, mean, sd in _read(t) if tp == "baseline"] == [
        ("SF36 PCS", 45.07, 11.53), ("SF36 PCS", 46.85, 9.25), ("SF36 MCS", 27.62, 13.64), ("SF36 MCS", 27.13, 12.43)]


def test_a_row_whose_label_starts_with_a_number_sign_is_no_footnote() -> None:
    (t,) = _tables(_line(100, (50, "Table 1 Baseline characteristics of subjects by treatment assignment")),
                   _line(112, (150, "Esomeprazole (n = 9)"), (250, "Placebo (n = 8)")),
                   _line(124, (50, "Male (%)"), (150, "67"), (250, "75")),
                   _line(136, (150, "Mean + SD"), (250, "Mean + SD")),
                   _line(148, (50, "Age (years)"), (150, "35.72 + 9.6"), (250, "32.81 + 5.84")),
                   _line(160, (50, "# exacerbations past 2 years"), (150, "4 + 0 (0)"), (250, "5.5 + 1.4 (SD)")),
                   _line(172, (50, "CFR-QOL score"), (150, "72.28 + 10.32"), (250, "77.85 + 18.86")))
    assert [(m, mean) for _, _, m, mean, _ in _read(t)][-2:] == [("CFR-QOL score", 72.28), ("CFR-QOL score", 77.85)]


def test_a_range_printed_beside_each_arms_mean_is_passed_over() -> None:
    (t,) = _tables(_line(100, (50, "Table 2 Baseline demographic and clinical characteristics of each treatment arm")),
                   _line(112, (50, "Characteristics"), (150, "Agoraphobia Free (n=73)"), (300, "Stress Free (n=69)")),
                   _line(124, (50, "PAS scores, mean (SD)")),
                   _line(136, (50, "Total"), (150, "30.77 (8.72)"), (210, "9-50"), (300, "29.80 (8.72)"), (360, "6-47")))
    assert [(mean, sd) for _, _, _, mean, sd in _read(t)] == [(30.77, 8.72), (29.8, 8.72)]
    assert [c.kind for c in split_row(_line(100, (50, "Total"), (150, "9-50")))[1]] == ["span"]


def test_arms_set_twice_under_completers_and_itt_headings_give_the_itt_columns_for_a_human() -> None:
    rows = [_line(100, (50, "Table 4 IPV perpetration before pretreatment assessment per condition")),
            _line(112, (150, "Completers"), (300, "Intention-to-treat sample")),
            _line(124, (150, "I-StoP"), (210, "CBT-SUD+"), (300, "I-StoP"), (360, "CBT-SUD+")),
            _line(136, (50, "Variable"), (150, "M (SD)"), (210, "M (SD)"), (300, "M (SD)"), (360, "M (SD)")),
            _line(148, (50, "Acts of physical IPV pretreatment"), (150, "6.91 (6.61)"), (210, "18.75 (34.87)"),
                  (300, "12.12 (17.41)"), (360, "9.91 (20.65)"))]
    (itt,) = _tables(*rows, known=("i-stop", "cbt-sud+"))
    assert [(a.name, mean, v.doubt == ITT_COLUMNS) for v in itt.values
            for a, mean in [(itt.arms[v.arm], v.mean)]] == [("i-stop", 12.12, True), ("cbt-sud+", 9.91, True)]
    # the populations the other way round: the ITT columns are still the ones read
    swapped = [rows[0], _line(112, (150, "Intention-to-treat sample"), (300, "Completers"))] + rows[2:]
    (itt,) = _tables(*swapped, known=("i-stop", "cbt-sud+"))
    assert [v.mean for v in itt.values] == [6.91, 18.75]
    # one population over the arms: read, and "pretreatment" closing the label is the row's time point
    (t,) = _tables(*(rows[:1] + rows[2:3] + [_line(136, (50, "Variable"), (150, "M (SD)"), (210, "M (SD)"))]
                     + [_line(148, (50, "Acts of physical IPV pretreatment"), (150, "6.91 (6.61)"),
                              (210, "18.75 (34.87)"))]), known=("i-stop", "cbt-sud+"))
    assert [(m, tp, mean) for _, tp, m, mean, _ in _read(t)] == [
        ("Acts of physical IPV", "baseline", 6.91), ("Acts of physical IPV", "baseline", 18.75)]
