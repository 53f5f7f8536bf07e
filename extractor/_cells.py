"""Table body lines: the label, then the cells ("M (SD)", "M ± SD", numbers, "n (%)", ranges, P values).

A line's cells are its trailing run of number-like words, so labels may hold numbers ("Type 2
diabetes", "IL-6"). Footnote marks are dropped (raised marks, and marks glued to a number such as
"12.3a" or "0.04†"); a raised digit glued to a unit ("kg/m2") stays in the label. Minus signs of
any kind, also printed apart from their number ("− 0.12"), are read as "-".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metasift.extractor._text import FOOTNOTE_MARKS, NUM, norm
from metasift.extractor.layout import Word

N = NUM + r"(?![\d.])"  # a whole number: never "8.0" out of "8.02"
# A word that belongs to the cells at the end of a row: a number with brackets, signs, marks; ±; "to"; a dash.
# A "+" set apart between two numbers is a "±" its font lost ("55 + 9"): publishers' PDFs print one for the other.
_CELLISH = re.compile(rf"^(?:[(\[]?±?[<>≤≥]?[-+]?\d[\d.,;%()\[\]\-±{FOOTNOTE_MARKS}]*[a-d]?[{FOOTNOTE_MARKS}]*|"
                      rf"[<>≤≥]?[.,]\d+[a-d]?[{FOOTNOTE_MARKS}]*|"  # a P value without its leading zero (".06", ",06")
                      r"[(\[]?[-–—]+[)\]]?|"
                      rf"[(\[]?±|\+|to|[<>≤≥]|NA|NR|N/A|ns|NS|n\.s\.?|N\.S\.?|[{FOOTNOTE_MARKS}]+|"
                      r"%[)\]])$")  # a bracket's percent sign set apart from its number ("4 (40 %)")
# A decimal comma in a cell ("4,15", "(13,64)", a P value ",384" or "0,001"): one comma, not a thousands
# separator ("2,301", dropped by ``norm`` already) nor a list ("1,2,3"). The quote keeps the comma, so a human
# confirms the value.
_DECIMAL_COMMA = re.compile(r"([(\[<>=±-]*)(\d*),(\d+)([)\]]?[a-d]?)")


def _decimal_comma(piece: str) -> str:
    m = _DECIMAL_COMMA.fullmatch(piece)
    if m is None or (m.group(2).lstrip("0") and len(m.group(3)) == 3):
        return piece
    return f"{m.group(1)}{m.group(2)}.{m.group(3)}{m.group(4)}"


_MARK_AFTER_NUM = re.compile(rf"(?<=\d)(?:[a-d]|[{FOOTNOTE_MARKS}]+)(?=[\s()\];,]|$)")
_CELL = re.compile(
    rf"(?P<range>(?P<r0>{N})%?\s*[(\[]\s*{N}%?(?:\s+to\s+|\s*[,;]\s*|\s*-\s*|\s+(?=-)){N}%?\s*[)\]])|"
    rf"(?P<count>(?P<c0>\d+)\s*\(\s*(?P<c1>{N})\s*%\s*\))|"
    # "124.1 (±27.1)", "58.3 [18.2]" too
    rf"(?P<pair>(?P<p0>{N})\s*\(\s*±?\s*(?P<p1>{N})\s*\)|(?P<q0>{N})\s*\[\s*±?\s*(?P<q1>{N})\s*\])|"
    # "6.444 ± 6.815 ± 2.202": the first cell's SD wrapped onto the next line; 6.815 is the next cell's mean
    rf"(?P<pm>(?P<m0>{N})\s*(?:±|\+(?=\s))\s*(?P<m1>{N})(?!\s*(?:±|\+\s)))|"
    rf"(?P<p>[<>≤≥]\s*(?:{N}|\.\d+)|(?<![\d.])\.\d+)|"
    # "9-50" (a range of scores printed beside an arm's mean (SD)): one cell, never a value
    rf"(?P<span>(?<![\d.\-])\d+(?:\.\d+)?-\d+(?:\.\d+)?(?![\d.]))|"
    rf"(?P<num>(?P<n0>{N})%?)|"
    r"(?P<empty>[-—]|NA|NR|N/A|ns|NS|n\.s\.?|N\.S\.?)")


_RAISED_MARK = re.compile(rf"[\w{FOOTNOTE_MARKS},]{{1,3}}")


@dataclass
class Cell:
    """One value cell of a line and where it is printed."""

    kind: str  # pair "M (SD)", pm "M ± SD", num, count "n (%)", range, p, empty
    a: float | None
    b: float | None
    x0: float
    x1: float

    @property
    def x(self) -> float:
        return (self.x0 + self.x1) / 2


def drop_marks(words: list[Word]) -> list[Word]:
    """Footnote marks printed as raised small text carry no value: "N = 10 ¹" is n = 10."""
    return [w for w in words if not (w.mark == "sup" and _RAISED_MARK.fullmatch(w.text))]


_NOTE_KEY = re.compile(rf"[a-z]|[{FOOTNOTE_MARKS}]+")


def label_marks(words: list[Word]) -> set[str]:
    """The footnote marks a row's label carries, each the key of a note under the table: raised or smaller
    single letters and symbols after its first word ("HTLV-I proviral load ᵈ", "CD3 ᵉ %"). Raised digits are
    left out: as often an exponent ("10⁶/L") as a mark."""
    size = max((w.size for w in words), default=0.0)
    return {mark for w in words[1:] if (w.mark == "sup" or w.size < 0.9 * size) and _NOTE_KEY.fullmatch(w.text)
            for mark in w.text}


def _exponent(word: Word, line: list[Word]) -> bool:
    """A raised digit glued to a unit ("m2", "msec2") is part of the label, not a footnote mark."""
    before = [w for w in line if w.x1 <= word.x0 + 0.5 and w is not word]
    return word.mark == "sup" and word.text.isdigit() and bool(before) and \
        word.x0 - before[-1].x1 < 0.15 * word.size and before[-1].text[-1:].isalpha()


def _glue_signs(words: list[Word]) -> list[Word]:
    """A minus printed as its own word before a number ("− 0.12") joins it."""
    out: list[Word] = []
    for w in words:
        prev = out[-1] if out else None
        if prev is not None and norm(prev.text) == "-" and w.text[:1].isdigit() \
                and w.x0 - prev.x1 < 0.6 * w.size:
            out[-1] = Word("-" + w.text, prev.x0, w.x1, w.base, w.size, w.mark)
        else:
            out.append(w)
    return out


_SD_OPEN = re.compile(r"^\((?:SD|sd|s\.d\.)\s*[:=]?$")


def _named_sd(words: list[Word]) -> list[Word]:
    """ "3.61 (SD: 2.86)", "(SD = 2.86)": the bracket read as a plain "(2.86)"."""
    out: list[Word] = []
    opened: Word | None = None  # a "(SD:" waiting for its number
    for w in words:
        if _SD_OPEN.match(w.text):
            opened = w
        elif opened is not None and w.text in (":", "="):
            continue  # "(SD" ":" "2.86)"
        elif opened is not None:
            out.append(Word("(" + w.text, opened.x0, w.x1, w.base, w.size, w.mark))
            opened = None
        else:
            out.append(w)
    return out + ([opened] if opened is not None else [])


def split_row(words: list[Word]) -> tuple[list[Word], list[Cell]]:
    """A body line as its label words and its cells (the trailing run of number-like words)."""
    every = words = _glue_signs(_named_sd(words))
    words = drop_marks(words)
    start = len(words)
    while start > 0 and _CELLISH.match(norm(words[start - 1].text)):
        start -= 1
    tail = words[start:]
    label = [w for w in every if (start == len(words) or w.x0 < words[start].x0) and
             (w in words[:start] or _exponent(w, every))]
    if not tail or not any(ch.isdigit() for w in tail for ch in w.text):
        return label, []
    text, spans = "", []
    for w in tail:
        piece = _decimal_comma(_MARK_AFTER_NUM.sub("", norm(w.text)))
        if text:
            text += " "
        spans.append((len(text), len(text) + len(piece), w))
        text += piece
    cells = []
    for m in _CELL.finditer(text):
        hit = [w for s, e, w in spans if s < m.end() and e > m.start()]
        if not hit or not m.group().strip():
            continue
        kind = next(k for k in ("range", "count", "pair", "pm", "p", "span", "num", "empty") if m.group(k))
        a = b = None
        if kind == "range":  # "12.0 (8.5-15.5)": the centre (median or mean) is kept, never as an SD
            a = float(m.group("r0"))
        elif kind == "pair":
            a, b = float(m.group("p0") or m.group("q0")), float(m.group("p1") or m.group("q1"))
        elif kind == "pm":
            a, b = float(m.group("m0")), float(m.group("m1"))
            sign = next((w for w in hit if norm(w.text).endswith(("±", "+"))), None)
            if sign is not None and sign is not hit[-1] and hit[-1].x0 - sign.x1 > 1.2 * hit[-1].size:
                # "66.0 ±      0.52": the SD wrapped onto the line below, and the number across the gap is the
                # next column's (a P value); the mean stands alone and the row's "±" has no SD after it
                cells.append(Cell("num", a, None, hit[0].x0, sign.x1))
                cells.append(Cell("num", b, None, hit[-1].x0, hit[-1].x1))
                continue
        elif kind == "num":
            a = float(m.group("n0"))
            kind = "pct" if m.group().endswith("%") else "num"
        elif kind == "count":
            a, b = float(m.group("c0")), float(m.group("c1"))
        cells.append(Cell(kind, a, b, hit[0].x0, hit[-1].x1))
    return label, cells
