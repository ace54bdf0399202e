"""Streamed synthesis over Cartesia's ``/tts/websocket``, one fresh socket per stream.

Each piece of text is sent the moment it is pushed, as a generation request with
``continue: true`` in the stream's context; a flush sends ``flush: true`` (the server speaks
what it has buffered, and ``flush_done`` ends the audio segment); the end of input sends
``continue: false`` and the stream ends at the context's ``done``. Audio chunks (base64 PCM)
are pushed as they arrive.

A socket that drops, or stays silent for ``conn_options.timeout`` while it owes audio, raises
a retryable error: the base class replays the text on a new socket if no audio was played yet,
and fails the stream otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from livekit.agents import APIConnectionError, APIConnectOptions, APITimeoutError
from livekit.agents import tts as agents_tts
from livekit.agents.log import logger
from livekit.agents.utils import shortuuid
from livekit.agents.utils.aio import cancel_and_wait

from . import _utils
from .tts import FRAME_MS

if TYPE_CHECKING:
    from .tts import TTS, TTSOptions

__all__ = ["SynthesizeStream"]

#: How long to wait for a clean websocket close before dropping the connection.
_CLOSE_TIMEOUT = 1.0
#: Handshake headers whose values are credentials.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})


class _RedactCredentials(logging.Filter):
    """Hide credential header values in the handshake records of ``websockets``.

    At DEBUG level, ``websockets`` logs each handshake header as ``"> %s: %s" % (name, value)``,
    the ``Authorization`` header (the API key) included; this filter masks the value before the
    record reaches any handler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[0].lower() in _SECRET_HEADERS
        ):
            record.args = (args[0], "***")
        return True


#: The logger of the stream's websockets (frames and handshake at DEBUG level), keys masked.
ws_logger = logging.getLogger("livekit.plugins.cartesia.websocket")
ws_logger.addFilter(_RedactCredentials())


@dataclass
class _State:
    """Bookkeeping of one socket (one attempt)."""

    context_id: str = field(default_factory=lambda: shortuuid("ctx_"))
    contexts: set[str] = field(default_factory=set)
    context_open: bool = True
    input_done: bool = False
    #: a flush was sent and its ``flush_done`` has not arrived yet
    flush_pending: bool = False
    segment_open: bool = False
    #: when the silence timer started (the server owes an answer), or None
    awaiting_since: float | None = None
    owed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.contexts.add(self.context_id)

    def expect_reply(self) -> None:
        if self.awaiting_since is None:
            self.awaiting_since = time.monotonic()
            self.owed.set()

    def heard(self) -> None:
        """The server spoke: restart the silence timer if it still owes the rest of the audio
        (everything after the end of input or a flush), stop it otherwise."""
        if self.input_done or self.flush_pending:
            self.awaiting_since = time.monotonic()
            self.owed.set()
        else:
            self.awaiting_since = None

    def new_context(self) -> None:
        self.context_id = shortuuid("ctx_")
        self.contexts.add(self.context_id)
        self.context_open = True


class SynthesizeStream(agents_tts.SynthesizeStream):
    """Push text, iterate audio; see the module docstring for the protocol."""

    def __init__(self, *, tts: TTS, opts: TTSOptions, conn_options: APIConnectOptions) -> None:
        self._cartesia = tts
        self._opts = opts
        super().__init__(tts=tts, conn_options=conn_options)

    async def _run(self, output_emitter: agents_tts.AudioEmitter) -> None:
        state = _State()
        output_emitter.initialize(
            request_id=state.context_id,
            sample_rate=self._opts.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
            frame_size_ms=FRAME_MS,
            stream=True,
        )
        ws = await self._connect()
        try:
            await self._stream(ws, state, output_emitter)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), _CLOSE_TIMEOUT)

    async def _connect(self) -> ClientConnection:
        url, headers, user_agent = self._cartesia._ws_target()
        timeout = self._conn_options.timeout
        try:
            return await connect(
                url,
                additional_headers=headers,
                user_agent_header=user_agent,
                open_timeout=timeout,
                close_timeout=_CLOSE_TIMEOUT,
                max_size=None,
                logger=ws_logger,
            )
        except InvalidStatus as e:
            response = e.response
            raise _utils.status_error(
                response.status_code,
                what="streaming connection",
                headers=response.headers,
                body=response.body,
            ) from None
        except (TimeoutError, asyncio.TimeoutError):
            raise APITimeoutError(
                f"Cartesia did not accept the connection within {timeout:.1f}s"
            ) from None
        except (OSError, WebSocketException) as e:
            raise APIConnectionError(f"could not connect to Cartesia: {type(e).__name__}: {e}")

    async def _stream(
        self, ws: ClientConnection, state: _State, emitter: agents_tts.AudioEmitter
    ) -> None:
        receiver = asyncio.create_task(self._receive(ws, state, emitter), name="cartesia.recv")
        sender = asyncio.create_task(self._send(ws, state), name="cartesia.send")
        watchdog = asyncio.create_task(self._watchdog(state), name="cartesia.watchdog")
        pending: set[asyncio.Task[Any]] = {receiver, sender, watchdog}
        try:
            while not receiver.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not receiver and (exc := task.exception()) is not None:
                        raise exc
                if sender in done and sender.result() is True:
                    return  # nothing left to wait for (no text at all)
            receiver.result()
        finally:
            await cancel_and_wait(receiver, sender, watchdog)

    # -- text out ---------------------------------------------------------------------------

    async def _send(self, ws: ClientConnection, state: _State) -> bool:
        """Send the text as it arrives; True when the stream can end without waiting."""
        input_ch = self._input_ch
        pending = False  # text sent since the last flush
        sent_any = False
        try:
            async for item in input_ch:
                if isinstance(item, str):
                    if not state.context_open:
                        state.new_context()
                    await self._send_request(ws, state, transcript=item, more=True)
                    pending = sent_any = True
                elif pending and not (input_ch.closed and input_ch.qsize() == 0):
                    # a flush mid-stream (the one end_input() adds is covered by continue=false)
                    state.flush_pending = True
                    await self._send_request(ws, state, transcript="", more=True, flush=True)
                    pending = False
            if not sent_any or not state.context_open:
                return True
            state.input_done = True
            await self._send_request(ws, state, transcript="", more=False)
            return False
        except ConnectionClosed as e:
            raise APIConnectionError(f"the Cartesia connection dropped while sending text ({e})")

    async def _send_request(
        self, ws: ClientConnection, state: _State, *, transcript: str, more: bool, flush: bool = False
    ) -> None:
        request = self._opts.request()
        request.update(context_id=state.context_id, transcript=transcript)
        request["continue"] = more
        if flush:
            request["flush"] = True
        if self._opts.max_buffer_delay_ms is not None:
            request["max_buffer_delay_ms"] = self._opts.max_buffer_delay_ms
        await ws.send(json.dumps(request))
        state.expect_reply()

    # -- audio in ---------------------------------------------------------------------------

    async def _receive(
        self, ws: ClientConnection, state: _State, emitter: agents_tts.AudioEmitter
    ) -> None:
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed as e:
                raise APIConnectionError(
                    f"the Cartesia connection dropped before the audio was complete ({e})"
                )
            state.heard()
            try:
                message = json.loads(raw)
            except ValueError:
                logger.warning("Cartesia sent a message that is not JSON: %.100r", raw)
                continue
            if not isinstance(message, dict):
                continue
            context_id = message.get("context_id")
            if context_id is not None and context_id not in state.contexts:
                continue
            if self._on_message(message, state, emitter):
                return

    def _on_message(
        self, message: dict[str, Any], state: _State, emitter: agents_tts.AudioEmitter
    ) -> bool:
        """Handle one server message; True at the end of the stream's last context."""
        kind = message.get("type")
        if kind == "error" or (message.get("error") and message.get("done")):
            raise _utils.stream_error(message)
        if kind == "chunk" or (kind is None and isinstance(message.get("data"), str)):
            data = message.get("data")
            if data:
                if not state.segment_open:
                    emitter.start_segment(segment_id=shortuuid("seg_"))
                    state.segment_open = True
                emitter.push(base64.b64decode(data))
        elif kind == "flush_done":
            state.flush_pending = False
            if state.segment_open:
                emitter.end_segment()
                state.segment_open = False
        elif kind == "done":
            if message.get("context_id") in (None, state.context_id):
                if state.input_done:
                    return True
                # the server ended the context early (e.g. it expired): open a new one for
                # the text that comes next
                state.context_open = False
        elif kind not in ("timestamps", "phoneme_timestamps"):
            logger.debug("ignoring a Cartesia message of type %r", kind)
        return False

    async def _watchdog(self, state: _State) -> None:
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
                    f"Cartesia sent nothing for {timeout:.1f}s while it owed audio; "
                    f"treating the connection as dead"
                )
            await asyncio.sleep(remaining)
