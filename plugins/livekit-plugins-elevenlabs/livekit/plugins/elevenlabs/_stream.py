"""Streamed text -> audio over the streaming-input websocket (``/v1/text-to-speech/{voice}/stream-input``).

Protocol: an initial message ``{"text": " ", "voice_settings", "generation_config",
"xi-api-key"}``; text messages ``{"text": "<words> ", "try_trigger_generation"?, "flush"?}``;
``{"text": ""}`` ends the input. The server answers ``{"audio": "<base64 PCM>", "alignment",
...}`` messages and finally ``{"isFinal": true}``, then closes the socket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import TYPE_CHECKING, Any, cast

import aiohttp

from livekit.agents import APIConnectionError, APIConnectOptions, APITimeoutError
from livekit.agents.tts import AudioEmitter, SynthesizeStream
from livekit.agents.utils import shortuuid

from ._chunking import TextChunker
from ._errors import http_error, in_band_error

if TYPE_CHECKING:
    from .tts import TTS


class _Watchdog:
    """Fires ``expired`` when the server stays silent while an answer is owed."""

    def __init__(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._handle: asyncio.TimerHandle | None = None
        self.expired: asyncio.Future[None] = self._loop.create_future()

    def arm(self) -> None:
        """(Re)start the countdown."""
        self._cancel()
        self._handle = self._loop.call_later(self._timeout, self._expire)

    def ensure(self) -> None:
        """Start the countdown unless it already runs."""
        if self._handle is None:
            self.arm()

    def disarm(self) -> None:
        self._cancel()
        self._handle = None

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _expire(self) -> None:
        if not self.expired.done():
            self.expired.set_result(None)


#: audio may end this much before the last aligned character does and still count as complete
_AUDIO_SLACK_S = 0.25


def _spoken_chars(text: str) -> int:
    """Letters and digits: what both the text sent and the server's alignment can be counted in."""
    return sum(ch.isalnum() for ch in text)


class _Owed:
    """Whether the server still owes audio, so its silence means it stalled.

    Audio is owed after the end of input (until ``isFinal``) and after a flush of new text, until
    the alignment of the answers covers every flushed character and the audio received covers the
    time that alignment spans. Text that was sent but not flushed is owed nothing: the server may
    hold it until more arrives. A server that sends no alignment at all cannot be tracked that
    closely; there, audio received after the last text was sent settles a flush.
    """

    def __init__(self, sample_rate: int) -> None:
        self._bytes_per_s = 2 * sample_rate
        self.ended = False
        self._pending = False
        self._sent = 0  # characters sent
        self._flushed = 0  # characters sent up to the last flush
        self._voiced = 0  # characters the alignment covered so far
        self._audio_s = 0.0  # audio received
        self._audio_due_s = 0.0  # audio the alignment received so far implies
        self._aligned = False
        self._heard_since_sent = False

    def owed(self) -> bool:
        return self.ended or self._pending

    def sent(self, text: str) -> None:
        chars = _spoken_chars(text)
        if chars:
            self._sent += chars
            self._heard_since_sent = False

    def flushed(self) -> None:
        """Everything sent so far was flushed: the server owes the audio not received yet."""
        if self._sent > self._flushed:
            self._flushed = self._sent
            self._pending = True
            self._settle()  # it may all have arrived already (a sentence sent with a trigger)

    def received(self, data: dict[str, Any], audio_bytes: int) -> None:
        """Account for one message of the server."""
        start_s = self._audio_s
        self._audio_s += audio_bytes / self._bytes_per_s
        chars, span_s = 0, 0.0
        for key in ("alignment", "normalizedAlignment"):
            found = _alignment(data.get(key))
            if found is not None:
                self._aligned = True
                chars, span_s = max(chars, found[0]), max(span_s, found[1])
        self._voiced = min(self._sent, self._voiced + chars)
        self._audio_due_s = max(self._audio_due_s, start_s + span_s)
        if audio_bytes:
            self._heard_since_sent = True
        self._settle()

    def _settle(self) -> None:
        if not self._pending:
            return
        if self._aligned:
            self._pending = (
                self._voiced < self._flushed or self._audio_s + _AUDIO_SLACK_S < self._audio_due_s
            )
        else:
            self._pending = not self._heard_since_sent


def _alignment(value: Any) -> tuple[int, float] | None:
    """``(characters, seconds spanned)`` of an alignment object, or None when there is none."""
    if not isinstance(value, dict):
        return None
    chars = value.get("chars")
    if not isinstance(chars, list):
        return None
    count = sum(_spoken_chars(c) for c in chars if isinstance(c, str))
    starts = value.get("charStartTimesMs")
    durations = value.get("charDurationsMs")
    span_s = 0.0
    if isinstance(starts, list) and isinstance(durations, list) and starts:
        try:
            ends = [float(s) + float(d) for s, d in zip(starts, durations, strict=False)]
            span_s = max(0.0, (max(ends) - min(float(s) for s in starts)) / 1000)
        except (TypeError, ValueError):
            span_s = 0.0
    return count, span_s


class StreamInputStream(SynthesizeStream):
    """One websocket per stream; text is forwarded as it arrives, audio as it is generated."""

    def __init__(self, *, tts: TTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._el = tts

    async def _run(self, output_emitter: AudioEmitter) -> None:
        opts = self._el._opts
        timeout = self._conn_options.timeout
        request_id = shortuuid("el_")
        if not output_emitter.initialized:
            output_emitter.initialize(
                request_id=request_id,
                sample_rate=opts.sample_rate,
                num_channels=1,
                mime_type="audio/pcm",
                stream=True,
            )
            output_emitter.start_segment(segment_id=request_id)

        ws = await self._connect(timeout)
        watchdog = _Watchdog(timeout)
        owed = _Owed(opts.sample_rate)
        send = asyncio.create_task(self._send(ws, watchdog, owed), name="elevenlabs.send")
        recv = asyncio.create_task(
            self._recv(ws, output_emitter, watchdog, owed), name="elevenlabs.recv"
        )
        pending: set[asyncio.Future[Any]] = {send, recv, watchdog.expired}
        try:
            while not recv.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if watchdog.expired in done:
                    raise APITimeoutError(
                        f"ElevenLabs sent nothing for {timeout:.1f}s while audio was expected"
                    )
                for task in done:
                    task.result()  # re-raise a failure of either side
        finally:
            watchdog.disarm()
            for task in (send, recv):
                task.cancel()
            await asyncio.gather(send, recv, return_exceptions=True)
            await _close(ws)

    async def _connect(self, timeout: float) -> aiohttp.ClientWebSocketResponse:
        opts = self._el._opts
        session = self._el._ensure_session()

        async def connect() -> aiohttp.ClientWebSocketResponse:
            ws = await session.ws_connect(
                opts.stream_input_url(), headers={"xi-api-key": opts.api_key}
            )
            return cast(aiohttp.ClientWebSocketResponse, ws)

        try:
            return await asyncio.wait_for(connect(), timeout)
        except aiohttp.WSServerHandshakeError as e:
            raise http_error(e.status, e.headers, e.message) from None
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"connecting to ElevenLabs timed out after {timeout:.1f}s"
            ) from None
        except aiohttp.ClientError as e:
            raise APIConnectionError(f"could not connect to ElevenLabs: {type(e).__name__}") from e

    async def _send(
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: _Watchdog, owed: _Owed
    ) -> None:
        try:
            await self._send_text(ws, watchdog, owed)
        except (ConnectionError, aiohttp.ClientError) as e:
            raise APIConnectionError(f"ElevenLabs connection lost: {type(e).__name__}") from e

    async def _send_text(
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: _Watchdog, owed: _Owed
    ) -> None:
        opts = self._el._opts
        init: dict[str, Any] = {"text": " ", "xi-api-key": opts.api_key}
        if opts.voice_settings is not None:
            init["voice_settings"] = opts.voice_settings.to_json()
        if opts.chunk_length_schedule:
            init["generation_config"] = {"chunk_length_schedule": opts.chunk_length_schedule}
        await ws.send_str(json.dumps(init))

        chunker = TextChunker(sentences_only=opts.auto_mode)
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                rest = chunker.flush()
                owed.sent(rest)
                owed.flushed()
                await ws.send_str(json.dumps({"text": rest or " ", "flush": True}))
                if owed.owed():
                    watchdog.ensure()
                continue
            for text, ends_sentence in chunker.push(item):
                msg: dict[str, Any] = {"text": text}
                if ends_sentence and not opts.auto_mode:
                    msg["try_trigger_generation"] = True
                owed.sent(text)
                await ws.send_str(json.dumps(msg))
        rest = chunker.flush()
        if rest:
            owed.sent(rest)
            await ws.send_str(json.dumps({"text": rest, "flush": True}))
        owed.ended = True
        await ws.send_str(json.dumps({"text": ""}))
        watchdog.ensure()

    async def _recv(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        emitter: AudioEmitter,
        watchdog: _Watchdog,
        owed: _Owed,
    ) -> None:
        while True:
            msg = await ws.receive()
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                raise APIConnectionError(
                    "ElevenLabs closed the connection before the end of the audio "
                    f"(code {ws.close_code}{_reason(msg)})"
                )
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise APIConnectionError(f"ElevenLabs connection failed: {ws.exception()!r}")
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                raise APIConnectionError("ElevenLabs sent a message that is not JSON") from None
            if not isinstance(data, dict):
                data = {}
            audio = data.get("audio")
            pcm = base64.b64decode(audio) if audio else b""
            owed.received(data, len(pcm))
            if owed.owed():
                watchdog.arm()  # the server spoke but owes more: restart the countdown
            else:
                watchdog.disarm()
            if pcm:
                emitter.push(pcm)
            elif data.get("error") or (data.get("message") and not data.get("isFinal")):
                raise in_band_error(data)
            if data.get("isFinal"):
                return


async def _close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close without waiting long for a peer that stopped answering."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 1.0)


def _reason(msg: aiohttp.WSMessage) -> str:
    extra = msg.extra if isinstance(msg.extra, str) else ""
    return f": {extra[:200]}" if extra else ""
