"""Azure STT in a real voice session (fake LLM, TTS and VAD; the Speech service is the local fake)."""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from typing import Any

from fake_servers.azure import FakeAzureSpeech
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM, FakeTTS, FakeVAD
from livekit.agents.voice import QueueAudioInput, SimulatedAudioOutput
from livekit.plugins import azure

RATE = 48000
FRAME = RATE // 50


def _frame(loud: bool) -> rtc.AudioFrame:
    samples = array(
        "h",
        (int(8000 * math.sin(2 * math.pi * 300 * i / RATE)) if loud else 0 for i in range(FRAME)),
    )
    return rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME)


async def _push(audio: QueueAudioInput, seconds: float, loud: bool) -> None:
    """Frames at real-time pace, as a microphone would deliver them."""
    start = time.monotonic()
    for i in range(round(seconds / 0.02)):
        audio.push_frame(_frame(loud))
        delay = start + (i + 1) * 0.02 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def test_a_spoken_turn_transcribed_by_azure() -> None:
    async with FakeAzureSpeech(api_key="k", transcripts=["What is the weather today?"]) as srv:
        stt = azure.STT(api_key="k", base_url=srv.base_url)
        session: AgentSession[Any] = AgentSession(
            stt=stt,
            llm=FakeLLM(["It is sunny."]),
            tts=FakeTTS(seconds_per_char=0.005),
            vad=FakeVAD(min_silence_duration=0.2),
            min_endpointing_delay=0.2,
            user_away_timeout=None,
        )
        audio = QueueAudioInput()
        session.input.audio = audio
        session.output.audio = SimulatedAudioOutput(sample_rate=RATE)
        items: list[Any] = []
        transcripts: list[Any] = []
        session.on("conversation_item_added", lambda ev: items.append(ev.item))
        session.on("user_input_transcribed", transcripts.append)
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
            await stt.aclose()

    user = [i for i in items if getattr(i, "role", None) == "user"]
    assert user[0].text_content == "What is the weather today?"
    assert any(not t.is_final for t in transcripts)  # interim results reached the session
    assert srv.violations == []
