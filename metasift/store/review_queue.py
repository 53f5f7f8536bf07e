"""Store queries for human review: who still has to decide what, in which order, conflicts, agreement sides.

Counting rules (pure, in ``metasift.labels``; used by the queue, the write guard and ``conflicts``):
- a *counted* decision is an active (not retracted) ``include``/``exclude``/``maybe`` by a human — or by the
  model when ``screening.model_counts_as_reviewer`` is on (at most one model decision counts per record);
- a record is *open* for a reviewer while it has no consensus decision, the reviewer has not decided it, and
  it has fewer counted decisions than ``screening.humans_per_record``;
- records settled automatically (a rule exclusion or an ``auto_exclude`` route, and no human decision yet)
  are left out unless asked for;
- for conflicts, ``maybe`` counts as ``include``: only include-vs-exclude is a conflict.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer
from sqlalchemy import Connection, Select, and_, exists, false, func, or_, select, type_coerce, update
from sqlalchemy.types import Text

from metasift import labels
from metasift.errors import MetasiftError
from metasift.kinds import DeciderKind, Label, RouteName, Stage
from metasift.labels import COUNTED, as_include, excluder
from metasift.store import schema as t
from metasift.store import team
from metasift.store._base import now
from metasift.store.repo import Store
from metasift.store.rows import DecisionRow, RecordTag, ReviewedRecord, SideDecision

AUTO = RouteName.AUTO_EXCLUDE
MAYBE = Label.MAYBE
HUMAN, CONSENSUS, MODEL = DeciderKind.HUMAN, DeciderKind.CONSENSUS, DeciderKind.MODEL
ScoreSource = Callable[[Store, str], dict[int, float]]


class Counting(BaseModel):
    """How many counted decisions settle a record (from review.toml's [screening])."""

    needed: int = 1
    model_counts: bool = False

    @classmethod
    def of(cls, protocol: Any) -> Counting:
        """From review.toml's ``[screening]``."""
        return cls(needed=protocol.screening.humans_per_record,
                   model_counts=protocol.screening.model_counts_as_reviewer)


class Queue(BaseModel):
    """Record ids in review order and how that order was made (``ranked`` | ``id`` | ``random``)."""

    ids: list[int]
    kind: str
    seed: int | None = None


# -- ordering -----------------------------------------------------------------------------------------
def draft_scores(store: Store, stage: str) -> dict[int, float]:
    """P(include) from the latest model draft per record: its confidence in include, 1 − that for exclude."""
    d = t.decisions
    rows = _active(store, select(d.c.record_id, d.c.label, d.c.confidence).where(
        d.c.stage == stage, d.c.decider_kind == DeciderKind.MODEL).order_by(d.c.id))
    scores: dict[int, float] = {}
    for rid, label, conf in rows:
        if label not in COUNTED:
            continue
        c = 1.0 if conf is None else float(conf)
        scores[rid] = 0.5 if label == Label.MAYBE else (c if label == Label.INCLUDE else 1.0 - c)
    return scores


def default_scores(store: Store, stage: str) -> dict[int, float]:
    """The latest ranker run's P(include), else the model drafts' (empty when neither exists)."""
    return store.latest_scores(stage) or draft_scores(store, stage)


_score_source: ScoreSource = default_scores


def set_score_source(source: ScoreSource | None) -> None:
    """Point the review queue at another P(include) source (e.g. a live ranker); None restores the default."""
    global _score_source
    _score_source = source or default_scores


def build_queue(store: Store, stage: str, *, run: int | None = None) -> Queue:
    """Primary records by P(include) descending (unscored ones at 0.5), ties and no scores by record id.

    ``run``: order by that ranker run instead of the latest (``queue_run`` picks the one a reviewer may see).
    """
    if _score_source is default_scores:  # the common case, ordered by the database (50,000 records: ~0.1 s)
        ranked = _ranked_by_latest_run(store, stage, run)
        if ranked is not None:
            return Queue(ids=ranked, kind="ranked")
    ids = primary_ids(store)
    # no run this reviewer may see: the model drafts' order, never another run's
    scores = draft_scores(store, stage) if run is not None and run < 0 else _score_source(store, stage)
    if not scores:
        return Queue(ids=ids, kind="id")
    ids.sort(key=lambda rid: (-scores.get(rid, 0.5), rid))
    return Queue(ids=ids, kind="ranked")


def queue_run(store: Store, stage: str, reviewer: str, counting: Counting) -> int | None:
    """The latest ranker run that may order ``reviewer``'s queue (None: the latest, or none at all).

    Under dual screening a run retrained in another reviewer's session learned from that reviewer's
    decisions before anyone else made theirs: ordering this queue by it would unblind it, so such runs
    are passed over. With one reviewer per record every decision settles its record, so any run will do.
    """
    if counting.needed <= 1:
        return None
    usable = [r.run for r in store.ranking_runs(stage) if r.reviewer in (None, reviewer)]
    return usable[-1] if usable else -1  # -1: no run this reviewer may see (the queue falls back to ids)


def _ranked_by_latest_run(store: Store, stage: str, run: int | None = None) -> list[int] | None:
    """build_queue's order from the latest ranker run (or ``run``), sorted by the database (fast at
    50,000 records)."""
    rk = t.rankings
    if run is None:
        run = store.latest_run(stage)
    if run is None or run < 0:
        return None
    with store.read() as conn:
        scored = conn.execute(select(rk.c.record_id).where(rk.c.run == run)
                              .order_by(rk.c.score.desc(), rk.c.record_id)).scalars().all()
    primary = primary_ids(store)
    keep = set(primary)
    ranked = [rid for rid in scored if rid in keep]
    if len(ranked) == len(primary):
        return ranked
    with store.read() as conn:  # some records have no score: they sit at 0.5, ties by id
        scores = dict(conn.execute(select(rk.c.record_id, rk.c.score).where(rk.c.run == run)).all())
    have = set(ranked)
    merged = heapq.merge(((rid, scores[rid]) for rid in ranked), ((rid, 0.5) for rid in primary if rid not in have),
                         key=lambda x: (-x[1], x[0]))
    return [rid for rid, _ in merged]


def queue_head(store: Store, stage: str, reviewer: str, run: int | None, n: int) -> list[int] | None:
    """The first ``n`` records of ``build_queue(run=run)``'s order that ``reviewer`` has not decided, read
    from the covering indexes (~15 ms at 50,000 records, where the whole queue takes a second): what the
    review screen shows while the rest loads. None when the order would need more than the run's scores
    (no usable run, or records the run did not score, which sit at 0.5)."""
    rk, r, d = t.rankings, t.records, t.decisions
    if _score_source is not default_scores:
        return None
    if run is None:
        run = store.latest_run(stage)
    if run is None or run < 0:
        return None
    mine = (d.c.stage == stage, d.c.decider == reviewer, d.c.decider_kind == HUMAN, d.c.retracted_at.is_(None))
    with store.read() as conn:
        # every primary record scored: the run's rows less those of records that are not primary (few:
        # duplicates), counted from the indexes without a join over every row
        rows = conn.execute(select(func.count()).select_from(rk).where(rk.c.run == run)).scalar_one()
        duplicates = select(r.c.id).where(r.c.is_primary == false())
        other = conn.execute(select(func.count()).select_from(rk)
                             .where(rk.c.run == run, rk.c.record_id.in_(duplicates))).scalar_one()
        primary = conn.execute(select(func.count()).select_from(r).where(r.c.is_primary.is_(True))).scalar_one()
        if rows - other != primary:
            return None
        # the run's best-scored rows first (sorted from the covering index, no lookup per row), as many as
        # can hide an open record: the head, the duplicates and every record this reviewer decided
        decided = conn.execute(select(func.count()).select_from(d).where(*mine)).scalar_one()
        top = (select(rk.c.record_id, rk.c.score).where(rk.c.run == run)
               .order_by(rk.c.score.desc(), rk.c.record_id).limit(n + other + decided).subquery("top"))
        is_mine = exists().where(d.c.record_id == top.c.record_id, *mine)
        return list(conn.execute(select(top.c.record_id).join(r, r.c.id == top.c.record_id)
                                 .where(r.c.is_primary.is_(True), ~is_mine)
                                 .order_by(top.c.score.desc(), top.c.record_id).limit(n)).scalars())


SPREAD_LANE = 32  # records each listed screener takes first in every window of near-equal rank
SPREAD_WINDOW = 64  # the window for two screeners (one lane each): ``spread_window`` for more


def spread_window(reviewers: list[str]) -> int:
    """The window of near-equal records for a team of ``reviewers``: one lane of ``SPREAD_LANE`` each, so a
    reviewer running ahead by a few keys (or a few writes not yet committed) still meets no other."""
    return SPREAD_LANE * max(2, len(reviewers))


def spread_offset(reviewer: str, reviewers: list[str], window: int = SPREAD_WINDOW) -> int:
    """Where ``reviewer`` starts in each window of the ranked queue under dual screening: the listed
    screeners evenly spaced (the i-th of n at i * window / n), anyone else at a stable hash of the name."""
    if reviewer in reviewers:
        return reviewers.index(reviewer) * window // len(reviewers)
    return int.from_bytes(hashlib.blake2b(reviewer.encode(), digest_size=4).digest(), "big") % window


def spread(ids: list[int], offset: int, window: int = SPREAD_WINDOW) -> list[int]:
    """The queue with each run of ``window`` consecutive records rotated to start at ``offset``, so that
    concurrent reviewers under dual screening do not all open the same next record: each takes its own
    lane of a window first, then the lanes after it (where one other reviewer has decided), and finds the
    rest settled. The ranking's benefit stays: a record moves by less than one window, never past a
    record ranked a window or more above it. Nothing about other reviewers' labels goes into the order."""
    out: list[int] = []
    for start in range(0, len(ids), window):
        block = ids[start:start + window]
        k = offset % len(block)
        out += block[k:] + block[:k]
    return out


def queue_order(store: Store, stage: str) -> list[int]:
    """The hook: every primary record id in the order a reviewer should see them."""
    return build_queue(store, stage).ids


def sample_queue(store: Store, n: int, seed: int) -> Queue:
    """A seeded random calibration sample of n primary records (same seed → same sample for everyone)."""
    ids = primary_ids(store)
    return Queue(ids=random.Random(seed).sample(ids, min(n, len(ids))), kind="random", seed=seed)


# -- who still has to decide ----------------------------------------------------------------------------
def primary_ids(store: Store) -> list[int]:
    """Ids of primary records (one per duplicate cluster), ascending."""
    r = t.records
    with store.read() as conn:
        return list(conn.execute(select(r.c.id).where(r.c.is_primary.is_(True)).order_by(r.c.id)).scalars().all())


def is_open(rows: Iterable[tuple[str, str, str]], reviewer: str, counting: Counting, *,
            auto_excluded: bool = False, include_auto: bool = False) -> bool:
    """Whether a record with these active (decider_kind, decider, label) rows still needs ``reviewer``
    (``metasift.labels.is_open`` with the protocol's counting)."""
    return labels.is_open(rows, reviewer, counting.needed, counting.model_counts, auto_excluded=auto_excluded,
                          include_auto=include_auto)


def open_ids(store: Store, stage: str, reviewer: str, counting: Counting, *, include_auto: bool = False,
             scope: Iterable[int] | None = None) -> set[int]:
    """Primary records (within ``scope`` if given) still needing ``reviewer``'s decision at ``stage``."""
    d = t.decisions
    rows: dict[int, list[tuple[str, str, str]]] = {}
    query = select(d.c.record_id, d.c.decider_kind, d.c.decider, d.c.label).where(d.c.stage == stage)
    with store.read() as conn:  # on a team server: every decision counted, blinded labels masked
        slots = team.decision_slots(conn, stage)
    for rid, kind, decider, label in _active(store, query.order_by(d.c.id)) if slots is None else slots:
        rows.setdefault(rid, []).append((kind, decider, label))
    auto = _auto_excluded(store, stage)
    ids = scope if scope is not None else primary_ids(store)
    untouched = counting.needed > 0  # a record nobody decided is open, unless routed to auto-exclusion
    return {rid for rid in ids
            if (untouched and rid not in rows and (include_auto or rid not in auto))
            or (rid in rows and is_open(rows[rid], reviewer, counting, auto_excluded=rid in auto,
                                        include_auto=include_auto))}


def record_is_open(conn: Connection, record_id: int, stage: str, reviewer: str, counting: Counting, *,
                   include_auto: bool = False) -> bool:
    """``is_open`` for one record, read inside ``conn`` (the write guard uses it under the write lock)."""
    d, rt = t.decisions, t.routes
    slots = team.decision_slots(conn, stage, record_id)  # a team server's blinding counts others unseen
    rows = [r[1:] for r in slots] if slots is not None else conn.execute(select(
        d.c.decider_kind, d.c.decider, d.c.label).where(
        d.c.record_id == record_id, d.c.stage == stage, d.c.retracted_at.is_(None)).order_by(d.c.id)).all()
    auto = conn.execute(select(rt.c.id).where(rt.c.record_id == record_id, rt.c.stage == stage,
                                              rt.c.route == AUTO, rt.c.superseded_at.is_(None))).first()
    return is_open([tuple(r) for r in rows], reviewer, counting, auto_excluded=auto is not None,
                   include_auto=include_auto)


def stage_scope(store: Store, stage: str, counting: Counting) -> set[int] | None:
    """Records a stage screens: all primary records at title/abstract; at full text those settled as
    include (or maybe) at title/abstract."""
    if stage == Stage.TITLE_ABSTRACT:
        return None
    return {rid for rid, label in settled_labels(store, Stage.TITLE_ABSTRACT, counting).items()
            if label in (Label.INCLUDE, Label.MAYBE)}


def _decisions() -> Select[Any]:
    """Active decisions, as ``DecisionRow``s read them."""
    return select(*DecisionRow.columns()).where(t.decisions.c.retracted_at.is_(None))


def _first_decision(store: Store, query: Select[Any]) -> DecisionRow | None:
    with store.read() as conn:
        row = conn.execute(query.limit(1)).first()
    return DecisionRow.from_row(row) if row else None


def reviewer_decisions(store: Store, stage: str, reviewer: str, kind: str = HUMAN) -> list[DecisionRow]:
    """The reviewer's active decisions at ``stage``, oldest first."""
    d = t.decisions
    with store.read() as conn:
        return [DecisionRow.from_row(row) for row in conn.execute(_decisions().where(
            d.c.stage == stage, d.c.decider == reviewer, d.c.decider_kind == kind).order_by(d.c.id))]


def last_decision(store: Store, stage: str, reviewer: str, kind: str = HUMAN) -> DecisionRow | None:
    """The reviewer's most recent active decision at ``stage`` (what undo takes back after a restart)."""
    d = t.decisions
    return _first_decision(store, _decisions().where(d.c.stage == stage, d.c.decider == reviewer,
                                                     d.c.decider_kind == kind).order_by(d.c.id.desc()))


def active_decision(store: Store, decision_id: int) -> DecisionRow | None:
    """One decision, or None if it does not exist or was retracted."""
    return _first_decision(store, _decisions().where(t.decisions.c.id == decision_id))


# -- writes with a guard ----------------------------------------------------------------------------------
def decide(store: Store, *, record_id: int, stage: str, reviewer: str, label: str, counting: Counting,
           reasons: list[str] | None = None, note: str | None = None, settings: dict[str, Any] | None = None,
           include_auto: bool = False) -> int | None:
    """Write a human decision in one transaction if the record still needs it (else None: someone else's
    decision made it unnecessary, or this reviewer already decided it in another window)."""
    with store.write() as conn:
        _lock_record(conn, record_id)
        if not record_is_open(conn, record_id, stage, reviewer, counting, include_auto=include_auto):
            return None
        return store.add_decision(record_id=record_id, stage=stage, decider_kind=HUMAN, decider=reviewer,
                                  label=label, reasons=reasons or None, note=note or None, settings=settings,
                                  conn=conn)


def resolve(store: Store, *, record_id: int, stage: str, arbiter: str, label: str, reasons: list[str] | None,
            note: str | None, settings: dict[str, Any]) -> int | None:
    """Record a consensus decision unless the record already has one (None then)."""
    d = t.decisions
    with store.write() as conn:
        _lock_record(conn, record_id)
        if conn.execute(select(d.c.id).where(d.c.record_id == record_id, d.c.stage == stage, d.c.decider_kind
                                             == CONSENSUS, d.c.retracted_at.is_(None))).first():
            return None
        return store.add_decision(record_id=record_id, stage=stage, decider_kind=CONSENSUS, decider=arbiter,
                                  label=label, reasons=reasons or None, note=note or None, settings=settings,
                                  conn=conn)


def _lock_record(conn: Connection, record_id: int) -> None:
    # SQLite: BEGIN IMMEDIATE already serialises writers (FOR UPDATE is not rendered); PostgreSQL: row lock.
    conn.execute(select(t.records.c.id).where(t.records.c.id == record_id).with_for_update())


class ReviseRefused(MetasiftError):
    """A revision that may not be made (not the reviewer's own decision, retracted meanwhile, or the record
    already settled by a consensus); the message says which."""


def revise(store: Store, *, decision_id: int, reviewer: str, label: str, reasons: list[str] | None = None,
           note: str | None = None, settings: dict[str, Any] | None = None) -> int:
    """Replace one of ``reviewer``'s earlier decisions with a new one, in one transaction: the old row is
    retracted (kept, with its time; who and why in the ``revise`` event), the new decision names the one it
    revises in its settings. Never an edit in place. Returns the new decision's id."""
    if label not in COUNTED:
        raise ValueError(f"label must be one of {COUNTED}, not {label!r}")
    d = t.decisions
    with store.write() as conn:
        row = conn.execute(select(*DecisionRow.columns()).where(d.c.id == decision_id)).first()
        old = DecisionRow.from_row(row) if row else None
        if old is None or old.decider_kind != HUMAN or old.decider != reviewer:
            raise ReviseRefused(f"decision {decision_id} is not one of {reviewer}'s")
        _lock_record(conn, old.record_id)
        if conn.execute(select(d.c.retracted_at).where(d.c.id == decision_id)).scalar() is not None:
            raise ReviseRefused(f"decision {decision_id} was undone or revised meanwhile")
        if conn.execute(select(d.c.id).where(d.c.record_id == old.record_id, d.c.stage == old.stage,
                                             d.c.decider_kind == CONSENSUS, d.c.retracted_at.is_(None))).first():
            raise ReviseRefused(f"record {old.record_id} is settled by a consensus decision: ask the arbiter")
        stamp = now()
        conn.execute(update(d).where(d.c.id == decision_id).values(retracted_at=stamp))
        new_id = store.add_decision(record_id=old.record_id, stage=old.stage, decider_kind=HUMAN, decider=reviewer,
                                    label=label, reasons=reasons or None, note=note or None,
                                    settings={**(settings or {}), "revises": decision_id}, conn=conn)
        store.log_event(conn, "revise", actor_kind=HUMAN, actor=reviewer, entity="decision", entity_id=decision_id,
                        payload={"record_id": old.record_id, "stage": old.stage, "replaced_by": new_id,
                                 "from": {"label": old.label, "reasons": old.reasons, "note": old.note},
                                 "to": {"label": label, "reasons": reasons or None, "note": note or None}})
    return new_id


def decision_history(store: Store, stage: str, reviewer: str, *, text: str = "", tag: str | None = None,
                     tag_by: str | None = None, reason: str | None = None, label: str | None = None,
                     limit: int = 500) -> list[ReviewedRecord]:
    """``reviewer``'s own active human decisions at ``stage``, newest first, with each record's title.

    ``text`` matches the title (case-insensitive) or the record id; ``tag`` keeps records carrying that
    tag (tagged by ``tag_by``, anyone when None); ``reason`` decisions naming that criterion; ``label`` one
    label. Another reviewer's decisions are never in it (dual screening stays blinded)."""
    d, r = t.decisions, t.records
    query = (select(*DecisionRow.columns(), r.c.title).join(r, r.c.id == d.c.record_id)
             .where(d.c.stage == stage, d.c.decider == reviewer, d.c.decider_kind == HUMAN,
                    d.c.retracted_at.is_(None)))
    text = text.strip()
    if text:
        cond = func.lower(r.c.title).like(f"%{text.lower()}%")
        query = query.where(or_(cond, r.c.id == int(text)) if text.isdigit() else cond)
    if tag:
        query = query.where(_tagged(tag, tag_by))
    if reason:
        query = query.where(type_coerce(d.c.reasons, Text).like(f'%"{reason}"%'))
    if label:
        query = query.where(d.c.label == label)
    with store.read() as conn:
        rows = conn.execute(query.order_by(d.c.id.desc()).limit(limit)).all()
    return [ReviewedRecord(DecisionRow.from_row(row[:-1]), row[-1]) for row in rows]


# -- tags ------------------------------------------------------------------------------------------------
TAG_MAX = 100


def clean_tag(tag: str) -> str:
    """A tag as stored: spaces collapsed, at most 100 characters; "" when nothing is left."""
    return " ".join(tag.split())[:TAG_MAX]


def _tagged(tag: str, by: str | None) -> Any:
    """SQL condition: the decision's or record's id carries ``tag`` (case-insensitive), tagged by ``by``
    (anyone's when None)."""
    tg = t.record_tags
    cond = [tg.c.record_id == t.records.c.id, func.lower(tg.c.tag) == clean_tag(tag).lower(),
            tg.c.removed_at.is_(None)]
    if by is not None:
        cond.append(tg.c.tagged_by == by)
    return exists().where(*cond)


def add_tag(store: Store, record_id: int, tag: str, by: str) -> bool:
    """Tag a record (one transaction with its ``tag`` event); False when it already carries that tag by
    ``by`` or the tag is empty."""
    tag = clean_tag(tag)
    if not tag:
        return False
    tg = t.record_tags
    with store.write() as conn:
        if conn.execute(select(tg.c.id).where(tg.c.record_id == record_id, func.lower(tg.c.tag) == tag.lower(),
                                              tg.c.tagged_by == by, tg.c.removed_at.is_(None))).first():
            return False
        tag_id = conn.execute(tg.insert().returning(tg.c.id).values(
            record_id=record_id, tag=tag, tagged_by=by, created_at=now())).scalar_one()
        store.log_event(conn, "tag", actor_kind=HUMAN, actor=by, entity="record_tag", entity_id=tag_id,
                        payload={"record_id": record_id, "tag": tag})
    return True


def remove_tag(store: Store, record_id: int, tag: str, by: str) -> bool:
    """Take ``by``'s tag off a record (the row stays, marked removed; one ``untag`` event); False when the
    record did not carry it."""
    tag = clean_tag(tag)
    tg = t.record_tags
    with store.write() as conn:
        ids = list(conn.execute(select(tg.c.id).where(
            tg.c.record_id == record_id, func.lower(tg.c.tag) == tag.lower(), tg.c.tagged_by == by,
            tg.c.removed_at.is_(None))).scalars())
        if not ids:
            return False
        conn.execute(update(tg).where(tg.c.id.in_(ids)).values(removed_at=now(), removed_by=by))
        store.log_event(conn, "untag", actor_kind=HUMAN, actor=by, entity="record_tag", entity_id=ids[0],
                        payload={"record_id": record_id, "tag": tag})
    return True


def record_tags(store: Store, record_id: int, *, by: str | None = None) -> list[RecordTag]:
    """A record's tags in force, oldest first (only ``by``'s when given)."""
    tg = t.record_tags
    query = select(*RecordTag.columns()).where(tg.c.record_id == record_id, tg.c.removed_at.is_(None))
    if by is not None:
        query = query.where(tg.c.tagged_by == by)
    with store.read() as conn:
        return [RecordTag.from_row(row) for row in conn.execute(query.order_by(tg.c.id))]


def tag_counts(store: Store, *, by: str | None = None) -> dict[str, int]:
    """Each tag in force (as first written) and how many records carry it (only ``by``'s tags when given)."""
    tg = t.record_tags
    query = select(tg.c.tag, tg.c.record_id).where(tg.c.removed_at.is_(None))
    if by is not None:
        query = query.where(tg.c.tagged_by == by)
    names: dict[str, str] = {}
    records: dict[str, set[int]] = {}
    with store.read() as conn:
        for tag, rid in conn.execute(query.order_by(tg.c.id)):
            key = tag.lower()
            names.setdefault(key, tag)
            records.setdefault(key, set()).add(rid)
    return {names[k]: len(v) for k, v in sorted(records.items())}


def tagged_ids(store: Store, tag: str, *, by: str | None = None) -> set[int]:
    """Records carrying ``tag`` (case-insensitive; only ``by``'s tags when given)."""
    tg = t.record_tags
    query = select(tg.c.record_id).where(func.lower(tg.c.tag) == clean_tag(tag).lower(), tg.c.removed_at.is_(None))
    if by is not None:
        query = query.where(tg.c.tagged_by == by)
    with store.read() as conn:
        return set(conn.execute(query).scalars())


# -- what the reviewer's screen shows beside a record ------------------------------------------------------
class RecordSide(BaseModel):
    """What the review screen shows beside a record, read in one go (``record_side``)."""

    score: float | None  # P(include) in the run asked for
    route: str | None
    route_reason: str | None
    rules: list[dict[str, Any]]  # the latest rule decision's per-criterion verdicts
    tags: list[str]


def record_side(store: Store, record_id: int, stage: str, *, run: int | None, route: bool,
                tags_by: str | None) -> RecordSide:
    """P(include) of one record in ranker run ``run``, its route in force (only if ``route``), the rules'
    verdicts and its tags (``tags_by``'s only, when given): a few indexed reads in one transaction, for
    every record drawn on the review screen."""
    rk, rt, d, tg = t.rankings, t.routes, t.decisions, t.record_tags
    with store.read() as conn:
        score = conn.execute(select(rk.c.score).where(rk.c.run == run, rk.c.record_id == record_id).limit(1)
                             ).scalar() if run is not None else None
        routed = conn.execute(select(rt.c.route, rt.c.reason).where(
            rt.c.record_id == record_id, rt.c.stage == stage, rt.c.superseded_at.is_(None))
            .order_by(rt.c.id.desc()).limit(1)).first() if route else None
        rules = conn.execute(select(d.c.criteria).where(
            d.c.record_id == record_id, d.c.stage == stage, d.c.decider_kind == DeciderKind.RULE,
            d.c.retracted_at.is_(None)).order_by(d.c.id.desc()).limit(1)).scalar()
        tagged = select(tg.c.tag).where(tg.c.record_id == record_id, tg.c.removed_at.is_(None))
        if tags_by is not None:
            tagged = tagged.where(tg.c.tagged_by == tags_by)
        tags = list(conn.execute(tagged.order_by(tg.c.id)).scalars())
    return RecordSide(score=score, route=routed[0] if routed else None, route_reason=routed[1] if routed else None,
                      rules=list(rules or []), tags=tags)


# -- search, drafts ---------------------------------------------------------------------------------------
def search_ids(store: Store, text: str, limit: int = 5000) -> list[int]:
    """Primary records whose title, abstract, authors or journal contain ``text`` (case-insensitive)."""
    r = t.records
    pattern = f"%{text.lower()}%"
    cond = or_(*(func.lower(c).like(pattern) for c in (r.c.title, r.c.abstract, r.c.authors, r.c.journal)))
    if text.strip().isdigit():
        cond = or_(cond, r.c.id == int(text))
    with store.read() as conn:
        return list(conn.execute(select(r.c.id).where(r.c.is_primary.is_(True), cond)
                                 .order_by(r.c.id).limit(limit)).scalars())


def titles(store: Store, ids: list[int]) -> dict[int, str | None]:
    """Titles of these records (for search results and lists)."""
    return _titles(store, ids)


def model_draft(store: Store, record_id: int, stage: str) -> DecisionRow | None:
    """The latest active model decision on a record (label, confidence, per-criterion verdicts, model)."""
    d = t.decisions
    return _first_decision(store, _decisions().where(d.c.record_id == record_id, d.c.stage == stage,
                                                     d.c.decider_kind == DeciderKind.MODEL).order_by(d.c.id.desc()))


# -- conflicts and settled labels ---------------------------------------------------------------------------
class Conflict(BaseModel):
    """A record whose counted decisions disagree (kind ``disagree``) or agree only through ``maybe``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)  # the decisions are the store's rows, as they are

    record_id: int
    title: str | None
    kind: str
    decisions: list[DecisionRow]

    @field_serializer("decisions")
    def _decisions_shown(self, decisions: list[DecisionRow]) -> list[dict[str, Any]]:
        """In JSON, what a conflict is about: who said what and why."""
        return [{k: getattr(d, k) for k in CONFLICT_FIELDS} for d in decisions]


CONFLICT_FIELDS = ("id", "decider_kind", "decider", "label", "reasons", "note")


binary = as_include  # include/maybe → True, exclude → False, anything else → None


def counted_decisions(ds: list[DecisionRow], counting: Counting) -> list[DecisionRow]:
    """The decisions that count on one record: each human's latest, plus the latest model's if it counts."""
    latest: dict[tuple[str, str], DecisionRow] = {}
    for d in sorted(ds, key=lambda x: x.id):
        if d.label not in COUNTED:
            continue
        if d.decider_kind == DeciderKind.HUMAN:
            latest[("human", d.decider)] = d
        elif d.decider_kind == DeciderKind.MODEL and counting.model_counts:
            latest[("model", "")] = d
    return list(latest.values())


def conflicts(store: Store, stage: str, counting: Counting, *, with_maybe: bool = False) -> list[Conflict]:
    """Records without a consensus whose counted decisions disagree (maybe = include)."""
    by_record = _by_record(store.decisions(stage))
    titles = _titles(store, list(by_record))
    out = []
    for rid, ds in sorted(by_record.items()):
        if any(d.decider_kind == DeciderKind.CONSENSUS for d in ds):
            continue
        counted = counted_decisions(ds, counting)
        if len(counted) < 2:
            continue
        kinds = {binary(d.label) for d in counted}
        if len(kinds) > 1:
            kind = "disagree"
        elif with_maybe and len(counted) >= counting.needed and any(d.label == MAYBE for d in counted):
            kind = "maybe"
        else:
            continue
        out.append(Conflict(record_id=rid, title=titles.get(rid), kind=kind, decisions=counted))
    return out


def settled_labels(store: Store, stage: str, counting: Counting, *, humans_only: bool = False) -> dict[int, Label]:
    """Each record's final label (``Store.final_labels`` under this counting); ``humans_only`` leaves out the
    model's decisions and the automatic (rule / routed) exclusions."""
    if humans_only:
        return store.final_labels(stage, humans_needed=max(1, counting.needed - counting.model_counts),
                                  model_counts=False, automatic=False)
    return store.final_labels(stage, humans_needed=counting.needed, model_counts=counting.model_counts,
                              automatic=False)


# -- sides for the agreement audit ----------------------------------------------------------------------------
def side_decisions(store: Store, stage: str, side: str, counting: Counting) -> dict[int, SideDecision]:
    """One decision per record for an agreement side: ``human:NAME``, ``model`` / ``model:NAME`` or
    ``consensus`` (the final human label: consensus decision, else the agreeing humans)."""
    kind, _, name = side.partition(":")
    if kind == DeciderKind.CONSENSUS:
        ds = _by_record(store.decisions(stage))
        out = {}
        for rid, label in settled_labels(store, stage, counting, humans_only=True).items():
            cons = [d for d in ds[rid] if d.decider_kind == DeciderKind.CONSENSUS]
            basis = cons[-1:] or [d for d in ds[rid] if d.decider_kind == DeciderKind.HUMAN]
            reasons = sorted({r for d in basis for r in (d.reasons or [])})
            out[rid] = SideDecision(decider_kind=CONSENSUS, label=label, reasons=reasons, criteria=None)
        return out
    if kind not in (DeciderKind.HUMAN, DeciderKind.MODEL) or (kind == DeciderKind.HUMAN and not name):
        raise ValueError(f"side {side!r}: use human:NAME, model, model:NAME or consensus")
    out = {}
    for d in store.decisions(stage):
        if d.decider_kind == kind and (not name or d.decider == name) and d.label in COUNTED:
            out[d.record_id] = SideDecision.of(d)  # ascending ids: the latest wins
    return out


def criterion_flags(decision: SideDecision, criteria: list[str]) -> dict[str, bool]:
    """Per criterion, whether this decision says it is *not met* (a reason to exclude). Model decisions:
    verdict ``not_met``; humans/consensus: named among the exclusion reasons (an exclusion without reasons
    gives no criterion information; include/maybe means no criterion failed)."""
    if decision.criteria and decision.decider_kind == DeciderKind.MODEL:
        return {c["id"]: c.get("verdict") == "not_met" for c in decision.criteria if c.get("id") in criteria}
    if decision.label == Label.EXCLUDE:
        reasons = set(decision.reasons or [])
        return {c: c in reasons for c in criteria} if reasons else {}
    return {c: False for c in criteria}


# -- helpers -----------------------------------------------------------------------------------------------------
def _active(store: Store, query: Any) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(query.where(t.decisions.c.retracted_at.is_(None))).all()]


def _auto_excluded(store: Store, stage: str) -> set[int]:
    rt = t.routes
    with store.read() as conn:
        return set(conn.execute(select(rt.c.record_id).where(and_(
            rt.c.stage == stage, rt.c.route == AUTO, rt.c.superseded_at.is_(None)))).scalars())


def _by_record(ds: list[DecisionRow]) -> dict[int, list[DecisionRow]]:
    out: dict[int, list[DecisionRow]] = {}
    for d in ds:
        out.setdefault(d.record_id, []).append(d)
    return out


def _titles(store: Store, ids: list[int]) -> dict[int, str | None]:
    r = t.records
    out: dict[int, str | None] = {}
    with store.read() as conn:
        for start in range(0, len(ids), 900):
            out.update({row.id: row.title for row in conn.execute(
                select(r.c.id, r.c.title).where(r.c.id.in_(ids[start:start + 900])))})
    return out


# -- progress in records ---------------------------------------------------------------------------------------
class RecordTally(BaseModel):
    """Where a stage stands, counted in records (a reviewer's unit), not decisions."""

    stage: str
    records: int  # records the stage screens
    included: int
    excluded: int
    maybe: int
    awaiting: int  # no settled label yet (undecided, or waiting for a second reviewer or a consensus)
    excluded_by: dict[str, int]  # human (incl. consensus) / rule / model
    human_decisions: int  # every reviewer's active decisions (two per record under dual screening)


def record_tally(store: Store, stage: str, counting: Counting) -> RecordTally:
    """Settled labels per record at ``stage`` (``Store.final_labels``, automatic exclusions included)."""
    scope = stage_scope(store, stage, counting)
    records = set(primary_ids(store)) if scope is None else scope
    labels = {rid: label for rid, label in store.final_labels(
        stage, humans_needed=counting.needed, model_counts=counting.model_counts).items() if rid in records}
    by_record = _by_record([d for d in store.decisions(stage) if d.record_id in records])
    excluded_by: dict[str, int] = {}
    for rid, label in labels.items():
        if label == Label.EXCLUDE:
            who = excluder(by_record.get(rid, []))
            excluded_by[who] = excluded_by.get(who, 0) + 1
    values = list(labels.values())
    human = sum(d.decider_kind == DeciderKind.HUMAN for ds in by_record.values() for d in ds)
    return RecordTally(stage=stage, records=len(records), included=values.count(Label.INCLUDE),
                       excluded=values.count(Label.EXCLUDE), maybe=values.count(Label.MAYBE),
                       awaiting=len(records) - len(labels), excluded_by=excluded_by, human_decisions=human)
