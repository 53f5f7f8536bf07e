"""CSV/TSV exports: recognise the exporter from the header and map its columns to ``Record`` fields.

Layouts: Scopus, Web of Science tab-delimited, Embase, PubMed, Zotero, Rayyan, Covidence, Cochrane,
CINAHL, ASReview, Springer Link and a generic fallback (any file with a title column). Column names are matched
case-insensitively; every layout falls back to the generic aliases for columns it does not name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from metasift.importers import wos
from metasift.importers.normalize import (
    build_record,
    first_url,
    norm_pages,
    parse_label,
    rayyan_label,
    record_warnings,
    split_authors,
    split_list,
    split_outside_parens,
)
from metasift.importers.table import TITLE_COLUMNS, Table, read_table
from metasift.importers.tagged import BadEntries, Parsed, TaggedRecord

_EXCEL_FORMULA = re.compile(r'^="(.*)"$', re.DOTALL)  # CINAHL writes ="19326203" so Excel keeps leading zeros
_SCOPUS_ID = re.compile(r"\s*\(\d+\)\s*$")
_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?) \((?P<year>\d{4})\)(?: (?P<volume>[^\s:(.]+)(?::(?P<issue>[^\s(.]+))?)?"
    r"(?: \((?P<pages>[^)]*)\))?"
)
_ARTICLE_NUMBER = re.compile(r"Article Number: (\S+?)\.?(?:\s|$)")
_PUBMED_CITATION = re.compile(r";\s*(?P<volume>[^(:;\s]+)?(?:\((?P<issue>[^)]*)\))?:(?P<pages>[^.;\s]+)")
_ZOTERO_PMID = re.compile(r"PMID:\s*(\d+)")
_GLUED_NAME = re.compile(r"(?<=[^\W\d_])(?=[A-Z\u00C0-\u00DE])")  # a letter, then a capital: a possible seam


class Row:
    """Case-insensitive access to one row's non-empty cells."""

    __slots__ = ("cells",)

    def __init__(self, cells: dict[str, str]) -> None:
        self.cells = {k.lower(): v for k, v in cells.items()}

    def get(self, *names: str) -> str | None:
        """The first non-empty cell among the named columns."""
        for name in names:
            value = self.cells.get(name)
            if value is not None and value.strip():
                return value
        return None

    def all(self, *names: str) -> list[str]:
        """Every non-empty cell among the named columns, in order."""
        return [v for n in names if (v := self.cells.get(n)) and v.strip()]


def generic(row: Row) -> dict:
    """Column aliases shared by every layout (ASReview, Covidence and unknown exports use only these)."""
    return {
        "title": row.get(*TITLE_COLUMNS),
        "abstract": row.get("abstract", "abstract note", "ab", "notes_abstract"),
        "authors": split_authors(
            row.get("authors", "author", "author names", "author(s)", "au", "first_authors")
        ),
        "year": row.get(
            "year",
            "publication year",
            "publication_year",
            "published year",
            "py",
            "pubyear",
            "date",
            "publication date",
        ),
        "journal": row.get(
            "journal",
            "source title",
            "publication title",
            "journal/book",
            "journal title",
            "secondary_title",
            "journal_name",
            "so",
            "t2",
            "source",
        ),
        "volume": row.get("volume", "vl", "journal volume"),
        "issue": row.get("issue", "number", "is", "journal issue"),
        "pages": row.get("pages", "page")
        or norm_pages(
            row.get("page start", "first page", "start_page", "sp"),
            row.get("page end", "last page", "end_page", "ep"),
        ),
        "doi": row.get("doi", "di", "do", "item doi"),
        "pmid": row.get("pmid", "pubmed id", "pubmed_id", "medline pmid", "pm"),
        "issn": row.get("issn", "sn"),
        "keywords": split_list(row.all("keywords", "author keywords", "kw"), ";"),
        "publication_type": row.get(
            "document type", "publication type", "item type", "type", "type_of_reference", "content type"
        ),
        "language": row.get("language"),
        "url": first_url(*row.all("url", "link")),
        "label": parse_label(row.get("label_included", "included", "label")),
    }


def scopus(row: Row) -> dict:
    """Scopus: full author names without their Scopus IDs, article number as pages, both keyword sets."""
    out = generic(row)
    full = row.get("author full names")
    if full:
        out["authors"] = split_authors(";".join(_SCOPUS_ID.sub("", a) for a in full.split(";")), ";")
    out["pages"] = out["pages"] or row.get("art. no.")
    out["keywords"] = split_list(row.all("author keywords", "index keywords"), ";")
    out["language"] = row.get("language of original document")
    return out


def wos_tab(row: Row) -> dict:
    """WoS savedrecs.txt: the two-letter tag columns mean what they mean in the plain-text export."""
    rec = TaggedRecord(0)
    for tag, value in row.cells.items():
        rec.add(tag.upper(), value)
    return wos.fields(rec)


def embase(row: Row) -> dict:
    """Embase: comma-joined authors, citation fields read from "Source" when no column has them."""
    out = generic(row)
    out["authors"] = split_authors(row.get("author names"), ",")
    source = row.get("source") or ""
    cited = _EMBASE_SOURCE.match(source)
    if cited:  # "Endoscopic Ultrasound (2014) 3:3 (152-160). Date of Publication: 2014"
        article = _ARTICLE_NUMBER.search(source)
        out["journal"] = row.get("source title") or cited["journal"]
        out["year"] = row.get("publication year") or cited["year"]
        out["volume"] = row.get("volume") or cited["volume"]
        out["issue"] = row.get("issue") or cited["issue"]
        out["pages"] = out["pages"] or cited["pages"] or (article.group(1) if article else None)
    elif not row.get("source title"):
        out["journal"] = None  # "Source" is a citation string we could not read, not a journal name
    terms = [
        t
        for col in ("author keywords", "keywords", "emtree drug index terms", "emtree medical index terms")
        for t in split_outside_parens(row.get(col))
    ]
    out["keywords"] = split_list(terms, "")
    out["pmid"] = row.get("medline pmid", "pmid")
    out["language"] = row.get("article language", "language")
    out["url"] = row.get("full text link", "embase link", "open url link")
    if not out["doi"]:  # the OpenURL link carries the record's DOI as id=doi:10...
        link = row.get("open url link") or ""
        out["doi"] = link.split("id=doi:", 1)[1].split("&", 1)[0] if "id=doi:" in link else None
    return out


def pubmed(row: Row) -> dict:
    """PubMed CSV: "Griffin DK, Larkin DM." authors; volume/issue/pages only inside "Citation"."""
    out = generic(row)
    out["authors"] = split_authors((row.get("authors") or "").rstrip("."), ",")
    cited = _PUBMED_CITATION.search(row.get("citation") or "")
    if cited:  # "Eur J Med Genet. 2020 Feb;63(2):103640. doi: ..."
        out.update(volume=cited["volume"], issue=cited["issue"], pages=cited["pages"])
    return out


def zotero(row: Row) -> dict:
    """Zotero CSV: "; "-joined authors and tags; the PMID, if any, sits in "Extra"."""
    out = generic(row)
    out["authors"] = split_authors(row.get("author"), ";")
    out["keywords"] = split_list(row.all("manual tags", "automatic tags"), ";")
    pmid = _ZOTERO_PMID.search(row.get("extra") or "")
    out["pmid"] = pmid.group(1) if pmid else None
    return out


def rayyan(row: Row) -> dict:
    """Rayyan CSV: " and "-joined authors; screening decisions in "notes" become the label."""
    out = generic(row)
    out["authors"] = split_authors(row.get("authors"), " and ")
    out["label"] = rayyan_label(row.all("notes"))
    return out


def semicolon_authors(column: str) -> Callable[[Row], dict]:
    """A generic mapper whose authors are one "; "-joined cell (Covidence, Cochrane, CINAHL)."""

    def mapper(row: Row) -> dict:
        out = generic(row)
        out["authors"] = split_authors(row.get(column), ";")
        return out

    return mapper


def cinahl(row: Row) -> dict:
    """CINAHL: pages from first page + page count, subjects and keywords, EBSCO permalink."""
    out = semicolon_authors("author")(row)
    first, count = row.get("first page"), row.get("page count")
    if first and first.isdigit() and count and count.isdigit() and int(count) > 1:
        out["pages"] = f"{first}-{int(first) + int(count) - 1}"
    out["keywords"] = split_list(row.all("subjects", "keywords"), ";")
    out["publication_type"] = row.get("doctype")
    out["url"] = row.get("plink")
    return out


def unglue_authors(cell: str | None) -> list[str]:
    """Springer Link writes its "Authors" cell with the names run together ("Jane SmithJohn R. Doe").

    A seam is a letter followed by a capital where the text on both sides is a whole name (has a space),
    so "McDonald" or "DiCaprio" inside one name is not cut.
    """
    if not cell:
        return []
    names: list[str] = []
    rest = cell.strip()
    while True:
        cut = next(
            (
                m.start()
                for m in _GLUED_NAME.finditer(rest)
                if " " in rest[: m.start()].strip() and " " in _next_name(rest[m.start() :])
            ),
            None,
        )
        if cut is None:
            names.append(rest)
            return [n for n in (name.strip() for name in names) if n]
        names.append(rest[:cut])
        rest = rest[cut:]


def _next_name(text: str) -> str:
    """The text up to the next seam (or the end): the name a seam would start."""
    seam = _GLUED_NAME.search(text, 1)
    return text[: seam.start()] if seam else text


def springer(row: Row) -> dict:
    """Springer Link search-results CSV: run-together author names, series title when no journal."""
    out = generic(row)
    out["authors"] = unglue_authors(row.get("authors"))
    out["journal"] = row.get("publication title", "book series title")
    return out


def _is_wos(h: set[str]) -> bool:
    return {"pt", "au", "ti", "ut"} <= h and sum(len(c) == 2 for c in h) > 0.8 * len(h)


# (layout, test on the lower-cased header names, row mapper): the first matching layout wins
LAYOUTS: list[tuple[str, Callable[[set[str]], bool], Callable[[Row], dict]]] = [
    ("wos", _is_wos, wos_tab),
    ("scopus", lambda h: {"eid", "source title"} <= h, scopus),
    (
        "embase",
        lambda h: "author names" in h and ("pui" in h or any(c.startswith("emtree") for c in h)),
        embase,
    ),
    ("pubmed", lambda h: {"pmid", "title", "authors", "citation", "journal/book"} <= h, pubmed),
    ("zotero", lambda h: {"key", "item type", "publication year", "author", "title"} <= h, zotero),
    ("rayyan", lambda h: {"key", "title", "authors"} <= h and bool({"pubmed_id", "pmc_id"} & h), rayyan),
    ("covidence", lambda h: "covidence #" in h, semicolon_authors("authors")),
    ("springer", lambda h: {"item title", "item doi", "content type"} <= h, springer),
    ("cochrane", lambda h: "central id" in h, semicolon_authors("author(s)")),
    ("cinahl", lambda h: "plink" in h or {"article title", "journal title", "accession number"} <= h, cinahl),
    (
        "asreview",
        lambda h: bool({"label_included", "asreview_ranking", "asreview_label", "record_id"} & h),
        generic,
    ),
    ("generic", lambda h: True, generic),
]


def detect_layout(header: list[str]) -> tuple[str, Callable[[Row], dict]]:
    """The exporter that wrote this header, and its row mapper."""
    names = {h.strip().lower() for h in header if h.strip()}
    for name, test, mapper in LAYOUTS:
        if test(names):
            return name, mapper
    raise AssertionError("the generic layout matches every header")


def _unique(header: list[str]) -> list[str]:
    """Column names made unique ("Notes", "Notes (2)") so no cell overwrites another in ``raw``."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        key = name or "column"
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key} ({seen[key]})")
    return out


def _scopus_realign(header: list[str], row: list[str]) -> list[str] | None:
    """Header for a Scopus row with extra "Funding Text N" cells (rows exported with more funding texts)."""
    extra = len(row) - len(header)
    lower = [h.lower() for h in header]
    if "funding text 1" not in lower or not row[-1].startswith("2-s2.0-") or lower[-1] != "eid":
        return None
    at = lower.index("funding text 1") + 1
    return header[:at] + [f"Funding Text {i + 2}" for i in range(extra)] + header[at:]


def _cells(
    table: Table, names: list[str], layout: str, line: int, row: list[str], short: list[int], bad: BadEntries
) -> dict[str, str] | None:
    """Column -> non-empty cell of one row; extra cells must be empty or a known exporter quirk
    (otherwise ``bad`` is told and, with skip_bad, ``None`` leaves the row out)."""
    header = table.header
    if len(row) > len(header):
        if not any(c.strip() for c in row[len(header) :]):
            row = row[: len(header)]  # WoS savedrecs: a trailing TAB on every row
        else:
            realigned = _scopus_realign(header, row) if layout == "scopus" else None
            if realigned is None:
                bad(
                    line,
                    f"row has {len(row)} fields but the header (line {table.header_line}) has {len(header)}",
                )
                return None
            names = _unique(realigned)
    elif len(row) < len(header):
        short.append(line)
    cells = {}
    for name, value in zip(names, row, strict=False):  # short rows: missing cells empty
        match = _EXCEL_FORMULA.match(value)
        value = match.group(1) if match else value
        if value.strip():
            cells[name] = value
    return cells


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse a delimited export (raises ``ImportFormatError`` naming the offending row's line)."""
    bad = BadEntries(path, skip_bad)
    table = read_table(path, text, bad)
    layout, mapper = detect_layout(table.header)
    warnings: list[str] = []
    known = layout == "embase" and table.preamble[:1] and table.preamble[0][:1] == ["SEARCH QUERY"]
    if table.preamble and not known:
        warnings.append(f"skipped {len(table.preamble)} rows before the header at line {table.header_line}")
    records, short = [], []
    names = _unique(table.header)
    for line, row in table.rows:
        cells = _cells(table, names, layout, line, row, short, bad)
        if cells is None:
            continue
        records.append(build_record(raw=cells, line=line, **mapper(Row(cells))))
    if short:
        where = ", ".join(map(str, short[:5])) + (" ..." if len(short) > 5 else "")
        warnings.append(
            f"{len(short)} rows have fewer fields than the header (missing ones left empty): lines {where}"
        )
    return Parsed(records, layout, warnings + record_warnings(records), bad.listed())
