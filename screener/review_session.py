"""A reviewer's screening session, without any UI: the queue, deciding, undo, search, counts.

The Textual apps (``metasift.tui``) are thin shells around these classes, and the demo's simulated
reviewers and the benchmarks drive them directly, so the rules (blinding, dual screening, the write guard)
are the same whether a key is pressed or a script decides. Every decision is one store transaction,
written before the next record is shown. Stage layer: it imports the kernel and other screener modules.

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
from metasift.kinds import Label, Stage
from metasift.labels import as_include
from metasift.screener.live_rank import LiveRanker, Offload, Reranking, RetrainSchedule
from metasift.screener.stopping import (
    ScreeningHistory,
    StoppingEstimate,
    StoppingTracker,
    history_from_url,
    screening_history,
    status_estimate,
)
from metasift.store import review_queue as rq
from metasift.store.repo import Store
from metasift.store.rows import DecisionRow, RecordRow


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
                 inline: bool = False) -> None:
        self.store, self.protocol, self.reviewer, self.stage = store, protocol, reviewer, stage
        self.counting = counting_of(protocol)
        self.include_auto = include_auto
        self.show_draft = protocol.screening.show_model_draft
        self.criteria = protocol.criteria_for(stage)  # type: ignore[arg-type]
        scope = rq.stage_scope(store, stage, self.counting)
        run = rq.queue_run(store, stage, reviewer, self.counting)  # under dual screening: not another's run
        queue = rq.sample_queue(store, sample, seed or 0) if sample else rq.build_queue(store, stage, run=run)
        if scope is not None:
            queue.ids = [rid for rid in queue.ids if rid in scope]
        self.queue_kind, self.seed = queue.kind, queue.seed
        open_now = rq.open_ids(store, stage, reviewer, self.counting, include_auto=include_auto, scope=queue.ids)
        self.queue = [rid for rid in queue.ids if rid in open_now]
        self.pos = 0
        in_queue = set(queue.ids)
        mine = [d for d in rq.reviewer_decisions(store, stage, reviewer) if d.record_id in in_queue]
        self.counts = {Label.INCLUDE: 0, Label.EXCLUDE: 0, Label.MAYBE: 0}
        for d in mine:
            self.counts[d.label] = self.counts.get(d.label, 0) + 1
        self.undo_stack: list[int] = []
        self._current: int | None = None
        title_abstract = stage == Stage.TITLE_ABSTRACT
        self.schedule = RetrainSchedule.of(protocol.screening.retrain_every) \
            if title_abstract and queue.kind != "random" else None
        # the heavy work (retrains, the stopping test) runs in worker processes; inline: in the caller's thread
        self.ranker = LiveRanker(store, protocol, reviewer, self.counting, inline=inline) if self.schedule else None
        self.background = Offload(inline=inline)
        self.retrains = 0  # retrains handed out this session
        self.since_retrain = 0  # decisions written since the last one was handed out
        self.retraining = False  # one handed out and not yet applied
        self.last_ranking: Reranking | None = None
        self.stopping = StoppingTracker(target_recall=protocol.screening.stop_target_recall,
                                        confidence=protocol.screening.stop_confidence) if title_abstract else None
        if queue.kind == "random":
            store.record_calibration_sample(stage=Stage(stage), seed=queue.seed or 0, size=sample or 0,
                                            records=queue.ids, drawn_by=reviewer)

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
            rid = self.queue[self.pos]
            with self.store.read() as conn:
                if rq.record_is_open(conn, rid, self.stage, self.reviewer, self.counting,
                                     include_auto=self.include_auto):
                    self._current = rid
                    return rid
            self.pos += 1
        return None

    def record(self, record_id: int) -> ShownRecord:
        """The record to show, and the model draft only when the protocol allows it."""
        draft = rq.model_draft(self.store, record_id, self.stage) if self.show_draft else None
        return ShownRecord(record_id=record_id, record=self.store.record(record_id), draft=draft)

    # -- actions ------------------------------------------------------------------------------------------------
    def decide(self, label: str, reasons: list[str] | None = None, note: str | None = None) -> Outcome:
        """Write the reviewer's decision on the current record (one transaction), then move on."""
        if label not in rq.COUNTED:
            raise ValueError(f"label must be one of {rq.COUNTED}, not {label!r}")
        rid = self.current_id()
        if rid is None:
            raise ValueError("nothing left to decide")
        did = rq.decide(self.store, record_id=rid, stage=self.stage, reviewer=self.reviewer, label=label,
                        counting=self.counting, reasons=reasons, note=note, settings=self.settings(),
                        include_auto=self.include_auto)
        self._advance()
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
        row = None
        while self.undo_stack and row is None:  # skip any retracted elsewhere meanwhile
            row = rq.active_decision(self.store, self.undo_stack.pop())
        if row is None:  # nothing from this session: the last one from before (resumed session)
            row = rq.last_decision(self.store, self.stage, self.reviewer)
        if row is None:
            return None
        did = row.id
        self.store.retract_decision(did, self.reviewer)
        self.counts[row.label] = max(0, self.counts.get(row.label, 0) - 1)
        if self.stopping is not None:
            self.stopping.forget(row.record_id)  # its history is read again (``stopping_history``)
        self._show_next(row.record_id)
        return Outcome(decision_id=did, record_id=row.record_id, reasons=row.reasons, note=row.note,
                       message=f"undone: {row.label} on record {row.record_id}")

    def search(self, text: str) -> int:
        """Bring the first record (in queue order) matching ``text`` to the front; return how many match."""
        hits = set(rq.search_ids(self.store, text))
        waiting = [rid for rid in self.queue[self.pos:] if rid in hits]
        exact = int(text) if text.strip().isdigit() and int(text) in waiting else None  # a record id first
        if waiting:
            self._show_next(exact if exact is not None else waiting[0])
        return len(waiting)

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
        start = self.pos + (1 if self._current is not None else 0)  # _current is queue[pos] when set
        waiting = self.queue[start:]
        members = set(waiting)
        ordered = [rid for rid in ranking.order if rid in members]
        if len(ordered) < len(waiting):  # records the run did not score keep their order, at the end
            scored = set(ordered)
            ordered += [rid for rid in waiting if rid not in scored]
        self.queue[start:] = ordered
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
