"""Import + dedup of 100,000 records: wall time and peak memory (target < 30 s, < 2 GB).

Builds a 100,000-record RIS file from the labelled screening sets in ../shared (titles, abstracts,
DOIs, years of real records) with ~15 % duplicates, then runs the same library calls as
``metasift import`` and ``metasift dedup`` in a fresh project.
"""

from __future__ import annotations

import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCREENING = REPO.parent / "shared" / "data" / "screening"
N = 100_000


def build_ris(path: Path, n: int) -> int:
    rng = random.Random(7)
    base = []
    for f in sorted(SCREENING.glob("*.csv")):
        with open(f, encoding="utf-8") as fh:
            base += [r for r in csv.DictReader(fh) if r["title"]]
    lines, written = [], 0
    surnames = ["Smith", "Chen", "Garcia", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Okafor", "Patel"]
    while written < n:
        for i, rec in enumerate(base):
            if written >= n:
                break
            copy = written // len(base)
            title = rec["title"] if copy == 0 else f"{rec['title']} (part {copy + 1})"
            author = f"{surnames[(i + copy) % len(surnames)]}, {chr(65 + i % 26)}."
            entries = [(title, rec["doi"] and f"{rec['doi']}/{copy}" if copy else rec["doi"])]
            if rng.random() < 0.15:  # a duplicate as another database exports it
                entries.append((title.upper(), ""))
            for t, doi in entries:
                if written >= n:
                    break
                lines += ["TY  - JOUR", f"TI  - {t}", f"AU  - {author}", f"PY  - {rec['year'] or 2000}",
                          f"AB  - {rec['abstract'][:1500]}", "JO  - Journal of Benchmarks"]
                if doi:
                    lines.append(f"DO  - {doi}")
                lines += ["ER  - ", ""]
                written += 1
    path.write_text("\n".join(lines), encoding="utf-8")
    return written


def main() -> int:
    if not SCREENING.is_dir():
        print("skipped: ../shared/data/screening not found")
        return 0
    from metasift.cli import main as cli_main  # noqa: F401  (import cost outside the timing)
    from metasift.identify import import_file, run_dedup
    from metasift.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ris = tmp / "search.ris"
        n = build_ris(ris, N)
        project = tmp / "review"
        from typer.testing import CliRunner

        from metasift.cli import app

        CliRunner().invoke(app, ["init", str(project)])
        store = Store.open(project)
        t0 = time.perf_counter()
        outcome = import_file(store, ris)
        t1 = time.perf_counter()
        summary = run_dedup(store)
        t2 = time.perf_counter()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"records: {n} imported ({outcome.n_records}); clusters {summary.clusters}; "
              f"duplicates removed {summary.duplicates_removed}")
        print(f"import: {t1 - t0:.1f} s   dedup: {t2 - t1:.1f} s   total: {t2 - t0:.1f} s (target < 30 s)")
        print(f"peak RSS: {peak_mb:.0f} MB (target < 2048 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
