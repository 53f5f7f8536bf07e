"""OCR of flow diagrams printed as images: the per-arm randomised, lost and analysed counts they hold.

Many trial reports print the CONSORT diagram as a picture with no text layer; for several it is the only
per-arm source of those counts. When a paper has no text-layer flow diagram, the image regions of pages
whose text names a flow diagram ("CONSORT", "flow chart", "trial profile", "patient disposition", or a figure
caption about who was randomised or the study design) are
rendered at 300 dpi with PDFium and read by Tesseract (Debian's ``tesseract-ocr`` through ``pytesseract``;
``make install`` installs both). The words come back with their positions in page coordinates, so the
diagram reader of ``_consort`` reads them column by column as it reads a vector diagram. Values read this
way carry ``source="ocr"`` and the page region, and are never auto-verified (``checks``): a human confirms
them against the figure in ``metasift verify``.

Only images covering at least ``MIN_AREA`` of the page are read, at most ``MAX_IMAGES`` per paper, so a
paper without an image flow diagram costs nothing and one with it about 1-2 s.
"""

from __future__ import annotations

import re
import shutil
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from metasift.extractor.layout import Word, group_lines, join_words, reading_order
from metasift.extractor.pdf import Page

FLOW_CAPTION = re.compile(r"flow\s*-?\s*(?:chart|diagram)|\bconsort\b|trial\s+profile|"
                          r"consolidated\s+standards\s+of\s+reporting\s+trials|"
                          r"(?:patient|participant|subject|study)\s+(?:flow|disposition)", re.IGNORECASE)
# A figure caption that speaks of who was randomised: "Fig. 1 A total of 105 patients ... were randomized",
# "Figure 1. The study design", "Fig. 1 PEPITES trial design".
FIGURE_CAPTION = re.compile(r"\bFig(?:ure)?\.?\s*\d+[.:]?\s+(?P<cap>[^\n]{0,200})", re.IGNORECASE)
CAPTION_WORDS = re.compile(r"randomi[sz]|enrol|allocat|screened|(?:study|trial)\s+design|disposition|"
                           r"participants|patients", re.IGNORECASE)


def names_flow(text: str) -> bool:
    """Whether a page's text names a flow diagram, or has a figure caption about who was randomised."""
    return bool(FLOW_CAPTION.search(text)) or any(
        CAPTION_WORDS.search(m.group("cap")) for m in FIGURE_CAPTION.finditer(text))
MIN_AREA = 0.08  # share of the page an image must cover to be read
MAX_IMAGES = 3
DPI = 300
MIN_CONFIDENCE = 30  # Tesseract's per-word confidence (0-100) below which a word is dropped as noise
LOOK_MARGIN = 12  # pixels (at DPI) around a line read a second time
BORDERS = {"|", "||", "[", "]"}  # a box's edge read as a word
# "{n = 11)", "(mn = 138)", "(nn = 21)", "(m = 2,691)": a count's "(n" with its bracket read as a brace or its
# n as m, mn, nn or rn (at 96-110 dpi Tesseract splits and merges the n's strokes)
OPEN_COUNT = re.compile(r"^(?:[{\[]n\b|\((?:mn|nn|m|rn)(?==|$))")


@dataclass(frozen=True)
class Region:
    """An image on a page: ``box`` is (x0, top, x1, bottom) in PDF points, top-down like the text layer."""

    page: int
    box: tuple[float, float, float, float]

    def describe(self) -> str:
        x0, top, x1, bottom = (round(v) for v in self.box)
        return f"page {self.page}, region x {x0}-{x1}, y {top}-{bottom} pt"


@cache
def tesseract_version() -> str | None:
    """Tesseract's version, or None when it (or pytesseract) is not installed."""
    if shutil.which("tesseract") is None:
        return None
    try:
        import pytesseract

        return str(pytesseract.get_tesseract_version())
    except (ImportError, OSError, RuntimeError):
        return None


def flow_regions(path: str, pages: list[Page]) -> list[Region]:
    """Images that may be the flow diagram: on pages whose text names one, largest first."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    wanted = [p.number for p in pages if names_flow(p.text)]
    if not wanted:
        return []
    regions: list[tuple[float, Region]] = []
    pdf = pdfium.PdfDocument(path)
    try:
        for number in wanted:
            page = pdf[number - 1]
            width, height = page.get_size()
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
                left, bottom, right, top = obj.get_bounds()
                area = (right - left) * (top - bottom) / (width * height)
                if area >= MIN_AREA:
                    regions.append((area, Region(number, (left, height - top, right, height - bottom))))
            page.close()
    finally:
        pdf.close()
    regions.sort(key=lambda r: -r[0])
    return [r for _, r in regions[:MAX_IMAGES]]


def read_region(path: str, region: Region) -> Page:
    """The words Tesseract reads in ``region``, as a page of positioned lines (page coordinates)."""
    import pypdfium2 as pdfium

    scale = DPI / 72
    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[region.page - 1]
        width, height = page.get_size()
        x0, top, x1, bottom = region.box
        crop = (max(x0, 0), max(height - bottom, 0), max(width - x1, 0), max(top, 0))  # left, bottom, right, top
        image = page.render(scale=scale, crop=crop, grayscale=True).to_pil()
        page.close()
    finally:
        pdf.close()
    words = []
    for line in _second_look(image, _read_rest(image, _ocr_lines(image))):
        line = [w for w in line if w.conf >= MIN_CONFIDENCE and w.text not in BORDERS]
        if not line:
            continue
        texts = mend_counts([w.text for w in line])
        # Tesseract gives boxes, not baselines: a word with descenders ("app", "(n") reaches lower than its
        # neighbours, so each Tesseract line's words share the line's median bottom as their baseline.
        base = top + statistics.median(w.bottom for w in line) / scale
        size = statistics.median(w.bottom - w.top for w in line) / scale
        words += [Word(text, x0 + w.left / scale, x0 + w.right / scale, base, size) for text, w in zip(texts, line)]
    rows = group_lines(words)
    return Page(region.page, "\n".join(reading_order(rows, width)), "\n".join(join_words(r) for r in rows), [],
                rows, width)


@dataclass(frozen=True)
class _OcrWord:
    """A word as Tesseract reads it: its text, confidence (0-100) and box in image pixels."""

    text: str
    conf: float
    left: int
    top: int
    right: int
    bottom: int


def _ocr_lines(image, config: str = "", dx: int = 0, dy: int = 0) -> list[list[_OcrWord]]:
    """Tesseract's lines of words in ``image`` (offset by ``dx``, ``dy``), words of any confidence."""
    import pytesseract

    data = pytesseract.image_to_data(image, config=config, output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[_OcrWord]] = {}
    for k, (text, conf, h) in enumerate(zip(data["text"], data["conf"], data["height"], strict=True)):
        if text.strip() and h > 0:
            left, top = data["left"][k] + dx, data["top"][k] + dy
            word = _OcrWord(text.strip(), float(conf), left, top, left + data["width"][k], top + h)
            lines.setdefault((data["block_num"][k], data["par_num"][k], data["line_num"][k]), []).append(word)
    return list(lines.values())


def _read_rest(image, lines: list[list[_OcrWord]], tries: int = 4) -> list[list[_OcrWord]]:
    """The lines Tesseract read, and those of the part of the image below them it gave up on.

    Tesseract's layout analysis can stop part way down a diagram, at a bar drawn across the boxes ("Follow-up"
    over two columns of boxes): every box under it was lost, and with them the arms' losses and analysed
    counts. Where more than a tenth of the image's height lies below the last word read, that part is read
    on its own (an extra pass on the part only; nothing found there ends the search)."""
    out = list(lines)
    for _ in range(tries):
        bottom = max((w.bottom for line in out for w in line if w.conf >= MIN_CONFIDENCE), default=None)
        if bottom is None or image.height - bottom <= 0.1 * image.height:
            break
        top = bottom + LOOK_MARGIN // 2
        more = [line for line in _ocr_lines(image.crop((0, top, image.width, image.height)), "", 0, top)
                if _kept(line)]
        if not more:
            break
        out += more
    return out


def _second_look(image, lines: list[list[_OcrWord]]) -> list[list[_OcrWord]]:
    """Read again, as a single line, each line where a word with a digit fell below ``MIN_CONFIDENCE``.

    Tesseract's page segmentation can lose a count set alone on a line inside a box: in RECEDE-CHF's diagram
    (p. 4) "(n= 11)" has confidence 0 read with the page and 80 read as a line. The line's
    crop (with a margin) is read with ``--psm 7``, and the second reading replaces the first when it keeps more
    characters above the threshold. It costs a fraction of a second, and only on such lines."""
    out = []
    for line in lines:
        if any(w.conf < MIN_CONFIDENCE and any(c.isdigit() for c in w.text) for w in line):
            x0, y0 = max(min(w.left for w in line) - LOOK_MARGIN, 0), max(min(w.top for w in line) - LOOK_MARGIN, 0)
            crop = image.crop((x0, y0, max(w.right for w in line) + LOOK_MARGIN,
                               max(w.bottom for w in line) + LOOK_MARGIN))
            again = [w for ln in _ocr_lines(crop, "--psm 7", x0, y0) for w in ln]
            if _kept(again) > _kept(line):
                line = again
        out.append(line)
    return out


def _kept(line: list[_OcrWord]) -> int:
    return sum(len(w.text) for w in line if w.conf >= MIN_CONFIDENCE)


def mend_counts(words: list[str]) -> list[str]:
    """One OCR line's words with its counts mended: a misread "(n" (``OPEN_COUNT``) made "(n", the ")" Tesseract
    drops next to a box border given back ("(n = 9" ends "(n = 9)"), and a thousands comma read as a point
    made a comma again ("(n = 2.691)" is 2,691: a head count has no decimals)."""
    texts = [OPEN_COUNT.sub("(n", w) for w in words]
    for k, word in enumerate(texts):
        before = "".join(texts[max(k - 2, 0):k]).replace(" ", "")
        after = texts[k + 1] if k + 1 < len(texts) else ""
        if not before.lower().endswith("(n="):
            continue
        word = texts[k] = re.sub(r"^(\d{1,3})\.(\d{3})(?=\)?$)", r"\1,\2", word)
        if re.fullmatch(r"\d{1,3}(?:,\d{3})*|\d+", word) and not after.startswith(")"):
            texts[k] = word + ")"
    return texts


def ocr_flow_pages(path: str, pages: list[Page]) -> tuple[Iterator[tuple[Region, Page]], list[str]]:
    """The candidate flow-diagram images, each read by OCR only when the caller asks for it (a caller that
    stops at the first diagram found does not pay for the others), and a warning when OCR is missing."""
    regions = flow_regions(path, pages)
    if regions and tesseract_version() is None:
        where = ", ".join(r.describe() for r in regions)
        return iter(()), [f"the flow diagram may be an image ({where}) but OCR is not installed (Debian: apt-get "
                          "install tesseract-ocr; pip install pytesseract): its counts were not read"]
    return ((r, read_region(path, r)) for r in regions), []
