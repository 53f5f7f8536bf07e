"""The names the store, the CLI and JSON output share: stages, decider kinds, labels, routes, extraction statuses.

Each is a ``StrEnum`` whose values are the strings already stored and printed, so a member compares equal to
its string (``Label.INCLUDE == "include"``), serialises as that plain string (json, orjson, pydantic) and
rows written before these enums existed read back unchanged. Code names the member; the store keeps text.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """A screening stage: titles and abstracts first, then full texts."""

    TITLE_ABSTRACT = "title_abstract"
    FULL_TEXT = "full_text"


class DeciderKind(StrEnum):
    """Who wrote a decision (``decisions.decider_kind``)."""

    HUMAN = "human"
    MODEL = "model"
    RULE = "rule"
    CONSENSUS = "consensus"


class Label(StrEnum):
    """A decision's label. Include, exclude and maybe are *counted* (see ``metasift.labels``); unsure and
    error are a model's non-answers; pass and flag are a rule's "nothing to exclude" and "a human decides"."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    MAYBE = "maybe"
    UNSURE = "unsure"
    ERROR = "error"
    PASS = "pass"
    FLAG = "flag"


class RouteName(StrEnum):
    """Where the routing policy sends a record (``routes.route``)."""

    AUTO_EXCLUDE = "auto_exclude"
    HUMAN = "human"
    LIKELY_INCLUDE = "likely_include"


class ExtractionStatus(StrEnum):
    """Where an extracted value stands (``extractions.status``)."""

    AUTO_VERIFIED = "auto_verified"
    NEEDS_HUMAN = "needs_human"
    VERIFIED = "verified"
    REJECTED = "rejected"
