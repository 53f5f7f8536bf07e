"""Re-ranking during a review session: when to retrain, on which labels, and the new order of the queue.

No UI here. ``ReviewSession`` counts decisions against a ``RetrainSchedule`` and, when one is due, hands
out the work; ``LiveRanker.retrain`` is the slow part (features once per session, then one fit and one
scoring of every record, then one rankings run saved): the review app calls it from a thread worker,
and it runs in a spawned worker process (``Offload``) so the fitting does not hold the app's GIL; it
never touches the session — it reads the store and writes one run, nothing else. Its ``Reranking`` goes
back to ``ReviewSession.apply_ranking`` on the UI thread, which reorders only the records waiting behind
the one on screen.

Blinding: the ranker learns from settled labels (``Store.final_labels`` under the protocol's counting
rules: under dual screening a record settles when both reviewers agree, or by consensus) plus this
reviewer's own decisions — never from another reviewer's decision on a record that has not settled. The run
is saved under the reviewer's name (its ``rank`` event says so, with what triggered it), so a restart
continues from it while another reviewer's queue passes it over (``review_queue.queue_run``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from metasift.config import Protocol
from metasift.kinds import Stage
from metasift.labels import HUMAN_KINDS, as_include
from metasift.store import Store
from metasift.store import review_queue as rq
from metasift.store.rows import RankingRun

if TYPE_CHECKING:  # the ranker (scikit-learn, seconds to import) and numpy load in the process that trains
    import numpy as np

    from metasift.screener.ranker import Ranker

STAGE = Stage.TITLE_ABSTRACT
T = TypeVar("T")
SAVE_CHUNK = 5000  # scores per write transaction: a reviewer's decision waits for one chunk, not the whole run


@dataclass(frozen=True, slots=True)
class RetrainSchedule:
    """Retrain after ``first`` decisions, the gap then doubling after each retrain up to ``last``: early
    labels change the order most, later ones refine it, and a retrain costs the same each time."""

    first: int
    last: int

    @classmethod
    def of(cls, gaps: Sequence[int]) -> RetrainSchedule | None:
        """From ``[screening] retrain_every`` (``[first, last]``, ``[gap]``, or ``[]`` for none)."""
        if not gaps:
            return None
        return cls(first=gaps[0], last=gaps[-1])

    def gap(self, retrains: int) -> int:
        """Decisions to wait before the next retrain, after ``retrains`` of them."""
        return min(self.last, self.first * 2 ** min(retrains, 30))


@dataclass(frozen=True, slots=True)
class TrainingLabels:
    """What a retrain learns from: 1 include (or maybe), 0 exclude, per record."""

    labels: dict[int, int]
    settled: int  # labels from settled records
    own: int  # labels from this reviewer's decisions on records not settled (yet)


def training_labels(store: Store, reviewer: str, counting: rq.Counting, stage: str = STAGE) -> TrainingLabels:
    """Settled human labels plus ``reviewer``'s own decisions on unsettled records; no one else's."""
    humans = {d.record_id for d in store.decisions(stage) if d.decider_kind in HUMAN_KINDS}
    settled = store.final_labels(stage, humans_needed=counting.needed, model_counts=counting.model_counts)
    labels = {rid: int(bool(as_include(label))) for rid, label in settled.items()
              if rid in humans and as_include(label) is not None}
    n_settled = len(labels)
    for d in rq.reviewer_decisions(store, stage, reviewer):  # oldest first: the latest one wins
        if d.record_id not in settled and as_include(d.label) is not None:
            labels[d.record_id] = int(bool(as_include(d.label)))
    return TrainingLabels(labels=labels, settled=n_settled, own=len(labels) - n_settled)


@dataclass(frozen=True, slots=True)
class Reranking:
    """One retrain's result: the new order and what it learned from."""

    run: int  # the rankings run it was saved as
    order: list[int]  # every scored record id, most likely include first (ties by id)
    trained_on: int
    includes: int
    own: int  # of ``trained_on``, this reviewer's decisions on records not settled
    prior: bool  # both classes not known yet: ordered by similarity, not by a trained model
    at_decision: int  # the session's decision count when the labels were read
    seconds: float  # the whole retrain, features included
    features_seconds: float  # of which building the features (the first retrain of a session only)


class Offload:
    """One spawned worker process, started on first use, for work too heavy to share the app's process:
    fitting tf-idf features over 50,000 texts or the stopping test's hypergeometric sums hold the GIL for
    long stretches, which a thread worker would take from the keypresses. ``run`` blocks its caller (a
    thread worker) until the result is back, one job at a time; ``inline=True`` runs it in the calling
    thread instead. ``close`` ends the process at once: a job cut short saved nothing (a ranking is one
    transaction), and the reviewer quitting does not wait for it; jobs asked for after it are refused
    (``RuntimeError``), so none starts a process the quitting app would wait on."""

    def __init__(self, *, inline: bool = False) -> None:
        self.inline = inline
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()  # one job at a time
        self._starting = threading.Lock()  # a process being started, against ``close`` meanwhile
        self._closed = False
        if not inline:
            # spawning starts multiprocessing's resource tracker, which is handed sys.stderr's descriptor:
            # start it now, before a Textual app swaps sys.stderr for a capture without one
            resource_tracker.ensure_running()

    def run(self, fn: Callable[..., T], *args: object) -> T:
        if self.inline:
            return fn(*args)
        with self._lock:
            with self._starting:
                if self._closed:  # the app quits: no new process (its job would hold the exit up)
                    raise RuntimeError("the background process was closed")
                if self._process is None or not self._process.is_alive():
                    ctx = multiprocessing.get_context("spawn")
                    self._conn, child = ctx.Pipe()
                    self._process = ctx.Process(target=_serve, args=(child,), daemon=True,
                                                name="metasift-offload")
                    self._process.start()
                    child.close()
                conn = self._conn
            assert conn is not None
            try:
                conn.send((fn, args))
                ok, value = conn.recv()
            except (EOFError, OSError) as exc:  # the process was closed or died meanwhile
                raise RuntimeError("the background process stopped before answering") from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        with self._starting:  # a process being started is started (and then ended) or never will be
            self._closed = True
            process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.join(5)
        if self._conn is not None:
            self._conn.close()


def _serve(conn: Connection) -> None:
    """The worker process: run each (function, arguments) received and send back (ok, result or error)."""
    _background_priority()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the app's to handle; it ends this process
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):  # the app's process closed its end
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:
            answer = (False, exc)
        try:
            conn.send(answer)
        except (EOFError, OSError):  # the app quit meanwhile: nobody to answer, and nothing to say on stderr
            return
        except Exception:  # an error (or result) that does not pickle: its text then
            conn.send((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))


def _background_priority() -> None:
    """A worker process yields the CPU to the app's process: on a machine with few cores a retrain or a
    stopping test must not slow the next record being drawn."""
    if hasattr(os, "nice"):
        os.nice(10)


@dataclass(frozen=True, slots=True)
class RetrainJob:
    """What a worker process needs to retrain for one reviewer (it opens the store itself)."""

    url: str
    reviewer: str
    counting: rq.Counting
    ranker: str
    prior_text: str
    at_decision: int


class Trainer:
    """The retraining itself, in whichever process runs it: features built once, a new fit per retrain."""

    def __init__(self, store: Store, reviewer: str, counting: rq.Counting, ranker: str, prior_text: str) -> None:
        self.store, self.reviewer, self.counting = store, reviewer, counting
        self.name, self.prior_text = ranker, prior_text
        self._model: Ranker | None = None
        self._ids: np.ndarray | None = None
        self._X: Any = None

    def prepare(self) -> float:
        """Fit the features on every primary record's text once (the corpus does not change in a session)."""
        if self._model is not None:
            return 0.0
        import numpy as np

        t0 = time.perf_counter()
        records = self.store.records_table(primary_only=True)  # id order
        from metasift.screener.ranker import get_ranker
        from metasift.screener.ranker_stage import record_text

        texts = [record_text(r) for r in records]
        model = get_ranker(self.name, prior_text=self.prior_text)
        model.prepare(texts)
        self._X = model.vectorize(texts)
        self._ids = np.asarray([r.id for r in records], dtype=np.int64)
        self._model = model
        return time.perf_counter() - t0

    def retrain(self, at_decision: int) -> Reranking:
        """Read the labels, fit, score every record, save the run (with its ``rank`` event) and return the
        new order."""
        t0 = time.perf_counter()
        features = self.prepare()
        model, ids, X = self._model, self._ids, self._X
        assert model is not None and ids is not None
        found = training_labels(self.store, self.reviewer, self.counting)
        index = {int(rid): i for i, rid in enumerate(ids)}
        labelled = [rid for rid in found.labels if rid in index]
        y = [found.labels[rid] for rid in labelled]
        model.fit_vectors(X[[index[rid] for rid in labelled]], y)
        scores = model.predict_proba_vectors(X)
        from metasift.screener.ranker import order_by_score

        order = ids[order_by_score(scores)].tolist()  # stable: ties keep id order, as the database sorts
        params = {k: v for k, v in model.describe_params().items() if k != "prior_text"}
        run = self.store.save_rankings(
            STAGE, self.name, params, dict(zip(ids.tolist(), scores.tolist())), trained_on=len(labelled),
            reviewer=self.reviewer, chunk=SAVE_CHUNK,
            context={"trigger": "review session", "decisions": at_decision, "own_labels": found.own,
                     "settled_labels": found.settled})
        return Reranking(run=run, order=order, trained_on=len(labelled), includes=int(sum(y)), own=found.own,
                         prior=bool(model.is_prior_), at_decision=at_decision,
                         seconds=time.perf_counter() - t0, features_seconds=features)


_TRAINERS: dict[tuple[str, str, str], Trainer] = {}  # per worker process: one per store, reviewer and ranker


def _trainer(job: RetrainJob) -> Trainer:
    key = (job.url, job.reviewer, job.ranker)
    trainer = _TRAINERS.get(key)
    if trainer is None:
        trainer = _TRAINERS[key] = Trainer(Store.from_url(job.url), job.reviewer, job.counting, job.ranker,
                                           job.prior_text)
    return trainer


def run_retrain(job: RetrainJob) -> Reranking:
    """A retrain in a worker process; the features stay in that process for the session's next ones."""
    return _trainer(job).retrain(job.at_decision)


def run_prepare(job: RetrainJob) -> float:
    """Build the features in a worker process ahead of the first retrain; returns the seconds it took."""
    return _trainer(job).prepare()


class LiveRanker:
    """One reviewer's ranker for a session. ``retrain`` blocks (call it from a thread worker) while a
    worker process does the work (``Offload``; ``inline=True``: in the calling thread, with its own
    ``Trainer``); one retrain at a time. It never touches the session."""

    def __init__(self, store: Store, protocol: Protocol, reviewer: str, counting: rq.Counting, *,
                 inline: bool = False) -> None:
        self.store, self.reviewer, self.counting = store, reviewer, counting
        self.name = protocol.screening.ranker
        self.prior_text = protocol.review.question + "\n" + "\n".join(c.text for c in protocol.criteria_for(STAGE))
        self.url = store.engine.url.render_as_string(hide_password=False)
        self.offload = Offload(inline=inline)
        self._trainer = Trainer(store, reviewer, counting, self.name, self.prior_text) if inline else None
        self._lock = threading.Lock()

    def _job(self, at_decision: int = 0) -> RetrainJob:
        return RetrainJob(url=self.url, reviewer=self.reviewer, counting=self.counting, ranker=self.name,
                          prior_text=self.prior_text, at_decision=at_decision)

    def warm(self) -> float:
        """Build the features now (at 50,000 records they take longer than the fits), so the first retrain
        comes back as fast as the next ones; blocks like ``retrain``. Returns the seconds it took."""
        with self._lock:
            if self._trainer is not None:
                return self._trainer.prepare()
            return self.offload.run(run_prepare, self._job())

    def retrain(self, at_decision: int) -> Reranking:
        with self._lock:
            if self._trainer is not None:
                return self._trainer.retrain(at_decision)
            return self.offload.run(run_retrain, self._job(at_decision))

    def wait(self, timeout: float = 120.0) -> bool:
        """Wait for a running retrain to finish (before the store is closed); False on timeout."""
        if not self._lock.acquire(timeout=timeout):
            return False
        self._lock.release()
        return True

    def close(self) -> None:
        """Stop the worker process; a retrain still running is dropped (the last saved run stands)."""
        self.offload.close()


def latest_run(store: Store, stage: str = STAGE) -> RankingRun | None:
    """The newest ranker run at ``stage`` (for status lines and tests)."""
    runs = store.ranking_runs(stage)
    return runs[-1] if runs else None
