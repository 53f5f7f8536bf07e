"""Rich text for the review screens: keyword and quote highlighting, byline, model draft, decisions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from metasift.kinds import Label

if TYPE_CHECKING:
    from metasift.store.rows import DecisionRow, RecordRow

INCLUDE_STYLE = "bold green"
EXCLUDE_STYLE = "bold red"
QUOTE_STYLE = "underline black on yellow"
VERDICT_MARK = {"met": ("✓", "green"), "not_met": ("✗", "red"), "unclear": ("?", "yellow")}
LABEL_STYLE = {Label.INCLUDE: "green", Label.EXCLUDE: "red", Label.MAYBE: "yellow"}


def keyword_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """Case-insensitive match of each keyword at a word start, through the end of that word
    (so the stem "depress" marks "depression")."""
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        return None
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alts})\w*", re.IGNORECASE)


def highlight(text: str | None, include: re.Pattern[str] | None, exclude: re.Pattern[str] | None,
              quotes: Sequence[str] = ()) -> Text:
    """``text`` with model quotes underlined and include/exclude keywords coloured."""
    out = Text(text or "—")
    if not text:
        return out
    lowered = text.lower()
    for quote in quotes:
        q = (quote or "").strip().lower()
        if len(q) < 4:
            continue
        start = lowered.find(q)
        while start >= 0:
            out.stylize(QUOTE_STYLE, start, start + len(q))
            start = lowered.find(q, start + len(q))
    if include is not None:
        out.highlight_regex(include, INCLUDE_STYLE)
    if exclude is not None:
        out.highlight_regex(exclude, EXCLUDE_STYLE)
    return out


def byline(rec: RecordRow | None, record_id: int) -> Text:
    """Authors (first three, then et al.), year, journal, record id and DOI on one line (``rec`` None: a
    record removed meanwhile, shown by its id alone)."""
    authors = (rec.authors if rec else None) or []
    who = "; ".join(authors[:3]) + (" et al." if len(authors) > 3 else "") if authors else "no authors"
    parts = [who, str((rec.year if rec else None) or "n.d."), (rec.journal if rec else None) or "no journal"]
    out = Text(" · ".join(parts))
    out.append(f"   record {record_id}", style="dim")
    if rec is not None and rec.doi:
        out.append(f"   doi:{rec.doi}", style="dim")
    if rec is not None and rec.publication_type:
        out.append(f"   {rec.publication_type}", style="dim")
    return out


def draft_text(draft: DecisionRow | None) -> Text:
    """The model's draft: label, confidence and per-criterion verdicts with their quotes and reasons."""
    if not draft:
        return Text("no model draft for this record", style="dim")
    conf = draft.confidence
    head = Text("Model draft ", style="bold")
    head.append(f"({draft.model or draft.decider}): ", style="dim")
    head.append(draft.label, style=LABEL_STYLE.get(draft.label, ""))
    if conf is not None:
        head.append(f"  confidence {conf:.2f}", style="dim")
    for c in draft.criteria or []:
        mark, style = VERDICT_MARK.get(c.get("verdict"), ("·", ""))
        head.append(f"\n {mark} ", style=style)
        head.append(f"{c.get('id')}", style="bold")
        if c.get("reason"):
            head.append(f" — {c['reason']}")
        if c.get("quote"):
            head.append(f"  “{c['quote']}”", style="italic")
        if c.get("quote_found") is False and c.get("verdict") == "not_met":
            head.append("  (quote not in the record: not evidence)", style="bold red")
    return head


def draft_quotes(draft: DecisionRow | None) -> list[str]:
    return [c.get("quote") or "" for c in (draft.criteria if draft else None) or []]


def decisions_text(decisions: list[DecisionRow]) -> Text:
    """The counted decisions on a conflicting record, one line each (shown to the arbiter only)."""
    out = Text()
    for i, d in enumerate(decisions):
        if i:
            out.append("\n")
        out.append(f"{d.decider_kind}:{d.decider}  ", style="bold")
        out.append(d.label, style=LABEL_STYLE.get(d.label, ""))
        if d.reasons:
            out.append(f"  reasons: {', '.join(d.reasons)}")
        if d.note:
            out.append(f"  note: {d.note}", style="italic")
    return out
