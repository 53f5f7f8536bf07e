"""Repository part for full texts and extracted values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from metasift.errors import ProjectError
from metasift.kinds import ExtractionStatus
from metasift.store import schema as t
from metasift.store._base import StoreBase, now
from metasift.store.rows import ExtractionRow, FulltextRow, HandEntry

_OPEN = [ExtractionStatus.AUTO_VERIFIED, ExtractionStatus.NEEDS_HUMAN]  # a re-extraction replaces these
_SETTLED = [ExtractionStatus.VERIFIED, ExtractionStatus.REJECTED]  # a human decided these

class FulltextRepo(StoreBase):
    # -- full texts and extractions ----------------------------------------------------------
    def add_fulltext(self, *, record_id: int, path: Path | str, sha256: str, n_pages: int | None, status: str,
                     message: str | None, matched_by: str, actor: str = "metasift", source: str | None = None
                     ) -> int:
        """Link a full text to a record. ``path`` is project-relative (the copy under ``fulltext/``) or, in
        older projects and tests, absolute; ``source`` is the file it was copied from (kept in the event)."""
        payload = {"record_id": record_id, "path": str(path), "status": status, "sha256": sha256}
        if source is not None:
            payload["source"] = source
        with self.write() as conn:
            fid = conn.execute(t.fulltexts.insert().values(
                record_id=record_id, path=str(path), sha256=sha256, n_pages=n_pages, status=status,
                message=message, matched_by=matched_by, attached_at=now())).inserted_primary_key[0]
            self.log_event(conn, "attach_fulltext", actor_kind="rule", actor=actor, entity="fulltext",
                           entity_id=fid, payload=payload)
        return fid

    def fulltexts(self) -> list[FulltextRow]:
        """Every attached full text; ``path`` is the file to open (a project-relative path joined to the
        project folder, wherever it is now) and ``stored_path`` the value as stored."""
        with self.read() as conn:
            rows = conn.execute(select(*FulltextRow.columns()).order_by(t.fulltexts.c.id)).all()
        return [FulltextRow.from_row(row, str(self.fulltext_file(row.path))) for row in rows]

    def fulltext_file(self, stored: str) -> Path:
        """The file a stored full-text path names: absolute paths (older projects) as they are, relative
        ones inside the project folder."""
        path = Path(stored)
        if path.is_absolute() or self.project is None:
            return path
        return Path(self.project).absolute() / path

    def move_fulltext(self, fulltext_id: int, path: str, *, source: str) -> None:
        """Point a full text at its copy inside the project (``path`` project-relative), with its event."""
        with self.write() as conn:
            conn.execute(update(t.fulltexts).where(t.fulltexts.c.id == fulltext_id).values(path=path))
            self.log_event(conn, "fulltext_copied_in", entity="fulltext", entity_id=fulltext_id,
                           payload={"from": source, "path": path})

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
                                          & x.c.status.in_(_OPEN)))
            reviewed = {(r.field, r.arm, r.measure, r.timepoint) for r in conn.execute(
                select(x.c.field, x.c.arm, x.c.measure, x.c.timepoint).where(
                    (x.c.fulltext_id == fulltext_id) & x.c.status.in_(_SETTLED)))}
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
                    ) -> list[ExtractionRow]:
        """Extracted values in id order: all, or one record's, or those with one of the ``status``es."""
        q = select(*ExtractionRow.columns()).order_by(t.extractions.c.id)
        if record_id is not None:
            q = q.where(t.extractions.c.record_id == record_id)
        if status:
            q = q.where(t.extractions.c.status.in_(list(status)))
        with self.read() as conn:
            return [ExtractionRow.from_row(row) for row in conn.execute(q)]

    def review_extraction(self, extraction_id: int, *, status: str, actor: str, value: Any = None,
                          reason: str | None = None, quote: str | None = None, page: int | None = None) -> None:
        """A human accepts (verified), edits (verified, new value, and the quote and page that print it) or
        rejects a value; the old value is kept in the event log, with what ``undo_extraction_review`` needs to
        put the row back."""
        x = t.extractions
        with self.write() as conn:
            old = conn.execute(select(x.c.value, x.c.status, x.c.reason, x.c.updated_by, x.c.updated_at,
                                      x.c.quote, x.c.page).where(x.c.id == extraction_id)).first()
            if old is None:
                raise ProjectError(f"no extracted value with id {extraction_id}")
            values: dict[str, Any] = {"status": status, "updated_by": actor, "updated_at": now()}
            for name, new in (("value", value), ("reason", reason), ("quote", quote), ("page", page)):
                if new is not None and new != "":
                    values[name] = new
            conn.execute(update(x).where(x.c.id == extraction_id).values(**values))
            # the other candidates for this value (rule vs model) are settled too
            also: list[dict[str, Any]] = []
            if status == ExtractionStatus.VERIFIED:
                row = conn.execute(select(x.c.record_id, x.c.field, x.c.arm, x.c.measure, x.c.timepoint)
                                   .where(x.c.id == extraction_id)).one()
                others = (x.c.id != extraction_id, x.c.record_id == row.record_id, x.c.field == row.field,
                          _same(x.c.arm, row.arm), _same(x.c.measure, row.measure),
                          _same(x.c.timepoint, row.timepoint), x.c.status == ExtractionStatus.NEEDS_HUMAN)
                also = [_undo_state(r) for r in conn.execute(
                    select(x.c.id, x.c.reason, x.c.updated_by, x.c.updated_at).where(*others))]
                conn.execute(update(x).where(*others).values(
                    status=ExtractionStatus.REJECTED, updated_by=actor, updated_at=now(),
                    reason=f"another candidate (id {extraction_id}) verified by {actor}"))
            self.log_event(conn, "verify_value", actor_kind="human", actor=actor, entity="extraction",
                           entity_id=extraction_id, payload={"old_value": old.value, "old_status": old.status,
                                                             "new_value": value, "status": status,
                                                             "reason": reason, "old": _undo_state(old),
                                                             "also_rejected": also})

    def enter_extractions(self, entries: Sequence[HandEntry], *, actor: str) -> list[tuple[int, list[int]]]:
        """Values a reviewer enters by hand (source "human", verified), all in one transaction, each with its
        event. Every other value held for an entry's field, arm, measure and time point (an earlier entry of
        the same batch too) is rejected as replaced, its state kept in the event so ``withdraw_extraction`` can
        put it back. Returns (new id, replaced ids) per entry."""
        x = t.extractions
        out = []
        with self.write() as conn:
            for e in entries:
                key = (x.c.record_id == e.record_id, x.c.field == e.field, _same(x.c.arm, e.arm),
                       _same(x.c.measure, e.measure), _same(x.c.timepoint, e.timepoint),
                       x.c.status != ExtractionStatus.REJECTED)
                replaced = [_undo_state(r) | {"status": r.status} for r in conn.execute(
                    select(x.c.id, x.c.status, x.c.reason, x.c.updated_by, x.c.updated_at).where(*key))]
                stamp = now()
                new_id = conn.execute(x.insert().values(
                    record_id=e.record_id, fulltext_id=e.fulltext_id, field=e.field, arm=e.arm, measure=e.measure,
                    timepoint=e.timepoint, value=e.value, page=e.page, quote=e.quote, source="human",
                    extractor="by hand", status=ExtractionStatus.VERIFIED, reason=e.reason, created_at=stamp,
                    updated_by=actor, updated_at=stamp)).inserted_primary_key[0]
                if replaced:
                    conn.execute(update(x).where(x.c.id.in_([r["id"] for r in replaced])).values(
                        status=ExtractionStatus.REJECTED, updated_by=actor, updated_at=stamp,
                        reason=_replaced_by(actor, new_id)))
                self.log_event(conn, "enter_value", actor_kind="human", actor=actor, entity="extraction",
                               entity_id=new_id, payload={**asdict(e), "replaced": replaced})
                out.append((new_id, [r["id"] for r in replaced]))
        return out

    def withdraw_extraction(self, extraction_id: int, *, actor: str) -> list[int]:
        """Take back a value entered by hand: it is rejected as withdrawn, and the values its entry replaced
        are put back as they were (those still rejected by it). Returns the ids put back."""
        x, ev = t.extractions, t.events
        with self.write() as conn:
            row = conn.execute(select(x.c.source, x.c.status).where(x.c.id == extraction_id)).first()
            if row is None or row.source != "human":
                raise ProjectError(f"no value entered by hand has id {extraction_id}")
            if row.status == ExtractionStatus.REJECTED:
                raise ProjectError(f"the value entered as id {extraction_id} is already withdrawn or replaced")
            entry = conn.execute(select(ev.c.payload, ev.c.actor).where(
                ev.c.entity == "extraction", ev.c.entity_id == extraction_id, ev.c.action == "enter_value")).first()
            stamp = now()
            conn.execute(update(x).where(x.c.id == extraction_id).values(
                status=ExtractionStatus.REJECTED, updated_by=actor, updated_at=stamp, reason=f"withdrawn by {actor}"))
            restored = []
            for other in ((entry.payload or {}).get("replaced") or []) if entry else []:
                done = conn.execute(update(x).where(
                    x.c.id == other["id"], x.c.status == ExtractionStatus.REJECTED,
                    x.c.reason == _replaced_by(entry.actor, extraction_id))
                    .values(status=other["status"], **_restored(other)))
                restored += [other["id"]] if done.rowcount else []
            self.log_event(conn, "withdraw_value", actor_kind="human", actor=actor, entity="extraction",
                           entity_id=extraction_id, payload={"restored": restored})
        return restored

    def undo_extraction_review(self, extraction_id: int, *, actor: str) -> ExtractionRow:
        """Put a value back as it was before its latest human review (accept, edit or reject), with the
        other candidates that review rejected; logged as ``undo_verify_value`` naming the undone event.
        Returns the restored row. Refused when that review was already undone or the value changed since."""
        x, ev = t.extractions, t.events
        with self.write() as conn:
            events = conn.execute(select(ev.c.id, ev.c.action, ev.c.payload).where(
                ev.c.entity == "extraction", ev.c.entity_id == extraction_id,
                ev.c.action.in_(["verify_value", "undo_verify_value"])).order_by(ev.c.id.desc())).all()
            undone = {(e.payload or {}).get("undoes") for e in events if e.action == "undo_verify_value"}
            last = next((e for e in events if e.action == "verify_value"), None)
            if last is None or last.id in undone:
                raise ProjectError(f"extracted value {extraction_id}: no human review left to undo")
            p = last.payload
            current = conn.execute(select(x.c.status, x.c.value).where(x.c.id == extraction_id)).first()
            if current is None or current.status != p["status"]:
                raise ProjectError(f"extracted value {extraction_id} changed since that review; nothing undone")
            # events written before the undo existed carry only the old value and status
            old = p.get("old") or {}
            conn.execute(update(x).where(x.c.id == extraction_id).values(
                status=p["old_status"], value=p["old_value"], **_restored(old)))
            restored = []
            for other in p.get("also_rejected") or []:
                done = conn.execute(update(x).where(x.c.id == other["id"], x.c.status == ExtractionStatus.REJECTED)
                                    .values(status=ExtractionStatus.NEEDS_HUMAN, **_restored(other)))
                restored += [other["id"]] if done.rowcount else []
            self.log_event(conn, "undo_verify_value", actor_kind="human", actor=actor, entity="extraction",
                           entity_id=extraction_id, payload={"undoes": last.id, "from_status": current.status,
                                                             "from_value": current.value,
                                                             "status": p["old_status"], "value": p["old_value"],
                                                             "also_restored": restored})
            return ExtractionRow.from_row(conn.execute(select(*ExtractionRow.columns()).where(
                x.c.id == extraction_id)).one())


def _same(column: Any, value: Any) -> Any:
    """column = value, where None matches NULL."""
    return column.is_(None) if value is None else column == value


def _replaced_by(actor: str, entered_id: int) -> str:
    """The reason a value replaced by an entry by hand carries (``withdraw_extraction`` finds them by it)."""
    return f"replaced by the value {actor} entered (id {entered_id})"


def _undo_state(row: Any) -> dict[str, Any]:
    """What a review overwrites besides value and status (kept in its event so an undo can restore it): the
    quote and page too where ``row`` has them (an edit points them at the new value)."""
    state = {"reason": row.reason, "updated_by": row.updated_by,
             "updated_at": row.updated_at.isoformat() if row.updated_at else None}
    state |= {k: getattr(row, k) for k in ("quote", "page") if k in row._fields}
    return {"id": row.id, **state} if "id" in row._fields else state


def _restored(state: dict[str, Any]) -> dict[str, Any]:
    """Column values from an ``_undo_state`` (only those it holds)."""
    out = {k: state[k] for k in ("reason", "updated_by", "quote", "page") if k in state}
    if "updated_at" in state:
        out["updated_at"] = datetime.fromisoformat(state["updated_at"]) if state["updated_at"] else None
    return out
