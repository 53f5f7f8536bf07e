"""The settled-label and counting rules of screening, as pure functions over decision rows (no I/O).

The store (``Store.final_labels``) and the review queue (``review_queue``) both decide with these, so what
"settled", "counted" and "open" mean is written once:

- a *counted* decision is an active ``include``/``exclude``/``maybe`` by a human, or by the model when the
  protocol counts it as a reviewer (at most one model decision counts per record);
- a consensus decision settles a record outright;
- counted decisions settle it when there are enough of them and they agree (``maybe`` counts as include);
- with no human decision, a rule exclusion or an ``auto_exclude`` route settles it as exclude.

Decision rows are the store's ``DecisionRow``s (``id``, ``decider_kind``, ``decider`` and ``label`` are read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from metasift.kinds import DeciderKind, Label

if TYPE_CHECKING:  # the store imports these rules: its row type is named for annotations only
    from metasift.store.rows import DecisionRow

COUNTED: tuple[Label, ...] = (Label.INCLUDE, Label.EXCLUDE, Label.MAYBE)
_AS_INCLUDE: dict[str, bool] = {Label.INCLUDE: True, Label.MAYBE: True, Label.EXCLUDE: False}


def as_include(label: str | None) -> bool | None:
    """include/maybe → True, exclude → False, anything else (unsure, error, pass, flag) → None."""
    return _AS_INCLUDE.get(label or "")


def settle(decisions: Sequence[DecisionRow], *, humans_needed: int = 1, model_counts: bool = False,
           automatic: bool = True, auto_excluded: bool = False) -> Label | None:
    """The settled label of one record from its active decisions (any order); None if unsettled."""
    ordered = sorted(decisions, key=lambda d: d.id)
    consensus = [d for d in ordered if d.decider_kind == DeciderKind.CONSENSUS]
    if consensus:
        return consensus[-1].label
    latest: dict[tuple[str, str], str] = {}
    rule_excluded = False
    for d in ordered:
        if d.decider_kind == DeciderKind.HUMAN and d.label in COUNTED:
            latest[(DeciderKind.HUMAN, d.decider)] = d.label
        elif d.decider_kind == DeciderKind.MODEL and model_counts and d.label in COUNTED:
            latest[(DeciderKind.MODEL, "")] = d.label
        elif d.decider_kind == DeciderKind.RULE:
            rule_excluded = d.label == Label.EXCLUDE  # the latest rules version speaks
    humans = any(kind == DeciderKind.HUMAN for kind, _ in latest)
    if len(latest) >= humans_needed and len({as_include(v) for v in latest.values()}) == 1:
        return agreed_label(latest.values())
    if automatic and not humans and (rule_excluded or auto_excluded):
        return Label.EXCLUDE
    return None


def agreed_label(labels: Iterable[str]) -> Label:
    """The label agreeing counted decisions settle on: maybe only when all said maybe, exclude when all
    excluded, else include (include and maybe agree)."""
    values = set(labels)
    if values == {Label.MAYBE}:
        return Label.MAYBE
    return Label.EXCLUDE if values == {Label.EXCLUDE} else Label.INCLUDE


def is_open(rows: Iterable[tuple[str, str, str]], reviewer: str, needed: int, model_counts: bool, *,
            auto_excluded: bool = False, include_auto: bool = False) -> bool:
    """Whether a record with these active (decider_kind, decider, label) rows, in id order, still needs
    ``reviewer``: no consensus, not decided by them, fewer counted decisions than ``needed``, and not
    settled automatically (unless ``include_auto``)."""
    humans: set[str] = set()
    model = rule_excluded = False
    for kind, decider, label in rows:
        if kind == DeciderKind.CONSENSUS:
            return False
        if kind == DeciderKind.HUMAN and label in COUNTED:
            humans.add(decider)
        elif kind == DeciderKind.MODEL and label in COUNTED:
            model = True
        elif kind == DeciderKind.RULE:  # rows come in id order: the latest rules version speaks
            rule_excluded = label == Label.EXCLUDE
    if reviewer in humans:
        return False
    if (rule_excluded or auto_excluded) and not humans and not include_auto:
        return False
    return len(humans) + (model and model_counts) < needed


def excluder(decisions: Iterable[DecisionRow]) -> DeciderKind:
    """Who excluded a record settled as exclude: human (or consensus) first, else a rule, else the model."""
    kinds = {d.decider_kind for d in decisions if d.label == Label.EXCLUDE}
    if kinds & {DeciderKind.HUMAN, DeciderKind.CONSENSUS}:
        return DeciderKind.HUMAN
    return DeciderKind.RULE if DeciderKind.RULE in kinds else DeciderKind.MODEL


HUMAN_KINDS: tuple[DeciderKind, ...] = (DeciderKind.HUMAN, DeciderKind.CONSENSUS)  # a person decided
