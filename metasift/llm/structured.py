"""Structured output: how each method asks for JSON, reads the answer back, and when an endpoint refuses it.

Methods in fallback order: ``json_schema`` (strict response_format), ``json_object`` (JSON mode plus the
schema in the prompt), ``tools`` (a forced function call whose parameters are the schema), ``text`` (the
schema in the prompt; the first JSON object is taken from the reply, ```json fences tolerated).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError

Method = Literal["json_schema", "json_object", "tools", "text"]
METHODS: tuple[Method, ...] = ("json_schema", "json_object", "tools", "text")

# A 400-class answer naming the feature a method relies on means "this endpoint does not do that".
_REFUSAL_STATUS = {400, 404, 405, 415, 422, 501}
_REFUSAL_WORDS: dict[str, re.Pattern[str]] = {
    "json_schema": re.compile(r"response_format|json_schema|structured output|strict", re.IGNORECASE),
    "json_object": re.compile(r"response_format|json_object|json mode", re.IGNORECASE),
    "tools": re.compile(r"\btools?\b|tool_choice|function", re.IGNORECASE),
}
_VALIDATION_500 = re.compile(r"validation error|literal_error|Input should be", re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_MAX_STARTS = 200  # '{' positions tried per candidate before giving up


def refuses(method: str, status: int, body: str) -> bool:
    """True when an HTTP error says the endpoint does not support ``method`` (so the next one is tried)."""
    words = _REFUSAL_WORDS.get(method)
    if not words or not words.search(body or ""):
        return False
    # llama-cpp-python's server answers a request it cannot validate with 500, naming the rejected field
    return status in _REFUSAL_STATUS or (status == 500 and bool(_VALIDATION_500.search(body or "")))


def safe_name(name: str) -> str:
    """A schema/function name the OpenAI API accepts (``^[A-Za-z0-9_-]{1,64}$``)."""
    return (re.sub(r"[^A-Za-z0-9_-]", "_", name) or "answer")[:64]


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy fit for ``strict: true``: every object closed and every property required, no defaults."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        node.pop("default", None)
        if node.get("type") == "object" or "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node.get("properties", {}))
        for key in ("properties", "$defs", "definitions"):
            for sub in (node.get(key) or {}).values():
                walk(sub)
        for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
            for sub in node.get(key) or []:
                walk(sub)
        for key in ("items", "not"):
            walk(node.get(key))

    walk(out)
    return out


def _with_instruction(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Messages with ``text`` appended to the system message (or a new one first), leaving the record last."""
    out = [dict(m) for m in messages]
    for msg in out:
        if msg.get("role") == "system" and isinstance(msg.get("content"), str):
            msg["content"] = f"{msg['content'].rstrip()}\n\n{text}"
            return out
    return [{"role": "system", "content": text}, *out]


def schema_instruction(schema: dict[str, Any]) -> str:
    """The prompt text that carries the schema for methods without native schema support."""
    return ("Reply with a single JSON object and nothing else (no prose, no code fences). "
            "It must validate against this JSON Schema:\n" + json.dumps(schema, ensure_ascii=False))


@dataclass(frozen=True)
class Plan:
    """How one method asks: extra request fields, and schema text for the system message (or None)."""

    extra: dict[str, Any]
    instruction: str | None = None

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The request's messages: copies, with the instruction added when the method needs one."""
        if self.instruction is None:
            return [dict(m) for m in messages]
        return _with_instruction(messages, self.instruction)


def plan(method: Method, schema_name: str, schema: dict[str, Any]) -> Plan:
    """The request shape for ``method`` (the same for every call with this schema: callers may reuse it)."""
    name = safe_name(schema_name)
    if method == "json_schema":
        return Plan({"response_format": {"type": "json_schema", "json_schema": {
            "name": name, "schema": strict_schema(schema), "strict": True}}})
    if method == "json_object":
        return Plan({"response_format": {"type": "json_object"}}, schema_instruction(schema))
    if method == "tools":
        tool = {"type": "function", "function": {
            "name": name, "description": "Record the answer; the arguments are the whole answer.", "parameters": schema}}
        return Plan({"tools": [tool], "tool_choice": {"type": "function", "function": {"name": name}}})
    return Plan({}, schema_instruction(schema))


def answer_text(method: Method, message: dict[str, Any]) -> str:
    """The text holding the answer: the forced tool call's arguments for ``tools``, else the content."""
    if method == "tools":
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and function.get("arguments"):
                return str(function["arguments"])
    content = message.get("content")
    return content if isinstance(content, str) else ""


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``, looking inside ```json fences first; ValueError if there is none."""
    if not text or not text.strip():
        raise ValueError("the answer is empty")
    if text.lstrip().startswith("{"):  # the usual case, a bare object: parsed at C speed
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(obj, dict):
                return obj
    decoder = json.JSONDecoder()
    for candidate in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        starts = [i for i, ch in enumerate(candidate) if ch == "{"][:_MAX_STARTS]
        for start in starts:
            try:
                obj, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    raise ValueError("no JSON object found in the answer")


def describe_validation_error(exc: ValidationError, limit: int = 10) -> str:
    """Pydantic errors as ``path: message`` lines, short enough to send back to the model."""
    lines = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"{loc}: {err['msg']}")
    if exc.error_count() > limit:
        lines.append(f"... and {exc.error_count() - limit} more")
    return "; ".join(lines)


def validate_answer(
    text: str, model: type[BaseModel]
) -> tuple[dict[str, Any] | None, BaseModel | None, str | None]:
    """(parsed JSON, validated model, error): exactly one of model/error is set."""
    try:
        parsed = extract_json(text)
    except ValueError as exc:
        return None, None, str(exc)
    try:
        return parsed, model.model_validate(parsed), None
    except ValidationError as exc:
        return parsed, None, describe_validation_error(exc)


def repair_messages(messages: list[dict[str, Any]], answer: str, error: str) -> list[dict[str, Any]]:
    """The conversation for the one repair retry: the bad answer, then what was wrong with it."""
    return [*messages,
            {"role": "assistant", "content": answer},
            {"role": "user", "content": (
                f"That answer is not valid: {error}. Reply again with the corrected JSON object only, "
                "following the schema exactly.")}]
