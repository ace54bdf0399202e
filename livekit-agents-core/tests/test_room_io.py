"""RoomIO against an in-process room: a participant's audio track in, a published track out."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS, FakeVAD
from livekit.agents.utils.event_emitter import EventEmitter


class _Writer:
    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    async def write(self, text: str) -> None:
        self.sink.append(text)

    async def aclose(self) -> None:
        self.sink.append("<end>")


class _LocalParticipant:
    identity = "agent"

    def __init__(self) -> None:
        self.published: list[Any] = []
        self.attributes: dict[str, str] = {}
        self.transcript: list[str] = []
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def publish_track(self, track: Any, options: Any) -> Any:
        self.published.append(track)
        return object()

    async def stream_text(self, *, topic: str, attributes: dict[str, str]) -> _Writer:
        assert topic == "lk.transcription"
        return _Writer(self.transcript)

    async def send_text(self, text: str, *, topic: str, attributes: dict[str, str]) -> None:
        self.sent.append((text, attributes))

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)


class _Participant:
    def __init__(self, identity: str, kind: int = 0) -> None:
        self.identity = identity
        self.kind = kind
        self.track_publications: dict[str, Any] = {}


class _Room(EventEmitter[str]):
    def __init__(self) -> None:
        super().__init__()
        self.name = "test-room"
        self.local_participant = _LocalParticipant()
        self.remote_participants: dict[str, _Participant] = {}
        self.text_handlers: dict[str, Any] = {}

    def register_text_stream_handler(self, topic: str, handler: Any) -> None:
        self.text_handlers[topic] = handler


async def test_room_audio_in_and_published_audio_out() -> None:
    room = _Room()
    avatar_bot = _Participant("bot", kind=4)  # agents are not linked
    user = _Participant("user")
    room.remote_participants = {"bot": avatar_bot, "user": user}
    source = rtc.AudioSource(24000, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)

    session = AgentSession(stt=FakeSTT(["hello agent"]), vad=FakeVAD(min_silence_duration=0.2),
                           llm=FakeLLM(["Hello human."]), tts=FakeTTS(seconds_per_char=0.01),
                           min_endpointing_delay=0.2, user_away_timeout=None)
    replies: list[str] = []
    session.on("conversation_item_added", lambda ev: replies.append(ev.item.text_content)
               if ev.item.role == "assistant" else None)
    await session.start(Agent(instructions="x"), room=room)
    assert session.room_io.linked_participant is user
    assert len(room.local_participant.published) == 1
    room.emit("track_subscribed", track, object(), user)

    t = np.arange(240) / 24000
    loud = (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()
    for i in range(150):  # 0.6 s of speech, then silence
        data = loud if 10 <= i < 70 else bytes(480)
        await source.capture_frame(rtc.AudioFrame(data, 24000, 1, 240))
    for _ in range(300):
        if replies:
            break
        await source.capture_frame(rtc.AudioFrame(bytes(480), 24000, 1, 240))
    assert replies == ["Hello human."]
    assert "".join(t for t in room.local_participant.transcript if t != "<end>") == "Hello human."
    assert ("hello agent", {"lk.transcription_final": "true", "lk.transcribed_participant": "user"}) in \
        room.local_participant.sent
    await asyncio.sleep(0.05)
    assert room.local_participant.attributes["lk.agent.state"] == "listening"

    closed: list[Any] = []
    session.on("close", closed.append)
    room.emit("participant_disconnected", user)
    for _ in range(100):
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed and closed[0].reason.value == "participant_disconnected"
    await source.aclose()


class _CountingProcessor(rtc.FrameProcessor[rtc.AudioFrame]):
    """A stand-in noise canceller: records the frames it sees and passes them on."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, int]] = []
        self.closed = False

    @property
    def enabled(self) -> bool:
        return True

    @enabled.setter
    def enabled(self, value: bool) -> None:
        pass

    def _process(self, frame: rtc.AudioFrame) -> rtc.AudioFrame:
        self.frames.append((frame.sample_rate, frame.samples_per_channel))
        return frame

    def _close(self) -> None:
        self.closed = True


async def _speak_into(source: rtc.AudioSource, replies: list[str]) -> None:
    t = np.arange(240) / 24000
    loud = (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()
    for i in range(150):
        await source.capture_frame(rtc.AudioFrame(loud if 10 <= i < 70 else bytes(480), 24000, 1, 240))
    for _ in range(300):
        if replies:
            break
        await source.capture_frame(rtc.AudioFrame(bytes(480), 24000, 1, 240))


async def test_room_options_noise_cancellation_and_frame_size() -> None:
    from livekit.agents import room_io

    room = _Room()
    user = _Participant("user")
    room.remote_participants = {"user": user}
    source = rtc.AudioSource(24000, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    processor = _CountingProcessor()
    session = AgentSession(stt=FakeSTT(["hello agent"]), vad=FakeVAD(min_silence_duration=0.2),
                           llm=FakeLLM(["Hello human."]), tts=FakeTTS(seconds_per_char=0.01),
                           min_endpointing_delay=0.2, user_away_timeout=None)
    replies: list[str] = []
    session.on("conversation_item_added", lambda ev: replies.append(ev.item.text_content)
               if ev.item.role == "assistant" else None)
    options = room_io.RoomOptions(
        audio_input=room_io.AudioInputOptions(noise_cancellation=processor, frame_size_ms=20),
        audio_output=room_io.AudioOutputOptions(track_name="agent_voice"),
        text_output=room_io.TextOutputOptions(sync_transcription=False),
    )
    await session.start(Agent(instructions="x"), room=room, room_options=options)
    assert [t.name for t in room.local_participant.published] == ["agent_voice"]
    room.emit("track_subscribed", track, object(), user)
    await _speak_into(source, replies)

    assert replies == ["Hello human."]
    # every frame the pipeline heard went through the processor, in 20 ms frames at 24 kHz
    assert len(processor.frames) > 50
    assert set(processor.frames) == {(24000, 480)}
    assert "".join(t for t in room.local_participant.transcript if t != "<end>") == "Hello human."
    await session.aclose()
    await source.aclose()


async def test_text_input_callback_replaces_the_default_reply() -> None:
    from livekit.agents import RoomInputOptions
    from livekit.agents.voice.room_io import TextInputEvent

    got: list[tuple[Any, TextInputEvent]] = []

    async def on_text(session: AgentSession[Any], ev: TextInputEvent) -> None:
        got.append((session, ev))

    class _Reader:
        async def read_all(self) -> str:
            return "  hi there  "

    room = _Room()
    llm = FakeLLM(["should not be used"])
    session = AgentSession(llm=llm, user_away_timeout=None)
    await session.start(Agent(instructions="x"), room=room,
                        room_input_options=RoomInputOptions(text_input_cb=on_text, audio_enabled=False))
    room.text_handlers["lk.chat"](_Reader(), "user")
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.01)
    assert got and got[0][0] is session
    assert got[0][1] == TextInputEvent(text="hi there", participant_identity="user")
    assert llm.requests == []
    await session.aclose()


async def test_participant_kinds_choose_who_is_linked() -> None:
    from livekit.agents.voice.room_io import RoomOptions

    room = _Room()
    sip, web = _Participant("phone", kind=3), _Participant("web", kind=0)
    room.remote_participants = {"phone": sip, "web": web}
    session = AgentSession(llm=FakeLLM([]), user_away_timeout=None)
    await session.start(Agent(instructions="x"), room=room,
                        room_options=RoomOptions(participant_kinds=[0], audio_output=False))
    assert session.room_io.linked_participant is web
    assert room.local_participant.published == []
    await session.aclose()


async def test_bad_room_options_fail_clearly() -> None:
    from livekit.agents import RoomInputOptions, RoomOutputOptions
    from livekit.agents.voice.room_io import AudioInputOptions, AudioOutputOptions, RoomOptions

    with pytest.raises(ValueError, match="not both"):
        await AgentSession().start(Agent(instructions="x"), room=_Room(), room_options=RoomOptions(),
                                   room_input_options=RoomInputOptions())
    with pytest.raises(TypeError, match="room_options must be a RoomOptions"):
        await AgentSession().start(Agent(instructions="x"), room=_Room(),
                                   room_options=RoomInputOptions())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="room_output_options must be a RoomOutputOptions"):
        await AgentSession().start(Agent(instructions="x"), room=_Room(),
                                   room_output_options=RoomInputOptions())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="audio_input must be a bool or AudioInputOptions"):
        RoomOptions(audio_input=AudioOutputOptions())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="voice pipeline is mono"):
        RoomOptions(audio_input=AudioInputOptions(num_channels=2))
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        RoomOptions(audio_output=AudioOutputOptions(sample_rate=0))
    with pytest.raises(ValueError, match="video input is not supported"):
        RoomOptions(video_input=True)
    with pytest.raises(ValueError, match="voice pipeline is mono"):
        await AgentSession().start(Agent(instructions="x"), room=_Room(),
                                   room_output_options=RoomOutputOptions(audio_num_channels=2))
