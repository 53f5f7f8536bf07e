"""Mutation operators for the fuzz suite: each takes the bytes of a file and a seeded ``random.Random`` and
returns new bytes. Operators are pure and deterministic given the RNG, so a mutant is reproducible from its
source file and seed alone (``mutate``), which is what the failing-case corpus and the reports rely on.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Operator = Callable[[bytes, random.Random], bytes]

# Tokens that start a record, a field or a special entry in the formats metasift reads: inserted at random
# line starts, they exercise the parsers' state machines (an entry opened twice, a field outside a record...).
EXPORT_TOKENS: tuple[bytes, ...] = (
    b"@comment{", b"@preamble{", b"@string{", b"@article{", b"}", b"TY  -", b"TY  - JOUR", b"ER  -",
    b"ER  - ", b"PMID- ", b"PMID- 12345678", b"AU  - ", b"PT J", b"ER", b"EF", b"FN ", b"%0 ", b"%A ", b'"',
    b'""', b",,,,", b"\t\t\t", b"\xef\xbb\xbf", b"\xff\xfe", b"\\", b"{", b"@",
)
# PDF structure tokens: cross-reference sections, object headers, lengths and counts that lie.
PDF_TOKENS: tuple[bytes, ...] = (
    b"%%EOF", b"trailer", b"xref", b"startxref", b"0 0 obj", b"endobj", b"stream", b"endstream",
    b"/Length 999999999", b"/Count 2147483647", b"/Type /Pages", b"/Encrypt 1 0 R", b"<<", b">>", b"[",
    b"/Filter /FlateDecode", b"/Kids [1 0 R]", b"(", b"/Root 0 0 R",
)
MAX_MUTANT_BYTES = 16 << 20  # a duplicated huge line is cut here: the file stays quick to write and read
ENCODINGS: tuple[str, ...] = ("utf-16", "latin-1", "gbk", "cp1252", "utf-16-be", "utf-32")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def byte_flip(data: bytes, rng: random.Random) -> bytes:
    """Replace 1-8 bytes with random ones: single corrupt characters, broken multi-byte sequences."""
    if not data:
        return bytes([rng.randrange(256)])
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def truncate(data: bytes, rng: random.Random) -> bytes:
    """Cut the file at a random byte: a download or copy that stopped half way (may split a character)."""
    return data[: rng.randrange(len(data) + 1)] if data else data


def duplicate_lines(data: bytes, rng: random.Random) -> bytes:
    """Repeat a run of 1-20 lines 1-50 times: duplicated tags, fields and records."""
    lines = _lines(data)
    start = rng.randrange(len(lines))
    run = lines[start:start + rng.randint(1, 20)]
    return b"".join(lines[:start] + run * rng.randint(2, 50) + lines[start:])


def remove_lines(data: bytes, rng: random.Random) -> bytes:
    """Delete a run of 1-30 lines: a header, a record's start or its end may go."""
    lines = _lines(data)
    start = rng.randrange(len(lines))
    return b"".join(lines[:start] + lines[start + rng.randint(1, 30):])


def nul_bytes(data: bytes, rng: random.Random) -> bytes:
    """Insert 1-16 NUL bytes at random places (binary junk, a UTF-16 file read as bytes)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        buf[rng.randrange(len(buf) + 1):0] = b"\x00" * rng.randint(1, 4)
    return bytes(buf)


def huge_line(data: bytes, rng: random.Random) -> bytes:
    """Insert one line of 0.5-4 MB (repeated text, or a field value) at a random line: memory and time bounds."""
    lines = _lines(data)
    at = rng.randrange(len(lines) + 1)
    size = rng.randint(1 << 19, 1 << 22)
    head = rng.choice([b"", b"TI  - ", b"AB  - ", b"AU  - ", b"title = {", b'"', b"AB "])
    body = rng.choice([b"x", b"a,", b"\t", b"{", b"\"", b"(", b"ab "])
    return b"".join(lines[:at] + [head + body * (size // len(body)) + b"\n"] + lines[at:])


def nesting(data: bytes, rng: random.Random) -> bytes:
    """Insert one line of 1,000-200,000 opening brackets or quotes: recursion depth in nested parsers."""
    lines = _lines(data)
    at = rng.randrange(len(lines) + 1)
    opener = rng.choice([b"{", b"(", b"[", b"<<", b'"{', b"@string{a={"])
    lines[at:at] = [opener * rng.randint(1_000, 200_000) + b"\n"]
    return b"".join(lines)


def _insert_tokens(data: bytes, rng: random.Random, tokens: tuple[bytes, ...]) -> bytes:
    lines = _lines(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(lines) + 1)
        tail = rng.choice([b"\n", b"\r\n", b" x\n", b""])
        lines[at:at] = [rng.choice(tokens) + tail]
    return b"".join(lines)


def format_tokens(data: bytes, rng: random.Random) -> bytes:
    """Insert 1-6 export-format tokens (``@comment{``, ``TY  -``, ``ER  -``, ``PMID- ``...) at line starts."""
    return _insert_tokens(data, rng, EXPORT_TOKENS)


def pdf_tokens(data: bytes, rng: random.Random) -> bytes:
    """Insert 1-6 PDF structure tokens (``xref``, ``/Count 2147483647``, ``endstream``...) at line starts."""
    return _insert_tokens(data, rng, PDF_TOKENS)


def reencode(data: bytes, rng: random.Random) -> bytes:
    """Decode the file as UTF-8 (or UTF-16 when it starts with a BOM) and write it in another encoding, with
    unencodable characters replaced: exports saved by other tools and locales."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    text = data.decode("utf-16" if utf16 else "utf-8", "replace")
    return text.encode(rng.choice(ENCODINGS), "replace")


def line_endings(data: bytes, rng: random.Random) -> bytes:
    """Rewrite line ends as CR only, CRLF or mixed: old Mac and Windows exports."""
    lines = data.splitlines()
    if rng.random() < 0.5:
        return rng.choice([b"\r", b"\r\n"]).join(lines)
    return b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines)


EXPORT_OPERATORS: dict[str, Operator] = {
    "byte_flip": byte_flip, "truncate": truncate, "duplicate_lines": duplicate_lines,
    "remove_lines": remove_lines, "nul_bytes": nul_bytes, "huge_line": huge_line,
    "format_tokens": format_tokens, "reencode": reencode, "line_endings": line_endings, "nesting": nesting,
}
PDF_OPERATORS: dict[str, Operator] = {
    "byte_flip": byte_flip, "truncate": truncate, "duplicate_lines": duplicate_lines,
    "remove_lines": remove_lines, "nul_bytes": nul_bytes, "huge_line": huge_line, "pdf_tokens": pdf_tokens,
    "nesting": nesting,
}


def operators_for(name: str) -> dict[str, Operator]:
    """The operator table for a source file: PDFs get structural operators, exports textual ones."""
    return PDF_OPERATORS if name.lower().endswith(".pdf") else EXPORT_OPERATORS


def choose_operators(name: str, seed: int) -> list[str]:
    """The 1-3 operators a mutant applies, in order; a pure function of the file's kind and the seed."""
    rng = random.Random(f"ops:{seed}")
    table = sorted(operators_for(name))
    return [rng.choice(table) for _ in range(rng.choices((1, 2, 3), weights=(6, 3, 1))[0])]


def mutate(data: bytes, name: str, seed: int, ops: list[str] | None = None) -> tuple[bytes, list[str]]:
    """Apply the seed's operators (or ``ops``) to ``data``; return the mutant and the operators used."""
    ops = ops if ops is not None else choose_operators(name, seed)
    rng = random.Random(f"bytes:{seed}")
    table = operators_for(name)
    for op in ops:
        data = table[op](data, rng)[:MAX_MUTANT_BYTES]
    return data, ops
