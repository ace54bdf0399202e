"""Client construction and error mapping.

The SDK's own retries are disabled (``max_retries=0``): the framework's retry policy (with
``Retry-After`` and fallback adapters) is the only one. Every SDK or transport error becomes one
of the framework's :class:`~livekit.agents.APIError` types, without the API key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livekit.agents import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
    create_api_error_from_http,
)
from livekit.agents.utils import base_url as base_urls

if TYPE_CHECKING:
    import anthropic

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "ClientConfig",
    "resolve_base_url",
    "sdk_errors",
    "to_api_error",
]

API_KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_BASE_URL = "https://api.anthropic.com"

#: the status an error reported inside a stream stands for (the stream itself answered 200)
_STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "api_error": 500,
    "rate_limit_error": 429,
    "timeout_error": 504,
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
}


def resolve_base_url(base_url: str | None) -> str:
    """``base_url``, else ``$ANTHROPIC_BASE_URL``, else Anthropic's; checked, without a final ``/``.

    A bad value raises ``ValueError`` naming where it came from, never repeating the value.
    """
    url: str = base_urls.resolve_base_url(
        base_url, env_var=BASE_URL_ENV, default=DEFAULT_BASE_URL,
        expected=f"an http(s) URL such as {DEFAULT_BASE_URL!r}",
    )
    return url


@dataclass(frozen=True)
class ClientConfig:
    api_key: str
    base_url: str

    @classmethod
    def resolve(cls, *, api_key: str | None, base_url: str | None) -> ClientConfig:
        key = api_key or os.environ.get(API_KEY_ENV)
        if not key:
            raise MissingCredentialsError(
                f"anthropic.LLM needs an Anthropic API key: set the {API_KEY_ENV} environment "
                f"variable or pass api_key=...",
                env_var=API_KEY_ENV,
            )
        return cls(api_key=key, base_url=resolve_base_url(base_url))

    def create_client(self) -> anthropic.AsyncAnthropic:
        import httpx2

        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=self.api_key,
            base_url=self.base_url,
            max_retries=0,
            # per-request timeouts come from APIConnectOptions; this is the fallback
            timeout=httpx2.Timeout(30.0, connect=10.0),
        )


def sdk_errors() -> tuple[type[BaseException], ...]:
    """The exceptions the SDK and its transport raise (to catch and map with to_api_error)."""
    import anyio
    import httpx2

    import anthropic

    return (anthropic.AnthropicError, httpx2.HTTPError, httpx2.StreamError, anyio.EndOfStream)


def to_api_error(error: BaseException, *, api_key: str | None) -> APIError:
    """Map an ``anthropic``/``httpx2`` exception to the framework's error types."""
    import anyio
    import httpx2

    import anthropic

    if isinstance(error, APIError):
        return error
    if isinstance(error, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        return APITimeoutError("Anthropic did not answer in time")
    if isinstance(error, anthropic.APIStatusError):
        return _status_error(error, api_key=api_key)
    if isinstance(error, (anthropic.APIConnectionError, httpx2.RequestError, anyio.EndOfStream)):
        cause = error.__cause__ or error
        return APIConnectionError(
            f"connection to Anthropic failed: {_redact(_describe(cause), api_key)}"
        )
    if isinstance(error, anthropic.APIError):
        return APIError(f"Anthropic error: {_redact(error.message, api_key)}", retryable=True)
    return APIError(
        f"Anthropic request failed: {_redact(_describe(error), api_key)}", retryable=False
    )


def _status_error(error: anthropic.APIStatusError, *, api_key: str | None) -> APIStatusError:
    status = error.status_code
    kind, message = _error_fields(error.body)
    if status < 400:
        # an `error` event inside a stream that started with 200
        status = _STREAM_ERROR_STATUS.get(kind or "", 500)
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return APIStatusError(
            f"Anthropic {what} (HTTP {status}): check {API_KEY_ENV} or the api_key option",
            status_code=status,
            request_id=error.request_id,
            retryable=False,
        )
    detail = _redact(message or error.message, api_key)
    label = f"{kind}: {detail}" if kind else detail
    return create_api_error_from_http(
        f"Anthropic error: {label}",
        status=status,
        headers=error.response.headers if error.status_code >= 400 else None,
        body=error.body,
    )


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    """``error.type`` and ``error.message`` of an Anthropic error body."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            kind = inner.get("type")
            message = inner.get("message")
            return (
                kind if isinstance(kind, str) else None,
                message if isinstance(message, str) else None,
            )
    return None, None


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _redact(text: str, api_key: str | None) -> str:
    if api_key and len(api_key) >= 6 and api_key in text:
        text = text.replace(api_key, "***")
    return text
