"""When to retry an HTTP attempt and how long to wait: Retry-After parsing and jittered exponential backoff."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping

# 408 request timeout, 409 conflict (lock), 425 too early, 429 rate limited; every 5xx except 501.
_RETRYABLE = {408, 409, 425, 429}


def is_retryable_status(status: int) -> bool:
    """True for statuses that usually succeed on a later attempt."""
    return status in _RETRYABLE or (status >= 500 and status != 501)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date; None if absent.

    RFC 9110 §10.2.3: the value is delay-seconds or an HTTP-date. ``retry-after-ms`` is OpenAI's extension.
    """
    if not headers:
        return None
    lower = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lower.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    value = lower.get("retry-after")
    if not value:
        return None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    when = email.utils.mktime_tz(parsed)
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(retry: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``retry`` (1-based): ``min(cap, base * 2**(retry-1))`` with equal jitter.

    Equal jitter (half fixed, half random) keeps a floor on the wait while spreading concurrent clients;
    see the AWS Architecture Blog, "Exponential Backoff And Jitter" (2015).
    """
    step = min(cap, base * (2 ** max(0, retry - 1)))
    r = (rng or random).random()
    return step / 2 + r * step / 2
