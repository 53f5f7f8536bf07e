"""The repository layer: every read and write of the store goes through ``Store``.

Each public write runs in one transaction together with its ``events`` row, so a crash or Ctrl-C
leaves either all of a change or none of it. The methods live in small parts, one per entity group:
``_records`` (imports, records, clusters, counts), ``_screening`` (decisions, rankings, routes,
LLM calls) and ``_fulltext`` (full texts, extractions), ``_rob`` (risk of bias) and ``_studies`` (study-level fields).
"""

from __future__ import annotations

from metasift.store._base import StoreBase, now
from metasift.store._fulltext import FulltextRepo
from metasift.store._records import RECORD_FIELDS, AlreadyImported, RecordsRepo
from metasift.store._rob import RobRepo
from metasift.store._screening import ScreeningRepo
from metasift.store._studies import StudiesRepo

__all__ = ["RECORD_FIELDS", "AlreadyImported", "Store", "now"]


class Store(RecordsRepo, ScreeningRepo, FulltextRepo, RobRepo, StudiesRepo, StoreBase):
    """A review project's store (SQLite file in the project, or the URL set in review.toml)."""
