"""Read a PDF into pages of text in reading order, keeping page numbers (pdfplumber).

Two-column pages are read column by column: each text line is either full-width (a title, a wide
table row: some word crosses the gutter) or split into its left and right halves, and runs of split
lines are emitted left column first. A PDF without a text layer, an encrypted or a truncated one
raises ``PdfError`` with a clear status, so the caller can mark it for a human and go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from metasift.errors import MetasiftError


class PdfError(MetasiftError):
    """A PDF we cannot read; ``status`` is one of no_text, encrypted, broken."""

    exit_code = 7

    def __init__(self, path: Path | str, status: str, what: str) -> None:
        self.path, self.status = str(path), status
        super().__init__(f"{path}: {what}")


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str  # reading order (columns one after the other), lines joined by "\n"
    lines: str = ""  # physical lines across the whole width: keeps wide table rows whole
    tables: list[list[list[str | None]]] = field(default_factory=list)


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


def _lines(words: list[dict], tolerance: float = 3.0) -> list[list[dict]]:
    """Group words into lines by their top coordinate."""
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) <= tolerance:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _gutter(lines: list[list[dict]], width: float) -> float | None:
    """The x of a column gutter, if the page has one: few lines have a word across it and many lines
    have words on both sides of it (centred two-column pages and text-plus-sidebar pages alike)."""
    if len(lines) < 8:
        return None
    best, best_key = None, None
    band = 4.0  # a gutter is a clear band, not just a gap between two words of one line
    for step in range(30, 76):
        x = width * step / 100
        crossing = sum(1 for line in lines if any(w["x0"] < x + band and w["x1"] > x - band for w in line))
        both = sum(1 for line in lines
                   if any(w["x1"] <= x for w in line) and any(w["x0"] >= x for w in line)
                   and not any(w["x0"] < x < w["x1"] for w in line))
        if crossing > 0.3 * len(lines) or both < 0.3 * len(lines):
            continue
        key = (crossing, abs(step - 50))
        if best_key is None or key < best_key:
            best, best_key = x, key
    return best


def _join(line: list[dict]) -> str:
    return " ".join(w["text"] for w in line)


def page_text(words: list[dict], width: float) -> str:
    """Text of one page in reading order (two columns handled)."""
    lines = _lines(words)
    gutter = _gutter(lines, width)
    if gutter is None:
        return "\n".join(_join(line) for line in lines)
    out: list[str] = []
    left: list[str] = []
    right: list[str] = []

    def flush() -> None:
        out.extend(left)
        out.extend(right)
        left.clear()
        right.clear()

    for line in lines:
        if any(w["x0"] < gutter < w["x1"] for w in line):
            flush()
            out.append(_join(line))
            continue
        lpart = [w for w in line if w["x1"] <= gutter]
        rpart = [w for w in line if w["x0"] >= gutter]
        if lpart:
            left.append(_join(lpart))
        if rpart:
            right.append(_join(rpart))
    flush()
    return "\n".join(out)


def read_pdf(path: str | Path, *, tables: bool = False) -> PdfDocument:
    """Read every page's text in reading order (and, if asked, pdfplumber's tables)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    path = Path(path)
    if not path.exists():
        raise PdfError(path, "broken", "file not found")
    try:
        with pdfplumber.open(path) as pdf:
            metadata = {str(k): str(v) for k, v in (pdf.metadata or {}).items()}
            pages = []
            for number, page in enumerate(pdf.pages, start=1):
                words = page.extract_words(use_text_flow=False, keep_blank_chars=False, x_tolerance=1.5)
                text = page_text(words, float(page.width))
                physical = "\n".join(_join(line) for line in _lines(words))
                found = page.extract_tables() if tables else []
                pages.append(Page(number, text, physical, found))
    except PDFPasswordIncorrect:
        raise PdfError(path, "encrypted", "the PDF is encrypted; open it with the password and save a copy") from None
    except (PDFSyntaxError, ValueError, KeyError, TypeError, AssertionError, EOFError) as exc:
        raise PdfError(path, "broken", f"cannot be read as a PDF ({type(exc).__name__}: {exc}); "
                                       "it may be truncated") from None
    except Exception as exc:  # pdfminer raises many private exception types on damaged files
        if "password" in str(exc).lower() or "encrypt" in type(exc).__name__.lower():
            raise PdfError(path, "encrypted", "the PDF is encrypted") from None
        raise PdfError(path, "broken", f"cannot be read ({type(exc).__name__}: {exc})") from None
    if not pages:
        raise PdfError(path, "broken", "the PDF has no pages")
    if sum(len(p.text.strip()) for p in pages) < 50 * len(pages) * 0.2:
        raise PdfError(path, "no_text", "no text layer (a scanned image?); OCR it or extract by hand")
    return PdfDocument(str(path), pages, metadata)
