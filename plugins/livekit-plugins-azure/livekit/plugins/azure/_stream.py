"""Streaming recognition over the Speech service websocket protocol.

One websocket per attempt: ``speech.config`` first, then turns. A turn is a request id whose
audio starts with a RIFF header and ends with an empty audio message (on ``flush()`` or at the end
of input); the service answers ``turn.start``, ``speech.startDetected``, ``speech.hypothesis``
(interim), ``speech.phrase`` (final), ``speech.endDetected`` and ``turn.end``. Turns run one at a
time; the service may also end a turn on its own, and the next audio then opens a new one.

Events are normalized per utterance: START_OF_SPEECH, INTERIM_TRANSCRIPT..., FINAL_TRANSCRIPT,
END_OF_SPEECH; RECOGNITION_USAGE (audio seconds) follows each ``turn.end``.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import aiohttp

from livekit.agents import APIConnectionError, APIError, APITimeoutError
from livekit.agents.log import logger
from livekit.agents.stt import (
    RecognitionUsage,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
)
from livekit.agents.types import APIConnectOptions

from ._errors import close_error, http_error
from ._results import best_alternative, span
from ._usp import (
    ServerMessage,
    audio_message,
    new_request_id,
    parse_server_message,
    text_message,
    wav_header,
)
from .version import __version__

if TYPE_CHECKING:
    from .stt import STT


class _Watchdog:
    """Fires ``expired`` when the service stays silent while an answer is owed."""

    def __init__(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._handle: asyncio.TimerHandle | None = None
        self.expired: asyncio.Future[None] = self._loop.create_future()

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def arm(self) -> None:
        self.disarm()
        self._handle = self._loop.call_later(self._timeout, self._expire)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _expire(self) -> None:
        if not self.expired.done():
            self.expired.set_result(None)


@dataclass
class _Turn:
    request_id: str
    #: seconds of stream audio before this turn (offsets in results are relative to the turn)
    base: float
    audio: float = 0.0
    started: bool = False  # turn.start received
    closed: bool = False  # our end-of-audio sent
    ended: bool = False  # turn.end received
    reported: bool = False  # usage emitted


@dataclass
class _Attempt:
    """State of one websocket connection."""

    watchdog: _Watchdog
    turns: dict[str, _Turn] = field(default_factory=dict)
    current: _Turn | None = None
    input_done: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def owed(self) -> bool:
        """True while the service owes an answer: a turn.start or a turn.end."""
        return any(not t.ended and (not t.started or t.closed) for t in self.turns.values())

    def update(self, *, activity: bool = False) -> None:
        """Re-evaluate the watchdog, idleness and completion after a change."""
        if self.owed():
            if activity or not self.watchdog.armed:
                self.watchdog.arm()
        else:
            self.watchdog.disarm()
        if any(t.closed and not t.ended for t in self.turns.values()):
            self.idle.clear()
        else:
            self.idle.set()
        open_turns = any(not t.ended for t in self.turns.values())
        if self.input_done and not open_turns and not self.done.done():
            self.done.set_result(None)


class SpeechStream(RecognizeStream):
    """See the module docstring."""

    def __init__(self, *, stt: STT, language: str, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=stt._opts.sample_rate)
        self._az = stt
        self._language = language
        self._audio_time = 0.0  # seconds of audio sent over every attempt
        self._speaking = False

    async def _run(self) -> None:
        timeout = self._conn_options.timeout
        ws = await self._connect(timeout)
        att = _Attempt(watchdog=_Watchdog(timeout))
        att.update()
        send = asyncio.create_task(self._send(ws, att), name="azure.send")
        recv = asyncio.create_task(self._recv(ws, att), name="azure.recv")
        pending: set[asyncio.Future[Any]] = {send, recv, att.watchdog.expired, att.done}
        try:
            while not att.done.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if att.watchdog.expired in done:
                    raise APITimeoutError(
                        f"Azure Speech sent nothing for {timeout:.1f}s while results were owed"
                    )
                for task in done:
                    task.result()  # re-raise a failure of either side
                if recv in done and not att.done.done():
                    raise APIConnectionError("Azure Speech stopped answering")
        except APIError:
            self._report_usage(att)
            self._end_speech(None)  # the utterance cannot be finished on this connection
            raise
        finally:
            att.watchdog.disarm()
            for task in (send, recv):
                task.cancel()
            await asyncio.gather(send, recv, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
        self._end_speech(None)

    async def _connect(self, timeout: float) -> aiohttp.ClientWebSocketResponse:
        session = self._az._ensure_session()
        headers = {**self._az._auth_headers(), "X-ConnectionId": new_request_id()}
        url = self._az._opts.ws_url(self._language)

        async def connect() -> aiohttp.ClientWebSocketResponse:
            return cast(
                aiohttp.ClientWebSocketResponse, await session.ws_connect(url, headers=headers)
            )

        try:
            return await asyncio.wait_for(connect(), timeout)
        except aiohttp.WSServerHandshakeError as e:
            raise http_error(e.status, e.headers) from None
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"connecting to Azure Speech timed out after {timeout:.1f}s"
            ) from None
        except aiohttp.ClientError as e:
            raise APIConnectionError(
                f"could not connect to Azure Speech: {type(e).__name__}"
            ) from e

    def _speech_config(self) -> dict[str, Any]:
        rate = self._az._opts.sample_rate
        return {
            "context": {
                "system": {
                    "name": "livekit-agents",
                    "version": __version__,
                    "build": "Python",
                    "lang": "Python",
                },
                "os": {
                    "platform": platform.system(),
                    "name": platform.platform(terse=True),
                    "version": platform.release(),
                },
                "audio": {
                    "source": {
                        "type": "Stream",
                        "samplerate": str(rate),
                        "bitspersample": "16",
                        "channelcount": "1",
                        "connectivity": "Unknown",
                    }
                },
            }
        }

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, att: _Attempt) -> None:
        try:
            await self._send_audio(ws, att)
        except (ConnectionError, aiohttp.ClientError) as e:
            raise APIConnectionError(f"Azure Speech connection lost: {type(e).__name__}") from e

    async def _send_audio(self, ws: aiohttp.ClientWebSocketResponse, att: _Attempt) -> None:
        rate = self._az._opts.sample_rate
        await ws.send_str(text_message("speech.config", self._speech_config()))
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                await self._end_turn(ws, att)
                continue
            data = bytes(item.data)
            if not data:
                continue
            turn = att.current
            if turn is None or turn.ended:
                await att.idle.wait()  # one turn at a time
                turn = _Turn(request_id=new_request_id(), base=self._audio_time)
                att.turns[turn.request_id] = turn
                att.current = turn
                await ws.send_bytes(audio_message(turn.request_id, wav_header(rate), first=True))
                att.update()
            await ws.send_bytes(audio_message(turn.request_id, data))
            turn.audio += item.duration
            self._audio_time += item.duration
        await self._end_turn(ws, att)
        att.input_done = True
        att.update()

    async def _end_turn(self, ws: aiohttp.ClientWebSocketResponse, att: _Attempt) -> None:
        turn = att.current
        att.current = None
        if turn is None or turn.ended or turn.closed:
            return
        turn.closed = True
        await ws.send_bytes(audio_message(turn.request_id, b""))
        att.update()

    # -- receiving -------------------------------------------------------------------------

    async def _recv(self, ws: aiohttp.ClientWebSocketResponse, att: _Attempt) -> None:
        while True:
            msg = await ws.receive()
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                if att.done.done():
                    return
                reason = msg.extra if isinstance(msg.extra, str) else ""
                raise close_error(ws.close_code, reason)
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise APIConnectionError(f"Azure Speech connection failed: {ws.exception()!r}")
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = parse_server_message(msg.data)
            except ValueError as e:
                logger.debug("ignoring a malformed Azure Speech message: %s", e)
                continue
            turn = att.turns.get(message.request_id)
            if turn is not None:
                self._handle(message, turn, att)
            att.update(activity=True)

    def _handle(self, message: ServerMessage, turn: _Turn, att: _Attempt) -> None:
        path, body = message.path, message.body
        if path == "turn.start":
            turn.started = True
        elif path == "speech.startdetected":
            self._start_speech(turn)
        elif path == "speech.hypothesis":
            text = str(body.get("Text") or "")
            if text:
                self._start_speech(turn)
                self._emit(SpeechEventType.INTERIM_TRANSCRIPT, turn, body, text, 0.0)
        elif path == "speech.phrase":
            status = str(body.get("RecognitionStatus", ""))
            if status == "Success":
                text, confidence = best_alternative(body)
                if text:
                    self._start_speech(turn)
                    self._emit(SpeechEventType.FINAL_TRANSCRIPT, turn, body, text, confidence)
                self._end_speech(turn)
            elif status == "Error":
                raise APIError("Azure Speech reported a recognition error", body=body)
            elif status != "EndOfDictation":
                self._end_speech(turn)  # NoMatch, InitialSilenceTimeout, BabbleTimeout
        elif path == "speech.enddetected":
            self._end_speech(turn)
        elif path == "turn.end":
            turn.started = True
            turn.ended = True
            if att.current is turn:
                att.current = None
            self._end_speech(turn)
            self._report_turn(turn)

    # -- events ----------------------------------------------------------------------------

    def _language_of(self, body: dict[str, Any]) -> str:
        primary = body.get("PrimaryLanguage")
        if isinstance(primary, dict) and primary.get("Language"):
            return str(primary["Language"])
        return self._language

    def _emit(
        self, kind: SpeechEventType, turn: _Turn, body: dict[str, Any], text: str, confidence: float
    ) -> None:
        offset, duration = span(body)
        start = self.start_time_offset + turn.base + offset
        self._event_ch.send_nowait(
            SpeechEvent(
                type=kind,
                request_id=turn.request_id,
                alternatives=[
                    SpeechData(
                        language=self._language_of(body),
                        text=text,
                        start_time=start,
                        end_time=start + duration,
                        confidence=confidence,
                    )
                ],
            )
        )

    def _start_speech(self, turn: _Turn) -> None:
        if not self._speaking:
            self._speaking = True
            self._event_ch.send_nowait(
                SpeechEvent(type=SpeechEventType.START_OF_SPEECH, request_id=turn.request_id)
            )

    def _end_speech(self, turn: _Turn | None) -> None:
        if self._speaking:
            self._speaking = False
            self._event_ch.send_nowait(
                SpeechEvent(
                    type=SpeechEventType.END_OF_SPEECH,
                    request_id=turn.request_id if turn is not None else "",
                )
            )

    def _report_turn(self, turn: _Turn) -> None:
        if turn.reported or turn.audio <= 0:
            return
        turn.reported = True
        self._event_ch.send_nowait(
            SpeechEvent(
                type=SpeechEventType.RECOGNITION_USAGE,
                request_id=turn.request_id,
                recognition_usage=RecognitionUsage(audio_duration=turn.audio),
            )
        )

    def _report_usage(self, att: _Attempt) -> None:
        """Audio sent on a failed connection is billed too."""
        for turn in att.turns.values():
            self._report_turn(turn)
