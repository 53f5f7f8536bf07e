"""The record shape shared by line-tagged formats (RIS, MEDLINE, WoS plain text, EndNote tagged)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from metasift.errors import ImportFormatError
from metasift.records import Record

QUOTE_MAX = 60  # characters of a bad line quoted back in a message: never a whole header or huge line
_SKIPPED_MAX = 1000  # skipped entries listed one by one; beyond that only counted
SKIP_HINT = "(--skip-bad imports the other entries)"


class Parsed(NamedTuple):
    """What a format parser hands back to ``read_file``."""

    records: list[Record]
    layout: str | None
    warnings: list[str]
    skipped: list[str]


def quote(text: str) -> str:
    """``text`` as quoted in an error message: one line, at most ``QUOTE_MAX`` characters."""
    text = text.strip().replace("\t", " ")
    return f"'{text[:QUOTE_MAX]}...'" if len(text) > QUOTE_MAX else f"'{text}'"


class BadEntries:
    """Where a parser reports an entry it cannot read: an error (all-or-nothing) or, with ``skip_bad``,
    a line ``FILE:LINE: what`` in ``skipped`` so the good entries are still imported."""

    __slots__ = ("more", "path", "skip_bad", "skipped")

    def __init__(self, path: Path | str, skip_bad: bool) -> None:
        self.path, self.skip_bad = str(path), skip_bad
        self.skipped: list[str] = []
        self.more = 0

    def __call__(self, line: int | None, what: str) -> None:
        """Raise ``ImportFormatError`` naming the line, or (with ``skip_bad``) note the entry as skipped."""
        if not self.skip_bad:
            raise ImportFormatError(self.path, line, f"{what} {SKIP_HINT}")
        if len(self.skipped) < _SKIPPED_MAX:
            self.skipped.append(f"{self.path}:{line}: {what}" if line else f"{self.path}: {what}")
        else:
            self.more += 1

    def listed(self) -> list[str]:
        """The skipped entries, with a last line counting those beyond the listing cap."""
        extra = [f"{self.path}: ... and {self.more} more skipped entries"] if self.more else []
        return self.skipped + extra


class TaggedRecord:
    """Tag -> values of one record as written, with the 1-based line where it starts.

    A repeated tag adds a value; an untagged continuation line is appended to the last value with
    a newline, so wrapped text and one-item-per-line lists (EndNote keywords, WoS authors) both survive.
    """

    __slots__ = ("_last", "_parts", "_tags", "last_tag", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self._tags: dict[str, list[str]] = {}
        self._last: list[str] | None = None
        self._parts: list[str] = []  # continuation lines of the last value, joined on the next read
        self.last_tag: str | None = None  # the last tag read (truncation checks compare it across records)

    @property
    def tags(self) -> dict[str, list[str]]:
        """Tag -> values (continuation lines joined to their value with newlines)."""
        self._flush()
        return self._tags

    def _flush(self) -> None:
        if self._parts and self._last is not None:
            head = self._last[-1]
            self._last[-1] = "\n".join([head, *self._parts] if head else self._parts)
        self._parts = []

    def add(self, tag: str, value: str) -> None:
        self._flush()
        values = self._tags.get(tag)
        if values is None:
            values = self._tags[tag] = []
        values.append(value)
        self._last = values
        self.last_tag = tag

    def cont(self, text: str) -> None:
        if not text:
            return  # a blank line inside a record (wrapped N1/AB paragraphs) carries nothing
        if self._last is None:
            self.add("", text)
        else:
            self._parts.append(text)  # a list, not string concatenation: 100k wrapped lines stay linear

    def get(self, *tags: str) -> str | None:
        """The first non-empty value of the first tag (in order) that has one."""
        for tag in tags:
            for value in self.tags.get(tag, ()):
                if value.strip():
                    return value
        return None

    def all(self, *tags: str) -> list[str]:
        """Every non-empty value of the given tags, in tag order."""
        found = self.tags
        return [v for tag in tags if tag in found for v in found[tag] if v.strip()]

    def raw(self) -> dict[str, str | list[str]]:
        """JSON-ready copy: a single value as a string, a repeated tag as a list (blank values kept)."""
        return {tag: values[0] if len(values) == 1 else list(values) for tag, values in self.tags.items()}


def iter_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (a 100k-record file is not held twice as a list of lines)."""
    start, find = 0, text.find
    while True:
        end = find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def split_blocks(
    text: str,
    tag_of: Callable[[str], tuple[str, str] | None],
    continues: Callable[[str], bool],
    expected: str,
    bad: BadEntries,
) -> list[TaggedRecord]:
    """Blank-line separated records of tag lines (MEDLINE, EndNote tagged).

    ``tag_of(line)`` gives ``(tag, value)`` for a tag line; an untagged line continues the last field
    when ``continues(line)``, otherwise ``bad`` is told (an error naming the line, or with skip_bad the
    block up to the next blank line is left out).
    """
    records: list[TaggedRecord] = []
    cur: TaggedRecord | None = None
    skipping = False  # inside a bad block: ignored up to the next blank line
    for n, line in enumerate(iter_lines(text), 1):
        if not line.strip():
            cur, skipping = None, False
            continue
        if skipping:
            continue
        tagged = tag_of(line)
        if tagged:
            if cur is None:
                cur = TaggedRecord(n)
                records.append(cur)
            cur.add(*tagged)
        elif cur is not None and continues(line):
            cur.cont(line.strip())
        elif cur is None:
            bad(n, f"expected {expected}, found {quote(line)}")
            skipping = True
        else:
            bad(n, f"line is neither a tag nor an indented continuation: {quote(line)}")
            records.pop()  # the record this line is in is left out whole
            cur, skipping = None, True
    return records


def truncation_warning(records: list[TaggedRecord], text: str) -> str | None:
    """A warning when the last record looks cut off (formats with no end-of-record marker).

    The other records show what a whole one looks like: when they all end with the same tag (PubMed
    writes ``SO`` last) and the last record does not, the export was probably truncated (an interrupted
    download). Missing tags alone prove nothing (real PubMed records differ in DCOM, PL ...).
    """
    if len(records) < 2:
        return None
    *whole, last = records
    ends = {r.last_tag for r in whole}
    if len(ends) != 1 or last.last_tag in ends:
        return None
    end = "" if text.endswith("\n\n") else "; the file ends without a blank line"
    end = "; the file ends mid-line" if not text.endswith("\n") else end
    return f"last record (line {last.line}) may be cut off: it does not end with a {next(iter(ends))} line like the others{end}"


def lines_of(value: str | None) -> list[str]:
    """A value's physical lines, stripped, empties dropped (one author/keyword per line)."""
    return [part.strip() for part in (value or "").split("\n") if part.strip()]
