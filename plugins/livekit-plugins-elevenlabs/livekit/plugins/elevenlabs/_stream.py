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
        self._cancel()
        self._handle = self._loop.call_later(self._timeout, self._expire)

    def touch(self) -> None:
        """Activity: push the deadline back if armed."""
        if self._handle is not None:
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
        state = {"eos_sent": False}
        send = asyncio.create_task(self._send(ws, watchdog, state), name="elevenlabs.send")
        recv = asyncio.create_task(
            self._recv(ws, output_emitter, watchdog, state), name="elevenlabs.recv"
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
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: _Watchdog, state: dict[str, bool]
    ) -> None:
        try:
            await self._send_text(ws, watchdog, state)
        except (ConnectionError, aiohttp.ClientError) as e:
            raise APIConnectionError(f"ElevenLabs connection lost: {type(e).__name__}") from e

    async def _send_text(
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: _Watchdog, state: dict[str, bool]
    ) -> None:
        opts = self._el._opts
        init: dict[str, Any] = {"text": " ", "xi-api-key": opts.api_key}
        if opts.voice_settings is not None:
            init["voice_settings"] = opts.voice_settings.to_json()
        if opts.chunk_length_schedule:
            init["generation_config"] = {"chunk_length_schedule": opts.chunk_length_schedule}
        await ws.send_str(json.dumps(init))

        chunker = TextChunker(sentences_only=opts.auto_mode)
        unflushed = False
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                rest = chunker.flush()
                await ws.send_str(json.dumps({"text": rest or " ", "flush": True}))
                if rest or unflushed:
                    watchdog.arm()  # the server owes us audio now
                unflushed = False
                continue
            for text, ends_sentence in chunker.push(item):
                msg: dict[str, Any] = {"text": text}
                if ends_sentence and not opts.auto_mode:
                    msg["try_trigger_generation"] = True
                await ws.send_str(json.dumps(msg))
                unflushed = True
        rest = chunker.flush()
        if rest:
            await ws.send_str(json.dumps({"text": rest, "flush": True}))
        state["eos_sent"] = True
        await ws.send_str(json.dumps({"text": ""}))
        watchdog.arm()

    async def _recv(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        emitter: AudioEmitter,
        watchdog: _Watchdog,
        state: dict[str, bool],
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
            if state["eos_sent"]:
                watchdog.touch()
            else:
                watchdog.disarm()
            try:
                data = json.loads(msg.data)
            except ValueError:
                raise APIConnectionError("ElevenLabs sent a message that is not JSON") from None
            if not isinstance(data, dict):
                continue
            audio = data.get("audio")
            if audio:
                emitter.push(base64.b64decode(audio))
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
