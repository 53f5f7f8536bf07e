"""Rich text for the review screens: keyword and quote highlighting, byline, model draft, decisions."""

from __future__ import annotations

import re
import unicodedata
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


PAGE_QUOTE_STYLE = "black on yellow"
PAGE_NUMBER_STYLE = "bold white on red"  # the value itself, inside its quote: stronger than the quote
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"


def _phrase(words: Sequence[str]) -> re.Pattern[str]:
    """``words`` in order, any whitespace between them (a table gap, a line break), any dash for a dash."""
    def word(w: str) -> str:
        return "".join(f"[{_DASHES}]" if c in _DASHES else re.escape(c) for c in w)
    return re.compile(r"\s+".join(word(w) for w in words), re.IGNORECASE)


def locate_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Where ``quote`` is in ``text`` as (start, end) spans: one span when it is there whole (spacing, case
    and dashes aside); else its longest runs of two or more words, in order (a quote copied from reading
    order can run down one column of a two-column page, i.e. across several physical lines)."""
    words = unicodedata.normalize("NFKC", quote).replace("\u00ad", "").split()
    if not words:
        return []
    whole = _phrase(words).search(text)
    if whole or len(words) == 1:
        return [whole.span()] if whole else []
    spans: list[tuple[int, int]] = []
    pos, start = 0, 0
    while pos < len(words) - 1:
        found = _phrase(words[pos:pos + 2]).search(text, start)
        if not found:
            pos += 1
            continue
        end = pos + 2
        while end < len(words) and (longer := _phrase(words[pos:end + 1]).search(text, start)):
            found, end = longer, end + 1
        spans.append(found.span())
        start, pos = found.end(), end
    return spans


def quote_view(text: str, quote: str, numbers: Sequence[str] = ()) -> tuple[Text, tuple[int, int, int, int] | None]:
    """``text`` (a page as laid out) with the quote highlighted and, inside it, the printed value (any of
    ``numbers``, e.g. "4.3", "4.30") highlighted more strongly; and the quote's box on the page as (column,
    line, width, height) to scroll to, or None when the quote is not found."""
    out = Text(text, no_wrap=True, overflow="ignore")
    spans = locate_quote(text, quote)
    if not spans:
        return out, None
    forms = sorted({n for n in numbers if n}, key=len, reverse=True)
    number = re.compile(rf"(?<![\d.])(?:{'|'.join(map(re.escape, forms))})(?!\d)") if forms else None
    for start, end in spans:
        out.stylize(PAGE_QUOTE_STYLE, start, end)
        for m in number.finditer(text, start, end) if number else ():
            out.stylize(PAGE_NUMBER_STYLE, m.start(), m.end())

    def column(at: int) -> int:
        return at - (text.rfind("\n", 0, at) + 1)

    top, bottom = text.count("\n", 0, spans[0][0]), text.count("\n", 0, spans[-1][1])
    left = min(column(s) for s, _ in spans)
    right = max(column(e) for _, e in spans)
    return out, (left, top, max(1, right - left), bottom - top + 1)
