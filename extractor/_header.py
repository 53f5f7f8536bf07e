"""Table headers: the arms (name and n), totals columns, and the columns under each arm.

An arm is found from "(n = X)" / "N = X" with its name on the same line or on a header line above,
or from arm names already known from another table. A totals column ("All", "Total", or an n that
is the sum of the others) is flagged by the caller. A sub-header line ("Baseline  Week 36  Change",
"Mean  SD", "n  %") repeated once per arm splits each arm into columns; arms repeated under time
point headings ("Baseline: A B | Week 12: A B") get those time points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise

from metasift.extractor._cells import drop_marks, split_row
from metasift.extractor._text import (
    FOOTNOTE_MARKS,
    TABLE_NUMBER,
    TABLE_VERB,
    name_key,
    norm,
    same_arm,
    strip_marks,
)
from metasift.extractor.layout import Word, join_words

ANCHOR = re.compile(r"\b[nN]\s*=\s*(\d{1,5})\b")
# a count as printed in a word not yet normalised: "2,151" (a thousands comma) or up to five digits
PRINTED_COUNT = r"(?:\d{1,3}(?:,\d{3})+|\d{1,5})"
LABEL_HEADS = {"characteristic", "characteristics", "variable", "variables", "parameter", "parameters",
                "measure", "measures", "outcome", "outcomes", "item", "items", "scale", "final", "baseline",
                "index"}
TOTAL_NAMES = {"all", "total", "overall", "whole", "sample", "combined", "all participants", "all patients",
               "total sample", "entire sample"}
TIME = (r"baseline|pre[- ]?(?:treatment|intervention|test)|post[- ]?(?:treatment|intervention|test)|post|"
         r"(?:before|after) (?:the )?(?:treatment|intervention|training|program(?:me)?|therapy)|"
         r"week\s*\d+|wk\s*\d+|month\s*\d+|day\s*\d+|\d+\s*(?:weeks?|wks?|months?|days?|years?)|"
         r"follow[- ]?up|"
         r"end of (?:treatment|intervention|study)|change|final|t\d\b")
# Words that are a time point only where they stand alone in a header cell ("Before  After" under each arm)
_BARE_TIME = r"before|after|pre"
_TIME_OR_BARE = rf"{TIME}|\b(?:{_BARE_TIME})\b"
SUBCOL = re.compile(rf"(?P<tp>{_TIME_OR_BARE})|"
                    r"(?P<stat>95%\s*ci|mean\s*\(\s*sd\s*(?:\)|$)|\bm\s*\(\s*sd\s*\)|(?:\bmean|\bm)\s*(?:±|\+/-)\s*sd\b|"
                    r"mean\s*\(\s*se\s*\)|median\s*\(\s*iqr\s*\)|\bmean\b|\bsd\b|\bs\.\s?d\.?|\bmin(?:imum)?\b|\bmax(?:imum)?\b|"
                    r"\bm\b|\bn\b|%|\bp(?:\s*-?\s*value)?\b|\bci\b|\bse\b|\bmedian\b|\biqr\b|"
                    r"\b[tfz](?:[- ]?(?:test|value))?(?![\w(])|\u03c7\s*2|\u03c72|"  # test statistics
                    # a mean's x̄ as it comes out of a PDF: the letter with a combining bar, or set as a χ, or the bar
                    # as a glyph of its own
                    r"(?P<xbar>(?<!\w)(?:x\u0304|x\u0305|\u03c7)(?![\w\u00b2])|\bx\s*\u00af))", re.IGNORECASE)


@dataclass
class Column:
    """One column of a table body: which arm, what it holds, at which time point, where."""

    arm: int  # index into the table's arms
    kind: str  # value | n | mean | sd | pct | p | other
    timepoint: str | None
    x0: float
    x1: float


@dataclass
class TableArm:
    """An arm as a table header names it."""

    name: str
    n: int | None
    quote: str  # the header line the n was read from
    total: bool = False


def line_text(words: list[Word]) -> str:
    """A line's text with dashes and minus signs normalised."""
    return norm(join_words(words))


# a caption's "Table" with its number set without a space: "Table2 Reduction in ..."
_GLUED_CAPTION = re.compile(rf"(?:Table|TABLE)({TABLE_NUMBER})[.:|]?")


def caption_at(words: list[Word], cut: float | None = None) -> tuple[str, int] | None:
    """(number, index of the word "Table" or "TABLE") when a line holds a table caption (at its start, after
    a gap wider than justified spacing stretches, or first right of the page's column gutter ``cut``: the other
    column's prose may run up to it)."""
    for j in range(len(words) - 1):
        starts = j == 0 or words[j].x0 - words[j - 1].x1 > 1.8 * words[j].size or \
            (cut is not None and words[j - 1].x1 <= cut + 1 <= words[j].x0 + 2)
        if not starts:
            continue
        # "Table 2 ...", or the number set without a space ("Table2 Reduction in ..."): the next word is the
        # caption's first
        if glued := _GLUED_CAPTION.fullmatch(words[j].text):
            number, after = glued, j + 1
        elif words[j].text in ("Table", "TABLE"):
            number, after = re.fullmatch(rf"({TABLE_NUMBER})[.:|]?", words[j + 1].text), j + 2
        else:
            continue
        told = after < len(words) and number is not None and not number.group(0).endswith((".", ":", "|")) \
            and TABLE_VERB.fullmatch(words[after].text)  # "Table 1 describes ...": a sentence about it
        if number and not told:
            return number.group(1), j
    return None


def caption_right_of(words: list[Word], cut: float) -> bool:
    """Whether a table caption starts right of the column gutter ``cut`` on a line (the right column's caption,
    alone or beside the left column's own)."""
    return caption_at([w for w in words if w.x0 >= cut], cut) is not None


def caption_kind(caption: str) -> tuple[str, str, str]:
    """(kind, time point, population) from a caption."""
    low = caption.lower()
    population = ""
    if re.search(r"completed|completer|\bm?itt\b|intention[- ]to[- ]treat|analy[sz]ed|analysis set|per[- ]protocol",
                 low):
        population = "analysed"
    elif "randomi" in low:
        population = "randomised"
    # ("characteristics of patients after randomisation": when they were counted, not a later time point; "in a
    # 12-week program": how long the programme runs, not when the table counts)
    later = re.search(r"change|follow|post|after|\bweeks?\b|months?|end of",
                      re.sub(r"\b(?:after|post-?)\s*(?:randomi[sz]ation|allocation|enrol+ment|inclusion)|"
                             r"\b\d+-(?:week|month|day|year)\s+(?:[\w()-]+\s+){0,3}?(?:program(?:me)?|intervention|trial|"
                             r"study|course|treatment|training)\b", "", low))
    described = re.search(r"descri\w+(?: statistics)? of the (?:study )?(?:cohort|sample|participants|patients|"
                          r"subjects|population)", low)  # "Descriptive statistics of the study cohort"
    # ("Laboratory data of patients on admission": measured before any treatment, as at baseline)
    # ("Run-in period results": measured before randomisation)
    at_entry = re.search(r"\b(?:on|at) (?:admission|entry|study entry|enrol+ment|inclusion|randomi[sz]ation)\b|"
                         r"\brun[- ]?in (?:period|phase|week)", low)
    if (described or at_entry or re.search(r"baseline|characteristic|demographic", low)) and not later and (
            "outcome" not in low or re.search(r"baseline (?:outcome|score|measure|value)|"
                                              r"(?:outcome|score|measure|value)s?(?: measures?)? at baseline", low)):
        return "baseline", "baseline", population  # "Baseline outcome measures": the outcomes' baseline
    m = re.search(TIME, low)
    tp = re.sub(r"\s+", " ", m.group()) if m else "post"
    if tp.startswith(("post", "end of", "after")) or tp in ("change", "baseline"):
        tp = "post" if tp != "change" else "change"
    return "outcome", tp, population


# A table's note naming the population it describes: "This table was created on the basis of the intention-to-treat
# dataset", "completers only", "patients who completed the study". Not a note defining the short forms ("ITT,
# intention-to-treat") nor one naming how the data were analysed.
_NOTE_POPULATION = re.compile(r"\b(?:(?:modified )?intention[- ]to[- ]treat|m?itt|per[- ]protocol|completers?)\s+"
                              r"(?:data ?set|population|sample|set|group|participants|patients)\b|"
                              r"\bcompleters? only\b|\b(?:participants|patients|subjects) who completed\b",
                              re.IGNORECASE)


def notes_population(notes: list[str]) -> str:
    """The population a table's notes say it describes ("analysed": the ITT or per-protocol set, completers),
    else ""; for a table whose caption names none."""
    return "analysed" if any(_NOTE_POPULATION.search(note) for note in notes) else ""


def subcolumns(words: list[Word]) -> list[tuple[str, str, float, float]]:
    """Sub-header tokens of a row as (kind, label, x0, x1), or [] if the row is not a sub-header."""
    text, spans = "", []
    for w in drop_marks(words):
        if text:
            text += " "
        spans.append((len(text), len(text) + len(w.text), w))
        text += norm(w.text)
    found, rest = [], text
    for m in SUBCOL.finditer(text):
        hit = [w for s, e, w in spans if s < m.end() and e > m.start()]
        label = re.sub(r"\s+", " ", m.group().lower())
        label = "mean (sd)" if label.rstrip() == "mean (sd" else label  # its ")" cut off at the line's end
        label = "mean" if m.group("xbar") else label
        kind = "tp" if m.group("tp") else "stat"
        found.append((kind, label, hit[0].x0, hit[-1].x1))
        rest = rest.replace(m.group(), " ", 1)
    leftover = re.sub(rf"[\s(){FOOTNOTE_MARKS}†,:;]+", "", rest)
    if len(found) < 2 or len(leftover) > max(12, len(text) // 3):
        return []
    return found


def _col_kind(kind: str, label: str) -> tuple[str, str | None]:
    """(column kind, time point) of a sub-header token."""
    if kind == "tp":
        return "value", label
    if label in ("mean", "m"):
        return "mean", None
    if label.replace(".", "").replace(" ", "") == "sd":  # "SD", "s.d."
        return "sd", None
    if label == "n":
        return "n", None
    if label == "%":
        return "pct", None
    if label.startswith("p"):
        return "p", None
    if "sd" in label or "(" in label:  # "mean (SD)", "M ± SD", "mean (SE)", "median (IQR)": one cell
        return "value", None
    return "other", None


_OPEN_COUNT = re.compile(r"\(?[nN]\s*=?")  # "(n =" or "(n" at a narrow cell's line end
_REST_OF_COUNT = re.compile(r"=?\s*\d{1,5}\)?")  # "25)" or "= 25)" on the cell's next line


_GLUED = re.compile(r"^([A-Za-z][\w\-+/]*)(\([nN]\b.*)$")


def _unglue_counts(words: list[Word]) -> list[Word]:
    """A name glued to its count ("group(n = 76)") as two words, "group" and "(n", each its share of the width."""
    out = []
    for w in words:
        m = _GLUED.match(w.text)
        if m is None:
            out.append(w)
            continue
        cut = w.x0 + (w.x1 - w.x0) * len(m.group(1)) / len(w.text)
        out += [replace(w, text=m.group(1), x1=cut), replace(w, text=m.group(2), x0=cut)]
    return out


def _rest_below(below: list[Word], lo: float, hi: float, opening: str) -> list[Word]:
    """The words of the line below, starting between ``lo`` and ``hi``, that end an open "(n" ("25)", "= 25)")."""
    near = [v for v in below if lo < v.x0 < hi]
    rest = near[:2] if len(near) >= 2 and _REST_OF_COUNT.fullmatch(" ".join(v.text for v in near[:2])) else near[:1]
    text = " ".join(v.text for v in rest)
    return rest if rest and _REST_OF_COUNT.fullmatch(text) and ANCHOR.search(f"{opening} {text}") else []


def join_wrapped_counts(rows: list[list[Word]]) -> list[list[Word]]:
    """Header lines with a count wrapped in its narrow column ("group (n =" over "25)", "group (n" over "= 25)")
    put back on one line: the rest moves up after the open "(n", so the line reads "group (n = 25)"."""
    rows = [list(r) for r in rows]
    for i in range(len(rows) - 1):
        line = list(rows[i])  # as printed: the words moved up are not read again
        runs = word_runs(line)
        for k, w in enumerate(line):
            if k + 1 < len(line) and re.match(r"=?\s*\d|=$", line[k + 1].text):
                continue  # the count goes on along this line (its "=", then the rest, is the one to complete)
            opening = " ".join(v.text for v in line[max(0, k - 1):k + 1])
            if not (_OPEN_COUNT.fullmatch(w.text) or re.fullmatch(r"\(?[nN]\s*=", opening)):
                continue
            at_run = next((r for r, run in enumerate(runs) if any(v is w for v in run)), None)
            cell = runs[at_run] if at_run is not None else [w]
            # (not under the next header cell: "Control (n =  Taekwondo (n =" over "15)  15)")
            nxt = runs[at_run + 1][0].x0 if at_run is not None and at_run + 1 < len(runs) else float("inf")
            rest = _rest_below(rows[i + 1], w.x0 - 4 * w.size, min(w.x1 + 4 * w.size, nxt - 1), opening)
            if not rest:  # the rest wrapped back to the cell's start: "Intervention group (N" over "= 29)"
                rest = _rest_below(rows[i + 1], cell[0].x0 - 2 * w.size, cell[0].x0 + 4 * w.size, opening)
            if not rest:
                continue
            # set where the open "(n" ends, taking no width: the arm's column stays where its header prints it
            moved = [Word(v.text, w.x1, w.x1, w.base, v.size, v.mark) for v in rest]
            rows[i + 1] = [v for v in rows[i + 1] if not any(v is r for r in rest)]
            at = next(n for n, v in enumerate(rows[i]) if v is w) + 1
            rows[i] = rows[i][:at] + moved + rows[i][at:]
    return rows


def arms_in_header(rows: list[list[Word]], known: list[str]
                   ) -> tuple[list[TableArm], list[tuple[float, float]]]:
    """Arms and n from "(n = X)" anchors (names on the same or an earlier header line), else known names;
    with the x-span of each arm's header words."""
    rows = join_wrapped_counts([_unglue_counts(words) for words in rows])
    anchors = []  # (n, x0, x1, row index, row text)
    for i, words in enumerate(rows):
        text = line_text(words)
        for m in ANCHOR.finditer(text):
            hit = words_at(words, text, m.start(), m.end())
            if hit:
                anchors.append((int(m.group(1)), hit[0].x0, hit[-1].x1, i, join_words(words)))
    arms, spans = [], []
    if len(anchors) >= 2:
        for n, x0, x1, i, quote in sorted(anchors, key=lambda a: a[1]):
            others = [(a[1], a[2]) for a in anchors if a[3] != i]  # another line's "(n = X)": that arm's name
            name_words = [w for w in name_left_of(rows[i], x0, x1, anchors, i) if _free(w, others)]
            if name_words and i > 0:  # "Behavioural" / "activation (n = 179)": the name wrapped above its n
                # (past a line with nothing over this cell: the label column's "Variable" set between the lines
                # of a header whose cells sit at their foot)
                above = i - 1 if i == 1 or _over(rows[i - 1], name_words[0].x0, x1) else i - 2
                name_words = _wrapped_above(rows[above], name_words[0].x0, x1, others) + name_words
            j = i - 1
            # "(8 schools, n = 34)" below "Control schools": the name above stands over the whole bracket
            start = _bracket_start(rows[i], x0, anchors, i)
            while not name_words and j >= 0:
                taken = [(a[1], a[2]) for a in anchors if a[3] == j]  # that line's own "(n = X)"
                name_words = [w for w in rows[j] if w.x0 < x1 + 6 and w.x1 > start - 6 and not ANCHOR.search(w.text)
                              and _free(w, taken)]
                if _before_bracket(name_words) != name_words:  # "Control schools (8" over "schools, n = 56)":
                    # the name is the whole cell the bracket ends, not only the words over the n
                    name_words = _before_bracket([w for run in word_runs(rows[j]) if any(v in run for v in name_words)
                                                  for w in run])
                elif name_words:
                    name_words = _whole_cell(rows[j], name_words, start, x1, anchors, i, j, taken)
                j -= 1
            if name_words and 0 <= j < i - 1:  # "Empagliflozin" / "10 mg" / "(n=2345)": a name over two lines
                siblings = [(a[1], a[2]) for a in anchors if a[3] == i and a[1] != x0]
                name_words = _name_above(rows[j], min([x0] + [w.x0 for w in name_words]),
                                         max([x1] + [w.x1 for w in name_words]), siblings) + name_words
            name = _clean_name(" ".join(w.text for w in name_words))
            if name and (not re.search(r"[A-Za-z]", name) or re.search(r"\d\s*[(\[]\s*\d+(?:\.\d+)?\s*[)\]]?$", name)):
                return [], []  # "0.96 (0.41) n=29": a body row's values with their n, not an arm's header
            lo = min([x0] + [w.x0 for w in name_words])
            hi = max([x1] + [w.x1 for w in name_words])
            arms.append(TableArm(name or unnamed_arm(len(arms)), n, quote))
            spans.append((lo, hi))
        _known_names_in_order(arms, rows[:max(a[3] for a in anchors) + 1], known)
        return arms, spans
    for i, words in enumerate(rows):
        found: list[tuple[str, Word]] = []
        every: list[tuple[str, Word]] = []  # each word naming a known arm, repeats included
        for w in words:
            # a word names the one known arm it matches; one that fits several ("schools" in "Total sample, 8
            # schools" beside "intervention schools" and "control schools") names none
            hits = {name_key(name): name for name in known if same_arm(w.text.strip(",;:*†‡"), name)}
            name = next(iter(hits.values()), "")
            if len(hits) == 1:
                every.append((name, w))
                if not any(same_arm(f[0], name) for f in found):
                    found.append((name, w))
        if len(found) >= 2:
            if repeated := _time_cells(words, found, every, rows[:i]):
                return repeated
            return ([TableArm(name, None, join_words(words)) for name, _ in found],
                    [(w.x0, w.x1) for _, w in found])
    return [], []


def _time_cells(words: list[Word], found: list[tuple[str, Word]], every: list[tuple[str, Word]],
                above: list[list[Word]]) -> tuple[list[TableArm], list[tuple[float, float]]] | None:
    """Arms named again under each time point, for ``arm_timepoints`` to date: every known arm named the same
    number of times (twice or more) on one header line, and either each name in a cell of its own that opens
    with a time point ("Before Means±SD Y  After Means±SD Y  P value  Before Means±SD PE  After Means±SD PE"; the
    arm spans its cell), or a line of nothing but the names under a time point heading for each repeat on the lines
    ``above`` ("Pre-Treatment  Post-Treatment" over "Red  White  Red  White"; the arm spans its name). None for any
    other line."""
    times = len(every) // len(found)
    if times < 2 or any(sum(same_arm(n, name) for n, _ in every) != times for name, _ in found):
        return None
    quote = join_words(words)
    if len(every) == len(words) and len(_time_heads(above, bare=True)) >= times:
        return [TableArm(name, None, quote) for name, _ in every], [(w.x0, w.x1) for _, w in every]
    runs = word_runs(words)
    cells = [next((r for r in runs if any(v is w for v in r)), []) for _, w in every]
    if any(not re.match(rf"(?:{TIME}|{_BARE_TIME})\b", norm(cell[0].text), re.IGNORECASE) for cell in cells) \
            or len({id(cell[0]) for cell in cells}) < len(cells):
        return None
    return [TableArm(name, None, quote) for name, _ in every], [(cell[0].x0, cell[-1].x1) for cell in cells]


_N_LABEL = re.compile(r"(?:(?:n|no\.?|number)(?: of (?:participants|patients|subjects|cases))?|sample size|"
                      r"participants|patients|subjects)\s*[:,]?", re.IGNORECASE)


def arms_over_n_row(names: list[Word], below: list[Word]) -> tuple[list[TableArm], list[tuple[float, float]]]:
    """Arms named by a header line without counts ("Characteristics   NMES + Ex   Ex") whose first body row
    gives each one's n ("N   50   50"): one whole number under each name, the row's label a word for n."""
    label, cells = split_row(below)
    if not cells or not _N_LABEL.fullmatch(strip_marks(line_text(label)).strip()) \
            or any(c.kind != "num" or c.a is None or c.a != int(c.a) for c in cells):
        return [], []
    runs = [r for r in word_runs(names) if r[0].x0 > max(w.x1 for w in label) + 4]
    if len(runs) != len(cells) or len(runs) < 2 or any(
            not (r[0].x0 - 24 < c.x < r[-1].x1 + 24) for r, c in zip(runs, cells, strict=True)):
        return [], []
    quote = f"{join_words(names)}; {join_words(below)}"
    arms = [TableArm(_clean_name(join_words(r)), int(c.a), quote) for r, c in zip(runs, cells, strict=True)]
    if any(not a.name or ANCHOR.search(a.name) or re.fullmatch(r"(?i)p(?:[- ]?value)?", a.name)
           or a.name.lower() in TOTAL_NAMES for a in arms):
        return [], []  # a P or Total column is no arm
    return arms, [(r[0].x0, r[-1].x1) for r in runs]


# A column head that names no group: a test's or a difference's, or a measure's (a table whose rows are the groups,
# "Group  N  F/M  Age  PTA").
_NOT_GROUP_HEAD = re.compile(r"(?:p|t|f|z|u|h|χ2?|χ²|x2|chi[- ]?squared?)(?:[- ]?(?:values?|tests?|statistics?))?|df|"
                             r"significance(?: of difference)?|"
                             r"statistics?|test|differences?|effect sizes?|n|no\.?|%|age|sex|gender|[fm]/[fm]|bmi|"
                             r"weight|height|mean|sd|se|median|iqr|range|min|max", re.IGNORECASE)


def arms_by_name(names: list[Word], below: list[list[Word]]) -> tuple[list[TableArm], list[tuple[float, float]]]:
    """Arms named by a header line without counts ("Treatment   Placebo   P value", "Variable  Ultrabrief  Brief
    t  χ2  p") over the rows of values under it (``below``): two to four name cells reaching over the values, each
    taking one value of most rows (a value goes to the head nearest it); the cells after them for a test (P, t,
    χ2) or the total are no arms, and a line of measure heads ("N  F/M  Age") names none. The caller reads such
    a header only where the caption says the table describes the groups at baseline, whose columns are the
    arms."""
    rows = [cells for _, cells in (split_row(words) for words in below) if len(cells) >= 2][:6]
    if len(rows) < 2:
        return [], []
    values_from = min(c.x0 for cells in rows for c in cells)
    heads = [r for r in word_runs(names) if r[-1].x1 > values_from - 4]
    texts = [norm(join_words(r)).strip(" :*") for r in heads]

    def no_group(text: str) -> bool:
        return bool(_NOT_GROUP_HEAD.fullmatch(text.replace(" ", ""))) or text.lower() in TOTAL_NAMES

    # the group heads: those between a leading total ("All participants") and the trailing tests and total
    first = 1 if len(texts) > 1 and texts[0].lower() in TOTAL_NAMES else 0
    last = len(texts)
    while last > first and no_group(texts[last - 1]):
        last -= 1
    keep = range(first, last)
    texts = texts[first:last]
    if not 2 <= len(keep) <= 4 or any(no_group(t) or ANCHOR.search(t) for t in texts):
        return [], []
    centres = [(r[0].x0 + r[-1].x1) / 2 for r in heads]
    fits = tried = 0
    for cells in rows:  # (a row of counts "17/47" has no cells under the names, only its test's: not counted)
        taken = [min(range(len(heads)), key=lambda h: abs(centres[h] - c.x)) for c in cells]
        tried += any(h in keep for h in taken)
        fits += all(taken.count(h) == 1 for h in keep)
    if tried < 2 or 3 * fits < 2 * tried:
        return [], []
    cleaned = [_clean_name(t) for t in texts]
    # (cleaning only takes away: a head of marks, brackets or a statistic alone, "Mean ± SD", names nothing)
    if not all(re.search(r"[A-Za-z]{2}", name) for name in cleaned):
        return [], []
    quote = join_words(names)
    return [TableArm(name, None, quote) for name in cleaned], [(heads[h][0].x0, heads[h][-1].x1) for h in keep]


_UNNAMED = re.compile(r"arm \d+")


_TIME_NAME = re.compile(rf"(?:{TIME}|{_BARE_TIME})(?:\s*\d+)?", re.IGNORECASE)


def times_not_arms(arms: list[TableArm]) -> bool:
    """Whether the "arms" a header's "(n = X)" found are time points ("Baseline (n = 159)  Follow-up 1 (n = 146)"):
    each one named is a time point, and at least one is (the first name is often lost to the label column's
    head)."""
    named = [a.name for a in arms if not is_unnamed(a.name)]
    return bool(named) and all(_TIME_NAME.fullmatch(norm(name)) for name in named)


def unnamed_arm(k: int) -> str:
    """The stand-in name of the ``k``-th (0-based) column when the header prints its n but no name."""
    return f"arm {k + 1}"


def is_unnamed(name: str) -> bool:
    """Whether ``name`` is ``unnamed_arm``'s stand-in, not a name the paper printed."""
    return bool(_UNNAMED.fullmatch(name))


def _known_names_in_order(arms: list[TableArm], rows: list[list[Word]], known: list[str]) -> None:
    """Rename the header's arms after the names the prose gives them, when the header's names do not map one to
    one onto them (a name matching none, or two arms matching the same) and the header prints exactly one known
    name per arm: long names spill over narrow columns and a name read
    by x-overlap alone can take words of two arms ("media programme Attention"). The known names are ordered
    by where they start on the page, as the "(n = X)" anchors are."""
    if not known:
        return
    known = list({name_key(k): k for k in known}.values())
    matched = [_known_one(a.name, known) for a in arms]
    single = [m for m in matched if m is not None]
    if all(matched) and len(set(single)) == len(single):
        return  # every header name is a known one and no two take the same: the header's own names stand
    found: dict[str, float] = {}
    for words in rows:
        lowered = [norm(w.text).lower().strip(",;:") for w in words]
        for name in known:
            key = norm(name).lower().split()
            for j in range(len(lowered) - len(key) + 1):
                if lowered[j:j + len(key)] == key and not any(same_arm(name, f) for f in found):
                    found[name] = words[j].x0
    if len(found) == len(arms):
        for arm, name in zip(arms, sorted(found, key=found.__getitem__)):
            arm.name = arm.name if name_key(arm.name) == name_key(name) else name


def _known_one(name: str, known: list[str]) -> str | None:
    """The key of the one known name a header name is: the very name, else the only one sharing its words; None
    when it fits none or several (words of two arms glued, "Intervention schools Control")."""
    key = name_key(name)
    if key in (keys := [name_key(k) for k in known]):
        return key
    fits = [k for k, known_name in zip(keys, known, strict=True) if same_arm(name, known_name)]
    return fits[0] if len(fits) == 1 else None


def _clean_name(text: str) -> str:
    """An arm name without the column's statistic ("M (SD)", "[n (%)]", "Mean ± SD") or punctuation."""
    stat = r"[\[(]?\b(?:mean|m|n|median)\s*(?:\(\s*(?:sd|%|iqr|se)\s*\)|±\s*sd\b)[\])]?"
    text = re.sub(stat, " ", norm(text), flags=re.IGNORECASE)
    # a name broken after its hyphen in a narrow cell ("(E-" / "couch)"), not a word shared ("pre- and post-test")
    text = re.sub(r"(\w)- (?!(?:and|or|to)\b)(?=[a-z])", r"\1-", text)
    name = strip_marks(text).strip("([,;:)] ")
    # (a bracket the name opens, "Group II (block only)", keeps its close)
    return name + ")" * (name.count("(") - name.count(")"))


def words_at(words: list[Word], text: str, start: int, end: int) -> list[Word]:
    """The words of a line under the character span [start, end) of its text."""
    out, pos = [], 0
    for w in words:
        piece = norm(w.text)
        at = text.find(piece, pos)
        if at < 0:
            continue
        if at < end and at + len(piece) > start:
            out.append(w)
        pos = at + len(piece)
    return out


def name_left_of(words: list[Word], x0: float, x1: float, anchors: list, row: int) -> list[Word]:
    """The words naming an arm just left of its "(n = X)" on the same line (up to a wide gap or another n), up
    to a bracket the n closes; none when the n closes a bracket opened on a line above ("Control schools (8" /
    "schools, n = 56)": the words left of the n are inside it)."""
    left = [w for w in words if w.x1 <= x0 + 0.5]
    prev_anchor = _previous_anchor_end(anchors, row, x0)
    out: list[Word] = []
    opened = False  # the bracket the n closes opened on this line, set apart: "Hypnosis ( n = 116)"
    for w in reversed(left):
        if w.x1 <= prev_anchor + 0.5 or w.text.lower().strip(":*") in LABEL_HEADS:
            break
        edge = out[0].x0 if out else x0
        if edge - w.x1 > 2.5 * w.size:
            break
        if re.fullmatch(r"[(\[]?", w.text):
            opened = opened or not out
            continue
        out.insert(0, w)
    equals = [k for k, w in enumerate(out[:-1]) if w.text == "=" and re.fullmatch(PRINTED_COUNT + r"\)?[,;]?", out[k + 1].text)]
    if equals:  # "= 57 control, n = 62": "= 57" ends the cell on the left, whose "n" wrapped onto this line
        out = out[equals[-1] + 2:]
    anchor = [w for w in words if w.x0 >= x0 - 0.5 and w.x1 <= x1 + 0.5]
    closes = bool(anchor) and anchor[-1].text.rstrip(".,;:*").endswith(")")
    if closes and not opened and not anchor[0].text.startswith("(") and not any("(" in w.text for w in out):
        return []
    return [w for w in _before_bracket(out) if not re.fullmatch(r"\(?[nN]|=|,", w.text)]


def _previous_anchor_end(anchors: list, row: int, x0: float) -> float:
    """Where the "(n = X)" before the one at ``x0`` on line ``row`` ends (-1 when there is none)."""
    return max((a[2] for a in anchors if a[3] == row and a[2] <= x0), default=-1.0)


def _bracket_start(words: list[Word], x0: float, anchors: list, row: int) -> float:
    """Where the bracket an n at ``x0`` closes opens on its line ("(8 schools, n = 34)"), else ``x0``."""
    prev_anchor = _previous_anchor_end(anchors, row, x0)
    inside = [w for w in words if prev_anchor + 0.5 < w.x0 and w.x1 <= x0 + 0.5]
    opened = [w for w in inside if _opens_bracket(w)]
    return opened[-1].x0 if opened else x0


def _free(w: Word, others: list[tuple[float, float]]) -> bool:
    """Whether ``w`` lies over none of the x-spans ``others``."""
    return not any(o0 < w.x1 and o1 > w.x0 for o0, o1 in others)


def _over(words: list[Word], x0: float, x1: float) -> bool:
    """Whether any of a line's words stands over [x0, x1]."""
    return any(w.x1 > x0 - 2 and w.x0 < x1 + 2 for w in words)


# A number that is part of an arm's name: a dose or a schedule ("Dapagliflozin 10 mg", "3 sessions/week").
_DOSE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:mg|g|µg|μg|mcg|ng|ml|mL|l|IU|units?|mmol|times?|x|sessions?|"
                   r"weeks?|days?|hours?|h|min(?:utes?)?)\b", re.IGNORECASE)


def _values_in(words: list[Word]) -> bool:
    """Whether a header line prints values: a number alone in its word that no unit follows (a dose's "10"
    before "mg" is part of a name)."""
    return any(re.fullmatch(r"[\d.,·()%±-]+", w.text) and not (
        re.search(r"\d", w.text) and _DOSE.match(f"{w.text.strip('()')} {nxt.text}"))
        for w, nxt in zip(words, [*words[1:], Word("", 0, 0, 0, 0)]))


def _wrapped_above(words: list[Word], x0: float, x1: float, others: list[tuple[float, float]]) -> list[Word]:
    """The start of a name wrapped onto the header line above its n: that line's words over [x0, x1], when the
    line holds no n, no values and no statistic or time point, and none of those words lies over another
    arm's n."""
    text = line_text(words)
    if not words or ANCHOR.search(text) or subcolumns(words) or _values_in(words) \
            or (re.search(r"\d", text) and not _DOSE.search(text)):
        return []
    runs = [run for run in word_runs(words) if run[-1].x1 > x0 - 2 and run[0].x0 < x1 + 2]
    if runs and runs[0][0].text.startswith(("(", "[")):
        return []  # "(completers)": a caption's or a cell's annotation, not the start of a name
    above = [w for run in runs for w in run]
    size = max((w.size for w in above), default=0.0)
    if not runs or runs[0][0].x0 < x0 - 2.5 * size or runs[-1][-1].x1 > x1 + 2.5 * size:
        return []  # a cell reaching far beyond this arm's is a heading over several columns, or another's name
    return above if all(_free(w, others) for w in above) and not SUBCOL.search(" ".join(w.text for w in above)) \
        else []


def _whole_cell(words: list[Word], name_words: list[Word], x0: float, x1: float, anchors: list, i: int, j: int,
                taken: list[tuple[float, float]]) -> list[Word]:
    """The whole name over an n on line ``i`` of which ``name_words`` (line ``j``) are the words over the n: a
    name set flush left ("Empagliflozin group" over "(n=2345)") runs on past the n's end up to where the next
    arm's n starts; a name centred over its n ("Duloxetine 120 mg" over "(n = 454)") reaches past both ends.
    Never words over another arm's n or name; ``name_words`` alone when the cell is neither (a name that runs
    into the next column's)."""
    run = [w for r in word_runs(words) if any(w is v for w in r for v in name_words) for w in r]
    owned = [w for a in anchors if a[3] == j for w in name_left_of(words, a[1], a[2], anchors, j)]
    size = name_words[0].size
    if abs(name_words[0].x0 - x0) < size:  # flush left
        after = min((a[1] for a in anchors if a[3] == i and a[1] > x1), default=float("inf"))
        keep = [w for w in run if w.x0 >= name_words[0].x0 and w.x1 < after - 1]
    elif abs((run[0].x0 + run[-1].x1) / 2 - (x0 + x1) / 2) < size:  # centred
        keep = run
    else:
        return name_words
    return [w for w in keep if any(w is v for v in name_words) or
            (_free(w, taken) and not any(w is v for v in owned) and not ANCHOR.search(w.text))]


def _name_above(words: list[Word], x0: float, x1: float, siblings: list[tuple[float, float]]) -> list[Word]:
    """The first line of a name set over two lines above its n: the cells of the line above centred over
    [x0, x1] or flush left with it, and over no other arm's n (``siblings``); none when the line holds an n,
    values or a statistic. A heading over several columns ("High adherence" over two arms' names) is centred
    between them."""
    text = line_text(words)
    if not words or ANCHOR.search(text) or subcolumns(words) or SUBCOL.search(text) or _values_in(words):
        return []
    # centred over the n, or set flush left with it ("Physiotherapy" / "group" / "N = 11")
    runs = [run for run in word_runs(words)
            if x0 <= (run[0].x0 + run[-1].x1) / 2 <= x1 or abs(run[0].x0 - x0) < run[0].size]
    return [w for run in runs if all(_free(w, siblings) for w in run) for w in run]


def word_runs(words: list[Word]) -> list[list[Word]]:
    """A line cut into cells at gaps wider than a space: "Intervention schools" | "Control schools (8"."""
    out: list[list[Word]] = []
    for w in words:
        if out and w.x0 - out[-1][-1].x1 <= 0.8 * w.size:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _before_bracket(words: list[Word]) -> list[Word]:
    """A header's name words up to the last bracket left open: "(8 schools, n = 37)", "(k = 8 clusters; n = 37)"
    annotate the count the bracket closes on, and the arm's name stands before them (or on the line above)."""
    opened = [k for k, w in enumerate(words) if _opens_bracket(w)]
    return words[:opened[-1]] if opened else words


def _opens_bracket(w: Word) -> bool:
    """Whether a word opens a bracket it does not close ("(8", "[k")."""
    return w.text.startswith(("(", "[")) and not re.search(r"[)\]]", w.text)


def columns_for(arms: list[TableArm], spans: list[tuple[float, float]],
                sub: list[tuple[str, str, float, float]]) -> list[Column]:
    """Columns per arm: the sub-header tokens grouped once per arm (a totals column keeping its own), else one
    value column per arm."""
    k = len(arms)
    under: dict[int, list[tuple[str, str, float, float]]] = {}  # a totals column's own sub-columns
    own, kept = sub, list(range(k))
    m = per_arm(sub, k)
    if not m:
        # "All (n = 137)" over "Baseline" beside arms over "Baseline  12 months": the totals column has
        # sub-columns of its own; the arms' sub-columns repeat once per arm without it
        under = {i: [s for s in sub if x0 - 6 <= (s[2] + s[3]) / 2 <= x1 + 6] for i, (x0, x1) in enumerate(spans)
                 if arms[i].total}
        own = [s for s in sub if not any(s in toks for toks in under.values())]
        kept = [i for i in range(k) if i not in under]
        m = per_arm(own, len(kept)) if under and all(under.values()) and len(kept) >= 2 else None
    if not m:
        return [Column(i, "value", None, x0, x1) for i, (x0, x1) in enumerate(spans)]
    cols = [Column(i, *_col_kind(kind, label), x0, x1) for i, toks in under.items() for kind, label, x0, x1 in toks]
    for j, i in enumerate(kept):
        cols += [Column(i, *_col_kind(kind, label), x0, x1) for kind, label, x0, x1 in own[j * m:(j + 1) * m]]
    if m == 1 and not under and all(c.kind == "n" for c in cols):
        # "Intervention  Usual care" over "n  n": each arm prints its n, then its value with no sub-header of its
        # own, set right of the n (as wide, for every arm, as 0.6 of the gap between two arms' n columns, or up
        # to the end of the arm's name where the header is set flush right over its n and value, short of the
        # next arm's n)
        gap = min(b.x0 - a.x1 for a, b in pairwise(cols))
        nxt = {a.arm: b.x0 for a, b in pairwise(cols)}
        cols = [col for c in cols for col in (c, Column(c.arm, "value", None, c.x1 + 2, min(
            max(c.x1 + 2 + 0.6 * gap, spans[c.arm][1]), nxt.get(c.arm, float("inf")) - 2)))]
    return sorted(cols, key=lambda c: c.x0) if under else cols


def _cells_of(sub: list[tuple[str, str, float, float]]) -> list[tuple[str, str, float, float, str]]:
    """A sub-header line's tokens as its cells, with the statistics each names: tokens a word space apart are
    one cell ("Post mean" over "(SD)"); the cell is a time point when any of its tokens is one."""
    cells: list[list[tuple[str, str, float, float]]] = []
    for tok in sub:
        if cells and tok[2] - cells[-1][-1][3] < 4.5:
            cells[-1].append(tok)
        else:
            cells.append([tok])
    out = []
    for group in cells:
        tp = next((t for t in group if t[0] == "tp"), None)
        stats = " ".join(t[1] for t in group if t[0] == "stat")
        kind, label = ("tp", tp[1]) if tp else ("stat", stats)
        out.append((kind, label, group[0][2], group[-1][3], stats))
    return out


def _whole(stats: str) -> bool:
    """Whether a stacked cell's statistics describe a whole value: none (a time point alone), or a mean with
    its SD ("mean" over "(SD)"); a mean or an SD alone is one of a Mean | SD pair of columns."""
    words = set(re.findall(r"mean|\bm\b|sd|se", stats))
    return not words or ({"sd", "se"} & words and {"mean", "m"} & words) or stats.startswith(("95%", "p", "n"))


def stacked_subs(lines: list[list[tuple[str, str, float, float]]], k: int) -> list[tuple[str, str, float, float]]:
    """Sub-header cells wrapped over several lines ("Baseline" / "mean (SD)", "Change from" / "baseline"), read
    down each column: each cell of a line joins the one cell of the line above it overlaps (and that one only),
    the upper cell's time point naming the column. Returns [] unless every cell is stacked one to one, names a
    whole value, and the result repeats once per arm with a time point in it; then the last line alone is the
    sub-header ("Week 8" over "Mean  SD": a heading over a pair of columns)."""
    merged = _cells_of(lines[0])
    for line in lines[1:]:
        out, used = [], set()
        for kind, label, x0, x1, stats in _cells_of(line):
            over = [j for j, m in enumerate(merged) if m[2] < x1 + 1 and m[3] > x0 - 1]
            if len(over) > 1 or (over and over[0] in used):
                return []  # a heading over several columns: not a wrapped cell
            if over:
                up = merged[over[0]]
                used.add(over[0])
                kind, label = (up[0], up[1]) if up[0] == "tp" else (kind, label)
                x0, x1, stats = min(x0, up[2]), max(x1, up[3]), f"{up[4]} {stats}".strip()
            out.append((kind, label, x0, x1, stats))
        out += [m for j, m in enumerate(merged) if j not in used]
        merged = sorted(out, key=lambda t: t[2])
    if not all(_whole(m[4]) for m in merged) or not any(m[0] == "tp" for m in merged):
        return []
    flat = [(kind, label, x0, x1) for kind, label, x0, x1, _ in merged]
    return flat if per_arm(flat, k) else []


def per_arm(sub: list[tuple[str, str, float, float]], k: int) -> int | None:
    """How many sub-header tokens each of ``k`` arms has when the same group repeats once per arm, else None."""
    for m in range(1, len(sub) // k + 1 if k else 1):
        group = [s[1] for s in sub[:m]]
        if all([s[1] for s in sub[i * m:(i + 1) * m]] == group for i in range(k)):
            return m
    return None


def _time_heads(header: list[list[Word]], bare: bool = False) -> list[tuple[float, str]]:
    """Each time point heading of the header lines, with where it starts; with ``bare``, "Before", "After" and
    "Pre" alone too."""
    pattern = _TIME_OR_BARE if bare else TIME
    heads = []
    for words in header:
        text, pos = "", []
        for w in words:
            pos.append((len(text) + (1 if text else 0), w))
            text += (" " if text else "") + norm(w.text)
        for m in re.finditer(pattern, text, re.IGNORECASE):
            hit = [w for at, w in pos if m.start() <= at < m.end()]
            hit = hit or [w for at, w in pos if at <= m.start()][-1:]
            if hit:
                heads.append((hit[0].x0, re.sub(r"\s+", " ", m.group().lower())))
    return heads


def spanning_timepoint(header: list[list[Word]], spans: list[tuple[float, float]]) -> str | None:
    """The one time point heading set over all the arms' columns ("Baseline M (SD)" over "IG  PG", the later
    time points' headings further right over no arm read): it starts over the first arm, not in the label
    column, and no other heading starts before the last arm ends."""
    first_x0, last_x1 = spans[0][0], spans[-1][1]
    size = max((w.size for h in header for w in h), default=8.0)
    over = [h for h in _time_heads(header) if h[0] <= last_x1]
    if len(over) == 1 and over[0][0] >= first_x0 - 2 * size:
        return over[0][1]
    return None


def arm_timepoints(header: list[list[Word]], spans: list[tuple[float, float]]) -> list[str] | None:
    """Time points over repeated arm groups ("Baseline: A (n=20) B (n=20) | Week 12: A B"): for each arm
    column, the nearest time point heading starting left of its right edge; None if there is none. "Before" and
    "After" alone count: an arm's column under one of them is dated by it."""
    heads = _time_heads(header, bare=True)
    out = []
    for _, x1 in spans:
        before = [h for h in heads if h[0] <= x1]
        if not before:
            return _in_turn(heads, len(spans))
        out.append(max(before)[1])
    return out


def _in_turn(heads: list[tuple[float, str]], k: int) -> list[str] | None:
    """Time points centred over repeated arm groups ("Pre-test" over "Control  Experimental", "Post-test" over
    the same two again), where the first heading starts right of the first arm's column: one heading per group of
    arms, in order, when the headings divide the columns evenly."""
    names = [name for _, name in sorted(heads)]
    if len(names) < 2 or k % len(names) or len(set(names)) < len(names):
        return None
    per = k // len(names)
    return [names[i // per] for i in range(k)]
