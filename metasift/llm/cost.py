"""Token accounting: cost of one answer from the price table, and a running budget that stops spending."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from metasift.errors import ConfigError, LLMError


class BudgetExceeded(LLMError):
    """The configured ``max_cost`` is spent; no further request is started."""


class MissingPrice(ConfigError, LLMError):
    """``max_cost`` is set but the model has no price, so the budget could not be kept.

    A review.toml problem (a ``ConfigError``, exit 2) that the LLM layer finds before its first request;
    still an ``LLMError`` for callers that catch those. The message names the entry to add.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        key = '"' + model.replace("\\", "\\\\").replace('"', '\\"') + '"'
        super().__init__(f"no price for model {key} in review.toml: add [llm.prices.{key}] input = ... "
                         "output = ... (per 1M tokens), or drop max_cost")


class Price(BaseModel):
    """Price per 1M tokens; ``cached_input`` (if given) applies to prompt tokens served from the endpoint's cache."""

    model_config = ConfigDict(extra="forbid")

    input: float
    output: float
    cached_input: float | None = None


class Usage(BaseModel):
    """Tokens one response reported (``usage`` in the chat-completions answer)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0


def find_price(prices: Mapping[str, Mapping[str, float]], *models: str | None) -> Price | None:
    """The price for the first model name found exactly, else the longest table key a name starts with.

    Endpoints often serve a dated snapshot ("gpt-4o-mini-2024-07-18") of the model asked ("gpt-4o-mini").
    """
    names = [m for m in models if m]
    for name in names:
        if name in prices:
            return Price.model_validate(dict(prices[name]))
    for name in names:
        keys = sorted((k for k in prices if name.startswith(k)), key=len, reverse=True)
        if keys:
            return Price.model_validate(dict(prices[keys[0]]))
    return None


def cost_of(usage: Usage, price: Price) -> float:
    """Cost of one response: tokens x price / 1e6, cached prompt tokens at the cached rate when one is given."""
    cached = min(usage.cached_input_tokens, usage.input_tokens) if price.cached_input is not None else 0
    fresh = usage.input_tokens - cached
    return (fresh * price.input + cached * (price.cached_input or 0.0) + usage.output_tokens * price.output) / 1e6


class Budget:
    """Running spend against ``max_cost``; ``check()`` before a request raises once the limit is reached.

    Requests already in flight when the limit is crossed still finish, so the final spend can exceed
    ``max_cost`` by at most ``concurrency`` answers. Answers without a known cost are counted in ``unpriced``.
    """

    def __init__(self, max_cost: float | None = None) -> None:
        self.max_cost = max_cost
        self.spent = 0.0
        self.unpriced = 0

    def check(self) -> None:
        """Raise ``BudgetExceeded`` if nothing more may be spent."""
        if self.max_cost is not None and self.spent >= self.max_cost:
            raise BudgetExceeded(
                f"LLM budget reached: spent {self.spent:.4f} of max_cost {self.max_cost:.4f}; "
                "raise [llm] max_cost in review.toml to continue (cached answers are not charged again)"
            )

    def add(self, cost: float | None) -> None:
        """Record the cost of one answer (None: unknown)."""
        if cost is None:
            self.unpriced += 1
        else:
            self.spent += cost

    @property
    def remaining(self) -> float | None:
        """What is left to spend, or None without a budget."""
        return None if self.max_cost is None else max(0.0, self.max_cost - self.spent)
