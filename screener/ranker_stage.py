"""Screening stage 3: the active-learning ranker scores every record from the humans' labels so far.

Trained on settled human labels (rule exclusions are left out: they say nothing about the topic), its
scores order the human queue and are the second opinion the routing policy weighs beside the model.
Before both classes are labelled the ranker only orders records (``is_prior``): routing must then not
use its scores, and ``RankSummary.usable_for_routing`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.kinds import Stage
from metasift.labels import HUMAN_KINDS
from metasift.screener.ranker import DEFAULT_RANKER, get_ranker, out_of_fold_proba
from metasift.store import Store
from metasift.store._screening import as_include
from metasift.store.rows import RecordRow

STAGE = Stage.TITLE_ABSTRACT


class RankSummary(BaseModel):
    ranker: str
    scored: int
    trained_on: int
    includes_known: int
    usable_for_routing: bool
    run: int
    excludes_known: int = 0
    awaiting_agreement: int = 0  # records humans decided that are not settled: their reviewers disagree
    needed_per_class: int = 1  # settled includes and excludes each it needs before routing may use it

    def learning_note(self) -> str | None:
        """Why routing cannot use the ranker yet, with the counts it learns from; None once it can."""
        if self.usable_for_routing:
            return None
        waiting = ""
        if self.awaiting_agreement:
            n = self.awaiting_agreement
            waiting = f", plus {_count(n, 'record')} where the reviewers disagree"
        need = "one" if self.needed_per_class == 1 else str(self.needed_per_class)
        return (f"the ranker learns from human labels (a reviewer's decision no other reviewer contradicts, "
                f"or a consensus): "
                f"{_count(self.includes_known, 'include')} and {_count(self.excludes_known, 'exclude')} so far"
                f"{waiting}; it needs at least {need} of each before it can help routing")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def labels_needed(ranker: str) -> int:
    """Settled includes and excludes each that ``ranker`` needs before ``gives_probabilities()``: the svm's
    Platt scaling cross-validates, so two of each; one of each for the others."""
    return 2 if ranker == "svm" else 1


def record_text(rec: RecordRow) -> str:
    return f"{rec.title or ''}\n{rec.abstract or ''}"


def human_labels(store: Store, stage: str = STAGE) -> dict[int, int]:
    """Labels humans gave without disagreeing (one reviewer's decision is enough; a consensus settles a
    disagreement): 1 include (or maybe, which screening treats as include), 0 exclude."""
    humans = {d.record_id for d in store.decisions(stage) if d.decider_kind in HUMAN_KINDS}
    return {rid: int(bool(as_include(label))) for rid, label in store.final_labels(stage).items()
            if rid in humans and as_include(label) is not None}


def awaiting_agreement(store: Store, settled: Mapping[int, int], stage: str = STAGE) -> int:
    """Records with a human decision but no settled label (``settled``: ``human_labels``), because their
    reviewers disagree: the ranker does not learn from them yet."""
    humans = {d.record_id for d in store.decisions(stage) if d.decider_kind in HUMAN_KINDS}
    return len(humans - set(settled))


def run_ranker_stage(store: Store, protocol: Protocol, *, ranker: str = DEFAULT_RANKER,
                     extra_labels: dict[int, int] | None = None) -> RankSummary:
    """Fit on the human labels (plus ``extra_labels``), score every primary record, store the scores."""
    settled = human_labels(store)
    labels = {**settled, **(extra_labels or {})}
    records, model, texts, index, labelled = _prepared(store, protocol, ranker, labels)
    X = model.vectorize(texts)
    model.fit_vectors(X[[index[rid] for rid in labelled]], [labels[rid] for rid in labelled])
    scores = model.predict_proba_vectors(X)
    params = {k: v for k, v in model.get_params().items() if k != "prior_text"}
    run = store.save_rankings(STAGE, ranker, params, {r.id: float(s) for r, s in zip(records, scores)},
                              trained_on=len(labelled))
    includes = sum(labels[rid] for rid in labelled)
    return RankSummary(ranker=ranker, scored=len(records), trained_on=len(labelled), includes_known=includes,
                       excludes_known=len(labelled) - includes, awaiting_agreement=awaiting_agreement(store, settled),
                       needed_per_class=labels_needed(ranker), usable_for_routing=model.gives_probabilities(),
                       run=run)


def out_of_fold_scores(store: Store, protocol: Protocol, *, ranker: str = DEFAULT_RANKER) -> dict[int, float]:
    """P(include) of every human-labelled record from the ranker trained on the other human labels (stratified
    folds): what the ranker says of a record it has not learned, as it does of the records routing decides.
    Calibration weighs these, not the stored scores: the ranker that made those was trained on the sample
    itself, and a threshold checked on its own training records is checked on an optimistic sample (the
    system simulation, ``screener.simulate_system``, measured the bound failing that way). Empty when the
    ranker cannot give probabilities yet."""
    labels = human_labels(store)
    _, model, texts, index, labelled = _prepared(store, protocol, ranker, labels)
    if not labelled:
        return {}
    X = model.vectorize(texts)[[index[rid] for rid in labelled]]
    proba = out_of_fold_proba(model, X, [labels[rid] for rid in labelled])
    return {} if proba is None else {rid: float(p) for rid, p in zip(labelled, proba)}


def _prepared(store: Store, protocol: Protocol, ranker: str,
              labels: dict[int, int]) -> tuple[list[RecordRow], Any, list[str], dict[int, int], list[int]]:
    """The primary records, a ranker prepared on their texts (the protocol's question and criteria as its
    prior), the texts, each record's row and the labelled record ids that are among them."""
    records = store.records_table(primary_only=True)
    prior = protocol.review.question + "\n" + "\n".join(c.text for c in protocol.criteria_for(STAGE))
    model = get_ranker(ranker, prior_text=prior)
    texts = [record_text(r) for r in records]
    model.prepare(texts)
    index = {r.id: i for i, r in enumerate(records)}
    return records, model, texts, index, [rid for rid in labels if rid in index]
