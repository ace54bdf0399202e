"""RoomIO against an in-process room: a participant's audio track in, a published track out."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
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
