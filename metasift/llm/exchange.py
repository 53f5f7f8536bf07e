"""What one call to a model leaves behind: an ``Exchange`` per HTTP attempt and one ``LLMOutcome`` per call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=BaseModel)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Exchange(BaseModel):
    """One attempt (or cache hit) as the ``llm_calls`` table stores it; field names match its columns."""

    model_config = ConfigDict(extra="forbid")

    record_id: int | str | None = None
    purpose: str = ""
    model_requested: str
    model_served: str | None = None
    template: str = ""
    template_hash: str = ""
    method: str | None = None
    attempt: int = 0  # 1-based within the call; 0 for a cache hit
    cached: bool = False
    messages: list[dict[str, Any]] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)  # temperature, max_tokens, response_format/tools ...
    response: str | None = None  # the raw answer text, or the HTTP error body
    parsed: dict[str, Any] | None = None
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None  # None: no price known for the model
    duration_ms: float = 0.0
    created_at: datetime = Field(default_factory=utc_now)


class LLMOutcome(BaseModel, Generic[T]):
    """The result of one call: a validated ``value`` or an ``error`` — an error is never a decision."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    value: T | None = None
    error: str | None = None
    parsed: dict[str, Any] | None = None
    method: str | None = None
    model_served: str | None = None
    cached: bool = False
    attempts: int = 0  # HTTP attempts made (0 on a cache hit)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None when some attempt had no known price
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when a validated value is present."""
        return self.value is not None and self.error is None
