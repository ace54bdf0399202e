"""Small helpers: base-URL handling, WAV encoding and error translation."""

from __future__ import annotations

import io
import os
import wave
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from livekit.agents import APIStatusError, create_api_error_from_http

if TYPE_CHECKING:
    from livekit import rtc

DEFAULT_BASE_URL = "https://api.deepgram.com"
API_KEY_ENV = "DEEPGRAM_API_KEY"
BASE_URL_ENV = "DEEPGRAM_BASE_URL"

_TO_HTTP = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_TO_WS = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def resolve_base_url(base_url: str | None) -> tuple[str, str]:
    """``(http_base, ws_base)`` of ``base_url``, else ``$DEEPGRAM_BASE_URL``, else Deepgram's cloud.

    A bad value raises ``ValueError`` naming where it came from; the value itself is not
    repeated (a key pasted into the wrong variable must not end up in a log).
    """
    if base_url and base_url.strip():
        return split_base_url(base_url)
    from_env = os.environ.get(BASE_URL_ENV, "").strip()
    if from_env:
        return split_base_url(
            from_env, source=BASE_URL_ENV, note=" (read when base_url= is not given)"
        )
    return split_base_url(DEFAULT_BASE_URL)


def split_base_url(base_url: str, *, source: str = "base_url", note: str = "") -> tuple[str, str]:
    """``(http_base, ws_base)`` for a base URL given with any of http/https/ws/wss.

    A trailing ``/v1/listen`` or ``/v1`` is dropped (the SDK appends ``/v1/listen``), so both
    ``https://api.deepgram.com`` and ``wss://api.deepgram.com/v1/listen`` work.
    """
    url = base_url.strip().rstrip("/")
    for suffix in ("/v1/listen", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    problem = ""
    if scheme not in _TO_HTTP:
        problem = "it does not start with http://, https://, ws:// or wss://"
    elif not parts.hostname:
        problem = "it has no host"
    else:
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            problem = "its port is not a number between 0 and 65535"
    if problem:
        raise ValueError(
            f"{source} must be an absolute http(s) or ws(s) URL such as {DEFAULT_BASE_URL!r}, "
            f"but {problem}{note}"
        )
    rest = url.partition("://")[2]
    return f"{_TO_HTTP[scheme]}://{rest}", f"{_TO_WS[scheme]}://{rest}"


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
