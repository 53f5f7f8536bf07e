"""A reviewer's screening session, without any UI: the queue, deciding, undo, search, counts.

The Textual apps (``metasift.tui``) are thin shells around these classes, and the demo's simulated
reviewers and the benchmarks drive them directly, so the rules (blinding, dual screening, the write guard)
are the same whether a key is pressed or a script decides. Every decision is one store transaction:
``decide`` writes it and moves on; the app splits that into ``take`` (move on at once), ``write`` (in its
writer thread, in key order) and ``settle`` (or ``give_back`` when the write failed); ``take_undo`` brings
the last record back before its retraction is written. Under dual screening each reviewer takes the
records of a window of near-equal rank from their own start (``review_queue.spread``), so concurrent
reviewers do not all open the same next record. Stage layer: it imports the kernel and other screener modules.

Re-ranking: at title/abstract, with a ranked or id-ordered queue (never a calibration sample, whose
order must stay random), the session counts decisions against ``[screening] retrain_every``;
``retrain_due`` / ``begin_retrain`` hand out the work, ``ranker.retrain`` does it (in the app's thread
worker) and ``apply_ranking`` reorders the waiting records — never the one on screen. ``stopping`` keeps
the buscar test's history current as decisions are made (``screener.stopping.StoppingTracker``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol, Reviewer
from metasift.errors import ConfigError
from metasift.kinds import DeciderKind, Label, Stage
from metasift.labels import as_include
from metasift.screener.live_rank import LiveRanker, Offload, Reranking, RetrainSchedule
from metasift.screener.stopping import (
    ScreeningHistory,
    StoppingEstimate,
    StoppingTracker,
    history_from_url,
    project_shared_target,
    screening_history,
    status_estimate,
)
from metasift.store import review_queue as rq
from metasift.store.repo import Store
from metasift.store.rows import DecisionRow, RecordRow, RecordTag, ReviewedRecord

QUEUE_HEAD = 200  # records the review app reads to show the first one; the rest loads behind it


def pick_reviewer(protocol: Protocol, name: str | None, *, arbiter: bool = False) -> Reviewer:
    """The reviewer to act as: ``name``, else $METASIFT_REVIEWER, else the only one in review.toml."""
    listed = protocol.reviewers
    if not listed:
        raise ConfigError("review.toml lists no reviewers: add [[reviewers]] with name = \"...\" for each person")
    name = name or os.environ.get("METASIFT_REVIEWER")
    if not name:
        candidates = [r for r in listed if r.role == "arbiter"] if arbiter else listed
        if len(candidates) != 1:
            raise ConfigError("which reviewer are you? pass --reviewer NAME or set METASIFT_REVIEWER "
                              f"(review.toml lists: {', '.join(r.name for r in listed)})")
        return candidates[0]
    for r in listed:
        if r.name == name:
            return r
    raise ConfigError(f"reviewer {name!r} is not in review.toml (listed: {', '.join(r.name for r in listed)})")


def counting_of(protocol: Protocol) -> rq.Counting:
    """Which decisions count towards settling a record under this protocol (humans, and the model if set)."""
    return rq.Counting.of(protocol)


class Outcome(BaseModel):
    """What a keypress did: the decision written (or None when it was no longer needed) and a message."""

    decision_id: int | None
    record_id: int
    message: str
    reasons: list[str] | None = None  # on undo: what the retracted decision said, to offer it again
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """What the screen shows beside a record: the ranker's P(include) (and its run), the route (only when
    the model's draft may be seen: a route and its reason tell what the model said), the rules' verdicts
    (the protocol's own, never a reviewer's) and the tags this reviewer may see."""

    score: float | None
    run: int | None
    route: str | None
    route_reason: str | None
    rules: list[dict[str, Any]]
    tags: list[str]


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """A whole queue built (``ReviewSession.load_rest``): the open records in order, how the order was made,
    this reviewer's decision counts, and every record the queue covers (decided or not: a drawn sample)."""

    ids: list[int]
    kind: str
    seed: int | None
    counts: dict[str, int]
    drawn: list[int]


@dataclass(slots=True)
class PendingDecision:
    """A decision taken on screen (``ReviewSession.take``); ``decision_id`` is set once ``write`` made it."""

    record_id: int
    label: str
    reasons: list[str] | None
    note: str | None
    settings: dict[str, Any]
    decision_id: int | None = None


@dataclass(frozen=True, slots=True)
class PendingRevision:
    """A revision taken on screen and not yet written (``ReviewSession.take_revision``)."""

    old: DecisionRow
    label: str
    reasons: list[str] | None
    note: str | None
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Match:
    """A waiting record matching a search: its id and title."""

    record_id: int
    title: str | None


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A filter over the reviewer's own decisions, parsed from what they typed: ``tag:NAME``,
    ``reason:ID``, ``label:include|exclude|maybe`` and words (title or record id)."""

    text: str = ""
    tag: str | None = None
    reason: str | None = None
    label: str | None = None

    @classmethod
    def parse(cls, typed: str) -> HistoryQuery:
        words, found = [], {}
        for part in _split_filter(typed):
            key, sep, value = part.partition(":")
            if sep and key.lower() in ("tag", "reason", "label") and value:
                found[key.lower()] = value
            else:
                words.append(part)
        return cls(text=" ".join(words), **found)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The waiting queue narrowed to records carrying ``tag`` and/or matching ``text`` (title, abstract,
    authors, journal); ``ids`` the records it lets through."""

    typed: str
    tag: str | None
    text: str
    ids: frozenset[int]


def _split_filter(typed: str) -> list[str]:
    """Words of a filter; ``key:"two words"`` or ``key:two_words``... kept together (quotes allowed)."""
    import shlex

    try:
        return shlex.split(typed)
    except ValueError:  # an unclosed quote: plain words
        return typed.split()


@dataclass(frozen=True, slots=True)
class ShownRecord:
    """What a screen shows of one record: its fields (None when it was removed meanwhile) and the model's
    draft (None when there is none, or when the protocol blinds reviewers to it)."""

    record_id: int
    record: RecordRow | None
    draft: DecisionRow | None


class ReviewSession:
    """One reviewer screening one stage: sees only records still needing their decision."""

    def __init__(self, store: Store, protocol: Protocol, reviewer: str, stage: str = Stage.TITLE_ABSTRACT, *,
                 sample: int | None = None, seed: int | None = None, include_auto: bool = False,
                 inline: bool = False, head: int | None = None) -> None:
        self.store, self.protocol, self.reviewer, self.stage = store, protocol, reviewer, stage
        self.counting = counting_of(protocol)
        self.include_auto = include_auto
        self.show_draft = protocol.screening.show_model_draft
        self.criteria = protocol.criteria_for(stage)  # type: ignore[arg-type]
        scope = rq.stage_scope(store, stage, self.counting)
        run = rq.queue_run(store, stage, reviewer, self.counting)  # under dual screening: not another's run
        self._run, self._sample, self._scope = run, sample, scope
        self.seed = seed
        # under dual screening each reviewer takes near-equal records in their own order (``rq.spread``)
        screeners = [r.name for r in protocol.reviewers if r.role != "arbiter"]
        self.spread_window = rq.spread_window(screeners)
        self.spread: int | None = rq.spread_offset(reviewer, screeners, self.spread_window) \
            if self.counting.needed > 1 and not sample else None
        head = rq.queue_head(store, stage, reviewer, run, head) if head and not sample and scope is None else None
        if head is not None:
            head = self._spread(head)  # the first records now, the rest from ``load_rest`` (in a worker)
            self.queue, self.queue_kind, self.complete = head, "ranked", False
            self.counts = self._counts(None)
            self._drawn: list[int] = []
        else:
            self._take(self._build())
        self.pos = 0
        self.undo_stack: list[int] = []
        self.taken: list[PendingDecision] = []  # this session's decisions on screen, for undo in key order
        self.undoing: set[int] = set()  # records brought back by an undo whose retraction is not written yet
        self._current: int | None = None
        # the run whose P(include) the screen shows beside the record (a live retrain's once there is one)
        self.score_run = run if run is not None and run >= 0 else (store.latest_run(stage) if run is None else None)
        # tags: under dual screening a reviewer sees and filters by their own only (another's would unblind)
        self.tags_by: str | None = reviewer if self.counting.needed > 1 else None
        self.revising: DecisionRow | None = None  # an earlier decision opened for revision
        self.matches: list[Match] = []  # the latest search's waiting records
        self.match_at = 0
        self.search_text = ""
        self.filter: QueueFilter | None = None
        self._pinned: int | None = None  # brought forward by undo or a search: shown whatever the filter
        title_abstract = stage == Stage.TITLE_ABSTRACT
        self.schedule = RetrainSchedule.of(protocol.screening.retrain_every) \
            if title_abstract and self.queue_kind != "random" else None
        # the heavy work (retrains, the stopping test) runs in worker processes; inline: in the caller's thread
        self.ranker = LiveRanker(store, protocol, reviewer, self.counting, inline=inline) if self.schedule else None
        self.background = Offload(inline=inline)
        self.retrains = 0  # retrains handed out this session
        self.since_retrain = 0  # decisions written since the last one was handed out
        self.retraining = False  # one handed out and not yet applied
        self.last_ranking: Reranking | None = None
        # the stop test's target is the final one shared with the automation (over its calibrated bound)
        shared = project_shared_target(store, protocol) if title_abstract else None
        self.stopping = StoppingTracker(target_recall=shared.target, confidence=protocol.screening.stop_confidence,
                                        shared=shared) if shared is not None else None
        if self.queue_kind == "random":
            store.record_calibration_sample(stage=Stage(stage), seed=self.seed or 0, size=sample or 0,
                                            records=self._drawn, drawn_by=reviewer)

    # -- building the queue ---------------------------------------------------------------------------------
    def _build(self) -> QueueLoad:
        """The whole queue: every record this reviewer still has to decide, in order, and their counts
        (a second at 50,000 records: ``head`` shows the first records meanwhile)."""
        store, stage = self.store, self.stage
        queue = rq.sample_queue(store, self._sample, self.seed or 0) if self._sample else \
            rq.build_queue(store, stage, run=self._run)
        if self._scope is not None:
            queue.ids = [rid for rid in queue.ids if rid in self._scope]
        open_now = rq.open_ids(store, stage, self.reviewer, self.counting, include_auto=self.include_auto,
                               scope=queue.ids)
        return QueueLoad(ids=self._spread([rid for rid in queue.ids if rid in open_now]), kind=queue.kind,
                         seed=queue.seed,
                         counts=self._counts(set(queue.ids)), drawn=queue.ids)

    def _spread(self, ids: list[int]) -> list[int]:
        return ids if self.spread is None else rq.spread(ids, self.spread, self.spread_window)

    def _counts(self, in_queue: set[int] | None) -> dict[str, int]:
        counts = {Label.INCLUDE: 0, Label.EXCLUDE: 0, Label.MAYBE: 0}
        for d in rq.reviewer_decisions(self.store, self.stage, self.reviewer):
            if in_queue is None or d.record_id in in_queue:
                counts[d.label] = counts.get(d.label, 0) + 1
        return counts

    def _take(self, load: QueueLoad) -> None:
        self.queue, self.queue_kind, self.seed, self.counts = load.ids, load.kind, load.seed, load.counts
        self._drawn = load.drawn
        self.complete = True

    def load_rest(self) -> QueueLoad | None:
        """Build the whole queue when only its head was read (blocks: call it from a thread worker, then
        ``apply_rest`` on the UI thread); None when the queue is complete already."""
        return None if self.complete else self._build()

    def apply_rest(self, load: QueueLoad) -> None:
        """Swap the whole queue in behind what was shown from its head: records passed or on screen stay
        where they are, the rest follow in the whole queue's order (a retrain's, if one came meanwhile)."""
        if self.complete:
            return
        keep = self.pos + (1 if self._current is not None else 0)
        shown = self.queue[:keep]
        seen = set(shown)
        rest = [rid for rid in load.ids if rid not in seen]
        if self.last_ranking is not None:
            rank = {rid: i for i, rid in enumerate(self.last_ranking.order)}
            rest = self._spread(sorted(rest, key=lambda rid: rank.get(rid, len(rank))))
        # the counts stay as read at the start and kept since: the same decisions (the whole queue is every
        # primary record), without the ones made while the rest loaded going missing
        self.queue = shown + rest
        self.queue_kind = load.kind
        self.complete = True

    # -- where we are ---------------------------------------------------------------------------------------
    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def remaining(self) -> int:
        return len(self.queue) - self.pos

    def settings(self) -> dict[str, Any]:
        """What the reviewer could see when deciding: recorded with every decision."""
        out: dict[str, Any] = {"show_model_draft": self.show_draft, "blinded": True, "queue": self.queue_kind}
        if self.seed is not None:
            out["seed"] = self.seed
        return out

    def current_id(self) -> int | None:
        """The record to show: the next one in the queue that still needs this reviewer (re-checked, since
        other reviewers decide at the same time)."""
        if self._current is not None:
            return self._current
        while self.pos < len(self.queue):
            if self.filter is not None and self.queue[self.pos] != self._pinned and not self._filter_front():
                return None
            with self.store.read() as conn:  # one read for a run of settled records (others' lanes)
                for _ in range(32):
                    rid = self.queue[self.pos]
                    if rid in self.undoing or rq.record_is_open(conn, rid, self.stage, self.reviewer, self.counting,
                                         include_auto=self.include_auto):
                        self._current = rid
                        return rid
                    self.pos += 1
                    if self.pos >= len(self.queue) or (self.filter is not None
                                                       and self.queue[self.pos] not in self.filter.ids):
                        break
        if not self.complete:  # the head ran out before the rest was loaded: load it now
            self.apply_rest(self._build())
            return self.current_id()
        return None

    def info(self, record_id: int) -> RecordInfo:
        """P(include), route, rule verdicts and tags for the record on screen (a few indexed reads)."""
        side = rq.record_side(self.store, record_id, self.stage, run=self.score_run, route=self.show_draft,
                              tags_by=self.tags_by)
        return RecordInfo(score=side.score, run=self.score_run, route=side.route, route_reason=side.route_reason,
                          rules=side.rules, tags=side.tags)

    def record(self, record_id: int) -> ShownRecord:
        """The record to show, and the model draft only when the protocol allows it."""
        draft = rq.model_draft(self.store, record_id, self.stage) if self.show_draft else None
        return ShownRecord(record_id=record_id, record=self.store.record(record_id), draft=draft)

    # -- actions ------------------------------------------------------------------------------------------------
    def decide(self, label: str, reasons: list[str] | None = None, note: str | None = None) -> Outcome:
        """Write the reviewer's decision on the current record (one transaction), then move on."""
        pending = self.take(label, reasons, note)
        return self.settle(pending, self.write(pending))

    def take(self, label: str, reasons: list[str] | None = None, note: str | None = None) -> PendingDecision:
        """The decision on the current record, and move on at once: the app shows the next record while
        ``write`` commits this one in a worker (then ``settle``, or ``give_back`` when the write failed)."""
        if label not in rq.COUNTED:
            raise ValueError(f"label must be one of {rq.COUNTED}, not {label!r}")
        rid = self.current_id()
        if rid is None:
            raise ValueError("nothing left to decide")
        self._advance()
        self._match_decided(rid)  # a decided match leaves the search's list now (the next one comes forward)
        pending = PendingDecision(record_id=rid, label=label, reasons=reasons, note=note, settings=self.settings())
        self.taken.append(pending)
        return pending

    def write(self, pending: PendingDecision) -> int | None:
        """The guarded write of a taken decision (one transaction; blocks on another writer's lock: call
        it from a worker thread). None when the record no longer needed this reviewer."""
        did = rq.decide(self.store, record_id=pending.record_id, stage=self.stage, reviewer=self.reviewer,
                        label=pending.label, counting=self.counting, reasons=pending.reasons, note=pending.note,
                        settings=pending.settings, include_auto=self.include_auto)
        pending.decision_id = did
        return did

    def give_back(self, pending: PendingDecision) -> None:
        """A taken decision whose write failed: its record comes back to the front of the queue."""
        self.taken = [p for p in self.taken if p is not pending]
        self._show_next(pending.record_id)

    def settle(self, pending: PendingDecision, did: int | None) -> Outcome:
        """Count a written decision (undo, the counts, the stopping test, the search list)."""
        rid, label = pending.record_id, pending.label
        if did is None:
            return Outcome(decision_id=None, record_id=rid,
                           message=f"record {rid} no longer needs you (decided meanwhile) — nothing written")
        self.undo_stack.append(did)
        self.counts[label] = self.counts.get(label, 0) + 1
        self.since_retrain += 1
        if self.stopping is not None and self.queue_kind != "random":  # calibration records are not in the test
            self.stopping.note(rid, bool(as_include(label)))
        return Outcome(decision_id=did, record_id=rid, message=f"{label}: record {rid}")

    def undo(self) -> Outcome | None:
        """Retract this reviewer's last decision at this stage and show that record again."""
        taken = self.take_undo()
        if taken is not None:
            row = self.undo_taken(taken)
            return self.undone(row, shown=True) if row is not None else Outcome(
                decision_id=None, record_id=taken.record_id,
                message=f"nothing to undo on record {taken.record_id}: nothing was written there")
        row = self.undo_write()
        return None if row is None else self.undone(row)

    def take_undo(self) -> PendingDecision | None:
        """Undo this session's last decision on screen at once: its record comes back now (before any
        further key), ``undo_taken`` retracts it once its write is done (the writer keeps key order).
        None when this session decided nothing (``undo_write`` finds the last one in the store)."""
        if not self.taken:
            return None
        pending = self.taken.pop()
        self.undoing.add(pending.record_id)  # shown though its decision is still in the store until retracted
        self._show_next(pending.record_id)
        return pending

    def undo_taken(self, pending: PendingDecision) -> DecisionRow | None:
        """Retract the decision ``pending`` wrote (one transaction; call it from the writer); None when
        nothing was written or it was retracted meanwhile."""
        try:
            row = rq.active_decision(self.store, pending.decision_id) if pending.decision_id is not None else None
            if row is not None:
                self.store.retract_decision(row.id, self.reviewer)
        finally:
            self.undoing.discard(pending.record_id)
        return row

    def undo_write(self) -> DecisionRow | None:
        """Retract the last decision (one transaction; may block: call it from a worker thread), returning
        it; ``undone`` brings its record back."""
        row = None
        while self.undo_stack and row is None:  # skip any retracted elsewhere meanwhile
            row = rq.active_decision(self.store, self.undo_stack.pop())
        if row is None:  # nothing from this session: the last one from before (resumed session)
            row = rq.last_decision(self.store, self.stage, self.reviewer)
        if row is None:
            return None
        self.store.retract_decision(row.id, self.reviewer)
        return row

    def undone(self, row: DecisionRow, *, shown: bool = False) -> Outcome:
        """Count a retracted decision out; its record comes back (unless ``take_undo`` showed it already)."""
        did = row.id
        self.undo_stack = [d for d in self.undo_stack if d != did]
        self.counts[row.label] = max(0, self.counts.get(row.label, 0) - 1)
        if self.stopping is not None:
            self.stopping.forget(row.record_id)  # its history is read again (``stopping_history``)
        if not shown:
            self._show_next(row.record_id)
        return Outcome(decision_id=did, record_id=row.record_id, reasons=row.reasons, note=row.note,
                       message=f"undone: {row.label} on record {row.record_id}")

    def search(self, text: str) -> int:
        """Find the waiting records matching ``text`` (title, abstract, authors, journal, or a record id
        first) and list them in ``matches``, in queue order; the first is shown, ``step_match`` moves
        through the rest. Returns how many match (0: nothing, and the search is cleared)."""
        hits = set(rq.search_ids(self.store, text))
        waiting = [rid for rid in self.queue[self.pos:] if rid in hits]
        if text.strip().isdigit() and int(text) in waiting:  # a record id first
            waiting.remove(int(text))
            waiting.insert(0, int(text))
        names = rq.titles(self.store, waiting)
        self.matches = [Match(rid, names.get(rid)) for rid in waiting]
        self.match_at, self.search_text = 0, text if waiting else ""
        if waiting:
            self._show_next(waiting[0])
        return len(waiting)

    def step_match(self, step: int) -> Match | None:
        """Show the next (``step`` 1) or previous (-1) match, round the list; None when no search is on."""
        if not self.matches:
            return None
        self.match_at = (self.match_at + step) % len(self.matches)
        match = self.matches[self.match_at]
        self._show_next(match.record_id)
        return match

    def clear_search(self) -> None:
        self.matches, self.match_at, self.search_text = [], 0, ""

    def _match_decided(self, record_id: int) -> None:
        """A decided match leaves the list; the next one comes forward (the search ends with the last)."""
        at = next((i for i, m in enumerate(self.matches) if m.record_id == record_id), None)
        if at is None:
            return
        del self.matches[at]
        if not self.matches:
            self.clear_search()
            return
        self.match_at = at % len(self.matches)
        self._show_next(self.matches[self.match_at].record_id)

    # -- a filtered queue -------------------------------------------------------------------------------------
    def set_filter(self, typed: str) -> QueueFilter | None:
        """Narrow the waiting queue to ``tag:NAME`` and/or words (title, abstract, authors, journal); an
        empty string clears the filter. Returns the filter in force."""
        query = HistoryQuery.parse(typed)
        if not typed.strip():
            self.filter = None
            self._current = None
            return None
        self.filter = QueueFilter(typed=typed.strip(), tag=query.tag, text=query.text,
                                  ids=self._filter_ids(query.tag, query.text))
        self._current = None
        return self.filter

    def _filter_ids(self, tag: str | None, text: str) -> frozenset[int]:
        ids: set[int] | None = None
        if tag:
            ids = rq.tagged_ids(self.store, tag, by=self.tags_by)
        if text:
            hits = set(rq.search_ids(self.store, text, limit=len(self.queue) + 1))
            ids = hits if ids is None else ids & hits
        return frozenset(ids or ())

    @property
    def filtered_remaining(self) -> int:
        """Waiting records the filter lets through (all waiting ones without a filter)."""
        if self.filter is None:
            return self.remaining
        return sum(1 for rid in self.queue[self.pos:] if rid in self.filter.ids)

    def _filter_front(self) -> bool:
        """Bring the next waiting record the filter lets through to ``pos``; False when there is none."""
        assert self.filter is not None
        ids = self.filter.ids
        for i in range(self.pos, len(self.queue)):
            if self.queue[i] in ids:
                if i != self.pos:
                    self.queue.insert(self.pos, self.queue.pop(i))
                return True
        return False

    # -- tags ---------------------------------------------------------------------------------------------------
    def record_tags(self, record_id: int) -> list[RecordTag]:
        """This reviewer's tags on a record (the screen shows everyone's when screening is single)."""
        return rq.record_tags(self.store, record_id, by=self.reviewer)

    def set_tags(self, record_id: int, wanted: list[str]) -> tuple[list[str], list[str]]:
        """Make this reviewer's tags on a record exactly ``wanted`` (each add and removal one transaction
        with its event); returns (added, removed)."""
        keep = {rq.clean_tag(w).lower(): rq.clean_tag(w) for w in wanted if rq.clean_tag(w)}
        have = {tg.tag.lower(): tg.tag for tg in self.record_tags(record_id)}
        added = [tag for key, tag in keep.items() if key not in have and rq.add_tag(self.store, record_id, tag,
                                                                                  self.reviewer)]
        removed = [tag for key, tag in have.items() if key not in keep and rq.remove_tag(self.store, record_id, tag,
                                                                                       self.reviewer)]
        if self.filter is not None and self.filter.tag:  # a record tagged or untagged joins or leaves it
            self.filter = QueueFilter(typed=self.filter.typed, tag=self.filter.tag, text=self.filter.text,
                                      ids=self._filter_ids(self.filter.tag, self.filter.text))
        return added, removed

    def tag_counts(self) -> dict[str, int]:
        """The tags this reviewer may see, with how many records carry each."""
        return rq.tag_counts(self.store, by=self.tags_by)

    # -- browsing and revising earlier decisions --------------------------------------------------------------
    def history(self, typed: str = "", limit: int = 500) -> list[ReviewedRecord]:
        """This reviewer's own decisions at this stage, newest first, filtered by what was typed
        (``HistoryQuery``: words, ``tag:``, ``reason:``, ``label:``). Never another reviewer's."""
        q = HistoryQuery.parse(typed)
        return rq.decision_history(self.store, self.stage, self.reviewer, text=q.text, tag=q.tag,
                                   tag_by=self.tags_by, reason=q.reason, label=q.label, limit=limit)

    def open_decision(self, decision_id: int) -> DecisionRow:
        """Open one of this reviewer's active decisions for revision (the screen shows its record)."""
        row = rq.active_decision(self.store, decision_id)
        if row is None or row.decider != self.reviewer or row.decider_kind != DeciderKind.HUMAN \
                or row.stage != self.stage:
            raise rq.ReviseRefused(f"decision {decision_id} is not an active decision of {self.reviewer}'s here")
        self.revising = row
        return row

    def close_decision(self) -> None:
        self.revising = None

    def revise(self, label: str, reasons: list[str] | None = None, note: str | None = None) -> Outcome:
        """Replace the decision opened with ``open_decision`` by a new one (``review_queue.revise``: the old
        row retracted, never edited); back to the queue afterwards."""
        pending = self.take_revision(label, reasons, note)
        return self.revised(pending, self.write_revision(pending))

    def take_revision(self, label: str, reasons: list[str] | None = None,
                      note: str | None = None) -> PendingRevision:
        """The revision of the decision opened, closed at once (back to the queue while it is written)."""
        old = self.revising
        if old is None:
            raise ValueError("no decision is open for revision")
        self.revising = None
        return PendingRevision(old=old, label=label, reasons=reasons, note=note, settings=self.settings())

    def write_revision(self, pending: PendingRevision) -> int:
        """``review_queue.revise`` (one transaction; may block: call it from a worker thread)."""
        return rq.revise(self.store, decision_id=pending.old.id, reviewer=self.reviewer, label=pending.label,
                         reasons=pending.reasons, note=pending.note, settings=pending.settings)

    def revised(self, pending: PendingRevision, did: int) -> Outcome:
        old, label, reasons = pending.old, pending.label, pending.reasons
        self.counts[old.label] = max(0, self.counts.get(old.label, 0) - 1)
        self.counts[label] = self.counts.get(label, 0) + 1
        self.undo_stack = [d for d in self.undo_stack if d != old.id]
        self.since_retrain += 1
        if self.stopping is not None:  # read again from the store: the record's label changed in place
            self.stopping.forget(old.record_id)
        changed = "unchanged" if label == old.label and (reasons or None) == old.reasons else "revised"
        return Outcome(decision_id=did, record_id=old.record_id,
                       message=f"{changed}: record {old.record_id} {old.label} → {label} (decision {old.id} retracted)")

    # -- re-ranking and the stopping test ------------------------------------------------------------------------
    def retrain_due(self) -> bool:
        """Whether enough decisions were made since the last retrain (and none is running)."""
        return (self.schedule is not None and not self.retraining
                and self.since_retrain >= self.schedule.gap(self.retrains))

    def begin_retrain(self) -> int:
        """Mark a retrain as handed out; returns the decision count to pass to ``ranker.retrain``."""
        self.retraining, self.since_retrain = True, 0
        self.retrains += 1
        return self.done

    def retrain_failed(self) -> None:
        self.retraining = False

    def apply_ranking(self, ranking: Reranking) -> int:
        """Put the waiting records in the new order; the record on screen (and any already passed) stay
        where they are. Returns how many waiting records were reordered."""
        self.retraining = False
        self.last_ranking = ranking
        self.score_run = ranking.run
        start = self.pos + (1 if self._current is not None else 0)  # _current is queue[pos] when set
        waiting = self.queue[start:]
        members = set(waiting)
        ordered = [rid for rid in ranking.order if rid in members]
        if len(ordered) < len(waiting):  # records the run did not score keep their order, at the end
            scored = set(ordered)
            ordered += [rid for rid in waiting if rid not in scored]
        self.queue[start:] = self._spread(ordered)
        self.queue_kind = "ranked"
        return len(ordered)

    def finish(self) -> None:
        """Stop the worker processes (before the store closes). A retrain still running is dropped: the
        last saved run stands, and the reviewer quitting does not wait for the fit."""
        if self.ranker is not None:
            self.ranker.close()
        self.background.close()

    @property
    def stopping_own(self) -> bool:
        """Whether the stopping test covers only this reviewer's decisions: under dual screening the
        project's history would tell them what the other reviewer decided (``screening_history``)."""
        return self.counting.needed > 1

    def stopping_history(self) -> ScreeningHistory:
        """The screening history for the stopping test (the project's, or this reviewer's own under dual
        screening), read from the store; blocks: call it from a thread worker (it runs in a worker process)."""
        decider = self.reviewer if self.stopping_own else None
        if self.background.inline:
            return screening_history(self.store, humans_needed=self.counting.needed,
                                     model_counts=self.counting.model_counts, stage=self.stage, decider=decider)
        url = self.store.engine.url.render_as_string(hide_password=False)
        return self.background.run(history_from_url, url, self.counting.needed, self.counting.model_counts,
                                   str(self.stage), decider)

    def stopping_estimate(self, labels: list[int], n_total: int) -> StoppingEstimate | None:
        """The stopping test on a ``stopping.snapshot()`` (blocks: call it from a thread worker); None
        before the first human decision."""
        if self.stopping is None or not labels or not n_total:
            return None
        return self.background.run(status_estimate, labels, n_total, self.stopping.target_recall,
                                   self.stopping.confidence)

    # -- internals -----------------------------------------------------------------------------------------------
    def _advance(self) -> None:
        self.pos += 1
        self._current = None

    def _show_next(self, record_id: int) -> None:
        try:
            del self.queue[self.queue.index(record_id, self.pos)]
        except ValueError:
            pass
        self.queue.insert(self.pos, record_id)
        self._current = None
        self._pinned = record_id


class ConflictSession:
    """An arbiter (or a consensus meeting) going through records whose counted decisions disagree."""

    def __init__(self, store: Store, protocol: Protocol, arbiter: Reviewer,
                 stage: str = Stage.TITLE_ABSTRACT, *,
                 with_maybe: bool = False) -> None:
        self.store, self.protocol, self.arbiter, self.stage = store, protocol, arbiter, stage
        self.counting = counting_of(protocol)
        self.criteria = protocol.criteria_for(stage)  # type: ignore[arg-type]
        self.items = rq.conflicts(store, stage, self.counting, with_maybe=with_maybe)
        self.pos = 0
        self.resolved: list[tuple[int, int]] = []  # (position, decision id)

    def current(self) -> rq.Conflict | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def record(self, record_id: int) -> ShownRecord:
        # everyone has decided: no blinding
        return ShownRecord(record_id=record_id, record=self.store.record(record_id),
                           draft=rq.model_draft(self.store, record_id, self.stage))

    def resolve(self, label: str, reasons: list[str] | None, note: str | None) -> Outcome:
        item = self.current()
        if item is None:
            raise ValueError("no conflict left")
        settings = {"resolves": [d.id for d in item.decisions], "role": self.arbiter.role, "kind": item.kind}
        did = rq.resolve(self.store, record_id=item.record_id, stage=self.stage, arbiter=self.arbiter.name,
                         label=label, reasons=reasons, note=note, settings=settings)
        if did is not None:
            self.resolved.append((self.pos, did))
        self.pos += 1
        msg = (f"consensus {label}: record {item.record_id}" if did else
               f"record {item.record_id} was resolved meanwhile — nothing written")
        return Outcome(decision_id=did, record_id=item.record_id, message=msg)

    def skip(self) -> None:
        self.pos += 1

    def undo(self) -> Outcome | None:
        if not self.resolved:
            return None
        pos, did = self.resolved.pop()
        self.store.retract_decision(did, self.arbiter.name)
        self.pos = pos
        rid = self.items[pos].record_id
        return Outcome(decision_id=did, record_id=rid, message=f"undone: consensus on record {rid}")
