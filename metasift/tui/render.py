"""Rich text for the review screens: keyword and quote highlighting, byline, model draft, decisions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from metasift.kinds import Label

if TYPE_CHECKING:
    from metasift.screener.review_session import Match, RecordInfo
    from metasift.store.rows import DecisionRow, RecordRow

INCLUDE_STYLE = "bold green"
EXCLUDE_STYLE = "bold red"
QUOTE_STYLE = "underline black on yellow"
VERDICT_MARK = {"met": ("✓", "green"), "not_met": ("✗", "red"), "unclear": ("?", "yellow")}
LABEL_STYLE = {Label.INCLUDE: "green", Label.EXCLUDE: "red", Label.MAYBE: "yellow"}


def keyword_pattern(words: Sequence[str], *, whole_words: bool = False) -> re.Pattern[str] | None:
    """Case-insensitive match of each keyword at a word start: as a prefix, through the end of that word
    (the stem "depress" marks "depression"), or with ``whole_words`` only where the word ends there too
    ("rat" marks "rat" and "rats'", not "rate")."""
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        return None
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alts})\b" if whole_words else rf"\b(?:{alts})\w*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Keywords:
    """The words highlighted on the review screens (from review.toml, editable in the app) and how."""

    include: list[str]
    exclude: list[str]
    whole_words: bool = False

    def patterns(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        return (keyword_pattern(self.include, whole_words=self.whole_words),
                keyword_pattern(self.exclude, whole_words=self.whole_words))

    def as_text(self) -> str:
        """What the edit prompt shows: include words, then ``|``, then exclude words, comma-separated."""
        return f"{', '.join(self.include)} | {', '.join(self.exclude)}"

    def edited(self, typed: str) -> Keywords:
        """The keywords as typed in the edit prompt (``include, ... | exclude, ...``)."""
        inc, _, exc = typed.partition("|")

        def words(part: str) -> list[str]:
            return [w.strip() for w in part.split(",") if w.strip()]

        return Keywords(include=words(inc), exclude=words(exc), whole_words=self.whole_words)

    def toggled(self) -> Keywords:
        return Keywords(include=self.include, exclude=self.exclude, whole_words=not self.whole_words)


def match_list(text: str, matches: Sequence[Match], at: int, shown: int = 7) -> Text:
    """The search's matches around the one on screen (marked), title snippets with the words found."""
    out = Text(f"search {text!r}: match {at + 1} of {len(matches)}  ·  n next · N previous · Esc ends it",
               style="bold")
    start = max(0, min(at - shown // 2, len(matches) - shown))
    words = re.compile("|".join(re.escape(w) for w in text.split()), re.IGNORECASE) if text.split() else None
    for i in range(start, min(len(matches), start + shown)):
        m = matches[i]
        title = m.title or "(no title)"
        line = Text(f"\n{'▶' if i == at else ' '} {i + 1:>3}. #{m.record_id} ", style="bold" if i == at else "dim")
        snippet = Text(title if len(title) <= 100 else title[:99] + "…")
        if words is not None:
            snippet.highlight_regex(words, "reverse")
        line.append_text(snippet)
        out.append_text(line)
    return out


def info_line(info: RecordInfo) -> Text:
    """P(include) and its run, the route (when it may be seen), the rules' verdicts and the tags, one line."""
    out = Text()
    if info.score is not None:
        out.append("P(include) ", style="dim")
        out.append(f"{info.score:.2f}", style="bold")
        out.append(f" (run {info.run})", style="dim")
    else:
        out.append("P(include) —", style="dim")
    if info.route:
        out.append("  ·  route ", style="dim")
        out.append(info.route, style="bold")
        if info.route_reason:
            out.append(f": {info.route_reason}", style="dim")
    if info.rules:
        out.append("  ·  rules ", style="dim")
        for c in info.rules:
            mark, style = VERDICT_MARK.get(c.get("verdict"), ("·", ""))
            out.append(f"{mark}", style=style)
            out.append(f"{c.get('id')} ")
    if info.tags:
        out.append("  ·  tags ", style="dim")
        out.append(", ".join(info.tags), style="bold magenta")
    return out


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
