"""Page geometry: characters to words, words to physical lines, lines to reading order.

Pure functions over plain records, so they are tested without a PDF. Lines are grouped by the text
baseline (not the glyph box: symbol fonts such as the "=" and "−" of many journal PDFs have boxes
offset from their line); smaller raised or lowered words (footnote marks, exponents, subscripts)
join the line they belong to and are flagged. A page is read column by column when a clear vertical
gutter separates two blocks of text (two-column articles, text plus a sidebar).

Public: the verify screen lays pages out with ``join_words`` and the same ``Word`` records.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from statistics import median


@dataclass(frozen=True)
class Char:
    text: str
    x0: float
    x1: float
    base: float  # baseline, top-down page coordinates
    size: float


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    base: float  # baseline, top-down
    size: float
    mark: str = ""  # "sup" (raised and smaller: footnote mark, exponent), "sub" (lowered and smaller) or ""

    @property
    def top(self) -> float:
        return self.base - 0.75 * self.size

    @property
    def bottom(self) -> float:
        return self.base + 0.25 * self.size


Line = list[Word]

# A line break the PDF reader inserted on its own (pdfium's "generated" characters), not one the file encodes.
# Some printers (Chromium, for a table carried onto a new page) set each glyph as its own text object, and the
# reader then puts a break between every two letters: a word ends there only if the geometry agrees.
SOFT_BREAK = Char("\n", 0.0, 0.0, 0.0, 0.0)


def words_from_chars(chars: list[Char | None]) -> list[Word]:
    """Join characters (in content-stream order) into words; ``None`` or a space ends a word, a ``SOFT_BREAK``
    only where the glyphs' positions part."""
    words: list[Word] = []
    cur: list[Char] = []

    def close() -> None:
        if cur:
            text = "".join(c.text for c in cur)
            words.append(Word(text, cur[0].x0, max(c.x1 for c in cur), median(c.base for c in cur),
                              max(c.size for c in cur)))
            cur.clear()

    soft = False  # a SOFT_BREAK since the last character
    for c in chars:
        if c is SOFT_BREAK:
            soft = True
            continue
        if c is None or not c.text.strip():
            close()
        else:
            if cur and _word_ends(cur[-1], c, soft):
                close()
            cur.append(c)
        soft = False
    close()
    return words


def _word_ends(last: Char, c: Char, soft: bool) -> bool:
    """Whether ``c`` starts a new word after ``last``: another baseline or size, a gap, a step back; after a
    SOFT_BREAK, anything but the very next glyph position on the same baseline."""
    size = max(last.size, c.size, 1.0)
    if soft:
        return abs(c.base - last.base) > 0.1 * size or abs(c.x0 - last.x1) > 0.1 * size
    ligature = abs(c.x0 - last.x0) < 0.05 * size and abs(c.x1 - last.x1) < 0.05 * size  # "ff" → f, f
    return not ligature and (abs(c.base - last.base) > 0.25 * size or not same_size(c.size, last.size)
                             or c.x0 - last.x1 > 0.2 * size or c.x0 < last.x1 - 0.6 * size)


def same_size(size: float, other: float) -> bool:
    """Whether two type sizes belong to one run of text (within -15% / +18% of ``other``).

    Total over any size: a damaged or invisible-text PDF gives glyphs of size 0, which must not divide
    (``other`` counts as at least 0.1 pt)."""
    return 0.85 <= size / max(other, 0.1) <= 1.18


def group_lines(words: list[Word]) -> list[Line]:
    """Physical lines, top to bottom, each sorted left to right, with marks attached to their line."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.base, w.x0)):
        for line in reversed(lines[-6:]):  # the open lines: same baseline band, same type size
            head = line[0]
            if word.base - head.base <= 0.2 * max(word.size, head.size) and same_size(word.size, head.size):
                line.append(word)
                break
        else:
            lines.append([word])
    lines = _attach_small_lines(lines)
    merged: list[list[Word]] = []
    for line in sorted(lines, key=_base):  # text of another size on exactly the same baseline
        if merged and (abs(_base(line) - _base(merged[-1])) <= 0.5 or _one_row(merged[-1], line)):
            merged[-1].extend(line)
        else:
            merged.append(line)
    return [_flag_marks(sorted(line, key=lambda w: w.x0)) for line in merged]


def _one_row(upper: list[Word], lower: list[Word]) -> bool:
    """Whether two lines a little apart in height are one table row: a label cell whose footnote mark
    ("PHQ-9ᶠ") pushed its line down a third of an em beside value cells that have none, as browsers set
    them. Same type size, under 0.4 em apart, side by side with a gap wider than a column gutter, the right one
    mostly numbers."""
    size = _size(upper)
    if not same_size(size, _size(lower)) or _base(lower) - _base(upper) > 0.4 * size:
        return False
    left, right = sorted((upper, lower), key=lambda ws: min(w.x0 for w in ws))
    right = sorted(right, key=lambda w: w.x0)
    right = right[:next((i for i, w in enumerate(right) if "=" in w.text), len(right))]  # not "t35=-3.37; P=.002"
    values = sum(bool(_VALUE.match(w.text)) for w in right)
    if values < 2:
        return False
    # the label's line may end in a P value right of every value cell ("Perceived healthᵍ, mean ... .97ᵈ")
    start, end = min(w.x0 for w in right), max(w.x1 for w in right)
    label = [w for w in left if w.x1 <= start]
    if not label or any(w.x1 > start and w.x0 < end + size for w in left):
        return False
    # value cells on the right: a short last line of one column's paragraph beside the other column's, or a
    # table line beside a reference ("Psychiatry. 2011;42:855-863."), is no row
    return start - max(w.x1 for w in label) > 3 * size and 3 * values >= 2 * len(right)


_VALUE = re.compile(r"^[(\[]?[-+\u2212]?\d[\d.,%()\[\]\u00b1\u2013-]*$")  # "12.74", "(5.69)", "25.0%", "21-45"


def _size(line: list[Word]) -> float:
    return median(w.size for w in line)


def _base(line: list[Word]) -> float:
    return median(w.base for w in line)


def _attach_small_lines(lines: list[list[Word]]) -> list[list[Word]]:
    """A line of smaller text just above or below a bigger line, touching its words, is its exponents,
    footnote marks or subscripts (a sidebar line at the same height is not: its words are far away)."""
    keep = [True] * len(lines)
    for i, line in enumerate(lines):
        size, base = _size(line), _base(line)
        best, best_key = None, None
        for j in range(max(0, i - 10), min(len(lines), i + 11)):
            if j == i or not keep[j]:
                continue
            other = lines[j]
            osize = _size(other)
            dist = abs(_base(other) - base)
            if size > 0.85 * osize or dist > 0.6 * osize:
                continue
            gap = max(min(max(o.x0 - w.x1, w.x0 - o.x1, 0.0) for o in other) for w in line)
            if gap <= 1.5 * osize and (best_key is None or (gap, dist) < best_key):
                best, best_key = j, (gap, dist)
        if best is not None:
            lines[best].extend(line)
            keep[i] = False
    return [line for line, k in zip(lines, keep) if k]


def _flag_marks(line: list[Word]) -> list[Word]:
    # the line's own type, single letters aside (a header "EUCᵃ  RCDCᵇ" is half marks)
    words = [w for w in line if not (len(w.text) == 1 and w.text.isalpha())] or line
    size, base = _size(words), _base(words)
    out = []
    for w in line:
        mark = ""
        if w.size <= 0.85 * size:
            if w.base < base - 0.1 * size:
                mark = "sup"
            elif w.base > base + 0.1 * size:
                mark = "sub"
        out.append(w if mark == w.mark else Word(w.text, w.x0, w.x1, w.base, w.size, mark))
    return out


def join_words(line: list[Word]) -> str:
    """A line's text: words spaced, except a mark glued to a word (HbA1c, kg/m2) unless after a digit."""
    out = ""
    prev: Word | None = None
    for w in line:
        if prev is not None:
            glued = (w.mark or prev.mark) and w.x0 - prev.x1 < 0.15 * max(w.size, prev.size)
            out += "" if glued and not (w.mark and prev.text[-1:].isdigit()) else " "
        out += w.text
        prev = w
    return out


def gutter(lines: list[Line], width: float) -> float | None:
    """The x of a column gutter, if the page has one: a clear vertical band few lines cross, with text on
    both sides of it (two-column articles and text-plus-sidebar pages alike)."""
    if len(lines) < 8:
        return None
    best, best_key = None, None
    band = 4.0  # half-width of the clear band: a gutter, not the gap between two words
    for step in range(30, 76):
        x = width * step / 100
        crossing = left = right = 0
        for line in lines:
            cross = any(w.x0 < x + band and w.x1 > x - band for w in line)
            has_left = any(w.x1 <= x for w in line)
            has_right = any(w.x0 >= x for w in line)
            crossing += cross
            left += has_left and not cross
            right += has_right and not cross
        n = len(lines)
        # a right column shorter than a fifth of the page (a reference list ending part way down, beside a
        # table) still counts where nothing at all crosses the band and it has eight lines or more
        short_right = crossing == 0 and right >= 8
        if crossing > 0.25 * n or left < 0.25 * n or (right < 0.2 * n and not short_right):
            continue
        key = (crossing, abs(step - 50))
        if best_key is None or key < best_key:
            best, best_key = x, key
    return best


# The first line of a float: a figure's or a table's caption
_CAPTION = re.compile(r"^(?:Fig(?:ure)?s?\.?|FIGURE|Table|TABLE)\s+[A-Z]?\d{1,2}\b")


def _body_size(lines: list[Line]) -> float:
    """The font size most of the page's characters are set in: the body text's."""
    sizes: Counter[float] = Counter()
    for line in lines:
        for w in line:
            sizes[round(w.size * 2) / 2] += len(w.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _set_apart(lines: list[Line], body: float) -> tuple[list[Line], list[Line]]:
    """A column's lines as (text, floats): a caption set smaller than the body and the smaller lines that follow
    it (the figure's caption, the table's rows and notes) are a float, taken out of the text's flow so that a
    sentence the float interrupts ("... one hundred subjects were evaluated" / [Fig. 2, Table 1] / "(47 in Group
    Ropivacaine and 53 in Group Placebo)") reads as one. A float set in the body's size stays in place."""
    text: list[Line] = []
    floats: list[Line] = []
    inside = False
    for line in lines:
        small = _size(line) < body - 0.4
        if small and _CAPTION.match(join_words(line)):
            inside = True
        inside = inside and small
        (floats if inside else text).append(line)
    return text, floats


_WORD_GAP = 6.0  # points: wider than a justified line's word space, narrower than a column gutter


def _spans(line: Line, cut: float) -> bool:
    """Whether a line runs across the gutter at ``cut`` (a full-width caption or heading): a word over it, or two
    words either side of it no further apart than words of one line (a column's line ends a gutter away from the
    next column's)."""
    if any(w.x0 < cut < w.x1 for w in line):
        return True
    xs = sorted(line, key=lambda w: w.x0)
    return any(a.x1 <= cut <= b.x0 and b.x0 - a.x1 < _WORD_GAP for a, b in pairwise(xs))


def reading_order(lines: list[Line], width: float) -> list[str]:
    """Text lines in reading order: runs of split lines left column first, full-width lines in place, and
    in each run the floats (``_set_apart``) after the text."""
    body = _body_size(lines)
    cut = gutter(lines, width)
    if cut is None:
        text, floats = _set_apart(lines, body)
        return [join_words(line) for line in text + floats]
    out: list[str] = []
    left: list[Line] = []
    right: list[Line] = []

    def flush() -> None:
        (ltext, lfloats), (rtext, rfloats) = _set_apart(left, body), _set_apart(right, body)
        out.extend(join_words(line) for line in ltext + rtext + lfloats + rfloats)
        left.clear()
        right.clear()

    for line in lines:
        if _spans(line, cut):
            flush()
            out.append(join_words(line))
            continue
        lpart = [w for w in line if w.x1 <= cut]
        rpart = [w for w in line if w.x0 >= cut]
        if lpart:
            left.append(lpart)
        if rpart:
            right.append(rpart)
    flush()
    return out
