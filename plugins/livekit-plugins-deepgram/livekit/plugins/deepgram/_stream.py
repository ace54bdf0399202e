"""A live Deepgram recognition over one websocket at a time (``listen.v1.connect``).

Per socket, four tasks run: audio out (20 ms binary frames, ``Finalize`` on flush,
``CloseStream`` at the end of input), KeepAlive while no audio flows, results in, and a
watchdog that declares the socket dead when Deepgram stays silent for ``conn_options.timeout``
while it owes an answer. A drop raises APIConnectionError; the base class reconnects and the
stream goes on with the audio that arrives next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, WebSocketException

from livekit.agents import APIConnectionError, APIConnectOptions, APITimeoutError
from livekit.agents import stt as agents_stt
from livekit.agents.log import logger
from livekit.agents.utils.aio import ChanClosed, cancel_and_wait
from livekit.agents.utils.audio import AudioByteStream

from . import _utils
from ._sdk import (
    ApiError,
    ListenV1Error,
    ListenV1Metadata,
    ListenV1Results,
    ListenV1SpeechStarted,
    ListenV1UtteranceEnd,
)

if TYPE_CHECKING:
    from .stt import STT, STTOptions

__all__ = ["SpeechStream"]

#: Size of the binary audio messages (Deepgram recommends 20 to 250 ms).
_CHUNK_MS = 20
#: A RECOGNITION_USAGE event is sent after this much audio (and at the end of each socket).
_USAGE_INTERVAL = 5.0
#: How long to wait for a clean websocket close before giving up on it.
_CLOSE_TIMEOUT = 2.0

_Type = agents_stt.SpeechEventType


@dataclass
class _SocketState:
    """Bookkeeping of one websocket."""

    sent_seconds: float = 0.0
    reported_seconds: float = 0.0
    last_send: float = field(default_factory=time.monotonic)
    #: when Deepgram started to owe an answer (audio or a control message sent since its last
    #: message), or None
    awaiting_since: float | None = None
    closing: bool = False
    owed: asyncio.Event = field(default_factory=asyncio.Event)

    def expect_reply(self) -> None:
        if self.awaiting_since is None:
            self.awaiting_since = time.monotonic()
            self.owed.set()


class SpeechStream(agents_stt.RecognizeStream):
    """Streaming recognition; iterate it for :class:`~livekit.agents.stt.SpeechEvent` objects."""

    def __init__(self, *, stt: STT, opts: STTOptions, conn_options: APIConnectOptions) -> None:
        self._deepgram = stt
        self._opts = opts
        self._speaking = False
        self._request_id = ""
        # Deepgram's timestamps restart at 0 on each socket: offset by the audio sent before
        self._socket_offset = 0.0
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=opts.sample_rate)

    @property
    def options(self) -> STTOptions:
        return self._opts

    async def _run(self) -> None:
        client = self._deepgram._ensure_client()
        timeout = self._conn_options.timeout
        manager = client.listen.v1.connect(**self._opts.live_params())
        try:
            socket = await asyncio.wait_for(manager.__aenter__(), timeout)
        except ApiError as e:
            raise _utils.handshake_error(e, status=e.status_code or 0) from None
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"Deepgram did not accept the connection within {timeout:.1f}s"
            ) from None
        except (OSError, WebSocketException) as e:
            raise APIConnectionError(f"could not connect to Deepgram: {type(e).__name__}: {e}")

        state = _SocketState()
        try:
            await self._stream(socket, state)
        finally:
            self._report_usage(state)
            self._socket_offset += state.sent_seconds
            with contextlib.suppress(Exception):
                await asyncio.wait_for(manager.__aexit__(None, None, None), _CLOSE_TIMEOUT)

    async def _stream(self, socket: Any, state: _SocketState) -> None:
        receiver = asyncio.create_task(self._receive(socket, state), name="deepgram.recv")
        helpers = [
            asyncio.create_task(self._send(socket, state), name="deepgram.send"),
            asyncio.create_task(self._keepalive(socket, state), name="deepgram.keepalive"),
            asyncio.create_task(self._watchdog(state), name="deepgram.watchdog"),
        ]
        pending: set[asyncio.Task[None]] = {receiver, *helpers}
        try:
            while not receiver.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not receiver and (exc := task.exception()) is not None:
                        raise exc
            receiver.result()
        finally:
            await cancel_and_wait(receiver, *helpers)

    # -- audio out --------------------------------------------------------------------------

    async def _send(self, socket: Any, state: _SocketState) -> None:
        rate = self._opts.sample_rate
        chunker = AudioByteStream(rate, 1, max(1, rate * _CHUNK_MS // 1000))
        try:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    for frame in chunker.flush():
                        await self._send_audio(socket, state, frame.data, frame.duration)
                    await socket.send_finalize()
                    state.last_send = time.monotonic()
                    state.expect_reply()
                    continue
                for frame in chunker.write(item.data):
                    await self._send_audio(socket, state, frame.data, frame.duration)
            for frame in chunker.flush():
                await self._send_audio(socket, state, frame.data, frame.duration)
            state.closing = True
            await socket.send_close_stream()
            state.expect_reply()
        except ConnectionClosed as e:
            if state.closing:
                return
            raise APIConnectionError(f"the Deepgram connection dropped while sending audio: {e}")

    async def _send_audio(
        self, socket: Any, state: _SocketState, data: memoryview, duration: float
    ) -> None:
        await socket.send_media(bytes(data))
        state.last_send = time.monotonic()
        state.sent_seconds += duration
        state.expect_reply()
        if state.sent_seconds - state.reported_seconds >= _USAGE_INTERVAL:
            self._report_usage(state)

    async def _keepalive(self, socket: Any, state: _SocketState) -> None:
        """Deepgram closes a socket that gets nothing for 10 s: say KeepAlive during silence."""
        interval = self._opts.keepalive_interval
        while not state.closing:
            wait = state.last_send + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                await socket.send_keep_alive()
            except ConnectionClosed:
                return  # the receiver reports the drop
            state.last_send = time.monotonic()

    # -- results in -------------------------------------------------------------------------

    async def _receive(self, socket: Any, state: _SocketState) -> None:
        while True:
            try:
                message = await socket.recv()
            except ConnectionClosedOK as e:
                if state.closing:
                    return
                raise APIConnectionError(f"Deepgram closed the connection mid-stream ({e})")
            except ConnectionClosed as e:
                if state.closing:
                    logger.warning("Deepgram connection dropped after the end of input: %s", e)
                    return
                raise APIConnectionError(f"the Deepgram connection dropped ({e})")
            except ValueError as e:
                state.awaiting_since = None
                logger.warning("Deepgram sent a message that is not JSON: %s", e)
                continue
            state.awaiting_since = None
            self._on_message(message)

    async def _watchdog(self, state: _SocketState) -> None:
        timeout = self._conn_options.timeout
        while True:
            since = state.awaiting_since
            if since is None:
                state.owed.clear()
                await state.owed.wait()
                continue
            remaining = since + timeout - time.monotonic()
            if remaining <= 0:
                raise APITimeoutError(
                    f"Deepgram sent nothing for {timeout:.1f}s while it was owed results; "
                    f"treating the connection as dead"
                )
            await asyncio.sleep(remaining)

    def _on_message(self, message: object) -> None:
        if isinstance(message, ListenV1Results):
            self._on_results(message)
        elif isinstance(message, ListenV1SpeechStarted):
            self._start_speaking()
        elif isinstance(message, ListenV1UtteranceEnd):
            self._stop_speaking()
        elif isinstance(message, ListenV1Metadata):
            logger.debug("Deepgram metadata: request_id=%s", message.request_id)
        elif isinstance(message, ListenV1Error):
            logger.warning("Deepgram reported an error: %s: %s", message.variant, message.description)
        else:
            logger.debug("ignoring a Deepgram message: %r", message)

    def _on_results(self, message: ListenV1Results) -> None:
        if message.metadata is not None and message.metadata.request_id:
            self._request_id = message.metadata.request_id
        alternatives = [self._speech_data(alt, message) for alt in message.channel.alternatives]
        if alternatives and alternatives[0].text.strip():
            self._start_speaking()
            kind = _Type.FINAL_TRANSCRIPT if message.is_final else _Type.INTERIM_TRANSCRIPT
            self._emit(agents_stt.SpeechEvent(
                type=kind, request_id=self._request_id, alternatives=alternatives
            ))
        if message.speech_final:
            self._stop_speaking()

    def _speech_data(self, alt: Any, message: ListenV1Results) -> agents_stt.SpeechData:
        offset = self.start_time_offset + self._socket_offset
        words = alt.words or []
        start = words[0].start if words else message.start
        end = words[-1].end if words else message.start + message.duration
        language = self._opts.language
        if language == "multi" and alt.languages:
            language = alt.languages[0]
        speaker = None
        if self._opts.diarize and message.is_final:
            speakers = Counter(w.speaker for w in words if w.speaker is not None)
            if speakers:
                speaker = f"S{speakers.most_common(1)[0][0]}"
        return agents_stt.SpeechData(
            language=language,
            text=alt.transcript or "",
            start_time=start + offset,
            end_time=end + offset,
            confidence=alt.confidence or 0.0,
            speaker_id=speaker,
        )

    def _start_speaking(self) -> None:
        if not self._speaking:
            self._speaking = True
            self._emit(agents_stt.SpeechEvent(type=_Type.START_OF_SPEECH, request_id=self._request_id))

    def _stop_speaking(self) -> None:
        if self._speaking:
            self._speaking = False
            self._emit(agents_stt.SpeechEvent(type=_Type.END_OF_SPEECH, request_id=self._request_id))

    def _report_usage(self, state: _SocketState) -> None:
        amount = state.sent_seconds - state.reported_seconds
        if amount <= 0:
            return
        state.reported_seconds = state.sent_seconds
        self._emit(agents_stt.SpeechEvent(
            type=_Type.RECOGNITION_USAGE,
            request_id=self._request_id,
            recognition_usage=agents_stt.RecognitionUsage(audio_duration=amount),
        ))

    def _emit(self, event: agents_stt.SpeechEvent) -> None:
        with contextlib.suppress(ChanClosed):
            self._event_ch.send_nowait(event)
