"""Values of a table's body lines: what the numbers are, which column each cell is in, mean and SD per arm.

A cell is only read as mean and SD where the table, the column or the line says so: "mean (SD)",
"(SD)", "M ± SD", separate "Mean  SD" columns, or a footnote keyed by a mark on the line ("‡Mean
(SD)"); "±" alone is taken as mean ± SD unless SE is declared. Counts ("n (%)", or "a (b)" with
b = 100 a / n), medians, ranges, CIs and SEs are never read as SDs. Labels wrapped onto further lines
are joined first, so a "mean (SD)" printed on the second line of a label counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import pairwise

from metasift.extractor._cells import Cell
from metasift.extractor._header import TIME, Column, TableArm
from metasift.extractor._text import FOOTNOTE_MARKS, same_arm, strip_marks

MEAN_SD = re.compile(r"means?\s*\(\s*(?:sds?|s\.d\.|standard deviations?)\s*\)|\bM\s*\(\s*SD\s*\)|"
                     r"\(\s*M\s*,\s*SD\s*\)|"
                     r"means?\s*(?:±|\+/-|\+-|\+)\s*(?:sds?|s\.d\.|standard deviations?)|\bM\s*[±+]\s*SD\b|\(\s*±?\s*SD\s*\)|"
                     r"means?\s+and\s+(?:sds?|standard deviations?)|mean\s*,\s*SD\b|"
                     # what the brackets hold: "The figures in parentheses are either percentages or SD", "Numbers
                     # in parentheses are standard deviations", "SDs are given in brackets"
                     r"(?:parenthes[ie]s|brackets)\s+(?:are|is|indicate|represent|show|denote)\s+(?:the\s+)?(?:either\s+)?"
                     r"(?:(?:percentages?|%)\s+or\s+)?(?:sds?\b|s\.d\.|standard\s+deviations?)|"
                     r"\b(?:sds?|standard\s+deviations?)\s+(?:are\s+|is\s+)?(?:given\s+|shown\s+|presented\s+)?"
                     r"in\s+(?:parenthes[ie]s|brackets)", re.IGNORECASE)
COUNT_DECL = re.compile(r"\b(?:n|no\.?|number)\s*\(\s*%\s*\)|frequenc|percentage", re.IGNORECASE)
SE_DECL = re.compile(r"\bS\.?E\.?M?\b|standard error", re.IGNORECASE)
# A row of counts: "n (%)", "Women, n", "No. (%)", and a percentage with its count ("% Female (n)"), whatever the
# table says its cells print ("All values are group mean (standard deviation)" under a "% Female (n)  64.0 (16)" row).
COUNT_ROW = re.compile(r"(?:^|[\s,(\[])(?:n|no\.?|number)\s*(?:\(|\[|,|/|$)|\bn\s*\(\s*%|%[^()]*\(\s*n\s*\)",
                       re.IGNORECASE)
MEDIAN_ROW = re.compile(r"median|\biqr\b|interquartile|\brange\b", re.IGNORECASE)
CI_DECL = re.compile(r"\b9[05]\s*%\s*(?:CI|confidence)|confidence\s+interval", re.IGNORECASE)
# A line without values naming the analysis population its rows below are of (ITT preferred: the rows of a
# per-protocol or completers section are not read, nor a row whose own label says so).
POPULATION = re.compile(r"^\W*(?:(?P<itt>intention[- ]to[- ]treat|m?itt\b|modified\s+intention|full\s+analysis\s+set)|"
                        r"(?P<pp>per[- ]?protocol|pp\b|completers?\b|complete[- ]cases?\b|available[- ]cases?\b))",
                        re.IGNORECASE)
PER_PROTOCOL = re.compile(r"\b(?:per[- ]?protocol|completers?)\b", re.IGNORECASE)
# How a baseline value is printed when it is not mean and SD (kept with its n, never read as an SD).
MEDIAN_IQR, MEAN_SE, MEAN_CI = "median (IQR)", "mean (SE)", "mean (95% CI)"


@dataclass
class TableValue:
    arm: int
    timepoint: str | None
    measure: str
    mean: float | None  # None for a median
    sd: float | None  # None where no SD is printed (SE, CI, median)
    n: int | None
    quote: str
    printed_as: str = "mean (SD)"  # or MEDIAN_IQR, MEAN_SE, MEAN_CI
    doubt: str = ""  # why a human must confirm the reading (an "a (b)" cell no caption, header or note declares)
    n_doubt: str = ""  # why a human must confirm the n (a line above or a note gives it, not the header)


# How the paper's methods say its "mean ± x" figures are presented: "Data are presented as mean ± SEM", "values
# are expressed as means ± standard error of the mean" (the ± of a table that declares nothing is then an SE).
_PM_SE = re.compile(r"\bmeans?\s*(?:±|\+/-|\+-)\s*(?:the\s+)?(?:S\.?E\.?M?\.?(?![\w.])|standard\s+errors?)", re.IGNORECASE)
_PM_SD = re.compile(r"\bmeans?\s*(?:±|\+/-|\+-)\s*(?:the\s+)?(?:S\.?D\.?(?![\w.])|standard\s+deviations?)", re.IGNORECASE)


def prose_declaration(texts: list[str]) -> str:
    """"se" when the paper's text says its "mean ± x" figures are mean ± SE and nowhere mean ± SD; else ""."""
    se = any(_PM_SE.search(t) for t in texts)
    return "se" if se and not any(_PM_SD.search(t) for t in texts) else ""


def declares(text: str) -> str:
    """What a caption, header, label or footnote says the numbers are: mean_sd, se, count, ci, median or ""."""
    if re.search(r"\bmedian\s*[(\[]\s*(?:sd|s\.d\.)", text, re.IGNORECASE):
        return "median"  # "CIS-R Score: median (SD)": whatever its bracket holds, the first number is no mean
    if MEAN_SD.search(text):
        return "mean_sd"
    if SE_DECL.search(text):
        return "se"
    if COUNT_DECL.search(text):
        return "count"
    if CI_DECL.search(text):
        return "ci"
    if MEDIAN_ROW.search(text):
        return "median"
    return ""


# "BAI: mean (SE)." in a table's note: a declaration for one measure's rows, not for the table
_SCOPED = re.compile(r"(?:^|(?<=[.;]\s))(?P<label>[A-Z][\w\-]*(?:[ -][\w\-]+){0,3}):\s*(?P<decl>[^.;:]{2,40}?)\s*(?:[.;]|$)")


def _scoped_declarations(note: str) -> tuple[str, list[tuple[str, str]]]:
    """A note without its declarations for named measures, and those declarations: "Categorical variables:
    n (%). BAI: mean (SE)." gives ("Categorical variables: n (%).", [("bai", "se")]). Only a statistic
    (mean (SD), SE, CI, median) is scoped so; "Categorical variables: n (%)" stays a declaration of the table's
    count rows."""
    scoped, kept = [], note
    for m in _SCOPED.finditer(note):
        decl = declares(m.group("decl"))
        if decl in ("mean_sd", "se", "ci", "median") and not re.search(r"(?i)\b(?:values?|data|variables?)\b",
                                                                      m.group("label")):
            scoped.append((m.group("label").lower(), decl))
            kept = kept.replace(m.group(), " ", 1)
    return kept.strip(), scoped


@dataclass
class BodyRow:
    label: str
    cells: list[Cell]
    quote: str
    x0: float
    size: float
    columns: list[Column] = field(default_factory=list)
    population: str = ""  # "itt" or "pp" under a section line that names the analysis population
    declared: str = ""  # what the section line above says its rows print ("Outcomes, mean (SD)")
    measure: str = ""  # for a row labelled by its time point alone ("Baseline"): the measure line above it
    counts: dict[int, int] | None = None  # a line of "(n = X)" alone, per arm index: the n of the rows under it
    sub_n: dict[int, int] | None = None  # that n, on a row under such a line
    sub_n_doubt: str = ""  # why the n above may not count this row
    marks: set[str] = field(default_factory=set)  # the footnote marks its label carries (``label_marks``)


def _place(cells: list[Cell], columns: list[Column]) -> list[tuple[Column, Cell]] | None:
    """Cells to columns: in order when the counts agree (and each cell is near its column), else each to the
    nearest column; None when two cells claim one column, unless one, a mean with its SD, lies under it and the
    other, a lone number, P value or "NS", under no column at all (a P value or effect size printed between two
    arms' columns, with no column of its own here)."""
    centers = [(c.x0 + c.x1) / 2 for c in columns]
    gaps = [b - a for a, b in pairwise(centers) if b > a]
    reach = 0.75 * min(gaps) if gaps else 60.0
    if len(cells) == len(columns) and all(
            abs(cell.x - centers[i]) <= max(reach, 8.0) or abs(cell.x - centers[i]) == min(
                abs(cell.x - c) for c in centers) for i, cell in enumerate(cells)):
        return list(zip(columns, cells, strict=True))
    placed: dict[int, Cell] = {}
    for cell in cells:
        i = min(range(len(columns)), key=lambda k: abs(centers[k] - cell.x))
        if abs(centers[i] - cell.x) > max(reach, 8.0):
            continue
        if i in placed:
            mine, other = (placed[i], cell) if _under(placed[i], columns[i]) else (cell, placed[i])
            if not _under(mine, columns[i]) or mine.kind not in ("pm", "pair") \
                    or other.kind not in ("num", "p", "empty") or any(_under(other, c) for c in columns):
                return None
            cell = mine
        placed[i] = cell
    return [(columns[i], cell) for i, cell in sorted(placed.items())]


def _across_pairs(cells: list[Cell], columns: list[Column]) -> list[tuple[Column, Cell]] | None:
    """Each "a (b)" cell set across its arm's pair of "Mean" and "SD" columns (the mean under one, the bracket under
    the other), placed in the Mean column; None unless every column pairs so and every cell so spans its pair."""
    pairs = list(zip(columns[::2], columns[1::2], strict=False))
    if not cells or len(columns) != 2 * len(cells) or any(
            (m.kind, s.kind) != ("mean", "sd") or m.arm != s.arm for m, s in pairs):
        return None
    if all(c.kind in ("pair", "pm") and c.x0 < m.x1 and c.x1 > s.x0 for c, (m, s) in zip(cells, pairs, strict=True)):
        return [(m, c) for c, (m, _) in zip(cells, pairs, strict=True)]
    return None


def _under(cell: Cell, column: Column) -> bool:
    """Whether a cell overlaps its column's header span."""
    return cell.x0 < column.x1 and cell.x1 > column.x0


# A row that names only a part of the measure its section line names: "II", "III", "II+III", "Total"
_PART = re.compile(r"(?:[IVX]{1,4}(?:\s*\+\s*[IVX]{1,4})*|total|part\s+[A-D1-4IV]+)", re.IGNORECASE)
SUB_N = "the n printed on a line above these rows may not count this row: check which rows it covers"
_BULLET = re.compile(r"^[•·▪◦‣●○■□►–—-]\s*")
WRAPPED_SD = "a '±' in this row has no SD after it (wrapped onto the line below?): check which SD is whose"
UNDECLARED = "an 'a (b)' cell read as mean (SD) though nothing in the table says so: check what it prints"


def _row_values(row: BodyRow, columns: list[Column], arms: list[TableArm], timepoint: str, table_decl: str,
                row_decl: str, plain: bool = False, loose: bool = False) -> list[TableValue] | None:
    """Mean/SD per arm and time point of one row; None if its cells cannot be placed.

    ``plain``: the table declares nothing anywhere (no mean/SD, median, IQR, range, SE or CI), so an "a (b)"
    cell that is no count's percentage and has b below a is read as mean (SD), with a doubt for a human.
    ``loose``: the table declares no median, SE or CI anywhere, so such a cell whose a is no whole number is read
    so too."""
    # a range printed beside each arm's value ("30.77 (8.72) 9-50"), with no column of its own, is passed over
    cells = row.cells if len(row.cells) <= len(columns) else [c for c in row.cells if c.kind != "span"]
    spread = _across_pairs(cells, columns)
    placed = spread or _place(cells, columns)
    if placed is None:
        return None
    label = strip_marks(row.label)
    if COUNT_ROW.search(label) or row_decl == "count":
        return []
    other = _other_stat(row_decl, table_decl, label, placed)
    if other:
        return _other_stats(placed, arms, timepoint, label, row, other)
    mean_sd = row_decl == "mean_sd" or (table_decl == "mean_sd" and row_decl == "")
    se = row_decl == "se" or (table_decl == "se" and row_decl != "mean_sd")
    got = {id(c): cell for c, cell in placed}
    if row_decl != "mean_sd" and _percentages(placed, arms):
        return []
    out = []
    for i, arm in enumerate(arms):
        if arm.total:
            continue
        cols = [c for c in columns if c.arm == i]
        n_cell = next((got.get(id(c)) for c in cols if c.kind == "n" and got.get(id(c))), None)
        n = int(n_cell.a) if n_cell is not None and n_cell.kind == "num" and n_cell.a is not None \
            and n_cell.a.is_integer() else (row.sub_n or {}).get(i, arm.n)
        for c in cols:
            cell = got.get(id(c))
            if cell is None:
                continue
            tp = c.timepoint or timepoint
            readable = cell.kind == "pm" or (cell.kind == "pair" and mean_sd)
            # (in a table that declares no other statistic, a row whose mean is no whole number is no count even
            # where another row says "Mean (SD)": "Positive emotions 12.59 (2.33)" under "Age; Mean (SD)")
            guess = cell.kind == "pair" and (plain or (loose and cell.a is not None and not cell.a.is_integer())) \
                and row_decl == "" and cell.b is not None and cell.a is not None and 0 < cell.b < abs(cell.a) \
                and (not cell.a.is_integer() or (bool(arm.n) and abs(100 * cell.a / arm.n - cell.b) > 0.55))
            # (a count is whole: a whole a is no count only where the arm's n says its b is no percentage)
            if c.kind == "value" and (readable or guess) and not se:
                out.append(TableValue(i, tp, label, cell.a, cell.b, n, row.quote,
                                      doubt="" if readable else UNDECLARED))
            elif c.kind in ("mean", "sd") and not se and (cell.kind == "pm" or (
                    c.kind == "mean" and cell.kind == "pair"
                    and (spread or (mean_sd and not any(d.kind == "sd" for d in cols))))):
                # "Mean" / "±" / "SD" or "mean" / "(standard" / "deviation)" stacked over an arm's one column, or an
                # arm's Mean | SD pair of columns with the cell set across both: the cell ("22.6 ± 3.6", "22.6 (3.6)")
                # prints both
                out.append(TableValue(i, tp, label, cell.a, cell.b, n, row.quote))
            elif c.kind in ("mean", "n") and cell.kind == "num":
                partner_kind = "sd" if c.kind == "mean" else "pct"
                if c.kind == "n" and row_decl != "mean_sd":
                    continue  # "n %" columns hold counts unless the row says "(M, SD)"
                nxt = next((d for d in cols
                            if d.kind == partner_kind and d.x0 > c.x0 and d.timepoint == c.timepoint), None)
                sd = got.get(id(nxt)) if nxt is not None else None
                if sd is not None and sd.kind == "num" and not se:
                    n_here = arm.n if c.kind == "n" else n
                    out.append(TableValue(i, tp, label, cell.a, sd.a, n_here, row.quote))
    return out


def _other_stat(row_decl: str, table_decl: str, label: str, placed: list[tuple[Column, Cell]]) -> str:
    """What a row prints instead of mean and SD: its own declaration (median, se, ci), the table's SE, or a
    median when the label says so or a value cell is a range ("27 (26 to 29)"); "" for mean and SD."""
    if row_decl in ("median", "se", "ci"):
        return row_decl
    if row_decl == "" and table_decl == "se":
        return "se"
    ranges = any(cell.kind == "range" and col.kind == "value" for col, cell in placed)
    if row_decl != "mean_sd" and (MEDIAN_ROW.search(label) or ranges):
        return "median"
    return ""


def _other_stats(placed: list[tuple[Column, Cell]], arms: list[TableArm], timepoint: str, label: str,
                 row: BodyRow, kind: str) -> list[TableValue]:
    """A row printed as median (IQR), mean (SE) or mean (95% CI): per arm the n and, for the last two, the
    mean, with no SD, so a reviewer sees what the paper gives instead of a gap (and nothing converts it)."""
    out = []
    ci = kind == "ci" or bool(CI_DECL.search(label))
    for col, cell in placed:
        arm = arms[col.arm]
        if arm.total or col.kind not in ("value", "mean", "sd"):  # "Mean ± SD" stacked over one column: mean/sd
            continue
        if kind == "se" and cell.kind in ("pair", "pm"):
            out.append(TableValue(col.arm, col.timepoint or timepoint, label, cell.a, None, arm.n, row.quote, MEAN_SE))
        elif cell.kind == "range":
            mean = cell.a if ci else None
            out.append(TableValue(col.arm, col.timepoint or timepoint, label, mean, None, arm.n, row.quote,
                                  MEAN_CI if ci else MEDIAN_IQR))
    return out


def _percentages(placed: list[tuple[Column, Cell]], arms: list[TableArm]) -> bool:
    """Whether every "a (b)" cell of a row is a count and its percentage of the arm (b = 100 a / n): an
    "n (%)" row in a table that also says "mean (SD)" somewhere."""
    checked = 0
    for col, cell in placed:
        n = arms[col.arm].n
        if cell.kind != "pair" or not n or arms[col.arm].total:
            continue
        if not (cell.a.is_integer() and abs(100 * cell.a / n - cell.b) <= 0.55):
            return False
        checked += 1
    return checked > 0


def _balanced(label: str) -> bool:
    """Whether every bracket the label opens it also closes."""
    return label.count("(") == label.count(")")


def _join_label(a: str, b: str) -> str:
    return a[:-1] + b if a.endswith("-") and b[:1].islower() else f"{a} {b}"


# A row label that ends by naming the baseline ("PHQ-9, baseline", "BDI-II (pre-treatment)", "GAD-7 at baseline"):
# the row is the baseline of the measure before it, whatever the table's time point ("change from baseline" is not).
# "BDI  Baseline": a time point column beside the measure's (the word "Baseline" closing a label not "from" it).
ROW_BASELINE = re.compile(r"(?:,|;|\(|\s-|\s–)\s*(?:at\s+)?(?:baseline|pre-?treatment|pre-?intervention|pre-?test|t0)"
                          r"\s*\)?\s*$|\s+at\s+baseline\s*$|\s+pre-?(?:treatment|intervention|test)\s*$|"
                          r"(?:(?:,|;|\(|\s-|\s–)\s*|\s+)before(?:\s+(?:the\s+)?(?:intervention|treatment|training|"
                          r"therapy|program(?:me)?))?\s*\)?\s*$|"
                          r"(?<!\bfrom)(?<!\bvs)(?<!\bvs\.)(?<!\bversus)(?<!\bover)(?<!\bto)\s+baseline\s*$", re.IGNORECASE)
# A row whose label starts with its time point ("Pretreatment Pain" over "Posttreatment pain (5 minutes)")
_BASELINE_FIRST = re.compile(r"^(?:baseline|pre-?treatment|pre-?intervention|pre-?test)\s+(?=[A-Za-z(])",
                             re.IGNORECASE)
# A row labelled by a time point alone ("Baseline", "Post-intervention", "6 weeks"): the measure is named above it.
_BARE_TIME = re.compile(rf"(?P<base>baseline|pre[- ]?(?:treatment|intervention|test)|before(?: treatment)?|"
                        rf"run[- ]?in(?: (?:week|period|phase))?)|"
                        rf"(?:{TIME}|(?:mid|interim)[- ]?(?:treatment|intervention|point)?)(?: (?:intervention|treatment|"
                        rf"assessment|visit))?", re.IGNORECASE)
# A subscale row under its instrument's own line ("DASS-21" / "Depression", "HADS" / "Anxiety"): the row names
# only the construct, and the line above names the instrument.
SUBSCALE_ROW = re.compile(r"^(?:depression|anxiety|stress|state|trait)(?:\s+(?:sub-?scale|score|symptoms))?\b(?![\w-])",
                          re.IGNORECASE)
ROW_STAT = re.compile(r",?\s*(?:mean|median|m)\s*\(\s*(?:sd|se|iqr|95\s*%\s*ci)\s*\)\s*$", re.IGNORECASE)

# A row labelled by its statistic alone ("Mean (SD)", "Mean ± SD", "Median (range)"): the measure is the line above.
_STAT_ALONE = re.compile(r"(?:means?|m)\s*(?:\(\s*(?:sd|s\.d\.|standard deviation|se|sem)\s*\)|±\s*(?:sd|se|sem))|"
                         r"medians?\s*\(\s*(?:range|iqr|interquartile range)\s*\)", re.IGNORECASE)

# A row labelled as a total alone ("Total", "Total score", "Global score"): of the scale the line above or the caption
# names, not a measure of its own ("Overall" alone may be one: an overall symptom rating).
_TOTAL_ROW = re.compile(r"total(?:\s+(?:scores?|points?))?|(?:global|overall|sum)\s+scores?", re.IGNORECASE)


def _time_alone(label: str) -> re.Match[str] | None:
    """A row label that is a time point alone, perhaps with its statistic ("Baseline", "Before, mean (SD)", "Run-in
    week"): the measure is named above it. A run-in comes before randomisation, so it is a baseline."""
    return _BARE_TIME.fullmatch(ROW_STAT.sub("", strip_marks(label)).strip())


class _CountsOver:
    """The n a line of "(n = 58)  (n = 52)" alone gives the rows under it: a run of bulleted items takes it as
    printed; other rows take it down to the next line without cells, each for a human (``SUB_N``)."""

    def __init__(self) -> None:
        self.counts: dict[int, int] | None = None
        self.scope = ""  # "bullets" or "section" once the first row under the line is seen
        self.quote = ""

    def start(self, line: BodyRow) -> None:
        self.counts, self.scope, self.quote = line.counts, "", line.quote

    def apply(self, row: BodyRow) -> None:
        if self.counts is None:
            return
        if not row.cells:
            if self.scope:  # the next heading ends the reach
                self.counts = None
            return
        bullet = bool(_BULLET.match(row.label))
        self.scope = self.scope or ("bullets" if bullet else "section")
        if self.scope == "bullets" and not bullet:
            self.counts = None
            return
        row.sub_n, row.sub_n_doubt = self.counts, "" if bullet else SUB_N
        row.quote += f"; {self.quote}"  # the n's evidence


def fill_values(arms: list[TableArm], timepoint: str, body: list[BodyRow], head_text: str, notes: list[str],
                caption: str = "", said: str = "") -> tuple[list[TableValue], int]:
    """Merge wrapped labels, then read every line's values; also how many lines could not be placed. The
    notes are the footnotes of the whole table (a table split over pages has them under its last part);
    ``said`` is what the paper's text says its figures are (``prose_declaration``), for a table that says
    nothing itself."""
    marked: dict[str, str] = {}
    named: dict[str, str] = {}  # a note's declaration for the rows of one measure ("BAI: mean (SE).")
    table_decl = declares(head_text)
    if table_decl in ("ci", "median"):  # a header names the CI of a difference column, or the medians of some rows
        table_decl = ""
    for note in notes:
        if note[:1] in FOOTNOTE_MARKS:  # "*Mean (SD). †Number (%)." : one declaration per mark
            for m in re.finditer(rf"([{FOOTNOTE_MARKS}]+)\s*([^{FOOTNOTE_MARKS}]+)", note):
                for mark in m.group(1):
                    marked[mark] = declares(m.group(2))
                    if mark in head_text and marked[mark] and table_decl in ("", "count"):
                        table_decl = marked[mark]
        else:
            note, scoped = _scoped_declarations(note)
            for label, decl in scoped:
                named.setdefault(label, decl)
            if declares(note) in ("mean_sd", "se", "count") and table_decl in ("", "count"):
                table_decl = declares(note)  # not "median"/"ci": an abbreviation list ("IQR, interquartile range")
    table_decl = table_decl or said
    # a note keyed by a mark that prints n ("ᵈ Baseline data only available on n = 6 in placebo group ..."): the
    # marked rows count other people than the header says
    counted = {m.group(1): m.group(2) for note in notes
               if (m := re.match(rf"([a-z]|[{FOOTNOTE_MARKS}])\s*([A-Z(].*\bn\s*=\s*\d.*)", note))}
    context = " ".join([head_text, *notes])
    other_stat = bool(MEDIAN_ROW.search(context) or SE_DECL.search(context) or CI_DECL.search(context))
    plain = table_decl == "" and not (other_stat or COUNT_DECL.search(context)
                                      or re.search(r"±|\bSD\b|mean\s*[(\[±]", context, re.I))
    # ("Mean of scores" alone says the cell's first number is a mean, not what its bracket holds: still plain)
    out: list[TableValue] = []
    skipped = 0
    rows: list[BodyRow] = []
    pending: str | None = None
    pending_marks: set[str] = set()  # the footnote marks of the pending label's line
    heading: str | None = None  # the instrument line a run of subscale rows stands under
    population = ""
    measure = caption  # what rows labelled by a time point alone measure: the line above them, else the caption
    over: tuple[str, float, str] = ("", 0.0, "")  # the declaration of the section line over the rows, its x and
    # the measure it names ("UPDRS score" of "UPDRS score, mean (SD)")
    counts_over = _CountsOver()
    listed_under: str | None = None  # the line a run of bulleted rows is listed under
    section: str | None = None  # the last line that named what the rows under it measure
    totals: set[int] = set()  # rows that total their section: no label wraps onto them
    for idx, row in enumerate(body):
        if row.counts is not None:
            counts_over.start(row)
            pending = row.label or pending
            continue
        counts_over.apply(row)
        if row.cells:
            # "SF12 Scores" over "• Mental Component": a listed item's measure is named by the line it is under
            bullet = _BULLET.match(row.label)
            listed_under = (pending or listed_under) if bullet else None
            if bullet and listed_under:
                row.label, pending = f"{listed_under} {row.label[bullet.end():]}", None
        if not row.cells and (said := declares(strip_marks(row.label))) in ("mean_sd", "se"):
            # "Outcomes, mean (SD)" over its rows: they print mean (SD) (a categorical variable's "Ethnicity,
            # n (%)" is over its levels only, which print counts anyway)
            over = (said, row.x0, re.split(r"\s*[,(;]", strip_marks(row.label))[0])
        elif not row.cells and row.x0 <= over[1] + 0.5 and not row.label[:1].islower():
            over = ("", 0.0, "")  # the next section line
        if row.cells:
            row.declared = over[0] or row.declared
            if over[2] and _PART.fullmatch(strip_marks(row.label)):
                row.label = f"{over[2]} {row.label}"  # "II+III" under "UPDRS score, mean (SD)": part of that measure
            if pending and (not row.label or row.label[:1].islower() or pending.endswith(("-", ","))):
                row.label = _join_label(pending, row.label) if row.label else pending
                row.marks |= pending_marks
            elif pending:
                measure = section = pending  # a line naming what the rows under it measure ("PHQ-9" over "Baseline")
            if _time_alone(row.label):
                row.measure = measure
            elif _TOTAL_ROW.fullmatch(strip_marks(row.label)):
                # "Total" under "MRS" (or under a caption naming the scale): the total of the measure over it, the
                # section's where subscale rows stand between ("Impulsivity" / "Motor" ... / "Total")
                row.label = measure = f"{pending or section or caption} {row.label}".strip()
                totals.add(id(row))
            elif _STAT_ALONE.fullmatch(strip_marks(row.label)):
                # "Sleep quality (1 = very bad to 7 = very good)" over "Mean (standard deviation)" and "Median
                # (range)": the statistic's row is of the measure above it
                row.label = f"{measure}, {row.label}"
            else:
                measure = row.label
            heading = pending or heading if SUBSCALE_ROW.match(row.label) else None
            if heading:
                row.label = f"{heading} {row.label}"
            row.population = population
            rows.append(row)
            pending = None
            continue
        section = POPULATION.match(strip_marks(row.label))
        if section:  # a population heading, never the wrapped end of the label above
            population, pending = ("itt" if section.group("itt") else "pp"), None
            continue
        prev = rows[-1] if rows and idx > 0 and body[idx - 1] is rows[-1] else None
        nxt = next((b for b in body[idx + 1:] if b.cells), None)
        below = nxt if nxt is not None and nxt is body[idx + 1] else None  # the row right under this line
        dx = row.x0 - prev.x0 if prev else 0.0
        if below is not None and SUBSCALE_ROW.match(below.label) and not row.label[:1].islower():
            # an instrument's line over its subscale rows, not the wrapped end of the row above (which goes on in
            # lower case: "Anxiety score (Zung), before the" / "intervention" over "Anxiety score (Zung), after")
            pending = row.label
        elif below is not None and not row.label[:1].islower() and (
                below.label[:1].islower() or row.label.endswith(("-", ","))):
            pending = row.label  # "GAD-7, post-" / "treatment 8.84 ...": the start of the next row's label
        elif prev is not None and id(prev) not in totals and (
                row.label[:1].islower() or prev.label.endswith("-") or 0.5 < dx < 3 * row.size
                or (abs(dx) <= 0.5 and nxt is not None and nxt.label and abs(nxt.x0 - row.x0) <= 0.5
                    and not _BULLET.match(nxt.label)  # a heading over a list of items
                    # "UPDRS score, mean (SD)": a section line over its rows ("(SD)" alone ends the label above)
                    and not (declares(row.label) and row.label[:1].isalpha())
                    # "% Female (n)" over "Cardiorespiratory Fitness and Physical Function": a label closed by its
                    # bracket does not wrap onto a capitalised line; that line heads the rows below
                    and not (prev.label.endswith(")") and _balanced(prev.label) and row.label[:1].isupper())
                    and not _time_alone(prev.label)  # "Baseline" does not wrap
                    # "SOC" over "Baseline  55.38 ...": the measure the time point rows below are of
                    and not _time_alone(nxt.label))):
            prev.label = _join_label(prev.label, row.label)
            prev.marks |= row.marks
            body[idx] = prev  # a further wrapped line continues the same row
        else:
            pending = row.label
        if pending == row.label:
            pending_marks = row.marks
    # A row that says it prints mean (SD) makes the undeclared rows something else; rows that declare n (%),
    # median (IQR), SE or CI are the exceptions a table marks, and say nothing about the rest.
    plain = plain and not any(declares(row.label) == "mean_sd" for row in rows)
    loose = table_decl == "" and not other_stat
    for row in rows:
        if row.population == "pp" or PER_PROTOCOL.search(row.label):
            continue
        marks = set(re.findall(rf"[{FOOTNOTE_MARKS}]", row.label))
        row_decl = declares(row.label)
        for mark in marks:
            row_decl = row_decl or marked.get(mark, "")
        row_decl = row_decl or next((decl for label, decl in named.items()
                                     if re.match(rf"{re.escape(label)}(?![\w-])", row.label, re.IGNORECASE)),
                                    row.declared)
        if COUNT_ROW.search(strip_marks(row.label)) and row_decl != "mean_sd":
            row_decl = "count"
        row_tp = timepoint
        said = ROW_STAT.search(row.label)  # "HADS-A, baseline, mean (SE)": the statistic stays in the measure
        core, tail = (row.label[:said.start()], row.label[said.start():]) if said else (row.label, "")
        if (at := ROW_BASELINE.search(core)) is not None:  # "PHQ-9, baseline": the row names its time point
            row.label, row_tp = core[:at.start()].rstrip(" ,;:-(") + tail, "baseline"
        elif (at := _BASELINE_FIRST.search(core)) is not None:  # "Pretreatment Pain": so does a first word
            row.label, row_tp = core[at.end():] + tail, "baseline"
        elif row.measure and (bare := _time_alone(row.label)):
            # "Baseline" / "Post intervention" under "PHQ-9" (or a caption naming the measure): rows of time points
            row.label, row_tp = row.measure + tail, "baseline" if bare.group("base") else bare.group().lower()
        values = _row_values(row, row.columns, arms, row_tp, table_decl, row_decl, plain, loose)
        if values is None:
            skipped += 1
            continue
        if row.quote.count("±") - row.label.count("±") > sum(c.kind == "pm" for c in row.cells):
            # "6.444 ±   6.815 ± 2.202   6.630 ±   0.569": an SD wrapped onto the line below, so which number
            # is whose SD (or a P value) is a reading a human confirms
            values = [replace(v, doubt=v.doubt or WRAPPED_SD) for v in values]
        if row.sub_n_doubt:
            values = [replace(v, doubt=v.doubt or row.sub_n_doubt, n_doubt=row.sub_n_doubt) for v in values]
        for mark in sorted(row.marks | marks):
            if mark in counted:
                values = _noted_counts(values, counted[mark], arms)
        out.extend(values)
    return out, skipped


# "n = 6 in placebo group and n = 7 in active group": each arm's n a table note gives the rows its mark is on
_NOTE_N = re.compile(r"\bn\s*=\s*(\d{1,5})(?:\s+(?:in|for)\s+(?:the\s+)?([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){0,3}?)"
                     r"(?:\s+(?:group|arm))?(?=\s*(?:[,;.)]|\band\b|$)))?", re.IGNORECASE)
NOTE_N = "note '{note}' under the table gives this row other n than the header's: check this row's n"


def _noted_counts(values: list[TableValue], note: str, arms: list[TableArm]) -> list[TableValue]:
    """The values of a row whose mark keys a note that prints n ("ᵈ Baseline data only available on n = 6 in
    placebo group and n = 7 in active group"): each arm the note names takes its n there, and every n goes to a
    human, who sees the note in the quote (the means and SDs are as printed)."""
    per_arm = {}
    for m in _NOTE_N.finditer(note):
        i = next((k for k, a in enumerate(arms) if m.group(2) and not a.total and same_arm(m.group(2), a.name)), None)
        if i is not None:
            per_arm.setdefault(i, int(m.group(1)))
    doubt = NOTE_N.format(note=note)
    return [replace(v, n=per_arm.get(v.arm, v.n), quote=f"{v.quote}; {note}", n_doubt=doubt) for v in values]
