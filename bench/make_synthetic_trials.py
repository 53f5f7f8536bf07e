"""Synthetic psychology / digital-mental-health RCT reports, with their per-field extraction truth.

Run: .venv/bin/python bench/make_synthetic_trials.py [--out DIR]   (reportlab: a dev extra; pdftotext)

Writes ``DIR/<stem>.pdf`` (default ``bench/out/synthetic/``, git-ignored) and, per PDF,
``tests/fixtures/extraction_truth/synthetic/<stem>.json`` in the schema of that folder's README ("split":
"synthetic-tune" or "synthetic-holdout", see ``TUNE``). Numbers come from ``random.Random(f"{SEED}-{stem}...")`` and reportlab runs in invariant mode,
so a rerun gives the same bytes. Pages and quotes are not assumed: each value is registered with every text
it is printed in, the PDF is built, and pdftotext (reading order and -layout) finds the pages. A text on no
page, a truth number missing from its quote, from the arm's part of a table row or from a stated page stops
the run. The truth lists every outcome scale with per-arm baseline values, the primary first.

Papers (layout; design; what each exercises):
  jmir_icbt_phq9        JMIR-like band, one column; 2 arms 1:1. "Mean (SD)" row under the arm header; age,
                        BMI, education and n (%) rows before PHQ-9; ITT and per-protocol rows in one outcome
                        table; vector CONSORT (lost + discontinued); attrition in text too ("10/109 vs ...").
  bmc_ba_app_bdi        BMC-like, two columns; 2 arms 1:1. "M ± SD"; BDI-II primary; BAI printed median (IQR);
                        completers analysis; attrition in text only; adherence as a mean (SD) in the text.
  jmir_3arm_cesd        JMIR-like; 3 arms 1:1:1 (guided app, unguided app, waitlist). Nested header (arm over
                        n / Mean / SD) with row n below the arm n; three-column CONSORT.
  jad_stepped_hads      Elsevier-like; 2:1 allocation. "mean (standard deviation)"; HADS-A as mean (95% CI);
                        the tables and the CONSORT figure come after the references.
  jadol_cluster_dass    Elsevier-like; cluster-randomised (16 schools, students as n). Header over three lines
                        ("Mean" / "±" / "SD"); Table 1 breaks at the page end and goes on under "Table 1
                        (continued)" with its header repeated; the DASS-21 scales follow many descriptors.
  inti_crossover_stai   Elsevier-like; AB/BA crossover, per-sequence n. Separate Mean and SD columns; STAI-S;
                        per-sequence dropout not printed (truth null, derivable).
  bmc_postnatal_epds    BMC-like, two columns; 2 arms 1:1. Primary EPDS printed mean (SE), GAD-7 and PSS-10
                        mean (SD); an adverse-event sentence whose counts are not dropouts.
  jmir_mindfulness_pss  JMIR-like; 2 arms 1:1. Primary PSS-10 printed after PHQ-9 and GAD-7; "mean (SD)" only
                        in the table note; CONSORT "Discontinued intervention ... (still followed up)".
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import re
import subprocess
import sys
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from reportlab import rl_config
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    FrameBreak,
    Image,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

rl_config.invariant = 1  # no timestamps or random ids: the same bytes on every run
SEED = 2024
REPO = Path(__file__).resolve().parents[1]
TRUTH_DIR = REPO / "tests" / "fixtures" / "extraction_truth" / "synthetic"
# Split like the real papers (random.Random(16).sample(sorted(stems), 4)): rules may be tuned on these four only.
TUNE = {"inti_crossover_stai", "jad_stepped_hads", "jmir_3arm_cesd", "jmir_icbt_phq9"}
# key: (full name, construct, typical baseline mean, SD, items, range)
SCALES = {
    "PHQ-9": ("Patient Health Questionnaire-9", "depressive symptoms", 13.6, 4.3, 9, "0-27"),
    "BDI-II": ("Beck Depression Inventory-II", "depression severity", 24.5, 8.6, 21, "0-63"),
    "CES-D": ("Center for Epidemiologic Studies Depression Scale", "depressive symptoms", 27.0, 9.2, 20,
              "0-60"),
    "HADS-D": ("Hospital Anxiety and Depression Scale, depression", "depressive symptoms", 9.4, 3.6, 7,
               "0-21"),
    "HADS-A": ("Hospital Anxiety and Depression Scale, anxiety", "anxiety symptoms", 10.2, 3.7, 7, "0-21"),
    "DASS-21 Depression": ("DASS-21, depression subscale", "depressive symptoms", 15.8, 9.4, 7, "0-42"),
    "DASS-21 Anxiety": ("DASS-21, anxiety subscale", "anxiety symptoms", 12.4, 8.1, 7, "0-42"),
    "DASS-21 Stress": ("DASS-21, stress subscale", "stress", 18.9, 8.3, 7, "0-42"),
    "EPDS": ("Edinburgh Postnatal Depression Scale", "postnatal depressive symptoms", 14.1, 3.9, 10, "0-30"),
    "GAD-7": ("Generalized Anxiety Disorder-7", "anxiety symptoms", 10.8, 4.4, 7, "0-21"),
    "STAI-S": ("State-Trait Anxiety Inventory, state form", "state anxiety", 47.5, 10.2, 20, "20-80"),
    "BAI": ("Beck Anxiety Inventory", "anxiety symptoms", 17.0, 10.5, 21, "0-63"),
    "PSS-10": ("Perceived Stress Scale-10", "perceived stress", 21.3, 6.1, 10, "0-40"),
}
# descriptor rows: (label, (mean, SD)) or (label, [(level, share), ...]); one unnamed level = one n (%) row
DESCRIPTORS = {
    "age": ("Age, years", (38.4, 11.6)), "age_student": ("Age, years", (22.1, 3.4)),
    "age_teen": ("Age, years", (13.9, 0.9)), "age_mother": ("Age, years", (31.2, 4.8)),
    "age_old": ("Age, years", (67.3, 7.9)), "bmi": ("BMI, kg/m²", (26.1, 4.6)),
    "edu": ("Years of education", (14.2, 2.9)), "semester": ("Semester", (4.6, 2.3)),
    "postpartum": ("Weeks postpartum", (9.8, 3.1)), "ses": ("Family affluence scale", (6.2, 1.9)),
    "screen": ("Screen time, h/day", (4.1, 1.8)), "sleep": ("Sleep duration, h", (7.6, 1.1)),
    "illness": ("Chronic conditions, number", (2.4, 1.3)),
    "female": ("Female, n (%)", [("", 0.68)]), "employed": ("Employed, n (%)", [("", 0.61)]),
    "antidep": ("Antidepressant use, n (%)", [("", 0.27)]),
    "partner": ("Living with partner, n (%)", [("", 0.55)]),
    "prior": ("Prior psychotherapy, n (%)", [("", 0.38)]), "primip": ("Primiparous, n (%)", [("", 0.47)]),
    "intl": ("International student, n (%)", [("", 0.22)]),
    "parents": ("Lives with both parents, n (%)", [("", 0.71)]),
    "parent_uni": ("Parent with university degree, n (%)", [("", 0.43)]),
    "counsel": ("Previous school counselling, n (%)", [("", 0.14)]),
    "gender": ("Gender, n (%)", [("Female", 0.52), ("Male", 0.45), ("Non-binary or other", 0.03)]),
    "grade": ("School year, n (%)", [("Year 7", 0.34), ("Year 8", 0.33), ("Year 9", 0.33)]),
    "ethnic": ("Ethnicity, n (%)", [("White", 0.61), ("Asian", 0.17), ("Black", 0.09), ("Mixed", 0.08),
                                    ("Other", 0.05)]),
}
SPECIAL_AS = {"se": "mean (SE)", "median": "median (IQR)", "ci": "mean (95% CI)"}


class Count(int):
    """A head count printed as large trials print it: "2,301" (a thousands comma). Sums and differences of
    counts stay counts, so a total or an analysed n prints the same way; a count under 1000 prints as a plain
    int, so papers of small trials are byte-identical whether their counts are ``Count`` or ``int``."""

    def __format__(self, spec: str) -> str:
        return f"{int(self):,}" if not spec else int.__format__(self, spec)

    def __str__(self) -> str:  # str(n) and f"{n}" agree
        return format(self)

    def __add__(self, other):
        return Count(int(self) + other) if isinstance(other, int) else int(self) + other

    __radd__ = __add__

    def __sub__(self, other):
        return Count(int(self) - other) if isinstance(other, int) else int(self) - other

    def __rsub__(self, other):
        return Count(other - int(self)) if isinstance(other, int) else other - int(self)


@dataclass
class Arm:
    name: str
    aliases: list[str]
    n: int
    lost: int
    disc: int = 0  # withdrew from the study: a dropout
    stopped: int = 0  # stopped the intervention but stayed in follow-up: not a dropout
    analysed: int = 0


@dataclass
class Paper:
    stem: str
    layout: str  # jmir | bmc | plain
    journal: str
    title: str
    population: str
    kind: str  # parallel | cluster | crossover
    allocation: str
    arms: list[Arm]
    scales: list[str]  # primary first
    descriptors: list[str]
    style: str  # paren | paren_note | pm | words | three | sep | nested
    flags: set[str]  # consort itt itt_pp completers attrition_text ae tables_at_end continued
    table_order: list[str] | None = None
    special: dict[str, str] = field(default_factory=dict)  # scale -> se | median | ci
    clusters: list[int] | None = None
    dec: int = 1
    notes: str = ""
    post_scales: list[str] = field(default_factory=list)  # measured after treatment only: no baseline value
    # A secondary analysis: the randomised arms of the parent trial, named with their n in the methods only;
    # ``arms`` are then the subgroups the paper's tables compare (never the trial's arms).
    parent: list[Arm] | None = None
    head_names: list[str] | None = None  # what the tables' headers call the arms ("Intervention", "Control")
    base: dict = field(default_factory=dict)  # scale -> per arm (mean, SD, row n)
    desc: dict = field(default_factory=dict)  # descriptor -> per arm values
    # traps v2 (``make_generated_trials.py --traps v2``); empty: the paper is built exactly as before. Keys:
    # secondary (parent trial acronym: ``arms`` are table columns, ``parent`` the randomised arms), mode,
    # span [(subgroup, columns)], extra {arm, pos, base, desc} (a non-randomised group's column), pooled
    # (Table 1 has one all-participants column), endpoint (a secondary-endpoint report of a named trial),
    # programme (a mixed-methods programme evaluation), caption1 / caption2, note; traps v3 add picture
    # {dpi, quality} (the flow diagram as a raster image), flow_caption, flow_font and flow_eq ("=" or " = ").
    v2: dict = field(default_factory=dict)
    picture_text: list[str] = field(default_factory=list)  # a raster flow diagram's caption and text


class Truth:
    """Every text a value is printed in, by field key; the quote is the first text, or those marked."""

    def __init__(self) -> None:
        self.mentions: dict[tuple, list[str]] = defaultdict(list)
        self.quotes: dict[tuple, list[str]] = defaultdict(list)

    def say(self, text: str, *keys: tuple, quote: bool = False) -> str:
        for k in keys:
            self.mentions[k].append(text)
            if quote:
                self.quotes[k].append(text)
        return text


def styles(layout: str) -> dict[str, ParagraphStyle]:
    face, size = {"jmir": ("Times-Roman", 10), "bmc": ("Helvetica", 8.6), "plain": ("Times-Roman", 9.6)}[
        layout]
    bold = "Times-Bold" if layout == "plain" else "Helvetica-Bold"
    body = ParagraphStyle("body", fontName=face, fontSize=size, leading=size * 1.3, spaceAfter=3,
                          alignment=0 if layout == "jmir" else 4)
    head = colors.HexColor("#005a70") if layout == "jmir" else colors.black
    return {"body": body, "small": ParagraphStyle("small", parent=body, fontSize=size - 1.5, leading=size),
            "h1": ParagraphStyle("h1", parent=body, fontName=bold, fontSize=size + 2, spaceBefore=8,
                                 spaceAfter=4, textColor=head),
            "h2": ParagraphStyle("h2", parent=body, fontName=bold, spaceBefore=4, alignment=0),
            "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=16, leading=19, alignment=0,
                                    spaceAfter=6),
            "caption": ParagraphStyle("caption", parent=body, fontName=bold, fontSize=size - 0.6,
                                      alignment=0)}


# ------------------------------------------------------------------------------------------------ numbers
def draw_values(p: Paper, rng: random.Random) -> None:
    """Baseline descriptors and scales per arm."""
    for key in p.descriptors:
        spec = DESCRIPTORS[key][1]
        if isinstance(spec, tuple):
            p.desc[key] = [(spec[0] + rng.gauss(0, 0.06 * spec[1]), spec[1] * rng.uniform(0.9, 1.1))
                           for _ in p.arms]
            continue
        p.desc[key] = []
        for a in p.arms:
            counts = [Count(round(a.n * max(0.01, share + rng.gauss(0, 0.03)))) for _, share in spec]
            if len(spec) > 1:
                counts[-1] = max(0, a.n - sum(counts[:-1]))
            p.desc[key].append([(c, 100 * c / a.n) for c in counts])
    for key in p.scales + p.post_scales:
        m, s = SCALES[key][2] * rng.uniform(0.9, 1.12), SCALES[key][3]
        p.base[key] = [(round(m + rng.gauss(0, 0.08 * s), p.dec), round(s * rng.uniform(0.85, 1.15), p.dec),
                        a.n - (rng.randint(0, 3) if p.style == "nested" else 0)) for a in p.arms]


def fmt(x: float, d: int) -> str:
    return f"{x:.{d}f}"


def stat_cells(p: Paper, key: str, m: float, s: float, n: int) -> tuple[list[str], float | None,
                                                                         float | None]:
    """The cells one arm prints for a scale, and the truth's mean and SD (None where none is printed)."""
    d, how, half = p.dec, p.special.get(key), 1.96 * s / n ** 0.5
    if how == "se":
        return [f"{fmt(m, d)} ({fmt(s / n ** 0.5, 2)})"], m, None
    if how == "ci":
        return [f"{fmt(m, d)} ({fmt(m - half, d)} to {fmt(m + half, d)})"], m, None
    if how == "median":
        return [f"{round(m - 0.15 * s)} ({round(m - 0.55 * s)}–{round(m + 0.75 * s)})"], None, None
    return mean_cells(p.style, m, s, d, n), m, s


def mean_cells(style: str, m: float, s: float, d: int, n: int) -> list[str]:
    if style in ("pm", "three"):
        return [f"{fmt(m, d)} ± {fmt(s, d)}"]
    if style == "pm_plus":  # "±" set in a font without the glyph: the text layer has "+"
        return [f"{fmt(m, d)} + {fmt(s, d)}"]
    if style == "sep":
        return [fmt(m, d), fmt(s, d)]
    if style == "nested":
        return [str(n), fmt(m, d), fmt(s, d)]
    return [f"{fmt(m, d)} ({fmt(s, d)})"]


def cat_cells(style: str, count: int, pct: float) -> list[str]:
    cells = {"sep": [str(count), f"({pct:.1f})"], "nested": [str(count), f"{pct:.1f}%", ""]}
    return cells.get(style, [f"{count} ({pct:.1f})"])


# ------------------------------------------------------------------------------------------------ tables
class ContinuedTable(Table):
    """With ``last`` set, a table that always breaks, at the page end or before row ``last``, whichever comes
    first: the first part ends with ``note``, the rest starts the next page under ``caption`` with the header
    rows repeated (repeatRows)."""

    def __init__(self, *args, last: int | None = None, caption=None, note=None, **kw) -> None:
        super().__init__(*args, **kw)
        self.last, self.caption, self.note = last, caption, note

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        w, h = super().wrap(avail_width, avail_height)
        return (w, max(h, avail_height + 1)) if self.last is not None else (w, h)

    def split(self, avail_width: float, avail_height: float) -> list:
        if self.last is None:
            return super().split(avail_width, avail_height)
        self._calc(avail_width, avail_height)
        parts = super().split(avail_width, min(avail_height - 16, sum(self._rowHeights[:self.last]) + 0.5))
        return [parts[0], self.note, PageBreak(), self.caption, *parts[1:]] if len(parts) == 2 else parts


def table(p: Paper, truth: Truth, rows: list[list[str]], ns: list[int], key: str, width: float,
          **cont) -> Table:
    """The arm header (name and n, registered as ``key``) and statistic row over ``rows``, journal rules."""
    size = 7 if p.layout == "bmc" else 7.8
    label = max(stringWidth(r[0], "Helvetica", size) for r in rows) + 8
    k = {"sep": 2, "nested": 3}.get(p.style, 1)
    first, spans = [""], []
    for i, (a, n) in enumerate(zip(p.arms, ns)):
        count = f"{p.clusters[i]} schools, n = {n}" if p.clusters else f"n = {n}"
        name = p.head_names[i] if p.head_names else a.name
        one = f"{name}, {count}" if p.style == "pm" else f"{name} ({count})"
        per = (width - label) / (len(p.arms) + (len(extra_columns(p, key)) if p.v2 else 0))  # v2: every column
        if stringWidth(one, "Helvetica-Bold", size) + 6 < per:
            first += [truth.say(one, (key, i))] + [""] * (k - 1)
        else:  # too wide for the column: the n goes on a second line
            first += [f"{name}\n{truth.say(f'({count})', (key, i))}"] + [""] * (k - 1)
        if k > 1:
            spans.append(((1 + i * k, 0), (k + i * k, 0)))
    unit = {"paren": ["Mean (SD)"], "pm": ["M ± SD"], "pm_plus": ["Mean + SD"], "words": ["mean (standard deviation)"],
            "three": ["Mean\n±\nSD"], "sep": ["Mean", "SD"], "nested": ["n", "Mean", "SD"]}.get(p.style)
    extra = extra_columns(p, key)
    first += [f"Total (n = {sum(ns)})" if c == "total" else "p" for c in extra]
    head = [first, [""] + unit * len(p.arms) + ["" if c == "p" else unit[0] for c in extra]] if unit else [first]
    if p.v2.get("span"):  # a row of subgroups over the arm columns below them
        top, c = [""], 1
        spans = [((a, r + 1), (b, r2 + 1)) for (a, r), (b, r2) in spans]  # the header rows move down one
        for group, w in p.v2["span"]:
            top += [group] + [""] * (w * k - 1)
            spans.append(((c, 0), (c + w * k - 1, 0)))
            c += w * k
        head = [top + [""] * len(extra)] + head
    cols, h = k * len(p.arms) + len(extra), len(head) - 1
    t = ContinuedTable(head + rows, colWidths=[label] + [(width - label) / cols] * cols, hAlign="LEFT",
                       repeatRows=len(head), **cont)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", size), ("FONT", (0, 0), (-1, h), "Helvetica-Bold", size),
        ("LEADING", (0, 0), (-1, -1), size + 1.6), ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2), ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, h), (-1, h), 0.5, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
    ] + [("SPAN", a, b) for a, b in spans]))
    return t


def extra_columns(p: Paper, key: str) -> list[str]:
    """Columns after the arms: a Total column (baseline table only) and a p-value column, on single-cell
    styles, when the paper's flags ask for them."""
    if p.style in ("sep", "nested"):
        return []
    return [c for c, on in (("total", "total" in p.flags and key == "n_rand"), ("p", "pcol" in p.flags)) if on]


def extra_cells(p: Paper, key: str, cells: list[str], rng: random.Random) -> list[str]:
    """The Total and p cells of one row: the Total repeats the first arm's cell (its value is not scored),
    p a plausible p-value; an empty row stays empty."""
    if not any(cells):
        return ["" for _ in extra_columns(p, key)]
    return [cells[0] if c == "total" else f"{rng.uniform(0.06, 0.95):.2f}" for c in extra_columns(p, key)]


def baseline_rows(p: Paper, truth: Truth) -> list[list[str]]:
    """Descriptor rows first (as real baseline tables have them), then the outcome scales."""
    rows, rng = [], random.Random(f"{SEED}-{p.stem}-extra")
    for key in p.descriptors:
        label, spec = DESCRIPTORS[key]
        if isinstance(spec, tuple):
            cells = [c for (m, s), a in zip(p.desc[key], p.arms) for c in mean_cells(p.style, m, s, 1, a.n)]
            rows.append([label] + cells + extra_cells(p, "n_rand", cells, rng))
            continue
        if len(spec) > 1:
            rows.append([label])
        for j, (level, _) in enumerate(spec):
            cells = [c for arm in p.desc[key] for c in cat_cells(p.style, *arm[j])]
            rows.append([f"   {level}" if level else label] + cells + extra_cells(p, "n_rand", cells, rng))
    for key in [] if "baseline_in_outcomes" in p.flags else p.table_order or p.scales:
        how = p.special.get(key)
        row = [f"{key}, {SPECIAL_AS[how]}" if how else key]
        row += [c for i in range(len(p.arms)) for c in stat_cells(p, key, *p.base[key][i])[0]]
        truth.say(" ".join(c for c in row if c), *[("base", key, i) for i in range(len(p.arms))])
        rows.append(row + extra_cells(p, "n_rand", row[1:], rng))
    pad = max(len(r) for r in rows)
    return [r + [""] * (pad - len(r)) for r in rows]


def baseline_table(p: Paper, truth: Truth, st: dict, width: float) -> list:
    if p.v2.get("programme"):
        return programme_descriptives(p, st, width)
    if not p.v2:
        return _baseline_table(p, truth, st, width)
    with v2_columns(p, truth, pooled=True) as columns:
        return _baseline_table(p, columns, st, width)


def outcome_table(p: Paper, truth: Truth, st: dict, width: float, rng: random.Random) -> list:
    if p.v2.get("programme"):
        return programme_effects(p, st, width, rng)
    if not p.v2:
        return _outcome_table(p, truth, st, width, rng)
    with v2_columns(p, truth, pooled=False) as columns:
        return _outcome_table(p, columns, st, width, rng)


def ruled_table(p: Paper, rows: list[list[str]], head: int, width: float, spans: list = ()) -> Table:
    """A table in the journal's rules with ``head`` header rows (programme evaluations: no arm header)."""
    size = 7 if p.layout == "bmc" else 7.8
    label = max(stringWidth(r[0], "Helvetica", size) for r in rows) + 8
    cols = len(rows[0]) - 1
    t = Table(rows, colWidths=[label] + [(width - label) / cols] * cols, hAlign="LEFT", repeatRows=head)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", size), ("FONT", (0, 0), (-1, head - 1), "Helvetica-Bold", size),
        ("LEADING", (0, 0), (-1, -1), size + 1.6), ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black), ("LINEBELOW", (0, head - 1), (-1, head - 1), 0.5,
                                                             colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black)] + [("SPAN", a, b) for a, b in spans]))
    return t


def programme_descriptives(p: Paper, st: dict, width: float) -> list:
    """Table 1 of a programme evaluation: outcomes and household descriptors at endline, all households pooled
    (mean, SD, min, max): no value by allocated group."""
    n, rows = sum(a.n for a in p.arms), [["Variable", "Mean", "SD", "Min", "Max"]]
    pooled = [(DESCRIPTORS[k][0], pool_desc(p.desc[k], [a.n for a in p.arms])) for k in p.descriptors
              if isinstance(DESCRIPTORS[k][1], tuple)]
    pooled += [(k, (sum(m * a.n for (m, _, _), a in zip(p.base[k], p.arms)) / n, p.base[k][0][1]))
               for k in p.scales + p.post_scales]
    for label, (m, sd) in pooled:
        rows.append([label, fmt(m, 2), fmt(sd, 2), fmt(max(0.0, m - 2.1 * sd), 1), fmt(m + 2.6 * sd, 1)])
    cap = Paragraph(f"<b>Table 1</b> Descriptive statistics at endline, all households (N = {n})", st["caption"])
    return [Spacer(1, 2 * mm), KeepTogether([cap, ruled_table(p, rows, 1, width)]),
            Paragraph("Pooled over the four programme packages.", st["small"]), Spacer(1, 3 * mm)]


def programme_effects(p: Paper, st: dict, width: float, rng: random.Random) -> list:
    """Table 2 of a programme evaluation: regression coefficients (B, SE, p) of each package against the
    reference package, one block per outcome."""
    rows = [["", "B", "SE", "p"]]
    for key in p.scales + p.post_scales:
        rows.append([key, "", "", ""])
        for a in p.arms[1:]:
            b, se = rng.uniform(-0.45, 0.15) * SCALES[key][3], rng.uniform(0.08, 0.2) * SCALES[key][3]
            rows.append([f"   {a.name}", fmt(b, 3), fmt(se, 3), f"{rng.uniform(0.001, 0.9):.3f}"])
        rows.append(["   Constant", fmt(SCALES[key][2] * rng.uniform(0.8, 1.1), 3),
                     fmt(rng.uniform(0.3, 0.9), 3), "<0.001"])
    rows += [["Observations", str(sum(a.n for a in p.arms)), "", ""], ["Village clusters", str(sum(p.clusters)),
                                                                       "", ""]]
    cap = Paragraph(f"<b>Table 2</b> Programme effects at endline: OLS coefficients relative to "
                    f"{low(p.arms[0].name)}, standard errors clustered by village", st["caption"])
    return [Spacer(1, 2 * mm), KeepTogether([cap, ruled_table(p, rows, 1, width)]),
            Paragraph("Adjusted for baseline values and district.", st["small"]), Spacer(1, 3 * mm)]


class ColumnTruth:
    """``Truth`` for a table whose columns are not the arms (traps v2): a column index in a key is mapped to
    its arm (``None``: the column is no arm and its texts are not registered), and a baseline row's text loses
    the cells of the non-arm column, so that the quote holds the arms' cells only (a contiguous part of the row)."""

    def __init__(self, truth: Truth, cols: list[int | None], trim: dict[str, tuple[str, str]]) -> None:
        self.truth, self.cols, self.trim = truth, cols, trim

    def say(self, text: str, *keys: tuple, quote: bool = False) -> str:
        mapped = []
        for k in keys:
            if len(k) > 1 and isinstance(k[-1], int):
                if self.cols[k[-1]] is None:
                    continue
                k = (*k[:-1], self.cols[k[-1]])
            mapped.append(k)
        said = text
        if mapped and mapped[0][0] == "base" and mapped[0][1] in self.trim:
            cells, pos = self.trim[mapped[0][1]]
            said = text.split(f" {cells} ", 1)[1] if pos == "first" else text.removesuffix(f" {cells}")
        if mapped:
            self.truth.say(said, *mapped, quote=quote)
        return text


@contextmanager
def v2_columns(p: Paper, truth: Truth, pooled: bool):
    """The paper's arms, values and flags as one table prints them: a non-randomised group's column beside the
    arms, or (Table 1 of a pooled paper) one all-participants column; restored afterwards."""
    saved = p.arms, p.base, p.desc, p.head_names, set(p.flags)
    extra = p.v2.get("extra")
    try:
        if pooled and p.v2.get("pooled"):
            n = sum(a.n for a in p.arms)
            p.desc = {k: [pool_desc(v, [a.n for a in p.arms])] for k, v in p.desc.items()}
            p.base = {k: [(round(sum(m for m, _, _ in v) / len(v), p.dec),
                           round(sum(s for _, s, _ in v) / len(v), p.dec), n)] for k, v in p.base.items()}
            p.arms, p.head_names = [Arm(p.v2["pooled"], [], n, 0)], None
            p.flags -= {"total", "pcol"}
            yield ColumnTruth(truth, [None], {})
        elif extra:
            first = extra["pos"] == "first"
            join = (lambda e, v: [e] + list(v)) if first else (lambda e, v: list(v) + [e])
            p.arms = join(extra["arm"], p.arms)
            p.base = {k: join(extra["base"][k], v) for k, v in p.base.items()}
            p.desc = {k: join(extra["desc"][k], v) for k, v in p.desc.items()}
            if p.head_names:
                p.head_names = join(extra["arm"].name, p.head_names)
            cols = [None] + list(range(len(saved[0]))) if first else list(range(len(saved[0]))) + [None]
            trim = {k: (" ".join(stat_cells(p, k, *extra["base"][k])[0]), extra["pos"]) for k in p.base}
            yield ColumnTruth(truth, cols, trim)
        else:
            yield truth
    finally:
        p.arms, p.base, p.desc, p.head_names = saved[:4]
        p.flags.clear()
        p.flags.update(saved[4])


def pool_desc(values: list, ns: list[int]):
    """One all-participants value from the arms' values of a descriptor: n-weighted mean and SD, or counts."""
    if isinstance(values[0], tuple):
        return tuple(sum(v[j] * n for v, n in zip(values, ns)) / sum(ns) for j in range(2))
    counts = [sum(v[j][0] for v in values) for j in range(len(values[0]))]
    return [(c, 100 * c / sum(ns)) for c in counts]


def _baseline_table(p: Paper, truth: Truth, st: dict, width: float) -> list:
    rows = baseline_rows(p, truth)
    note = {"paren_note": "Values are mean (SD) or n (%).", "three": "Values are mean ± SD or n (%)."}.get(
        p.style, "Categorical variables: n (%).")
    note += "".join(f" {k}: {SPECIAL_AS[v]}." for k, v in p.special.items())
    cap = Paragraph("<b>Table 1</b> " + p.v2.get("caption1", "Baseline characteristics of the randomised "
                                                         "participants"), st["caption"])
    cont = {}
    if "continued" in p.flags:  # break before the last descriptors, so the scales go on the next page
        cont = {"last": len(rows) + 2 - len(p.scales) - 3,
                "note": Paragraph("(Table 1 continues)", st["small"]),
                "caption": Paragraph("<b>Table 1</b> (continued)", st["caption"])}
    t = table(p, truth, rows, [a.n for a in p.arms], "n_rand", width, **cont)
    return [Spacer(1, 2 * mm)] + ([cap, t] if cont else [KeepTogether([cap, t])]) + \
        [Paragraph(note, st["small"]), Spacer(1, 3 * mm)]


def _outcome_table(p: Paper, truth: Truth, st: dict, width: float, rng: random.Random) -> list:
    """Post-treatment and follow-up values; ITT and per-protocol rows together when the paper has both."""
    times = ("post-treatment", "follow-up")
    if p.kind == "crossover":
        times = ("end of period 1", "end of period 2")
    rows = []
    for key in (p.table_order or p.scales) + p.post_scales:
        if "baseline_in_outcomes" in p.flags and key not in p.post_scales:  # baseline as Table 2's first row
            how = p.special.get(key)
            row = [f"{key}, baseline" + (f", {SPECIAL_AS[how]}" if how else "")]
            row += [c for i in range(len(p.arms)) for c in stat_cells(p, key, *p.base[key][i])[0]]
            truth.say(" ".join(c for c in row if c), *[("base", key, i) for i in range(len(p.arms))])
            rows.append(row + extra_cells(p, "analysed", row[1:], rng))
        for when, drop in zip(times, (0.45, 0.55)):
            itt, pp = [], []
            for i, ((m, s, _), a) in enumerate(zip(p.base[key], p.arms)):
                post = max(0.5, m - (drop if i == 0 else 0.12 + 0.25 * (i == 1)) * s + rng.gauss(0, 0.05 * s))
                itt += stat_cells(p, key, post, s * rng.uniform(0.95, 1.2), a.analysed)[0]
                pp += stat_cells(p, key, post - 0.06 * s, s * 1.02, a.n - a.lost - a.disc)[0]
            itt += extra_cells(p, "analysed", itt, rng)
            pp += extra_cells(p, "analysed", pp, rng)
            if "itt_pp" in p.flags and when == "post-treatment":
                n_pp = "/".join(str(a.n - a.lost - a.disc) for a in p.arms)
                rows += [[f"{key}, {when}, ITT"] + itt, [f"{key}, {when}, per protocol (n = {n_pp})"] + pp]
            else:
                rows.append([f"{key}, {when}"] + itt)
    what = ("intention-to-treat population (multiple imputation)" if "itt" in p.flags else
            "participants with outcome data (completers)")
    t = table(p, truth, rows, [a.analysed for a in p.arms], "analysed", width)
    caption = p.v2.get("caption2", f"Outcomes by group; {what}")
    return [Spacer(1, 2 * mm), KeepTogether([Paragraph(f"<b>Table 2</b> {caption}", st["caption"]), t]),
            Spacer(1, 3 * mm)]


# ------------------------------------------------------------------------------------------------ figure
def consort(p: Paper, truth: Truth, width: float) -> Drawing:
    """CONSORT flow diagram drawn with vector text: enrolment, then one column of boxes per arm."""
    # traps v3 vary the look of pictures: font, "(n=12)" or "(n = 12)", a box fill, centred lines, and the count
    # on its own line under the label ("Allocated to placebo" / "(n = 11)"), as drawing programs set them
    font, eq = p.v2.get("flow_font", "Helvetica"), p.v2.get("flow_eq", "=")
    fill, centre, split = colors.HexColor(p.v2.get("flow_fill", "#ffffff")), p.v2.get("flow_centre"), \
        p.v2.get("flow_split")
    k, fs, top = len(p.arms), 8 if len(p.arms) == 2 else 7.2, 300 if split else 290
    n = sum(a.n for a in p.arms)
    excl, col, cx, bw = n // 2 + 17, width / k, width / 2, width * 0.36
    d = Drawing(width, top)

    def box(x: float, y: float, w: float, lines: list[str]) -> float:
        if split:
            lines = [part for t in lines for part in (
                re.split(r" (?=\(n)", t) if t.startswith(("Assessed", "Randomised", "Allocated", "Analysed"))
                else [t])]
        h = 6 + 10 * len(lines)
        d.add(Rect(x, y - h, w, h, fillColor=fill, strokeWidth=0.6))
        for j, text in enumerate(lines):
            d.add(String(x + w / 2 if centre else x + 4, y - 11 - 10 * j, text, fontName=font, fontSize=fs,
                         textAnchor="middle" if centre else "start"))
        return y - h

    def line(x1: float, y1: float, x2: float, y2: float) -> None:
        d.add(Line(x1, y1, x2, y2, strokeWidth=0.6))

    for y, text in ((0, "Enrollment"), (100, "Allocation"), (156, "Follow-up"), (246, "Analysis")):
        d.add(Rect(0, top - y - 11, width, 11, fillColor=colors.HexColor("#dbe8f1"), strokeWidth=0))
        d.add(String(cx, top - y - 8.5, text, fontName="Helvetica-Bold", fontSize=8, textAnchor="middle"))
    for x1, y1, x2, y2 in ((cx, 30, cx, 78), (cx, 52, width * 0.68, 52), (cx, 94, cx, 118),
                           (col / 2, 118, width - col / 2, 118)):
        line(x1, top - y1, x2, top - y2)
    box(cx - bw / 2, top - 16, bw, [truth.say(f"Assessed for eligibility (n{eq}{n + excl})")])
    box(width * 0.68, top - 34, width * 0.32, [f"Excluded (n{eq}{excl})",
                                               f"Not meeting criteria (n{eq}{excl - 9})",
                                               f"Declined to participate (n{eq}9)"])
    box(cx - bw / 2, top - 78, bw, [truth.say(f"Randomised (n{eq}{n})", ("n_total",))])
    for i, a in enumerate(p.arms):
        x, w = i * col + 4, col - 8
        got = ("Offered the programme after follow-up" if "wait" in a.name.lower() else
               f"Received allocated intervention (n{eq}{a.n - a.stopped - 1})")
        line(x + w / 2, top - 118, x + w / 2, top - 124)
        allocated = truth.say(f"Allocated to {low(a.name)} (n{eq}{a.n})", ("n_rand", i))
        bottom = box(x, top - 124, w, [allocated, got])
        line(x + w / 2, bottom, x + w / 2, top - 174)
        fup = [truth.say(f"Lost to follow-up (n{eq}{a.lost})", ("dropout", i), quote=True),
               "(no response to survey)"]
        if a.disc:
            fup += [truth.say(f"Discontinued (n{eq}{a.disc})", ("dropout", i), quote=True), "(withdrew consent)"]
        if a.stopped:
            fup += [f"Discontinued intervention (n{eq}{a.stopped})", "(still followed up)"]
        line(x + w / 2, box(x, top - 174, w, fup), x + w / 2, top - 262)
        box(x, top - 262, w, [truth.say(f"Analysed (n{eq}{a.analysed})", ("analysed", i)),
                              "(ITT, multiple imputation)" if "itt" in p.flags else "(completers)"])
    return d


def figure(p: Paper, truth: Truth, st: dict, width: float) -> list:
    """The flow diagram and its caption; with ``p.v2["picture"]`` the diagram is a raster image (no text layer)."""
    words = p.v2.get("flow_caption", "CONSORT flow diagram of participants.")
    caption = Paragraph(f"<b>Figure 1</b> {words}", st["caption"])
    art = consort(p, truth, width)
    if p.v2.get("picture"):
        p.picture_text = [norm(f"Figure 1 {words}"),
                          "\n".join(s.text for s in art.contents if isinstance(s, String))]
        art = Picture(art, **p.v2["picture"])
    return [Spacer(1, 2 * mm), KeepTogether([art, Spacer(1, 2 * mm), caption]), Spacer(1, 3 * mm)]


class Picture(Image):
    """A drawing printed as a raster image, as journals print flow diagrams made in a drawing program: rendered
    by PDFium at ``dpi`` and stored as PNG, or as JPEG at ``quality``. ``data`` and ``mime`` serve the HTML
    builder."""

    def __init__(self, drawing: Drawing, dpi: int, quality: int | None = None) -> None:
        import pypdfium2 as pdfium
        from reportlab.graphics import renderPDF

        vector = io.BytesIO()
        renderPDF.drawToFile(drawing, vector)
        pdf = pdfium.PdfDocument(vector.getvalue())
        image = pdf[0].render(scale=dpi / 72).to_pil().convert("RGB")
        pdf.close()
        out = io.BytesIO()
        if quality is None:
            image.save(out, "PNG")
        else:
            image.save(out, "JPEG", quality=quality)
        self.data, self.mime = out.getvalue(), "image/png" if quality is None else "image/jpeg"
        super().__init__(io.BytesIO(self.data), width=drawing.width, height=drawing.height)


def save_picture_text(p: Paper, pdf: Path) -> None:
    """Write beside the PDF what its raster flow diagram prints (``<stem>.picture.json``: the caption, then the
    diagram's text), for ``page_texts`` to count as printed on the caption's page, as a reader of the figure
    would; remove a stale one when the paper has no picture."""
    side = pdf.with_suffix(".picture.json")
    if p.picture_text:
        side.write_text(json.dumps(p.picture_text, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        side.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ text
INTRO = [
    "{Cond} are common and disabling, yet most people affected never receive evidence-based care.",
    "Digital interventions can be offered at scale and at low cost, and meta-analyses suggest small to "
    "moderate effects on symptoms.",
    "Effects vary widely between trials, and adherence is often low when programmes are offered without "
    "human support.",
    "Few trials have examined {population}, who face specific barriers to help-seeking.",
    "Guidance by trained coaches may increase adherence, but it adds cost and may limit dissemination.",
    "It is unclear whether benefits persist after a programme ends, because follow-up periods are short.",
    "Stigma, waiting lists and travel distance keep many people from face-to-face treatment.",
    "Brief, structured programmes based on cognitive behavioural principles are the most studied format."]
DISCUSS = [
    "In this trial, the {interv} condition reduced symptoms compared with the control condition, and the "
    "effect was maintained at follow-up.",
    "The size of the effect is comparable with that reported in earlier trials of similar programmes.",
    "Adherence was acceptable, although a minority of participants completed all modules.",
    "Outcomes were self-reported, and participants could not be blinded to allocation.",
    "The sample was recruited through advertisements and may not represent people seen in routine care.",
    "Future studies should test the programme in routine services and examine cost-effectiveness.",
    "Mechanisms of change, such as behavioural activation or reduced rumination, deserve further study.",
    "Missing data were modest and balanced between groups, and sensitivity analyses agreed."]
SURNAMES = ["Andersson", "Karyotaki", "Ebert", "Linardon", "Torous", "Baumeister", "Richards", "Hedman",
            "Lau", "Mohr", "Firth", "Fleming", "Cuijpers", "Berger", "Domhardt", "Weisel", "Kooistra",
            "Schueller"]
JOURNALS = ["J Med Internet Res", "Internet Interv", "Psychol Med", "J Affect Disord", "BMC Psychiatry",
            "Behav Res Ther", "World Psychiatry", "JMIR Ment Health"]
TOPICS = ["Internet-based interventions for depression: a meta-analysis", "Guided versus unguided self-help",
          "Adherence to digital mental health programmes", "Smartphone apps for anxiety: a systematic review",
          "Stress management at work: a randomised trial", "School-based prevention of depression",
          "Mindfulness apps in university students", "Perinatal depression: screening and care"]


def low(name: str) -> str:
    """An arm name inside a sentence: 'Waitlist' -> 'waitlist'; 'iCBT' and 'BA app' stay."""
    return name if name[1:2].isupper() else name[0].lower() + name[1:]


def filler(rng: random.Random, bank: list[str], p: Paper, *sizes: int) -> list[str]:
    """Paragraphs of generic sentences without numbers, each sentence used once."""
    construct = SCALES[p.scales[0]][1]
    cond = ("Depressive disorders" if "depress" in construct else "Anxiety disorders" if "anxi" in construct
            else "Stress-related problems")
    pool = [s.format(Cond=cond, population=p.population, interv=low(p.arms[0].name)) for s in bank]
    rng.shuffle(pool)
    return [" ".join(pool[sum(sizes[:i]):sum(sizes[:i + 1])]) for i in range(len(sizes))]


def design_words(p: Paper) -> str:
    return {"parallel": f"a {len(p.arms)}-arm parallel-group randomised controlled trial ({p.allocation})",
            "cluster": "a cluster-randomised controlled trial with schools as clusters",
            "crossover": "a randomised two-period crossover trial (sequences AB and BA)"}[p.kind]


def v2_abstract(p: Paper, truth: Truth) -> list[tuple[str, str]]:
    """The abstract of a traps-v2 secondary analysis: it names the parent trial, never "secondary analysis of"."""
    a, b, trial = p.parent[0], p.parent[-1], p.v2["secondary"]
    n = truth.say(f"{sum(x.n for x in p.parent)} participants randomised", ("n_total",))
    return [("Background", f"Whether digital programmes help {p.population} equally is not known."),
            ("Objective", f"To examine the effect of {low(a.name)} compared with {low(b.name)} by {p.v2['what']} "
                          f"in the {trial} trial."),
            ("Methods", f"{p.v2['adj'].capitalize()} analysis of {trial}, a two-arm randomised trial. Outcomes "
                        "were assessed at baseline, post-treatment and follow-up."),
            ("Results", f"Of the {n} in {trial}, all were included. {SCALES[p.scales[0]][1].capitalize()} "
                        f"improved more with {low(a.name)} in each {p.v2['mode_word']}."),
            ("Conclusions", "Effects were consistent; the programme can be offered without selection.")]


def v2_design(p: Paper, truth: Truth) -> str:
    """The methods' design paragraph of a traps-v2 secondary analysis: the parent trial's arms and their n in
    one of several wordings (registered as ``("parent_n", i)``), then what this analysis compares."""
    (a, b), trial, n = p.parent[:2], p.v2["secondary"], sum(x.n for x in p.parent)
    one = [(f"{low(a.name)} (n = {a.n})", f"{low(b.name)} (n = {b.n})"),
           (f"{a.n} were assigned to {low(a.name)}", f"{b.n} to {low(b.name)}"),
           (f"{low(a.name)} (n = {a.n})", f"{low(b.name)} (n = {b.n})")][p.v2["wording"]]
    x, y = (truth.say(t, ("parent_n", i)) for i, t in enumerate(one))
    text = [f"{trial} was a two-arm randomised controlled trial in {p.population}. {trial} randomised {n} "
            f"participants to {x} or {y}.",
            f"{trial} was a two-arm randomised controlled trial in {p.population}. Of the {n} participants "
            f"randomised, {x} and {y}.",
            f"The design and main results of {trial} have been reported [12]: {n} participants were randomised "
            f"to {x} or {y}. The present analysis uses the same data set."][p.v2["wording"]]
    return text + f" In this {p.v2['adj']} analysis we compare participants by {p.v2['what']}" + (
        ", with both arms shown within each subgroup." if p.v2["mode"] == "arm_by_subgroup" else
        ", pooling both arms.")


def v2_flow(p: Paper, truth: Truth) -> str:
    n = truth.say(f"{sum(a.n for a in p.arms)} randomised participants", ("n_total",))
    groups = " and ".join(f"{k} were in the {label}" for label, k in p.v2["groups"])
    return f"All {n} of {p.v2['secondary']} were included: {groups} (Table 1)."


def title_block(p: Paper, truth: Truth, st: dict, rng: random.Random) -> list:
    authors = ", ".join(f"{rng.choice('ABCDEFGHJKLMNPRS')}{rng.choice('ABCDEJKLMS')} {s}"
                        for s in rng.sample(SURNAMES, 5))
    n = sum(a.n for a in p.arms)
    if p.v2.get("secondary") or p.v2.get("programme"):
        randomised = ""  # v2_abstract registers its own count
    elif p.clusters:
        students = truth.say(f"{n} students", ("n_total",))
        randomised = f"{sum(p.clusters)} schools with {students} were randomised"
    else:
        randomised = f"A total of {truth.say(f'{n} participants were randomised', ('n_total',))}"
    abstract = [
        ("Background", f"Digital programmes may help {p.population}, but trials are scarce."),
        ("Objective", f"To evaluate {low(p.arms[0].name)} compared with {low(p.arms[-1].name)}."),
        ("Methods", f"{design_words(p).capitalize()}. Outcomes were assessed at baseline, post-treatment and "
                    "follow-up."),
        ("Results", f"{randomised}. {SCALES[p.scales[0]][1].capitalize()} improved more in the intervention "
                    "group."),
        ("Conclusions", "The programme was acceptable and effective; implementation studies are needed.")]
    if p.v2.get("secondary"):
        abstract = v2_abstract(p, truth)
    elif p.v2.get("programme"):
        households = truth.say(f"{n} households", ("n_total",))
        abstract = [("Background", "Integrated social protection programmes combine cash with other support; "
                                   f"their effect on {SCALES[p.scales[0]][1]} is not known."),
                    ("Methods", f"Mixed-methods evaluation: {sum(p.clusters)} village clusters with {households} "
                                "were allocated to four programme packages; household survey at baseline and "
                                "endline, focus groups and key informant interviews."),
                    ("Results", f"Packages that added training reduced {SCALES[p.scales[0]][1]}; qualitative data "
                                "pointed to stronger social ties."),
                    ("Conclusions", "Complementary components matter for psychological outcomes.")]
    return [Paragraph(p.title, st["title"]), Paragraph(authors, st["body"]),
            Paragraph("Department of Clinical Psychology, University Hospital; Institute of Digital Health",
                      st["small"]), Spacer(1, 3 * mm), Paragraph("Abstract", st["h1"]),
            Paragraph(" ".join(f"<b>{h}:</b> {t}" for h, t in abstract), st["body"]),
            Paragraph("<b>Keywords:</b> randomised controlled trial; e-mental health; "
                      + "; ".join(p.scales[:2]), st["small"])]


def methods(p: Paper, truth: Truth, st: dict) -> list:
    first, last, prim = p.arms[0], p.arms[-1], p.scales[0]
    if p.v2.get("secondary"):  # the interventions are the parent trial's arms, not the table columns
        first, last = p.parent[0], p.parent[-1]
    if p.kind == "cluster" and not p.v2.get("programme"):
        design = (f"We conducted {design_words(p)}. {sum(p.clusters)} schools were randomised 1:1 by an "
                  "independent statistician, stratified by school size; all students in Years 7 to 9 of a "
                  "participating school were eligible.")
    elif p.kind == "crossover":
        design = (f"This was {design_words(p)}. Participants were randomised 1:1 to sequence AB (app "
                  "first, then control condition) or sequence BA; each period lasted 4 weeks, with a 2-week "
                  "washout.")
    elif p.v2.get("secondary"):
        design = v2_design(p, truth)
    elif p.v2.get("programme"):
        design = (f"The programme was evaluated in {sum(p.clusters)} village clusters of two districts, allocated "
                  "at random to four packages: " + "; ".join(
                      truth.say(f"{low(a.name)} ({c} clusters, n = {a.n} households)", ("n_rand", i))
                      for i, (a, c) in enumerate(zip(p.arms, p.clusters))) + ". The evaluation combined a "
                  "household survey at baseline and endline with focus group discussions and key informant "
                  "interviews (mixed methods).")
    elif p.v2.get("endpoint"):
        design = (f"This report gives prespecified secondary outcomes of {p.v2['endpoint']}, "
                  f"{design_words(p)} whose main results have been published [12]. Randomisation used "
                  f"computer-generated permuted blocks of {3 * len(p.arms)}, concealed from recruiting staff.")
    elif p.parent:
        each = " or ".join(truth.say(f"{low(a.name)} (n = {a.n})", ("n_rand", i)) for i, a in enumerate(p.parent))
        design = (f"This is a secondary analysis of a two-arm randomised controlled trial, in which "
                  f"{sum(a.n for a in p.parent)} participants were randomised to {each}. Here we compare "
                  f"participants by {low(p.arms[0].name)} versus {low(p.arms[1].name)}, pooling both arms.")
    else:
        design = (f"This was {design_words(p)}. Randomisation used computer-generated permuted blocks of "
                  f"{3 * len(p.arms)}, concealed from recruiting staff.")
    primary = truth.say(f"The primary outcome was {SCALES[prim][1]} measured with the {prim}", ("primary",))
    secondary = " and ".join(f"{SCALES[s][1]} ({s})" for s in p.scales[1:] + p.post_scales)
    measures = " ".join(f"The {SCALES[s][0]} ({s}) has {SCALES[s][4]} items (range {SCALES[s][5]}; Cronbach "
                        f"alpha {0.78 + 0.01 * (len(s) % 9):.2f} in this sample)." for s in p.scales)
    if p.post_scales:
        measures += " " + " and ".join(p.post_scales) + (" were" if len(p.post_scales) > 1 else " was") + \
            " assessed at post-treatment and follow-up only."
    control = ("was offered the programme after the final assessment" if "wait" in last.name.lower() else
               "received information material of comparable length")
    if "itt" in p.flags:
        ana = ("The primary analysis followed the intention-to-treat principle, including all randomised "
               "participants; missing data were handled by multiple imputation (50 imputations).")
    else:
        ana = "Analyses included participants with outcome data (completers); ANCOVA adjusted for baseline."
    if "itt_pp" in p.flags:
        ana += " A per-protocol analysis included participants who completed the post-treatment assessment."
    if p.kind == "cluster":
        ana += " Mixed models included a random intercept for school (ICC 0.04)."
    if p.v2.get("programme"):
        ana = ("Programme effects were estimated by OLS regression of endline outcomes on package indicators ("
               f"{low(p.arms[0].name)} as reference), adjusted for baseline values, with standard errors clustered "
               "by village. Transcripts were coded thematically.")
    text = [
        ("Design", design),
        ("Participants", f"We recruited {p.population} through advertisements and local services. Inclusion "
                         f"criteria were a score above the usual cut-off on the {prim} and internet access. "
                         "Exclusion criteria were acute suicidality, psychosis and ongoing psychotherapy."),
        ("Interventions", f"The {low(first.name)} condition comprised 8 weekly modules of about 30 minutes, "
                          f"with exercises and short videos. The {low(last.name)} condition {control}."),
        ("Outcomes", f"{primary}, assessed at baseline, post-treatment (week 8) and follow-up (week 20). "
                     f"Secondary outcomes were {secondary}. {measures}"),
        ("Statistical analysis", "Assuming a between-group effect of d = 0.45, a two-sided alpha of .05 and "
                                 "80% power, 79 participants per arm were required; allowing for 15% "
                                 f"attrition we aimed to randomise 93 per arm. {ana}")]
    if p.v2.get("programme"):
        text[1:3] = [("Participants", f"Households eligible for the cash transfer ({p.population}) in the "
                                      "allocated clusters were surveyed; one adult per household answered."),
                     ("Interventions", f"All households received {low(p.arms[0].name)}; the other packages "
                                       "added a lump-sum payment, livelihood training, or both.")]
    return [Paragraph("Methods", st["h1"])] + [x for h, t in text for x in (Paragraph(h, st["h2"]),
                                                                            Paragraph(t, st["body"]))]


def results(p: Paper, truth: Truth, st: dict, width: float) -> list:
    n, (a, b) = sum(x.n for x in p.arms), p.arms[:2]
    if p.v2.get("programme"):
        return [Paragraph("Results", st["h1"]), Paragraph("Quantitative results", st["h2"]), Paragraph(
            f"Table 1 describes the households at endline and Table 2 gives the programme effects on "
            f"{p.scales[0]}. Effects of the lump sum alone were small; packages with training reduced scores.",
            st["body"]), Paragraph("Qualitative results", st["h2"]), Paragraph(
            "Focus group participants described more frequent mutual help and fewer conflicts over resources "
            "where training groups met regularly.", st["body"])]
    if p.v2.get("secondary"):
        return [Paragraph("Results", st["h1"]), Paragraph("Participants", st["h2"]),
                Paragraph(v2_flow(p, truth), st["body"]),
                Paragraph(f"At post-treatment, {p.scales[0]} scores were lower in the {low(p.parent[0].name)} "
                          f"arm in each {p.v2['mode_word']} (Table 2).", st["body"])]
    if p.parent:  # subgroups of the pooled trial: counts by subgroup, none by arm
        flow = (f"Of the {truth.say(f'{n} randomised participants', ('n_total',))}, {a.n} had "
                f"{low(a.name)} and {b.n} {low(b.name)} at baseline (Table 1).")
        return [Paragraph("Results", st["h1"]), Paragraph("Participants", st["h2"]), Paragraph(flow, st["body"]),
                Paragraph(f"At post-treatment, {p.scales[0]} scores were lower in both subgroups (Table 2).",
                          st["body"])]
    each = ", ".join(truth.say(f"{x.n} {'in' if p.clusters else 'to'} {low(x.name)}", ("n_rand", i))
                     for i, x in enumerate(p.arms))
    if p.kind == "cluster":
        flow = (f"Of 23 schools invited, 16 agreed and were randomised ({p.clusters[0]} per arm), "
                f"{truth.say(f'enrolling {n} students', ('n_total',))}: {each}.")
    else:
        flow = (f"Between March 2021 and May 2022, {n + n // 2 + 17} people were screened and "
                f"{truth.say(f'{n} were randomised', ('n_total',))}: {each}"
                + (" (Figure 1)." if "consort" in p.flags else "."))
    text = [flow]
    if "attrition_text" in p.flags and p.kind == "cluster":
        text.append("At follow-up, " + truth.say(f"{a.lost} of {a.n} students in intervention schools",
                                                 ("dropout", 0)) + " and " +
                    truth.say(f"{b.lost} of {b.n} in control schools", ("dropout", 1)) +
                    " were lost to follow-up (absent on the assessment day or moved school).")
    elif "attrition_text" in p.flags:
        lost = truth.say("lost to follow-up " + " vs ".join(f"{x.lost + x.disc}/{x.n}" for x in p.arms),
                         *[("dropout", i) for i in range(len(p.arms))])
        text.append(f"Post-treatment data were missing for {sum(x.lost + x.disc for x in p.arms)} participants "
                    f"({lost}).")
    if "completers" in p.flags and p.kind != "crossover" and "consort" not in p.flags:
        text.append("The analysis included " + " and ".join(
            truth.say(f"{x.analysed} participants in the {low(x.name)} group", ("analysed", i))
            for i, x in enumerate(p.arms)) + " with outcome data.")
    if p.kind == "crossover":
        text.append(f"{sum(x.n - x.analysed for x in p.arms)} participants did not complete the second "
                    "period and were not included in the within-participant analysis.")
    if "itt" in p.flags and "consort" not in p.flags:
        text.append("All randomised participants were analysed as allocated (" + " and ".join(
            truth.say(f"n = {x.analysed} {low(x.name)}", ("analysed", i)) for i, x in enumerate(p.arms))
            + ").")
    if "ae" in p.flags:  # counts that are not dropouts
        text.append(f"Adverse events were reported by {a.lost + 3} participants in the {low(a.name)} group "
                    f"and {b.lost + 1} in the {low(b.name)} group; 2 serious adverse events (hospital "
                    "admission) occurred, neither related to the intervention, and both participants "
                    "remained in the study.")
    if p.kind == "parallel":  # a mean (SD) in the text that is not a baseline value
        text.append(f"Participants in the {low(a.name)} group completed a mean of 5.8 (SD 2.4) of 8 modules; "
                    f"{a.stopped or 4} stopped using the programme early but completed the assessments.")
    if p.v2.get("extra"):  # a group that was not randomised, reported beside the arms
        e = p.v2["extra"]["arm"]
        text.append(f"In addition, {e.n} eligible people who declined randomisation were followed as a "
                    f"comparison group ({e.name}); they are shown beside the randomised arms in Tables 1 and 2 "
                    "but are not part of the randomised comparison.")
    out = [Paragraph("Results", st["h1"]), Paragraph("Participant flow", st["h2"])]
    out += [Paragraph(t, st["body"]) for t in text]
    if "consort" in p.flags and "tables_at_end" not in p.flags:
        out += figure(p, truth, st, width)
    return out + [Paragraph("Baseline characteristics and outcomes", st["h2"]), Paragraph(
        f"Groups were comparable at baseline (Table 1). At post-treatment the adjusted mean difference in "
        f"{p.scales[0]} favoured the intervention (-3.1, 95% CI -4.4 to -1.8; d = 0.52), and the effect was "
        "maintained at follow-up (Table 2).", st["body"])]


def closing(p: Paper, st: dict, rng: random.Random) -> list:
    refs = []
    for i in range(1, 15):
        first = rng.randint(10, 900)
        refs.append(f"{i}. {rng.choice(SURNAMES)} {rng.choice('ABCDEFGHJK')}, {rng.choice(SURNAMES)} "
                    f"{rng.choice('ABCDEFGHJK')}. {rng.choice(TOPICS)}. {rng.choice(JOURNALS)}. "
                    f"{rng.randint(2008, 2023)};{rng.randint(3, 60)}:{first}-{first + rng.randint(5, 14)}.")
    one, two, three = filler(rng, DISCUSS, p, 3, 3, 2)
    return [Paragraph("Discussion", st["h1"]), Paragraph(one, st["body"]), Paragraph("Limitations", st["h2"]),
            Paragraph(two, st["body"]), Paragraph("Conclusions", st["h2"]),
            Paragraph(f"{three} The programme is a scalable option that could complement routine services.",
                      st["body"]), Paragraph("References", st["h1"])] + [
        Paragraph(r, st["small"]) for r in refs]


# ------------------------------------------------------------------------------------------------ layouts
def jmir_page(p: Paper, author: str, canvas, no: int, w: float, h: float) -> None:
    """A coloured band with the journal's name on top, the citation line at the foot."""
    canvas.setFillColor(colors.HexColor("#006d82"))
    canvas.rect(0, h - 14 * mm, w, 14 * mm, fill=1, stroke=0)
    canvas.setFillColor(colors.white)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(18 * mm, h - 9 * mm, p.journal.upper())
    canvas.setFont("Helvetica", 9)
    canvas.drawRightString(w - 18 * mm, h - 9 * mm, f"{author} et al")
    canvas.setFillColor(colors.grey)
    canvas.setFont("Helvetica", 7)
    canvas.drawString(18 * mm, 10 * mm, f"JMIR 2023 | vol. 10 | e{41000 + 37 * len(p.stem)} | p. {no}")
    canvas.drawRightString(w - 18 * mm, 10 * mm, "(page number not for citation purposes)")


def bmc_page(p: Paper, author: str, canvas, no: int, w: float, h: float) -> None:
    """The citation and page on top; a red article-type label on the first page."""
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(18 * mm, h - 11 * mm, f"{author} et al. {p.journal} (2021) 21:418")
    canvas.drawRightString(w - 18 * mm, h - 11 * mm, f"Page {no}")
    if no == 1:
        canvas.setFillColor(colors.HexColor("#c8102e"))
        canvas.rect(18 * mm, h - 20 * mm, 40 * mm, 6 * mm, fill=1, stroke=0)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(20 * mm, h - 18.3 * mm, "RESEARCH ARTICLE")


def plain_page(p: Paper, author: str, canvas, no: int, w: float, h: float) -> None:
    """An Elsevier-like running head over a rule, the page number at the foot."""
    canvas.setFont("Times-Italic", 8.5)
    canvas.drawString(18 * mm, h - 12 * mm, f"{author} et al." if no > 1 else p.journal)
    canvas.drawRightString(w - 18 * mm, h - 12 * mm, p.journal if no > 1 else "journal homepage: "
                           "www.elsevier.com/locate/journal")
    canvas.line(18 * mm, h - 14 * mm, w - 18 * mm, h - 14 * mm)
    canvas.setFont("Times-Roman", 8.5)
    canvas.drawCentredString(w / 2, 10 * mm, str(no))


def build(p: Paper, path: Path, truth: Truth) -> None:
    """Lay the paper out (one column, or BMC's full-width head over two columns) and write the PDF."""
    rng = random.Random(f"{SEED}-{p.stem}-text")
    st, (w, h) = styles(p.layout), A4
    doc = BaseDocTemplate(str(path), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=22 * mm,
                          bottomMargin=18 * mm, title=p.title, author="metasift synthetic")
    top, x0, width = h - 22 * mm, 18 * mm, doc.width
    draw = {"jmir": jmir_page, "bmc": bmc_page, "plain": plain_page}[p.layout]
    author = SURNAMES[len(p.stem) % len(SURNAMES)]

    def page(canvas, _doc) -> None:
        canvas.saveState()
        draw(p, author, canvas, canvas.getPageNumber(), w, h)
        canvas.restoreState()

    story = title_block(p, truth, st, rng)
    if p.layout == "bmc":
        width, gap, head = (doc.width - 6 * mm) / 2, 6 * mm, 98 * mm
        cols = [Frame(x0 + i * (width + gap), 18 * mm, width, top - 18 * mm) for i in range(2)]
        under = [Frame(x0 + i * (width + gap), 18 * mm, width, top - head - 18 * mm) for i in range(2)]
        first = [Frame(x0, top - head, doc.width, head)] + under
        doc.addPageTemplates([PageTemplate("first", first, onPage=page),
                              PageTemplate("later", cols, onPage=page)])
        story = [NextPageTemplate("later")] + story + [FrameBreak()]
    else:
        one = [Frame(x0, 18 * mm, doc.width, top - 18 * mm)]
        doc.addPageTemplates([PageTemplate("one", one, onPage=page)])
    story += [Paragraph("Introduction", st["h1"])]
    story += [Paragraph(t, st["body"]) for t in filler(rng, INTRO, p, 4, 4)]
    story += methods(p, truth, st) + results(p, truth, st, width)
    tables = baseline_table(p, truth, st, width) + outcome_table(p, truth, st, width, rng)
    if "tables_at_end" in p.flags:
        story += closing(p, st, rng) + [PageBreak()] + tables + [CondPageBreak(120 * mm)]
        story += figure(p, truth, st, width)
    else:
        story += tables + closing(p, st, rng)
    doc.build(story)
    save_picture_text(p, path)


# ------------------------------------------------------------------------------------------------ papers
def arms(stem: str, lo: int, hi: int, *specs: tuple, ratio: tuple = ()) -> list[Arm]:
    """Arms of similar size (or in ``ratio``) with distinct n, so that a printed n names one arm.
    spec = (name, "alias; alias", lost to follow-up (lo, hi), withdrew (lo, hi), stopped the intervention)."""
    g = random.Random(f"{SEED}-{stem}")
    base = g.randint(lo, hi)
    out = [Arm(name, aliases.split("; "), round(base * (ratio[j] if ratio else 1)) + g.randint(-3, 3),
               g.randint(*lost), g.randint(*disc), stopped)
           for j, (name, aliases, lost, disc, stopped) in enumerate(specs)]
    while len({a.n for a in out}) < len(out):  # bump the last arm whose n an earlier arm already has
        max((a for j, a in enumerate(out) if a.n in {b.n for b in out[:j]}), key=out.index).n += 1
    return out


def papers() -> list[Paper]:
    out = [
        Paper("jmir_icbt_phq9", "jmir", "JMIR Mental Health", "Internet-Based Cognitive Behavioral Therapy "
              "for Adults With Mild to Moderate Depression: Randomized Controlled Trial",
              "adults with depressive symptoms", "parallel", "1:1",
              arms("jmir_icbt_phq9", 80, 130,
                   ("iCBT", "internet-based CBT; intervention group", (3, 8), (1, 4), 0),
                   ("Waitlist", "waitlist control; WLC; control group", (3, 8), (1, 4), 0)),
              ["PHQ-9", "GAD-7", "PSS-10"], ["age", "bmi", "edu", "female", "employed", "antidep"], "paren",
              {"consort", "itt", "itt_pp", "attrition_text"}),
        Paper("bmc_ba_app_bdi", "bmc", "BMC Psychiatry", "A behavioural activation app versus "
              "psychoeducation for depression in primary care: a randomised controlled trial",
              "primary care patients with depression", "parallel", "1:1",
              arms("bmc_ba_app_bdi", 50, 110, ("BA app", "behavioural activation app; intervention", (3, 11),
                                               (0, 0), 0),
                   ("Control", "psychoeducation; control group", (3, 11), (0, 0), 0)),
              ["BDI-II", "HADS-A", "BAI"], ["age", "edu", "female", "partner", "prior"], "pm",
              {"attrition_text", "completers"}, special={"BAI": "median"},
              notes="BAI (skewed) is printed as median (IQR) in both tables."),
        Paper("jmir_3arm_cesd", "jmir", "JMIR mHealth and uHealth", "Guided and Unguided Smartphone "
              "Self-Help for Depressive Symptoms in University Students: Three-Arm Randomized Controlled "
              "Trial",
              "university students", "parallel", "1:1:1",
              arms("jmir_3arm_cesd", 60, 90, ("Guided app", "guided; guided self-help", (4, 10), (1, 3), 0),
                   ("Unguided app", "unguided; unguided self-help", (5, 12), (1, 3), 0),
                   ("Waitlist", "waitlist control; WL", (2, 6), (0, 2), 0)),
              ["CES-D", "STAI-S", "PSS-10"], ["age_student", "bmi", "female", "intl"], "nested",
              {"consort", "itt"}, dec=2, notes="Table 1 has an n column under each arm; baseline n is that "
              "row n, which can be below the arm's randomised n."),
        Paper("jad_stepped_hads", "plain", "Journal of Affective Disorders", "Stepped psychological care for "
              "depression and anxiety in older adults with cardiovascular disease: a randomised controlled "
              "trial", "older adults with cardiovascular disease", "parallel", "2:1",
              arms("jad_stepped_hads", 45, 80,
                   ("Stepped care", "stepped-care; intervention", (8, 16), (2, 5), 0),
                   ("Usual care", "UC; control", (4, 9), (1, 3), 0), ratio=(2, 1)),
              ["HADS-D", "HADS-A"], ["age_old", "bmi", "edu", "female", "illness", "antidep"], "words",
              {"consort", "itt", "attrition_text", "tables_at_end"}, special={"HADS-A": "ci"},
              notes="Tables 1-2 and Figure 1 (CONSORT) are printed after the references."),
        Paper("jadol_cluster_dass", "plain", "Journal of Adolescence", "A school-based cognitive behavioural "
              "programme for the prevention of depression, anxiety and stress: a cluster randomised "
              "controlled trial", "secondary school students", "cluster", "1:1",
              arms("jadol_cluster_dass", 150, 195,
                   ("Intervention schools", "intervention; school programme", (9, 18), (0, 0), 0),
                   ("Control schools", "control; usual curriculum", (9, 18), (0, 0), 0)),
              ["DASS-21 Depression", "DASS-21 Anxiety", "DASS-21 Stress"],
              ["age_teen", "grade", "gender", "ethnic", "parents", "parent_uni", "ses", "counsel", "screen",
               "sleep"], "three", {"continued", "attrition_text", "completers"}, clusters=[8, 8],
              notes="Table 1 breaks at a page end; the scales are under 'Table 1 (continued)' with the "
              "header repeated. Arms are the allocated groups of schools; n are students."),
        Paper("inti_crossover_stai", "plain", "Internet Interventions", "A biofeedback breathing app for "
              "state anxiety in adults: a randomised AB/BA crossover trial", "adults with elevated anxiety",
              "crossover", "1:1",
              arms("inti_crossover_stai", 30, 45, ("Sequence AB", "AB; app first", (1, 4), (0, 0), 0),
                   ("Sequence BA", "BA; control first", (1, 4), (0, 0), 0)),
              ["STAI-S", "PSS-10"], ["age", "female", "edu"], "sep", {"completers"},
              notes="Arms are the randomised sequences; outcome-table n completed both periods."),
        Paper("bmc_postnatal_epds", "bmc", "BMC Pregnancy and Childbirth", "An online peer-support programme "
              "for postnatal depressive symptoms: a randomised controlled trial",
              "mothers in the first postnatal year", "parallel", "1:1",
              arms("bmc_postnatal_epds", 70, 120,
                   ("Peer support", "online peer support; intervention", (5, 12), (0, 0), 0),
                   ("Usual care", "enhanced usual care; control", (5, 12), (0, 0), 0)),
              ["EPDS", "GAD-7", "PSS-10"], ["age_mother", "postpartum", "primip", "partner", "edu"], "paren",
              {"attrition_text", "ae", "itt"}, special={"EPDS": "se"},
              notes="Primary EPDS is printed as mean (SE); GAD-7 and PSS-10 as mean (SD). The adverse-event "
              "sentence gives counts that are not dropouts."),
        Paper("jmir_mindfulness_pss", "jmir", "JMIR Formative Research", "A Mindfulness App for Perceived "
              "Stress in University Students: Randomized Controlled Trial", "university students", "parallel",
              "1:1",
              arms("jmir_mindfulness_pss", 70, 140, ("Mindfulness app", "mindfulness; intervention", (6, 14),
                                                     (0, 0), 5),
                   ("Active control", "audiobook control; control", (4, 12), (0, 0), 2)),
              ["PSS-10", "PHQ-9", "GAD-7"], ["age_student", "semester", "female", "intl"], "paren_note",
              {"consort", "completers"}, table_order=["PHQ-9", "GAD-7", "PSS-10"],
              notes="The CONSORT 'Discontinued intervention (still followed up)' counts are not dropouts."),
    ]
    for p in out:
        for a in p.arms:
            a.analysed = a.n if "itt" in p.flags else a.n - a.lost - a.disc
        draw_values(p, random.Random(f"{SEED}-{p.stem}-values"))
    return out


# ------------------------------------------------------------------------------------------------ truth
def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def page_texts(pdf: Path) -> list[list[str]]:
    """Per page, its text in reading order and in layout order (columns side by side), spaces collapsed; the
    page that captions a raster flow diagram also has the diagram's own text (``save_picture_text``)."""
    views = []
    for args in ([], ["-layout"]):
        out = subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True, check=True)
        views.append([norm(t) for t in out.stdout.split("\f")[:-1]])
    texts = [list(v) for v in zip(*views)]
    side = pdf.with_suffix(".picture.json")
    if side.exists():
        caption, drawn = json.loads(side.read_text(encoding="utf-8"))
        for views in texts:
            if any(caption in v for v in views):
                views.append(drawn)
    return texts


def on_page(s: str, view: str) -> bool:
    """Whether ``s`` is printed in a page view; narrow table cells may run together ("(IQR)14"), so spaces
    are ignored when the spaced text is not found."""
    return norm(s) in view or re.sub(r"\s", "", s) in re.sub(r"\s", "", view)


def pages_of(texts: list[list[str]], s: str) -> list[int]:
    return [i for i, views in enumerate(texts, 1) if any(on_page(s, v) for v in views)]


def locate(p: Paper, truth: Truth, texts, key: tuple, value=None, **extra) -> dict:
    """Every page any text of the field is printed on, and its quote; stops if a text is on no page."""
    if not truth.mentions.get(key):
        sys.exit(f"{p.stem}: {key} is never printed")
    pages = set()
    for m in truth.mentions[key]:
        if not (found := pages_of(texts, m)):
            sys.exit(f"{p.stem}: {key}: {m!r} is on no page of the PDF")
        pages |= set(found)
    quote = "; ".join(dict.fromkeys(truth.quotes.get(key) or truth.mentions[key][:1]))
    return ({} if value is None else {"value": value}) | {"pages": sorted(pages), "quote": quote, **extra}


def secondary_truth(p: Paper, truth: Truth, texts) -> dict:
    """A secondary analysis by subgroup: the parent trial's arms with the n the methods print, and nothing
    else by arm (no analysed or lost count, no baseline value: the tables are by subgroup)."""
    key = "parent_n" if p.v2.get("secondary") else "n_rand"  # traps v2 register the methods' sentence apart
    for i, a in enumerate(p.parent or []):  # the tables' headers registered the subgroups' n under these keys
        if key == "n_rand":
            truth.mentions[("n_rand", i)] = [m for m in truth.mentions[("n_rand", i)] if low(a.name) in m]
    arms = [{"name": a.name, "aliases": a.aliases, "n_randomised": locate(p, truth, texts, (key, i), a.n),
             "n_analysed": None, "n_dropout": None} for i, a in enumerate(p.parent or [])]
    none = [{"arm": a.name, "mean": None, "sd": None, "n": None, "pages": [], "quote": "",
             "printed_as": "not reported"} for a in p.parent or []]
    outcomes = [{"label": key, "aliases": [x for x in (SCALES[key][0], key.replace("-21 ", " ")) if x != key],
                 "role": "secondary" if j else "primary", "primary_quote": None if j else {
                     "page": pages_of(texts, truth.mentions[("primary",)][0])[0],
                     "quote": truth.mentions[("primary",)][0]}, "baseline": none}
                for j, key in enumerate(p.scales + p.post_scales)]
    return {"file": f"{p.stem}.pdf", "split": "",
            "design": {"kind": "secondary-analysis", "n_arms": len(arms), "allocation": "1:1", "clusters": None,
                       "notes": p.v2.get("note") or f"Synthetic secondary analysis: tables compare "
                                f"{p.arms[0].name} with {p.arms[1].name}, not the randomised arms."},
            "n_total": locate(p, truth, texts, ("n_total",), sum(a.n for a in p.arms)), "arms": arms,
            "outcomes": outcomes,
            "notes": "Randomised n per arm only in the methods; every table is by subgroup: no per-arm baseline, "
                     "analysed or dropout count is printed."}


def programme_truth(p: Paper, truth: Truth, texts) -> dict:
    """A programme evaluation: the allocated packages with the n the methods print, nothing else by arm."""
    data = secondary_truth(dataclasses.replace(p, parent=p.arms, v2={}), truth, texts)
    data["design"] = {"kind": "cluster", "n_arms": len(p.arms), "allocation": None, "clusters": sum(p.clusters),
                      "notes": "Synthetic mixed-methods programme evaluation: packages allocated to village "
                               "clusters; Table 1 pools all households at endline, Table 2 gives regression "
                               "coefficients."}
    data["notes"] = ("Households per package only in the methods; no per-package baseline mean (SD), analysed or "
                     "dropout count is printed.")
    return data


def truth_json(p: Paper, truth: Truth, texts) -> dict:
    """The truth file: every value with the pages and quote found in the built PDF."""
    if p.v2.get("programme"):
        return programme_truth(p, truth, texts)
    if p.parent:
        return secondary_truth(p, truth, texts)
    arms = []
    for i, a in enumerate(p.arms):
        parts = ([a.lost] + ([a.disc] if a.disc else [])) if "consort" in p.flags else [a.lost + a.disc]
        drop = None if p.kind == "crossover" and "consort" not in p.flags else locate(p, truth, texts, ("dropout", i), a.lost + a.disc,
                                                         parts=parts)
        arms.append({"name": a.name, "aliases": a.aliases,
                     "n_randomised": locate(p, truth, texts, ("n_rand", i), a.n),
                     "n_analysed": locate(p, truth, texts, ("analysed", i), a.analysed), "n_dropout": drop})
    outcomes, prim = [], truth.mentions[("primary",)][0]
    for j, key in enumerate(p.scales):
        how = SPECIAL_AS.get(p.special.get(key), "mean ± SD" if p.style in ("pm", "three", "pm_plus")
                             else "mean (SD)")
        if p.v2.get("pooled"):  # Table 1 prints all participants in one column: no value by arm
            how = "not reported"
        base = [{"arm": a.name, "mean": None, "sd": None, "n": None, "pages": [], "quote": "",
                 "printed_as": how} if how == "not reported" else
                {"arm": a.name, **dict(zip(("mean", "sd"), stat_cells(p, key, *p.base[key][i])[1:])),
                 "n": p.base[key][i][2], **locate(p, truth, texts, ("base", key, i)), "printed_as": how}
                for i, a in enumerate(p.arms)]
        aliases = [x for x in (SCALES[key][0], key.replace("-21 ", " ")) if x != key]
        outcomes.append({"label": key, "aliases": aliases,
                         "role": "secondary" if j else "primary",
                         "primary_quote": None if j else {"page": pages_of(texts, prim)[0], "quote": prim},
                         "baseline": base})
    for key in p.post_scales:  # measured after treatment only: any baseline value would be fabricated
        outcomes.append({"label": key, "aliases": [x for x in (SCALES[key][0], key.replace("-21 ", " ")) if x != key],
                         "role": "secondary", "primary_quote": None,
                         "baseline": [{"arm": a.name, "mean": None, "sd": None, "n": None, "pages": [], "quote": "",
                                       "printed_as": "not reported"} for a in p.arms]})
    fig = pages_of(texts, f"Randomised (n{p.v2.get('flow_eq', '=')}{sum(a.n for a in p.arms)})")
    notes = [p.notes,
             (f"CONSORT flow diagram as a raster image (no text layer) on page {fig[0]}." if p.picture_text
              else f"CONSORT flow diagram with a text layer on page {fig[0]}.") if fig else "No flow diagram.",
             "n_analysed is the ITT population (all randomised, multiple imputation)." if "itt" in p.flags
             else "n_analysed is the completers analysed.",
             "n_dropout = lost to follow-up + withdrew, as printed.",
             "Every outcome scale with per-arm baseline values is listed, the primary first."]
    if "itt" in p.flags:
        notes.append("ITT n_analysed equals n_randomised: both tables' headers count for both fields.")
    if "itt_pp" in p.flags:
        notes.append("Table 2 also has per-protocol rows (completers); they are not n_analysed.")
    if p.kind == "crossover":
        notes.append("n_dropout per sequence is not printed: derivable: randomised − analysed = " +
                     ", ".join(f"{a.name} {a.n - a.analysed}" for a in p.arms) + ".")
    return {"file": f"{p.stem}.pdf", "split": "synthetic-tune" if p.stem in TUNE else "synthetic-holdout",
            "design": {"kind": p.kind, "n_arms": len(p.arms), "allocation": p.allocation,
                       "clusters": sum(p.clusters) if p.clusters else None,
                       "notes": f"Synthetic: {design_words(p)}; made by bench/make_synthetic_trials.py."},
            "n_total": locate(p, truth, texts, ("n_total",), sum(a.n for a in p.arms)), "arms": arms,
            "outcomes": outcomes, "notes": " ".join(n for n in notes if n)}


def numbers(s: str) -> list[float]:
    """The numbers printed in ``s``; "2,301" (a thousands comma, ``Count``) is one number."""
    return [float(x.replace(",", "")) for x in re.findall(r"\d{1,3}(?:,\d{3})+(?![\d.])|\d+(?:\.\d+)?", s)]


def validate(pdf: Path, data: dict) -> int:
    """Read back a truth file against the PDF's text: each quote piece is on a stated page; each number is in
    its quote (a baseline mean/SD/n in its own arm's cells of the row) and printed on every stated page."""
    texts, checks = page_texts(pdf), 0

    def has(nums: list[float], v: float) -> bool:
        return any(abs(x - v) < 1e-9 for x in nums)

    def check(where: str, obj: dict, values: list, cells: list[float] | None = None) -> None:
        nonlocal checks
        for piece in obj["quote"].split("; "):
            if not any(on_page(piece, v) for pg in obj["pages"] for v in texts[pg - 1]):
                sys.exit(f"{pdf.name} {where}: {piece!r} is not on pages {obj['pages']}")
            checks += 1
        for v in (v for v in values if v is not None):
            if not has(cells if cells is not None else numbers(obj["quote"]), v):
                sys.exit(f"{pdf.name} {where}: {v} is not in the quote {obj['quote']!r}")
            for pg in obj["pages"]:  # a dropout's page may print the total or the parts
                if not any(has(numbers(t), v) or has(numbers(t), obj.get("value", v)) for t in texts[pg - 1]):
                    sys.exit(f"{pdf.name} {where}: {v} is not printed on page {pg}")
            checks += 1

    check("n_total", data["n_total"], [data["n_total"]["value"]])
    for a in data["arms"]:
        check(f"{a['name']} n_randomised", a["n_randomised"], [a["n_randomised"]["value"]])
        if a["n_analysed"]:
            check(f"{a['name']} n_analysed", a["n_analysed"], [a["n_analysed"]["value"]])
        if a["n_dropout"]:
            drop = a["n_dropout"]
            if sum(drop["parts"]) != drop["value"]:
                sys.exit(f"{pdf.name} {a['name']}: dropout parts do not add up")
            check(f"{a['name']} n_dropout", drop, drop["parts"])
    for o in data["outcomes"]:
        q = o["primary_quote"]
        if q and norm(q["quote"]) not in " ".join(texts[q["page"] - 1]):
            sys.exit(f"{pdf.name}: the primary-outcome sentence is not on page {q['page']}")
        k = len(o["baseline"])
        for i, b in enumerate(o["baseline"]):  # the row: label, then each arm's cells in order
            if b["printed_as"] == "not reported":
                continue
            row = numbers(re.sub(r"\(95% CI\)", "", b["quote"].removeprefix(o["label"])))
            cells = row[i * len(row) // k:(i + 1) * len(row) // k]
            with_n = len(cells) == 3 and b["printed_as"] == "mean (SD)"  # nested: n, mean, SD
            check(f"{o['label']} {b['arm']}", b, [b["mean"], b["sd"]] + ([b["n"]] if with_n else []), cells)
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "synthetic")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    TRUTH_DIR.mkdir(parents=True, exist_ok=True)
    for p in papers():
        truth, pdf, path = Truth(), args.out / f"{p.stem}.pdf", TRUTH_DIR / f"{p.stem}.json"
        build(p, pdf, truth)
        texts = page_texts(pdf)
        data = truth_json(p, truth, texts)
        scales_on = data["outcomes"][0]["baseline"][0]["pages"]
        if "continued" in p.flags and pages_of(texts, "Table 1 (continued)") != scales_on:
            sys.exit(f"{p.stem}: the scales are not on the 'Table 1 (continued)' page")
        text = json.dumps(data, indent=2, ensure_ascii=False)  # then lists of scalars on one line
        text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]",
                      text)
        path.write_text(text + "\n", encoding="utf-8")
        checks = validate(pdf, json.loads(path.read_text(encoding="utf-8")))
        print(f"{p.stem:22} {len(texts)} pages  {checks:3d} checks ok  {pdf}")


if __name__ == "__main__":
    main()
