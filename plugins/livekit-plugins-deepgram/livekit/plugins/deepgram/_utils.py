"""Small helpers: base-URL handling, WAV encoding and error translation."""

from __future__ import annotations

import io
import wave
from typing import TYPE_CHECKING, Any

from livekit.agents import APIStatusError, create_api_error_from_http
from livekit.agents.utils import base_url as base_urls

if TYPE_CHECKING:
    from livekit import rtc

DEFAULT_BASE_URL = "https://api.deepgram.com"
API_KEY_ENV = "DEEPGRAM_API_KEY"
BASE_URL_ENV = "DEEPGRAM_BASE_URL"


def resolve_base_url(base_url: str | None) -> tuple[str, str]:
    """``(http_base, ws_base)`` of ``base_url``, else ``$DEEPGRAM_BASE_URL``, else Deepgram's cloud.

    A bad value raises ``ValueError`` naming where it came from, never repeating the value.
    """
    url: str = base_urls.resolve_base_url(
        base_url, env_var=BASE_URL_ENV, default=DEFAULT_BASE_URL, **_CHECK
    )
    return split_base_url(url)


def split_base_url(base_url: str) -> tuple[str, str]:
    """``(http_base, ws_base)`` for a base URL given with any of http/https/ws/wss.

    A trailing ``/v1/listen`` or ``/v1`` is dropped (the SDK appends ``/v1/listen``), so both
    ``https://api.deepgram.com`` and ``wss://api.deepgram.com/v1/listen`` work.
    """
    bases: tuple[str, str] = base_urls.http_and_ws(base_urls.check_base_url(base_url, **_CHECK))
    return bases


_CHECK: dict[str, Any] = {
    "expected": f"an absolute http(s) or ws(s) URL such as {DEFAULT_BASE_URL!r}",
    "schemes": base_urls.HTTP_OR_WS,
    "strip_suffixes": ("/v1/listen", "/v1"),
}


def to_wav(frame: rtc.AudioFrame) -> bytes:
    """Encode one frame of 16-bit PCM as a WAV file (the prerecorded endpoint sniffs it)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(frame.num_channels)
        w.setsampwidth(2)
        w.setframerate(frame.sample_rate)
        w.writeframes(bytes(frame.data))
    return out.getvalue()


def status_error(
    status: int, *, what: str, headers: Any = None, body: object | None = None
) -> APIStatusError:
    """Translate an HTTP error status from Deepgram into the framework's error.

    401/403 are final (a wrong key does not get better with retries); 429 carries Retry-After;
    5xx are retryable. Messages never include request headers (they hold the key).
    """
    if status in (401, 403):
        return APIStatusError(
            f"Deepgram rejected the API key for the {what} (HTTP {status}): check "
            f"{API_KEY_ENV} or the api_key= argument",
            status_code=status,
            retryable=False,
        )
    detail = _detail(body)
    message = f"Deepgram {what} failed with HTTP {status}" + (f": {detail}" if detail else "")
    return create_api_error_from_http(message, status=status, headers=headers, body=body)


def handshake_error(exc: BaseException, *, status: int) -> APIStatusError:
    """The error of a refused websocket handshake.

    The SDK raises its own ``ApiError`` carrying the *request* headers; the response (and its
    ``Retry-After``) is on the websockets exception it was raised from (``__context__``).
    """
    cause = exc.__context__
    headers = getattr(cause, "headers", None)
    response = getattr(cause, "response", None)
    if headers is None and response is not None:
        headers = getattr(response, "headers", None)
    body = getattr(response, "body", None) if response is not None else None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return status_error(status, what="streaming connection", headers=headers, body=body)


def _detail(body: object | None) -> str:
    if isinstance(body, dict):
        for key in ("err_msg", "message", "description", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return ""
    if isinstance(body, str):
        return body.strip()[:300]
    return ""
