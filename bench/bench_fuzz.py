"""The long fuzz run (``make fuzz``): mutants of every shared export and PDF through the real CLI path.

Prints, per source file type, how many mutants were tried and how each ended (imported / clean error /
unclean error / exit 0 with nothing / traceback / hang / memory / crash / store changed on failure), the
throughput, and every failure with its seed and a one-line reproduction. ``--save-corpus`` keeps each new
failure signature (one case per distinct way of failing and source type) in ``tests/fuzz/corpus/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.harness import CATEGORIES, Outcome, Runner, reproduction
from tests.fuzz.seeds import (
    LONG_EXPORT_MUTANTS,
    LONG_PDF_MUTANTS,
    SEED_BASE,
    case_from_label,
    plan,
    shared_available,
)

COLUMNS = ("tried", *CATEGORIES, "store changed")


def table(outcomes: list[Outcome]) -> str:
    """Counts per source file type (rows) and outcome (columns), with a total row."""
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        for key in (o.kind, "all"):
            rows[key]["tried"] += 1
            rows[key][o.category] += 1
            rows[key]["store changed"] += o.store_changed
    names = [*sorted(k for k in rows if k != "all"), "all"]
    widths = [max(len(c), 5) for c in COLUMNS]
    lines = ["type  " + " ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    for name in names:
        lines.append(f"{name:<5} " + " ".join(str(rows[name][c]).rjust(w) for c, w in zip(COLUMNS, widths,
                                                                                           strict=True)))
    return "\n".join(lines)


def failures_report(failed: list[Outcome]) -> str:
    """Each failure on two lines: what happened, and how to reproduce it."""
    out = []
    for o in sorted(failed, key=lambda x: (x.signature, x.label)):
        out.append(f"- {o.summary()}\n    {reproduction(case_from_label(o.label))}")
    return "\n".join(out)


def save_new(runner: Runner, failed: list[Outcome]) -> list[Path]:
    """One corpus case per (source type, failure signature) not yet in the corpus."""
    from tests.fuzz.corpus import _index, save

    known = {(v["case"].rsplit(".", 1)[-1].split("@")[0], v["found"]) for v in _index().values()}
    saved = []
    for o in sorted(failed, key=lambda x: (x.signature, x.label)):
        key = (o.kind, o.signature)
        if key in known:
            continue
        known.add(key)
        saved.append(save(runner, case_from_label(o.label), o))
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=LONG_EXPORT_MUTANTS, help="export mutants")
    parser.add_argument("--pdfs", type=int, default=LONG_PDF_MUTANTS, help="PDF mutants")
    parser.add_argument("--workers", type=int, default=max(2, min(4, os.cpu_count() or 2)))
    parser.add_argument("--seed-base", type=int, default=SEED_BASE)
    parser.add_argument("--save-corpus", action="store_true", help="keep new failures in tests/fuzz/corpus/")
    parser.add_argument("--cases", nargs="*", metavar="NAME@SEED", help="run only these cases (as printed)")
    args = parser.parse_args()
    if not shared_available():
        print("../shared/data is absent: nothing to fuzz (the suite mutates its exports and PDFs)")
        return 0
    cases = [case_from_label(c) for c in args.cases] if args.cases else plan(args.exports, args.pdfs,
                                                                              seed_base=args.seed_base)
    start = time.perf_counter()
    runner = Runner.start(workers=args.workers)
    ready = time.perf_counter()
    outcomes: list[Outcome] = []
    try:
        for o in runner.run_cases(cases):
            outcomes.append(o)
            if o.failed:
                print(f"FAIL {o.summary()}", flush=True)
            if len(outcomes) % 100 == 0:
                print(f"... {len(outcomes)}/{len(cases)} in {time.perf_counter() - ready:.0f} s", flush=True)
        elapsed = time.perf_counter() - ready
        failed = [o for o in outcomes if o.failed]
        print(f"\n{len(outcomes)} mutants with {args.workers} workers in {elapsed:.1f} s "
              f"(+{ready - start:.1f} s start-up): {len(outcomes) / elapsed:.1f} mutants/s")
        for kind in ("export", "pdf"):
            part = [o for o in outcomes if (o.kind == "pdf") == (kind == "pdf")]
            if part:
                print(f"  {kind}: {len(part)} mutants, {sum(o.seconds for o in part) / len(part):.2f} s each "
                      f"in a worker")
        print(f"  worker restarts: {runner.pool.restarts}\n")
        print(table(outcomes))
        if failed:
            print(f"\n{len(failed)} failures:\n{failures_report(failed)}")
        if args.save_corpus and failed:
            for path in save_new(runner, failed):
                print(f"saved {path}")
    finally:
        runner.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
