"""Table definitions (SQLAlchemy Core, portable between SQLite and PostgreSQL).

Data flows one way: import_batches → records → clusters → decisions → fulltexts → extractions.
This module describes the schema the migrations (``migrations.py``, each step frozen) produce; a test
keeps the two equal.
``events`` is the append-only log of everything that changed the store; ``llm_calls`` logs every
exchange with a model. JSON payloads are stored as text (``JSONText``) so both back ends agree.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
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
)
from sqlalchemy.types import TypeDecorator


class JSONText(TypeDecorator):
    """JSON stored as TEXT: identical on SQLite and PostgreSQL, readable with plain SQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


class ModelJSON(JSONText):
    """``JSONText`` written by orjson at a tenth of the stdlib's cost, for what an LLM run writes per record
    (exchanges, decisions). For JSON-native values: orjson writes NaN as null, so numbers that may be NaN
    belong in ``JSONText``."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        try:
            return orjson.dumps(value).decode("utf-8")
        except TypeError:  # not JSON-native after all: the stdlib's conversions
            return super().process_bind_param(value, dialect)


metadata = MetaData()

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

import_batches = Table(
    "import_batches", metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("source", String(200), nullable=False),  # database name for PRISMA ("PubMed", "Scopus", ...)
    Column("format", String(20), nullable=False),
    Column("layout", String(40)),
    Column("encoding", String(20)),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("n_records", Integer, nullable=False),
    Column("warnings", JSONText),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(100), nullable=False),
)

records = Table(
    "records", metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False),
    Column("position", Integer, nullable=False),  # order within the file
    Column("source_line", Integer),
    Column("title", Text),
    Column("abstract", Text),
    Column("authors", JSONText),
    Column("year", Integer),
    Column("journal", Text),
    Column("volume", String(50)),
    Column("issue", String(50)),
    Column("pages", String(50)),
    Column("doi", String(300)),
    Column("pmid", String(20)),
    Column("issn", String(100)),
    Column("keywords", JSONText),
    Column("publication_type", String(100)),
    Column("language", String(50)),
    Column("url", Text),
    Column("label", Integer),  # label carried by the export file (ASReview, Rayyan...), not a decision
    Column("raw", JSONText, nullable=False),  # the record exactly as parsed
    Column("cluster_id", Integer, ForeignKey("clusters.id")),
    Column("is_primary", Boolean, nullable=False, default=True),
    Index("ix_records_doi", "doi"),
    Index("ix_records_pmid", "pmid"),
    Index("ix_records_cluster", "cluster_id"),
    Index("ix_records_primary", "is_primary", "id"),  # the review queue's primary ids, without the rows
)

clusters = Table(
    "clusters", metadata,
    Column("id", Integer, primary_key=True),
    Column("primary_record_id", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("reasons", JSONText),  # accepted links: [{a, b, score, reason}]
    Column("dedup_run", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

dedup_overrides = Table(
    "dedup_overrides", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_a", Integer, ForeignKey("records.id"), nullable=False),
    Column("record_b", Integer, ForeignKey("records.id"), nullable=False),
    Column("verdict", String(20), nullable=False),  # "duplicate" | "distinct"
    Column("decider", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("record_a", "record_b", name="uq_override_pair"),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("stage", String(20), nullable=False),  # title_abstract | full_text
    Column("decider_kind", String(10), nullable=False),  # human | model | rule | consensus
    Column("decider", String(200), nullable=False),  # reviewer name, model name, or rule/criterion id
    Column("label", String(20), nullable=False),  # include | exclude | maybe | unsure | error
    Column("criteria", ModelJSON),  # per-criterion details: [{id, verdict, quote, reason}]
    Column("reasons", ModelJSON),  # exclusion reasons (criterion ids)
    Column("note", Text),
    Column("confidence", Float),
    Column("model", String(200)),
    Column("prompt_hash", String(64)),
    Column("settings", ModelJSON),  # e.g. {"show_model_draft": false, "route": "human"}
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retracted_at", DateTime(timezone=True)),  # undo: the row stays, marked retracted
    Index("ix_decisions_record_stage", "record_id", "stage"),
)

fulltexts = Table(
    "fulltexts", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("n_pages", Integer),
    Column("status", String(20), nullable=False),  # ok | no_text | encrypted | broken | not_retrieved
    Column("message", Text),
    Column("matched_by", String(40)),  # doi | title | manual
    Column("attached_at", DateTime(timezone=True), nullable=False),
)

extractions = Table(
    "extractions", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("fulltext_id", Integer, ForeignKey("fulltexts.id")),
    Column("field", String(100), nullable=False),  # e.g. "arm.n_randomised", "outcome.mean"
    Column("arm", String(200)),
    Column("measure", String(200)),
    Column("timepoint", String(100)),
    Column("value", JSONText),
    Column("page", Integer),
    Column("quote", Text),
    Column("source", String(20), nullable=False),  # rule | model | human
    Column("extractor", String(200)),
    Column("prompt_hash", String(64)),
    Column("status", String(20), nullable=False),  # auto_verified | needs_human | verified | rejected
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200)),
    Column("updated_at", DateTime(timezone=True)),
)

llm_calls = Table(
    "llm_calls", metadata,
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
    Column("messages", ModelJSON),
    Column("options", ModelJSON),
    Column("response", Text),
    Column("parsed", ModelJSON),
    Column("error", Text),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("cost", Float),
    Column("duration_ms", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_kind", String(10), nullable=False),  # human | model | rule | system
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),  # e.g. "import", "dedup", "decide", "undo"
    Column("entity", String(40)),
    Column("entity_id", Integer),
    Column("payload", JSONText),
)

rankings = Table(
    "rankings", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("ranker", String(100), nullable=False),
    Column("params", JSONText),
    Column("score", Float, nullable=False),  # P(include)
    Column("trained_on", Integer, nullable=False),  # number of human-labelled records behind the model
    Column("run", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_rankings_run", "run"),
    Index("ix_rankings_run_record", "run", "record_id", "score"),  # a run's scores without its rows
)

routes = Table(
    "routes", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("route", String(20), nullable=False),  # auto_exclude | human | likely_include
    Column("reason", Text),
    Column("policy", JSONText),  # the thresholds in force
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("superseded_at", DateTime(timezone=True)),
    Index("ix_routes_record", "record_id", "stage"),
)

rob_assessments = Table(
    "rob_assessments", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("tool", String(20), nullable=False),  # "RoB2"
    Column("domain", String(20), nullable=False),  # D1..D5, overall
    Column("judgement", String(20), nullable=False),  # low | some_concerns | high
    Column("support", Text),  # the assessor's reason / quote
    Column("assessor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("superseded_at", DateTime(timezone=True)),
)

calibration_samples = Table(
    "calibration_samples", metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id"), nullable=False),  # the review_sample event
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("position", Integer, nullable=False),  # order within the drawn sample
    Column("stage", String(20), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("size", Integer, nullable=False),  # the N asked for (the sample is smaller when fewer records exist)
    Column("drawn_by", String(200), nullable=False),
    Column("drawn_at", DateTime(timezone=True), nullable=False),
    Index("ix_calibration_samples_stage", "stage", "record_id"),
)

study_fields = Table(
    "study_fields", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("field", String(100), nullable=False),  # e.g. female_pct, guidance, control_type
    Column("value", Text, nullable=False),  # as written in the CSV; read as a number where it is one
    Column("source", Text, nullable=False),  # FILE:LINE it came from
    Column("imported_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("superseded_at", DateTime(timezone=True)),  # a later import of the same field replaced it
    Index("ix_study_fields_record", "record_id", "field"),
)

record_tags = Table(
    "record_tags", metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("tag", String(100), nullable=False),  # free text: "check full text", "pediatric"
    Column("tagged_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),  # untagged: the row stays, marked removed
    Column("removed_by", String(200)),
    Index("ix_record_tags_record", "record_id"),
    Index("ix_record_tags_tag", "tag"),
)
