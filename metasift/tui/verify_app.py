"""``metasift verify``: each doubtful extracted value beside its PDF page, laid out, with the quote marked.

Keys: a accept, e edit (type the right value), r reject (with a reason), u undo the last of these,
n / p next / previous, q quit. Every change (and every undo) is one store transaction recording who
and when; the old value stays in the event log.

Reading a journal PDF takes most of a second, so the keypress never waits for it: read documents are
kept laid out in a small cache (``PageCache``), the next values' PDFs are read ahead in a worker thread, and
a value whose PDF is not read yet is shown at once with its page following when ready.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from metasift.errors import ProjectError
from metasift.extractor.checks import number_forms
from metasift.extractor.pdf import Page, PdfDocument, PdfError, read_pdf
from metasift.kinds import ExtractionStatus
from metasift.store import Store
from metasift.store.rows import ExtractionRow
from metasift.tui import render
from metasift.tui.dialogs import TextPrompt
from metasift.tui.widgets import PageView

STYLESHEET = Path(__file__).with_name("review.tcss")
CACHED_DOCUMENTS = 4  # current, next and previous PDF, and one spare
RUN_GAP = 1.5  # a gap wider than this many characters starts a new run of words (a table column)


class PageCache:
    """The pages of the last few PDFs read, laid out (``page_layout``), keyed by path, modification time
    and size (a changed file is read again).

    Only the laid-out text is kept, not the parsed document: its tens of thousands of word objects would
    lengthen every full garbage collection, which can fall in the middle of a keypress. Shared by the UI
    thread and the read-ahead worker. PDFium must not run in two threads at once, so reading is serialised: a PDF is
    read once however many ask, and an unreadable one (``PdfError``) is remembered like a read one.
    ``reader`` is ``read_pdf`` unless a caller (a test, a bench) wraps it."""

    def __init__(self, size: int = CACHED_DOCUMENTS, reader: Callable[[str], PdfDocument] | None = None) -> None:
        self.size, self.reader = size, reader or read_pdf
        self._docs: OrderedDict[tuple[str, int, int], list[str] | PdfError] = OrderedDict()
        self._lock = threading.Lock()  # guards _docs
        self._reading = threading.Lock()  # one PDF read at a time

    @staticmethod
    def _key(path: str) -> tuple[str, int, int] | PdfError:
        try:
            st = os.stat(path)
        except OSError as exc:
            return PdfError(path, "not_a_file", f"cannot be read ({exc.strerror or exc})")
        return os.path.abspath(path), st.st_mtime_ns, st.st_size

    def cached(self, path: str) -> list[str] | PdfError | None:
        """The pages (or why they cannot be read) if known, without reading; None if not read yet."""
        key = self._key(path)
        if isinstance(key, PdfError):
            return key
        with self._lock:
            if key in self._docs:
                self._docs.move_to_end(key)
                return self._docs[key]
        return None

    def get(self, path: str) -> list[str] | PdfError:
        """The pages, page 1 first, reading the PDF if needed (blocks: call it from a worker, not from a
        key handler, unless ``cached`` says it is there)."""
        found = self.cached(path)
        if found is not None:
            return found
        with self._reading:
            found = self.cached(path)  # read by another thread while this one waited
            if found is not None:
                return found
            key = self._key(path)
            if isinstance(key, PdfError):
                return key
            try:
                pages: list[str] | PdfError = [page_layout(page) for page in self.reader(path).pages]
            except PdfError as exc:
                pages = exc
            with self._lock:
                self._docs[key] = pages
                while len(self._docs) > self.size:
                    self._docs.popitem(last=False)
            return pages


def page_layout(page: Page) -> str:
    """The page as physical lines across its full width, each run of words at its own x position in
    character columns, so a table row stays on one line and its columns line up (``Page.lines`` joins the
    same words with single spaces). Falls back to ``Page.lines`` when there are no positioned words."""
    from metasift.extractor.layout import join_words

    widths = [(w.x1 - w.x0) / len(w.text) for row in page.rows for w in row if w.text and w.x1 > w.x0]
    if not widths:
        return page.lines or page.text
    cell = median(widths)
    lines = []
    for row in page.rows:
        if not row:
            lines.append("")
            continue
        out, run = "", [row[0]]
        for word in [*row[1:], None]:
            if word is not None and word.x0 - run[-1].x1 < RUN_GAP * cell:
                run.append(word)
                continue
            out += " " * max(round(run[0].x0 / cell) - len(out), 2 if out else 0) + join_words(run)
            run = [word] if word is not None else []
        lines.append(out)
    margin = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[margin:] for line in lines)


def page_view(pdf_path: str | None, page: int | None, quote: str, value: Any = None,
              cache: PageCache | None = None) -> tuple[Text, tuple[int, int, int, int] | None]:
    """The page as laid out with ``quote`` highlighted (``value``, printed inside it, more strongly) and
    the quote's box (column, line, width, height) to scroll to; a message when there is no page to show.
    Reads the PDF if ``cache`` has not (so the UI thread calls it only once the cache holds the PDF)."""
    if not pdf_path or not page:
        return Text("(no page recorded for this value)", style="italic"), None
    pages = (cache or PageCache(1)).get(pdf_path)
    if isinstance(pages, PdfError):
        return Text(str(pages), style="red"), None
    if page > len(pages):
        return Text(f"(page {page} is beyond the PDF's {len(pages)} pages)", style="red"), None
    numbers = number_forms(value) if isinstance(value, int | float) and not isinstance(value, bool) else []
    return render.quote_view(pages[page - 1], quote, numbers)


def page_context(pdf_path: str | None, page: int | None, quote: str) -> Text:
    """``page_view``'s text alone (the page with the quote highlighted)."""
    return page_view(pdf_path, page, quote)[0]


class VerifyApp(App[None]):
    CSS_PATH = STYLESHEET
    CSS = "#value { height: auto; max-height: 6; padding: 0 1; }"  # the value's lines above its page
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "accept", "accept"), Binding("e", "edit", "edit"), Binding("r", "reject", "reject"),
        Binding("u", "undo", "undo"), Binding("n", "move(1)", "next"), Binding("p", "move(-1)", "previous"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, store: Store, reviewer: str, *, include_auto: bool = False,
                 cache: PageCache | None = None) -> None:
        super().__init__()
        self.store, self.reviewer = store, reviewer
        doubtful = (ExtractionStatus.NEEDS_HUMAN,)
        wanted = (*doubtful, ExtractionStatus.AUTO_VERIFIED) if include_auto else doubtful
        self.items: list[ExtractionRow] = store.extractions(status=wanted)
        self.paths = {f.id: f.path for f in store.fulltexts()}
        self.titles = {r.id: r.title for r in store.records_table()}
        self.cache = cache or PageCache()
        self.index = 0
        self.done = 0
        self.settled: list[tuple[int, ExtractionRow]] = []  # (queue position, value as shown) per decision
        self.page_shown: int | None = None  # id of the value whose page is on screen (for tests and the bench)
        self.painted_at = 0.0  # perf_counter() when a value's page was last drawn on screen

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="value")
        yield PageView(id="page")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    @property
    def current(self) -> ExtractionRow | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def _path(self, item: ExtractionRow) -> str | None:
        return self.paths.get(item.fulltext_id)

    def show(self) -> None:
        """Draw the current value now; its page too if its PDF is read, else once the worker has read it."""
        status = self.query_one("#status", Static)
        head = self.query_one("#value", Static)
        item = self.current
        if item is None:
            status.update(f"verify · {self.reviewer} · {self.done} settled this session · none to go")
            head.update(Text("Nothing left to verify. Press u to undo the last decision, q to quit.",
                             style="bold green"))
            self.query_one(PageView).show("")
            self.page_shown = None
            return
        where = " · ".join(str(v) for v in (item.field, item.arm, item.measure, item.timepoint) if v)
        status.update(f"verify · {self.index + 1} of {len(self.items)} · {where} · page {item.page or '?'}"
                      f" · {self.reviewer} · {self.done} settled")
        text = Text(f"{self.titles.get(item.record_id, '')}\n", style="bold")
        text.append(f"value: {item.value}   page {item.page}   status {item.status}   ")
        text.append(f"why: {item.reason or '-'}\n", style="yellow")
        text.append(f"quote: {item.quote}", style="italic")
        head.update(text)
        path = self._path(item)
        if path and item.page and self.cache.cached(path) is None:
            self.page_shown = None
            self.query_one(PageView).show(Text(f"reading {Path(path).name} …", style="dim"))
            self._read(item.id, path)
        else:
            self._show_page(item)

    def _show_page(self, item: ExtractionRow) -> None:
        page, box = page_view(self._path(item), item.page, item.quote or "", item.value, self.cache)
        self.query_one(PageView).show(page, box)
        self.page_shown = item.id
        self.call_after_refresh(self._painted)
        self._read_ahead()  # only now: reading ahead first would hold up this page's own PDF

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()

    @work(thread=True, exclusive=True, group="read")
    def _read(self, item_id: int, path: str) -> None:
        """Read the current value's PDF, then draw its page if that value is still the one shown."""
        self.cache.get(path)
        if not get_current_worker().is_cancelled:  # cancelled: another value asked, or the app is closing
            self.call_from_thread(self._read_done, item_id)

    def _read_done(self, item_id: int) -> None:
        item = self.current
        if item is not None and item.id == item_id:
            self._show_page(item)

    def _read_ahead(self) -> None:
        """Read the PDFs of the next two values and of the previous one (in that order) before they are
        asked for; those already read are skipped."""
        wanted = []
        for step in (1, 2, -1):
            if len(self.items) > 1:
                path = self._path(self.items[(self.index + step) % len(self.items)])
                if path and path not in wanted and self.cache.cached(path) is None:
                    wanted.append(path)
        if wanted:
            self._read_ahead_worker(wanted)

    @work(thread=True, exclusive=True, group="read-ahead")
    def _read_ahead_worker(self, paths: list[str]) -> None:
        for path in paths:
            if get_current_worker().is_cancelled:  # a newer read-ahead replaced this one
                return
            self.cache.get(path)

    def _settle(self, status: str, value: Any = None, reason: str | None = None) -> None:
        item = self.current
        if item is None:
            return
        self.store.review_extraction(item.id, status=status, actor=self.reviewer, value=value, reason=reason)
        self.settled.append((self.index, item))
        self.items.pop(self.index)
        self.done += 1
        self.index = min(self.index, len(self.items) - 1) if self.items else 0
        self.show()

    def action_accept(self) -> None:
        self._settle(ExtractionStatus.VERIFIED)

    def action_undo(self) -> None:
        """Revert the last accept, edit or reject in the store (audited) and go back to that value."""
        if not self.settled:
            self.notify("nothing to undo this session", severity="warning")
            return
        position, item = self.settled[-1]
        try:
            restored = self.store.undo_extraction_review(item.id, actor=self.reviewer)
        except ProjectError as exc:
            self.notify(str(exc), severity="error")
            return
        self.settled.pop()
        self.index = min(position, len(self.items))
        self.items.insert(self.index, restored)
        self.done -= 1
        self.show()
        self.notify(f"undone: {restored.field} is {restored.status} again")

    def action_move(self, step: int) -> None:
        if self.items:
            self.index = (self.index + step) % len(self.items)
            self.show()

    def action_edit(self) -> None:
        item = self.current
        if item is None:
            return

        def done(text: str | None) -> None:
            if not text:
                return
            try:
                value: Any = float(text) if "." in text else int(text)
            except ValueError:
                self.notify(f"{text!r} is not a number", severity="error")
                return
            self._settle(ExtractionStatus.VERIFIED, value=value, reason="edited by a human")

        self.push_screen(TextPrompt(f"Correct value for {item.field}", "", f"was {item.value}"), done)

    def action_reject(self) -> None:
        if self.current is None:
            return

        def done(text: str | None) -> None:
            if text is not None:
                self._settle(ExtractionStatus.REJECTED, reason=text or "rejected by a human")

        self.push_screen(TextPrompt("Why reject this value?", "", "e.g. wrong table, SE not SD"), done)
