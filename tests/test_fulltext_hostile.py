"""Hostile full texts (issue #18): damaged PDFs, odd directory entries, single files, moved projects.

Every failure is one line naming the file (a ``MetasiftError``), never a traceback or a hang; attached PDFs
are copied into the project by content hash, so the project folder can move.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import random
import re
import shutil
import zlib
from pathlib import Path

import pytest

from metasift.extractor.layout import Word, group_lines
from metasift.extractor.pdf import PdfError, read_pdf
from metasift.extractor.rules import extract
from metasift.records import Record
from metasift.store import Store
from metasift.tui.verify_app import page_context

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "social_media"
T01 = EXAMPLE / "pdfs" / "T01.pdf"
ZERO_SIZE_SEED = 106  # 20 bit flips in T01's content streams that give glyphs of size 0


def _uncompressed(pdf: bytes) -> bytes:
    """The same ReportLab PDF with its content streams stored plainly (and a fresh xref), so bit flips
    land in the drawing operators (e.g. a font size "10 Tf" → "00 Tf") rather than in compressed bytes."""
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for num, body in re.findall(rb"(\d+) 0 obj\n(.*?)endobj", pdf, re.DOTALL):
        stream = re.match(rb"(.*?)stream\r?\n(.*?)endstream", body, re.DOTALL)
        if stream and b"ASCII85Decode" in stream.group(1):
            data = zlib.decompress(base64.a85decode(stream.group(2).strip(), adobe=True))
            body = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream\n"
        offsets[int(num)] = len(out)
        out += num + b" 0 obj\n" + body + b"endobj\n"
    trailer = re.search(rb"trailer\s*<<(.*?)>>", pdf, re.DOTALL)
    assert trailer is not None
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (max(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[i] for i in range(1, max(offsets) + 1))
    out += b"trailer\n<<" + trailer.group(1) + b">>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _mutant(seed: int, flips: int = 20) -> bytes:
    """T01 with ``flips`` random bit flips (fixed seed) in its content streams."""
    data = bytearray(_uncompressed(T01.read_bytes()))
    start = data.find(b"stream\n")
    rng = random.Random(seed)
    for _ in range(flips):
        i = rng.randrange(start, len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def _one_line_naming(message: str, path: Path) -> bool:
    return "\n" not in message.strip() and str(path) in message


def _seed(project: Path) -> Store:
    store = Store.open(project)
    with open(EXAMPLE / "trials.csv", encoding="utf-8") as fh:
        trials = list(csv.DictReader(fh))
    recs = [Record(title=t["title"], year=int(t["year"]), doi=t["doi"], authors=t["authors"].split("; "))
            for t in trials]
    store.add_import(path=project / "seed.ris", sha256="a" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=recs)
    return store


def _folder(tmp_path: Path, *names: str) -> Path:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for name in names:
        shutil.copy(EXAMPLE / "pdfs" / f"{name[:3]}.pdf", pdfs / name)
    return pdfs


# -- damaged PDFs ------------------------------------------------------------------------------------------
def test_glyphs_of_size_zero_are_grouped_into_lines_without_dividing_by_zero() -> None:
    words = [Word("with", 114.0, 114.0, -551.5, 0.0), Word("a", 113.9, 113.9, -551.5, 0.0),
             Word("trial", 10.0, 30.0, 100.0, 9.0)]
    lines = group_lines(words)
    assert sorted(w.text for line in lines for w in line) == ["a", "trial", "with"]


def test_a_bit_flipped_pdf_is_read_or_refused_in_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "flipped.pdf"
    path.write_bytes(_mutant(ZERO_SIZE_SEED))
    doc = read_pdf(path)  # the glyphs whose size the flips zeroed are not drawn, so not read
    assert "randomized" in doc.text.lower()
    extract(doc)
    for seed in range(100, 130):  # the neighbours: each reads, or fails as one line naming the file
        path.write_bytes(_mutant(seed))
        try:
            extract(read_pdf(path))
        except PdfError as exc:
            assert _one_line_naming(str(exc), path)


@pytest.mark.timeout(30)
def test_read_pdf_refuses_a_fifo_and_a_directory_without_opening_them(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    (tmp_path / "folder.pdf").mkdir()
    for path in (fifo, tmp_path / "folder.pdf"):
        with pytest.raises(PdfError) as caught:
            read_pdf(path)
        assert caught.value.status == "not_a_file" and _one_line_naming(str(caught.value), path)


@pytest.mark.timeout(30)
def test_extract_pdf_on_a_non_pdf_a_damaged_pdf_or_a_fifo_exits_with_one_line(tmp_path: Path, cli) -> None:
    text = tmp_path / "notes.pdf"
    text.write_text("these are my notes, not a PDF\n")
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(_mutant(ZERO_SIZE_SEED)[:3000])
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    for path in (text, flipped, fifo):
        result = cli("extract-pdf", path)
        assert result.exit_code == 7, (path, result.stdout, result.stderr)
        assert _one_line_naming(" ".join(result.stderr.split()), path) and "Traceback" not in result.stderr
    assert cli("extract-pdf", _write(tmp_path / "z.pdf", _mutant(ZERO_SIZE_SEED))).exit_code == 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- fulltext attach -------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_attach_reports_and_skips_a_directory_dangling_symlink_loop_and_fifo_named_pdf(
        project: Path, tmp_path: Path, cli) -> None:
    _seed(project).close()
    pdfs = _folder(tmp_path, "T01.pdf", "T02.pdf")
    (pdfs / "a-folder.pdf").mkdir()
    (pdfs / "b-gone.pdf").symlink_to(tmp_path / "nowhere.pdf")
    (pdfs / "c-loop.pdf").symlink_to(pdfs / "c-loop.pdf")
    os.mkfifo(pdfs / "d-pipe.pdf")
    result = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert sorted(Path(a["path"]).name for a in report["attached"]) == ["T01.pdf", "T02.pdf"]
    why = {Path(s["path"]).name: s["why"] for s in report["skipped"]}
    assert set(why) == {"a-folder.pdf", "b-gone.pdf", "c-loop.pdf", "d-pipe.pdf"}
    assert "directory" in why["a-folder.pdf"] and "missing" in why["b-gone.pdf"]
    assert "loop" in why["c-loop.pdf"] and "FIFO" in why["d-pipe.pdf"]
    shown = cli("fulltext", "attach", pdfs, "--all", "--project", project)
    assert shown.exit_code == 0 and "Traceback" not in shown.stderr
    assert all(name in " ".join(shown.stderr.split()) for name in why)  # one warning line each


def test_attach_finds_pdfs_whose_extension_is_upper_case(project: Path, tmp_path: Path, cli) -> None:
    _seed(project).close()
    pdfs = _folder(tmp_path, "T01.PDF", "T03.Pdf")
    report = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json").json()
    assert sorted((Path(a["path"]).name, a["record_id"]) for a in report["attached"]) == [("T01.PDF", 1),
                                                                                           ("T03.Pdf", 3)]


def test_attach_one_file_by_its_doi_or_to_the_record_given(project: Path, tmp_path: Path, cli) -> None:
    _seed(project).close()
    pdfs = _folder(tmp_path, "T01.pdf", "T04.pdf")
    one = cli("fulltext", "attach", pdfs / "T01.pdf", "--project", project, "--json")
    assert one.exit_code == 0, one.stderr
    assert [(a["record_id"], a["matched_by"]) for a in one.json()["attached"]] == [(1, "doi")]
    by_hand = cli("fulltext", "attach", pdfs / "T04.pdf", "--record", "7", "--project", project, "--json")
    assert [(a["record_id"], a["matched_by"]) for a in by_hand.json()["attached"]] == [(7, "manual")]
    scanned = _write(tmp_path / "scan.pdf", b"%PDF-1.4\n garbage")
    refused = cli("fulltext", "attach", scanned, "--project", project)
    assert refused.exit_code != 0 and "--record" in refused.stderr and "Traceback" not in refused.stderr
    kept = cli("fulltext", "attach", scanned, "--record", "2", "--project", project, "--json").json()
    assert [(a["record_id"], a["status"]) for a in kept["attached"]] == [(2, "broken")]
    missing = cli("fulltext", "attach", tmp_path / "nope.pdf", "--project", project)
    assert missing.exit_code == 7 and _one_line_naming(" ".join(missing.stderr.split()), tmp_path / "nope.pdf")


def test_attached_pdfs_are_copied_in_by_hash_and_the_project_folder_can_move(
        project: Path, tmp_path: Path, cli) -> None:
    _seed(project).close()
    pdfs = _folder(tmp_path, "T01.pdf", "T02.pdf")
    report = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json").json()
    sha = hashlib.sha256(T01.read_bytes()).hexdigest()
    stored = {Path(a["path"]).name: a["stored"] for a in report["attached"]}
    assert stored["T01.pdf"].startswith(f"fulltext/{sha[:2]}/{sha}") and stored["T01.pdf"].endswith(".pdf")
    assert (project / stored["T01.pdf"]).read_bytes() == T01.read_bytes()

    copy = _write(tmp_path / "renamed.pdf", T01.read_bytes())  # the same content again: nothing to do
    again = cli("fulltext", "attach", copy, "--project", project, "--json").json()
    assert again["attached"] == [] and again["already"] == [str(copy)]
    assert sum(1 for _ in (project / "fulltext").rglob("*.pdf")) == 2

    shutil.rmtree(pdfs)
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    result = cli("extract", "--project", moved, "--json")
    assert result.exit_code == 0, result.stderr
    assert [s["status"] for s in result.json()["fulltexts"]] == ["ok", "ok"]
    store = Store.open(moved)
    rows = store.extractions(record_id=1)
    first = next(r for r in rows if r.page and r.quote)
    path = {f.id: f.path for f in store.fulltexts()}[first.fulltext_id]
    assert str(page_context(path, first.page, first.quote)).find(first.quote[:10]) >= 0
    assert Path(path).is_relative_to(moved)
    store.close()


def test_a_project_with_absolute_paths_keeps_working_and_is_copied_in_on_the_next_attach(
        project: Path, tmp_path: Path, cli) -> None:
    store = _seed(project)
    (tmp_path / "elsewhere").mkdir()
    outside = _write(tmp_path / "elsewhere" / "T01.pdf", T01.read_bytes())
    sha = hashlib.sha256(T01.read_bytes()).hexdigest()
    fid = store.add_fulltext(record_id=1, path=outside, sha256=sha, n_pages=2, status="ok", message=None,
                             matched_by="doi")
    store.close()
    assert cli("extract", "--project", project).exit_code == 0  # an old row: read where it is

    pdfs = _folder(tmp_path, "T02.pdf")
    report = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json").json()
    assert [c["fulltext_id"] for c in report["copied_in"]] == [fid]
    store = Store.open(project)
    row = next(f for f in store.fulltexts() if f.id == fid)
    assert row.stored_path.startswith(f"fulltext/{sha[:2]}/") and Path(row.path).read_bytes() == \
        T01.read_bytes()
    store.close()
