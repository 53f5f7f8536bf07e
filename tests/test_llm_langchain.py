"""The LangChain provider with LangChain's own fake chat models: the client's fallback chain, validation,
usage and logging work through it as through the openai SDK. Skipped when langchain-core is not installed
(it is in the ``dev`` extra)."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from metasift.errors import LLMError
from metasift.llm import Exchange, LLMClient, LLMSettings, MethodMemory

fake_models = pytest.importorskip(
    "langchain_core.language_models.fake_chat_models",
    reason="langchain-core is not installed (pip install 'metasift[dev]' or 'metasift[langchain]')")
from langchain_core.messages import AIMessage

from metasift.llm.langchain_provider import LangChainProvider


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Literal["yes", "no"]
    score: float


class ToolCallingFake(fake_models.FakeMessagesListChatModel):
    """A fake that can bind tools (it ignores them), so ``with_structured_output`` works through it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def ask(chat_model: Any, n: int = 1) -> tuple[list[Any], list[Exchange]]:
    log: list[Exchange] = []
    settings = LLMSettings(model="fake-model", provider="langchain:fake", retry_base_delay=0.01, retry_max_delay=0.02)

    async def go() -> list[Any]:
        client = LLMClient(settings, on_exchange=log.append, memory=MethodMemory(), rng=random.Random(1))
        client._provider = LangChainProvider(chat_model, model="fake-model")  # the network edge, faked
        async with client:
            return [await client.complete([{"role": "user", "content": f"q{i}"}], Answer, record_id=i)
                    for i in range(n)]

    return asyncio.run(go()), log


def test_a_structured_answer_comes_back_with_its_usage_logged() -> None:
    raw = AIMessage(content="", tool_calls=[{"name": "Answer", "args": {"label": "yes", "score": 0.7}, "id": "c1"}],
                    usage_metadata={"input_tokens": 120, "output_tokens": 9, "total_tokens": 129},
                    response_metadata={"model_name": "claude-fake-1"})
    [out], log = ask(ToolCallingFake(responses=[raw]))
    assert out.ok and out.value == Answer(label="yes", score=0.7) and out.method == "json_schema"
    assert (out.input_tokens, out.output_tokens, out.model_served) == (120, 9, "claude-fake-1")
    assert len(log) == 1 and log[0].input_tokens == 120 and log[0].output_tokens == 9
    assert log[0].response == '{"label":"yes","score":0.7}' and log[0].parsed == {"label": "yes", "score": 0.7}


def test_a_model_without_structured_output_falls_back_to_text_and_repairs() -> None:
    chat = fake_models.FakeListChatModel(responses=[
        "Sure: {\"label\": \"maybe\", \"score\": 1}",  # invalid: the repair retry sends the error back
        "```json\n{\"label\": \"no\", \"score\": 0.1}\n```"])
    [out], log = ask(chat)
    assert out.ok and out.value == Answer(label="no", score=0.1) and out.method == "text"
    assert [e.method for e in log] == ["json_schema", "json_object", "tools", "text", "text"]
    assert all("not supported" in (e.error or "") for e in log[:3])
    assert "label" in (log[3].error or "") and log[4].error is None
    assert "JSON Schema" in log[3].messages[0]["content"]  # the schema went into the prompt


def test_an_error_with_a_status_is_an_http_status_to_the_client() -> None:
    class Overloaded(Exception):
        status_code = 529

    class Failing(fake_models.FakeListChatModel):
        async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
            raise Overloaded("overloaded_error: Overloaded")

    settings = LLMSettings(model="fake-model", provider="langchain:fake", structured_method="text", max_retries=1,
                           retry_base_delay=0.0, retry_max_delay=0.0)

    async def go() -> Any:
        client = LLMClient(settings, memory=MethodMemory())
        client._provider = LangChainProvider(Failing(responses=["x"]))
        async with client:
            return await client.complete([{"role": "user", "content": "q"}], Answer)

    out = asyncio.run(go())
    assert out.error == "HTTP 529: overloaded_error: Overloaded after 2 attempts" and out.attempts == 2


def test_the_langchain_provider_needs_langchain_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_langchain(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "langchain.chat_models":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_langchain)
    with pytest.raises(LLMError, match=r"metasift\[langchain\]"):
        LangChainProvider.from_settings(LLMSettings(model="claude-x", provider="langchain:anthropic"))
