"""Repository part for screening: decisions, ranker scores, routes, settled labels, calibration samples,
LLM exchanges. The settled-label rules themselves are pure and live in ``metasift.labels``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, DateTime, Text, bindparam, delete, func, select, update

from metasift.kinds import DeciderKind, Label, RouteName, Stage
from metasift.labels import COUNTED, as_include, settle
from metasift.store import schema as t
from metasift.store._base import StoreBase, now
from metasift.store.rows import DecisionRow, RankingRun, RouteRow

__all__ = ["COUNTED", "ScreeningRepo", "as_include", "settle"]  # the rules live in metasift.labels


class ScreeningRepo(StoreBase):
    # -- decisions ----------------------------------------------------------------------------
    def add_decision(self, *, record_id: int, stage: str, decider_kind: str, decider: str, label: str,
                     criteria: list[dict[str, Any]] | None = None, reasons: list[str] | None = None,
                     note: str | None = None, confidence: float | None = None, model: str | None = None,
                     prompt_hash: str | None = None, settings: dict[str, Any] | None = None,
                     conn: Connection | None = None) -> int:
        """Write one decision (and its event) in its own transaction, or in ``conn`` if given."""
        row = dict(record_id=record_id, stage=stage, decider_kind=decider_kind, decider=decider, label=label,
                   criteria=criteria, reasons=reasons, note=note, confidence=confidence, model=model,
                   prompt_hash=prompt_hash, settings=settings)
        return self.add_decisions([row], conn=conn)[0]

    def add_decisions(self, rows: Sequence[dict[str, Any]], *, conn: Connection | None = None) -> list[int]:
        """Write decisions (``add_decision``'s fields, one dict each) and their events in one transaction."""
        if conn is None:
            with self.write() as own:
                return self.add_decisions(rows, conn=own)
        if not rows:
            return []
        stamp = now()
        values = [{c: row.get(c) for c in _DECISION_FIELDS} | {"created_at": stamp} for row in rows]
        ids = _insert_returning_ids(conn, values)
        self.log_events(conn, [
            {"action": "decide", "actor_kind": v["decider_kind"], "actor": v["decider"], "entity": "decision",
             "entity_id": decision_id, "payload": {"record_id": v["record_id"], "stage": v["stage"],
                                                   "label": v["label"]}}
            for decision_id, v in zip(ids, values, strict=True)])
        return ids

    def retract_decision(self, decision_id: int, actor: str) -> None:
        """Undo: the decision row stays, marked retracted, and the undo is logged."""
        with self.write() as conn:
            conn.execute(update(t.decisions).where(t.decisions.c.id == decision_id).values(retracted_at=now()))
            self.log_event(conn, "undo", actor_kind=DeciderKind.HUMAN, actor=actor, entity="decision",
                           entity_id=decision_id)

    def decisions(self, stage: str | None = None, *, include_retracted: bool = False) -> list[DecisionRow]:
        """Decisions in id order (active ones unless ``include_retracted``), all stages or one."""
        q = select(*DecisionRow.columns()).order_by(t.decisions.c.id)
        if stage:
            q = q.where(t.decisions.c.stage == stage)
        if not include_retracted:
            q = q.where(t.decisions.c.retracted_at.is_(None))

        def load() -> list[DecisionRow]:
            with self.read() as conn:
                return [DecisionRow.from_row(row) for row in conn.execute(q)]

        return self._memoised(("decisions", stage, include_retracted), load)

    # -- screening support: ranker scores and routes ---------------------------------------------
    def save_rankings(self, stage: str, ranker: str, params: dict[str, Any], scores: dict[int, float],
                      trained_on: int, *, reviewer: str | None = None, context: dict[str, Any] | None = None,
                      chunk: int | None = None, prune: bool = True) -> int:
        """Store one ranker run's P(include) per record; return the run number.

        ``reviewer``: a run retrained during that reviewer's session, from the settled labels plus their
        own decisions; its ``rank`` event names them, so another reviewer's queue can leave it aside
        (blinding, ``ranking_runs``). ``context``: more for the event (what triggered the run).

        A run counts once its ``rank`` event is written (``latest_run``). ``chunk``: write the scores in
        transactions of that many rows, pausing between them, and the event last — for a review session
        saving 50,000 scores while its reviewer decides: each decision waits for the write lock, for one
        chunk (~20 ms) instead of the whole run. Rows of a run cut short have no event and are never read.

        ``prune`` (a run retrained in a review session): every retrain stores 50,000 scores, and only the
        newest of a reviewer's runs orders anything, so the same transaction as the new run's ``rank`` event
        writes a ``prune_rankings`` event naming that reviewer's older runs (from then on they are not runs:
        ``ranking_runs`` passes over them), and their rows are deleted afterwards in small transactions
        (``sweep_pruned_rankings``; leftovers of an interrupted sweep go at the next one). Runs made by
        ``metasift screen`` (no reviewer) are never pruned, nor another reviewer's.
        """
        audit = {"reviewer": reviewer, **(context or {})} if reviewer or context else {}
        pairs = [(rid, float(sc)) for rid, sc in scores.items()]
        size = chunk or max(1, len(pairs))
        prune = prune and reviewer is not None
        with self.write() as conn:
            run = (conn.execute(select(func.max(t.rankings.c.run))).scalar() or 0) + 1
            stamp = now()
            self._insert_scores(conn, stage, ranker, params, pairs[:size], trained_on, run, stamp)
            if len(pairs) <= size:
                self._log_rank(conn, stage, ranker, params, len(pairs), trained_on, run, audit)
                if prune:
                    self._prune_older(conn, stage, reviewer, run)
        if len(pairs) > size:
            for start in range(size, len(pairs), size):
                time.sleep(0.03)  # lets a waiting writer (a reviewer's decision) take the lock between chunks
                with self.write() as conn:
                    self._insert_scores(conn, stage, ranker, params, pairs[start:start + size], trained_on, run,
                                        stamp)
            with self.write() as conn:
                self._log_rank(conn, stage, ranker, params, len(pairs), trained_on, run, audit)
                if prune:
                    self._prune_older(conn, stage, reviewer, run)
        if prune:
            self.sweep_pruned_rankings(chunk=size)
        return run

    def _prune_older(self, conn: Connection, stage: str, reviewer: str | None, run: int) -> None:
        """Inside the transaction writing ``run``'s event: retire ``reviewer``'s older runs at ``stage``."""
        older = [r.run for r in self._ranking_runs(conn, stage) if r.reviewer == reviewer and r.run < run]
        if older:
            self.log_event(conn, "prune_rankings", actor_kind=DeciderKind.HUMAN, actor=reviewer or "metasift",
                           payload={"stage": stage, "runs": older, "kept": run,
                                    "why": "a newer run retrained in this reviewer's session replaces them"})

    def pruned_runs(self) -> set[int]:
        """Ranker runs retired by a ``prune_rankings`` event (their rows deleted, or about to be)."""
        e = t.events
        with self.read() as conn:
            payloads = conn.execute(select(e.c.payload).where(e.c.action == "prune_rankings")).scalars().all()
        return {int(r) for p in payloads for r in (p or {}).get("runs", [])}

    def sweep_pruned_rankings(self, *, chunk: int = 5000) -> int:
        """Delete the rows of pruned runs, ``chunk`` rows per transaction (a reviewer deciding meanwhile waits
        for one chunk, not the whole run); returns how many rows went."""
        pruned = sorted(self.pruned_runs())
        if not pruned:
            return 0
        rk = t.rankings
        gone = 0
        while True:
            with self.write() as conn:
                ids = list(conn.execute(select(rk.c.id).where(rk.c.run.in_(pruned)).limit(chunk)).scalars())
                if not ids:
                    return gone
                conn.execute(delete(rk).where(rk.c.id.in_(ids)))
            gone += len(ids)
            time.sleep(0.01)

    def _log_rank(self, conn: Connection, stage: str, ranker: str, params: dict[str, Any], records: int,
                  trained_on: int, run: int, audit: dict[str, Any]) -> None:
        self.log_event(conn, "rank", actor_kind=DeciderKind.MODEL, actor=ranker, payload={
            "run": run, "stage": stage, "records": records, "trained_on": trained_on, "params": params, **audit})

    @staticmethod
    def _insert_scores(conn: Connection, stage: str, ranker: str, params: dict[str, Any],
                       pairs: Sequence[tuple[int, float]], trained_on: int, run: int, stamp: Any) -> None:
        """Insert one run's scores: what the rows share is bound once (params serialised once); on SQLite
        through the driver's executemany itself, a quarter of Core's time at 50,000 rows."""
        rk = t.rankings
        params_json = t.JSONText().process_bind_param(params, None)
        to_text = rk.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if conn.dialect.name == "sqlite" and to_text is not None:
            at = to_text(stamp)
            conn.exec_driver_sql(
                "INSERT INTO rankings (record_id, stage, ranker, params, score, trained_on, run, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(rid, str(stage), ranker, params_json, sc, trained_on, run, at) for rid, sc in pairs])
            return
        insert = rk.insert().values(
            stage=bindparam("_stage", stage), ranker=bindparam("_ranker", ranker),
            params=bindparam("_params", params_json, Text()), trained_on=bindparam("_trained_on", trained_on),
            run=bindparam("_run", run), created_at=bindparam("_created_at", stamp, DateTime(timezone=True)))
        for start in range(0, len(pairs), 10000):
            conn.execute(insert, [{"record_id": rid, "score": sc} for rid, sc in pairs[start:start + 10000]])

    def latest_run(self, stage: str) -> int | None:
        """The newest complete ranker run at ``stage`` (one whose ``rank`` event was written), or None."""
        runs = self.ranking_runs(stage)
        return runs[-1].run if runs else None

    def ranking_runs(self, stage: str) -> list[RankingRun]:
        """The ranker runs at ``stage``, oldest first, read from their ``rank`` events (one row per run, so
        this stays fast however many scores the runs stored); runs pruned since are left out."""
        with self.read() as conn:
            return self._ranking_runs(conn, stage)

    @staticmethod
    def _ranking_runs(conn: Connection, stage: str) -> list[RankingRun]:
        e = t.events
        rows = conn.execute(select(e.c.action, e.c.actor, e.c.payload, e.c.at)
                            .where(e.c.action.in_(("rank", "prune_rankings"))).order_by(e.c.id)).all()
        pruned = {int(r) for action, _, payload, _ in rows if action == "prune_rankings"
                  for r in (payload or {}).get("runs", [])}
        return [RankingRun.from_event(actor, payload, at) for action, actor, payload, at in rows
                if action == "rank" and payload and payload.get("stage") == stage and "run" in payload
                and int(payload["run"]) not in pruned]

    def latest_scores(self, stage: str, *, shared: bool = False) -> dict[int, float]:
        """P(include) per record from the latest ranker run at ``stage`` (empty before the first run). With
        ``shared``, the latest run made for everyone (``metasift screen``), not one retrained in a review
        session on that reviewer's own, not yet settled, decisions."""
        r = t.rankings
        runs = [x.run for x in self.ranking_runs(stage) if not shared or x.reviewer is None]
        run = runs[-1] if runs else None
        if run is None:
            return {}
        with self.read() as conn:
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
            self.log_event(conn, "route", actor_kind=DeciderKind.RULE, actor="routing-policy",
                           payload={"stage": stage, "counts": counts, "policy": policy})

    def current_routes(self, stage: str) -> dict[int, RouteRow]:
        """Each record's route in force at ``stage`` (the latest, not superseded)."""
        rt = t.routes
        with self.read() as conn:
            routes = [RouteRow.from_row(row) for row in conn.execute(
                select(*RouteRow.columns()).where(rt.c.stage == stage, rt.c.superseded_at.is_(None)))]
        return {r.record_id: r for r in routes}

    def final_labels(self, stage: str, *, humans_needed: int = 1, model_counts: bool = False,
                     automatic: bool = True) -> dict[int, Label]:
        """Each record's settled label at ``stage`` — the one definition every part of metasift uses.

        A consensus decision wins; else the counted decisions (each human's latest include / exclude /
        maybe, plus the model's latest when it counts as a reviewer) settle the record when there are
        ``humans_needed`` of them and they agree (maybe counts as include; the label is "maybe" only when
        all said maybe). With ``automatic``, a record no human decided is also settled as exclude by a
        rule exclusion or an auto-exclude route. Records without a settled label are absent. The rules:
        ``metasift.labels.settle``.
        """
        by_record: dict[int, list[DecisionRow]] = {}
        for d in self.decisions(stage):
            by_record.setdefault(d.record_id, []).append(d)
        auto = {rid for rid, r in self.current_routes(stage).items() if r.route == RouteName.AUTO_EXCLUDE} \
            if automatic else set()
        labels: dict[int, Label] = {}
        for rid in set(by_record) | auto:
            label = settle(by_record.get(rid, []), humans_needed=humans_needed, model_counts=model_counts,
                           automatic=automatic, auto_excluded=rid in auto)
            if label is not None:
                labels[rid] = label
        return labels

    # -- calibration samples -----------------------------------------------------------------------
    def record_calibration_sample(self, *, stage: Stage, seed: int, size: int, records: Sequence[int],
                                  drawn_by: str) -> int:
        """Keep a drawn calibration sample (``review --sample N --seed S``): its ``review_sample`` event and
        one ``calibration_samples`` row per record, in one transaction; return the event id."""
        with self.write() as conn:
            event_id = self.log_event_id(conn, "review_sample", actor_kind=DeciderKind.HUMAN, actor=drawn_by,
                                         payload={"stage": stage, "n": size, "seed": seed,
                                                  "records": list(records)})
            stamp = now()
            if records:
                conn.execute(t.calibration_samples.insert(), [
                    {"event_id": event_id, "record_id": rid, "position": pos, "stage": stage, "seed": seed,
                     "size": size, "drawn_by": drawn_by, "drawn_at": stamp} for pos, rid in enumerate(records)])
        return event_id

    def calibration_sample_ids(self, stage: Stage = Stage.TITLE_ABSTRACT) -> set[int]:
        """Every record drawn into a calibration sample at ``stage`` (any seed, any reviewer)."""
        cs = t.calibration_samples
        with self.read() as conn:
            return set(conn.execute(select(cs.c.record_id).where(cs.c.stage == stage)).scalars())

    # -- LLM exchanges ------------------------------------------------------------------------
    def log_llm_call(self, row: dict[str, Any], *, conn: Connection | None = None) -> None:
        """Keep one LLM exchange (an ``Exchange.model_dump()``) in its own transaction, or in ``conn``."""
        self.log_llm_calls([row], conn=conn)

    def log_llm_calls(self, rows: Sequence[dict[str, Any]], *, conn: Connection | None = None) -> None:
        """Keep several LLM exchanges in one transaction (or in ``conn``); nothing to do for none."""
        if not rows:
            return
        if conn is None:
            with self.write() as own:
                return self.log_llm_calls(rows, conn=own)
        cols = _LLM_CALL_COLUMNS
        stamp = now()
        values = [{c: row.get(c) for c in cols} | {"created_at": row.get("created_at") or stamp} for row in rows]
        conn.execute(t.llm_calls.insert(), values)


def _insert_returning_ids(conn: Connection, values: list[dict[str, Any]]) -> list[int]:
    """Insert decision rows; their ids in the order given.

    With one row per record (an LLM batch) the rows go in multi-row statements and the ids are matched back
    by record; otherwise SQLAlchemy's ordered RETURNING is used, which on SQLite means a statement per row.
    """
    records = [v["record_id"] for v in values]
    if len(set(records)) == len(records):
        rows = conn.execute(t.decisions.insert().returning(t.decisions.c.id, t.decisions.c.record_id), values)
        by_record = {record_id: int(decision_id) for decision_id, record_id in rows}
        return [by_record[r] for r in records]
    insert = t.decisions.insert().returning(t.decisions.c.id, sort_by_parameter_order=True)
    return [int(r[0]) for r in conn.execute(insert, values)]


_DECISION_FIELDS = ("record_id", "stage", "decider_kind", "decider", "label", "criteria", "reasons", "note",
                    "confidence", "model", "prompt_hash", "settings")
_LLM_CALL_COLUMNS = tuple(c for c in t.llm_calls.c.keys() if c != "id")
