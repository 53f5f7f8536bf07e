"""Per-arm tables: find each by its caption, read its header (``_header``), body and footnotes (``_values``).

Works on positioned words (``Page.rows``). A table starts at a line beginning "Table N" (or at a
gap in a line, for a table in the right-hand column), its caption may wrap, its header runs to the
first line of values, and its body ends at a footnote, prose, a bigger type or another caption;
lines that only hold values right of the arms (differences, CIs, P) are skipped. A table continued
on the next page ("Table 1 (continued)") shares the first part's caption and footnotes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from metasift.extractor._arm_rows import arm_of, arms_as_rows
from metasift.extractor._cells import Cell, drop_marks, label_marks, split_row
from metasift.extractor._header import (
    ANCHOR,
    LABEL_HEADS,
    PRINTED_COUNT,
    TOTAL_NAMES,
    Column,
    TableArm,
    arm_timepoints,
    arms_by_name,
    arms_in_header,
    arms_over_n_row,
    caption_at,
    caption_kind,
    caption_right_of,
    columns_for,
    is_unnamed,
    line_text,
    name_left_of,
    notes_population,
    per_arm,
    spanning_timepoint,
    stacked_subs,
    subcolumns,
    times_not_arms,
    word_runs,
    words_at,
)
from metasift.extractor._text import FOOTNOTE_MARKS, name_key, norm, same_arm
from metasift.extractor._values import BodyRow, TableValue, declares, fill_values
from metasift.extractor.layout import Word, gutter, join_words

# ("# exacerbations past 2 years" is a row: "#" for "number of", before a lower-case word)
_FOOTNOTE = re.compile(rf"^(?:[{FOOTNOTE_MARKS.replace('#', '')}]|#(?!\s*[a-z])|Notes?\b|Data\s+(?:are|were)\b|Values\s+(?:are|were)\b|"
                       r"Abbreviations\b)")


_Clip = Callable[[list[Word]], list[Word]]  # keeps the words of a line that belong to the table


@dataclass
class Table:
    page: int
    caption: str
    kind: str  # baseline | outcome
    timepoint: str  # for tables without time point columns
    population: str  # randomised | analysed | "" (what the header n counts, from the caption)
    arms: list[TableArm]
    values: list[TableValue] = field(default_factory=list)
    skipped: int = 0  # body rows with numbers that could not be placed in the columns
    doubt: str = ""  # why a human must confirm every value read from it (which of its columns were read)
    _parts: tuple = field(default=(), repr=False)


def _contiguous(words: list[Word]) -> bool:
    return all(b.x0 - a.x1 < 2.5 * max(a.size, b.size) for a, b in pairwise(words))


def _prose_like(words: list[Word]) -> bool:
    return len(words) >= 6 and _contiguous(words)


def _rows_follow(rows: list[list[Word]], k: int, inside: _Clip, right_limit: float,
                 arms: list[TableArm]) -> bool:
    """Whether table rows (a cell per arm) come within the next few lines: a long text line is then a row
    of the table ("Country of origin: ...") and not the prose after it."""
    need = sum(not a.total for a in arms)
    for words in rows[k:k + 6]:
        if caption_at(words):
            return False
        cells = [c for c in split_row(inside(words))[1] if c.x0 < right_limit - 1 and c.kind != "empty"]
        if len(cells) >= need:
            return True
    return False


def _caption(rows: list[list[Word]], start: int, j: int, inside: _Clip) -> tuple[str, int]:
    """The caption (its line and up to three wrapped lines) and the index of the line after it."""
    caption = join_words(inside(rows[start]))
    k = start + 1
    while k < len(rows) and k <= start + 3:
        words = inside(rows[k])
        # "... (HIIT, n = 15) and" / "moderate-intensity ... (MICT, n = 17) and comparisons.": the caption's
        # sentence goes on, its "n = 17" with it
        above = inside(rows[k - 1])
        goes_on = _prose_like(words) and (caption.count("(") > caption.count(")") or re.search(
            r"(?:\b(?:and|or|of|to|with|in|for|vs\.?|versus)|[,(])\s*$", caption)
            or (above and above[-1].x1 >= words[-1].x1 - above[-1].size))  # the line above ran full width
        if not words or caption_at(words) or not _contiguous(words) \
                or (ANCHOR.search(line_text(words)) and not goes_on) or subcolumns(words) \
                or abs(words[0].x0 - rows[start][j].x0) > 8 or split_row(words)[1]:
            break
        caption += " " + join_words(words)
        k += 1
    return caption, k


def _header(rows: list[list[Word]], k: int, inside: _Clip, caption_x: float) -> tuple[list[list[Word]] | None, int]:
    """The header lines (up to the first line of values) and the index after them; None at a caption. Lines
    from the left margin wholly left of a caption that stands right of them, before the header starts, are the
    other column's text (a caption at the top of the right column over a table set across the page, below the
    left column's end)."""
    header: list[list[Word]] = []
    margin = min((w.x0 for words in rows[k:k + 20] for w in inside(words)), default=0.0)
    while k < len(rows) and len(header) < 8:
        words = inside(rows[k])
        if caption_at(rows[k]):
            return None, k
        if not header and words and max(w.x1 for w in words) < caption_x - 2 and words[0].x0 <= margin + 2:
            k += 1  # a line from the left margin (not an indented header cell such as "Unguided app")
            continue
        cells = split_row(_before_statistic(words))[1]
        rest = _wrapped_rest(header[-1], words) if header else None
        if rest:  # "Intervention (n =" / "58)": the n wrapped; a whole "(n = 179)" beside it stays a header line
            header[-1] = _join_counts(header[-1], rest)
            whole = [w for w in words if not any(w is r for r in rest)]
            if whole:
                header.append(drop_marks(whole))
            k += 1
            continue
        if cells and not ANCHOR.search(line_text(words)) and not subcolumns(words) \
                and not _opens_counts(words, inside(rows[k + 1]) if k + 1 < len(rows) else []):
            break
        if header and words and not cells and (stats := subcolumns(header[-1])) \
                and max(w.x1 for w in words) < min(x0 for _, _, x0, _ in stats) and k + 1 < len(rows) \
                and split_row(_before_statistic(inside(rows[k + 1])))[1]:
            break  # a section line ("Impulsivity") under the "M  SD" line, left of every column, over a row of
            # values: the body's (not the label column's head wrapped between header lines, "SF-" / "36")
        header.append(drop_marks(words))
        k += 1
    return header, k


def _before_statistic(words: list[Word]) -> list[Word]:
    """A line up to the test statistic printed after its values ("43.4 (12.7)  44.5 (13.5)  t39=-0.26; P=.80"):
    from the first word with "=" that follows a number (a p value alone, "<0.01", is a cell of its own column).
    Such a line is a row of values, not a header line, though no cell ends it."""
    for i, w in enumerate(words):
        if "=" in w.text and any(ch.isdigit() for v in words[:i] for ch in v.text) \
                and not ANCHOR.search(" ".join(v.text for v in words[max(0, i - 1):i + 2])):
            # the statistic's name and degrees of freedom set tight before it ("t", "35", "=-3.37"; "F(1,65)", "=")
            while i > 0 and words[i].x0 - words[i - 1].x1 < 0.35 * w.size and (
                    len(words[i - 1].text) <= 4 or _STATISTIC_DF.fullmatch(words[i - 1].text)):
                i -= 1
            return words[:i]
    return words


_STATISTIC_DF = re.compile(r"[A-Za-z\u03c7]{1,2}2?\(\d{1,4}(?:,\s*\d{1,4})?\)")  # "F(1,65)", "t(66)", "χ2(1)"


def _opens_counts(words: list[Word], below: list[Word]) -> bool:
    """Whether a line's only numbers open brackets the next line's "n = X" closes ("Control schools (8" /
    "schools, n = 56)"): a header cell wrapped inside its annotation, not a row of values."""
    opened = [w for w in words if re.fullmatch(r"[(\[]\d{1,4}", w.text)]
    numeric = [w for w in words if re.search(r"\d", w.text)]
    return bool(opened) and opened == numeric and bool(ANCHOR.search(line_text(below)))


_P_HEAD = re.compile(r"[pP](?:[- ]?values?)?")
_DANGLING = re.compile(r"^(?:\([nN]=?|\(?[nN]?=)$")  # "(n =", "(n", "n =", "=" left open at a line's end
_WRAPPED = re.compile(r"^=?" + PRINTED_COUNT + r"\)?[,;]?$")


def _open_cells(line: list[Word]) -> list[Word]:
    """The words of a header line that leave a "(n = X)" open: "(n =", "(n", "n =", "=", and a bare "n" after a
    name with its comma ("Peer support, n" / "= 141")."""
    return [w for k, w in enumerate(line) if _DANGLING.match(w.text)
            or (w.text in ("n", "N") and k > 0 and line[k - 1].text.endswith(","))]


def _wrapped_rest(above: list[Word], words: list[Word]) -> list[Word] | None:
    """The words of a line that finish "(n = X)" cells left open on the line ``above`` ("(n =" / "58)", "(n" /
    "= 58)"): header cells too narrow for their n, wrapped by the typesetter. None unless every word of the line
    finishes one, or belongs to a whole "(n = 179)" of another arm, with its name when that is on the line too
    ("iCBT (n = 941)" beside "938)": a short name set low in its cell, the header aligned at the bottom)."""
    text = line_text(words)
    cells = [cell for m in ANCHOR.finditer(text) if (cell := words_at(words, text, m.start(), m.end()))]
    anchors = [(0, cell[0].x0, cell[-1].x1, 0, "") for cell in cells]  # as arms_in_header lists them
    whole = [w for cell in cells for w in name_left_of(words, cell[0].x0, cell[-1].x1, anchors, 0) + cell]
    whole += [w for w in words if _P_HEAD.fullmatch(w.text)]  # the p column's header beside them
    # "(n" "=" is one open cell: the "=" after an open word belongs to it
    opens = _open_cells(above)
    # the stub column's header set low, left of every open cell ("Group Variables" beside "15)  15)"), and a
    # footnote mark alone
    open_runs = [run for run in word_runs(above) if any(v in run for v in opens)]
    first = min((run[0].x0 for run in open_runs), default=float("inf"))
    whole += [w for w in words if w.x1 < first - 2 * w.size or re.fullmatch(r"[*†‡§¶#]+", w.text)]
    # and the header of a column right of every open cell, set on this line ("= 26)   Significance of difference"),
    # where each number finishing an open cell closes its bracket (not the "1" of "ANCOVA 1")
    last = max((run[-1].x1 for run in open_runs), default=float("inf"))
    heads = [w for w in words if w.x0 > last + 2 and re.fullmatch(r"[A-Za-z][\w-]*", w.text)]
    if heads and all(w.text.endswith(")") for w in words if re.search(r"\d", w.text)):
        whole += heads
    rest = [w for w in words if not any(w is v for v in whole)]
    open_ = [w for k, w in enumerate(above) if any(w is v for v in opens)
             and not (w.text == "=" and k and _DANGLING.match(above[k - 1].text))]
    numbers = [w for w in rest if w.text != "="]
    if open_ and numbers and len(numbers) <= len(open_) and all(w.text == "=" or _WRAPPED.match(w.text)
                                                                 for w in rest):
        return rest
    return None


def _join_counts(above: list[Word], words: list[Word]) -> list[Word]:
    """The line ``above`` with each wrapped number put right after the nearest open cell (by x), each once,
    with the "=" the open cell lacks."""
    line, used = list(above), []
    for w in (u for u in words if u.text != "="):
        eq = min((u for u in _open_cells(line) if not any(u is v for v in used)),
                 key=lambda u: abs((u.x0 + u.x1) / 2 - (w.x0 + w.x1) / 2))
        used.append(eq)
        at = line.index(eq) + 1
        if at < len(line) and line[at].text == "=" and eq.text != "=":  # "(n" "=", "n" "=": the cell ends at "="
            eq = line[at]
            used.append(eq)
            at += 1
        text = w.text.lstrip("=")
        pieces = [text] if eq.text.endswith("=") else ["=", text]
        # set as marks of no width right after the open cell: their real place is on the line below, and a width
        # here would reach over the next cell's name ("Coaching (n" + "= 55)" | "Peer") or a p column's header
        for k, piece in enumerate(pieces):
            x = eq.x1 + 0.1 * (k + 1)
            mark = Word(piece, x, x + 0.05, eq.base, eq.size)
            line.insert(at + k, mark)
            used.append(mark)  # an "=" put in closes its cell: no open cell for the next number
    return line


# A group printed beside the randomised arms that is not one of them: people who declined randomisation, an
# observational cohort, healthy controls ("comparison group" alone is how many trials name their control arm).
_OUTSIDE = re.compile(r"\b(?:not|non)[- ]?randomi[sz]ed|\bdeclined\s+(?:randomi[sz]ation|to\s+be\s+randomi[sz]ed)|"
                      r"\bobserv(?:ed|ational)\b|\bhealthy\s+(?:controls?|volunteers?)\b|\bregistry\b", re.IGNORECASE)


def _mark_totals(arms: list[TableArm], header: list[list[Word]], spans: list[tuple[float, float]]) -> None:
    """Columns whose values are no arm's: a totals column (named so, or, of three or more columns, an n that is
    the sum of the others) and a group outside the randomisation, as its whole header cell says."""
    ns = [a.n for a in arms]
    cells: list[list[str]] = [[] for _ in arms]  # each header cell goes to the arm it is centred nearest over
    for words in header:
        for run in word_runs(words):
            mid = (run[0].x0 + run[-1].x1) / 2
            k = min(range(len(spans)), key=lambda i: abs((spans[i][0] + spans[i][1]) / 2 - mid))
            if run[-1].x1 > spans[k][0] and run[0].x0 < spans[k][1]:
                cells[k].append(join_words(run))
    for a, cell in zip(arms, cells):
        by_sum = a.n is not None and None not in ns and len(arms) >= 3 and 2 * a.n == sum(ns)
        first_word = a.name.lower().split()[0]
        a.total = a.name.lower() in TOTAL_NAMES or first_word in ("all", "total", "overall") or by_sum \
            or bool(_OUTSIDE.search(" ".join(cell)))


_ITT_HEAD = re.compile(r"intention[- ]to[- ]treat|\bm?itt\b|full\s+analysis", re.IGNORECASE)
_PP_HEAD = re.compile(r"per[- ]?protocol|\bpp\b|completers?\b|complete[- ]cases?", re.IGNORECASE)


def _two_populations(header: list[list[Word]], arms: list[TableArm]) -> list[Word] | None:
    """The header line that sets two populations over the arms named twice ("Completers | Intention-to-treat
    sample" over "I-StoP CBT-SUD+ I-StoP CBT-SUD+"), if it does."""
    names = " ".join(join_words(h) for h in header).lower()
    if not all(names.count(a.name.lower()) >= 2 for a in arms if not a.total):
        return None
    return next((h for h in header if _ITT_HEAD.search(join_words(h)) and _PP_HEAD.search(join_words(h))), None)


ITT_COLUMNS = ("the table gives the arms twice, for two populations: the intention-to-treat columns were read; "
               "check they are")


def _itt_columns(heads: list[Word], header: list[list[Word]], arms: list[TableArm],
                 spans: list[tuple[float, float]]) -> tuple[list[TableArm], list[tuple[float, float]]] | None:
    """The arms under the intention-to-treat heading of ``heads`` (the line setting two populations), each at
    the header word that names it there; None when an arm is not named once on that side."""
    text = join_words(heads)
    itt, pp = _ITT_HEAD.search(text), _PP_HEAD.search(text)
    x_itt = words_at(heads, text, itt.start(), itt.end())[0].x0  # type: ignore[union-attr]
    x_pp = words_at(heads, text, pp.start(), pp.end())[0].x0  # type: ignore[union-attr]
    def itt_side(x0: float) -> bool:
        return x0 >= x_itt - 12 if x_itt > x_pp else x0 < x_pp - 12
    kept: dict[str, tuple[TableArm, tuple[float, float]]] = {}
    for arm, span in zip(arms, spans, strict=True):  # arms found twice ("(n = X)" under each population)
        if itt_side(span[0]):
            kept.setdefault(name_key(arm.name), (arm, span))
    if len(kept) < len(arms):  # each arm once (a known name found first on the other side): find it on this one
        for arm in arms:
            words = [w for h in header if h is not heads for w in h if itt_side(w.x0) and same_arm(w.text, arm.name)]
            if name_key(arm.name) not in kept and len(words) == 1:
                kept[name_key(arm.name)] = (arm, (words[0].x0, words[0].x1))
    wanted = {name_key(a.name) for a in arms}
    if set(kept) != wanted:
        return None
    chosen = sorted(kept.values(), key=lambda pair: pair[1][0])
    return [a for a, _ in chosen], [span for _, span in chosen]


# The label column's own heading when its rows are time points ("Time point", "Visit"), not a measure
_TIME_HEAD = re.compile(r"(?:time\s*-?\s*points?|times?|visits?|assessments?|occasions?|periods?|weeks?|"
                        r"measurement(?:\s+points?)?)", re.IGNORECASE)


def _lead(header: list[list[Word]], first_x: float) -> str:
    """A measure named in the label column of the header's sub-column line ("PHQ9" of "PHQ9  M SD n  M SD n"):
    the rows under it, labelled by time points alone, measure it (the caption names the whole table)."""
    if not header or not subcolumns([w for w in header[-1] if w.x0 >= first_x]):
        return ""
    label = join_words([w for w in header[-1] if w.x1 < first_x])
    heading = label.lower().strip(":* ") in LABEL_HEADS or _TIME_HEAD.fullmatch(label.strip(":* "))
    return "" if not label or heading or ANCHOR.search(label) else label


def _label_only(words: list[Word], first_x: float) -> bool:
    """Whether a header line holds only words of the label column: no n, no sub-column token, nothing over the
    arms (which start at ``first_x``), and no label column heading ("Characteristic", "Outcome")."""
    return bool(words) and all(w.x0 < first_x for w in words) and not ANCHOR.search(line_text(words)) \
        and not subcolumns(words) and words[0].text.lower().strip(":*") not in LABEL_HEADS


def _sub_header(words: list[Word], first_x: float, k: int) -> list[tuple[str, str, float, float]]:
    """A header line's sub-column tokens ("n  Mean  SD" per arm) from ``first_x`` on (where the arms' columns
    may start); the whole line's when only they repeat once per arm: an n column set well left of a wide arm
    name centred over its three columns."""
    sub = subcolumns([w for w in words if w.x0 >= first_x])
    if sub and per_arm(sub, k):
        return sub
    whole = subcolumns(words)
    return whole if whole and per_arm(whole, k) else sub


def _body(rows: list[list[Word]], k: int, inside: _Clip, arms: list[TableArm],
          spans: list[tuple[float, float]], columns: list[Column], right_limit: float
          ) -> tuple[list[BodyRow], int]:
    """The body lines up to the end of the table (a footnote, prose, a bigger font, another caption)."""
    # Sub-headers ("Mean  SD") may start left of the arm name centred over them: reach half a column back.
    first_x = min(x0 for x0, _ in spans) - max(12.0, 0.5 * min(x1 - x0 for x0, x1 in spans))
    body: list[BodyRow] = []
    bases: list[float] = []  # each body line's baseline
    declared = ""  # what a sub-header part way down says the rows under it print
    while k < len(rows):
        whole = rows[k]
        words = inside(whole)
        if caption_at(whole) or not words:
            break
        if k + 1 < len(rows) and _one_row(words, inside(rows[k + 1]), first_x, max(x1 for _, x1 in spans)):
            # the row's label and its cells set a little apart, where the page's other column shares their lines
            # (so the layout could not join them)
            k += 1
            whole = sorted(whole + rows[k], key=lambda w: w.x0)
            words = inside(whole)
        base = min(w.base for w in words)
        if _gap_ends(bases, base):
            break
        bases.append(base)
        sub_mid = _sub_header(words, first_x, len(arms))
        # a new sub-header ("M SD") part way down, once per arm: not a label that declares its row ("Ethnicity,
        # n (%)") with nothing in the arms' columns
        if sub_mid and body and not split_row(words)[1] and per_arm(sub_mid, len(arms)):
            columns = columns_for(arms, spans, sub_mid)
            declared = declares(join_words(words))  # "Mean (SD)" under a header's "n (%)": what the rows print now
            k += 1
            continue
        if body and (counts := _counts_line(words, inside(rows[k - 1]), arms, spans, first_x)) is not None:
            # "SF12 Scores  (n = 58)  (n = 52)": how many the rows under it count, per arm (a sub-sample)
            label_text = norm(join_words([w for w in words if w.x1 <= first_x]))
            x0 = words[0].x0
            body.append(BodyRow(label_text, [], join_words(whole), x0, words[0].size, columns, counts=counts))
            k += 1
            continue
        if min(w.x0 for w in words) > max(x1 for _, x1 in spans) + 4:
            k += 1  # a P value (".83 ᶜ") set off its row's line, right of every arm: no label, no arm's value
            continue
        label, cells = split_row(_before_statistic(words))
        cells = [c for c in cells if c.x0 < right_limit - 1]
        label_text = re.sub(r"\s+([,;:])", r"\1", norm(join_words(label)))  # "health , mean": a dropped mark
        if not cells and not label:  # only a difference / CI / P right of the arms
            k += 1
            continue
        if not cells and (_FOOTNOTE.match(label_text) or (_prose_like(label)
                          and not _rows_follow(rows, k + 1, inside, right_limit, arms))):
            break
        size = sorted(w.size for w in words)[len(words) // 2]
        if body and not cells and size > 1.12 * body[-1].size:
            break
        if body and _sds_under(body[-1].cells, cells, words):
            # "124.1" over "(±27.1)" in a narrow column: the line of bracketed SDs completes the row above
            last = body[-1]
            last.cells = [Cell("pair", m.a, sd.a, m.x0, max(m.x1, sd.x1)) for m, sd in zip(last.cells, cells)]
            last.quote += "; " + join_words(whole)
            if label_text:
                last.label = f"{last.label} {label_text}".strip()
            k += 1
            continue
        if body and (sds := _sds_wrapped(body[-1], cells)) is not None:
            # "6.444 ±" over "2.532": each SD that wrapped onto the line below completes its mean, and in a
            # narrow table the row's label wraps with them ("Reaction  0.96 ±" over "time (sec)  0.33")
            last = body[-1]
            last.cells = [Cell("pm", c.a, sds[i], c.x0, c.x1) if i in sds else c for i, c in enumerate(last.cells)]
            last.quote += "; " + join_words(whole)
            if label_text:
                last.label = f"{last.label} {label_text}".strip()
            k += 1
            continue
        x0 = label[0].x0 if label else words[0].x0
        marks = label_marks([w for w in words if not cells or w.x1 <= cells[0].x0])
        body.append(BodyRow(label_text, cells, join_words(whole), x0, size, columns, declared=declared,
                            marks=marks))
        k += 1
    return body, k


def _one_row(a: list[Word], b: list[Word], first_x: float, arms_x1: float) -> bool:
    """Whether two adjacent lines are one row set a little apart: one holds only the arms' cells, the other the
    label (and perhaps a P value right of every arm), their type's baselines within half an em (a label with a
    raised mark, "Perceived healthᵍ, mean", sits 2.5 pt below its values in some typesetting)."""
    if not a or not b:
        return False

    def base(ws: list[Word]) -> float:
        return min((w.base for w in ws if w.mark != "sup"), default=min(w.base for w in ws))

    if abs(base(a) - base(b)) >= 0.5 * max(w.size for w in a + b):
        return False
    for cells, label in ((a, b), (b, a)):
        start = min(w.x0 for w in cells)
        # (the cells up to a test statistic ending the line: "12.74  18.61  t35=−3.37;")
        label_of_cells, values = split_row(_before_statistic(cells))
        if start >= first_x and values and not label_of_cells and \
                any(w.x1 <= start for w in label) and all(w.x1 <= start or w.x0 > arms_x1 + 4 for w in label):
            return True
    return False


def _sds_under(above: list[Cell], cells: list[Cell], words: list[Word]) -> bool:
    """Whether a line's cells are only bracketed numbers ("(±27.1)", "(6.9)"), one under each plain number of
    the line above: the SDs of a table whose narrow columns put each mean over its SD."""
    brackets = [w for w in words if re.fullmatch(r"[(\[]±?\s*-?\d[\d.,]*[)\]]", norm(w.text))]
    return bool(above) and len(cells) == len(above) == len(brackets) and \
        all(c.kind == "num" for c in above + cells) and \
        all(abs(a.x - c.x) < 2 * c_w.size for a, c, c_w in zip(above, cells, brackets))


def _sds_wrapped(above: BodyRow, cells: list[Cell]) -> dict[int, float] | None:
    """The SD of each mean of the row above whose "±" has none after it, from a label-less line of numbers set
    under those means (by cell index of the row above); None unless every such "±" gets exactly one."""
    open_pm = above.quote.count("±") - sum(c.kind == "pm" for c in above.cells)
    if open_pm <= 0 or len(cells) != open_pm or any(c.kind != "num" for c in cells):
        return None
    sds: dict[int, float] = {}
    for cell in cells:
        i = min(range(len(above.cells)), key=lambda j: abs(above.cells[j].x0 - cell.x0), default=None)
        if i is None or i in sds or above.cells[i].kind != "num" or abs(above.cells[i].x0 - cell.x0) > 2 * above.size:
            return None
        sds[i] = cell.a
    return sds


def _gap_ends(bases: list[float], base: float) -> bool:
    """Whether a line starting ``base`` lies below the table: more than 2.2 times the body's usual line pitch
    under its last line (a figure or the prose set under the table, whose "(n = 92)" boxes would otherwise be
    read as more of its rows). Needs three body lines to know the pitch."""
    if len(bases) < 3:
        return False
    pitches = sorted(b - a for a, b in pairwise(bases) if b > a)
    return bool(pitches) and base - bases[-1] > 2.2 * pitches[len(pitches) // 2]


def _notes(rows: list[list[Word]], k: int, inside, body: list[BodyRow]) -> tuple[list[str], int]:
    """Footnote lines under the table: up to ten lines not bigger than the table's own type (6 % of slack: a
    note set a size step above 7.8 pt table type, 8.1 pt, is still a note)."""
    notes, size = [], (sorted(r.size for r in body)[len(body) // 2] if body else 0)
    while k < len(rows) and len(notes) < 10:
        words = inside(rows[k])
        if not words or caption_at(rows[k]) or min(w.size for w in words) > max(size + 0.3, 1.06 * size):
            break
        notes.append(norm(join_words(words)))
        k += 1
    return notes, k


def _counts_line(words: list[Word], above: list[Word], arms: list[TableArm], spans: list[tuple[float, float]],
                first_x: float) -> dict[int, int] | None:
    """Per arm, the n of a body line that prints only "(n = X)" in the arms' columns, one under each arm (or each
    arm but the total): how many the rows under it count. None for any other line, "Placebo (n = 9)" included,
    and under a line that names groups in the arms' columns (``above``: another block of groups)."""
    if _names_groups(above, first_x):
        return None
    right = drop_marks([w for w in words if w.x1 > first_x])
    text = line_text(right)
    counts: dict[int, int] = {}
    covered = set()
    for m in ANCHOR.finditer(text):
        hit = words_at(right, text, m.start(), m.end())
        if not hit:
            return None
        centre = (hit[0].x0 + hit[-1].x1) / 2
        arm = next((i for i, (x0, x1) in enumerate(spans) if x0 - 12 <= centre <= x1 + 12), None)
        if arm is None or arm in counts:
            return None
        counts[arm] = int(m.group(1))
        covered |= {id(w) for w in hit}
    rest = " ".join(norm(w.text) for w in right if id(w) not in covered)
    if re.search(r"[^\W_]", re.sub(r"\b[nN]\b", "", rest)) or len(counts) < 2:
        return None
    arms_wanted = {i for i, a in enumerate(arms) if not a.total}
    return counts if arms_wanted <= set(counts) else None


def _names_groups(words: list[Word], first_x: float) -> bool:
    """Whether a line has words in the arms' columns (from ``first_x`` on) other than its cells and "n", and
    not one category repeated under each arm ("Male n = 15   Male n = 13": a count per arm, not groups)."""
    label, _ = split_row(words)
    named = [w.text for w in label if w.x1 > first_x and re.search(r"[^\W\d_]", re.sub(r"\b[nN]\b", "", w.text))
             and not re.fullmatch(r"(?i)ns|na|p", w.text)]  # (a P value's "NS P = 0.79" beside them)
    return bool(named) and not (len(named) >= 2 and len({name.lower() for name in named}) == 1)


def _arm_anchors(words: list[Word], arms_x: float) -> bool:
    """Whether a body line is another header of groups: two or more "(n = X)", all in the arms' columns (not a
    label listing "Albania (n = 2), Belarus (n = 3)" across the width)."""
    text = line_text(words)
    xs = [hit[0].x0 for m in ANCHOR.finditer(text) if (hit := words_at(words, text, m.start(), m.end()))]
    return len(xs) >= 2 and min(xs) >= arms_x


def column_end(rows: list[list[Word]], start: int, j: int, cut: float | None) -> float:
    """Where a table whose caption starts at ``rows[start][j]`` ends on the right: at the page's column gutter
    ``cut`` when the caption ends left of it and the lines beside the table, right of the gutter, are the
    other column's prose (a table set in one column of a two-column page, its rows interleaved with the
    other column's lines), or another table (its header with the arms' n left of the gutter); else nowhere."""
    words = rows[start]
    end = j
    while end + 1 < len(words) and words[end + 1].x0 - words[end].x1 <= 3 * max(words[end].size, 1.0) \
            and not (cut is not None and words[end].x1 <= cut <= words[end + 1].x0):  # the gutter ends it
        end += 1
    if cut is None or words[end].x1 > cut or words[j].x0 > cut:
        return float("inf")
    prose = tabular = 0
    for line in rows[start:start + 12]:
        right = [w for w in line if w.x0 >= cut]
        if not right or any(w.x0 < cut < w.x1 for w in line):
            continue
        wordy = sum(bool(re.match(r"[A-Za-z]", w.text)) for w in right) >= 0.5 * len(right)
        if len(right) >= 4 and _contiguous(right) and (not split_row(right)[1] or wordy):
            prose += 1  # a sentence, or a reference entry (words, with a year and pages among them)
        elif len(right) >= 4 or split_row(right)[1]:
            tabular += 1
    if prose >= 3 and prose > 2 * tabular:
        return cut
    # another table set beside this one, its caption right of the gutter, and this one's header line (with its
    # arms' "(n = X)") left of it
    beside = any((c := caption_at(line, cut)) is not None and line[c[1]].x0 >= cut
                 for line in rows[max(0, start - 12):start + 12])
    # (the other table's header may share the line: only the words left of the gutter are this one's)
    if beside and any(len(ANCHOR.findall(line_text([w for w in line if w.x1 <= cut]))) >= 2
                      for line in rows[start + 1:start + 6]):
        return cut
    # another table's caption right of the gutter on the caption's own line or just under it ("Table 1 Baseline
    # ...   Table 2 Observed ..."): two tables side by side, one in each column
    if any(caption_right_of(line, cut) for line in rows[start:start + 6]):
        return cut
    # no other table beside it, and the two columns set apart line by line: most lines under the caption have
    # words on one side of the gutter only (a line of each column may share a baseline), so what lies right of
    # it (the rest of this table broken into the next column, its notes) is another column's
    sides = [(any(w.x1 <= cut for w in line), any(w.x0 >= cut for w in line)) for line in rows[start + 1:start + 13]
             if line and not any(w.x0 < cut < w.x1 for w in line)]
    left, right = (sum(a and not b for a, b in sides), sum(b and not a for a, b in sides))
    # (and the table's first line, its header, keeps left of the gutter: a table across the page over the
    # page's two columns of prose has its header on both sides)
    head = next((a and not b for a, b in sides if a), False)
    if not beside and head and left >= 3 and right >= 2 and 2 * sum(a and b for a, b in sides) <= left:
        return cut
    return float("inf")


def read_table(rows: list[list[Word]], start: int, page: int, known: list[str], earlier: dict[str, Table],
               cut: float | None = None) -> tuple[Table | None, int]:
    """The table whose caption is on ``rows[start]``; returns it (or None) and the row index after it. ``cut``
    is the page's column gutter, if it has one (``layout.gutter``)."""
    _, j = caption_at(rows[start], cut)  # type: ignore[misc]
    # a caption after other text on its line (a right-hand column): the table is right of it
    x_start = rows[start][j].x0 - 5 if j else float("-inf")
    right_column = cut is not None and rows[start][j].x0 >= cut
    if right_column:  # a caption alone on its line, right of the gutter: the table is in the right column
        x_start = min(rows[start][j].x0, cut) - 5
    x_end = column_end(rows, start, j, cut)

    def inside(words: list[Word]) -> list[Word]:
        return [w for w in words if x_start <= w.x0 < x_end]

    if x_end != float("inf") or right_column:  # the other column's lines between the table's own are passed over
        kept = [i for i, words in enumerate(rows) if i >= start and inside(words)]
        table, k = _read([rows[i] for i in kept], 0, page, known, earlier, inside, cut)
        if not (right_column and x_end == float("inf")) or not _clipped_badly(table):
            return table, (kept[k] if k < len(kept) else len(rows))
        table, k = None, start + 1  # read unclipped below, unless the table runs across the page
    elif x_start != float("-inf"):  # after the other column's text on its line: the table is right of it
        table, k = _read(rows, start, page, known, earlier, inside, cut)
        if not _clipped_badly(table):
            return table, k
    if x_start != float("-inf"):
        # a caption right of the other column's text (after it on its line, or right of the gutter) over a table
        # set across the page: the caption and the lines up to the header are the caption's column, the header
        # and the body run across the page
        kept = [start] + [i for i in range(start + 1, len(rows)) if inside(rows[i])]
        head = next((i for i in range(start + 1, len(rows)) if ANCHOR.search(line_text(rows[i]))), None)
        if head is not None:
            head = _wrapped_head(rows, start, head, inside)
            kept = [i for i in kept if i < head] + list(range(head, len(rows)))
            lines = [rows[start][j:]] + [rows[i] if i >= head else inside(rows[i]) for i in kept[1:]]
            wide, wide_k = _read(lines, 0, page, known, earlier, lambda words: words, cut)
            if not _clipped_badly(wide):
                return wide, (kept[wide_k] if wide_k < len(kept) else len(rows))
        if not right_column:
            return table, k
        x_start = float("-inf")  # a caption right of the gutter: the whole lines, unclipped
    return _read(rows, start, page, known, earlier, inside, cut)


def _wrapped_head(rows: list[list[Word]], start: int, head: int, inside: _Clip) -> int:
    """The first line of a header set across the page whose line with the n (``rows[head]``) has header lines
    above it: an arm's name wrapped over its "(8 schools, n = 62)". Such a line lies over the header's columns
    (it starts no further left than the header line, give or take two em), is short, and has nothing in the
    caption's column; the other column's prose starts at the margin."""
    lo = min(w.x0 for w in rows[head]) - 2 * max(rows[head][0].size, 1.0)
    while head - 1 > start and rows[head - 1] and len(rows[head - 1]) <= 6 and not inside(rows[head - 1]) \
            and min(w.x0 for w in rows[head - 1]) >= lo:
        head -= 1
    return head


def _clipped_badly(table: Table | None) -> bool:
    """Whether a table read from the right column only lost what lies left of it: no table, a column without
    a name, or rows of values without their labels."""
    if table is None or any(is_unnamed(a.name) for a in table.arms):
        return True
    body = table._parts[0] if table._parts else []
    # (a row's cells set a little off its label's line, just above or below it, are that row's: not lost)
    return any(row.cells and not row.label and not any(
        0 <= j < len(body) and body[j].label and not body[j].cells for j in (k - 1, k + 1)) for k, row in enumerate(body))


def _read(rows: list[list[Word]], start: int, page: int, known: list[str], earlier: dict[str, Table],
          inside: _Clip, cut: float | None) -> tuple[Table | None, int]:
    """``read_table`` on ``rows`` (all the page's lines, or those of one column from the caption on)."""
    number, j = caption_at(rows[start], cut)  # type: ignore[misc]

    caption, k = _caption(rows, start, j, inside)
    header, k = _header(rows, k, inside, rows[start][j].x0)
    if header is None:
        return None, k
    arms, spans = arms_in_header(header, known)
    if times_not_arms(arms):  # time points over the columns: the rows may be the arms
        arms, spans = [], []
    if len(arms) < 2 and header and k < len(rows):
        below = inside(rows[k])
        arms, spans = arms_over_n_row(header[-1], below)
        if arms:
            header.append(drop_marks(below))
            k += 1
    if len(arms) < 2:
        table = _arms_as_rows(rows, k, header, inside, known, page, caption)
        if table is not None or not header or caption_kind(caption)[0] != "baseline":
            return table, start + 1
        # a baseline table's header naming its columns without counts ("Treatment  Placebo  P value")
        # (the names may stand on a line above the header's last: "All" over its wrapped "participants")
        below = [inside(words) for words in rows[k:k + 8]]
        arms, spans = next((found for line in reversed(header[-2:]) if len((found := arms_by_name(line, below))[0]) >= 2),
                           ([], []))
        if len(arms) < 2 or times_not_arms(arms):
            return None, start + 1
    _mark_totals(arms, header, spans)
    if sum(not a.total for a in arms) < 2:
        return None, start + 1
    doubt = ""
    if (heads := _two_populations(header, arms)) is not None:  # completers and ITT: the ITT columns, for a human
        if (itt := _itt_columns(heads, header, arms, spans)) is None:
            return None, start + 1
        arms, spans, doubt = *itt, ITT_COLUMNS
    continued = re.search(r"\(cont", caption, re.IGNORECASE) and number in earlier
    if continued:
        first = earlier[number]
        kind, timepoint, population, caption = first.kind, first.timepoint, first.population, first.caption
        caption += " (continued)"
    else:
        kind, timepoint, population = caption_kind(caption)
    # Sub-headers ("Mean  SD") may start left of the arm name centred over them: reach half a column back.
    first_x = min(x0 for x0, _ in spans) - max(12.0, 0.5 * min(x1 - x0 for x0, x1 in spans))
    while len(header) > 1 and _label_only(header[-1], first_x) and header[-1] == drop_marks(inside(rows[k - 1])):
        header.pop()  # "BAI, post-" over "treatment 13.28 ...": the first row's label, wrapped, not a header line
        k -= 1
    subs = [s for s in (_sub_header(h, first_x, len(arms)) for h in header if not ANCHOR.search(line_text(h))) if s]
    columns = columns_for(arms, spans, (len(subs) > 1 and stacked_subs(subs, len(arms))) or (subs[-1] if subs else []))
    keys = [name_key(a.name) for a in arms]
    if len(set(keys)) < len(keys):  # the same arms again under other time point headings
        tps = None if any(c.timepoint for c in columns) else arm_timepoints(header, spans)
        if tps is None or len(set(zip(keys, tps))) < len(arms):
            return None, k
        for c in columns:
            c.timepoint = c.timepoint or tps[c.arm]
    elif not any(c.timepoint for c in columns):
        # a time point heading above the line that names the arms spans them all
        names_at = next((i for i, h in enumerate(header) if join_words(h) == arms[0].quote), 0)
        if over := spanning_timepoint(header[:names_at], spans):
            for c in columns:
                c.timepoint = over
    arm_right = max([c.x1 for c in columns] + [x1 for _, x1 in spans])
    right_limit = min((w.x0 for h in header for w in h if w.x0 > arm_right + 2), default=float("inf"))
    # a narrow column right of the arms ("p", "Total") centres its values under its header, so they start left
    # of the header word: what lies past halfway from the arms to that word is that column's
    right_limit = (arm_right + right_limit) / 2 + 1 if right_limit != float("inf") else right_limit
    head_text = caption + " " + " ".join(join_words(h) for h in header) + " " + _stacked(header, spans)
    body_start = k
    body, k = _body(rows, k, inside, arms, spans, columns, right_limit)
    arms_x = min(x0 for x0, _ in spans) - 12
    # (not a line of counts alone under a row's label, nor values each printed with its n: "88.4 (n = 38)")
    blocks = any(_arm_anchors(inside(rows[i]), arms_x) and (_names_groups(inside(rows[i]), first_x)
                                                          or _names_groups(inside(rows[i - 1]), first_x))
                 for i in range(body_start, k))
    notes, k = _notes(rows, k, inside, body)
    if blocks:
        # another block of groups with their own "(n = X)" further down (the parts or cohorts of a phase 1
        # study, subgroups): which block's columns are the trial's arms is not for a rule to guess
        return None, k
    kind = "outcome" if any(c.timepoint for c in columns) else kind
    population = population or notes_population(notes)
    table = Table(page, caption, kind, timepoint, population, arms, doubt=doubt)
    table._parts = (body, head_text, notes, _lead(header, first_x))  # read once every part is known
    return table, k


def _arms_as_rows(rows: list[list[Word]], k: int, header: list[list[Word]], inside: _Clip, known: list[str],
                  page: int, caption: str) -> Table | None:
    """A table with no arms over its columns whose rows are the arms (``_arm_rows``), its values read already.
    A long line naming a measure ("Multiple Sclerosis Impact Scale-29 (MSIS-29) (potential range 0 to 100, ...)")
    stays in the table when an arm's row follows it; the header's last line is such a line when it starts left
    of the header's counts and prints none."""
    head_x = min((w.x0 for h in header[:1] for w in h if ANCHOR.search(w.text) or w.text.startswith("(")),
                 default=None)
    lead = []
    if len(header) >= 2 and head_x is not None and header[-1][0].x0 < head_x \
            and not ANCHOR.search(line_text(header[-1])):
        lead = [header.pop()]
    body = list(lead)
    part = rows[k:k + 40]
    for j, words in enumerate(part):
        line = inside(words)
        if not line or caption_at(words) or _FOOTNOTE.match(norm(join_words(line))):
            break
        if _prose_like(line):
            below = inside(part[j + 1]) if j + 1 < len(part) else []
            label, cells = split_row(below)
            if not (cells and arm_of(line_text(label), known) is not None):
                break
        body.append(line)
    arms, values = arms_as_rows(body, header, known, _caption_text(caption))
    if not arms:
        return None
    table = Table(page, caption, "baseline", "baseline", "", arms, values)
    table._parts = ()  # read here: nothing left for ``fill_values``
    return table


def _caption_text(caption: str) -> str:
    """A caption without its number ("Table 2 Effect of CPT on felt stigma" -> "Effect of CPT on felt stigma")."""
    return re.sub(r"^\s*table\s+\w+\s*[.:|]?\s*", "", caption, flags=re.IGNORECASE).removesuffix(" (continued)")


def _stacked(header: list[list[Word]], spans: list[tuple[float, float]]) -> str:
    """Each arm's header read down its own column ("mean" / "(standard" / "deviation)" under each arm): what
    the lines say across the page interleaves the columns ("mean mean (standard (standard ...")."""
    return " ".join(join_words([w for h in header for w in h if w.x1 > x0 - 6 and w.x0 < x1 + 6])
                    for x0, x1 in spans)


def _ends_page(rows: list[list[Word]], start: int, cut: float | None) -> bool:
    """Whether the caption on ``rows[start]`` has nothing of a table under it on its page: no "n = X" and no row
    of values in its column (browsers and typesetters leave a caption at a page's foot, its table on the next)."""
    x = rows[start][caption_at(rows[start], cut)[1]].x0  # type: ignore[index]
    below = [[w for w in words if w.x0 >= x - 5] for words in rows[start + 1:]]
    return not any(ANCHOR.search(line_text(words)) or len(split_row(words)[1]) >= 2 for words in below if words)


def find_tables(pages: list, known: list[str], said: str = "") -> list[Table]:  # pages: list[extractor.pdf.Page]
    """Every per-arm table in the document, in page order; ``known`` arm names help read headers without n;
    ``said``: what the paper's text says its figures are (``_values.prose_declaration``), for tables that say
    nothing themselves."""
    tables: list[Table] = []
    names = list(known)
    earlier: dict[str, Table] = {}
    numbers: list[str] = []
    orphan: list[Word] | None = None  # a caption that ended its page with no table under it
    unread: list[tuple[int, list[list[Word]], int, float | None, str]] = []  # captions whose table was not read
    where: list[tuple[int, int]] = []  # each table's (page, caption row)
    for page in pages:
        rows, carried = page.rows, orphan is not None
        # the gutter only where a caption may stand right of it (computing it costs a pass over the page)
        cut = gutter(rows, page.width) if page.width and any(
            w.text.startswith(("Table", "TABLE")) for words in rows for w in words) else None
        if orphan is not None:  # its table starts the next page: read it under that caption
            first = next((i for i, words in enumerate(rows) if caption_at(words, cut)), len(rows))
            rows = [orphan] + rows[:first] + [[]] + rows[first:]
        i = 0
        while i < len(rows):
            if not (found := caption_at(rows[i], cut)):
                i += 1
                continue
            (number, j), start = found, i
            two = cut is not None and rows[i][j].x0 < cut and caption_right_of(rows[i], cut)
            if two:  # two captions on one line, one in each column: the right one's table is read next, as if its
                # caption stood alone on the line under the left one's
                rows = rows[:i] + [[w for w in rows[i] if w.x0 < cut], [w for w in rows[i] if w.x0 >= cut]] \
                    + rows[i + 1:]
            table, i = read_table(rows, i, page.number, names, earlier, cut)
            if two:
                i = start + 1
            orphan = rows[start][j:] if table is None and not (carried and start == 0) \
                and _ends_page(rows, start, cut) else None
            if table is None:
                if orphan is None:
                    unread.append((page.number, rows, start, cut, number))
                continue
            tables.append(table)
            where.append((page.number, start))
            earlier.setdefault(number, table)
            names += [a.name for a in table.arms
                      if not a.total and not any(same_arm(a.name, n) for n in names)]
            numbers.append(number)
    if len(names) > len(known):
        # a table before the one that first names the arms, its header naming them without n ("Red  White  Red
        # White" under "Pre-treatment  Post-treatment"): read again with the names the later tables gave
        for page_number, rows, start, cut, number in unread:
            table, _ = read_table(rows, start, page_number, names, earlier, cut)
            if table is not None:
                k = next((k for k, at in enumerate(where) if at > (page_number, start)), len(tables))
                tables.insert(k, table)
                where.insert(k, (page_number, start))
                numbers.insert(k, number)
                earlier.setdefault(number, table)
    parts = [t._parts for t in tables]
    for table, number, part in zip(tables, numbers, parts):
        if not part:  # a table whose rows are the arms, read already
            continue
        body, head_text, notes, lead = part
        siblings = [note for t, num, p in zip(tables, numbers, parts) if num == number and t is not table and p
                    for note in p[2]]
        table.values, table.skipped = fill_values(table.arms, table.timepoint, body, head_text,
                                                  notes + siblings, lead or _caption_text(table.caption), said)
        for v in table.values:
            v.doubt = v.doubt or table.doubt
        table._parts = ()
    return tables
