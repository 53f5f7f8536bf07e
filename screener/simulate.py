"""ASReview-style screening simulation on a fully labelled dataset, and its metrics.

Start from ``prior_included`` included and ``prior_excluded`` excluded records drawn at random (seeded);
then loop: fit the ranker on everything labelled so far, screen the top-ranked unlabelled records
(certainty / max sampling) and reveal their labels, as a reviewer would.

Retraining: after every record, as ASReview does (``retrain="every"``, the default; with the ``svm``
ranker the screening order is then ASReview's own, record for record). ``retrain="adaptive"`` saves time
on big sets: after every record for the first 100 screened after the priors, then after every
``ceil(n_screened / 20)`` records (5 % of the work done so far), never more than ``max(10, ceil(N / 100))``
records without retraining. Either way, once every include has been found the last model orders the rest
without retraining: the order of records that are all excludes changes no metric. Deterministic given
the seed.

Stopping (``stop=StopRule(...)``): after every record screened past the priors the simulation asks the
buscar test (``metasift.screener.stopping``, target recall and confidence) and the "``heuristic_run``
irrelevant in a row" rule of thumb, and records where each would have stopped (``stops``), with the
recall there — counted over *all* includes, the priors among the found ones, as a review would count
it. ``until`` says when the run ends: at the buscar stop, the heuristic's, the later of both, or the
end. Records after the run ends are ordered by the last model without retraining (as once every
include is found), so the curve metrics below describe that order.

Metrics follow ASReview's convention of leaving the prior records out: they are computed over the
``N - priors`` records screened after the priors, against the includes not among the priors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import sklearn
from pydantic import BaseModel, Field

from metasift.errors import AnalysisError
from metasift.screener.ranker import DEFAULT_RANKER, get_ranker, order_by_score
from metasift.screener.stopping import buscar_p, first_buscar_stop, first_heuristic_stop

Progress = Callable[[int, int], None]  # (records screened so far, total records)
Retrain = Literal["every", "adaptive"]


class StopRule(BaseModel):
    """Which stopping rules a simulation watches, and when it ends."""

    target_recall: float = 0.95
    confidence: float = 0.95
    heuristic_run: int = 50
    until: Literal["buscar", "heuristic", "both", "end"] = "buscar"


class StopPoint(BaseModel):
    """Where one stopping rule stopped a simulated run (``screened`` counts the priors too)."""

    rule: str
    fired: bool  # False: the rule never fired, and the run screened every record
    screened: int
    found: int
    recall: float  # found / every include in the data (priors counted as found)
    work_saved: float  # 1 - screened / records: the share left unscreened


class SimulationResult(BaseModel):
    """The outcome of one simulated screening run; fractions are in [0, 1]."""

    ranker: str
    ranker_params: dict[str, Any] = Field(default_factory=dict)
    retrain: str = "every"
    seed: int
    n_records: int
    n_included: int
    n_prior_included: int
    n_prior_excluded: int
    prior_ids: list[int]  # indices of the prior records, screened first
    order: list[int]  # every record index in the order screened (priors first)
    found: list[int]  # includes found after each record screened after the priors (cumulative)
    wss95: float
    wss100: float
    rrf10: float
    rrf25: float
    atd: float  # average time to discovery as a fraction of the records screened after the priors
    atd_records: float  # the same in records
    n_screened_95: int  # records (after priors) screened to find 95 % of the includes
    n_screened_100: int
    n_refits: int
    seconds: float
    stop_rule: StopRule | None = None
    stops: dict[str, StopPoint] = Field(default_factory=dict)  # "buscar", "heuristic"

    def recall_points(self, max_points: int = 200) -> list[list[int]]:
        """``[n_screened, n_found]`` pairs (after priors) thinned to at most ``max_points``, ends kept."""
        return recall_points(self.found, max_points)


def recall_points(found: Sequence[int], max_points: int = 200) -> list[list[int]]:
    """Thin a cumulative found-curve to at most ``max_points`` ``[n_screened, n_found]`` pairs."""
    n = len(found)
    if n == 0:
        return [[0, 0]]
    positions = np.unique(np.linspace(0, n, num=max(2, min(max_points, n + 1))).round().astype(int))
    return [[int(p), int(found[p - 1]) if p else 0] for p in positions]


def screened_to_reach(labels_in_order: Sequence[int], recall: float) -> int:
    """Records screened until ``ceil(recall * includes)`` includes were found (1-based position)."""
    y = np.asarray(labels_in_order, dtype=int)
    total = int(y.sum())
    if total == 0:
        raise AnalysisError("no includes to find: recall is undefined")
    needed = max(1, math.ceil(recall * total - 1e-9))
    return int(np.searchsorted(np.cumsum(y), needed) + 1)


def wss(labels_in_order: Sequence[int], recall: float) -> float:
    """Work saved over sampling at ``recall``: (N - screened)/N - (1 - recall)."""
    # Cohen AM et al., JAMIA 2006;13:206-219 (WSS = (TN + FN)/N - (1 - recall))
    n = len(labels_in_order)
    return (n - screened_to_reach(labels_in_order, recall)) / n - (1.0 - recall)


def rrf(labels_in_order: Sequence[int], fraction: float = 0.10) -> float:
    """Relevant records found: share of includes found in the first ``round(fraction * N)`` records."""
    y = np.asarray(labels_in_order, dtype=int)
    k = round(fraction * y.size)
    return float(y[:k].sum() / y.sum())


def time_to_discovery(labels_in_order: Sequence[int]) -> np.ndarray:
    """1-based screening position of each include (ASReview's TD)."""
    return np.flatnonzero(np.asarray(labels_in_order, dtype=int)) + 1


def retrain_batch(n_screened: int, n_records: int) -> int:
    """How many records to screen before the next retraining, on the adaptive schedule (module docstring)."""
    if n_screened < 100:
        return 1
    return int(min(math.ceil(n_screened / 20), max(10, math.ceil(n_records / 100))))


def stop_points(labels_in_order: Sequence[int], rule: StopRule, start: int = 1) -> dict[str, StopPoint]:
    """Where buscar and the heuristic stop on this screening order (checked from history length ``start``)."""
    y = np.asarray(labels_in_order, dtype=int)
    n, total = y.size, int(y.sum())
    found = np.cumsum(y)
    at = {"buscar": first_buscar_stop(y, n, target_recall=rule.target_recall, confidence=rule.confidence,
                                      start=start),
          "heuristic": first_heuristic_stop(y, rule.heuristic_run, start=start)}
    return {name: StopPoint(rule=name, fired=s is not None, screened=s or n, found=int(found[(s or n) - 1]),
                            recall=float(found[(s or n) - 1] / total), work_saved=1.0 - (s or n) / n)
            for name, s in at.items()}


class _StopWatch:
    """Tells the simulation loop when the rules in ``rule.until`` have all fired (checked per record)."""

    def __init__(self, rule: StopRule | None, y: np.ndarray, start: int) -> None:
        self.rule, self.y, self.start = rule, y, start
        wanted = {"buscar": ("buscar",), "heuristic": ("heuristic",), "both": ("buscar", "heuristic")}
        self.waiting = set(wanted.get(rule.until, ())) if rule else set()
        self.found = self.streak = 0

    def done(self, order: list[int]) -> bool:
        """Update with the last record screened; True once every awaited rule has fired."""
        label = int(self.y[order[-1]])
        self.found += label
        self.streak = 0 if label else self.streak + 1
        if not self.waiting or len(order) < self.start or self.rule is None:
            return False
        if "heuristic" in self.waiting and self.found and self.streak >= self.rule.heuristic_run:
            self.waiting.discard("heuristic")
        if "buscar" in self.waiting and buscar_p(self.y[order], self.y.size, self.rule.target_recall) \
                < 1.0 - self.rule.confidence:
            self.waiting.discard("buscar")
        return not self.waiting


def draw_priors(labels: Sequence[int], prior_included: int = 1, prior_excluded: int = 1,
                seed: int = 0) -> np.ndarray:
    """The seeded random prior records (indices, shuffled) a simulation with ``seed`` starts from."""
    y = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(seed)
    priors = np.concatenate([rng.choice(np.flatnonzero(y == 1), prior_included, replace=False),
                             rng.choice(np.flatnonzero(y == 0), prior_excluded, replace=False)]).astype(int)
    return rng.permutation(priors)


def run_simulation(texts: Sequence[str], labels: Sequence[int], *, ranker: str = DEFAULT_RANKER,
                   ranker_params: dict[str, Any] | None = None, prior_included: int = 1,
                   prior_excluded: int = 1, seed: int = 0, retrain: Retrain = "every",
                   progress: Progress | None = None, stop: StopRule | None = None) -> SimulationResult:
    """Simulate active-learning screening of ``texts`` whose true labels (1 include, 0 exclude) are known."""
    started = time.perf_counter()
    y = np.asarray(labels, dtype=int)
    n = y.size
    if len(texts) != n:
        raise AnalysisError(f"{len(texts)} texts but {n} labels")
    included, excluded = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if retrain not in ("every", "adaptive"):
        raise AnalysisError(f"unknown retraining schedule {retrain!r}: use 'every' or 'adaptive'")
    if prior_included < 0 or prior_excluded < 0:
        raise AnalysisError("prior counts cannot be negative")
    if included.size <= prior_included:
        raise AnalysisError(f"the data has {included.size} includes; the simulation needs "
                            f"{prior_included + 1}: the {prior_included} priors and one to find")
    if excluded.size < prior_excluded:
        raise AnalysisError(f"the data has {excluded.size} excludes, fewer than prior excluded "
                            f"{prior_excluded}")

    priors = draw_priors(y, prior_included, prior_excluded, seed)
    params = {"seed": seed, **(ranker_params or {})}
    model = get_ranker(ranker, **params).prepare(list(texts))
    X = model.vectorize(list(texts))

    labelled = np.zeros(n, dtype=bool)
    labelled[priors] = True
    order: list[int] = [int(i) for i in priors]
    found_total, to_find = int(y[priors].sum()), int(y.sum())
    refits = 0
    watch = _StopWatch(stop, y, start=len(priors) + 1)
    if progress:
        progress(len(order), n)
    while len(order) < n:
        pool = np.flatnonzero(~labelled)
        train = np.asarray(order)
        # tf-idf rows are finite and the parameters are the ranker's own: skip sklearn's per-fit checks
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            model.fit_vectors(X[train], y[train])
            # every row scored, then the pool's taken: a row's score does not depend on the others, and
            # slicing the pool's rows out first cost more than the few extra dot products
            scores = model.score_vectors(X)[pool]
        refits += 1
        ranked = pool[order_by_score(scores)]
        take = ranked[:1 if retrain == "every" else retrain_batch(len(order) - len(priors), n)]
        for idx in take:  # screen the batch one by one; stop retraining once every include is found
            order.append(int(idx))
            labelled[idx] = True
            found_total += int(y[idx])
            if (found_total == to_find or watch.done(order)) and len(order) < n:
                rest = [int(i) for i in ranked if not labelled[i]]
                order.extend(rest)
                labelled[rest] = True
                break
        if progress:
            progress(len(order), n)

    after = y[np.asarray(order[len(priors):], dtype=int)]
    td = time_to_discovery(after)
    return SimulationResult(
        ranker=ranker, ranker_params=model.describe_params(), retrain=retrain, seed=seed, n_records=n,
        n_included=to_find, n_prior_included=prior_included, n_prior_excluded=prior_excluded,
        prior_ids=[int(i) for i in priors],
        order=order, found=np.cumsum(after).astype(int).tolist(),
        wss95=wss(after, 0.95), wss100=wss(after, 1.0), rrf10=rrf(after, 0.10), rrf25=rrf(after, 0.25),
        atd=float(td.mean() / after.size), atd_records=float(td.mean()),
        n_screened_95=screened_to_reach(after, 0.95), n_screened_100=screened_to_reach(after, 1.0),
        n_refits=refits, seconds=time.perf_counter() - started, stop_rule=stop,
        stops=stop_points(y[np.asarray(order)], stop, start=len(priors) + 1) if stop else {})
