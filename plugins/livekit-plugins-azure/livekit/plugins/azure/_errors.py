"""Map Azure Speech failures onto the framework's error types (never quoting the key)."""

from __future__ import annotations

from collections.abc import Mapping

from livekit.agents import APIConnectionError, APIError, APIStatusError, create_api_error_from_http

_KEY_HINT = "check AZURE_SPEECH_KEY and that it belongs to AZURE_SPEECH_REGION (or the endpoint)"


def http_error(status: int, headers: Mapping[str, str] | None, detail: str = "") -> APIStatusError:
    """An error status from the REST endpoint or the websocket handshake."""
    if status in (401, 403):
        return APIStatusError(
            f"Azure Speech rejected the key (HTTP {status}): {_KEY_HINT}",
            status_code=status,
            retryable=False,
        )
    message = f"Azure Speech answered HTTP {status}" + (f": {detail[:300]}" if detail else "")
    return create_api_error_from_http(message, status=status, headers=headers)


def close_error(code: int | None, reason: str) -> APIError:
    """The service closed the websocket while results were still owed."""
    text = f"Azure Speech closed the connection (code {code}" + (
        f": {reason[:200]})" if reason else ")"
    )
    if code == 1007:
        # the service could not use what was sent (e.g. the audio format): a retry repeats it
        return APIError(text, retryable=False)
    return APIConnectionError(text)
