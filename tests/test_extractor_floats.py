"""A figure or table set among a column's text does not cut a sentence in two, a caption across both columns is
one line, and a table's rows after a caption that ends in a full stop are never a sentence's counts (ninth
session)."""

from __future__ import annotations

from metasift.extractor._text import is_table_text, sentences
from metasift.extractor.layout import Word, group_lines, reading_order
from metasift.extractor.pdf import Page, PdfDocument
from metasift.extractor.rules import extract
from tests.helpers import printed_line as _line

LEFT = ["Patients were randomised to ropivacaine", "(Group Ropivacaine) or saline (Group", "Placebo).",
        "One hundred twenty subjects were", "enrolled from March to October 2014.", "Twenty did not complete the",
        "study (Fig. 2). Thus, one hundred", "subjects were evaluated"]
FLOAT = ["Table 1 Basic demographics", "No patients 47 53", "Age, years 69 (11) 69 (8)"]
RIGHT = ["(47 in Group Ropivacaine and 53", "in Group Placebo). The subjects'", "characteristics did not differ",
         "between the two groups (Table 1).", "Reasons for exclusion were", "administration of opioids other",
         "than prescribed in the study", "protocol, or conversion to general", "anaesthesia in three cases."]


def _page() -> list[str]:
    lines = [_line(100 + 12 * i, (50, text), size=9) for i, text in enumerate(LEFT)]
    lines += [_line(100 + 12 * (len(LEFT) + i), (50, text), size=7) for i, text in enumerate(FLOAT)]
    lines += [_line(100 + 12 * i, (320, text), size=9) for i, text in enumerate(RIGHT)]
    return reading_order(group_lines([w for line in lines for w in line]), 600)


def test_a_table_at_a_column_s_foot_is_read_after_the_text_that_flows_around_it() -> None:
    order = _page()
    end = order.index("subjects were evaluated")
    assert order[end + 1] == "(47 in Group Ropivacaine and 53"
    assert order[-len(FLOAT):] == FLOAT


def test_the_sentence_a_float_interrupted_gives_its_counts() -> None:
    text = "\n".join(_page())
    doc = PdfDocument("t.pdf", [Page(1, text, text, [], [], 600.0)], {})
    result = extract(doc, ocr=False)
    assert [(a.name, a.n_analysed) for a in result.arms] == [("Group Ropivacaine", 47), ("Group Placebo", 53)]


def test_a_caption_across_the_gutter_is_one_line_read_in_place() -> None:
    lines = [_line(100 + 12 * i, (50, f"left column text line {i}"), size=9) for i in range(10)]
    lines += [_line(100 + 12 * i, (320, f"right column text line {i}"), size=9) for i in range(10)]
    # the caption's words either side of the gutter's middle (x = 300) a word space apart, none over it
    first, second = "Figure 2 Absolute difference in the cross sectional", "diameter of the right rectus femoris"
    caption = f"{first} {second}"
    head = _line(100 + 12 * 10, (50, first), size=9)
    shift = 298 - head[-1].x1
    head = [Word(w.text, w.x0 + shift, w.x1 + shift, w.base, w.size) for w in head]
    lines.append(head + _line(100 + 12 * 10, (302, second), size=9))
    lines += [_line(100 + 12 * (11 + i), (50, f"lower left text {i}"), size=9) for i in range(4)]
    lines += [_line(100 + 12 * (11 + i), (320, f"lower right text {i}"), size=9) for i in range(4)]
    order = reading_order(group_lines([w for line in lines for w in line]), 600)
    k = order.index(caption)
    assert order[k - 1] == "right column text line 9" and order[k + 1] == "lower left text 0"


def test_a_caption_that_ends_in_a_full_stop_keeps_its_rows_out_of_the_prose() -> None:
    text = ("Table 1 Baseline characteristics (mean ± standard deviation).\n"
            "Characteristic at randomisation NLP (n = 38) Hypnosis group (n = 42) Control group (n = 122) P value\n"
            "Maternal height (cm) 169 ± 7.4 168.9 ± 6.3 167.2 ± 5.6 ns\n"
            "Gestation age 37.2 ± 0.4 37.2 ± 0.6 37.9 ± 3.3 ns")
    assert [is_table_text(s) for s in sentences(text)] == [True]
