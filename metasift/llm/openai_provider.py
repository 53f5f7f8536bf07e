"""The default provider: the openai SDK (``AsyncOpenAI``, or ``AsyncAzureOpenAI`` for an Azure OpenAI resource).

One SDK client per ``LLMClient`` (so one per batch), its HTTP pool capped at ``[llm] concurrency``
connections, its own retries off (``max_retries=0``: every retry decision is metasift's). Requests go through
``chat.completions.with_raw_response.create``, so the SDK builds and sends the request (auth headers, Azure's
deployment paths and ``api-version``, proxies from ``HTTPS_PROXY`` / ``NO_PROXY``, certificates from
``SSL_CERT_FILE``, as httpx does with ``trust_env``) but the body is read back as raw text: the exchange log
keeps exactly what the endpoint sent, and a malformed body is the client's to judge. The body goes out with
the SDK's ``post(..., cast_to=Response)`` (its documented way to send any request) rather than
``chat.completions.create``: the same headers, paths and errors, without ``create``'s per-call walk over the
typed parameters (about a third of the SDK's CPU per request in ``bench/bench_screen_llm.py``), and a local
server's extra fields pass through as they are.

Azure: a base URL on ``*.openai.azure.com`` or ``*.cognitiveservices.azure.com`` (or ``[llm] provider =
"azure"``) gets ``AsyncAzureOpenAI`` with the ``api-key`` header, ``[llm] api_version`` (default
``AZURE_API_VERSION``) and the model name as the deployment. A URL ending in ``/openai/v1`` (Azure's v1 API)
is an ordinary OpenAI-compatible endpoint and needs neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from metasift import __version__
from metasift.errors import LLMError
from metasift.llm.provider import ChatRequest, ProviderError, ProviderReply, ProviderTimeout

if TYPE_CHECKING:
    from metasift.llm.settings import LLMSettings

AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com")
AZURE_API_VERSION = "2024-10-21"  # the latest GA data-plane version of Azure OpenAI's dated API


def is_azure_url(url: str) -> bool:
    """True when ``url`` is an Azure OpenAI resource (``https://NAME.openai.azure.com/...``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.endswith(AZURE_HOSTS)


def is_azure_v1(url: str) -> bool:
    """True for Azure's v1 API (``.../openai/v1``): OpenAI-compatible, no ``api-version``, no deployment path."""
    return urlsplit(url).path.rstrip("/").endswith("/openai/v1")


def azure_endpoint(url: str) -> str:
    """The resource URL ``AsyncAzureOpenAI`` wants: scheme and host, without ``/openai/...``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class OpenAIProvider:
    """Chat completions through the openai SDK; create it inside the event loop that uses it."""

    name = "openai"

    def __init__(self, settings: LLMSettings, api_key: str, *, azure: bool = False) -> None:
        import openai  # imported here: CLI commands that never call a model should not pay for it

        self._openai = openai
        self._timeout = settings.timeout
        endpoint = settings.endpoint
        # Limits and Response come from whichever httpx the SDK is built on (httpx for openai 1.x, httpx2 later)
        limits_class = type(openai.DEFAULT_CONNECTION_LIMITS)
        self._response = importlib.import_module(limits_class.__module__.partition(".")[0]).Response
        limits = limits_class(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
        http_client = openai.DefaultAsyncHttpxClient(limits=limits)
        common: dict[str, Any] = {"api_key": api_key, "timeout": settings.timeout, "max_retries": 0,
                                  "http_client": http_client,
                                  "default_headers": {"User-Agent": f"metasift/{__version__}"}}
        azure = azure or (is_azure_url(endpoint) and not is_azure_v1(endpoint))
        if azure:
            if settings.base_url is None:
                raise LLMError('[llm] provider = "azure" needs base_url = "https://RESOURCE.openai.azure.com"')
            self.name = "azure"
            self._client: Any = openai.AsyncAzureOpenAI(
                azure_endpoint=azure_endpoint(endpoint), api_version=settings.api_version or AZURE_API_VERSION,
                **common)
        else:
            self._client = openai.AsyncOpenAI(base_url=endpoint, **common)

    async def chat(self, request: ChatRequest) -> ProviderReply:
        """POST one chat completion; an HTTP error status is a reply, no answer at all a ``ProviderError``."""
        openai = self._openai
        try:
            raw = await self._client.post("/chat/completions", body=request.openai_body(), cast_to=self._response)
        except openai.APITimeoutError:
            raise ProviderTimeout(f"timed out after {self._timeout:g} s") from None
        except openai.APIStatusError as exc:  # RateLimitError (429) too: Retry-After is in the headers
            return ProviderReply(exc.status_code, dict(exc.response.headers), exc.response.text)
        except openai.APIConnectionError as exc:
            # raised while handling the exception, so the OS/TLS error stays in the __context__ chain
            raise ProviderError(str(exc.__cause__ or exc)) from None
        text = raw.text
        try:
            completion = orjson.loads(text)
        except orjson.JSONDecodeError:
            completion = None
        return ProviderReply(raw.status_code, dict(raw.headers), text, completion)

    async def list_models(self) -> list[str]:
        """``GET /models``: the model ids, or an ``LLMError`` naming what went wrong."""
        openai = self._openai
        try:
            raw = await self._client.get("/models", cast_to=self._response)
            return [str(m["id"]) for m in orjson.loads(raw.text)["data"]]
        except openai.APIStatusError as exc:
            raise LLMError(f"HTTP {exc.status_code}: {_short(exc.response.text)}") from None
        except openai.APIConnectionError as exc:
            raise LLMError(str(exc.__cause__ or exc)) from None
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise LLMError(f"the answer is not a model list: {_short(raw.text)}") from None

    async def aclose(self) -> None:
        await self._client.close()


def _short(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
