"""Notes under a table that give marked rows other n, quotes of two pieces, and the totals that tell a baseline
table of completers from one of the randomised (PMC tune papers, seventh session)."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import total_n
from metasift.extractor._header import caption_kind
from metasift.extractor._tables import find_tables
from metasift.extractor.checks import quote_on_page
from metasift.extractor.layout import Word
from metasift.extractor.pdf import Page, PdfDocument
from metasift.extractor.rules import extract
from tests.helpers import printed_line as _line


def counts_of(prose: str, rows: list) -> list[tuple[int | None, int | None]]:
    """Each arm's (randomised, analysed) the rules extract from a page of prose and a page with a table."""
    doc = PdfDocument("t.pdf", [Page(1, prose, prose, [], [], 595.0), Page(2, "", "", [], rows, 595.0)], {})
    return [(a.n_randomised, a.n_analysed) for a in extract(doc, ocr=False).arms]


def _raised(line: list, after: str, mark: str) -> list:
    """The line with a raised footnote mark set right after its word ``after``."""
    word = next(w for w in line if w.text == after)
    return sorted([*line, Word(mark, word.x1 + 0.3, word.x1 + 3.3, word.base - 2.5, 6.0, "sup")], key=lambda w: w.x0)


def _marked_table(label_mark: str | None) -> list:
    label = _line(144, (50, "HTLV-I proviral load"))
    if label_mark:
        label = _raised(label, "load", label_mark)
    rows = [_line(100, (50, "Table 1 Baseline characteristics")),
            _line(112, (200, "Placebo (n = 8)"), (300, "Active (n = 8)")),
            _line(132, (50, "Age, mean (SD)"), (200, "61.0 (10.8)"), (300, "53.9 (15.5)")),
            label,
            _line(156, (50, "mean (SD)"), (200, "3.57 (0.44)"), (300, "3.76 (0.39)")),
            _line(176, (50, "d"), (56, "Baseline data only available on n = 6 in placebo group and n = 7 in "
                                       "active group"), size=7.0)]
    return find_tables([SimpleNamespace(number=3, rows=rows, width=595.0)], [])


def test_a_note_keyed_by_a_rows_raised_mark_gives_each_arm_it_names_that_n_for_a_human() -> None:
    (t,) = _marked_table("d")
    load = {t.arms[v.arm].name: v for v in t.values if v.measure.startswith("HTLV")}
    assert [(v.mean, v.sd, v.n) for v in load.values()] == [(3.57, 0.44, 6), (3.76, 0.39, 7)]
    assert all(v.n_doubt and not v.doubt for v in load.values())  # the means are as printed; the n is a reading
    assert "n = 6 in placebo group" in load["Placebo"].quote
    # the unmarked row keeps the header's n, with no doubt
    age = [(v.n, v.n_doubt) for v in t.values if v.measure.startswith("Age")]
    assert age == [(8, ""), (8, "")]


def test_the_same_note_leaves_a_row_without_its_mark_to_the_headers_n() -> None:
    (t,) = _marked_table(None)
    assert [(v.n, v.n_doubt) for v in t.values if v.measure.startswith("HTLV")] == [(8, ""), (8, "")]


def test_a_quote_of_two_pieces_is_found_when_each_piece_is_on_the_page() -> None:
    page = "mean (SD) 3.57 (0.44) 3.76 (0.39)\nmore rows\nd Baseline data only available on n = 6 in placebo group"
    assert quote_on_page("mean (SD) 3.57 (0.44) 3.76 (0.39); Baseline data only available on n = 6", page) == 100
    assert quote_on_page("mean (SD) 3.57 (0.44) 3.76 (0.39); Data were imputed for 12 patients", page) < 90


def test_people_assigned_among_alternatives_or_enrolled_in_the_trial_state_the_total() -> None:
    def total(text: str) -> int | None:
        found = total_n([Page(2, text, text, [], [], 595.0)])
        return found[0] if found else None

    assert total("Thirty-five participants were assigned to the intervention or control groups by study staff.") == 35
    assert total("Of the 178 parents enrolled in the trial, the 14 parents who did not return any of the follow-up "
                 "forms were excluded from the analyses.") == 178
    assert total("Forty patients were allocated to one of two groups by a computer list.") == 40
    # one arm's count, not the total
    assert total("Sixty participants were assigned to the intervention group and 58 to the control group.") is None


def test_a_caption_describing_the_study_cohort_is_a_baseline_table() -> None:
    assert caption_kind("Descriptive statistics of the study cohort")[0] == "baseline"
    assert caption_kind("Description of the sample")[0] == "baseline"
    assert caption_kind("Description of the sessions delivered")[0] == "outcome"


def test_header_counts_short_of_the_total_assigned_are_the_analysed_not_the_randomised() -> None:
    prose = ("Thirty-five participants were assigned to the intervention or supplement groups by study staff. One "
             "participant was excluded from the data analysis.")
    rows = [_line(100, (50, "Table 1 Baseline characteristics of the participants")),
            _line(112, (200, "Intervention group (N=17)"), (330, "Supplement group (N=17)")),
            _line(124, (50, "Age, mean (SD)"), (200, "55.1 (9.8)"), (330, "57.9 (10.2)"))]
    assert total_n([Page(1, prose, prose, [], [], 595.0)])[0] == 35
    assert counts_of(prose, rows) == [(None, 17), (None, 17)]


def test_header_counts_that_add_up_to_the_total_evaluated_are_the_analysed() -> None:
    prose = ("A total of 44 patients, 8 men and 14 women in the treatment arm and 11 men and 11 women in the control "
             "arm, were evaluated.")
    rows = [_line(100, (50, "Table 1 Baseline characteristics of the study population")),
            _line(112, (200, "Treatment arm (n = 22)"), (330, "Control arm (n = 22)")),
            _line(124, (50, "Age, mean (SD)"), (200, "52.9 (14.1)"), (330, "50.9 (14.8)"))]
    assert counts_of(prose, rows) == [(None, 22), (None, 22)]


def test_people_randomly_selected_to_take_part_in_one_arm_or_another_are_the_total() -> None:
    text = ("Eighty sedentary women with FM (ACR 1990) were randomly selected to participate in STRE or flexibility "
            "(FLEX) exercises in a blinded controlled trial.")
    assert total_n([Page(1, text, text, [], [], 595.0)])[0] == 80
