"""A local fake of the ElevenLabs text-to-speech API (streaming-input websocket and REST stream).

Usage::

    async with FakeElevenLabs() as srv:
        tts = elevenlabs.TTS(api_key=srv.api_key, base_url=srv.base_url)
        srv.fail_next(429, retry_after=0.2)    # the next request is answered 429
        ...
        assert srv.received[-1].query["model_id"] == "eleven_flash_v2_5"

Endpoints (on 127.0.0.1, a random free port):

* ``GET /v1/text-to-speech/{voice_id}/stream-input`` (websocket): checks the ``xi-api-key`` header
  (or the key in the first message), ``model_id`` and a ``pcm_<rate>`` ``output_format`` in the
  query, and that the first message is ``{"text": " ", ...}``. Text is buffered; audio is
  generated for the buffer on ``flush``, on ``try_trigger_generation``, in ``auto_mode`` on every
  message, or once the buffer reaches the first ``chunk_length_schedule`` value. ``{"text": ""}``
  generates what is left, sends ``{"isFinal": true}`` and closes the socket. Audio is sent as
  ``{"audio": "<base64 PCM>", "isFinal": null, "alignment", "normalizedAlignment"}`` messages.
* ``POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>``: JSON body with ``text``
  and ``model_id``; answers a chunked body of raw PCM.

The audio is a 440 Hz tone, ``ms_per_char`` milliseconds per character of text; the first audio
message of each generation carries its alignment (``alignment=False``: none at all, as from a
compatible server that omits it). Faults apply to
the next request(s): ``fail_next(status, retry_after=)`` (at the handshake or as the REST status),
``disconnect_next(after=n)`` (drop the connection after ``n`` audio messages / body chunks) and
``stall_next(after=n)`` (go silent after ``n``). Problems in what the client sent are listed in
``violations`` (and answered the way the real API would: 400 or an error message).
``received`` records every request (``ElevenLabsRequest``: query, headers, websocket messages or
REST body, texts generated, arrival time); ``await wait_requests(n)`` waits for the n-th request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import re
import socket
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["ElevenLabsRequest", "FakeElevenLabs"]

_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
_DEFAULT_SCHEDULE = 120


@dataclass
class ElevenLabsRequest:
    """One request the fake received."""

    kind: str  # "ws" or "rest"
    voice_id: str
    query: dict[str, str]
    headers: dict[str, str]
    #: websocket: the JSON messages the client sent, in order
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: REST: the JSON body
    body: Any = None
    #: the HTTP status answered (101 for an accepted websocket)
    status: int = 0
    #: texts audio was generated for, in order
    generations: list[str] = field(default_factory=list)
    audio_bytes: int = 0
    #: time.monotonic() when the request arrived
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        """All the text the client sent."""
        if self.kind == "rest":
            return str((self.body or {}).get("text", ""))
        return "".join(str(m.get("text", "")) for m in self.messages[1:])


@dataclass
class _Fault:
    status: int | None = None
    retry_after: float | None = None
    disconnect_after: int | None = None
    stall_after: int | None = None


class FakeElevenLabs:
    """See the module docstring."""

    def __init__(
        self,
        *,
        api_key: str = "el-test-key",
        ms_per_char: float = 20.0,
        chunk_ms: int = 40,
        alignment: bool = True,
    ) -> None:
        self.api_key = api_key
        self.ms_per_char = ms_per_char
        self.chunk_ms = chunk_ms
        self.alignment = alignment
        self.received: list[ElevenLabsRequest] = []
        self.violations: list[str] = []
        self._faults: list[_Fault] = []
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> FakeElevenLabs:
        app = web.Application()
        app.router.add_get("/v1/text-to-speech/{voice_id}/stream-input", self._ws)
        app.router.add_post("/v1/text-to-speech/{voice_id}/stream", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeElevenLabs:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_requests(self, n: int, timeout: float = 5.0) -> None:
        """Wait until ``n`` requests in total have arrived (e.g. a client's reconnection)."""

        async def wait() -> None:
            while len(self.received) < n:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), timeout)

    # -- faults ------------------------------------------------------------------------------

    def fail_next(self, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (and a ``Retry-After`` header)."""
        self._faults.extend(_Fault(status=status, retry_after=retry_after) for _ in range(times))

    def disconnect_next(self, *, after: int = 0, times: int = 1) -> None:
        """Drop the connection after ``after`` audio messages (websocket) or body chunks (REST)."""
        self._faults.extend(_Fault(disconnect_after=after) for _ in range(times))

    def stall_next(self, *, after: int = 0, times: int = 1) -> None:
        """Stop answering after ``after`` audio messages / body chunks (the client must time out)."""
        self._faults.extend(_Fault(stall_after=after) for _ in range(times))

    # -- helpers -----------------------------------------------------------------------------

    def _record(self, request: web.Request, kind: str) -> ElevenLabsRequest:
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec = ElevenLabsRequest(
            kind=kind,
            voice_id=request.match_info["voice_id"],
            query=dict(request.query),
            headers=headers,
        )
        self.received.append(rec)
        self._arrived.set()
        return rec

    def _violation(self, message: str) -> str:
        self.violations.append(message)
        return message

    def _check_format(self, rec: ElevenLabsRequest) -> int | None:
        fmt = rec.query.get("output_format", "")
        m = re.fullmatch(r"pcm_(\d+)", fmt)
        if m is None or int(m.group(1)) not in _RATES:
            self._violation(f"output_format {fmt!r} is not a raw PCM format this fake serves")
            return None
        return int(m.group(1))

    def _tone(self, text: str, rate: int) -> bytes:
        n = max(1, round(len(text) * self.ms_per_char / 1000 * rate))
        samples = array("h", (int(6000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)))
        return samples.tobytes()

    def _chunks(self, pcm: bytes, rate: int) -> list[bytes]:
        size = max(2, rate * self.chunk_ms // 1000 * 2)
        return [pcm[i : i + size] for i in range(0, len(pcm), size)]

    @staticmethod
    def _error_response(status: int, retry_after: float | None = None) -> web.Response:
        detail = {
            401: {"status": "invalid_api_key", "message": "Invalid API key"},
            429: {
                "status": "too_many_concurrent_requests",
                "message": "Too many concurrent requests",
            },
        }.get(status, {"status": "error", "message": f"fake error {status}"})
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return web.json_response({"detail": detail}, status=status, headers=headers)

    async def _hang(self) -> None:
        await self._closing.wait()

    # -- websocket ---------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "ws")
        fault = self._faults.pop(0) if self._faults else None
        header_key = request.headers.get("xi-api-key")
        if header_key is not None and header_key != self.api_key:
            rec.status = 401
            return self._error_response(401)
        if fault is not None and fault.status is not None:
            rec.status = fault.status
            return self._error_response(fault.status, fault.retry_after)
        if "model_id" not in rec.query:
            self._violation("stream-input without model_id")
        rate = self._check_format(rec)
        if rate is None:
            rec.status = 400
            return web.json_response({"detail": {"status": "invalid_output_format"}}, status=400)

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rec.status = 101
        session = _WsSession(
            self, request, ws, rec, rate, fault, authenticated=header_key is not None
        )
        try:
            await session.run()
        except ConnectionResetError:
            pass
        return ws

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        return await _rest_impl(self, request)


class _WsSession:
    """One streaming-input connection of the fake."""

    def __init__(
        self,
        srv: FakeElevenLabs,
        request: web.Request,
        ws: web.WebSocketResponse,
        rec: ElevenLabsRequest,
        rate: int,
        fault: _Fault | None,
        *,
        authenticated: bool,
    ) -> None:
        self.srv, self.request, self.ws, self.rec = srv, request, ws, rec
        self.rate, self.fault = rate, fault
        self.authenticated = authenticated
        self.buffer = ""
        self.sent = 0
        self.stalled = False
        self.schedule = _DEFAULT_SCHEDULE
        self.auto_mode = rec.query.get("auto_mode") == "true"

    async def _error(self, message: str, error: str, code: int = 1008) -> None:
        await self.ws.send_str(json.dumps({"message": message, "error": error, "code": code}))
        await self.ws.close(code=code, message=error.encode())

    async def run(self) -> None:
        first = True
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                await self._error(
                    self.srv._violation("non-text message on stream-input"), "invalid_message"
                )
                return
            if self.stalled:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                await self._error(self.srv._violation("a message that is not JSON"), "invalid_json")
                return
            self.rec.messages.append(data)
            if first:
                first = False
                if not await self._on_init(data):
                    return
                continue
            text = data.get("text")
            if not isinstance(text, str):
                await self._error(self.srv._violation("a message without text"), "invalid_message")
                return
            if text == "":
                await self._generate()
                if not self.stalled:
                    await self.ws.send_str(
                        json.dumps(
                            {
                                "audio": None,
                                "isFinal": True,
                                "normalizedAlignment": None,
                                "alignment": None,
                            }
                        )
                    )
                    await self.ws.close()
                    return
                continue
            if not text.endswith(" "):
                self.srv._violation(f"text chunk {text!r} does not end with a space")
            self.buffer += text
            if (
                data.get("flush")
                or (data.get("try_trigger_generation") and self.buffer.strip())
                or (self.auto_mode and self.buffer.strip())
                or len(self.buffer) >= self.schedule
            ):
                await self._generate()
        # the client went away (or the server is shutting down)

    async def _on_init(self, data: dict[str, Any]) -> bool:
        if data.get("text") != " ":
            await self._error(
                self.srv._violation("the first message must be {'text': ' '}"), "invalid_request"
            )
            return False
        if not self.authenticated:
            if data.get("xi-api-key") != self.srv.api_key:
                await self._error("Invalid API key", "invalid_api_key")
                return False
        elif "xi-api-key" in data and data["xi-api-key"] != self.srv.api_key:
            await self._error("Invalid API key", "invalid_api_key")
            return False
        schedule = (data.get("generation_config") or {}).get("chunk_length_schedule")
        if schedule:
            self.schedule = int(schedule[0])
        return True

    async def _generate(self) -> None:
        text, self.buffer = self.buffer.strip(), ""
        if not text or self.stalled:
            return
        self.rec.generations.append(text)
        alignment: dict[str, Any] | None = {
            "chars": list(text),
            "charStartTimesMs": [int(i * self.srv.ms_per_char) for i in range(len(text))],
            "charDurationsMs": [int(self.srv.ms_per_char)] * len(text),
        }
        if not self.srv.alignment:
            alignment = None
        for i, chunk in enumerate(self.srv._chunks(self.srv._tone(text, self.rate), self.rate)):
            if await self._fault_hit():
                return
            payload = {
                "audio": base64.b64encode(chunk).decode(),
                "isFinal": None,
                "normalizedAlignment": alignment if i == 0 else None,
                "alignment": alignment if i == 0 else None,
            }
            await self.ws.send_str(json.dumps(payload))
            self.sent += 1
            self.rec.audio_bytes += len(chunk)
            await asyncio.sleep(0)

    async def _fault_hit(self) -> bool:
        f = self.fault
        if f is None:
            return False
        if f.disconnect_after is not None and self.sent >= f.disconnect_after:
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            self.stalled = True
            return True
        if f.stall_after is not None and self.sent >= f.stall_after:
            self.stalled = True
            return True
        return False


async def _rest_impl(srv: FakeElevenLabs, request: web.Request) -> web.StreamResponse:
    rec = srv._record(request, "rest")
    fault = srv._faults.pop(0) if srv._faults else None
    if request.headers.get("xi-api-key") != srv.api_key:
        rec.status = 401
        return srv._error_response(401)
    if fault is not None and fault.status is not None:
        rec.status = fault.status
        return srv._error_response(fault.status, fault.retry_after)
    try:
        rec.body = await request.json()
    except ValueError:
        rec.status = 400
        return web.json_response({"detail": srv._violation("the body is not JSON")}, status=400)
    text = rec.body.get("text") if isinstance(rec.body, dict) else None
    if not isinstance(text, str) or not text.strip():
        rec.status = 400
        return web.json_response({"detail": srv._violation("the body has no text")}, status=400)
    if "model_id" not in rec.body:
        srv._violation("REST request without model_id")
    rate = srv._check_format(rec)
    if rate is None:
        rec.status = 400
        return web.json_response({"detail": {"status": "invalid_output_format"}}, status=400)

    resp = web.StreamResponse(status=200, headers={"Content-Type": "audio/pcm"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    rec.status = 200
    rec.generations.append(text.strip())
    for sent, chunk in enumerate(srv._chunks(srv._tone(text.strip(), rate), rate)):
        if (
            fault is not None
            and fault.disconnect_after is not None
            and sent >= fault.disconnect_after
        ):
            if request.transport is not None:
                request.transport.abort()
            return resp
        if fault is not None and fault.stall_after is not None and sent >= fault.stall_after:
            await srv._hang()
            return resp
        await resp.write(chunk)
        rec.audio_bytes += len(chunk)
        await asyncio.sleep(0)
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
