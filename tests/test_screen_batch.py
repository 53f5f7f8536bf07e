"""``metasift screen --batch`` (issue #15) against the scripted server's Batch API on 127.0.0.1: submit, poll,
collect, the same decisions and cache as the synchronous path, resumable, half price, ``--max-cost`` first."""

# ruff: noqa: F811  (the llm_server and screened_project fixtures are imported, then named as test arguments)
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.llm_server import Reply, ScriptedLLMServer, llm_server  # noqa: F401  (fixture)
from tests.test_screen_cli import SEARCH, answer_for, screened_project  # noqa: F401  (fixture)

MODEL = "scripted-model"
PRICE = {"input": 2.0, "output": 8.0}  # per 1M tokens


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def screen(cli: Any, server: ScriptedLLMServer, project: Path, *extra: str) -> Any:
    """``metasift screen --base-url SERVER --model scripted-model ... --json``."""
    return cli("screen", "--base-url", server.base_url, "--model", MODEL, "--project", project, "--json", *extra)


def query(project: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(project / "metasift.db") as db:
        return db.execute(sql, args).fetchall()


def one(project: Path, sql: str, *args: Any) -> Any:
    return query(project, sql, *args)[0][0]


def model_decisions(project: Path) -> dict[str, tuple[Any, ...]]:
    """Each record's model decision by title: label, per-criterion verdicts with quote_found, reasons, confidence."""
    rows = query(project, "select r.title, d.label, d.criteria, d.reasons, d.confidence from decisions d "
                          "join records r on r.id = d.record_id where d.decider_kind = 'model'")
    return {title: (label, json.loads(criteria), json.loads(reasons), confidence)
            for title, label, criteria, reasons, confidence in rows}


def uploads(server: ScriptedLLMServer) -> int:
    return len(server.requests_to("POST", r"/files$"))


def add_record(project: Path, title: str, abstract: str) -> None:
    from metasift.records import Record
    from metasift.store import Store

    store = Store.open(project)
    store.add_import(path=project / f"{title[:8]}.ris", sha256=str(abs(hash(title))).rjust(64, "0"),
                     source="Hand search", fmt="ris", layout=None, encoding="utf-8", warnings=[],
                     records=[Record(title=title, year=2020, abstract=abstract)])
    store.close()


def set_price(project: Path) -> None:
    toml = project / "review.toml"
    toml.write_text(toml.read_text() + f'\n[llm.prices."{MODEL}"]\ninput = {PRICE["input"]}\n'
                                       f'output = {PRICE["output"]}\n')


def test_submit_then_collect_gives_the_same_decisions_as_the_synchronous_path(
        screened_project: Path, cli, llm_server: ScriptedLLMServer, tmp_path: Path) -> None:
    batch_project = screened_project
    sync_project = tmp_path / "sync"
    from metasift.cli import app

    assert CliRunner().invoke(app, ["init", str(sync_project)]).exit_code == 0
    for args in (("confirm", "--as", "tester"), ("import", *(SEARCH / f for f in ("pubmed.nbib", "scopus.csv",
                                                                                   "psycinfo.ris"))), ("dedup",)):
        assert cli(*args, "--project", sync_project).exit_code == 0
    toml = sync_project / "review.toml"
    toml.write_text(toml.read_text().replace("max_cost = 20.0\n", ""))
    assert screen(cli, llm_server, sync_project).exit_code == 0
    chat_before = len(llm_server.chat_requests)

    submitted = screen(cli, llm_server, batch_project, "--batch")
    assert submitted.exit_code == 0, submitted.stderr
    out = submitted.json()["batch"]
    assert len(out["submitted"]) == 1 and out["records"] > 0 and out["llm"] is None
    assert "collect the answers with `metasift screen --batch`" in " ".join(submitted.stderr.split())
    event = json.loads(one(batch_project, "select payload from events where action = 'llm_batch_submitted'"))
    assert event["batch_id"] == out["submitted"][0] and event["model"] == MODEL and len(event["prompt_hash"]) == 64
    assert len(event["record_ids"]) == out["records"] and event["file_id"].startswith("file-")
    assert one(batch_project, "select count(*) from decisions where decider_kind = 'model'") == 0

    waiting = screen(cli, llm_server, batch_project, "--batch")  # validating -> in_progress
    assert waiting.exit_code == 0 and "in_progress" in waiting.json()["batch"]["waiting"][0]
    collected = screen(cli, llm_server, batch_project, "--batch")  # -> completed: collected
    assert collected.exit_code == 0, collected.stderr
    got = collected.json()
    assert got["llm"]["drafted"] == out["records"] and got["llm"]["errors"] == 0 and got["routing"]["counts"]
    assert len(llm_server.chat_requests) == chat_before  # nothing went through the synchronous path
    assert model_decisions(batch_project) == model_decisions(sync_project)
    line = llm_server.batch_lines[0]
    assert line.response_format == "json_schema" and line.body["model"] == MODEL
    sync_sent = {r.last_user: r.body for r in llm_server.chat_requests}
    assert line.body == sync_sent[line.last_user]  # the same request body as the synchronous path sends
    rows = query(batch_project, "select options, attempt, cached, error from llm_calls")
    assert len(rows) == out["records"] and all(json.loads(o)["batch_id"] == event["batch_id"] for o, *_ in rows)
    assert one(batch_project, "select count(*) from events where action = 'llm_batch_collected'") == 1

    # the answers are in the same answer cache: the synchronous path reads them back without a request
    with sqlite3.connect(batch_project / "metasift.db") as db:
        db.execute("delete from decisions where decider_kind = 'model'")
    again = screen(cli, llm_server, batch_project)
    assert again.exit_code == 0 and again.json()["llm"]["drafted"] == out["records"]
    assert len(llm_server.chat_requests) == chat_before


def test_a_second_batch_run_while_one_is_open_does_not_resubmit(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    llm_server.batch_statuses = ["validating", "in_progress", "in_progress", "in_progress", "completed"]
    first = screen(cli, llm_server, screened_project, "--batch", "--limit", "10")
    assert first.exit_code == 0 and first.json()["batch"]["records"] == 10
    for _ in range(3):
        again = screen(cli, llm_server, screened_project, "--batch")
        assert again.exit_code == 0, again.stderr
        assert again.json()["batch"]["submitted"] == [] and len(again.json()["batch"]["waiting"]) == 1
    assert uploads(llm_server) == 1 and len(llm_server.requests_to("POST", r"/batches$")) == 1
    done = screen(cli, llm_server, screened_project, "--batch")
    assert done.json()["llm"]["drafted"] == 10 and uploads(llm_server) == 1
    assert "records still to draft: run `metasift screen --batch` again" in " ".join(done.stderr.split())
    following = screen(cli, llm_server, screened_project, "--batch")  # the next run submits the rest
    rest = following.json()["batch"]
    assert uploads(llm_server) == 2 and rest["records"] == done.json()["batch"]["remaining"]
    first_ids = set(json.loads(one(screened_project, "select payload from events where action = "
                                                     "'llm_batch_submitted' order by id limit 1"))["record_ids"])
    second = json.loads(one(screened_project, "select payload from events where action = 'llm_batch_submitted' "
                                              "order by id desc limit 1"))["record_ids"]
    assert not first_ids & set(second)


def test_collecting_a_batch_twice_writes_each_answer_once(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    llm_server.batch_statuses = ["validating", "completed"]
    assert screen(cli, llm_server, screened_project, "--batch", "--limit", "12").exit_code == 0
    assert screen(cli, llm_server, screened_project, "--batch").json()["llm"]["drafted"] == 12
    counts = [one(screened_project, f"select count(*) from {table}") for table in ("decisions", "llm_calls")]
    # a crash mid-collection: the last records' transaction and the closing event never happened
    with sqlite3.connect(screened_project / "metasift.db") as db:
        late = [r for (r,) in db.execute("select record_id from decisions where decider_kind = 'model' "
                                         "order by id desc limit 5")]
        marks = ",".join("?" * len(late))
        db.execute(f"delete from decisions where decider_kind = 'model' and record_id in ({marks})", late)
        db.execute(f"delete from llm_calls where record_id in ({marks})", late)
        db.execute("delete from events where action = 'llm_batch_collected'")
    resumed = screen(cli, llm_server, screened_project, "--batch")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.json()["llm"]["drafted"] == 5 and resumed.json()["llm"]["skipped"] == 7
    twice = screen(cli, llm_server, screened_project, "--batch")  # closed now: nothing open, nothing collected
    assert twice.exit_code == 0 and twice.json()["batch"]["collected"] == []
    assert [one(screened_project, f"select count(*) from {table}") for table in ("decisions", "llm_calls")] == counts
    assert query(screened_project, "select record_id from decisions where decider_kind = 'model' "
                                   "group by record_id having count(*) > 1") == []
    assert uploads(llm_server) == 2  # the closed batch is not resubmitted; the rest of the records went in a new one


def test_failed_and_invalid_lines_become_errors_that_a_later_run_retries(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    add_record(screened_project, "GARBAGE trial of WhatsApp support", "A randomized controlled trial.")
    add_record(screened_project, "FAILING trial of peer chat", "A randomized controlled trial.")

    def flaky(request: Any) -> Any:
        if "FAILING" in request.last_user:
            return Reply(status=500, error="scripted failure")
        return answer_for(request)

    llm_server.rule = flaky
    llm_server.batch_statuses = ["validating", "completed"]
    assert screen(cli, llm_server, screened_project, "--batch").exit_code == 0
    collected = screen(cli, llm_server, screened_project, "--batch")
    assert collected.exit_code == 0, collected.stderr
    llm = collected.json()["llm"]
    assert llm["errors"] == 2 and llm["error_causes"] == {"HTTP 500": 1, "invalid answer": 1}
    errors = query(screened_project, "select r.title, e.payload from events e join records r on r.id = e.entity_id "
                                     "where e.action = 'model_error'")
    assert sorted(t.split()[0] for t, _ in errors) == ["FAILING", "GARBAGE"]
    assert all(json.loads(p)["batch_id"] for _, p in errors)
    assert one(screened_project, "select count(*) from llm_calls where error is not null") == 2
    for title in ("GARBAGE%", "FAILING%"):
        assert one(screened_project, "select count(*) from decisions d join records r on r.id = d.record_id "
                                     "where r.title like ? and d.decider_kind = 'model'", title) == 0

    def mended(request: Any) -> Any:  # both answer now
        ids = re.findall(r"^- (\w+): ", request.last_user, re.MULTILINE)
        return {"criteria": [{"id": cid, "verdict": "unclear", "quote": "", "reason": "stand-in"} for cid in ids],
                "decision": "unsure", "confidence": 0.5}

    llm_server.rule = mended
    retry = screen(cli, llm_server, screened_project, "--batch")
    assert retry.json()["batch"]["records"] == 2  # only the two that failed are sent again
    done = screen(cli, llm_server, screened_project, "--batch")
    assert done.json()["llm"]["drafted"] == 2 and done.json()["llm"]["errors"] == 0


def test_a_batch_that_failed_or_expired_leaves_its_unanswered_records_for_the_next_run(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    llm_server.batch_statuses = ["validating", "failed"]
    first = screen(cli, llm_server, screened_project, "--batch", "--limit", "8").json()["batch"]
    failed = screen(cli, llm_server, screened_project, "--batch")
    assert failed.exit_code == 0 and failed.json()["batch"]["failed"]
    assert "the input file is invalid" in failed.stderr
    assert one(screened_project, "select count(*) from events where action = 'llm_batch_failed'") == 1
    assert one(screened_project, "select count(*) from decisions where decider_kind = 'model'") == 0

    llm_server.batch_statuses = ["validating", "expired"]
    llm_server.batch_expire_after = 3
    again = screen(cli, llm_server, screened_project, "--batch", "--limit", "8").json()["batch"]
    assert again["records"] == first["records"] == 8 and uploads(llm_server) == 2
    expired = screen(cli, llm_server, screened_project, "--batch").json()
    assert expired["llm"]["drafted"] == 3 and expired["llm"]["errors"] == 5
    assert expired["llm"]["error_causes"] == {"batch_expired": 5}
    third = screen(cli, llm_server, screened_project, "--batch", "--limit", "8").json()["batch"]
    assert third["records"] == 8 and third["skipped"] == 3  # the expired five first, among the next records


def test_batch_answers_cost_half_the_price(screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    set_price(screened_project)
    estimate = screen(cli, llm_server, screened_project, "--dry-run", "--limit", "6").json()
    halved = screen(cli, llm_server, screened_project, "--dry-run", "--batch", "--limit", "6").json()
    assert halved["cost"] == pytest.approx(estimate["cost"] / 2)
    llm_server.batch_statuses = ["validating", "completed"]
    submitted = screen(cli, llm_server, screened_project, "--batch", "--limit", "6", "--max-cost", "5")
    assert submitted.exit_code == 0, submitted.stderr
    assert submitted.json()["batch"]["estimated_cost"] == pytest.approx(estimate["cost"] / 2)
    payload = json.loads(one(screened_project, "select payload from events where action = 'llm_batch_submitted'"))
    assert payload["estimated_cost"] == pytest.approx(estimate["cost"] / 2)
    collected = screen(cli, llm_server, screened_project, "--batch").json()
    rows = query(screened_project, "select input_tokens, output_tokens, cost from llm_calls")
    assert len(rows) == 6
    for tokens_in, tokens_out, cost in rows:
        full = (tokens_in * PRICE["input"] + tokens_out * PRICE["output"]) / 1e6
        assert tokens_in > 0 and cost == pytest.approx(full / 2)
    assert collected["llm"]["cost"] == pytest.approx(sum(r[2] for r in rows))


def test_max_cost_refuses_a_too_expensive_batch_before_uploading(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    set_price(screened_project)
    refused = screen(cli, llm_server, screened_project, "--batch", "--max-cost", "0.0001")
    assert refused.exit_code == 6
    said = " ".join(refused.stderr.split())
    assert "at batch price, more than max_cost 0.0001: nothing was uploaded" in said
    assert uploads(llm_server) == 0 and llm_server.requests_to("POST", r"/batches") == []
    assert one(screened_project, "select count(*) from events where action like 'llm_batch%'") == 0


def test_wait_polls_until_the_batch_is_done_and_collects_it(
        screened_project: Path, cli, llm_server: ScriptedLLMServer) -> None:
    result = screen(cli, llm_server, screened_project, "--batch", "--wait", "--poll-every", "0.01", "--limit", "7")
    assert result.exit_code == 0, result.stderr
    out = result.json()
    assert out["batch"]["submitted"] and out["batch"]["collected"] == out["batch"]["submitted"]
    assert out["llm"]["drafted"] == 7 and out["routing"]["counts"]
    assert len(llm_server.requests_to("GET", r"/batches/")) == 2  # in_progress, then completed


def test_ctrl_c_while_waiting_leaves_the_batch_running_and_says_how_to_collect(
        screened_project: Path, cli, llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from types import SimpleNamespace

    import metasift.screener.llm_stage as stage

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "time", SimpleNamespace(sleep=interrupt, monotonic=time.monotonic))
    result = screen(cli, llm_server, screened_project, "--batch", "--wait", "--limit", "4")
    assert result.exit_code == 130
    said = " ".join(result.stderr.split())
    assert "the batch keeps running at the endpoint" in said and "`metasift screen --batch`" in said
    monkeypatch.setattr(stage, "time", time)
    llm_server.batch_statuses = ["validating", "completed"]
    assert screen(cli, llm_server, screened_project, "--batch").json()["llm"]["drafted"] == 4
