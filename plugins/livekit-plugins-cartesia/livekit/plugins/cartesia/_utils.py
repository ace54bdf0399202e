"""Small helpers: base-URL handling and error translation."""

from __future__ import annotations

from typing import Any

from livekit.agents import APIStatusError, create_api_error_from_http
from livekit.agents.utils import base_url as base_urls

DEFAULT_BASE_URL = "https://api.cartesia.ai"
API_KEY_ENV = "CARTESIA_API_KEY"
#: the Cartesia SDK reads the same variable (when given no base_url)
BASE_URL_ENV = "CARTESIA_BASE_URL"


def resolve_base_url(base_url: str | None) -> tuple[str, str]:
    """``(http_base, ws_base)`` of ``base_url``, else ``$CARTESIA_BASE_URL``, else Cartesia's cloud.

    A bad value raises ``ValueError`` naming where it came from, never repeating the value.
    """
    bases: tuple[str, str] = base_urls.http_and_ws(base_urls.resolve_base_url(
        base_url, env_var=BASE_URL_ENV, default=DEFAULT_BASE_URL, schemes=base_urls.HTTP_OR_WS,
        expected=f"an absolute http(s) or ws(s) URL such as {DEFAULT_BASE_URL!r}",
    ))
    return bases


def status_error(
    status: int, *, what: str, headers: Any = None, body: object | None = None
) -> APIStatusError:
    """Translate an HTTP error status from Cartesia into the framework's error.

    401/403 are final (a wrong key does not get better with retries); 429 carries Retry-After;
    5xx are retryable. Messages never include request headers (they hold the key).
    """
    if status in (401, 403):
        return APIStatusError(
            f"Cartesia rejected the API key for the {what} (HTTP {status}): check "
            f"{API_KEY_ENV} or the api_key= argument",
            status_code=status,
            retryable=False,
        )
    detail = _detail(body)
    message = f"Cartesia {what} failed with HTTP {status}" + (f": {detail}" if detail else "")
    return create_api_error_from_http(message, status=status, headers=headers, body=body)


def stream_error(message: dict[str, Any]) -> APIStatusError:
    """The error carried by an ``error`` message on the websocket."""
    status = message.get("status_code")
    if not isinstance(status, int) or status < 400:
        status = 500
    detail = _detail(message) or "no details"
    if status in (401, 403):
        return status_error(status, what="synthesis stream")
    return APIStatusError(f"Cartesia reported an error: {detail}", status_code=status, body=message)


def _detail(body: object | None) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, dict):
        parts = [body.get(k) for k in ("title", "message", "error")]
        texts = [p for p in parts if isinstance(p, str) and p]
        unique = list(dict.fromkeys(texts))
        return ": ".join(unique)[:300]
    if isinstance(body, str):
        return body.strip()[:300]
    return ""
