"""What deduplication returns: clusters of input indices, their primaries and the links with reasons."""

from __future__ import annotations

from pydantic import BaseModel


class PairScore(BaseModel):
    """A link between records ``a`` and ``b`` (indices into the input), its score and why."""

    a: int
    b: int
    score: float
    reason: str


class DedupResult(BaseModel):
    """Duplicate clusters; every input index appears in exactly one cluster (singletons included)."""

    clusters: list[list[int]]
    primary: list[int]  # primary[c]: the most complete record of cluster c (tie: earliest index)
    pairs: list[PairScore]  # accepted duplicate links ("doi", "pmid", "fuzzy: title 0.97, ...")
    borderline: list[PairScore]  # close to the threshold or contradicting a cluster: NOT merged
