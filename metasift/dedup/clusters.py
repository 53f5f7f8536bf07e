"""Union-find over record indices that refuses merges its members contradict (cannot-link).

Each cluster keeps a summary of what its members assert (DOIs, PMIDs, year range, item kinds,
venues, journals, volumes, first pages' digits); two clusters are joined only when no member of one
contradicts a member of the other, so a chain A~B~C cannot glue an erratum to its article or two
different DOIs together through a record that lacks the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metasift.dedup.compare import Features
from metasift.dedup.normalise import journal_match, page_number


@dataclass(slots=True)
class _Summary:
    dois: set[str] = field(default_factory=set)
    pmids: set[str] = field(default_factory=set)
    ymin: int | None = None
    ymax: int | None = None
    kinds: set[str] = field(default_factory=set)
    venues: set[str] = field(default_factory=set)
    journals: set[tuple[str, ...]] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)

    def absorb(self, other: _Summary) -> None:
        for name in ("dois", "pmids", "kinds", "venues", "journals", "volumes", "pages"):
            getattr(self, name).update(getattr(other, name))
        if other.ymin is not None and other.ymax is not None:
            self.ymin = other.ymin if self.ymin is None else min(self.ymin, other.ymin)
            self.ymax = other.ymax if self.ymax is None else max(self.ymax, other.ymax)


def _years_apart(x: _Summary, y: _Summary) -> bool:
    """Some year in one cluster is more than one year from some year in the other."""
    if x.ymin is None or x.ymax is None or y.ymin is None or y.ymax is None:
        return False
    return max(x.ymax - y.ymin, y.ymax - x.ymin) > 1


def _differs(x: set, y: set) -> bool:
    """Some value in ``x`` differs from some value in ``y`` (both non-empty)."""
    return bool(x) and bool(y) and len(x | y) > 1


class ClusterSet:
    """Disjoint sets of record indices with per-cluster evidence summaries."""

    def __init__(self, feats: Sequence[Features]) -> None:
        self.feats = feats
        self.parent = list(range(len(feats)))
        self._summary: dict[int, _Summary] = {}  # built on first use: most records are never compared

    def summary(self, root: int) -> _Summary:
        found = self._summary.get(root)
        if found is None:
            f = self.feats[root]
            found = self._summary[root] = _Summary(
                dois={f.doi} if f.doi else set(), pmids={f.pmid} if f.pmid else set(),
                ymin=f.year, ymax=f.year, kinds={f.kind} if f.full else set(),
                venues={f.venue} if f.venue else set(), journals={f.journal} if f.journal else set(),
                volumes={f.volume} if f.volume else set(), pages={page_number(f.page)} if f.page else set())
        return found

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def conflict(self, a: int, b: int, *, identifiers_only: bool = False) -> str | None:
        """Why the clusters of ``a`` and ``b`` cannot be one work, or None (also None if already one)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        x, y = self.summary(ra), self.summary(rb)
        if _differs(x.dois, y.dois):
            return "cluster has another DOI"
        if _differs(x.pmids, y.pmids):
            return "cluster has another PMID"
        if identifiers_only:
            return None
        if _years_apart(x, y):
            return "cluster spans years more than one apart"
        if _differs(x.kinds, y.kinds):
            return "cluster mixes item kinds"
        if {"conference", "article"} <= (x.venues | y.venues) and x.venues != y.venues:
            return "cluster mixes conference abstract and article"
        if _differs(x.volumes, y.volumes):
            return "cluster has another volume"
        if _differs(x.pages, y.pages):
            return "cluster has other pages"
        if any(journal_match(j, k) == "different" for j in x.journals for k in y.journals):
            return "cluster has another journal"
        return None

    def union(self, a: int, b: int) -> bool:
        """Join the clusters of ``a`` and ``b``; False if they were already one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if ra > rb:
            ra, rb = rb, ra
        merged = self.summary(ra)
        merged.absorb(self.summary(rb))
        del self._summary[rb]
        self.parent[rb] = ra
        return True

    def groups(self) -> list[list[int]]:
        """Clusters as sorted index lists, ordered by their first index."""
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return sorted(out.values(), key=lambda members: members[0])
