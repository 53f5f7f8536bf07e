"""Importers: every real export sample, committed fixtures per exporter layout, malformed files, encodings."""

from __future__ import annotations

import codecs
import csv
import json
import re
from pathlib import Path

import pytest

from metasift.errors import ImportFormatError
from metasift.importers import ImportResult, detect_format, read_file
from metasift.importers.decode import decode
from metasift.importers.normalize import (
    clean_text,
    norm_author,
    norm_doi,
    norm_issn,
    norm_pages,
    norm_pmid,
    norm_year,
    parse_label,
    split_authors,
)

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXPORTS = SHARED / "exports"
SCREENING = SHARED / "screening"
WALKING = "Walking groups and blood pressure in older adults: a cluster randomised trial in three cities"
DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")

# file -> (format, layout, records, records with a DOI, records with a year). Record counts are the
# README's, except aisel_enw.enw: the README counted "%0" lines (2), but 4 of its 6 records have no %0.
SHARED_EXPECTED = {
    "aisel_enw.enw": ("enw", "generic", 6, 0, 6),
    "asreview-zotero_ris_labels.ris": ("ris", "asreview", 6, 5, 5),  # one DOI from a .../doi/full/ link
    "asreview_ris_labels-fixture.ris": ("ris", "asreview", 32, 0, 0),
    "cinahl_csv.csv": ("csv", "cinahl", 10, 10, 10),
    "cinahl_ris.ris": ("ris", "ebsco", 9, 9, 9),
    "cochrane_csv.csv": ("csv", "cochrane", 3, 3, 3),
    "cochrane_ris.ris": ("ris", "cochrane", 3, 3, 3),
    "covidence_csv.csv": ("csv", "covidence", 10, 10, 10),
    "covidence_ris.ris": ("ris", "generic", 10, 10, 10),
    "ebsco-asp_ris.ris": ("ris", "ebsco", 4, 2, 4),
    "embase_csv.csv": ("csv", "embase", 10, 10, 10),
    "embase_csv_2.csv": ("csv", "embase", 6, 6, 6),
    "embase_ris.ris": ("ris", "embase", 10, 10, 10),
    "embase_ris_2.ris": ("ris", "embase", 6, 6, 6),
    "endnote_bib.bib": ("bibtex", "generic", 1, 0, 1),
    "endnote_ris.ris": ("ris", "generic", 10, 10, 10),
    "endnote_ris_2.ris": ("ris", "endnote", 100, 100, 100),
    "eric-ovid_ris.ris": ("ris", "eric", 10, 0, 10),
    "librarycatalog_enw.enw": ("enw", "generic", 1, 0, 1),
    "mendeley_ris.ris": ("ris", "generic", 10, 10, 10),
    "ovid_ris.ris": ("ris", "ovid", 4, 3, 4),
    "psycinfo-apa_ris.ris": ("ris", "psycinfo", 1, 1, 1),
    "psycinfo-ovid_ris.ris": ("ris", "psycinfo", 10, 10, 10),
    "psycinfo-ovid_ris_2.ris": ("ris", "ovid", 6, 6, 6),
    "pubmed_csv.csv": ("csv", "pubmed", 10, 10, 10),
    "pubmed_csv_2.csv": ("csv", "pubmed", 6, 6, 6),
    "pubmed_medline.nbib": ("nbib", "pubmed", 50, 50, 50),
    "pubmed_medline_2.nbib": ("nbib", "pubmed", 3, 3, 3),
    "rayyan_csv.csv": ("csv", "rayyan", 10, 10, 10),
    "rayyan_ris.ris": ("ris", "rayyan", 10, 10, 10),
    "rayyan_ris_2.ris": ("ris", "rayyan", 19, 3, 19),
    "scopus_csv.csv": ("csv", "scopus", 10, 10, 10),
    "scopus_csv_2.csv": ("csv", "scopus", 58, 44, 58),
    "scopus_ris.ris": ("ris", "scopus", 10, 10, 10),
    "scopus_ris_2.ris": ("ris", "scopus", 7, 4, 7),
    "wos_bib.bib": ("bibtex", "wos", 2, 2, 2),
    "wos_plaintext.txt": ("wos", "wos", 50, 47, 50),
    "wos_plaintext_2.txt": ("wos", "wos", 4, 4, 4),
    "wos_ris.ris": ("ris", "wos", 10, 10, 10),
    "wos_tabdelimited-utf16_savedrecs.txt": ("csv", "wos", 50, 47, 50),
    "wos_tabdelimited-utf8_savedrecs.txt": ("csv", "wos", 50, 47, 50),
    "zotero_bib.bib": ("bibtex", "generic", 128, 45, 120),
    "zotero_csv.csv": ("csv", "zotero", 10, 10, 10),
    "zotero_ris.ris": ("ris", "generic", 10, 10, 10),
    "zotero_ris_2.ris": ("ris", "generic", 6, 6, 6),
}
NO_TITLE = {"zotero_bib.bib": 4}  # Zotero wrote four empty "@article{__????}" entries
# records with authors where not every record has them (checked against the files' AU/author lines)
FEW_AUTHORS = {
    "aisel_enw.enw": 4,
    "asreview-zotero_ris_labels.ris": 5,
    "asreview_ris_labels-fixture.ris": 0,
    "eric-ovid_ris.ris": 9,
    "rayyan_ris_2.ris": 3,
    "scopus_csv_2.csv": 49,  # 9 rows say "[No author name available]"
    "zotero_bib.bib": 123,
}


def exports() -> Path:
    if not EXPORTS.is_dir():
        pytest.skip("../shared/data/exports is not available")
    return EXPORTS


def check_records(result: ImportResult) -> None:
    """Invariants every import must keep: normalised fields, increasing lines, JSON-ready raw."""
    lines = [r.line for r in result.records]
    assert all(isinstance(n, int) and n >= 1 for n in lines)
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    for rec in result.records:
        assert rec.doi is None or (DOI_SHAPE.match(rec.doi) and rec.doi == rec.doi.lower()), rec.doi
        assert rec.year is None or (isinstance(rec.year, int) and 1500 <= rec.year <= 2100)
        assert rec.pmid is None or rec.pmid.isdigit()
        assert rec.title is None or (rec.title == rec.title.strip() and "  " not in rec.title)
        assert all(a and a == a.strip() for a in rec.authors)
        assert rec.raw
        json.dumps(rec.raw)


# ---------------------------------------------------------------- real exports in ../shared


def test_every_shared_export_is_listed() -> None:
    names = {p.name for p in exports().iterdir() if p.name != "README.md"}
    assert names == set(SHARED_EXPECTED)


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(SHARED_EXPECTED))
def test_shared_export(name: str) -> None:
    fmt, layout, count, with_doi, with_year = SHARED_EXPECTED[name]
    path = exports() / name
    result = read_file(path)
    assert (result.format, result.layout, len(result.records)) == (fmt, layout, count)
    assert detect_format(path, decode(path, path.read_bytes())[0]) == fmt
    check_records(result)
    assert sum(1 for r in result.records if not r.title) == NO_TITLE.get(name, 0)
    assert sum(1 for r in result.records if r.doi) == with_doi
    assert sum(1 for r in result.records if r.year) == with_year
    assert sum(1 for r in result.records if r.authors) == FEW_AUTHORS.get(name, count)


@pytest.mark.shared
def test_shared_known_values() -> None:
    folder = exports()
    # nbib silently drops the last record when the file has no final blank line; we must not
    last = read_file(folder / "pubmed_medline_2.nbib").records[-1]
    assert (last.pmid, last.doi, last.line) == ("29967742", "10.7717/peerj.5082", 190)
    # Scopus rows with one more "Funding Text" cell than the header are re-aligned, not shifted
    scopus = {r.line: r for r in read_file(folder / "scopus_csv_2.csv").records}
    assert scopus[4].pmid == "35064163" and scopus[4].language == "English"
    assert scopus[4].raw["EID"] == "2-s2.0-85123480963" and scopus[4].issn == "2045-2322"
    # the two WoS tab-delimited encodings hold the same records
    utf8 = read_file(folder / "wos_tabdelimited-utf8_savedrecs.txt")
    utf16 = read_file(folder / "wos_tabdelimited-utf16_savedrecs.txt")
    assert (utf8.encoding, utf16.encoding) == ("utf-8-sig", "utf-16")
    strip = [r.model_dump(exclude={"raw"}) for r in utf8.records]
    assert strip == [r.model_dump(exclude={"raw"}) for r in utf16.records]
    # WoS plain text and tab-delimited are the same 50 records
    plain = read_file(folder / "wos_plaintext.txt").records
    assert [r.doi for r in plain] == [r.doi for r in utf8.records]
    assert [r.title for r in plain] == [r.title for r in utf8.records]
    assert [r.authors for r in plain] == [r.authors for r in utf8.records]
    # ASReview label notes: 10 relevant, 10 irrelevant, the rest unlabelled
    labels = [r.label for r in read_file(folder / "asreview_ris_labels-fixture.ris").records]
    assert (labels.count(1), labels.count(0), labels.count(None)) == (10, 10, 12)
    # Ovid writes "NL  - ..." and a link line after ER: they stay with their record
    ovid = read_file(folder / "psycinfo-ovid_ris_2.ris").records[0]
    assert ovid.raw["NL"] == "Clin Psychol Psychother" and ovid.raw["_untagged"].startswith(
        "Link to the Ovid"
    )
    assert ovid.doi == "10.1002/cpp.2398"  # from "DO  - http://dx.doi.org/10.1002/cpp.2398"
    # EndNote keywords continue on untagged lines, one per line
    endnote = read_file(folder / "endnote_ris.ris").records[0]
    assert endnote.keywords == [
        "article",
        "biostratigraphy",
        "Colorado",
        "dinosaur",
        "nonhuman",
        "tibia",
        "transverse process",
        "Upper Jurassic",
    ]


@pytest.mark.shared
@pytest.mark.parametrize("name", ["cohen_adhd.csv", "van_de_Schoot_2017_ptsd.csv"])
def test_screening_sets(name: str) -> None:
    path = SCREENING / name
    if not path.is_file():
        pytest.skip("../shared/data/screening is not available")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    result = read_file(path)
    assert (result.format, result.layout, len(result.records)) == ("csv", "asreview", len(rows))
    assert [r.label for r in result.records] == [int(row["label_included"]) for row in rows]
    assert [r.title for r in result.records] == [row["title"] or None for row in rows]
    assert sum(1 for r in result.records if r.doi) == sum(1 for row in rows if row["doi"])
    check_records(result)


# ---------------------------------------------------------------- committed fixtures

# file -> (format, layout, encoding, count, fields of the first record)
FIXTURE_EXPECTED = {
    "pubmed.nbib": (
        "nbib",
        "pubmed",
        "utf-8",
        2,
        {
            "pmid": "30922926",
            "doi": "10.1016/j.ejmg.2019.03.004",
            "year": 2020,
            "volume": "63",
            "issue": "2",
            "pages": "103640",
            "title": "Time lapse: A glimpse into prehistoric genomics.",
            "journal": "European journal of medical genetics",
        },
    ),
    "scopus.ris": (
        "ris",
        "scopus",
        "utf-8-sig",
        2,
        {
            "doi": "10.1038/s41467-024-46843-2",
            "pmid": "38580657",
            "year": 2024,
            "issn": "2041-1723",
            "line": 1,
            "title": "Global latitudinal gradients and the evolution of body size in dinosaurs and mammals",
        },
    ),
    "scopus.csv": (
        "csv",
        "scopus",
        "utf-8-sig",
        1,
        {
            "doi": "10.1038/s41467-024-46843-2",
            "year": 2024,
            "pages": "2864",
            "journal": "Nature Communications",
        },
    ),
    "scopus_ragged.csv": (
        "csv",
        "scopus",
        "utf-8-sig",
        2,
        {
            "authors": ["Phillips, J.C.", "Braun, R."],
            "pages": "1781-1802",
            "year": 2005,
            "doi": "10.1000/jfc.20289",
        },
    ),
    "wos.ris": (
        "ris",
        "wos",
        "utf-8-sig",
        2,
        {"doi": "10.1371/journal.pone.0012292", "year": 2010, "volume": "5"},
    ),
    "wos_plain.txt": (
        "wos",
        "wos",
        "utf-8-sig",
        2,
        {
            "authors": ["Nguyen, Thi Hoa", "Silva, Marco"],
            "pmid": "33445566",
            "pages": "201-209",
            "title": WALKING,
            "keywords": ["walking", "older adults", "blood pressure", "cluster randomised trial"],
            "line": 3,
        },
    ),
    "wos_savedrecs_utf16.txt": (
        "csv",
        "wos",
        "utf-16",
        2,
        {
            "authors": ["Nguyen, Thi Hoa", "Silva, Marco"],
            "issn": "1234-5679",
            "doi": "10.1000/jfhs.2021.0301",
        },
    ),
    "embase.ris": ("ris", "embase", "utf-8", 2, {"pmid": "38773066", "doi": "10.1038/s41467-024-48400-3"}),
    "embase.csv": (
        "csv",
        "embase",
        "utf-8",
        2,
        {"pmid": "38773066", "year": 2024, "line": 5, "volume": "15"},
    ),
    "eric_ovid.ris": ("ris", "eric", "utf-8", 2, {"line": 2, "year": 1989, "pages": "24-26"}),
    "cochrane.ris": (
        "ris",
        "cochrane",
        "utf-8",
        2,
        {"line": 5, "pmid": "21314913", "doi": "10.1186/1745-6215-12-39"},
    ),
    "cochrane.csv": (
        "csv",
        "cochrane",
        "utf-8",
        2,
        {
            "pmid": "21314913",
            "authors": ["Bywater, T", "Hutchings, J", "Whitaker, C", "Evans, C", "Parry, L"],
        },
    ),
    "zotero.ris": ("ris", "generic", "utf-8", 2, {"doi": "10.1038/s41467-024-48400-3", "year": 2024}),
    "zotero.csv": (
        "csv",
        "zotero",
        "utf-8-sig",
        2,
        {"doi": "10.1038/s41467-024-48400-3", "issn": "2041-1723"},
    ),
    "endnote.ris": ("ris", "generic", "utf-8", 2, {"doi": "10.1002/ar.25520", "year": 2024}),
    "rayyan.ris": ("ris", "rayyan", "utf-8", 2, {"doi": "10.1038/s41467-024-48400-3", "label": 1}),
    "rayyan.csv": (
        "csv",
        "rayyan",
        "utf-8",
        3,
        {
            "doi": "10.1038/s41467-024-48400-3",
            "label": 1,
            "authors": ["Yang, Z.", "Jiang, B.", "Xu, J.", "McNamara, M.E."],
            "url": "https://www.embase.com/search/results?subaction=viewrecord&id=L2029880245&from=export",
        },
    ),
    "ebsco.ris": ("ris", "ebsco", "utf-8", 2, {"doi": "10.1371/journal.pone.0298242", "year": 2024}),
    "covidence.csv": ("csv", "covidence", "utf-8", 2, {"doi": "10.1038/s41467-024-48400-3", "year": 2024}),
    "cinahl.csv": ("csv", "cinahl", "utf-8", 2, {"issn": "1932-6203", "year": 2024, "pages": "1-60"}),
    "pubmed.csv": (
        "csv",
        "pubmed",
        "utf-8-sig",
        2,
        {
            "pmid": "30922926",
            "volume": "63",
            "issue": "2",
            "pages": "103640",
            "authors": ["Griffin, DK", "Larkin, DM", "O'Connor, RE"],
        },
    ),
    "asreview_labels.ris": (
        "ris",
        "asreview",
        "utf-8-sig",
        3,
        {"doi": "10.1000/xyz.2019.001", "label": 1, "authors": ["Jansen, Pieter", "de Vries, Anna M."]},
    ),
    "asreview.csv": (
        "csv",
        "asreview",
        "utf-8",
        3,
        {
            "label": 1,
            "doi": "10.1000/abc.18.1",
            "authors": ["Smith, Jane", "Brown, Tom"],
            "abstract": "Students (n = 48) were randomised to eight weeks of mindfulness or a waiting list.",
        },
    ),
    "zotero.bib": (
        "bibtex",
        "generic",
        "utf-8",
        3,
        {
            "title": "Mindfulness for Exam Stress: A Pilot Trial in Münster",
            "pages": "113-121",
            "year": 2018,
            "authors": ["Smith, Jane", "Brown, Tom", "World Fictional Health Group"],
            "line": 2,
            "abstract": "Students were randomised to eight weeks of mindfulness (50% attended all sessions).",
        },
    ),
    "endnote.bib": ("bibtex", "generic", "utf-8", 1, {"pages": "1204-1222", "year": 2016, "line": 2}),
    "wos.bib": (
        "bibtex",
        "wos",
        "utf-8-sig",
        1,
        {
            "title": WALKING,
            "doi": "10.1000/jfhs.2021.0301",
            "line": 3,
        },
    ),
    "aisel.enw": (
        "enw",
        "generic",
        "utf-8",
        2,
        {
            "title": "Trust and Commitment on Fictional Platforms",
            "year": 2021,
            "pages": "1309-1348",
            "line": 1,
        },
    ),
    "latin1.ris": (
        "ris",
        "generic",
        "latin-1",
        1,
        {"title": "Schlafqualität bei Schülern in München", "authors": ["Müller, Jürgen"]},
    ),
    "generic.tsv": (
        "csv",
        "generic",
        "utf-8",
        2,
        {"doi": "10.1000/fch.2016.9", "pmid": "27182838", "authors": ["Okafor, C.", "Rossi, G."]},
    ),
}


def test_every_fixture_is_listed() -> None:
    names = {p.name for p in FIXTURES.iterdir() if p.is_file() and p.name != "README.md"}
    assert names == set(FIXTURE_EXPECTED)


@pytest.mark.parametrize("name", sorted(FIXTURE_EXPECTED))
def test_fixture(name: str) -> None:
    fmt, layout, encoding, count, fields = FIXTURE_EXPECTED[name]
    result = read_file(FIXTURES / name)
    assert (result.format, result.layout, result.encoding, len(result.records)) == (
        fmt,
        layout,
        encoding,
        count,
    )
    first = result.records[0]
    assert {k: getattr(first, k) for k in fields} == fields
    check_records(result)


def test_fixture_quirks() -> None:
    rayyan = read_file(FIXTURES / "rayyan.csv").records
    assert [r.label for r in rayyan] == [1, 1, None]  # Included, Included, Maybe
    assert read_file(FIXTURES / "asreview_labels.ris").records[2].label is None  # ASReview_not_seen
    assert [r.label for r in read_file(FIXTURES / "asreview.csv").records] == [1, 0, None]
    ragged = read_file(FIXTURES / "scopus_ragged.csv")
    second = ragged.records[1]
    assert (second.pmid, second.language, second.pages, second.line) == ("35064163", "English", "1135", 3)
    assert (
        second.raw["Funding Text 2"] == "Supported by grant B." and second.raw["EID"] == "2-s2.0-85123480963"
    )
    zbib = read_file(FIXTURES / "zotero.bib")
    assert zbib.records[1].title is None and zbib.records[1].raw["ID"] == "__????"
    assert "entry at line 18 has no fields" in zbib.warnings
    assert read_file(FIXTURES / "endnote.bib").records[0].raw["ID"] == ""  # EndNote wrote no key
    embase = read_file(FIXTURES / "embase.csv")
    assert embase.warnings == []  # the "SEARCH QUERY" preamble is known, not a surprise
    cochrane = read_file(FIXTURES / "cochrane.ris").records
    assert [r.line for r in cochrane] == [5, 79]
    enw = read_file(FIXTURES / "aisel.enw").records
    assert enw[1].publication_type is None and enw[1].line == 15  # a record with no %0 is still a record
    generic = read_file(FIXTURES / "generic.tsv").records[1]
    assert (generic.year, generic.doi) == (2020, None)
    endnote = read_file(FIXTURES / "endnote.ris").records[0]
    assert endnote.keywords[:3] == ["article", "biostratigraphy", "Colorado"]


def test_bibtex_variants(tmp_path: Path) -> None:
    text = (
        "Automatically generated by Mendeley Desktop 1.19.4\n\n"
        '@string{jfp = "Journal of Fictional Psychology"}\n'
        "@comment{jabref-meta: databaseType:bibtex;}\n"
        '@article{a, title = {{Braced} Title}, journal = jfp # " (Suppl)", year = 2001}\n'
        '@book(b, title = "Quoted {Title} (with parens)", year = "1999")\n'
    )
    result = read_file(write(tmp_path, "variants.bib", text))
    assert [(r.title, r.journal, r.year, r.line) for r in result.records] == [
        ("Braced Title", "Journal of Fictional Psychology (Suppl)", 2001, 5),
        ("Quoted Title (with parens)", None, 1999, 6),
    ]
    with pytest.raises(ImportFormatError, match="undefined @string macro 'nosuchmacro'") as err:
        read_file(write(tmp_path, "macro.bib", "\n@article{a, title={X},\n journal = nosuchmacro}\n"))
    assert err.value.line == 2


def test_single_column_and_semicolon_csv(tmp_path: Path) -> None:
    one = read_file(write(tmp_path, "titles.csv", "Title\nFirst study\nSecond study\n"))
    assert (one.format, [r.title for r in one.records]) == ("csv", ["First study", "Second study"])
    semi = read_file(write(tmp_path, "semi.csv", "Title;Year;DOI\nA study;2011;10.1000/X\n"))
    assert [(r.title, r.year, r.doi) for r in semi.records] == [("A study", 2011, "10.1000/x")]


def test_fmt_overrides_detection(tmp_path: Path) -> None:
    assert read_file(FIXTURES / "wos.ris", "ris").format == "ris"
    assert read_file(FIXTURES / "pubmed.nbib", fmt="medline").format == "nbib"
    with pytest.raises(ImportFormatError, match="text before the first TY"):
        read_file(FIXTURES / "generic.tsv", fmt="ris")
    with pytest.raises(ImportFormatError, match="unknown format 'xml'"):
        read_file(FIXTURES / "generic.tsv", fmt="xml")


# ---------------------------------------------------------------- malformed files


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


RIS_OK = "TY  - JOUR\nTI  - First\nER  - \n\n"
MALFORMED = [
    ("before.ris", "Exported from somewhere\nTY  - JOUR\nTI  - a\nER  - \n", 1, "text before the first TY"),
    ("unclosed.ris", RIS_OK + "TY  - JOUR\nTI  - never closed\n", 5, "not closed by ER"),
    ("stray_er.ris", RIS_OK + "ER  - \n", 5, "ER without a TY"),
    ("outside.ris", RIS_OK + "some stray text\n" + RIS_OK, 5, "text outside a record"),
    ("missing_ty.ris", RIS_OK + "TI  - no TY line\nER  - \n", 5, "outside a record"),
    ("bad.nbib", "PMID- 1\nTI  - A title\nthis line has no tag\n", 3, "neither a tag nor"),
    ("bad2.nbib", "PMID- 1\nTI  - A\n\nnot medline\n", 4, "expected a MEDLINE tag"),
    (
        "unclosed.txt",
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A\nER\n\nPT J\nTI B\nEF",
        7,
        "not closed by ER before EF",
    ),
    (
        "before.txt",
        "FN Clarivate Analytics Web of Science\nVR 1.0\nTI orphan\nPT J\nER\nEF",
        3,
        "text before the first PT",
    ),
    ("bad.enw", "%0 Journal Article\n%T A\n\nloose text\n%T B\n", 4, "expected an EndNote tag"),
    ("quote.csv", 'title,year\n"a",2000\n"b,2001\nc,2002\n', 3, "unclosed quote"),
    ("notitle.csv", "name,age\nx,1\n", 1, "no recognisable title column"),
    (
        "ragged.csv",
        "title,year\na,2000\nb,2001,surprise\n",
        3,
        "row has 3 fields but the header (line 1) has 2",
    ),
    (
        "open.bib",
        "@article{a,\n title = {x},\n year = {2000}\n\n@article{b,\n title = {y}\n}\n",
        1,
        "not closed before the next entry at line 5",
    ),
    ("eof.bib", "@article{a, title = {ok}}\n\n@book{b,\n title = {never closed\n", 3, "never closed"),
    ("extra.bib", "@article{a,\n title = {x}},\n year = {2000}\n}\n", 1, "unbalanced braces"),
    ("unknown.txt", "just some words\nwithout any structure\n", 1, "unrecognised format"),
]


@pytest.mark.parametrize("name,text,line,what", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_names_the_line(tmp_path: Path, name: str, text: str, line: int, what: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert what in str(err.value)


def test_crlf_lines_count_the_same(tmp_path: Path) -> None:
    path = tmp_path / "crlf.ris"
    path.write_bytes((RIS_OK + "TY  - JOUR\nTI  - x\n").replace("\n", "\r\n").encode())
    with pytest.raises(ImportFormatError) as err:
        read_file(path)
    assert err.value.line == 5


@pytest.mark.parametrize(
    "data,what",
    [
        (b"", "empty file"),
        (b"  \n\n\t\n", "empty file"),
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-an-xlsx", "Excel"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (bytes(range(256)) * 4, "binary file"),
    ],
)
def test_unreadable_files(tmp_path: Path, data: bytes, what: str) -> None:
    path = tmp_path / "file.ris"
    path.write_bytes(data)
    with pytest.raises(ImportFormatError, match=what) as err:
        read_file(path)
    assert err.value.line is None and str(err.value).startswith(f"{path}: ")


def test_no_records(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no records found"):
        read_file(write(tmp_path, "header.csv", "title,year\n"))
    with pytest.raises(ImportFormatError, match="cannot read the file"):
        read_file(tmp_path / "missing.ris")


# ---------------------------------------------------------------- encodings


def test_latin1_decodes_with_a_warning() -> None:
    result = read_file(FIXTURES / "latin1.ris")
    assert result.encoding == "latin-1"
    assert any("Latin-1" in w and "line 2" in w for w in result.warnings)
    assert result.records[0].authors == ["Müller, Jürgen"]


def test_windows_1252_quotes(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.ris"
    path.write_bytes("TY  - JOUR\nTI  - “Smart” phones – a review\nER  - \n".encode("cp1252"))
    result = read_file(path)
    assert result.encoding == "cp1252" and "Windows-1252" in result.warnings[0]
    assert result.records[0].title == "“Smart” phones – a review"


def test_utf8_bom_is_not_part_of_the_first_tag() -> None:
    result = read_file(FIXTURES / "asreview_labels.ris")
    assert result.encoding == "utf-8-sig" and result.records[0].line == 1
    assert "TY" in result.records[0].raw and result.warnings == []


@pytest.mark.parametrize(
    "codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-16-le", b"")]
)
def test_utf16(tmp_path: Path, codec: str, bom: bytes) -> None:
    path = tmp_path / "utf16.ris"
    path.write_bytes(bom + "TY  - JOUR\r\nTI  - Über Schlaf\r\nER  - \r\n".encode(codec))
    result = read_file(path)
    assert result.encoding == "utf-16" and result.records[0].title == "Über Schlaf"
    assert (result.warnings != []) == (bom == b"")  # no BOM: decoded, but say so


# ---------------------------------------------------------------- normalisers


@pytest.mark.parametrize(
    "raw,doi",
    [
        ("10.1000/ABC.123", "10.1000/abc.123"),
        ("https://doi.org/10.1000/ABC.123", "10.1000/abc.123"),
        ("http://dx.doi.org/10.1002/cpp.2398", "10.1002/cpp.2398"),
        ("doi:10.1000/x.1", "10.1000/x.1"),
        ("DOI 10.1000/x.1.", "10.1000/x.1"),
        ("10.1016/j.ejmg.2019.03.004 [doi]", "10.1016/j.ejmg.2019.03.004"),
        (
            "https://www.scopus.com/x?doi=10.1038%2fs41467-024-46843-2&partnerID=40",
            "10.1038/s41467-024-46843-2",
        ),
        ("10.1016/S0048-7333(02)00101-4", "10.1016/s0048-7333(02)00101-4"),
        ("(see 10.1000/abc)", "10.1000/abc"),
        ("10.1007/999-9-999-99999-9\\_3", "10.1007/999-9-999-99999-9_3"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_norm_doi(raw: str | None, doi: str | None) -> None:
    assert norm_doi(raw) == doi


@pytest.mark.parametrize(
    "raw,year",
    [
        ("2021//", 2021),
        ("2021/05/03", 2021),
        ("2019 Mar", 2019),
        ('="4/3/2024"', 2024),
        ("Jun2023", 2023),
        ("September  1, 2021", 2021),
        ("1729///", 1729),
        ("n.d.", None),
        ("12345", None),
        (None, None),
        (1999, 1999),
    ],
)
def test_norm_year(raw: str | int | None, year: int | None) -> None:
    assert norm_year(raw) == year


@pytest.mark.parametrize(
    "start,end,pages",
    [
        ("123", "130", "123-130"),
        ("123-130", None, "123-130"),
        ("113--121", None, "113-121"),
        ("1279\u20101297", None, "1279-1297"),
        ("1204-22", None, "1204-1222"),
        ("e80092", None, "e80092"),
        ("101", "101", "101"),
        (None, "55", "55"),
        ("No-Specified", None, None),
        ("", None, None),
    ],
)
def test_norm_pages(start: str | None, end: str | None, pages: str | None) -> None:
    assert norm_pages(start, end) == pages


@pytest.mark.parametrize(
    "raw,name",
    [
        ("Smith, John", "Smith, John"),
        ("Smith ,  J.", "Smith, J."),
        ("Griffin DK", "Griffin, DK"),
        ("Dos Santos H.B.", "Dos Santos, H.B."),
        ("John Smith", "Smith, John"),
        ("Ludwig van Beethoven", "van Beethoven, Ludwig"),
        ("World Health Organization", "World Health Organization"),
        ("蒋 锐", "蒋 锐"),
        ("{Cochrane Group}", "Cochrane Group"),
        ("  ", None),
    ],
)
def test_norm_author(raw: str, name: str | None) -> None:
    assert norm_author(raw) == name


@pytest.mark.parametrize(
    "cell,sep,names",
    [
        ("Wilson L.N.; Gardner J.D.", None, ["Wilson, L.N.", "Gardner, J.D."]),
        ("Phillips J.C., Braun R., Kalé L.", None, ["Phillips, J.C.", "Braun, R.", "Kalé, L."]),
        ("Yang, Z. and Jiang, B.", None, ["Yang, Z.", "Jiang, B."]),
        ("Yang, Z.", None, ["Yang, Z."]),
        ("[No author name available]", None, []),
        (
            "Curry Rogers, Kristina; Martínez, Ricardo N.",
            ";",
            ["Curry Rogers, Kristina", "Martínez, Ricardo N."],
        ),
    ],
)
def test_split_authors(cell: str, sep: str | None, names: list[str]) -> None:
    assert split_authors(cell, sep) == names


def test_small_normalisers() -> None:
    assert (
        norm_pmid("PUBMED 21314913") == "21314913"
        and norm_pmid("PMID: 123") == "123"
        and norm_pmid("x") is None
    )
    assert norm_issn("20411723 (ISSN)") == "2041-1723" and norm_issn("2167-814x") == "2167-814X"
    assert norm_issn("978-3-86490-311-3") is None
    assert clean_text("A&amp;B of <i>E. coli</i>\n  growth &lt; 5 %") == "A&B of E. coli growth < 5 %"
    assert clean_text("   ") is None
    assert [parse_label(v) for v in ("1", "0", "", "-1", "yes", "Excluded", "maybe")] == [
        1,
        0,
        None,
        None,
        1,
        0,
        None,
    ]


def test_a_new_ty_before_er_starts_the_next_record_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "nested.ris"
    path.write_text(RIS_OK + "TY  - JOUR\nTI  - open\nTY  - JOUR\nTI  - next\nER  - \n", encoding="utf-8")
    result = read_file(path)
    assert [r.title for r in result.records] == ["First", "open", "next"]
    assert any("lines 5" in w and "not closed by ER" in w for w in result.warnings), result.warnings
