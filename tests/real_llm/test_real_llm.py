"""``metasift screen`` against a real llama.cpp server with a tiny model (SmolLM2-135M-Instruct): the wiring
only. The model's decisions are not judged; what must hold is that every record is either a validated model
decision or an error, every exchange is logged with the template hash and the model, and the
structured-output fallback settles on a method llama.cpp accepts. Run with ``make test-llm``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

SEARCH = Path(__file__).resolve().parents[2] / "examples" / "social_media" / "search"
CRITERIA = ("design_rct", "social_media", "outcome_mental_health", "population_general")  # the model's criteria
METHOD_ORDER = ("json_schema", "json_object", "tools", "text")  # the "auto" fallback order
# A 135M model on 2 cores: one request at a time (llama.cpp serves them one by one anyway), short answers.
LLM_SETTINGS = {"max_tokens": "400", "concurrency": "1", "timeout": "180.0", "max_retries": "1"}


def configure(project: Path, **llm: str) -> None:
    """Set keys of ``[llm]`` in review.toml (replacing any already there); ``max_cost`` goes: no local price."""
    toml = project / "review.toml"
    head, sep, tail = toml.read_text().partition("[llm]\n")
    assert sep, "review.toml has no [llm] table"
    settings = {**LLM_SETTINGS, **llm}
    kept = [line for line in tail.splitlines(keepends=True)
            if line.split("=")[0].strip() not in {*settings, "max_cost"}]
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    toml.write_text(head + sep + lines + "".join(kept))


@pytest.fixture
def small_project(project: Path, cli) -> Path:
    """A review project with the PubMed search imported and deduplicated."""
    assert cli("import", SEARCH / "pubmed.nbib", "--project", project).exit_code == 0
    assert cli("dedup", "--project", project).exit_code == 0
    return project


def screen(cli, project: Path, server, limit: int) -> dict:
    """Run ``metasift screen --limit N --json`` against the server; the parsed JSON result."""
    res = cli("screen", "--base-url", server.base_url, "--model", server.model, "--limit", limit,
              "--project", project, "--json")
    assert res.exit_code == 0, f"{res.stderr}\n--- server log ---\n{server.log_tail()}"
    return res.json()


def exchanges(project: Path) -> list[dict]:
    """Every ``llm_calls`` row, oldest first."""
    db = sqlite3.connect(project / "metasift.db")
    db.row_factory = sqlite3.Row
    return [dict(r) for r in db.execute("select * from llm_calls order by id")]


def check_wiring(project: Path, result: dict, model: str, limit: int) -> dict:
    """The invariants of an LLM screening run, whatever the model answered; returns what the model did."""
    from metasift.llm.structured import validate_answer
    from metasift.screener.llm_stage import TEMPLATE
    from metasift.screener.schema import screening_model
    from metasift.templates import load_template

    llm = result["llm"]
    assert llm is not None and llm["model"] == model
    assert llm["todo"] == limit and llm["drafted"] + llm["errors"] == limit, llm
    template_hash = load_template(TEMPLATE).hash
    assert llm["prompt_hash"] == template_hash

    calls = exchanges(project)
    assert calls, "no exchange was logged"
    for c in calls:
        assert c["template_hash"] == template_hash and c["model_requested"] == model, c
        assert c["template"] == TEMPLATE and c["cached"] == 0 and c["record_id"] is not None
    answered = [c for c in calls if c["model_served"] is not None]  # HTTP 200 chat completions
    assert answered, "the server never answered: " + "; ".join(str(c["error"])[:300] for c in calls[:2])
    # Each answer's verdict in the log agrees with validating its raw text here, independently.
    answer_model = screening_model(CRITERIA)
    for c in answered:
        _, value, error = validate_answer(c["response"] or "", answer_model)
        assert (value is not None) == (c["error"] is None), (c["response"], c["error"], error)

    db = sqlite3.connect(project / "metasift.db")
    db.row_factory = sqlite3.Row
    decisions = db.execute("select * from decisions where stage='title_abstract' and decider_kind != 'rule'"
                           ).fetchall()
    errors = db.execute("select entity_id, payload from events where action='model_error'").fetchall()
    assert len(decisions) == llm["drafted"] and len(errors) == llm["errors"]
    decided, failed = {d["record_id"] for d in decisions}, {e["entity_id"] for e in errors}
    assert not decided & failed and len(decided | failed) == limit
    for d in decisions:  # a decision is a validated answer, never raw text the model happened to emit
        assert d["decider_kind"] == "model" and d["decider"] == model and d["prompt_hash"] == template_hash
        answer = answer_model.model_validate({"criteria": json.loads(d["criteria"]), "decision": d["label"],
                                              "confidence": d["confidence"]})
        assert sorted(answer.verdicts()) == sorted(CRITERIA)
        ok = [c for c in answered if c["record_id"] == d["record_id"] and c["error"] is None]
        assert ok and d["model"] == ok[-1]["model_served"], f"decision for record {d['record_id']} without an answer"
    for e in errors:  # an error names its cause, and none of that record's answers validated
        assert json.loads(e["payload"])["error"]
        assert all(c["error"] for c in calls if c["record_id"] == e["entity_id"])
    return {"drafted": llm["drafted"], "errors": llm["errors"], "exchanges": len(calls),
            "methods_answered": sorted({c["method"] for c in answered}, key=METHOD_ORDER.index),
            "labels": sorted(d["label"] for d in decisions),
            "error_samples": [json.loads(e["payload"])["error"][:160] for e in errors[:2]]}


def test_screen_auto_method(small_project: Path, cli, llama_server) -> None:
    """structured_method = auto, --limit 5: json_schema first, falling back past what llama.cpp refuses."""
    configure(small_project, structured_method='"auto"')
    result = screen(cli, small_project, llama_server, 5)
    calls = exchanges(small_project)
    stuck = [c for c in calls if c["method"] == "json_schema" and (c["error"] or "").startswith("HTTP 500")]
    assert any(c["method"] != "json_schema" for c in calls), (
        f"auto never fell back from json_schema: llama-cpp-python rejects that response_format with HTTP 500 "
        f"({len(stuck)} times), which metasift.llm.structured.refuses() does not read as a refusal: "
        f"{(stuck or calls)[0]['error'][:300]}")
    out = check_wiring(small_project, result, llama_server.model, 5)
    # auto settles on one method: it never asks with a method after one that answered, and a refusal is
    # remembered, not met again per record (only by the records already in flight: 2 x concurrency workers).
    settled = METHOD_ORDER.index(out["methods_answered"][0])
    assert len(out["methods_answered"]) == 1
    refused = [c["method"] for c in calls if c["model_served"] is None]
    assert all(METHOD_ORDER.index(m) < settled for m in refused), refused
    assert all(refused.count(m) <= 2 for m in refused), f"a refused method was tried again: {refused}"
    print(f"\nauto: {out}; refused first: {refused}")


@pytest.mark.parametrize("method", ["tools", "text"])
def test_screen_named_method(small_project: Path, cli, llama_server, method: str) -> None:
    """A named method alone (tools: llama.cpp constrains the answer to the schema by grammar; text: the
    schema in the prompt only) on 2 records: whatever a tiny model writes is a decision or an error."""
    configure(small_project, structured_method=f'"{method}"')
    out = check_wiring(small_project, screen(cli, small_project, llama_server, 2), llama_server.model, 2)
    assert out["methods_answered"] == [method]
    print(f"\n{method}: {out}")
