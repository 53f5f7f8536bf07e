"""Simulated reviewers for the demo: they answer from the example's labels through the same
``ReviewSession`` the TUI drives, so blinding, dual screening and queue order are the real ones.

Alice and Bob screen independently (Bob misjudges one trial on purpose, so there is a conflict for
Carol, the arbiter, to resolve); the ranker is retrained every ``RERANK`` decisions, as it would be
between a reviewer's sessions. Recorded verification answers settle the values the checks doubted.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from metasift.config import load_protocol
from metasift.screener.ranker_stage import run_ranker_stage
from metasift.screener.review_session import ConflictSession, ReviewSession, ShownRecord, pick_reviewer
from metasift.store import Store

EXAMPLE = Path(__file__).resolve().parent / "social_media"
RERANK = 50
BOB_MISJUDGES = "T04"
REASON_BY_TYPE = {"protocol": "primary_report", "erratum": "primary_report", "review": "design_rct",
                  "article": "design_rct"}


def _key(title: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (title or "").lower()).strip()


def load_labels() -> dict[str, dict[str, str]]:
    with open(EXAMPLE / "labels.csv", encoding="utf-8") as fh:
        return {_key(row["title"]): row for row in csv.DictReader(fh)}


def screen_stage(project: Path, stage: str) -> dict[str, int]:
    """Alice and Bob decide every record the queue gives them; Carol resolves their conflicts."""
    protocol = load_protocol(project)
    store = Store.open(project)
    labels = load_labels()
    column = "include_title_abstract" if stage == "title_abstract" else "include_full_text"
    decided = {"alice": 0, "bob": 0}
    for reviewer in ("alice", "bob"):
        while True:
            session = ReviewSession(store, protocol, reviewer, stage)
            batch = 0
            while (rid := session.current_id()) is not None and batch < RERANK:
                truth = labels[_key(_title(session.record(rid)))]
                include = truth[column] == "1"
                if reviewer == "bob" and truth["key"] == BOB_MISJUDGES and stage == "title_abstract":
                    include = False
                reasons = None if include else [_reason(truth, stage, store, rid)]
                session.decide("include" if include else "exclude", reasons)
                batch += 1
            decided[reviewer] += batch
            if stage == "title_abstract":
                run_ranker_stage(store, protocol)
            if batch < RERANK:
                break
    arbiter = pick_reviewer(protocol, "carol", arbiter=True)
    conflicts = ConflictSession(store, protocol, arbiter, stage)
    resolved = 0
    while (item := conflicts.current()) is not None:
        truth = labels[_key(_title(conflicts.record(item.record_id)))]
        include = truth[column] == "1"
        conflicts.resolve("include" if include else "exclude", None, "consensus meeting")
        resolved += 1
    store.close()
    return {**decided, "conflicts_resolved": resolved}


def _reason(truth: dict[str, str], stage: str, store: Store, rid: int) -> str:
    if stage == "title_abstract":
        return REASON_BY_TYPE.get(truth["publication_type"], "design_rct")
    rules = [d for d in store.decisions("full_text") if d.record_id == rid and d.decider_kind == "rule"]
    return (rules[-1].reasons or ["delivered_by_non_researchers"])[0] if rules else "delivered_by_non_researchers"


def _title(shown: ShownRecord) -> str | None:
    """The title a reviewer sees (how the simulated reviewers look up the truth)."""
    return shown.record.title if shown.record else None


def answer_verifications(project: Path, reviewer: str = "alice") -> int:
    """Settle every value the checks doubted with the recorded answer (the true number from outcomes.csv)."""
    with open(EXAMPLE / "verify_answers.csv", encoding="utf-8") as fh:
        answers = {(r["doi"], r["field"], r["arm"], r["measure"]): float(r["value"]) for r in csv.DictReader(fh)}
    store = Store.open(project)
    dois = {r.id: r.doi for r in store.records_table()}
    settled = 0
    for row in store.extractions(status=["needs_human"]):
        key = (dois.get(row.record_id), row.field, row.arm, row.measure)
        if key in answers:
            store.review_extraction(row.id, status="verified", actor=reviewer, value=answers[key],
                                    reason="checked against the PDF")
        else:
            store.review_extraction(row.id, status="verified", actor=reviewer, reason="checked against the PDF")
        settled += 1
    store.close()
    return settled
