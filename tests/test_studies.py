"""metasift studies import / list: study-level fields from a CSV, stored with an audit event, all or nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from metasift.records import Record
from metasift.store import Store
from tests.helpers import seed_store

RECORDS = [Record(title="Group chat for low mood", authors=["Smith, A"], year=2019),
           Record(title="App support for anxiety", authors=["Jones, B"], year=2020),
           Record(title="Peer forum for stress", authors=["Lee, C"], year=2021)]


@pytest.fixture
def seeded(project: Path) -> Path:
    seed_store(project, RECORDS).close()
    return project


def _csv(tmp_path: Path, text: str, name: str = "studies.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_by_study_label_stores_each_field_and_logs_one_event(seeded: Path, tmp_path: Path, cli) -> None:
    path = _csv(tmp_path, "study,female_pct,guidance\nSmith 2019,72.5,human\nJones 2020,,none\n")
    res = cli("studies", "import", path, "--by", "alice", "--json", "--project", seeded)
    assert res.exit_code == 0, res.stderr
    assert res.json() == {"file": str(path), "studies": 2, "fields": ["female_pct", "guidance"], "values": 3}
    store = Store.open(seeded)
    assert [(v.record_id, v.field, v.value, v.source, v.imported_by) for v in store.study_fields()] == [
        (1, "female_pct", "72.5", "studies.csv:2", "alice"), (1, "guidance", "human", "studies.csv:2", "alice"),
        (2, "guidance", "none", "studies.csv:3", "alice")]
    store.close()
    db = sqlite3.connect(seeded / "metasift.db")
    (payload,) = db.execute("select payload from events where action = 'studies_import'").fetchone()
    assert '"studies": 2' in payload and '"values": 3' in payload


def test_a_field_imported_again_replaces_the_earlier_values(seeded: Path, tmp_path: Path, cli) -> None:
    cli("studies", "import", _csv(tmp_path, "record_id,guidance\n1,human\n2,none\n"), "--project", seeded)
    cli("studies", "import", _csv(tmp_path, "record_id,guidance\n1,automated\n", "again.csv"), "--project", seeded)
    res = cli("studies", "list", "--json", "--project", seeded)
    assert res.json()["studies"] == [{"record_id": 1, "study": "Smith 2019", "fields": {"guidance": "automated"}},
                                     {"record_id": 2, "study": "Jones 2020", "fields": {"guidance": "none"}}]


@pytest.mark.parametrize(("text", "where", "what"), [
    ("female_pct\n70\n", ":1:", "no record_id or study column"),
    ("study,female_pct\nSmith 2019,70\nNobody 1999,60\n", ":3:", "'Nobody 1999' is not a study of this project"),
    ("record_id,female_pct\n1,70\n9,60\n", ":3:", "record_id '9' is not a record"),
    ("record_id,female_pct\n1,70\n1,60\n", ":3:", "the study of line 2 again"),
    ("record_id,yi\n1,0.3\n", ":1:", "'yi' is already a field of every effect size"),
    ("record_id,female pct\n1,70\n", ":1:", "not a field name"),
    ("record_id,female_pct\n1,70,extra\n", ":2:", "3 cells but the header has 2 columns"),
    ("record_id\n1\n", ":1:", "no field columns"),
])
def test_bad_input_is_one_line_naming_the_file_and_line_and_stores_nothing(
        seeded: Path, tmp_path: Path, cli, text: str, where: str, what: str) -> None:
    path = _csv(tmp_path, text)
    res = cli("studies", "import", path, "--project", seeded)
    assert res.exit_code == 4
    line = res.stderr.strip()
    assert "\n" not in line and f"studies.csv{where}" in line and what in line
    store = Store.open(seeded)
    assert store.study_fields() == []
    store.close()


def test_a_label_two_records_share_must_be_given_by_record_id(project: Path, tmp_path: Path, cli) -> None:
    seed_store(project, [*RECORDS, Record(title="Another Smith trial", authors=["Smith, D"], year=2019)]).close()
    res = cli("studies", "import", _csv(tmp_path, "study,guidance\nsmith 2019,human\n"), "--project", project)
    assert res.exit_code == 4 and "names 2 records (1, 4): use a record_id column" in res.stderr


def test_a_record_with_study_fields_keeps_its_import_from_being_removed(seeded: Path, tmp_path: Path, cli) -> None:
    cli("studies", "import", _csv(tmp_path, "record_id,guidance\n2,human\n"), "--project", seeded)
    res = cli("import", "--undo", "1", "--project", seeded)
    assert res.exit_code != 0 and "1 study field on record 2" in res.stderr


def test_list_without_fields_says_how_to_import_them(seeded: Path, cli) -> None:
    res = cli("studies", "list", "--project", seeded)
    assert res.exit_code == 0 and "metasift studies import" in res.stderr


def test_a_shared_label_means_the_record_included_in_the_review(project: Path, tmp_path: Path) -> None:
    from metasift.studies import read_study_csv

    store = seed_store(project, [*RECORDS, Record(title="Another Smith trial", authors=["Smith, D"], year=2019)])
    records = store.records_table(primary_only=True)
    store.close()
    path = _csv(tmp_path, "study,guidance\nSmith 2019,human\n")
    found = read_study_csv(path, records, prefer=[set(), {4, 2}])  # nothing at full text; 4 at title/abstract
    assert [(r.record_id, r.values) for r in found.rows] == [(4, {"guidance": "human"})]
