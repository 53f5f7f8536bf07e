"""The LLM endpoint of a screening (or extraction) run: its settings, whether one is configured, the cost note.

Kept apart from ``pipeline`` so that commands that only need to know whether an endpoint is set (``extract
--llm``) do not load the ranker's scikit-learn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metasift.config import Protocol
    from metasift.llm import LLMSettings


def screening_settings(root: Path, protocol: Protocol, *, model: str | None = None, base_url: str | None = None,
                       concurrency: int | None = None, max_cost: float | None = None) -> LLMSettings:
    """``[llm]`` of review.toml with the command line's overrides, caching answers in the project's cache."""
    from metasift.llm import LLMSettings

    return LLMSettings.from_config(protocol.llm, model=model, base_url=base_url, concurrency=concurrency,
                                   max_cost=max_cost, cache_dir=root / ".metasift" / "cache")


def endpoint_configured(settings: LLMSettings) -> bool:
    """An LLM is available when a base URL is set or the API key variable is."""
    return bool(settings.base_url or os.environ.get(settings.api_key_env))


def local_cost_note(settings: LLMSettings) -> str | None:
    """The one line saying a budget does not apply to an unpriced model served locally, when one is set."""
    if settings.max_cost is None or not settings.free_locally:
        return None
    return (f'no price for model "{settings.model}" at the local endpoint {settings.endpoint}: its answers '
            "count as cost 0, so max_cost does not apply")
