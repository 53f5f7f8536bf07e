"""``metasift conflicts --resolve``: an arbiter settles disagreeing records with a consensus decision.

Everyone counted has decided these records, so their decisions (labels, reasons, notes) and the model's
draft are shown. A consensus needs a why: a note, or for an exclusion at least one reason.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, ProgressBar, Static

from metasift.kinds import Label
from metasift.screener.review_session import ConflictSession
from metasift.tui import render
from metasift.tui.base import STAGE_NAME, SessionApp, SessionScreen
from metasift.tui.dialogs import PANEL_BINDINGS, PromptBar, ReasonPanel
from metasift.tui.widgets import RecordPane

CONFLICT_HELP = """\
i  consensus include (then a note)    e  consensus exclude (reasons, then a note)
n  write the note first               s  skip this record for now
u  undo the last consensus            ?  this help      q  quit (all is saved)

The consensus is saved as its own decision (decider kind "consensus");
the reviewers' own decisions stay as they were."""


class ConflictScreen(SessionScreen):
    HELP = CONFLICT_HELP
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("i", "resolve('include')", "include"),
        Binding("e", "resolve('exclude')", "exclude"),
        Binding("n", "note", "note"),
        Binding("s", "skip", "skip"),
        Binding("u", "undo", "undo"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        *PANEL_BINDINGS,
    ]

    def __init__(self, session: ConflictSession) -> None:
        super().__init__(session)
        self.session: ConflictSession = session
        self.note: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static(id="decisions")
        yield RecordPane(self.include, self.exclude, id="record")
        yield ReasonPanel(id="reasons")
        yield PromptBar(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.show_current()
        self.query_one(RecordPane).focus()

    def show_current(self) -> None:
        s = self.session
        self.note = None
        item = s.current()
        pane = self.query_one(RecordPane)
        if item is None:
            pane.show_message("No conflicts left.", f"{len(s.resolved)} resolved in this session; "
                                                    "u undoes the last one; q quits.")
            self.query_one("#decisions", Static).display = False
        else:
            pane.show(s.record(item.record_id), draft_visible=True)
            labels = list(dict.fromkeys(str(d.label) for d in item.decisions))
            head = Text(" vs ".join(labels) if item.kind == "disagree" else
                        f"no include vs exclude split, but not settled: {' · '.join(labels)}", style="bold")
            head.append("\n")
            head.append_text(render.decisions_text(item.decisions))
            box = self.query_one("#decisions", Static)
            box.display = True
            box.update(head)
        line = Text(f" {s.arbiter.name} ({s.arbiter.role}) ", style="bold reverse")
        where = f"{s.pos + 1} of {len(s.items)}" if item is not None else f"all {len(s.items)} seen"
        line.append(f"  resolving conflicts at {STAGE_NAME.get(s.stage, s.stage)}  ·  {where}  ·  "
                    f"{len(s.resolved)} resolved")
        self.query_one("#status", Static).update(line)
        self.query_one(ProgressBar).update(total=max(1, len(s.items)), progress=s.pos)

    def _write(self, label: str, reasons: list[str], note: str | None) -> None:
        if not note and not (label == Label.EXCLUDE and reasons):
            self.notify("a consensus needs a note (or, to exclude, a reason): nothing written", severity="warning")
            return
        out = self.session.resolve(label, reasons, note)
        self.show_current()
        self.notify(out.message, severity="information" if out.decision_id else "warning")

    def _ask_note(self, label: str, reasons: list[str]) -> None:
        if self.note:
            self._write(label, reasons, self.note)
            return
        self.ask(f"Why {label}? (the consensus note)",
                 lambda note: None if note is None else self._write(label, reasons, note))

    def action_resolve(self, label: str) -> None:
        if self.session.current() is None:
            self.notify("no conflict left", severity="warning")
            return
        if label == Label.INCLUDE:
            self._ask_note(label, [])
            return
        def chosen(reasons: list[str] | None) -> None:
            if reasons is not None:
                self._ask_note(label, reasons)

        criteria = [(c.id, c.text) for c in self.session.criteria]
        item = self.session.current()
        given = [r for d in (item.decisions if item else []) for r in (d.reasons or [])]
        ticked = [cid for cid, _ in criteria if cid in given]  # the reviewers' reasons, to confirm or untick
        self.open_panel(criteria, ticked, "Consensus exclude — which criteria are not met? (the reviewers' "
                        "reasons are ticked)", "1–9 / space tick · Enter goes on to the note · Esc cancels", chosen)

    def action_note(self) -> None:
        def chosen(note: str | None) -> None:
            if note is not None:
                self.note = note or None

        self.ask("Consensus note", chosen, self.note or "")

    def action_skip(self) -> None:
        self.session.skip()
        self.show_current()

    def action_undo(self) -> None:
        out = self.session.undo()
        if out is None:
            self.notify("nothing to undo", severity="warning")
            return
        self.show_current()
        self.notify(out.message)


class ConflictApp(SessionApp):
    """Conflict resolution for one arbiter and one stage."""

    TITLE = "metasift conflicts"
    SCREEN = ConflictScreen
