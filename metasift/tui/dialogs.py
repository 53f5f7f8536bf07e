"""Dialogs shared by the review and conflict screens: reason panel, one-line prompt, help."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Key, Paste
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from metasift.tui.render import LABEL_STYLE
from metasift.tui.widgets import RecordPane

PANEL_BINDINGS = [
    Binding("escape", "panel_cancel", "cancel", show=False),
    Binding("enter", "panel_confirm", "confirm", show=False),
    Binding("space", "panel_toggle", show=False),
    Binding("up", "panel_move(-1)", show=False),
    Binding("down", "panel_move(1)", show=False),
    *(Binding(str(i), f"panel_toggle_index({i - 1})", show=False) for i in range(1, 10)),
]


class ReasonPanel(Static):
    """Tick criteria (1–9, or ↑/↓ and space); Enter confirms, Esc cancels (the callback gets None).

    A panel inside the screen, driven by the screen's ``PANEL_BINDINGS`` (see ``PanelKeys``), rather than a
    modal screen or a focused widget: opening and closing it switches no screen and moves no focus, so the
    next record is drawn as fast after Enter here as after a one-key decision. The bindings are ordinary
    (not priority) ones so keys typed fast are handled strictly in order ("e 3 Enter" in one burst).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.criteria: list[tuple[str, str]] = []
        self.selected: list[str] = []
        self.title_text = self.hint = ""
        self.cursor = 0
        self._done: Callable[[list[str] | None], None] | None = None
        self.display = False

    @property
    def is_open(self) -> bool:
        return bool(self.display)

    def open(self, criteria: list[tuple[str, str]], selected: list[str], title: str, hint: str,
             done: Callable[[list[str] | None], None]) -> None:
        """Show the panel and take the keyboard; ``done`` gets the ticked ids (criteria order) or None."""
        ids = [cid for cid, _ in criteria]
        self.criteria, self.selected = criteria, [c for c in selected if c in ids]
        self.title_text, self.hint, self.cursor, self._done = title, hint, 0, done
        self.display = True
        self._redraw()

    def _redraw(self) -> None:
        out = Text(self.title_text + "\n", style="bold")
        if not self.criteria:
            out.append("no criteria at this stage in review.toml\n", style="dim")
        for i, (cid, text) in enumerate(self.criteria):
            mark = "[x]" if cid in self.selected else "[ ]"
            line = Text(f"{i + 1 if i < 9 else ' '} {mark} ")
            line.append(cid, style="bold")
            line.append(f"  {text}", style="" if i == self.cursor else "dim")
            if i == self.cursor:
                line.stylize("reverse")
            out.append_text(line)
            out.append("\n")
        out.append(self.hint, style="dim")
        self.update(out)

    def _close(self, result: list[str] | None) -> None:
        self.display = False
        done, self._done = self._done, None
        if done is not None:
            done(result)

    def toggle_index(self, index: int) -> None:
        if 0 <= index < len(self.criteria):
            cid = self.criteria[index][0]
            self.selected = [c for c in self.selected if c != cid] if cid in self.selected else [*self.selected, cid]
            self.cursor = index
            self._redraw()

    def toggle(self) -> None:
        self.toggle_index(self.cursor)

    def move(self, step: int) -> None:
        if self.criteria:
            self.cursor = (self.cursor + step) % len(self.criteria)
            self._redraw()

    def confirm(self) -> None:
        order = [cid for cid, _ in self.criteria]
        self._close(sorted(self.selected, key=order.index))

    def cancel(self) -> None:
        self._close(None)


class PromptBar(Static):
    """One line of text typed inside the screen (a note, a search, tags, a filter): Enter gives it to the
    callback, Esc gives None.

    Like the reason panel it lives in the screen rather than in a modal screen: every key goes to the one
    screen in the order typed, so keys typed while it opens are typed into it (a modal screen takes a
    moment to mount, and keys sent meanwhile were lost), and keys typed after Enter act on the screen
    again, never into a prompt that is closing. The app routes keys here (``PanelKeys.bar_key``).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = self.title_text = self.hint = self.placeholder = ""
        self._done: Callable[[str | None], None] | None = None
        self.display = False

    @property
    def is_open(self) -> bool:
        return bool(self.display)

    def open(self, title: str, value: str, done: Callable[[str | None], None], *, placeholder: str = "",
             hint: str = "Enter to save · Esc to cancel") -> None:
        self.title_text, self.value, self.placeholder, self.hint, self._done = title, value, placeholder, hint, done
        self.display = True
        self._redraw()

    def _redraw(self) -> None:
        out = Text(self.title_text + "\n", style="bold")
        if self.value:
            out.append(self.value)
        else:
            out.append(self.placeholder, style="dim italic")
        out.append("▌", style="blink")
        out.append("\n" + self.hint + " · Ctrl+U clears", style="dim")
        self.update(out)

    def key(self, event: Key) -> None:
        """One key typed while the bar is open."""
        if event.key == "enter":
            self._close(self.value.strip())
        elif event.key == "escape":
            self._close(None)
        elif event.key in ("backspace", "ctrl+h"):
            self.value = self.value[:-1]
            self._redraw()
        elif event.key == "ctrl+u":
            self.value = ""
            self._redraw()
        elif event.is_printable and event.character:
            self.value += event.character
            self._redraw()

    def paste(self, text: str) -> None:
        self.value += " ".join(text.split())
        self._redraw()

    def _close(self, result: str | None) -> None:
        self.display = False
        done, self._done = self._done, None
        if done is not None:
            done(result)


class PanelKeys:
    """Mixin for a screen holding a ``ReasonPanel`` and a ``PromptBar``: the panel's keys act only while it
    is open, and the screen's other bindings (except quit) are off meanwhile; while the bar is open every
    key goes to it (quit too: "q" is a letter in a note)."""

    @property
    def bar(self) -> PromptBar:
        return self.query_one(PromptBar)  # type: ignore[attr-defined]

    def ask(self, title: str, done: Callable[[str | None], None], value: str = "", *, placeholder: str = "",
            hint: str = "Enter to save · Esc to cancel") -> None:
        """Open the prompt bar; ``done`` gets the text (stripped) on Enter, None on Esc."""
        pane = self.query_one(RecordPane)  # type: ignore[attr-defined]

        def closed(text: str | None) -> None:
            pane.keys_to_screen = False
            done(text)

        pane.keys_to_screen = True
        self.bar.open(title, value, closed, placeholder=placeholder, hint=hint)

    def bar_key(self, event: Key) -> bool:
        """Give a key to the open prompt bar; False when it is closed. The app calls this for every key
        before its bindings are looked at (``SessionApp.on_key``): keys and bindings are then handled in
        one queue, strictly in the order typed, and "n x Enter i" in one burst types "x" into the note
        bar "n" opened, saves it, and decides."""
        if not self.bar.is_open:
            return False
        event.stop()
        event.prevent_default()
        self.bar.key(event)
        return True

    def bar_paste(self, event: Paste) -> None:
        if self.bar.is_open:
            event.stop()
            self.bar.paste(event.text)

    @property
    def panel(self) -> ReasonPanel:
        return self.query_one(ReasonPanel)  # type: ignore[attr-defined]  # the Screen's

    def open_panel(self, criteria: list[tuple[str, str]], selected: list[str], title: str, hint: str,
                   done: Callable[[list[str] | None], None]) -> None:
        """Open the reason panel; while it is open the record pane leaves ↑/↓ to it."""
        pane = self.query_one(RecordPane)  # type: ignore[attr-defined]

        def closed(reasons: list[str] | None) -> None:
            pane.keys_to_screen = False
            done(reasons)

        pane.keys_to_screen = True
        self.panel.open(criteria, selected, title, hint, closed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.bar.is_open:
            return False
        if action.startswith("panel_"):
            return self.panel.is_open
        return action == "quit" or not self.panel.is_open

    def action_panel_toggle_index(self, index: int) -> None:
        self.panel.toggle_index(index)

    def action_panel_toggle(self) -> None:
        self.panel.toggle()

    def action_panel_move(self, step: int) -> None:
        self.panel.move(step)

    def action_panel_confirm(self) -> None:
        self.panel.confirm()

    def action_panel_cancel(self) -> None:
        self.panel.cancel()


class _EarlyKeys:
    """For a modal screen around one ``Input``: keys typed in the instant between the screen opening and
    its input taking the focus go into the input (never lost, never to the screen underneath, which a
    modal screen already shields): printable characters are typed, Backspace deletes, Enter submits."""

    def on_key(self, event: Key) -> None:
        # a key the input handled never gets here (it stops printable keys; Enter and Backspace are its
        # bindings): this one was sent to the screen before the input had the focus
        box = self.query_one(Input)  # type: ignore[attr-defined]
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.submit(box.value)  # type: ignore[attr-defined]
        elif event.key == "backspace":
            event.stop()
            box.focus()
            box.action_delete_left()
        elif event.is_printable and event.character:
            event.stop()
            box.focus()
            box.insert_text_at_cursor(event.character)


class TextPrompt(_EarlyKeys, ModalScreen[str | None]):
    """One line of text (a note, a search, tags, a filter): Enter returns it, Esc returns None."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "cancel")]
    AUTO_FOCUS = "#prompt-input"

    def __init__(self, title: str, value: str = "", placeholder: str = "",
                 hint: str = "Enter to save · Esc to cancel") -> None:
        super().__init__()
        self.title_text, self.value, self.placeholder, self.hint = title, value, placeholder, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(self.hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, value: str) -> None:
        self.dismiss(value.strip())

    def action_cancel(self) -> None:
        """Esc: close with None, so the caller writes nothing (the binding names this action)."""
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """The keys, and how blinding and dual screening work; any key closes it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static("Keys", classes="dialog-title")
            yield Static(self.text)
            yield Static("any key closes this help", classes="hint")

    def on_key(self, event: Key) -> None:
        event.stop()
        self.dismiss(None)


class HistoryScreen(_EarlyKeys, ModalScreen[int | None]):
    """The reviewer's own decisions, newest first, filtered as they type (words, ``tag:``, ``reason:``,
    ``label:``); ↑/↓ pick one, Enter opens it for revision (the decision id is returned), Esc closes."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
        Binding("pagedown", "move(10)", show=False, priority=True),
        Binding("pageup", "move(-10)", show=False, priority=True),
    ]
    AUTO_FOCUS = "#history-input"

    def __init__(self, load: Callable[[str], list[Any]], typed: str = "") -> None:
        super().__init__()
        self.load, self.typed = load, typed
        self.rows: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog history"):
            yield Static("Your decisions, newest first", classes="dialog-title")
            yield Input(value=self.typed, placeholder="words in the title, a record id, tag:NAME, reason:ID, "
                        "label:exclude", id="history-input")
            listing = OptionList(id="history-list")
            listing.can_focus = False
            yield listing
            yield Static("", id="history-count", classes="hint")
            yield Static("type to filter · ↑ ↓ pick · Enter opens it to revise · Esc closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._fill(self.typed)

    def _fill(self, typed: str) -> None:
        self.rows = self.load(typed)
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options([Option(history_line(r), id=str(r.decision.id)) for r in self.rows])
        if self.rows:
            listing.highlighted = 0
        self.query_one("#history-count", Static).update(
            f"{len(self.rows)} decision(s)" + (" (the newest 500)" if len(self.rows) >= 500 else ""))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, value: str) -> None:
        at = self.query_one(OptionList).highlighted
        self.dismiss(self.rows[at].decision.id if at is not None and at < len(self.rows) else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0) or None)

    def action_move(self, step: int) -> None:
        listing = self.query_one(OptionList)
        if self.rows:
            at = listing.highlighted or 0
            listing.highlighted = max(0, min(len(self.rows) - 1, at + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


def history_line(row: Any) -> Text:
    """One decision in the history list: when, label, reasons, record id, title."""
    d = row.decision
    out = Text(f"{d.created_at:%m-%d %H:%M}  ", style="dim")
    out.append(f"{d.label:8s}", style=LABEL_STYLE.get(d.label, ""))
    if d.reasons:
        out.append(f"[{', '.join(d.reasons)}] ", style="dim")
    out.append(f"#{d.record_id} ", style="dim")
    title = row.title or "(no title)"
    out.append(title if len(title) <= 90 else title[:89] + "…")
    return out
