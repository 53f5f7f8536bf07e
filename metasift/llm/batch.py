"""Run many LLM calls concurrently under one client and one budget, handling each result as it arrives.

Screening and PDF extraction both use it: results are handed to ``on_done`` the moment they complete
(so the caller can store them at once), a spent budget stops the run, an endpoint the client gives up on
(``EndpointError``) stops it and cancels what is in flight, and Ctrl-C cancels what is in flight without
losing what was already handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from metasift.llm.client import EndpointError, ExchangeHook, LLMClient
from metasift.llm.cost import Budget, BudgetExceeded
from metasift.llm.settings import LLMSettings

T = TypeVar("T")
Job = Callable[[LLMClient], Awaitable[T]]


class BatchRun(BaseModel):
    done: int = 0
    cost: float | None = 0.0  # None when some answer had no known price
    stopped: str | None = None  # why the run stopped early (budget)
    failed: str | None = None  # why the endpoint was given up on (``EndpointError``), with report_failure


def run_batch(settings: LLMSettings, jobs: Sequence[Job[Any]], *, on_done: Callable[[Any], None],
              on_exchange: ExchangeHook | None = None,
              on_progress: Callable[[int, int], None] | None = None, report_failure: bool = False) -> BatchRun:
    """Run every job (``async job(client) -> result``) with ``settings.concurrency`` requests in flight.

    Once the budget is spent no new job starts; jobs already past their last request finish and are
    handed to ``on_done``, so an answer that was paid for is kept. An unpriced model at a local endpoint
    costs 0 (``LLMSettings.with_local_pricing``). When the client gives up on the endpoint the jobs in
    flight are cancelled and the ``EndpointError`` is raised once the run is wound up, or, with
    ``report_failure``, its message is in ``BatchRun.failed``.
    """
    run = BatchRun()
    settings = settings.with_local_pricing()
    failure: list[EndpointError] = []

    async def main() -> None:
        budget = Budget(settings.max_cost)
        pending = iter(jobs)  # shared by the workers; one event loop, so taking the next job is atomic

        async def worker(client: LLMClient) -> None:
            for job in pending:
                if run.stopped:
                    return
                try:
                    result = await job(client)
                except BudgetExceeded as exc:
                    run.stopped = run.stopped or str(exc)
                    return
                on_done(result)
                run.done += 1
                if on_progress:
                    on_progress(run.done, len(jobs))
                if client.failure is not None:  # this job's error completed a run of failures: stop all
                    raise client.failure

        # one client, so one openai SDK client and one connection pool of ``concurrency`` for the whole batch
        async with LLMClient(settings, on_exchange=on_exchange, budget=budget) as client:
            # a bounded pool, not one task per job: 100,000 records keep ~2x concurrency coroutines alive
            workers = [asyncio.ensure_future(worker(client)) for _ in range(min(len(jobs), 2 * settings.concurrency))]
            try:
                await asyncio.gather(*workers)
            except EndpointError as exc:  # the calls still in flight are cancelled below
                failure.append(exc)
                run.failed = str(exc)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                run.cost = budget.spent if not budget.unpriced else None

    asyncio.run(main())
    if failure and not report_failure:
        raise failure[0]
    return run

