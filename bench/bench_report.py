"""``metasift report`` on a 10,000-record project (target under 10 s).

Runs the demo's whole path into a fresh project, adds ~10,000 more screened records (real titles and
abstracts from ../shared/data/screening, decided by two reviewers), then times the report.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCREENING = REPO.parent / "shared" / "data" / "screening"


def main() -> int:
    from metasift.config import load_protocol
    from metasift.records import Record
    from metasift.report.build import write_report
    from metasift.store import Store

    subprocess.run([sys.executable, str(REPO / "examples" / "demo.py")], check=True, capture_output=True)
    demo = REPO / "demo-output" / "review"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "review"
        subprocess.run(["cp", "-r", str(demo), str(project)], check=True)
        rows = []
        for f in sorted(SCREENING.glob("*.csv")) if SCREENING.is_dir() else []:
            with open(f, encoding="utf-8") as fh:
                rows += [r for r in csv.DictReader(fh) if r["title"]]
        rows = rows[:10_000]
        if not rows:
            print("skipped: ../shared/data/screening not found")
            return 0
        store = Store.open(project)
        store.add_import(path=Path("bench.ris"), sha256="e" * 64, source="Bench", fmt="ris", layout=None,
                         encoding="utf-8", warnings=[],
                         records=[Record(title=r["title"], abstract=r["abstract"] or None,
                                         year=int(r["year"]) if r["year"] else None) for r in rows])
        ids = [r.id for r in store.records_table() if r.source == "Bench"]
        with store.write() as conn:
            for rid in ids:
                for who in ("alice", "bob"):
                    store.add_decision(record_id=rid, stage="title_abstract", decider_kind="human", decider=who,
                                       label="exclude", reasons=["design_rct"], conn=conn)
        n = len(store.records_table())
        start = time.perf_counter()
        path = write_report(store, load_protocol(project), project / "report")
        took = time.perf_counter() - start
        print(f"report on {n} records ({len(ids) * 2 + 400} decisions): {took:.1f} s (target < 10 s) -> "
              f"{path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
