"""metasift verify: doubtful values are accepted, edited, rejected or undone; each change is stored with who.

Driven by Textual's Pilot against a real project store and the example PDFs."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from textual.app import App
from textual.widgets import Static

from metasift.config import load_protocol
from metasift.extractor.pdf import PdfDocument, read_pdf
from metasift.records import Record
from metasift.screener.review_session import ReviewSession
from metasift.store import Store
from metasift.store import schema as t
from metasift.tui import render
from metasift.tui.dialogs import TextPrompt
from metasift.tui.review_app import ReviewApp
from metasift.tui.verify_app import PageCache, VerifyApp, page_context
from metasift.tui.widgets import PageView
from tests.helpers import seed_store

PDFS = Path(__file__).resolve().parents[1] / "examples" / "social_media" / "pdfs"
PDF = PDFS / "T01.pdf"
QUOTE = "PHQ-9 (depression) 4.30 (4.32) 6.89 (3.92)"


def _project_with_doubts(project: Path) -> Store:
    """Three candidates for one value (T01 page 2), all needing a human."""
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="b" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title="A Facebook trial", year=2012)])
    fid = store.add_fulltext(record_id=1, path=PDF, sha256="c" * 64, n_pages=2, status="ok", message=None,
                             matched_by="manual")
    rows = [{"field": "outcome_mean", "arm": "Intervention", "measure": "PHQ-9 (depression)", "timepoint": "post",
             "value": v, "page": 2, "quote": QUOTE, "status": "needs_human", "reason": "test"}
            for v in (4.3, 43.0, 9.9)]
    store.replace_extractions(fid, 1, rows, source="rule", extractor="test")
    return store


def _drive(app: App[None], steps: Callable[[Any], Awaitable[None]], size: tuple[int, int] = (120, 40)) -> None:
    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            await app.workers.wait_for_complete()  # the first value's PDF read, its page drawn
            await pilot.pause()
            await steps(pilot)

    asyncio.run(go())


async def _until(pilot: Any, ready: Callable[[], object]) -> None:
    """Wait for what verify works out in a thread (a PDF read, suggestions), for at most 5 s."""
    for _ in range(100):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError("not ready after 5 s")


def _status(app: VerifyApp) -> str:
    return str(app.query_one("#status", Static).content)


def _events(store: Store, action: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(t.events).where(t.events.c.action == action).order_by(t.events.c.id))
        return [dict(r._mapping) for r in rows]


def test_accept_edit_reject(project: Path) -> None:
    store = _project_with_doubts(project)

    async def steps(pilot) -> None:
        await pilot.press("a")  # accept 4.3
        await pilot.press("e")  # edit 43.0 → 4.3, as its quote prints it ("4.30")
        await pilot.press(*"4.3", "enter")
        await pilot.press("r", *"wrong table", "enter")
        assert not pilot.app.items
        await pilot.press("q")

    _drive(VerifyApp(store, "alice"), steps)
    rows = {r.id: r for r in store.extractions()}
    assert [rows[i].status for i in (1, 2, 3)] == ["verified", "verified", "rejected"]
    assert rows[2].value == 4.3 and rows[2].updated_by == "alice" and rows[2].quote == QUOTE
    assert rows[3].reason == "wrong table"


def test_escape_closes_the_edit_and_reject_prompts_and_writes_nothing(project: Path) -> None:
    store = _project_with_doubts(project)
    before = store.extractions()

    async def steps(pilot) -> None:
        for key in ("e", "r"):
            await pilot.press(key, *"12")
            assert isinstance(pilot.app.screen, TextPrompt)
            await pilot.press("escape")
            assert not isinstance(pilot.app.screen, TextPrompt)
            await pilot.press("enter")  # with the prompt gone, Enter submits nothing
        assert len(pilot.app.items) == 3 and pilot.app.index == 0

    _drive(VerifyApp(store, "alice"), steps)
    assert store.extractions() == before
    assert _events(store, "verify_value") == []


def test_escape_closes_the_review_screens_note_prompt_too(project: Path) -> None:
    """The review app's one-line prompts are the same dialog: Esc there keeps the note as it was."""
    store = seed_store(project, [Record(title="Study 0", abstract="A randomised trial.")])

    async def steps(pilot) -> None:
        await pilot.press("n", *"kept out", "escape")
        assert not isinstance(pilot.app.screen, TextPrompt) and pilot.app.screen.note is None
        await pilot.press("i")

    app = ReviewApp(ReviewSession(store, load_protocol(project), "alice"))
    _drive(app, steps)
    assert [(d.label, d.note) for d in store.decisions("title_abstract")] == [("include", None)]


def test_the_status_line_shows_k_of_n_with_field_arm_measure_and_page(project: Path) -> None:
    store = _project_with_doubts(project)

    async def steps(pilot) -> None:
        assert "1 of 3" in _status(pilot.app)
        assert all(part in _status(pilot.app) for part in ("outcome_mean", "Intervention", "PHQ-9", "page 2"))
        await pilot.press("n")
        assert "2 of 3" in _status(pilot.app)
        await pilot.press("a")  # settled: the queue shrinks, the cursor stays at its place
        assert "2 of 2" in _status(pilot.app)

    _drive(VerifyApp(store, "alice"), steps)


def test_undo_restores_the_previous_status_and_writes_an_audit_row(project: Path) -> None:
    store = _project_with_doubts(project)

    async def steps(pilot) -> None:
        await pilot.press("n", "r", *"wrong table", "enter")  # reject the second candidate
        assert store.extractions(status=["rejected"])[0].id == 2
        await pilot.press("u")
        assert pilot.app.current.id == 2 and "2 of 3" in _status(pilot.app)  # back on the undone value
        await pilot.press("p", "a")  # accept the first: the other candidates are rejected with it
        assert [r.status for r in store.extractions()] == ["verified", "rejected", "rejected"]
        await pilot.press("u")
        assert pilot.app.current.id == 1 and "1 of 3" in _status(pilot.app)

    _drive(VerifyApp(store, "alice"), steps)
    rows = store.extractions()
    assert [(r.status, r.reason, r.updated_by) for r in rows] == [("needs_human", "test", None)] * 3
    reviews, undos = _events(store, "verify_value"), _events(store, "undo_verify_value")
    assert [(u["actor"], u["entity_id"], u["payload"]["undoes"]) for u in undos] == [
        ("alice", 2, reviews[0]["id"]), ("alice", 1, reviews[1]["id"])]
    assert undos[0]["payload"]["from_status"] == "rejected" and undos[1]["payload"]["also_restored"] == [2, 3]


def test_the_quote_is_highlighted_in_the_page_view_and_scrolled_into_view(project: Path) -> None:
    store = _project_with_doubts(project)

    async def steps(pilot) -> None:
        app = pilot.app
        assert app.page_shown == 1
        view = app.query_one(PageView)
        page = view.text
        marked = {page.plain[s.start:s.end]: str(s.style) for s in page.spans}
        quote = next(text for text, style in marked.items() if style == render.PAGE_QUOTE_STYLE)
        assert quote.split() == QUOTE.split()  # the table row, its columns kept apart on the page
        assert marked["4.30"] == render.PAGE_NUMBER_STYLE  # the value itself, more strongly
        line = page.plain[:page.plain.index("4.30")].count("\n")
        assert view.scroll_y > 0 and view.scroll_y <= line < view.scroll_y + view.scrollable_content_region.height

    _drive(VerifyApp(store, "alice"), steps, size=(100, 16))


def test_a_second_visit_to_a_page_does_not_read_the_pdf_again(project: Path) -> None:
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="b" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title=f"Trial {i}") for i in (1, 2)])
    for rid, name in ((1, "T01.pdf"), (2, "T02.pdf")):
        fid = store.add_fulltext(record_id=rid, path=PDFS / name, sha256=str(rid) * 64, n_pages=2, status="ok",
                                 message=None, matched_by="manual")
        store.replace_extractions(fid, rid, [
            {"field": f"n_randomised_{page}", "value": 1, "page": page, "quote": "", "status": "needs_human"}
            for page in (1, 2)], source="rule", extractor="test")
    reads: Counter[str] = Counter()

    def counting_read(path: str) -> PdfDocument:
        reads[Path(path).name] += 1
        return read_pdf(path)

    async def steps(pilot) -> None:
        for _ in range(2 * len(pilot.app.items)):  # the queue twice round, every page visited twice
            await pilot.press("n")
            await pilot.app.workers.wait_for_complete()
            assert pilot.app.page_shown == pilot.app.current.id

    _drive(VerifyApp(store, "alice", cache=PageCache(reader=counting_read)), steps)
    assert reads == {"T01.pdf": 1, "T02.pdf": 1}


def test_page_context_highlights_the_quote() -> None:
    text = page_context(str(PDF), 2, "PHQ-9 (depression) 4.30 (4.32)")
    assert "4.30 (4.32)" in text.plain
    assert any(span.style and "yellow" in str(span.style) for span in text.spans)


def test_a_quote_copied_across_lines_is_found_in_pieces() -> None:
    page = "Left column text here        Right column\nthe intervention group      more words\n"
    spans = render.locate_quote(page, "column text here the intervention group")
    assert [page[s:e] for s, e in spans] == ["column text here", "the intervention group"]
