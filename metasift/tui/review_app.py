"""``metasift review``: one record at a time, one keypress per decision, blinded, resumable.

Handlers stay short and never wait on the store's write lock: a decision, undo, revision or tag change is
taken on the UI thread (the next record is drawn at once) and written by one writer thread worker, in the
order the keys were pressed, each write one transaction; a write that fails is shown as one line and its
record comes back (a decision's to the front of the queue, a revision's reopened). Quitting waits for the
writes still queued.

The slow work runs in thread workers and comes back through ``call_from_thread``: retraining the ranker
when the session says one is due (the new order is swapped in on the UI thread, behind the record on
screen), and the buscar stopping test for the second status line (recomputed after every decision; while
one computation runs, further decisions ask for one more afterwards, never a pile of them).

Start-up: the first record is drawn from the queue's head alone; what the start leaves to workers (the
whole queue and its count, the ranker's features, the stopping test's history) begins once it is on
screen, so it does not compete with drawing it, and the status lines say "counting the queue…" and
"reading the history…" until it arrives. Drawing the first record imports none of numpy, scipy or
scikit-learn: they load in the worker processes, which compute with them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, ProgressBar, Static

from metasift.kinds import Label
from metasift.screener.live_rank import Reranking
from metasift.screener.review_session import (
    HistoryQuery,
    Outcome,
    PendingDecision,
    PendingRevision,
    QueueLoad,
    ReviewSession,
)
from metasift.screener.stopping import ScreeningHistory, StoppingEstimate, status_text
from metasift.store.review_queue import ReviseRefused
from metasift.store.rows import DecisionRow
from metasift.tui import render
from metasift.tui.base import STAGE_NAME, SessionApp, SessionScreen
from metasift.tui.dialogs import PANEL_BINDINGS, HistoryScreen, PromptBar, ReasonPanel
from metasift.tui.widgets import RecordPane

REVIEW_HELP = """\
i  include        e  exclude: tick reasons 1–9, Enter (none ticked = no reason)
m  maybe          u  undo your last decision: the record comes back
r  pick reasons before deciding      n  add a note to this record's decision
/  search title, abstract, authors, journal or record id: the matches are
   listed; n / N step to the next / previous one, Esc ends the search
h  your decisions, newest first (type to filter: words, tag:NAME, reason:ID,
   label:exclude); Enter opens one: i / e / m replace it, Esc goes back
t  tags on this record ("check full text, pediatric"; delete one to remove it)
f  filter the queue: tag:NAME and/or words (empty clears); reason:ID lists
   your decisions naming that criterion
k  edit the highlighted keywords (include | exclude)   w  whole words / prefixes
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
        Binding("n", "note_or_next", "note / next match"),
        Binding("slash", "search", "search"),
        Binding("h", "history", "history"),
        Binding("t", "tags", "tags"),
        Binding("f", "filter", "filter"),
        Binding("k", "keywords", "keywords", show=False),
        Binding("w", "keyword_mode", "words/prefixes", show=False),
        Binding("N", "step_match(-1)", show=False),
        Binding("shift+n", "step_match(-1)", show=False),
        Binding("escape", "leave", show=False),
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
        self._background_started = False  # the workers of the start (``_start_background``), after the first paint
        self.reranked = 0  # retrains applied to this screen's queue
        self.stopping: StoppingEstimate | None = None  # the latest stopping test shown
        self._stopping_busy = self._stopping_again = False
        self._stopping_started = 0.0  # perf_counter() when the running stopping test was started
        self._history_asked = self._history_applied = 0  # history reads handed out / the newest applied
        # writes in key order: (work in the writer thread, then on the UI thread, on failure on the UI thread)
        self._writes: queue.Queue[Write] = queue.Queue()
        self._writes_lock = threading.Lock()
        self._writer_running = False
        self.writes_pending = 0  # handed to the writer and not yet back on the UI thread
        self.write_errors: list[str] = []  # the one-line reports of writes that failed

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="stopping")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static(id="mode")
        yield RecordPane(self.include, self.exclude, id="record")
        yield Static(id="matches")
        yield ReasonPanel(id="reasons")
        yield PromptBar(id="prompt")
        yield Static(id="pending")
        yield Footer()

    def on_mount(self) -> None:
        self.show_current()
        self.query_one(RecordPane).focus()
        if self.session.stopping is None:
            self.query_one("#stopping", Static).display = False
        else:
            self.query_one("#stopping", Static).update(Text(" stopping test: reading the history…", style="dim"))
        # in workers once the first record is on screen (``_painted``): the whole queue (when only its head
        # was read), the ranker's features and the stopping test's history. Started before the first paint,
        # their threads and processes took the CPU (and the GIL) from drawing it: half a second at 50,000
        # records on two cores.

    # -- writes (one writer thread worker, in key order) ---------------------------------------------------------
    @work(thread=True, group="writes", exit_on_error=False)
    def _writer(self) -> None:
        """Runs while writes are queued (started by ``_write``), one at a time, in key order."""
        while True:
            with self._writes_lock:
                try:
                    job = self._writes.get_nowait()
                except queue.Empty:
                    self._writer_running = False
                    return
            try:
                result = job.run()
            except Exception as exc:  # reported as one line; the record comes back
                self._from_thread(self._write_back, job.failed, exc)
            else:
                self._from_thread(self._write_back, job.done, result)

    def _write_back(self, callback: Callable[[Any], None], value: object) -> None:
        self.writes_pending -= 1
        callback(value)

    def _write(self, run: Callable[[], object], done: Callable[[object], None],
               failed: Callable[[Exception], None]) -> None:
        self.writes_pending += 1
        with self._writes_lock:
            self._writes.put(Write(run, done, failed))
            if not self._writer_running:
                self._writer_running = True
                self._writer()

    def _write_failed(self, what: str, exc: Exception) -> None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        line = f"{what} was not saved ({first[:160]}): the record is back"
        self.write_errors.append(line)
        self.notify(line, severity="error")

    def _start_background(self) -> None:
        if not self.session.complete:
            self._load_rest()
        if self.session.ranker is not None:
            self._warm_ranker()
        if self.session.stopping is not None:
            self._reload_history()

    @work(thread=True, group="queue", exit_on_error=False)
    def _load_rest(self) -> None:
        try:
            load = self.session.load_rest()
        except Exception as exc:  # the head stays; the session loads the rest itself when the head runs out
            message = f"reading the whole queue failed: {exc}"
            self._from_thread(lambda: self.notify(message, severity="warning"))
            return
        if load is not None:
            self._from_thread(self._apply_rest, load)

    def _apply_rest(self, load: QueueLoad) -> None:
        self.session.apply_rest(load)
        self._draw_mode()
        self._draw_status()

    # -- drawing ------------------------------------------------------------------------------------------------
    def show_current(self) -> None:
        """Draw the record that needs this reviewer next (or the all-done message) and the counts."""
        s = self.session
        self.reasons, self.note = [], None
        pane = self.query_one(RecordPane)
        if s.revising is not None:
            old = s.revising
            self.note = old.note  # carried into the revision unless changed; its reasons are pre-ticked by e
            pane.show(s.record(old.record_id), draft_visible=s.show_draft, info=s.info(old.record_id))
            self._draw_mode()
            self._draw_status()
            self.call_after_refresh(self._painted)
            return
        rid = s.current_id()
        if rid is None and s.filter is not None:
            pane.show_message(f"No record waiting for you matches the filter {s.filter.typed!r}.",
                              f"{s.remaining} other record(s) wait. f changes the filter; Esc clears it.")
        elif rid is None:
            where = STAGE_NAME.get(s.stage, s.stage)
            body = (f"{s.done} decision(s) recorded by {s.reviewer}. "
                    "u undoes the last one (the record comes back); h lists them to revise; q quits.")
            pane.show_message(f"Nothing left for {s.reviewer} at {where}.", body)
        else:
            pane.show(s.record(rid), draft_visible=s.show_draft, info=s.info(rid))
        self._draw_mode()
        self._draw_status()
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()
        if not self._background_started:  # the first record is on screen: the rest of the start now
            self._background_started = True
            self._start_background()

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
        line.append(f"  ·  {s.remaining} to go  ·  " if s.complete else "  ·  counting the queue…  ·  ")
        if s.last_ranking is not None:
            r = s.last_ranking
            line.append(f"re-ranked after {r.at_decision} ({r.trained_on} labels)  ·  ", style="dim")
        line.append("model draft shown" if s.show_draft else "blinded", style="dim")
        self.query_one("#status", Static).update(line)
        self.query_one(ProgressBar).update(total=max(1, s.done + s.remaining) if s.complete else None,
                                           progress=s.done)
        pending = Text()
        if self.reasons:
            pending.append("reasons: ", style="bold")
            pending.append(", ".join(self.reasons) + "   ")
        if self.note:
            pending.append("note: ", style="bold")
            pending.append(self.note, style="italic")
        self.query_one("#pending", Static).update(pending)

    def _draw_mode(self) -> None:
        """The line above the record: revising an earlier decision, the filter in force; and the list of
        search matches under it."""
        s = self.session
        mode = Text()
        if s.revising is not None:
            old = s.revising
            mode.append(" REVISING ", style="bold reverse yellow")
            mode.append(f"  your decision of {old.created_at:%Y-%m-%d %H:%M}: ")
            mode.append(old.label, style=render.LABEL_STYLE.get(old.label, ""))
            if old.reasons:
                mode.append(f" ({', '.join(old.reasons)})")
            mode.append("  ·  i / e / m replace it (the old one is kept, retracted)  ·  Esc goes back", style="dim")
        elif s.filter is not None:
            mode.append(" FILTER ", style="bold reverse cyan")
            mode.append(f"  {s.filter.typed}  ·  {s.filtered_remaining} waiting record(s) match  ·  "
                        "f changes it · Esc clears", style="")
        box = self.query_one("#mode", Static)
        box.display = bool(mode.plain)
        box.update(mode)
        matches = self.query_one("#matches", Static)
        matches.display = bool(s.matches) and s.revising is None
        if s.matches:
            matches.update(render.match_list(s.search_text, s.matches, s.match_at))

    def _after_decision(self, started: float, message: str, *, warn: bool) -> None:
        self.show_current()
        self.call_after_refresh(lambda: self.latencies_ms.append((time.perf_counter() - started) * 1000))
        if warn:
            self.notify(message, severity="warning")

    # -- re-ranking (thread worker → UI thread) -------------------------------------------------------------------
    @work(thread=True, group="rerank", exit_on_error=False)
    def _retrain(self, at_decision: int, ask: tuple[int, int]) -> None:
        ranker = self.session.ranker
        assert ranker is not None
        try:
            ranking = ranker.retrain(at_decision)
            history = self.session.stopping_history() if self.session.stopping is not None else None
        except Exception as exc:  # a failed retrain keeps the order; the session goes on
            self._from_thread(self._retrain_failed, exc)
            return
        self._from_thread(self._apply_ranking, ranking)
        if history is not None:
            self._from_thread(self._history_read, history, ask)

    @work(thread=True, group="rerank", exit_on_error=False)
    def _warm_ranker(self) -> None:
        """Build the ranker's features while the reviewer reads the first records (a retrain waits for it)."""
        ranker = self.session.ranker
        assert ranker is not None
        try:
            ranker.warm()
        except Exception as exc:  # the first retrain builds them instead, and reports its own failure
            message = f"preparing the ranker failed: {exc}"
            self._from_thread(lambda: self.notify(message, severity="warning"))

    def _apply_ranking(self, ranking: Reranking) -> None:
        self.session.current_id()  # pin the record on screen: the reorder goes behind it
        self.session.apply_ranking(ranking)
        self.reranked += 1
        self._draw_status()

    def _retrain_failed(self, exc: Exception) -> None:
        self.session.retrain_failed()
        self.notify(f"re-ranking failed, the queue keeps its order: {exc}", severity="warning")

    def _from_thread(self, callback: Callable[..., object], *args: object) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:  # the app closed meanwhile: the run is saved, a restart starts from it
            pass

    # -- the stopping test (thread worker → UI thread) ----------------------------------------------------------
    def _ask_history(self) -> tuple[int, int]:
        """A ticket for a history read: its number, and the decisions noted before it (replayed after)."""
        stopping = self.session.stopping
        self._history_asked += 1
        return self._history_asked, stopping.seq if stopping is not None else 0

    def _reload_history(self) -> None:
        self._read_history(self._ask_history())

    @work(thread=True, group="stopping", exit_on_error=False)
    def _read_history(self, ask: tuple[int, int]) -> None:
        try:
            history = self.session.stopping_history()
        except Exception as exc:  # the status line says so; screening goes on
            self._from_thread(self._stopping_failed, exc)
            return
        self._from_thread(self._history_read, history, ask)

    def _history_read(self, history: ScreeningHistory, ask: tuple[int, int]) -> None:
        number, since = ask
        stopping = self.session.stopping
        if stopping is None or number < self._history_applied:  # a newer read came back first
            return
        self._history_applied = number
        stopping.load(history, since)
        self._refresh_stopping()

    def _refresh_stopping(self) -> None:
        stopping = self.session.stopping
        if stopping is None or not stopping.loaded:
            return
        if self._stopping_busy:
            self._stopping_again = True
            return
        self._stopping_busy = True
        self._stopping_started = time.perf_counter()
        labels, n_total = stopping.snapshot()
        self._estimate(labels, n_total)

    @work(thread=True, group="stopping", exit_on_error=False)
    def _estimate(self, labels: list[int], n_total: int) -> None:
        try:
            est = self.session.stopping_estimate(labels, n_total)
        except Exception as exc:
            self._from_thread(self._stopping_failed, exc)
            return
        self._from_thread(self._show_stopping, est)

    def _show_stopping(self, est: StoppingEstimate | None) -> None:
        self._stopping_busy = False
        self.stopping = est
        line = Text(" stopping test  ", style="bold")
        if self.session.stopping_own:  # dual screening: the project's figures would unblind
            line.append("your decisions: ", style="dim")
        if est is None:
            line.append("no decision yet", style="dim")
        else:
            shared = self.session.stopping.shared if self.session.stopping is not None else None
            line.append(status_text(est, shared), style="bold green" if est.target_reached else "")
        self.query_one("#stopping", Static).update(line)
        if self._stopping_again:
            # the next one after a pause as long as this one took: at 50,000 records with thousands
            # screened a test takes seconds, and back to back it would keep a core busy
            self._stopping_again = False
            self.set_timer(max(0.0, time.perf_counter() - self._stopping_started), self._refresh_stopping)

    def _stopping_failed(self, exc: Exception) -> None:
        self._stopping_busy = False
        self.query_one("#stopping", Static).update(Text(f" stopping test failed: {exc}", style="red"))

    # -- actions ------------------------------------------------------------------------------------------------
    def _criteria(self) -> list[tuple[str, str]]:
        return [(c.id, c.text) for c in self.session.criteria]

    def _pick(self, title: str, hint: str, selected: list[str], done: Callable[[list[str] | None], None]) -> None:
        self.open_panel(self._criteria(), selected, title, hint, done)

    def action_decide(self, label: str, reasons: list[str] | None = None) -> None:
        if self.session.revising is not None:
            self._revise(label, reasons if reasons is not None else self.reasons)
            return
        if self.session.current_id() is None:
            self.notify("nothing left to decide", severity="warning")
            return
        started = time.perf_counter()
        pending = self.session.take(label, reasons if reasons is not None else self.reasons, self.note)
        self._after_decision(started, "", warn=False)  # the next record now; the write behind it
        self._write(lambda: self.session.write(pending), lambda did: self._decided(pending, did),
                    lambda exc: self._decide_failed(pending, exc))

    def _decided(self, pending: PendingDecision, did: object) -> None:
        out = self.session.settle(pending, did if isinstance(did, int) else None)
        if out.decision_id is None:
            self.notify(out.message, severity="warning")
        self._draw_status()
        self._refresh_stopping()
        if self.session.retrain_due():
            self._retrain(self.session.begin_retrain(), self._ask_history())

    def _decide_failed(self, pending: PendingDecision, exc: Exception) -> None:
        self.session.give_back(pending)
        self.show_current()
        self._write_failed(f"{pending.label} on record {pending.record_id}", exc)

    def action_exclude(self) -> None:
        if self.session.revising is None and self.session.current_id() is None:
            self.notify("nothing left to decide", severity="warning")
            return
        if self.reasons and self.session.revising is None:
            self.action_decide(Label.EXCLUDE)
            return

        def chosen(reasons: list[str] | None) -> None:
            if reasons is None:
                self.notify("not excluded")
            else:
                self.action_decide(Label.EXCLUDE, reasons)

        revising = self.session.revising
        ticked = (self.reasons or list(revising.reasons or [])) if revising is not None else []
        self._pick("Exclude — which criteria are not met?",
                   "1–9 / space tick · Enter excludes (none ticked: no reason) · Esc cancels", ticked, chosen)

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

        self.ask("Note for this record's decision", chosen, self.note or "")

    def action_search(self) -> None:
        def chosen(text: str | None) -> None:
            if not text:
                return
            self.session.close_decision()
            found = self.session.search(text)
            self.show_current()
            if found:
                self.notify(f"{found} waiting record(s) match {text!r}: n / N step through them")
            else:
                self.notify(f"no record waiting for you matches {text!r}", severity="warning")

        self.ask("Search", chosen, self.session.search_text,
                 placeholder="words in title/abstract/authors, or a record id", hint="Enter searches · Esc cancels")

    def action_note_or_next(self) -> None:
        """n: the next search match while a search is on, else a note for this record's decision."""
        if self.session.matches and self.session.revising is None:
            self.action_step_match(1)
        else:
            self.action_note()

    def action_step_match(self, step: int) -> None:
        if self.session.revising is not None or self.session.step_match(step) is None:
            return
        self.show_current()

    def action_leave(self) -> None:
        """Esc: leave a revision, else end the search, else clear the filter."""
        s = self.session
        if s.revising is not None:
            s.close_decision()
        elif s.matches:
            s.clear_search()
        elif s.filter is not None:
            s.set_filter("")
        else:
            return
        self.show_current()

    # -- earlier decisions, tags, filters, keywords ----------------------------------------------------------
    def action_history(self, typed: str = "") -> None:
        def chosen(decision_id: int | None) -> None:
            if decision_id is None:
                return
            try:
                self.session.open_decision(decision_id)
            except ReviseRefused as exc:
                self.notify(str(exc), severity="warning")
                return
            self.show_current()

        self.app.push_screen(HistoryScreen(self.session.history, typed), chosen)

    def _revise(self, label: str, reasons: list[str] | None) -> None:
        started = time.perf_counter()
        pending = self.session.take_revision(label, reasons, self.note)
        self._after_decision(started, "", warn=False)
        self._write(lambda: self.session.write_revision(pending), lambda did: self._revised(pending, did),
                    lambda exc: self._revise_failed(pending, exc))

    def _revised(self, pending: PendingRevision, did: object) -> None:
        assert isinstance(did, int)
        out = self.session.revised(pending, did)
        self.notify(out.message)
        self._draw_status()
        self._refresh_stopping()
        if self.session.retrain_due():
            self._retrain(self.session.begin_retrain(), self._ask_history())
        if self.session.stopping is not None:  # the revised label replaces the old one in the history
            self._reload_history()

    def _revise_failed(self, pending: PendingRevision, exc: Exception) -> None:
        if isinstance(exc, ReviseRefused):  # the decision changed meanwhile: nothing to reopen
            self.notify(str(exc), severity="warning")
            return
        self.session.revising = pending.old  # reopened: the revision can be made again
        self.show_current()
        self._write_failed(f"the revision of decision {pending.old.id}", exc)

    def _shown_id(self) -> int | None:
        s = self.session
        return s.revising.record_id if s.revising is not None else s.current_id()

    def action_tags(self) -> None:
        rid = self._shown_id()
        if rid is None:
            self.notify("no record on screen", severity="warning")
            return
        s = self.session
        mine = [tg.tag for tg in s.record_tags(rid)]

        def chosen(text: str | None) -> None:
            if text is None:
                return
            wanted = [w for w in text.split(",")]
            self._write(lambda: s.set_tags(rid, wanted), lambda changed: tagged(rid, changed),
                        lambda exc: self._write_failed(f"the tags of record {rid}", exc))

        def tagged(rid: int, changed: object) -> None:
            added, removed = changed  # type: ignore[misc]
            if self._shown_id() == rid:
                self.show_current() if s.revising is not None else self._redraw_record(rid)
            if added or removed:
                self.notify("tags: " + ", ".join([f"+{a}" for a in added] + [f"−{r}" for r in removed]))

        known = ", ".join(list(s.tag_counts())[:8])
        self.ask("Tags for this record (comma-separated)", chosen, ", ".join(mine),
                 placeholder="check full text, pediatric",
                 hint=f"Enter to save · Esc to cancel · in use: {known or 'none yet'}")

    def _redraw_record(self, rid: int) -> None:
        """Draw the record on screen again (its tags changed), keeping reasons and note picked so far."""
        reasons, note = self.reasons, self.note
        self.query_one(RecordPane).show(self.session.record(rid), draft_visible=self.session.show_draft,
                                        info=self.session.info(rid))
        self.reasons, self.note = reasons, note
        self._draw_status()

    def action_filter(self) -> None:
        s = self.session

        def chosen(text: str | None) -> None:
            if text is None:
                return
            query = HistoryQuery.parse(text)
            if query.reason or query.label:  # only decided records have reasons and labels
                self.action_history(text)
                return
            s.close_decision()
            s.set_filter(text)
            self.show_current()

        known = ", ".join(f"tag:{name}" for name in list(s.tag_counts())[:6])
        self.ask("Filter the queue", chosen, s.filter.typed if s.filter else "",
                 placeholder="tag:NAME and/or words; reason:ID lists your decisions",
                 hint=f"Enter applies · empty clears · Esc cancels · {known or 'no tags yet'}")

    def action_keywords(self) -> None:
        def chosen(text: str | None) -> None:
            if text is None:
                return
            self._set_keywords(self.keywords.edited(text))

        self.ask("Highlighted keywords: include words | exclude words", chosen, self.keywords.as_text(),
                 placeholder="depress, randomi | mice, protocol",
                 hint="comma-separated · Enter keeps them for this session · w toggles whole words / prefixes")

    def action_keyword_mode(self) -> None:
        self._set_keywords(self.keywords.toggled())
        self.notify("keywords: whole words" if self.keywords.whole_words else "keywords: as prefixes")

    def _set_keywords(self, keywords: render.Keywords) -> None:
        self.keywords = keywords
        self.include, self.exclude = keywords.patterns()
        pane = self.query_one(RecordPane)
        pane.include, pane.exclude = self.include, self.exclude
        rid = self._shown_id()
        if rid is not None:
            self._redraw_record(rid)

    def action_undo(self) -> None:
        s = self.session
        s.close_decision()
        taken = s.take_undo()  # this session's last decision: its record back on screen now
        if taken is not None:
            self.show_current()
            if s.current_id() == taken.record_id:  # offer its reasons and note again
                self.reasons, self.note = list(taken.reasons or []), taken.note
                self._draw_status()
            self._write(lambda: s.undo_taken(taken), lambda row: self._undone(row, shown=taken),
                        lambda exc: self._write_failed("the undo", exc))
        else:  # decided before this session: found in the store by the writer
            self._write(s.undo_write, self._undone, lambda exc: self._write_failed("the undo", exc))

    def _undone(self, row: object, shown: PendingDecision | None = None) -> None:
        if row is None:
            self.notify("nothing to undo" if shown is None else
                        f"nothing to undo on record {shown.record_id}: nothing was written there", severity="warning")
            return
        assert isinstance(row, DecisionRow)
        out: Outcome = self.session.undone(row, shown=shown is not None)
        if shown is None:
            self.show_current()
        if self.session.stopping is not None:  # the undone decision leaves the history: read it again
            self._reload_history()
        if shown is None and self.session.current_id() == out.record_id:  # offer its reasons and note again
            self.reasons, self.note = list(out.reasons or []), out.note
            self._draw_status()
        self.notify(out.message)


class ReviewApp(SessionApp):
    """The screening app for one reviewer and one stage."""

    TITLE = "metasift review"
    SCREEN = ReviewScreen

    def on_unmount(self) -> None:
        # end the worker processes now: on exit asyncio waits for the thread workers, which wait on them
        # (a retrain cut short saved nothing; the last saved ranking stands)
        self.session.finish()


@dataclass(frozen=True, slots=True)
class Write:
    """One queued write: ``run`` in the writer thread, then ``done`` (its result) or ``failed`` on the UI thread."""

    run: Callable[[], object]
    done: Callable[[object], None]
    failed: Callable[[Exception], None]
