"""Settings for one OpenAI-compatible endpoint: what ``[llm]`` in review.toml becomes at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OPENAI_BASE_URL = "https://api.openai.com/v1"

StructuredMethod = Literal["auto", "json_schema", "json_object", "tools", "text"]


class LLMSettings(BaseModel):
    """Everything the client needs; built from ``LLMConfig`` plus flags/env by the caller."""

    model_config = ConfigDict(extra="forbid")

    model: str = "gpt-4o-mini"
    base_url: str | None = None  # None: the OpenAI API
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = Field(1024, ge=1)
    timeout: float = Field(60.0, gt=0)  # seconds per HTTP attempt
    max_retries: int = Field(4, ge=0)  # retries after the first attempt for 429/5xx/timeouts/connection errors
    concurrency: int = Field(4, ge=1, le=64)  # requests in flight at once
    # "auto" tries json_schema -> json_object -> tools -> text; a named method is used alone.
    structured_method: StructuredMethod = "auto"
    # "http1": metasift's lean HTTP/1.1 client (default, ~0.14 ms CPU a request; aiohttp behind a proxy);
    # "aiohttp" (0.30-0.48 ms); "openai": the openai SDK's HTTP stack (~2.6 ms)
    transport: Literal["http1", "aiohttp", "openai"] = "http1"
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)  # model -> {input, output[, cached_input]}
    max_cost: float | None = Field(None, ge=0)  # in the price table's currency; None: no budget
    cache_dir: Path | None = None  # None: no disk cache
    retry_base_delay: float = Field(1.0, ge=0)  # first backoff step in seconds; doubles per retry
    retry_max_delay: float = Field(60.0, ge=0)  # cap on one backoff step
    max_retry_after: float = Field(120.0, ge=0)  # a Retry-After longer than this is not waited for

    @property
    def endpoint(self) -> str:
        """The base URL actually used, normalised without a trailing slash."""
        return (self.base_url or OPENAI_BASE_URL).rstrip("/")

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> LLMSettings:
        """Build from a ``metasift.config.LLMConfig`` (or any model/dict with the same keys) plus overrides."""
        data = config.model_dump() if hasattr(config, "model_dump") else dict(config)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)
