"""Messages of the Speech service websocket protocol.

Every message carries HTTP-like headers (``Path``, ``X-RequestId``, ``X-Timestamp``,
``Content-Type``) before its body. Text messages are ``headers CRLF CRLF body``; binary (audio)
messages are a 2-byte big-endian header length, the headers, then the audio bytes. The first audio
message of a turn carries a RIFF/WAVE header describing the PCM that follows; an audio message
with an empty body ends the turn.
"""

from __future__ import annotations

import json
import struct
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "ServerMessage",
    "audio_message",
    "new_request_id",
    "parse_server_message",
    "text_message",
    "wav_header",
]


def new_request_id() -> str:
    """A request id as the service expects it: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def _timestamp() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _headers(path: str, request_id: str | None, content_type: str | None) -> str:
    lines = [f"Path: {path}"]
    if request_id is not None:
        lines.append(f"X-RequestId: {request_id}")
    lines.append(f"X-Timestamp: {_timestamp()}")
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    return "\r\n".join(lines) + "\r\n"


def text_message(path: str, body: Any, *, request_id: str | None = None) -> str:
    """A JSON text message (``speech.config``, ``speech.context``...)."""
    return _headers(path, request_id, "application/json") + "\r\n" + json.dumps(body)


def audio_message(request_id: str, data: bytes, *, first: bool = False) -> bytes:
    """A binary ``audio`` message; the first of a turn declares ``audio/x-wav``."""
    head = _headers("audio", request_id, "audio/x-wav" if first else None).encode("ascii")
    return struct.pack(">H", len(head)) + head + data


def wav_header(
    sample_rate: int, *, num_channels: int = 1, bits: int = 16, data_size: int = 0
) -> bytes:
    """A RIFF/WAVE header for 16-bit PCM; ``data_size=0`` for a stream of unknown length."""
    block_align = num_channels * bits // 8
    fmt = struct.pack(
        "<IHHIIHH", 16, 1, num_channels, sample_rate, sample_rate * block_align, block_align, bits
    )
    riff_size = 36 + data_size if data_size else 0
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


@dataclass
class ServerMessage:
    path: str
    request_id: str
    body: dict[str, Any]


def parse_server_message(raw: str) -> ServerMessage:
    """Split a text message from the service into its path, request id and JSON body."""
    head, sep, body = raw.partition("\r\n\r\n")
    if not sep:
        raise ValueError("a message without a header block")
    headers: dict[str, str] = {}
    for line in head.split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    path = headers.get("path")
    if not path:
        raise ValueError("a message without a Path header")
    parsed = json.loads(body) if body.strip() else {}
    return ServerMessage(
        path=path.lower(),
        request_id=headers.get("x-requestid", "").lower(),
        body=parsed if isinstance(parsed, dict) else {},
    )
