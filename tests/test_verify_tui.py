"""metasift verify: doubtful values are accepted, edited or rejected; each change is stored with who."""

from __future__ import annotations

import asyncio
from pathlib import Path

from metasift.records import Record
from metasift.store import Store
from metasift.tui.verify_app import VerifyApp, page_context

PDF = Path(__file__).resolve().parents[1] / "examples" / "social_media" / "pdfs" / "T01.pdf"


def _project_with_doubts(project: Path) -> Store:
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="b" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title="A Facebook trial", year=2012)])
    fid = store.add_fulltext(record_id=1, path=PDF, sha256="c" * 64, n_pages=2, status="ok", message=None,
                             matched_by="manual")
    rows = [{"field": "outcome_mean", "arm": "Intervention", "measure": "PHQ-9 (depression)", "timepoint": "post",
             "value": v, "page": 2, "quote": "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)", "status": "needs_human",
             "reason": "test"} for v in (4.3, 43.0, 9.9)]
    store.replace_extractions(fid, 1, rows, source="rule", extractor="test")
    return store


def test_accept_edit_reject(project: Path) -> None:
    store = _project_with_doubts(project)

    async def drive() -> None:
        app = VerifyApp(store, "alice")
        async with app.run_test() as pilot:
            await pilot.press("a")  # accept 4.3
            await pilot.press("e")  # edit 43.0 → 4.35
            await pilot.press(*"4.35", "enter")
            await pilot.press("r", *"wrong table", "enter")
            assert not app.items
            await pilot.press("q")

    asyncio.run(drive())
    rows = {r.id: r for r in store.extractions()}
    assert [rows[i].status for i in (1, 2, 3)] == ["verified", "verified", "rejected"]
    assert rows[2].value == 4.35 and rows[2].updated_by == "alice"
    assert rows[3].reason == "wrong table"


def test_page_context_highlights_the_quote() -> None:
    text = page_context(str(PDF), 2, "PHQ-9 (depression) 4.30 (4.32)")
    assert "4.30 (4.32)" in text.plain
    assert any(span.style and "yellow" in str(span.style) for span in text.spans)
