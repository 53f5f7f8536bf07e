"""EndNote tagged import format (``.enw``: ``%0 Journal Article``, ``%A``, ``%T`` ...).

No library in the stack reads it; it is a line-tagged format, parsed here. Records are separated
by blank lines; tag order is not fixed (AIS eLibrary writes ``%T`` before ``%0``; some records have
no ``%0`` at all), and untagged lines continue the previous field.
"""

from __future__ import annotations

import re
from pathlib import Path

from metasift.importers.normalize import build_record, record_warnings, split_list
from metasift.importers.tagged import (
    BadEntries,
    Parsed,
    TaggedRecord,
    lines_of,
    split_blocks,
    truncation_warning,
)
from metasift.records import Record

_TAG = re.compile(r"(%\S)(?: |$)")  # the tag keeps its "%" ("%T"); the value is the rest of the line


def _tag_of(line: str) -> tuple[str, str] | None:
    match = _TAG.match(line)
    return (match.group(1), line[match.end() :].strip()) if match else None


def split_enw(path: Path, text: str, bad: BadEntries | None = None) -> list[TaggedRecord]:
    """Blank-line separated records; untagged lines continue the field above them."""
    expected = "an EndNote tag such as '%0' or '%T'"
    return split_blocks(text, _tag_of, lambda line: True, expected, bad or BadEntries(path, skip_bad=False))


def to_record(rec: TaggedRecord) -> Record:
    """Map EndNote tags to ``Record`` fields (``%J`` journal, else ``%B`` secondary title)."""
    authors = [name for v in rec.all("%A") for name in lines_of(v)]
    return build_record(
        raw=rec.raw(),
        line=rec.line,
        title=rec.get("%T"),
        abstract=rec.get("%X"),
        authors=authors,
        year=rec.get("%D", "%8"),
        journal=rec.get("%J", "%B"),
        volume=rec.get("%V"),
        issue=rec.get("%N"),
        pages=rec.get("%P"),
        doi=rec.get("%R"),
        issn=rec.get("%@"),
        keywords=split_list(rec.all("%K"), ";\n"),
        publication_type=rec.get("%0", "%9"),
        language=rec.get("%G"),
        url=rec.get("%U"),
    )


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse an EndNote tagged export (raises ``ImportFormatError`` with the offending line)."""
    bad = BadEntries(path, skip_bad)
    tagged = split_enw(path, text, bad)
    records = [to_record(r) for r in tagged]
    cut = truncation_warning(tagged, text)
    return Parsed(records, "generic", [*([cut] if cut else []), *record_warnings(records)], bad.listed())
