"""Benchmark (issue #16): can what is known of a value the rule extractor read, without the truth, tell a wrong one?

A negative result kept so it can be run again. Three ways of sending fewer wrong values on, both measured here on
papers their choice did not see:

- **A learned gate.** Every value the extractor reads with a page on a paper with truth (arms' n randomised /
  analysed / dropout, the outcome's baseline mean / SD / n, scored as ``bench_extract_fields.py`` scores them) is
  one example, wrong when the paper prints another value or none. Its features are what is known without the
  truth (``value_features``): the field, how it was read (a sentence, a flow diagram, a table header; how many
  statements print it), each kind of reason the checks give for a human to look, whether the arm's counts add up,
  how many pages print the number, what the baseline chosen is. A logistic model (scikit-learn, balanced) is
  fitted on the tune splits and measured on pmc-probe and pmc-probe2 (AUC; what withholding the values above a
  probability would do), and then cross-validated by paper over every released split (``--cv``): the share of
  wrong values among the most suspect ones is what decides whether withholding them would raise precision.
- **Balance of randomised arms at baseline** (``--balance``): randomised arms rarely differ by more than 0.8 SD,
  or in SD by a factor of 3, so a baseline read from the wrong row or as an SE might show it. Counted on the
  values the checks auto-verify: right ones it would send to a human, wrong ones it would catch.
- **The suggestion model as a second reader** (``--agreement``): auto-verify only what it also ranks among its
  first k for that arm and field. Counted the same way.

Run: .venv/bin/python bench/bench_confidence.py [--cv | --balance | --agreement] [--split S ...]. What the extractor reads in
each paper is kept under bench/out/confidence_cache (read again when the extractor's code changes; about 10
minutes for the five released splits).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_extract_fields import totals, truth_files

from metasift.extractor.checks import ValueCheck, check_extraction, normalise_pdf_text, number_forms
from metasift.extractor.outcomes import baseline_path
from metasift.extractor.schema import Evidence, ExtractionResult
from metasift.kinds import ExtractionStatus

FIT = ("tune", "pmc-tune", "pmc2-tune")
MEASURE = ("pmc-probe", "pmc-probe2")
CACHE = REPO / "bench" / "out" / "confidence_cache"

COUNTS = ("n_randomised", "n_analysed", "n_dropout")
STATS = ("mean", "sd", "n")
ORIGINS = ("sentence", "diagram", "table", "ocr")
# the kinds of reason the checks give (``checks``, the rules' doubts), matched on the reason's text
REASONS = {
    "printed_once": r"printed once",
    "headers_only": r"table headers only",
    "two_totals": r"two totals",
    "arm_unnamed": r"named by no sentence",
    "page_prints_other": r"page \d+ prints \d",
    "rivals": r"other baselines fit",
    "quote_missing": r"quote not found|quote does not contain",
    "from_sentence": r"read from a sentence",
    "cell_unstated": r"though nothing in the table says",
    "no_sd_after": r"has no sd after",
    "design": r"design: which groups",
    "arms_sum": r"arms sum to",
    "derived_or_ocr": r"computed, not printed|read by ocr",
    "implausible": r"implausibl",
    "arithmetic": r"!=|exceeds|more than|less than",
    "time_columns": r"time points",
    "analysed_as_randomised": r"analysed taken as",
}
_REASON = {k: re.compile(v) for k, v in REASONS.items()}
_FIELD = re.compile(r"^arms\[(\d+)\]\.(n_randomised|n_analysed|n_dropout)$")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d])")

FEATURES = (
    *(f"field_{f}" for f in (*COUNTS, *(f"baseline_{s}" for s in STATS))),
    *(f"origin_{o}" for o in ORIGINS), "support_2", "auto_verified", "reasons", "doubt",
    *(f"reason_{k}" for k in REASONS), "reason_other",
    "arms_3", "arms_with_field", "analysed_over_randomised", "dropout_off", "counts_complete", "arms_sum_total",
    "n_is_randomised", "n_is_analysed", "n_over_randomised", "baseline_of_outcome", "baseline_rivals",
    "baseline_not_mean_sd", "sd_over_mean", "pages_printing_0", "pages_printing_2", "quote_words", "quote_n_equals",
    "page_share", "value_small", "value_decimal",
)


def _flag(test: object) -> float:
    return 1.0 if test else 0.0


def _pages_printing(value: float, texts: Mapping[int, str]) -> int:
    forms = set(number_forms(value))
    return sum(any(n in forms for n in _NUMBER.findall(text)) for text in texts.values())


def _arm_counts(result: ExtractionResult, i: int) -> tuple[int | None, int | None, int | None]:
    arm = result.arms[i]
    return arm.n_randomised, arm.n_analysed, arm.n_dropout


def _stat_of(field: str, result: ExtractionResult) -> tuple[str, int] | None:
    """(field name as ``FIELDS`` spells it, arm index) of an evidenced path: an arm's count or its chosen baseline."""
    if m := _FIELD.match(field):
        return m.group(2), int(m.group(1))
    path, _, stat = field.rpartition(".")
    if stat in STATS:
        for i in range(len(result.arms)):
            if baseline_path(result, i) == path:
                return f"baseline_{stat}", i
    return None


def value_features(result: ExtractionResult, checks: Sequence[ValueCheck], texts: Mapping[int, str],
                   ) -> dict[str, dict[str, float]]:
    """The features of each value read that ``FEATURES`` names, by evidence path (arms' counts and the baselines
    chosen for the outcome; other values are not scored)."""
    evidence: dict[str, Evidence] = {ev.field: ev for ev in result.evidence}
    by_field = {c.field: c for c in checks}
    n_pages = max(len(texts), 1)
    out: dict[str, dict[str, float]] = {}
    for path, ev in evidence.items():
        which = _stat_of(path, result)
        if which is None or not isinstance(ev.value, (int, float)) or ev.page is None:
            continue
        field, i = which
        check = by_field.get(path)
        reasons = [r.lower() for r in (check.reasons if check else [])]
        f = dict.fromkeys(FEATURES, 0.0)
        f[f"field_{field}"] = 1.0
        if ev.origin in ORIGINS:
            f[f"origin_{ev.origin}"] = 1.0
        f["support_2"] = _flag(ev.support >= 2)
        f["auto_verified"] = _flag(check is not None and check.status == ExtractionStatus.AUTO_VERIFIED)
        f["reasons"] = min(len(reasons), 3) / 3
        f["doubt"] = _flag(ev.doubt)
        for r in reasons:
            kinds = [k for k, rx in _REASON.items() if rx.search(r)]
            for k in kinds:
                f[f"reason_{k}"] = 1.0
            f["reason_other"] = max(f["reason_other"], _flag(not kinds))
        arms = result.arms
        f["arms_3"] = _flag(len(arms) >= 3)
        randomised, analysed, dropout = _arm_counts(result, i)
        if field in COUNTS:
            f["arms_with_field"] = sum(getattr(a, field) is not None for a in arms) / max(len(arms), 1)
        else:
            f["arms_with_field"] = sum(a.baseline is not None and getattr(a.baseline, field[9:]) is not None
                                       for a in arms) / max(len(arms), 1)
        if randomised and analysed is not None:
            f["analysed_over_randomised"] = _flag(analysed > randomised)
        if randomised is not None and analysed is not None and dropout is not None:
            f["dropout_off"] = _flag(randomised - analysed != dropout)
        f["counts_complete"] = _flag(None not in (randomised, analysed, dropout))
        if result.n_total and all(a.n_randomised is not None for a in arms):
            f["arms_sum_total"] = _flag(sum(a.n_randomised for a in arms) == result.n_total)
        base = arms[i].baseline
        if field.startswith("baseline_") and base is not None:
            if base.n is not None:
                f["n_is_randomised"] = _flag(base.n == randomised)
                f["n_is_analysed"] = _flag(base.n == analysed)
                f["n_over_randomised"] = _flag(randomised is not None and base.n > randomised)
            f["baseline_of_outcome"] = _flag(result.target is not None and result.target.outcome is not None)
            f["baseline_rivals"] = _flag(result.target is not None and result.target.rivals)
            f["baseline_not_mean_sd"] = _flag(base.printed_as != "mean (SD)")
            if base.mean and base.sd is not None:
                f["sd_over_mean"] = _flag(base.sd > abs(base.mean))
        printing = _pages_printing(float(ev.value), texts)
        f["pages_printing_0"] = _flag(printing == 0)
        f["pages_printing_2"] = _flag(printing >= 2)
        quote = normalise_pdf_text(ev.quote)
        f["quote_words"] = min(len(quote.split()), 60) / 60
        f["quote_n_equals"] = _flag(re.search(r"\bn\s*[=:]", quote))
        f["page_share"] = (ev.page - 1) / n_pages
        f["value_small"] = _flag(float(ev.value) < 10)
        f["value_decimal"] = _flag(not float(ev.value).is_integer())
        out[path] = f
    return out



def _code_hash() -> str:
    """The extractor's code: the cache holds what it reads."""
    h = hashlib.sha256()
    for f in sorted((REPO / "extractor").glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _read(split: str) -> dict:
    """What the extractor reads in each paper of a split, with each value's outcome, cached:
    {"papers": [{stem, texts, results, values: [[result index, field, outcome]]}], "totals": bench totals}."""
    from bench_extract_fields import score_paper

    cache = CACHE / f"{split}.{_code_hash()}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    papers, scores = [], []
    for stem, truth in truth_files(split):
        s = score_paper(stem, truth, keep=True)
        scores.append(s)
        results: list = []
        values = []
        for result, field, outcome in s.values:
            if not any(r is result for r in results):
                results.append(result)
            values.append([next(k for k, r in enumerate(results) if r is result), field, outcome])
        papers.append({"stem": stem, "texts": {str(k): v for k, v in s.texts.items()},
                       "results": [r.model_dump(mode="json") for r in results], "values": values})
        s.values, s.texts = [], {}
    out = {"papers": papers, "totals": totals(scores)}
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def examples(split: str) -> dict:
    """{"examples": [{stem, field, outcome, features}], "totals": bench totals} of a split (values of arms' counts
    and the chosen baselines only)."""
    data = _read(split)
    rows = []
    for paper in data["papers"]:
        texts = {int(k): v for k, v in paper["texts"].items()}
        results = [ExtractionResult.model_validate(r) for r in paper["results"]]
        features = [value_features(r, check_extraction(r, texts), texts) for r in results]
        for k, field, outcome in paper["values"]:
            if (f := features[k].get(field)) is not None:
                rows.append({"stem": paper["stem"], "field": field, "outcome": outcome, "features": f})
    return {"examples": rows, "totals": data["totals"]}


def _matrix(rows: list[dict]):
    import numpy as np

    return (np.array([[r["features"][n] for n in FEATURES] for r in rows]),
            np.array([r["outcome"] != "right" for r in rows]))


def _model(rows: list[dict]):
    from sklearn.linear_model import LogisticRegression

    X, y = _matrix(rows)
    return LogisticRegression(C=0.5, class_weight="balanced", max_iter=5000).fit(X, y)


def _auc(y, p) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def withheld(data: dict, p, y, threshold: float) -> dict:
    """What withholding the values whose probability of being wrong is ``threshold`` or more would do to a split's
    precision, recall and fabricated values (withheld values count as not read)."""
    t = data["totals"]
    outcomes = [r["outcome"] for r in data["examples"]]
    held = [o for o, q in zip(outcomes, p, strict=True) if q >= threshold]
    right = held.count("right")
    hits, predicted = t["hits"] - right, t["predicted"] - len(held)
    return {"withheld_wrong": len(held) - right, "withheld_right": right,
            "before": (t["precision"], t["recall"], t["fabricated"]),
            "after": (hits / predicted if predicted else None, hits / t["printed"] if t["printed"] else None,
                      t["fabricated"] - held.count("fabricated"))}


def fitted_on_tune(splits: Sequence[str], threshold: float) -> None:
    """Fit on the tune splits, measure on ``splits``."""
    model = _model([r for sp in FIT for r in examples(sp)["examples"]])
    print(f"fitted on {', '.join(FIT)}; withheld at p(wrong) >= {threshold}")
    print(f"{'split':12} {'values':>6} {'wrong':>5} {'AUC':>6} {'held W':>6} {'held R':>6}  precision / recall / fab")
    for sp in splits:
        data = examples(sp)
        X, y = _matrix(data["examples"])
        p = model.predict_proba(X)[:, 1]
        w = withheld(data, p, y, threshold)
        b, a = w["before"], w["after"]
        auc = _auc(y, p)
        print(f"{sp:12} {len(y):6} {int(y.sum()):5} {auc if auc is not None else float('nan'):6.3f} "
              f"{w['withheld_wrong']:6} {w['withheld_right']:6}  {b[0]:.3f} / {b[1]:.3f} / {b[2]} -> "
              f"{a[0]:.3f} / {a[1]:.3f} / {a[2]}")


def cross_validated(splits: Sequence[str]) -> None:
    """Five folds by paper (an article and its relaid copy in one fold) over ``splits``: out-of-fold AUC, and how
    many of the k most suspect values are wrong."""
    import numpy as np

    rows = [r | {"split": sp} for sp in splits for r in examples(sp)["examples"]]
    X, y = _matrix(rows)
    stems = sorted({r["stem"] for r in rows})
    fold_of = {stem: i % 5 for i, stem in enumerate(np.random.default_rng(0).permutation(stems))}
    folds = np.array([fold_of[r["stem"]] for r in rows])
    p = np.zeros(len(y))
    for k in range(5):
        p[folds == k] = _model([r for r, f in zip(rows, folds, strict=True) if f != k]).predict_proba(
            X[folds == k])[:, 1]
    order = np.argsort(-p)
    wrong = np.cumsum(y[order])
    print(f"cross-validated by paper over {', '.join(splits)}: {len(y)} values, {int(y.sum())} wrong, "
          f"out-of-fold AUC {_auc(y, p):.3f}")
    for k in (10, 20, 40, 80, 160):
        print(f"  the {k:3} most suspect values: {int(wrong[k - 1]):3} wrong, {k - int(wrong[k - 1]):3} right")


def _balance(result: ExtractionResult, measure: str | None) -> tuple[float, float]:
    """The largest standardised difference between two arms' baselines of ``measure``, and the largest SD ratio."""
    rows = [b for a in result.arms for b in a.baselines
            if b.measure == measure and b.mean is not None and b.sd and b.sd > 0]
    if len(rows) < 2:
        return 0.0, 1.0
    d = max(abs(b1.mean - b2.mean) / math.sqrt((b1.sd ** 2 + b2.sd ** 2) / 2)
            for b1, b2 in itertools.combinations(rows, 2))
    return d, max(b.sd for b in rows) / min(b.sd for b in rows)


def balance(splits: Sequence[str], d_max: float = 0.8, ratio_max: float = 3.0) -> None:
    """Baseline means and SDs the checks auto-verify whose arms differ by more than ``d_max`` SD or whose SDs
    differ by more than ``ratio_max`` times: right ones a balance check would send to a human, wrong ones it
    would catch."""
    print(f"balance check: arms differ by > {d_max} SD or SD ratio > {ratio_max}")
    for sp in splits:
        tally = Counter()
        for paper in _read(sp)["papers"]:
            texts = {int(k): v for k, v in paper["texts"].items()}
            results = [ExtractionResult.model_validate(r) for r in paper["results"]]
            checks = [{c.field: c for c in check_extraction(r, texts)} for r in results]
            for k, path, outcome in paper["values"]:
                result, check = results[k], checks[k].get(path)
                which = _stat_of(path, result)
                if which is None or which[0] not in ("baseline_mean", "baseline_sd") or check is None \
                        or check.status != ExtractionStatus.AUTO_VERIFIED:
                    continue
                d, ratio = _balance(result, result.arms[which[1]].baseline.measure)
                tally[(outcome == "right", d > d_max or ratio > ratio_max)] += 1
        print(f"  {sp:12} right auto-verified flagged {tally[(True, True)]} of {tally[(True, True)] + tally[(True, False)]}"
              f", wrong auto-verified caught {tally[(False, True)]} of {tally[(False, True)] + tally[(False, False)]}")


def agreement(splits: Sequence[str], ks: Sequence[int] = (1, 3, 5)) -> None:
    """Auto-verified values the suggestion model (``extractor.suggest``, the study's other values read held) also
    ranks among its first k for that arm and field: right ones a second-reader check would keep, wrong ones it
    would let through."""
    from metasift.extractor import suggest as S

    print("the suggestion model as a second reader of the auto-verified values")
    for sp in splits:
        tally = Counter()
        for paper in _read(sp)["papers"]:
            texts = {int(k): v for k, v in paper["texts"].items()}
            candidates = S.page_candidates(texts)
            results = [ExtractionResult.model_validate(r) for r in paper["results"]]
            checks = [{c.field: c for c in check_extraction(r, texts)} for r in results]
            for k, path, outcome in paper["values"]:
                result, check = results[k], checks[k].get(path)
                which = _stat_of(path, result)
                if which is None or check is None or check.status != ExtractionStatus.AUTO_VERIFIED:
                    continue
                field, i = which
                arm = result.arms[i]
                names = [n for n in (result.target.measure if result.target else None,
                                     arm.baseline.measure if arm.baseline else None) if n]
                held = [S.Held(w[0], result.arms[w[1]].name, ev.value, ev.page, ev.quote)
                        for ev in result.evidence if ev.field != path and (w := _stat_of(ev.field, result))]
                got = [s.value for s in S.suggest(field, candidates, arm.name, [a.name for a in result.arms], names,
                                                  k=max(ks), held=held)]
                place = next((j for j, v in enumerate(got) if abs(v - float(check.value)) < 1e-6), len(got))
                for top in ks:
                    tally[(top, outcome == "right", place < top)] += 1
        print(f"  {sp:12} " + "  ".join(
            f"top {top}: right kept {tally[(top, True, True)]} of {tally[(top, True, True)] + tally[(top, True, False)]}"
            f", wrong kept {tally[(top, False, True)]} of {tally[(top, False, True)] + tally[(top, False, False)]}"
            for top in ks))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", action="store_true", help="cross-validate by paper over every released split")
    ap.add_argument("--balance", action="store_true", help="measure the balance check instead")
    ap.add_argument("--agreement", action="store_true", help="measure the suggestion model as a second reader")
    ap.add_argument("--split", action="append", help="measure these splits (default: the tune splits and probes)")
    ap.add_argument("--threshold", type=float, default=0.8, help="withhold at this probability of being wrong")
    args = ap.parse_args()
    splits = args.split or [*FIT, *MEASURE]
    if args.balance:
        balance(splits)
    elif args.agreement:
        agreement(splits)
    elif args.cv:
        cross_validated(splits)
    else:
        fitted_on_tune(splits, args.threshold)


if __name__ == "__main__":
    main()
