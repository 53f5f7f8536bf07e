"""The record pane (title, byline, abstract with highlights, the model's draft) and the PDF page view."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from metasift.tui import render

if TYPE_CHECKING:
    from metasift.screener.review_session import RecordInfo, ShownRecord


class RecordPane(VerticalScroll):
    """One record, scrollable (↑/↓, PgUp/PgDn) when the abstract is long; the model's draft (when shown)
    beside the abstract, so a long draft never pushes the abstract off screen, nor the other way round."""

    def __init__(self, include: re.Pattern[str] | None, exclude: re.Pattern[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.include, self.exclude = include, exclude
        self.keys_to_screen = False  # True while the reason panel is open: ↑/↓ move its cursor instead

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.keys_to_screen

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="byline")
        yield Static(id="info")
        with Horizontal(id="body"):
            yield Static(id="abstract")
            yield Static(id="draft")

    def show(self, shown: ShownRecord, *, draft_visible: bool, info: RecordInfo | None = None) -> None:
        """Show the record; its ``draft`` (model verdicts, quotes) only when ``draft_visible``; ``info``
        (P(include), route, rule verdicts, tags) on a line under the byline."""
        rec = shown.record
        draft = shown.draft if draft_visible else None
        quotes = render.draft_quotes(draft)
        self.query_one("#title", Static).update(
            render.highlight((rec.title if rec else None) or "(no title)", self.include, self.exclude, quotes))
        self.query_one("#byline", Static).update(render.byline(rec, shown.record_id))
        line = self.query_one("#info", Static)
        line.display = info is not None
        if info is not None:
            line.update(render.info_line(info))
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
        self.query_one("#info", Static).display = False
        self.query_one("#abstract", Static).update(body)
        self.query_one("#draft", Static).display = False


class PageView(ScrollView, can_focus=True):
    """A PDF page as laid out, unwrapped (so table columns stay in line), scrollable both ways.

    Drawn line by line (Textual's line API): only the rows on screen are rendered, so a long page with
    wide tables shows as fast as a short one."""

    # here rather than in review.tcss, which the review screens own
    DEFAULT_CSS = """
    PageView {
        height: 1fr;
        border: round $primary 40%;
    }
    PageView:focus {
        border: round $primary;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = Text()
        self._lines: list[Text] = []
        self._strips: dict[int, Strip] = {}  # rendered lines of this page, full width, by line number

    def show(self, text: Text | str, box: tuple[int, int, int, int] | None = None) -> None:
        """Show ``text`` and scroll so ``box`` (column, line, width, height) is in view, centred
        vertically; to the top when there is no box."""
        self.text = text if isinstance(text, Text) else Text(text)
        self._lines = list(self.text.split("\n", allow_blank=True))
        self._strips.clear()
        self.virtual_size = Size(max((line.cell_len for line in self._lines), default=0), len(self._lines))
        # force: the scrollbars of a new page are worked out at the next layout; until then a scroll is refused
        self.scroll_to(0, 0, animate=False, immediate=True, force=True)
        if box is not None:
            region = Region(*box)
            self.scroll_to_region(region, animate=False, center=True, x_axis=False, immediate=True,
                                  force=True)
            if region.right > self.scrollable_content_region.width:  # only as far right as needed
                self.scroll_to(x=max(0, region.x - 4), animate=False, immediate=True, force=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width, style = self.scrollable_content_region.width, self.rich_style
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, style)
        if index not in self._strips:
            line = self._lines[index]
            self._strips[index] = Strip(list(line.render(self.app.console)), line.cell_len)
        return self._strips[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
