"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests (real HTTP, background thread).

Replies come from a queue (``server.enqueue(...)``), else from ``server.rule(request)``; faults are just
replies (429 + Retry-After, 500, 400 "response_format not supported", ``delay`` for timeouts, a malformed
``body``, garbage ``content``, an answer cut at max_tokens (``finish_reason="length"``), a transfer that
breaks off (``cut_after``)). ``server.refuse`` makes it reject structured-output features the way vLLM or
llama.cpp do. Every request is kept in ``server.requests``; ``server.max_in_flight`` is the peak concurrency.

The Batch API too: ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}`` and ``/content``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``. Each retrieve moves a batch
one step along ``server.batch_statuses`` (validating -> in_progress -> completed by default; end it with
"failed" or "expired" instead); on reaching "completed" or "expired" every line of its input file is answered
by the same queue and rule as a chat request (``server.batch_lines`` keeps them), a reply with status >= 400
going to the error file, and with ``batch_expire_after = n`` only the first n lines before it expired.

    from tests.llm_server import llm_server  # noqa: F401  (the pytest fixture)
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """One scripted answer. ``answer`` is JSON sent as a tool call when the request forces one, else as content."""

    content: str | None = None
    answer: Any = None
    tool_call: dict[str, Any] | str | None = None  # function-call arguments (dict is JSON-encoded)
    tool_name: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    model: str | None = None  # the model "served"; default: the one requested
    usage: dict[str, int] | None = None  # {"prompt_tokens": .., "completion_tokens": ..}; default: len/4
    body: str | bytes | None = None  # sent verbatim instead of a chat completion (malformed JSON...)
    error: str | None = None  # error message for status >= 400
    refusal: str | None = None
    finish_reason: str | None = None  # default: "stop" (or "tool_calls"); "length" for an answer cut at max_tokens
    cut_after: int | None = None  # send only this many bytes of the body, then drop the connection


@dataclass
class ReceivedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])

    @property
    def response_format(self) -> str | None:
        """``json_schema``, ``json_object`` or None."""
        fmt = (self.body or {}).get("response_format")
        return fmt.get("type") if isinstance(fmt, dict) else None

    @property
    def forced_tool(self) -> str | None:
        """The function name the request forces, if any."""
        choice = (self.body or {}).get("tool_choice")
        if isinstance(choice, dict):
            return (choice.get("function") or {}).get("name")
        tools = (self.body or {}).get("tools") or []
        if choice == "required" and tools:
            return tools[0]["function"]["name"]
        return None

    @property
    def method_used(self) -> str:
        """Which structured-output method the request uses: json_schema, json_object, tools or text."""
        if self.response_format in ("json_schema", "json_object"):
            return self.response_format
        return "tools" if (self.body or {}).get("tools") else "text"

    @property
    def last_user(self) -> str:
        users = [m.get("content") or "" for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else ""


Rule = Callable[[ReceivedRequest], "Reply | dict[str, Any] | str | None"]

_REFUSALS = {
    "json_schema": "response_format type 'json_schema' is not supported by this server",
    "json_object": "response_format type 'json_object' is not supported",
    "tools": "tools and tool_choice are not supported for this model",
}


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops connections when 16 clients connect at once


class ScriptedLLMServer:
    """The server; ``base_url`` ends in ``/v1``. Start with ``start()``, stop with ``stop()``."""

    def __init__(self, model: str = "scripted-model") -> None:
        self.model = model
        self.queue: deque[Reply] = deque()
        self.rule: Rule | None = None
        self.refuse: set[str] = set()
        self.requests: list[ReceivedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._count = 0
        self.files: dict[str, dict[str, Any]] = {}  # id -> {"meta": file object, "content": bytes}
        self.batches: dict[str, dict[str, Any]] = {}  # id -> batch object (plus "_step")
        self.batch_statuses: list[str] = ["validating", "in_progress", "completed"]
        self.batch_expire_after: int | None = None  # lines answered before an "expired" batch expired
        self.batch_lines: list[ReceivedRequest] = []  # the input lines of batches, as answered
        self._httpd: ThreadingHTTPServer | None = None
        self._scheme = "http"
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------------
    def enqueue(self, **reply: Any) -> None:
        """Queue one reply (see ``Reply`` for the fields)."""
        with self._lock:
            self.queue.append(Reply(**reply))

    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self.queue)

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def requests_to(self, method: str, pattern: str) -> list[ReceivedRequest]:
        """Requests with this HTTP method whose path matches ``pattern`` (a regular expression)."""
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"{self._scheme}://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self, tls: ssl.SSLContext | None = None) -> ScriptedLLMServer:
        """Serve on a free 127.0.0.1 port; over HTTPS with ``tls`` (a server-side SSL context)."""
        handler = type("Handler", (_Handler,), {"scripted": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._scheme = "https" if tls is not None else "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- answering ---------------------------------------------------------------------------------
    def _next_reply(self, request: ReceivedRequest) -> Reply:
        for method, message in _REFUSALS.items():
            if method in self.refuse and request.method_used == method:
                return Reply(status=400, error=message)
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        if self.rule is not None:
            made = self.rule(request)
            if isinstance(made, Reply):
                return made
            if isinstance(made, str):
                return Reply(content=made)
            if made is not None:
                return Reply(answer=made)
        return Reply(status=500, error="scripted server: no reply queued and no rule for this request")

    def _completion(self, request: ReceivedRequest, reply: Reply) -> dict[str, Any]:
        with self._lock:
            self._count += 1
            n = self._count
        tool_args = reply.tool_call
        if tool_args is None and reply.answer is not None and request.forced_tool:
            tool_args = reply.answer
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": reply.refusal}
        if tool_args is not None:
            args = tool_args if isinstance(tool_args, str) else json.dumps(tool_args)
            name = reply.tool_name or request.forced_tool or "answer"
            message["tool_calls"] = [{"id": f"call_{n}", "type": "function",
                                      "function": {"name": name, "arguments": args}}]
            text, finish = args, "tool_calls"
        else:
            text = reply.content if reply.content is not None else (
                json.dumps(reply.answer) if reply.answer is not None else "")
            message["content"], finish = text, "stop"
        finish = reply.finish_reason or finish
        usage = reply.usage or {"prompt_tokens": max(1, len(json.dumps(request.messages)) // 4),
                                "completion_tokens": max(1, len(text) // 4)}
        usage = {**usage, "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)}
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": reply.model or (request.body or {}).get("model") or self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}


    # -- the Batch API ---------------------------------------------------------------------------
    def _add_file(self, content: bytes, purpose: str, filename: str) -> dict[str, Any]:
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            meta = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                    "filename": filename, "purpose": purpose, "status": "processed"}
            self.files[file_id] = {"meta": meta, "content": content}
        return meta

    def _create_batch(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        input_id = body.get("input_file_id")
        if input_id not in self.files:
            return 400, {"error": {"message": f"no file {input_id}", "type": "invalid_request_error"}}
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = [x for x in self.files[input_id]["content"].decode().splitlines() if x.strip()]
            batch = {"id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                     "input_file_id": input_id, "completion_window": body.get("completion_window"),
                     "status": self.batch_statuses[0], "output_file_id": None, "error_file_id": None,
                     "created_at": int(time.time()), "metadata": body.get("metadata"),
                     "request_counts": {"total": len(lines), "completed": 0, "failed": 0}, "_step": 0}
            self.batches[batch_id] = batch
        return 200, _public(batch)

    def _advance_batch(self, batch_id: str) -> dict[str, Any] | None:
        """The batch one step further along ``batch_statuses``; answered when it gets there."""
        batch = self.batches.get(batch_id)
        if batch is None:
            return None
        if batch["status"] not in ("completed", "failed", "expired", "cancelled"):
            batch["_step"] = min(batch["_step"] + 1, len(self.batch_statuses) - 1)
            batch["status"] = self.batch_statuses[batch["_step"]]
            if batch["status"] == "failed":
                batch["errors"] = {"object": "list", "data": [{"code": "invalid_request", "line": 1,
                                                               "message": "scripted: the input file is invalid"}]}
            if batch["status"] in ("completed", "expired"):
                self._answer_batch(batch)
        return _public(batch)

    def _answer_batch(self, batch: dict[str, Any]) -> None:
        """Answer every input line with the scripted queue and rule; write the output and error files."""
        lines = [json.loads(x) for x in self.files[batch["input_file_id"]]["content"].decode().splitlines()
                 if x.strip()]
        out, err = [], []
        for n, line in enumerate(lines):
            rid = f"batch_req_{batch['id']}_{n}"
            if batch["status"] == "expired" and n >= (self.batch_expire_after or 0):
                err.append({"id": rid, "custom_id": line["custom_id"], "response": None, "error": {
                    "code": "batch_expired", "message": "This request could not be executed before the "
                                                        "completion window expired."}})
                continue
            request = ReceivedRequest("POST", line["url"], {}, line["body"], time.monotonic())
            self.batch_lines.append(request)
            reply = self._next_reply(request)
            if reply.status >= 400:
                body = {"error": {"message": reply.error or HTTPStatus(reply.status).phrase,
                                  "type": "server_error", "param": None, "code": None}}
                err.append({"id": rid, "custom_id": line["custom_id"], "error": None,
                            "response": {"status_code": reply.status, "request_id": rid, "body": body}})
                continue
            out.append({"id": rid, "custom_id": line["custom_id"], "error": None, "response": {
                "status_code": 200, "request_id": rid, "body": self._completion(request, reply)}})

        def jsonl(rows: list[dict[str, Any]]) -> bytes:
            return "".join(json.dumps(r) + "\n" for r in rows).encode()

        if out:
            batch["output_file_id"] = self._add_file(jsonl(out), "batch_output", "output.jsonl")["id"]
        if err:
            batch["error_file_id"] = self._add_file(jsonl(err), "batch_output", "errors.jsonl")["id"]
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch object as the API shows it (without the server's bookkeeping)."""
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return parts


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedLLMServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
              cut_after: int | None = None) -> None:
        try:
            self.send_response(status)
            merged = {"Content-Type": "application/json", **(headers or {})}
            for key, value in merged.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if cut_after is not None:  # a transfer that breaks off: Content-Length promised more
                self.wfile.write(payload[:cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def _record(self, body: Any) -> ReceivedRequest:
        request = ReceivedRequest(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
        with self.scripted._lock:
            self.scripted.requests.append(request)
        return request

    def do_GET(self) -> None:
        self._record(None)
        server, path = self.scripted, self.path.split("?")[0].rstrip("/")
        if path.endswith("/models"):
            data = {"object": "list", "data": [{"id": self.scripted.model, "object": "model", "created": 0,
                                                 "owned_by": "scripted"}]}
            self._send(200, json.dumps(data).encode())
        elif (m := re.search(r"/files/([^/]+)/content$", path)) and m.group(1) in server.files:
            self._send(200, server.files[m.group(1)]["content"], {"Content-Type": "application/octet-stream"})
        elif (m := re.search(r"/files/([^/]+)$", path)) and m.group(1) in server.files:
            self._send(200, json.dumps(server.files[m.group(1)]["meta"]).encode())
        elif (m := re.search(r"/batches/([^/]+)$", path)) and m.group(1) in server.batches:
            try:
                self._send(200, json.dumps(server._advance_batch(m.group(1))).encode())
            except Exception as exc:
                self._send(500, json.dumps({"error": {"message": f"scripted server: {exc!r}"}}).encode())
        else:
            self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())

    def _batch_post(self, raw: bytes) -> bool:
        """Answer a Batch API POST (file upload, batch create or cancel); False for any other path."""
        server, path = self.scripted, self.path.split("?")[0].rstrip("/")
        if path.endswith("/files"):
            parts = _multipart(self.headers.get("Content-Type", ""), raw)
            filename, content = parts.get("file", (None, b""))
            purpose = parts.get("purpose", (None, b""))[1].decode()
            self._record({"purpose": purpose, "filename": filename, "content": content.decode()})
            if not content or purpose != "batch":
                self._send(400, json.dumps({"error": {"message": "a file and purpose=batch are needed"}}).encode())
                return True
            self._send(200, json.dumps(server._add_file(content, purpose, filename or "upload.jsonl")).encode())
            return True
        if path.endswith("/batches"):
            body = json.loads(raw or b"null")
            self._record(body)
            status, answer = server._create_batch(body or {})
            self._send(status, json.dumps(answer).encode())
            return True
        if (m := re.search(r"/batches/([^/]+)/cancel$", path)) and m.group(1) in server.batches:
            self._record(None)
            batch = server.batches[m.group(1)]
            batch["status"] = "cancelled"
            self._send(200, json.dumps(_public(batch)).encode())
            return True
        return False

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._batch_post(raw):
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        request = self._record(body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
            return
        server = self.scripted
        with server._lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            reply = server._next_reply(request) if body is not None else Reply(status=400, error="invalid JSON")
            if reply.delay:
                time.sleep(reply.delay)
            if reply.body is not None:
                payload = reply.body if isinstance(reply.body, bytes) else reply.body.encode()
            elif reply.status >= 400:
                message = reply.error or HTTPStatus(reply.status).phrase
                payload = json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                                "param": None, "code": reply.status}}).encode()
            else:
                payload = json.dumps(server._completion(request, reply)).encode()
            self._send(reply.status, payload, reply.headers, reply.cut_after)
        finally:
            with server._lock:
                server.in_flight -= 1


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    """A started scripted server, stopped after the test."""
    server = ScriptedLLMServer().start()
    try:
        yield server
    finally:
        server.stop()
