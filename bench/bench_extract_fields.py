"""Benchmark (issue #16): the offline extractor field by field on the 19 shared trial reports, by split.

Run: .venv/bin/python bench/bench_extract_fields.py [--split SPLIT] [--details] [--json]

SPLIT: tune | holdout | synthetic-tune | synthetic-holdout | generated-tune | generated-holdout | html-tune |
html-holdout | htmlN-tune | htmlN-holdout (N = 2..16) | genN-tune | genN-holdout (N = 2..14) | pmc-tune |
pmc-probe | pmc-probe2 | pmc-probe3 | pmc-probe4 | pmc-probe5 | pmc-fresh2 | pmc2-tune (pmc-tune's articles in other layouts) | all. Rules are written
against the tune halves only; the holdout figures are the ones that say how the extractor does on papers nobody tuned it to. gen2 and html6 are drawn with ``--traps v2`` (secondary analyses that name a
parent trial, subgroup x arm headers, baseline by category, a non-randomised column, a pooled Table 1, programme
evaluations, "±" printed as "+"): built when missing by ``make_generated_trials.py --traps v2 --first 6000 --n 40
--name gen2`` and ``make_html_trials.py --traps v2 --first 7000 --n 24 --name html6``.

Truth: ``tests/fixtures/extraction_truth/<stem>.json`` (schema and split in its README; hand-checked on the
rendered pages) for the PDFs in ``../shared/data/pdfs`` and ``../shared/data/pdfs/dev`` (skipped when
absent), and ``tests/fixtures/extraction_truth/synthetic/`` for the generated psychology-trial PDFs
(``bench/make_synthetic_trials.py``, built into ``bench/out/synthetic`` when missing). pmc-tune / pmc-probe* / pmc-fresh2:
real open-access trial reports (PubMed Central) typeset by ``bench/make_pmc_trials.py`` from ``bench/corpus/pmc``
(skipped when absent); their truth is written by reading the articles, not drawn with them.

Scored fields: each truth arm's n randomised / analysed / dropout, and for each truth outcome each arm's
baseline mean / SD / n, where the extractor is asked for that outcome (``extract(doc, [outcome])``, as
``extract-pdf --outcome`` does). A field the paper does not print is null in the truth:

- **hit**: the predicted value equals the printed one (1e-6); its evidence page is right when it is one of the
  pages the truth lists (a second figure also counts a hit whose quote is on the page it cites and prints the
  value: a number printed in two places, the abstract and the results, is evidenced by either);
- **wrong**: a different value, or any value where the truth is null (**fabricated**), or a value on an arm the
  truth does not have (e.g. a per-protocol row read as an arm);
- **miss**: a printed value not predicted.

Precision = hits / (hits + wrong); recall = hits / printed fields. Values the extractor derives without a
page (dropout = randomised - analysed) are counted apart and not scored. "auto-verified wrong" counts wrong
values that the checks (``extractor.checks``) would have auto-verified (marked "[auto-verified]" in
``--details``): the figure that must stay 0.
``primary`` says, per paper, whether the extractor without ``--outcome`` picks the truth's primary outcome
(or, when the paper prints none at baseline, reports none). Seconds per page = read + extract, wall time.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "pdfs"
TRUTH = REPO / "tests" / "fixtures" / "extraction_truth"
SYNTHETIC_OUT = REPO / "bench" / "out" / "synthetic"
COUNTS = ("n_randomised", "n_analysed", "n_dropout")
STATS = ("mean", "sd", "n")
GENERATED_OUT = REPO / "bench" / "out" / "generated"
HTML_OUT = REPO / "bench" / "out" / "html"
# real open-access trial reports typeset by bench/make_pmc_trials.py (JATS XML in bench/corpus/pmc, and ../corpus/pmc)
PMC_OUT = REPO / "bench" / "out" / "pmc"
# the same articles in other layouts (make_pmc_trials.py --name NAME --half tune --out bench/out/NAME): only the
# tune half is relaid, so a loss on pmc2-tune against pmc-tune is a reading that held for one layout only
PMC_DRAWS = ("pmc2",)
# further browser-typeset draws (make_html_trials.py --first K --name htmlN --out bench/out/htmlN), each drawn
# after the earlier ones were tuned on: a fresh draw is a corpus no rule has seen
HTML_DRAWS = ("html2", "html3", "html4", "html5", "html6", "html7", "html8", "html9", "html10", "html11", "html12",
              "html13", "html14", "html15", "html16")
# further reportlab draws (make_generated_trials.py --first K --name NAME --out bench/out/NAME)
GENERATED_DRAWS = ("gen2", "gen3", "gen4", "gen5", "gen6", "gen7", "gen8", "gen9", "gen10", "gen11", "gen12",
                   "gen13", "gen14")
# how a missing draw is built: script and arguments
DRAW_ARGS = {"pmc2": ("make_pmc_trials.py", "--half", "tune"),
             "html2": ("make_html_trials.py", "--first", "2000"), "html3": ("make_html_trials.py", "--first", "3000"),
             "html4": ("make_html_trials.py", "--first", "4000"), "html5": ("make_html_trials.py", "--first", "5000"),
             "gen2": ("make_generated_trials.py", "--traps", "v2", "--first", "6000", "--n", "40"),
             "html6": ("make_html_trials.py", "--traps", "v2", "--first", "7000", "--n", "24"),
             # drawn after every rule of the session was written, scored once: the fresh measurement
             "gen3": ("make_generated_trials.py", "--traps", "v2", "--first", "9000", "--n", "40"),
             "html7": ("make_html_trials.py", "--traps", "v2", "--first", "8000", "--n", "24"),
             # drawn while the session's last rules were written, scored once after them
             "gen4": ("make_generated_trials.py", "--traps", "v2", "--first", "11000", "--n", "40"),
             "html8": ("make_html_trials.py", "--traps", "v2", "--first", "10000", "--n", "24"),
             # traps v3: flow diagrams as raster images (OCR), split before any OCR rule was written
             "gen5": ("make_generated_trials.py", "--traps", "v3", "--first", "12000", "--n", "40"),
             "html9": ("make_html_trials.py", "--traps", "v3", "--first", "13000", "--n", "24"),
             # traps v3, drawn after the session's rules were written: never looked at
             "gen6": ("make_generated_trials.py", "--traps", "v3", "--first", "14000", "--n", "40"),
             "html10": ("make_html_trials.py", "--traps", "v3", "--first", "15000", "--n", "24"),
             # diagnostic draws made at the end, looked at: where the new sentence rules fabricate
             "gen7": ("make_generated_trials.py", "--traps", "v3", "--first", "16000", "--n", "40"),
             "gen8": ("make_generated_trials.py", "--traps", "v2", "--first", "17000", "--n", "40"),
             "gen9": ("make_generated_trials.py", "--traps", "v2", "--first", "18000", "--n", "40"),
             # diagnostic draws of the next session, looked at: where browser-typeset and generated papers lose recall
             "html11": ("make_html_trials.py", "--traps", "v3", "--first", "19000", "--n", "24"),
             "gen10": ("make_generated_trials.py", "--traps", "v3", "--first", "20000", "--n", "40"),
             # drawn at that session's start, scored once at its end: never looked at
             "html12": ("make_html_trials.py", "--traps", "v3", "--first", "21000", "--n", "24"),
             "gen11": ("make_generated_trials.py", "--traps", "v3", "--first", "22000", "--n", "40"),
             # traps v4 (large trials, counts printed "2,301"): gen12 and html13 diagnostic, looked at;
             # gen13 and html14 drawn with them and never looked at
             "gen12": ("make_generated_trials.py", "--traps", "v4", "--first", "23000", "--n", "40"),
             "html13": ("make_html_trials.py", "--traps", "v4", "--first", "25000", "--n", "24"),
             "gen13": ("make_generated_trials.py", "--traps", "v4", "--first", "24000", "--n", "40"),
             "html14": ("make_html_trials.py", "--traps", "v4", "--first", "26000", "--n", "24"),
             # traps v4, drawn after the first v4 rules to find more: diagnostic, looked at
             "html15": ("make_html_trials.py", "--traps", "v4", "--first", "27000", "--n", "24"),
             "gen14": ("make_generated_trials.py", "--traps", "v4", "--first", "28000", "--n", "40"),
             "html16": ("make_html_trials.py", "--traps", "v4", "--first", "29000", "--n", "24")}
SPLITS = ("tune", "holdout", "synthetic-tune", "synthetic-holdout", "generated-tune", "generated-holdout",
          "html-tune", "html-holdout", "pmc-tune", "pmc-probe", "pmc-probe2", "pmc-probe3", "pmc-probe4", "pmc-probe5", "pmc-fresh2") + tuple(f"{d}-tune" for d in PMC_DRAWS) \
    + tuple(f"{d}-{half}" for d in HTML_DRAWS + GENERATED_DRAWS for half in ("tune", "holdout"))


@dataclass
class PaperScore:
    stem: str
    split: str
    pages: int = 0
    seconds: float = 0.0
    printed: int = 0
    hits: int = 0
    page_right: int = 0
    hits_auto: int = 0  # right values the checks auto-verify (the rest go to a human)
    page_prints: int = 0  # right values on a page the truth lists or whose cited page prints their quote and value
    wrong: list[str] = field(default_factory=list)
    fabricated: int = 0
    missed: list[str] = field(default_factory=list)
    derived: int = 0
    auto_verified_wrong: int = 0
    by_doubt: dict[str, Counter] = field(default_factory=dict)  # why a human checks it (or "auto-verified") -> outcomes
    primary: bool | None = None
    design: bool | None = None  # design kind (parallel / crossover / cluster) as the truth's
    error: str | None = None
    # with score_paper(..., keep=True): (result, field path, right | wrong | fabricated) of each value with a page,
    # and the page texts, for bench/bench_confidence.py
    values: list[tuple] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)

    @property
    def predicted(self) -> int:
        return self.hits + len(self.wrong)


def pdf_path(stem: str, split: str) -> Path:
    if split.startswith("synthetic"):
        return SYNTHETIC_OUT / f"{stem}.pdf"
    if split.startswith("generated"):
        return GENERATED_OUT / f"{stem}.pdf"
    if split.split("-")[0] in HTML_DRAWS + GENERATED_DRAWS + PMC_DRAWS:
        return REPO / "bench" / "out" / split.split("-")[0] / f"{stem}.pdf"
    if split.startswith("pmc"):
        return PMC_OUT / f"{stem}.pdf"
    if split.startswith("html"):
        return HTML_OUT / f"{stem}.pdf"
    for folder in (SHARED, SHARED / "dev"):
        if (folder / f"{stem}.pdf").exists():
            return folder / f"{stem}.pdf"
    return SHARED / f"{stem}.pdf"


def truth_files(split: str) -> list[tuple[str, dict]]:
    files = sorted(TRUTH.glob("*.json")) + sorted((TRUTH / "synthetic").glob("*.json"))
    files += sorted((GENERATED_OUT / "truth").glob("*.json")) + sorted((HTML_OUT / "truth").glob("*.json"))
    files += sorted((PMC_OUT / "truth").glob("*.json"))
    for draw in HTML_DRAWS + GENERATED_DRAWS + PMC_DRAWS:
        files += sorted((REPO / "bench" / "out" / draw / "truth").glob("*.json"))
    out = []
    for f in files:
        t = json.loads(f.read_text())
        if f.parent == PMC_OUT / "truth":  # the half as it stands now: parts of it were released since the build
            t["split"] = pmc_split(f.stem)
        if split in ("all", t.get("split")):
            out.append((f.stem, t))
    return out


def pmc_split(stem: str) -> str:
    """``make_pmc_trials.split_of``: the PMC half of a paper (tune, a released probe, or the fresh held-out batch)."""
    if str(REPO / "bench") not in sys.path:
        sys.path.insert(0, str(REPO / "bench"))
    from make_pmc_trials import split_of

    return split_of(stem)


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower())) - {"group", "arm", "the"}


def resolve_arm(name: str, arms: list[dict]) -> str | None:
    """The truth arm a predicted arm name denotes (name or alias; word sets equal or nested, equal first where
    names nest: "cash plus lump sum" and "cash plus lump sum and training"), else None."""
    from metasift.extractor._text import _DASHES

    def plain(text: str) -> str:  # "Whey Protein–Placebo" with the extractor's dashes: "Whey Protein-Placebo"
        return " ".join(text.translate(_DASHES).lower().split())

    exact = {a["name"] for a in arms for alias in [a["name"], *a.get("aliases", [])] if plain(alias) == plain(name)}
    if len(exact) == 1:  # "NRT" and "NRT+" have the same words and are two arms
        return exact.pop()
    got = _words(name)
    names = [(a["name"], _words(alias)) for a in arms for alias in [a["name"], *a.get("aliases", [])]]
    for hits in ({n for n, w in names if got and w == got},
                 {n for n, w in names if got and w and (got <= w or w <= got)}):
        if hits:
            return hits.pop() if len(hits) == 1 else None
    return None


def _same(a: float, b: float) -> bool:
    return abs(round(float(a), 6) - round(float(b), 6)) <= 1e-6


def _score_value(s: PaperScore, label: str, truth: dict | None, value, page: int | None, status: str | None,
                 prints: bool = False, why: str = "") -> str | None:
    """Count one field; return right / wrong / fabricated for a value with a page, else None."""
    printed = truth is not None and truth.get("value") is not None
    outcome = None
    if value is not None and page is not None:
        outcome = "right" if printed and _same(value, truth["value"]) else "wrong" if printed else "fabricated"
        s.by_doubt.setdefault(_doubt_kind(why) if status != "auto_verified" else "auto-verified", Counter())[outcome] += 1
    s.printed += printed
    if value is None:
        if printed:
            s.missed.append(f"{label}: printed {truth['value']:g}")
        return None
    if page is None:
        s.derived += 1
        return None
    if printed and _same(value, truth["value"]):
        s.hits += 1
        listed = page in (truth.get("pages") or [])
        s.page_right += listed
        s.page_prints += prints or listed
        s.hits_auto += status == "auto_verified"
        return outcome
    why = f"{label}: {value:g} (p. {page})" + (f", printed {truth['value']:g}" if printed else ", not printed")
    why += " [auto-verified]" if status == "auto_verified" else ""
    s.wrong.append(why)
    s.fabricated += not printed
    s.auto_verified_wrong += status == "auto_verified"
    if printed:
        s.missed.append(f"{label}: printed {truth['value']:g}")
    return outcome


def _cited_pages_print(result, texts: dict[int, str]) -> dict[str, bool]:
    """Per evidenced field: whether its quote is on the page it cites and prints its value (the evidence holds,
    whichever of the places printing the number it cites). ``texts``: the document's ``page_texts``."""
    from metasift.extractor.checks import QUOTE_MIN_SCORE, quote_has_number, quote_on_page

    return {ev.field: isinstance(ev.value, (int, float)) and quote_has_number(ev.quote, ev.value)
            and quote_on_page(ev.quote, texts.get(ev.page or -1, "")) >= QUOTE_MIN_SCORE for ev in result.evidence}


def _statuses(result, texts: dict[int, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each evidenced field's check status, and why it goes to a human (its doubt, else the check's first reason)."""
    from metasift.extractor.checks import check_extraction

    doubts = {ev.field: ev.doubt for ev in result.evidence}
    checks = check_extraction(result, texts)
    return ({c.field: c.status for c in checks},
            {c.field: doubts.get(c.field) or (c.reasons[0] if c.reasons else "") for c in checks})


def _doubt_kind(why: str) -> str:
    """A reason with its numbers and quoted names masked, so reasons of one kind count together."""
    return re.sub(r"\d+(?:\.\d+)?", "N", re.sub(r"'[^']*'", "'X'", why))[:90]


def score_paper(stem: str, truth: dict, keep: bool = False) -> PaperScore:
    from metasift.config import OutcomeSpec
    from metasift.extractor.outcomes import baseline_path
    from metasift.extractor.pdf import PdfError, read_pdf
    from metasift.extractor.pipeline import page_texts
    from metasift.extractor.rules import extract

    s = PaperScore(stem, truth.get("split", "?"))
    path = pdf_path(stem, s.split)
    if not path.exists():
        s.error = f"{path} not found"
        return s
    t0 = time.perf_counter()
    try:
        doc = read_pdf(path)
    except PdfError as exc:
        s.error = str(exc)
        return s
    plain = extract(doc)
    s.seconds, s.pages = time.perf_counter() - t0, len(doc.pages)
    kind = (truth.get("design") or {}).get("kind")
    if kind:
        wanted = kind if kind in ("crossover", "cluster", "factorial") else "parallel"
        s.design = plain.design is not None and plain.design.kind == wanted
    arms = truth.get("arms") or []
    pages = {ev.field: ev.page for ev in plain.evidence}
    texts = page_texts(doc)  # once per paper: every extraction below checks its quotes against it
    if keep:
        s.texts = texts
    (status, why), prints = _statuses(plain, texts), _cited_pages_print(plain, texts)
    seen: set[str] = set()
    for i, arm in enumerate(plain.arms):
        name = resolve_arm(arm.name, arms)
        t_arm = next((a for a in arms if a["name"] == name), None) if name not in seen else None
        seen.add(name or "")
        for stat in COUNTS:
            f = f"arms[{i}].{stat}"
            outcome = _score_value(s, f"{arm.name}.{stat}", t_arm.get(stat) if t_arm else None, getattr(arm, stat),
                                   pages.get(f), status.get(f), prints.get(f, False), why.get(f, ""))
            if keep and outcome:
                s.values.append((plain, f, outcome))
    for a in arms:
        if a["name"] not in seen:
            for stat in COUNTS:
                _score_value(s, f"{a['name']}.{stat}", a.get(stat), None, None, None)

    primaries = []
    for k, outcome in enumerate(truth.get("outcomes") or []):
        spec = OutcomeSpec(id=f"o{k}", label=outcome["label"], instruments=[outcome["label"], *outcome.get("aliases", [])])
        result = extract(doc, [spec])
        pages = {ev.field: ev.page for ev in result.evidence}
        (status, why), prints = _statuses(result, texts), _cited_pages_print(result, texts)
        by_arm = {b["arm"]: b for b in outcome.get("baseline") or []}
        seen = set()
        for i, arm in enumerate(result.arms):
            name = resolve_arm(arm.name, arms)
            tb = by_arm.get(name) if name and name not in seen else None
            seen.add(name or "")
            b = arm.baseline
            where = baseline_path(result, i)
            for stat in STATS:
                f = f"{where}.{stat}" if where else ""
                truth_value = {"value": tb.get(stat), "pages": tb.get("pages")} if tb else None
                scored = _score_value(s, f"{arm.name}.{outcome['label']}.{stat}", truth_value,
                                      getattr(b, stat) if b else None, pages.get(f), status.get(f),
                                      prints.get(f, False), why.get(f, ""))
                if keep and scored:
                    s.values.append((result, f, scored))
        for arm_name, tb in by_arm.items():
            if arm_name not in seen:
                for stat in STATS:
                    _score_value(s, f"{arm_name}.{outcome['label']}.{stat}", {"value": tb.get(stat)}, None, None,
                                 None)
        if outcome.get("role") == "primary":
            primaries.append((outcome, result.target))
    # Without --outcome the extractor should report the baseline of a primary outcome the paper prints one
    # for (co-primary: any of them), and none when no primary outcome has a baseline mean.
    printed = [target for o, target in primaries if any(b.get("mean") is not None for b in o.get("baseline") or [])]
    if primaries:
        picked = plain.target
        s.primary = (picked is not None and any(t is not None and t.measure == picked.measure for t in printed)) \
            if printed else not any(a.baseline and a.baseline.mean is not None for a in plain.arms)
    return s


def ensure_synthetic() -> None:
    gen = REPO / "bench" / "make_synthetic_trials.py"
    if gen.exists() and (TRUTH / "synthetic").exists() and not any(SYNTHETIC_OUT.glob("*.pdf")):
        subprocess.run([sys.executable, str(gen), "--out", str(SYNTHETIC_OUT)], check=True,
                       stdout=subprocess.DEVNULL)


def ensure_generated(out: Path, script: str, *args: str) -> None:
    """Build a generated corpus (``bench/make_generated_trials.py`` or ``make_html_trials.py``: PDFs and truth,
    seeded) when missing."""
    if not (out / "truth").is_dir() or not any(out.glob("*.pdf")):
        subprocess.run([sys.executable, str(REPO / "bench" / script), *args], check=True, stdout=subprocess.DEVNULL)


def totals(scores: list[PaperScore]) -> dict:
    ok = [s for s in scores if s.error is None]
    hits, pred = sum(s.hits for s in ok), sum(s.predicted for s in ok)
    printed = sum(s.printed for s in ok)
    pages = sum(s.pages for s in ok)
    return {"papers": len(ok), "printed": printed, "predicted": pred, "hits": hits,
            "precision": hits / pred if pred else None, "recall": hits / printed if printed else None,
            "fabricated": sum(s.fabricated for s in ok),
            "page_right": sum(s.page_right for s in ok) / hits if hits else None,
            "page_prints": sum(s.page_prints for s in ok) / hits if hits else None,
            "auto_verified_wrong": sum(s.auto_verified_wrong for s in ok),
            "auto_verified_right": sum(s.hits_auto for s in ok) / hits if hits else None,
            "derived": sum(s.derived for s in ok),
            "primary_right": sum(s.primary is True for s in ok), "primary_scored": sum(s.primary is not None for s in ok),
            "design_right": sum(s.design is True for s in ok), "design_scored": sum(s.design is not None for s in ok),
            "seconds_per_page": sum(s.seconds for s in ok) / pages if pages else None,
            "slowest_seconds_per_page": max((s.seconds / s.pages for s in ok if s.pages), default=None)}


def _f(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="all", choices=SPLITS + ("all",))
    ap.add_argument("--details", action="store_true", help="list every wrong and missed value")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--by-doubt", action="store_true",
                    help="tally right, wrong and fabricated values by why they go to a human (or auto-verified)")
    args = ap.parse_args()
    if args.split.startswith("generated") or args.split == "all":
        ensure_generated(GENERATED_OUT, "make_generated_trials.py")
    if args.split.startswith("html-") or args.split == "all":
        ensure_generated(HTML_OUT, "make_html_trials.py")
    for draw, (script, *rest) in DRAW_ARGS.items():
        if args.split.split("-")[0] == draw or args.split == "all":
            out = REPO / "bench" / "out" / draw
            ensure_generated(out, script, *rest, "--name", draw, "--out", str(out))
    if args.split.startswith("synthetic") or args.split == "all":
        ensure_synthetic()
    if args.split.startswith("pmc-") or args.split == "all":
        ensure_generated(PMC_OUT, "make_pmc_trials.py")
    papers = truth_files(args.split)
    if not papers:
        print(f"no truth files for split {args.split} in {TRUTH}", file=sys.stderr)
        sys.exit(1)
    scores = [score_paper(stem, t) for stem, t in papers]
    splits = sorted({s.split for s in scores}, key=SPLITS.index)
    summary = {sp: totals([s for s in scores if s.split == sp]) for sp in splits}
    if args.json:
        print(json.dumps({"splits": summary, "papers": [s.__dict__ for s in scores]}, indent=2, default=str))
        return
    for sp in splits:
        print(f"\n== {sp} ==")
        print(f"{'paper':40} {'print':>5} {'pred':>5} {'hit':>4} {'prec':>6} {'rec':>6} {'fab':>4} {'page':>6} "
              f"{'avW':>4} {'der':>4} {'prim':>5} {'dsgn':>5} {'s/pg':>6}")
        for s in (x for x in scores if x.split == sp):
            if s.error:
                print(f"{s.stem:40} skipped: {s.error}")
                continue
            prec = s.hits / s.predicted if s.predicted else None
            rec = s.hits / s.printed if s.printed else None
            pr = "—" if s.primary is None else ("yes" if s.primary else "NO")
            dg = "—" if s.design is None else ("yes" if s.design else "NO")
            print(f"{s.stem:40} {s.printed:5} {s.predicted:5} {s.hits:4} {_f(prec):>6} {_f(rec):>6} "
                  f"{s.fabricated:4} {_f(s.page_right / s.hits if s.hits else None):>6} {s.auto_verified_wrong:4} "
                  f"{s.derived:4} {pr:>5} {dg:>5} {s.seconds / max(s.pages, 1):6.3f}")
            if args.details:
                for w in s.wrong:
                    print(f"    wrong  {w}")
                for m in s.missed:
                    print(f"    missed {m}")
        t = summary[sp]
        print(f"{'TOTAL ' + sp:40} {t['printed']:5} {t['predicted']:5} {t['hits']:4} {_f(t['precision']):>6} "
              f"{_f(t['recall']):>6} {t['fabricated']:4} {_f(t['page_right']):>6} {t['auto_verified_wrong']:4} "
              f"{t['derived']:4} {t['primary_right']:>2}/{t['primary_scored']:<2} {t['design_right']:>2}/{t['design_scored']:<2}"
              f" {_f(t['seconds_per_page']):>6}")
        print(f"  share of right values auto-verified: {_f(t['auto_verified_right'])}")
        print(f"  share of right values on a page that prints them (the truth's, or the cited page holding their "
              f"quote): {_f(t['page_prints'])}")
        if args.by_doubt:
            _print_by_doubt([x for x in scores if x.split == sp and x.error is None])


def _print_by_doubt(scores: list[PaperScore]) -> None:
    """Right / wrong / fabricated values per kind of reason a human checks them: a kind whose values are mostly
    wrong is one the extractor could withhold; one never wrong, a check that could be relaxed."""
    total: dict[str, Counter] = {}
    for s in scores:
        for kind, outcomes in s.by_doubt.items():
            total.setdefault(kind, Counter()).update(outcomes)
    print(f"  {'right':>6} {'wrong':>6} {'fab':>5}  why a human checks it")
    for kind, n in sorted(total.items(), key=lambda kv: -(kv[1]["wrong"] + kv[1]["fabricated"])):
        print(f"  {n['right']:6} {n['wrong']:6} {n['fabricated']:5}  {kind or '(no reason given)'}")


if __name__ == "__main__":
    main()
