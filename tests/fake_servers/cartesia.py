"""A local fake of Cartesia's text-to-speech API: ``/tts/websocket`` and ``POST /tts/bytes``.

Usage::

    from fake_servers.cartesia import FakeCartesia

    async with FakeCartesia() as srv:                    # 127.0.0.1, random port
        tts = cartesia.TTS(api_key=srv.api_key, base_url=srv.base_url)
        srv.fail_next(429, retry_after=1)                # faults, see below
        await srv.wait_for(lambda: srv.contexts)          # wait for what the client sent
        srv.contexts["<context_id>"].transcript          # the text of one context, as received
        srv.sockets[0].extra["messages"]                  # every JSON request, in order
        srv.assert_no_violations()

Credentials: ``X-API-Key: <api_key>``, ``Authorization: Bearer <api_key>`` or ``?api_key=``
(else 401); an API version is required, as the ``Cartesia-Version`` header or the
``cartesia_version`` query parameter (else 400).

Websocket (``GET /tts/websocket``): each text frame is a generation request ``{context_id,
model_id, voice, output_format, transcript, continue?, flush?, language?, add_timestamps?,
max_buffer_delay_ms?, generation_config?}`` or a cancel ``{context_id, cancel: true}``. Requests
are checked (required fields; ``voice`` a voice id or ``{"id"}``/``{"mode": "id", "id"}``;
``output_format`` ``{"container": "raw", "encoding": pcm_s16le|pcm_f32le|pcm_mulaw|pcm_alaw,
"sample_rate": 8000|16000|22050|24000|44100|48000}``; no request after a ``continue: false``):
a bad one is answered with an ``error`` message for its context and noted in ``violations``.
Each request's transcript is synthesized at once (no server-side buffering): a tone lasting
``seconds_per_char`` per non-blank character, sent as ``chunk`` messages (base64 ``data``,
``chunk_ms`` each); then ``timestamps`` (with ``add_timestamps``), ``flush_done`` (with
``flush: true``) and ``done`` (with ``continue: false``, or no ``continue``).

Bytes (``POST /tts/bytes``): the same JSON with the whole ``transcript``; the answer is the raw
audio, in ``chunk_ms`` pieces of the chunked body.

Faults (from ``ScriptedHTTPServer``, for the next websocket or POST): ``fail_next(status,
retry_after=...)`` rejects the handshake/POST; ``disconnect_next(after=n)`` drops the TCP
connection after ``n`` audio chunks (``after=0``: during the handshake); ``stall_next(after=n)``
goes silent after ``n`` chunks (``after=0``: the handshake never completes);
``hold_next(after=n)`` pauses after ``n`` chunks until the returned event is set. Also
``error_next(status, message, after=n)``: after ``n`` chunks, answer an ``error`` message for the
context (websocket only).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ._scripted_http import Fault, RecordedRequest, ScriptedHTTPServer

__all__ = ["Context", "FakeCartesia"]

SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")


@dataclass
class Context:
    """What the fake received for one ``context_id``."""

    context_id: str
    transcript: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    cancelled: bool = False
    flushes: int = 0
    audio_bytes: int = 0


@dataclass
class _Conn:
    record: RecordedRequest
    ws: web.WebSocketResponse
    fault: Fault | None
    chunks: int = 0
    silent: bool = False


class FakeCartesia(ScriptedHTTPServer):
    """The fake; see the module docstring."""

    name = "Cartesia"

    def __init__(
        self,
        *,
        api_key: str = "cartesia-fake-key",
        seconds_per_char: float = 0.01,
        chunk_ms: int = 40,
    ) -> None:
        super().__init__(api_key=api_key)
        self.seconds_per_char = seconds_per_char
        self.chunk_ms = chunk_ms
        self.contexts: dict[str, Context] = {}
        self._errors: list[tuple[int, str, int]] = []
        self._changed: list[asyncio.Future[None]] = []

    @property
    def base_url(self) -> str:
        """The URL to give the client: ``http://127.0.0.1:<port>`` (ws derived from it)."""
        return self.url

    def error_next(self, status: int = 500, message: str = "Internal error", *, after: int = 0) -> None:
        """On the next socket, answer an ``error`` message after ``after`` audio chunks."""
        self._errors.append((status, message, after))

    # -- observation -----------------------------------------------------------------------

    @property
    def sockets(self) -> list[RecordedRequest]:
        """Accepted websocket connections, in order."""
        return [r for r in self.requests if r.method == "GET" and "messages" in r.extra]

    @property
    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def handshakes(self) -> int:
        """Websocket connection attempts, rejected ones included."""
        return sum(1 for r in self.requests if r.method == "GET")

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (checked whenever the fake receives something)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name} fake: condition not met within {timeout}s")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._changed.append(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except asyncio.TimeoutError:
                pass

    def _notify(self) -> None:
        waiters, self._changed = self._changed, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # -- ScriptedHTTPServer hooks ------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/tts/websocket", self._route(self._websocket))
        app.router.add_post("/tts/bytes", self._route(self._bytes))

    def _auth_error(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("X-API-Key") or request.query.get("api_key")
        bearer = request.headers.get("Authorization", "")
        if key == self.api_key or bearer == f"Bearer {self.api_key}":
            if not (request.headers.get("Cartesia-Version") or request.query.get("cartesia_version")):
                self.violations.append("no Cartesia-Version header or cartesia_version parameter")
                return self._error_response(400, "Missing the Cartesia-Version header")
            return None
        self._notify()
        return self._error_response(401, "Invalid API key")

    def _error_response(
        self, status: int, message: str, *, headers: dict[str, str] | None = None
    ) -> web.Response:
        body = {
            "error_code": {400: "bad_request", 401: "unauthorized", 429: "rate_limited"}.get(
                status, "internal_error"
            ),
            "title": message,
            "message": message,
            "request_id": str(uuid.uuid4()),
        }
        return web.json_response(body, status=status, headers=headers)

    # -- websocket -------------------------------------------------------------------------

    async def _websocket(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoclose=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        record.extra.update(messages=[])
        conn = _Conn(record=record, ws=ws, fault=fault)
        error = self._errors.pop(0) if self._errors else None
        self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        self.violations.append("binary frame on the TTS websocket")
                    continue
                try:
                    request_json = json.loads(msg.data)
                except ValueError:
                    request_json = None
                record.extra["messages"].append(request_json)
                self._notify()
                if not isinstance(request_json, dict):
                    self.violations.append(f"not a JSON object: {msg.data[:100]!r}")
                    await self._send(conn, self._error_message(None, 400, "Invalid JSON"))
                    continue
                dropped = await self._on_request(request, conn, request_json, error)
                self._notify()
                if dropped:
                    break
        finally:
            record.extra["closed"] = True
            self._notify()
        return ws

    async def _on_request(
        self,
        request: web.Request,
        conn: _Conn,
        body: dict[str, Any],
        error: tuple[int, str, int] | None,
    ) -> bool:
        """Answer one websocket request; True when the connection was dropped."""
        cid = body.get("context_id")
        if body.get("cancel") is True:
            if isinstance(cid, str) and cid in self.contexts:
                self.contexts[cid].cancelled = True
            return False
        problem = self._check_generation(body)
        if problem is None and isinstance(cid, str) and self.contexts.get(cid, Context(cid)).closed:
            problem = f"context {cid} already received continue=false"
        if problem is not None:
            self.violations.append(problem)
            await self._send(conn, self._error_message(cid, 400, problem))
            return False
        assert isinstance(cid, str)
        ctx = self.contexts.setdefault(cid, Context(cid))
        ctx.requests.append(body)
        ctx.transcript += body["transcript"]
        fmt = body["output_format"]
        pcm = self._audio(body["transcript"], fmt["sample_rate"], fmt["encoding"])
        piece = self._piece_bytes(fmt)
        for start in range(0, len(pcm), piece):
            if await self._before_chunk(request, conn, cid, error):
                return True
            if conn.silent:
                return False
            data = pcm[start : start + piece]
            ctx.audio_bytes += len(data)
            conn.chunks += 1
            await self._send(conn, {
                "type": "chunk",
                "data": base64.b64encode(data).decode(),
                "done": False,
                "status_code": 206,
                "step_time": 1.0,
                "context_id": cid,
                "flush_id": ctx.flushes + 1,
            })
        if await self._before_chunk(request, conn, cid, error, final=True):
            return True
        if conn.silent:
            return False
        if body.get("add_timestamps") and body["transcript"].strip():
            await self._send(conn, self._timestamps(cid, body["transcript"]))
        if body.get("flush"):
            ctx.flushes += 1
            await self._send(conn, {
                "type": "flush_done", "flush_done": True, "flush_id": ctx.flushes, "done": False,
                "status_code": 206, "context_id": cid,
            })
        if body.get("continue", False) is False:
            ctx.closed = True
            await self._send(conn, {
                "type": "done", "done": True, "status_code": 206, "context_id": cid,
            })
        return False

    async def _before_chunk(
        self,
        request: web.Request,
        conn: _Conn,
        cid: str,
        error: tuple[int, str, int] | None,
        *,
        final: bool = False,
    ) -> bool:
        """Apply the socket's fault before sending chunk number ``conn.chunks``."""
        if conn.silent:
            return False
        fault = conn.fault
        if error is not None and conn.chunks >= error[2]:
            await self._send(conn, self._error_message(cid, error[0], error[1]))
            conn.silent = True
            return False
        if fault is None:
            return False
        if fault.disconnect_after is not None and conn.chunks >= fault.disconnect_after:
            self._drop(request)
            return True
        if fault.stall_after is not None and conn.chunks >= fault.stall_after:
            conn.silent = True
            return False
        if not final and fault.hold_after == conn.chunks and fault.gate is not None:
            await fault.gate.wait()
        return False

    def _check_generation(self, body: dict[str, Any]) -> str | None:
        for key in ("context_id", "model_id", "voice", "output_format", "transcript"):
            if key not in body:
                return f"missing field {key!r}"
        if not isinstance(body["context_id"], str) or not body["context_id"]:
            return "context_id must be a non-empty string"
        if not isinstance(body["model_id"], str) or not body["model_id"]:
            return "model_id must be a non-empty string"
        if not isinstance(body["transcript"], str):
            return "transcript must be a string"
        voice = body["voice"]
        if isinstance(voice, dict):
            if voice.get("mode", "id") != "id" or not isinstance(voice.get("id"), str):
                return f"voice must be {{'id': ...}} (or {{'mode': 'id', 'id': ...}}), got {voice!r}"
        elif not isinstance(voice, str) or not voice:
            return f"voice must be a voice id, got {voice!r}"
        fmt = body["output_format"]
        if not isinstance(fmt, dict) or fmt.get("container") != "raw":
            return f"output_format.container must be 'raw' on the websocket, got {fmt!r}"
        if fmt.get("encoding") not in ENCODINGS:
            return f"output_format.encoding must be one of {ENCODINGS}, got {fmt.get('encoding')!r}"
        if fmt.get("sample_rate") not in SAMPLE_RATES:
            return f"output_format.sample_rate must be one of {SAMPLE_RATES}, got {fmt.get('sample_rate')!r}"
        if "continue" in body and not isinstance(body["continue"], bool):
            return "continue must be a boolean"
        if "flush" in body and not isinstance(body["flush"], bool):
            return "flush must be a boolean"
        return None

    def _piece_bytes(self, fmt: dict[str, Any]) -> int:
        """Bytes of ``chunk_ms`` of audio in this output format."""
        width = {"pcm_s16le": 2, "pcm_f32le": 4}.get(fmt["encoding"], 1)
        return max(1, fmt["sample_rate"] * self.chunk_ms // 1000) * width

    def _audio(self, text: str, rate: int, encoding: str) -> bytes:
        """A 440 Hz tone lasting ``seconds_per_char`` per non-blank character."""
        chars = sum(1 for c in text if not c.isspace())
        n = round(chars * self.seconds_per_char * rate)
        values = [0.3 * math.sin(2 * math.pi * 440 * i / rate) for i in range(n)]
        if encoding == "pcm_f32le":
            return struct.pack(f"<{n}f", *values)
        if encoding in ("pcm_mulaw", "pcm_alaw"):
            return bytes(0xFF for _ in range(n))
        return struct.pack(f"<{n}h", *(int(v * 32767) for v in values))

    def _timestamps(self, cid: str, text: str) -> dict[str, Any]:
        words = text.split()
        starts, ends, t = [], [], 0.0
        for w in words:
            starts.append(round(t, 3))
            t += len(w) * self.seconds_per_char
            ends.append(round(t, 3))
        return {
            "type": "timestamps", "done": False, "status_code": 206, "context_id": cid,
            "word_timestamps": {"words": words, "start": starts, "end": ends},
        }

    @staticmethod
    def _error_message(cid: object, status: int, message: str) -> dict[str, Any]:
        return {
            "type": "error", "done": True, "status_code": status, "context_id": cid,
            "title": message, "message": message, "error_code": "fake_error",
        }

    async def _send(self, conn: _Conn, message: dict[str, Any]) -> None:
        if conn.ws.closed:
            return
        try:
            await conn.ws.send_str(json.dumps(message))
        except ConnectionResetError:
            conn.silent = True  # the client left; keep reading until the socket ends

    # -- bytes -----------------------------------------------------------------------------

    async def _bytes(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        body = record.json
        if not isinstance(body, dict):
            return self._violation("the body must be a JSON object")
        body = {"context_id": "bytes", **body}
        problem = self._check_generation(body)
        if problem is not None:
            return self._violation(problem)
        fmt = body["output_format"]
        pcm = self._audio(body["transcript"], fmt["sample_rate"], fmt["encoding"])
        piece = self._piece_bytes(fmt)
        pieces = [pcm[i : i + piece] for i in range(0, len(pcm), piece)]
        record.extra["audio_bytes"] = len(pcm)
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/octet-stream", "X-Request-Id": str(uuid.uuid4())},
        )
        response.enable_chunked_encoding()
        self._notify()
        return await self._write_pieces(request, response, pieces, fault)
