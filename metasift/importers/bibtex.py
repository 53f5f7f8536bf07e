"""BibTeX (``@article{key, ...}``) from Zotero, EndNote, Web of Science, JabRef, Mendeley.

``bibtexparser`` 1.x parses the fields, but it reports no line numbers and silently skips what it
cannot read: an entry with an empty key (EndNote writes ``@article{``) or a key with a space (Scopus
writes ``@article{Conference paper2022775,``), an entry with no fields (Zotero writes
``@article{__????}``), or everything after unbalanced braces. So the file is first split into entries
here (brace matching, line numbers; every entry's key is swapped for a placeholder and kept as written),
each entry is handed to one parser in turn, and an entry that yields nothing is bad: an
``ImportFormatError`` naming its line or, with skip_bad, an entry left out and listed.

Field values are LaTeX: accents, escapes and text macros (``\\emph{...}``) are turned into Unicode
text by pylatexenc, one brace-level-0 word at a time (its parser is slow on long plain text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser
from pylatexenc.latex2text import LatexNodes2Text

from metasift.importers.normalize import build_record, record_warnings, split_list
from metasift.importers.tagged import BadEntries, Parsed
from metasift.records import Record

_ENTRY = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*([{(])", re.MULTILINE)
_FIELDISH = re.compile(r"^\s*[\w-]+\s*=\s*[{\"\d]", re.MULTILINE)
_NO_PARSE = {"comment", "preamble"}
_BRACE = re.compile(r"[{}]")
_BRACE_OR_PAREN = re.compile(r'[{}")]')
_WORD_GAP = re.compile(r"[{}]|\s+")
_AND = re.compile(r"(\s+and\s+|[{}])", re.IGNORECASE)  # BibTeX's name separator is case-insensitive
_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
# bibtexparser logs every parse failure at ERROR level; we raise ImportFormatError with the line instead
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)
# bibtexparser's pyparsing grammar costs ~8 µs a character on odd input (a 3 MB line of quotes took
# minutes); real entries in the shared exports are under 3,000 characters, so 100,000 leaves room.
MAX_ENTRY_CHARS = 100_000


class Chunk:
    """One ``@type{...}`` block of the file and the 1-based line it starts on."""

    __slots__ = ("kind", "line", "text")

    def __init__(self, kind: str, text: str, line: int) -> None:
        self.kind, self.text, self.line = kind, text, line


def split_entries(path: Path, text: str, bad: BadEntries | None = None) -> Iterator[Chunk]:
    """Entries by brace matching, in file order; unbalanced braces or field-like text between entries are bad.

    Every step moves past what it looked at, so a stray ``@comment{`` or ``@preamble{`` cannot stall
    the loop: an entry not closed before the next ``@entry`` line is bad and reading resumes there.
    An entry is handed out only once the text after it is checked (an entry that closes early leaves
    its last fields outside), so errors come in line order.
    """
    bad = bad or BadEntries(path, skip_bad=False)
    pending: Chunk | None = None
    seen = False
    long_scan_failed = False
    pos = 0
    line_at = _LineCounter(text)
    while True:
        match = _ENTRY.search(text, pos)
        gap = text[pos : match.start() if match else len(text)]
        stray = _FIELDISH.search(gap) or (re.match(r"\s*[},]", gap) if pending else None)
        if stray and pending is not None:
            bad(
                pending.line,
                f"@{pending.kind} entry has unbalanced braces: it closes early and line "
                f"{line_at(pos + stray.end() - 1)} is left outside any entry",
            )
            pending = None  # its fields go on after it closed: the entry is cut, not whole
        elif stray and not seen:
            bad(line_at(pos + stray.start()), "field-like text before the first @entry")
        if pending is not None:
            yield pending
            pending = None
        if not match:
            return
        seen = True
        kind, opener, start = match.group(1).lower(), match.group(2), match.start()
        following = _ENTRY.search(text, match.end())
        # an entry ends before the next "@type{" line; only a @comment may hold entries (commented out)
        limit = len(text) if following is None else following.start()
        end = _matching_close(text, match.end() - 1, opener, limit)
        if end < 0 and kind == "comment" and following is not None and not long_scan_failed:
            end = _matching_close(text, match.end() - 1, opener, len(text))
            long_scan_failed = end < 0  # once is enough: a second scan to the end could make this quadratic
        if end < 0:
            if following is None:
                bad(line_at(start), f"@{kind} entry is never closed: unbalanced braces")
                return
            bad(
                line_at(start),
                f"@{kind} entry is not closed before the next entry "
                f"at line {line_at(following.start())}: unbalanced braces",
            )
            pos = following.start()
            continue
        pending = Chunk(kind, text[start : end + 1].strip(), line_at(start))
        pos = end + 1


class _LineCounter:
    """Character offset -> 1-based line number, counting forward from the last offset asked for
    (offsets mostly grow), so no list of every newline is held for a large file."""

    __slots__ = ("_line", "_offset", "_text")

    def __init__(self, text: str) -> None:
        self._text, self._offset, self._line = text, 0, 1

    def __call__(self, offset: int) -> int:
        if offset < self._offset:
            self._offset, self._line = 0, 1
        self._line += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._line


def _matching_close(text: str, open_at: int, opener: str, limit: int) -> int:
    """Offset of the brace/parenthesis closing the entry opened at ``open_at``, before ``limit``; -1 if none.

    BibTeX counts every brace (a backslash does not escape one), so neither do we.
    """
    depth = 0
    if opener == "{":
        for match in _BRACE.finditer(text, open_at, limit):
            depth += 1 if match.group() == "{" else -1
            if depth == 0:
                return match.start()
        return -1
    quoted = False  # a "..." value at brace depth 0 may hold ")"
    for match in _BRACE_OR_PAREN.finditer(text, open_at + 1, limit):
        ch = match.group()
        if ch in "{}":
            depth += 1 if ch == "{" else -1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == ")" and depth == 0 and not quoted:
            return match.start()
    return -1


def _fix_key(chunk: Chunk) -> tuple[str, str | None]:
    """The entry text with a placeholder key, and the key as written ("" when the exporter wrote none).

    bibtexparser rejects keys with a space (Scopus: ``Conference paper2022775``) and skips empty ones,
    so the parser never sees the real key.
    """
    opener = re.match(r"\s*@\s*\w+\s*[{(]", chunk.text)
    if opener is None:
        return chunk.text, None
    rest = chunk.text[opener.end() :]
    comma = rest.find(",")
    segment = rest[:comma] if comma >= 0 else rest[:-1]
    if comma < 0:
        return chunk.text, segment.strip()
    if "=" in segment:
        return f"{opener.group()}line{chunk.line},{rest}", ""
    return f"{opener.group()}line{chunk.line}{rest[comma:]}", segment.strip()


def _tex(value: str | None) -> str | None:
    """LaTeX accents, escapes and text macros as Unicode text; grouping braces dropped.

    Plain words skip the LaTeX parser (only braces are dropped); a word with a backslash is converted
    on its own, so a long abstract with one ``\\%`` costs one small parse, not one of the whole text.
    """
    if value is None:
        return None
    if "\\" not in value and "{" not in value and "}" not in value:
        return value
    out = []
    for word, gap in _words(value):
        out.append(
            _latex_word(word) if "\\" in word or "$" in word else word.replace("{", "").replace("}", "")
        )
        out.append(gap)
    return "".join(out)


def _words(value: str) -> list[tuple[str, str]]:
    """``value`` cut at whitespace outside braces: ``(word, whitespace after it)`` pairs."""
    pairs, depth, start = [], 0, 0
    for match in _WORD_GAP.finditer(value):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            pairs.append((value[start : match.start()], token))
            start = match.end()
    pairs.append((value[start:], ""))
    return pairs


def _latex_word(word: str) -> str:
    """One word through pylatexenc (its tolerant mode never raises on LaTeX, but stay safe on any input)."""
    try:
        return _LATEX.latex_to_text(word).replace("\xa0", " ")
    except Exception:
        return word.replace("{", "").replace("}", "")


def _authors(value: str | None) -> list[str]:
    """Split ``A and B and {Group Name}`` at top brace level, keeping braced corporate names whole."""
    if not value:
        return []
    names, depth, current = [], 0, []
    tokens = _AND.split(value)
    for tok in tokens:
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
        if depth == 0 and tok and tok not in "{}" and tok.strip().lower() == "and":
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


def parse(path: Path, text: str, skip_bad: bool = False) -> Parsed:
    """Parse a BibTeX file entry by entry (a bad entry raises ``ImportFormatError`` naming its line,
    or with ``skip_bad`` is left out and listed in ``Parsed.skipped``)."""
    bad = BadEntries(path, skip_bad)
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False, interpolate_strings=True)
    parser.expect_multiple_parse = True
    records, warnings = [], []
    for chunk in split_entries(path, text, bad):
        if chunk.kind in _NO_PARSE:
            continue
        if len(chunk.text) > MAX_ENTRY_CHARS:
            bad(chunk.line, f"@{chunk.kind} entry is {len(chunk.text):,} characters long (more than "
                            f"{MAX_ENTRY_CHARS:,}): not a bibliographic record")
            continue
        body, key = (chunk.text, None) if chunk.kind == "string" else _fix_key(chunk)
        before = len(parser.bib_database.entries)
        try:
            bibtexparser.loads(body, parser)
        except KeyError as exc:
            bad(chunk.line, f"@{chunk.kind} entry uses an undefined @string macro {str(exc)[:60]}")
            continue
        except Exception as exc:
            bad(chunk.line, f"@{chunk.kind} entry cannot be parsed: {str(exc).splitlines()[0][:60]}")
            continue
        if chunk.kind == "string":
            continue
        new = parser.bib_database.entries[before:]
        if len(new) != 1:
            if re.fullmatch(r"\s*@\s*\w+\s*[{(]\s*[^,\s{}()]*\s*[})]\s*", chunk.text):
                new = [{"ENTRYTYPE": chunk.kind, "ID": key or ""}]  # Zotero's empty "@article{__????}"
                warnings.append(f"entry at line {chunk.line} has no fields")
            else:
                del parser.bib_database.entries[before:]
                bad(chunk.line, f"@{chunk.kind} entry cannot be parsed")
                continue
        records.append(to_record(new[0], chunk.line, key))
    layout = "generic"
    if records and any(str(r.raw.get("unique-id", "")).startswith("WOS:") for r in records):
        layout = "wos"
    elif records and any(str(r.raw.get("source", "")).lower() == "scopus" for r in records):
        layout = "scopus"
    return Parsed(records, layout, warnings + record_warnings(records), bad.listed())
