"""``find_duplicates``: exact identifiers first, then blocked and vectorised fuzzy matching."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from rapidfuzz import fuzz, process

from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.clusters import ClusterSet
from metasift.dedup.compare import MAX_BONUS, TRUNCATION_FACTOR, Features, features, score_pair
from metasift.dedup.models import DedupResult, PairScore
from metasift.errors import ConfigError
from metasift.records import Record

DEFAULT_THRESHOLD = 0.90
DEFAULT_BORDERLINE_MARGIN = 0.06
DOI_TITLE_FLOOR = 0.60  # same DOI but titles this different: shown for review, not merged


def find_duplicates(records: Sequence[Record], *, threshold: float = DEFAULT_THRESHOLD,
                    borderline_margin: float = DEFAULT_BORDERLINE_MARGIN) -> DedupResult:
    """Cluster records describing the same work; pairs just under ``threshold`` come back as borderline."""
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"dedup threshold must be in (0, 1], got {threshold}")
    if not 0.0 <= borderline_margin < threshold:
        raise ConfigError(f"dedup borderline margin must be in [0, threshold), got {borderline_margin}")
    with _no_gc():
        feats = [features(r) for r in records]
        clusters = ClusterSet(feats)
        pairs: list[PairScore] = []
        borderline: list[PairScore] = []
        _link_identifiers(feats, clusters, pairs, borderline)
        _link_fuzzy(feats, clusters, pairs, borderline, threshold, borderline_margin)
        groups = clusters.groups()
        primary = primaries(records, groups)
    borderline.sort(key=lambda p: (-p.score, p.a, p.b))
    return DedupResult(clusters=groups, primary=primary, pairs=pairs, borderline=borderline)


def primaries(records: Sequence[Record], groups: Sequence[Sequence[int]]) -> list[int]:
    """Each cluster's primary: its most complete record, the earliest on a tie."""
    return [members[0] if len(members) == 1 else
            max(members, key=lambda i: (records[i].completeness(), -i)) for members in groups]


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building ~10 objects per record otherwise triggers it
    thousands of times (it halves the run time at 100,000 records); nothing here makes cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _link_identifiers(feats: Sequence[Features], clusters: ClusterSet, pairs: list[PairScore],
                      borderline: list[PairScore]) -> None:
    """Merge records sharing a DOI, then a PMID, unless their titles or other identifiers disagree."""
    for field in ("doi", "pmid"):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, f in enumerate(feats):
            value = getattr(f, field)
            if value:
                groups[value].append(i)
        for members in groups.values():
            first = members[0]
            for other in members[1:]:
                doubt, similarity = _titles_disagree(feats[first], feats[other])
                conflict = clusters.conflict(first, other, identifiers_only=True)
                if doubt or conflict:  # score: how alike the titles are
                    borderline.append(PairScore.model_construct(a=first, b=other, score=round(similarity, 4),
                                                                reason=f"{field}, but {doubt or conflict}"))
                    continue
                clusters.union(first, other)
                pairs.append(PairScore.model_construct(a=first, b=other, score=1.0, reason=field))


def _titles_disagree(a: Features, b: Features) -> tuple[str | None, float]:
    """(why two records sharing an identifier do not look like one work, or None; title similarity)."""
    if not a.full or not b.full:
        return None, 1.0
    similarity = fuzz.ratio(a.full, b.full) / 100
    if bool(a.main) != bool(b.main):  # one database cut the subtitle
        similarity = max(similarity, fuzz.ratio(a.main or a.full, b.main or b.full) / 100)
    if a.kind != b.kind:
        return f"{a.kind} vs {b.kind}", similarity
    return (None if similarity >= DOI_TITLE_FLOOR else f"titles differ ({similarity:.2f})"), similarity


def _link_fuzzy(feats: Sequence[Features], clusters: ClusterSet, pairs: list[PairScore],
                borderline: list[PairScore], threshold: float, margin: float) -> None:
    """Score blocked candidate pairs and merge those over the threshold, strongest first."""
    full = np.array([f.full for f in feats], dtype=object)
    main = np.array([f.main for f in feats], dtype=object)
    cand = candidate_pairs([f.tokens for f in feats], [f.main_tokens for f in feats], full.tolist())
    if len(cand) == 0:
        return
    cand = cand[_plausible(feats, cand)]
    i, j = cand[:, 0], cand[:, 1]
    t_full = process.cpdist(full[i], full[j], scorer=fuzz.ratio, workers=-1).astype(np.float32) / 100
    # where exactly one title has a subtitle, also compare main titles (the other may have been cut)
    one_cut = (main[i] != "") != (main[j] != "")
    t_main = np.zeros(len(cand), dtype=np.float32)
    if one_cut.any():
        head_i = np.where(main[i] != "", main[i], full[i])[one_cut]
        head_j = np.where(main[j] != "", main[j], full[j])[one_cut]
        t_main[one_cut] = process.cpdist(head_i, head_j, scorer=fuzz.ratio, workers=-1) / 100
    best = np.maximum(t_full, np.where(one_cut, TRUNCATION_FACTOR * t_main, 0))
    keep = best + MAX_BONUS >= threshold - margin
    scored: list[tuple[float, int, int, str, bool]] = []
    for a, b, tf, tm in zip(i[keep].tolist(), j[keep].tolist(), t_full[keep].tolist(), t_main[keep].tolist()):
        verdict = score_pair(feats[a], feats[b], tf, tm)
        if verdict.veto is None and verdict.score >= threshold - margin:
            accept = verdict.score >= threshold and not verdict.uncorroborated
            scored.append((verdict.score, a, b, verdict.reason, accept))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))  # strongest evidence first (scores above 1 kept)
    for raw, a, b, reason, accept in scored:
        score = min(1.0, raw)
        if not accept:
            borderline.append(PairScore.model_construct(a=a, b=b, score=score, reason=reason))
            continue
        conflict = clusters.conflict(a, b)
        if conflict:
            borderline.append(PairScore.model_construct(a=a, b=b, score=score,
                                                        reason=f"{reason}; not merged: {conflict}"))
            continue
        clusters.union(a, b)
        pairs.append(PairScore.model_construct(a=a, b=b, score=score, reason=reason))


def _plausible(feats: Sequence[Features], cand: np.ndarray) -> np.ndarray:
    """Mask of candidate pairs not already ruled out (or settled) by identifiers, years or item kinds."""
    doi = _codes([f.doi for f in feats])
    pmid = _codes([f.pmid for f in feats])
    kind = _codes([f.kind for f in feats])
    year = np.array([f.year if f.year is not None else -10_000 for f in feats], dtype=np.int64)
    i, j = cand[:, 0], cand[:, 1]
    both_doi = (doi[i] >= 0) & (doi[j] >= 0)  # same DOI: settled by the exact stage; another: a veto
    both_pmid = (pmid[i] >= 0) & (pmid[j] >= 0)
    both_year = (year[i] > -10_000) & (year[j] > -10_000)
    ok = ~both_doi & ~(both_pmid & (pmid[i] != pmid[j]))
    ok &= ~(both_year & (np.abs(year[i] - year[j]) > 1)) & (kind[i] == kind[j])
    return ok


def _codes(values: Sequence[str | None]) -> np.ndarray:
    """Integer code per value (equal values, equal codes); -1 for missing."""
    index: dict[str, int] = {}
    return np.array([index.setdefault(v, len(index)) if v else -1 for v in values], dtype=np.int64)
