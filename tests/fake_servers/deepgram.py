"""A local fake of Deepgram's speech-to-text API: streaming ``/v1/listen`` (websocket) and
prerecorded ``POST /v1/listen``.

Usage::

    from fake_servers.deepgram import FakeDeepgram

    async with FakeDeepgram() as srv:                    # 127.0.0.1, random port
        stt = deepgram.STT(api_key=srv.api_key, base_url=srv.base_url)
        srv.script("hello world", after=0.5)              # released after 0.5 s of audio
        srv.script("how are you", after=0.5, interims=3)  # then 0.5 s later, 3 interims first
        srv.fail_next(429, retry_after=1)                # faults, see below
        await srv.wait_for(lambda: "KeepAlive" in srv.received)
        srv.sockets[0].query["model"]                     # what the client asked for
        srv.assert_no_violations()

Streaming (``GET /v1/listen`` upgraded to a websocket):

* The handshake needs ``Authorization: Token <api_key>`` (else 401 ``INVALID_AUTH``) and the
  query of a live request: ``model``; ``encoding=linear16`` with ``sample_rate``; booleans
  spelled ``true``/``false``; ``endpointing`` an integer or ``false``. A bad query is a 400 (and a
  violation).
* Client frames: binary audio (s16le at ``sample_rate`` x ``channels``; its duration is counted),
  and JSON ``{"type": "KeepAlive" | "Finalize" | "CloseStream"}``. Another text frame is answered
  with an ``Error`` message (``SchemaError``) and noted as a violation.
* Scripted utterances (``script``) form one queue shared by every connection. Each one is
  released when ``after`` seconds of audio arrived since the previous release (or since the
  socket opened): ``SpeechStarted`` (with ``vad_events=true``), ``interims`` interim ``Results``
  growing word by word, a final ``Results`` (``is_final`` and ``speech_final``) and, with
  ``utterance_end_ms``, an ``UtteranceEnd``. An utterance scripted with ``on_finalize=True``
  waits for the next ``Finalize`` instead and comes back with ``from_finalize: true``.
* Like the real service, the fake is never silent while audio flows: every
  ``result_interval`` seconds of audio without a release it sends an empty interim ``Results``.
  ``Finalize`` with nothing pending is answered by an empty final ``Results`` (``from_finalize``).
  ``CloseStream`` is answered with ``Metadata`` and a normal close (1000).
* Word timings count from the start of each socket, as Deepgram's do.

Prerecorded (``POST /v1/listen``): the body must be a 16-bit WAV (rate, channels and duration
go to ``request.extra["audio"]``); the answer is the JSON of a prerecorded response with the next
scripted utterance (else ``default_transcript``).

Faults (from ``ScriptedHTTPServer``; each applies to the next request, websocket or POST):

* ``fail_next(status, retry_after=...)``: reject the handshake/POST with ``status``;
* ``disconnect_next(after=n)``: drop the TCP connection (no close frame) right after the ``n``-th
  utterance released on that socket (``after=0``: during the handshake);
* ``stall_next(after=n)``: after ``n`` utterances, read what the client sends but answer nothing,
  not even ``CloseStream``; ``after=0`` (the default): the handshake (or the POST) never gets an
  answer;
* ``close_next(code=1011, after=n)``: close the socket with a close frame and ``code``.

Records: ``srv.requests`` (every request, websocket handshakes included), ``srv.sockets`` (accepted
websockets: ``query``, ``headers``, ``extra["messages"]`` = JSON control messages in order,
``extra["audio_bytes"]``, ``extra["audio_seconds"]``), ``srv.received`` (the ``type`` of every
control message, all sockets, in order), ``srv.posts`` and ``srv.violations``.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from ._scripted_http import Fault, RecordedRequest, ScriptedHTTPServer

__all__ = ["FakeDeepgram", "Utterance"]

_BOOL_PARAMS = (
    "interim_results", "punctuate", "smart_format", "vad_events", "filler_words", "no_delay",
    "profanity_filter", "numerals", "mip_opt_out", "diarize", "dictation", "multichannel",
)


@dataclass
class Utterance:
    """One scripted transcript (see ``FakeDeepgram.script``)."""

    text: str
    after: float = 0.5
    interims: int = 2
    confidence: float = 0.98
    speech_final: bool = True
    on_finalize: bool = False
    language: str | None = None


@dataclass
class _Socket:
    record: RecordedRequest
    rate: int
    channels: int
    audio_bytes: int = 0
    released_at: float = 0.0  # audio seconds at the last release
    heard_at: float = 0.0  # audio seconds at the last message sent
    released: int = 0
    speaking_since: float | None = None

    @property
    def seconds(self) -> float:
        return self.audio_bytes / (2 * self.channels * self.rate)


class FakeDeepgram(ScriptedHTTPServer):
    """The fake; see the module docstring."""

    name = "Deepgram"

    def __init__(
        self,
        *,
        api_key: str = "dg-fake-key",
        default_transcript: str = "hello world",
        result_interval: float = 0.25,
    ) -> None:
        super().__init__(api_key=api_key)
        self.default_transcript = default_transcript
        self.result_interval = result_interval
        self.utterances: list[Utterance] = []
        self._close_faults: list[tuple[int, int]] = []
        self._changed: list[asyncio.Future[None]] = []

    @property
    def base_url(self) -> str:
        """The URL to give the client: ``http://127.0.0.1:<port>`` (ws/http derived from it)."""
        return self.url

    # -- scripting -------------------------------------------------------------------------

    def script(
        self,
        *texts: str,
        after: float = 0.5,
        interims: int = 2,
        confidence: float = 0.98,
        speech_final: bool = True,
        on_finalize: bool = False,
        language: str | None = None,
    ) -> None:
        """Queue utterances, each released ``after`` seconds of audio after the previous one."""
        for text in texts:
            self.utterances.append(
                Utterance(text, after, interims, confidence, speech_final, on_finalize, language)
            )

    def close_next(self, *, code: int = 1011, after: int = 0) -> None:
        """Close the next socket with ``code`` (and a close frame) after ``after`` utterances."""
        self._close_faults.append((code, after))

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

    @property
    def received(self) -> list[str]:
        """The ``type`` of every JSON control message received, all sockets, in order."""
        return [m.get("type", "?") for r in self.sockets for m in r.extra["messages"]]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever the fake receives something)."""
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
        app.router.add_get("/v1/listen", self._route(self._listen_ws))
        app.router.add_post("/v1/listen", self._route(self._listen_post))

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Token {self.api_key}":
            return None
        self._notify()
        return self._error_response(401, "Invalid credentials.", code="INVALID_AUTH")

    def _error_response(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> web.Response:
        codes = {400: "Bad Request", 401: "INVALID_AUTH", 429: "TOO_MANY_REQUESTS"}
        body = {
            "err_code": code or codes.get(status, "INTERNAL_SERVER_ERROR"),
            "err_msg": message,
            "request_id": str(uuid.uuid4()),
        }
        return web.json_response(body, status=status, headers=headers)

    # -- streaming ---------------------------------------------------------------------------

    async def _listen_ws(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        problem = self._check_live_query(record.query)
        if problem is not None:
            self._notify()
            return self._violation(problem)
        ws = web.WebSocketResponse(autoclose=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        record.extra.update(messages=[], audio_bytes=0, audio_seconds=0.0)
        sock = _Socket(
            record=record,
            rate=int(record.query["sample_rate"]),
            channels=int(record.query.get("channels", "1")),
        )
        close_fault = self._close_faults.pop(0) if self._close_faults else None
        self._notify()
        stalled = fault is not None and fault.stall_after == 0
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    sock.audio_bytes += len(msg.data)
                    record.extra["audio_bytes"] = sock.audio_bytes
                    record.extra["audio_seconds"] = sock.seconds
                    if not stalled:
                        await self._on_audio(ws, sock)
                elif msg.type == WSMsgType.TEXT:
                    done = await self._on_control(ws, sock, msg.data, stalled)
                    if done:
                        break
                else:
                    break
                self._notify()
                drop_after = fault.disconnect_after if fault is not None else None
                if drop_after is not None and sock.released >= drop_after:
                    self._drop(request)
                    break
                if fault is not None and fault.stall_after is not None and not stalled:
                    stalled = sock.released >= fault.stall_after
                if close_fault is not None and sock.released >= close_fault[1]:
                    await ws.close(code=close_fault[0], message=b"fake server error")
                    break
        finally:
            self._notify()
        return ws

    def _check_live_query(self, query: dict[str, str]) -> str | None:
        if not query.get("model"):
            return "the model query parameter is required"
        if query.get("encoding") != "linear16":
            return f"this fake expects encoding=linear16, got {query.get('encoding')!r}"
        rate = query.get("sample_rate", "")
        if not rate.isdigit() or int(rate) <= 0:
            return "sample_rate is required (a positive integer) with encoding=linear16"
        if not query.get("channels", "1").isdigit():
            return "channels must be an integer"
        for key in _BOOL_PARAMS:
            if key in query and query[key] not in ("true", "false"):
                return f"{key} must be true or false, got {query[key]!r}"
        endpointing = query.get("endpointing")
        if endpointing is not None and endpointing != "false" and not endpointing.isdigit():
            return f"endpointing must be an integer (ms) or false, got {endpointing!r}"
        ue = query.get("utterance_end_ms")
        if ue is not None and not ue.isdigit():
            return f"utterance_end_ms must be an integer, got {ue!r}"
        if ue is not None and query.get("interim_results") != "true":
            return "utterance_end_ms requires interim_results=true"
        return None

    async def _on_audio(self, ws: web.WebSocketResponse, sock: _Socket) -> None:
        nxt = self.utterances[0] if self.utterances else None
        if nxt is not None and not nxt.on_finalize and sock.seconds - sock.released_at >= nxt.after:
            self.utterances.pop(0)
            await self._release(ws, sock, nxt, from_finalize=False)
            return
        if sock.seconds - sock.heard_at >= self.result_interval:
            await self._send(ws, sock, self._results(sock, "", [], False, False, None))

    async def _on_control(
        self, ws: web.WebSocketResponse, sock: _Socket, data: str, stalled: bool
    ) -> bool:
        try:
            message = json.loads(data)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            message, kind = {"raw": data}, None
        sock.record.extra["messages"].append(message)
        if kind not in ("KeepAlive", "Finalize", "CloseStream"):
            self.violations.append(f"unexpected text frame {data[:100]!r}")
            if not stalled:
                await self._send(ws, sock, {
                    "type": "Error", "variant": "SchemaError", "message": data[:200],
                    "description": "Could not parse the client message.",
                })
            return False
        if stalled or kind == "KeepAlive":
            return False
        if kind == "Finalize":
            nxt = self.utterances[0] if self.utterances else None
            if nxt is not None and nxt.on_finalize:
                self.utterances.pop(0)
                await self._release(ws, sock, nxt, from_finalize=True)
            else:
                await self._send(ws, sock, self._results(sock, "", [], True, False, None, True))
            return False
        # CloseStream: final metadata, then a normal close
        await self._send(ws, sock, {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": "0" * 64,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "duration": round(sock.seconds, 3),
            "channels": sock.channels,
            "models": [str(uuid.uuid4())],
            "model_info": {},
        })
        await ws.close(code=1000)
        return True

    async def _release(
        self, ws: web.WebSocketResponse, sock: _Socket, utt: Utterance, *, from_finalize: bool
    ) -> None:
        query = sock.record.query
        tokens = utt.text.split()
        end = sock.seconds
        start = max(sock.released_at, end - 0.3 * max(1, len(tokens)))
        step = (end - start) / max(1, len(tokens))
        words = [
            {
                "word": tok.strip(".,!?;:").lower() or tok,
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "confidence": utt.confidence,
                "punctuated_word": tok,
            }
            for i, tok in enumerate(tokens)
        ]
        if query.get("vad_events") == "true" and not from_finalize:
            await self._send(ws, sock, {"type": "SpeechStarted", "channel": [0], "timestamp": start})
        if query.get("interim_results") == "true" and tokens:
            for i in range(1, utt.interims + 1):
                n = max(1, len(tokens) * i // (utt.interims + 1))
                part = words[:n]
                text = " ".join(w["punctuated_word"] for w in part)
                await self._send(ws, sock, self._results(sock, text, part, False, False, utt))
        await self._send(ws, sock, self._results(
            sock, utt.text, words, True, utt.speech_final and not from_finalize, utt,
            from_finalize,
        ))
        if query.get("utterance_end_ms") and not from_finalize:
            await self._send(ws, sock, {
                "type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round(end, 3),
            })
        sock.released += 1
        sock.released_at = sock.seconds

    def _results(
        self,
        sock: _Socket,
        text: str,
        words: list[dict[str, Any]],
        is_final: bool,
        speech_final: bool,
        utt: Utterance | None,
        from_finalize: bool = False,
    ) -> dict[str, Any]:
        query = sock.record.query
        alt: dict[str, Any] = {
            "transcript": text,
            "confidence": utt.confidence if (utt and text) else 0.0,
            "words": words,
        }
        if query.get("language") == "multi":
            lang = (utt.language if utt else None) or "en"
            alt["languages"] = [lang] if text else []
            for w in words:
                w["language"] = lang
        start = sock.heard_at
        message: dict[str, Any] = {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(max(0.0, sock.seconds - start), 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {"alternatives": [alt]},
            "metadata": {
                "request_id": f"dg-req-{id(sock.record):x}",
                "model_info": {"name": query.get("model", ""), "version": "fake", "arch": "fake"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
        }
        if from_finalize:
            message["from_finalize"] = True
        return message

    async def _send(self, ws: web.WebSocketResponse, sock: _Socket, message: dict[str, Any]) -> None:
        sock.heard_at = sock.seconds
        if not ws.closed:
            await ws.send_str(json.dumps(message))

    # -- prerecorded -------------------------------------------------------------------------

    async def _listen_post(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        if fault is not None and fault.stall_after is not None:
            await self._closing.wait()
            return web.Response(status=499)
        if fault is not None and fault.disconnect_after is not None:
            self._drop(request)
            return web.Response(status=499)
        if not record.query.get("model"):
            return self._violation("the model query parameter is required")
        try:
            with wave.open(io.BytesIO(record.body), "rb") as w:
                rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
                duration = w.getnframes() / rate
        except (wave.Error, EOFError, ZeroDivisionError):
            return self._violation("the body is not a WAV file")
        if width != 2:
            return self._violation(f"expected 16-bit WAV, got {8 * width}-bit")
        record.extra["audio"] = {"sample_rate": rate, "channels": channels, "duration": duration}
        utt = self.utterances.pop(0) if self.utterances else Utterance(self.default_transcript)
        tokens = utt.text.split()
        step = duration / max(1, len(tokens))
        alt: dict[str, Any] = {
            "transcript": utt.text,
            "confidence": utt.confidence,
            "words": [
                {
                    "word": tok.strip(".,!?;:").lower() or tok,
                    "start": round(i * step, 3),
                    "end": round((i + 1) * step, 3),
                    "confidence": utt.confidence,
                    "punctuated_word": tok,
                }
                for i, tok in enumerate(tokens)
            ],
        }
        channel: dict[str, Any] = {"alternatives": [alt]}
        if record.query.get("language") == "multi" or record.query.get("detect_language") == "true":
            channel["detected_language"] = utt.language or "en"
        self._notify()
        return web.json_response({
            "metadata": {
                "transaction_key": "deprecated",
                "request_id": str(uuid.uuid4()),
                "sha256": "0" * 64,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "duration": duration,
                "channels": channels,
                "models": [str(uuid.uuid4())],
                "model_info": {},
            },
            "results": {"channels": [channel]},
        })
