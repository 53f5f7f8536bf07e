"""``metasift review``: one record at a time, one keypress per decision, blinded, resumable.

Handlers stay short: each decision is one synchronous store transaction (a few milliseconds) followed by
drawing the next record, so nothing is ever waiting in memory to be saved.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, ProgressBar, Static

from metasift.kinds import Label
from metasift.screener.review_session import ReviewSession
from metasift.tui import render
from metasift.tui.base import STAGE_NAME, SessionApp, SessionScreen
from metasift.tui.dialogs import PANEL_BINDINGS, ReasonPanel, TextPrompt
from metasift.tui.widgets import RecordPane

REVIEW_HELP = """\
i  include        e  exclude: tick reasons 1–9, Enter (none ticked = no reason)
m  maybe          u  undo your last decision: the record comes back
r  pick reasons before deciding      n  add a note to this record's decision
/  search title, abstract, authors, journal or record id
↑ ↓ PgUp PgDn  scroll       ?  this help       q  quit (everything is saved)

Each decision is saved the moment you press its key. You see only records that
still need your decision; other reviewers' decisions stay hidden (blinded).
The model's draft shows only if review.toml sets screening.show_model_draft."""


class ReviewScreen(SessionScreen):
    HELP = REVIEW_HELP
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("i", "decide('include')", "include"),
        Binding("e", "exclude", "exclude"),
        Binding("m", "decide('maybe')", "maybe"),
        Binding("u", "undo", "undo"),
        Binding("r", "reasons", "reasons"),
        Binding("n", "note", "note"),
        Binding("slash", "search", "search"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        *PANEL_BINDINGS,
    ]

    def __init__(self, session: ReviewSession) -> None:
        super().__init__(session)
        self.session: ReviewSession = session
        self.reasons: list[str] = []
        self.note: str | None = None
        self.latencies_ms: deque[float] = deque(maxlen=2000)  # decision handler start → next record drawn
        self.painted_at = 0.0  # perf_counter() when the current record was last drawn on screen

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ProgressBar(id="progress", show_eta=False)
        yield RecordPane(self.include, self.exclude, id="record")
        yield ReasonPanel(id="reasons")
        yield Static(id="pending")
        yield Footer()

    def on_mount(self) -> None:
        self.show_current()
        self.query_one(RecordPane).focus()

    # -- drawing ------------------------------------------------------------------------------------------------
    def show_current(self) -> None:
        """Draw the record that needs this reviewer next (or the all-done message) and the counts."""
        s = self.session
        self.reasons, self.note = [], None
        rid = s.current_id()
        pane = self.query_one(RecordPane)
        if rid is None:
            where = STAGE_NAME.get(s.stage, s.stage)
            body = (f"{s.done} decision(s) recorded by {s.reviewer}. "
                    "u undoes the last one (the record comes back); q quits.")
            pane.show_message(f"Nothing left for {s.reviewer} at {where}.", body)
        else:
            pane.show(s.record(rid), draft_visible=s.show_draft)
        self._draw_status()
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()

    def _draw_status(self) -> None:
        s = self.session
        c = s.counts
        line = Text(f" {s.reviewer} ", style="bold reverse")
        line.append(f"  {STAGE_NAME.get(s.stage, s.stage)}  ·  queue {s.queue_kind}")
        if s.seed is not None:
            line.append(f" (seed {s.seed})")
        line.append(f"  ·  {s.done} decided: ")
        line.append(f"{c.get('include', 0)} include", style=render.LABEL_STYLE[Label.INCLUDE])
        line.append(" · ")
        line.append(f"{c.get('exclude', 0)} exclude", style=render.LABEL_STYLE[Label.EXCLUDE])
        line.append(" · ")
        line.append(f"{c.get('maybe', 0)} maybe", style=render.LABEL_STYLE[Label.MAYBE])
        line.append(f"  ·  {s.remaining} to go  ·  ")
        line.append("model draft shown" if s.show_draft else "blinded", style="dim")
        self.query_one("#status", Static).update(line)
        self.query_one(ProgressBar).update(total=max(1, s.done + s.remaining), progress=s.done)
        pending = Text()
        if self.reasons:
            pending.append("reasons: ", style="bold")
            pending.append(", ".join(self.reasons) + "   ")
        if self.note:
            pending.append("note: ", style="bold")
            pending.append(self.note, style="italic")
        self.query_one("#pending", Static).update(pending)

    def _after_decision(self, started: float, message: str, *, warn: bool) -> None:
        self.show_current()
        self.call_after_refresh(lambda: self.latencies_ms.append((time.perf_counter() - started) * 1000))
        if warn:
            self.notify(message, severity="warning")

    # -- actions ------------------------------------------------------------------------------------------------
    def _criteria(self) -> list[tuple[str, str]]:
        return [(c.id, c.text) for c in self.session.criteria]

    def _pick(self, title: str, hint: str, selected: list[str], done: Callable[[list[str] | None], None]) -> None:
        self.open_panel(self._criteria(), selected, title, hint, done)

    def action_decide(self, label: str, reasons: list[str] | None = None) -> None:
        if self.session.current_id() is None:
            self.notify("nothing left to decide", severity="warning")
            return
        started = time.perf_counter()
        out = self.session.decide(label, reasons if reasons is not None else self.reasons, self.note)
        self._after_decision(started, out.message, warn=out.decision_id is None)

    def action_exclude(self) -> None:
        if self.session.current_id() is None:
            self.notify("nothing left to decide", severity="warning")
            return
        if self.reasons:
            self.action_decide(Label.EXCLUDE)
            return

        def chosen(reasons: list[str] | None) -> None:
            if reasons is None:
                self.notify("not excluded")
            else:
                self.action_decide(Label.EXCLUDE, reasons)

        self._pick("Exclude — which criteria are not met?",
                   "1–9 / space tick · Enter excludes (none ticked: no reason) · Esc cancels", [], chosen)

    def action_reasons(self) -> None:
        def chosen(reasons: list[str] | None) -> None:
            if reasons is not None:
                self.reasons = reasons
                self._draw_status()

        self._pick("Reasons for this record", "1–9 / space tick · Enter keeps them for the decision · Esc cancels",
                   self.reasons, chosen)

    def action_note(self) -> None:
        def chosen(note: str | None) -> None:
            if note is not None:
                self.note = note or None
                self._draw_status()

        self.app.push_screen(TextPrompt("Note for this record's decision", self.note or ""), chosen)

    def action_search(self) -> None:
        def chosen(text: str | None) -> None:
            if not text:
                return
            found = self.session.search(text)
            if found:
                self.show_current()
                self.notify(f"{found} waiting record(s) match {text!r}; showing the first")
            else:
                self.notify(f"no record waiting for you matches {text!r}", severity="warning")

        self.app.push_screen(TextPrompt("Search", placeholder="words in title/abstract/authors, or a record id"),
                             chosen)

    def action_undo(self) -> None:
        out = self.session.undo()
        if out is None:
            self.notify("nothing to undo", severity="warning")
            return
        self.show_current()
        if self.session.current_id() == out.record_id:  # offer the undone reasons and note again
            self.reasons, self.note = list(out.reasons or []), out.note
            self._draw_status()
        self.notify(out.message)


class ReviewApp(SessionApp):
    """The screening app for one reviewer and one stage."""

    TITLE = "metasift review"
    SCREEN = ReviewScreen
