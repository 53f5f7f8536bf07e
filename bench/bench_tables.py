"""Benchmark: pdfplumber's table finder against the extractor's own layout code, on the tables that matter.

Run: .venv/bin/python bench/bench_tables.py [--split tune|synthetic-tune|holdout|synthetic-holdout|all]

For every baseline mean printed in the truth (``tests/fixtures/extraction_truth``), on the page the truth
gives: does pdfplumber's ``extract_tables()`` (default lines strategy, then the text strategy) return a
table row holding both the arm's mean and its SD (so a reader of its cells could take them), and does the
extractor's own table reader (``extractor._tables.find_tables``) read that mean with that SD? Also the
seconds per page each takes. This is the measured reason the extractor keeps its own layout code
(``read_pdf(tables=False)``) and does not route tables through pdfplumber.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_extract_fields import pdf_path, truth_files  # one definition of the truth and its splits


def _fmt(x: float) -> set[str]:
    return {f"{x:g}", f"{x:.1f}", f"{x:.2f}", f"{x:.3f}"}


def _row_has(row: list[str | None], mean: float, sd: float) -> bool:
    text = " ".join(c or "" for c in row).replace("·", ".").replace("\u2212", "-")
    return any(m in text for m in _fmt(mean)) and any(s in text for s in _fmt(sd))


def main() -> None:
    import pdfplumber

    from metasift.extractor._tables import find_tables
    from metasift.extractor.pdf import read_pdf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="tune")
    args = ap.parse_args()
    wanted = plumber = ours = 0
    t_plumber = t_ours = 0.0
    pages_timed = 0
    for stem, truth in truth_files(args.split):
        cells = [(b["arm"], b["mean"], b["sd"], (b.get("pages") or [None])[0])
                 for o in truth.get("outcomes") or [] for b in o.get("baseline") or []
                 if b.get("mean") is not None and b.get("sd") is not None and b.get("pages")]
        if not cells:
            continue
        path = pdf_path(stem, truth["split"])
        doc = read_pdf(path)
        pages = sorted({p for *_, p in cells})
        t0 = time.perf_counter()
        tables = find_tables(doc.pages, [])  # the whole paper, as extract() reads it (continued tables)
        t_ours += (time.perf_counter() - t0) * len(pages) / len(doc.pages)
        ours_values = {(p, round(v.mean, 6), round(v.sd, 6)) for tb in tables for v in tb.values
                       if v.mean is not None and v.sd is not None for p in [tb.page]}
        t0 = time.perf_counter()
        plumber_rows: dict[int, list[list[str | None]]] = {}
        with pdfplumber.open(path) as pdf:
            for p in pages:
                page = pdf.pages[p - 1]
                rows = [r for tb in page.extract_tables() for r in tb]
                rows += [r for tb in page.extract_tables({"vertical_strategy": "text",
                                                           "horizontal_strategy": "text"}) for r in tb]
                plumber_rows[p] = rows
        t_plumber += time.perf_counter() - t0
        pages_timed += len(pages)
        got_p = sum(any(_row_has(r, m, s) for r in plumber_rows[p]) for _, m, s, p in cells)
        got_o = sum((p, round(m, 6), round(s, 6)) in ours_values for _, m, s, p in cells)
        wanted += len(cells)
        plumber += got_p
        ours += got_o
        print(f"{stem:40} baseline means {len(cells):3}  pdfplumber rows {got_p:3}  own reader {got_o:3}")
    if not wanted:
        print("no truth baseline means in this split")
        return
    print(f"\n{args.split}: {wanted} baseline mean/SD pairs; pdfplumber has both in one row for {plumber} "
          f"({plumber / wanted:.3f}); the own reader reads {ours} ({ours / wanted:.3f})")
    print(f"seconds per page: pdfplumber (two strategies) {t_plumber / pages_timed:.3f}, own reader "
          f"{t_ours / pages_timed:.3f} (after read_pdf)")


if __name__ == "__main__":
    main()
