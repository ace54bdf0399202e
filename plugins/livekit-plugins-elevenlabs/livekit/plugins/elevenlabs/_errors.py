"""Map ElevenLabs failures onto the framework's error types (never quoting the API key)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from livekit.agents import APIError, APIStatusError, create_api_error_from_http

_KEY_HINT = "check ELEVEN_API_KEY (or ELEVENLABS_API_KEY), or pass api_key="


def rejected_key(status: int) -> APIStatusError:
    """401/403: retrying cannot help, so the error is not retryable."""
    if status == 403:
        message = (
            "ElevenLabs rejected the API key for this request (HTTP 403): check the key's "
            f"permissions and that the model supports this endpoint; {_KEY_HINT}"
        )
    else:
        message = f"ElevenLabs rejected the API key (HTTP {status}): {_KEY_HINT}"
    return APIStatusError(message, status_code=status, retryable=False)


def http_error(status: int, headers: Mapping[str, str] | None, body: Any) -> APIStatusError:
    """An error status from the REST endpoint or the websocket handshake."""
    if status in (401, 403):
        return rejected_key(status)
    detail = _detail(body)
    message = f"ElevenLabs answered HTTP {status}" + (f": {detail}" if detail else "")
    return create_api_error_from_http(message, status=status, headers=headers, body=body)


def in_band_error(data: Mapping[str, Any]) -> APIError:
    """An error message sent on the websocket (``{"error": ..., "message": ..., "code": ...}``)."""
    code = str(data.get("error") or data.get("status") or "")
    message = str(data.get("message") or code or "unknown error")[:300]
    lowered = f"{code} {message}".lower()
    if "api_key" in lowered or "api key" in lowered or "unauthorized" in lowered:
        return rejected_key(401)
    if "too_many" in lowered or "rate" in lowered or "busy" in lowered:
        return APIStatusError(f"ElevenLabs is busy: {message}", status_code=429)
    if "quota" in lowered:
        return APIStatusError(
            f"ElevenLabs quota exceeded: {message}", status_code=402, retryable=False
        )
    return APIError(f"ElevenLabs reported an error: {message}", body=dict(data))


def _detail(body: Any) -> str:
    """The human-readable part of an error body (``{"detail": {"message": ...}}``)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return str(body).strip()[:300]
    if isinstance(body, Mapping):
        detail = body.get("detail", body)
        if isinstance(detail, Mapping):
            detail = detail.get("message") or detail.get("status") or ""
        return str(detail)[:300]
    return "" if body is None else str(body)[:300]
