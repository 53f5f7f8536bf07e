"""The async client for any OpenAI-compatible chat-completions endpoint.

One ``complete()`` call: disk cache lookup, then the structured-output methods in fallback order, each
attempt bounded by a semaphore and the budget, retried with backoff (honouring Retry-After) on 429/5xx/
timeouts/connection errors/malformed bodies, one repair retry for an answer that does not validate, and an
``Exchange`` for every attempt handed to ``on_exchange``. Requests go through a ``Provider``
(``metasift.llm.provider``: the openai SDK by default, its own retries off), which only moves them: every
retry decision is made here, the same way for every provider.

A dead endpoint fails loudly instead of turning every call into an error: after ``GIVE_UP_AFTER`` calls in a
row that got no usable answer on any attempt (connection refused, DNS, TLS, timeouts, 5xx/429, garbage
bodies) the client raises ``EndpointError`` and sends nothing more; so does a 401/403/404. Until the endpoint
has answered once, a refused connection (or DNS/TLS failure) is retried within about a second rather than
with the full backoff, so a wrong ``base_url`` fails in a second or two rather than minutes.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import random
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Self, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from metasift.errors import LLMError
from metasift.llm.cache import DiskCache, key_for, settings_key_prefix
from metasift.llm.cost import Budget, MissingPrice, Usage, cost_of, find_price
from metasift.llm.exchange import Exchange, LLMOutcome, utc_now
from metasift.llm.provider import (
    ChatRequest,
    Provider,
    ProviderError,
    ProviderTimeout,
    make_provider,
    provider_family,
)
from metasift.llm.retry import backoff_delay, is_retryable_status, parse_retry_after
from metasift.llm.settings import LLMSettings
from metasift.llm.structured import (
    METHODS,
    Method,
    Plan,
    answer_text,
    plan,
    refuses,
    repair_messages,
    validate_answer,
)

if TYPE_CHECKING:
    from metasift.templates import PromptTemplate

T = TypeVar("T", bound=BaseModel)
ExchangeHook = Callable[[Exchange], None]

GIVE_UP_AFTER = 3  # calls in a row with no usable answer on any attempt before the endpoint counts as down
_UNREACHED_DELAY = (0.1, 0.5)  # backoff (base, cap) in seconds for a hard connection error before any answer


class EndpointError(LLMError):
    """The endpoint is down or turns every request away (unreachable, key rejected, model unknown, or calls
    failing in a row): nothing more is sent. What was answered before stays answered. Exit code 6, as
    ``LLMError`` ("the configured endpoint failed"); the message names the cause and the endpoint."""


def _fatal_status(status: int, endpoint: str, model: str, key_env: str, body: str) -> EndpointError | None:
    """The error for an HTTP status that every later request would get too (401, 403, 404), else None."""
    hints = {401: f"the API key was rejected: check {key_env}",
             403: f"check {key_env} and whether it may use model {model!r}",
             404: f"check base_url and the model name {model!r}"}
    if status not in hints:
        return None
    return EndpointError(f"HTTP {status} {_phrase(status)} at {endpoint}: {hints[status]} ({_error_message(body)})")


class MethodMemory:
    """Per endpoint and model, the structured-output method to start with (methods refused before are skipped)."""

    def __init__(self) -> None:
        self._start: dict[tuple[str, str], Method] = {}
        self._token_param: dict[tuple[str, str], str] = {}

    def methods(self, endpoint: str, model: str) -> tuple[Method, ...]:
        """The methods still worth trying, in fallback order."""
        start = self._start.get((endpoint, model), METHODS[0])
        return METHODS[METHODS.index(start):]

    def refused(self, endpoint: str, model: str, method: Method) -> None:
        """Remember that ``method`` was refused: later calls start after it."""
        idx = METHODS.index(method) + 1
        current = METHODS.index(self._start.get((endpoint, model), METHODS[0]))
        if idx < len(METHODS) and idx > current:
            self._start[(endpoint, model)] = METHODS[idx]

    def worked(self, endpoint: str, model: str, method: Method) -> None:
        """Remember that ``method`` got an answer (unless a later method was already chosen)."""
        self._start.setdefault((endpoint, model), method)

    def get(self, endpoint: str, model: str) -> Method | None:
        """The method calls to this endpoint start with, if anything was learnt."""
        return self._start.get((endpoint, model))

    def token_param(self, endpoint: str, model: str) -> str:
        """The request field that caps the answer length for this endpoint and model."""
        return self._token_param.get((endpoint, model), "max_tokens")

    def use_max_completion_tokens(self, endpoint: str, model: str) -> None:
        """Newer OpenAI models reject ``max_tokens``; remember to send ``max_completion_tokens``."""
        self._token_param[(endpoint, model)] = "max_completion_tokens"


DEFAULT_MEMORY = MethodMemory()


@dataclass
class _Reply:
    """What one HTTP attempt produced, before interpretation."""

    kind: str  # ok | status | timeout | connection | bad_body
    duration_ms: float
    created_at: Any
    message: Any = None
    model_served: str | None = None
    usage: Usage | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    error: str | None = None
    resend: bool = False  # a request field was renamed: send again without counting a retry
    token_param: str = "max_tokens"  # the field that carried max_tokens in this attempt
    finish_reason: str | None = None  # "length": the answer was cut off at max_tokens
    cause: str = ""  # short label of a failure: "connection refused", "timeout", "HTTP 500" ...
    detail: str = ""  # what the failure said beyond its cause (the OS error, the error body)

    @property
    def answered(self) -> bool:
        """True when an HTTP answer came back at all (any status): the endpoint exists and listens."""
        return self.kind in ("ok", "status", "bad_body")

    @property
    def usable(self) -> bool:
        """True when the endpoint is working: an answer, or a status no retry would change (400, 422 ...)."""
        return self.kind == "ok" or (self.kind == "status" and not is_retryable_status(self.status or 0))

    @property
    def hard(self) -> bool:
        """True for a connection error that waiting seldom cures: refused, DNS, TLS, no route."""
        return self.kind == "connection" and self.cause in _HARD_CAUSES


@dataclass
class _Call:
    """Running state of one ``complete()`` call across methods and attempts."""

    record_id: int | str | None
    purpose: str
    template: str
    template_hash: str
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    model_served: str | None = None
    answered: Method | None = None  # the method that got an HTTP 200 answer
    usable: bool = False  # some attempt got a usable answer (see ``_Reply.usable``)
    failure: str = ""  # the last failed attempt: "<cause> at <endpoint> (<detail>)"

    def outcome(self, **kw: Any) -> LLMOutcome[Any]:
        return LLMOutcome(attempts=self.attempts, input_tokens=self.input_tokens, output_tokens=self.output_tokens,
                          cost=self.cost, model_served=self.model_served, **kw)


class LLMClient:
    """Structured, cached, budgeted, logged calls to one endpoint. Use within one event loop; ``aclose()`` after."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        on_exchange: ExchangeHook | None = None,
        budget: Budget | None = None,
        cache: DiskCache | None = None,
        memory: MethodMemory | None = None,
        api_key: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.on_exchange = on_exchange
        self.budget = budget if budget is not None else Budget(settings.max_cost)
        self._owns_cache = cache is None
        self.cache = cache if cache is not None else (DiskCache(settings.cache_dir) if settings.cache_dir else None)
        self.memory = memory if memory is not None else DEFAULT_MEMORY
        self._rng = rng or random.Random()
        if self.budget.max_cost is not None and find_price(settings.prices, settings.model) is None:
            raise MissingPrice(settings.model)
        key = api_key or os.environ.get(settings.api_key_env)
        if not key:  # a LangChain integration reads its own variable (ANTHROPIC_API_KEY ...)
            if settings.base_url is None and provider_family(settings.provider) != "langchain":
                raise LLMError(f"no API key: set the {settings.api_key_env} environment variable "
                               "(or [llm] base_url for a local endpoint)")
            key = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) accept any key
        self._key = key
        self._prefixes: dict[tuple[str, str, type], str] = {}
        self._plans: dict[tuple[str, str, type], Plan] = {}
        self._provider: Provider | None = None  # made on first use, inside the event loop that uses it
        self._sem = asyncio.Semaphore(settings.concurrency)
        self._not_before = 0.0  # monotonic time before which no request starts (set by a 429)
        self._reached = False  # some HTTP answer came back from the endpoint
        self._failed_in_row = 0  # calls in a row that got no usable answer on any attempt
        self.failure: EndpointError | None = None  # set once the endpoint is given up on; no request after

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    @property
    def provider(self) -> Provider:
        """The provider ``[llm] provider`` names (one SDK client and connection pool), made on first use."""
        if self._provider is None:
            self._provider = make_provider(self.settings, self._key)
        return self._provider

    async def list_models(self) -> list[str]:
        """Model ids the endpoint offers (``GET /models``): a cheap connectivity check."""
        try:
            return await self.provider.list_models()
        except LLMError as exc:
            raise LLMError(f"{self.settings.endpoint}: cannot list models: {exc}") from None

    async def ask(
        self,
        template: PromptTemplate,
        output_model: type[T],
        variables: dict[str, Any],
        *,
        record_id: int | str | None = None,
        purpose: str = "",
    ) -> LLMOutcome[T]:
        """Render ``template`` with ``variables`` and ``complete()`` it."""
        return await self.complete(template.render(**variables), output_model, template=template,
                                   record_id=record_id, purpose=purpose or template.name)

    async def complete(
        self,
        messages: list[dict[str, Any]],
        output_model: type[T],
        *,
        template: PromptTemplate | None = None,
        schema_name: str | None = None,
        record_id: int | str | None = None,
        purpose: str = "",
    ) -> LLMOutcome[T]:
        """Ask for an answer validated by ``output_model``; an answer that never validates is an error outcome.

        Raises ``BudgetExceeded`` before a request once ``max_cost`` is spent, and ``EndpointError`` when the
        endpoint rejects the key or does not know the model (every later call would fail the same way), or
        once ``GIVE_UP_AFTER`` calls in a row got no usable answer (the call completing that run still
        returns its error outcome; the next call raises).
        """
        s = self.settings
        schema = _json_schema(output_model)
        name = schema_name or (template.output_schema if template is not None else output_model.__name__)
        call = _Call(record_id, purpose, template.name if template else "", template.hash if template else "")
        key = key_for(self._key_prefix(call.template_hash, name, output_model, schema), messages)
        if self.cache is not None:
            hit = self._from_cache(key, messages, output_model, call)
            if hit is not None:
                return hit
        if s.structured_method == "auto":
            methods: tuple[Method, ...] = self.memory.methods(s.endpoint, s.model)
        else:
            methods = (s.structured_method,)  # type: ignore[assignment]
        refused: list[str] = []
        outcome: LLMOutcome[Any] | None = None
        for method in methods:
            outcome = await self._run_method(method, messages, output_model, name, schema, call)
            if outcome is not None:
                break
            refused.append(method)
            if s.structured_method == "auto":
                self.memory.refused(s.endpoint, s.model, method)
        if call.answered is not None and s.structured_method == "auto":
            self.memory.worked(s.endpoint, s.model, call.answered)
        if outcome is None:
            hint = "" if s.structured_method == "auto" else '; try [llm] structured_method = "auto"'
            outcome = call.outcome(error=f"the endpoint refused structured output ({', '.join(refused)}){hint}")
        self._track_health(call, outcome)
        if outcome.ok and self.cache is not None:
            self.cache.put(key, {"parsed": outcome.parsed, "method": outcome.method,
                                 "model_served": outcome.model_served, "input_tokens": outcome.input_tokens,
                                 "output_tokens": outcome.output_tokens, "cost": outcome.cost,
                                 "created_at": utc_now().isoformat()})
        return outcome

    def _key_prefix(self, template_hash: str, name: str, output_model: type, schema: dict[str, Any]) -> str:
        """The cache-key prefix for these settings and this output schema, hashed once per client."""
        memo = (template_hash, name, output_model)
        if memo not in self._prefixes:
            self._prefixes[memo] = settings_key_prefix(self.settings, template_hash, name, schema)
        return self._prefixes[memo]

    def _plan(self, method: Method, name: str, output_model: type, schema: dict[str, Any]) -> Plan:
        """The request shape for ``method``, built once per output model (a strict schema is a deep copy)."""
        memo = (method, name, output_model)
        if memo not in self._plans:
            self._plans[memo] = plan(method, name, schema)
        return self._plans[memo]

    def _track_health(self, call: _Call, outcome: LLMOutcome[Any]) -> None:
        """Count calls in a row that got no usable answer on any attempt; give up on the endpoint at
        ``GIVE_UP_AFTER`` (a single failing record is the record's problem, three in a row the endpoint's)."""
        if outcome.ok or call.usable or call.attempts == 0:
            self._failed_in_row = 0
            return
        self._failed_in_row += 1
        if self._failed_in_row >= GIVE_UP_AFTER and self.failure is None:
            self.failure = EndpointError(f"{call.failure}; {self._failed_in_row} calls in a row failed on every "
                                         "attempt, so no more requests are sent")

    def _emit(self, exchange: Exchange) -> None:
        if self.on_exchange is not None:
            self.on_exchange(exchange)

    def _from_cache(
        self, key: str, messages: list[dict[str, Any]], output_model: type[T], call: _Call
    ) -> LLMOutcome[T] | None:
        start = time.perf_counter()
        entry = self.cache.get(key) if self.cache is not None else None
        if entry is None or not isinstance(entry.get("parsed"), dict):
            return None
        try:
            value = output_model.model_validate(entry["parsed"])
        except ValidationError:
            return None  # the output model changed since: ask again
        self._emit(Exchange.model_construct(
            record_id=call.record_id, purpose=call.purpose, model_requested=self.settings.model,
            model_served=entry.get("model_served"), template=call.template, template_hash=call.template_hash,
            method=entry.get("method"), attempt=0, cached=True, messages=messages,
            options={"cache_key": key}, parsed=entry["parsed"], input_tokens=0, output_tokens=0, cost=0.0,
            duration_ms=(time.perf_counter() - start) * 1000))
        return LLMOutcome(value=value, parsed=entry["parsed"], method=entry.get("method"),
                          model_served=entry.get("model_served"), cached=True, cost=0.0)

    async def _run_method(
        self,
        method: Method,
        base_messages: list[dict[str, Any]],
        output_model: type[T],
        name: str,
        schema: dict[str, Any],
        call: _Call,
    ) -> LLMOutcome[T] | None:
        """Run one method to a final outcome, or return None when the endpoint refuses the method."""
        s = self.settings
        shape = self._plan(method, name, output_model, schema)
        messages, extra = shape.messages(base_messages), shape.extra
        retries, repaired = 0, False
        while True:
            reply = await self._send(messages, extra, method, name, schema)
            call.attempts += 1
            self._reached = self._reached or reply.answered
            call.usable = call.usable or reply.usable
            if not reply.usable:
                detail = f" ({_short(reply.detail, 200)})" if reply.detail else ""
                call.failure = f"{reply.cause} at {s.endpoint}{detail}"
            options = {"temperature": s.temperature, reply.token_param: s.max_tokens, **extra}
            base = {"record_id": call.record_id, "purpose": call.purpose, "model_requested": s.model,
                    "template": call.template, "template_hash": call.template_hash, "method": method,
                    "attempt": call.attempts, "messages": messages, "options": options,
                    "duration_ms": reply.duration_ms, "created_at": reply.created_at}
            if reply.kind == "ok":
                call.answered = method
                cost = self._account(reply, call)
                text = answer_text(method, reply.message)
                refusal = reply.message.get("refusal")
                if refusal:
                    parsed, value, error = None, None, f"the model refused to answer: {refusal}"
                else:
                    parsed, value, error = validate_answer(text, output_model)
                    if error and reply.finish_reason == "length":
                        error = (f"the answer was cut off at max_tokens ({s.max_tokens}; raise [llm] max_tokens): "
                                 f"{error}")
                usage = reply.usage
                self._emit(Exchange.model_construct(
                    **base, model_served=reply.model_served, response=text, parsed=parsed, error=error, cost=cost,
                    input_tokens=usage.input_tokens if usage else None,
                    output_tokens=usage.output_tokens if usage else None))
                if value is not None:
                    return call.outcome(value=value, parsed=parsed, method=method)
                if refusal or repaired:
                    what = error if refusal else f"invalid answer after one repair retry: {error}"
                    return call.outcome(error=what, parsed=parsed, method=method)
                repaired = True
                messages = repair_messages(messages, text, error or "invalid answer")
                continue
            self._emit(Exchange.model_construct(**base, response=reply.body, error=reply.error, cost=0.0))
            if reply.resend:
                continue
            if reply.kind == "status" and reply.status is not None:
                if refuses(method, reply.status, reply.body or ""):
                    return None
                fatal = _fatal_status(reply.status, s.endpoint, s.model, s.api_key_env, reply.body or "")
                if fatal is not None:
                    self.failure = self.failure or fatal
                    raise fatal
            retryable = reply.kind != "status" or is_retryable_status(reply.status or 0)
            if not retryable or retries >= s.max_retries:
                tail = f" after {call.attempts} attempts" if retryable else ""
                return call.outcome(error=f"{reply.error}{tail}", method=method)
            wait = parse_retry_after(reply.headers)
            if wait is not None and wait > s.max_retry_after:
                return call.outcome(error=f"{reply.error}; the endpoint asked to wait {wait:.0f} s "
                                          f"(more than max_retry_after {s.max_retry_after:.0f} s)", method=method)
            retries += 1
            if wait is None:
                wait = backoff_delay(retries, *self._backoff(reply), self._rng)
            elif reply.status == 429:  # a rate limit applies to every request, not just this one
                self._not_before = max(self._not_before, time.monotonic() + wait)
            await asyncio.sleep(wait)

    def _backoff(self, reply: _Reply) -> tuple[float, float]:
        """(base, cap) of the backoff after ``reply``: short for a hard connection error to an endpoint that
        never answered (a wrong URL or a server not running fails in about a second), else the settings'."""
        s = self.settings
        if reply.hard and not self._reached:
            return min(s.retry_base_delay, _UNREACHED_DELAY[0]), min(s.retry_max_delay, _UNREACHED_DELAY[1])
        return s.retry_base_delay, s.retry_max_delay

    def _account(self, reply: _Reply, call: _Call) -> float | None:
        """Add the reply's tokens and cost to the call and the budget; the cost, or None when unpriced."""
        s = self.settings
        call.model_served = reply.model_served or call.model_served
        usage = reply.usage
        price = find_price(s.prices, s.model, reply.model_served)
        cost = cost_of(usage, price) if usage is not None and price is not None else None
        if usage is not None:
            call.input_tokens += usage.input_tokens
            call.output_tokens += usage.output_tokens
        call.cost = None if cost is None or call.cost is None else call.cost + cost
        self.budget.add(cost)
        return cost

    def _token_param(self) -> str:
        return self.memory.token_param(self.settings.endpoint, self.settings.model)

    async def _send(self, messages: list[dict[str, Any]], extra: dict[str, Any], method: Method, name: str,
                    schema: dict[str, Any]) -> _Reply:
        """One HTTP attempt inside the concurrency bound; an endpoint failure is a ``_Reply``, not an exception
        (but once the endpoint is given up on, ``self.failure`` is raised instead of sending)."""
        async with self._sem:
            if self.failure is not None:
                raise self.failure
            self.budget.check()
            pause = self._not_before - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            created, start = utc_now(), time.perf_counter()
            s = self.settings
            request = ChatRequest(model=s.model, messages=messages, temperature=s.temperature,
                                  max_tokens=s.max_tokens, method=method, schema_name=name, schema=schema,
                                  extra=extra, token_param=self._token_param())
            reply = await self._post(request, created, start)
            reply.token_param = request.token_param
            return reply

    async def _post(self, request: ChatRequest, created: Any, start: float) -> _Reply:
        """Send one chat completion through the provider and classify what came back."""
        s = self.settings
        token_param = request.token_param
        try:
            resp = await self.provider.chat(request)
        except ProviderTimeout:
            return _Reply("timeout", _ms(start), created, error=f"timed out after {s.timeout:g} s", cause="timeout",
                          detail=f"no answer within {s.timeout:g} s")
        except ProviderError as exc:
            cause = connection_cause(exc)
            label = "" if cause == "connection failed" else f"{cause}: "
            return _Reply("connection", _ms(start), created, error=f"connection failed: {label}{exc}", cause=cause,
                          detail=str(exc))
        if resp.status != 200:
            resend = resp.status == 400 and token_param == "max_tokens" and "max_completion_tokens" in resp.text
            if resend:
                self.memory.use_max_completion_tokens(s.endpoint, s.model)
            return _Reply("status", _ms(start), created, status=resp.status, headers=resp.headers, body=resp.text,
                          resend=resend, error=f"HTTP {resp.status}: {_short(resp.text)}", cause=f"HTTP {resp.status}",
                          detail=_error_message(resp.text))
        try:
            completion = resp.completion
            if completion is None:
                raise TypeError("the body is not JSON")
            message = completion["choices"][0]["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
        except (TypeError, KeyError, IndexError) as exc:  # not a chat completion at all
            return _Reply("bad_body", _ms(start), created, body=resp.text,
                          error=f"malformed response body ({type(exc).__name__})", cause="malformed response",
                          detail=f"not a chat completion: {_short(resp.text, 80)}")
        served, finish = completion.get("model"), completion["choices"][0].get("finish_reason")
        return _Reply("ok", _ms(start), created, message=message, model_served=served if isinstance(served, str)
                      else None, usage=_usage(completion.get("usage")), body=resp.text,
                      finish_reason=finish if isinstance(finish, str) else None)


_HARD_CAUSES = ("connection refused", "host not found (DNS)", "TLS failed", "network unreachable")
# Failures as the text of the exception (the fallback when no OSError with an errno is in its chain):
# asyncio reports a refused localhost (::1 and 127.0.0.1) as one plain OSError("Multiple exceptions: ...").
_CAUSE_PATTERNS = (  # in this order: a refusal whose text also names ssl is still a refusal
    ("connection refused", re.compile(r"refused|connect call failed", re.IGNORECASE)),
    ("host not found (DNS)", re.compile(r"name or service not known|nodename nor servname|getaddrinfo|"
                                        r"name resolution|no address associated", re.IGNORECASE)),
    ("network unreachable", re.compile(r"unreachable|no route to host", re.IGNORECASE)),
    ("TLS failed", re.compile(r"\[SSL|certificate|\bTLS\b|handshake", re.IGNORECASE)),
)
_ERRNO_CAUSES = {errno.ECONNREFUSED: "connection refused", errno.ENETUNREACH: "network unreachable",
                 errno.EHOSTUNREACH: "network unreachable"}


def connection_cause(exc: BaseException) -> str:
    """What kind of connection failure ``exc`` is: "connection refused", "host not found (DNS)", "TLS failed",
    "network unreachable", or plain "connection failed".

    Providers re-raise as ``ProviderError``; the original exception is still in its ``__context__`` /
    ``__cause__`` chain (the openai SDK's and httpx's wrappers keep theirs too), so the chain is searched first.
    """
    for link in _exception_chain(exc):
        if isinstance(link, ssl.SSLError):
            return "TLS failed"
        if isinstance(link, socket.gaierror):
            return "host not found (DNS)"
        if isinstance(link, OSError) and link.errno in _ERRNO_CAUSES:
            return _ERRNO_CAUSES[link.errno]
    text = " ".join(str(link) for link in _exception_chain(exc))
    for cause, pattern in _CAUSE_PATTERNS:
        if pattern.search(text):
            return cause
    return "connection failed"


def _exception_chain(exc: BaseException, limit: int = 8) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, nearest first (cycles cut)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_ERROR_CAUSES = (  # an outcome's error text (as this module writes it) -> a short cause label
    (re.compile(r"^(HTTP \d{3})"), None),  # None: the label is the first group
    (re.compile(r"^timed out"), "timeout"),
    (re.compile(r"^connection failed: (" + "|".join(re.escape(c) for c in _HARD_CAUSES) + "): "), None),
    (re.compile(r"^connection failed"), "connection failed"),
    (re.compile(r"^malformed response body"), "malformed response"),
    (re.compile(r"^invalid answer"), "invalid answer"),
    (re.compile(r"^the model refused"), "the model refused"),
    (re.compile(r"^the endpoint refused structured output"), "structured output refused"),
)
_ENDPOINT_CAUSES = re.compile(r"^(HTTP \d|timeout|connection|host not found|TLS|network|malformed)")


def error_cause(error: str | None) -> str:
    """A short label for an error outcome's text, for counting errors by cause ("HTTP 500", "timeout",
    "connection refused", "invalid answer" ...); other texts give their first clause."""
    text = (error or "").strip()
    for pattern, label in _ERROR_CAUSES:
        match = pattern.search(text)
        if match:
            return label or match.group(1)
    return _short(re.split(r"[:;]", text, maxsplit=1)[0], 60) or "unknown error"


def describe_causes(causes: Mapping[str, int], endpoint: str, most: int = 3) -> str:
    """"2× HTTP 500 at URL, 1× timeout": error counts by cause, commonest first; the first cause that is the
    endpoint's (HTTP status, connection, timeout) names it."""
    ranked = Counter(causes).most_common()
    parts, named = [], False
    for cause, n in ranked[:most]:
        where = ""
        if not named and _ENDPOINT_CAUSES.search(cause):
            where, named = f" at {endpoint}", True
        parts.append(f"{n}× {cause}{where}")
    rest = sum(n for _, n in ranked[most:])
    return ", ".join(parts) + (f", {rest}× other" if rest else "")


def _error_message(body: str) -> str:
    """The message of an error body: OpenAI's ``{"error": {"message": ...}}``, Ollama's ``{"error": "..."}``,
    else the body itself (shortened)."""
    try:
        error = orjson.loads(body)["error"]
        message = error if isinstance(error, str) else error["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _short(body, 200)
    return _short(str(message), 200)


def _phrase(status: int) -> str:
    """The reason phrase of an HTTP status ("Unauthorized"), or "" for an unknown code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _usage(usage: Any) -> Usage | None:
    """Token counts from the answer's ``usage`` object (None when absent or not an object)."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(input_tokens=_count(usage.get("prompt_tokens")), output_tokens=_count(usage.get("completion_tokens")),
                 cached_input_tokens=_count(cached))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _short(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.cache
def _json_schema(output_model: type) -> dict[str, Any]:
    """An output model's JSON schema, built once per model class (it costs ~0.4 ms each time otherwise).
    Callers must not mutate it."""
    return output_model.model_json_schema()
