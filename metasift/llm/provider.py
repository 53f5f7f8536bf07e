"""The provider interface: how the client reaches a model, and the registry that picks one from ``[llm] provider``.

A provider moves one chat request to a model and hands back what came back, uninterpreted: the HTTP status,
the headers, the raw body and (for a 200) the answer as an OpenAI-shaped chat completion. It never retries
and never decides what a 429 or a 400 means: ``metasift.llm.client`` does, the same way for every provider.
A request that got no answer at all raises ``ProviderError`` (``ProviderTimeout`` when time ran out), with
the underlying exception kept in its ``__context__`` chain so the client can name the cause (connection
refused, DNS, TLS).

Providers, like simonw/llm's model plugins, register under a name:

- ``openai`` (default): the openai SDK's ``AsyncOpenAI`` against any OpenAI-compatible endpoint, or
  ``AsyncAzureOpenAI`` (the ``api-key`` header) when the base URL is an Azure OpenAI resource;
- ``azure``: ``AsyncAzureOpenAI`` whatever the URL looks like;
- ``langchain:<model_provider>`` (``langchain:anthropic``, ``langchain:google_genai``, ``langchain:bedrock_converse``
  ...): LangChain's ``init_chat_model`` from the optional ``metasift[langchain]`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from metasift.errors import LLMError

if TYPE_CHECKING:
    from metasift.llm.settings import LLMSettings


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completions request as the client means it.

    ``extra`` holds the OpenAI request fields of the structured-output method (``response_format``, or
    ``tools`` + ``tool_choice``); ``method``, ``schema_name`` and ``schema`` say the same thing for providers
    that ask for structure their own way. ``token_param`` names the field carrying ``max_tokens``
    (``max_completion_tokens`` for newer OpenAI models).
    """

    model: str
    messages: list[dict[str, Any]]
    temperature: float
    max_tokens: int
    method: str = "text"
    schema_name: str = "answer"
    schema: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    token_param: str = "max_tokens"

    def openai_body(self) -> dict[str, Any]:
        """The request as an OpenAI chat-completions body."""
        return {"model": self.model, "messages": self.messages, "temperature": self.temperature,
                self.token_param: self.max_tokens, **self.extra}


@dataclass(frozen=True)
class ProviderReply:
    """What came back, uninterpreted: for a 200, ``completion`` is the parsed chat completion (OpenAI's
    shape: ``choices[0].message``, ``model``, ``usage``) or None when the body is not JSON."""

    status: int
    headers: dict[str, str]
    text: str
    completion: Any = None


class ProviderError(Exception):
    """The request never got an answer (refused, reset, DNS, TLS ...); the cause stays in the chain."""


class ProviderTimeout(ProviderError):
    """No complete answer within the timeout."""


class Provider(Protocol):
    """Sends chat requests to one endpoint. Made inside the event loop that uses it; ``aclose()`` after."""

    name: str

    async def chat(self, request: ChatRequest) -> ProviderReply:
        """Send ``request`` once (no retries): an HTTP error status is a reply, no answer is ``ProviderError``."""
        ...

    async def list_models(self) -> list[str]:
        """Model ids the endpoint offers: a cheap connectivity check (``LLMError`` when it cannot say)."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...


ProviderFactory = Callable[["LLMSettings", str], Provider]


def _openai(settings: LLMSettings, api_key: str) -> Provider:
    from metasift.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(settings, api_key)


def _azure(settings: LLMSettings, api_key: str) -> Provider:
    from metasift.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(settings, api_key, azure=True)


def _langchain(settings: LLMSettings, api_key: str) -> Provider:
    from metasift.llm.langchain_provider import LangChainProvider

    return LangChainProvider.from_settings(settings)


PROVIDERS: dict[str, ProviderFactory] = {"openai": _openai, "azure": _azure, "langchain": _langchain}


def provider_family(name: str) -> str:
    """The registry key of a provider name: ``langchain:anthropic`` -> ``langchain``."""
    return name.split(":", 1)[0].strip().lower()


def make_provider(settings: LLMSettings, api_key: str) -> Provider:
    """The provider ``settings.provider`` names (an unknown name is an ``LLMError`` listing the known ones)."""
    factory = PROVIDERS.get(provider_family(settings.provider))
    if factory is None:
        known = ", ".join(f'"{n}"' for n in ("openai", "azure", "langchain:<model_provider>"))
        raise LLMError(f"[llm] provider = {settings.provider!r} is not known: use {known}")
    return factory(settings, api_key)
