"""ElevenLabs TTS in a real voice session (fake STT, LLM and VAD; the API is the local fake)."""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from typing import Any

import pytest
from fake_servers.elevenlabs import FakeElevenLabs
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM, FakeSTT, FakeVAD
from livekit.agents.voice import QueueAudioInput, SimulatedAudioOutput
from livekit.plugins import elevenlabs

RATE = 16000
FRAME = RATE // 50
REPLY = "It is sunny today. Enjoy your walk in the park!"


def _frame(loud: bool) -> rtc.AudioFrame:
    samples = array(
        "h",
        (int(8000 * math.sin(2 * math.pi * 220 * i / RATE)) if loud else 0 for i in range(FRAME)),
    )
    return rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME)


async def _push(audio: QueueAudioInput, seconds: float, loud: bool) -> None:
    start = time.monotonic()
    for i in range(round(seconds / 0.02)):
        audio.push_frame(_frame(loud))
        delay = start + (i + 1) * 0.02 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def test_the_reply_is_spoken_through_the_streaming_websocket() -> None:
    async with FakeElevenLabs(api_key="k", ms_per_char=5) as srv:
        tts = elevenlabs.TTS(api_key="k", base_url=srv.base_url)
        played: list[rtc.AudioFrame] = []
        session: AgentSession[Any] = AgentSession(
            stt=FakeSTT(["what is the weather"]),
            llm=FakeLLM([REPLY]),
            tts=tts,
            vad=FakeVAD(min_silence_duration=0.2),
            min_endpointing_delay=0.2,
            user_away_timeout=None,
        )
        audio = QueueAudioInput()
        session.input.audio = audio
        session.output.audio = SimulatedAudioOutput(sample_rate=48000, on_played=played.extend)
        items: list[Any] = []
        session.on("conversation_item_added", lambda ev: items.append(ev.item))
        await session.start(Agent(instructions="x"))
        try:
            await _push(audio, 0.2, False)
            await _push(audio, 0.8, True)
            deadline = time.monotonic() + 10
            while not any(getattr(i, "role", None) == "assistant" for i in items):
                assert time.monotonic() < deadline, "no reply"
                await _push(audio, 0.1, False)
        finally:
            await session.aclose()
            await tts.aclose()

    rec = srv.received[0]
    assert rec.kind == "ws" and rec.text.split() == REPLY.split()
    assert srv.violations == []
    spoken = sum(len(g) for g in rec.generations) * 0.005
    assert sum(f.duration for f in played) == pytest.approx(spoken, abs=0.03)
