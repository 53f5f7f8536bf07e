"""Fit the model that ranks a page's numbers as a missing value (``metasift/extractor/suggest.py``), and measure it.

Every printed truth field of the fitting splits (arms' n randomised / analysed / dropout, the outcome's baseline
mean / SD / n) is one gap: each number the paper prints is a candidate, positive when it equals the printed value.
One logistic model per field is fitted (scikit-learn, balanced classes, features standardised), and its
coefficients are written to ``metasift/extractor/suggest_model.json``. The figures are, per split, the share of
gaps whose printed value is the first suggestion (top 1) or among the first three (top 3), and the share whose
value the text layer prints at all (the ceiling). The arm's name given is the truth's name (not its aliases), the
outcome's names are the truth's label and aliases (what a protocol's instruments list); the arm's place is its
place among the truth's arms. The values the study holds are those the rule extractor reads in the paper (its arms
named as the truth's where they resolve), leaving out the gap's own.

Fitted on: the real tune half, pmc-tune and pmc2-tune (pmc-tune's articles in other layouts). Measured apart on
pmc-probe and pmc-probe2 (never fitted on), and, with ``--holdout`` (totals only, once), pmc-fresh2 (the eleventh batch, held out) and the real
held-out half. ``--missed`` measures only the fields the rule extractor does not read right, taken in order with
each value entered (its truth page and quote) held for the paper's next gaps, as in ``verify``.

Run: .venv/bin/python bench/train_suggest.py [--fit] [--holdout] [--missed] [--split S ...] [--json]. Without
``--fit`` the committed model is measured. The papers' texts and the extractor's values are kept under
bench/out/suggest_cache (read again when the extractor's code changes): about 10 minutes the first time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_extract_fields import COUNTS, pdf_path, resolve_arm, score_paper, truth_files

from metasift.extractor import suggest as S
from metasift.extractor.pdf import read_pdf
from metasift.extractor.pipeline import page_texts

FIT = ("tune", "pmc-tune", "pmc2-tune")
MEASURE = ("pmc-probe", "pmc-probe2")
HOLDOUT = ("pmc-fresh2", "holdout")
CACHE = REPO / "bench" / "out" / "suggest_cache"
NEGATIVES = 400  # other negatives kept per gap for fitting (all positives and hard negatives are kept)
STAT_FIELD = {"mean": "baseline_mean", "sd": "baseline_sd", "n": "baseline_n"}


def gaps(truth: dict):
    """(field, arm name, arm names, outcome names, printed value, which held values apply, its page and quote) of
    each printed field of a truth file."""
    arms = [a["name"] for a in truth.get("arms") or []]
    for arm in truth.get("arms") or []:
        for name in COUNTS:
            f = arm.get(name)
            if isinstance(f, dict) and f.get("value") is not None:
                yield name, arm["name"], arms, (), float(f["value"]), "counts", _where(f)
    for k, outcome in enumerate(truth.get("outcomes") or []):
        names = (outcome["label"], *outcome.get("aliases", []))
        for b in outcome.get("baseline") or []:
            for stat, field in STAT_FIELD.items():
                if b.get(stat) is not None:
                    yield field, b["arm"], arms, names, float(b[stat]), f"o{k}", _where(b)


def _where(f: dict) -> tuple[int | None, str]:
    """The page and quote of a truth value: where a reviewer who entered it would have read it."""
    return (f.get("pages") or [None])[0], f.get("quote") or ""


def _extractor_stamp() -> str:
    """A hash of the extractor's rule code: the held values cached with a paper's texts are read again when it
    changes."""
    files = sorted(p for p in (REPO / "extractor").glob("*.py") if p.name not in ("suggest.py", "by_hand.py", "gaps.py"))
    return hashlib.sha1(b"".join(p.read_bytes() for p in files)).hexdigest()[:16]


def _held(doc, texts: dict, truth: dict) -> dict[str, list[dict]]:
    """The values the rule extractor reads (as ``extract`` stores them), its arms named as the truth's where they
    resolve: "counts" from the plain extraction, "oK" the baselines of the extraction aimed at the truth's Kth
    outcome (as ``extract-pdf --outcome`` asks)."""
    from metasift.config import OutcomeSpec
    from metasift.extractor.pipeline import result_rows
    from metasift.extractor.rules import extract

    arms = truth.get("arms") or []

    def rows(result, keep) -> list[dict]:
        return [{"field": r["field"], "arm": resolve_arm(r["arm"], arms) or r["arm"] if r["arm"] else None,
                 "value": r["value"], "page": r["page"], "quote": r["quote"] or "", "measure": r["measure"]}
                for r in result_rows(result, texts) if keep(r["field"]) and isinstance(r["value"], (int, float))]

    out = {"counts": rows(extract(doc), lambda f: f.startswith("n_"))}
    for k, outcome in enumerate(truth.get("outcomes") or []):
        spec = OutcomeSpec(id=f"o{k}", label=outcome["label"], instruments=[outcome["label"], *outcome.get("aliases", [])])
        out[f"o{k}"] = rows(extract(doc, [spec]), lambda f: f.startswith("baseline_"))
    return out


def paper(stem: str, split: str, truth: dict, stamp: str) -> tuple[list[S.Candidate], dict] | None:
    """The paper's candidates and the values the extractor reads in it; its page texts and those values are kept
    under bench/out/suggest_cache, so a refit after a change of the features reads no PDF."""
    path = pdf_path(stem, split)
    if not path.exists():
        return None
    cache = CACHE / split / f"{stem}.v2.json"
    kept = json.loads(cache.read_text()) if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime else {}
    if kept.get("stamp") != stamp:
        doc = read_pdf(path)
        texts = page_texts(doc)
        kept = {"stamp": stamp, "texts": texts, "held": _held(doc, texts, truth)}
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(kept))
    texts = {int(k): v for k, v in kept["texts"].items()}
    return S.page_candidates(texts), kept["held"]


def rows(split: str):
    """Per gap of the split: (paper, field, arm, the arms, the outcome's names, printed value, candidates, the
    values the extractor reads besides the gap's own)."""
    stamp = _extractor_stamp()
    for stem, truth in truth_files(split):
        got = paper(stem, split, truth, stamp)
        if got is None:
            continue
        cands, held = got
        for field, arm, arms, names, value, key, where in gaps(truth):
            others = [S.Held(**h) for h in held.get(key, []) if not (h["field"] == field and h["arm"] == arm)]
            yield stem, field, arm, arms, names, value, cands, others, where


def fit(splits) -> dict:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = random.Random(16)
    data: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for split in splits:
        for _, field, arm, arms, names, value, cands, held, _ in rows(split):
            fitting = [c for c in cands if S.fits(field, c.value)]
            x = [(*c.features, *g) for c, g in zip(fitting, S.gap_features(
                fitting, arm, arms, arms.index(arm) if arm in arms else -1, names, field, held), strict=True)]
            y = [abs(c.value - value) < 1e-6 for c in fitting]
            pos = [i for i, v in enumerate(y) if v]
            if not pos:
                continue
            # the other numbers of a line that prints the value (which arm's, mean or SD) are the hard negatives
            lines = {(fitting[i].page, fitting[i].line) for i in pos}
            hard = [i for i, v in enumerate(y) if not v and (fitting[i].page, fitting[i].line) in lines]
            easy = [i for i, v in enumerate(y) if not v and (fitting[i].page, fitting[i].line) not in lines]
            for i in pos + hard + rng.sample(easy, min(NEGATIVES, len(easy))):
                data[field][0].append(x[i])
                data[field][1].append(y[i])
    model = {"features": list(S.FEATURES), "fitted_on": list(splits)}
    for field, (x, y) in sorted(data.items()):
        x, y = np.asarray(x), np.asarray(y)
        scaler = StandardScaler().fit(x)
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        clf = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit((x - scaler.mean_) / scale, y)
        model[field] = {"intercept": float(clf.intercept_[0]), "coef": [round(float(c), 6) for c in clf.coef_[0]],
                        "mean": [round(float(m), 6) for m in scaler.mean_], "scale": [round(float(s), 6) for s in scale],
                        "rows": len(y), "positives": int(y.sum())}
    return model


def missed(stem: str, truth: dict) -> Counter:
    """(field, value) of each printed field the rule extractor does not read right (``bench_extract_fields``): the
    gaps a reviewer meets in practice, after the extractor has read the rest."""
    out: Counter = Counter()
    for label in score_paper(stem, truth).missed:
        m = re.search(r"\.(\w+): printed (\S+)$", label)
        if m:
            out[(STAT_FIELD.get(m.group(1), m.group(1)), float(m.group(2)))] += 1
    return out


def measure(split: str, model: dict, only_missed: bool = False) -> dict:
    """Where the printed value ranks among the distinct values ``suggest`` orders, per gap of the split (with
    ``only_missed``, per gap the extractor leaves, taken in order as a reviewer in ``verify`` does: each value
    entered, with its truth page and quote, is then held for the paper's next gaps)."""
    tally: Counter = Counter()
    by_field: dict[str, Counter] = defaultdict(Counter)
    start = time.perf_counter()
    papers = set()
    left: dict[str, Counter] = {}
    truths = dict(truth_files(split)) if only_missed else {}
    entered: dict[str, list[S.Held]] = defaultdict(list)
    for stem, field, arm, arms, names, value, cands, held, (page, quote) in rows(split):
        if only_missed:
            if stem not in left:
                left[stem] = missed(stem, truths[stem])
            key = next((k for k in left[stem] if k[0] == field and abs(k[1] - value) < 1e-6 and left[stem][k]), None)
            if key is None:
                continue
            left[stem][key] -= 1
        papers.add(stem)
        held = held + [h for h in entered[stem] if S.same_kind(h.field, field)]
        order = [s.value for s in S.suggest(field, cands, arm, arms, names, k=len(cands), model=model, held=held)]
        if only_missed:
            entered[stem].append(S.Held(field, arm, value, page, quote, names[0] if names else None))
        rank = next((i for i, v in enumerate(order) if abs(v - value) < 1e-6), None)
        for t in (tally, by_field[field]):
            t["gaps"] += 1
            t["printed in text"] += rank is not None
            t["top 1"] += rank == 0
            t["top 3"] += rank is not None and rank < 3
    return {"papers": len(papers), "seconds": round(time.perf_counter() - start, 1), **tally,
            "by field": {f: dict(c) for f, c in sorted(by_field.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit", action="store_true", help="fit on the tuned splits and write the model")
    ap.add_argument("--holdout", action="store_true", help="also measure the held-out splits (totals only)")
    ap.add_argument("--split", nargs="*", help="measure these splits only")
    ap.add_argument("--missed", action="store_true", help="measure on the values the rule extractor misses only "
                    "(runs it on every paper: slower)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.fit:
        model = fit(FIT)
        S.MODEL.write_text(json.dumps(model, indent=1) + "\n")
    model = json.loads(S.MODEL.read_text())
    splits = args.split or (*FIT, *MEASURE, *(HOLDOUT if args.holdout else ()))
    out = {}
    for split in splits:
        result = measure(split, model, args.missed)
        if split in HOLDOUT:
            result.pop("by field")
        out[split] = result
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{'split':12} {'papers':>6} {'gaps':>6} {'in text':>8} {'top 1':>7} {'top 3':>7} {'s':>6}   fitted on: "
          + ", ".join(model.get("fitted_on", [])))
    for split, r in out.items():
        g = max(r.get("gaps", 0), 1)
        print(f"{split:12} {r['papers']:6} {r.get('gaps', 0):6} {r.get('printed in text', 0) / g:8.3f} "
              f"{r.get('top 1', 0) / g:7.3f} {r.get('top 3', 0) / g:7.3f} {r['seconds']:6.1f}")
        for field, c in (r.get("by field") or {}).items():
            n = max(c["gaps"], 1)
            print(f"  {field:14} {c['gaps']:6} {c['printed in text'] / n:8.3f} {c['top 1'] / n:7.3f} "
                  f"{c['top 3'] / n:7.3f}")


if __name__ == "__main__":
    main()
