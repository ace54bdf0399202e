"""``RoomIO``: binds a session to a LiveKit room, as its :class:`RoomOptions` say.

- input: the audio track of one remote participant (the first standard, SIP or connector
  participant, or the one named in ``participant_identity``), resampled to 24 kHz mono and
  passed through the ``noise_cancellation`` processor if one is given;
- output: an audio track published by the agent (pausable, so false interruptions can resume);
- transcripts: text streams on topic ``lk.transcription`` (agent and user);
- text input: chat messages on topic ``lk.chat`` become user turns (or go to a callback);
- the agent state is published as the participant attribute ``lk.agent.state``;
- when the linked participant leaves, the session closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ..log import logger
from .io import AudioOutput, QueueAudioInput, TextOutput
from .room_options import (
    AudioInputOptions,
    AudioOutputOptions,
    RoomInputOptions,
    RoomOptions,
    RoomOutputOptions,
    TextInputEvent,
    TextInputOptions,
    TextOutputOptions,
    resolve_room_options,
)

if TYPE_CHECKING:
    from livekit import rtc

    from .agent_session import AgentSession

__all__ = [
    "AudioInputOptions",
    "AudioOutputOptions",
    "RoomIO",
    "RoomInputOptions",
    "RoomOptions",
    "RoomOutputOptions",
    "TextInputEvent",
    "TextInputOptions",
    "TextOutputOptions",
]

TOPIC_TRANSCRIPTION = "lk.transcription"
TOPIC_CHAT = "lk.chat"
ATTR_AGENT_STATE = "lk.agent.state"


class _RoomAudioOutput(AudioOutput):
    """Publishes agent audio through an ``rtc.AudioSource``; frames are held here so playback
    can pause and resume (the source's own queue stays short)."""

    def __init__(self, room: rtc.Room, options: AudioOutputOptions) -> None:
        super().__init__(label="room", sample_rate=options.sample_rate, can_pause=True)
        from livekit import rtc

        self._room = room
        self._options = options
        self._source = rtc.AudioSource(options.sample_rate, 1, queue_size_ms=200)
        self._pending: deque[rtc.AudioFrame] = deque()
        self._wake = asyncio.Event()
        self._paused = False
        self._flushed = False
        self._playing = False
        self._pushed = 0.0
        self._pump_task: asyncio.Task[None] | None = None
        self._publication: Any = None

    async def start(self) -> None:
        from livekit import rtc

        track = rtc.LocalAudioTrack.create_audio_track(self._options.track_name, self._source)
        options = self._options.track_publish_options or rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_MICROPHONE
        )
        self._publication = await self._room.local_participant.publish_track(track, options)
        self._pump_task = asyncio.create_task(self._pump(), name="room_audio_pump")

    async def aclose(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._source.aclose()

    @property
    def playback_position(self) -> float:
        return max(0.0, self._pushed - self._source.queued_duration)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._playing:
            self._playing = True
            self._flushed = False
            self._pushed = 0.0
            self.on_playback_started(created_at=time.time())
        self._pending.append(frame)
        self._wake.set()

    def flush(self) -> None:
        super().flush()
        if self._playing:
            self._flushed = True
            self._wake.set()

    def clear_buffer(self) -> None:
        if not self._playing:
            return
        self._pending.clear()
        position = self.playback_position
        self._source.clear_queue()
        self._finish(position, interrupted=True)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def _finish(self, position: float, *, interrupted: bool) -> None:
        self._playing = False
        self._flushed = False
        self.on_playback_finished(playback_position=position, interrupted=interrupted)

    async def _pump(self) -> None:
        while True:
            if self._paused or not self._pending:
                if self._playing and self._flushed and not self._pending and not self._paused:
                    await self._source.wait_for_playout()
                    if self._playing and not self._pending:
                        self._finish(self._pushed, interrupted=False)
                    continue
                self._wake.clear()
                await self._wake.wait()
                continue
            frame = self._pending.popleft()
            await self._source.capture_frame(frame)  # paces to real time (short queue)
            self._pushed += frame.duration


class _RoomTextOutput(TextOutput):
    """Streams the agent's transcript on ``lk.transcription``, one stream per segment."""

    label = "room-transcription"

    def __init__(self, room: rtc.Room, options: TextOutputOptions) -> None:
        self._room = room
        self.sync_transcription = options.sync_transcription
        self._writer: Any = None
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Future[None]] = set()

    async def capture_text(self, text: str) -> None:
        async with self._lock:
            if self._writer is None:
                self._writer = await self._room.local_participant.stream_text(
                    topic=TOPIC_TRANSCRIPTION,
                    attributes={"lk.transcription_final": "false"},
                )
            await self._writer.write(text)

    def flush(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            fut = asyncio.ensure_future(_close_quietly(writer))
            self._closing.add(fut)
            fut.add_done_callback(self._closing.discard)


async def _close_quietly(writer: Any) -> None:
    with contextlib.suppress(Exception):
        await writer.aclose()


class RoomIO:
    def __init__(
        self,
        room: rtc.Room | Any,
        session: AgentSession[Any],
        *,
        options: RoomOptions | None = None,
        input_options: RoomInputOptions | None = None,
        output_options: RoomOutputOptions | None = None,
    ) -> None:
        self._room: Any = room
        self._session = session
        self._opts = resolve_room_options(options, input_options, output_options)
        self._audio_input = QueueAudioInput()
        self._audio_output: _RoomAudioOutput | None = None
        self._linked: Any = None
        self._stream_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def linked_participant(self) -> Any:
        return self._linked

    async def start(self) -> None:
        room, session, opts = self._room, self._session, self._opts
        if opts.audio_in is not None:
            session.input.audio = self._audio_input
        if opts.audio_out is not None:
            self._audio_output = _RoomAudioOutput(room, opts.audio_out)
            await self._audio_output.start()
            session.output.audio = self._audio_output
        if opts.text_out is not None:
            session.output.transcription = _RoomTextOutput(room, opts.text_out)
        if opts.text_in is not None:
            with contextlib.suppress(Exception):
                room.register_text_stream_handler(TOPIC_CHAT, self._on_chat)

        room.on("track_subscribed", self._on_track_subscribed)
        room.on("participant_connected", self._on_participant_connected)
        room.on("participant_disconnected", self._on_participant_disconnected)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("user_input_transcribed", self._on_user_transcript)

        for participant in room.remote_participants.values():
            self._on_participant_connected(participant)
            for publication in participant.track_publications.values():
                track = getattr(publication, "track", None)
                if track is not None:
                    self._on_track_subscribed(track, publication, participant)

    async def aclose(self) -> None:
        room = self._room
        for event, handler in (
            ("track_subscribed", self._on_track_subscribed),
            ("participant_connected", self._on_participant_connected),
            ("participant_disconnected", self._on_participant_disconnected),
        ):
            with contextlib.suppress(Exception):
                room.off(event, handler)
        me = asyncio.current_task()
        tasks = [t for t in (*self._tasks, self._stream_task) if t is not None and t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._audio_output is not None:
            await self._audio_output.aclose()
        self._audio_input.close()

    # -- participants and tracks --------------------------------------------------------------

    def _wants(self, participant: Any) -> bool:
        if self._opts.participant_identity is not None:
            return bool(participant.identity == self._opts.participant_identity)
        return getattr(participant, "kind", 0) in self._opts.participant_kinds

    def _on_participant_connected(self, participant: Any) -> None:
        if self._linked is None and self._wants(participant):
            self._linked = participant
            logger.debug("linked to participant %s", participant.identity)

    def _on_participant_disconnected(self, participant: Any) -> None:
        if self._linked is None or participant.identity != self._linked.identity:
            return
        logger.info("participant %s left", participant.identity)
        if self._opts.close_on_disconnect:
            from .events import CloseReason

            self._spawn(self._session._close(CloseReason.PARTICIPANT_DISCONNECTED, None))

    def _on_track_subscribed(self, track: Any, publication: Any, participant: Any) -> None:
        from livekit import rtc

        if self._linked is None:
            self._on_participant_connected(participant)
        if self._linked is None or participant.identity != self._linked.identity:
            return
        if getattr(track, "kind", None) != rtc.TrackKind.KIND_AUDIO or self._opts.audio_in is None:
            return
        if self._stream_task is not None:
            self._stream_task.cancel()
        self._stream_task = asyncio.create_task(self._read_track(track), name="room_audio_input")

    async def _read_track(self, track: Any) -> None:
        from livekit import rtc

        opts = self._opts.audio_in
        assert opts is not None
        extra: dict[str, Any] = {}
        if opts.frame_size_ms is not None:
            extra["frame_size_ms"] = opts.frame_size_ms
        if opts.noise_cancellation is not None:
            extra["noise_cancellation"] = opts.noise_cancellation
        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=opts.sample_rate, num_channels=opts.num_channels, **extra
        )
        try:
            async for ev in stream:
                self._audio_input.push_frame(ev.frame)
        finally:
            await stream.aclose()

    # -- text -----------------------------------------------------------------------------------

    def _on_chat(self, reader: Any, participant_identity: str) -> None:
        async def handle() -> None:
            text = (await reader.read_all()).strip()
            if not text:
                return
            callback = self._opts.text_in.text_input_cb if self._opts.text_in else None
            if callback is not None:
                try:
                    result = callback(self._session, TextInputEvent(text, participant_identity))
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    logger.exception("text_input_cb failed for a chat message")
                return
            activity = self._session._activity
            if activity is None:
                return
            with contextlib.suppress(RuntimeError):
                self._session.interrupt()
            activity.on_text_input(text)

        self._spawn(handle())

    def _on_user_transcript(self, ev: Any) -> None:
        if not ev.is_final or self._opts.text_out is None or self._linked is None:
            return

        async def send() -> None:
            with contextlib.suppress(Exception):
                await self._room.local_participant.send_text(
                    ev.transcript,
                    topic=TOPIC_TRANSCRIPTION,
                    attributes={"lk.transcription_final": "true",
                                "lk.transcribed_participant": self._linked.identity},
                )

        self._spawn(send())

    def _on_agent_state(self, ev: Any) -> None:
        async def publish() -> None:
            with contextlib.suppress(Exception):
                await self._room.local_participant.set_attributes({ATTR_AGENT_STATE: ev.new_state})

        self._spawn(publish())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
