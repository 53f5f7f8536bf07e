"""Benchmark: field-level precision and recall of the offline PDF extractor, and its speed.

Run: .venv/bin/python bench/bench_extract.py [--json] [--details]

A field is an arm x {n_randomised, n_analysed, n_dropout}, or an arm x measure (x time point) x
{mean, sd} of a baseline table or of an outcome. Truth: ``tests/fixtures/pdf_truth/<stem>.json``
(hand-checked, per field with the page(s) it is printed on) for the real trial reports in
``../shared/data/pdfs`` (skipped when absent), and ``examples/social_media/{trials,outcomes}.csv`` for
the 12 synthetic PDFs. A predicted value is a hit when its arm, section, time point and statistic
match a truth field whose measure name is the most similar, its number equals the printed one
(tolerance 1e-6) and its evidence page is one the value is printed on. Values the extractor derives
(no page, e.g. dropout = randomised - analysed) are counted apart, not scored. Precision = hits /
scored predictions; recall = hits / truth fields. Seconds per page = read + extract, wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parents[1]
SHARED_PDFS = REPO.parent / "shared" / "data" / "pdfs"
TRUTH_DIR = REPO / "tests" / "fixtures" / "pdf_truth"
EXAMPLES = REPO / "examples" / "social_media"
COUNT_FIELDS = ("n_randomised", "n_analysed", "n_dropout")
MEASURE_MIN_SIMILARITY = 70.0


@dataclass(frozen=True)
class Field:
    section: str  # arm | baseline | outcome
    arm: str  # the truth arm's name
    measure: str  # "" for arm counts
    timepoint: str  # normalised; "" for arm counts and baseline tables
    stat: str  # n_randomised | n_analysed | n_dropout | mean | sd
    value: float
    pages: tuple[int, ...]  # pages the value is printed on (truth) or the evidence page (prediction)


@dataclass
class Score:
    truth: list[Field]
    hits: list[Field] = field(default_factory=list)  # truth fields found right
    wrong: list[tuple[Field, str]] = field(default_factory=list)  # predictions that are not hits, and why
    derived: int = 0  # predicted values without a page (computed), not scored

    @property
    def predicted(self) -> int:
        return len(self.hits) + len(self.wrong)

    @property
    def precision(self) -> float | None:
        return len(self.hits) / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return len(self.hits) / len(self.truth) if self.truth else None

    @property
    def missed(self) -> list[Field]:
        got = set(self.hits)
        return [t for t in self.truth if t not in got]


def normalise_timepoint(text: str | None) -> str:
    """"Week 36" → "36 weeks", "6 months" → "6 months", "Baseline" → "baseline"."""
    low = re.sub(r"\s+", " ", (text or "").strip().lower())
    unit = r"(week|wk|month|day|year)s?"
    m = re.fullmatch(rf"{unit}\s*(\d+)", low) or re.fullmatch(rf"(\d+)\s*-?\s*{unit}", low)
    if m:
        num, unit = (m.group(2), m.group(1)) if m.group(1)[0].isalpha() else (m.group(1), m.group(2))
        return f"{int(num)} {'week' if unit == 'wk' else unit}s"
    return low


def _measure_key(text: str) -> str:
    text = re.sub(r"[*†‡§¶∥#]", " ", text.lower())
    text = re.sub(r"mean\s*\(\s*sd\s*\)|\(\s*m\s*,\s*sd\s*\)|\(\s*sd\s*\)", " ", text)
    return " ".join(re.findall(r"[a-z0-9µμγβ]+", text))


def measure_similarity(a: str, b: str) -> float:
    """0-100, word order ignored; extra words cost less than wrong ones (a label may carry a heading)."""
    ka, kb = _measure_key(a), _measure_key(b)
    return (fuzz.token_sort_ratio(ka, kb) + fuzz.token_set_ratio(ka, kb)) / 2


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower())) - {"group", "arm", "the"}


def resolve_arm(name: str, arms: list[dict]) -> str | None:
    """The truth arm a predicted arm name denotes (by its name or an alias; word sets equal or nested)."""
    got = _words(name)
    hits = []
    for arm in arms:
        for alias in [arm["name"], *arm.get("aliases", [])]:
            words = _words(alias)
            if got and words and (got == words or got <= words or words <= got):
                hits.append(arm["name"])
                break
    return hits[0] if len(set(hits)) == 1 else None


def truth_fields(truth: dict) -> list[Field]:
    """Every scored field of a truth file."""
    out = []
    for arm in truth["arms"]:
        for stat in COUNT_FIELDS:
            if arm.get(stat) is not None:
                pages = tuple(arm.get("pages", {}).get(stat) or [arm["page"]])
                out.append(Field("arm", arm["name"], "", "", stat, float(arm[stat]), pages))
    for section in ("baseline", "outcomes"):
        for row in truth[section]:
            for stat in ("mean", "sd"):
                if row.get(stat) is not None:
                    tp = normalise_timepoint(row.get("timepoint")) if section == "outcomes" else ""
                    value = float(row[stat])
                    kind = section.rstrip("s")
                    out.append(Field(kind, row["arm"], row["measure"], tp, stat, value, (row["page"],)))
    return out


def predicted_fields(result, truth: dict) -> tuple[list[Field], int, list[str]]:
    """The extraction as fields with evidence pages, the count of values without a page, unknown arm names."""
    pages = {ev.field: ev.page for ev in result.evidence}
    out, derived, unknown = [], 0, []

    def arm_of(name: str) -> str | None:
        got = resolve_arm(name, truth["arms"])
        if got is None:
            unknown.append(name)
        return got

    def emit(section: str, arm: str, measure: str, tp: str, stat: str, value: float | None,
             path: str) -> None:
        nonlocal derived
        if value is None:
            return
        page = pages.get(path)
        if page is None:  # computed, not read from a page
            derived += 1
            return
        out.append(Field(section, arm_of(arm) or f"?{arm}", measure, tp, stat, float(value), (page,)))

    for i, arm in enumerate(result.arms):
        for stat in COUNT_FIELDS:
            emit("arm", arm.name, "", "", stat, getattr(arm, stat), f"arms[{i}].{stat}")
        for j, b in enumerate(arm.baselines):
            for stat in ("mean", "sd"):
                path = f"arms[{i}].baselines[{j}].{stat}"
                emit("baseline", arm.name, b.measure or "", "", stat, getattr(b, stat), path)
    for k, o in enumerate(result.outcomes):
        for stat in ("mean", "sd"):
            emit("outcome", o.arm, o.measure, normalise_timepoint(o.timepoint), stat, getattr(o, stat),
                 f"outcomes[{k}].{stat}")
    return out, derived, unknown


def score(truth: dict, result) -> Score:
    """Match every predicted field to the truth (see the module docstring for the rule)."""
    fields = truth_fields(truth)
    s = Score(fields)
    predicted, s.derived, _ = predicted_fields(result, truth)
    taken: set[int] = set()
    for p in predicted:
        pool = [(i, t) for i, t in enumerate(fields) if (t.section, t.arm, t.stat, t.timepoint) ==
                (p.section, p.arm, p.stat, p.timepoint)]
        if p.section != "arm":
            pool = [(i, t) for i, t in pool
                    if measure_similarity(p.measure, t.measure) >= MEASURE_MIN_SIMILARITY]
            pool.sort(key=lambda it: -measure_similarity(p.measure, it[1].measure))
        if not pool:
            s.wrong.append((p, "no such field in the truth"))
            continue
        i, t = pool[0]
        if i in taken:
            s.wrong.append((p, "duplicate of a field already found"))
        elif abs(round(p.value, 6) - round(t.value, 6)) > 1e-6:
            s.wrong.append((p, f"value {p.value:g}, printed {t.value:g}"))
        elif p.pages[0] not in t.pages:
            s.wrong.append((p, f"page {p.pages[0]}, printed on {list(t.pages)}"))
        else:
            taken.add(i)
            s.hits.append(t)
    return s


def _misprint() -> tuple[str, str, str]:
    """The one value ``examples/make_pdfs.py`` prints wrong on purpose (ten times too large)."""
    sys.path.insert(0, str(EXAMPLES.parent))
    try:
        from make_pdfs import MISPRINT
    finally:
        sys.path.pop(0)
    return MISPRINT


def synthetic_truth() -> dict[str, dict]:
    """Truth for the rendered examples: the numbers as printed (all on page 2), from the tables they were
    rendered from, with the one deliberate misprint as printed."""
    misprint = _misprint()
    with open(EXAMPLES / "trials.csv", encoding="utf-8") as fh:
        trials = list(csv.DictReader(fh))
    with open(EXAMPLES / "outcomes.csv", encoding="utf-8") as fh:
        outcomes = list(csv.DictReader(fh))
    out = {}
    for t in trials:
        arms, base, outs = [], [], []
        for k, name in ((1, "Intervention"), (2, "Control")):
            n, a = int(t[f"n_randomised_{k}"]), int(t[f"n_analysed_{k}"])
            arms.append({"name": name, "n_randomised": n, "n_analysed": a, "n_dropout": n - a, "page": 2})
            for o in (o for o in outcomes if o["trial_id"] == t["trial_id"]):
                measure = f"{o['measure']} ({o['outcome']})"
                base.append({"arm": name, "measure": measure, "mean": float(o[f"baseline_mean_{k}"]),
                             "sd": float(o[f"baseline_sd_{k}"]), "n": n, "page": 2})
                sd = float(o[f"post_sd_{k}"])
                if (t["trial_id"], o["measure"], f"post_sd_{k}") == misprint:
                    sd = round(sd * 10, 2)
                outs.append({"arm": name, "measure": measure, "timepoint": "post",
                             "mean": float(o[f"post_mean_{k}"]), "sd": sd, "n": a, "page": 2})
        out[t["trial_id"]] = {"file": f"{t['trial_id']}.pdf", "n_total": sum(x["n_randomised"] for x in arms),
                              "arms": arms, "baseline": base, "outcomes": outs}
    return out


def run(pdf: Path, truth: dict) -> dict:
    """Extract one PDF and score it; wall time per page included."""
    from metasift.extractor.pdf import read_pdf
    from metasift.extractor.rules import extract

    start = time.perf_counter()
    doc = read_pdf(pdf)
    result = extract(doc)
    seconds = time.perf_counter() - start
    s = score(truth, result)
    return {"paper": pdf.stem, "pages": len(doc.pages), "s_per_page": seconds / len(doc.pages), "score": s,
            "n_total": result.n_total, "n_total_truth": truth.get("n_total")}


def _fmt(x: float | None) -> str:
    return "  —  " if x is None else f"{x:5.3f}"


def table(rows: list[dict], title: str) -> str:
    """A plain-text table of per-paper figures with a micro-averaged total line."""
    head = (f"{'paper':38} {'truth':>5} {'pred':>5} {'hit':>5} {'prec':>6} {'recall':>6} {'N ok':>5} "
            f"{'derived':>7} {'s/page':>7}")
    lines = [title, head, "-" * len(head)]
    for r in rows:
        s = r["score"]
        ok = "—" if r["n_total_truth"] is None else ("yes" if r["n_total"] == r["n_total_truth"] else
                                                     ("none" if r["n_total"] is None else "WRONG"))
        lines.append(f"{r['paper'][:38]:38} {len(s.truth):5d} {s.predicted:5d} {len(s.hits):5d} "
                     f"{_fmt(s.precision):>6} {_fmt(s.recall):>6} {ok:>5} {s.derived:7d} "
                     f"{r['s_per_page']:7.3f}")
    t = sum(len(r["score"].truth) for r in rows)
    p = sum(r["score"].predicted for r in rows)
    h = sum(len(r["score"].hits) for r in rows)
    pages = sum(r["pages"] for r in rows)
    secs = sum(r["s_per_page"] * r["pages"] for r in rows)
    n_ok = sum(r["n_total"] == r["n_total_truth"] for r in rows)
    derived = sum(r["score"].derived for r in rows)
    total = (f"{'overall (micro)':38} {t:5d} {p:5d} {h:5d} {_fmt(h / p if p else None):>6} "
             f"{_fmt(h / t if t else None):>6} {f'{n_ok}/{len(rows)}':>5} {derived:7d} "
             f"{secs / pages if pages else 0:7.3f}")
    slowest = f"slowest paper: {max(r['s_per_page'] for r in rows):.3f} s/page" if rows else ""
    lines += ["-" * len(head), total, slowest]
    return "\n".join(lines)


def collect() -> tuple[list[dict], list[dict]]:
    """(real-paper rows, synthetic rows); real rows are empty when ../shared is absent."""
    real = []
    if SHARED_PDFS.is_dir():
        for path in sorted(TRUTH_DIR.glob("*.json")):
            truth = json.loads(path.read_text(encoding="utf-8"))
            real.append(run(SHARED_PDFS / truth["file"], truth))
    synthetic = [run(EXAMPLES / "pdfs" / truth["file"], truth) for truth in synthetic_truth().values()]
    return real, synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--details", action="store_true", help="list every wrong and missed field")
    args = parser.parse_args(argv)
    real, synthetic = collect()
    if args.json:
        def fig(rows: list[dict]) -> list[dict]:
            return [{"paper": r["paper"], "truth": len(r["score"].truth), "predicted": r["score"].predicted,
                     "hits": len(r["score"].hits), "precision": r["score"].precision,
                     "recall": r["score"].recall,
                     "n_total_ok": r["n_total"] == r["n_total_truth"], "derived": r["score"].derived,
                     "s_per_page": r["s_per_page"]} for r in rows]
        print(json.dumps({"real": fig(real), "synthetic": fig(synthetic)}, indent=1))
        return 0
    if not real:
        print(f"{SHARED_PDFS} not found: real-paper figures skipped")
    else:
        print(table(real, "Real trial reports (../shared/data/pdfs)"))
    print()
    print(table(synthetic, "Synthetic example PDFs (examples/social_media/pdfs)"))
    if args.details:
        for r in real + synthetic:
            s = r["score"]
            for p, why in s.wrong:
                where = f"{p.section} {p.arm} {p.measure!r} {p.timepoint} {p.stat}={p.value:g}"
                print(f"WRONG  {r['paper']}: {where} p{p.pages[0]}: {why}")
            for t in s.missed:
                where = f"{t.section} {t.arm} {t.measure!r} {t.timepoint} {t.stat}={t.value:g}"
                print(f"MISSED {r['paper']}: {where} p{list(t.pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
