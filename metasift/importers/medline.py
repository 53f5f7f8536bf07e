"""PubMed MEDLINE format (``.nbib``, "Save > PubMed format"): ``PMID- ``, ``TI  - ``, 6-space continuations.

A small tolerant parser rather than the ``nbib`` package: nbib silently drops the last record when
the file does not end with a blank line (PubMed's own "PubMed format" download often does not, e.g.
``pubmed_medline_2.nbib``), drops every tag it has no parser for, and reports no line numbers.
The format is fixed-column (tag in columns 1-4, ``-`` in column 5), so the parser is a few lines.
ERIC's "PubMed format" export shifts the dash of a four-letter tag one column (``ISSN - ISSN-...``,
``OWN - ERIC``); that is read as a tag too.
"""

from __future__ import annotations

import re
from pathlib import Path

from metasift.importers.normalize import build_record, record_warnings, split_list
from metasift.importers.tagged import BadEntries, Parsed, TaggedRecord, split_blocks, truncation_warning
from metasift.records import Record

_TAG = re.compile(r"([A-Z][A-Z0-9]{0,3}) {0,3}-(?: |$)")  # the value is the rest of the line
_ERIC_TAG = re.compile(r"([A-Z][A-Z0-9]{3}) -(?: |$)")  # ERIC: "ISSN - ISSN-1234-4567"
_DOI_ID = re.compile(r"^(\S+)\s*\[doi\]", re.IGNORECASE)


def _tag_of(line: str) -> tuple[str, str] | None:
    """``(tag, value)`` when the dash sits in column 5 (NLM) or 6 after a four-letter tag (ERIC)."""
    if len(line) < 5:
        return None
    match = _TAG.match(line) if line[4] == "-" else _ERIC_TAG.match(line) if line[4] == " " else None
    return (match.group(1), line[match.end() :].strip()) if match else None


def split_medline(path: Path, text: str, bad: BadEntries | None = None) -> list[TaggedRecord]:
    """Blank-line separated records; a line that is neither a tag nor an indented continuation is bad."""
    return split_blocks(
        text,
        _tag_of,
        lambda line: line.startswith(" "),
        "a MEDLINE tag such as 'PMID- ' or 'TI  - '",
        bad or BadEntries(path, skip_bad=False),
    )


def _doi(rec: TaggedRecord) -> str | None:
    for value in rec.all("LID", "AID"):
        match = _DOI_ID.match(value)
        if match:
            return match.group(1)
    return None


def _issn(rec: TaggedRecord) -> str | None:
    """``IS`` (NLM), else ERIC's ``ISSN - ISSN-1234-4567`` without its "ISSN-" prefix."""
    value = rec.get("IS", "ISSN")
    return value[5:] if value and value[:5].upper() == "ISSN-" else value


def to_record(rec: TaggedRecord) -> Record:
    """Map MEDLINE tags to ``Record`` fields (FAU full names preferred over AU initials)."""
    authors = rec.all("FAU") or rec.all("AU")
    ptypes = rec.all("PT")
    return build_record(
        raw=rec.raw(),
        line=rec.line,
        title=rec.get("TI", "BTI"),
        abstract=rec.get("AB"),
        authors=authors,
        year=rec.get("DP", "DEP"),
        journal=rec.get("JT", "TA"),
        volume=rec.get("VI"),
        issue=rec.get("IP"),
        pages=rec.get("PG"),
        doi=_doi(rec),
        pmid=rec.get("PMID"),
        issn=_issn(rec),
        keywords=split_list(rec.all("OT") + rec.all("MH"), ""),
        publication_type="; ".join(ptypes) or None,
        language=rec.get("LA"),
    )


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse a PubMed MEDLINE export (raises ``ImportFormatError`` with the offending line)."""
    bad = BadEntries(path, skip_bad)
    tagged = split_medline(path, text, bad)
    records = [to_record(r) for r in tagged]
    cut = truncation_warning(tagged, text)
    layout = "eric" if any((r.get("OWN") or "").strip() == "ERIC" for r in tagged) else "pubmed"
    return Parsed(records, layout, [*([cut] if cut else []), *record_warnings(records)], bad.listed())
