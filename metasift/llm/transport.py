"""HTTP transports for the chat-completions endpoint: POST a JSON body, get back status, headers and text.

Three interchangeable transports, chosen by ``[llm] transport``:

- ``http1`` (default): metasift's lean keep-alive HTTP/1.1 client (``metasift.llm.http1``, httptools'
  parser), ~0.14 ms of client CPU per request at 16 in flight. An endpoint the environment routes through a
  proxy (``HTTPS_PROXY`` / ``NO_PROXY``) goes through aiohttp instead.
- ``aiohttp``: a bare aiohttp session, 0.30-0.48 ms per request, against ~2.6 ms for the openai SDK
  (``bench/bench_screen_llm.py``).
- ``openai``: the openai SDK's own HTTP stack (``AsyncOpenAI.post`` with the raw response, so the SDK neither
  rewrites the request nor builds response objects) for endpoints that need the SDK's manners.

Both raise only ``TransportTimeout`` / ``TransportError``; every HTTP status comes back as a
``RawResponse`` so the client alone decides what a 429 or a 400 means.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from metasift import __version__


@dataclass(frozen=True)
class RawResponse:
    """One HTTP answer, uninterpreted."""

    status: int
    headers: dict[str, str]
    text: str


class TransportError(Exception):
    """The request never got an HTTP answer (refused, reset, DNS...)."""


class TransportTimeout(TransportError):
    """No complete answer within the timeout."""


class Transport(Protocol):
    async def post_json(self, path: str, body: dict[str, Any]) -> RawResponse: ...
    async def get(self, path: str) -> RawResponse: ...
    async def aclose(self) -> None: ...


def dumps(body: dict[str, Any]) -> bytes:
    """The request body as compact UTF-8 JSON (orjson: a tenth of the stdlib's cost on a 4 KB prompt)."""
    return orjson.dumps(body)


class AiohttpTransport:
    """A keep-alive aiohttp session to one endpoint; create it inside the event loop that uses it."""

    def __init__(self, endpoint: str, api_key: str, *, timeout: float, connections: int) -> None:
        import aiohttp  # imported here: CLI commands that never call a model should not pay for it

        self._aiohttp = aiohttp
        self._endpoint = endpoint.rstrip("/")
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                         "Accept": "application/json", "User-Agent": f"metasift/{__version__}"}
        # HTTPS_PROXY / NO_PROXY are honoured as the openai SDK (httpx) does, but looked up once here: with
        # trust_env aiohttp would also read ~/.netrc in a thread for every request
        self._proxy, self._proxy_auth = _env_proxy(self._endpoint)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, ssl=ssl_context()),
            timeout=aiohttp.ClientTimeout(total=timeout))

    async def post_json(self, path: str, body: dict[str, Any]) -> RawResponse:
        return await self._request("POST", path, dumps(body))

    async def get(self, path: str) -> RawResponse:
        return await self._request("GET", path, None)

    async def _request(self, method: str, path: str, data: bytes | None) -> RawResponse:
        try:
            async with self._session.request(method, self._endpoint + path, data=data, headers=self._headers,
                                             proxy=self._proxy, proxy_auth=self._proxy_auth) as resp:
                raw = await resp.read()
                return RawResponse(resp.status, dict(resp.headers), raw.decode("utf-8", errors="replace"))
        except TimeoutError:
            raise TransportTimeout(f"timed out after {self._timeout:g} s") from None
        except (self._aiohttp.ClientError, OSError) as exc:
            raise TransportError(str(exc) or type(exc).__name__) from None

    async def aclose(self) -> None:
        await self._session.close()


def ssl_context() -> ssl.SSLContext:
    """Certificates as the openai SDK (httpx) finds them: ``SSL_CERT_FILE`` if set, else certifi's bundle
    (so HTTPS works on a Python without system certificates, such as python.org's macOS builds)."""
    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi
        except ImportError:
            return ssl.create_default_context()
        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile)


def _env_proxy(endpoint: str) -> tuple[str | None, Any]:
    """The proxy (and its credentials) the environment sets for ``endpoint``, or (None, None)."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        proxy, auth = get_env_proxy_for_url(URL(endpoint))
    except LookupError:
        return None, None
    return str(proxy), auth


class OpenAITransport:
    """The openai SDK's HTTP client (its own retries off: the caller retries)."""

    def __init__(self, endpoint: str, api_key: str, *, timeout: float, connections: int) -> None:
        import httpx
        import openai

        self._openai = openai
        self._httpx = httpx
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=endpoint, timeout=timeout, max_retries=0)
        self._timeout = timeout

    async def post_json(self, path: str, body: dict[str, Any]) -> RawResponse:
        return await self._call(self._client.post(path, body=body, cast_to=self._httpx.Response))

    async def get(self, path: str) -> RawResponse:
        return await self._call(self._client.get(path, cast_to=self._httpx.Response))

    async def _call(self, request: Any) -> RawResponse:
        openai = self._openai
        try:
            resp = await request
        except openai.APITimeoutError:
            raise TransportTimeout(f"timed out after {self._timeout:g} s") from None
        except openai.APIStatusError as exc:
            return RawResponse(exc.status_code, dict(exc.response.headers), exc.response.text)
        except openai.APIConnectionError as exc:
            raise TransportError(str(exc.__cause__ or exc)) from None
        except TimeoutError:
            raise TransportTimeout(f"timed out after {self._timeout:g} s") from None
        return RawResponse(resp.status_code, dict(resp.headers), resp.text)

    async def aclose(self) -> None:
        await self._client.close()


def make_transport(kind: str, endpoint: str, api_key: str, *, timeout: float, connections: int) -> Transport:
    """The transport named by ``[llm] transport``; ``http1`` hands an endpoint behind a proxy to aiohttp."""
    if kind == "openai":
        return OpenAITransport(endpoint, api_key, timeout=timeout, connections=connections)
    if kind == "http1" and _env_proxy(endpoint)[0] is None:
        from metasift.llm.http1 import Http1Transport

        return Http1Transport(endpoint, api_key, timeout=timeout, connections=connections)
    return AiohttpTransport(endpoint, api_key, timeout=timeout, connections=connections)
