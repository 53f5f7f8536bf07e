"""Benchmark: a reviewer entering by hand every value the truth holds (``metasift enter``, ``verify``'s e on a
missing value), on the page of the truth's quote (else the first page it lists), without typing a quote.

For each printed field of the truth files of a split (arms' n randomised / analysed / dropout, the outcome's
baseline mean / SD / n) this runs ``gaps.entry_quote`` on the truth's first page, with the outcome's label as the
measure for baseline values, and counts how the entry ends:

- **one line**: the page prints the value on one line, which becomes the quote. "same place" counts those whose
  line is where the truth's quote is (fuzzy match), "other place" those where the page prints the number
  elsewhere too but only one line matched (the provenance then points at another line: a reviewer should
  have given a quote);
- **asks which**: the page prints the value on several lines, listed for the reviewer to pick one (or type the words
  around it); "right line listed" counts those where one listed line is where the truth's quote is;
- **not on the page**: the page's text layer does not print it as a number of its own (a figure without text, a
  value split over lines), so the reviewer says where it is (--how).

With the truth's quote given (what a reviewer types when asked), "quote accepted" counts the entries that
then check out. Seconds are for reading the PDF once and checking each value.

**Rows** (``verify``'s w, ``gaps.row_values``): per count (every arm's n randomised, analysed or lost printed) and
per outcome's baseline (every arm's mean and SD printed), whether one line of a page the truth lists gives every
arm its value: "rows" counts those groups, "one line prints all arms" those a reviewer fills from a single line
(saying which of its numbers are whose), "proposed right" those whose proposed places (``gaps.row_picks``: one
mean (SD) pair or one whole number per arm, the columns in the order the row or a header above it names the truth's
arms, else the truth's order) are right, so Enter alone fills them, and "proposed wrong" those where every line
printing them proposes other places (the proposal a reviewer must not take unread).

Run: .venv/bin/python bench/bench_enter.py [--split tune|pmc-tune|...] [--json]. Held-out splits are refused:
their fields are never read one by one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_extract_fields import COUNTS, pdf_path, truth_files

from metasift.errors import AmbiguousEntry, EntryError
from metasift.extractor.checks import (
    QUOTE_MIN_SCORE,
    normalise_pdf_text,
    quote_has_number,
    quote_on_page,
)
from metasift.extractor.gaps import entry_quote, row_numbers, row_picks, row_values
from metasift.extractor.pdf import read_pdf
from metasift.extractor.pipeline import page_texts

SAME_PLACE = 80.0  # partial_ratio of the line to the truth's quote


def _fields(truth: dict):
    """(label, value, pages, quote, measure) of each printed field."""
    for arm in truth.get("arms") or []:
        for name in COUNTS:
            f = arm.get(name)
            if isinstance(f, dict) and f.get("value") is not None and f.get("pages"):
                yield f"{arm['name']}.{name}", f["value"], f["pages"], f.get("quote") or "", None
    for outcome in truth.get("outcomes") or []:
        for b in outcome.get("baseline") or []:
            for stat in ("mean", "sd", "n"):
                if b.get(stat) is not None and b.get("pages"):
                    yield (f"{b['arm']}.{outcome['label']}.{stat}", b[stat], b["pages"], b.get("quote") or "",
                           outcome["label"])


def _rows(truth: dict):
    """(field, pages, {arm: value, or (mean, SD)}) of each count and baseline every arm of the truth prints."""
    arms = [a["name"] for a in truth.get("arms") or []]
    for name in COUNTS:
        got = {a["name"]: a[name] for a in truth.get("arms") or [] if isinstance(a.get(name), dict)
               and a[name].get("value") is not None}
        if len(arms) >= 2 and set(got) == set(arms):
            yield name, sorted({p for f in got.values() for p in f.get("pages") or []}), \
                {arm: got[arm]["value"] for arm in arms}
    for outcome in truth.get("outcomes") or []:
        by = {b["arm"]: b for b in outcome.get("baseline") or []
              if b.get("mean") is not None and b.get("sd") is not None}
        if len(arms) >= 2 and set(by) == set(arms):
            yield "baseline_mean", sorted({p for b in by.values() for p in b.get("pages") or []}), \
                {arm: (by[arm]["mean"], by[arm]["sd"]) for arm in arms}


def _one_line(field: str, pages: list[int], want: dict, texts: dict[int, str]) -> str | None:
    """How one line of ``pages`` that prints every arm's value of ``want`` fills them (a reviewer saying which of
    its numbers are whose): "proposed right" when its proposed places (``gaps.row_picks``) are already those, so
    Enter alone fills them; "proposed wrong" when it proposes other places (the reviewer must see it); "asks"
    when it proposes none; None when no line prints them all."""
    arms = list(want)
    expect = [float(v) for arm in arms for v in (want[arm] if isinstance(want[arm], tuple) else (want[arm],))]
    found = []
    for page in pages:
        lines = texts.get(page, "").splitlines()
        for at, line in enumerate(lines):
            numbers = [float(x) for x in row_numbers(line)]
            if not all(any(abs(x - v) < 1e-6 for x in numbers) for v in expect):
                continue
            picks = row_picks(line, field, arms, lines[:at])
            got = [r.value for r in row_values(line, field, arms, picks)] if picks else []
            right = len(got) == len(expect) and all(abs(x - y) < 1e-6 for x, y in zip(got, expect))
            found.append("proposed right" if right else "proposed wrong" if picks else "asks")
    return min(found, key=("proposed right", "asks", "proposed wrong").index) if found else None


def score(split: str, details: bool = False) -> tuple[Counter, float, int]:
    tally: Counter = Counter()
    seconds, papers = 0.0, 0
    for stem, truth in truth_files(split):
        path = pdf_path(stem, split)
        if not path.exists():
            continue
        start = time.perf_counter()
        texts = page_texts(read_pdf(path))
        papers += 1
        for label, value, pages, quote, measure in _fields(truth):
            # the page the truth's quote is on (a value printed on several pages is quoted from one)
            page = next((p for p in pages if quote and quote_on_page(quote, texts.get(p, "")) >= QUOTE_MIN_SCORE),
                        pages[0])
            text = texts.get(page, "")
            tally["fields"] += 1
            if not quote_has_number(quote, value):  # the truth quotes the row of a baseline n printed above it
                quote = ""
            try:
                line = entry_quote(value, page, text, None, measure)
                same = fuzz.partial_ratio(normalise_pdf_text(line), normalise_pdf_text(quote)) >= SAME_PLACE
                tally["one line" if not quote else "one line, same place" if same else "one line, other place"] += 1
                if quote and not same and details:
                    print(f"  other place: {stem} {label} = {value} p{page}: {line[:70]!r} vs {quote[:70]!r}")
            except EntryError as exc:
                tally["asks which" if isinstance(exc, AmbiguousEntry) else "not on the page"] += 1
                if isinstance(exc, AmbiguousEntry) and quote:
                    listed = any(fuzz.partial_ratio(normalise_pdf_text(line), normalise_pdf_text(quote)) >= SAME_PLACE
                                 for line in exc.lines)
                    tally["right line listed" if listed else "right line not listed"] += 1
                if quote:
                    try:
                        entry_quote(value, page, text, quote, measure)
                        tally["quote accepted"] += 1
                    except EntryError:
                        tally["quote refused"] += 1
        for field, pages, want in _rows(truth):
            kind = "baseline" if field.startswith("baseline") else "count"
            how = _one_line(field, pages, want, texts)
            tally[f"rows: {kind}"] += 1
            tally[f"one line prints all arms: {kind}"] += how is not None
            tally[f"proposed right: {kind}"] += how == "proposed right"
            tally[f"proposed wrong: {kind}"] += how == "proposed wrong"
        seconds += time.perf_counter() - start
    return tally, seconds, papers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", nargs="+", default=["tune", "pmc-tune"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--details", action="store_true", help="print each value whose one line is not the truth's")
    args = ap.parse_args()
    out = {}
    for split in args.split:
        if split.endswith("holdout") or split == "holdout":
            sys.exit(f"{split}: held-out fields are not read one by one")
        tally, seconds, papers = score(split, args.details)
        out[split] = {"papers": papers, "seconds": round(seconds, 2), **tally}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    keys = ("fields", "one line", "one line, same place", "one line, other place", "asks which",
            "right line listed", "right line not listed", "not on the page", "quote accepted", "quote refused", "rows: count",
            "one line prints all arms: count", "proposed right: count", "proposed wrong: count",
            "rows: baseline", "one line prints all arms: baseline", "proposed right: baseline",
            "proposed wrong: baseline")
    print(f"{'split':12} {'papers':>6} " + " ".join(f"{k:>22}" for k in keys) + f" {'s':>6}")
    for split, row in out.items():
        print(f"{split:12} {row['papers']:6} " + " ".join(f"{row.get(k, 0):22}" for k in keys)
              + f" {row['seconds']:6.1f}")


if __name__ == "__main__":
    main()
