"""Table headers found on the PMC tune half (tenth session): arms named again in each time point's cell of one
header line, with P value and effect size columns between them; a mean's x̄ printed as "χ" over each arm's
pair of columns; a caption that dates its table "on admission"."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._header import caption_kind, subcolumns
from metasift.extractor._tables import find_tables
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
