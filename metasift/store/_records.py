"""Repository part for import batches, records, duplicate clusters and overall counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, bindparam, func, select, update

from metasift.records import Record
from metasift.store import schema as t
from metasift.store._base import StoreBase, as_dicts, now

RECORD_FIELDS = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                 "issn", "keywords", "publication_type", "language", "url", "label")


_JSON_FIELDS = [c.name for c in t.records.columns if isinstance(c.type, t.JSONText)]
# The records table seen with JSON columns as plain text, for bulk inserts of pre-encoded rows.
_RECORDS_BULK = Table("records", MetaData(), *(Column(c.name, Text if c.name in _JSON_FIELDS else c.type,
                                                      primary_key=c.primary_key) for c in t.records.columns))


class RecordsRepo(StoreBase):
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
            dump = json.JSONEncoder(ensure_ascii=False, default=str).encode
            rows = [{**{f: getattr(rec, f) for f in RECORD_FIELDS}, "batch_id": batch_id, "position": i,
                     "source_line": rec.line, "raw": rec.raw, "is_primary": True}
                    for i, rec in enumerate(records)]
            for row in rows:  # JSON encoded here once: the bulk insert below binds plain text (much faster)
                for key in _JSON_FIELDS:
                    row[key] = None if row[key] is None else dump(row[key])
            for start in range(0, len(rows), 5000):
                conn.execute(_RECORDS_BULK.insert(), rows[start:start + 5000])
            self.log_event(conn, "import", actor_kind="human", actor=actor, entity="import_batch",
                           entity_id=batch_id, payload={"path": str(path), "source": source, "format": fmt,
                                                        "n_records": len(records), "sha256": sha256})
        return batch_id

    def batches(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return as_dicts(conn.execute(select(t.import_batches).order_by(t.import_batches.c.id)))

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
            recs.append(Record.model_construct(**data, raw={}, line=m["source_line"]))  # our own rows: valid
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
            return as_dicts(conn.execute(q))

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
            stmt = (update(t.records).where(t.records.c.id == bindparam("rid"))
                    .values(cluster_id=bindparam("cid"), is_primary=bindparam("prim")))
            conn.execute(stmt, member_rows)
            n_dup = sum(len(m) - 1 for m in clusters)
            self.log_event(conn, "dedup", actor_kind="rule", actor=actor, payload={
                "run": run, "records": len(record_ids), "clusters": len(clusters), "duplicates_removed": n_dup})
        return run

    def overrides(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return as_dicts(conn.execute(select(t.dedup_overrides)))

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


