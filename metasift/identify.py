"""PRISMA "identification": import search results into the store and remove duplicates.

Library functions used by the CLI (``metasift import``, ``metasift dedup``) and by the demo;
parsing lives in ``metasift.importers`` and matching in ``metasift.dedup``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from metasift.store import Store
from metasift.store.repo import AlreadyImported
from metasift.store.rows import DedupOverride, ImportBatch

SOURCE_NAMES = {
    "pubmed": "PubMed", "scopus": "Scopus", "wos": "Web of Science", "embase": "Embase",
    "psycinfo": "PsycINFO", "cinahl": "CINAHL", "cochrane": "Cochrane Library", "zotero": "Zotero",
    "endnote": "EndNote", "mendeley": "Mendeley", "rayyan": "Rayyan", "covidence": "Covidence",
    "asreview": "ASReview", "eric": "ERIC", "ovid": "Ovid", "ebsco": "EBSCOhost",
}


class ImportOutcome(BaseModel):
    path: str
    status: str  # "imported" | "skipped"
    source: str
    format: str | None = None
    layout: str | None = None
    encoding: str | None = None
    n_records: int = 0
    batch_id: int | None = None
    warnings: list[str] = []
    skipped_entries: list[str] = []  # with skip_bad: each entry left out, as "FILE:LINE: what is wrong"
    message: str = ""


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during one file's import. ``batch_id`` is None when the file's transaction was rolled back
    (nothing of it is in the store), else the batch it was committed as just before the interrupt landed."""

    def __init__(self, path: Path, batch_id: int | None) -> None:
        self.path, self.batch_id = path, batch_id
        super().__init__(str(path))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_name(layout: str | None, path: Path, given: str | None) -> str:
    """The database a file came from, for PRISMA counts: ``--source``, else the recognised exporter."""
    if given:
        return given
    if layout and layout in SOURCE_NAMES:
        return SOURCE_NAMES[layout]
    return path.stem


def import_file(store: Store, path: Path, *, source: str | None = None, fmt: str | None = None,
                encoding: str | None = None, skip_bad: bool = False,
                actor: str = "metasift") -> ImportOutcome:
    """Parse ``path`` completely, then store it in one transaction; skip a file already imported, also when
    another process imports the same file at the same moment.

    ``encoding`` and ``skip_bad`` go to ``read_file``; entries left out with ``skip_bad`` are returned in
    ``skipped_entries`` and kept with the batch's warnings. Raises ``ImportFormatError`` (store untouched)
    when the file cannot be read, and ``ImportInterrupted`` on Ctrl-C, saying whether the file got in.
    """
    from metasift.importers import read_file

    path = Path(path)
    sha: str | None = None
    try:
        sha = file_sha256(path)
        seen = store.batch_by_hash(sha)
        if seen:
            return _skipped(path, seen)
        result = read_file(path, fmt, encoding=encoding, skip_bad=skip_bad)
        src = source_name(result.layout, path, source)
        warnings = [*result.warnings, *(f"skipped {entry}" for entry in result.skipped)]
        batch_id = store.add_import(path=path.resolve(), sha256=sha, source=src, fmt=result.format,
                                    layout=result.layout, encoding=result.encoding, warnings=warnings,
                                    records=result.records, actor=actor)
    except AlreadyImported as exc:  # another process committed this file after our check above
        return _skipped(path, exc.batch)
    except KeyboardInterrupt as exc:
        raise ImportInterrupted(path, _committed_batch(store, sha) if sha else None) from exc
    return ImportOutcome(path=str(path), status="imported", source=src, format=result.format,
                         layout=result.layout, encoding=result.encoding, n_records=len(result.records),
                         batch_id=batch_id, warnings=result.warnings, skipped_entries=result.skipped)


def _skipped(path: Path, seen: ImportBatch) -> ImportOutcome:
    return ImportOutcome(path=str(path), status="skipped", source=seen.source, format=seen.format,
                         layout=seen.layout, encoding=seen.encoding, n_records=seen.n_records,
                         batch_id=seen.id,
                         message=f"already imported on {seen.imported_at:%Y-%m-%d %H:%M} "
                                 f"as batch {seen.id} ({seen.filename}); to import it again, "
                                 f"e.g. with another --encoding, first `metasift import --undo {seen.id}`")


def _committed_batch(store: Store, sha: str) -> int | None:
    """After Ctrl-C: the batch id if the file's commit finished before the interrupt landed, else None.

    The interrupt is raised at the next Python instruction, which may come after SQLite's commit."""
    seen = store.batch_by_hash(sha)
    return seen.id if seen else None


class DedupSummary(BaseModel):
    run: int
    records: int
    clusters: int
    duplicates_removed: int
    by_reason: dict[str, int]
    borderline: list[dict[str, Any]]


class BatchRemoval(BaseModel):
    batch_id: int
    path: str
    source: str
    n_records: int
    clusters_dissolved: int
    dedup: DedupSummary | None = None  # the re-run, when dedup had run before


def remove_batch(store: Store, batch_id: int, *, actor: str) -> BatchRemoval:
    """Remove an imported file and its records (refused while decisions or other work hang off them);
    when the removal dissolved duplicate clusters, re-run dedup so every record is clustered again."""
    removed = store.remove_batch(batch_id, actor=actor)
    summary = run_dedup(store, actor=actor) if removed.clusters_dissolved else None
    return BatchRemoval(batch_id=batch_id, path=removed.batch.path, source=removed.batch.source,
                        n_records=removed.records_removed, clusters_dissolved=removed.clusters_dissolved,
                        dedup=summary)


def run_dedup(store: Store, *, actor: str = "metasift") -> DedupSummary:
    """Cluster all records, honour human overrides, pick primaries, and replace the stored clusters."""
    from metasift.dedup import find_duplicates

    ids, records = store.load_records()
    result = find_duplicates(records)
    overrides = store.overrides()
    clusters, primary, links = _apply_overrides(ids, records, result, overrides)
    run = store.replace_clusters(ids, clusters, primary, links, actor=actor)
    by_reason: dict[str, int] = {}
    for link in links:
        key = link["reason"].split(":")[0]
        by_reason[key] = by_reason.get(key, 0) + 1
    decided = {tuple(sorted((o.record_a, o.record_b))) for o in overrides}
    borderline = [{"a": ids[p.a], "b": ids[p.b], "score": p.score, "reason": p.reason,
                   "title_a": records[p.a].title, "title_b": records[p.b].title}
                  for p in result.borderline if tuple(sorted((ids[p.a], ids[p.b]))) not in decided]
    return DedupSummary(run=run, records=len(ids), clusters=len(clusters),
                        duplicates_removed=sum(len(c) - 1 for c in clusters), by_reason=by_reason,
                        borderline=borderline)


def _apply_overrides(ids: Sequence[int], records: Sequence[Any], result: Any,
                     overrides: Sequence[DedupOverride]) -> tuple[list[list[int]], list[int], list[dict]]:
    """Merge pairs a human called duplicates and split pairs a human called distinct."""
    from metasift.dedup.engine import primaries

    links = [{"a": p.a, "b": p.b, "score": p.score, "reason": p.reason} for p in result.pairs]
    if not overrides:
        return [list(c) for c in result.clusters], list(result.primary), links
    index = {rid: i for i, rid in enumerate(ids)}
    distinct = {(index[o.record_a], index[o.record_b]) for o in overrides
                if o.verdict == "distinct" and o.record_a in index and o.record_b in index}
    distinct |= {(b, a) for a, b in distinct}
    links = [link for link in links if (link["a"], link["b"]) not in distinct]
    links += [{"a": index[o.record_a], "b": index[o.record_b], "score": 1.0, "reason": "human"}
              for o in overrides if o.verdict == "duplicate" and o.record_a in index
              and o.record_b in index]
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in links:
        parent[find(link["a"])] = find(link["b"])
    groups: dict[int, list[int]] = {}
    for i in range(len(ids)):
        groups.setdefault(find(i), []).append(i)
    clusters = sorted(groups.values(), key=lambda members: members[0])
    return clusters, primaries(records, clusters), links
