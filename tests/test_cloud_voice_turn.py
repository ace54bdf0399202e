"""A full voice turn on the cloud plugins, resolved by string, against their local fake servers.

``stt="deepgram/nova-3"``, ``llm="openai/gpt-4o"``, ``tts="cartesia/sonic-2"``, each reaching
its fake through the ``*_API_KEY`` / ``*_BASE_URL`` environment variables, exactly as a
deployment reaches a self-hosted or proxied endpoint. Spoken audio goes in; the agent's
synthesized audio must come out.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_servers.cartesia import FakeCartesia
from fake_servers.deepgram import FakeDeepgram
from fake_servers.openai import FakeOpenAI
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeVAD
from livekit.agents.voice import QueueAudioInput, SimulatedAudioOutput
from livekit.plugins import cartesia, deepgram, openai

RATE = 48000
FRAME = RATE // 50  # 20 ms
QUESTION = "What is the weather in Paris?"
REPLY = "It is sunny in Paris today."


def _frames(seconds: float, *, loud: bool) -> list[rtc.AudioFrame]:
    samples = array(
        "h",
        (int(8000 * math.sin(2 * math.pi * 220 * i / RATE)) if loud else 0 for i in range(FRAME)),
    )
    frame = rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME)
    return [frame] * round(seconds / 0.02)


@pytest.fixture
async def fakes(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[FakeDeepgram, FakeOpenAI, FakeCartesia]]:
    async with FakeDeepgram() as dg, FakeOpenAI() as oa, FakeCartesia() as ca:
        monkeypatch.setenv("DEEPGRAM_API_KEY", dg.api_key or "")
        monkeypatch.setenv("DEEPGRAM_BASE_URL", dg.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", oa.api_key or "")
        monkeypatch.setenv("OPENAI_BASE_URL", oa.base_url)
        monkeypatch.setenv("CARTESIA_API_KEY", ca.api_key)
        monkeypatch.setenv("CARTESIA_BASE_URL", ca.base_url)
        yield dg, oa, ca


async def test_spoken_question_gets_a_spoken_answer(
    fakes: tuple[FakeDeepgram, FakeOpenAI, FakeCartesia],
) -> None:
    dg, oa, ca = fakes
    dg.script(QUESTION, after=0.5, interims=2)
    oa.script_chat(REPLY)

    session: AgentSession[Any] = AgentSession(
        stt="deepgram/nova-3",
        llm="openai/gpt-4o",
        tts="cartesia/sonic-2",
        vad=FakeVAD(min_silence_duration=0.2),
        min_endpointing_delay=0.1,
        user_away_timeout=None,
    )
    assert isinstance(session.stt, deepgram.STT)
    assert isinstance(session.llm, openai.LLM)
    assert isinstance(session.tts, cartesia.TTS)

    played: list[rtc.AudioFrame] = []
    replied = asyncio.Event()
    items: list[Any] = []

    def on_item(ev: Any) -> None:
        items.append(ev.item)
        if getattr(ev.item, "role", None) == "assistant":
            replied.set()

    audio = QueueAudioInput()
    session.input.audio = audio
    session.output.audio = SimulatedAudioOutput(
        sample_rate=RATE, speed=20.0, on_played=played.extend
    )
    session.on("conversation_item_added", on_item)
    await session.start(Agent(instructions="You are a weather assistant."))
    try:
        for frame in _frames(0.2, loud=False) + _frames(0.8, loud=True) + _frames(1.0, loud=False):
            audio.push_frame(frame)
        await asyncio.wait_for(replied.wait(), 15)
    finally:
        await session.aclose()

    user = [i for i in items if getattr(i, "role", None) == "user"]
    agent = [i for i in items if getattr(i, "role", None) == "assistant"]
    assert user[0].text_content == QUESTION
    assert agent[0].text_content == REPLY

    # the transcript reached the LLM, and the LLM's text reached the TTS
    chat = oa.chat_requests[-1].json
    assert chat["model"] == "gpt-4o" and chat["stream"] is True
    assert chat["messages"][-1] == {"role": "user", "content": QUESTION}
    spoken = "".join(ctx.transcript for ctx in ca.contexts.values())
    assert spoken.split() == REPLY.split()

    # the synthesized audio reached the output, all of it
    produced = sum(ctx.audio_bytes for ctx in ca.contexts.values()) / 2 / 24000
    assert produced > 0
    assert sum(f.duration for f in played) == pytest.approx(produced, abs=0.03)
    for fake in (dg, oa, ca):
        fake.assert_no_violations()
