"""Flow diagrams printed as images are read by OCR (Tesseract), and what OCR reads always goes to a human.

The PDFs here are built in the test: a CONSORT diagram drawn as a picture (no text layer) on a page whose
caption names it, beside body text that gives no per-arm counts. Tesseract is a system package that
``make install`` installs; where it is missing these tests skip, unless ``make test`` found it installed
(``METASIFT_REQUIRE_OCR=1``), where a missing engine is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from metasift.extractor import ocr
from metasift.extractor.checks import check_extraction
from metasift.extractor.pdf import read_pdf
from metasift.extractor.pipeline import page_texts
from metasift.extractor.rules import extract


def _need_tesseract() -> None:
    if ocr.tesseract_version() is None:
        if os.environ.get("METASIFT_REQUIRE_OCR") == "1":
            pytest.fail("METASIFT_REQUIRE_OCR=1 but tesseract (or pytesseract) is not installed")
        pytest.skip("tesseract is not installed (make install installs it with apt-get where it can)")


def _diagram_png(path: Path) -> None:
    """A two-column CONSORT diagram as a PNG picture."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), 26)
    img = Image.new("L", (1400, 1000), 255)
    draw = ImageDraw.Draw(img)

    def box(x: int, y: int, lines: list[str]) -> None:
        draw.rectangle((x, y, x + 520, y + 40 * len(lines) + 20), outline=0, width=3)
        for i, line in enumerate(lines):
            draw.text((x + 15, y + 10 + 40 * i), line, fill=0, font=font)

    box(440, 20, ["Assessed for eligibility (n = 210)"])
    box(440, 140, ["Randomised (n = 187)"])
    box(60, 300, ["Allocated to app (n = 94)"])
    box(800, 300, ["Allocated to waitlist (n = 93)"])
    box(60, 480, ["Lost to follow-up (n = 9)"])
    box(800, 480, ["Lost to follow-up (n = 8)"])
    box(60, 660, ["Analysed (n = 85)"])
    box(800, 660, ["Analysed (n = 85)"])
    img.save(path)


def _paper(tmp_path: Path, caption: str = "Figure 1. CONSORT flow diagram of participants.") -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    png = tmp_path / "flow.png"
    _diagram_png(png)
    pdf = tmp_path / "paper.pdf"
    c = canvas.Canvas(str(pdf), pagesize=A4)
    body = ["A randomised trial of a self-help app for depressive symptoms in students.",
            "Participants were randomly assigned to the app or to a waitlist; Figure 1 shows their flow.",
            "Outcomes were measured at baseline and after eight weeks with the PHQ-9."] * 3
    y = 800
    for line in body:
        c.drawString(60, y, line)
        y -= 14
    c.drawImage(str(png), 60, 300, width=470, height=336)
    c.drawString(60, 285, caption)
    c.showPage()
    c.drawString(60, 800, "Results. The groups did not differ at baseline. " * 2)
    c.showPage()
    c.save()
    return pdf


def test_an_image_flow_diagram_is_read_by_ocr_and_every_value_it_gives_waits_for_a_human(tmp_path: Path) -> None:
    _need_tesseract()
    doc = read_pdf(_paper(tmp_path))
    result = extract(doc)
    counts = {a.name.lower(): (a.n_randomised, a.n_dropout, a.n_analysed) for a in result.arms}
    assert counts == {"app": (94, 9, 85), "waitlist": (93, 8, 85)}
    ocr_evidence = [e for e in result.evidence if e.source == "ocr"]
    assert len(ocr_evidence) == 6 and all(e.page == 1 and e.region for e in ocr_evidence)
    checks = {c.field: c for c in check_extraction(result, page_texts(doc))}
    for e in ocr_evidence:
        assert checks[e.field].status == "needs_human"
        assert any("read by OCR from an image on page 1" in r for r in checks[e.field].reasons)
    assert any("read by OCR" in w for w in result.warnings)


def test_an_image_on_a_page_that_names_no_flow_diagram_is_not_read(tmp_path: Path) -> None:
    doc = read_pdf(_paper(tmp_path, caption="Figure 1. Screenshots of the app."))
    assert ocr.flow_regions(doc.path, doc.pages) == []
    result = extract(doc)
    assert not any(e.source == "ocr" for e in result.evidence)


def test_without_tesseract_the_paper_says_its_flow_diagram_was_not_read_and_how_to_install_ocr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = read_pdf(_paper(tmp_path))
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine where the tesseract command is not installed
    ocr.tesseract_version.cache_clear()
    try:
        assert shutil.which("tesseract") is None
        result = extract(doc)
    finally:
        ocr.tesseract_version.cache_clear()
    assert not any(e.source == "ocr" for e in result.evidence)
    assert any("OCR is not installed" in w and "tesseract-ocr" in w and "page 1" in w for w in result.warnings)


def test_the_shared_sara_trial_flowchart_image_gives_its_arms_counts(shared_dir: Path) -> None:
    _need_tesseract()
    pdf = shared_dir / "pdfs" / "dev" / "mont2014_sara.pdf"
    if not pdf.exists():
        pytest.skip(f"{pdf} not present")
    result = extract(read_pdf(pdf))
    by_source = {(e.field, e.value) for e in result.evidence if e.source == "ocr"}
    assert ("arms[0].n_dropout", 3) in by_source  # printed only in the image (where the text also has a count,
    # the text's statement is cited instead, being checkable on the page)
    assert [(a.n_randomised, a.n_analysed) for a in result.arms] == [(98, 98), (48, 48)]


def test_a_count_tesseract_reads_with_no_confidence_on_the_page_is_read_again_as_a_line(shared_dir: Path) -> None:
    """RECEDE-CHF's CONSORT diagram (p. 4) is a picture; read with the page, Tesseract gives the placebo box's
    "(n = 11)" confidence 0, and it used to be dropped: the crossover's sequence groups came out empty."""
    _need_tesseract()
    pdf = shared_dir / "pdfs" / "mordi2020_recedechf.pdf"
    if not pdf.exists():
        pytest.skip(f"{pdf} not present")
    result = extract(read_pdf(pdf))
    assert [a.n_randomised for a in result.arms] == [12, 11]
    assert {e.source for e in result.evidence if e.field.endswith("n_randomised")} == {"ocr"}



def test_the_part_of_a_diagram_tesseract_gave_up_on_is_read_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    blocks = [(300, "Allocated", "(n=97)"), (500, "Lost", "(n=5)"), (1100, "Analysed", "(n=92)")]
    reads: list[int] = []

    def lines(image, config: str = "", dx: int = 0, dy: int = 0) -> list[list[ocr._OcrWord]]:
        """Tesseract stopping at a bar drawn across the boxes: each read gets the first block of its crop."""
        reads.append(dy)
        top, *texts = next((b for b in blocks if b[0] >= dy), (None,))
        if top is None:
            return [[ocr._OcrWord("_}", 5.0, 0, dy + 10, 20, dy + 30)]]  # noise only
        return [[ocr._OcrWord(t, 90.0, 100, top + 40 * i, 160, top + 40 * i + 30) for i, t in enumerate(texts)]]

    monkeypatch.setattr(ocr, "_ocr_lines", lines)
    image = Image.new("L", (2000, 1250), 255)
    got = ocr._read_rest(image, lines(image))
    assert [w.text for line in got for w in line] == ["Allocated", "(n=97)", "Lost", "(n=5)", "Analysed", "(n=92)"]
    margin = ocr.LOOK_MARGIN // 2
    assert reads == [0, 370 + margin, 570 + margin]  # the last block ends within a tenth of the image's foot
    # a diagram read to its foot is read once; nothing below the last block ends the search
    reads.clear()
    assert ocr._read_rest(Image.new("L", (2000, 380), 255), lines(image)) == lines(image)
    assert len(reads) == 2
    reads.clear()
    blocks[2:] = []
    assert [w.text for line in ocr._read_rest(image, lines(image)) for w in line] == [
        "Allocated", "(n=97)", "Lost", "(n=5)"]
    assert reads == [0, 370 + margin, 570 + margin]


def test_a_count_tesseract_misreads_at_low_resolution_is_mended_before_it_is_read() -> None:
    # words as Tesseract read a 96-dpi flow diagram: the "(n" as "(mn", "(nn" or "(m", a thousands comma as a point
    from metasift.extractor._consort import diagram_counts
    from metasift.extractor.layout import Word
    from metasift.extractor.pdf import Page

    left = [["Allocated", "to", "coaching", "(nn", "=", "2.692)"], ["Lost", "to", "follow-up", "(mn", "=", "138"],
            ["Analysed", "(m", "=", "2.554)"]]
    right = [["Allocated", "to", "usual", "care", "(n", "=", "2,687)"], ["Lost", "to", "follow-up", "(n", "=", "21)"],
             ["Analysed", "(n", "=", "2,666)"]]
    mended = [ocr.mend_counts(words) for words in left]
    assert mended[1][-3:] == ["(n", "=", "138)"] and mended[2][-3:] == ["(n", "=", "2,554)"]

    def words(texts: list[str], x: float, y: float) -> list[Word]:
        return [Word(t, x + 40 * k, x + 40 * k + 30, y, 8) for k, t in enumerate(texts)]

    rows = [words(a, 40, 100 + 20 * i) + words(b, 320, 100 + 20 * i) for i, (a, b) in enumerate(zip(mended, right))]
    counts = diagram_counts([Page(1, "", "", [], rows, 595)])
    assert sorted((c.arm, c.field, c.value) for c in counts if c.arm == "coaching") == [
        ("coaching", "n_analysed", 2554), ("coaching", "n_dropout", 138), ("coaching", "n_randomised", 2692)]
    # a decimal in a sentence, a mean or a p value is no count
    assert ocr.mend_counts(["mean", "2.691", "p", "=", "0.001"]) == ["mean", "2.691", "p", "=", "0.001"]
