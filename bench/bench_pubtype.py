"""Benchmark: what the publication-type classifier (``screener.pubtype``) does to the records a review kept.

Over the five labelled sets in ../shared/data/screening (title and abstract only, so ``raw_type=None``:
this measures the title patterns alone), classifies every record and prints, per set and in total,
how many fall in each class: first for the final inclusions (``label_included`` = 1, final after full
text per the README; 525 in all), then for all records, with what the starter protocol's rule
``publication_type not in ['protocol', 'erratum', 'comment', 'review', 'retraction']`` would exclude.

The patterns were tuned on the records of the two smallest Cohen sets and on the export samples in
../shared/data/exports only; the other three sets are held out and reported apart.

Fails (exit 1) when any inclusion is classed comment, erratum or retraction: those classes must never
cost a review a study. Inclusions classed review or protocol are listed with their titles to check by
hand (the Cohen drug-class reviews did include systematic reviews and meta-analyses).

Run: .venv/bin/python bench/bench_pubtype.py
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from pathlib import Path

from metasift.screener.pubtype import classify_publication_type

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"
TUNED = ("cohen_adhd", "cohen_atypical_antipsychotics")
HELD_OUT = ("cohen_ace_inhibitors", "bannach_brown_2019_depression_animal", "van_de_Schoot_2017_ptsd")
CLASSES = ("article", "review", "protocol", "comment", "erratum", "retraction", "none")
NEVER_FOR_AN_INCLUDE = ("comment", "erratum", "retraction")
EXCLUDED_BY_STARTER_RULE = ("protocol", "erratum", "comment", "review", "retraction")
EXPECTED_INCLUDES = 525


def read_set(path: Path) -> list[tuple[str, int]]:
    """(title, label_included) for every row; ``label_included`` is the final (full-text) inclusion."""
    csv.field_size_limit(2**31 - 1)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [((row.get("title") or "").strip(), int(row["label_included"])) for row in csv.DictReader(handle)]


def classify(title: str) -> str:
    """The classifier's answer for a title with no database type; "none" when there is no title."""
    return classify_publication_type(title or None, None) or "none"


def table(title: str, counts: dict[str, Counter[str]], groups: dict[str, tuple[str, ...]]) -> str:
    """Class counts per set, with a total row per group (tuned / held out) and overall."""
    head = f"{'set':<40s} {'group':<9s} {'N':>6s} " + " ".join(f"{c:>10s}" for c in CLASSES) + f" {'rule excl':>10s}"
    lines = [f"\n== {title}", head, "-" * len(head)]

    def row(name: str, group: str, c: Counter[str]) -> str:
        n, excl = sum(c.values()), sum(c[k] for k in EXCLUDED_BY_STARTER_RULE)
        pct = f"{excl / n:.1%}" if n else "-"
        return (f"{name:<40s} {group:<9s} {n:6d} " + " ".join(f"{c[k]:10d}" for k in CLASSES)
                + f" {excl:4d} {pct:>5s}")

    for group, names in groups.items():
        for name in names:
            if name in counts:
                lines.append(row(name, group, counts[name]))
    for group, names in groups.items():
        lines.append(row(f"TOTAL {group}", group, sum((counts[n] for n in names if n in counts), Counter())))
    lines.append(row("TOTAL all", "", sum(counts.values(), Counter())))
    return "\n".join(lines)


def main() -> int:
    files = {p.stem: p for p in sorted(DATA.glob("*.csv"))}
    if not files:
        print(f"skipped: no labelled sets in {DATA}")
        return 0
    groups = {"tuned": tuple(n for n in TUNED if n in files), "held-out": tuple(n for n in HELD_OUT if n in files)}
    others = tuple(n for n in files if n not in TUNED + HELD_OUT)
    if others:
        groups["untuned"] = others  # a set added later was never looked at either
    print("tuned on (records only, plus ../shared/data/exports):", ", ".join(groups["tuned"]) or "-")
    print("held out:", ", ".join(groups["held-out"] + others) or "-")
    print("raw_type=None for every record (these CSVs carry no database type): title patterns only")

    start = time.perf_counter()
    includes: dict[str, Counter[str]] = {}
    everything: dict[str, Counter[str]] = {}
    excluded_only: dict[str, Counter[str]] = {}
    flagged: list[tuple[str, str, str]] = []
    n_records = 0
    for name, path in files.items():
        rows = read_set(path)
        n_records += len(rows)
        kinds = [classify(t) for t, _ in rows]
        everything[name] = Counter(kinds)
        includes[name] = Counter(k for k, (_, y) in zip(kinds, rows, strict=True) if y == 1)
        excluded_only[name] = Counter(k for k, (_, y) in zip(kinds, rows, strict=True) if y == 0)
        flagged += [(name, k, t) for k, (t, y) in zip(kinds, rows, strict=True)
                    if y == 1 and k in ("review", "protocol")]
    seconds = time.perf_counter() - start

    n_incl = sum(sum(c.values()) for c in includes.values())
    print(f"\nfinal inclusions: {n_incl} (README: {EXPECTED_INCLUDES}) "
          f"{'OK' if n_incl == EXPECTED_INCLUDES or len(files) < 5 else 'MISMATCH'}; "
          f"{n_records} records classified in {seconds:.2f} s")
    print(table("final inclusions (label_included = 1)", includes, groups))
    print(table("all records", everything, groups))
    print(table("excluded records (label_included = 0): what the rule saves the screeners", excluded_only, groups))

    print(f"\n== inclusions classed review or protocol ({len(flagged)}), to check by hand")
    for group, names in groups.items():
        for name, k, title in flagged:
            if name in names:
                print(f"  [{group}] {name} | {k:8s} | {title}")

    bad = {n: sum(c[k] for k in NEVER_FOR_AN_INCLUDE) for n, c in includes.items()}
    n_bad = sum(bad.values())
    print(f"\ninclusions classed {'/'.join(NEVER_FOR_AN_INCLUDE)}: {n_bad} "
          f"({'OK' if not n_bad else 'FAIL: ' + ', '.join(f'{n}={v}' for n, v in bad.items() if v)})")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
