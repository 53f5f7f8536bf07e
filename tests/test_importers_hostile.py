"""Importers on hostile and odd files (issue #18): no hang, no traceback, short errors, skip_bad, encodings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metasift.errors import ImportFormatError
from metasift.importers import read_file

HOSTILE = Path(__file__).parent / "fixtures" / "import" / "hostile"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- hangs and unbalanced braces


@pytest.mark.timeout(20)
def test_an_unclosed_preamble_is_an_error_not_a_hang() -> None:
    path = HOSTILE / "unclosed_preamble.bib"
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert err.value.line == 1 and "not closed before the next entry at line 2" in str(err.value)
    assert "--skip-bad" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.timeout(20)
def test_skip_bad_leaves_out_the_unclosed_preamble_and_keeps_the_article() -> None:
    result = read_file(HOSTILE / "unclosed_preamble.bib", skip_bad=True)
    assert [r.title for r in result.records] == ["T"]
    where = HOSTILE / "unclosed_preamble.bib"
    what = "@preamble entry is not closed before the next entry at line 2: unbalanced braces"
    assert result.skipped == [f"{where}:1: {what}"]


@pytest.mark.timeout(20)
def test_a_stray_comment_line_in_a_csv_is_read_as_a_table_not_a_hang(tmp_path: Path) -> None:
    path = write(tmp_path, "scopus.csv", "Title,Year\nFirst,2020\n@comment{\nSecond,2021\nThird,2022\n")
    result = read_file(path)
    assert result.format == "csv"
    assert [r.title for r in result.records] == ["First", "@comment{", "Second", "Third"]


@pytest.mark.timeout(20)
def test_a_stray_comment_line_in_a_wos_tab_delimited_file_is_not_a_hang(tmp_path: Path) -> None:
    text = "PT\tAU\tTI\tPY\tUT\t\nJ\tSmith, J\tFirst\t2020\tWOS:1\t\n@comment{\nJ\tDoe, J\tSecond\t2021\tWOS:2\t\n"
    result = read_file(write(tmp_path, "savedrecs.txt", text))
    assert (result.format, result.layout) == ("csv", "wos")
    assert [r.title for r in result.records if r.title] == ["First", "Second"]


@pytest.mark.timeout(20)
def test_many_unclosed_comments_stay_fast(tmp_path: Path) -> None:
    text = "@article{a, title={A}, year=2020}\n" + "@comment{\n" * 20_000 + "@article{b, title={B}}\n"
    started = time.perf_counter()
    result = read_file(write(tmp_path, "many.bib", text), skip_bad=True)
    assert time.perf_counter() - started < 10
    assert [r.title for r in result.records] == ["A", "B"]
    assert len(result.skipped) == 1000 + 1 and "more skipped entries" in result.skipped[-1]


# ---------------------------------------------------------------- format detection


def test_an_at_sign_opening_a_cell_keeps_the_file_a_csv() -> None:
    result = read_file(HOSTILE / "at_in_cell.csv")
    assert result.format == "csv"
    assert [(r.title, r.year) for r in result.records] == [
        ("First real title", 2020),
        ("@home(2021) study", 2021),
        ("Third", 2022),
    ]


# ---------------------------------------------------------------- BibTeX content


def test_every_latex_accent_and_text_macro_becomes_unicode() -> None:
    record = read_file(HOSTILE / "latex.bib").records[0]
    assert record.title == "Genes of Drosophila in Über café: 50% of cases"
    assert record.authors[:2] == ["García Martínez, José", "Díaz, María"]


def test_an_uppercase_and_separates_bibtex_authors() -> None:
    record = read_file(HOSTILE / "latex.bib").records[0]
    assert len(record.authors) == 3 and "World Health Organization" in record.authors[2]


def test_a_bibtex_key_with_a_space_keeps_every_entry_of_a_scopus_export() -> None:
    result = read_file(HOSTILE / "scopus_key_space.bib")
    assert [r.title for r in result.records] == ["Screening with rules", "A second paper"]
    assert result.records[0].raw["ID"] == "Conference paper2022775"
    assert result.layout == "scopus"


def test_without_skip_bad_the_error_names_the_first_bad_entry_and_suggests_skip_bad(tmp_path: Path) -> None:
    text = (
        "@article{good1, title={One}, year=2020}\n"
        "@article{bad1, title={Two}, journal = nosuchmacro}\n"
        "@article{good2, title={Three}, year=2021}\n"
        "@book{bad2, title={Four}\n"
        "@article{good3, title={Five}, year=2022}\n"
    )
    path = write(tmp_path, "mixed.bib", text)
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert err.value.line == 2 and "--skip-bad" in str(err.value)
    result = read_file(path, skip_bad=True)
    assert [r.title for r in result.records] == ["One", "Three", "Five"]
    assert [s.split(": ", 1)[0] for s in result.skipped] == [f"{path}:2", f"{path}:4"]


# ---------------------------------------------------------------- encodings


def test_a_gbk_bib_is_detected_as_a_chinese_codec() -> None:
    result = read_file(HOSTILE / "gbk.bib")
    assert result.encoding == "gb18030"
    assert result.records[0].title == "社交媒体对青少年抑郁症状的影响：一项随机对照试验"
    assert any("--encoding" in w for w in result.warnings)


def test_a_named_encoding_replaces_detection() -> None:
    result = read_file(HOSTILE / "gbk.bib", encoding="gbk")
    assert result.encoding == "gbk" and result.warnings == []
    assert result.records[0].authors[0].startswith("王")


def test_an_unknown_encoding_name_is_an_error_naming_it() -> None:
    with pytest.raises(ImportFormatError, match="unknown encoding 'klingon-8'"):
        read_file(HOSTILE / "gbk.bib", encoding="klingon-8")


def test_a_file_the_named_encoding_cannot_decode_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.ris"
    path.write_bytes("TY  - JOUR\nTI  - Über\nER  - \n".encode("latin-1"))
    with pytest.raises(ImportFormatError, match="not valid utf-8") as err:
        read_file(path, encoding="utf-8")
    assert err.value.line == 2


def test_a_latin1_guess_with_many_non_ascii_bytes_names_the_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "cyrillic.ris"  # Windows-1251: a single-byte codec, so read as Latin-1 with the hint
    path.write_bytes("TY  - JOUR\nTI  - Влияние социальных сетей на депрессию\nER  - \n".encode("cp1251"))
    result = read_file(path)
    assert result.encoding == "latin-1"
    assert any("--encoding" in w for w in result.warnings)
    assert read_file(path, encoding="cp1251").records[0].title == "Влияние социальных сетей на депрессию"


# ---------------------------------------------------------------- tagged formats


def test_eric_pubmed_format_reads_a_value_that_starts_with_its_tag() -> None:
    result = read_file(HOSTILE / "eric.nbib")
    assert result.format == "nbib" and result.layout == "eric"
    record = result.records[0]
    assert (record.title, record.issn, record.year) == ("Peer tutoring in rural schools", "1234-4567", 2019)


def test_a_ris_record_without_er_before_a_comment_and_the_next_ty_is_two_records() -> None:
    result = read_file(HOSTILE / "missing_er.ris")
    assert [(r.title, r.year) for r in result.records] == [("First", 2020), ("Second", None)]
    assert any("not closed by ER before the next TY" in w and "lines 1" in w for w in result.warnings)


@pytest.mark.parametrize("name", ["truncated.enw", "truncated.nbib"])
def test_a_cut_off_last_record_is_imported_with_a_warning_naming_its_line(name: str) -> None:
    result = read_file(HOSTILE / name)
    assert len(result.records) == 3
    assert any("last record (line 11) may be cut off" in w and "ends mid-line" in w for w in result.warnings)


def test_skip_bad_in_ris_nbib_wos_and_csv_keeps_the_good_records(tmp_path: Path) -> None:
    files = {
        "a.ris": "TY  - JOUR\nTI  - One\nER  - \n\nstray text\n\nTY  - JOUR\nTI  - Two\nER  - \n",
        "a.nbib": "PMID- 1\nTI  - One\nnot a tag\n\nPMID- 2\nTI  - Two\n",
        "a.txt": "FN Clarivate\nVR 1.0\nPT J\nTI One\nER\nPT J\nTI cut\nPT J\nTI Two\nER\nEF\n",
        "a.csv": "title,year\nOne,2020\nbad,2021,extra\nTwo,2022\n",
    }
    for name, text in files.items():
        path = write(tmp_path, name, text)
        with pytest.raises(ImportFormatError, match="--skip-bad"):
            read_file(path)
        result = read_file(path, skip_bad=True)
        titles = [r.title for r in result.records]  # a MEDLINE record with a bad line is left out whole
        assert titles == (["Two"] if name == "a.nbib" else ["One", "Two"]), name
        assert len(result.skipped) == 1 and result.skipped[0].startswith(f"{path}:"), name


# ---------------------------------------------------------------- exporter layouts


def test_springer_link_csv_is_recognised() -> None:
    result = read_file(HOSTILE / "springer.csv")
    assert (result.format, result.layout) == ("csv", "springer")
    first, chapter = result.records
    assert (first.title, first.journal, first.volume, first.issue, first.year) == (
        "Walking groups and blood pressure",
        "Journal of Fictional Health",
        "12",
        "3",
        2021,
    )
    assert first.doi == "10.1007/s00000-021-0001-x"
    assert len(first.authors) == 2 and "McDonald" in first.authors[1]
    assert chapter.journal == "Lecture Notes in Fiction"


# ---------------------------------------------------------------- size and message length


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "suffix,head",
    [(".ris", "TY  - JOUR\nTI  - "), (".bib", "@article{k, title={"), (".csv", 'title,year\n"')],
)
def test_a_50_mb_line_without_a_newline_gives_a_short_error_or_a_record(
    tmp_path: Path, suffix: str, head: str
) -> None:
    path = tmp_path / f"huge{suffix}"
    path.write_bytes(head.encode() + b"x" * 50_000_000)
    started = time.perf_counter()
    try:
        read_file(path)
    except ImportFormatError as err:
        assert len(str(err)) < 300 and "\n" not in str(err)
    assert time.perf_counter() - started < 30


def test_an_error_never_echoes_a_whole_huge_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.ris", "TY  - JOUR\nTI  - a\nER  - \n" + "z" * 10_000 + "\n")
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert len(str(err.value)) < len(str(path)) + 200
    path = write(tmp_path, "h.csv", ",".join(f"column number {i} " * 5 for i in range(200)) + "\n1,2\n")
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert len(str(err.value)) < len(str(path)) + 260


@pytest.mark.timeout(30)
def test_a_record_with_many_wrapped_lines_is_read_in_linear_time(tmp_path: Path) -> None:
    text = "TY  - JOUR\nTI  - t\nAB  - start\n" + "wrapped abstract text\n" * 300_000 + "ER  - \n"
    started = time.perf_counter()
    record = read_file(write(tmp_path, "long.ris", text)).records[0]
    assert time.perf_counter() - started < 15
    assert record.abstract is not None and record.abstract.startswith("start")


def test_an_entry_megabytes_long_is_a_bad_entry_not_a_minutes_long_parse(tmp_path: Path) -> None:
    path = tmp_path / "huge.bib"
    path.write_text("@article{a, title={Kept}, year=2020}\n@article{k1,\n title={T},\nAB  - " + '"' * 2_000_000
                    + "\n year={2020}\n}\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ImportFormatError, match=r"huge.bib:2: @article entry is 2,000,0\d\d characters long"):
        read_file(path)
    result = read_file(path, skip_bad=True)
    assert [r.title for r in result.records] == ["Kept"] and len(result.skipped) == 1
    assert time.perf_counter() - start < 5
