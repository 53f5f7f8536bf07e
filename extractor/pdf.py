"""Read a PDF into pages of text in reading order, keeping page numbers and word positions.

Characters come from PDFium (``pypdfium2``, which pdfplumber already depends on): about twenty times
faster than pdfminer on journal PDFs with heavy figures, and it gives each glyph's baseline origin,
which keeps symbol-font glyphs ("=", "−", "±") on their line. Rotated text (a journal's vertical
sidebar) is dropped; a page whose text mostly runs sideways is read in its own frame. Geometry is in
``layout``. A PDF without a text layer, an encrypted, a truncated or a damaged one raises ``PdfError``
with a clear status, so the caller can mark it for a human and go on; a path that is not a regular file
(a directory, a FIFO, a device) is refused before it is opened, so reading never blocks on it. Glyphs
PDFium reports with no size or no finite position (a damaged content stream, invisible text) are not
drawn, so they are not read.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import stat
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from metasift.errors import MetasiftError
from metasift.extractor.layout import (
    SOFT_BREAK,
    Char,
    Line,
    Word,
    group_lines,
    join_words,
    reading_order,
    words_from_chars,
)

__all__ = ["Page", "PdfDocument", "PdfError", "Word", "check_regular_file", "page_text", "read_pdf",
           "read_regular"]

# PDFium's private codes: 0x02 is a hyphen it found at a line end; the others carry no text.
_CHAR_MAP = {0x02: "-", 0xAD: "", 0x01: "", 0x200B: "", 0xFEFF: "", 0x2002: " ", 0x2003: " ", 0x2009: " ",
             0x00A0: " ", 0x202F: " "}


class PdfError(MetasiftError):
    """A PDF we cannot read; ``status`` is one of no_text, encrypted, broken, or not_a_file (a directory,
    FIFO, device or dangling symlink: nothing to mark for a human, only to skip)."""

    exit_code = 7

    def __init__(self, path: Path | str, status: str, what: str) -> None:
        self.path, self.status, self.what = str(path), status, what
        super().__init__(f"{path}: {what}")


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str  # reading order (columns one after the other), lines joined by "\n"
    lines: str = ""  # physical lines across the whole width: keeps wide table rows whole
    tables: list[list[list[str | None]]] = field(default_factory=list)
    rows: list[Line] = field(default_factory=list)  # the physical lines as positioned words (``lines`` split)
    width: float = 0.0


@dataclass(frozen=True)
class PdfDocument:
    path: str
    pages: list[Page]
    metadata: dict[str, str]

    def page(self, number: int) -> Page:
        return self.pages[number - 1]

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)


def page_text(words: list[Word], width: float) -> str:
    """Text of one page in reading order (two columns handled)."""
    return "\n".join(reading_order(group_lines(words), width))


def _char_text(code: int) -> str:
    if code in _CHAR_MAP:
        return _CHAR_MAP[code]
    if code < 32:
        return ""
    return unicodedata.normalize("NFKC", chr(code)) if 0xFB00 <= code <= 0xFB06 else chr(code)


def _page_chars(page) -> tuple[list[Char | None], float]:
    """The page's characters in stream order, in the frame of its dominant text direction; and the width."""
    from pypdfium2 import raw

    textpage = page.get_textpage()
    tp = textpage.raw
    x, y, box, matrix = ctypes.c_double(), ctypes.c_double(), raw.FS_RECTF(), raw.FS_MATRIX()
    width, height = page.get_size()
    raw_chars: list[tuple[str, tuple[float, float, float, float], float, float, float, int] | Char | None] = []
    for i in range(raw.FPDFText_CountChars(tp)):
        if raw.FPDFText_IsGenerated(tp, i):
            raw_chars.append(SOFT_BREAK if raw.FPDFText_GetUnicode(tp, i) in (10, 13) else None)
            continue
        text = _char_text(raw.FPDFText_GetUnicode(tp, i))
        if not text:
            continue
        raw.FPDFText_GetCharOrigin(tp, i, x, y)
        raw.FPDFText_GetMatrix(tp, i, matrix)
        raw.FPDFText_GetLooseCharBox(tp, i, box)
        scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c)) or 1.0
        size = raw.FPDFText_GetFontSize(tp, i) * scale
        if not _drawn(size, x.value, y.value, box.left, box.right, box.bottom, box.top):
            raw_chars.append(None)  # ends the word it would have joined
            continue
        turn = round(math.degrees(math.atan2(matrix.b, matrix.a)) / 90) % 4
        raw_chars.append((text, (box.left, box.right, box.bottom, box.top), x.value, y.value, size, turn))
    textpage.close()
    turns = Counter(c[5] for c in raw_chars if isinstance(c, tuple) and c[0].strip())
    frame = turns.most_common(1)[0][0] if turns else 0
    out: list[Char | None] = []
    for c in raw_chars:
        if c is None or c is SOFT_BREAK:
            out.append(c)
            continue
        text, (left, right, bottom, top), ox, oy, size, turn = c
        if turn != frame:
            out.append(None)  # sideways text (a sidebar label) is not part of this page's reading
            continue
        if frame == 0:
            out.append(Char(text, left, right, height - oy, size))
        else:  # rotate into the text's own frame: x along the text, baseline top-down
            along = {1: (bottom, top), 2: (width - right, width - left), 3: (height - top, height - bottom)}
            x0, x1 = along[frame]
            out.append(Char(text, x0, x1, _across(ox, oy, frame, width), size))
    return out, (height if frame % 2 else width)


def _drawn(size: float, *coords: float) -> bool:
    """Whether a glyph is drawn: a positive finite size and finite coordinates (a damaged stream or a
    zero text matrix gives glyphs of size 0, which the layout must not see)."""
    return math.isfinite(size) and size > 0 and all(math.isfinite(c) for c in coords)


def _across(x: float, y: float, frame: int, width: float) -> float:
    """Top-down position of a baseline in a rotated frame (1: text runs up, 2: upside down, 3: runs down)."""
    return {1: x, 2: y, 3: width - x}[frame]


def check_regular_file(path: Path) -> None:
    """Raise ``PdfError`` (status ``not_a_file``) unless ``path``, its symlink followed, is a regular file.

    Checked with ``stat`` before anything opens the path: opening a FIFO blocks forever, a directory or a
    device is no PDF, and a dangling symlink or a symlink loop cannot be read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        why = "a symlink to a missing file" if path.is_symlink() else "file not found"
        raise PdfError(path, "not_a_file", why) from None
    except OSError as exc:
        why = "a symlink loop" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror or exc})"
        raise PdfError(path, "not_a_file", why) from None
    if stat.S_ISDIR(mode):
        raise PdfError(path, "not_a_file", "a directory, not a PDF file")
    if not stat.S_ISREG(mode):
        raise PdfError(path, "not_a_file", "not a regular file (a FIFO, socket or device)")


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file, opened non-blocking and checked again on the open descriptor (the
    path may have been swapped for a FIFO since ``check_regular_file`` looked)."""
    check_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise PdfError(path, "not_a_file", f"cannot be opened ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PdfError(path, "not_a_file", "not a regular file (a FIFO, socket or device)")
        return fh.read()


def read_pdf(path: str | Path, *, tables: bool = False) -> PdfDocument:
    """Read every page's text in reading order (and, if asked, pdfplumber's tables)."""
    import pypdfium2 as pdfium

    path = Path(path)
    check_regular_file(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            what = "the PDF is encrypted; open it with the password and save a copy"
            raise PdfError(path, "encrypted", what) from None
        raise PdfError(path, "broken", f"cannot be read as a PDF ({exc}); it may be truncated") from None
    try:
        metadata = {str(k): str(v) for k, v in (pdf.get_metadata_dict() or {}).items() if v}
        pages = []
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            chars, width = _page_chars(page)
            page.close()
            rows = group_lines(words_from_chars(chars))
            text = "\n".join(reading_order(rows, width))
            physical = "\n".join(join_words(line) for line in rows)
            pages.append(Page(number, text, physical, [], rows, width))
    except pdfium.PdfiumError as exc:
        raise PdfError(path, "broken", f"cannot be read ({exc}); it may be truncated") from None
    finally:
        pdf.close()
    if tables:
        pages = _with_tables(path, pages)
    if not pages:
        raise PdfError(path, "broken", "the PDF has no pages")
    if sum(len(p.text.strip()) for p in pages) < 50 * len(pages) * 0.2:
        raise PdfError(path, "no_text", "no text layer (a scanned image?); OCR it or extract by hand")
    return PdfDocument(str(path), pages, metadata)


def _with_tables(path: Path, pages: list[Page]) -> list[Page]:
    """pdfplumber's ruled-table cells per page (slower; only when asked)."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(path) as pdf:
            return [Page(p.number, p.text, p.lines, pdf.pages[p.number - 1].extract_tables(), p.rows, p.width)
                    for p in pages]
    except (PdfminerException, PSException, PDFSyntaxError) as exc:
        raise PdfError(path, "broken", f"its tables cannot be read ({exc}); it may be damaged") from None
