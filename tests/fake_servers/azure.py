"""A local fake of Azure AI Speech recognition: the websocket protocol and the REST short-audio endpoint.

Usage::

    async with FakeAzureSpeech(transcripts=["hello world"]) as srv:
        stt = azure.STT(api_key=srv.api_key, base_url=srv.base_url)
        srv.fail_next(429, retry_after=0.2)
        ...
        assert srv.received[-1].turns[0].audio_seconds > 1

Endpoints (on 127.0.0.1, a random free port), both at
``/speech/recognition/{conversation|interactive|dictation}/cognitiveservices/v1?language=..``:

* websocket: checks the ``Ocp-Apim-Subscription-Key`` header (401 otherwise), the
  ``X-ConnectionId`` header and the ``language`` query; then that ``speech.config`` comes first
  (``Path``, ``X-Timestamp``, ``Content-Type: application/json``), that audio messages are binary
  with a 2-byte big-endian header length and ``Path: audio``, ``X-RequestId`` (32 hex digits),
  ``X-Timestamp`` headers, and that the first audio of a turn declares ``audio/x-wav`` and starts
  with a RIFF header for 16-bit mono PCM. It answers per turn: ``turn.start``;
  ``speech.startDetected`` at the first speech; ``speech.hypothesis`` every ``hypothesis_every``
  seconds of speech (a growing prefix of the transcript); ``speech.phrase`` (``format=detailed``:
  ``NBest``; otherwise ``DisplayText``) when an utterance ends (``min_silence`` of silence, or the
  end of the turn's audio); ``speech.endDetected`` and ``turn.end`` after the empty audio message
  that ends the turn. Each message carries ``X-RequestId``, ``Path`` and ``Content-Type`` headers.
* ``POST``: a WAV body (``Content-Type: audio/wav; codecs=audio/pcm; samplerate=16000``),
  answered with the JSON result of its first utterance.
* ``POST /cognitiveservices/v1`` (text-to-speech): checks the key, ``Content-Type:
  application/ssml+xml``, a ``raw-*-16bit-mono-pcm`` ``X-Microsoft-OutputFormat`` and the SSML
  (``<speak>`` with ``xml:lang`` and a ``<voice name>``); answers a chunked body of raw PCM, a
  440 Hz tone of ``ms_per_char`` milliseconds per character of text.

"Speech" is any 10 ms block whose peak exceeds ``speech_threshold``; each utterance takes the next
text of ``transcripts`` (``default`` once they run out). Faults apply to the next request(s):
``fail_next(status, retry_after=)`` (handshake / REST status), ``disconnect_next(after=n)`` (drop
the connection after ``n`` audio messages; text-to-speech: after ``n`` body chunks),
``stall_next(after=n)`` (go silent after ``n`` audio messages or body chunks; recognition REST:
never answer). Problems in what the client sent are listed in ``violations``.
``received`` records every request (``AzureRequest``: query, headers, message paths and headers,
``speech.config``, turns with their PCM and transcripts, arrival time); ``await wait_requests(n)``
waits for the n-th request (e.g. a client's reconnection).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import struct
import time
import uuid
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from aiohttp import WSMsgType, web

__all__ = ["AzureRequest", "AzureTurn", "FakeAzureSpeech"]

_TICKS = 10_000_000
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"


@dataclass
class AzureTurn:
    """One request id (turn) on a websocket."""

    request_id: str
    sample_rate: int = 0
    pcm: bytearray = field(default_factory=bytearray)
    ended_by_client: bool = False
    transcripts: list[str] = field(default_factory=list)

    @property
    def audio_seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate if self.sample_rate else 0.0


@dataclass
class AzureRequest:
    """One request the fake received."""

    kind: str  # "ws" or "rest"
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    #: websocket: (path, headers) of every message the client sent, in order
    messages: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    speech_config: Any = None
    turns: list[AzureTurn] = field(default_factory=list)
    #: REST: the WAV body (recognition) or the SSML (text-to-speech)
    body: bytes = b""
    #: text-to-speech: the voice name, the language and the text of the SSML
    voice: str = ""
    language: str = ""
    text: str = ""
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Fault:
    status: int | None = None
    retry_after: float | None = None
    disconnect_after: int | None = None
    stall_after: int | None = None


class _Recognizer:
    """Energy-based segmentation of one turn's audio into scripted utterances."""

    def __init__(self, srv: FakeAzureSpeech, turn: AzureTurn, detailed: bool) -> None:
        self.srv, self.turn, self.detailed = srv, turn, detailed
        self.block = 0  # samples per 10 ms
        self.pos = 0  # samples analysed
        self.pending = bytearray()
        self.speech_started = False  # startDetected sent for this turn
        self.utt_start: int | None = None  # sample index
        self.last_voiced = 0
        self.hypotheses = 0
        self.text = ""

    def feed(self, pcm: bytes) -> list[tuple[str, dict[str, Any]]]:
        self.block = self.block or max(1, self.turn.sample_rate // 100)
        self.pending.extend(pcm)
        out: list[tuple[str, dict[str, Any]]] = []
        size = self.block * 2
        while len(self.pending) >= size:
            chunk = bytes(self.pending[:size])
            del self.pending[:size]
            out.extend(self._block(chunk))
        return out

    def _block(self, chunk: bytes) -> Iterable[tuple[str, dict[str, Any]]]:
        samples = array("h")
        samples.frombytes(chunk)
        voiced = max((abs(s) for s in samples), default=0) > self.srv.speech_threshold
        start, self.pos = self.pos, self.pos + len(samples)
        rate = self.turn.sample_rate
        if voiced:
            self.last_voiced = self.pos
            if self.utt_start is None:
                self.utt_start = start
                self.hypotheses = 0
                self.text = self.srv._next_transcript()
                if not self.speech_started:
                    self.speech_started = True
                    yield "speech.startDetected", {"Offset": self._ticks(start)}
            heard = (self.pos - self.utt_start) / rate
            if heard >= (self.hypotheses + 1) * self.srv.hypothesis_every:
                self.hypotheses += 1
                words = self.text.split()
                partial = " ".join(words[: min(len(words), self.hypotheses)]).lower().rstrip(".!?,")
                yield (
                    "speech.hypothesis",
                    {
                        "Text": partial,
                        "Offset": self._ticks(self.utt_start),
                        "Duration": self._ticks(self.pos - self.utt_start),
                    },
                )
        elif (
            self.utt_start is not None
            and (self.pos - self.last_voiced) / rate >= self.srv.min_silence
        ):
            yield self._phrase()

    def finish(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        if self.utt_start is not None:
            out.append(self._phrase())
        if self.speech_started:
            out.append(("speech.endDetected", {"Offset": self._ticks(self.pos)}))
        return out

    def _ticks(self, samples: int) -> int:
        return int(samples * _TICKS / self.turn.sample_rate)

    def _phrase(self) -> tuple[str, dict[str, Any]]:
        assert self.utt_start is not None
        offset, duration = (
            self._ticks(self.utt_start),
            self._ticks(self.last_voiced - self.utt_start),
        )
        self.utt_start = None
        self.turn.transcripts.append(self.text)
        lexical = re.sub(r"[^\w\s']", "", self.text).lower()
        if self.detailed:
            body: dict[str, Any] = {
                "RecognitionStatus": "Success",
                "Offset": offset,
                "Duration": duration,
                "NBest": [
                    {
                        "Confidence": 0.92,
                        "Lexical": lexical,
                        "ITN": lexical,
                        "MaskedITN": lexical,
                        "Display": self.text,
                    }
                ],
            }
        else:
            body = {
                "RecognitionStatus": "Success",
                "DisplayText": self.text,
                "Offset": offset,
                "Duration": duration,
            }
        return "speech.phrase", body


class FakeAzureSpeech:
    """See the module docstring."""

    def __init__(
        self,
        *,
        api_key: str = "az-test-key",
        transcripts: Iterable[str] = (),
        default: str = "Hello world.",
        speech_threshold: int = 500,
        min_silence: float = 0.3,
        hypothesis_every: float = 0.2,
        ms_per_char: float = 10.0,
        chunk_ms: int = 40,
    ) -> None:
        self.api_key = api_key
        self.transcripts = list(transcripts)
        self.default = default
        self.speech_threshold = speech_threshold
        self.min_silence = min_silence
        self.hypothesis_every = hypothesis_every
        self.ms_per_char = ms_per_char
        self.chunk_ms = chunk_ms
        self.received: list[AzureRequest] = []
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

    async def start(self) -> FakeAzureSpeech:
        app = web.Application()
        route = "/speech/recognition/{mode:conversation|interactive|dictation}/cognitiveservices/v1"
        app.router.add_get(route, self._ws)
        app.router.add_post(route, self._rest)
        app.router.add_post("/cognitiveservices/v1", self._tts)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAzureSpeech:
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
        """Answer the next ``times`` requests (handshakes or REST calls) with ``status``."""
        self._faults.extend(_Fault(status=status, retry_after=retry_after) for _ in range(times))

    def disconnect_next(self, *, after: int = 0, times: int = 1) -> None:
        """Drop the next connection(s) after ``after`` audio messages (REST: before answering)."""
        self._faults.extend(_Fault(disconnect_after=after) for _ in range(times))

    def stall_next(self, *, after: int = 0, times: int = 1) -> None:
        """Go silent after ``after`` audio messages (REST: never answer)."""
        self._faults.extend(_Fault(stall_after=after) for _ in range(times))

    # -- helpers -----------------------------------------------------------------------------

    def _next_transcript(self) -> str:
        return self.transcripts.pop(0) if self.transcripts else self.default

    def _violation(self, message: str) -> None:
        self.violations.append(message)

    def _record(self, request: web.Request, kind: str) -> AzureRequest:
        rec = AzureRequest(
            kind=kind,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self.received.append(rec)
        self._arrived.set()
        return rec

    def _precheck(
        self, request: web.Request, rec: AzureRequest
    ) -> tuple[web.Response | None, _Fault | None]:
        fault = self._faults.pop(0) if self._faults else None
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.api_key:
            rec.status = 401
            return web.Response(status=401, text="Unauthorized: invalid subscription key"), fault
        if fault is not None and fault.status is not None:
            rec.status = fault.status
            headers = (
                {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            )
            return web.Response(
                status=fault.status, headers=headers, text=f"fake error {fault.status}"
            ), fault
        if not rec.query.get("language"):
            self._violation("no language in the query")
        return None, fault

    @staticmethod
    def _parse_headers(block: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in block.split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        return headers

    def _check_wav(self, data: bytes, where: str) -> tuple[int, int] | None:
        """``(sample_rate, header size)`` of a RIFF header for 16-bit mono PCM."""
        if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE" or data[12:16] != b"fmt ":
            self._violation(f"{where}: the audio does not start with a RIFF/WAVE header")
            return None
        fmt_size, fmt_tag, channels, rate = struct.unpack("<IHHI", data[16:28])
        bits = struct.unpack("<H", data[34:36])[0]
        if fmt_tag != 1 or channels != 1 or bits != 16 or rate not in (8000, 16000):
            self._violation(
                f"{where}: unsupported WAV format (tag {fmt_tag}, {channels} ch, {bits} bit, {rate} Hz)"
            )
            return None
        pos = 20 + fmt_size
        while pos + 8 <= len(data) and data[pos : pos + 4] != b"data":
            pos += 8 + struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        return rate, pos + 8

    # -- websocket ---------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "ws")
        refusal, fault = self._precheck(request, rec)
        if refusal is not None:
            return refusal
        if not request.headers.get("X-ConnectionId"):
            self._violation("no X-ConnectionId header")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rec.status = 101
        conn = _WsConnection(self, request, ws, rec, fault)
        try:
            await conn.run()
        except ConnectionResetError:
            pass
        return ws

    # -- REST --------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "rest")
        refusal, fault = self._precheck(request, rec)
        if refusal is not None:
            return refusal
        rec.body = await request.read()
        if fault is not None and fault.disconnect_after is not None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is not None and fault.stall_after is not None:
            await self._closing.wait()
            return web.Response(status=500)
        ctype = request.headers.get("Content-Type", "")
        if not re.fullmatch(r"audio/wav;\s*codecs=audio/pcm;\s*samplerate=(8000|16000)", ctype):
            self._violation(f"REST Content-Type {ctype!r}")
        wav = self._check_wav(rec.body, "REST body")
        if wav is None:
            rec.status = 400
            return web.Response(status=400, text="invalid audio")
        rate, start = wav
        turn = AzureTurn(
            request_id=uuid.uuid4().hex, sample_rate=rate, pcm=bytearray(rec.body[start:])
        )
        rec.turns.append(turn)
        rec_ = _Recognizer(self, turn, detailed=rec.query.get("format") == "detailed")
        events = rec_.feed(bytes(turn.pcm)) + rec_.finish()
        phrases = [body for path, body in events if path == "speech.phrase"]
        rec.status = 200
        if not phrases:
            return web.json_response(
                {"RecognitionStatus": "InitialSilenceTimeout", "Offset": 0, "Duration": 0}
            )
        return web.json_response(phrases[0])

    # -- text-to-speech ----------------------------------------------------------------------

    async def _tts(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "tts")
        fault = self._faults.pop(0) if self._faults else None
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.api_key:
            rec.status = 401
            return web.Response(status=401, text="Unauthorized")
        if fault is not None and fault.status is not None:
            rec.status = fault.status
            headers = (
                {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            )
            return web.Response(
                status=fault.status, headers=headers, text=f"fake error {fault.status}"
            )
        rec.body = await request.read()
        if not request.headers.get("Content-Type", "").startswith("application/ssml+xml"):
            self._violation(f"TTS Content-Type {request.headers.get('Content-Type')!r}")
        m = re.fullmatch(
            r"raw-(8|16|24|48)khz-16bit-mono-pcm|raw-(22050|44100)hz-16bit-mono-pcm",
            request.headers.get("X-Microsoft-OutputFormat", ""),
        )
        if m is None:
            self._violation(
                f"X-Microsoft-OutputFormat {request.headers.get('X-Microsoft-OutputFormat')!r}"
            )
            rec.status = 400
            return web.Response(status=400, text="unsupported output format")
        rate = int(m.group(1)) * 1000 if m.group(1) else int(m.group(2))
        try:
            root = ElementTree.fromstring(rec.body)
        except ElementTree.ParseError as e:
            self._violation(f"SSML does not parse: {e}")
            rec.status = 400
            return web.Response(status=400, text="invalid SSML")
        voice = root.find(f"{_SSML_NS}voice")
        if root.tag != f"{_SSML_NS}speak" or voice is None or not voice.get("name"):
            self._violation("SSML without <speak> and <voice name=...>")
            rec.status = 400
            return web.Response(status=400, text="invalid SSML")
        rec.voice = voice.get("name", "")
        rec.language = root.get("{http://www.w3.org/XML/1998/namespace}lang", "")
        rec.text = "".join(voice.itertext())
        if not rec.language:
            self._violation("SSML without xml:lang")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "audio/pcm"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        rec.status = 200
        n = max(1, round(len(rec.text.strip()) * self.ms_per_char / 1000 * rate))
        pcm = array(
            "h", (int(6000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n))
        ).tobytes()
        size = max(2, rate * self.chunk_ms // 1000 * 2)
        for sent, i in enumerate(range(0, len(pcm), size)):
            if (
                fault is not None
                and fault.disconnect_after is not None
                and sent >= fault.disconnect_after
            ):
                if request.transport is not None:
                    request.transport.abort()
                return resp
            if fault is not None and fault.stall_after is not None and sent >= fault.stall_after:
                await self._closing.wait()
                return resp
            await resp.write(pcm[i : i + size])
            await asyncio.sleep(0)
        await resp.write_eof()
        return resp


class _WsConnection:
    """One websocket connection of the fake."""

    def __init__(
        self,
        srv: FakeAzureSpeech,
        request: web.Request,
        ws: web.WebSocketResponse,
        rec: AzureRequest,
        fault: _Fault | None,
    ) -> None:
        self.srv, self.request, self.ws, self.rec, self.fault = srv, request, ws, rec, fault
        self.detailed = rec.query.get("format") == "detailed"
        self.turns: dict[str, AzureTurn] = {}
        self.recognizers: dict[str, _Recognizer] = {}
        self.audio_messages = 0
        self.silent = False

    async def _send(self, path: str, request_id: str, body: dict[str, Any]) -> None:
        if self.silent:
            return
        head = f"X-RequestId:{request_id}\r\nPath:{path}\r\nContent-Type:application/json; charset=utf-8\r\n\r\n"
        await self.ws.send_str(head + json.dumps(body))

    async def run(self) -> None:
        first = True
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                head, sep, body = msg.data.partition("\r\n\r\n")
                headers = self.srv._parse_headers(head)
                path = headers.get("path", "")
                self.rec.messages.append((path, headers))
                if not sep or not path or "x-timestamp" not in headers:
                    self.srv._violation(
                        f"text message without Path/X-Timestamp headers: {head[:80]!r}"
                    )
                if first and path != "speech.config":
                    self.srv._violation(f"the first message is {path!r}, not speech.config")
                if path == "speech.config":
                    if not headers.get("content-type", "").startswith("application/json"):
                        self.srv._violation("speech.config without Content-Type: application/json")
                    try:
                        self.rec.speech_config = json.loads(body)
                    except ValueError:
                        self.srv._violation("speech.config body is not JSON")
                first = False
            elif msg.type == WSMsgType.BINARY:
                if first:
                    self.srv._violation("audio before speech.config")
                    first = False
                await self._on_audio(msg.data)
                if self.ws.closed:
                    return

    async def _on_audio(self, data: bytes) -> None:
        self.audio_messages += 1
        if await self._fault_hit():
            return
        if len(data) < 2:
            self.srv._violation("binary message shorter than its header length")
            return
        size = struct.unpack(">H", data[:2])[0]
        headers = self.srv._parse_headers(data[2 : 2 + size].decode("ascii", "replace"))
        payload = data[2 + size :]
        self.rec.messages.append((headers.get("path", ""), headers))
        rid = headers.get("x-requestid", "")
        if headers.get("path") != "audio" or not _HEX32.match(rid) or "x-timestamp" not in headers:
            self.srv._violation(f"audio message with bad headers: {headers}")
            return
        turn = self.turns.get(rid)
        if turn is None:
            # the first audio of a turn: a RIFF header, maybe followed by PCM
            turn = AzureTurn(request_id=rid)
            self.turns[rid] = turn
            self.rec.turns.append(turn)
            if headers.get("content-type") != "audio/x-wav":
                self.srv._violation(
                    "the first audio message of a turn has no Content-Type: audio/x-wav"
                )
            wav = self.srv._check_wav(payload, f"turn {rid}")
            if wav is None:
                await self.ws.close(code=1007, message=b"invalid audio format")
                return
            turn.sample_rate, start = wav
            payload = payload[start:]
            self.recognizers[rid] = _Recognizer(self.srv, turn, self.detailed)
            await self._send("turn.start", rid, {"context": {"serviceTag": uuid.uuid4().hex}})
            if not payload:
                return
        elif turn.ended_by_client:
            self.srv._violation(f"audio for turn {rid} after its end")
            return
        elif not payload:
            # an empty audio message ends the turn
            turn.ended_by_client = True
            for path, body in self.recognizers[rid].finish():
                await self._send(path, rid, body)
            await self._send("turn.end", rid, {})
            return
        turn.pcm.extend(payload)
        for path, body in self.recognizers[rid].feed(payload):
            await self._send(path, rid, body)

    async def _fault_hit(self) -> bool:
        f = self.fault
        if f is None:
            return False
        if f.disconnect_after is not None and self.audio_messages > f.disconnect_after:
            if self.request.transport is not None:
                self.request.transport.abort()
            self.silent = True
            return True
        if f.stall_after is not None and self.audio_messages > f.stall_after:
            self.silent = True
        return False
