"""Criterion rules for the screening stages: the kernel's rule interpreter (``metasift.rules``) and the
publication-type classifier the title/abstract rules read.
"""

from __future__ import annotations

from metasift.rules import Rule, Verdict, check_rule
from metasift.screener.pubtype import classify_publication_type

__all__ = ["Rule", "Verdict", "check_rule", "classify_publication_type"]
