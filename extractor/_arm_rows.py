"""Tables whose rows are the arms and whose columns are time points: "Intervention  3.61 (SD: 2.86)  8.18 (SD:
1.46)" under "Group | Pre-training score | Post-training score", or a measure's line over its arms' rows
("Cognitive anxiety" / "Group 1, acupuncture  21.5 (5.3)  ...").

Read only where the header names no arms (``_tables`` found fewer than two, or only time points with their n:
"Baseline (n = 159)  Follow-up 1 (n = 146)"), the rows' labels are arms the paper
names elsewhere (``known``), and one header cell names the baseline. Only the baseline column is read, and every
value goes to a human: the columns' meaning comes from one header word, not from arms' names over them.
"""

from __future__ import annotations

import re

from metasift.extractor._cells import split_row
from metasift.extractor._header import TableArm, line_text, word_runs
from metasift.extractor._text import name_key, norm, same_arm, strip_marks
from metasift.extractor._values import TableValue
from metasift.extractor.layout import Word, join_words

_BASELINE_HEAD = re.compile(r"^(?:baseline|pre\b|pre[- ]?\w+|before\b|t0\b|week\s*0\b)", re.IGNORECASE)
ARMS_AS_ROWS = "arms read from the rows of a table whose columns are time points: confirm the column is the baseline"


def arm_of(label: str, known: list[str]) -> int | None:
    """Which known arm a row label names ("Group 1, acupuncture" names "acupuncture"), if exactly one."""
    text = strip_marks(label)
    hits = {k for k, name in enumerate(known) if same_arm(text, name) or
            any(same_arm(part.strip(), name) for part in re.split(r"[,;:]", text) if part.strip())}
    exact = {k for k in hits if name_key(known[k]) == name_key(text)}  # "Moxibustion Group" beside "sham moxibustion"
    # (a name the sentences print twice, "intervention" of two sentences, is one arm: its first place)
    return min(exact or hits) if len({name_key(known[k]) for k in exact or hits}) == 1 else None


# "Time point 1  Time point 2  Time point 3", "T1  T2": the first of numbered time points is the baseline where
# none is numbered 0 (a reader confirms every value read this way)
_NUMBERED_TIME = re.compile(r"^(?:time\s*(?:point)?\s*|t)([0-9])\b", re.IGNORECASE)


def baseline_column(header: list[list[Word]]) -> tuple[float, list[float]] | None:
    """The centre of the one header cell naming the baseline, and the centres of every header cell."""
    centres, base, first = [], [], []
    numbers = set()
    for words in header:
        for run in word_runs(words):
            centre = (run[0].x0 + run[-1].x1) / 2
            centres.append(centre)
            text = norm(join_words(run))
            if _BASELINE_HEAD.match(text):
                base.append(centre)
            elif m := _NUMBERED_TIME.match(text):
                numbers.add(m.group(1))
                if m.group(1) == "1":
                    first.append(centre)
    if not base and "0" not in numbers and "2" in numbers:
        base = first
    return (base[0], centres) if len(base) == 1 else None


def _n_column(header: list[list[Word]]) -> float | None:
    """The centre of the one header cell that says "n" (the arms' rows print their n under it), if any."""
    found = [(run[0].x0 + run[-1].x1) / 2 for words in header for run in word_runs(words)
             if re.fullmatch(r"(?i)n|no\.|number", norm(join_words(run)))]
    return found[0] if len(found) == 1 else None


def arms_as_rows(body: list[list[Word]], header: list[list[Word]], known: list[str], caption: str
                 ) -> tuple[list[TableArm], list[TableValue]]:
    """The arms and their baseline mean (SD) of a table whose rows are the arms; ([], []) when it is not one."""
    column = baseline_column(header)
    if column is None or len(known) < 2:
        return [], []
    base_x, centres = column
    n_x = _n_column(header)
    arms: list[TableArm] = []
    values: list[TableValue] = []
    measure = caption
    after_arm = False  # the row above was an arm's
    for words in body:
        label, cells = split_row(words)
        text = line_text(label)
        k = arm_of(text, known) if cells else None
        if k is None and cells and len(runs := word_runs(label)) >= 2 \
                and (k := arm_of(line_text(runs[-1]), known)) is not None:
            # "VAS1   Treatment   58.3 [18.2]": the measure's cell and the arm's cell side by side on the first
            # arm's row ("Test | Group | Baseline ..."), the next arm's row under it naming the arm alone
            measure = line_text([w for run in runs[:-1] for w in run])
        if k is None:
            # a measure's line over its arms' rows, its numbers those of its name ("... (potential range 1 to 7)");
            # not the statistics printed under the arms' rows ("Mean difference ...", "p value")
            if text and not (cells and after_arm):
                measure = line_text(words) if cells else text
            after_arm = False
            continue
        after_arm = True
        cell = min(cells, key=lambda c: abs(c.x - base_x))
        nearest = min(centres, key=lambda x: abs(cell.x - x))
        if cell.kind not in ("pair", "pm") or nearest != base_x:
            continue
        counted = min(cells, key=lambda c: abs(c.x - n_x)) if n_x is not None else None
        n = int(counted.a) if counted is not None and counted.kind == "num" and counted.a is not None \
            and counted.a.is_integer() and min(centres, key=lambda x: abs(counted.x - x)) == n_x else None
        name = known[k]
        if not any(a.name == name for a in arms):
            arms.append(TableArm(name, None, join_words(words)))
        index = next(i for i, a in enumerate(arms) if a.name == name)
        values.append(TableValue(index, "baseline", measure, cell.a, cell.b, n, join_words(words),
                                 doubt=ARMS_AS_ROWS, n_doubt=ARMS_AS_ROWS))
    return (arms, values) if len(arms) >= 2 else ([], [])
