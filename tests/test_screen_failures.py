"""Failing loudly (issue #12): a dead or refusing endpoint stops ``metasift screen`` with its cause and a
non-zero exit, a local model needs no price, an unpriced remote one is refused before any request, and the
ranker says what it learns from."""

# ruff: noqa: F811  (the llm_server fixture is imported, then named as a test argument)
from __future__ import annotations

import asyncio
import errno
import random
import socket
import sqlite3
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from metasift.llm import LLMClient, LLMSettings, MethodMemory
from metasift.llm.client import GIVE_UP_AFTER, EndpointError, connection_cause, describe_causes, error_cause
from metasift.llm.provider import ProviderError
from metasift.llm.settings import is_local_url
from tests.llm_server import Reply, ScriptedLLMServer, llm_server  # noqa: F401  (fixture)
from tests.test_screen_cli import answer_for

SEARCH = Path(__file__).resolve().parents[1] / "examples" / "social_media" / "search"


@pytest.fixture
def imported(project: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A confirmed starter project (``max_cost = 20.0``, a price for gpt-4o-mini only) with 90 records."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert cli("import", SEARCH / "psycinfo.ris", "--project", project).exit_code == 0
    return project


def set_llm(project: Path, line: str) -> None:
    """Add one ``key = value`` line to review.toml's [llm] table."""
    toml = project / "review.toml"
    toml.write_text(toml.read_text().replace("[llm]\n", f"[llm]\n{line}\n", 1))


def refused_port() -> int:
    """A 127.0.0.1 port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def said(result: Any) -> str:
    """stderr with the terminal's line wrapping undone."""
    return " ".join(result.stderr.split())


def count(project: Path, sql: str) -> int:
    with sqlite3.connect(project / "metasift.db") as db:
        return int(db.execute(sql).fetchone()[0])


# -- a dead endpoint ---------------------------------------------------------------------------------------

def test_a_refused_port_stops_screen_within_seconds_naming_the_endpoint(imported: Path, cli) -> None:
    url = f"http://127.0.0.1:{refused_port()}/v1"
    start = time.monotonic()
    result = cli("screen", "--base-url", url, "--project", imported)
    elapsed = time.monotonic() - start
    assert result.exit_code == EndpointError.exit_code != 0
    assert f"connection refused at {url}" in said(result) and "re-run" in said(result)
    assert result.stderr.count("error:") == 1  # one red line
    assert elapsed < 8, f"a refused endpoint took {elapsed:.1f} s to fail"  # ~90 s for 56 records before
    # what came back is saved: each failed record's attempts and its error event
    assert count(imported, "select count(distinct record_id) from llm_calls where error is not null") >= GIVE_UP_AFTER
    assert count(imported, "select count(*) from events where action = 'model_error'") >= GIVE_UP_AFTER


def test_a_server_answering_500_to_everything_fails_the_run_naming_http_500(
        imported: Path, cli, llm_server: ScriptedLLMServer) -> None:
    set_llm(imported, "max_retries = 0")
    llm_server.rule = lambda request: Reply(status=500, error="the model crashed")
    result = cli("screen", "--base-url", llm_server.base_url, "--model", "gpt-4o-mini", "--project", imported,
                 "--json")
    assert result.exit_code != 0
    assert f"HTTP 500 at {llm_server.base_url} (the model crashed)" in said(result)
    out = result.json()  # --json: the JSON alone on stdout, the error on stderr
    n = out["llm"]["errors"]  # the calls in flight when the third failed in a row may have failed too
    assert n >= GIVE_UP_AFTER and out["llm"]["error_causes"] == {"HTTP 500": n}
    assert f"{n} errors: {n}× HTTP 500 at {llm_server.base_url}" in said(result)  # the summary names the cause
    assert out["llm"]["failed"].startswith("HTTP 500")
    assert len(llm_server.chat_requests) < 3 + 2 * 4  # stopped after three records, not after all 56


@pytest.mark.parametrize(("reply", "says"), [
    (Reply(status=401, error="Incorrect API key provided"),
     "HTTP 401 Unauthorized at {url}: the API key was rejected: check OPENAI_API_KEY"),
    (Reply(status=404, error="model 'gpt-4o-mini' not found"),
     "HTTP 404 Not Found at {url}: check base_url and the model name 'gpt-4o-mini'"),
    (Reply(status=400, error="This model's maximum context length is 8192 tokens"),
     "no record was drafted: 5 errors (5× HTTP 400 at {url})"),
    (Reply(content="I think it is fine, probably?"), "no record was drafted: 5 errors (5× invalid answer)"),
], ids=["401", "404", "400", "garbage"])
def test_a_run_where_every_request_failed_never_exits_0(
        imported: Path, cli, llm_server: ScriptedLLMServer, reply: Reply, says: str) -> None:
    llm_server.rule = lambda request: reply
    result = cli("screen", "--base-url", llm_server.base_url, "--limit", "5", "--project", imported)
    assert result.exit_code != 0
    assert says.format(url=llm_server.base_url) in said(result)


def test_a_few_failed_records_are_named_but_do_not_fail_the_run(
        imported: Path, cli, llm_server: ScriptedLLMServer) -> None:
    calls = iter(range(10_000))
    llm_server.rule = lambda request: (Reply(status=400, error="context length exceeded") if next(calls) % 4 == 0
                                       else Reply(answer=answer_for(request)))
    result = cli("screen", "--base-url", llm_server.base_url, "--limit", "8", "--project", imported, "--json")
    assert result.exit_code == 0, result.stderr
    llm = result.json()["llm"]
    assert llm["drafted"] + llm["errors"] == 8 and llm["errors"] >= 1 and llm["failed"] is None
    assert f"× HTTP 400 at {llm_server.base_url}" in said(result)


# -- prices: local models are free, unpriced remote ones are refused up front --------------------------------

@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_readme_local_model_example_runs_as_written(
        imported: Path, cli, llm_server: ScriptedLLMServer, host: str) -> None:
    """README: ``metasift screen --base-url http://localhost:11434/v1 --model llama3.1`` with the starter
    protocol (max_cost = 20.0, no price for llama3.1)."""
    llm_server.rule = answer_for
    url = llm_server.base_url.replace("127.0.0.1", host)
    result = cli("screen", "--base-url", url, "--model", "llama3.1", "--project", imported)
    assert result.exit_code == 0, result.stderr
    assert count(imported, "select count(*) from decisions where decider_kind = 'model'") > 0
    assert said(result).count('no price for model "llama3.1" at the local endpoint') == 1  # said once
    assert "max_cost does not apply" in said(result) and "error" not in said(result)


def test_the_dry_run_estimates_a_local_model_at_no_cost(imported: Path, cli, llm_server: ScriptedLLMServer) -> None:
    result = cli("screen", "--dry-run", "--base-url", llm_server.base_url, "--model", "llama3.1", "--project",
                 imported, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["cost"] == 0.0 and llm_server.chat_requests == []


def test_an_unpriced_model_at_a_remote_endpoint_fails_at_the_price_check_before_any_request(
        imported: Path, cli) -> None:
    result = cli("screen", "--base-url", "https://api.example.invalid/v1", "--model", "gpt-5", "--project",
                 imported, "--json")
    assert result.exit_code == 2  # a review.toml problem (ConfigError)
    assert result.stdout == ""
    assert ('no price for model "gpt-5" in review.toml: add [llm.prices."gpt-5"] input = ... output = ... '
            "(per 1M tokens), or drop max_cost") in said(result)
    assert count(imported, "select count(*) from llm_calls") == 0
    assert count(imported, "select count(*) from decisions") == 0  # checked before even the rules ran


def test_a_priced_local_endpoint_keeps_its_budget(imported: Path, llm_server: ScriptedLLMServer) -> None:
    """A local proxy to a paid API, priced in review.toml, is charged and stopped at max_cost as any other."""
    settings = LLMSettings(model="proxied", base_url=llm_server.base_url, max_cost=1.0,
                           prices={"proxied": {"input": 1.0, "output": 1.0}})
    assert settings.with_local_pricing() is settings and not settings.free_locally
    free = LLMSettings(model="llama3.1", base_url=llm_server.base_url, max_cost=1.0)
    assert free.free_locally and free.with_local_pricing().prices["llama3.1"] == {"input": 0.0, "output": 0.0}
    free.with_local_pricing().check_price()  # no error
    remote = LLMSettings(model="llama3.1", base_url="https://api.example.invalid/v1", max_cost=1.0)
    with pytest.raises(Exception, match=r'add \[llm.prices."llama3.1"\]'):
        remote.with_local_pricing().check_price()


@pytest.mark.parametrize(("url", "local"), [
    ("http://localhost:11434/v1", True), ("http://LOCALHOST./v1", True), ("http://gpu.localhost/v1", True),
    ("http://127.0.0.1:8000/v1", True), ("http://127.8.9.10/v1", True), ("http://[::1]:8080/v1", True),
    ("http://10.1.2.3/v1", True), ("http://172.16.0.1/v1", True), ("http://172.31.255.255/v1", True),
    ("http://192.168.1.20:11434/v1", True), ("http://[fd12:3456::1]/v1", True), ("http://gpu-box.local/v1", True),
    ("http://[::ffff:192.168.0.1]/v1", True),
    ("https://api.openai.com/v1", False), ("http://172.32.0.1/v1", False), ("http://8.8.8.8/v1", False),
    ("http://[2001:db8::1]/v1", False), ("http://localhost.example.com/v1", False), ("http://11.0.0.1/v1", False),
    ("https://RESOURCE.openai.azure.com/openai/v1", False),
])
def test_loopback_and_private_endpoints_are_local(url: str, local: bool) -> None:
    assert is_local_url(url) is local


# -- the client gives up on a dead endpoint ------------------------------------------------------------------

class Answer(BaseModel):
    label: str


def client_for(base_url: str, **overrides: Any) -> LLMClient:
    settings = LLMSettings(**{"model": "m", "base_url": base_url, "retry_base_delay": 0.01, "retry_max_delay": 0.02,
                              "timeout": 5.0, **overrides})
    return LLMClient(settings, memory=MethodMemory(), rng=random.Random(1))


def test_the_client_gives_up_after_calls_in_a_row_fail_and_sends_nothing_more(
        llm_server: ScriptedLLMServer) -> None:
    for _ in range(2):
        llm_server.enqueue(status=503)
    llm_server.enqueue(answer={"label": "ok"})  # one usable answer starts the count again
    for _ in range(GIVE_UP_AFTER):
        llm_server.enqueue(status=503, error="overloaded")

    async def go() -> tuple[list[Any], EndpointError]:
        async with client_for(llm_server.base_url, max_retries=0) as client:
            outs = [await client.complete([{"role": "user", "content": f"q{i}"}], Answer)
                    for i in range(3 + GIVE_UP_AFTER)]
            with pytest.raises(EndpointError) as raised:
                await client.complete([{"role": "user", "content": "one more"}], Answer)
        return outs, raised.value

    outs, error = asyncio.run(go())
    assert [o.ok for o in outs] == [False, False, True] + [False] * GIVE_UP_AFTER
    assert str(error).startswith(f"HTTP 503 at {llm_server.base_url} (overloaded)")
    assert len(llm_server.chat_requests) == 3 + GIVE_UP_AFTER  # nothing sent after giving up


def test_timeouts_in_a_row_give_up_on_the_endpoint(llm_server: ScriptedLLMServer) -> None:
    llm_server.rule = lambda request: Reply(answer={"label": "late"}, delay=0.6)

    async def go() -> list[Any]:
        async with client_for(llm_server.base_url, max_retries=0, timeout=0.2) as client:
            return [await client.complete([{"role": "user", "content": f"q{i}"}], Answer)
                    for i in range(GIVE_UP_AFTER)]

    outs = asyncio.run(go())
    assert all(error_cause(o.error) == "timeout" for o in outs)
    with pytest.raises(EndpointError, match=r"^timeout at http://127\.0\.0\.1:\d+/v1 \(no answer within 0\.2 s\); "
                                            r"3 calls in a row failed"):
        asyncio.run(_after_failures(llm_server.base_url, timeout=0.2))


async def _after_failures(base_url: str, **overrides: Any) -> None:
    """GIVE_UP_AFTER failing calls on a fresh client, then one more (which raises)."""
    async with client_for(base_url, max_retries=0, **overrides) as client:
        for i in range(GIVE_UP_AFTER + 1):
            await client.complete([{"role": "user", "content": f"q{i}"}], Answer)


def test_run_batch_raises_the_endpoint_error_unless_asked_to_report_it() -> None:
    from metasift.llm.batch import run_batch

    settings = LLMSettings(model="m", base_url=f"http://127.0.0.1:{refused_port()}/v1", concurrency=2)

    def job(i: int) -> Any:
        async def call(client: LLMClient) -> Any:
            return await client.complete([{"role": "user", "content": f"q{i}"}], Answer)
        return call

    done: list[Any] = []
    with pytest.raises(EndpointError, match="connection refused"):  # PDF extraction: a loud error, as a 401 was
        run_batch(settings, [job(i) for i in range(20)], on_done=done.append)
    assert GIVE_UP_AFTER <= len(done) < 20
    run = run_batch(settings, [job(i) for i in range(20)], on_done=done.append, report_failure=True)
    assert run.failed and run.failed.startswith("connection refused at") and run.done < 20


def test_a_refused_connection_before_any_answer_is_retried_within_a_second() -> None:
    url = f"http://127.0.0.1:{refused_port()}/v1"

    async def go() -> Any:
        client = LLMClient(LLMSettings(model="m", base_url=url), memory=MethodMemory())  # default backoff
        async with client:
            return await client.complete([{"role": "user", "content": "q"}], Answer)

    start = time.monotonic()
    out = asyncio.run(go())
    assert time.monotonic() - start < 2.5  # 4 retries in 0.6-1.2 s, not in the 7.5-15 s of 1 + 2 + 4 + 8 s
    assert "connection refused" in (out.error or "") and out.attempts == 5


# -- causes -------------------------------------------------------------------------------------------------

def _raised_from(cause: OSError) -> ProviderError:
    """A ``ProviderError`` raised ``from None`` while handling ``cause``, as the providers raise them."""
    try:
        try:
            raise cause
        except OSError:
            raise ProviderError(str(cause)) from None
    except ProviderError as exc:
        return exc


@pytest.mark.parametrize(("exc", "cause"), [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "connection refused"),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 9, 0, 0), "
             "[Errno 111] Connect call failed ('127.0.0.1', 9)"), "connection refused"),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "host not found (DNS)"),
    (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS failed"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "network unreachable"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection failed"),
])
def test_connection_failures_are_named_by_cause(exc: OSError, cause: str) -> None:
    assert connection_cause(_raised_from(exc)) == cause


def test_a_refused_or_untrusted_endpoint_is_named_by_its_cause(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import trustme

    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    server = ScriptedLLMServer().start(tls=server_tls)  # its CA is not in the bundle the client trusts
    refused = f"http://127.0.0.1:{refused_port()}/v1"

    async def first_error(url: str) -> str:
        async with client_for(url, max_retries=0) as client:
            out = await client.complete([{"role": "user", "content": "q"}], Answer)
        return error_cause(out.error)

    try:
        assert asyncio.run(first_error(refused)) == "connection refused"
        assert asyncio.run(first_error(server.base_url)) == "TLS failed"
    finally:
        server.stop()


def test_the_summary_names_the_commonest_causes_and_the_endpoint() -> None:
    from metasift.screener.llm_stage import LLMSummary

    assert error_cause("HTTP 500: oops after 5 attempts") == "HTTP 500"
    assert error_cause("timed out after 60 s after 5 attempts") == "timeout"
    assert error_cause("invalid answer after one repair retry: not JSON") == "invalid answer"
    assert error_cause("the record has no title or abstract to screen") == "the record has no title or abstract to screen"
    assert describe_causes({"timeout": 1, "HTTP 500": 2}, "http://h/v1") == "2× HTTP 500 at http://h/v1, 1× timeout"
    summary = LLMSummary(model="m", prompt_hash="h", todo=5, drafted=2, errors=3, skipped=0, cost=0.0,
                         endpoint="http://h/v1", error_causes={"HTTP 500": 2, "timeout": 1})
    assert summary.line() == "model m: 2 drafted, 0 drafted before; 3 errors: 2× HTTP 500 at http://h/v1, 1× timeout"
    assert summary.unusable() is None  # some records were drafted: not a failed run
    assert summary.model_copy(update={"drafted": 0}).unusable() == \
        "no record was drafted: 3 errors (2× HTTP 500 at http://h/v1, 1× timeout)"


# -- the ranker says what it learns from --------------------------------------------------------------------

def test_the_ranker_message_counts_settled_labels_under_dual_screening(imported: Path, cli) -> None:
    from metasift.store import Store

    store = Store.open(imported)
    ids = [r.id for r in store.records_table(primary_only=True)][:6]

    def decide(rid: int, who: str, label: str) -> None:
        store.add_decision(record_id=rid, stage="title_abstract", decider_kind="human", decider=who, label=label)

    for rid in ids[:1]:  # both reviewers exclude: settled
        decide(rid, "alice", "exclude")
        decide(rid, "bob", "exclude")
    decide(ids[3], "alice", "include")  # the reviewers disagree: not settled, not learnt from
    decide(ids[3], "bob", "exclude")
    decide(ids[4], "alice", "include")  # ... until a consensus settles it
    decide(ids[4], "bob", "exclude")
    store.add_decision(record_id=ids[4], stage="title_abstract", decider_kind="consensus", decider="carol",
                       label="include")
    decide(ids[5], "alice", "maybe")  # one reviewer so far, no one disagrees: learnt from, as an include
    store.close()
    result = cli("screen", "--no-llm", "--project", imported)
    assert result.exit_code == 0, result.stderr
    assert ("the ranker learns from human labels (a reviewer's decision no other reviewer contradicts, or a "
            "consensus): 2 includes and 1 exclude so far, plus 1 record where the reviewers disagree; it needs at least 2 of each before "
            "it can help routing") in said(result)
    out = cli("screen", "--no-llm", "--project", imported, "--json").json()["ranker"]
    assert (out["includes_known"], out["excludes_known"], out["awaiting_agreement"]) == (2, 1, 1)


@pytest.mark.parametrize("name", ["svm", "logistic", "naive_bayes"])
def test_labels_needed_matches_when_each_ranker_gives_probabilities(name: str) -> None:
    from metasift.screener.ranker import get_ranker
    from metasift.screener.ranker_stage import labels_needed

    include = ["mindfulness app trial for anxiety in adolescents", "school mindfulness randomised trial stress",
               "randomised trial of a mindfulness course for anxious students"]
    exclude = ["bridge corrosion in coastal climates", "soil nitrogen in wheat fields", "galaxy cluster survey"]
    need = labels_needed(name)
    for k, usable in ((need - 1, False), (need, True)):
        if k == 0:
            continue
        ranker = get_ranker(name).prepare(include + exclude)
        texts = include[:k] + exclude[:k]
        ranker.fit_vectors(ranker.vectorize(texts), [1] * k + [0] * k)
        assert ranker.gives_probabilities() is usable, (name, k)
