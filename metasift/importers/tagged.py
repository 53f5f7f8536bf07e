"""The record shape shared by line-tagged formats (RIS, MEDLINE, WoS plain text, EndNote tagged)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from metasift.errors import ImportFormatError
from metasift.records import Record


class Parsed(NamedTuple):
    """What a format parser hands back to ``read_file``."""

    records: list[Record]
    layout: str | None
    warnings: list[str]


class TaggedRecord:
    """Tag -> values of one record as written, with the 1-based line where it starts.

    A repeated tag adds a value; an untagged continuation line is appended to the last value with
    a newline, so wrapped text and one-item-per-line lists (EndNote keywords, WoS authors) both survive.
    """

    __slots__ = ("_last", "line", "tags")

    def __init__(self, line: int) -> None:
        self.line = line
        self.tags: dict[str, list[str]] = {}
        self._last: list[str] | None = None

    def add(self, tag: str, value: str) -> None:
        values = self.tags.get(tag)
        if values is None:
            values = self.tags[tag] = []
        values.append(value)
        self._last = values

    def cont(self, text: str) -> None:
        if not text:
            return  # a blank line inside a record (wrapped N1/AB paragraphs) carries nothing
        if self._last is None:
            self.add("", text)
        else:
            self._last[-1] = f"{self._last[-1]}\n{text}" if self._last[-1] else text

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
    path: Path,
    text: str,
    tag_of: Callable[[str], tuple[str, str] | None],
    continues: Callable[[str], bool],
    expected: str,
) -> list[TaggedRecord]:
    """Blank-line separated records of tag lines (MEDLINE, EndNote tagged).

    ``tag_of(line)`` gives ``(tag, value)`` for a tag line; an untagged line continues the last field
    when ``continues(line)``, otherwise it is an ``ImportFormatError`` naming the line.
    """
    records: list[TaggedRecord] = []
    cur: TaggedRecord | None = None
    for n, line in enumerate(iter_lines(text), 1):
        if not line.strip():
            cur = None
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
            raise ImportFormatError(str(path), n, f"expected {expected}, found '{line[:60]}'")
        else:
            raise ImportFormatError(
                str(path), n, f"line is neither a tag nor an indented continuation: '{line[:60]}'"
            )
    return records


def lines_of(value: str | None) -> list[str]:
    """A value's physical lines, stripped, empties dropped (one author/keyword per line)."""
    return [part.strip() for part in (value or "").split("\n") if part.strip()]
