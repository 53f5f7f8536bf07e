"""Verify app speed (issue #16): keypress → next value's PDF page drawn (target < 100 ms).

Builds projects the way the tests do (``metasift init`` + ``confirm``, one record and full text per PDF,
values that need a human on every page, each quoting a line of its page that holds a number):
- "example": the 12 two-page PDFs in examples/social_media/pdfs;
- "journal": real journal PDFs from ../shared/data/pdfs (skipped when absent), whose reading takes
  most of a second each, as in a real review.
Then drives ``VerifyApp`` with Textual's pilot, each key timed from the key event until the next
value's page is on screen:
- first key: pressed as soon as the first page is drawn (the read-ahead may still be working);
- reading pace: each later key pressed once the app is idle, as after a reviewer has read the value;
- burst: keys back to back, each as soon as the previous page is drawn (outrunning the read-ahead);
- accept: ``a`` at reading pace, which also writes the decision to the store;
- enter: a missing value typed on the page shown and submitted with Enter (checked against the page's text,
  stored with its line as the quote), timed from the Enter to the next missing value's page drawn, and on to its
  suggestions drawn (``extractor.suggest``, worked out in a thread once the page is on screen).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EXAMPLES = REPO / "examples" / "social_media" / "pdfs"
JOURNALS = REPO.parent / "shared" / "data" / "pdfs"
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]\d)")
TARGET_MS = 100.0


def build(project: Path, pdfs: list[Path], per_page: int, max_pages: int) -> int:
    """A confirmed project whose values (``per_page`` lines with a number on each of the first
    ``max_pages`` pages of each PDF) all need a human; returns how many values."""
    from typer.testing import CliRunner

    from metasift.cli import app
    from metasift.extractor.pdf import read_pdf
    from metasift.records import Record
    from metasift.store import Store

    for args in (["init", str(project)], ["confirm", "--as", "bench", "--project", str(project)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    store = Store.open(project)
    store.add_import(path=project / "bench.ris", sha256="b" * 64, source="Bench", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title=p.stem) for p in pdfs])
    values = 0
    for rid, pdf in enumerate(pdfs, start=1):
        doc = read_pdf(pdf)
        fid = store.add_fulltext(record_id=rid, path=pdf, sha256=f"{rid:064x}", n_pages=len(doc.pages),
                                 status="ok", message=None, matched_by="manual")
        rows = []
        for page in doc.pages[:max_pages]:
            lines = [(line, m.group()) for line in page.lines.splitlines()
                     if len(line) > 20 and (m := NUMBER.search(line))]
            for i, (line, number) in enumerate(lines[:: max(1, len(lines) // per_page)][:per_page]):
                rows.append({"field": f"value_{page.number}_{i}", "arm": "Intervention", "measure": "bench",
                             "value": float(number) if "." in number else int(number), "page": page.number,
                             "quote": line.strip(), "status": "needs_human", "reason": "bench"})
        values += store.replace_extractions(fid, rid, rows, source="rule", extractor="bench")
    store.close()
    return values


async def drive(project: Path, mode: str) -> tuple[float, list[float], list[float], int]:
    """(ms from start to the first page drawn, first key ms, later keys ms, PDFs read) for one pass over
    the queue."""
    from textual import events

    from metasift.extractor.pdf import PdfDocument, read_pdf
    from metasift.store import Store
    from metasift.tui.verify_app import PageCache, VerifyApp

    reads = 0

    def counting_read(path: str) -> PdfDocument:
        nonlocal reads
        reads += 1
        return read_pdf(path)

    store = Store.open(project)
    app = VerifyApp(store, "bench", cache=PageCache(reader=counting_read))
    key = "a" if mode == "accept" else "n"
    times: list[float] = []
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.painted_at:
            await asyncio.sleep(0.001)
        startup = (app.painted_at - started) * 1000
        for i in range(len(app.items) - 1 if mode == "accept" else len(app.items)):
            if i and mode != "burst":
                await app.workers.wait_for_complete()
                await pilot.pause()
            target = app.items[(app.index + 1) % len(app.items)].id  # also the next one after an accept
            t0 = time.perf_counter()
            app._driver.send_message(events.Key(key, key))
            while app.page_shown != target or app.painted_at < t0:
                await asyncio.sleep(0)
            times.append((app.painted_at - t0) * 1000)
    store.close()
    return startup, times[:1], times[1:], reads


async def drive_entries(project: Path) -> tuple[list[float], list[float], int]:
    """(ms from the Enter that submits a typed value to the next missing value's page drawn, ms to its suggestions
    drawn, entries stored):
    a value missing on each page the others were read from, entered from the page shown. The values typed
    are numbers printed on one line of their page, so no "which line?" prompt interrupts."""
    from metasift.errors import EntryError
    from metasift.extractor.gaps import Gap, entry_quote
    from metasift.extractor.pdf import read_pdf
    from metasift.extractor.pipeline import page_texts
    from metasift.store import Store
    from metasift.tui.verify_app import Missing, VerifyApp

    store = Store.open(project)
    items, typed = [], []
    for ft in store.fulltexts():
        texts = page_texts(read_pdf(ft.path))
        for page in sorted({x.page for x in store.extractions(record_id=ft.record_id)}):
            number = next((n for n in NUMBER.findall(texts[page]) if _one_line(entry_quote, EntryError,
                                                                                 float(n), page, texts[page])), None)
            if number is not None:
                gap = Gap("baseline_mean", "Intervention", measure=f"bench {page}", timepoint="baseline")
                items.append(Missing(ft.record_id, ft.id, gap, page))
                typed.append(number)
    app = VerifyApp(store, "bench", missing=items)
    app.items = list(items)  # the missing values alone
    paints: list[tuple[float, Any, bool]] = []  # every page drawn: when, for which value, with its suggestions
    painted = app._painted

    def record() -> None:
        painted()
        current = app.current
        paints.append((app.painted_at, current, isinstance(current, Missing) and current.suggestions is not None))

    app._painted = record
    times: list[float] = []
    hinted: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for number in typed[:-1]:
            await app.workers.wait_for_complete()
            await pilot.pause()
            item = app.current
            await pilot.press("e", *number)
            t0 = time.perf_counter()
            await pilot.press("enter")
            after = []
            while not any(ready for _, _, ready in after):
                if time.perf_counter() - t0 > 10:  # a prompt or an error instead of the next value
                    raise RuntimeError(f"entry {number} not stored: {app.screen} {app.query_one('#status').content}")
                await asyncio.sleep(0)
                after = [p for p in paints if p[0] >= t0 and p[1] is not item]
            times.append((after[0][0] - t0) * 1000)  # its page, drawn first
            hinted.append((next(t for t, _, ready in after if ready) - t0) * 1000)  # then its suggestions
    entered = sum(x.source == "human" for x in store.extractions())
    store.close()
    return times, hinted, entered


def _one_line(entry_quote, error, value: float, page: int, text: str) -> bool:
    try:
        entry_quote(value, page, text)
    except error:
        return False
    return True


def stats(ms: list[float]) -> str:
    if not ms:
        return "-"
    ms = sorted(ms)
    return (f"p50 {statistics.median(ms):6.1f} ms  p95 {ms[int(0.95 * (len(ms) - 1))]:6.1f} ms  "
            f"max {ms[-1]:6.1f} ms  (n={len(ms)})")


def main() -> int:
    sets = [("example", sorted(EXAMPLES.glob("*.pdf")), 3, 2)]
    journals = sorted(JOURNALS.glob("*.pdf"))[:6] if JOURNALS.is_dir() else []
    if journals:
        sets.append(("journal", journals, 2, 6))
    else:
        print(f"({JOURNALS} absent: journal PDFs skipped)")
    p95s = []
    with tempfile.TemporaryDirectory() as tmp:
        projects = []
        for name, pdfs, per_page, max_pages in sets:
            project = Path(tmp) / name
            n = build(project, pdfs, per_page, max_pages)
            projects.append((name, project))
            print(f"\n{name}: {len(pdfs)} PDFs, {n} values over up to {max_pages} pages each")
            for mode in ("reading pace", "burst", "accept"):
                startup, first, later, reads = asyncio.run(drive(project, mode))
                if mode != "burst":
                    p95s.append(sorted(later)[int(0.95 * (len(later) - 1))])
                print(f"  {mode:12s} start → first page {startup:6.0f} ms | first key {stats(first)}")
                print(f"  {'':12s} later keys  {stats(later)} | PDFs read {reads}")
        # entries last: reading every PDF for them leaves a heap that slows the key timings of a later set
        print()
        for name, project in projects:
            entries, hinted, stored = asyncio.run(drive_entries(project))
            print(f"{name:8s} enter: Enter on a typed value → next missing value drawn {stats(entries)} | "
                  f"entries stored {stored}")
            print(f"{'':8s}        … → its suggestions drawn (worked out in a thread) {stats(hinted)}")
    worst = max(p95s)
    verdict = "OK" if worst < TARGET_MS else "SLOW"
    print(f"\nkey → next value drawn, worst p95 at reading pace: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): "
          f"{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
