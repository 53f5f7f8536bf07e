"""A provider through LangChain (the optional ``metasift[langchain]`` extra): Anthropic, Google, Bedrock ...

``[llm] provider = "langchain:anthropic"`` makes ``init_chat_model(model, model_provider="anthropic")`` (the
integration package, ``langchain-anthropic`` here, must be installed; it reads its own key variable such as
``ANTHROPIC_API_KEY``) with LangChain's retries off. The structured-output methods map onto
``with_structured_output(schema, include_raw=True, method=...)``: ``json_schema`` -> ``json_schema``,
``json_object`` -> ``json_mode``, ``tools`` -> ``function_calling``; ``text`` is a plain call. A model that
cannot do a method is a refusal (HTTP 400 naming it), so the client's fallback chain moves on exactly as it
does for an OpenAI-compatible endpoint.

The raw ``AIMessage`` is turned into an OpenAI-shaped chat completion (content, tool calls, ``usage`` from
``usage_metadata``, the model served, ``finish_reason`` "length" for an answer cut at max_tokens), so the
client validates, repairs, prices and logs it like any other answer; the body logged is that completion with
the whole raw message beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from metasift.errors import LLMError
from metasift.llm.provider import ChatRequest, ProviderError, ProviderReply, ProviderTimeout
from metasift.llm.structured import safe_name

if TYPE_CHECKING:
    from metasift.llm.settings import LLMSettings

# metasift's structured-output method -> LangChain's ``with_structured_output(method=...)``
LANGCHAIN_METHODS = {"json_schema": "json_schema", "json_object": "json_mode", "tools": "function_calling"}
_CUT_OFF = {"length", "max_tokens", "MAX_TOKENS"}  # finish/stop reasons meaning "cut at max_tokens"


class LangChainProvider:
    """Chat requests through one LangChain chat model (any ``BaseChatModel``)."""

    name = "langchain"

    def __init__(self, chat_model: Any, *, model: str = "") -> None:
        self._model = chat_model
        self._model_name = model
        self._runnables: dict[tuple[str, str], Any] = {}

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> LangChainProvider:
        """``init_chat_model`` for ``[llm] provider = "langchain:<model_provider>"`` and ``[llm] model``."""
        try:
            from langchain.chat_models import init_chat_model
        except ImportError:
            raise LLMError(f"[llm] provider = {settings.provider!r} needs LangChain: pip install "
                           "'metasift[langchain]' and the integration package (langchain-anthropic ...)") from None
        _, _, model_provider = settings.provider.partition(":")
        kwargs: dict[str, Any] = {"temperature": settings.temperature, "max_tokens": settings.max_tokens,
                                  "timeout": settings.timeout, "max_retries": 0}
        if settings.base_url:
            kwargs["base_url"] = settings.base_url
        try:
            chat_model = init_chat_model(settings.model, model_provider=model_provider.strip() or None, **kwargs)
        except (ImportError, ValueError) as exc:
            raise LLMError(f"[llm] provider = {settings.provider!r}: {exc}") from None
        return cls(chat_model, model=settings.model)

    def _runnable(self, request: ChatRequest) -> Any:
        """The chat model, or its structured-output wrapper for the request's method (built once per schema).
        Raises ``NotImplementedError`` / ``ValueError`` when the model cannot do the method."""
        method = LANGCHAIN_METHODS.get(request.method)
        if method is None:
            return self._model
        key = (request.method, request.schema_name)
        if key not in self._runnables:
            schema = {"description": "The whole answer.", **request.schema, "title": safe_name(request.schema_name)}
            self._runnables[key] = self._model.with_structured_output(schema, include_raw=True, method=method)
        return self._runnables[key]

    async def chat(self, request: ChatRequest) -> ProviderReply:
        """Invoke the model once; an error with an HTTP status is a reply, no answer a ``ProviderError``."""
        try:
            runnable = self._runnable(request)
        except (NotImplementedError, ValueError) as exc:
            return _refusal(request.method, exc)
        try:
            result = await runnable.ainvoke(request.messages)
        except NotImplementedError as exc:
            return _refusal(request.method, exc)
        except Exception as exc:
            return _classify(exc)
        raw = result.get("raw") if isinstance(result, dict) else result
        completion = _completion(raw, self._model_name or request.model)
        body = orjson.dumps({**completion, "raw_message": _dump(raw)}, default=str).decode()
        return ProviderReply(200, {}, body, completion)

    async def list_models(self) -> list[str]:
        raise LLMError("LangChain providers cannot list models: check the model name with the provider")

    async def aclose(self) -> None:
        """Nothing to close: LangChain integrations own their HTTP clients."""


def _refusal(method: str, exc: BaseException) -> ProviderReply:
    """A 400 in the words ``structured.refuses`` looks for, so the client falls back to the next method."""
    words = {"json_schema": "json_schema structured output", "json_object": "json_object (json mode)",
             "tools": "tools (function calling)"}.get(method, method)
    text = orjson.dumps({"error": {"message": f"{words} not supported by this model: {exc}"}}).decode()
    return ProviderReply(400, {}, text)


def _classify(exc: Exception) -> ProviderReply:
    """An integration's exception as a status reply (it carries ``status_code``) or a ``ProviderError``.

    Integrations wrap their vendor SDKs (anthropic, google-genai, boto3), whose error classes share a shape but
    no base: a status code and a response with headers (Retry-After) for an HTTP error; "Timeout" or
    "Connection" in the class name otherwise.
    """
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = dict(getattr(response, "headers", None) or {})
        text = getattr(response, "text", None)
        return ProviderReply(status, headers, text if isinstance(text, str) and text else str(exc))
    names = " ".join(cls.__name__ for cls in type(exc).__mro__)
    if isinstance(exc, TimeoutError) or "Timeout" in names:
        raise ProviderTimeout(str(exc) or "timed out") from exc
    if isinstance(exc, OSError) or "Connection" in names:
        raise ProviderError(str(exc) or type(exc).__name__) from exc
    raise exc


def _text(content: Any) -> str:
    """A message's text: the string, or the text blocks of a content list (Anthropic's shape) joined."""
    if isinstance(content, str):
        return content
    parts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content or []]
    return "".join(p for p in parts if isinstance(p, str))


def _completion(raw: Any, model: str) -> dict[str, Any]:
    """An ``AIMessage`` as an OpenAI chat completion: the client reads only this shape."""
    tool_calls = [{"id": c.get("id") or f"call_{i}", "type": "function",
                   "function": {"name": c.get("name", ""), "arguments": orjson.dumps(c.get("args", {})).decode()}}
                  for i, c in enumerate(getattr(raw, "tool_calls", None) or [])]
    content = _text(getattr(raw, "content", ""))
    if not content.strip() and tool_calls:  # a structured answer given as a tool call: the same JSON as content
        content = tool_calls[0]["function"]["arguments"]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    refusal = (getattr(raw, "additional_kwargs", None) or {}).get("refusal")
    if refusal:
        message["refusal"] = refusal
    meta = getattr(raw, "response_metadata", None) or {}
    finish = meta.get("finish_reason") or meta.get("stop_reason")
    completion: dict[str, Any] = {
        "object": "chat.completion", "model": meta.get("model_name") or meta.get("model") or model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "length" if finish in _CUT_OFF else (finish or "stop")}]}
    usage = getattr(raw, "usage_metadata", None)
    if usage:
        cached = (usage.get("input_token_details") or {}).get("cache_read")
        completion["usage"] = {"prompt_tokens": usage.get("input_tokens", 0),
                               "completion_tokens": usage.get("output_tokens", 0),
                               "prompt_tokens_details": {"cached_tokens": cached or 0}}
    return completion


def _dump(raw: Any) -> Any:
    """The raw message as plain data for the log (whatever it is)."""
    dump = getattr(raw, "model_dump", None)
    return dump() if callable(dump) else str(raw)
