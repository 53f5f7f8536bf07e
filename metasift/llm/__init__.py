"""The LLM layer: an async client (through a ``Provider``: the openai SDK by default) with structured output,
retries, cache, budget and logging."""

from metasift.llm.cache import DiskCache, cache_key
from metasift.llm.client import DEFAULT_MEMORY, ExchangeHook, LLMClient, MethodMemory
from metasift.llm.cost import Budget, BudgetExceeded, Price, Usage, cost_of, find_price
from metasift.llm.exchange import Exchange, LLMOutcome
from metasift.llm.provider import PROVIDERS, ChatRequest, Provider, ProviderReply
from metasift.llm.retry import backoff_delay, is_retryable_status, parse_retry_after
from metasift.llm.settings import LLMSettings
from metasift.llm.structured import METHODS, Method, extract_json, strict_schema

__all__ = [
    "DEFAULT_MEMORY",
    "METHODS",
    "PROVIDERS",
    "Budget",
    "BudgetExceeded",
    "ChatRequest",
    "DiskCache",
    "Exchange",
    "ExchangeHook",
    "LLMClient",
    "LLMOutcome",
    "LLMSettings",
    "Method",
    "MethodMemory",
    "Price",
    "Provider",
    "ProviderReply",
    "Usage",
    "backoff_delay",
    "cache_key",
    "cost_of",
    "extract_json",
    "find_price",
    "is_retryable_status",
    "parse_retry_after",
    "strict_schema",
]
