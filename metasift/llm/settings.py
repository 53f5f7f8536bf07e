"""Settings for one OpenAI-compatible endpoint: what ``[llm]`` in review.toml becomes at run time."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metasift.llm.cost import MissingPrice, find_price

OPENAI_BASE_URL = "https://api.openai.com/v1"

# Loopback and private networks: a model served there runs on the user's own machines, so it has no price.
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))

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
    # "openai" (any OpenAI-compatible endpoint; Azure OpenAI by its URL), "azure", or "langchain:<model_provider>"
    # ("langchain:anthropic" ...: the metasift[langchain] extra); see metasift.llm.provider
    provider: str = "openai"
    api_version: str | None = None  # Azure OpenAI's api-version; None: openai_provider.AZURE_API_VERSION
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)  # model -> {input, output[, cached_input]}
    max_cost: float | None = Field(None, ge=0)  # in the price table's currency; None: no budget
    cache_dir: Path | None = None  # None: no disk cache
    retry_base_delay: float = Field(1.0, ge=0)  # first backoff step in seconds; doubles per retry
    retry_max_delay: float = Field(60.0, ge=0)  # cap on one backoff step
    max_retry_after: float = Field(120.0, ge=0)  # a Retry-After longer than this is not waited for

    @model_validator(mode="before")
    @classmethod
    def _drop_transport(cls, data: Any) -> Any:
        """Accept and drop the retired ``transport`` key (``LLMConfig`` warns about it once, at load)."""
        if isinstance(data, dict) and "transport" in data:
            data = {k: v for k, v in data.items() if k != "transport"}
        return data

    @property
    def endpoint(self) -> str:
        """The base URL actually used, normalised without a trailing slash."""
        return (self.base_url or OPENAI_BASE_URL).rstrip("/")

    @property
    def is_local(self) -> bool:
        """True when the endpoint is on this machine or a private network (see ``is_local_url``)."""
        return is_local_url(self.endpoint)

    @property
    def free_locally(self) -> bool:
        """True for an unpriced model at a local endpoint: its answers cost 0 and no budget applies to them."""
        return self.is_local and find_price(self.prices, self.model) is None

    def with_local_pricing(self) -> LLMSettings:
        """These settings, with an unpriced model at a local endpoint priced at 0.

        A model someone runs on their own machine (Ollama, vLLM, llama.cpp) costs nothing per token, so it
        needs no ``[llm.prices]`` entry and the budget cannot be spent; a priced model (a local proxy to a
        paid API, say) keeps its price and its budget.
        """
        if not self.free_locally:
            return self
        return self.model_copy(update={"prices": {**self.prices, self.model: {"input": 0.0, "output": 0.0}}})

    def check_price(self) -> None:
        """Raise ``MissingPrice`` when ``max_cost`` is set but the model has no price: the budget could not be
        kept. Call it on ``with_local_pricing()`` to spare local models."""
        if self.max_cost is not None and find_price(self.prices, self.model) is None:
            raise MissingPrice(self.model)

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> LLMSettings:
        """Build from a ``metasift.config.LLMConfig`` (or any model/dict with the same keys) plus overrides."""
        data = config.model_dump() if hasattr(config, "model_dump") else dict(config)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)


def is_local_url(url: str) -> bool:
    """True when ``url``'s host is loopback or private: localhost, ``*.localhost``, ``*.local`` (mDNS), or an
    address in 127.0.0.0/8, 10/8, 172.16/12, 192.168/16, ::1 or fc00::/7. Names are not resolved."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in LOCAL_NETWORKS)
