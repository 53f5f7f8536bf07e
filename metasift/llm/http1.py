"""A lean HTTP/1.1 keep-alive client for one endpoint: an asyncio protocol around httptools' parser.

Why it exists: screening must cost the client under 5 % of wall time at 16 requests in flight. At that load
aiohttp spent 0.30-0.48 ms of CPU per request (JSON encoding included) on its request and response
objects; this spends ~0.14 ms, with the parsing done by httptools (llhttp, the parser Node.js and uvicorn
use). With it (and the GC settings of ``metasift.llm.batch``) a 10,000-record run costs the client 4.5 % of
wall time instead of 7.4 % (``bench/bench_screen_llm.py``). Its scope is deliberately narrow — what a
chat-completions endpoint needs:

- POST / GET to the one endpoint, a pool of keep-alive connections (at most ``connections``);
- http and https (certificates as ``transport.ssl_context`` finds them), Content-Length, chunked and
  read-until-close bodies, gzip / deflate;
- one total timeout per request, covering connect, TLS, send and receive;
- a reused connection the server had already closed is retried once on a fresh one (nothing was answered).

No proxies (``make_transport`` hands a proxied endpoint to aiohttp), no redirects (a 3xx comes back as a
status, as any other), no HTTP/2. Every failure is a ``TransportError`` / ``TransportTimeout``.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any
from urllib.parse import urlsplit

import httptools

from metasift import __version__
from metasift.llm.transport import RawResponse, TransportError, TransportTimeout, dumps, ssl_context


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; answers one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.answered = False  # has delivered at least one answer (so a failure may be a stale keep-alive)
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[RawResponse] | None = None
        self._reset()

    def _reset(self) -> None:
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._got_bytes = False
        self._headers_done = False

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.open = transport, True  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(TransportError("the server switched protocols; expected an HTTP/1.1 answer"))
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"malformed HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and "content-length" not in self._headers \
                and "chunked" not in self._headers.get("transfer-encoding", "").lower():
            self.on_message_complete()  # a body that ends when the server closes the connection
            return
        why = "the server closed the connection before answering" if not self._got_bytes \
            else "the connection broke off mid-answer"
        self._fail(_StaleConnection(why) if self.answered and not self._got_bytes else TransportError(why))

    # -- httptools callbacks ---------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        status, headers, body = self._parser.get_status_code(), self._headers, b"".join(self._body)
        if not self._parser.should_keep_alive():
            self.close()
        self._reset()
        if waiter is None or waiter.done():
            return
        try:
            text = _decode(body, headers.get("content-encoding", ""))
        except zlib.error as exc:
            waiter.set_exception(TransportError(f"could not decompress the answer: {exc}"))
            return
        self.answered = True
        waiter.set_result(RawResponse(status, headers, text))

    # -- use -------------------------------------------------------------------------------------
    async def request(self, data: bytes) -> RawResponse:
        """Send one request's bytes and wait for its answer."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class _StaleConnection(TransportError):
    """A kept-alive connection the server had closed before our request reached it."""


class Http1Transport:
    """Keep-alive HTTP/1.1 connections to one endpoint; create it inside the event loop that uses it."""

    def __init__(self, endpoint: str, api_key: str, *, timeout: float, connections: int) -> None:
        parts = urlsplit(endpoint.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http(s) URL: {endpoint!r}")
        if any(c in api_key for c in "\r\n"):
            raise TransportError("the API key contains a line break")
        self._host, self._tls = parts.hostname, parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix, self._query = parts.path, f"?{parts.query}" if parts.query else ""
        self._ssl = ssl_context() if self._tls else None
        self._timeout = timeout
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._headers = (f"Host: {host if default_port else f'{host}:{self._port}'}\r\n"
                         f"Authorization: Bearer {api_key}\r\nAccept: application/json\r\n"
                         f"Accept-Encoding: gzip, deflate\r\nUser-Agent: metasift/{__version__}\r\n")
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max(1, connections))

    async def post_json(self, path: str, body: dict[str, Any]) -> RawResponse:
        return await self._request("POST", path, dumps(body))

    async def get(self, path: str) -> RawResponse:
        return await self._request("GET", path, None)

    async def _request(self, method: str, path: str, body: bytes | None) -> RawResponse:
        head = f"{method} {self._prefix}{path}{self._query} HTTP/1.1\r\n{self._headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        data = (head + "\r\n").encode("latin-1") + (body or b"")
        try:
            async with self._slots, asyncio.timeout(self._timeout):
                try:
                    return await self._send(data, fresh=False)
                except _StaleConnection:
                    return await self._send(data, fresh=True)
        except TimeoutError:
            raise TransportTimeout(f"timed out after {self._timeout:g} s") from None

    async def _send(self, data: bytes, *, fresh: bool) -> RawResponse:
        conn = None if fresh else self._take_idle()
        if conn is None:
            conn = await self._connect()
        try:
            response = await conn.request(data)
        except BaseException:  # failed, timed out or cancelled mid-request: the connection is unusable
            conn.close()
            raise
        if conn.open:
            self._idle.append(conn)
        return response

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.open and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._ssl,
                server_hostname=self._host if self._tls else None)
        except OSError as exc:  # refused, unreachable, DNS (socket.gaierror), certificate (ssl.SSLError)
            raise TransportError(str(exc) or type(exc).__name__) from None
        return conn

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _decode(body: bytes, encoding: str) -> str:
    """The body as text, undoing gzip / deflate content coding."""
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error:  # some servers send raw deflate without the zlib wrapper
            body = zlib.decompress(body, -zlib.MAX_WBITS)
    return body.decode("utf-8", errors="replace")
