"""General extraction mechanisms on small layouts built from positioned words (no shared PDFs needed):
tables set in one column of a two-column page, flow diagrams whose boxes are not aligned or are pooled,
and where an arm count comes from."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import diagram_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._values import declares
from metasift.extractor.checks import check_extraction
from metasift.extractor.layout import Word, join_words
from metasift.extractor.ocr import names_flow
from metasift.extractor.pdf import Page
from metasift.extractor.rules import _derive_dropout
from metasift.extractor.schema import Arm, Evidence, ExtractionResult


def _line(y: float, *cells: tuple[float, str], size: float = 8.0) -> list[Word]:
    """Words of one printed line: each (x, text) is split at spaces, 0.5 em per character."""
    words = []
    for x, text in cells:
        for part in text.split():
            words.append(Word(part, x, x + 0.5 * size * len(part), y, size))
            x += 0.5 * size * (len(part) + 1)
    return words


_PROSE = ["the trial was run in eight centres and all sites", "followed the same protocol for every visit",
          "patients were seen at three six and twelve months", "with a telephone call between the visits",
          "adverse events were recorded at every contact", "by a nurse who did not know the allocation",
          "the data were entered twice and checked again", "before the database was locked for analysis",
          "missing values were handled as described above", "and no interim analysis was planned at all",
          "the steering committee met every six months", "to review recruitment and the safety reports"]


def _two_column_page() -> SimpleNamespace:
    """A table in the left column; the right column's prose sits on lines of its own between the table's."""
    left = [
        (100, [(50, "Table 1 Baseline characteristics of the")]),
        (110, [(50, "patients by allocated group")]),
        (130, [(50, "Characteristic"), (160, "Ablation"), (220, "Drugs")]),
        (140, [(160, "(n = 98)"), (220, "(n = 48)")]),
        (152, [(50, "Age (year)"), (160, "55 (9)"), (220, "56 (8)")]),
        (164, [(50, "Male sex, n (%)"), (160, "76 (77.6)"), (220, "37 (77.1)")]),
        (176, [(50, "Left atrial size (mm)"), (160, "41.3 (4.6)"), (220, "42.7 (5.1)")]),
        (188, [(50, "HBP"), (160, "46 (46.9)"), (220, "19 (39.6)")]),
        (204, [(50, "Data are means (SD) or n (%).")]),
    ]
    rows = []
    for k, (y, cells) in enumerate(left):
        rows.append(_line(y, *cells))
        rows.append(_line(y + 5, (310, _PROSE[k])))  # the other column, a few points lower
    for k in range(10):  # more of the page: two columns of prose
        rows.append(_line(230 + 12 * k, (50, _PROSE[k % 12])) + _line(230 + 12 * k, (310, _PROSE[(k + 3) % 12])))
    return SimpleNamespace(number=4, rows=rows, width=595.0)


def test_a_table_in_one_column_is_read_past_the_other_columns_lines() -> None:
    (t,) = find_tables([_two_column_page()], [])
    assert [(a.name, a.n) for a in t.arms] == [("Ablation", 98), ("Drugs", 48)]
    assert t.caption == "Table 1 Baseline characteristics of the patients by allocated group"
    got = [(t.arms[v.arm].name, v.measure, v.mean, v.sd, v.n) for v in t.values]
    assert got == [("Ablation", "Age (year)", 55.0, 9.0, 98), ("Drugs", "Age (year)", 56.0, 8.0, 48),
                   ("Ablation", "Left atrial size (mm)", 41.3, 4.6, 98),
                   ("Drugs", "Left atrial size (mm)", 42.7, 5.1, 48)]  # counts (b = 100 a / n) are not SDs


def test_a_full_width_table_on_a_two_column_page_keeps_all_its_columns() -> None:
    page = _two_column_page()
    table = [_line(40, (50, "Table 2 Outcomes at 12 months, mean (SD)")),
             _line(52, (200, "A (n = 30)"), (330, "B (n = 31)"), (460, "C (n = 29)")),
             _line(64, (50, "Left atrial size (mm)"), (200, "40.1 (4.0)"), (330, "41.0 (4.2)"), (460, "40.7 (3.9)"))]
    page.rows = table + page.rows
    tables = find_tables([page], [])
    assert [a.name for a in tables[0].arms] == ["A", "B", "C"]
    assert [v.mean for v in tables[0].values] == [40.1, 41.0, 40.7]


def test_means_sd_in_a_footnote_declares_mean_and_sd() -> None:
    assert declares("Data are means (SD) or n (%).") == "mean_sd"
    assert declares("Values are means ± SDs") == "mean_sd"
    assert declares("Data are n (%)") == "count"


def _page(rows: list[list[Word]]) -> Page:
    return Page(4, "\n".join(join_words(r) for r in rows), "", [], rows, 595.0)


def test_diagram_boxes_of_one_column_need_not_start_at_the_same_x() -> None:
    rows = [_line(100, (118, "Allocated to drug (n = 12)"), (301, "Allocated to placebo (n = 11)")),
            _line(140, (141, "Lost to follow-up (n = 1)"), (301, "Lost to follow-up (n = 0)")),
            _line(180, (141, "Analysed (n = 11)"), (305, "Analysed (n = 11)"))]
    got = {(c.field, c.arm, c.value) for c in diagram_counts([_page(rows)])}
    assert got == {("n_randomised", "drug", 12), ("n_randomised", "placebo", 11), ("n_dropout", "drug", 1),
                   ("n_dropout", "placebo", 0), ("n_analysed", "drug", 11), ("n_analysed", "placebo", 11)}


def test_a_pooled_box_across_the_columns_and_a_second_period_box_are_no_arms_counts() -> None:
    # A crossover diagram: first-period boxes, second-period boxes under them (the right one's n lost by
    # OCR), then one "Analysed" box centred under both columns.
    rows = [_line(100, (118, "Allocated to drug (n = 12)"), (301, "Allocated to placebo")),
            _line(140, (141, "Allocated to placebo (n = 12)"), (301, "Allocated to drug (n = 11)")),
            _line(180, (250, "Analysed (n = 23)"))]
    got = {(c.field, c.arm, c.value) for c in diagram_counts([_page(rows)])}
    assert got == {("n_randomised", "drug", 12)}  # not "placebo Allocated to drug" = 11, nor 23 analysed


def test_a_spelled_out_consort_caption_names_a_flow_diagram() -> None:
    assert names_flow("Figure 2. Consolidated Standards of Reporting Trials diagram.")
    assert not names_flow("Figure 3. Change in urine volume from baseline.")


def _result(origin: str, quote: str) -> ExtractionResult:
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="A", n_randomised=50, n_analysed=44, n_dropout=4)])
    result.evidence = [Evidence(field="arms[0].n_randomised", value=50, page=2, quote="50 to A", origin="sentence"),
                       Evidence(field="arms[0].n_analysed", value=44, page=3, quote="Analysed (n = 44)",
                                origin="diagram"),
                       Evidence(field="arms[0].n_dropout", value=4, page=3, quote=quote, origin=origin)]
    return result


def test_dropout_from_a_diagrams_loss_boxes_is_recomputed_where_they_miss_exits_but_a_sentence_is_not() -> None:
    boxes = _result("diagram", "Lost to follow-up (n = 4)")
    _derive_dropout(boxes)
    assert boxes.arms[0].n_dropout == 6
    (ev,) = [e for e in boxes.evidence if e.field == "arms[0].n_dropout"]
    assert ev.source == "derived" and ev.page is None and "randomised 50 - analysed 44 = 6" in ev.quote
    assert check_extraction(boxes, {3: "Analysed (n = 44)"})[-1].status == "needs_human"
    # The same numbers stated in a sentence that happens to hold "(n =": the printed count stands.
    sentence = _result("sentence", "four participants (n = 4) were lost to follow-up")
    _derive_dropout(sentence)
    assert sentence.arms[0].n_dropout == 4


def test_the_verify_screen_lays_pages_out_with_the_public_layout_module() -> None:
    import metasift.tui.verify_app as verify_app

    assert "from metasift.extractor.layout import join_words" in open(verify_app.__file__).read()
    assert join_words([Word("kg/m", 0, 20, 10, 8), Word("2", 20.5, 23, 7, 5, "sup")]) == "kg/m2"
