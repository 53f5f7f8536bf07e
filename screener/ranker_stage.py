"""Screening stage 3: the active-learning ranker scores every record from the humans' labels so far.

Trained on settled human labels (rule exclusions are left out: they say nothing about the topic), its
scores order the human queue and are the second opinion the routing policy weighs beside the model.
Before both classes are labelled the ranker only orders records (``is_prior``): routing must then not
use its scores, and ``RankSummary.usable_for_routing`` says so.
"""

from __future__ import annotations

from pydantic import BaseModel

from metasift.config import Protocol
from metasift.store import Store
from screener.ranker import DEFAULT_RANKER, get_ranker

STAGE = "title_abstract"


class RankSummary(BaseModel):
    ranker: str
    scored: int
    trained_on: int
    includes_known: int
    usable_for_routing: bool
    run: int


def record_text(rec: dict) -> str:
    return f"{rec.get('title') or ''}\n{rec.get('abstract') or ''}"


def human_labels(store: Store, stage: str = STAGE) -> dict[int, int]:
    """Labels humans settled (consensus or agreeing reviewers): 1 include, 0 exclude."""
    humans = {d["record_id"] for d in store.decisions(stage) if d["decider_kind"] in ("human", "consensus")}
    return {rid: int(label == "include") for rid, label in store.final_labels(stage).items() if rid in humans}


def run_ranker_stage(store: Store, protocol: Protocol, *, ranker: str = DEFAULT_RANKER,
                     extra_labels: dict[int, int] | None = None) -> RankSummary:
    """Fit on the human labels (plus ``extra_labels``), score every primary record, store the scores."""
    records = store.records_table(primary_only=True)
    labels = {**human_labels(store), **(extra_labels or {})}
    prior = protocol.review.question + "\n" + "\n".join(c.text for c in protocol.criteria_for(STAGE))
    model = get_ranker(ranker, prior_text=prior)
    texts = [record_text(r) for r in records]
    model.prepare(texts)
    index = {r["id"]: i for i, r in enumerate(records)}
    labelled = [rid for rid in labels if rid in index]
    X = model.vectorize(texts)
    model.fit_vectors(X[[index[rid] for rid in labelled]], [labels[rid] for rid in labelled])
    scores = model.predict_proba_vectors(X)
    params = {k: v for k, v in model.get_params().items() if k != "prior_text"}
    run = store.save_rankings(STAGE, ranker, params, {r["id"]: float(s) for r, s in zip(records, scores)},
                              trained_on=len(labelled))
    return RankSummary(ranker=ranker, scored=len(records), trained_on=len(labelled),
                       includes_known=sum(labels[rid] for rid in labelled),
                       usable_for_routing=model.gives_probabilities(), run=run)
