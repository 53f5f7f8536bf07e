"""Pure functions that turn exporter-specific values into the normalised ``Record`` conventions.

No I/O here: every importer collects raw values and hands them to ``build_record``, so a DOI,
year or author list is normalised the same way whatever the file format.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from metasift.records import Record

# Inline markup some exporters leave in titles/abstracts (Crossref JATS, Scopus <sup>, Zotero notes).
_TAGS = re.compile(
    r"</?(?:i|b|u|em|strong|sup|sub|scp|sc|span|p|div|br|jats:[a-z]+|mml:[a-z]+)\b[^>]*>", re.IGNORECASE
)
_ASCII_WS = " \t\n\r\x0b\x0c"
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_ISSN = re.compile(r"(?<![\dXx-])(\d{4})-?(\d{3}[\dXx])(?![\dXx])")
_PMID = re.compile(r"(?<!\d)(\d{1,9})(?!\d)")
_DASHES = re.compile(r"\s*(?:--|[\u2010-\u2015\u2212-])\s*")
_PAGE_RANGE = re.compile(r"^(\d+)-(\d+)$")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.?-?){1,4}$")
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "dos", "das", "del", "della"}
_PARTICLES |= {"le", "la", "ter", "ten", "bin", "ibn", "al", "el", "st", "st."}
_ORG_WORDS = re.compile(
    r"\b(group|consortium|collaborat\w*|committee|investigators|study|organi[sz]ation|"
    r"society|association|network|institute|council|trial|team)\b",
    re.IGNORECASE,
)
_LATIN_NAME = re.compile(r"^[A-Za-z\u00C0-\u024F\u1E00-\u1EFF .'\u2019-]+$")
_NO_PAGES = re.compile(r"^\W*no[\W_]*(?:pagination[\W_]*)?specified\W*$", re.IGNORECASE)
_URL = re.compile(r"(?:https?|ftp)://\S+")
_RAYYAN_DECISION = re.compile(r'=>\s*"([^"]*)"')

# RIS reference types (RIS spec, Research Information Systems 2011) -> readable publication types.
RIS_TYPES = {
    "JOUR": "Journal Article",
    "JFULL": "Journal",
    "EJOUR": "Electronic Article",
    "ABST": "Abstract",
    "BOOK": "Book",
    "EBOOK": "Electronic Book",
    "CHAP": "Book Section",
    "ECHAP": "Electronic Book Section",
    "CONF": "Conference Proceedings",
    "CPAPER": "Conference Paper",
    "THES": "Thesis",
    "RPRT": "Report",
    "GEN": "Generic",
    "ELEC": "Web Page",
    "NEWS": "Newspaper Article",
    "MGZN": "Magazine Article",
    "PAT": "Patent",
    "DATA": "Dataset",
    "SER": "Serial",
    "STAND": "Standard",
    "UNPB": "Unpublished Work",
    "INPR": "In Press",
    "CTLG": "Catalog",
    "DBASE": "Online Database",
    "GOVDOC": "Government Document",
}


def clean_text(value: str | None) -> str | None:
    """Unescape HTML entities, drop inline markup tags and collapse whitespace; empty -> None."""
    if value is None:
        return None
    text = str(value)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAGS.sub("", text)
    return clean(text)


def clean(value: str | None) -> str | None:
    """Strip and collapse whitespace of a short field (journal, volume...); empty -> None."""
    if value is None:
        return None
    text = str(value)
    if not text:
        return None
    if text.isascii() and not (  # fast path (a regex here costs more than the whole parse of a line)
        text[0] in _ASCII_WS
        or text[-1] in _ASCII_WS
        or "  " in text
        or "\n" in text
        or "\t" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
    ):
        return text
    collapsed = " ".join(text.split())
    # nothing collapsed: hand back the very same string, so ``raw`` and the field share memory
    return (text if collapsed == text else collapsed) or None


def norm_doi(value: str | None) -> str | None:
    """Bare, lower-case DOI from a DOI field, a doi.org URL, ``doi:`` prefix or ``... [doi]`` suffix."""
    if not value:
        return None
    text = str(value)
    if "%" in text:
        text = unquote(text)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\\_", "_")
    match = _DOI.search(text)
    if not match:
        return None
    doi = match.group(0)
    if "://" in text:  # inside a URL the DOI ends where the query/fragment part does
        doi = re.split(r"[&?#]", doi, maxsplit=1)[0]
    # trailing punctuation is never part of a DOI; a closing bracket only when it is unbalanced
    while doi and doi[-1] in ".,;:'\"":
        doi = doi[:-1]
    for close, open_ in ((")", "("), ("]", "["), ("}", "{"), (">", "<")):
        while doi.endswith(close) and doi.count(close) > doi.count(open_):
            doi = doi[:-1]
    return doi.lower() or None


def norm_year(value: str | int | None) -> int | None:
    """The first plausible 4-digit year in ``2021//``, ``2021/05/03``, ``2019 Mar``, ``="4/3/2024"``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2099 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def norm_pmid(value: str | None) -> str | None:
    """PubMed ID digits from ``12345``, ``PUBMED 12345``, ``PMID: 12345`` or ``12345 [pubmed]``."""
    if not value:
        return None
    match = _PMID.search(str(value))
    if not match:
        return None
    return match.group(1).lstrip("0") or None


def norm_issn(value: str | None) -> str | None:
    """The first ISSN as ``1234-5678`` from ``12345678 (ISSN)``, ``2041-1723 (electronic)``..."""
    if not value:
        return None
    match = _ISSN.search(str(value))
    return f"{match.group(1)}-{match.group(2).upper()}" if match else None


def norm_pages(start: str | None, end: str | None = None) -> str | None:
    """Page range as ``123-130``: unicode dashes and ``--`` unified, MEDLINE's ``1234-9`` expanded."""
    first = clean(start)
    last = clean(end)
    if first and _NO_PAGES.match(first):  # Ovid: "SP  - No-Specified"
        first = None
    if first:
        first = _DASHES.sub("-", first).strip("-") or None
    if last:
        last = _DASHES.sub("-", last).strip("-") or None
    if first and last and "-" not in first and first != last:
        pages = f"{first}-{last}"
    else:
        pages = first or last
    if not pages:
        return None
    match = _PAGE_RANGE.match(pages)
    if match:
        lo, hi = match.groups()
        if len(hi) < len(lo) and int(hi) < int(lo):  # abbreviated end page, e.g. 1204-22 -> 1204-1222
            hi = lo[: len(lo) - len(hi)] + hi
        pages = f"{lo}-{hi}"
    return pages


def _is_initials(token: str) -> bool:
    letters = token.replace(".", "").replace("-", "")
    return bool(_INITIALS.match(token)) and letters.isupper()


def norm_author(name: str) -> str | None:
    """One author as "Family, Given": keeps "Family, Given", turns "Family JC" and "Given Family" round."""
    text = clean(name)
    if not text:
        return None
    text = text.strip(" ;")
    if text.startswith("{") and text.endswith("}"):  # BibTeX corporate author, written as is
        return text[1:-1].strip() or None
    if "," in text:
        family, _, given = text.partition(",")
        family, given = family.strip(), given.strip()
        return f"{family}, {given}" if given else family or None
    tokens = text.split(" ")
    if len(tokens) == 1:
        return text
    if _is_initials(tokens[-1]):  # PubMed/Scopus/Embase style "Dos Santos HB" / "Perry Z.R."
        return f"{' '.join(tokens[:-1])}, {tokens[-1]}"
    if len(tokens) >= 5 or _ORG_WORDS.search(text) or not _LATIN_NAME.match(text):
        return text  # a group author, or a name in a script where we cannot tell family from given
    start = len(tokens) - 1  # "Given [particles] Family"
    while start > 1 and tokens[start - 1].lower() in _PARTICLES:
        start -= 1
    return f"{' '.join(tokens[start:])}, {' '.join(tokens[:start])}"


def split_authors(cell: str | None, sep: str | None = None) -> list[str]:
    """Split one cell holding several authors; ``sep`` forces a separator, else it is guessed.

    Guesses: ``;`` (Scopus, Zotero, Covidence...), `` and `` (Rayyan, BibTeX), otherwise a comma list
    of "Family Initials" names (PubMed, Embase, old Scopus) unless the cell is one "Family, Given".
    """
    text = clean(cell)
    if not text or text.startswith("[No author"):
        return []
    if sep is None:
        if ";" in text:
            sep = ";"
        elif " and " in text:
            sep = " and "
        elif "," in text:
            parts = [p.strip() for p in text.split(",") if p.strip()]
            if len(parts) > 1 and all(" " in p for p in parts):
                return [a for p in parts if (a := norm_author(p))]
            return [a] if (a := norm_author(text)) else []
        else:
            return [a] if (a := norm_author(text)) else []
    return [a for p in text.split(sep) if (a := norm_author(p))]


def split_list(values: str | Iterable[str | None] | None, seps: str = ";\n") -> list[str]:
    """Split keyword-like cells on any character of ``seps``, strip, drop empties and repeats."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    pattern = "[" + re.escape(seps) + "]" if seps else None
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not value:
            continue
        for part in re.split(pattern, value) if pattern else [value]:
            item = clean(part)
            if item and item.lower() not in seen:
                seen.add(item.lower())
                out.append(item)
    return out


def split_outside_parens(text: str | None, sep: str = ",") -> list[str]:
    """Split on ``sep`` except inside parentheses: Embase's ``cyst (diagnosis, surgery), fossil``."""
    if not text:
        return []
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label(value: str | None) -> int | None:
    """A screening label cell (``1``/``0``, ``yes``/``no``, ``included``...) as 1/0; blank or -1 -> None."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in {"1", "1.0", "yes", "y", "true", "included", "include", "relevant"}:
        return 1
    if text in {"0", "0.0", "no", "n", "false", "excluded", "exclude", "irrelevant"}:
        return 0
    return None


def asreview_label(notes: Sequence[str]) -> int | None:
    """ASReview's RIS convention: ``N1 - ASReview_relevant`` -> 1, ``ASReview_irrelevant`` -> 0."""
    found = set()
    for note in notes:
        if "ASReview_irrelevant" in note:
            found.add(0)
        if "ASReview_relevant" in note:
            found.add(1)
    return found.pop() if len(found) == 1 else None


def rayyan_label(notes: Sequence[str]) -> int | None:
    """Rayyan's ``RAYYAN-INCLUSION: {"Ann"=>"Included"}``: 1/0 when all reviewers agree, else None."""
    decisions = set()
    for note in notes:
        if "RAYYAN-INCLUSION" in note:
            decisions.update(d.strip().lower() for d in _RAYYAN_DECISION.findall(note))
    if decisions == {"included"}:
        return 1
    if decisions == {"excluded"}:
        return 0
    return None


def first_url(*values: str | None) -> str | None:
    """The first http(s)/ftp URL in the values (exporters leak other text into URL fields)."""
    for value in values:
        match = _URL.search(value or "")
        if match:
            return match.group(0)
    return None


def first(*values: str | None) -> str | None:
    """The first value that is not empty after stripping."""
    for value in values:
        if value is not None and str(value).strip():
            return str(value)
    return None


def build_record(
    *,
    raw: dict,
    line: int,
    title: str | None = None,
    abstract: str | None = None,
    authors: Iterable[str] = (),
    year: str | int | None = None,
    journal: str | None = None,
    volume: str | None = None,
    issue: str | None = None,
    pages: str | None = None,
    doi: str | None = None,
    pmid: str | None = None,
    issn: str | None = None,
    keywords: Iterable[str] = (),
    publication_type: str | None = None,
    language: str | None = None,
    url: str | None = None,
    label: int | None = None,
) -> Record:
    """Normalise every field the same way whatever the format; ``authors`` must be split already."""
    names = [a for a in (norm_author(n) for n in authors) if a]
    return Record(
        title=clean_text(title),
        abstract=clean_text(abstract),
        authors=names,
        year=norm_year(year),
        journal=clean_text(journal),
        volume=clean(volume),
        issue=clean(issue),
        pages=norm_pages(pages),
        doi=norm_doi(doi),
        pmid=norm_pmid(pmid),
        issn=norm_issn(issn),
        keywords=split_list(keywords, ""),
        publication_type=clean(publication_type),
        language=clean(language),
        url=clean(url),
        label=label,
        raw=raw,
        line=line,
    )


def record_warnings(records: Sequence[Record], limit: int = 10) -> list[str]:
    """One warning per record without a title (the first ``limit``, then a count of the rest)."""
    missing = [r.line for r in records if not r.title]
    out = [f"record at line {n} has no title" for n in missing[:limit]]
    if len(missing) > limit:
        out.append(f"... and {len(missing) - limit} more records without a title")
    return out
