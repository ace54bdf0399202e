"""The retry budget shared by every provider base class."""

from __future__ import annotations

import time

from ._exceptions import APIError, APIStatusError
from .types import APIConnectOptions

__all__ = ["RetryBudget"]

#: A stream that ran this long without an error earns a fresh retry budget.
HEALTHY_PERIOD = 30.0


class RetryBudget:
    """Decide whether (and after how long) a failed attempt is retried.

    Retries back off: the first after 0.1 s, then ``retry_interval`` doubling each time (capped
    at 30 s). A provider's ``Retry-After`` is honoured when it fits in ``conn_options.timeout``;
    a longer one fails fast so a fallback provider can take over. The budget resets after a
    healthy period, so a long-lived stream is not killed by errors spread over hours.
    """

    def __init__(self, conn_options: APIConnectOptions) -> None:
        self._opts = conn_options
        self._retries = 0
        self._healthy_since = time.monotonic()

    @property
    def retries(self) -> int:
        return self._retries

    def mark_healthy(self) -> None:
        """Call when the provider produced useful output (resets the budget after a while)."""
        if time.monotonic() - self._healthy_since >= HEALTHY_PERIOD:
            self._retries = 0

    def reset(self) -> None:
        self._retries = 0
        self._healthy_since = time.monotonic()

    def next_delay(self, error: BaseException) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to give up."""
        if not isinstance(error, APIError) or not error.retryable:
            return None
        if time.monotonic() - self._healthy_since >= HEALTHY_PERIOD:
            self._retries = 0
        if self._retries >= self._opts.max_retry:
            return None
        delay = self._backoff(self._retries)
        if isinstance(error, APIStatusError) and error.retry_after is not None:
            if error.retry_after > self._opts.timeout:
                return None
            delay = max(delay, error.retry_after)
        self._retries += 1
        self._healthy_since = time.monotonic()
        return delay

    def _backoff(self, n: int) -> float:
        if n == 0:
            return min(0.1, self._opts.retry_interval)
        return float(min(30.0, self._opts.retry_interval * (2 ** (n - 1))))
