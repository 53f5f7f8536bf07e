"""Schema migrations: small named steps applied in order and recorded in ``schema_migrations``.

Each step is frozen: it spells out the tables as they were when it was released (its own ``MetaData``, never
today's ``schema.py``), so a store created by step N and upgraded step by step ends up with exactly the
schema a fresh store gets. Add a step by appending ``mNNN_what(conn)`` to ``MIGRATIONS``: it creates the
tables it introduces (defined inside it) and alters existing ones; ``schema.py`` then describes the result,
and ``tests/test_migrations.py`` checks that both agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
)

from metasift.errors import ProjectError
from metasift.store import schema


def _stamp() -> DateTime:
    return DateTime(timezone=True)


def _key_only(md: MetaData, name: str) -> Table:
    """A table as far as a later step's foreign keys need it (its id); never created by that step."""
    return Table(name, md, Column("id", Integer, primary_key=True))


def m001_initial(conn: Connection) -> None:
    """The tables of the first release, as that release defined them (JSON columns are TEXT)."""
    md = MetaData()
    Table("schema_migrations", md,
          Column("name", String(100), primary_key=True),
          Column("applied_at", _stamp(), nullable=False))
    Table("import_batches", md,
          Column("id", Integer, primary_key=True),
          Column("path", Text, nullable=False),
          Column("filename", Text, nullable=False),
          Column("source", String(200), nullable=False),
          Column("format", String(20), nullable=False),
          Column("layout", String(40)),
          Column("encoding", String(20)),
          Column("sha256", String(64), nullable=False, unique=True),
          Column("n_records", Integer, nullable=False),
          Column("warnings", Text),
          Column("imported_at", _stamp(), nullable=False),
          Column("imported_by", String(100), nullable=False))
    Table("records", md,
          Column("id", Integer, primary_key=True),
          Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False),
          Column("position", Integer, nullable=False),
          Column("source_line", Integer),
          Column("title", Text),
          Column("abstract", Text),
          Column("authors", Text),
          Column("year", Integer),
          Column("journal", Text),
          Column("volume", String(50)),
          Column("issue", String(50)),
          Column("pages", String(50)),
          Column("doi", String(300)),
          Column("pmid", String(20)),
          Column("issn", String(100)),
          Column("keywords", Text),
          Column("publication_type", String(100)),
          Column("language", String(50)),
          Column("url", Text),
          Column("label", Integer),
          Column("raw", Text, nullable=False),
          Column("cluster_id", Integer, ForeignKey("clusters.id")),
          Column("is_primary", Boolean, nullable=False),
          Index("ix_records_doi", "doi"),
          Index("ix_records_pmid", "pmid"),
          Index("ix_records_cluster", "cluster_id"))
    Table("clusters", md,
          Column("id", Integer, primary_key=True),
          Column("primary_record_id", Integer, nullable=False),
          Column("size", Integer, nullable=False),
          Column("reasons", Text),
          Column("dedup_run", Integer, nullable=False),
          Column("created_at", _stamp(), nullable=False))
    Table("dedup_overrides", md,
          Column("id", Integer, primary_key=True),
          Column("record_a", Integer, ForeignKey("records.id"), nullable=False),
          Column("record_b", Integer, ForeignKey("records.id"), nullable=False),
          Column("verdict", String(20), nullable=False),
          Column("decider", String(100), nullable=False),
          Column("created_at", _stamp(), nullable=False),
          UniqueConstraint("record_a", "record_b", name="uq_override_pair"))
    Table("decisions", md,
          Column("id", Integer, primary_key=True),
          Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
          Column("stage", String(20), nullable=False),
          Column("decider_kind", String(10), nullable=False),
          Column("decider", String(200), nullable=False),
          Column("label", String(20), nullable=False),
          Column("criteria", Text),
          Column("reasons", Text),
          Column("note", Text),
          Column("confidence", Float),
          Column("model", String(200)),
          Column("prompt_hash", String(64)),
          Column("settings", Text),
          Column("created_at", _stamp(), nullable=False),
          Column("retracted_at", _stamp()),
          Index("ix_decisions_record_stage", "record_id", "stage"))
    Table("fulltexts", md,
          Column("id", Integer, primary_key=True),
          Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
          Column("path", Text, nullable=False),
          Column("sha256", String(64), nullable=False),
          Column("n_pages", Integer),
          Column("status", String(20), nullable=False),
          Column("message", Text),
          Column("matched_by", String(40)),
          Column("attached_at", _stamp(), nullable=False))
    Table("extractions", md,
          Column("id", Integer, primary_key=True),
          Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
          Column("fulltext_id", Integer, ForeignKey("fulltexts.id")),
          Column("field", String(100), nullable=False),
          Column("arm", String(200)),
          Column("measure", String(200)),
          Column("timepoint", String(100)),
          Column("value", Text),
          Column("page", Integer),
          Column("quote", Text),
          Column("source", String(20), nullable=False),
          Column("extractor", String(200)),
          Column("prompt_hash", String(64)),
          Column("status", String(20), nullable=False),
          Column("reason", Text),
          Column("created_at", _stamp(), nullable=False),
          Column("updated_by", String(200)),
          Column("updated_at", _stamp()))
    Table("llm_calls", md,
          Column("id", Integer, primary_key=True),
          Column("record_id", Integer),
          Column("purpose", String(40)),
          Column("model_requested", String(200)),
          Column("model_served", String(200)),
          Column("template", String(200)),
          Column("template_hash", String(64)),
          Column("method", String(20)),
          Column("attempt", Integer),
          Column("cached", Boolean),
          Column("messages", Text),
          Column("options", Text),
          Column("response", Text),
          Column("parsed", Text),
          Column("error", Text),
          Column("input_tokens", Integer),
          Column("output_tokens", Integer),
          Column("cost", Float),
          Column("duration_ms", Float),
          Column("created_at", _stamp(), nullable=False))
    Table("events", md,
          Column("id", Integer, primary_key=True),
          Column("at", _stamp(), nullable=False),
          Column("actor_kind", String(10), nullable=False),
          Column("actor", String(200), nullable=False),
          Column("action", String(60), nullable=False),
          Column("entity", String(40)),
          Column("entity_id", Integer),
          Column("payload", Text))
    md.create_all(conn, checkfirst=True)


def m002_rankings_routes(conn: Connection) -> None:
    """Ranker scores and routing outcomes of screening."""
    md = MetaData()
    _key_only(md, "records")
    new = [
        Table("rankings", md,
              Column("id", Integer, primary_key=True),
              Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
              Column("stage", String(20), nullable=False),
              Column("ranker", String(100), nullable=False),
              Column("params", Text),
              Column("score", Float, nullable=False),
              Column("trained_on", Integer, nullable=False),
              Column("run", Integer, nullable=False),
              Column("created_at", _stamp(), nullable=False),
              Index("ix_rankings_run", "run")),
        Table("routes", md,
              Column("id", Integer, primary_key=True),
              Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
              Column("stage", String(20), nullable=False),
              Column("route", String(20), nullable=False),
              Column("reason", Text),
              Column("policy", Text),
              Column("created_at", _stamp(), nullable=False),
              Column("superseded_at", _stamp()),
              Index("ix_routes_record", "record_id", "stage")),
    ]
    md.create_all(conn, tables=new, checkfirst=True)


def m003_rob(conn: Connection) -> None:
    """Risk-of-bias (RoB 2) judgements per study and domain."""
    md = MetaData()
    _key_only(md, "records")
    new = Table("rob_assessments", md,
                Column("id", Integer, primary_key=True),
                Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
                Column("tool", String(20), nullable=False),
                Column("domain", String(20), nullable=False),
                Column("judgement", String(20), nullable=False),
                Column("support", Text),
                Column("assessor", String(200), nullable=False),
                Column("created_at", _stamp(), nullable=False),
                Column("superseded_at", _stamp()))
    md.create_all(conn, tables=[new], checkfirst=True)


def m004_calibration_samples(conn: Connection) -> None:
    """Calibration samples as data (one row per sampled record), backfilled from the ``review_sample``
    events that used to be their only trace, so older projects keep their samples."""
    md = MetaData()
    _key_only(md, "records")
    _key_only(md, "events")
    samples = Table("calibration_samples", md,
                    Column("id", Integer, primary_key=True),
                    Column("event_id", Integer, ForeignKey("events.id"), nullable=False),
                    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
                    Column("position", Integer, nullable=False),
                    Column("stage", String(20), nullable=False),
                    Column("seed", Integer, nullable=False),
                    Column("size", Integer, nullable=False),
                    Column("drawn_by", String(200), nullable=False),
                    Column("drawn_at", _stamp(), nullable=False),
                    Index("ix_calibration_samples_stage", "stage", "record_id"))
    md.create_all(conn, tables=[samples], checkfirst=True)
    rows = _samples_from_events(conn)
    if rows:
        conn.execute(samples.insert(), rows)


def _samples_from_events(conn: Connection) -> list[dict[str, Any]]:
    """Rows for ``calibration_samples`` from the ``review_sample`` events already logged (records that no
    longer exist, after an import was undone, are left out)."""
    md = MetaData()
    ev = Table("events", md, Column("id", Integer), Column("at", _stamp()), Column("actor", String(200)),
               Column("action", String(60)), Column("payload", Text))
    rec = Table("records", md, Column("id", Integer))
    existing = set(conn.execute(select(rec.c.id)).scalars())
    rows: list[dict[str, Any]] = []
    for event_id, at, actor, payload in conn.execute(
            select(ev.c.id, ev.c.at, ev.c.actor, ev.c.payload).where(ev.c.action == "review_sample")
            .order_by(ev.c.id)):
        data = json.loads(payload) if payload else {}
        records = [int(r) for r in data.get("records") or []]
        rows.extend({"event_id": event_id, "record_id": rid, "position": pos,
                     "stage": data.get("stage") or "title_abstract", "seed": int(data.get("seed") or 0),
                     "size": int(data.get("n") or len(records)), "drawn_by": actor, "drawn_at": at}
                    for pos, rid in enumerate(records) if rid in existing)
    return rows


def m005_study_fields(conn: Connection) -> None:
    """Study-level fields (female_pct, guidance, ...) imported from a CSV, for moderators and subgroups."""
    md = MetaData()
    _key_only(md, "records")
    new = Table("study_fields", md,
                Column("id", Integer, primary_key=True),
                Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
                Column("field", String(100), nullable=False),
                Column("value", Text, nullable=False),
                Column("source", Text, nullable=False),
                Column("imported_by", String(200), nullable=False),
                Column("created_at", _stamp(), nullable=False),
                Column("superseded_at", _stamp()),
                Index("ix_study_fields_record", "record_id", "field"))
    md.create_all(conn, tables=[new], checkfirst=True)


def m006_record_tags(conn: Connection) -> None:
    """Free-text tags on records ("check full text", "pediatric"), for the review queue's filters; and the
    two covering indexes the review queue starts from at 50,000 records (the primary records' ids without
    reading every record, a ranker run's scores in order without reading its rows)."""
    md = MetaData()
    records = Table("records", md, Column("id", Integer, primary_key=True), Column("is_primary", Boolean))
    rankings = Table("rankings", md, Column("id", Integer, primary_key=True), Column("run", Integer),
                     Column("record_id", Integer), Column("score", Float))
    Index("ix_records_primary", records.c.is_primary, records.c.id).create(conn, checkfirst=True)
    Index("ix_rankings_run_record", rankings.c.run, rankings.c.record_id, rankings.c.score).create(
        conn, checkfirst=True)
    new = Table("record_tags", md,
                Column("id", Integer, primary_key=True),
                Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
                Column("tag", String(100), nullable=False),
                Column("tagged_by", String(200), nullable=False),
                Column("created_at", _stamp(), nullable=False),
                Column("removed_at", _stamp()),
                Column("removed_by", String(200)),
                Index("ix_record_tags_record", "record_id"),
                Index("ix_record_tags_tag", "tag"))
    md.create_all(conn, tables=[new], checkfirst=True)


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial, m002_rankings_routes, m003_rob,
                                                  m004_calibration_samples, m005_study_fields, m006_record_tags]
SCHEMA_VERSION = len(MIGRATIONS)


def applied(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("schema_migrations"):
        return []
    return list(conn.execute(select(schema.schema_migrations.c.name)).scalars())


def migrate(conn: Connection, *, upto: int | None = None) -> list[str]:
    """Apply the steps not yet applied (the first ``upto`` steps only, if given); return their names.
    Refuse a store newer than this code."""
    done = set(applied(conn))
    known = {m.__name__ for m in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise ProjectError(
            f"this store was written by a newer metasift (migrations {sorted(unknown)}); upgrade metasift")
    ran: list[str] = []
    for step in MIGRATIONS[:upto]:
        if step.__name__ in done:
            continue
        step(conn)
        conn.execute(schema.schema_migrations.insert().values(
            name=step.__name__, applied_at=datetime.now(UTC)))
        ran.append(step.__name__)
    return ran
