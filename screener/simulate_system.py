"""The whole screening system, simulated on a labelled set with a model of known quality (``screener.oracle``).

One run, in the order a review goes through it (everything seeded):

1. **Calibration sample.** A random sample of records is screened by humans first (``metasift review
   --sample N``); its labels are the true ones. By default it is sized to hold, in expectation, 1.2 times
   the includes that calibration needs at the routing target (``default_sample_size``), at most
   ``max_sample_share`` of the set — as a reviewer who knows the rough share of includes from a pilot would
   size it. A run's ``bound_held`` says whether the automation's recall on the records outside the sample
   reached the ``L`` it promised.
2. **Model and ranker.** The simulated model gives every record a verdict and a confidence; the ranker (the
   project's, ``svm`` by default) is trained on the sample's labels and scores every record, as
   ``metasift screen`` does (``ranker_stage``).
3. **Routing policy.** ``calibrated`` (default): ``calibrate.calibrate_thresholds`` on the sample, as
   ``metasift calibrate`` does; when the sample cannot support the routing target the automation is off
   and every record goes to a human. ``fixed``: the ``[routing]`` thresholds as given, checked on the sample
   (``calibrate.check_policy``). The sample's ranker probabilities are out-of-fold by default (each from a
   model not trained on that record, ``ranker.out_of_fold_proba``); ``in_sample`` uses the scores of the
   ranker trained on them, which are optimistic. The bound is on the automation's realised recall over the
   records outside the sample (``bound="realised"``, what ``metasift calibrate`` promises) or, for
   comparison, Clopper-Pearson's on the rate (``"rate"``, what it promised before).
4. **Routing.** ``routing.route`` (the real policy, audit share and all) routes every record outside the
   sample: auto-excluded records are never seen by a human.
5. **Human queue.** The records routed to a human or as likely includes are screened in ranker order, the
   ranker retrained on the schedule of ``[screening] retrain_every`` (after 10, 20, 40, then every 50
   decisions), until the buscar test (``screener.stopping``) rejects "recall < target" over the queue — the
   population ``screening_history`` uses: records settled without a human and the calibration sample are
   left out.

**Final recall** counts humans plus automation: includes found in the sample and in the queue, over every
include in the set; auto-excluded includes and those left unscreened in the queue are lost. The final
target ``τ`` is shared between the two stages: the automation keeps recall at least ``L`` (the calibrated
bound under the chosen policy, 1 when nothing is auto-excluded), so the humans' stop test runs at
target ``τ / L`` over the queue. When ``τ / L >= 1`` the queue is screened to the end; when even that
cannot reach ``τ`` (``L < τ``) the run warns before the queue starts. Every warning is given before the
human stage: ``SystemResult.warnings``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from metasift.errors import AnalysisError
from metasift.kinds import RouteName
from metasift.screener._features import Matrix
from metasift.screener.calibrate import (
    CalibrationItem,
    calibrate_thresholds,
    check_policy,
    includes_needed,
    sample_needed,
)
from metasift.screener.live_rank import RetrainSchedule
from metasift.screener.oracle import OracleQuality, draw_verdicts
from metasift.screener.ranker import DEFAULT_RANKER, Ranker, get_ranker, order_by_score, out_of_fold_proba
from metasift.screener.routing import RoutingPolicy, Signals, route
from metasift.screener.stopping import buscar_p

PolicyMode = Literal["calibrated", "fixed"]
SampleScores = Literal["out_of_fold", "in_sample"]
OutsideScores = Literal["full", "cross_fit", "fold_mean"]
BoundKind = Literal["realised", "rate"]


class SystemSettings(BaseModel):
    """The protocol and the run's choices (defaults: review.toml's)."""

    target_recall: float = Field(0.95, gt=0, lt=1)  # final recall the review promises ([screening] stop_target_recall)
    confidence: float = Field(0.95, gt=0, lt=1)  # of the stop test and of the calibration bound
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)  # [routing]: its target_recall is calibration's
    policy: PolicyMode = "calibrated"
    sample_scores: SampleScores = "out_of_fold"
    # how the records outside the sample are scored for routing: ``full`` by the ranker trained on the whole
    # sample (what ``metasift screen`` stores); ``cross_fit`` each by one of the out-of-fold models the
    # sample's scores came from (drawn at random), so sample and outside records are scored alike;
    # ``fold_mean`` by the mean margin of those models. Only with ``sample_scores="out_of_fold"``.
    outside_scores: OutsideScores = "full"
    # what calibration certifies: ``realised``, the automation's recall on this set's records outside the
    # sample (what ``metasift calibrate`` promises); ``rate``, Clopper-Pearson's bound on the rate (before)
    bound: BoundKind = "realised"
    sample_size: int | None = None  # None: sized from the share of includes (module docstring)
    max_sample_share: float = Field(0.5, gt=0, le=1)
    ranker: str = DEFAULT_RANKER
    retrain_every: list[int] = Field(default_factory=lambda: [10, 50])
    # the stop test's target over the queue: the final target over L (True), or the final target itself, as if
    # the automation lost nothing (False: what a stop test blind to the automation would do)
    share_target: bool = True


class SystemResult(BaseModel):
    """What one simulated review did."""

    seed: int
    quality: OracleQuality
    n_records: int
    n_included: int
    sample_size: int
    sample_includes: int
    automation: bool  # the model + ranker path could auto-exclude
    policy: RoutingPolicy
    automation_recall_lower: float  # L: the sample's bound on recall under the policy (1 without automation)
    auto_excluded: int  # records outside the sample never seen by a human
    includes_auto_excluded: int
    automation_recall: float  # includes outside the sample not auto-excluded / includes outside the sample
    bound: BoundKind
    bound_held: bool | None  # automation_recall >= the bound L the run promised (None without automation)
    target_held: bool | None  # automation_recall >= the routing target (None without automation)
    queue: int  # records routed to a human outside the sample
    queue_includes: int
    human_target: float | None  # the stop test's target over the queue (None: screen it all)
    screened: int  # queue records screened before the stop
    found: int  # includes found: sample + queue
    final_recall: float
    human_workload: int  # sample + queue screened
    work_saved: float  # 1 - human_workload / n_records
    stopped_early: bool  # the stop test fired before the queue ran out
    warnings: list[str]
    notes: list[str]
    n_refits: int
    seconds: float

    @property
    def warned(self) -> bool:
        return bool(self.warnings)


def default_sample_size(labels: Sequence[int], routing_target: float, confidence: float,
                        max_share: float, bound: BoundKind = "realised") -> int:
    """Records to sample, at most ``max_share`` of all: ``rate``, so that it holds 1.2x the includes
    calibration needs; ``realised``, so that the realised bound reaches the target with no include lost
    even if the share of includes were 1.2x lower than the set's."""
    y = np.asarray(labels, dtype=int)
    rate = max(float(y.mean()), 1.0 / y.size)
    cap = math.floor(max_share * y.size)
    if bound == "realised":
        want = sample_needed(routing_target, confidence, rate / 1.2, int(y.size))
        return int(cap if want is None else min(want, cap))
    want = math.ceil(1.2 * includes_needed(routing_target, confidence) / rate)
    return int(min(want, cap))


def prepare_features(texts: Sequence[str], ranker: str = DEFAULT_RANKER) -> Matrix:
    """The ranker's feature matrix for ``texts`` (fitted on them all, as the screen command does); reuse it
    across runs on the same set."""
    model = get_ranker(ranker)
    model.prepare(texts)
    return model.vectorize(texts)


def draw_sample(n: int, size: int, seed: int) -> np.ndarray:
    """The seeded random calibration sample (indices); independent of the model's draws."""
    rng = np.random.default_rng([seed, 0x5A3])
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def run_system(texts: Sequence[str], labels: Sequence[int], quality: OracleQuality, *, seed: int = 0,
               settings: SystemSettings | None = None, features: Matrix | None = None) -> SystemResult:
    """Simulate one review of a labelled set with the simulated model ``quality`` (module docstring)."""
    started = time.perf_counter()
    s = settings or SystemSettings()
    y = np.asarray(labels, dtype=int)
    n = y.size
    if len(texts) != n:
        raise AnalysisError(f"{len(texts)} texts but {n} labels")
    if not 0 < y.sum() < n:
        raise AnalysisError("the set needs both includes and excludes")
    X = features if features is not None else prepare_features(texts, s.ranker)
    warnings: list[str] = []
    notes: list[str] = []
    routing_target = s.routing.target_recall

    size = s.sample_size or default_sample_size(y, routing_target, s.confidence, s.max_sample_share, s.bound)
    sample = draw_sample(n, size, seed)
    in_sample = np.zeros(n, dtype=bool)
    in_sample[sample] = True
    if not (0 < y[sample].sum() < sample.size):
        raise AnalysisError(f"the calibration sample ({sample.size} records) needs includes and excludes")

    verdicts = draw_verdicts(y, quality, seed)
    model = get_ranker(s.ranker, seed=seed)
    refits = 1
    if s.sample_scores == "out_of_fold":
        sample_p = out_of_fold_proba(model, X[sample], y[sample])  # also fits ``model`` on the whole sample
    else:
        model.fit_vectors(X[sample], y[sample])
        sample_p = None
    usable = model.gives_probabilities()
    proba = model.predict_proba_vectors(X) if usable else None
    if proba is not None and s.sample_scores == "out_of_fold" and s.outside_scores != "full":
        outside = np.flatnonzero(~in_sample)
        proba[outside] = fold_model_proba(model, s.ranker, X[sample], y[sample], X[outside], seed,
                                          s.outside_scores)
    if sample_p is None and proba is not None:
        sample_p = proba[sample]

    def signals(i: int, p: float | None) -> Signals:
        return Signals(llm=verdicts.signal(i), ranker_probability=None if p is None else float(min(max(p, 0), 1)))

    items = [CalibrationItem(included=bool(y[i]), signals=signals(int(i), None if sample_p is None else sample_p[k]))
             for k, i in enumerate(sample)]
    policy, lower = _choose_policy(items, s, warnings, notes, n)

    # route every record outside the sample with the real policy
    routes = {int(i): route(signals(int(i), None if proba is None else proba[i]), policy, int(i))
              for i in np.flatnonzero(~in_sample)}
    auto = np.array([i for i, r in routes.items() if r.route == RouteName.AUTO_EXCLUDE], dtype=int)
    queue = np.array([i for i, r in routes.items() if r.route != RouteName.AUTO_EXCLUDE], dtype=int)
    outside_inc = int(y[~in_sample].sum())
    lost_auto = int(y[auto].sum()) if auto.size else 0
    auto_recall = 1.0 - lost_auto / outside_inc if outside_inc else 1.0
    automation = policy.auto_exclude and not policy.draft

    # the humans' stop target over the queue, so that L * human recall >= the final target
    human_target = human_stop_target(s.target_recall, lower) if s.share_target else s.target_recall
    if lower < s.target_recall:
        warnings.append(f"the automation's recall bound {lower:.3f} is below the final target "
                        f"{s.target_recall}: final recall cannot be promised even if every routed record "
                        "is screened")
    if human_target >= 1:
        human_target = math.inf
        notes.append("no room under the final target for the stop test: the human queue is screened to the end")

    screened, found_queue, n_refits = _screen_queue(model, X, y, sample, queue, human_target, s)
    refits += n_refits
    found = int(y[sample].sum()) + found_queue
    workload = sample.size + screened
    return SystemResult(
        seed=seed, quality=quality, n_records=n, n_included=int(y.sum()), sample_size=int(sample.size),
        sample_includes=int(y[sample].sum()), automation=automation, policy=policy,
        automation_recall_lower=lower, auto_excluded=int(auto.size), includes_auto_excluded=lost_auto,
        automation_recall=auto_recall, bound=s.bound,
        bound_held=(auto_recall >= lower - 1e-12) if automation else None,
        target_held=(auto_recall >= routing_target - 1e-12) if automation else None,
        queue=int(queue.size), queue_includes=int(y[queue].sum()) if queue.size else 0,
        human_target=None if math.isinf(human_target) else human_target, screened=screened, found=found,
        final_recall=found / int(y.sum()), human_workload=int(workload), work_saved=1.0 - workload / n,
        stopped_early=screened < queue.size, warnings=warnings, notes=notes, n_refits=refits,
        seconds=time.perf_counter() - started)


def fold_model_proba(model: Ranker, name: str, X_sample: Matrix, y_sample: np.ndarray, X_other: Matrix,
                     seed: int, how: OutsideScores) -> np.ndarray:
    """P(include) of records outside the sample from the out-of-fold models the sample's own scores came
    from (``ranker.out_of_fold_proba``: the same stratified folds and seed), so that a sample record and an
    outside record are scored by the same kind of model, one not trained on either. ``cross_fit``: each
    outside record by one fold model drawn at random; ``fold_mean``: the mean over the fold models. For the
    svm ranker the fold margins go through the whole-sample model's Platt sigmoid, as the sample's do."""
    from sklearn.model_selection import StratifiedKFold

    from metasift.screener.platt import platt_proba
    from metasift.screener.ranker import SVMRanker

    y = np.asarray(y_sample, dtype=int)
    k = min(5, int(y.sum()), int((y == 0).sum()))
    folds = StratifiedKFold(k, shuffle=True, random_state=model.seed).split(np.zeros(y.size), y)
    svm = isinstance(model, SVMRanker)
    per_fold = np.empty((k, X_other.shape[0]))
    for f, (train, _) in enumerate(folds):
        fold = get_ranker(name, seed=seed).fit_vectors(X_sample[train], y[train])
        per_fold[f] = fold.score_vectors(X_other) if svm else fold.predict_proba_vectors(X_other)
    if how == "cross_fit":
        pick = np.random.default_rng([seed, 0xC0F]).integers(k, size=X_other.shape[0])
        raw = per_fold[pick, np.arange(X_other.shape[0])]
    else:
        raw = per_fold.mean(axis=0)
    if svm:
        a, b = model._sigmoid()  # the sigmoid the sample's out-of-fold margins went through
        return platt_proba(raw, a, b)
    return raw


def _choose_policy(items: list[CalibrationItem], s: SystemSettings, warnings: list[str], notes: list[str],
                   n_records: int) -> tuple[RoutingPolicy, float]:
    """The routing policy the run uses and ``L``, the sample's lower bound on recall under it."""
    off = s.routing.model_copy(update={"auto_exclude": False})
    target = s.routing.target_recall
    population = n_records if s.bound == "realised" else None
    if s.policy == "calibrated":
        try:
            result = calibrate_thresholds(items, target_recall=target, confidence=s.confidence,
                                          population=population)
        except AnalysisError as exc:
            notes.append(f"calibration refused, automation off (every record goes to a human): {exc}")
            return off, 1.0
        policy = s.routing.model_copy(update={
            "llm_exclude_confidence": result.policy.llm_exclude_confidence,
            "ranker_exclude_probability": result.policy.ranker_exclude_probability,
            "auto_exclude": result.policy.auto_exclude})
        if not policy.auto_exclude:
            notes.append(result.note)
            return policy, 1.0
        return policy, result.recall_lower
    if not s.routing.auto_exclude:
        return s.routing, 1.0
    try:
        checked = check_policy(items, s.routing, target_recall=target, confidence=s.confidence,
                               population=population)
    except AnalysisError as exc:
        warnings.append(f"the [routing] thresholds cannot be checked: {exc}")
        return s.routing, 0.0
    if checked.recall_lower < target:
        warnings.append(f"the [routing] thresholds are not certified: {checked.note}")
    return s.routing, checked.recall_lower


def human_stop_target(final_target: float, automation_lower: float) -> float:
    """The recall the humans' stop test must reach over the records routed to them so that, with the
    automation keeping at least ``automation_lower`` of the includes, the review reaches ``final_target``
    (``inf``: unreachable, screen everything)."""
    return final_target / automation_lower if automation_lower > 0 else math.inf


def retrain_points(gaps: Sequence[int], limit: int) -> set[int]:
    """Decision counts after which the review app retrains (``[screening] retrain_every``, the app's own
    ``live_rank.RetrainSchedule``), up to ``limit``."""
    schedule = RetrainSchedule.of(gaps)
    points: set[int] = set()
    at = 0
    while schedule is not None:
        at += schedule.gap(len(points))
        if at > limit:
            break
        points.add(at)
    return points


def _screen_queue(model: Ranker, X: Matrix, y: np.ndarray, sample: np.ndarray, queue: np.ndarray,
                  target: float, s: SystemSettings) -> tuple[int, int, int]:
    """Screen the queue in ranker order until the stop test fires; (screened, includes found, refits)."""
    if queue.size == 0:
        return 0, 0, 0
    alpha = 1.0 - s.confidence
    retrain_at = retrain_points(s.retrain_every, queue.size)
    history: list[int] = []
    labelled = list(sample)
    waiting = queue[order_by_score(model.score_vectors(X[queue]))].tolist()
    refits = 0
    while waiting:
        i = waiting.pop(0)
        history.append(int(y[i]))
        labelled.append(i)
        if not math.isinf(target) and buscar_p(history, queue.size, target) < alpha:
            break
        if len(history) in retrain_at and waiting:
            model.fit_vectors(X[labelled], y[labelled])
            refits += 1
            rest = np.asarray(waiting)
            waiting = rest[order_by_score(model.score_vectors(X[rest]))].tolist()
    return len(history), int(sum(history)), refits
