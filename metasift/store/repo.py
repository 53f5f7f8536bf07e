"""The repository layer: every read and write of the store goes through ``Store``.

Each public write runs in one transaction together with its ``events`` row, so a crash or Ctrl-C
leaves either all of a change or none of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from metasift.config import CONFIG_NAME, STORE_NAME, load_protocol
from metasift.errors import ProjectError
from metasift.records import Record
from metasift.store import schema as t
from metasift.store.db import make_engine, sqlite_url
from metasift.store.migrations import migrate

RECORD_FIELDS = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                 "issn", "keywords", "publication_type", "language", "url", "label")


def now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """A review project's store (SQLite file in the project, or the URL set in review.toml)."""

    def __init__(self, engine: Engine, project: Path | None = None) -> None:
        self.engine = engine
        self.project = project

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, project: Path, *, create: bool = False) -> "Store":
        """Open (and migrate) the store of the project in ``project``."""
        project = Path(project)
        if not (project / CONFIG_NAME).exists():
            raise ProjectError(f"{project}: no {CONFIG_NAME} here — run `metasift init {project}` "
                               "or pass --project DIR")
        url = load_protocol(project).store.url or sqlite_url(project / STORE_NAME)
        if url.startswith("sqlite") and not create and not (project / STORE_NAME).exists():
            raise ProjectError(f"{project / STORE_NAME}: store missing — run `metasift init {project}`")
        return cls.from_url(url, project)

    @classmethod
    def from_url(cls, url: str, project: Path | None = None) -> "Store":
        store = cls(make_engine(url), project)
        with store.engine.begin() as conn:
            migrate(conn)
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot that never waits on a writer."""
        with self.engine.connect().execution_options(metasift_read=True) as conn:
            with conn.begin():
                yield conn

    @staticmethod
    def log_event(conn: Connection, action: str, *, actor_kind: str = "system", actor: str = "metasift",
                  entity: str | None = None, entity_id: int | None = None,
                  payload: dict[str, Any] | None = None) -> None:
        conn.execute(t.events.insert().values(at=now(), actor_kind=actor_kind, actor=actor, action=action,
                                              entity=entity, entity_id=entity_id, payload=payload))

    # -- imports ------------------------------------------------------------------------------
    def batch_by_hash(self, sha256: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(t.import_batches).where(t.import_batches.c.sha256 == sha256)).first()
        return dict(row._mapping) if row else None

    def add_import(self, *, path: Path, sha256: str, source: str, fmt: str, layout: str | None,
                   encoding: str | None, warnings: list[str], records: Sequence[Record],
                   actor: str = "metasift") -> int:
        """Store one imported file and all its records in a single transaction; return the batch id."""
        with self.write() as conn:
            batch_id = conn.execute(t.import_batches.insert().values(
                path=str(path), filename=path.name, source=source, format=fmt, layout=layout,
                encoding=encoding, sha256=sha256, n_records=len(records), warnings=warnings,
                imported_at=now(), imported_by=actor)).inserted_primary_key[0]
            rows = [{**{f: getattr(rec, f) for f in RECORD_FIELDS}, "batch_id": batch_id, "position": i,
                     "source_line": rec.line, "raw": rec.raw, "is_primary": True}
                    for i, rec in enumerate(records)]
            for start in range(0, len(rows), 5000):
                conn.execute(t.records.insert(), rows[start:start + 5000])
            self.log_event(conn, "import", actor_kind="human", actor=actor, entity="import_batch",
                           entity_id=batch_id, payload={"path": str(path), "source": source, "format": fmt,
                                                        "n_records": len(records), "sha256": sha256})
        return batch_id

    def batches(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.import_batches).order_by(t.import_batches.c.id))]

    # -- records ------------------------------------------------------------------------------
    def load_records(self) -> tuple[list[int], list[Record]]:
        """All records as ``Record`` objects (without ``raw``), in id order, with their ids."""
        cols = [t.records.c.id, t.records.c.source_line, *(t.records.c[f] for f in RECORD_FIELDS)]
        with self.read() as conn:
            rows = conn.execute(select(*cols).order_by(t.records.c.id)).all()
        ids, recs = [], []
        for row in rows:
            m = row._mapping
            data = {f: m[f] for f in RECORD_FIELDS}
            data["authors"] = data["authors"] or []
            data["keywords"] = data["keywords"] or []
            ids.append(m["id"])
            recs.append(Record(**data, line=m["source_line"]))
        return ids, recs

    def records_table(self, *, primary_only: bool = False) -> list[dict[str, Any]]:
        """Records joined with their import batch, as plain dicts (for export and the TUI)."""
        r, b = t.records, t.import_batches
        q = (select(r.c.id, *(r.c[f] for f in RECORD_FIELDS), r.c.cluster_id, r.c.is_primary,
                    b.c.filename.label("source_file"), b.c.source)
             .join(b, r.c.batch_id == b.c.id).order_by(r.c.id))
        if primary_only:
            q = q.where(r.c.is_primary.is_(True))
        with self.read() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def record(self, record_id: int) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(t.records).where(t.records.c.id == record_id)).first()
        return dict(row._mapping) if row else None

    # -- deduplication ------------------------------------------------------------------------
    def replace_clusters(self, record_ids: Sequence[int], clusters: Sequence[Sequence[int]],
                         primary: Sequence[int], links: Sequence[dict[str, Any]], *,
                         actor: str = "metasift") -> int:
        """Replace the duplicate clusters with a new dedup run (indices refer to ``record_ids``)."""
        with self.write() as conn:
            run = (conn.execute(select(func.max(t.clusters.c.dedup_run))).scalar() or 0) + 1
            conn.execute(update(t.records).values(cluster_id=None, is_primary=True))
            conn.execute(t.clusters.delete())
            by_cluster: dict[int, list[dict[str, Any]]] = {}
            member_of = {idx: c for c, members in enumerate(clusters) for idx in members}
            for link in links:
                by_cluster.setdefault(member_of[link["a"]], []).append(
                    {**link, "a": record_ids[link["a"]], "b": record_ids[link["b"]]})
            stamp = now()
            cluster_rows = [{"id": c + 1, "primary_record_id": record_ids[primary[c]], "size": len(members),
                             "reasons": by_cluster.get(c), "dedup_run": run, "created_at": stamp}
                            for c, members in enumerate(clusters)]
            for start in range(0, len(cluster_rows), 5000):
                conn.execute(t.clusters.insert(), cluster_rows[start:start + 5000])
            member_rows = [{"rid": record_ids[idx], "cid": c + 1, "prim": idx == primary[c]}
                           for c, members in enumerate(clusters) for idx in members]
            stmt = (update(t.records).where(t.records.c.id == _bind("rid"))
                    .values(cluster_id=_bind("cid"), is_primary=_bind("prim")))
            conn.execute(stmt, member_rows)
            n_dup = sum(len(m) - 1 for m in clusters)
            self.log_event(conn, "dedup", actor_kind="rule", actor=actor, payload={
                "run": run, "records": len(record_ids), "clusters": len(clusters), "duplicates_removed": n_dup})
        return run

    def overrides(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.dedup_overrides))]

    def add_override(self, a: int, b: int, verdict: str, decider: str) -> None:
        """Record a human's verdict on a borderline pair (honoured by every later dedup run)."""
        a, b = sorted((a, b))
        with self.write() as conn:
            conn.execute(t.dedup_overrides.delete().where(
                (t.dedup_overrides.c.record_a == a) & (t.dedup_overrides.c.record_b == b)))
            conn.execute(t.dedup_overrides.insert().values(record_a=a, record_b=b, verdict=verdict,
                                                           decider=decider, created_at=now()))
            self.log_event(conn, "dedup_override", actor_kind="human", actor=decider,
                           payload={"a": a, "b": b, "verdict": verdict})

    # -- decisions ----------------------------------------------------------------------------
    def add_decision(self, *, record_id: int, stage: str, decider_kind: str, decider: str, label: str,
                     criteria: list[dict[str, Any]] | None = None, reasons: list[str] | None = None,
                     note: str | None = None, confidence: float | None = None, model: str | None = None,
                     prompt_hash: str | None = None, settings: dict[str, Any] | None = None,
                     conn: Connection | None = None) -> int:
        """Write one decision (and its event) in its own transaction, or in ``conn`` if given."""
        values = dict(record_id=record_id, stage=stage, decider_kind=decider_kind, decider=decider, label=label,
                      criteria=criteria, reasons=reasons, note=note, confidence=confidence, model=model,
                      prompt_hash=prompt_hash, settings=settings, created_at=now())
        if conn is None:
            with self.write() as own:
                return self.add_decision(**{k: v for k, v in values.items() if k != "created_at"}, conn=own)
        decision_id = conn.execute(t.decisions.insert().values(**values)).inserted_primary_key[0]
        self.log_event(conn, "decide", actor_kind=decider_kind, actor=decider, entity="decision",
                       entity_id=decision_id, payload={"record_id": record_id, "stage": stage, "label": label})
        return decision_id

    def retract_decision(self, decision_id: int, actor: str) -> None:
        """Undo: the decision row stays, marked retracted, and the undo is logged."""
        with self.write() as conn:
            conn.execute(update(t.decisions).where(t.decisions.c.id == decision_id).values(retracted_at=now()))
            self.log_event(conn, "undo", actor_kind="human", actor=actor, entity="decision",
                           entity_id=decision_id)

    def decisions(self, stage: str | None = None, *, include_retracted: bool = False) -> list[dict[str, Any]]:
        q = select(t.decisions).order_by(t.decisions.c.id)
        if stage:
            q = q.where(t.decisions.c.stage == stage)
        if not include_retracted:
            q = q.where(t.decisions.c.retracted_at.is_(None))
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def final_labels(self, stage: str, *, humans_needed: int = 1) -> dict[int, str]:
        """Each record's settled label at ``stage``: a consensus decision, else agreeing humans (at least
        ``humans_needed``), else a rule exclusion. Records without a settled label are absent."""
        by_record: dict[int, list[dict[str, Any]]] = {}
        for d in self.decisions(stage):
            by_record.setdefault(d["record_id"], []).append(d)
        labels: dict[int, str] = {}
        for rid, ds in by_record.items():
            consensus = [d for d in ds if d["decider_kind"] == "consensus"]
            if consensus:
                labels[rid] = consensus[-1]["label"]
                continue
            latest: dict[str, str] = {}
            for d in ds:
                if d["decider_kind"] == "human":
                    latest[d["decider"]] = d["label"]
            human = set(latest.values())
            if len(latest) >= humans_needed and len(human) == 1 and human <= {"include", "exclude"}:
                labels[rid] = human.pop()
            elif not latest and any(d["decider_kind"] == "rule" and d["label"] == "exclude" for d in ds):
                labels[rid] = "exclude"
        return labels

    # -- full texts and extractions ----------------------------------------------------------
    def add_fulltext(self, *, record_id: int, path: Path, sha256: str, n_pages: int | None, status: str,
                     message: str | None, matched_by: str, actor: str = "metasift") -> int:
        with self.write() as conn:
            fid = conn.execute(t.fulltexts.insert().values(
                record_id=record_id, path=str(path), sha256=sha256, n_pages=n_pages, status=status,
                message=message, matched_by=matched_by, attached_at=now())).inserted_primary_key[0]
            self.log_event(conn, "attach_fulltext", actor_kind="rule", actor=actor, entity="fulltext",
                           entity_id=fid, payload={"record_id": record_id, "path": str(path), "status": status})
        return fid

    def fulltexts(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.fulltexts).order_by(t.fulltexts.c.id))]

    def set_fulltext_status(self, fulltext_id: int, status: str, message: str | None) -> None:
        with self.write() as conn:
            conn.execute(update(t.fulltexts).where(t.fulltexts.c.id == fulltext_id)
                         .values(status=status, message=message))
            self.log_event(conn, "fulltext_status", entity="fulltext", entity_id=fulltext_id,
                           payload={"status": status, "message": message})

    def replace_extractions(self, fulltext_id: int, record_id: int, rows: Sequence[dict[str, Any]], *,
                            source: str, extractor: str, prompt_hash: str | None = None) -> int:
        """Store one PDF's extracted values in one transaction, replacing earlier unverified drafts
        from the same source (values a human verified or edited are kept)."""
        x = t.extractions
        with self.write() as conn:
            conn.execute(x.delete().where((x.c.fulltext_id == fulltext_id) & (x.c.source == source)
                                          & x.c.status.in_(["auto_verified", "needs_human"])))
            reviewed = {(r.field, r.arm, r.measure, r.timepoint) for r in conn.execute(
                select(x.c.field, x.c.arm, x.c.measure, x.c.timepoint).where(
                    (x.c.fulltext_id == fulltext_id) & x.c.status.in_(["verified", "rejected"])))}
            rows = [r for r in rows if (r["field"], r.get("arm"), r.get("measure"), r.get("timepoint"))
                    not in reviewed]
            stamp = now()
            conn.execute(x.insert(), [{"record_id": record_id, "fulltext_id": fulltext_id, "source": source,
                                       "extractor": extractor, "prompt_hash": prompt_hash, "created_at": stamp,
                                       **row} for row in rows]) if rows else None
            self.log_event(conn, "extract", actor_kind="model" if source == "model" else "rule", actor=extractor,
                           entity="fulltext", entity_id=fulltext_id, payload={"values": len(rows)})
        return len(rows)

    def extractions(self, *, record_id: int | None = None, status: Sequence[str] | None = None
                    ) -> list[dict[str, Any]]:
        q = select(t.extractions).order_by(t.extractions.c.id)
        if record_id is not None:
            q = q.where(t.extractions.c.record_id == record_id)
        if status:
            q = q.where(t.extractions.c.status.in_(list(status)))
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def review_extraction(self, extraction_id: int, *, status: str, actor: str, value: Any = None,
                          reason: str | None = None) -> None:
        """A human accepts (verified), edits (verified, new value) or rejects a value; the old value is
        kept in the event log."""
        x = t.extractions
        with self.write() as conn:
            old = conn.execute(select(x.c.value, x.c.status).where(x.c.id == extraction_id)).first()
            if old is None:
                raise ProjectError(f"no extracted value with id {extraction_id}")
            values: dict[str, Any] = {"status": status, "updated_by": actor, "updated_at": now()}
            if value is not None:
                values["value"] = value
            if reason:
                values["reason"] = reason
            conn.execute(update(x).where(x.c.id == extraction_id).values(**values))
            self.log_event(conn, "verify_value", actor_kind="human", actor=actor, entity="extraction",
                           entity_id=extraction_id, payload={"old_value": old.value, "old_status": old.status,
                                                             "new_value": value, "status": status,
                                                             "reason": reason})

    # -- LLM exchanges ------------------------------------------------------------------------
    def log_llm_call(self, row: dict[str, Any]) -> None:
        cols = set(t.llm_calls.c.keys())
        with self.write() as conn:
            conn.execute(t.llm_calls.insert().values(
                **{k: v for k, v in row.items() if k in cols and k != "id"},
                created_at=row.get("created_at") or now()))

    # -- counts -------------------------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        """Figures for ``metasift status`` and the PRISMA flow."""
        r, b, d = t.records, t.import_batches, t.decisions
        with self.read() as conn:
            imported = conn.execute(select(func.count()).select_from(r)).scalar_one()
            unique = conn.execute(select(func.count()).select_from(r).where(r.c.is_primary.is_(True))).scalar_one()
            per_source = {row.source: row.n for row in conn.execute(
                select(b.c.source, func.count(r.c.id).label("n")).join(r, r.c.batch_id == b.c.id)
                .group_by(b.c.source).order_by(b.c.source))}
            dedup_runs = conn.execute(select(func.max(t.clusters.c.dedup_run))).scalar()
            per_stage: dict[str, dict[str, int]] = {}
            for row in conn.execute(select(d.c.stage, d.c.decider_kind, d.c.label, func.count().label("n"))
                                    .where(d.c.retracted_at.is_(None))
                                    .group_by(d.c.stage, d.c.decider_kind, d.c.label)):
                per_stage.setdefault(row.stage, {})[f"{row.decider_kind}:{row.label}"] = row.n
            n_batches = conn.execute(select(func.count()).select_from(b)).scalar_one()
            n_fulltexts = conn.execute(select(func.count()).select_from(t.fulltexts)).scalar_one()
            n_extractions = conn.execute(select(func.count()).select_from(t.extractions)).scalar_one()
        return {"files_imported": n_batches, "records_imported": imported, "records_by_source": per_source,
                "deduplicated": dedup_runs is not None, "duplicates_removed": imported - unique,
                "records_unique": unique, "decisions": per_stage, "fulltexts": n_fulltexts,
                "extractions": n_extractions}


def _bind(name: str):  # noqa: ANN202 - tiny helper for executemany updates
    from sqlalchemy import bindparam

    return bindparam(name)
