"""Client construction and error mapping shared by the LLM, STT and TTS.

The SDK's own retries are disabled (``max_retries=0``): the framework's retry policy (with
``Retry-After`` and fallback adapters) is the only one. Every SDK or transport error is turned
into one of the framework's :class:`~livekit.agents.APIError` types, without the API key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

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
    import openai

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "ClientConfig",
    "resolve_base_url",
    "sdk_errors",
    "to_api_error",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
#: sent to OpenAI-compatible servers that need no key (Ollama, vLLM, ...): the SDK needs one
PLACEHOLDER_KEY = "no-key-needed"


def resolve_base_url(base_url: str | None) -> str:
    """``base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's; checked, without a trailing ``/``.

    A bad value raises ``ValueError`` naming where it came from, never repeating the value.
    """
    url: str = base_urls.resolve_base_url(
        base_url, env_var=BASE_URL_ENV, default=DEFAULT_BASE_URL,
        expected=f"an http(s) URL such as {DEFAULT_BASE_URL!r}",
    )
    return url


def is_openai_host(base_url: str) -> bool:
    host = (urlparse(base_url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


@dataclass(frozen=True)
class ClientConfig:
    """Where requests go and with which key; ``owned`` clients are closed by ``aclose``."""

    api_key: str
    base_url: str

    @classmethod
    def resolve(cls, *, api_key: str | None, base_url: str | None, what: str) -> ClientConfig:
        """Apply the environment fallbacks; a missing key fails only for OpenAI's own hosts."""
        url = resolve_base_url(base_url)
        key = api_key or os.environ.get(API_KEY_ENV)
        if not key:
            if is_openai_host(url):
                raise MissingCredentialsError(
                    f"{what} needs an OpenAI API key: set the {API_KEY_ENV} environment variable "
                    f"or pass api_key=... (OpenAI-compatible servers given with base_url= need no key)",
                    env_var=API_KEY_ENV,
                )
            key = PLACEHOLDER_KEY
        return cls(api_key=key, base_url=url)

    @property
    def provider(self) -> str:
        """``openai`` for OpenAI itself, else the server's host:port (for metrics)."""
        if is_openai_host(self.base_url):
            return "openai"
        return urlparse(self.base_url).netloc or self.base_url

    @property
    def label(self) -> str:
        """How errors name the server."""
        if is_openai_host(self.base_url):
            return "OpenAI"
        return f"the OpenAI-compatible server at {self.provider}"

    def create_client(self) -> openai.AsyncOpenAI:
        import httpx2

        import openai

        return openai.AsyncOpenAI(
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

    import openai

    return (openai.OpenAIError, httpx2.HTTPError, httpx2.StreamError, anyio.EndOfStream)


def to_api_error(error: BaseException, *, label: str, api_key: str | None) -> APIError:
    """Map an ``openai``/``httpx2`` exception to the framework's error types."""
    import anyio
    import httpx2

    import openai

    if isinstance(error, APIError):
        return error
    if isinstance(error, (openai.APITimeoutError, httpx2.TimeoutException)):
        return APITimeoutError(f"{label} did not answer in time")
    if isinstance(error, openai.APIStatusError):
        return _status_error(error, label=label, api_key=api_key)
    if isinstance(error, (openai.APIConnectionError, httpx2.RequestError, anyio.EndOfStream)):
        cause = error.__cause__ or error
        return APIConnectionError(
            f"connection to {label} failed: {_redact(_describe(cause), api_key)}"
        )
    if isinstance(error, openai.APIError):
        # an error reported inside an otherwise successful stream
        return APIError(
            f"{label} reported an error: {_redact(error.message, api_key)}",
            body=error.body,
            retryable=True,
        )
    return APIError(
        f"{label} request failed: {_redact(_describe(error), api_key)}", retryable=False
    )


def _status_error(
    error: openai.APIStatusError, *, label: str, api_key: str | None
) -> APIStatusError:
    status = error.status_code
    request_id = error.request_id
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return APIStatusError(
            f"{label} {what} (HTTP {status}): check {API_KEY_ENV} or the api_key option",
            status_code=status,
            request_id=request_id,
            retryable=False,
        )
    detail = _redact(_error_detail(error), api_key)
    headers = error.response.headers
    result = create_api_error_from_http(
        f"{label} error: {detail}", status=status, headers=headers, body=error.body
    )
    if result.retry_after is None:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            try:
                result.retry_after = max(0.0, float(millis) / 1000.0)
            except ValueError:
                pass
    return result


def _error_detail(error: openai.APIStatusError) -> str:
    body: Any = error.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error.message)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _redact(text: str, api_key: str | None) -> str:
    if api_key and len(api_key) >= 6 and api_key in text:
        text = text.replace(api_key, "***")
    return text
