"""``metasift verify``: each doubtful extracted value beside the page text around its quote.

Keys: a accept, e edit (type the right value), r reject (with a reason), n / p next / previous,
q quit. Every change is one store transaction recording who and when; the old value stays in the
event log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from metasift.kinds import ExtractionStatus
from metasift.store import Store
from metasift.store.rows import ExtractionRow
from metasift.tui.dialogs import TextPrompt

CSS = Path(__file__).with_name("review.tcss")
CONTEXT = 600  # characters of page text shown around the quote


def page_context(pdf_path: str | None, page: int | None, quote: str) -> Text:
    """The page text around ``quote`` with the quote highlighted (or the page start if not found)."""
    if not pdf_path or not page:
        return Text("(no page recorded for this value)", style="italic")
    from metasift.extractor.checks import normalise_pdf_text
    from metasift.extractor.pdf import PdfError, read_pdf

    try:
        doc = read_pdf(pdf_path)
    except PdfError as exc:
        return Text(str(exc), style="red")
    if page > len(doc.pages):
        return Text(f"(page {page} is beyond the PDF's {len(doc.pages)} pages)", style="red")
    text = doc.page(page).lines or doc.page(page).text
    flat = " ".join(text.split())
    at = normalise_pdf_text(flat).find(normalise_pdf_text(quote)) if quote else -1
    if at < 0:
        return Text(flat[: 2 * CONTEXT] + (" …" if len(flat) > 2 * CONTEXT else ""))
    start, end = max(0, at - CONTEXT), min(len(flat), at + len(quote) + CONTEXT)
    out = Text("… " if start else "")
    out.append(flat[start:at])
    out.append(flat[at:at + len(quote)], style="bold black on yellow")
    out.append(flat[at + len(quote):end] + (" …" if end < len(flat) else ""))
    return out


class VerifyApp(App[None]):
    CSS_PATH = CSS
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "accept", "accept"), Binding("e", "edit", "edit"), Binding("r", "reject", "reject"),
        Binding("n", "move(1)", "next"), Binding("p", "move(-1)", "previous"), Binding("q", "quit", "quit"),
    ]

    def __init__(self, store: Store, reviewer: str, *, include_auto: bool = False) -> None:
        super().__init__()
        self.store, self.reviewer = store, reviewer
        doubtful = (ExtractionStatus.NEEDS_HUMAN,)
        wanted = (*doubtful, ExtractionStatus.AUTO_VERIFIED) if include_auto else doubtful
        self.items: list[ExtractionRow] = store.extractions(status=wanted)
        self.paths = {f.id: f.path for f in store.fulltexts()}
        self.titles = {r.id: r.title for r in store.records_table()}
        self.index = 0
        self.done = 0

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="record")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    @property
    def current(self) -> ExtractionRow | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def show(self) -> None:
        status = self.query_one("#status", Static)
        pane = self.query_one("#record", Static)
        item = self.current
        status.update(f"verify · {self.reviewer} · {self.done} settled this session · "
                      f"{len(self.items)} to go")
        if item is None:
            pane.update(Text("Nothing left to verify. Press q to quit.", style="bold green"))
            return
        where = " · ".join(str(v) for v in (item.arm, item.measure, item.timepoint) if v)
        head = Text(f"{self.titles.get(item.record_id, '')}\n", style="bold")
        head.append(f"{item.field}  {where}\n", style="cyan")
        head.append(f"value: {item.value}   page {item.page}   status {item.status}\n")
        head.append(f"why: {item.reason or '-'}\n", style="yellow")
        head.append(f"quote: {item.quote}\n\n", style="italic")
        head.append_text(page_context(self.paths.get(item.fulltext_id), item.page, item.quote or ""))
        pane.update(head)

    def _settle(self, status: str, value: Any = None, reason: str | None = None) -> None:
        item = self.current
        if item is None:
            return
        self.store.review_extraction(item.id, status=status, actor=self.reviewer, value=value, reason=reason)
        self.items.pop(self.index)
        self.done += 1
        self.index = min(self.index, len(self.items) - 1)
        self.show()

    def action_accept(self) -> None:
        self._settle(ExtractionStatus.VERIFIED)

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
        def done(text: str | None) -> None:
            if text is not None:
                self._settle(ExtractionStatus.REJECTED, reason=text or "rejected by a human")

        self.push_screen(TextPrompt("Why reject this value?", "", "e.g. wrong table, SE not SD"), done)
