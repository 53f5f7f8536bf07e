"""LLM client against the scripted server: fallback chain, repair, retries, cache, cost, concurrency, logging."""
# ruff: noqa: F811  (the llm_server fixture is imported, then named as a test argument)

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import ssl
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal

import certifi
import pytest
from pydantic import BaseModel, ConfigDict, Field

from metasift.errors import LLMError, MetasiftError
from metasift.llm import (
    Budget,
    BudgetExceeded,
    DiskCache,
    Exchange,
    LLMClient,
    LLMSettings,
    MethodMemory,
    Usage,
    backoff_delay,
    cache_key,
    cost_of,
    extract_json,
    find_price,
    is_retryable_status,
    parse_retry_after,
    strict_schema,
)
from metasift.llm.cache import CACHE_FILE
from metasift.llm.client import EndpointError
from metasift.llm.structured import refuses
from tests.llm_server import Reply, ScriptedLLMServer, llm_server  # noqa: F401  (fixture)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Literal["yes", "no"]
    score: float = Field(ge=0, le=1)


GOOD = {"label": "yes", "score": 0.9}


def make_client(server: ScriptedLLMServer, **overrides: Any) -> tuple[LLMClient, list[Exchange]]:
    log: list[Exchange] = []
    settings = LLMSettings(**{"model": "test-model", "base_url": server.base_url, "retry_base_delay": 0.01,
                              "retry_max_delay": 0.05, "timeout": 5.0, **overrides})
    return LLMClient(settings, on_exchange=log.append, memory=MethodMemory(), rng=random.Random(1)), log


def ask(server: ScriptedLLMServer, n: int = 1, **overrides: Any) -> tuple[list[Any], list[Exchange], LLMClient]:
    """Make ``n`` sequential calls with one client; returns outcomes, the exchange log and the (closed) client."""

    async def go() -> tuple[list[Any], list[Exchange], LLMClient]:
        client, log = make_client(server, **overrides)
        async with client:
            outs = [await client.complete([{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": f"Question {i}?"}], Answer, record_id=i)
                    for i in range(n)]
        return outs, log, client

    return asyncio.run(go())


# -- structured output and the fallback chain -----------------------------------------------------------

def test_json_schema_is_tried_first_with_a_strict_schema(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(answer=GOOD)
    [out], log, client = ask(llm_server)
    assert out.ok and out.value == Answer(**GOOD) and out.method == "json_schema"
    body = llm_server.chat_requests[0].body
    assert body["temperature"] == 0 and body["model"] == "test-model"
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert set(fmt["json_schema"]["schema"]["required"]) == {"label", "score"}
    assert [e.method for e in log] == ["json_schema"] and log[0].error is None
    assert client.memory.get(client.settings.endpoint, "test-model") == "json_schema"


def test_refused_json_schema_falls_back_to_json_object_and_is_remembered(llm_server: ScriptedLLMServer) -> None:
    llm_server.refuse = {"json_schema"}
    llm_server.enqueue(answer=GOOD)
    llm_server.enqueue(answer={"label": "no", "score": 0.2})
    outs, log, client = ask(llm_server, n=2)
    assert [o.value.label for o in outs] == ["yes", "no"]
    assert [r.method_used for r in llm_server.chat_requests] == ["json_schema", "json_object", "json_object"]
    system = llm_server.chat_requests[1].messages[0]["content"]
    assert "JSON Schema" in system and '"label"' in system  # json_object carries the schema in the prompt
    assert client.memory.get(client.settings.endpoint, "test-model") == "json_object"
    assert "not supported" in (log[0].error or "") and log[1].error is None


def test_a_500_that_rejects_response_format_is_a_refusal_like_llama_cpp_sends(llm_server: ScriptedLLMServer) -> None:
    body = ("1 validation error for CreateChatCompletionRequest: ('body', 'response_format', 'type') "
            "literal_error: Input should be 'text' or 'json_object'")
    llm_server.enqueue(status=500, error=body)
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server)
    assert out.ok and out.method == "json_object" and out.attempts == 2
    assert [r.response_format for r in llm_server.chat_requests] == ["json_schema", "json_object"]
    llm_server.enqueue(status=500, error="internal error: CUDA out of memory")  # a plain 500 is still retried
    llm_server.enqueue(answer=GOOD)
    [again], _, _ = ask(llm_server, structured_method="json_object")
    assert again.ok and again.attempts == 2 and again.method == "json_object"


def test_refused_json_modes_fall_back_to_a_forced_tool_call(llm_server: ScriptedLLMServer) -> None:
    llm_server.refuse = {"json_schema", "json_object"}
    llm_server.enqueue(answer=GOOD)  # the server answers with a tool call because the request forces one
    [out], log, _ = ask(llm_server)
    assert out.ok and out.method == "tools"
    last = llm_server.chat_requests[-1].body
    assert last["tool_choice"]["function"]["name"] == "Answer"
    assert last["tools"][0]["function"]["parameters"]["properties"]["label"]["enum"] == ["yes", "no"]
    assert [e.method for e in log] == ["json_schema", "json_object", "tools"]


def test_everything_refused_falls_back_to_plain_text_with_fences(llm_server: ScriptedLLMServer) -> None:
    llm_server.refuse = {"json_schema", "json_object", "tools"}
    llm_server.enqueue(content='Sure, here it is:\n```json\n{"label": "no", "score": 0.25}\n```\nHope it helps {!}')
    [out], _, _ = ask(llm_server)
    assert out.ok and out.method == "text" and out.value == Answer(label="no", score=0.25)
    assert [r.method_used for r in llm_server.chat_requests] == ["json_schema", "json_object", "tools", "text"]
    assert "Reply with a single JSON object" in llm_server.chat_requests[-1].messages[0]["content"]


def test_a_named_method_is_used_alone(llm_server: ScriptedLLMServer) -> None:
    llm_server.refuse = {"tools"}
    [out], _, _ = ask(llm_server, structured_method="tools")
    assert out.value is None and "refused structured output (tools)" in (out.error or "")
    assert len(llm_server.chat_requests) == 1


def test_repair_retry_sends_the_validation_error_back(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(content='{"label": "maybe", "score": 0.5}')
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server)
    assert out.ok and out.attempts == 2
    second = llm_server.chat_requests[1].messages
    assert second[-2] == {"role": "assistant", "content": '{"label": "maybe", "score": 0.5}'}
    assert "label: Input should be 'yes' or 'no'" in second[-1]["content"]
    assert log[0].parsed == {"label": "maybe", "score": 0.5} and "label" in (log[0].error or "")
    assert log[1].error is None


def test_an_answer_invalid_after_the_repair_is_an_error_not_a_decision(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(content="I think the answer is yes.")
    llm_server.enqueue(content='{"label": "yes"}')
    llm_server.enqueue(answer=GOOD)  # must never be asked for: one repair only
    [out], log, _ = ask(llm_server)
    assert out.value is None and not out.ok
    assert "invalid answer after one repair retry" in (out.error or "") and "score" in (out.error or "")
    assert len(llm_server.chat_requests) == 2 and llm_server.pending() == 1
    assert "no JSON object" in (log[0].error or "")


# -- retries --------------------------------------------------------------------------------------------

def test_429_waits_for_retry_after(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=429, headers={"Retry-After": "1"}, error="Rate limit reached")
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server, retry_base_delay=0.0)  # any wait comes from Retry-After, not backoff
    first, second = llm_server.chat_requests
    assert out.ok and out.attempts == 2
    assert 0.95 <= second.at - first.at < 3.0
    assert log[0].error and log[0].error.startswith("HTTP 429")


def test_a_retry_after_beyond_the_limit_is_not_waited_for(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=429, headers={"Retry-After": "3600"})
    start = time.monotonic()
    [out], _, _ = ask(llm_server, max_retry_after=5)
    assert time.monotonic() - start < 2 and out.value is None and "wait 3600 s" in (out.error or "")


def test_5xx_backs_off_then_succeeds(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=500)
    llm_server.enqueue(status=503)
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server, retry_base_delay=0.1, retry_max_delay=1.0)
    assert out.ok and out.attempts == 3 and [e.attempt for e in log] == [1, 2, 3]
    at = [r.at for r in llm_server.chat_requests]
    assert at[1] - at[0] >= 0.05 and at[2] - at[1] >= 0.1  # equal jitter: at least half of 0.1, then of 0.2


def test_retries_stop_after_max_retries(llm_server: ScriptedLLMServer) -> None:
    for _ in range(4):
        llm_server.enqueue(status=502)
    [out], _, _ = ask(llm_server, max_retries=2)
    assert out.value is None and "after 3 attempts" in (out.error or "")
    assert len(llm_server.chat_requests) == 3


def test_a_timeout_is_retried(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(answer=GOOD, delay=1.0)
    llm_server.enqueue(answer={"label": "no", "score": 0.1})
    [out], log, _ = ask(llm_server, timeout=0.3)
    assert out.ok and out.value.label == "no"
    assert "timed out" in (log[0].error or "") and log[1].error is None


def test_an_answer_cut_off_at_max_tokens_says_so(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(content='{"label": "ye', finish_reason="length")
    llm_server.enqueue(content='{"label": "yes", "sco', finish_reason="length")
    [out], log, _ = ask(llm_server, max_tokens=8)
    assert out.value is None and "cut off at max_tokens (8" in (out.error or "")
    assert len(log) == 2 and "cut off" in (log[0].error or "")  # one repair retry, then an error


def test_a_transfer_that_breaks_off_is_retried(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(answer=GOOD, cut_after=25)
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server)
    assert out.ok and out.attempts == 2
    assert log[0].error and log[0].error.startswith("connection failed") and log[1].error is None


def test_a_malformed_body_is_retried(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(body='{"id": "x", "choices": [')
    llm_server.enqueue(answer=GOOD)
    [out], log, _ = ask(llm_server)
    assert out.ok and "malformed response body" in (log[0].error or "")
    assert log[0].response == '{"id": "x", "choices": ['


def test_connection_errors_are_retried() -> None:
    server = ScriptedLLMServer().start()
    server.stop()  # nothing listens on that port any more
    [out], log, _ = ask(server, max_retries=1)
    assert out.value is None and "connection failed" in (out.error or "") and "after 2 attempts" in out.error
    assert [e.attempt for e in log] == [1, 2]


def test_a_plain_400_is_not_retried(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=400, error="This model's maximum context length is 8192 tokens")
    [out], _, _ = ask(llm_server)
    assert out.value is None and "maximum context length" in (out.error or "")
    assert len(llm_server.chat_requests) == 1


def test_a_rejected_key_stops_the_run(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=401, error="Incorrect API key provided")
    with pytest.raises(LLMError, match="API key was rejected"):
        ask(llm_server)


def test_max_tokens_is_renamed_when_the_model_asks_for_max_completion_tokens(
        llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=400, error="Unsupported parameter: 'max_tokens' is not supported with this model. "
                                         "Use 'max_completion_tokens' instead.")
    llm_server.enqueue(answer=GOOD)
    llm_server.enqueue(answer=GOOD)
    outs, log, _ = ask(llm_server, n=2)
    assert all(o.ok for o in outs)
    bodies = [r.body for r in llm_server.chat_requests]
    assert "max_tokens" in bodies[0] and all("max_completion_tokens" in b and "max_tokens" not in b
                                             for b in bodies[1:])
    assert log[1].options["max_completion_tokens"] == 1024


# -- cache, cost, budget, concurrency, logging -------------------------------------------------------

def test_a_cache_hit_makes_no_request(llm_server: ScriptedLLMServer, tmp_path: Path) -> None:
    llm_server.enqueue(answer=GOOD, usage={"prompt_tokens": 100, "completion_tokens": 10})
    [first], _, _ = ask(llm_server, cache_dir=tmp_path / "cache")
    [again], log, _ = ask(llm_server, cache_dir=tmp_path / "cache")  # a fresh client: a re-run
    assert len(llm_server.chat_requests) == 1
    assert again.cached and again.value == first.value and again.cost == 0.0 and again.attempts == 0
    assert len(log) == 1 and log[0].cached and log[0].attempt == 0 and log[0].cost == 0.0
    assert log[0].parsed == GOOD and log[0].method == "json_schema"
    assert len(DiskCache(tmp_path / "cache")) == 1


def test_cost_is_priced_from_usage_and_the_budget_stops_before_the_next_request(
        llm_server: ScriptedLLMServer) -> None:
    prices = {"test-model": {"input": 1.0, "output": 2.0}}
    llm_server.enqueue(answer=GOOD, usage={"prompt_tokens": 1000, "completion_tokens": 500},
                       model="test-model-2025-01-01")
    llm_server.enqueue(answer=GOOD)

    async def go() -> tuple[Any, LLMClient, list[Exchange]]:
        client, log = make_client(llm_server, prices=prices, max_cost=0.002)
        async with client:
            out = await client.complete([{"role": "user", "content": "a"}], Answer)
            with pytest.raises(BudgetExceeded, match="max_cost"):
                await client.complete([{"role": "user", "content": "b"}], Answer)
        return out, client, log

    out, client, log = asyncio.run(go())
    assert out.cost == pytest.approx(0.002)  # (1000 x 1 + 500 x 2) / 1e6
    assert out.input_tokens == 1000 and out.output_tokens == 500 and out.model_served == "test-model-2025-01-01"
    assert log[0].cost == pytest.approx(0.002) and log[0].model_requested == "test-model"
    assert client.budget.spent == pytest.approx(0.002) and client.budget.remaining == 0
    assert len(llm_server.chat_requests) == 1
    assert isinstance(BudgetExceeded("x"), MetasiftError)


def test_a_budget_without_a_price_is_refused_up_front(llm_server: ScriptedLLMServer) -> None:
    with pytest.raises(LLMError, match="no price for model"):
        make_client(llm_server, max_cost=1.0)


def test_unpriced_answers_have_unknown_cost_not_zero(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(answer=GOOD)
    [out], log, client = ask(llm_server)
    assert out.cost is None and log[0].cost is None and client.budget.unpriced == 1


def test_concurrency_is_bounded(llm_server: ScriptedLLMServer) -> None:
    llm_server.rule = lambda request: Reply(answer=GOOD, delay=0.15)

    async def go() -> list[Any]:
        client, _ = make_client(llm_server, concurrency=3)
        async with client:
            return await asyncio.gather(*[client.complete([{"role": "user", "content": f"q{i}"}], Answer)
                                          for i in range(9)])

    outs = asyncio.run(go())
    assert all(o.ok for o in outs) and len(llm_server.chat_requests) == 9
    assert llm_server.max_in_flight == 3


def test_every_attempt_reaches_the_exchange_hook(llm_server: ScriptedLLMServer) -> None:
    llm_server.enqueue(status=429, headers={"Retry-After": "0"})
    llm_server.enqueue(status=500)
    llm_server.enqueue(content="not json at all", model="served-x")
    llm_server.enqueue(answer=GOOD, model="served-x")

    async def go() -> list[Exchange]:
        client, log = make_client(llm_server)
        async with client:
            await client.complete([{"role": "user", "content": "q"}], Answer, record_id=42, purpose="unit")
        return log

    log = asyncio.run(go())
    assert [e.attempt for e in log] == [1, 2, 3, 4]
    assert [e.error is not None for e in log] == [True, True, True, False]
    assert all(e.record_id == 42 and e.purpose == "unit" and e.model_requested == "test-model" for e in log)
    assert log[2].response == "not json at all" and log[3].model_served == "served-x"
    assert log[3].parsed == GOOD and log[3].input_tokens and log[3].output_tokens
    assert all(e.created_at.utcoffset() is not None and e.duration_ms >= 0 for e in log)
    assert log[3].options["temperature"] == 0 and log[3].options["response_format"]["type"] == "json_schema"
    assert log[2].messages[-1] == {"role": "user", "content": "q"}
    assert log[3].messages[-2] == {"role": "assistant", "content": "not json at all"}  # the repair turn
    json.loads(log[3].model_dump_json())  # storable as-is


def test_https_endpoints_are_verified_against_the_configured_certificates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trustme

    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    server = ScriptedLLMServer().start(tls=server_tls)
    try:
        assert server.base_url.startswith("https://")
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "elsewhere.pem"))
        ca.cert_pem.write_to_path(str(tmp_path / "elsewhere.pem"))
        server.enqueue(answer=GOOD)
        [out], _, _ = ask(server)
        assert out.ok  # the test CA is trusted through SSL_CERT_FILE, as the openai SDK does it
        monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # a bundle without the test CA: refused
        [refused], log, _ = ask(server, max_retries=0)
        assert refused.value is None and "connection failed" in (refused.error or "")
        assert "certificate" in (log[0].error or "").lower()
    finally:
        server.stop()


def test_list_models(llm_server: ScriptedLLMServer) -> None:
    async def go() -> list[str]:
        client, _ = make_client(llm_server)
        async with client:
            return await client.list_models()

    assert asyncio.run(go()) == ["scripted-model"]


def test_settings_from_the_protocol_config() -> None:
    from metasift.config import LLMConfig

    settings = LLMSettings.from_config(LLMConfig(concurrency=2), cache_dir=Path("/tmp/c"), model=None)
    assert settings.concurrency == 2 and settings.model == "gpt-4o-mini" and settings.cache_dir == Path("/tmp/c")
    assert settings.endpoint == "https://api.openai.com/v1"


def test_an_old_transport_setting_is_accepted_with_a_warning() -> None:
    from metasift.config import LLMConfig

    with pytest.warns(FutureWarning, match=r"\[llm\] transport = 'http1' is ignored.*remove the line"):
        config = LLMConfig.model_validate({"transport": "http1", "concurrency": 3})
    settings = LLMSettings.from_config(config)
    assert settings.concurrency == 3 and settings.provider == "openai" and "transport" not in config.model_dump()
    assert LLMSettings.model_validate({"transport": "aiohttp"}).provider == "openai"


def test_an_unknown_provider_is_a_clear_error(llm_server: ScriptedLLMServer) -> None:
    with pytest.raises(LLMError, match=r"provider = 'gemini' is not known: use \"openai\", \"azure\""):
        ask(llm_server, provider="gemini")
    assert llm_server.requests == []


def test_azure_urls_are_recognised() -> None:
    from metasift.llm.openai_provider import azure_endpoint, is_azure_url, is_azure_v1

    assert is_azure_url("https://res.openai.azure.com/openai/v1") and is_azure_v1("https://res.openai.azure.com/openai/v1/")
    assert is_azure_url("https://res.cognitiveservices.azure.com") and not is_azure_v1("https://res.openai.azure.com")
    assert not is_azure_url("https://api.openai.com/v1") and not is_azure_url("https://openai.azure.com.evil.org/v1")
    assert azure_endpoint("https://res.openai.azure.com/openai/deployments/x") == "https://res.openai.azure.com"


def test_azure_sends_the_api_key_header_to_the_deployment_with_an_api_version(
        llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    with pytest.raises(EndpointError, match=r"HTTP 404 Not Found at .*check base_url and the model name"):
        ask(llm_server, provider="azure", api_key_env="AZURE_OPENAI_API_KEY", api_version="2024-10-21")
    [request] = llm_server.requests  # the scripted server only routes /chat/completions without a query
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert request.path == "/openai/deployments/test-model/chat/completions?api-version=2024-10-21"
    assert headers["api-key"] == "azure-key" and "authorization" not in headers


def test_a_missing_api_key_for_openai_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METASIFT_TEST_KEY", raising=False)
    with pytest.raises(LLMError, match="METASIFT_TEST_KEY"):
        LLMClient(LLMSettings(api_key_env="METASIFT_TEST_KEY"))


# -- pure parts ------------------------------------------------------------------------------------------

def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(30)
    assert parse_retry_after({"Retry-After": formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None and parse_retry_after({}) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    rng = random.Random(0)
    for retry, step in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 10.0)]:
        delays = [backoff_delay(retry, 1.0, 10.0, rng) for _ in range(200)]
        assert min(delays) >= step / 2 and max(delays) <= step and max(delays) - min(delays) > step / 4


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504, 529))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422, 501))


def test_refusal_detection() -> None:
    assert refuses("json_schema", 400, "response_format json_schema not supported")
    assert refuses("tools", 400, '{"error": "tool_choice is not supported"}')
    assert not refuses("json_schema", 400, "maximum context length exceeded")
    assert not refuses("json_schema", 500, "response_format crashed the server")
    assert not refuses("text", 400, "response_format")


def test_extract_json_tolerates_prose_and_fences() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Answer: {"a": "x}{", "b": [1, {"c": 2}]} done') == {"a": "x}{", "b": [1, {"c": 2}]}
    assert extract_json('{broken {"a": 2}') == {"a": 2}
    for bad in ("", "no json", "[1, 2]"):
        with pytest.raises(ValueError):
            extract_json(bad)


def test_strict_schema_closes_every_object() -> None:
    class Inner(BaseModel):
        x: int = 3

    class Outer(BaseModel):
        inner: Inner
        default: str = "kept"  # a property named like a keyword must survive

    schema = strict_schema(Outer.model_json_schema())
    inner = schema["$defs"]["Inner"]
    assert inner["additionalProperties"] is False and inner["required"] == ["x"] and "default" not in inner["properties"]["x"]
    assert schema["required"] == ["inner", "default"] and "default" in schema["properties"]


def test_cost_and_price_lookup() -> None:
    prices = {"gpt-4o-mini": {"input": 0.15, "output": 0.60, "cached_input": 0.075}, "gpt-4o": {"input": 2.5, "output": 10}}
    price = find_price(prices, "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert price is not None and price.input == 0.15
    assert find_price(prices, "other", "gpt-4o-2024-08-06").input == 2.5  # longest-prefix match on the served name
    assert find_price(prices, "llama3") is None
    usage = Usage(input_tokens=2_000_000, output_tokens=1_000_000, cached_input_tokens=1_000_000)
    assert cost_of(usage, price) == pytest.approx(0.15 + 0.075 + 0.60)
    budget = Budget(1.0)
    budget.add(0.4)
    budget.add(None)
    budget.check()
    budget.add(0.6)
    with pytest.raises(BudgetExceeded):
        budget.check()
    assert budget.unpriced == 1


def test_cache_key_and_atomic_store(tmp_path: Path) -> None:
    base = {"endpoint": "http://x/v1", "model": "m", "template_hash": "h1",
            "messages": [{"role": "user", "content": "a"}], "params": {"temperature": 0, "schema": {"a": 1}}}
    key = cache_key(**base)
    assert key == cache_key(**base) and len(key) == 64
    for change in ({"template_hash": "h2"}, {"model": "n"}, {"params": {"temperature": 0, "schema": {"a": 2}}},
                   {"messages": [{"role": "user", "content": "b"}]}):
        assert cache_key(**{**base, **change}) != key
    cache = DiskCache(tmp_path)
    assert cache.get(key) is None and len(cache) == 0
    cache.put(key, {"parsed": {"a": 1}})
    assert cache.get(key) == {"parsed": {"a": 1}}
    cache.close()
    again = DiskCache(tmp_path)  # another process opening the same directory sees the entry
    assert again.get(key) == {"parsed": {"a": 1}} and len(again) == 1
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        db.execute("UPDATE answers SET entry = '{half' WHERE key = ?", (key,))
    assert again.get(key) is None  # a corrupt entry is a miss, not a crash
    again.close()
    (tmp_path / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    broken = DiskCache(tmp_path)
    assert broken.get(key) is None  # an unreadable file: every lookup misses...
    with pytest.raises(LLMError, match="answer cache cannot be written"):  # ...and a write says where and why
        broken.put(key, {"parsed": {"a": 1}})


def test_run_batch_hands_every_result_over_through_one_bounded_connection_pool(
        llm_server: ScriptedLLMServer) -> None:
    from metasift.llm.batch import run_batch

    llm_server.rule = lambda request: Reply(answer=GOOD, delay=0.05)
    settings = LLMSettings(model="test-model", base_url=llm_server.base_url, concurrency=3)
    messages = [{"role": "user", "content": "Say yes."}]
    jobs = [lambda client, i=i: client.complete([*messages, {"role": "user", "content": str(i)}], Answer)
            for i in range(10)]
    results: list[Any] = []
    run = run_batch(settings, jobs, on_done=results.append)
    assert run.done == 10 and all(r.ok and r.value == Answer(**GOOD) for r in results)
    assert 1 <= llm_server.max_in_flight <= 3


def test_the_sdk_client_keeps_at_most_concurrency_connections(llm_server: ScriptedLLMServer) -> None:
    """The openai provider alone (no semaphore in front): its connection pool is what bounds the requests."""
    from metasift.llm.openai_provider import OpenAIProvider
    from metasift.llm.provider import ChatRequest

    llm_server.rule = lambda request: Reply(answer=GOOD, delay=0.2)
    settings = LLMSettings(model="test-model", base_url=llm_server.base_url, concurrency=2)

    async def go() -> list[int]:
        provider = OpenAIProvider(settings, "k")
        request = ChatRequest(model="test-model", messages=[{"role": "user", "content": "q"}], temperature=0,
                              max_tokens=10)
        try:
            return [r.status for r in await asyncio.gather(*(provider.chat(request) for _ in range(6)))]
        finally:
            await provider.aclose()

    assert asyncio.run(go()) == [200] * 6
    assert llm_server.max_in_flight == 2
    headers = {k.lower(): v for k, v in llm_server.chat_requests[0].headers.items()}
    assert headers["authorization"] == "Bearer k" and headers["user-agent"].startswith("metasift/")
