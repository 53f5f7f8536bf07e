"""Repository part for risk-of-bias judgements."""

from __future__ import annotations

from sqlalchemy import select, update

from metasift.store import schema as t
from metasift.store._base import StoreBase, now
from metasift.store.rows import RobJudgement


class RobRepo(StoreBase):
    def set_rob(self, record_id: int, judgements: dict[str, tuple[str, str | None]], *, assessor: str,
                tool: str = "RoB2") -> None:
        """Record one study's judgements {domain: (judgement, support)}, superseding earlier ones."""
        rob = t.rob_assessments
        with self.write() as conn:
            stamp = now()
            conn.execute(update(rob).where(rob.c.record_id == record_id, rob.c.tool == tool,
                                           rob.c.domain.in_(list(judgements)), rob.c.superseded_at.is_(None))
                         .values(superseded_at=stamp))
            conn.execute(rob.insert(), [{"record_id": record_id, "tool": tool, "domain": d, "judgement": j,
                                         "support": s, "assessor": assessor, "created_at": stamp}
                                        for d, (j, s) in judgements.items()])
            self.log_event(conn, "rob", actor_kind="human", actor=assessor, entity="record", entity_id=record_id,
                           payload={d: j for d, (j, _) in judgements.items()})

    def rob(self, tool: str = "RoB2") -> dict[int, dict[str, RobJudgement]]:
        """Current judgements: {record_id: {domain: judgement}}."""
        rob = t.rob_assessments
        out: dict[int, dict[str, RobJudgement]] = {}
        with self.read() as conn:
            for row in conn.execute(select(rob).where(rob.c.tool == tool, rob.c.superseded_at.is_(None))
                                    .order_by(rob.c.id)):
                out.setdefault(row.record_id, {})[row.domain] = RobJudgement(
                    judgement=row.judgement, support=row.support, assessor=row.assessor)
        return out
