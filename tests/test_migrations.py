"""Migrations are frozen per version: a store made by an old release and upgraded step by step gets exactly
the schema a fresh store gets (and ``schema.py`` describes), and upgrading keeps what old stores recorded."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from metasift.store import Store, schema
from metasift.store.db import make_engine, sqlite_url
from metasift.store.migrations import MIGRATIONS, migrate

# What the first release's m001 created (commit c3b6f2c, metasift/store/schema.py): table -> columns.
VERSION_1 = {
    "schema_migrations": ["name", "applied_at"],
    "import_batches": ["id", "path", "filename", "source", "format", "layout", "encoding", "sha256", "n_records",
                       "warnings", "imported_at", "imported_by"],
    "records": ["id", "batch_id", "position", "source_line", "title", "abstract", "authors", "year", "journal",
                "volume", "issue", "pages", "doi", "pmid", "issn", "keywords", "publication_type", "language",
                "url", "label", "raw", "cluster_id", "is_primary"],
    "clusters": ["id", "primary_record_id", "size", "reasons", "dedup_run", "created_at"],
    "dedup_overrides": ["id", "record_a", "record_b", "verdict", "decider", "created_at"],
    "decisions": ["id", "record_id", "stage", "decider_kind", "decider", "label", "criteria", "reasons", "note",
                  "confidence", "model", "prompt_hash", "settings", "created_at", "retracted_at"],
    "fulltexts": ["id", "record_id", "path", "sha256", "n_pages", "status", "message", "matched_by",
                  "attached_at"],
    "extractions": ["id", "record_id", "fulltext_id", "field", "arm", "measure", "timepoint", "value", "page",
                    "quote", "source", "extractor", "prompt_hash", "status", "reason", "created_at", "updated_by",
                    "updated_at"],
    "llm_calls": ["id", "record_id", "purpose", "model_requested", "model_served", "template", "template_hash",
                  "method", "attempt", "cached", "messages", "options", "response", "parsed", "error",
                  "input_tokens", "output_tokens", "cost", "duration_ms", "created_at"],
    "events": ["id", "at", "actor_kind", "actor", "action", "entity", "entity_id", "payload"],
}


def _sqlite_schema(engine: Engine) -> dict[str, str]:
    """Every table and index as SQLite stores its SQL, whitespace normalised."""
    with engine.connect() as conn:
        rows = conn.execute(text("select name, sql from sqlite_master where sql is not null "
                                 "and name not like 'sqlite_%'")).all()
    return {name: re.sub(r"\s+", " ", sql).strip() for name, sql in rows}


def _reflected(engine: Engine) -> dict[str, tuple]:
    """Per table: columns (name, type, nullable), indexes, foreign keys and unique constraints."""
    insp = inspect(engine)
    out = {}
    for table in insp.get_table_names():
        columns = tuple((c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table))
        indexes = tuple(sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                               for i in insp.get_indexes(table)))
        fks = tuple(sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                           for f in insp.get_foreign_keys(table)))
        uniques = tuple(sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)))
        out[table] = (columns, indexes, fks, uniques)
    return out


def _at_version(path: Path, version: int) -> Engine:
    engine = make_engine(sqlite_url(path))
    with engine.begin() as conn:
        migrate(conn, upto=version)
    return engine


def test_the_first_migration_builds_the_tables_of_version_1_not_todays(tmp_path: Path) -> None:
    engine = _at_version(tmp_path / "v1.db", 1)
    insp = inspect(engine)
    assert {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()} == VERSION_1
    with engine.connect() as conn:
        assert conn.execute(text("select name from schema_migrations")).scalars().all() == ["m001_initial"]


def test_a_store_upgraded_step_by_step_from_version_1_has_the_schema_of_a_fresh_store(tmp_path: Path) -> None:
    fresh = Store.from_url(sqlite_url(tmp_path / "fresh.db")).engine
    old = _at_version(tmp_path / "old.db", 1)
    for version in range(2, len(MIGRATIONS) + 1):
        with old.begin() as conn:
            assert len(migrate(conn, upto=version)) == 1
    assert _sqlite_schema(old) == _sqlite_schema(fresh)
    assert _reflected(old) == _reflected(fresh)


def test_schema_py_describes_what_the_migrations_build(tmp_path: Path) -> None:
    migrated = Store.from_url(sqlite_url(tmp_path / "migrated.db")).engine
    declared = make_engine(sqlite_url(tmp_path / "declared.db"))
    schema.metadata.create_all(declared)
    assert _reflected(migrated) == _reflected(declared)
    assert _sqlite_schema(migrated) == _sqlite_schema(declared)


def test_upgrading_keeps_the_calibration_samples_old_stores_kept_as_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = _at_version(path, 3)
    stamp = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("insert into import_batches (id, path, filename, source, format, sha256, n_records, "
                          "imported_at, imported_by) values (1, 'x.ris', 'x.ris', 'Test', 'ris', :sha, 3, :at, 't')"),
                     {"sha": "a" * 64, "at": stamp})
        for rid in (1, 2, 3):
            conn.execute(text("insert into records (id, batch_id, position, raw, is_primary) "
                              "values (:id, 1, :id, '{}', 1)"), {"id": rid})
        payload = {"stage": "title_abstract", "n": 5, "seed": 7, "records": [3, 1, 99]}  # 99: undone since
        conn.execute(text("insert into events (at, actor_kind, actor, action, payload) "
                          "values (:at, 'human', 'alice', 'review_sample', :payload)"),
                     {"at": stamp, "payload": json.dumps(payload)})
    engine.dispose()
    store = Store.from_url(sqlite_url(path))
    assert store.calibration_sample_ids() == {1, 3}
    with store.read() as conn:
        rows = conn.execute(text("select record_id, position, stage, seed, size, drawn_by "
                                 "from calibration_samples order by position")).all()
    assert [tuple(r) for r in rows] == [(3, 0, "title_abstract", 7, 5, "alice"), (1, 1, "title_abstract", 7, 5,
                                                                                "alice")]


def _pg_at_version(pg_cluster, version: int | None) -> Engine:
    engine = make_engine(pg_cluster.url(pg_cluster.create_database()))
    with engine.begin() as conn:
        migrate(conn, upto=version)
    return engine


def test_on_postgresql_a_store_upgraded_step_by_step_equals_a_fresh_one_and_schema_py(pg_cluster) -> None:
    fresh = _pg_at_version(pg_cluster, None)
    old = _pg_at_version(pg_cluster, 1)
    for version in range(2, len(MIGRATIONS) + 1):
        with old.begin() as conn:
            assert len(migrate(conn, upto=version)) == 1
    declared = make_engine(pg_cluster.url(pg_cluster.create_database()))
    schema.metadata.create_all(declared)
    assert _reflected(old) == _reflected(fresh) == _reflected(declared)
    assert set(_reflected(fresh)) == set(schema.metadata.tables)
    for engine in (fresh, old, declared):
        engine.dispose()
