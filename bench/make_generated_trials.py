"""Procedurally generated psychology-trial reports with their truth: a corpus large enough to split and measure.

Run: .venv/bin/python bench/make_generated_trials.py [--n 40] [--out bench/out/generated]
     [--first K --name NAME] [--traps v2]   (a fresh draw: --traps v2 --first 6000 --name gen2 --out bench/out/gen2)

The 8 hand-designed papers of ``make_synthetic_trials.py`` are too few to tune on one half and measure on the
other. This draws ``--n`` papers from the same builder with every choice random (seeded per paper, so a rerun
gives the same bytes): journal layout (JMIR-like, BMC two-column, Elsevier-like), statistic style (Mean (SD),
M ± SD, mean (standard deviation), a three-line header, separate Mean/SD columns, a nested n/Mean/SD header),
2 or 3 arms with names from a pool, 1:1 or 2:1 allocation, a few cluster and crossover trials, 1-3 scales in
any table order (one may be printed as mean (SE), mean (95% CI) or median (IQR)), descriptor rows, and the
traps real reports set:

- a Total column and a p-value column beside the arms;
- a secondary scale measured after treatment only (no baseline value: any baseline read for it is fabricated);
- tables that call the arms "Intervention" and "Control" while the text names them;
- the scales' baseline values only as the first row of the outcome table (Table 1 has descriptors only);
- a categorical row that names the primary scale ("PHQ-9 ≥ 10, n (%)") above its mean (SD) row;
- secondary analyses: the randomised arms named with their n in the methods only, every table by subgroup
  (symptom severity, sex, age, prior treatment, adherence): no value by arm beyond the randomised n;
- ITT and per-protocol rows in one table, completers analyses, attrition in text or in a CONSORT diagram,
  adverse-event counts that are not dropouts, tables and flow diagram after the references, a baseline table
  continued over a page break.

Truth goes to ``OUT/truth/<stem>.json`` in the schema of ``tests/fixtures/extraction_truth/README.md``, with
"split" "generated-tune" for the papers ``random.Random(16).sample(range(n), n // 2)`` picks and
"generated-holdout" for the rest. Rules may be tuned on the tune half only; ``bench_extract_fields.py --split
generated-holdout`` is the figure that measures generalisation within this generator. It is not a substitute
for real papers: the layouts are reportlab's, cleaner than a publisher's.

``--traps v2`` (``add_traps_v2``) adds to about half the papers the shapes of real secondary reports: a
parent trial named in the title, tables by subgroup x arm or by baseline category, a non-randomised column, a
pooled Table 1, programme evaluations, "±" printed as "+". The default (v1) draws are byte-identical to before.
``--traps v3`` adds flow diagrams printed as raster images (``add_traps_v3``). ``--traps v4`` adds, on top of v3,
large trials (60% of the parallel trials: hundreds to thousands per arm, every head count printed "2,301" by
``make_synthetic_trials.Count``, losses of 12-140 per arm), 40% of them drug trials whose arms are named by their
dose against placebo ("Escitalopram 10 mg", "Escitalopram 20 mg", "Placebo"); ``make_html_trials.py`` sets the
table cells of half its v4 papers flush left. The v1-v3 draws are byte-identical to before.
``--first K --name NAME`` draws papers K, K+1, ... as NAME_00, NAME_01, ... split NAME-tune / NAME-holdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_synthetic_trials as syn  # a sibling script, not a package

OUT = syn.REPO / "bench" / "out" / "generated"
INTERVENTIONS = [("iCBT", "internet-based CBT; intervention group"), ("Guided self-help", "guided; intervention"),
                 ("Mindfulness app", "mindfulness; intervention"), ("Peer support", "online peer support"),
                 ("Coaching", "coach-guided programme; intervention"), ("Behavioural activation", "BA"),
                 ("Stress management", "stress management programme"), ("Problem-solving therapy", "PST"),
                 ("Social media programme", "social media intervention"), ("Unguided app", "unguided")]
DRUGS = [("Escitalopram", (10, 20)), ("Sertraline", (50, 100)), ("Vortioxetine", (10, 20)), ("Agomelatine", (25, 50)),
         ("Duloxetine", (60, 120))]
CONTROLS = [("Waitlist", "waitlist control; control group"), ("Usual care", "treatment as usual; TAU; control"),
            ("Attention control", "psychoeducation; control"), ("Information leaflet", "leaflet; control group")]
POPULATIONS = ["university students", "adults with depressive symptoms", "employees with high stress",
               "mothers in the first postnatal year", "older adults with chronic illness", "young adults"]
JOURNALS = {"jmir": ["JMIR Mental Health", "JMIR Formative Research", "JMIR mHealth and uHealth"],
            "bmc": ["BMC Psychiatry", "BMC Public Health"],
            "plain": ["Journal of Affective Disorders", "Internet Interventions", "Behaviour Research and Therapy"]}
SUBGROUPS = [("Mild symptoms", "Moderate to severe symptoms"), ("Women", "Men"), ("Aged under 30", "Aged 30 or over"),
             ("No prior treatment", "Prior treatment"), ("High adherence", "Low adherence"),
             ("Full-time students", "Part-time students")]
AGES = ["age", "age_student", "age_mother", "age_old"]
OTHER = ["bmi", "edu", "female", "employed", "antidep", "partner", "prior", "intl", "gender", "ethnic", "sleep",
         "screen", "illness"]
CUTOFF = {"PHQ-9": 10, "BDI-II": 20, "CES-D": 16, "HADS-D": 8, "HADS-A": 8, "DASS-21 Depression": 14,
          "DASS-21 Anxiety": 10, "DASS-21 Stress": 19, "EPDS": 13, "GAD-7": 10, "STAI-S": 40, "BAI": 16,
          "PSS-10": 20}


def consort_fits(layout: str, arms: list[syn.Arm]) -> bool:
    """Whether every arm's CONSORT box line fits its column (``syn.consort`` draws unwrapped strings)."""
    width = (syn.A4[0] - 36 * syn.mm) - (0 if layout != "bmc" else 6 * syn.mm)
    width /= 2 if layout == "bmc" else 1
    fs = 8 if len(arms) == 2 else 7.2
    longest = max(f"Allocated to {syn.low(a.name)} (n={a.n})" for a in arms)
    return syn.stringWidth(max([longest, "Received allocated intervention (n=000)"], key=len), "Helvetica", fs) \
        + 8 < width / len(arms) - 8


def draw_paper(i: int, traps: str = "v1") -> syn.Paper:
    """One paper with every choice drawn from ``random.Random(f"generated-{i}")``; with ``traps="v2"`` the
    traps of ``add_traps_v2`` drawn from ``random.Random(f"generated-{i}-v2")`` on top (the v1 draws stay)."""
    stem, g = f"gen_{i:02d}", random.Random(f"generated-{i}")
    kind = g.choices(["parallel", "cluster", "crossover"], [0.8, 0.1, 0.1])[0]
    layout = g.choice(["jmir", "bmc", "plain"])
    style = g.choice(["paren", "paren_note", "pm", "words", "three", "sep", "nested"])
    scales = g.sample(sorted(syn.SCALES), g.choice([1, 2, 2, 3]))
    post = [s for s in g.sample(sorted(set(syn.SCALES) - set(scales)), 1) if g.random() < 0.4]
    n_arms = 2 if kind != "parallel" else g.choice([2, 2, 2, 3])
    if n_arms == 3 and layout == "bmc":  # reportlab does not wrap header cells: 3 arms overflow a half-page column
        layout = "jmir"
    ratio = (2, 1) if n_arms == 2 and kind == "parallel" and g.random() < 0.2 else ()
    if kind == "cluster":
        specs = [("Intervention schools", "intervention; school programme"), ("Control schools", "control")]
    elif kind == "crossover":
        specs = [("Sequence AB", "AB; app first"), ("Sequence BA", "BA; control first")]
    else:
        specs = g.sample(INTERVENTIONS, n_arms - 1) + [g.choice(CONTROLS)]
    lo, hi, lost = g.choice([30, 45, 60, 90, 150]), 40, (2, 12)
    big = traps == "v4" and kind == "parallel" and random.Random(f"generated-{i}-v4").random() < 0.6
    if big:  # a large trial: arms of hundreds to thousands, counts printed "2,301"
        v4 = random.Random(f"generated-{i}-v4-n")
        lo = v4.choice([450, 800, 1200, 1800, 2600, 3400])
        hi, lost = lo // 4, (12, 140)
        if v4.random() < 0.4:  # a drug trial: arms named by their dose, one or two doses against placebo
            drug, doses = v4.choice(DRUGS)
            specs = [(f"{drug} {d} mg", f"{drug.lower()} {d} mg; {drug.lower()}") for d in doses[:n_arms - 1]] + \
                [("Placebo", "placebo; control")]
    arms = syn.arms(stem, lo, lo + hi, *[(name, aliases, lost, (0, 4) if g.random() < 0.5 else (0, 0), 0)
                                         for name, aliases in specs], ratio=ratio)
    for a in arms:
        a.n = syn.Count(a.n)
    flags = {f for f, share in (("consort", 0.6), ("itt", 0.5), ("attrition_text", 0.5), ("ae", 0.3),
                                ("tables_at_end", 0.2), ("total", 0.4), ("pcol", 0.4)) if g.random() < share}
    room = 3 if layout == "bmc" else 5  # value columns a table's width holds without cells running together
    for extra in ("pcol", "total"):
        if extra in flags and n_arms + len(flags & {"pcol", "total"}) > room:
            flags.discard(extra)
    if "consort" in flags and not consort_fits(layout, arms):
        flags.discard("consort")  # vector strings do not wrap: a box too narrow would garble the text layer
    if "consort" not in flags:
        flags.add("attrition_text")
        flags.discard("tables_at_end")  # the builder puts the flow diagram after the references with the tables  # the dropouts are printed somewhere
    if "itt" in flags and g.random() < 0.4:
        flags.add("itt_pp")
    if "itt" not in flags:
        flags.add("completers")
    if kind == "crossover":
        flags -= {"itt", "itt_pp", "attrition_text"}
    descriptors = [g.choice(AGES)] + g.sample(OTHER, g.randint(2, 6))
    if g.random() < 0.3:  # a categorical row that names the primary scale
        key = f"cut_{scales[0]}"
        syn.DESCRIPTORS[key] = (f"{scales[0]} ≥ {CUTOFF[scales[0]]}, n (%)", [("", 0.46)])
        descriptors.append(key)
    if len(descriptors) >= 6 and g.random() < 0.3:
        flags.add("continued")
    special = {g.choice(scales[1:]): g.choice(["se", "median", "ci"])} if len(scales) > 1 and g.random() < 0.3 \
        and style not in ("sep", "nested") else {}  # one-cell statistics do not fit Mean and SD columns
    if "ci" in special.values() and (layout == "bmc" or n_arms + len(flags & {"pcol", "total"}) > 2):
        special = {k: "se" for k in special}  # a CI cell wraps in a narrow column and its quote breaks
    order = g.sample(scales, len(scales)) if g.random() < 0.3 else None
    population = g.choice(POPULATIONS) if kind == "parallel" else \
        "secondary school students" if kind == "cluster" else "adults with elevated anxiety"
    names = " versus ".join(a.name.lower() for a in arms)
    title = f"{names.capitalize()} for {syn.SCALES[scales[0]][1]} in {population}: a randomised controlled trial"
    p = syn.Paper(stem, layout, g.choice(JOURNALS[layout]), title, population, kind,
                  ":".join(map(str, ratio)) if ratio else ":".join("1" * len(arms)), arms, scales, descriptors,
                  style, flags, table_order=order, special=special, dec=g.choice([1, 1, 2]), post_scales=post,
                  clusters=[8, 8] if kind == "cluster" else None)
    for a in p.arms:
        a.analysed = a.n if "itt" in p.flags else a.n - a.lost - a.disc
    secondary = random.Random(f"generated-{i}-secondary")  # its own stream: the other papers' draws stay as they were
    if kind == "parallel" and len(arms) == 2 and secondary.random() < 0.25:
        as_secondary(p, secondary)
    more = random.Random(f"generated-{i}-more")  # likewise for the later traps
    if kind == "parallel" and len(p.arms) == 2 and not p.parent and more.random() < 0.3:
        p.head_names = ["Intervention", "Control"]  # the prose names the arms, the tables do not
        p.arms[0].aliases.append("Intervention")
        p.arms[1].aliases.append("Control")
    if not p.parent and p.kind == "parallel" and more.random() < 0.25:
        p.flags.add("baseline_in_outcomes")
    syn.draw_values(p, random.Random(f"generated-{i}-values"))
    if "baseline_in_outcomes" in p.flags:  # Table 2's header counts the analysed
        p.base = {k: [(m, sd, a.analysed) for (m, sd, _), a in zip(v, p.arms)] for k, v in p.base.items()}
    if traps in ("v2", "v3", "v4"):
        add_traps_v2(p, i)
    if traps in ("v3", "v4"):
        add_traps_v3(p, i)
    if traps == "v4":
        p.v2["v4"] = True
    if big and not p.v2.get("programme"):  # a programme evaluation draws its own households
        p.v2["big"] = True
    return p


FLOW_CAPTIONS = ["CONSORT flow diagram of participants.", "Flow of participants through the trial.",
                 "Participant flow (CONSORT).", "Trial profile.", "Study flow chart."]


def add_traps_v3(p: syn.Paper, i: int) -> None:
    """Flow diagrams printed as pictures, drawn from ``random.Random(f"generated-{i}-v3")`` on top of a v2
    paper: half the papers without a CONSORT diagram that could print one get one, and three in four
    diagrams become a raster image with no text layer (PNG, or JPEG at quality 45-85; 96-300 dpi; Helvetica,
    its bold or Times; "(n=12)" or "(n = 12)"; a box fill; centred lines; the count on its own line under the
    label), under one of several captions. What the picture prints counts as printed on its page
    (``syn.save_picture_text``), as a reader of the figure sees it; an extractor reaches it only by OCR."""
    g = random.Random(f"generated-{i}-v3")
    if "consort" not in p.flags and not p.parent and not p.v2.get("programme") and g.random() < 0.5 \
            and consort_fits(p.layout, p.arms):
        p.flags.add("consort")  # more diagrams to read: the text then leaves the analysed counts to it
    if "consort" not in p.flags or g.random() >= 0.75:
        return
    p.v2["picture"] = {"dpi": g.choice([96, 110, 150, 150, 200, 300]),
                       "quality": g.choice([None, None, 85, 70, 60, 45])}
    p.v2["flow_caption"] = g.choice(FLOW_CAPTIONS)
    p.v2["flow_font"] = g.choice(["Helvetica", "Helvetica", "Times-Roman", "Helvetica-Bold"])
    p.v2["flow_eq"] = g.choice(["=", " = "])
    p.v2["flow_fill"] = g.choice(["#ffffff", "#ffffff", "#e8eef4", "#eeeeee", "#fdf3d8"])
    p.v2["flow_centre"] = g.random() < 0.6
    p.v2["flow_split"] = g.random() < 0.6


def as_secondary(p: syn.Paper, g: random.Random) -> None:
    """Make ``p`` a secondary analysis: the randomised arms are named with their n in the methods only, and every
    table and sentence compares two subgroups of the pooled trial instead."""
    first, second = g.choice(SUBGROUPS)
    total = sum(a.n for a in p.arms)
    cut = syn.Count(round(total * g.uniform(0.35, 0.6)))
    p.parent, p.arms = p.arms, [syn.Arm(first, [], cut, 0), syn.Arm(second, [], total - cut, 0)]
    for a in p.arms:
        a.analysed = a.n
    p.flags = {f for f in p.flags if f in ("total", "pcol", "tables_at_end", "continued")} - {"tables_at_end"}
    p.title = f"{p.title.split(':')[0]} by {first.lower()}: a secondary analysis of a randomised controlled trial"


ACRONYMS = ["CALM-2", "MOOD-NET", "STEP-UP", "BRIGHT-D", "REACH-U", "ACT-NOW", "SUNRISE", "PROMISE-3", "EMBRACE",
            "THRIVE-2", "RESTORE", "HOPE-U", "ANCHOR", "BALANCE-2", "CLEAR-MIND", "UPLIFT"]
EXTRA_GROUPS = ["Observational cohort (not randomised)", "Group A (no symptoms; not randomised)",
                "Non-randomised comparison group", "Declined randomisation (observed)"]
POOLED = ["All participants", "All randomised participants", "Total sample"]


def add_traps_v2(p: syn.Paper, i: int) -> None:
    """The traps of real secondary reports, drawn from ``random.Random(f"generated-{i}-v2")`` on top of a v1
    paper: about half the papers get one of

    - a secondary analysis that names its parent trial ("insights from the CALM-2 trial", "a prespecified
      subgroup analysis of ...") without saying "secondary analysis of": the randomised arms and their n in one
      sentence of the methods, the tables by subgroup (``subgroup``), by subgroup x arm under a spanning header
      (``arm_by_subgroup``: the arm columns' n are subgroup n) or by category of the primary scale or tertile of
      a score (``category``): truth has the parent arms' n and nothing else by arm;
    - a secondary-endpoint report of a named trial, with tables by arm as usual (``endpoint``);
    - a non-randomised comparison group printed as a column beside the arms (``extra``): not an arm;
    - Table 1 with one all-participants column (``pooled``; most crossovers): no baseline by arm;

    and, independently, "±" typeset as "+" in the tables (style ``pm_plus``; truth is mean and SD)."""
    g = random.Random(f"generated-{i}-v2")
    p.v2["traps"] = "v2"  # builder fixes that apply to v2 papers only (a header cell's width counts every column)
    if p.kind == "cluster":  # the cluster attrition sentence prints those lost to follow-up only (as html does)
        for a in p.arms:
            a.disc, a.analysed = 0, a.n if "itt" in p.flags else a.n - a.lost
    plain = p.kind == "parallel" and not p.parent
    kinds = (["subgroup", "arm_by_subgroup", "category", "endpoint", "extra"] if plain and len(p.arms) == 2
             else ["subgroup", "arm_by_subgroup", "category"] if p.parent else [])  # a v1 secondary: reworded
    if not p.parent and "baseline_in_outcomes" not in p.flags:
        kinds.append("pooled")
    if p.kind == "cluster" or (plain and len(p.arms) == 3):
        kinds.append("programme")
    r, kind = g.random(), None
    if p.kind == "crossover" and kinds:
        kind = "pooled" if r < 0.7 else None
    elif p.kind == "cluster":
        kind = "programme" if r < 0.6 else "pooled" if r < 0.75 and "pooled" in kinds else None
    elif len(p.arms) == 2 or p.parent:  # the kinds the real secondary reports have most weigh most
        weight = {"subgroup": 3, "arm_by_subgroup": 3, "category": 3, "endpoint": 2, "extra": 4, "pooled": 1}
        kind = g.choices(kinds, [weight[k] for k in kinds])[0] if r < 0.65 and kinds else None
    elif kinds and r < 0.4:
        kind = g.choice(kinds)
    if kind in ("subgroup", "arm_by_subgroup", "category"):
        as_secondary_v2(p, g, kind, i)
    elif kind == "endpoint":
        trial, a, b = g.choice(ACRONYMS), syn.low(p.arms[0].name), syn.low(p.arms[1].name)
        construct = syn.SCALES[p.scales[0]][1]
        p.v2["endpoint"] = trial
        p.title = g.choice([f"Quality-of-life and adherence outcomes in the {trial} trial of {a} versus {b}",
                            f"Secondary outcomes of the {trial} randomised trial: {construct}, quality of life "
                            "and adherence"])
    elif kind == "extra":
        add_extra_group(p, g, i)
    elif kind == "programme":
        as_programme(p, g, i)
    elif kind == "pooled":
        p.v2["pooled"] = g.choice(POOLED)
        p.v2["caption1"] = "Baseline characteristics of all participants"
        p.notes = (p.notes + " Table 1 prints all participants in one column: no baseline value by arm.").strip()
    if g.random() < 0.3 and p.style in ("pm", "three", "paren", "paren_note", "words") and kind != "programme":
        p.style = "pm_plus"
        p.notes = (p.notes + " Tables print mean ± SD with the ± typeset as '+'.").strip()


PACKAGES = ["Cash transfer only", "Cash plus lump sum", "Cash plus training", "Cash plus lump sum and training"]


def as_programme(p: syn.Paper, g: random.Random, i: int) -> None:
    """A mixed-methods programme evaluation: four packages allocated to village clusters, households as n, a
    pooled endline table and a table of regression coefficients; no CONSORT, no per-arm mean (SD)."""
    ns = g.sample(range(140, 320), 4)
    p.kind, p.arms = "cluster", [syn.Arm(name, [], k, 0, analysed=k) for name, k in zip(PACKAGES, ns)]
    p.clusters = [g.randint(5, 12) for _ in PACKAGES]
    p.population = "households in rural districts"
    p.parent, p.head_names, p.flags, p.special = None, None, set(), {}
    p.title = g.choice([f"Can an integrated social protection programme reduce {syn.SCALES[p.scales[0]][1]}? "
                        "Mixed-methods evidence from a cluster-allocated evaluation",
                        "Cash plus: psychological outcomes of an integrated social protection programme, a "
                        "mixed-methods evaluation"])
    p.v2["programme"] = True
    p.base, p.desc = {}, {}
    syn.draw_values(p, random.Random(f"generated-{i}-v2-values"))


def single_cell(p: syn.Paper, g: random.Random) -> None:
    """A paper whose tables get many columns: one cell per value, no 95% CI cell, no half-page column."""
    if p.style == "nested":  # the row n drawn for the nested header's n column is printed no more
        p.base = {k: [(m, sd, a.analysed if "baseline_in_outcomes" in p.flags else a.n)
                      for (m, sd, _), a in zip(v, p.arms)] for k, v in p.base.items()}
    if p.style in ("sep", "nested", "three"):
        p.style = g.choice(["paren", "pm"])
    p.special = {k: "se" if v == "ci" else v for k, v in p.special.items()}
    if p.layout == "bmc":
        p.layout = g.choice(["jmir", "plain"])
        p.journal = g.choice(JOURNALS[p.layout])


def as_secondary_v2(p: syn.Paper, g: random.Random, mode: str, i: int) -> None:
    """A secondary analysis of a named parent trial: the v1 arms become ``parent``, the table columns are
    subgroups, subgroup x arm cells or categories of a baseline score."""
    parent = p.parent or p.arms
    total = sum(a.n for a in parent)
    trial, adj = g.choice(ACRONYMS), g.choice(["exploratory", "post hoc", "prespecified"])
    interv, prim = syn.low(parent[0].name), p.scales[0]
    construct = syn.SCALES[prim][1]
    if mode == "category":
        single_cell(p, g)
        cut = CUTOFF[prim]
        if g.random() < 0.6:
            labels = [f"{prim} < {cut}", f"{prim} {cut}–{cut + 4}", f"{prim} ≥ {cut + 5}"]
            what, word, phrases = f"baseline {prim} category", "category", [f"{x} category" for x in labels]
            title = g.choice([f"Results from the {trial} randomised trial by baseline severity",
                              f"{construct.capitalize()} outcomes by {what}: exploratory analyses from the "
                              f"{trial} trial"])
        else:
            var = g.choice([f"{prim} score", "age", "sleep duration"])
            labels = ["Lowest tertile", "Middle tertile", "Highest tertile"]
            what, word, phrases = f"tertile of baseline {var}", "tertile", [x.lower() for x in labels]
            title = f"{interv.capitalize()} and {construct} by baseline {var}: insights from the {trial} trial"
        ns = [syn.Count(round(total * g.uniform(0.25, 0.4))) for _ in range(2)]
        ns.append(total - sum(ns))
        cols = [syn.Arm(x, [], k, 0) for x, k in zip(labels, ns)]
        groups = list(zip(phrases, ns))
        p.flags -= {"total", "pcol", "continued"}
    else:
        first, second = g.choice(SUBGROUPS + [("Younger participants", "Older participants")])
        what, word = f"{first.lower()} versus {second.lower()}", "subgroup"
        if mode == "subgroup":
            cut = syn.Count(round(total * g.uniform(0.35, 0.6)))
            cols = [syn.Arm(first, [], cut, 0), syn.Arm(second, [], total - cut, 0)]
            sizes = [cut, total - cut]
        else:
            single_cell(p, g)
            cuts = [syn.Count(round(a.n * g.uniform(0.35, 0.6))) for a in parent]
            cols = [syn.Arm(a.name, [], c, 0) for a, c in zip(parent, cuts)] + \
                [syn.Arm(a.name, [], a.n - c, 0) for a, c in zip(parent, cuts)]
            sizes = [sum(cuts), total - sum(cuts)]
            p.v2["span"] = [(first, 2), (second, 2)]
            p.flags -= {"total", "pcol", "continued"}
        groups = [(f"{x.lower()} subgroup", k) for x, k in zip((first, second), sizes)]
        titles = [f"{construct.capitalize()} after {interv} in {first.lower()} and {second.lower()}: insights "
                  f"from the {trial} trial",
                  f"Who benefits from {interv}? Exploratory analyses from the {trial} trial",
                  f"{interv.capitalize()} for {construct} in {first.lower()} and {second.lower()}: a prespecified "
                  f"subgroup analysis of the {trial} trial"]
        if first.startswith(("Younger", "Aged")):
            titles.append(f"{interv.capitalize()} in the younger and older participants of the {trial} trial")
        title = g.choice(titles)
    p.parent, p.arms, p.head_names, p.title = parent, cols, None, title
    for a in p.arms:
        a.analysed = a.n
    p.flags = {f for f in p.flags if f in ("total", "pcol", "continued")}
    p.v2.update(secondary=trial, mode=mode, mode_word=word, what=what, adj=adj, wording=g.randrange(3),
                groups=groups, caption1=f"Baseline characteristics by {what}", caption2=f"Outcomes by {what}",
                note=f"Synthetic {adj} analysis of the {trial} trial ({mode}): the table columns are "
                     f"{', '.join(a.name for a in cols)}, not the randomised arms; the arms' n are printed in "
                     "the methods only.")
    p.base, p.desc = {}, {}
    syn.draw_values(p, random.Random(f"generated-{i}-v2-values"))


def add_extra_group(p: syn.Paper, g: random.Random, i: int) -> None:
    """A group that was not randomised, printed as a column before or after the arms in both tables."""
    if p.layout == "bmc":  # three columns of values overflow a half-page column
        single_cell(p, g)
    taken = {a.n for a in p.arms} | {sum(a.n for a in p.arms)}
    n = g.randint(25, 60)
    while n in taken:
        n += 1
    extra = syn.Arm(g.choice(EXTRA_GROUPS), [], n, 0, analysed=n)
    values = dataclasses.replace(p, arms=[extra], base={}, desc={})
    syn.draw_values(values, random.Random(f"generated-{i}-v2-extra"))
    p.v2["extra"] = {"arm": extra, "pos": g.choice(["first", "last"]), "base": {k: v[0] for k, v in values.base.items()},
                     "desc": {k: v[0] for k, v in values.desc.items()}}
    p.flags -= {"total", "pcol"}
    p.notes = (p.notes + f" A non-randomised group ({extra.name}, n = {n}) is printed beside the arms in Tables 1 "
               "and 2; it is not an arm.").strip()


def v2_summary(p: syn.Paper) -> str:
    """The v2 traps a paper carries, for the build log."""
    kinds = [p.v2.get("mode", "")] + [k for k in ("endpoint", "extra", "pooled", "programme", "big") if p.v2.get(k)]
    kinds += ["pm_plus"] if p.style == "pm_plus" else []
    kinds += [f"picture@{p.v2['picture']['dpi']}dpi"] if p.v2.get("picture") else []
    return "  v2: " + " ".join(k for k in kinds if k) if any(kinds) else ""


def draw_options(ap: argparse.ArgumentParser, *, n: int, out: Path, first: int, name: str, name_help: str) -> None:
    """The options a corpus draw takes (this script's and ``make_html_trials.py``'s), with their defaults."""
    ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--out", type=Path, default=out)
    ap.add_argument("--first", type=int, default=first, help="the generator seed of the first paper")
    ap.add_argument("--name", default=name, help=name_help)
    ap.add_argument("--traps", choices=("v1", "v2", "v3", "v4"), default="v1",
                    help="v2 adds the traps of real secondary reports (add_traps_v2) to about half the papers; "
                         "v3 adds to v2 flow diagrams printed as raster images (add_traps_v3); v4 adds to v3 "
                         "large trials (hundreds to thousands per arm, counts printed '2,301') in 60%% of the "
                         "parallel trials")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    draw_options(ap, n=40, out=OUT, first=0, name="generated",
                 name_help="split name (NAME-tune / NAME-holdout) and, unless 'generated', stem prefix (NAME_00 ...)")
    args = ap.parse_args()
    truth_dir = args.out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    tune = set(random.Random(16).sample(range(args.n), args.n // 2))
    for i in range(args.n):
        p = draw_paper(args.first + i, args.traps)
        if args.name != "generated":
            p.stem = f"{args.name}_{i:02d}"
        truth, pdf = syn.Truth(), args.out / f"{p.stem}.pdf"
        syn.build(p, pdf, truth)
        try:
            data = syn.truth_json(p, truth, syn.page_texts(pdf))
        except SystemExit as exc:  # a value the layout left unfindable: no truth rather than a wrong one
            (truth_dir / f"{p.stem}.json").unlink(missing_ok=True)
            print(f"{p.stem} left out: {exc}")
            continue
        data["split"] = f"{args.name}-tune" if i in tune else f"{args.name}-holdout"
        data["design"]["notes"] = data["design"]["notes"].replace("make_synthetic_trials", "make_generated_trials")
        text = json.dumps(data, indent=2, ensure_ascii=False)
        text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
        path = truth_dir / f"{p.stem}.json"
        path.write_text(text + "\n", encoding="utf-8")
        checks = syn.validate(pdf, json.loads(path.read_text(encoding="utf-8")))
        print(f"{p.stem} {data['split']:18} {p.kind:9} {p.layout:5} {p.style:10} {len(p.arms)} arms  "
              f"{checks:3d} checks ok  {' '.join(sorted(p.flags))}{v2_summary(p)}")


if __name__ == "__main__":
    main()
