"""Run many LLM calls concurrently under one client and one budget, handling each result as it arrives.

Screening and PDF extraction both use it: results are handed to ``on_done`` the moment they complete
(so the caller stores them one transaction at a time), a spent budget stops the run, and Ctrl-C cancels
what is in flight without losing what was already handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from metasift.llm.client import ExchangeHook, LLMClient
from metasift.llm.cost import Budget, BudgetExceeded
from metasift.llm.settings import LLMSettings

T = TypeVar("T")
Job = Callable[[LLMClient], Awaitable[T]]


class BatchRun(BaseModel):
    done: int = 0
    cost: float | None = 0.0  # None when some answer had no known price
    stopped: str | None = None  # why the run stopped early (budget)


def run_batch(settings: LLMSettings, jobs: Sequence[Job[Any]], *, on_done: Callable[[Any], None],
              on_exchange: ExchangeHook | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> BatchRun:
    """Run every job (``async job(client) -> result``) with ``settings.concurrency`` in flight."""
    run = BatchRun()

    async def main() -> None:
        budget = Budget(settings.max_cost)
        async with LLMClient(settings, on_exchange=on_exchange, budget=budget) as client:
            tasks = [asyncio.ensure_future(job(client)) for job in jobs]
            try:
                for future in asyncio.as_completed(tasks):
                    try:
                        result = await future
                    except BudgetExceeded as exc:
                        run.stopped = str(exc)
                        break
                    on_done(result)
                    run.done += 1
                    if on_progress:
                        on_progress(run.done, len(jobs))
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                run.cost = budget.spent if not budget.unpriced else None

    asyncio.run(main())
    return run
