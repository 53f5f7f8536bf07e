"""The sessions the Textual apps drive, re-exported from where they live now.

``ReviewSession``, ``ConflictSession`` and the reviewer lookup hold no UI, so they moved to the stage layer
(``metasift.screener.review_session``, issue #15); this module keeps the old import path working.
"""

from __future__ import annotations

from metasift.screener.review_session import (
    ConflictSession,
    Outcome,
    ReviewSession,
    ShownRecord,
    counting_of,
    pick_reviewer,
)

__all__ = ["ConflictSession", "Outcome", "ReviewSession", "ShownRecord", "counting_of", "pick_reviewer"]
