"""Cells for CSV files a spreadsheet will open: text that would be read as a formula is neutralised.

Titles, authors and study labels come from imported files anyone can write. Excel and LibreOffice run a
cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some versions, tab or carriage return) as a
formula: ``=HYPERLINK(...)`` leaks data, ``=cmd|' /C calc'!A0`` runs a program. Following the OWASP
"CSV Injection" guidance, such a text cell is written with a leading single quote, which the
spreadsheet shows as text; the ``csv`` module then quotes the cell and doubles embedded ``"`` as
RFC 4180 requires.

Only text is touched. Numbers (``int``, ``float``, numpy scalars) are written as they are, and so is
text that is a plain decimal number such as ``-0.37`` or ``+1e-3`` — a spreadsheet reads it as that
number, never as a formula — so a negative effect size stays a number.

Files are written with ``LINE_END`` (CRLF, as RFC 4180 has it): the ``csv`` module quotes a cell only
when it holds a character of the line terminator, so with a bare ``\n`` a carriage return inside a title
would be written unquoted and start a new spreadsheet row whose first cell nobody neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

LINE_END = "\r\n"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula (starts with one of ``FORMULA_STARTS``
    and is not a plain number)."""
    return text.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(text) is None


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run; anything else unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A CSV row (column → value) with every formula-like text cell neutralised by ``safe_cell``."""
    return {key: safe_cell(value) for key, value in row.items()}
