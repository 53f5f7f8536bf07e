"""Repository part for import batches, records, duplicate clusters and overall counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Select, Table, Text, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from metasift.errors import MetasiftError, ProjectError
from metasift.records import Record
from metasift.store import schema as t
from metasift.store._base import StoreBase, now
from metasift.store.rows import (
    RECORD_FIELDS,
    DedupOverride,
    ImportBatch,
    RecordRow,
    RemovedBatch,
    StoreCounts,
)

_JSON_FIELDS = [c.name for c in t.records.columns if isinstance(c.type, t.JSONText)]
# The records table seen with JSON columns as plain text, for bulk inserts of pre-encoded rows.
_RECORDS_BULK = Table("records", MetaData(), *(Column(c.name, Text if c.name in _JSON_FIELDS else c.type,
                                                      primary_key=c.primary_key) for c in t.records.columns))


class AlreadyImported(MetasiftError):
    """A file with this content is in the store already (``batch``: its import_batches row)."""

    def __init__(self, batch: ImportBatch) -> None:
        self.batch = batch
        super().__init__(f"{batch.filename}: already imported as batch {batch.id}")


def _batch_by_hash(conn: Connection, sha256: str) -> ImportBatch | None:
    row = conn.execute(select(*ImportBatch.columns()).where(t.import_batches.c.sha256 == sha256)).first()
    return ImportBatch.from_row(row) if row else None


# What may hang off a record, and how to say it: (table, what it is, plural).
_DOWNSTREAM = ((t.decisions, "decision"), (t.routes, "screening route"), (t.rankings, "ranker score"),
               (t.fulltexts, "full text"), (t.extractions, "extracted value"),
               (t.rob_assessments, "risk-of-bias judgement"), (t.calibration_samples, "calibration-sample draw"),
               (t.study_fields, "study field"))


def _dependents(conn: Connection, record_ids: Any) -> list[str]:
    """What downstream rows refer to the given records, one phrase per kind with a few record ids."""
    found: list[str] = []
    for table, what in _DOWNSTREAM:
        rows = conn.execute(select(table.c.record_id, func.count()).where(table.c.record_id.in_(record_ids))
                            .group_by(table.c.record_id).order_by(table.c.record_id)).all()
        if rows:
            found.append(_phrase(sum(n for _, n in rows), what, [rid for rid, _ in rows]))
    o = t.dedup_overrides
    rows = conn.execute(select(o.c.record_a, o.c.record_b).where(
        o.c.record_a.in_(record_ids) | o.c.record_b.in_(record_ids))).all()
    if rows:
        found.append(_phrase(len(rows), "dedup verdict", sorted({rid for row in rows for rid in row})))
    return found


def _phrase(n: int, what: str, record_ids: list[int], shown: int = 8) -> str:
    ids = ", ".join(map(str, record_ids[:shown])) + (f" and {len(record_ids) - shown} more"
                                                     if len(record_ids) > shown else "")
    return f"{n} {what}{'s' if n != 1 else ''} on record{'s' if len(record_ids) != 1 else ''} {ids}"


class RecordsRepo(StoreBase):
    # -- imports ------------------------------------------------------------------------------
    def batch_by_hash(self, sha256: str) -> ImportBatch | None:
        with self.read() as conn:
            return _batch_by_hash(conn, sha256)

    def add_import(self, *, path: Path, sha256: str, source: str, fmt: str, layout: str | None,
                   encoding: str | None, warnings: list[str], records: Sequence[Record],
                   actor: str = "metasift") -> int:
        """Store one imported file and all its records in a single transaction; return the batch id.

        Raises ``AlreadyImported`` (nothing written) when a file with this sha256 is in the store, including
        one another process committed after the caller's own check: the check is repeated inside the write
        lock, and the unique constraint on sha256 is the last word (PostgreSQL takes no lock up front)."""
        try:
            with self.write() as conn:
                seen = _batch_by_hash(conn, sha256)
                if seen:
                    raise AlreadyImported(seen)
                batch_id = self._insert_batch(conn, path=path, sha256=sha256, source=source, fmt=fmt,
                                              layout=layout, encoding=encoding, warnings=warnings,
                                              records=records, actor=actor)
        except IntegrityError as exc:
            seen = self.batch_by_hash(sha256)
            if seen is None:
                raise
            raise AlreadyImported(seen) from exc
        return batch_id

    def _insert_batch(self, conn: Connection, *, path: Path, sha256: str, source: str, fmt: str,
                      layout: str | None, encoding: str | None, warnings: list[str],
                      records: Sequence[Record], actor: str) -> int:
        """The rows of one import inside ``conn``: the batch, its records (bulk, pre-encoded), the event."""
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

    def batches(self) -> list[ImportBatch]:
        with self.read() as conn:
            return [ImportBatch.from_row(row) for row in
                    conn.execute(select(*ImportBatch.columns()).order_by(t.import_batches.c.id))]

    def batch(self, batch_id: int) -> ImportBatch | None:
        with self.read() as conn:
            row = conn.execute(select(*ImportBatch.columns()).where(t.import_batches.c.id == batch_id)).first()
        return ImportBatch.from_row(row) if row else None

    def remove_batch(self, batch_id: int, *, actor: str) -> RemovedBatch:
        """Remove one imported file and its records, in one transaction with a ``import_removed`` event.

        Refused (``ProjectError``, nothing changed) while anything downstream hangs off its records: a
        decision (retracted ones too: they are the audit trail), a route or ranking from screening, a
        full text, an extraction, a risk-of-bias judgement, a study field or a human dedup verdict. Duplicate clusters
        touching the batch are dissolved (their other members become unclustered primaries): they are
        recomputed by the next ``dedup``. Returns the batch as it was, the records removed and the clusters
        dissolved."""
        r = t.records
        with self.write() as conn:
            found = conn.execute(select(*ImportBatch.columns()).where(t.import_batches.c.id == batch_id)).first()
            if found is None:
                raise ProjectError(f"no import batch {batch_id} (see `metasift import --list`)")
            batch = ImportBatch.from_row(found)
            mine = select(r.c.id).where(r.c.batch_id == batch_id)
            blockers = _dependents(conn, mine)
            if blockers:
                raise ProjectError(f"batch {batch_id} ({batch.filename}) is not removed: "
                                   + "; ".join(blockers))
            touched = select(r.c.cluster_id).where(r.c.batch_id == batch_id, r.c.cluster_id.is_not(None))
            cluster_ids = list(conn.execute(touched.distinct()).scalars())
            if cluster_ids:
                conn.execute(update(r).where(r.c.cluster_id.in_(cluster_ids)).values(cluster_id=None,
                                                                                   is_primary=True))
                conn.execute(t.clusters.delete().where(t.clusters.c.id.in_(cluster_ids)))
            removed = conn.execute(r.delete().where(r.c.batch_id == batch_id)).rowcount
            conn.execute(t.import_batches.delete().where(t.import_batches.c.id == batch_id))
            self.log_event(conn, "import_removed", actor_kind="human", actor=actor, entity="import_batch",
                           entity_id=batch_id, payload={"path": batch.path, "sha256": batch.sha256,
                                                        "source": batch.source, "n_records": removed,
                                                        "clusters_dissolved": len(cluster_ids)})
        return RemovedBatch(batch=batch, records_removed=removed, clusters_dissolved=len(cluster_ids))

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

    def records_table(self, *, primary_only: bool = False) -> list[RecordRow]:
        """Records joined with their import batch, in id order (for export, screening and the TUI)."""
        q = _records_query()
        if primary_only:
            q = q.where(t.records.c.is_primary.is_(True))
        with self.read() as conn:
            return [RecordRow.from_row(row) for row in conn.execute(q)]

    def record(self, record_id: int) -> RecordRow | None:
        """One record (as ``records_table`` gives it), or None when there is no such record."""
        with self.read() as conn:
            row = conn.execute(_records_query().where(t.records.c.id == record_id)).first()
        return RecordRow.from_row(row) if row else None

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

    def overrides(self) -> list[DedupOverride]:
        with self.read() as conn:
            return [DedupOverride.from_row(row) for row in conn.execute(select(*DedupOverride.columns()))]

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
    def counts(self) -> StoreCounts:
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
        return StoreCounts(files_imported=n_batches, records_imported=imported, records_by_source=per_source,
                           deduplicated=dedup_runs is not None, duplicates_removed=imported - unique,
                           records_unique=unique, decisions=per_stage, fulltexts=n_fulltexts,
                           extractions=n_extractions)


def _records_query() -> Select[Any]:
    """Records joined with their import batch, in id order: the columns of ``RecordRow``."""
    r, b = t.records, t.import_batches
    return select(*RecordRow.columns()).join(b, r.c.batch_id == b.c.id).order_by(r.c.id)


