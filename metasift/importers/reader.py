"""``read_file``: decode an export, recognise its format, parse it into normalised records."""

from __future__ import annotations

import csv
import re
from itertools import islice
from pathlib import Path

from pydantic import BaseModel

from metasift.errors import ImportFormatError
from metasift.importers import bibtex, csvfile, enw, medline, ris, wos
from metasift.importers.decode import decode
from metasift.importers.table import TITLE_COLUMNS
from metasift.importers.tagged import quote
from metasift.records import Record

FORMATS = ("ris", "nbib", "csv", "bibtex", "wos", "enw")
_ALIASES = {
    "medline": "nbib",
    "pubmed": "nbib",
    "tsv": "csv",
    "bib": "bibtex",
    "endnote": "enw",
    "wos-plaintext": "wos",
}
_PARSERS = {
    "ris": ris.parse,
    "nbib": medline.parse,
    "csv": csvfile.parse,
    "bibtex": bibtex.parse,
    "wos": wos.parse,
    "enw": enw.parse,
}

_RIS_TY = re.compile(r"^TY  -", re.MULTILINE)
_MEDLINE_TAG = re.compile(r"^[A-Z][A-Z0-9 ]{3}- ")
_WOS_TAG = re.compile(r"^(?:FN |VR |PT [A-Z]\b)")
_ENW_TAG = re.compile(r"^%\S ")
_BIBTEX_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_TABLE_EXTENSIONS = {".csv", ".tsv", ".tab"}
_TABLE_ROWS = 50  # rows checked for a consistent field count


class ImportResult(BaseModel):
    """One parsed export file: its records plus what was recognised and anything the user should check."""

    path: str
    format: str  # "ris" | "nbib" | "csv" | "bibtex" | "wos" (WoS plain text) | "enw" (EndNote tagged)
    layout: str | None  # the exporter recognised: "scopus", "wos", "zotero", "rayyan", ..., "generic"
    encoding: (
        str  # "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", a detected CJK codec or the one named
    )
    records: list[Record]
    warnings: list[str]
    skipped: list[str] = []  # with skip_bad: the entries left out, each as "FILE:LINE: what is wrong"


def detect_format(path: Path, text: str) -> str:
    """The export format from the content, not the extension alone (exporters get it wrong); raises if unknown.

    A table (a header with a title column, then rows with as many fields) is recognised before BibTeX,
    and first of all when the file is named .csv/.tsv: an ``@`` opening a cell ("@home(2021) study")
    or a stray ``@comment{`` line must not turn a table into one broken BibTeX entry.
    """
    head = text[:200_000]
    lines = [line for line in head.split("\n", 400)[:400] if line.strip()]
    if not lines:
        raise ImportFormatError(str(path), None, "empty file (no records)")
    first = lines[0]
    table = _is_table(lines)
    if table and path.suffix.lower() in _TABLE_EXTENSIONS:
        return "csv"
    if _RIS_TY.search("\n".join(lines[:60])):
        return "ris"
    if _MEDLINE_TAG.match(first):
        return "nbib"
    if _WOS_TAG.match(first):
        return "wos"
    if _ENW_TAG.match(first):
        return "enw"
    if table:
        return "csv"
    if _BIBTEX_ENTRY.search("\n".join(lines)):
        return "bibtex"
    if any(sep in first for sep in (",", "\t", ";")) or first.strip().strip('"').lower() in TITLE_COLUMNS:
        return "csv"
    raise ImportFormatError(
        str(path),
        1,
        "unrecognised format: expected RIS, PubMed MEDLINE, CSV/TSV, BibTeX, "
        f"Web of Science or EndNote tagged text, found {quote(first)}",
    )


def _is_table(lines: list[str]) -> bool:
    """Whether the first line is a delimited header with a title column and at least half the rows after it
    have as many fields (a stray line or two does not count against it ; a trailing empty field is allowed: WoS
    savedrecs ends each row with a TAB)."""
    for delimiter in (",", "\t", ";"):
        try:
            rows = list(islice(csv.reader(lines[: _TABLE_ROWS + 1], delimiter=delimiter), _TABLE_ROWS + 1))
        except csv.Error:
            continue
        header = [cell.strip().lower() for cell in rows[0]] if rows else []
        while header and not header[-1]:
            header.pop()
        if len(header) < 2 or not any(cell in TITLE_COLUMNS for cell in header):
            continue
        body = rows[1:]
        fits = sum(len(header) <= len(row) <= len(header) + 1 for row in body)
        if not body or fits >= 0.5 * len(body):
            return True
    return False


def _format_name(path: Path, fmt: str) -> str:
    name = fmt.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in _PARSERS:
        raise ImportFormatError(
            str(path), None, f"unknown format {quote(fmt)}: use one of {', '.join(FORMATS)}"
        )
    return name


def read_file(
    path: str | Path, fmt: str | None = None, *, encoding: str | None = None, skip_bad: bool = False
) -> ImportResult:
    """Parse an export file completely; ``fmt`` overrides detection, ``encoding`` the detected encoding.
    Raises ``ImportFormatError`` on the first bad entry, or with ``skip_bad`` keeps the good entries and
    lists the bad ones in ``ImportResult.skipped`` (each as ``FILE:LINE: what``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from exc
    text, encoding, warnings = decode(path, data, encoding)
    del data  # a large export is not held as bytes and text at once
    name = _format_name(path, fmt) if fmt else detect_format(path, text)
    parsed = _PARSERS[name](path, text, skip_bad)
    if not parsed.records:
        skipped = f": {len(parsed.skipped)} bad entries skipped" if parsed.skipped else ""
        raise ImportFormatError(str(path), None, f"no records found (read as {name}){skipped}")
    return ImportResult(
        path=str(path),
        format=name,
        layout=parsed.layout,
        encoding=encoding,
        records=parsed.records,
        warnings=warnings + parsed.warnings,
        skipped=parsed.skipped,
    )
