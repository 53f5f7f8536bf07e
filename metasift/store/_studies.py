"""Repository part for study-level fields (``metasift studies import``): values per study and field, each
import superseding the earlier values of the fields it names, with one audit event per import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from metasift.store import schema as t
from metasift.store._base import StoreBase, now
from metasift.store.rows import StudyField


@dataclass(frozen=True, slots=True)
class StudyValue:
    """One value to store: a study (record), a field, the text as written and where it came from."""

    record_id: int
    field: str
    value: str | None  # None: the cell was blank, the study has no value of this field any more
    source: str        # FILE:LINE


class StudiesRepo(StoreBase):
    def set_study_fields(self, values: Sequence[StudyValue], *, fields: Sequence[str], actor: str, file: str,
                         sha256: str) -> int:
        """Store an imported file's values in one transaction: for every study in it, the earlier values of
        ``fields`` are superseded; blank cells leave the study without a value. Returns the rows written."""
        sf = t.study_fields
        records = sorted({v.record_id for v in values})
        rows = [{"record_id": v.record_id, "field": v.field, "value": v.value, "source": v.source,
                 "imported_by": actor} for v in values if v.value is not None]
        with self.write() as conn:
            stamp = now()
            if records:
                conn.execute(update(sf).where(sf.c.record_id.in_(records), sf.c.field.in_(list(fields)),
                                              sf.c.superseded_at.is_(None)).values(superseded_at=stamp))
            if rows:
                conn.execute(sf.insert(), [{**r, "created_at": stamp} for r in rows])
            self.log_event(conn, "studies_import", actor_kind="human", actor=actor, entity="study_fields",
                           payload={"file": file, "sha256": sha256, "studies": len(records), "fields": list(fields),
                                    "values": len(rows)})
        return len(rows)

    def study_fields(self) -> list[StudyField]:
        """Every current study-level value, by record then field."""
        sf = t.study_fields
        with self.read() as conn:
            result = conn.execute(select(*StudyField.columns()).where(sf.c.superseded_at.is_(None))
                                  .order_by(sf.c.record_id, sf.c.field))
            return [StudyField.from_row(r) for r in result]
