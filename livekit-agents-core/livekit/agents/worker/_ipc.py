"""Messages between the worker and a job process, and their framing on a local socket.

A frame is a 4-byte big-endian length followed by a pickled message. The channel is private to
one worker and the processes it spawned (same interpreter, same code), so pickle is the simplest
faithful encoding; nothing outside the worker ever writes to these sockets.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Initialized",
    "JobDone",
    "Shutdown",
    "StartJob",
    "read_frame",
    "recv_blocking",
    "send_blocking",
    "write_frame",
]

_HEADER = struct.Struct(">I")
_MAX_FRAME = 64 * 1024 * 1024


@dataclass
class Initialized:
    """Child -> worker: the prewarm function ran (``error`` holds its traceback when it failed)."""

    pid: int
    error: str | None = None


@dataclass
class StartJob:
    """Worker -> child: run this job (the ``livekit.protocol.agent.Job`` travels serialized)."""

    job: bytes
    url: str
    token: str
    worker_id: str
    participant_name: str = ""
    participant_identity: str = ""
    participant_metadata: str = ""
    participant_attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Shutdown:
    """Worker -> child: end the job (or exit, when no job was started)."""

    reason: str


@dataclass
class JobDone:
    """Child -> worker: the job ended; ``error`` says why it failed, None when it succeeded."""

    error: str | None = None


def encode(msg: Any) -> bytes:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def write_frame(writer: asyncio.StreamWriter, msg: Any) -> None:
    writer.write(encode(msg))
    await writer.drain()


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message; raises ``asyncio.IncompleteReadError`` at end of stream."""
    header = await reader.readexactly(_HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > _MAX_FRAME:
        raise ValueError(f"IPC frame too large ({size} bytes)")
    return pickle.loads(await reader.readexactly(size))


def send_blocking(sock: socket.socket, msg: Any) -> None:
    sock.sendall(encode(msg))


def recv_blocking(sock: socket.socket) -> Any:
    """Blocking read of one message; raises ``EOFError`` when the peer closed the socket."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return pickle.loads(_recv_exactly(sock, size))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("the IPC socket was closed")
        buf += chunk
    return bytes(buf)
