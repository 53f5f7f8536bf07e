"""RIS (``TY  - JOUR`` ... ``ER  -``) from databases, reference managers and screening tools.

A small tolerant parser rather than ``rispy``: rispy has no line numbers, silently drops a last
record not closed by ``ER`` and any text before the first ``TY``, reads ``PMID  - `` (APA PsycNET)
as a continuation line, and loses the tags Ovid writes after ``ER``. Here every line is accounted
for: exporter headers (Ovid result numbers, Cochrane ``Record #3 of 18``, APA ``Provider:``) are
skipped, Ovid's trailing ``NL`` tags and "Link to the Ovid Full Text" lines stay with their record,
and anything else outside a record is an ``ImportFormatError`` naming its line.
"""

from __future__ import annotations

import re
from pathlib import Path

from metasift.importers.normalize import (
    RIS_TYPES,
    asreview_label,
    build_record,
    first_url,
    norm_doi,
    norm_pages,
    rayyan_label,
    record_warnings,
    split_list,
)
from metasift.importers.tagged import BadEntries, Parsed, TaggedRecord, iter_lines, lines_of, quote
from metasift.records import Record

# "XX  - value": two-character tags per the RIS spec, plus 3-4 letter tags some exporters add (PMID).
_TAG = re.compile(r"([A-Z][A-Z0-9]|[A-Z]{3,4})  -(?: |$)")  # the value is the rest of the line
_HEADER = re.compile(r"^\s*(?:\d+\.?|Record #\s*\d+ of \d+|(?:Provider|Database|Content):.*)\s*$")
_OVID_LINK = "Link to the Ovid Full Text or citation:"
_DOI_TAGS = ("DO", "DI", "L3", "M3", "UR", "L2", "LK")  # DOI field first, then fields that may hold one
_URL_TAGS = {"UR", "L2", "LK"}


def split_ris(
    path: Path, text: str, bad: BadEntries | None = None
) -> tuple[list[TaggedRecord], list[str], list[str]]:
    """Records with their start lines, the exporter header lines seen between records, and warnings.

    A ``TY`` line inside an open record starts a new one (the open record is kept, with a warning):
    some exporters leave out ``ER`` before the next record. ``%`` comment lines are ignored outside a
    record, and inside one when a ``TY`` follows them (they cannot be told from wrapped text otherwise).
    """
    bad = bad or BadEntries(path, skip_bad=False)
    records: list[TaggedRecord] = []
    headers: list[str] = []
    unclosed: list[int] = []  # start lines of records a TY closed instead of ER
    comments: list[str] = []  # "%" lines inside a record, kept as text unless a TY follows
    cur: TaggedRecord | None = None
    closed: TaggedRecord | None = None  # the record whose ER we just passed (Ovid writes tags after it)
    closed_tags_ok = False
    for n, line in enumerate(iter_lines(text), 1):
        match = _TAG.match(line) if "  -" in line[:7] else None
        if match:
            tag, value = match.group(1), line[match.end() :].strip()
            if cur is not None and tag != "TY" and tag != "ER":  # the common case first
                _keep_comments(cur, comments)
                cur.add(tag, value)
            elif tag == "TY":
                if cur is not None:
                    records.append(cur)
                    unclosed.append(cur.line)
                comments.clear()
                cur = TaggedRecord(n)
                cur.add("TY", value)
                closed = None
            elif cur is not None:  # ER
                _keep_comments(cur, comments)
                records.append(cur)
                closed, closed_tags_ok, cur = cur, True, None
            elif tag == "ER":
                bad(n, "ER without a TY line opening the record")
            elif closed is not None and closed_tags_ok:
                closed.add(tag, value)  # Ovid: "NL  - ..." right after ER belongs to that record
            elif not records:
                bad(n, f"text before the first TY: {quote(line)}")
            else:
                bad(n, f"{tag} line outside a record (missing TY line?)")
            continue
        if cur is not None:
            if line.startswith("%"):
                comments.append(line.strip())
            else:
                _keep_comments(cur, comments)
                cur.cont(line.strip())
        elif not line.strip():
            closed_tags_ok = False
        elif _HEADER.match(line):
            headers.append(line.strip()[:200])
        elif closed is not None and line.startswith(_OVID_LINK):
            closed.add("_untagged", line.strip())
        elif line.startswith("%"):
            continue  # a comment line between records
        elif not records:
            bad(n, f"text before the first TY: {quote(line)}")
        else:
            bad(n, f"text outside a record: {quote(line)}")
    if cur is not None:
        bad(cur.line, "record is not closed by ER (end of file reached: the file may be cut off)")
    warnings = []
    if unclosed:
        where = ", ".join(map(str, unclosed[:5])) + (" ..." if len(unclosed) > 5 else "")
        warnings.append(
            f"{len(unclosed)} records not closed by ER before the next TY (read as ending there): lines {where}"
        )
    return records, headers, warnings


def _keep_comments(rec: TaggedRecord, comments: list[str]) -> None:
    """``%`` lines not followed by a TY were wrapped text after all: they continue the last value."""
    for line in comments:
        rec.cont(line)
    comments.clear()


def detect_layout(records: list[TaggedRecord], headers: list[str]) -> str:
    """Which exporter wrote the file, from the tags and values it leaves behind."""

    def any_value(tag: str, test) -> bool:
        return any(test(v) for r in records for v in r.tags.get(tag, ()))

    dbs = " ".join(v for r in records for v in r.tags.get("DB", ())).lower() + " " + " ".join(headers).lower()
    if any_value("N1", lambda v: "ASReview_" in v):
        return "asreview"
    if any_value("AN", lambda v: v.startswith("rayyan-")) or any_value("N1", lambda v: "RAYYAN-" in v):
        return "rayyan"
    if any_value("AN", lambda v: v.startswith("CN-")) or any(h.startswith("Record #") for h in headers):
        return "cochrane"
    if "scopus" in dbs or any_value("UR", lambda v: "scopus.com" in v):
        return "scopus"
    if any_value("AN", lambda v: v.startswith("WOS:")) or any("WE" in r.tags for r in records):
        return "wos"
    # Embase's own export (EndNote/Zotero keep "DB - Embase" too, so DB alone is not enough)
    if any_value("LK", lambda v: "sid=EMBASE" in v) or any_value(
        "U2", lambda v: re.fullmatch(r"L\d+", v.strip())
    ):
        return "embase"
    if "psycinfo" in dbs:
        return "psycinfo"
    if re.search(r"\beric\b", dbs):
        return "eric"
    if any("_untagged" in r.tags for r in records) or any_value("L2", lambda v: "ovid.com" in v):
        return "ovid"
    if "cinahl" in dbs:
        return "cinahl"
    if any_value("DP", lambda v: "EBSCO" in v):
        return "ebsco"
    if any_value("L1", lambda v: v.startswith("internal-pdf://")):
        return "endnote"
    return "generic"


_PMID_TAG = {"scopus": "C2", "embase": "C5"}  # where Scopus and Embase put the PubMed ID
_OVID_LAYOUTS = {"psycinfo", "eric", "ovid"}


def _doi(rec: TaggedRecord) -> str | None:
    """The DOI field, else the first other field or DOI link that holds a DOI."""
    for tag in _DOI_TAGS:
        for candidate in rec.tags.get(tag, ()):
            if tag in _URL_TAGS and "doi" not in candidate.lower():
                continue  # a link gives the DOI only when it says so (doi.org/, /doi/, doi=, id=doi:)
            doi = norm_doi(candidate)
            if doi:
                return doi
    return None


def to_record(rec: TaggedRecord, layout: str) -> Record:
    """Map RIS tags to ``Record`` fields (tag meanings differ a little per exporter)."""
    authors = [name for v in rec.all("AU", "A1") for name in lines_of(v)]
    notes = rec.all("N1")
    label = (
        asreview_label(notes) if layout == "asreview" else rayyan_label(notes) if layout == "rayyan" else None
    )
    ptype = rec.get("PT") or (None if layout in _OVID_LAYOUTS else rec.get("M3"))
    if ptype is None and (ty := rec.get("TY")):
        ptype = RIS_TYPES.get(ty.strip().upper(), ty)
    url = first_url(*rec.all("UR", "L2"))
    pmid = rec.get("PMID")
    if pmid is None and layout in _PMID_TAG:
        pmid = rec.get(_PMID_TAG[layout])
    elif pmid is None and layout == "cochrane":  # C3 - PUBMED 21314913 (other C3 lines: EMBASE ...)
        pmid = next((v for v in rec.all("C3") if "PUBMED" in v.upper()), None)
    return build_record(
        raw=rec.raw(),
        line=rec.line,
        title=rec.get("TI", "T1", "CT", "BT", "ST"),
        abstract=rec.get("AB", "N2"),
        authors=authors,
        year=rec.get("PY", "Y1", "DA"),
        journal=rec.get("JF", "T2", "JO", "JA", "J2"),
        volume=rec.get("VL"),
        issue=rec.get("IS"),
        pages=norm_pages(rec.get("SP"), rec.get("EP")),
        doi=_doi(rec),
        pmid=pmid,
        issn=rec.get("SN"),
        keywords=split_list(rec.all("KW")),
        publication_type=ptype,
        language=rec.get("LA"),
        url=url,
        label=label,
    )


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse a RIS export into records (raises ``ImportFormatError`` with the offending line)."""
    bad = BadEntries(path, skip_bad)
    tagged, headers, warnings = split_ris(path, text, bad)
    layout = detect_layout(tagged, headers)
    records = [to_record(r, layout) for r in tagged]
    return Parsed(records, layout, warnings + record_warnings(records), bad.listed())
