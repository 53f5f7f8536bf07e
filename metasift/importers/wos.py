"""Web of Science: the plain-text export (``FN``/``VR``, ``PT J`` ... ``ER``, ``EF``) and the tag mapping
shared with the tab-delimited ``savedrecs.txt`` (read by the CSV reader).

A small parser rather than ``rispy.WokParser``: that one has no line numbers, silently drops a
record not closed by ``ER`` and ignores text outside records. Continuation lines are indented
three spaces; for ``AU``/``AF`` each line is one author, for ``TI``/``AB``/``DE`` they wrap text.
"""

from __future__ import annotations

import re
from pathlib import Path

from metasift.importers.normalize import build_record, norm_pages, record_warnings, split_list
from metasift.importers.tagged import BadEntries, Parsed, TaggedRecord, iter_lines, quote
from metasift.records import Record

_TAG = re.compile(r"([A-Z][A-Z0-9])(?: |$)")  # the value is the rest of the line
_FILE_TAGS = {"FN", "VR", "EF"}


def split_wos(path: Path, text: str, bad: BadEntries | None = None) -> list[TaggedRecord]:
    """Records with their start lines; anything outside ``PT``...``ER`` but file headers is bad."""
    bad = bad or BadEntries(path, skip_bad=False)
    records: list[TaggedRecord] = []
    cur: TaggedRecord | None = None
    for n, line in enumerate(iter_lines(text), 1):
        if not line.strip():
            continue
        if line.startswith(" "):
            if cur is None:
                bad(n, f"continuation line outside a record: {quote(line)}")
            else:
                cur.cont(line.strip())
            continue
        match = _TAG.match(line.rstrip())
        if not match:
            bad(n, f"expected a two-letter Web of Science tag, found {quote(line)}")
            continue
        tag, value = match.group(1), line[match.end() :].strip()
        if tag == "PT":
            if cur is not None:
                bad(cur.line, f"record is not closed by ER before the next PT at line {n}")
            cur = TaggedRecord(n)
            cur.add(tag, value)
        elif tag == "ER":
            if cur is None:
                bad(n, "ER without a PT line opening the record")
            else:
                records.append(cur)
                cur = None
        elif cur is not None:
            if tag in ("FN", "EF"):
                bad(cur.line, f"record is not closed by ER before {tag} at line {n}")
                cur = None
            else:
                cur.add(tag, value)
        elif tag not in _FILE_TAGS:
            bad(
                n,
                "text before the first PT"
                if not records
                else f"{tag} line outside a record (missing PT line?)",
            )
    if cur is not None:
        bad(cur.line, "record is not closed by ER (end of file reached: the file may be cut off)")
    return records


def _joined(rec: TaggedRecord, tag: str) -> str | None:
    value = rec.get(tag)
    return value.replace("\n", " ") if value else None


def fields(rec: TaggedRecord) -> dict:
    """``build_record`` arguments from WoS field tags (TI, AF/AU, SO, PY, DI, PM, BP/EP/AR...).

    Shared by the plain-text and the tab-delimited export: authors are one per line in the first,
    ``; ``-separated in the second, so both separators split.
    """
    start = rec.get("BP")
    return {
        "title": rec.get("TI"),
        "abstract": rec.get("AB"),
        "authors": split_list(rec.get("AF") or rec.get("AU"), ";\n"),
        "year": rec.get("PY", "PD", "EA"),
        "journal": rec.get("SO"),
        "volume": rec.get("VL"),
        "issue": rec.get("IS"),
        "pages": norm_pages(start, rec.get("EP")) if start else rec.get("AR"),
        "doi": rec.get("DI"),
        "pmid": rec.get("PM"),
        "issn": rec.get("SN", "EI"),
        "keywords": split_list([_joined(rec, "DE"), _joined(rec, "ID")], ";"),
        "publication_type": rec.get("DT"),
        "language": rec.get("LA"),
    }


def to_record(rec: TaggedRecord) -> Record:
    """Map one plain-text WoS record to a ``Record``."""
    return build_record(raw=rec.raw(), line=rec.line, **fields(rec))


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse a WoS plain-text export (raises ``ImportFormatError`` with the offending line)."""
    bad = BadEntries(path, skip_bad)
    records = [to_record(r) for r in split_wos(path, text, bad)]
    return Parsed(records, "wos", record_warnings(records), bad.listed())
