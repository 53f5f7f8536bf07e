"""Repository part for screening: decisions, ranker scores, routes, settled labels, LLM exchanges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from metasift.store import schema as t
from metasift.store._base import StoreBase, now


class ScreeningRepo(StoreBase):
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

    # -- screening support: ranker scores and routes ---------------------------------------------
    def save_rankings(self, stage: str, ranker: str, params: dict[str, Any], scores: dict[int, float],
                      trained_on: int) -> int:
        """Store one ranker run's P(include) per record; return the run number."""
        with self.write() as conn:
            run = (conn.execute(select(func.max(t.rankings.c.run))).scalar() or 0) + 1
            stamp = now()
            rows = [{"record_id": rid, "stage": stage, "ranker": ranker, "params": params, "score": float(sc),
                     "trained_on": trained_on, "run": run, "created_at": stamp} for rid, sc in scores.items()]
            for start in range(0, len(rows), 5000):
                conn.execute(t.rankings.insert(), rows[start:start + 5000])
            self.log_event(conn, "rank", actor_kind="model", actor=ranker, payload={
                "run": run, "stage": stage, "records": len(rows), "trained_on": trained_on, "params": params})
        return run

    def latest_scores(self, stage: str) -> dict[int, float]:
        """P(include) per record from the latest ranker run at ``stage`` (empty before the first run)."""
        r = t.rankings
        with self.read() as conn:
            run = conn.execute(select(func.max(r.c.run)).where(r.c.stage == stage)).scalar()
            if run is None:
                return {}
            return {row.record_id: row.score for row in conn.execute(
                select(r.c.record_id, r.c.score).where(r.c.run == run))}

    def save_routes(self, stage: str, routes: dict[int, tuple[str, str]], policy: dict[str, Any]) -> None:
        """Record each record's route (auto_exclude | human | likely_include) with why, superseding old ones."""
        rt = t.routes
        with self.write() as conn:
            stamp = now()
            ids = list(routes)
            for start in range(0, len(ids), 900):
                conn.execute(update(rt).where(rt.c.stage == stage, rt.c.record_id.in_(ids[start:start + 900]),
                                              rt.c.superseded_at.is_(None)).values(superseded_at=stamp))
            rows = [{"record_id": rid, "stage": stage, "route": route, "reason": why, "policy": policy,
                     "created_at": stamp} for rid, (route, why) in routes.items()]
            for start in range(0, len(rows), 5000):
                conn.execute(rt.insert(), rows[start:start + 5000])
            counts: dict[str, int] = {}
            for route, _ in routes.values():
                counts[route] = counts.get(route, 0) + 1
            self.log_event(conn, "route", actor_kind="rule", actor="routing-policy",
                           payload={"stage": stage, "counts": counts, "policy": policy})

    def current_routes(self, stage: str) -> dict[int, dict[str, Any]]:
        rt = t.routes
        with self.read() as conn:
            return {row.record_id: dict(row._mapping) for row in conn.execute(
                select(rt).where(rt.c.stage == stage, rt.c.superseded_at.is_(None)))}

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
        # the routing policy's auto-exclusions stand until a human decides otherwise
        for rid, route in self.current_routes(stage).items():
            if route["route"] == "auto_exclude" and rid not in labels and not any(
                    d["decider_kind"] in ("human", "consensus") for d in by_record.get(rid, [])):
                labels[rid] = "exclude"
        return labels

    # -- LLM exchanges ------------------------------------------------------------------------
    def log_llm_call(self, row: dict[str, Any]) -> None:
        cols = set(t.llm_calls.c.keys())
        with self.write() as conn:
            values = {k: v for k, v in row.items() if k in cols and k != "id"}
            values["created_at"] = values.get("created_at") or now()
            conn.execute(t.llm_calls.insert().values(**values))

