"""Delimited text (CSV, TSV, WoS ``savedrecs.txt``) -> header + rows with their 1-based start lines.

Uses the standard ``csv`` module rather than pandas: pandas cannot tell which line a row with an
embedded newline starts on, and it either rejects or silently re-aligns ragged rows, while
``csv.reader.line_num`` gives exact lines and ``strict=True`` turns broken quoting into an error
naming the row. The header is found by looking for a title column in the first rows, which skips
preambles such as Embase's ``"SEARCH QUERY","dinosaur:ti"`` block.
"""

from __future__ import annotations

import csv
import io
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from metasift.errors import ImportFormatError
from metasift.importers.tagged import QUOTE_MAX, BadEntries

csv.field_size_limit(16 * 1024 * 1024)  # Scopus "References" cells are long; a runaway quote still stops

TITLE_COLUMNS = ("title", "primary_title", "article title", "document title", "item title", "ti", "t1")
_DELIMITERS = (",", "\t", ";")
_HEAD_ROWS = 30


class Table(NamedTuple):
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]  # (1-based start line, cells) for every non-empty data row
    delimiter: str
    preamble: list[list[str]]  # rows before the header


def _rows(path: Path, text: str, delimiter: str, limit: int | None = None, bad: BadEntries | None = None):
    """Yield ``(start_line, cells)``; a quoting error becomes ``ImportFormatError`` at the row's line,
    or with ``bad`` (skip_bad) is reported there and reading goes on after the broken row."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    count = 0
    while limit is None or count < limit:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            what = f"CSV row cannot be parsed: {str(exc)[:QUOTE_MAX]} (an unclosed quote?)"
            if bad is None:
                raise ImportFormatError(str(path), start, what) from exc
            bad(start, what)
            if reader.line_num < start:  # nothing consumed: stop rather than loop
                return
            continue
        count += 1
        yield start, row


def _is_header(row: list[str]) -> bool:
    return any(cell.strip().lower() in TITLE_COLUMNS for cell in row)


def find_header(path: Path, text: str) -> tuple[str, int]:
    """The delimiter and the index (among the first rows) of the header row with a title column."""
    found: list[tuple[int, int, str]] = []
    widest: tuple[int, list[str]] = (0, [])
    for delimiter in _DELIMITERS:
        head = []
        try:  # a broken row further down is reported by read_table, with its line
            for item in islice(_rows(path, text, delimiter), _HEAD_ROWS):
                head.append(item)
        except ImportFormatError:
            pass
        for index, (_, row) in enumerate(head):
            if len(row) > widest[0]:
                widest = (len(row), row)
            if _is_header(row):
                found.append((index, -len(row), delimiter))
                break
    if not found:
        columns = ", ".join(c.strip()[:30] for c in widest[1][:12] if c.strip()) or "none"
        columns = columns if len(columns) <= 2 * QUOTE_MAX else columns[: 2 * QUOTE_MAX] + " ..."
        raise ImportFormatError(
            str(path), 1, f"no recognisable title column in the header (columns: {columns})"
        )
    index, _, delimiter = min(found)
    return delimiter, index


def read_table(path: Path, text: str, bad: BadEntries | None = None) -> Table:
    """Header, data rows (blank rows dropped) and any preamble rows of a delimited export."""
    delimiter, index = find_header(path, text)
    preamble: list[list[str]] = []
    header: list[str] = []
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for i, (line, row) in enumerate(_rows(path, text, delimiter, bad=bad)):
        if i < index:
            preamble.append(row)
        elif i == index:
            header, header_line = [c.strip() for c in row], line
        elif any(cell.strip() for cell in row):
            rows.append((line, row))
    while header and not header[-1]:  # trailing delimiter on the header line
        header.pop()
    return Table(header, header_line, rows, delimiter, preamble)
