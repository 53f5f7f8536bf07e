"""The shared names (metasift.kinds) and the settled-label rules (metasift.labels): plain strings on every
boundary, one pure definition of a settled label used by the store and the review queue."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import orjson
from pydantic import BaseModel
from sqlalchemy import text

from metasift import labels
from metasift.config import Stage as ConfigStage
from metasift.kinds import DeciderKind, ExtractionStatus, Label, RouteName, Stage
from metasift.records import Record
from metasift.store import _screening
from metasift.store import review_queue as rq
from metasift.store.rows import DecisionRow
from tests.helpers import decision_row, seed_store


def test_kinds_carry_the_strings_the_store_and_json_already_use() -> None:
    assert [s.value for s in Stage] == list(typing.get_args(ConfigStage)) == ["title_abstract", "full_text"]
    assert [k.value for k in DeciderKind] == ["human", "model", "rule", "consensus"]
    assert [r.value for r in RouteName] == ["auto_exclude", "human", "likely_include"]
    assert [s.value for s in ExtractionStatus] == ["auto_verified", "needs_human", "verified", "rejected"]
    assert Label.INCLUDE == "include" and {"exclude": 1}[Label.EXCLUDE] == 1

    class Row(BaseModel):
        label: str
        stage: str

    row = Row(label=Label.MAYBE, stage=Stage.FULL_TEXT)
    expected = {"label": "maybe", "stage": "full_text"}
    assert json.loads(json.dumps({"label": Label.MAYBE, "stage": Stage.FULL_TEXT})) == expected
    assert orjson.loads(orjson.dumps({"label": Label.MAYBE, "stage": Stage.FULL_TEXT})) == expected
    assert row.model_dump() == expected and json.loads(row.model_dump_json()) == expected
    assert type(row.model_dump()["label"]) is str


def test_settled_labels_are_decided_by_pure_rules_the_store_and_queue_share() -> None:
    def d(i: int, kind: str, who: str, label: str) -> DecisionRow:
        return decision_row(i, decider_kind=kind, decider=who, label=label)

    assert labels.settle([d(1, "human", "a", "include"), d(2, "human", "b", "maybe")], humans_needed=2) == "include"
    assert labels.settle([d(1, "human", "a", "include"), d(2, "human", "b", "exclude")], humans_needed=2) is None
    assert labels.settle([d(2, "consensus", "c", "exclude"), d(1, "human", "a", "include")]) == "exclude"
    assert labels.settle([d(1, "rule", "rules", "exclude")]) == "exclude"
    assert labels.settle([d(1, "rule", "rules", "exclude")], automatic=False) is None
    assert labels.settle([], auto_excluded=True) == "exclude"
    assert labels.excluder([d(1, "rule", "rules", "exclude"), d(2, "consensus", "c", "exclude")]) == "human"
    assert not labels.is_open([("human", "a", "include")], "a", 2, False)
    assert labels.is_open([("human", "a", "include")], "b", 2, False)
    assert not labels.is_open([("human", "a", "include"), ("model", "m", "include")], "b", 2, True)
    # one definition: the store's and the queue's names are these functions
    assert _screening.settle is labels.settle and _screening.COUNTED is labels.COUNTED
    assert rq.excluder is labels.excluder and rq.as_include is labels.as_include


def test_decisions_are_stored_as_plain_strings_and_read_back_as_kinds(project: Path) -> None:
    store = seed_store(project, [Record(title="A trial", year=2020)])
    store.add_decision(record_id=1, stage=Stage.TITLE_ABSTRACT, decider_kind=DeciderKind.HUMAN, decider="alice",
                       label=Label.INCLUDE)
    with store.read() as conn:
        stored = conn.execute(text("select stage, decider_kind, label from decisions")).one()
    assert tuple(stored) == ("title_abstract", "human", "include") and type(stored[2]) is str
    row = store.decisions()[0]
    assert (row.stage, row.decider_kind, row.label) == (Stage.TITLE_ABSTRACT, DeciderKind.HUMAN, Label.INCLUDE)
    assert (row.stage, row.decider_kind, row.label) == ("title_abstract", "human", "include")
    assert json.loads(json.dumps(row.to_json(), default=str))["label"] == "include"
    assert json.dumps(store.final_labels(Stage.TITLE_ABSTRACT)) == '{"1": "include"}'
