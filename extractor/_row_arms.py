"""Tables whose rows are the groups: "Placebo (n = 16)  31.2 (12.9) ...", as phase 1 and multi-cohort reports print
their demographics "by dose group". Each group row gives a name and an n; a line above a run of group rows that holds
only a label ("SAD part 1", "Age effect part 4") names the part or cohort the groups belong to, so "100 mg" of part 1
and "100 mg" of part 4 stay two groups.

Only the groups and their n are read, and ``rules`` uses them only where no column table, sentence or flow diagram
names the arms: which measure each column holds is not read here. Read only under a caption that says the table is
by group, arm, cohort or treatment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metasift.extractor._cells import split_row
from metasift.extractor._header import caption_at, line_text, subcolumns
from metasift.extractor._text import FOOTNOTE_MARKS, same_arm

_BY_GROUP = re.compile(r"\bby\s+(?:[\w-]+\s+){0,2}?(?:groups?|arms?|cohorts?|treatments?|allocations?)\b",
                       re.IGNORECASE)
_ROW_ARM = re.compile(r"^\s*(?P<name>[A-Za-z0-9][^()]{0,40}?)\s*\(\s*n\s*=\s*(?P<n>\d{1,5})\s*\)")
_END = re.compile(rf"^(?:[{FOOTNOTE_MARKS}]|Notes?\b|Data\s+(?:are|were)\b|Values\s+(?:are|were)\b|Abbreviations\b)",
                  re.IGNORECASE)
_UNIT = re.compile(r"(?<=\d)(?=(?:mg|g|mcg|µg|ug|ml|mL|IU|kg|mmol)\b)")


@dataclass(frozen=True)
class RowArm:
    name: str  # the group as printed, after its part or cohort label ("SAD part 1 5 mg")
    n: int
    page: int
    quote: str  # the group's row
    caption: str


def row_arms(pages: list) -> list[RowArm]:  # pages: list[extractor.pdf.Page]
    """The groups of the first table by group whose rows are groups with their n (two or more), else []."""
    for page in pages:
        rows = page.rows
        for i, words in enumerate(rows):
            found = caption_at(words)
            if not found or not _BY_GROUP.search(line_text(words[found[1]:])):
                continue
            groups = _groups(rows, i + 1, page.number, line_text(words[found[1]:]))
            if len(groups) >= 2 and not any(same_arm(a.name, b.name) for k, a in enumerate(groups)
                                            for b in groups[k + 1:]):
                return groups
    return []


def _groups(rows: list, start: int, page: int, caption: str) -> list[RowArm]:
    out: list[RowArm] = []
    pending: list = []  # label-only lines since the last group row: the last one may name the next part
    section = ""
    value_x: float | None = None  # where the first value column starts
    for words in rows[start:start + 60]:
        text = line_text(words)
        if caption_at(words) or _END.match(text):
            break
        m = _ROW_ARM.match(text)
        cells = split_row(words)[1]
        if m and cells:
            value_x = cells[0].x0 if value_x is None else min(value_x, cells[0].x0)
            label = _section(pending, value_x)
            section = label if label is not None else section
            pending = []
            name = _UNIT.sub(" ", m.group("name").strip())
            out.append(RowArm(f"{section} {name}".strip(), int(m.group("n")), page, text, caption))
        elif value_x is not None and cells and cells[-1].x0 >= value_x - 2:
            break  # a row of values that is no group: the table holds something else from here
        else:
            pending.append(words)  # a header or a part's label ("SAD part 1" ends in a number, not a value)
    return out


def _section(lines: list, value_x: float) -> str | None:
    """The part or cohort label among the label-only lines before a group row: the last one with words in the
    label column that is not a header (no "Mean (SD)", "n (%)"); None if there is none."""
    for words in reversed(lines):
        left = [w for w in words if w.x1 < value_x - 2]
        if not left or subcolumns(words) or re.search(r"\bmean\b|\bsd\b|\(%\)", line_text(words), re.IGNORECASE):
            continue
        return line_text(left).strip(" :")
    return None
