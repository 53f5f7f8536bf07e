"""``metasift verify``: each doubtful extracted value beside its PDF page, laid out, with the quote marked; then
each value a study still lacks (``extractor.by_hand``), beside a page of its PDF to read it from.

Keys: a accept, e edit (type the right value), r reject (with a reason), u undo the last of these,
n / p next / previous, [ / ] the previous / next page of the PDF, g go to a page, q quit. On a missing value, e enters it
from the page shown (the line printing it becomes its quote) and r says the paper does not report it; 1, 2, 3
show one of its likely values (``extractor.suggest``) marked on its page, and the same key again enters it;
/ marks the first line that holds some words (the page shown first), and w fills from the marked line (a
table's row) that value of every arm still missing it (a count, or a mean and SD), asking which of the line's
numbers are whose (``gaps.row_values``); on a doubtful value, w verifies every arm's doubtful value of that row
as the line prints it. Every change (and every undo) is one store transaction recording who and when; the old
value stays in the event log.

Reading a journal PDF takes most of a second, so the keypress never waits for it: read documents are
kept laid out in a small cache (``PageCache``), the next values' PDFs are read ahead in a worker thread, and
a value whose PDF is not read yet is shown at once with its page following when ready.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from metasift.config import OutcomeSpec
from metasift.errors import AmbiguousEntry, EntryError, NotPrinted, ProjectError
from metasift.extractor.by_hand import arm_names, edited_value, enter_value, held_values, study_gaps
from metasift.extractor.checks import normalise_pdf_text, number_forms
from metasift.extractor.gaps import (
    ROW_FIELDS,
    SHOW_LINES,
    Gap,
    RowValue,
    column_order,
    find_line,
    lines_above,
    numbered,
    parse_places,
    row_fields,
    row_picks,
    row_values,
)
from metasift.extractor.outcomes import instrument_matches
from metasift.extractor.pdf import Page, PdfDocument, PdfError, read_pdf
from metasift.extractor.pipeline import page_texts
from metasift.extractor.suggest import (
    Candidate,
    Held,
    Suggestion,
    entered,
    for_gap,
    page_candidates,
    same_kind,
)
from metasift.kinds import ExtractionStatus
from metasift.store import Store
from metasift.store.rows import ExtractionRow
from metasift.tui import render
from metasift.tui.dialogs import TextPrompt
from metasift.tui.widgets import PageView

STYLESHEET = Path(__file__).with_name("review.tcss")
SUGGESTIONS = 3  # likely values listed for a missing value, picked with 1, 2, 3
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
        self._texts: dict[tuple[str, int, int], dict[int, str]] = {}  # each read PDF's pages as entries check them
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
            texts: dict[int, str] = {}
            try:
                doc = self.reader(path)
                pages: list[str] | PdfError = [page_layout(page) for page in doc.pages]
                texts = page_texts(doc)
            except PdfError as exc:
                pages = exc
            with self._lock:
                self._docs[key] = pages
                self._texts[key] = texts
                while len(self._docs) > self.size:
                    self._texts.pop(self._docs.popitem(last=False)[0], None)
            return pages

    def texts(self, path: str) -> dict[int, str] | None:
        """The pages' text as the checks search it (``pipeline.page_texts``), if the PDF is read; else None."""
        key = self._key(path)
        with self._lock:
            return None if isinstance(key, PdfError) else self._texts.get(key)


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


def _chosen(text: str, lines: Sequence[str]) -> str:
    """The line a reviewer picked by its number, or the words they typed."""
    return lines[int(text) - 1] if text.isdigit() and 1 <= int(text) <= len(lines) else text


@dataclass
class Missing:
    """A value a study lacks, in the queue after the doubtful values: ``page`` is the page of its PDF shown (the
    page of a value of the same arm, else of any of the study's values, else 1), turned with [ and ].
    ``suggestions`` are the numbers its pages print that it likely is (``extractor.suggest``), once its PDF is read."""

    record_id: int
    fulltext_id: int
    gap: Gap
    page: int
    arms: tuple[str, ...] = ()  # the study's arms in order, which the suggestions weigh
    held: tuple[Held, ...] = ()  # the study's values and where they are printed, which the suggestions weigh too
    suggestions: list[Suggestion] | None = None

    def where(self) -> str:
        return "missing · " + self.gap.describe()


def missing_items(store: Store, outcomes: Sequence[OutcomeSpec], humans_needed: int = 1,
                  record_id: int | None = None) -> list[Missing]:
    """The values each study (or one) with a readable full text lacks, each on the page it is likely read from."""
    items = []
    for study in study_gaps(store, outcomes, humans_needed=humans_needed, record_id=record_id):
        if study.unreadable:
            continue
        values = [x for x in study.held if x.page]
        arms, held = tuple(arm_names(study.held)), tuple(held_values(study.held))
        items += [Missing(study.record_id, study.fulltext_id, gap, _likely_page(gap, values), arms, held)
                  for gap in study.gaps if gap.certain]
    return items


def _likely_page(gap: Gap, values: Sequence[ExtractionRow]) -> int:
    """The page a missing value is likely printed on: where another arm's same value is, else where this arm's
    values of the same kind (counts, baseline or follow-up) are, else any of this arm's, else any, else 1."""
    for fits in (lambda x: x.field == gap.field and x.measure == gap.measure,
                 lambda x: x.arm == gap.arm and same_kind(x.field, gap.field),
                 lambda x: x.arm == gap.arm, lambda x: True):
        page = next((x.page for x in values if fits(x)), None)
        if page:
            return page
    return 1


class VerifyApp(App[None]):
    CSS_PATH = STYLESHEET
    CSS = "#value { height: auto; max-height: 8; padding: 0 1; }"  # the value's lines (and suggestions) above its page
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "accept", "accept"), Binding("e", "edit", "edit"), Binding("r", "reject", "reject"),
        Binding("u", "undo", "undo"), Binding("n", "move(1)", "next"), Binding("p", "move(-1)", "previous"),
        Binding("left_square_bracket", "turn(-1)", "page -"), Binding("right_square_bracket", "turn(1)", "page +"),
        Binding("g", "go_to_page", "go to page"), Binding("slash", "find", "find a line"),
        Binding("w", "row", "row: every arm"),
        *(Binding(str(k), f"pick({k - 1})", f"suggestion {k}", show=False) for k in range(1, SUGGESTIONS + 1)),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, store: Store, reviewer: str, *, include_auto: bool = False,
                 cache: PageCache | None = None, missing: Sequence[Missing] = (),
                 outcomes: Sequence[OutcomeSpec] = ()) -> None:
        super().__init__()
        self.store, self.reviewer, self.outcomes = store, reviewer, outcomes
        doubtful = (ExtractionStatus.NEEDS_HUMAN,)
        wanted = (*doubtful, ExtractionStatus.AUTO_VERIFIED) if include_auto else doubtful
        self.items: list[ExtractionRow | Missing] = [*store.extractions(status=wanted), *missing]
        self.paths = {f.id: f.path for f in store.fulltexts()}
        self.titles = {r.id: r.title for r in store.records_table()}
        self.cache = cache or PageCache()
        self.index = 0
        self.done = 0
        # (queue position, item as shown, id of the value entered for a missing one) per decision
        self.settled: list[tuple[int, ExtractionRow | Missing, int | None]] = []
        self.page_shown: int | None = None  # id of the value whose page is on screen (for tests and the bench)
        self.turned: int | None = None  # the page turned to with [ and ], while the item stays on screen
        self.painted_at = 0.0  # perf_counter() when a value's page was last drawn on screen
        self.candidates: dict[str, list[Candidate]] = {}  # per PDF read: the numbers its pages print
        self.marked: tuple[int, int] | None = None  # (id of the missing value, its suggestion marked on the page)
        self.found: tuple[int, int, str] | None = None  # (id of the missing value, page, line) marked by /
        self.typed: dict[int, tuple[int, tuple[Held, ...]]] = {}  # id of a value entered -> (record, as held)

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="value")
        yield PageView(id="page")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    @property
    def current(self) -> ExtractionRow | Missing | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def _path(self, item: ExtractionRow | Missing) -> str | None:
        return self.paths.get(item.fulltext_id) if item.fulltext_id is not None else None

    def _texts(self, item: ExtractionRow | Missing) -> dict[int, str] | None:
        """The item's PDF pages as entries check them, when the cache has read it (else the entry reads it)."""
        path = self._path(item)
        return self.cache.texts(path) if path else None

    def _page(self, item: ExtractionRow | Missing) -> int | None:
        return self.turned or item.page

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
        if isinstance(item, Missing):
            where = item.where()
        else:
            where = " · ".join(str(v) for v in (item.field, item.arm, item.measure, item.timepoint) if v)
        status.update(f"verify · {self.index + 1} of {len(self.items)} · {where} · page {self._page(item) or '?'}"
                      f" · {self.reviewer} · {self.done} settled")
        text = Text(f"{self.titles.get(item.record_id, '')}\n", style="bold")
        if isinstance(item, Missing):
            text.append(f"missing: {item.gap.describe()}\n", style="yellow")
            text.append("e enter it from the page · r not reported · [ ] turn the page · / mark a line · "
                        "w every arm's value from it", style="italic")
            if item.suggestions is None and self._path(item) and self._texts(item) is not None:
                text.append("\nworking out its likely values …", style="dim")  # once its page is drawn
            for k, hint in enumerate(item.suggestions or [], 1):
                mark = "▶" if self._marked(item) is hint else " "
                row = " · w: every arm's" if self._fills_row(item, hint.line) else ""
                text.append(f"\n{mark}{k} likely {entered(hint.value)} · p. {hint.page}{row} · {hint.line[:80]}",
                            style="cyan")
            if item.suggestions:
                text.append(f"\n1-{len(item.suggestions)} show a likely value marked on its page, the same key "
                            "again enters it. A model's guess, often wrong: read the marked line first",
                            style="italic")
        else:
            text.append(f"value: {item.value}   page {item.page}   status {item.status}   ")
            text.append(f"why: {item.reason or '-'}\n", style="yellow")
            text.append(f"quote: {item.quote}", style="italic")
        head.update(text)
        path = self._path(item)
        if path and self._page(item) and self.cache.cached(path) is None:
            self.page_shown = None
            self.query_one(PageView).show(Text(f"reading {Path(path).name} …", style="dim"))
            self._read(id(item), path)
        else:
            self._show_page(item)

    def _show_page(self, item: ExtractionRow | Missing) -> None:
        own = isinstance(item, ExtractionRow) and self._page(item) == item.page  # the value's page: quote marked
        quote, value = (item.quote or "", item.value) if own else ("", None)
        hint = self._marked(item) if isinstance(item, Missing) else None
        if hint is not None:  # a suggestion marked on its page, as a value's quote is
            quote, value = hint.line, hint.value
        elif (line := self._found(item)) is not None:  # a line marked with /, in place of the value's quote
            quote, value = line, None
        page, box = page_view(self._path(item), self._page(item), quote, value, self.cache)
        self.query_one(PageView).show(page, box)
        self.page_shown = item.id if isinstance(item, ExtractionRow) else None
        self.call_after_refresh(self._painted)
        self._read_ahead()  # only now: reading ahead first would hold up this page's own PDF

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()
        self._suggest_soon()

    @work(thread=True, exclusive=True, group="read")
    def _read(self, item_id: int, path: str) -> None:
        """Read the current value's PDF, then draw its page if that value is still the one shown."""
        self.cache.get(path)
        if not get_current_worker().is_cancelled:  # cancelled: another value asked, or the app is closing
            self.call_from_thread(self._read_done, item_id)

    def _read_done(self, item_id: int) -> None:
        item = self.current
        if item is None or id(item) != item_id:
            return
        if isinstance(item, Missing):  # its header lists the suggestions, which needed the PDF
            self.show()
        else:
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

    def _suggest_soon(self) -> None:
        """Once a page is on screen: work out the suggestions of the missing value shown and of the next two and
        the previous one, whose PDFs are read, in a thread (so no keypress waits for them)."""
        todo = []
        for step in (0, 1, 2, -1):
            if self.items:
                item = self.items[(self.index + step) % len(self.items)]
                if isinstance(item, Missing) and item.suggestions is None and self._texts(item) is not None \
                        and all(item is not t for t in todo):
                    todo.append(item)
        if todo:
            self._suggest_in_background(todo)

    def _candidates(self, path: str) -> list[Candidate] | None:
        """The numbers a read PDF's pages print, worked out once per PDF (in the suggestions' thread)."""
        if path not in self.candidates:
            texts = self.cache.texts(path)
            if texts is None:
                return None
            self.candidates[path] = page_candidates(texts)
        return self.candidates[path]

    def _suggestions(self, item: Missing) -> list[Suggestion] | None:
        """A missing value's likely values, once its PDF is read."""
        if item.suggestions is None:
            path = self._path(item)
            candidates = self._candidates(path) if path else None
            if candidates is not None:
                item.suggestions = for_gap(item.gap, candidates, item.arms, self.outcomes, k=SUGGESTIONS,
                                           held=item.held)
        return item.suggestions

    @work(thread=True, exclusive=True, group="suggest")
    def _suggest_in_background(self, items: list[Missing]) -> None:
        """Work out missing values' suggestions off the UI thread (the first outcome asked of a journal PDF takes
        tens of ms to match against its lines), redrawing the value shown once its own are ready."""
        for item in items:
            if get_current_worker().is_cancelled:  # another page was drawn: its own list replaced this one
                return
            self._suggestions(item)
            if item is self.current:
                self.call_from_thread(self._read_done, id(item))

    def _marked(self, item: Missing) -> Suggestion | None:
        """The suggestion marked on the page shown, if any."""
        if self.marked is None or self.marked[0] != id(item) or self.marked[1] >= len(item.suggestions or []):
            return None  # none marked, or the suggestions were worked out again since
        hint = item.suggestions[self.marked[1]]
        return hint if hint.page == self._page(item) else None

    def action_pick(self, k: int) -> None:
        """Show suggestion ``k`` marked on its page; when it is already shown, enter it (the marked line is its
        quote), so no suggestion is entered unseen."""
        item = self.current
        if not isinstance(item, Missing) or not item.suggestions or k >= len(item.suggestions):
            return
        hint = item.suggestions[k]
        if self._marked(item) is hint:
            self._store_entry(item, item.gap.timepoint, entered(hint.value), quote=hint.line)
            return
        self.marked = (id(item), k)
        self.turned = item.page = hint.page
        self.show()

    def _found(self, item: ExtractionRow | Missing) -> str | None:
        """The line / marked on the page shown, if any."""
        if self.found is None or self.found[0] != id(item) or self.found[1] != self._page(item):
            return None
        return self.found[2]

    def action_find(self) -> None:
        """Ask for words of a line (a table row's label, a number it prints) and mark the first line holding them:
        on the page shown, else on the pages after it (then from the first), turning to it."""
        item = self.current
        texts = self._texts(item) if item is not None else None
        if texts is None:
            return
        page = self._page(item) or 1

        def done(words: str | None) -> None:
            if not normalise_pdf_text(words or "").split():
                return
            found = find_line(texts, words or "", page)
            if found is None:
                self.notify(f"no line of the PDF holds {words!r}", severity="warning")
                return
            self.found, self.marked = (id(item), *found), None
            if found[0] != page:
                self.turned = found[0]
                if isinstance(item, Missing):
                    item.page = found[0]
            self.show()

        self.push_screen(TextPrompt(f"Words of the line to mark (page {page} first, then the pages after it)", "",
                                    "e.g. PHQ-9, randomised"), done)

    @staticmethod
    def _fills_row(item: Missing, line: str) -> bool:
        """Whether ``line`` prints one of the missing value's pairs or counts per arm (w proposes them all)."""
        return item.gap.field in ROW_FIELDS and len(item.arms) >= 2 and bool(row_picks(line, item.gap.field,
                                                                                        item.arms))

    def _row_line(self, item: ExtractionRow | Missing) -> tuple[int, str] | None:
        """(page, line) of the line marked on the page shown: a suggestion's, or one found with /."""
        hint = self._marked(item) if isinstance(item, Missing) else None
        if hint is not None:
            return hint.page, hint.line
        line = self._found(item)
        return (self._page(item) or 1, line) if line is not None else None

    def action_row(self, timepoint: str | None = None) -> None:
        """Take from the marked line (a table's row) the value shown for every arm (a count, or a mean and SD at
        baseline or follow-up), after the reviewer says which of its numbers are whose: on a missing value, each
        arm still missing it is entered; on a doubtful value, each arm's doubtful value of that row is verified
        as the row prints it (corrected where it differs)."""
        item = self.current
        field = item.gap.field if isinstance(item, Missing) else item.field if item is not None else ""
        if field not in ROW_FIELDS:
            self.notify("w takes every arm's count, or mean and SD, from one line", severity="warning")
            return
        marked = self._row_line(item)
        if marked is None:
            self.notify("mark the row first: / finds a line by its words" + (", 1-3 show a likely one"
                        if isinstance(item, Missing) else ""), severity="warning")
            return
        page, line = marked
        arms = list(item.arms) if isinstance(item, Missing) else \
            arm_names([x for x in self.store.extractions(record_id=item.record_id)
                       if x.status != ExtractionStatus.REJECTED])
        if len(arms) < 2:
            self.notify("the study's arms are not named yet: enter its first values one by one", severity="warning")
            return
        if isinstance(item, Missing) and field.startswith("outcome_") and (timepoint or item.gap.timepoint) is None:
            self.push_screen(TextPrompt(f"Time point of {item.gap.describe()}", "", "e.g. post, 12 weeks"),
                             lambda text: self.action_row(text) if text else None)
            return
        fields = row_fields(field)
        measure = item.gap.measure if isinstance(item, Missing) else item.measure
        what = "mean and SD" if len(fields) == 2 else field
        if len(fields) == 2 and measure:
            what = f"{measure} {what}"
        listing = numbered(line)
        above = lines_above((self._texts(item) or {}).get(page, ""), line)
        labelled = re.match(r"[^\d]*[a-z]{3}", normalise_pdf_text(line))  # a row label before its numbers
        if len(fields) == 2 and measure and not any(instrument_matches(measure, x)
                                                    for x in ([line] if labelled else [*above[-1:], line])):
            listing += f"\nThis line does not name {measure}: is it its row?"  # a label may stand above its row
        proposed = row_picks(line, field, arms, above)
        try:  # per arm: its count, or its mean and SD
            taken = row_values(line, field, arms, proposed) if proposed else []
        except EntryError:  # a pair whose SD is no SD ("(-0.4)"): nothing proposed
            proposed, taken = [], []
        picks = " ".join(str(k) for k in proposed)
        if proposed:  # what Enter takes, arm by arm, and whence the columns' order
            given = [[f"{v.value:g}" for v in taken if v.arm == arm] for arm in arms]
            listing += "\nEnter takes " + " · ".join(
                f"{arm} {got[0]}" + (f" ({got[1]})" if len(got) == 2 else "") for arm, got in zip(arms, given))
            listing += " (columns named by the line or a header above)" if column_order(arms, [*above, line]) \
                else " (no header above names the arms: their order is the study's)"

        def then(answer: str | None) -> None:
            if not answer:
                return
            try:
                values = row_values(line, field, arms, parse_places(answer))
            except EntryError as exc:
                self.notify(str(exc), severity="error")
                return
            if isinstance(item, Missing):
                self._fill_row(item, page, line, values, timepoint or item.gap.timepoint)
            else:
                self._verify_row(item, page, line, values)

        self.push_screen(TextPrompt(f"Which numbers of this line are the {what} of {', '.join(arms)}, in that "
                                    f"order?\n{line[:100]}\n{listing}", picks,
                                    "their places, e.g. 1 2 4 5" if len(fields) == 2 else "their places, e.g. 1 2"),
                         then)

    def _fill_row(self, item: Missing, page: int, line: str, values: Sequence[RowValue],
                  timepoint: str | None) -> None:
        """Enter each arm's value the row gives, where the study still misses it, with the row as its quote."""
        gap = item.gap
        todo = [(m, v) for v in values for m in self.items if isinstance(m, Missing)
                and m.record_id == item.record_id and (m.gap.field, m.gap.arm) == (v.field, v.arm)
                and (v.field.startswith("n_") or m.gap.measure == gap.measure)
                and (not v.field.startswith("outcome_") or m.gap.timepoint in (None, timepoint))]
        if not todo:
            self.notify("no arm still misses these values", severity="warning")
            return
        done = 0
        for missing, v in todo:
            at = timepoint if v.field.startswith("outcome_") else missing.gap.timepoint
            try:
                entry = enter_value(self.store, record_id=missing.record_id, field_name=v.field, value=str(v.value),
                                    actor=self.reviewer, page=page, arm=v.arm, measure=missing.gap.measure,
                                    timepoint=at, quote=line, texts=self._texts(missing))
            except EntryError as exc:
                self.notify(f"{v.arm} {v.field}: {exc}", severity="error")
                break
            self._guide_siblings(missing, entry, at)
            self._taken(missing, entry.id)
            done += 1
        self._after_row(done, page, "entered")

    def _verify_row(self, item: ExtractionRow, page: int, line: str, values: Sequence[RowValue]) -> None:
        """Verify each arm's doubtful value of the row shown as the row prints it (correcting those that differ),
        with the row as its quote."""
        todo = [(x, v) for v in values for x in self.items if isinstance(x, ExtractionRow)
                and x.record_id == item.record_id and (x.field, x.arm) == (v.field, v.arm)
                and (x.measure, x.timepoint) == (item.measure, item.timepoint)]
        done = 0  # the value shown is always among them
        for row, v in todo:
            try:
                edit = edited_value(self.store, row, str(v.value), page, quote=line, texts=self._texts(row))
            except EntryError as exc:
                self.notify(f"{v.arm} {v.field}: {exc}", severity="error")
                break
            same = row.value is not None and float(row.value) == float(edit.value)
            self.store.review_extraction(row.id, status=ExtractionStatus.VERIFIED, actor=self.reviewer,
                                         value=edit.value, quote=edit.quote, page=edit.page,
                                         reason=f"as page {page}'s row prints it" if same else edit.reason)
            self._taken(row, None)
            done += 1
        self._after_row(done, page, "verified")

    def _taken(self, item: ExtractionRow | Missing, entered: int | None) -> None:
        """One of a row's values settled: undo restores it where it stood."""
        self.settled.append((self.items.index(item), item, entered))
        self.items.remove(item)
        self.done += 1

    def _after_row(self, done: int, page: int, how: str) -> None:
        if not done:  # the first value failed its check, which said why
            return
        self.index = min(self.index, len(self.items) - 1) if self.items else 0
        self.turned = None
        self.show()
        self.notify(f"{done} values {how} from page {page}'s line; u undoes them one at a time")

    def _settle(self, status: str, value: Any = None, reason: str | None = None) -> None:
        item = self.current
        if not isinstance(item, ExtractionRow):
            return
        self.store.review_extraction(item.id, status=status, actor=self.reviewer, value=value, reason=reason)
        self._done_with(item)

    def _done_with(self, item: ExtractionRow | Missing, entered: int | None = None) -> None:
        self.settled.append((self.index, item, entered))
        self.items.pop(self.index)
        self.done += 1
        self.index = min(self.index, len(self.items) - 1) if self.items else 0
        self.turned = None
        self.show()

    def action_accept(self) -> None:
        if isinstance(self.current, Missing):
            self.notify("no value to accept: e enters it from the page shown", severity="warning")
            return
        self._settle(ExtractionStatus.VERIFIED)

    def action_undo(self) -> None:
        """Revert the last accept, edit or reject in the store (audited), or withdraw the last value entered,
        and go back to that item."""
        if not self.settled:
            self.notify("nothing to undo this session", severity="warning")
            return
        position, item, entered = self.settled[-1]
        try:
            if entered is not None:
                self.store.withdraw_extraction(entered, actor=self.reviewer)
                self._unguide(entered)
                restored: ExtractionRow | Missing = item
            else:
                restored = self.store.undo_extraction_review(item.id, actor=self.reviewer)
        except ProjectError as exc:
            self.notify(str(exc), severity="error")
            return
        self.settled.pop()
        self.index = min(position, len(self.items))
        self.items.insert(self.index, restored)
        self.done -= 1
        self.turned = None
        self.show()
        self.notify("undone: " + (f"{restored.gap.field} is missing again" if isinstance(restored, Missing)
                                  else f"{restored.field} is {restored.status} again"))

    def action_move(self, step: int) -> None:
        if self.items:
            self.index = (self.index + step) % len(self.items)
            self.turned = None
            self.show()

    def action_turn(self, step: int) -> None:
        """Show the previous or next page of the current item's PDF (the item stays; moving on resets it)."""
        item = self.current
        path = self._path(item) if item is not None else None
        pages = self.cache.cached(path) if path else None
        if item is None or not isinstance(pages, list):
            return
        self.turned = min(max((self._page(item) or 1) + step, 1), len(pages))
        if isinstance(item, Missing):
            item.page = self.turned
        self.show()

    def action_go_to_page(self) -> None:
        """Ask for a page number and show that page of the current item's PDF."""
        if self.current is None:
            return

        def done(text: str | None) -> None:
            if text and text.isdigit():
                self.action_turn(int(text) - (self._page(self.current) or 1))
            elif text:
                self.notify(f"{text!r} is not a page number", severity="error")

        self.push_screen(TextPrompt("Go to page", "", "a page number"), done)

    def action_edit(self) -> None:
        item = self.current
        if isinstance(item, Missing):
            self._enter(item)
            return
        if item is None:
            return

        self.push_screen(TextPrompt(f"Correct value for {item.field}", "", f"was {item.value}"),
                         lambda text: self._edit(item, text) if text else None)

    def _edit(self, item: ExtractionRow, text: str, quote: str | None = None, how: str | None = None) -> None:
        """Store a corrected value with the quote and page that print it (the page shown): the line it is on,
        picked from those that print it when several do, or where it is when the page's text does not."""
        page = self._page(item)
        try:
            edit = edited_value(self.store, item, text, page, quote=quote, how=how, texts=self._texts(item))
        except AmbiguousEntry as exc:
            self._ask_which(page, text, exc.lines, lambda quote: self._edit(item, text, quote))
            return
        except NotPrinted:
            self._ask_where(page, text, lambda answer: self._edit(item, text, how=answer))
            return
        except EntryError as exc:
            self.notify(str(exc), severity="error")
            return
        self.store.review_extraction(item.id, status=ExtractionStatus.VERIFIED, actor=self.reviewer,
                                     value=edit.value, reason=edit.reason, quote=edit.quote, page=edit.page)
        self._done_with(item)

    def _ask_which(self, page: int | None, value: str | None, lines: Sequence[str],
                   then: Callable[[str], None]) -> None:
        """Ask which of the lines printing ``value`` on ``page`` the reviewer means (its number, or words around
        it), then go on with that quote."""
        choices = "\n".join(f"{i}  {line[:90]}" for i, line in enumerate(lines[:SHOW_LINES], 1))
        self.push_screen(TextPrompt(f"Page {page} prints {value} on {len(lines)} lines: which one?\n{choices}", "",
                                    "its number, or the words around it"),
                         lambda answer: then(_chosen(answer, lines)) if answer else None)

    def _ask_where(self, page: int | None, value: str | None, then: Callable[[str], None]) -> None:
        """The page shown does not print ``value``: ask where it is or how it was computed, then go on with that
        (Esc instead, to turn to the page that prints it)."""
        self.push_screen(TextPrompt(f"Page {page} does not print {value}: where is it, or how was it computed? "
                                    "(Esc, then turn to the page that prints it)", "",
                                    "e.g. Figure 1 (an image); randomised 64 - analysed 52"),
                         lambda answer: then(answer) if answer else None)

    def _enter(self, item: Missing, timepoint: str | None = None, value: str | None = None) -> None:
        """Ask for what an entry needs (the arm's name or a time point when the gap names none, the value, a
        quote when the page prints it more than once) one prompt at a time, then store it from the page shown."""
        gap = item.gap
        if gap.arm is None and gap.field != "n_total":
            self.push_screen(TextPrompt(f"Name of the arm ({gap.hint})", "", "as the paper names it"),
                             lambda name: self._name_arm(item, name) if name else None)
            return
        if gap.field.startswith("outcome_") and gap.timepoint is None and timepoint is None:
            self.push_screen(TextPrompt(f"Time point of {gap.describe()}", "", "e.g. post, 12 weeks"),
                             lambda text: self._enter(item, text) if text else None)
            return
        if value is None:
            self.push_screen(TextPrompt(f"Value of {gap.describe()} on page {item.page}", "", "as printed"),
                             lambda text: self._enter(item, timepoint, text) if text else None)
            return
        self._store_entry(item, timepoint or gap.timepoint, value)

    def _name_arm(self, item: Missing, name: str) -> None:
        item.gap = replace(item.gap, arm=name)
        self._enter(item)

    def _store_entry(self, item: Missing, timepoint: str | None, value: str | None, quote: str | None = None,
                     not_reported: str | None = None, how: str | None = None) -> None:
        gap = item.gap
        try:
            entered = enter_value(self.store, record_id=item.record_id, field_name=gap.field, value=value,
                                  actor=self.reviewer, page=item.page, arm=gap.arm, measure=gap.measure,
                                  timepoint=timepoint, quote=quote, not_reported=not_reported, how=how,
                                  texts=self._texts(item))
        except AmbiguousEntry as exc:
            self._ask_which(item.page, value, exc.lines,
                            lambda quote: self._store_entry(item, timepoint, value, quote))
            return
        except NotPrinted:
            self._ask_where(item.page, value, lambda answer: self._store_entry(item, timepoint, value, how=answer))
            return
        except EntryError as exc:
            self.notify(str(exc), severity="error")
            return
        self._guide_siblings(item, entered, timepoint)
        self._done_with(item, entered.id)
        if gap.hint.startswith("arms found"):
            self._requeue(item.record_id)

    def _guide_siblings(self, item: Missing, entered: Any, timepoint: str | None) -> None:
        """Where a value just entered is printed now guides the study's other missing values: their suggestions
        (a count guides counts, a baseline baselines) and the page they are shown beside."""
        gap = item.gap
        typed = held_values([entered.entry])
        self.typed[entered.id] = (item.record_id, tuple(typed))
        for other in self.items:
            if isinstance(other, Missing) and other.record_id == item.record_id and other is not item:
                if typed and same_kind(other.gap.field, gap.field):
                    other.held, other.suggestions = (*other.held, *typed), None
                if (other.gap.field, other.gap.measure, other.gap.timepoint) == (gap.field, gap.measure, timepoint):
                    other.page = item.page  # the same value of the study's other arms is likely on the same page

    def _unguide(self, entered: int) -> None:
        """A value withdrawn no longer guides its study's other suggestions (``_guide_siblings``)."""
        record_id, typed = self.typed.pop(entered, (None, ()))
        for other in self.items:
            if isinstance(other, Missing) and other.record_id == record_id and any(h in other.held for h in typed):
                other.held, other.suggestions = tuple(h for h in other.held if h not in typed), None

    def _requeue(self, record_id: int) -> None:
        """Queue the values a study lacks that naming its arms has revealed (its other counts, baselines and
        follow-up values), after the items already queued."""
        unnamed = [m for m in self.items if isinstance(m, Missing) and m.record_id == record_id and m.gap.arm is None]
        self.items = [m for m in self.items if not any(m is u for u in unnamed)]  # their hints name the arms found
        queued = {(m.record_id, m.gap) for m in self.items if isinstance(m, Missing)}
        self.items += [m for m in missing_items(self.store, self.outcomes, record_id=record_id)
                       if (m.record_id, m.gap) not in queued]
        self.index = min(self.index, len(self.items) - 1) if self.items else 0
        self.show()

    def action_reject(self) -> None:
        item = self.current
        if isinstance(item, Missing):
            self.push_screen(TextPrompt("Why does the paper not report it?", "", "e.g. losses for the whole trial "
                                        "only"),
                             lambda text: self._store_entry(item, item.gap.timepoint, None, not_reported=text)
                             if text else None)
            return
        if item is None:
            return

        def done(text: str | None) -> None:
            if text is not None:
                self._settle(ExtractionStatus.REJECTED, reason=text or "rejected by a human")

        self.push_screen(TextPrompt("Why reject this value?", "", "e.g. wrong table, SE not SD"), done)
