"""The record pane: title, byline, abstract with highlights, and (when allowed) the model's draft."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from metasift.tui import render

if TYPE_CHECKING:
    from metasift.screener.review_session import ShownRecord


class RecordPane(VerticalScroll):
    """One record, scrollable (↑/↓, PgUp/PgDn) when the abstract is long."""

    def __init__(self, include: re.Pattern[str] | None, exclude: re.Pattern[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.include, self.exclude = include, exclude
        self.keys_to_screen = False  # True while the reason panel is open: ↑/↓ move its cursor instead

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.keys_to_screen

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="byline")
        yield Static(id="abstract")
        yield Static(id="draft")

    def show(self, shown: ShownRecord, *, draft_visible: bool) -> None:
        """Show the record; its ``draft`` (model verdicts, quotes) only when ``draft_visible``."""
        rec = shown.record
        draft = shown.draft if draft_visible else None
        quotes = render.draft_quotes(draft)
        self.query_one("#title", Static).update(
            render.highlight((rec.title if rec else None) or "(no title)", self.include, self.exclude, quotes))
        self.query_one("#byline", Static).update(render.byline(rec, shown.record_id))
        self.query_one("#abstract", Static).update(
            render.highlight((rec.abstract if rec else None) or "(no abstract)", self.include, self.exclude,
                             quotes))
        box = self.query_one("#draft", Static)
        box.display = draft_visible
        if draft_visible:
            box.update(render.draft_text(draft))
        self.scroll_home(animate=False)

    def show_message(self, title: str, body: str) -> None:
        """An empty queue or a finished session: a calm message instead of a record."""
        self.query_one("#title", Static).update(Text(title, style="bold"))
        self.query_one("#byline", Static).update("")
        self.query_one("#abstract", Static).update(body)
        self.query_one("#draft", Static).display = False
