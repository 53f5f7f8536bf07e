"""BibTeX (``@article{key, ...}``) from Zotero, EndNote, Web of Science, JabRef, Mendeley.

``bibtexparser`` 1.x parses the fields, but it reports no line numbers and silently skips what it
cannot read: an entry with an empty key (EndNote writes ``@article{``), an entry with no fields
(Zotero writes ``@article{__????}``), or everything after unbalanced braces. So the file is first
split into entries here (brace matching, line numbers), each entry is handed to one parser in
turn, and an entry that yields nothing is an ``ImportFormatError`` naming its line.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser
from bibtexparser.latexenc import latex_to_unicode

from metasift.errors import ImportFormatError
from metasift.importers.normalize import build_record, record_warnings, split_list
from metasift.importers.tagged import Parsed
from metasift.records import Record

_ENTRY = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*([{(])", re.MULTILINE)
_FIELDISH = re.compile(r"^\s*[\w-]+\s*=\s*[{\"\d]", re.MULTILINE)
_NO_PARSE = {"comment", "preamble"}
_BRACE = re.compile(r"[{}]")
_BRACE_OR_PAREN = re.compile(r'[{}")]')
# bibtexparser logs every parse failure at ERROR level; we raise ImportFormatError with the line instead
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)


class Chunk:
    """One ``@type{...}`` block of the file and the 1-based line it starts on."""

    __slots__ = ("kind", "line", "text")

    def __init__(self, kind: str, text: str, line: int) -> None:
        self.kind, self.text, self.line = kind, text, line


def split_entries(path: Path, text: str) -> list[Chunk]:
    """Entries by brace matching; unbalanced braces or field-like text between entries are errors."""
    chunks: list[Chunk] = []
    where, pos = str(path), 0
    line_at = _line_counter(text)
    while True:
        match = _ENTRY.search(text, pos)
        gap = text[pos : match.start() if match else len(text)]
        if chunks and (_FIELDISH.search(gap) or gap.strip().startswith(("}", ","))):
            bad = pos + (_FIELDISH.search(gap) or re.search(r"\S", gap)).start()
            raise ImportFormatError(
                where,
                chunks[-1].line,
                f"@{chunks[-1].kind} entry has unbalanced braces: "
                f"it closes early and line {line_at(bad)} is left "
                "outside any entry",
            )
        if not chunks and _FIELDISH.search(gap):
            bad = pos + _FIELDISH.search(gap).start()
            raise ImportFormatError(where, line_at(bad), "field-like text before the first @entry")
        if not match:
            return chunks
        kind, opener = match.group(1).lower(), match.group(2)
        start = match.start()
        end = _matching_close(text, match.end() - 1, opener)
        nested = _ENTRY.search(text, match.end(), end if end >= 0 else len(text))
        if end < 0 and not nested:
            raise ImportFormatError(
                where, line_at(start), f"@{kind} entry is never closed: unbalanced braces"
            )
        if nested and kind not in _NO_PARSE:
            raise ImportFormatError(
                where,
                line_at(start),
                f"@{kind} entry is not closed before the next entry "
                f"at line {line_at(nested.start())}: unbalanced braces",
            )
        chunks.append(Chunk(kind, text[start : end + 1].strip(), line_at(start)))
        pos = end + 1


def _line_counter(text: str):
    """A function from a character offset to its 1-based line number."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_at(offset: int) -> int:
        return bisect_left(newlines, offset) + 1

    return line_at


def _matching_close(text: str, open_at: int, opener: str) -> int:
    """Offset of the brace/parenthesis closing the entry opened at ``open_at``; -1 if none.

    BibTeX counts every brace (a backslash does not escape one), so neither do we.
    """
    depth = 0
    if opener == "{":
        for match in _BRACE.finditer(text, open_at):
            depth += 1 if match.group() == "{" else -1
            if depth == 0:
                return match.start()
        return -1
    quoted = False  # a "..." value at brace depth 0 may hold ")"
    for match in _BRACE_OR_PAREN.finditer(text, open_at + 1):
        ch = match.group()
        if ch in "{}":
            depth += 1 if ch == "{" else -1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == ")" and depth == 0 and not quoted:
            return match.start()
    return -1


def _fix_key(chunk: Chunk) -> tuple[str, str | None]:
    """The entry text with a placeholder key when the exporter wrote none, and the key as written."""
    opener = re.match(r"\s*@\s*\w+\s*[{(]", chunk.text)
    if opener is None:
        return chunk.text, None
    rest = chunk.text[opener.end() :]
    comma = rest.find(",")
    segment = rest[:comma] if comma >= 0 else rest[:-1]
    if "=" not in segment:
        return chunk.text, segment.strip()
    return f"{opener.group()}line{chunk.line},{rest}", ""


def _tex(value: str | None) -> str | None:
    """LaTeX escapes and accents as plain text; grouping braces dropped."""
    if value is None:
        return None
    text = value.replace("\\&", "&").replace("\\%", "%").replace("\\_", "_").replace("\\$", "$")
    return latex_to_unicode(text) if ("\\" in text or "{" in text) else text


def _authors(value: str | None) -> list[str]:
    """Split ``A and B and {Group Name}`` at top brace level, keeping braced corporate names whole."""
    if not value:
        return []
    names, depth, current = [], 0, []
    tokens = re.split(r"(\s+and\s+|[{}])", value)
    for tok in tokens:
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
        if depth == 0 and re.fullmatch(r"\s+and\s+", tok or ""):
            names.append("".join(current))
            current = []
        else:
            current.append(tok)
    names.append("".join(current))
    out = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        corporate = name.startswith("{") and name.endswith("}") and name.count("{") == 1
        plain = _tex(name) or ""
        out.append("{" + plain + "}" if corporate else plain)
    return out


def to_record(entry: dict, line: int, key: str | None) -> Record:
    """Map BibTeX fields to ``Record`` fields (LaTeX accents and escapes turned into text)."""
    raw = {k: v for k, v in entry.items() if k != "ID"}
    raw["ID"] = key if key is not None else entry.get("ID", "")
    get = entry.get
    pmid = get("pmid") or (get("eprint") if (get("eprinttype") or "").lower() == "pubmed" else None)
    return build_record(
        raw=raw,
        line=line,
        title=_tex(get("title")),
        abstract=_tex(get("abstract")),
        authors=_authors(get("author")),
        year=get("year") or get("date"),
        journal=_tex(get("journal") or get("journaltitle") or get("booktitle")),
        volume=get("volume"),
        issue=get("number") or get("issue"),
        pages=get("pages"),
        doi=get("doi"),
        pmid=pmid,
        issn=get("issn"),
        keywords=split_list(_tex(get("keywords") or get("keyword")), ";,"),
        publication_type=entry.get("ENTRYTYPE"),
        language=get("language") or get("langid"),
        url=get("url"),
    )


def parse(path: Path, text: str) -> Parsed:
    """Parse a BibTeX file entry by entry (raises ``ImportFormatError`` naming the entry's line)."""
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False, interpolate_strings=True)
    parser.expect_multiple_parse = True
    records, warnings = [], []
    for chunk in split_entries(path, text):
        if chunk.kind in _NO_PARSE:
            continue
        body, key = (chunk.text, None) if chunk.kind == "string" else _fix_key(chunk)
        before = len(parser.bib_database.entries)
        try:
            bibtexparser.loads(body, parser)
        except KeyError as exc:
            raise ImportFormatError(
                str(path), chunk.line, f"@{chunk.kind} entry uses an undefined @string macro {exc}"
            ) from exc
        except Exception as exc:  # pyparsing errors, undefined @string macros ...
            raise ImportFormatError(
                str(path), chunk.line, f"@{chunk.kind} entry cannot be parsed: {exc}"
            ) from exc
        if chunk.kind == "string":
            continue
        new = parser.bib_database.entries[before:]
        if len(new) != 1:
            if re.fullmatch(r"\s*@\s*\w+\s*[{(]\s*[^,\s{}()]*\s*[})]\s*", chunk.text):
                new = [{"ENTRYTYPE": chunk.kind, "ID": key or ""}]  # Zotero's empty "@article{__????}"
                warnings.append(f"entry at line {chunk.line} has no fields")
            else:
                raise ImportFormatError(str(path), chunk.line, f"@{chunk.kind} entry cannot be parsed")
        records.append(to_record(new[0], chunk.line, key))
    layout = "generic"
    if records and any(str(r.raw.get("unique-id", "")).startswith("WOS:") for r in records):
        layout = "wos"
    elif records and any(str(r.raw.get("source", "")).lower() == "scopus" for r in records):
        layout = "scopus"
    return Parsed(records, layout, warnings + record_warnings(records))
