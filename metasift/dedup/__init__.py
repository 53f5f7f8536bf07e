"""Duplicate detection for imported records: exact DOI/PMID, then blocked fuzzy matching with vetoes.

``find_duplicates(records)`` is pure: it takes ``Record`` objects and returns clusters of their
indices; the store and the ``metasift dedup`` command decide what to do with them.
"""

from metasift.dedup.engine import DEFAULT_BORDERLINE_MARGIN, DEFAULT_THRESHOLD, find_duplicates
from metasift.dedup.models import DedupResult, PairScore

__all__ = ["DEFAULT_BORDERLINE_MARGIN", "DEFAULT_THRESHOLD", "DedupResult", "PairScore", "find_duplicates"]
