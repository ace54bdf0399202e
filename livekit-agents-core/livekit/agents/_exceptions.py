"""Errors raised by providers, in one hierarchy so retry and fallback logic can reason about them."""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssignmentTimeoutError",
    "MissingCredentialsError",
    "create_api_error_from_http",
]


class APIError(Exception):
    """A provider request failed.

    ``retryable`` tells the retry loop and the fallback adapters whether another attempt may help.
    """

    def __init__(self, message: str, *, body: object | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class APIStatusError(APIError):
    """The provider answered with an error status.

    4xx statuses are not retried, except 408 (timeout), 429 (rate limit) and 499; 5xx are.
    ``retry_after`` carries the provider's ``Retry-After`` hint in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = -1,
        request_id: str | None = None,
        body: object | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        if retryable is None:
            retryable = not (400 <= status_code < 500) or status_code in (408, 429, 499)
        super().__init__(message, body=body, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message, f"status_code={self.status_code}"]
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return ", ".join(parts)


class APIConnectionError(APIError):
    """The provider could not be reached, or the connection dropped."""

    def __init__(self, message: str = "Connection error.", *, retryable: bool = True) -> None:
        super().__init__(message, body=None, retryable=retryable)


class APITimeoutError(APIConnectionError):
    """The provider did not answer in time."""

    def __init__(self, message: str = "Request timed out.", *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class MissingCredentialsError(ValueError):
    """A provider was created without its API key (names the environment variable to set).

    Raised at construction, so a missing key fails at startup rather than at the first turn;
    ``AgentTest`` skips a test whose real LLM has no key.
    """

    def __init__(self, message: str, *, env_var: str | None = None) -> None:
        super().__init__(message)
        self.env_var = env_var


class AssignmentTimeoutError(Exception):
    """The LiveKit server did not confirm a job assignment in time."""


def create_api_error_from_http(
    message: str, *, status: int, headers: Any = None, body: object | None = None
) -> APIStatusError:
    """Build an :class:`APIStatusError` from an HTTP response, reading ``Retry-After`` if present."""
    retry_after: float | None = None
    request_id: str | None = None
    if headers is not None:
        raw = headers.get("retry-after") or headers.get("Retry-After")
        if raw is not None:
            try:
                retry_after = max(0.0, float(raw))
            except (TypeError, ValueError):
                retry_after = None
        request_id = headers.get("x-request-id") or headers.get("request-id")
    return APIStatusError(
        message, status_code=status, request_id=request_id, body=body, retry_after=retry_after
    )
