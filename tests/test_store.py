"""The store: migrations, one transaction per write, nothing lost, WAL and foreign keys on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from metasift.errors import ProjectError
from metasift.records import Record
from metasift.store import Store
from metasift.store.migrations import MIGRATIONS, migrate
from metasift.store.rows import HandEntry
from tests.conftest import BACKENDS, on_backend


@pytest.fixture(params=BACKENDS)
def project(request: pytest.FixtureRequest, project: Path) -> Path:
    """Every test here runs on SQLite and on a PostgreSQL server."""
    return on_backend(request, project)


def test_store_is_migrated_once_and_records_it(project: Path) -> None:
    store = Store.open(project)
    with store.read() as conn:
        names = [r[0] for r in conn.execute(text("select name from schema_migrations"))]
        assert names == [m.__name__ for m in MIGRATIONS]
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
            assert conn.execute(text("pragma foreign_keys")).scalar() == 1
    with store.write() as conn:
        assert migrate(conn) == []  # idempotent


def test_newer_store_is_refused(project: Path) -> None:
    store = Store.open(project)
    with store.write() as conn:
        conn.execute(text("insert into schema_migrations values ('m999_future', CURRENT_TIMESTAMP)"))
    store.close()
    with pytest.raises(ProjectError, match="newer metasift"):
        Store.open(project)


def test_failed_write_rolls_back_everything(project: Path) -> None:
    store = Store.open(project)
    recs = [Record(title="A trial", year=2020), Record(title="Another", year=2021)]
    with pytest.raises(RuntimeError), store.write() as conn:
        store.log_event(conn, "test")
        raise RuntimeError("crash in the middle")
    assert store.counts().records_imported == 0
    batch = store.add_import(path=project / "x.ris", sha256="0" * 64, source="Test", fmt="ris", layout=None,
                             encoding="utf-8", warnings=[], records=recs)
    assert batch == 1
    ids, loaded = store.load_records()
    assert [r.title for r in loaded] == ["A trial", "Another"] and ids == [1, 2]


def test_decision_undo_keeps_the_row(project: Path) -> None:
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="1" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title="T")])
    did = store.add_decision(record_id=1, stage="title_abstract", decider_kind="human", decider="alice",
                             label="exclude", reasons=["design_rct"])
    store.retract_decision(did, "alice")
    assert store.decisions() == []
    kept = store.decisions(include_retracted=True)
    assert kept[0].label == "exclude" and kept[0].retracted_at is not None
    with store.read() as conn:
        actions = [r[0] for r in conn.execute(text("select action from events order by id"))]
    assert actions[-2:] == ["decide", "undo"]


@pytest.mark.parametrize("records", [[3, 1, 4, 2], [2, 2, 1, 2]])  # one per record, and repeats
def test_bulk_decisions_return_their_ids_in_order_with_one_event_each(project: Path, records: list[int]) -> None:
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="2" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title=f"T{i}") for i in range(4)])
    store.add_decision(record_id=1, stage="title_abstract", decider_kind="human", decider="alice", label="maybe")
    rows = [{"record_id": r, "stage": "title_abstract", "decider_kind": "model", "decider": "m",
             "label": "include", "note": f"n{i}", "criteria": [{"id": "c", "verdict": "met"}]}
            for i, r in enumerate(records)]
    ids = store.add_decisions(rows)
    by_id = {d.id: d for d in store.decisions()}
    assert [(by_id[i].record_id, by_id[i].note) for i in ids] == [(r, f"n{n}") for n, r in enumerate(records)]
    assert by_id[ids[0]].criteria == [{"id": "c", "verdict": "met"}]
    with store.read() as conn:
        events = conn.execute(text("select entity_id, payload from events where action = 'decide' "
                                   "and actor = 'm' order by id")).all()
    assert [e[0] for e in events] == ids and all(f'"record_id": {r}' in e[1] for e, r in zip(events, records))


def test_foreign_keys_are_enforced(project: Path) -> None:
    store = Store.open(project)
    with pytest.raises(Exception):
        store.add_decision(record_id=999, stage="title_abstract", decider_kind="human", decider="a", label="include")
    assert store.decisions(include_retracted=True) == []


def test_an_entry_by_hand_replaces_the_value_held_and_withdrawing_it_restores_that(project: Path) -> None:
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256="e" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=[Record(title="A trial", year=2012)])
    fid = store.add_fulltext(record_id=1, path="fulltext/a.pdf", sha256="f" * 64, n_pages=2, status="ok",
                             message=None, matched_by="manual")
    store.replace_extractions(fid, 1, [{"field": "n_analysed", "arm": "Control", "measure": None, "timepoint": None,
                                        "value": 51, "page": 2, "quote": "51 analysed", "status": "auto_verified",
                                        "reason": None}], source="rule", extractor="rules")
    held = store.extractions(record_id=1)[0]
    [(new, replaced)] = store.enter_extractions([HandEntry(1, fid, "n_analysed", 52, "Control", None, None, 2,
                                                           "52 were analysed", "entered by hand")], actor="bob")
    assert replaced == [held.id]
    rows = {r.id: r for r in store.extractions(record_id=1)}
    assert (rows[new].value, rows[new].source, rows[new].status) == (52, "human", "verified")
    assert rows[held.id].status == "rejected"
    assert store.withdraw_extraction(new, actor="bob") == [held.id]
    rows = {r.id: r for r in store.extractions(record_id=1)}
    assert rows[new].status == "rejected" and (rows[held.id].status, rows[held.id].reason) == ("auto_verified", None)
    with pytest.raises(ProjectError, match="already withdrawn"):
        store.withdraw_extraction(new, actor="bob")
    [(absent, _)] = store.enter_extractions([HandEntry(1, fid, "n_dropout", None, "Control", None, None, None, "",
                                                       "not reported: whole trial only")], actor="bob")
    assert next(r for r in store.extractions(record_id=1) if r.id == absent).value is None
    store.close()
