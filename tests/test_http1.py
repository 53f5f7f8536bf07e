"""metasift's own HTTP/1.1 transport against raw servers on 127.0.0.1 that answer in the ways real ones do.

The chat-completions behaviour (retries, timeouts, TLS, refusals) is covered for every transport in
test_llm_client.py; these tests pin the HTTP details: keep-alive reuse, a server that drops idle connections,
chunked / gzip / read-until-close bodies, garbage on the wire, and the proxy hand-off to aiohttp.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import pytest

from metasift.llm.http1 import Http1Transport
from metasift.llm.transport import AiohttpTransport, TransportError, TransportTimeout, make_transport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head and body from the wire (None at EOF)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


def ok(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


async def serve(handler: Handler, run: Callable[[str], Awaitable[None]],
                seen: list[bytes] | None = None) -> list[int]:
    """Start a raw server, run ``run(base_url)``, stop; returns requests served per connection.

    ``handler(reader, writer, n)`` answers the n-th request (counted over all connections) and says
    whether to keep the connection open."""
    served: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(0)
        me = len(served) - 1
        try:
            while (request := await read_request(reader)) is not None:
                served[me] += 1
                if seen is not None:
                    seen.append(request)
                if not await handler(reader, writer, sum(served)):
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await run(f"http://127.0.0.1:{port}/v1")
    return served


def transport(url: str, connections: int = 4, timeout: float = 5.0) -> Http1Transport:
    return Http1Transport(url, "sk-test", timeout=timeout, connections=connections)


def test_keeps_one_connection_alive_for_sequential_requests_and_sends_the_request_right() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(ok(b'{"n": %d}' % n))
        return True

    async def run(url: str) -> None:
        t = transport(url)
        for i in range(5):
            r = await t.post_json("/chat/completions", {"i": i, "text": "é"})
            assert (r.status, r.text) == (200, f'{{"n": {i + 1}}}')
            assert r.headers["content-type"] == "application/json"
        await t.aclose()

    assert asyncio.run(serve(handler, run, seen)) == [5]
    head, body = seen[0].split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    assert "Authorization: Bearer sk-test" in lines and "Content-Type: application/json" in lines
    assert body == '{"i":0,"text":"é"}'.encode()


def test_a_connection_the_server_dropped_while_idle_is_retried_on_a_fresh_one() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(ok(b"{}"))  # claims keep-alive, then closes once the client is idle
        await writer.drain()
        return False

    async def run(url: str) -> None:
        t = transport(url, connections=1)
        assert (await t.post_json("/x", {})).status == 200
        await asyncio.sleep(0.05)  # the server's close reaches us ...
        assert (await t.post_json("/x", {})).status == 200
        t._idle[0].open = True  # ... or, racing it, we pick the dead connection: still one retry
        assert (await t.post_json("/x", {})).status == 200
        await t.aclose()

    assert asyncio.run(serve(handler, run)) == [1, 1, 1]


def test_chunked_gzip_and_read_until_close_bodies() -> None:
    payload = b'{"choices": [], "note": "' + b"x" * 5000 + b'"}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:  # chunked, in two chunks
            half = len(payload) // 2
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (payload[:half], payload[half:]):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            return True
        if n == 2:  # gzip content coding
            body = gzip.compress(payload)
            writer.write(ok(body, "Content-Encoding: gzip\r\n"))
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload)  # the body ends at close
        await writer.drain()
        return False

    async def run(url: str) -> None:
        t = transport(url, connections=1)
        for _ in range(3):
            r = await t.post_json("/x", {})
            assert r.status == 200 and r.text == payload.decode()
        await t.aclose()

    assert asyncio.run(serve(handler, run)) == [3]


def test_garbage_and_a_broken_answer_are_transport_errors_and_a_silent_server_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            return True
        if n == 2:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut")
            await writer.drain()
            return False
        await asyncio.sleep(2)
        return False

    async def run(url: str) -> None:
        t = transport(url, connections=1, timeout=0.5)
        with pytest.raises(TransportError, match="malformed HTTP answer"):
            await t.post_json("/x", {})
        with pytest.raises(TransportError, match="broke off mid-answer"):
            await t.post_json("/x", {})
        with pytest.raises(TransportTimeout, match="timed out after 0.5 s"):
            await t.post_json("/x", {})
        await t.aclose()

    served = asyncio.run(serve(handler, run))
    assert sum(served) == 3


def test_never_more_connections_than_allowed() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(0.02)
        writer.write(ok(b"{}"))
        return True

    async def run(url: str) -> None:
        t = transport(url, connections=3)
        answers = await asyncio.gather(*(t.post_json("/x", {}) for _ in range(30)))
        assert all(a.status == 200 for a in answers)
        await t.aclose()

    served = asyncio.run(serve(handler, run))
    assert len(served) == 3 and sum(served) == 30


def test_refused_connection_and_bad_settings_are_one_line_errors() -> None:
    async def run() -> None:
        t = transport("http://127.0.0.1:9/v1")  # discard port: nothing listens
        with pytest.raises(TransportError) as err:
            await t.post_json("/x", {})
        assert "\n" not in str(err.value)

    asyncio.run(run())
    with pytest.raises(TransportError, match="not an http"):
        transport("ftp://example.org")
    with pytest.raises(TransportError, match="line break"):
        Http1Transport("http://127.0.0.1/v1", "sk\r\nX-Evil: 1", timeout=1, connections=1)


def test_a_proxied_endpoint_goes_through_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    async def kinds() -> tuple[type, type]:
        direct = make_transport("http1", "https://api.example.org/v1", "k", timeout=1, connections=1)
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
        proxied = make_transport("http1", "https://api.example.org/v1", "k", timeout=1, connections=1)
        for t in (direct, proxied):
            await t.aclose()
        return type(direct), type(proxied)

    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert asyncio.run(kinds()) == (Http1Transport, AiohttpTransport)
