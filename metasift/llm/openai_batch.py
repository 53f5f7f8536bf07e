"""The OpenAI Batch API: many chat completions uploaded as one JSONL file, answered within 24 h at half price.

``request_line`` builds one line exactly as the synchronous client would send the request (the same messages,
``temperature``, ``max_tokens`` and structured-output fields from ``metasift.llm.structured.plan``), so the
answer validates the same way and goes into the same answer cache under the same key (``answer_cache_key``).
``OpenAIBatches`` moves files and batches through the openai SDK (``files.create(purpose="batch")``,
``batches.create``/``retrieve``, ``files.content``); ``read_answer`` turns one line of the output or error
file into what the synchronous path makes of one HTTP attempt: a validated value or an error, with its tokens
and its cost at ``BATCH_DISCOUNT`` of the ``[llm.prices]`` rates. What to send, and what an answer decides, is
the caller's (``screener.llm_stage``).

The few control-plane requests here (upload, create, retrieve, download) use the SDK's own retries: they
are idempotent reads or one-off writes whose failure the user sees at once, unlike the per-record chat path
where metasift makes every retry decision.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel

from metasift import __version__
from metasift.errors import LLMError
from metasift.llm.cache import key_for, settings_key_prefix
from metasift.llm.cost import Price, Usage, cost_of
from metasift.llm.provider import ChatRequest, provider_family
from metasift.llm.structured import Method, answer_text, plan, validate_answer

if TYPE_CHECKING:
    from metasift.llm.settings import LLMSettings

BATCH_DISCOUNT = 0.5  # the Batch API charges half the synchronous rates
BATCH_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
MAX_LINES = 50_000  # requests per batch the API accepts
MAX_BYTES = 190 * 1024 * 1024  # an input file may hold 200 MB: a margin below it
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})  # no status follows these
_SDK_RETRIES = 2


def batch_method(settings: LLMSettings) -> Method:
    """The structured-output method batch requests use: ``json_schema`` unless ``[llm] structured_method``
    names another (a batch cannot fall back from one method to the next as the synchronous client does)."""
    method = settings.structured_method
    return "json_schema" if method == "auto" else method  # type: ignore[return-value]


def token_param(settings: LLMSettings) -> str:
    """The request field capping the answer: OpenAI's own API takes ``max_completion_tokens`` for every chat
    model (and newer models refuse ``max_tokens``); other endpoints get ``max_tokens``, as the synchronous
    client sends first. A batch has no second attempt in which to switch."""
    host = (urlsplit(settings.endpoint).hostname or "").lower()
    return "max_completion_tokens" if host == "api.openai.com" else "max_tokens"


def answer_cache_key(settings: LLMSettings, template_hash: str, schema_name: str, schema: dict[str, Any],
                     messages: list[dict[str, Any]]) -> str:
    """The answer-cache key the synchronous client (``LLMClient.complete``) uses for the same request, so a
    batch answer is found by a later synchronous run and the other way round."""
    return key_for(settings_key_prefix(settings, template_hash, schema_name, schema), messages)


@dataclass(frozen=True)
class BatchRequest:
    """One line of the input file: its ``custom_id``, and the request as it was sent (for the exchange log)."""

    custom_id: str
    method: Method
    messages: list[dict[str, Any]]  # as sent (a method's schema instruction included)
    options: dict[str, Any]  # temperature, the max-tokens field, the structured-output fields
    body: dict[str, Any]

    def line(self) -> bytes:
        """The JSONL line (without its newline)."""
        return orjson.dumps({"custom_id": self.custom_id, "method": "POST", "url": BATCH_ENDPOINT, "body": self.body})


def request_line(settings: LLMSettings, custom_id: str, messages: list[dict[str, Any]], schema_name: str,
                 schema: dict[str, Any]) -> BatchRequest:
    """The batch line for one chat request, shaped as the synchronous client shapes it."""
    method = batch_method(settings)
    shape = plan(method, schema_name, schema)
    sent = shape.messages(messages)
    request = ChatRequest(model=settings.model, messages=sent, temperature=settings.temperature,
                          max_tokens=settings.max_tokens, method=method, schema_name=schema_name, schema=schema,
                          extra=shape.extra, token_param=token_param(settings))
    options = {"temperature": settings.temperature, request.token_param: settings.max_tokens, **shape.extra}
    return BatchRequest(custom_id, method, sent, options, request.openai_body())


def chunks(requests: Sequence[BatchRequest]) -> list[list[BatchRequest]]:
    """The requests split into input files the API accepts (``MAX_LINES`` lines, ``MAX_BYTES`` bytes each)."""
    out: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    size = 0
    for req in requests:
        n = len(req.line()) + 1
        if current and (len(current) >= MAX_LINES or size + n > MAX_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(req)
        size += n
    if current:
        out.append(current)
    return out


class BatchStatus(BaseModel):
    """What ``batches.retrieve`` says about one batch."""

    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: list[str] = []  # why the whole batch failed (validation errors of the input file)

    @property
    def terminal(self) -> bool:
        """True once the batch is completed, failed, expired or cancelled: nothing more will change."""
        return self.status in TERMINAL

    def line(self) -> str:
        """"batch_abc: in_progress, 120/500 answered, 2 failed"."""
        text = f"batch {self.id}: {self.status}"
        if self.total:
            text += f", {self.completed}/{self.total} answered"
        if self.failed:
            text += f", {self.failed} failed"
        return text


@dataclass
class BatchResult:
    """One line of the output or error file: an HTTP status with the chat completion, or an error."""

    custom_id: str
    status_code: int | None
    body: Any = None  # the chat completion for a 200; the error body otherwise
    error: str | None = None  # the line's own error (expired, failed before it was sent ...)


@dataclass
class Answer:
    """What one batch line gives the caller: a validated ``value`` or an ``error``, plus the exchange fields."""

    value: BaseModel | None = None
    parsed: dict[str, Any] | None = None
    error: str | None = None
    response: str | None = None
    model_served: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0


def read_results(text: str) -> dict[str, BatchResult]:
    """The lines of an output or error file by ``custom_id`` (a line that is not JSON is skipped)."""
    out: dict[str, BatchResult] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            continue
        response = line.get("response") if isinstance(line.get("response"), dict) else {}
        error = line.get("error")
        message = None
        if isinstance(error, dict):
            message = f"{error.get('code') or 'error'}: {error.get('message') or ''}".rstrip(": ")
        status = response.get("status_code")
        out[line["custom_id"]] = BatchResult(line["custom_id"], status if isinstance(status, int) else None,
                                             response.get("body"), message)
    return out


def read_answer(result: BatchResult | None, method: Method, output_model: type[BaseModel],
                price: Price | None, max_tokens: int) -> Answer:
    """Interpret one line as the synchronous client interprets one HTTP answer (refusal, cut off at
    max_tokens, schema validation); a missing line or an HTTP error is an error. Cost at batch price."""
    if result is None:
        return Answer(error="not answered in the batch: the request is in neither its output nor its error file")
    if result.status_code != 200 or not isinstance(result.body, dict):
        if result.status_code is None:  # "batch_expired: This request could not be executed before ..."
            return Answer(error=result.error or "not answered in the batch")
        body = orjson.dumps(result.body).decode() if result.body is not None else ""
        return Answer(error=f"HTTP {result.status_code}: {_error_message(result.body) or result.error or ''}",
                      response=body)
    completion = result.body
    try:
        choice = completion["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError("message is not an object")
    except (KeyError, IndexError, TypeError) as exc:
        return Answer(error=f"malformed response body ({type(exc).__name__})",
                      response=orjson.dumps(completion).decode())
    usage = _usage(completion.get("usage"))
    cost = cost_of(usage, price) * BATCH_DISCOUNT if price is not None else None
    served = completion.get("model") if isinstance(completion.get("model"), str) else None
    text = answer_text(method, message)
    answer = Answer(response=text, model_served=served, usage=usage, cost=cost)
    if message.get("refusal"):
        answer.error = f"the model refused to answer: {message['refusal']}"
        return answer
    answer.parsed, answer.value, error = validate_answer(text, output_model)
    if error:
        cut = choice.get("finish_reason") == "length"
        answer.error = (f"invalid answer (cut off at max_tokens {max_tokens}; raise [llm] max_tokens): {error}"
                        if cut else f"invalid answer: {error}")
    return answer


class OpenAIBatches:
    """The Batch API of one OpenAI-compatible endpoint, through the openai SDK's synchronous client."""

    def __init__(self, settings: LLMSettings, api_key: str | None = None) -> None:
        import openai  # imported here: commands that never call a model should not pay for it

        from metasift.llm.openai_provider import is_azure_url, is_azure_v1

        family = provider_family(settings.provider)
        if family != "openai" or (is_azure_url(settings.endpoint) and not is_azure_v1(settings.endpoint)):
            raise LLMError(f"--batch needs the OpenAI Batch API (provider \"openai\"); {settings.endpoint} with "
                           f"provider {settings.provider!r} is not supported: run `metasift screen` without --batch")
        key = api_key or os.environ.get(settings.api_key_env)
        if not key:
            if settings.base_url is None:
                raise LLMError(f"no API key: set the {settings.api_key_env} environment variable")
            key = "not-needed"
        self._openai = openai
        self.endpoint = settings.endpoint
        self._client = openai.OpenAI(base_url=settings.endpoint, api_key=key, timeout=settings.timeout,
                                     max_retries=_SDK_RETRIES,
                                     default_headers={"User-Agent": f"metasift/{__version__}"})

    def submit(self, requests: Sequence[BatchRequest], metadata: Mapping[str, str]) -> tuple[str, str]:
        """Upload the requests as one JSONL file and create the batch: (batch id, file id)."""
        data = b"\n".join(r.line() for r in requests) + b"\n"
        file = self._call("upload the batch file", self._client.files.create,
                          file=("metasift-batch.jsonl", data, "application/jsonl"), purpose="batch")
        batch = self._call("create the batch", self._client.batches.create, input_file_id=file.id,
                           endpoint=BATCH_ENDPOINT, completion_window=COMPLETION_WINDOW,
                           metadata={k: str(v)[:512] for k, v in metadata.items()})
        return str(batch.id), str(file.id)

    def status(self, batch_id: str) -> BatchStatus:
        """``batches.retrieve``: the batch's status, its files and its request counts."""
        batch = self._call(f"read batch {batch_id}", self._client.batches.retrieve, batch_id)
        counts = batch.request_counts
        errors = [f"{e.code or 'error'}: {e.message or ''}" + (f" (line {e.line})" if e.line else "")
                  for e in ((batch.errors.data or []) if batch.errors else [])]
        return BatchStatus(id=str(batch.id), status=str(batch.status), output_file_id=batch.output_file_id,
                           error_file_id=batch.error_file_id, total=counts.total if counts else 0,
                           completed=counts.completed if counts else 0, failed=counts.failed if counts else 0,
                           errors=errors)

    def results(self, status: BatchStatus) -> dict[str, BatchResult]:
        """Every answered or failed line of a finished batch (output file, then error file), by custom id."""
        out: dict[str, BatchResult] = {}
        for file_id in (status.error_file_id, status.output_file_id):  # an answer wins over an error
            if file_id:
                content = self._call(f"download file {file_id}", self._client.files.content, file_id)
                out.update(read_results(content.text))
        return out

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one SDK call; its failure is an ``LLMError`` saying what could not be done, and why."""
        openai = self._openai
        try:
            return function(*args, **kwargs)
        except openai.APIStatusError as exc:
            detail = _error_message(_json_or_text(exc.response.text)) or exc.response.text[:200]
            raise LLMError(f"cannot {what} at {self.endpoint}: HTTP {exc.status_code}: {detail}") from None
        except openai.APIError as exc:  # connection errors and timeouts
            raise LLMError(f"cannot {what} at {self.endpoint}: {exc.__cause__ or exc}") from None


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _error_message(body: Any) -> str:
    """The message of an OpenAI-style error body (``{"error": {"message": ...}}``), else ""."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")[:300]
    return str(error)[:300] if isinstance(error, str) else ""


def _usage(usage: Any) -> Usage:
    """Token counts from a completion's ``usage`` (zeros when absent)."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None

    def count(value: Any) -> int:
        return value if isinstance(value, int) and value >= 0 else 0

    return Usage(input_tokens=count(usage.get("prompt_tokens")), output_tokens=count(usage.get("completion_tokens")),
                 cached_input_tokens=count(cached))
