"""Drive a session with audio in tests: a tone is "speech", zeros are silence (real time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc

from livekit.agents import AgentSession
from livekit.agents.voice import QueueAudioInput, SimulatedAudioOutput

RATE = 16000
FRAME = 320  # 20 ms


def _frame(loud: bool) -> rtc.AudioFrame:
    if loud:
        t = np.arange(FRAME) / RATE
        data = (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    else:
        data = np.zeros(FRAME, dtype=np.int16)
    return rtc.AudioFrame(data.tobytes(), RATE, 1, FRAME)


class VoiceHarness:
    """Attach before ``session.start``; then ``await speak(1.0)`` / ``await silence(0.5)``."""

    def __init__(self, session: AgentSession[Any], *, output_rate: int | None = None) -> None:
        self.session = session
        self.input = QueueAudioInput()
        self.played: list[rtc.AudioFrame] = []
        self.output = SimulatedAudioOutput(sample_rate=output_rate, on_played=self.played.extend)
        session.input.audio = self.input
        session.output.audio = self.output
        self.events: list[tuple[float, str, Any]] = []
        for name in ("user_state_changed", "agent_state_changed", "user_speech_started", "user_speech_ended",
                     "agent_speech_started", "agent_speech_ended", "conversation_item_added",
                     "user_input_transcribed", "agent_false_interruption", "metrics_collected",
                     "function_tools_executed"):
            session.on(name, lambda ev, n=name: self.events.append((time.monotonic(), n, ev)))

    async def _push(self, seconds: float, loud: bool) -> None:
        start = time.monotonic()
        n = int(round(seconds / 0.02))
        for i in range(n):
            self.input.push_frame(_frame(loud))
            delay = start + (i + 1) * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def speak(self, seconds: float) -> None:
        await self._push(seconds, True)

    async def silence(self, seconds: float) -> None:
        await self._push(seconds, False)

    async def silence_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Keep sending silence until ``predicate()`` holds (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; events: {self.names()}")
            await self._push(0.1, False)

    def names(self) -> list[str]:
        return [n for _, n, _ in self.events]

    def of(self, name: str) -> list[Any]:
        return [ev for _, n, ev in self.events if n == name]

    def items(self, role: str) -> list[Any]:
        return [ev.item for ev in self.of("conversation_item_added") if getattr(ev.item, "role", None) == role]
