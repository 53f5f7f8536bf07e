"""What the review and conflict apps share: the app shell, help and quit, the stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.events import Key, Paste
from textual.screen import Screen

from metasift.kinds import Stage
from metasift.tui import render
from metasift.tui.dialogs import HelpScreen, PanelKeys

CSS = Path(__file__).with_name("review.tcss")
STAGE_NAME = {Stage.TITLE_ABSTRACT: "title/abstract", Stage.FULL_TEXT: "full text"}


class SessionScreen(PanelKeys, Screen[None]):
    """A screen driving one session; ``HELP`` is the text ``?`` shows."""

    HELP: ClassVar[str] = ""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        kw = session.protocol.review
        self.keywords = render.Keywords(include=list(kw.keywords_include), exclude=list(kw.keywords_exclude),
                                        whole_words=kw.keyword_match == "word")
        self.include, self.exclude = self.keywords.patterns()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.HELP))

    def action_quit(self) -> None:
        self.app.exit()


class SessionApp(App[None]):
    """An app with one screen (``SCREEN``) built around ``session``; everything is saved as it happens."""

    CSS_PATH = CSS
    SCREEN: ClassVar[type[SessionScreen]]

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session

    def get_default_screen(self) -> Screen[None]:
        return self.SCREEN(self.session)  # type: ignore[call-arg]

    def on_key(self, event: Key) -> None:
        # runs before the app's own key handling (bindings): an open prompt bar takes the key, in order
        screen = self.screen
        if isinstance(screen, SessionScreen):
            screen.bar_key(event)

    def on_paste(self, event: Paste) -> None:
        screen = self.screen
        if isinstance(screen, SessionScreen):
            screen.bar_paste(event)
