"""Bytes -> text for export files: BOMs, UTF-16 (WoS "Tab-delimited (Win)"), CJK legacy codecs (GBK,
Big5, Shift-JIS ... detected by charset-normalizer), Latin-1 fallback, binaries, or the codec the user names.

Line endings are unified to ``\\n`` here so every parser counts lines the same way (1-based, after
the BOM).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from metasift.errors import ImportFormatError

_BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP archive or Excel workbook (.xlsx): save it as CSV first",
    b"%PDF": "a PDF document, not a reference export",
    b"\xd0\xcf\x11\xe0": "an old Excel/Word file (.xls/.doc): save it as CSV first",
    b"\x1f\x8b": "a gzip archive: unpack it first",
    b"SQLite format 3": "an SQLite database, not a reference export",
}


_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_HIGH_BYTES = re.compile(rb"[\x80-\xff]")
# multi-byte legacy codecs charset-normalizer may name; a single-byte guess is left to _legacy
_CJK_CODECS = {
    "gb18030",
    "gbk",
    "gb2312",
    "hz",
    "big5",
    "big5hkscs",
    "cp950",
    "shift_jis",
    "shift_jis_2004",
    "shift_jisx0213",
    "cp932",
    "euc_jp",
    "euc_jis_2004",
    "euc_jisx0213",
    "euc_kr",
    "cp949",
    "johab",
    "iso2022_jp",
    "iso2022_kr",
}
_CJK_MIN_BYTES = 16  # fewer non-ASCII bytes than this and a CJK guess is no better than chance
_MANY_HIGH_BYTES = 20  # a Latin-1 fallback with this many non-ASCII bytes may well be another codec
_SNIFF_BYTES = 256 * 1024


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NUL bytes sit on one parity only (UTF-16 text saved without a BOM)."""
    head = data[:4096]
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    half = len(head) // 2 or 1
    if odd > 0.3 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.02 * half:
        return "utf-16-be"
    return None


def _legacy(data: bytes) -> tuple[str, str]:
    """Windows-1252 when it decodes and bytes 0x80-0x9F occur (quotes/dashes there), else Latin-1."""
    if _C1_BYTES.search(data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _legacy_warning(encoding: str, data: bytes, bad_at: int, why: str = "") -> str:
    name = "Windows-1252" if encoding == "cp1252" else "Latin-1"
    line = data[:bad_at].count(b"\n") + 1
    hint = ""
    if len(_HIGH_BYTES.findall(data[:_SNIFF_BYTES])) >= _MANY_HIGH_BYTES:
        hint = "; if the text looks wrong, name the file's encoding with --encoding (e.g. --encoding gbk)"
    return (
        f"decoded as {name} (the file {why}is not valid UTF-8; first bad byte on line {line}): "
        f"check accents{hint}"
    )


def _cjk(data: bytes) -> str | None:
    """The multi-byte CJK codec (GBK, Big5, Shift-JIS ...) charset-normalizer finds, if it decodes the file.

    Only asked when the file is not UTF-8 and has enough non-ASCII bytes for a guess to mean something;
    a single-byte guess (cp1250, cp1252 ...) is ignored: the Latin-1/Windows-1252 fallback covers those.
    """
    sample = data[:_SNIFF_BYTES]
    if len(_HIGH_BYTES.findall(sample)) < _CJK_MIN_BYTES:
        return None
    best = from_bytes(sample).best()
    codec = codecs.lookup(best.encoding).name if best is not None else None
    if codec not in _CJK_CODECS:
        return None
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return None
    return codec


def _named(path: Path | str, data: bytes, encoding: str) -> tuple[str, str]:
    """``data`` decoded with the codec the user named; an unknown name or bytes it cannot decode is an error."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ImportFormatError(str(path), None, f"unknown encoding '{encoding[:40]}'") from exc
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFormatError(
            str(path),
            line,
            f"the file is not valid {encoding[:40]}: byte {exc.object[exc.start]:#04x} cannot be decoded",
        ) from exc
    except (UnicodeError, TypeError, ValueError) as exc:  # e.g. a codec that is not a text encoding
        raise ImportFormatError(
            str(path), None, f"'{encoding[:40]}' cannot decode text: {str(exc)[:60]}"
        ) from exc
    return text, codec


def _unify_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def decode(path: Path | str, data: bytes, encoding: str | None = None) -> tuple[str, str, list[str]]:
    """Decode a whole export; returns ``(text, encoding, warnings)`` or raises ``ImportFormatError``.

    ``encoding`` (the user's ``--encoding``) replaces detection: the file is decoded with that codec.
    """
    warnings: list[str] = []
    if not data.strip():
        raise ImportFormatError(str(path), None, "empty file (no records)")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ImportFormatError(str(path), None, f"binary file: {what}")
    if encoding:
        text, encoding = _named(path, data, encoding)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                str(path), None, f"UTF-16 file with invalid bytes at offset {exc.start}"
            ) from exc
    elif data.startswith(codecs.BOM_UTF8):
        try:
            text, encoding = data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            text, encoding = _legacy(data[3:])
            warnings.append(
                _legacy_warning(encoding, data[3:], exc.start, "has a UTF-8 byte-order mark but ")
            )
    elif b"\x00" in data[:4096]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise ImportFormatError(str(path), None, "binary file (contains NUL bytes): not a text export")
        try:
            text, encoding = data.decode(utf16), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                str(path), None, "binary file (contains NUL bytes): not a text export"
            ) from exc
        warnings.append(f"decoded as UTF-16 ({utf16[-2:].upper()}) without a byte-order mark")
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            cjk = _cjk(data)
            if cjk is not None:
                text, encoding = data.decode(cjk), cjk
                warnings.append(
                    f"decoded as {cjk.upper()} (detected: the file is not valid UTF-8); "
                    "if the text looks wrong, name the file's encoding with --encoding"
                )
            else:
                text, encoding = _legacy(data)
                warnings.append(_legacy_warning(encoding, data, exc.start))
    text = text.removeprefix("\ufeff")
    text = _unify_newlines(text)
    if not text.strip():
        raise ImportFormatError(str(path), None, "empty file (no records)")
    control = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\t\f\v")
    if control > 0.05 * min(len(text), 4096):
        raise ImportFormatError(str(path), None, "binary file (control characters): not a text export")
    return text, encoding, warnings
