"""The rows the store returns: frozen, slotted dataclasses, one per table or view shape.

Each type is built from SQLAlchemy rows in one place (its ``from_row`` / ``columns``), so a column's
Python type is decided once: ``int`` ids, ``str | None`` for nullable text, ``datetime`` for timestamps
(as the database driver gives them), the ``StrEnum``s of ``metasift.kinds`` for stages, decider kinds,
labels, routes and extraction statuses (they compare equal to, and serialise as, the stored strings),
and plain JSON values (lists and dicts) for the JSON columns.

Callers read fields as attributes. Where a dict is really wanted (JSON output, a DataFrame), convert at
that edge with ``to_json()`` (``dataclasses.asdict``), which keeps the column names as keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import Column, Table

from metasift.kinds import DeciderKind, ExtractionStatus, Label, RouteName, Stage
from metasift.store import schema as t

__all__ = ["RECORD_FIELDS", "Backup", "DecisionRow", "DedupOverride", "ExtractionRow", "FulltextRow", "ImportBatch", "LastBackup",
           "RankingRun", "RecordRow", "RecordTag", "RemovedBatch", "ReviewedRecord", "RobJudgement", "RouteRow",
           "SideDecision", "StoreCounts", "StudyField"]


E = TypeVar("E", bound=StrEnum)


def _members(kind: type[E]) -> dict[str, E]:
    return {m.value: m for m in kind}


_STAGES, _KINDS, _LABELS = _members(Stage), _members(DeciderKind), _members(Label)
_ROUTES, _XSTATUS = _members(RouteName), _members(ExtractionStatus)


def _member(table: dict[str, E], kind: type[E], value: str) -> E:
    """The member whose value is ``value`` (a dict lookup: this runs once per column per row)."""
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{value!r} is not a {kind.__name__} (one of {', '.join(table)})") from None


class _Row:
    """What every row type shares: its dict form, for the edges that need one (JSON output)."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """The row as a dict keyed by column name (for ``--json`` output and DataFrames)."""
        return asdict(self)  # type: ignore[call-overload]


def _columns(table: Table, kind: type) -> list[Column[Any]]:
    """``table``'s columns named by ``kind``'s fields, in field order (positional construction below)."""
    return [table.c[f.name] for f in fields(kind)]


class _TableRow(_Row):
    """A row type read from one table (``_table``): its columns are its fields, in field order, and it is
    built from them positionally unless it converts some (enums) in its own ``from_row``."""

    __slots__ = ()
    _table: ClassVar[Table]

    @classmethod
    def columns(cls) -> list[Column[Any]]:
        return _columns(cls._table, cls)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        return cls(*row)


# -- identification -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImportBatch(_TableRow):
    """One imported file (``import_batches``)."""

    _table = t.import_batches

    id: int
    path: str
    filename: str
    source: str  # the database, for PRISMA ("PubMed", "Scopus", ...)
    format: str
    layout: str | None
    encoding: str | None
    sha256: str
    n_records: int
    warnings: list[str] | None
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class RemovedBatch(_Row):
    """What ``Store.remove_batch`` removed: the batch as it was, its records and the clusters dissolved."""

    batch: ImportBatch
    records_removed: int
    clusters_dissolved: int


# The record fields ``Record`` has and the ``records`` table stores, in column order.
RECORD_FIELDS = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                 "issn", "keywords", "publication_type", "language", "url", "label")


@dataclass(frozen=True, slots=True)
class RecordRow(_Row):
    """A record with its duplicate cluster and the file it came from (``records`` joined with
    ``import_batches``); ``raw`` is left out."""

    id: int
    title: str | None
    abstract: str | None
    authors: list[str] | None
    year: int | None
    journal: str | None
    volume: str | None
    issue: str | None
    pages: str | None
    doi: str | None
    pmid: str | None
    issn: str | None
    keywords: list[str] | None
    publication_type: str | None
    language: str | None
    url: str | None
    label: int | None  # the label the export file carried (ASReview, Rayyan...), not a screening decision
    cluster_id: int | None
    is_primary: bool
    source_file: str  # import_batches.filename
    source: str  # import_batches.source

    @classmethod
    def columns(cls) -> list[Any]:
        r, b = t.records, t.import_batches
        return [r.c.id, *(r.c[f] for f in RECORD_FIELDS), r.c.cluster_id, r.c.is_primary,
                b.c.filename.label("source_file"), b.c.source]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        return cls(*row)


@dataclass(frozen=True, slots=True)
class DedupOverride(_TableRow):
    """A human's verdict on a borderline pair (``dedup_overrides``): ``duplicate`` or ``distinct``."""

    _table = t.dedup_overrides

    id: int
    record_a: int
    record_b: int
    verdict: str
    decider: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoreCounts(_Row):
    """Figures for ``metasift status`` and the PRISMA flow (``Store.counts``)."""

    files_imported: int
    records_imported: int
    records_by_source: dict[str, int]
    deduplicated: bool
    duplicates_removed: int
    records_unique: int
    decisions: dict[str, dict[str, int]]  # stage -> "decider_kind:label" -> active decisions
    fulltexts: int
    extractions: int


# -- screening ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecisionRow(_TableRow):
    """One decision (``decisions``): who decided what on which record at which stage, and why."""

    _table = t.decisions

    id: int
    record_id: int
    stage: Stage
    decider_kind: DeciderKind
    decider: str  # reviewer name, model name, or "rules"
    label: Label
    criteria: list[dict[str, Any]] | None  # per criterion: {id, verdict, quote, reason[, quote_found]}
    reasons: list[str] | None  # exclusion reasons (criterion ids)
    note: str | None
    confidence: float | None
    model: str | None
    prompt_hash: str | None
    settings: dict[str, Any] | None  # what the decider saw or used: blinding, queue, rules hash...
    created_at: datetime
    retracted_at: datetime | None  # undo: the row stays, marked retracted

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        (id_, record_id, stage, kind, decider, label, criteria, reasons, note, confidence, model, prompt_hash,
         settings, created_at, retracted_at) = row
        return cls(id_, record_id, _member(_STAGES, Stage, stage), _member(_KINDS, DeciderKind, kind), decider,
                   _member(_LABELS, Label, label), criteria, reasons, note, confidence, model, prompt_hash,
                   settings, created_at, retracted_at)


@dataclass(frozen=True, slots=True)
class SideDecision(_Row):
    """One side's decision on a record for the agreement audit (``review_queue.side_decisions``): a stored
    decision's, or the consensus side's settled label with the reasons behind it."""

    decider_kind: DeciderKind
    label: Label
    reasons: list[str] | None
    criteria: list[dict[str, Any]] | None

    @classmethod
    def of(cls, decision: DecisionRow) -> Self:
        return cls(decision.decider_kind, decision.label, decision.reasons, decision.criteria)


@dataclass(frozen=True, slots=True)
class RouteRow(_TableRow):
    """Where the routing policy sent a record (``routes``), why, and under which policy."""

    _table = t.routes

    id: int
    record_id: int
    stage: Stage
    route: RouteName
    reason: str | None
    policy: dict[str, Any] | None  # the thresholds in force
    created_at: datetime
    superseded_at: datetime | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        id_, record_id, stage, route, reason, policy, created_at, superseded_at = row
        return cls(id_, record_id, _member(_STAGES, Stage, stage), _member(_ROUTES, RouteName, route), reason,
                   policy, created_at, superseded_at)


@dataclass(frozen=True, slots=True)
class RankingRun(_Row):
    """One ranker run (its ``rank`` event): which ranker, how many labels it learned from, and, for a run
    made during a review session, the reviewer whose own decisions it learned from (None otherwise)."""

    run: int
    stage: Stage
    ranker: str
    trained_on: int
    reviewer: str | None
    at: datetime

    @classmethod
    def from_event(cls, actor: str, payload: dict[str, Any], at: datetime) -> Self:
        return cls(int(payload["run"]), _member(_STAGES, Stage, payload["stage"]), actor,
                   int(payload.get("trained_on") or 0), payload.get("reviewer"), at)


@dataclass(frozen=True, slots=True)
class ReviewedRecord(_Row):
    """One of a reviewer's own active decisions with the record's title, for browsing and revising them
    (``review_queue.decision_history``)."""

    decision: DecisionRow
    title: str | None


@dataclass(frozen=True, slots=True)
class RecordTag(_TableRow):
    """A free-text tag on a record (``record_tags``, not removed): "check full text", "pediatric"."""

    _table = t.record_tags

    id: int
    record_id: int
    tag: str
    tagged_by: str
    created_at: datetime


# -- full texts, extraction, risk of bias ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FulltextRow(_Row):
    """An attached full text (``fulltexts``). ``path`` is the file to open (a project-relative path joined
    to the project folder, wherever it is now); ``stored_path`` the value as stored."""

    id: int
    record_id: int
    path: str
    sha256: str
    n_pages: int | None
    status: str  # ok | no_text | encrypted | broken | not_retrieved (``extractor.pdf``'s statuses)
    message: str | None
    matched_by: str | None  # doi | title | manual
    attached_at: datetime
    stored_path: str

    @classmethod
    def columns(cls) -> list[Column[Any]]:
        """The stored columns (all fields but ``stored_path``, which ``from_row`` adds)."""
        return [t.fulltexts.c[f.name] for f in fields(cls) if f.name != "stored_path"]

    @classmethod
    def from_row(cls, row: Sequence[Any], file: str) -> Self:
        """``row`` read with ``columns()``; ``file`` the file its stored path names (``Store.fulltext_file``)."""
        id_, record_id, stored, sha256, n_pages, status, message, matched_by, attached_at = row
        return cls(id_, record_id, file, sha256, n_pages, status, message, matched_by, attached_at, stored)


@dataclass(frozen=True, slots=True)
class HandEntry:
    """A value a reviewer enters by hand, checked and ready to store (``Store.enter_extractions``): ``value``
    None says the paper reports none; ``quote`` is the line of ``page`` that prints it, or where it is."""

    record_id: int
    fulltext_id: int | None
    field: str
    value: Any
    arm: str | None
    measure: str | None
    timepoint: str | None
    page: int | None
    quote: str
    reason: str

    def describe(self) -> str:
        what = " · ".join(x for x in (self.arm, self.measure, self.timepoint, self.field) if x)
        if self.value is None:
            return f"record {self.record_id}: {what} {self.reason}"
        where = f"page {self.page}: " if self.page else ""
        return f'record {self.record_id}: {what} = {self.value:g} ({where}"{self.quote[:70]}")'


@dataclass(frozen=True, slots=True)
class ExtractionRow(_TableRow):
    """One extracted value (``extractions``) with where it was found and where it stands."""

    _table = t.extractions

    id: int
    record_id: int
    fulltext_id: int | None
    field: str  # e.g. "n_randomised", "outcome_mean"
    arm: str | None
    measure: str | None
    timepoint: str | None
    value: Any  # JSON: a number as extracted, or what a human entered
    page: int | None
    quote: str | None
    source: str  # rule | model | human
    extractor: str | None
    prompt_hash: str | None
    status: ExtractionStatus
    reason: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        values = list(row)
        values[_STATUS_AT] = _member(_XSTATUS, ExtractionStatus, values[_STATUS_AT])
        return cls(*values)


_STATUS_AT = [f.name for f in fields(ExtractionRow)].index("status")


@dataclass(frozen=True, slots=True)
class RobJudgement(_Row):
    """A study's current risk-of-bias judgement in one domain (``rob_assessments``)."""

    judgement: str  # low | some_concerns | high
    support: str | None
    assessor: str


# -- study-level fields -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StudyField(_TableRow):
    """A study's current value of one study-level field (``study_fields``, not superseded)."""

    _table = t.study_fields

    id: int
    record_id: int
    field: str
    value: str
    source: str  # FILE:LINE
    imported_by: str
    created_at: datetime


# -- backups ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Backup(_Row):
    """A backup ``Store.backup`` wrote and checked (also the payload of its ``backup`` event)."""

    path: str
    bytes: int
    integrity_check: str


@dataclass(frozen=True, slots=True)
class LastBackup(_Row):
    """The latest ``backup`` event: when, and what was written."""

    at: datetime
    backup: Backup

    def to_json(self) -> dict[str, Any]:
        """``at`` followed by the backup's fields, flat (as ``status --json`` shows it)."""
        return {"at": self.at, **self.backup.to_json()}
